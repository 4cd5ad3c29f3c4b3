/* auth: users, passwords and sessions (login, refresh rotation, logout). */
#include "auth_int.h"
#include "core/json_text.h"

#include <sodium.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char *lower(struct arena *ar, const char *s)
{
	char *o = arena_strdup(ar, s ? s : "");
	for (char *c = o; *c; c++)
		*c = (char) tolower((unsigned char) *c);
	return o;
}

/* Argon2id holds 19 MiB while it runs: a semaphore bounds how many run. */
static int hash_pw(struct auth *a, const char *pw, char out[128])
{
	sem_wait(&a->argon2);
	int rc = auth_password_hash(pw, out);
	sem_post(&a->argon2);
	return rc;
}

static bool verify_pw(struct auth *a, const char *hash, const char *pw)
{
	sem_wait(&a->argon2);
	bool ok = auth_password_verify(hash, pw);
	sem_post(&a->argon2);
	return ok;
}

json_t *auth_tokens_json(const struct auth_tokens *t)
{
	return json_pack("{s:s, s:s, s:s, s:I}", "access_token", t->access_token, "refresh_token", t->refresh_token,
	                 "token_type", "Bearer", "expires_in", (json_int_t) t->expires_in);
}

static const char *user_cols = "id, email, name, is_admin, disabled, personal_workspace_id, created_at, updated_at";

static json_t *user_json(struct db_res *r, int i)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:s?, s:o, s:o}", "id", db_res_text(r, i, 0), "email",
	                 db_res_text(r, i, 1), "name", db_res_text(r, i, 2), "is_admin", db_res_int(r, i, 3) != 0,
	                 "disabled", db_res_int(r, i, 4) != 0, "personal_workspace_id", db_res_text(r, i, 5),
	                 "created_at", auth_iso_json(db_res_int(r, i, 6)), "updated_at",
	                 auth_iso_json(db_res_int(r, i, 7)));
}

static enum status load_user(struct auth *a, struct arena *ar, const char *id, json_t **out, struct problem *p)
{
	struct user_state us;
	int64_t now_us = time_mono_us();
	if (auth_cache_get(a->users, id, &us, now_us) && (*out = json_loads(us.json, 0, NULL)))
		return ST_OK;
	struct db_res *r = NULL;
	char *sql = arena_printf(ar, "SELECT %s FROM users WHERE id = ?", user_cols);
	enum status st = auth_q(a, DB_READ, ar, &r, sql, DB_ARGS(db_text(id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) != 1)
		return problem_set(p, ST_NOT_FOUND, "no such user");
	*out = user_json(r, 0);
	char *text = json_text(*out, JSON_COMPACT);
	if (text && strlen(text) < sizeof(us.json)) {
		memcpy(us.json, text, strlen(text) + 1);
		auth_cache_put(a->users, id, &us, now_us);
	}
	free(text);
	return ST_OK;
}

/* ---- creating users ---- */

struct new_user {
	const char *email, *name, *hash;
	bool admin;
	char id[37], ws[37];
};

static enum status create_user_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct new_user *u = ctx;
	struct arena *ar = p->arena;
	int64_t now = time_now_ms();
	enum status st = db_query(c, ar, NULL,
	                          "INSERT INTO users (id, email, name, password_hash, is_admin, disabled, "
	                          "personal_workspace_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
	                          DB_ARGS(db_text(u->id), db_text(u->email), db_text(u->name), db_text(u->hash),
	                                  db_bool(u->admin), db_text(u->ws), db_int(now), db_int(now)),
	                          p);
	if (st != ST_OK)
		return st;
	char *wsname = arena_printf(ar, "%s's workspace", u->name);
	st = db_query(
	    c, ar, NULL,
	    "INSERT INTO workspaces (id, name, personal, created_by, created_at, updated_at) VALUES (?, ?, 1, ?, "
	    "?, ?)",
	    DB_ARGS(db_text(u->ws), db_text(wsname), db_text(u->id), db_int(now), db_int(now)), p);
	if (st != ST_OK)
		return st;
	return db_query(
	    c, ar, NULL,
	    "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES (?, ?, 'owner', ?)",
	    DB_ARGS(db_text(u->ws), db_text(u->id), db_int(now)), p);
}

