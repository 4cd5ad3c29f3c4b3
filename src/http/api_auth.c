/* The gateway's auth hooks (credentials and roles, rate limits,
 * idempotency) and /api/v1/auth: register, login, refresh, logout. */
#include "api.h"
#include "../app.h"
#include "../auth/auth.h"

#include <string.h>
#include <strings.h>

const struct actor *req_actor(struct req *rq)
{
	rq->who.client_ip = rq->client_ip;
	rq->who.request_id = rq->request_id;
	rq->who.arena = rq->arena;
	return &rq->who;
}

/* ---- hooks ---- */

static enum status not_found_ws(struct req *rq)
{
	/* Not a member looks exactly like no such workspace: 404 either way. */
	return problem_set(&rq->problem, ST_NOT_FOUND, "no such workspace");
}

/* An X-Workspace-Id on an authenticated route is never ignored: a
 * malformed one is 400, one naming a workspace the caller is not in (or, on
 * /workspaces/{id}..., another than the path's) is 404, whether or not the
 * route needs a workspace. A client's mistake is never silently served. */
static enum status check_ws_header(struct auth *a, struct req *rq, const char **out)
{
	const char *given = req_header(rq, "X-Workspace-Id");
	/* Any case in (RFC 9562 section 4), lowercase as stored from here on. */
	const char *ws = given ? id_lower(rq->arena, given) : NULL;
	*out = ws;
	if (!given)
		return ST_OK;
	if (!ws) {
		problem_field(&rq->problem, "header.X-Workspace-Id", "must be a workspace id (UUID)");
		return problem_set(&rq->problem, ST_BAD_INPUT, "invalid X-Workspace-Id");
	}
	if ((rq->route->flags & ROUTE_WS_FROM_PATH) && !str_eq(ws, req_param(rq, "id")))
		return not_found_ws(rq);
	if (rq->who.api_key_id && !str_eq(ws, rq->who.workspace_id))
		return not_found_ws(rq);
	enum role member = ROLE_UNSET;
	enum status st = auth_member_role(a, ws, rq->who.user_id, &member);
	if (st != ST_OK)
		return problem_set(&rq->problem, st, "authorization is unavailable");
	return member == ROLE_UNSET ? not_found_ws(rq) : ST_OK;
}

static enum status hook_authenticate(struct req *rq, void *ctx)
{
	struct auth *a = ctx;
	const struct route *r = rq->route;
	if (r->role == ROLE_PUBLIC)
		return ST_OK;
	const char *h = req_header(rq, "Authorization");
	/* A route's own credential in ?token= (a stream token), only without
	 * Authorization; it names its workspace and caps the role. */
	bool by_query = !h && r->query_token && req_query(rq, "token");
	enum status st;
	if (by_query) {
		if ((st = r->query_token(rq)) != ST_OK)
			return st;
	} else {
		if (!h || strncasecmp(h, "Bearer ", 7) != 0)
			return problem_set(&rq->problem, ST_UNAUTHENTICATED, "authentication required");
		const char *tok = h + 7;
		while (*tok == ' ')
			tok++;
		st = auth_authenticate(a, rq->arena, tok, &rq->who);
		if (st == ST_UNAUTHENTICATED)
			return problem_set(&rq->problem, st, "the credential is invalid, expired or revoked");
		if (st != ST_OK)
			return problem_set(&rq->problem, st, "authentication is unavailable");
	}
	const char *hdr_ws;
	if ((st = check_ws_header(a, rq, &hdr_ws)) != ST_OK)
		return st;
	if (by_query && hdr_ws && !str_eq(hdr_ws, rq->who.workspace_id))
		return not_found_ws(rq);
	/* OWASP (REST Security, Authentication cheat sheets): a key is a delegated
	 * credential; it must not change its user's account or mint credentials
	 * that outlive its own revocation (privilege persistence). */
	if ((r->flags & ROUTE_NO_API_KEY) && rq->who.api_key_id)
		return problem_set(&rq->problem, ST_FORBIDDEN,
		                   "an API key cannot do this: sign in as the user (account changes, new API keys and "
		                   "new workspaces need a user's session)");
	if (r->role == ROLE_INSTANCE) {
		if (!rq->who.instance_admin)
			return problem_set(&rq->problem, ST_FORBIDDEN, "this needs an instance administrator");
		return ST_OK;
	}
	if (r->role == ROLE_USER)
		return ST_OK;

