/* Problems: a status, a detail, a hint and field errors, living in an arena. */
#include "core.h"

#include <string.h>

static const char *const st_names[ST__COUNT] = {
    [ST_OK] = "ok",
    [ST_CREATED] = "created",
    [ST_ACCEPTED] = "accepted",
    [ST_NO_CONTENT] = "no_content",
    [ST_BAD_INPUT] = "bad_input",
    [ST_UNAUTHENTICATED] = "unauthenticated",
    [ST_FORBIDDEN] = "forbidden",
    [ST_NOT_FOUND] = "not_found",
    [ST_METHOD_NOT_ALLOWED] = "method_not_allowed",
    [ST_CONFLICT] = "conflict",
    [ST_GONE] = "gone",
    [ST_TOO_LARGE] = "too_large",
    [ST_UNSUPPORTED_MEDIA] = "unsupported_media",
    [ST_UNPROCESSABLE] = "unprocessable",
    [ST_RATE_LIMITED] = "rate_limited",
    [ST_INTERNAL] = "internal",
    [ST_BAD_GATEWAY] = "bad_gateway",
    [ST_UNAVAILABLE] = "unavailable",
    [ST_TIMEOUT] = "timeout",
};

const char *status_name(enum status st)
{
	if ((unsigned) st >= ST__COUNT)
		return "unknown";
	return st_names[st];
}

void problem_init(struct problem *p, struct arena *a)
{
	memset(p, 0, sizeof(*p));
	p->arena = a;
}

void problem_clear(struct problem *p)
{
	struct arena *a = p->arena;
	problem_init(p, a);
}

enum status problem_set(struct problem *p, enum status st, const char *fmt, ...)
{
	if (!p)
		return st;
	p->st = st;
	if (!p->detail && fmt) {
		va_list ap;
		va_start(ap, fmt);
		p->detail = arena_vprintf(p->arena, fmt, ap);
		va_end(ap);
	}
	return st;
}

void problem_hint(struct problem *p, const char *fmt, ...)
{
	if (!p || p->hint)
		return;
	va_list ap;
	va_start(ap, fmt);
	p->hint = arena_vprintf(p->arena, fmt, ap);
	va_end(ap);
}

enum status problem_field(struct problem *p, const char *field, const char *fmt, ...)
{
	if (!p)
		return ST_BAD_INPUT;
	if (status_ok(p->st))
		p->st = ST_BAD_INPUT;
	if (!p->type)
		p->type = "/problems/validation";
	if (p->nfields >= PROBLEM_MAX_FIELDS) {
		p->nfields_dropped++;
		return p->st;
	}
	struct problem_field *f = &p->fields[p->nfields++];
	f->field = arena_strdup(p->arena, field);
	va_list ap;
	va_start(ap, fmt);
	f->message = arena_vprintf(p->arena, fmt, ap);
	va_end(ap);
	return p->st;
}
