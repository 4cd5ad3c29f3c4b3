/* http: router, problem mapping, OpenAPI vs routes. */
#include "core/core.h"
#include "http/http.h"
#include "http/http_int.h"
#include "t.h"

static void test_router(void)
{
	struct arena *a = arena_new();
	struct route_match m;
	static const struct {
		const char *method, *path;
		int rc;
		bool path_matched;
		const char *allow;
	} cases[] = {
	    {"GET", "/healthz", 0, true, ""},
	    {"POST", "/healthz", -1, true, "GET"},
	    {"GET", "/HEALTHZ", -1, false, ""},
	    {"GET", "/healthz/", -1, false, ""},
	    {"GET", "//healthz", -1, false, ""},
	    {"GET", "/nope", -1, false, ""},
	    {"GET", "", -1, false, ""},
	    {"GET", "healthz", -1, false, ""},
	    {"GET", "/api/v1/openapi.json", 0, true, ""},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int rc = router_match(cases[i].method, cases[i].path, a, &m);
		T_EQ_INT(rc, cases[i].rc, "router_match(%s %s) rc", cases[i].method, cases[i].path);
		T_EQ_INT(m.path_matched, cases[i].path_matched, "router_match(%s %s) path_matched", cases[i].method,
		         cases[i].path);
		if (rc < 0)
			T_EQ_STR(m.allow, cases[i].allow, "router_match(%s %s) allow", cases[i].method, cases[i].path);
	}
	arena_free(&a);
}

static enum status h_any(struct req *rq, struct res *rs)
{
	(void) rq;
	(void) rs;
	return ST_OK;
}

/* Literal segments win over {param} whatever the order of the rows: every
 * {param} row here comes before the literal it must not shadow. */
static void test_literal_wins(void)
{
	static const struct route rows[] = {
	    {"GET", "/users/{id}", h_any, ROLE_USER},
	    {"PATCH", "/users/{id}", h_any, ROLE_USER},
	    {"GET", "/users/me", h_any, ROLE_USER},
	    {"GET", "/w/{id}/members/{user_id}", h_any, ROLE_USER},
	    {"GET", "/w/{id}/members/me", h_any, ROLE_USER},
	    {"GET", "/w/mine/members/{user_id}", h_any, ROLE_USER},
	    {"DELETE", "/m/{id}", h_any, ROLE_USER},
	    {"GET", "/m/providers", h_any, ROLE_USER},
	    {0},
	};
	static const struct {
		const char *method, *path;
		int row; /* -1: no route */
		const char *param, *allow;
	} cases[] = {
	    {"GET", "/users/me", 2, NULL, ""},
	    {"GET", "/users/u1", 0, "u1", ""},
	    {"PATCH", "/users/me", 1, "me", ""},        /* no PATCH literal: the {param} row serves it */
	    {"GET", "/w/x/members/me", 4, "x", ""},     /* literal last segment */
	    {"GET", "/w/mine/members/u2", 5, "u2", ""}, /* an earlier literal segment wins first */
	    {"GET", "/w/mine/members/me", 5, "me", ""}, /* the first differing segment decides */
	    {"GET", "/m/providers", 7, NULL, ""},
	    {"DELETE", "/m/providers", 6, "providers", ""},
	    {"POST", "/users/me", -1, NULL, "GET, PATCH"},
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct route_match m;
		int rc = router_match_in(rows, cases[i].method, cases[i].path, a, &m);
		int row = rc == 0 ? (int) (m.route - rows) : -1;
		T_EQ_INT(row, cases[i].row, "%s %s routes to row %d", cases[i].method, cases[i].path, cases[i].row);
		T_EQ_STR(m.nparams ? m.values[m.nparams - 1] : NULL, cases[i].param, "%s %s: last parameter",
		         cases[i].method, cases[i].path);
		T_EQ_STR(m.allow, cases[i].allow, "%s %s: Allow", cases[i].method, cases[i].path);
	}
	arena_free(&a);
}

