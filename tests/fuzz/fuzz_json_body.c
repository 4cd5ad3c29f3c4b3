/* libFuzzer: request bodies as the server takes them: jansson with
 * duplicate keys refused, then every route's body schema and a nested
 * test schema. Must never crash, leak or hang. */
#include "core/core.h"
#include "http/http.h"

static const char *const kinds[] = {"a", "b", "c", NULL};
static const struct field inner_fields[] = {
    {"key", JT_STRING, .required = true, .min = 1, .max = 40},
    {"n", JT_INT, .min = -5, .max = 5},
    {"tags", JT_ARRAY, .items = JT_STRING, .max = 4},
    {0},
};
static const struct schema inner = {"Inner", inner_fields, false};
static const struct field outer_fields[] = {
    {"name", JT_STRING, .required = true, .min = 1, .max = 100},
    {"email", JT_STRING, .format = "email"},
    {"when", JT_STRING, .format = "date-time", .nullable = true},
    {"kind", JT_STRING, .enums = kinds},
    {"ratio", JT_NUMBER, .min = 0, .max = 2},
    {"flag", JT_BOOL},
    {"items", JT_ARRAY, .items = JT_OBJECT, .object = &inner, .max = 50},
    {"obj", JT_OBJECT, .object = &inner},
    {"any", JT_ANY},
    {0},
};
static const struct schema outer = {"Outer", outer_fields, false};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	json_error_t err;
	json_t *j = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		return 0;
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	schema_validate(&outer, j, &p);
	for (const struct route *r = http_routes(); r->method; r++) {
		if (!r->body)
			continue;
		problem_clear(&p);
		schema_validate(r->body, j, &p);
		json_t *pj = problem_to_json(&p, "/fuzz");
		json_decref(pj);
	}
	json_decref(j);
	arena_free(&a);
	return 0;
}
