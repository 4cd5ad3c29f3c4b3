/* /api/v1/api-keys: keys of the request's workspace. The key itself is in
 * the creating answer only. */
#include "api.h"
#include "../app.h"
#include "../auth/auth.h"

static const char *const key_roles[] = {"viewer", "editor", "admin", NULL};

static const struct field key_create_fields[] = {
    {"name", JT_STRING, .required = true, .min = 1, .max = 100},
    {"role", JT_STRING, .required = true, .enums = key_roles, .description = "at most the creator's own role"},
    {"expires_at", JT_STRING, .nullable = true, .format = "date-time"},
    {0},
};
const struct schema api_key_create_schema = {"ApiKeyCreate", key_create_fields, false};

enum status api_keys_list(struct req *rq, struct res *rs)
{
	return api_auth_list(rq, rs, auth_keys_list);
}

enum status api_keys_create(struct req *rq, struct res *rs)
{
	struct auth_ctx c;
	api_auth_ctx(rq, &c);
	json_t *out = NULL;
	enum status st =
	    auth_key_create(rq->app->auth, &c, json_string_value(json_object_get(rq->body, "name")),
	                    json_string_value(json_object_get(rq->body, "role")),
	                    json_string_value(json_object_get(rq->body, "expires_at")), &out, &rq->problem);
	return api_reply(rs, st, out);
}

enum status api_keys_revoke(struct req *rq, struct res *rs)
{
	(void) rs;
	struct auth_ctx c;
	api_auth_ctx(rq, &c);
	return auth_key_revoke(rq->app->auth, &c, req_param(rq, "id"), &rq->problem);
}