static void test_params(void)
{
	/* Every {param} route in the table matches a concrete path and hands
	 * back its parameter values in order. */
	struct arena *a = arena_new();
	int checked = 0;
	bool saw_user = false;
	for (const struct route *r = http_routes(); r->method; r++) {
		if (!strchr(r->pattern, '{'))
			continue;
		saw_user |= str_eq(r->method, "GET") && str_eq(r->pattern, "/api/v1/users/{id}");
		char path[256];
		size_t o = 0;
		for (const char *p = r->pattern; *p && o < sizeof(path) - 40; p++) {
			if (*p == '{') {
				o += (size_t) snprintf(path + o, sizeof(path) - o, "v%d", checked % 10);
				p = strchr(p, '}');
			} else {
				path[o++] = *p;
			}
		}
		path[o] = '\0';
		struct route_match m;
		int rc = router_match(r->method, path, a, &m);
		T_OK(rc == 0 && m.nparams >= 1, "%s %s matches %s", r->method, r->pattern, path);
		checked++;
	}
	/* The loop ran over the whole table: a table that lost its routes (or
	 * a loop that stopped early) would otherwise check nothing and pass. */
	T_OK(checked >= 20, "%d parameterised routes checked (the table has at least 20)", checked);
	T_OK(saw_user, "GET /api/v1/users/{id} is among them");
	arena_free(&a);
}

static void test_problem_json(void)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	problem_field(&p, "x", "is wrong");
	problem_set(&p, ST_BAD_INPUT, "the request body has 1 invalid field");
	json_t *j = problem_to_json(&p, "/api/v1/x");
	T_EQ_INT(json_integer_value(json_object_get(j, "status")), 400, "problem status");
	T_EQ_STR(json_string_value(json_object_get(j, "title")), "Bad Request", "problem title");
	T_EQ_STR(json_string_value(json_object_get(j, "instance")), "/api/v1/x", "problem instance");
	T_EQ_INT(json_array_size(json_object_get(j, "errors")), 1, "problem errors");
	json_decref(j);
	static const struct {
		enum status st;
		int code;
	} map[] = {{ST_OK, 200},
	           {ST_CREATED, 201},
	           {ST_NO_CONTENT, 204},
	           {ST_BAD_INPUT, 400},
	           {ST_UNAUTHENTICATED, 401},
	           {ST_FORBIDDEN, 403},
	           {ST_NOT_FOUND, 404},
	           {ST_METHOD_NOT_ALLOWED, 405},
	           {ST_CONFLICT, 409},
	           {ST_TOO_LARGE, 413},
	           {ST_UNSUPPORTED_MEDIA, 415},
	           {ST_UNPROCESSABLE, 422},
	           {ST_RATE_LIMITED, 429},
	           {ST_INTERNAL, 500},
	           {ST_UNAVAILABLE, 503},
	           {(enum status) 999, 500}};
	for (size_t i = 0; i < ARRAY_LEN(map); i++)
		T_EQ_INT(status_http_code(map[i].st), map[i].code, "status %d maps to HTTP %d", map[i].st, map[i].code);
	arena_free(&a);
}

/* Every "$ref" in doc, resolved against its components: the count of
 * refs seen, and of those that do not resolve (each printed). */
static void walk_refs(json_t *doc, json_t *v, int *refs, int *broken)
{
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) walk_refs(doc, x, refs, broken);
		return;
	}
	if (!json_is_object(v))
		return;
	const char *k;
	json_t *x;
	json_object_foreach(v, k, x)
	{
		if (str_eq(k, "$ref") && json_is_string(x)) {
			const char *ref = json_string_value(x), *pre = "#/components/schemas/";
			(*refs)++;
			json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
			if (strncmp(ref, pre, strlen(pre)) != 0 || !json_object_get(schemas, ref + strlen(pre))) {
				(*broken)++;
				printf("# unresolved $ref %s\n", ref);
			}
		} else {
			walk_refs(doc, x, refs, broken);
		}
	}
}

/* Responses are schemas too: each operation's success names its schema
 * (204 alone has none), every error answer is the one Problem schema, and
 * every $ref resolves. */