static enum status create_user(struct auth *a, const char *email, const char *name, const char *password, bool admin,
                               char id_out[37], struct problem *p)
{
	char hash[128];
	if (hash_pw(a, password, hash) != 0)
		return problem_set(p, ST_INTERNAL, "cannot hash the password");
	struct new_user u = {.email = email, .name = name, .hash = hash, .admin = admin};
	id_new(u.id);
	id_new(u.ws);
	enum status st = db_tx(a->db, create_user_tx, &u, p);
	sodium_memzero(hash, sizeof(hash));
	if (st == ST_CONFLICT) {
		problem_clear(p);
		return problem_set(p, ST_CONFLICT, "an account cannot be created with this email");
	}
	if (st == ST_OK && id_out)
		memcpy(id_out, u.id, 37);
	return st;
}

enum status auth_register(struct auth *a, const struct actor *c, const char *email, const char *password,
                          const char *name, json_t **user, int *retry_after, struct problem *p)
{
	if (!a->allow_registration) {
		problem_set(p, ST_FORBIDDEN, "self-registration is turned off on this instance");
		problem_hint(p, "ask an administrator for an account");
		return ST_FORBIDDEN;
	}
	/* Every attempt counts, before the Argon2id hash it would cost. */
	if (c->client_ip) {
		struct limit_key k;
		auth_limit_key(a, &k, "register_address", &a->register_address, c->client_ip);
		enum status lst = auth_limits_hit(a, c->arena, &k, 1, retry_after, p);
		if (lst == ST_RATE_LIMITED)
			return problem_set(p, ST_RATE_LIMITED,
			                   "too many registrations from this address; retry in %d seconds",
			                   *retry_after);
		if (lst != ST_OK)
			return lst;
	}
	if (auth_password_policy(password, p) != ST_OK)
		return problem_set(p, ST_BAD_INPUT, "the password does not meet the policy");
	char id[37];
	const char *em = lower(c->arena, email);
	enum status st = create_user(a, em, name, password, false, id, p);
	if (st != ST_OK)
		return st;
	struct actor ac = {.authenticated = true,
	                   .user_id = id,
	                   .client_ip = c->client_ip,
	                   .request_id = c->request_id,
	                   .arena = c->arena};
	auth_audit(a, &ac, "user.registered", "user", id, json_pack("{s:s}", "email", em));
	return load_user(a, c->arena, id, user, p);
}

enum status auth_bootstrap_admin(struct auth *a, const char *email, const char *password, char **generated,
                                 struct problem *p)
{
	struct arena *ar = p->arena;
	struct db_res *r = NULL;
	*generated = NULL;
	enum status st = auth_q(a, DB_READ, ar, &r, "SELECT COUNT(*) FROM users", DB_NOARGS, p);
	if (st != ST_OK)
		return st;
	if (db_res_int(r, 0, 0) > 0)
		return ST_OK;
	char gen[80];
	if (!password || !*password) {
		auth_token_new("", gen);
		gen[24] = '\0'; /* 144 bits: enough, and easy to copy */
		password = gen;
		*generated = xstrdup(gen);
	} else if (auth_password_policy(password, p) != ST_OK) {
		return problem_set(p, ST_BAD_INPUT, "TROUPE_ADMIN_PASSWORD does not meet the password policy: %s",
		                   p->nfields ? p->fields[0].message : "invalid");
	}
	char id[37];
	st = create_user(a, lower(ar, email), "Administrator", password, true, id, p);
	sodium_memzero(gen, sizeof(gen));
	if (st != ST_OK) {
		free(*generated);
		*generated = NULL;
		return st;
	}
	struct actor ac = {.authenticated = true, .user_id = id, .arena = ar};
	auth_audit(a, &ac, "user.bootstrap_admin", "user", id, NULL);
	return ST_OK;
}

