/*
 * http: the gateway. One static route table drives dispatch, body
 * validation, auth requirements and the OpenAPI document. libmicrohttpd is
 * confined to server.c; handlers see struct req and struct res only.
 *
 * A handler returns a status. ST_OK answers 200 with res->json,
 * ST_CREATED 201, ST_ACCEPTED 202, ST_NO_CONTENT 204; anything else answers
 * application/problem+json built from req->problem.
 */
#ifndef TROUPE_HTTP_H
#define TROUPE_HTTP_H

#include "../auth/auth.h" /* roles, limit classes, the actor: auth owns them */
#include "../core/core.h"
#include "../core/schema.h" /* body and response schemas: data in core */

#include <jansson.h>
#include <sys/types.h> /* ssize_t */

struct app;
struct http_server;

/* ---- routes ---- */
struct req;
struct res;
typedef enum status (*http_handler)(struct req *rq, struct res *rs);

enum route_flags {
	ROUTE_NO_WORKSPACE = 1 << 0, /* needs no workspace (auth, users/me, workspaces list) */
	ROUTE_IDEMPOTENT = 1 << 1,   /* honours Idempotency-Key */
	ROUTE_RAW_BODY = 1 << 2,     /* body is not JSON (uploads): handler reads req->raw */
	ROUTE_LIST = 1 << 3,         /* takes ?limit= and ?cursor= */
	ROUTE_NO_LOG = 1 << 4,       /* not in the access log (health probes) */
	ROUTE_WS_FROM_PATH = 1 << 5, /* the workspace is the path's {id}, not X-Workspace-Id */
	ROUTE_CREATES = 1 << 6,      /* success is 201 Created (else 200, or 204 without a response) */
	ROUTE_FORM = 1 << 7,         /* .body also as multipart/form-data (RFC 7578): a text part per field */
	ROUTE_NO_API_KEY = 1 << 8,   /* a signed-in user only: 403 to an API key (account and key management) */
	ROUTE_ACCEPTS = 1 << 9,      /* success is 202 Accepted: the work goes on after the answer (RFC 9110, 15.3.3) */
};

/* A query parameter a route reads beyond ?limit= and ?cursor= (ROUTE_LIST
 * adds those): the OpenAPI document lists it, so the typed clients see it. */
struct route_query {
	const char *name;        /* "q" */
	const char *type;        /* JSON Schema type: "string", "integer", "boolean" */
	const char *description; /* what it matches, its bounds */
};

struct route {
	const char *method;
	const char *pattern; /* "/api/v1/agents/{id}" */
	http_handler handler;
	enum role role;
	const struct schema *body; /* JSON body schema; NULL: no body accepted */
	/* The success answer's schema. ROUTE_LIST routes name the item: the
	 * answer is the page {"items": [item], "next_cursor"} around it. NULL
	 * (and no .produces): the success is 204 No Content. */
	const struct schema *response;
	const char *produces; /* a success body that is not JSON: its media type ("text/plain") */
	size_t body_limit;    /* 0: the configured default */
	enum limit_class limit;
	unsigned flags;
	const char *summary;
	const char *tag;
	/* Statuses the handler answers beyond those the gateway's rules give
	 * every route of its kind (see openapi.c), 0-terminated: the OpenAPI
	 * document lists them. */
	const int *also;
	/* Query parameters read by the handler, ended by {0}; NULL: none. */
	const struct route_query *query;
	/* A credential the route also takes as ?token=, for clients that cannot
	 * send Authorization (EventSource), used only when no Authorization is
	 * sent: checks it and fills req->who's user_id, api_key_id, workspace_id
	 * and role (a ceiling: the member's role is capped by it); ST_OK, or
	 * ST_UNAUTHENTICATED with the problem set. NULL: Authorization only. */
	enum status (*query_token)(struct req *rq);
};

/* A route group: one service's routes, declared in src/http/api_<module>.c
 * and terminated by a route with method NULL. tag names the group in the
 * OpenAPI document (a route's own .tag, when set, wins). */
struct route_group {
	const char *tag;
	const struct route *routes;
};
/* The ordered list of groups (routes.c), terminated by {0}. */
extern const struct route_group http_route_groups[];

/* The one route table: every group's routes in order, each with its tag,
 * terminated by a route with method NULL. Built on first use from
 * http_route_groups (thread-safe), never freed; its pointers are stable, so
 * a route's index (r - http_routes()) names it. */
#define HTTP_ROUTES_MAX 512
const struct route *http_routes(void);
size_t http_route_count(void);

/* Router: matches method and path. A literal segment wins over a {param}
 * at the first segment where two matching patterns differ, so
 * /users/me is routed to its own row whatever the order of the rows. Returns
 * the route, or NULL with
 * *path_matched telling a 405 (path known, method not) from a 404, and
 * allow filled with the methods of that path ("GET, POST"). Parameters
 * point into a copy in the arena. */
#define ROUTE_MAX_PARAMS 4
struct route_match {
	const struct route *route;
	int nparams;
	const char *names[ROUTE_MAX_PARAMS];
	const char *values[ROUTE_MAX_PARAMS];
	bool path_matched;
	char allow[64];
};
int router_match(const char *method, const char *path, struct arena *a, struct route_match *m);
/* The same against another table (terminated by method NULL): for tests. */
int router_match_in(const struct route *routes, const char *method, const char *path, struct arena *a,
                    struct route_match *m);

