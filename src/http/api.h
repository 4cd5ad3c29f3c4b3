/* The route groups, one per service (src/http/api_<module>.c: its schemas,
 * its static handlers, its routes), and the helpers handlers share. Each
 * handler is thin: it reads the request, calls the owning module with
 * req_actor(rq), writes the answer. */
#ifndef TROUPE_HTTP_API_H
#define TROUPE_HTTP_API_H

#include "http.h"

/* ---- route groups, listed in order in routes.c ---- */
extern const struct route api_system_routes[];     /* health, readiness, metrics, OpenAPI, version */
extern const struct route api_auth_routes[];       /* register, login, refresh, logout */
extern const struct route api_users_routes[];      /* the signed-in user; users (instance admins) */
extern const struct route api_workspaces_routes[]; /* workspaces and members */
extern const struct route api_keys_routes[];       /* API keys of the request's workspace */
extern const struct route api_audit_routes[];      /* the audit log */
extern const struct route api_models_routes[];     /* model configurations */
extern const struct route api_agents_routes[];     /* agents and their versions */
extern const struct route api_tools_routes[];      /* built-in and custom tools */
extern const struct route api_workflows_routes[];  /* workflows, versions, crewAI import and export */
extern const struct route api_executions_routes[]; /* starting executions and watching them */

/* ---- shared helpers ---- */

/* Schemas more than one group answers with. */
extern const struct schema api_user_schema; /* api_users.c */

/* Answers out (taken) with st: the common tail of a handler. Call it after
 * the module function, never with that call as an argument: C leaves the
 * order of argument evaluation open. */
enum status api_reply(struct res *rs, enum status st, json_t *out);
/* Answers a page {"items", "next_cursor"} when st is ST_OK (items taken). */
enum status api_list_reply(struct req *rq, struct res *rs, enum status st, json_t *items, int limit,
                           const char *last_key);

/* The path parameter name as a version number of a versioned object
 * (agents, tools, workflows: 1..INT32_MAX) in *out; anything else is
 * ST_BAD_INPUT naming path.<name>. */
enum status api_version_param(struct req *rq, const char *name, int64_t *out);

/* The gateway's auth hooks: credentials and roles, rate limits, idempotency. */
void api_auth_hooks(struct auth *a, struct http_hooks *h);
/* A page of the auth module's lists that share one shape (users,
 * workspaces, API keys): paging in, {"items", "next_cursor"} out. */
typedef enum status (*api_auth_list_fn)(struct auth *a, const struct actor *c, const char *after, int limit,
                                        json_t **items, const char **last, struct problem *p);
enum status api_auth_list(struct req *rq, struct res *rs, api_auth_list_fn fn);

#endif