static void test_openapi_responses(void)
{
	json_t *doc = openapi_document();
	json_t *paths = json_object_get(doc, "paths");
	int ops = 0, with_schema = 0, no_content = 0;
	const char *path, *method;
	json_t *item, *op;
	json_object_foreach(paths, path, item)
	{
		json_object_foreach(item, method, op)
		{
			ops++;
			json_t *resp = json_object_get(op, "responses");
			const char *code;
			json_t *r;
			int successes = 0;
			json_object_foreach(resp, code, r)
			{
				json_t *content = json_object_get(r, "content");
				if (code[0] == '2') {
					successes++;
					json_t *schema = NULL;
					const char *media;
					json_t *mt;
					json_object_foreach(content, media, mt) schema = json_object_get(mt, "schema");
					if (str_eq(code, "204")) {
						no_content++;
						T_OK(content == NULL, "%s %s: 204 has no body", method, path);
					} else {
						with_schema += schema != NULL;
						T_OK(schema != NULL, "%s %s: its %s answer has a schema", method, path,
						     code);
					}
				} else {
					json_t *ref = json_object_get(
					    json_object_get(json_object_get(content, "application/problem+json"),
					                    "schema"),
					    "$ref");
					T_EQ_STR(json_string_value(ref), "#/components/schemas/Problem",
					         "%s %s: %s is a Problem", method, path, code);
				}
			}
			T_EQ_INT(successes, 1, "%s %s documents one success", method, path);
		}
	}
	T_EQ_INT(ops, http_route_count(), "every route is an operation");
	T_EQ_INT(with_schema + no_content, ops, "every operation's success has a schema or is 204 (%d with a schema)",
	         with_schema);
	T_OK(with_schema > ops / 2, "most operations answer a body with a schema (%d of %d)", with_schema, ops);
	int refs = 0, broken = 0;
	walk_refs(doc, doc, &refs, &broken);
	T_OK(refs > ops, "the document has $refs (%d)", refs);
	T_EQ_INT(broken, 0, "every $ref resolves");
	json_t *page = json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), "ModelPage");
	T_OK(json_object_get(json_object_get(page, "properties"), "next_cursor") != NULL,
	     "a list route's answer is the page around its item (ModelPage)");
	json_decref(doc);
}

/* The operation of a route in the document. */
static json_t *doc_op(json_t *doc, const struct route *r)
{
	char m[16];
	size_t i;
	for (i = 0; r->method[i] && i < sizeof(m) - 1; i++)
		m[i] = (char) (r->method[i] | 0x20);
	m[i] = '\0';
	return json_object_get(json_object_get(json_object_get(doc, "paths"), r->pattern), m);
}

/* What the gateway does on every route, read from the route table, is in
 * the document: X-Workspace-Id is checked on every authenticated route
 * (ROUTE_NO_WORKSPACE ones too), so each documents the header, 400 (a
 * malformed one) and 404 (a foreign one); 429 wherever a limit applies;
 * the statuses a route lists in .also. */