/* ---- request and response ---- */
struct req {
	struct arena *arena;
	struct app *app;
	const struct route *route;
	const char *method;
	const char *path;
	char request_id[40];
	const char *client_ip;
	json_t *body;    /* validated JSON body, or NULL */
	const char *raw; /* raw body bytes (NUL-terminated), or NULL */
	size_t raw_len;
	struct route_match match;
	struct actor who; /* identity filled by the auth hook; see req_actor() */
	struct problem problem;
	void *impl; /* server.c's connection state */
};

#define RES_MAX_HEADERS 8
struct res {
	json_t *json; /* owned: decref'd after sending */
	char *body;   /* raw body (arena), when json is NULL */
	size_t len;
	const char *content_type;
	int nheaders;
	const char *hname[RES_MAX_HEADERS];
	const char *hvalue[RES_MAX_HEADERS];
};

/* The request's actor for module calls: who, with the request's client
 * address, request id and arena. Valid for the request's life. */
const struct actor *req_actor(struct req *rq);
const char *req_param(const struct req *rq, const char *name);
/* A request header's value (NULL if absent; a repeated singleton header never
 * reaches a handler, see singleton_headers in server.c), without
 * the whitespace around it, which RFC 9110 5.5 says is not part of it. Lives
 * as long as the request. */
const char *req_header(const struct req *rq, const char *name);
const char *req_query(const struct req *rq, const char *name);
/* Takes the reference. */
void res_json(struct res *rs, json_t *j);
void res_body(struct res *rs, const char *ctype, char *body, size_t len);
void res_header(struct res *rs, const char *name, const char *value);

/* Pagination: ?limit= (default 50, 1..200) and ?cursor= (opaque). The
 * cursor decodes to the text the list was ordered by (an id). */
enum status http_page(struct req *rq, int *limit, const char **after);
/* {"items": items, "next_cursor": cursor of last or null}; takes items. */
json_t *http_page_result(struct req *rq, json_t *items, int limit, const char *last_key);

/* ---- streamed answers (Server-Sent Events: http/sse.c) ----
 * A handler that calls res_stream and returns ST_OK answers 200 with a body
 * produced over time (chunked), read from ops->read. */
struct http_stream;
struct http_stream_ops {
	/* Up to max bytes into buf: the count (> 0); 0 when nothing is ready
	 * (the connection is then suspended, holding no thread, until
	 * http_stream_wake); -1 to end the answer. Called on a server thread,
	 * never twice at once for one stream; it must not wait (a database read
	 * at most). */
	ssize_t (*read)(void *ctx, char *buf, size_t max);
	/* Once, when the server is done with the stream (answer ended, client
	 * gone, server stopping, or an error answered instead); frees ctx.
	 * Never at the same time as read. */
	void (*done)(void *ctx);
};
/* The answer to rq is a stream of media type ctype. The handle wakes it
 * until ops->done has returned. */
struct http_stream *res_stream(struct req *rq, struct res *rs, const char *ctype, const struct http_stream_ops *ops,
                               void *ctx);
/* From any thread, without blocking: the stream has something to read. */
void http_stream_wake(struct http_stream *st);

/* ---- problems as HTTP ---- */
int status_http_code(enum status st);
const char *status_http_title(enum status st);
/* problem+json body for p (as a request with that instance path). */
json_t *problem_to_json(const struct problem *p, const char *instance);

/* ---- hooks other modules fill at start ---- */
struct http_hooks {
	/* Authenticates rq (fills rq->who) and checks the route's role.
	 * Returns ST_OK, ST_UNAUTHENTICATED, ST_FORBIDDEN or ST_NOT_FOUND. */
	enum status (*authenticate)(struct req *rq, void *ctx);
	/* Rate limit for the route's class: ST_OK or ST_RATE_LIMITED with
	 * *retry_after set in seconds. */
	enum status (*rate_limit)(struct req *rq, void *ctx, int *retry_after);
	/* Idempotency replay: before the handler (ST_OK: go on; any other
	 * status: answered, from the stored response in rs) and after it. */
	enum status (*idem_begin)(struct req *rq, struct res *rs, void *ctx, bool *replayed);
	void (*idem_end)(struct req *rq, enum status st, struct res *rs, void *ctx);
	void *ctx;
};

struct http_options {
	const char *host;
	int port;
	int threads;
	size_t body_limit;
	int shutdown_timeout_s;
	const char *cors_origins;
	const char *web_dir;
	bool trust_proxy;
};

enum status http_start(struct app *app, const struct http_options *opt, const struct http_hooks *hooks,
                       struct http_server **out, struct problem *p);
/* The port actually bound (for --listen HOST:0). */
int http_port(const struct http_server *s);
/* Stops accepting, waits for in-flight requests up to the timeout. */
void http_stop(struct http_server **s);

/* ---- metrics (Prometheus text) ---- */
/* Render /metrics into b; the server adds DB pool and process figures. */
void http_metrics_render(struct http_server *s, struct buf *b);

/* ---- OpenAPI document built from http_routes() ---- */
json_t *openapi_document(void);
/* The HTTP code of r's success: 201 for ROUTE_CREATES, 204 for a route
 * without a response schema or media type, else 200. */
int route_success_code(const struct route *r);
/* Does a handler's successful answer match what r documents: its status
 * the documented success code, its body the response schema (each item of
 * a list page)? ST_OK, or ST_INTERNAL with p naming the first difference.
 * The server runs it on every answer when TROUPE_CHECK_RESPONSES=1 (the
 * API test suites set it), so the document cannot drift from the answers. */
enum status http_answer_check(const struct route *r, enum status st, const struct res *rs, struct problem *p);

#endif
