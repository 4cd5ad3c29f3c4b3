/* core/schema: validation of JSON documents against schemas as data, with
 * every error named by its path. */
#include "core/core.h"
#include "core/schema.h"
#include "t.h"

static const char *const colours[] = {"red", "green", NULL};
static const struct field item_fields[] = {
    {"key", JT_STRING, .required = true, .min = 1, .max = 5},
    {0},
};
static const struct schema item_schema = {"Item", item_fields, false};
static const struct field test_fields[] = {
    {"name", JT_STRING, .required = true, .min = 1, .max = 10},
    {"count", JT_INT, .min = 1, .max = 200},
    {"ratio", JT_NUMBER, .min = 0, .max = 2},
    {"on", JT_BOOL},
    {"colour", JT_STRING, .enums = colours},
    {"email", JT_STRING, .format = "email"},
    {"when", JT_STRING, .format = "date-time", .nullable = true},
    {"ref", JT_STRING, .format = "uuid"},
    {"items", JT_ARRAY, .items = JT_OBJECT, .object = &item_schema, .max = 2},
    {"params", JT_OBJECT, .object = &(const struct schema){"Params", NULL, true}},
    {0},
};
static const struct schema test_schema = {"Test", test_fields, false};

static void test_schema_validate(void)
{
	static const struct {
		const char *json;
		enum status st;
		const char *field;
	} cases[] = {
	    {"{\"name\":\"ok\"}", ST_OK, NULL},
	    {"{}", ST_BAD_INPUT, "name"},
	    {"{\"name\":\"\"}", ST_BAD_INPUT, "name"},
	    {"{\"name\":\"12345678901\"}", ST_BAD_INPUT, "name"},
	    {"{\"name\":\"caf\\u00e9caf\\u00e9ab\"}", ST_OK, NULL},
	    {"{\"name\":5}", ST_BAD_INPUT, "name"},
	    {"{\"name\":null}", ST_BAD_INPUT, "name"},
	    {"{\"name\":\"x\",\"bogus\":1}", ST_BAD_INPUT, "bogus"},
	    {"{\"name\":\"x\",\"count\":0}", ST_BAD_INPUT, "count"},
	    {"{\"name\":\"x\",\"count\":201}", ST_BAD_INPUT, "count"},
	    {"{\"name\":\"x\",\"count\":1.5}", ST_BAD_INPUT, "count"},
	    {"{\"name\":\"x\",\"ratio\":1}", ST_OK, NULL},
	    {"{\"name\":\"x\",\"ratio\":2.5}", ST_BAD_INPUT, "ratio"},
	    {"{\"name\":\"x\",\"on\":\"true\"}", ST_BAD_INPUT, "on"},
	    {"{\"name\":\"x\",\"colour\":\"blue\"}", ST_BAD_INPUT, "colour"},
	    {"{\"name\":\"x\",\"email\":\"not-an-email\"}", ST_BAD_INPUT, "email"},
	    {"{\"name\":\"x\",\"email\":\"a@b.co\"}", ST_OK, NULL},
	    {"{\"name\":\"x\",\"when\":null}", ST_OK, NULL},
	    {"{\"name\":\"x\",\"when\":\"yesterday\"}", ST_BAD_INPUT, "when"},
	    {"{\"name\":\"x\",\"items\":[{\"key\":\"a\"},{\"key\":\"\"}]}", ST_BAD_INPUT, "items[1].key"},
	    {"{\"name\":\"x\",\"items\":[{\"key\":\"a\",\"x\":1}]}", ST_BAD_INPUT, "items[0].x"},
	    {"{\"name\":\"x\",\"items\":[1]}", ST_BAD_INPUT, "items[0]"},
	    {"{\"name\":\"x\",\"items\":[{\"key\":\"a\"},{\"key\":\"b\"},{\"key\":\"c\"}]}", ST_BAD_INPUT, "items"},
	    {"{\"name\":\"x\",\"params\":{\"anything\":[1,2]}}", ST_OK, NULL},
	    {"[]", ST_BAD_INPUT, NULL},
	    {"{\"name\":\"x\",\"ref\":\"0190c5a0-0000-7000-8000-00000000000a\"}", ST_OK, NULL},
	    {"{\"name\":\"x\",\"ref\":\"0190C5A0-0000-7000-8000-00000000000A\"}", ST_OK, NULL},
	    {"{\"name\":\"x\",\"ref\":\"0190C5A0-0000-7000-8000-00000000000G\"}", ST_BAD_INPUT, "ref"},
	    {"{\"name\":\"x\",\"ref\":\"0190c5a0\"}", ST_BAD_INPUT, "ref"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		json_error_t err;
		json_t *j = json_loads(cases[i].json, JSON_REJECT_DUPLICATES, &err);
		T_OK(j != NULL, "case %zu parses: %s", i, cases[i].json);
		enum status st = schema_validate(&test_schema, j, &p);
		T_EQ_INT(st, cases[i].st, "schema_validate(%s)", cases[i].json);
		/* a UUID in capitals is taken and stored lowercase (RFC 9562 section 4) */
		json_t *ref = json_object_get(j, "ref");
		if (st == ST_OK && ref)
			T_EQ_STR(json_string_value(ref), "0190c5a0-0000-7000-8000-00000000000a", "ref lowercased: %s",
			         cases[i].json);
		if (cases[i].field) {
			bool named = false;
			for (int k = 0; k < p.nfields; k++)
				named |= str_eq(p.fields[k].field, cases[i].field);
			T_OK(named, "schema_validate(%s) names %s", cases[i].json, cases[i].field);
		}
		json_decref(j);
		arena_free(&a);
	}
}

/* Documents inside larger ones (the importer's, the workflow validator's)
 * name their errors from the given prefix, arrays included. */
static const char *const task_keys[] = {"research", "write", NULL};
static const struct field task_fields[] = {
    {"description", JT_STRING, .required = true, .min = 1},
    {"context", JT_ARRAY, .items = JT_STRING, .max = 3},
    {"agent", JT_STRING, .enums = task_keys},
    {0},
};
static const struct schema task_schema = {"Task", task_fields, false};
static const struct field crew_fields[] = {
    {"tasks", JT_ARRAY, .items = JT_OBJECT, .object = &task_schema},
    {0},
};
static const struct schema crew_schema = {"Crew", crew_fields, false};

static void test_schema_paths(void)
{
	static const struct {
		const char *json, *prefix;
		enum status st;
		const char *field;
	} cases[] = {
	    {"{\"tasks\":[{\"description\":\"a\"},{\"description\":\"b\"},{\"description\":\"c\",\"context\":[1]}]}",
	     "", ST_BAD_INPUT, "tasks[2].context[0]"},
	    {"{\"tasks\":[{\"description\":\"a\",\"agent\":\"reserch\"}]}", "", ST_BAD_INPUT, "tasks[0].agent"},
	    {"{\"tasks\":[{}]}", "", ST_BAD_INPUT, "tasks[0].description"},
	    {"{\"tasks\":[{\"description\":\"a\",\"context\":[\"x\"]}]}", "", ST_OK, NULL},
	    {"{\"tasks\":[{\"description\":\"\"}]}", "crews.main", ST_BAD_INPUT, "crews.main.tasks[0].description"},
	    {"{\"tasks\":[{\"description\":\"a\"}],\"extra\":1}", "crews.main", ST_BAD_INPUT, "crews.main.extra"},
	    {"[1]", "crews.main", ST_BAD_INPUT, "crews.main"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		json_t *j = json_loads(cases[i].json, JSON_REJECT_DUPLICATES, NULL);
		T_OK(j != NULL, "case %zu parses: %s", i, cases[i].json);
		enum status st = schema_validate_at(&crew_schema, j, cases[i].prefix, &p);
		T_EQ_INT(st, cases[i].st, "schema_validate_at(%s, \"%s\")", cases[i].json, cases[i].prefix);
		const char *first = p.nfields ? p.fields[0].field : NULL;
		T_EQ_STR(first, cases[i].field, "schema_validate_at(%s) names its first error", cases[i].json);
		json_decref(j);
		arena_free(&a);
	}
}

int main(void)
{
	core_init();
	test_schema_validate();
	test_schema_paths();
	return t_done();
}