static void test_openapi_gateway_answers(void)
{
	json_t *doc = openapi_document();
	int authed = 0, limited = 0;
	for (const struct route *r = http_routes(); r->method; r++) {
		json_t *op = doc_op(doc, r), *resp = json_object_get(op, "responses");
		T_OK(op != NULL, "%s %s is in the document", r->method, r->pattern);
		if (r->role != ROLE_PUBLIC) {
			authed++;
			bool ws = false;
			json_t *prm;
			size_t k;
			json_array_foreach(json_object_get(op, "parameters"), k, prm) ws |=
			    str_eq(json_string_value(json_object_get(prm, "name")), "X-Workspace-Id") &&
			    str_eq(json_string_value(json_object_get(prm, "in")), "header");
			T_OK(ws, "%s %s documents the X-Workspace-Id header", r->method, r->pattern);
			for (const char *const *c = (const char *const[]){"400", "401", "403", "404", NULL}; *c; c++)
				T_OK(json_object_get(resp, *c) != NULL, "%s %s documents %s", r->method, r->pattern,
				     *c);
		}
		if (r->limit != LIMIT_NONE) {
			limited++;
			T_OK(json_object_get(resp, "429") != NULL, "%s %s documents 429", r->method, r->pattern);
		}
		for (const int *c = r->also; c && *c; c++) {
			char code[8];
			snprintf(code, sizeof(code), "%d", *c);
			T_OK(json_object_get(resp, code) != NULL, "%s %s documents %s", r->method, r->pattern, code);
		}
	}
	T_OK(authed > 30 && limited > 30, "authenticated routes (%d) and limited ones (%d) were checked", authed,
	     limited);
	static const struct {
		const char *method, *path, *code;
	} named[] = {
	    {"post", "/api/v1/auth/login", "401"},    {"post", "/api/v1/auth/login", "429"},
	    {"post", "/api/v1/auth/refresh", "401"},  {"post", "/api/v1/auth/register", "409"},
	    {"post", "/api/v1/auth/register", "403"}, {"get", "/api/v1/users/me", "404"},
	    {"get", "/api/v1/workspaces", "400"},
	};
	for (size_t i = 0; i < ARRAY_LEN(named); i++)
		T_OK(json_object_get(
		         json_object_get(json_object_get(json_object_get(json_object_get(doc, "paths"), named[i].path),
		                                         named[i].method),
		                         "responses"),
		         named[i].code) != NULL,
		     "%s %s documents %s", named[i].method, named[i].path, named[i].code);
	json_decref(doc);
}

/* The answer check the API suites run on every answer. */
static void test_answer_check(void)
{
	static const struct field thing_fields[] = {
	    {"id", JT_STRING, .required = true, .format = "uuid"},
	    {"note", JT_STRING, .required = true, .nullable = true},
	    {0},
	};
	static const struct schema thing = {"Thing", thing_fields, false};
	static const struct route get = {"GET", "/t/{id}", h_any, ROLE_USER, .response = &thing};
	static const struct route list = {"GET", "/t", h_any, ROLE_USER, .response = &thing, .flags = ROUTE_LIST};
	static const struct route del = {"DELETE", "/t/{id}", h_any, ROLE_USER};
	static const struct route make = {"POST", "/t", h_any, ROLE_USER, .response = &thing, .flags = ROUTE_CREATES};
#define ID "00000000-0000-4000-8000-000000000001"
	static const struct {
		const struct route *r;
		enum status st;
		const char *json; /* NULL: no body */
		enum status want;
	} cases[] = {
	    {&get, ST_OK, "{\"id\":\"" ID "\",\"note\":null}", ST_OK},
	    {&get, ST_OK, "{\"id\":\"" ID "\"}", ST_INTERNAL},                       /* a required field missing */
	    {&get, ST_OK, "{\"id\":\"" ID "\",\"note\":null,\"x\":1}", ST_INTERNAL}, /* undocumented field */
	    {&get, ST_OK, "{\"id\":\"nope\",\"note\":\"a\"}", ST_INTERNAL},          /* format */
	    {&get, ST_CREATED, "{\"id\":\"" ID "\",\"note\":null}", ST_INTERNAL},    /* 201, documented 200 */
	    {&get, ST_NOT_FOUND, NULL, ST_OK},                                       /* errors are Problems */
	    {&get, ST_OK, NULL, ST_INTERNAL},                                        /* no body */
	    {&del, ST_NO_CONTENT, NULL, ST_OK},                                      /* 204 */
	    {&del, ST_OK, "{}", ST_INTERNAL},                                        /* 200, documented 204 */
	    {&make, ST_CREATED, "{\"id\":\"" ID "\",\"note\":\"n\"}", ST_OK},
	    {&make, ST_OK, "{\"id\":\"" ID "\",\"note\":\"n\"}", ST_INTERNAL},
	    {&list, ST_OK, "{\"items\":[{\"id\":\"" ID "\",\"note\":null}],\"next_cursor\":null}", ST_OK},
	    {&list, ST_OK, "{\"items\":[],\"next_cursor\":\"abc\"}", ST_OK},
	    {&list, ST_OK,
	     "{\"items\":[{\"id\":\"" ID "\",\"note\":null},{\"id\":1,\"note\":null}],\"next_cursor\":null}",
	     ST_INTERNAL},
	    {&list, ST_OK, "{\"items\":[]}", ST_INTERNAL},
	    {&list, ST_OK, "[]", ST_INTERNAL},
	};
#undef ID
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		struct res rs = {.json = cases[i].json ? json_loads(cases[i].json, 0, NULL) : NULL};
		enum status st = http_answer_check(cases[i].r, cases[i].st, &rs, &p);
		T_EQ_INT(st, cases[i].want, "answer check %s %s, status %d, %s (%s)", cases[i].r->method,
		         cases[i].r->pattern, cases[i].st, cases[i].json ? cases[i].json : "no body",
		         p.detail ? p.detail : "ok");
		json_decref(rs.json);
		arena_free(&a);
	}
}

