/* /api/v1/workspaces: the caller's workspaces, and each workspace's
 * members and roles. The workspace of these routes is the path's {id}. */
#include "api.h"
#include "../app.h"
#include "../auth/auth.h"

static const char *const member_roles[] = {"viewer", "editor", "admin", "owner", NULL};

static const struct field ws_create_fields[] = {
    {"name", JT_STRING, .required = true, .min = 1, .max = 100},
    {0},
};
static const struct schema api_workspace_create_schema = {"WorkspaceCreate", ws_create_fields, false};

static const struct field ws_update_fields[] = {
    {"name", JT_STRING, .min = 1, .max = 100},
    {0},
};
static const struct schema api_workspace_update_schema = {"WorkspaceUpdate", ws_update_fields, false};

static const struct field member_add_fields[] = {
    {"email", JT_STRING, .required = true, .min = 3, .max = 254, .format = "email",
     .description = "an existing user's email"},
    {"role", JT_STRING, .required = true, .enums = member_roles, .description = "at most the caller's own role"},
    {0},
};
static const struct schema api_member_add_schema = {"MemberAdd", member_add_fields, false};

static const struct field member_update_fields[] = {
    {"role", JT_STRING, .required = true, .enums = member_roles,
     .description = "at most the caller's own role; the last owner stays an owner"},
    {0},
};
static const struct schema api_member_update_schema = {"MemberUpdate", member_update_fields, false};

/* ---- answers ---- */
static const struct field ws_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"name", JT_STRING, .required = true},
    {"personal", JT_BOOL, .required = true, .description = "the user's own workspace; it cannot be deleted"},
    {"role", JT_STRING, .required = true, .nullable = true, .enums = member_roles,
     .description = "the caller's role; null for an instance administrator who is not a member"},
    {"created_at", JT_STRING, .required = true, .format = "date-time"},
    {"updated_at", JT_STRING, .required = true, .format = "date-time"},
    {0},
};
static const struct schema ws_schema = {"Workspace", ws_fields, false};

static const struct field member_fields[] = {
    {"user_id", JT_STRING, .required = true, .format = "uuid"},
    {"email", JT_STRING, .required = true},
    {"name", JT_STRING, .required = true},
    {"role", JT_STRING, .required = true, .enums = member_roles},
    {"created_at", JT_STRING, .required = true, .format = "date-time"},
    {0},
};
static const struct schema member_schema = {"Member", member_fields, false};

static enum status api_workspaces_list(struct req *rq, struct res *rs)
{
	return api_auth_list(rq, rs, auth_workspaces_list);
}

static enum status api_workspaces_create(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *out = NULL;
	const char *name = json_string_value(json_object_get(rq->body, "name"));
	enum status st = auth_workspace_create(rq->app->auth, c, name, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_workspaces_get(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *out = NULL;
	enum status st = auth_workspace_get(rq->app->auth, c, rq->who.workspace_id, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_workspaces_update(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *out = NULL;
	enum status st = auth_workspace_update(rq->app->auth, c, rq->who.workspace_id, rq->body, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_workspaces_delete(struct req *rq, struct res *rs)
{
	(void) rs;
	const struct actor *c = req_actor(rq);
	return auth_workspace_delete(rq->app->auth, c, rq->who.workspace_id, &rq->problem);
}

static enum status api_members_list(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	int limit;
	const char *after, *last = NULL;
	json_t *items = NULL;
	enum status st = http_page(rq, &limit, &after);
	if (st == ST_OK)
		st = auth_members_list(rq->app->auth, c, rq->who.workspace_id, after, limit, &items, &last,
		                       &rq->problem);
	return api_list_reply(rq, rs, st, items, limit, last);
}

static enum status api_members_add(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *out = NULL;
	enum status st = auth_member_add(rq->app->auth, c, rq->who.workspace_id,
	                                 json_string_value(json_object_get(rq->body, "email")),
	                                 json_string_value(json_object_get(rq->body, "role")), &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_members_update(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *out = NULL;
	enum status st = auth_member_set_role(rq->app->auth, c, rq->who.workspace_id, req_param(rq, "user_id"),
	                                      json_string_value(json_object_get(rq->body, "role")), &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_members_remove(struct req *rq, struct res *rs)
{
	(void) rs;
	const struct actor *c = req_actor(rq);
	return auth_member_remove(rq->app->auth, c, rq->who.workspace_id, req_param(rq, "user_id"), &rq->problem);
}

const struct route api_workspaces_routes[] = {
    {"GET", "/api/v1/workspaces", api_workspaces_list, ROLE_USER, .response = &ws_schema,
     .flags = ROUTE_NO_WORKSPACE | ROUTE_LIST, .summary = "The caller's workspaces with the caller's role"},
    {"POST", "/api/v1/workspaces", api_workspaces_create, ROLE_USER, .body = &api_workspace_create_schema,
     .response = &ws_schema, .flags = ROUTE_NO_WORKSPACE | ROUTE_IDEMPOTENT | ROUTE_CREATES | ROUTE_NO_API_KEY,
     .summary = "Create a workspace (the caller owns it)"},
    {"GET", "/api/v1/workspaces/{id}", api_workspaces_get, ROLE_VIEWER, .response = &ws_schema,
     .flags = ROUTE_WS_FROM_PATH, .summary = "Get a workspace"},
    {"PATCH", "/api/v1/workspaces/{id}", api_workspaces_update, ROLE_ADMIN, .body = &api_workspace_update_schema,
     .response = &ws_schema, .flags = ROUTE_WS_FROM_PATH, .summary = "Rename a workspace"},
    {"DELETE", "/api/v1/workspaces/{id}", api_workspaces_delete, ROLE_OWNER, .flags = ROUTE_WS_FROM_PATH,
     .summary = "Delete a workspace (not a personal one)"},
    {"GET", "/api/v1/workspaces/{id}/members", api_members_list, ROLE_VIEWER, .response = &member_schema,
     .flags = ROUTE_WS_FROM_PATH | ROUTE_LIST, .summary = "List members and roles"},
    {"POST", "/api/v1/workspaces/{id}/members", api_members_add, ROLE_ADMIN, .body = &api_member_add_schema,
     .response = &member_schema, .flags = ROUTE_WS_FROM_PATH | ROUTE_IDEMPOTENT | ROUTE_CREATES,
     .summary = "Add an existing user by email with a role"},
    {"PATCH", "/api/v1/workspaces/{id}/members/{user_id}", api_members_update, ROLE_ADMIN,
     .body = &api_member_update_schema, .response = &member_schema, .flags = ROUTE_WS_FROM_PATH,
     .summary = "Change a member's role (owners: owners only)"},
    {"DELETE", "/api/v1/workspaces/{id}/members/{user_id}", api_members_remove, ROLE_ADMIN, .flags = ROUTE_WS_FROM_PATH,
     .summary = "Remove a member (never the last owner)"},
    {0},
};
