/* The built-ins that need no network: their cores (calculator, JSONPath,
 * time zones: agents_builtin_tools) are pure functions; this wraps their
 * answer in the shape every tool run answers, the value as JSON text. */
#include "agents_int.h"
#include "core/json_text.h"

/* A core's field errors ("expression") named under "arguments.", as the
 * schema check names them, with 422: the arguments were well-formed, what
 * they ask is not (1 / 0, an unknown zone, a JSONPath syntax error). */
static enum status refused(struct problem *inner, struct problem *p)
{
	for (int i = 0; i < inner->nfields; i++)
		problem_field(p, arena_printf(p->arena, "arguments.%s", inner->fields[i].field), "%s",
		              inner->fields[i].message);
	return problem_set(p, inner->st == ST_BAD_INPUT ? ST_UNPROCESSABLE : inner->st, "%s",
	                   inner->detail ? inner->detail : "the tool refused its arguments");
}

enum status tools_run_pure(const char *name, json_t *args, struct arena *a, json_t **out, struct problem *p)
{
	const struct agents_builtin_tool *t = agents_builtin_find(name);
	*out = NULL;
	if (!t)
		return problem_set(p, ST_INTERNAL, "no core for the built-in tool %s", name);
	int64_t start = time_mono_us();
	json_t *value = NULL;
	struct problem inner;
	problem_init(&inner, a);
	if (t->run(args, &value, &inner) != ST_OK)
		return refused(&inner, p);
	char *text = json_text(value, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(value);
	*out = json_pack("{s:i, s:{s:s}, s:s, s:b, s:I}", "status", 200, "headers", "content-type", "application/json",
	                 "body", text ? arena_strdup(a, text) : "null", "truncated", false, "duration_ms",
	                 (json_int_t) ((time_mono_us() - start) / 1000));
	free(text);
	return ST_OK;
}
