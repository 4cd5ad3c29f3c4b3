/* The built-ins that need no network: their cores (calculator, JSONPath,
 * time zones: agents_builtin_tools) are pure functions; this wraps their
 * answer in the shape every tool run answers, the value as JSON text. */
#include "agents_int.h"

enum status tools_run_pure(const char *name, json_t *args, struct arena *a, json_t **out, struct problem *p)
{
	const struct agents_builtin_tool *t = agents_builtin_find(name);
	*out = NULL;
	if (!t)
		return problem_set(p, ST_INTERNAL, "no core for the built-in tool %s", name);
	int64_t start = time_mono_us();
	json_t *value = NULL;
	enum status st = t->run(args, &value, p);
	if (st != ST_OK)
		return st;
	char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(value);
	*out = json_pack("{s:i, s:{s:s}, s:s, s:b, s:I}", "status", 200, "headers", "content-type", "application/json",
	                 "body", text ? arena_strdup(a, text) : "null", "truncated", false, "duration_ms",
	                 (json_int_t) ((time_mono_us() - start) / 1000));
	free(text);
	return ST_OK;
}
