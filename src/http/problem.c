/* The only place that knows HTTP status codes and titles. */
#include "http.h"

static const struct {
	int code;
	const char *title;
	const char *type;
} st_http[ST__COUNT] = {
    [ST_OK] = {200, "OK", NULL},
    [ST_CREATED] = {201, "Created", NULL},
    [ST_ACCEPTED] = {202, "Accepted", NULL},
    [ST_NO_CONTENT] = {204, "No Content", NULL},
    [ST_BAD_INPUT] = {400, "Bad Request", "/problems/bad-request"},
    [ST_UNAUTHENTICATED] = {401, "Unauthorized", "/problems/unauthenticated"},
    [ST_FORBIDDEN] = {403, "Forbidden", "/problems/forbidden"},
    [ST_NOT_FOUND] = {404, "Not Found", "/problems/not-found"},
    [ST_METHOD_NOT_ALLOWED] = {405, "Method Not Allowed", "/problems/method-not-allowed"},
    [ST_CONFLICT] = {409, "Conflict", "/problems/conflict"},
    [ST_GONE] = {410, "Gone", "/problems/gone"},
    [ST_TOO_LARGE] = {413, "Content Too Large", "/problems/too-large"},
    [ST_UNSUPPORTED_MEDIA] = {415, "Unsupported Media Type", "/problems/unsupported-media-type"},
    [ST_UNPROCESSABLE] = {422, "Unprocessable Content", "/problems/unprocessable"},
    [ST_RATE_LIMITED] = {429, "Too Many Requests", "/problems/rate-limited"},
    [ST_INTERNAL] = {500, "Internal Server Error", "/problems/internal"},
    [ST_BAD_GATEWAY] = {502, "Bad Gateway", "/problems/bad-gateway"},
    [ST_UNAVAILABLE] = {503, "Service Unavailable", "/problems/unavailable"},
    [ST_TIMEOUT] = {504, "Gateway Timeout", "/problems/timeout"},
};

int status_http_code(enum status st)
{
	if ((unsigned) st >= ST__COUNT || !st_http[st].code)
		return 500;
	return st_http[st].code;
}

const char *status_http_title(enum status st)
{
	if ((unsigned) st >= ST__COUNT || !st_http[st].title)
		return "Internal Server Error";
	return st_http[st].title;
}

json_t *problem_to_json(const struct problem *p, const char *instance)
{
	enum status st = status_ok(p->st) ? ST_INTERNAL : p->st;
	const char *type = p->type ? p->type : st_http[st].type;
	json_t *j = json_object();
	json_object_set_new(j, "type", json_string(type ? type : "about:blank"));
	json_object_set_new(j, "title", json_string(status_http_title(st)));
	json_object_set_new(j, "status", json_integer(status_http_code(st)));
	json_object_set_new(j, "detail", json_string(p->detail ? p->detail : status_http_title(st)));
	if (p->hint)
		json_object_set_new(j, "hint", json_string(p->hint));
	if (instance)
		json_object_set_new(j, "instance", json_string(instance));
	json_t *errs = json_array();
	for (int i = 0; i < p->nfields; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "field", json_string(p->fields[i].field));
		json_object_set_new(e, "message", json_string(p->fields[i].message));
		json_array_append_new(errs, e);
	}
	json_object_set_new(j, "errors", errs);
	return j;
}