	const char *ws = NULL;
	if (r->flags & ROUTE_WS_FROM_PATH) {
		ws = req_param(rq, "id");
	} else {
		ws = hdr_ws ? hdr_ws : rq->who.workspace_id;
	}
	if (!ws)
		return not_found_ws(rq);
	enum role member = ROLE_UNSET, role;
	if ((rq->who.api_key_id || by_query) && !str_eq(ws, rq->who.workspace_id))
		return not_found_ws(rq);
	st = auth_member_role(a, ws, rq->who.user_id, &member);
	if (st != ST_OK)
		return problem_set(&rq->problem, st, "authorization is unavailable");
	if (member == ROLE_UNSET)
		return not_found_ws(rq);
	/* A key never acts above its creator's current role. */
	role = (rq->who.api_key_id || by_query) && rq->who.role < member ? rq->who.role : member;
	rq->who.workspace_id = arena_strdup(rq->arena, ws);
	rq->who.role = role;
	if (role < r->role)
		return problem_set(&rq->problem, ST_FORBIDDEN, "this needs the %s role in the workspace; you have %s",
		                   role_name(r->role), role_name(role));
	return ST_OK;
}

static enum status hook_rate_limit(struct req *rq, void *ctx, int *retry_after)
{
	struct auth *a = ctx;
	const struct route *r = rq->route;
	const char *ip = rq->client_ip ? rq->client_ip : "unknown";
	if (r->limit == LIMIT_AUTH)
		return auth_rate_take(a, LIMIT_AUTH, arena_printf(rq->arena, "ip|%s", ip), retry_after);
	if (rq->who.authenticated) {
		const char *who = rq->who.api_key_id ? arena_printf(rq->arena, "key|%s", rq->who.api_key_id)
		                                     : arena_printf(rq->arena, "user|%s", rq->who.user_id);
		if (auth_rate_take(a, r->limit, who, retry_after) != ST_OK)
			return ST_RATE_LIMITED;
	}
	return auth_rate_take(a, r->limit, arena_printf(rq->arena, "ip|%s", ip), retry_after);
}

static const char *idem_key(struct req *rq)
{
	return req_header(rq, "Idempotency-Key");
}

static const char *idem_scope(struct req *rq)
{
	const struct actor *w = &rq->who;
	if (!w->authenticated)
		return arena_printf(rq->arena, "ip:%s", rq->client_ip ? rq->client_ip : "");
	if (w->api_key_id)
		return arena_printf(rq->arena, "key:%s", w->api_key_id);
	return arena_printf(rq->arena, "user:%s|%s", w->user_id, w->workspace_id ? w->workspace_id : "");
}

static enum status hook_idem_begin(struct req *rq, struct res *rs, void *ctx, bool *replayed)
{
	struct auth *a = ctx;
	const char *key = idem_key(rq);
	*replayed = false;
	if (!key)
		return ST_OK;
	size_t n = strlen(key);
	bool ok = n >= 1 && n <= 200;
	for (size_t i = 0; ok && i < n; i++)
		ok = key[i] > ' ' && key[i] < 0x7f;
	if (!ok) {
		problem_field(&rq->problem, "header.Idempotency-Key", "must be 1 to 200 visible ASCII characters");
		return problem_set(&rq->problem, ST_BAD_INPUT, "invalid Idempotency-Key");
	}
	enum status stored = ST_OK;
	json_t *replay = NULL;
	const char *route = arena_printf(rq->arena, "%s %s", rq->method, rq->path);
	enum status st = auth_idem_begin(a, rq->arena, idem_scope(rq), key, route, rq->raw, rq->raw_len, &stored,
	                                 &replay, &rq->problem);
	if (st != ST_OK)
		return st;
	if (replay) {
		res_json(rs, replay);
		res_header(rs, "Idempotent-Replayed", "true");
		*replayed = true;
		return stored;
	}
	return ST_OK;
}

static void hook_idem_end(struct req *rq, enum status st, struct res *rs, void *ctx)
{
	const char *key = idem_key(rq);
	if (!key)
		return;
	auth_idem_end(ctx, idem_scope(rq), key, st, rs->json);
}

