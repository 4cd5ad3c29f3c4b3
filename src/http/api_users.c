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
const struct schema api_me_update_schema = {"MeUpdate", me_update_fields, false};

static const struct field user_update_fields[] = {
    {"name", JT_STRING, .min = 1, .max = 100},
    {"disabled", JT_BOOL, .description = "a disabled user's sessions and API keys stop working at once"},
    {"is_admin", JT_BOOL, .description = "instance administrator"},
    {0},
};
const struct schema api_user_update_schema = {"UserUpdate", user_update_fields, false};

enum status api_users_me(struct req *rq, struct res *rs)
{
	struct auth_ctx c;
	api_auth_ctx(rq, &c);
	json_t *out = NULL;
	enum status st = auth_user_get(rq->app->auth, &c, rq->who.user_id, &out, &rq->problem);
	return api_reply(rs, st, out);
}

enum status api_users_me_update(struct req *rq, struct res *rs)
{
	struct auth_ctx c;
	api_auth_ctx(rq, &c);
	json_t *out = NULL;
	enum status st = auth_me_update(rq->app->auth, &c, rq->body, &out, &rq->problem);
	return api_reply(rs, st, out);
}

enum status api_users_list(struct req *rq, struct res *rs)
{
	return api_auth_list(rq, rs, auth_users_list);
}

enum status api_users_get(struct req *rq, struct res *rs)
{
	struct auth_ctx c;
	api_auth_ctx(rq, &c);
	json_t *out = NULL;
	enum status st = auth_user_get(rq->app->auth, &c, req_param(rq, "id"), &out, &rq->problem);
	return api_reply(rs, st, out);
}

enum status api_users_update(struct req *rq, struct res *rs)
{
	struct auth_ctx c;
	api_auth_ctx(rq, &c);
	json_t *out = NULL;
	enum status st = auth_user_update(rq->app->auth, &c, req_param(rq, "id"), rq->body, &out, &rq->problem);
	return api_reply(rs, st, out);
}