enum status auth_reset_password(struct auth *a, const char *email, const char *password, struct problem *p)
{
	struct arena *ar = p->arena;
	if (auth_password_policy(password, p) != ST_OK)
		return problem_set(p, ST_BAD_INPUT, "the password does not meet the policy: %s", p->fields[0].message);
	struct db_res *r = NULL;
	enum status st =
	    auth_q(a, DB_READ, ar, &r, "SELECT id FROM users WHERE email = ?", DB_ARGS(db_text(lower(ar, email))), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) != 1)
		return problem_set(p, ST_NOT_FOUND, "no user with this email");
	const char *id = arena_strdup(ar, db_res_text(r, 0, 0));
	char hash[128];
	if (hash_pw(a, password, hash) != 0)
		return problem_set(p, ST_INTERNAL, "cannot hash the password");
	st = auth_q(a, DB_WRITE, ar, NULL, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
	            DB_ARGS(db_text(hash), db_int(time_now_ms()), db_text(id)), p);
	if (st != ST_OK)
		return st;
	st = auth_revoke_sessions(a, ar, id, NULL, "password_reset", p);
	struct actor ac = {.arena = ar};
	auth_audit(a, &ac, "user.password_reset", "user", id, NULL);
	return st;
}

/* ---- sessions ---- */

struct issue {
	struct auth *a;
	const char *user_id;
	const char *sid;       /* set: rotate within this session */
	const char *used_hash; /* the refresh token being rotated */
	char new_sid[37];
	char token[80];
	bool reuse;   /* the presented token was already used */
	bool invalid; /* unknown, expired or revoked */
	int64_t expires_at;
};

static enum status insert_refresh(struct db_conn *c, struct issue *is, struct arena *ar, const char *sid,
                                  struct problem *p)
{
	char hash[65];
	auth_token_new("trr_", is->token);
	auth_secret_hash(is->a->hash_key, is->token, hash);
	return db_query(
	    c, ar, NULL,
	    "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, used_at) VALUES (?, "
	    "?, ?, ?, NULL)",
	    DB_ARGS(db_text(hash), db_text(sid), db_int(time_now_ms()), db_int(is->expires_at)), p);
}

static enum status login_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct issue *is = ctx;
	int64_t now = time_now_ms();
	id_new(is->new_sid);
	is->expires_at = now + is->a->refresh_ttl_s * 1000;
	enum status st = db_query(
	    c, p->arena, NULL, "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
	    DB_ARGS(db_text(is->new_sid), db_text(is->user_id), db_int(now), db_int(is->expires_at)), p);
	if (st != ST_OK)
		return st;
	return insert_refresh(c, is, p->arena, is->new_sid, p);
}

static enum status refresh_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct issue *is = ctx;
	struct arena *ar = p->arena;
	int64_t now = time_now_ms();
	struct db_res *r = NULL;
	is->reuse = is->invalid = false;
	enum status st = db_query(c, ar, &r,
	                          "SELECT rt.session_id, rt.used_at, rt.expires_at, s.user_id, s.revoked_at, "
	                          "s.expires_at, u.disabled FROM refresh_tokens rt JOIN sessions s ON s.id = "
	                          "rt.session_id JOIN users u ON u.id = s.user_id WHERE rt.token_hash = ?",
	                          DB_ARGS(db_text(is->used_hash)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) != 1) {
		is->invalid = true;
		return ST_OK;
	}
	is->sid = arena_strdup(ar, db_res_text(r, 0, 0));
	is->user_id = arena_strdup(ar, db_res_text(r, 0, 3));
	is->expires_at = db_res_int(r, 0, 5);
	if (!db_res_null(r, 0, 4) || db_res_int(r, 0, 2) <= now || is->expires_at <= now || db_res_int(r, 0, 6)) {
		is->invalid = true;
		return ST_OK;
	}
	/* The conditional update decides between two racing uses: the loser
	 * changes no row and is a reuse. */
	if (db_res_null(r, 0, 1)) {
		st = db_query(c, ar, NULL,
		              "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
		              DB_ARGS(db_int(now), db_text(is->used_hash)), p);
		if (st != ST_OK)
			return st;
	}
	if (!db_res_null(r, 0, 1) || db_changes(c) != 1) {
		is->reuse = true;
		return db_query(
		    c, ar, NULL,
		    "UPDATE sessions SET revoked_at = ?, revoked_reason = 'refresh_token_reuse' WHERE id = ? "
		    "AND revoked_at IS NULL",
		    DB_ARGS(db_int(now), db_text(is->sid)), p);
	}
	return insert_refresh(c, is, ar, is->sid, p);
}

