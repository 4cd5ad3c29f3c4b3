/* libFuzzer: the crewAI importer on hostile YAML, as the import route takes
 * it. The input is agents.yaml, tasks.yaml and crew.yaml separated by NUL
 * bytes (a missing part is absent). Besides never crashing, leaking or
 * hanging, two properties must hold, or the target aborts:
 *   - every document the YAML loader accepts is written back by the YAML
 *     writer as text that loads to the same value;
 *   - every crew that imports exports to files that import to the same
 *     workflow and agents. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/yaml.h"
#include "workflows/workflows.h"

static void yaml_round_trip(const char *text, size_t len)
{
	struct yaml_error err;
	json_t *v = yaml_json_load(text, len, &err);
	if (!v)
		return;
	char *y = yaml_json_dump(v);
	json_t *back = y ? yaml_json_load(y, strlen(y), &err) : NULL;
	if (!back || !json_equal(v, back))
		abort();
	json_decref(back);
	json_decref(v);
	free(y);
}

static void crew_round_trip(const json_t *first)
{
	struct arena *a = arena_new();
	struct problem p;
	json_t *def = json_pack("{s:O,s:O}", "workflow", json_object_get(first, "workflow"), "agents",
	                        json_object_get(first, "agents"));
	json_t *ex = NULL, *again = NULL;

	problem_init(&p, a);
	if (workflows_crewai_export(def, &ex, &p) != ST_OK)
		abort();
	json_t *in = json_pack("{s:O,s:O,s:O}", "agents_yaml", json_object_get(ex, "agents_yaml"), "tasks_yaml",
	                       json_object_get(ex, "tasks_yaml"), "crew_yaml", json_object_get(ex, "crew_yaml"));
	if (workflows_crewai_import(in, &again, &p) != ST_OK ||
	    !json_equal(json_object_get(again, "workflow"), json_object_get(first, "workflow")) ||
	    !json_equal(json_object_get(again, "agents"), json_object_get(first, "agents")))
		abort();
	json_decref(in);
	json_decref(again);
	json_decref(ex);
	json_decref(def);
	arena_free(&a);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const names[] = {"agents_yaml", "tasks_yaml", "crew_yaml"};
	const char *p = (const char *) data, *end = p + size;
	json_t *in = json_object(), *out = NULL;
	struct arena *a = arena_new();
	struct problem pr;

	for (size_t i = 0; i < ARRAY_LEN(names) && p <= end; i++) {
		const char *nul = memchr(p, 0, (size_t) (end - p));
		size_t n = nul ? (size_t) (nul - p) : (size_t) (end - p);
		yaml_round_trip(p, n);
		json_t *s = json_stringn(p, n); /* NULL for text that is not UTF-8: the route refuses it first */
		if (s)
			json_object_set_new(in, names[i], s);
		if (!nul)
			break;
		p = nul + 1;
	}
	problem_init(&pr, a);
	if (workflows_crewai_import(in, &out, &pr) == ST_OK)
		crew_round_trip(out);
	json_decref(out);
	json_decref(in);
	arena_free(&a);
	return 0;
}