static void test_openapi_matches_routes(void)
{
	json_t *doc = openapi_document();
	json_t *paths = json_object_get(doc, "paths");
	size_t ops = 0;
	const char *p;
	json_t *item;
	json_object_foreach(paths, p, item)
	{
		ops += json_object_size(item);
	}
	T_EQ_INT(ops, http_route_count(), "OpenAPI has one operation per route");
	T_OK(http_route_count() >= 40, "the table has its routes (%zu, at least 40)", http_route_count());
	size_t seen = 0;
	for (const struct route *r = http_routes(); r->method; r++, seen++) {
		char m[16];
		size_t i;
		for (i = 0; r->method[i]; i++)
			m[i] = (char) (r->method[i] | 0x20);
		m[i] = '\0';
		json_t *op = json_object_get(json_object_get(paths, r->pattern), m);
		T_OK(op != NULL, "OpenAPI documents %s %s", r->method, r->pattern);
		T_OK(r->role != ROLE_UNSET, "%s %s declares a role", r->method, r->pattern);
	}
	T_EQ_INT(seen, http_route_count(), "every route was compared with the document");
	T_EQ_STR(json_string_value(json_object_get(doc, "openapi")), "3.1.0", "OpenAPI version");
	json_decref(doc);
}

/* Accept-Encoding (RFC 9110 12.5.3): which requests get the gzip form of an
 * embedded file. */
static void test_accepts_gzip(void)
{
	static const struct {
		const char *ae;
		bool want;
	} cases[] = {
	    {NULL, false},
	    {"", false},
	    {"gzip", true},
	    {"GZip", true},
	    {"x-gzip", true},
	    {"gzip, deflate, br, zstd", true},
	    {"deflate, br", false},
	    {"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
	    {"gzip;q=0", false},
	    {"gzip; q=0.000", false},
	    {"gzip;q=0.001", true},
	    {"gzip ; Q=0.5", true},
	    {"*", true},
	    {"*;q=0", false},
	    {"gzip;q=0, *", false},
	    {"identity", false},
	    {"gzip;q=1.5", false},
	    {"gzip;q=2", false},
	    {"gzip;q=0.5x", false},
	    {"gzip;q=", false},
	    {"gzip junk", false},
	    {"gzipx", false},
	    {"deflate;q=0.5,gzip;level=9", true},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		T_OK(http_accepts_gzip(cases[i].ae) == cases[i].want, "Accept-Encoding %s%s%s admits gzip: %s",
		     cases[i].ae ? "\"" : "", cases[i].ae ? cases[i].ae : "(none)", cases[i].ae ? "\"" : "",
		     cases[i].want ? "yes" : "no");
}

int main(void)
{
	core_init();
	test_router();
	test_literal_wins();
	test_openapi_responses();
	test_openapi_gateway_answers();
	test_answer_check();
	test_params();
	test_problem_json();
	test_openapi_matches_routes();
	test_accepts_gzip();
	return t_done();
}
