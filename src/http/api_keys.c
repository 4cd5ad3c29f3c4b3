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
static const struct schema api_key_create_schema = {"ApiKeyCreate", key_create_fields, false};

/* ---- answers ---- */
#define KEY_FIELDS                                                                                                     \
	{"id", JT_STRING, .required = true, .format = "uuid"}, {"name", JT_STRING, .required = true},                  \
	    {"prefix", JT_STRING, .required = true, .description = "the key's first characters, to recognise it"},     \
	    {"last4", JT_STRING, .required = true, .nullable = true,                                                   \
	     .description = "the key's last 4 characters, to recognise it (null: a key made before they were kept)"},  \
	    {"role", JT_STRING, .required = true, .enums = key_roles},                                                 \
	    {"created_at", JT_STRING, .required = true, .format = "date-time"},                                        \
	    {"last_used_at", JT_STRING, .required = true, .nullable = true, .format = "date-time"},                    \
	    {"expires_at", JT_STRING, .required = true, .nullable = true, .format = "date-time"},                      \
	{                                                                                                              \
		"created_by", JT_STRING, .required = true, .format = "uuid"                                            \
	}
static const struct field key_fields[] = {KEY_FIELDS, {0}};
static const struct schema key_schema = {"ApiKey", key_fields, false};
static const struct field key_created_fields[] = {
    KEY_FIELDS,
    {"key", JT_STRING, .required = true, .nullable = true,
     .description = "the key itself, shown in this answer only (null in a replay of it)"},
    {0},
};
static const struct schema key_created_schema = {"ApiKeyCreated", key_created_fields, false};

static enum status api_keys_list(struct req *rq, struct res *rs)
{
	return api_auth_list(rq, rs, auth_keys_list);
}

static enum status api_keys_create(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *out = NULL;
	enum status st =
	    auth_key_create(rq->app->auth, c, json_string_value(json_object_get(rq->body, "name")),
	                    json_string_value(json_object_get(rq->body, "role")),
	                    json_string_value(json_object_get(rq->body, "expires_at")), &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_keys_revoke(struct req *rq, struct res *rs)
{
	(void) rs;
	const struct actor *c = req_actor(rq);
	return auth_key_revoke(rq->app->auth, c, req_param(rq, "id"), &rq->problem);
}

const struct route api_keys_routes[] = {
    {"GET", "/api/v1/api-keys", api_keys_list, ROLE_ADMIN, .response = &key_schema, .flags = ROUTE_LIST,
     .summary = "List API keys (never the keys themselves)"},
    {"POST", "/api/v1/api-keys", api_keys_create, ROLE_ADMIN, .body = &api_key_create_schema,
     .response = &key_created_schema, .flags = ROUTE_IDEMPOTENT | ROUTE_CREATES | ROUTE_NO_API_KEY,
     .summary = "Create an API key; the answer shows it once"},
    {"DELETE", "/api/v1/api-keys/{id}", api_keys_revoke, ROLE_ADMIN, .summary = "Revoke an API key at once"},
    {0},
};