static void sign_access(struct auth *a, struct arena *ar, const char *user_id, const char *sid, struct issue *is,
                        struct auth_tokens *out)
{
	struct auth_claims cl = {.iat = time_now_ms() / 1000};
	cl.exp = cl.iat + a->access_ttl_s;
	snprintf(cl.sub, sizeof(cl.sub), "%s", user_id);
	snprintf(cl.sid, sizeof(cl.sid), "%s", sid);
	out->access_token = auth_jwt_sign(a->jwt_key, &cl, ar);
	out->refresh_token = arena_strdup(ar, is->token);
	out->expires_in = a->access_ttl_s;
	sodium_memzero(is->token, sizeof(is->token));
}

static enum status bad_credentials(struct problem *p)
{
	problem_set(p, ST_UNAUTHENTICATED, "invalid email or password");
	p->type = "/problems/invalid-credentials";
	return ST_UNAUTHENTICATED;
}

/* The lockout starts with the failure that fills a window; its end is
 * in the event, since no request marks it. */
static void audit_locked(struct auth *a, const struct actor *c, const struct limit_key *k, const char *user_id,
                         const char *email)
{
	bool account = str_eq(k->scope, "login_account");
	json_t *d = json_pack("{s:s, s:I, s:o}", "scope", account ? "account" : "address", "failures",
	                      (json_int_t) k->hits, "locked_until", auth_iso_json(k->window_end_ms));
	if (account)
		json_object_set_new(d, "email", json_string(email));
	auth_audit(a, c, "login.locked", account ? "user" : "address", account ? user_id : c->client_ip, d);
}

/* Failures count per account and per address; both in one transaction
 * before the password is verified, and given back on success (OWASP:
 * count failures, not logins). Unknown emails count like known ones, so
 * neither the answers nor their timing tell which accounts exist. */
static enum status login_limits(struct auth *a, const struct actor *c, const char *em, struct limit_key k[2],
                                size_t *nk, int *retry_after, struct problem *p)
{
	auth_limit_key(a, &k[0], "login_account", &a->login_account, em);
	*nk = 1;
	if (c->client_ip)
		auth_limit_key(a, &k[(*nk)++], "login_address", &a->login_address, c->client_ip);
	enum status st = auth_limits_hit(a, c->arena, k, *nk, retry_after, p);
	if (st != ST_RATE_LIMITED)
		return st;
	problem_set(p, ST_RATE_LIMITED, "too many failed logins %s; retry in %d seconds",
	            k[0].hits > k[0].w->count ? "for this account" : "from this address", *retry_after);
	return ST_RATE_LIMITED;
}

enum status auth_login(struct auth *a, const struct actor *c, const char *email, const char *password,
                       struct auth_tokens *out, int *retry_after, struct problem *p)
{
	struct arena *ar = c->arena;
	const char *em = lower(ar, email);
	struct limit_key k[2];
	size_t nk = 0;
	enum status st = login_limits(a, c, em, k, &nk, retry_after, p);
	if (st != ST_OK)
		return st;
	struct db_res *r = NULL;
	st = auth_q(a, DB_READ, ar, &r, "SELECT id, password_hash, disabled FROM users WHERE email = ?",
	            DB_ARGS(db_text(em)), p);
	if (st != ST_OK)
		return st;
	bool found = db_res_rows(r) == 1;
	/* The same work either way: an unknown email verifies against a
	 * dummy hash, so time does not tell which emails exist. */
	bool ok = verify_pw(a, found ? db_res_text(r, 0, 1) : a->dummy_hash, password);
	bool disabled = found && db_res_int(r, 0, 2) != 0;
	if (!found || !ok || disabled) {
		const char *uid = found ? db_res_text(r, 0, 0) : NULL;
		auth_audit(a, c, "login.failure", "user", uid,
		           json_pack("{s:s, s:s}", "email", em, "reason",
		                     !found ? "unknown_email" : (!ok ? "wrong_password" : "user_disabled")));
		for (size_t i = 0; i < nk; i++)
			if (k[i].hits == k[i].w->count)
				audit_locked(a, c, &k[i], uid, em);
		return bad_credentials(p);
	}
	st = auth_limits_success(a, &k[0], nk > 1 ? &k[1] : NULL, p);
	if (st != ST_OK)
		return st;
	struct issue is = {.a = a, .user_id = arena_strdup(ar, db_res_text(r, 0, 0))};
	st = db_tx(a->db, login_tx, &is, p);
	if (st != ST_OK)
		return st;
	sign_access(a, ar, is.user_id, is.new_sid, &is, out);
	struct actor ac = {.authenticated = true,
	                   .user_id = is.user_id,
	                   .session_id = is.new_sid,
	                   .client_ip = c->client_ip,
	                   .request_id = c->request_id,
	                   .arena = c->arena};
	auth_audit(a, &ac, "login.success", "session", is.new_sid, NULL);
	return ST_OK;
}