void api_auth_hooks(struct auth *a, struct http_hooks *h)
{
	h->authenticate = hook_authenticate;
	h->rate_limit = hook_rate_limit;
	h->idem_begin = hook_idem_begin;
	h->idem_end = hook_idem_end;
	h->ctx = a;
}

/* ---- /api/v1/auth ---- */

static const struct field register_fields[] = {
    {"email", JT_STRING, .required = true, .min = 3, .max = 254, .format = "email"},
    {"password", JT_STRING, .required = true, .min = 1, .max = 256, .write_only = true,
     .description = "8 to 256 characters; common passwords are refused"},
    {"name", JT_STRING, .required = true, .min = 1, .max = 100},
    {0},
};
static const struct schema api_register_schema = {"Register", register_fields, false};

static const struct field login_fields[] = {
    {"email", JT_STRING, .required = true, .min = 1, .max = 254},
    {"password", JT_STRING, .required = true, .min = 1, .max = 256, .write_only = true},
    {0},
};
static const struct schema api_login_schema = {"Login", login_fields, false};

static const struct field refresh_fields[] = {
    {"refresh_token", JT_STRING, .min = 1, .max = 4096, .write_only = true,
     .description = "without it, the troupe_refresh cookie that /auth/login set"},
    {0},
};
static const struct schema api_refresh_schema = {"Refresh", refresh_fields, false};

static const struct field tokens_fields[] = {
    {"access_token", JT_STRING, .required = true, .description = "a JWT for Authorization: Bearer"},
    {"refresh_token", JT_STRING, .required = true, .description = "trr_...; single use, rotated by /auth/refresh"},
    {"token_type", JT_STRING, .required = true, .enums = (const char *const[]){"Bearer", NULL}},
    {"expires_in", JT_INT, .required = true, .description = "seconds until the access token expires"},
    {0},
};
static const struct schema tokens_schema = {"Tokens", tokens_fields, false};

static struct auth *auth_of(struct req *rq)
{
	return rq->app->auth;
}

static const char *body_str(struct req *rq, const char *name)
{
	return json_string_value(json_object_get(rq->body, name));
}

/* ---- the refresh token's cookie, for the web app (docs/web.md) ----
 * HttpOnly: no script reads it. SameSite=Strict: no other site's request
 * carries it. Path=/api/v1/auth: no other route sees it (RFC 6265 section
 * 4.1.2). Secure over https; troupe speaks plain HTTP itself, so https is a
 * trusted proxy's X-Forwarded-Proto (--trust-proxy). */
#define REFRESH_COOKIE "troupe_refresh"

static bool req_https(struct req *rq)
{
	const char *proto = req_header(rq, "X-Forwarded-Proto");
	return rq->app->cfg->trust_proxy && proto && strcasecmp(proto, "https") == 0;
}

/* token NULL: the cookie is cleared (Max-Age=0). */
static void set_refresh_cookie(struct req *rq, struct res *rs, const char *token)
{
	long long max_age = token ? (long long) rq->app->cfg->refresh_ttl_s : 0;
	res_header(rs, "Set-Cookie",
	           arena_printf(rq->arena,
	                        REFRESH_COOKIE "=%s; Path=/api/v1/auth; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
	                        token ? token : "", max_age, req_https(rq) ? "; Secure" : ""));
}

/* The cookie's value in the Cookie header (RFC 6265 section 5.4: name=value
 * pairs separated by ";"), or NULL. */
static const char *refresh_from_cookie(struct req *rq)
{
	const char *p = req_header(rq, "Cookie");
	const size_t n = strlen(REFRESH_COOKIE);
	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t) (end - p) : strlen(p);
		if (len > n + 1 && strncmp(p, REFRESH_COOKIE "=", n + 1) == 0)
			return arena_strndup(rq->arena, p + n + 1, len - n - 1);
		p = end;
	}
	return NULL;
}

static enum status api_auth_register(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	json_t *user = NULL;
	int retry = 0;
	enum status st = auth_register(auth_of(rq), c, body_str(rq, "email"), body_str(rq, "password"),
	                               body_str(rq, "name"), &user, &retry, &rq->problem);
	if (st == ST_RATE_LIMITED)
		res_header(rs, "Retry-After", arena_printf(rq->arena, "%d", retry > 0 ? retry : 1));
	if (st != ST_OK)
		return st;
	res_json(rs, user);
	return ST_CREATED;
}

