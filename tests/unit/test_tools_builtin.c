/* agents/tools_builtin: the table, and each parameters schema well-formed
 * in the JSON Schema subset, accepting a real call and refusing a bad one. */
#include "agents/agents.h"
#include "agents/agents_int.h"
#include "core/jsonschema.h"
#include "t.h"

static void test_table(void)
{
	static const struct {
		const char *tool, *good, *bad, *bad_field;
	} calls[] = {
	    {"calculator", "{\"expression\": \"1 + 1\"}", "{\"expression\": 2}", "$.expression"},
	    {"json_query", "{\"query\": \"$.a\", \"document\": {\"a\": 1}}", "{\"query\": \"$.a\"}", "$.document"},
	    {"current_datetime", "{\"timezone\": \"Europe/Paris\"}", "{\"tz\": \"Europe/Paris\"}", "$.tz"},
	};
	int n = 0;
	for (const struct agents_builtin_tool *t = agents_builtin_tools; t->name; t++, n++) {
		json_error_t err;
		json_t *schema = json_loads(t->parameters, 0, &err);
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		T_OK(schema != NULL, "%s: the parameters are JSON (%s)", t->name, err.text);
		T_EQ_INT(jsonschema_check(schema, t->name, &p), ST_OK, "%s: the parameters are in the subset%s%s",
		         t->name, p.nfields ? ": " : "", p.nfields ? p.fields[0].message : "");
		T_OK(agents_builtin_find(t->name) == t, "%s: found by name", t->name);
		T_OK(t->description && t->run, "%s: described and runnable", t->name);
		for (size_t i = 0; i < ARRAY_LEN(calls); i++) {
			if (strcmp(calls[i].tool, t->name))
				continue;
			json_t *good = json_loads(calls[i].good, 0, NULL), *bad = json_loads(calls[i].bad, 0, NULL),
			       *out = NULL;
			problem_init(&p, a);
			T_EQ_INT(jsonschema_validate(schema, good, NULL, &p), ST_OK, "%s: %s is valid", t->name,
			         calls[i].good);
			T_EQ_INT(t->run(good, &out, &p), ST_OK, "%s: runs %s", t->name, calls[i].good);
			json_decref(out);
			problem_init(&p, a);
			T_EQ_INT(jsonschema_validate(schema, bad, NULL, &p), ST_UNPROCESSABLE, "%s: %s is invalid",
			         t->name, calls[i].bad);
			T_EQ_STR(p.nfields ? p.fields[0].field : NULL, calls[i].bad_field, "%s: the argument named",
			         t->name);
			json_decref(good);
			json_decref(bad);
		}
		json_decref(schema);
		arena_free(&a);
	}
	T_EQ_INT(n, 3, "three pure built-ins");

	/* what the tools module publishes (fixed ids) is this table's schema */
	static const struct {
		const char *id, *name;
	} ids[] = {
	    {"00000000-0000-7000-8000-000000000001", "calculator"},
	    {"00000000-0000-7000-8000-000000000002", "current_datetime"},
	    {"00000000-0000-7000-8000-000000000003", "json_query"},
	};
	for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
		json_t *pub = tools_builtin_json(ids[i].id);
		const struct agents_builtin_tool *t = agents_builtin_find(ids[i].name);
		json_t *mine = t ? json_loads(t->parameters, 0, NULL) : NULL;
		T_OK(pub && mine && json_equal(json_object_get(pub, "parameters"), mine),
		     "%s: the published parameters are the core's", ids[i].name);
		T_EQ_STR(json_string_value(json_object_get(pub, "name")), ids[i].name, "%s: the id's name",
		         ids[i].name);
		json_decref(pub);
		json_decref(mine);
	}
	T_OK(agents_builtin_find("eval") == NULL, "no such tool");
	T_OK(agents_builtin_find(NULL) == NULL, "NULL name");
}

int main(void)
{
	test_table();
	return t_done();
}
