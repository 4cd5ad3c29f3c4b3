/* /api/v1/users: the signed-in user (me) and, for instance administrators,
 * every user (disable, enable, make admin). */
#include "api.h"
#include "../app.h"
#include "../auth/auth.h"

static const struct field me_update_fields[] = {
    {"name", JT_STRING, .min = 1, .max = 100},
    {"password", JT_STRING, .min = 1, .max = 256, .write_only = true,
     .description = "the new password; needs current_password and ends every other session"},
    {"current_password", JT_STRING, .min = 1, .max = 256, .write_only = true},
    {0},
};
static const struct schema api_me_update_schema = {"MeUpdate", me_update_fields, false};

static const struct field user_update_fields[] = {
    {"name", JT_STRING, .min = 1, .max = 100},
    {"disabled", JT_BOOL, .description = "a disabled user's sessions and API keys stop working at once"},
    {"is_admin", JT_BOOL, .description = "instance administrator"},
    {0},
};
static const struct schema api_user_update_schema = {"UserUpdate", user_update_fields, false};

/* ---- answers ---- */
static const struct field user_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"email", JT_STRING, .required = true},
    {"name", JT_STRING, .required = true},
    {"is_admin", JT_BOOL, .required = true, .description = "instance administrator"},
    {"disabled", JT_BOOL, .required = true},
    {"personal_workspace_id", JT_STRING, .required = true, .nullable = true, .format = "uuid"},
    {"created_at", JT_STRING, .required = true, .format = "date-time"},
    {"updated_at", JT_STRING, .required = true, .format = "date-time"},
    {0},
};
const struct schema api_user_schema = {"User", user_fields, false};

static enum status api_users_me(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *out = NULL;
	enum status st = auth_user_get(rq->app->auth, c, rq->who.user_id, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_users_me_update(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *out = NULL;
	enum status st = auth_me_update(rq->app->auth, c, rq->body, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_users_list(struct req *rq, struct res *rs)
{
	return api_auth_list(rq, rs, auth_users_list);
}

static enum status api_users_get(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *out = NULL;
	enum status st = auth_user_get(rq->app->auth, c, req_param(rq, "id"), &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_users_update(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *out = NULL;
	enum status st = auth_user_update(rq->app->auth, c, req_param(rq, "id"), rq->body, &out, &rq->problem);
	return api_reply(rs, st, out);
}

const struct route api_users_routes[] = {
    {"GET", "/api/v1/users/me", api_users_me, ROLE_USER, .response = &api_user_schema, .flags = ROUTE_NO_WORKSPACE,
     .summary = "The signed-in user"},
    {"PATCH", "/api/v1/users/me", api_users_me_update, ROLE_USER, .body = &api_me_update_schema,
     .response = &api_user_schema, .flags = ROUTE_NO_WORKSPACE | ROUTE_NO_API_KEY,
     .summary = "Change name or password"},
    {"GET", "/api/v1/users", api_users_list, ROLE_INSTANCE, .response = &api_user_schema,
     .flags = ROUTE_NO_WORKSPACE | ROUTE_LIST, .summary = "List users (instance administrators)"},
    {"GET", "/api/v1/users/{id}", api_users_get, ROLE_INSTANCE, .response = &api_user_schema,
     .flags = ROUTE_NO_WORKSPACE, .summary = "Get a user (instance administrators)"},
    {"PATCH", "/api/v1/users/{id}", api_users_update, ROLE_INSTANCE, .body = &api_user_update_schema,
     .response = &api_user_schema, .flags = ROUTE_NO_WORKSPACE, .summary = "Disable, enable or make a user admin"},
    {0},
};