static enum status api_auth_login(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	struct auth_tokens t;
	int retry = 0;
	enum status st =
	    auth_login(auth_of(rq), c, body_str(rq, "email"), body_str(rq, "password"), &t, &retry, &rq->problem);
	if (st == ST_RATE_LIMITED)
		res_header(rs, "Retry-After", arena_printf(rq->arena, "%d", retry > 0 ? retry : 1));
	if (st == ST_UNAUTHENTICATED)
		res_header(rs, "WWW-Authenticate", "Bearer");
	if (st != ST_OK)
		return st;
	set_refresh_cookie(rq, rs, t.refresh_token);
	res_json(rs, auth_tokens_json(&t));
	return ST_OK;
}

/* The body's refresh_token, else the cookie's; a rotation by cookie sets
 * the new one, a refused cookie is cleared. */
static enum status api_auth_refresh(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	struct auth_tokens t;
	const char *token = body_str(rq, "refresh_token");
	const char *cookie = token ? NULL : refresh_from_cookie(rq);
	if (!token && !cookie) {
		res_header(rs, "WWW-Authenticate", "Bearer");
		return problem_set(&rq->problem, ST_UNAUTHENTICATED,
		                   "no refresh token: send refresh_token, or the cookie that /auth/login set");
	}
	enum status st = auth_refresh(auth_of(rq), c, token ? token : cookie, &t, &rq->problem);
	if (st != ST_OK) {
		if (cookie && st == ST_UNAUTHENTICATED)
			set_refresh_cookie(rq, rs, NULL);
		return st;
	}
	if (cookie)
		set_refresh_cookie(rq, rs, t.refresh_token);
	res_json(rs, auth_tokens_json(&t));
	return ST_OK;
}

static enum status api_auth_logout(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	enum status st = auth_logout(auth_of(rq), c, &rq->problem);
	if (st != ST_OK)
		return st;
	set_refresh_cookie(rq, rs, NULL);
	return ST_NO_CONTENT;
}

enum status api_auth_list(struct req *rq, struct res *rs, api_auth_list_fn fn)
{
	const struct actor *c = req_actor(rq);
	int limit;
	const char *after, *last = NULL;
	json_t *items = NULL;
	enum status st = http_page(rq, &limit, &after);
	if (st == ST_OK)
		st = fn(rq->app->auth, c, after, limit, &items, &last, &rq->problem);
	return api_list_reply(rq, rs, st, items, limit, last);
}

const struct route api_auth_routes[] = {
    {"POST", "/api/v1/auth/register", api_auth_register, ROLE_PUBLIC, .body = &api_register_schema,
     .response = &api_user_schema, .limit = LIMIT_AUTH, .flags = ROUTE_NO_WORKSPACE | ROUTE_CREATES,
     .summary = "Create an account (when registration is on)", .also = (const int[]){403, 409, 0}},
    {"POST", "/api/v1/auth/login", api_auth_login, ROLE_PUBLIC, .body = &api_login_schema, .response = &tokens_schema,
     .limit = LIMIT_AUTH, .flags = ROUTE_NO_WORKSPACE,
     .summary = "Log in: access and refresh tokens (the refresh token also in an HttpOnly cookie)",
     .also = (const int[]){401, 0}},
    /* Not LIMIT_AUTH: refreshes never count against logins (a 256-bit
     * token is not guessed); the address's default limit holds them. */
    {"POST", "/api/v1/auth/refresh", api_auth_refresh, ROLE_PUBLIC, .body = &api_refresh_schema,
     .response = &tokens_schema, .limit = LIMIT_DEFAULT, .flags = ROUTE_NO_WORKSPACE,
     .summary = "Rotate a refresh token (the body's, or the troupe_refresh cookie's); a reused one ends its session",
     .also = (const int[]){401, 0}},
    {"POST", "/api/v1/auth/logout", api_auth_logout, ROLE_USER, .flags = ROUTE_NO_WORKSPACE,
     .summary = "End this session (and clear the refresh cookie)"},
    {0},
};