enum status auth_refresh(struct auth *a, const struct actor *c, const char *refresh_token, struct auth_tokens *out,
                         struct problem *p)
{
	struct arena *ar = c->arena;
	if (!auth_token_wellformed("trr_", refresh_token)) {
		problem_set(p, ST_UNAUTHENTICATED, "invalid refresh token");
		return ST_UNAUTHENTICATED;
	}
	char hash[65];
	auth_secret_hash(a->hash_key, refresh_token, hash);
	struct issue is = {.a = a, .used_hash = hash};
	enum status st = db_tx(a->db, refresh_tx, &is, p);
	if (st != ST_OK)
		return st;
	if (is.reuse) {
		auth_forget_session(a, is.sid);
		struct actor ac = {.authenticated = true,
		                   .user_id = is.user_id,
		                   .session_id = is.sid,
		                   .client_ip = c->client_ip,
		                   .request_id = c->request_id,
		                   .arena = c->arena};
		auth_audit(a, &ac, "token.reuse_detected", "session", is.sid, NULL);
	}
	if (is.reuse || is.invalid) {
		problem_set(p, ST_UNAUTHENTICATED, "invalid refresh token");
		if (is.reuse)
			problem_hint(p, "this token was already used: the session has been ended; log in again");
		return ST_UNAUTHENTICATED;
	}
	sign_access(a, ar, is.user_id, is.sid, &is, out);
	return ST_OK;
}

enum status auth_logout(struct auth *a, const struct actor *c, struct problem *p)
{
	const struct actor *w = c;
	if (!w->session_id)
		return problem_set(p, ST_BAD_INPUT,
		                   "only a session can log out; revoke API keys with DELETE "
		                   "/api/v1/api-keys/{id}");
	enum status st = auth_q(a, DB_WRITE, c->arena, NULL,
	                        "UPDATE sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE id = ? AND "
	                        "revoked_at IS NULL",
	                        DB_ARGS(db_int(time_now_ms()), db_text(w->session_id)), p);
	auth_forget_session(a, w->session_id);
	if (st == ST_OK)
		auth_audit(a, c, "logout", "session", w->session_id, NULL);
	return st;
}

/* ---- users ---- */

enum status auth_user_get(struct auth *a, const struct actor *c, const char *user_id, json_t **out, struct problem *p)
{
	return load_user(a, c->arena, user_id, out, p);
}

