/* The built-ins that need no network: their cores (calculator, JSONPath,
 * time zones) are pure functions; this wraps their answers in the shape
 * every tool run answers. */
#include "agents_int.h"

enum status tools_run_pure(const char *name, json_t *args, struct arena *a, json_t **out, struct problem *p)
{
	(void) args;
	(void) a;
	*out = NULL;
	problem_hint(p, "http_request, web_fetch and custom tools run; the pure built-ins arrive with their cores");
	return problem_set(p, ST_UNAVAILABLE, "the built-in tool %s cannot run in this build yet", name);
}
