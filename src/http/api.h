/* Handlers of the route table, one group per api_<group>.c file. Each is
 * thin: it reads the request, calls the owning module, writes the answer. */
#ifndef TROUPE_HTTP_API_H
#define TROUPE_HTTP_API_H

#include "http.h"

/* Answers out (taken) with st: the common tail of a handler. Call it after
 * the module function, never with that call as an argument: C leaves the
 * order of argument evaluation open. */
enum status api_reply(struct res *rs, enum status st, json_t *out);
/* Answers a page {"items", "next_cursor"} when st is ST_OK (items taken). */
enum status api_list_reply(struct req *rq, struct res *rs, enum status st, json_t *items, int limit,
                           const char *last_key);

enum status api_healthz(struct req *rq, struct res *rs);
enum status api_readyz(struct req *rq, struct res *rs);
enum status api_metrics(struct req *rq, struct res *rs);
enum status api_openapi(struct req *rq, struct res *rs);
enum status api_version(struct req *rq, struct res *rs);

/* models */
extern const struct schema api_model_create_schema, api_model_update_schema;
enum status api_models_list(struct req *rq, struct res *rs);
enum status api_models_create(struct req *rq, struct res *rs);
enum status api_models_get(struct req *rq, struct res *rs);
enum status api_models_update(struct req *rq, struct res *rs);
enum status api_models_delete(struct req *rq, struct res *rs);
enum status api_models_providers(struct req *rq, struct res *rs);
enum status api_models_test(struct req *rq, struct res *rs);

/* auth: the gateway's hooks and the auth, users, workspaces, API keys and
 * audit handlers (api_auth.c, api_users.c, api_workspaces.c, api_keys.c,
 * api_audit.c). */
struct auth;
struct auth_ctx;
void api_auth_hooks(struct auth *a, struct http_hooks *h);
void api_auth_ctx(struct req *rq, struct auth_ctx *c);
/* A page of the auth module's lists that share one shape (users,
 * workspaces, API keys): paging in, {"items", "next_cursor"} out. */
struct auth;
typedef enum status (*api_auth_list_fn)(struct auth *a, const struct auth_ctx *c, const char *after, int limit,
                                        json_t **items, const char **last, struct problem *p);
enum status api_auth_list(struct req *rq, struct res *rs, api_auth_list_fn fn);
extern const struct schema api_register_schema, api_login_schema, api_refresh_schema;
extern const struct schema api_me_update_schema, api_user_update_schema;
extern const struct schema api_workspace_create_schema, api_workspace_update_schema;
extern const struct schema api_member_add_schema, api_member_update_schema, api_key_create_schema;
enum status api_auth_register(struct req *rq, struct res *rs);
enum status api_auth_login(struct req *rq, struct res *rs);
enum status api_auth_refresh(struct req *rq, struct res *rs);
enum status api_auth_logout(struct req *rq, struct res *rs);
enum status api_users_me(struct req *rq, struct res *rs);
enum status api_users_me_update(struct req *rq, struct res *rs);
enum status api_users_list(struct req *rq, struct res *rs);
enum status api_users_get(struct req *rq, struct res *rs);
enum status api_users_update(struct req *rq, struct res *rs);
enum status api_workspaces_list(struct req *rq, struct res *rs);
enum status api_workspaces_create(struct req *rq, struct res *rs);
enum status api_workspaces_get(struct req *rq, struct res *rs);
enum status api_workspaces_update(struct req *rq, struct res *rs);
enum status api_workspaces_delete(struct req *rq, struct res *rs);
enum status api_members_list(struct req *rq, struct res *rs);
enum status api_members_add(struct req *rq, struct res *rs);
enum status api_members_update(struct req *rq, struct res *rs);
enum status api_members_remove(struct req *rq, struct res *rs);
enum status api_keys_list(struct req *rq, struct res *rs);
enum status api_keys_create(struct req *rq, struct res *rs);
enum status api_keys_revoke(struct req *rq, struct res *rs);
enum status api_audit_list(struct req *rq, struct res *rs);

#endif