enum status auth_me_update(struct auth *a, const struct actor *c, json_t *body, json_t **out, struct problem *p)
{
	struct arena *ar = c->arena;
	const struct actor *w = c;
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *pw = json_string_value(json_object_get(body, "password"));
	const char *cur = json_string_value(json_object_get(body, "current_password"));
	if (w->api_key_id)
		return problem_set(p, ST_FORBIDDEN, "an API key cannot change its user's account: sign in as the user");
	if (cur && !pw) {
		problem_field(p, "password", "is required with current_password");
		return problem_set(p, ST_BAD_INPUT, "the request body has 1 invalid field");
	}
	int64_t now = time_now_ms();
	enum status st;
	if (pw) {
		if (!cur) {
			problem_field(p, "current_password", "is required to change the password");
			return problem_set(p, ST_BAD_INPUT, "the request body has 1 invalid field");
		}
		struct db_res *r = NULL;
		st = auth_q(a, DB_READ, ar, &r, "SELECT password_hash FROM users WHERE id = ?",
		            DB_ARGS(db_text(w->user_id)), p);
		if (st != ST_OK)
			return st;
		if (db_res_rows(r) != 1 || !verify_pw(a, db_res_text(r, 0, 0), cur)) {
			problem_field(p, "current_password", "is not the current password");
			return problem_set(p, ST_BAD_INPUT, "the current password is wrong");
		}
		if (auth_password_policy(pw, p) != ST_OK)
			return problem_set(p, ST_BAD_INPUT, "the new password does not meet the policy");
		char hash[128];
		if (hash_pw(a, pw, hash) != 0)
			return problem_set(p, ST_INTERNAL, "cannot hash the password");
		st = auth_q(a, DB_WRITE, ar, NULL, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
		            DB_ARGS(db_text(hash), db_int(now), db_text(w->user_id)), p);
		sodium_memzero(hash, sizeof(hash));
		if (st != ST_OK)
			return st;
		st = auth_revoke_sessions(a, ar, w->user_id, w->session_id, "password_change", p);
		if (st != ST_OK)
			return st;
		auth_audit(a, c, "user.password_changed", "user", w->user_id, NULL);
	}
	if (name) {
		st = auth_q(a, DB_WRITE, ar, NULL, "UPDATE users SET name = ?, updated_at = ? WHERE id = ?",
		            DB_ARGS(db_text(name), db_int(now), db_text(w->user_id)), p);
		if (st != ST_OK)
			return st;
	}
	auth_cache_del(a->users, w->user_id);
	return load_user(a, ar, w->user_id, out, p);
}

enum status auth_users_list(struct auth *a, const struct actor *c, const char *after, int limit, json_t **items,
                            const char **last, struct problem *p)
{
	struct arena *ar = c->arena;
	struct db_res *r = NULL;
	char *sql = arena_printf(ar, "SELECT %s FROM users WHERE id > ? ORDER BY id LIMIT ?", user_cols);
	enum status st = auth_q(a, DB_READ, ar, &r, sql, DB_ARGS(db_text(after ? after : ""), db_int(limit)), p);
	if (st != ST_OK)
		return st;
	*items = json_array();
	*last = NULL;
	for (int i = 0; i < db_res_rows(r); i++) {
		json_array_append_new(*items, user_json(r, i));
		*last = db_res_text(r, i, 0);
	}
	return ST_OK;
}

enum status auth_user_update(struct auth *a, const struct actor *c, const char *user_id, json_t *body, json_t **out,
                             struct problem *p)
{
	struct arena *ar = c->arena;
	json_t *cur = NULL;
	enum status st = load_user(a, ar, user_id, &cur, p);
	if (st != ST_OK)
		return st;
	bool was_disabled = json_is_true(json_object_get(cur, "disabled"));
	bool was_admin = json_is_true(json_object_get(cur, "is_admin"));
	json_decref(cur);
	json_t *jd = json_object_get(body, "disabled"), *ja = json_object_get(body, "is_admin");
	const char *name = json_string_value(json_object_get(body, "name"));
	bool self = str_eq(user_id, c->user_id);
	if (self && ((json_is_true(jd) && !was_disabled) || (json_is_false(ja) && was_admin)))
		return problem_set(p, ST_CONFLICT, "administrators cannot disable or demote themselves");
	bool disabled = jd ? json_is_true(jd) : was_disabled;
	bool admin = ja ? json_is_true(ja) : was_admin;
	st = auth_q(
	    a, DB_WRITE, ar, NULL,
	    "UPDATE users SET disabled = ?, is_admin = ?, updated_at = ?, name = COALESCE(?, name) WHERE id = ?",
	    DB_ARGS(db_bool(disabled), db_bool(admin), db_int(time_now_ms()), db_text(name), db_text(user_id)), p);
	if (st != ST_OK)
		return st;
	if (disabled && !was_disabled) {
		st = auth_revoke_sessions(a, ar, user_id, NULL, "user_disabled", p);
		if (st != ST_OK)
			return st;
		auth_audit(a, c, "user.disabled", "user", user_id, NULL);
	} else if (!disabled && was_disabled) {
		auth_audit(a, c, "user.enabled", "user", user_id, NULL);
	}
	if (admin != was_admin)
		auth_audit(a, c, admin ? "user.admin_granted" : "user.admin_revoked", "user", user_id, NULL);
	auth_forget_user(a, user_id);
	return load_user(a, ar, user_id, out, p);
}
