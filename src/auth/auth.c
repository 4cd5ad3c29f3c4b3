/* auth: the module's state, the gateway's checks (credentials, workspace
 * roles, rate limits, idempotency) and the audit log's writer. */
#include "auth_int.h"
#include "core/json_text.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDEM_TTL_MS     (24LL * 3600 * 1000)
#define IDEM_WAIT_MS    5000
#define LAST_USED_EVERY (60LL * 1000)

enum status auth_q(struct auth *a, enum db_mode mode, struct arena *ar, struct db_res **out, const char *sql,
                   const struct db_arg *args, size_t nargs, struct problem *p)
{
	return db_exec1(a->db, mode, ar, out, sql, args, nargs, p);
}

char *auth_iso(struct arena *ar, int64_t ms)
{
	char *s = arena_alloc(ar, 40);
	time_iso8601(ms, s, 40);
	return s;
}

json_t *auth_iso_json(int64_t ms)
{
	if (!ms)
		return json_null();
	char s[40];
	time_iso8601(ms, s, sizeof(s));
	return json_string(s);
}

const char *auth_actor(const struct actor *c)
{
	return c && c->authenticated ? c->user_id : NULL;
}

/* ---- roles ---- */

static const char *const role_names[] = {
    [ROLE_UNSET] = "unset",   [ROLE_PUBLIC] = "public", [ROLE_USER] = "user",   [ROLE_VIEWER] = "viewer",
    [ROLE_EDITOR] = "editor", [ROLE_ADMIN] = "admin",   [ROLE_OWNER] = "owner", [ROLE_INSTANCE] = "instance_admin",
};

const char *role_name(enum role r)
{
	if ((unsigned) r >= ARRAY_LEN(role_names))
		return "unknown";
	return role_names[r];
}

enum role role_parse(const char *s)
{
	for (enum role r = ROLE_VIEWER; r <= ROLE_OWNER; r++)
		if (str_eq(s, role_names[r]))
			return r;
	return ROLE_UNSET;
}

static void set_rate(double *rate, double *burst, const char *spec, double dflt_per_min)
{
	if (!spec || auth_rate_parse(spec, rate, burst) < 0) {
		*rate = dflt_per_min / 60.0;
		*burst = dflt_per_min;
	}
}

enum status auth_new(struct db *db, const struct auth_options *o, struct auth **out, struct problem *p)
{
	if (!o->secret || strlen(o->secret) < 32)
		return problem_set(p, ST_BAD_INPUT, "the server secret must be at least 32 bytes");
	double r, b;
	if (o->rate_default && auth_rate_parse(o->rate_default, &r, &b) < 0)
		return problem_set(p, ST_BAD_INPUT, "invalid rate_limit_default \"%s\": want N/s, N/min or N/hour",
		                   o->rate_default);
	if (o->rate_auth && auth_rate_parse(o->rate_auth, &r, &b) < 0)
		return problem_set(p, ST_BAD_INPUT, "invalid rate_limit_auth \"%s\": want N/s, N/min or N/hour",
		                   o->rate_auth);
	const struct {
		const char *key, *value, *def;
	} wins[] = {
	    {"rate_limit_login_account", o->login_account, "10/15min"},
	    {"rate_limit_login_address", o->login_address, "30/15min"},
	    {"rate_limit_register", o->register_address, "30/hour"},
	};
	struct auth_window w[ARRAY_LEN(wins)];
	for (size_t i = 0; i < ARRAY_LEN(wins); i++)
		if (auth_window_parse(wins[i].value ? wins[i].value : wins[i].def, &w[i]) < 0)
			return problem_set(p, ST_BAD_INPUT, "invalid %s \"%s\": want N/[M]unit such as 10/15min",
			                   wins[i].key, wins[i].value);
	struct auth *a = xcalloc(1, sizeof(*a));
	a->login_account = w[0];
	a->login_address = w[1];
	a->register_address = w[2];
	a->db = db;
	auth_derive_key(o->secret, 1, a->jwt_key);
	auth_derive_key(o->secret, 2, a->hash_key);
	a->access_ttl_s = o->access_ttl_s > 0 ? o->access_ttl_s : 900;
	a->refresh_ttl_s = o->refresh_ttl_s > 0 ? o->refresh_ttl_s : 30LL * 86400;
	a->allow_registration = o->allow_registration;
	set_rate(&a->rate_def, &a->burst_def, o->rate_default, 600);
	set_rate(&a->rate_auth, &a->burst_auth, o->rate_auth, 300);
	a->cache_ttl_us = (int64_t) (o->cache_ttl_ms > 0 ? o->cache_ttl_ms : 2000) * 1000;
	a->sessions = auth_cache_new(sizeof(struct sess_state), a->cache_ttl_us, 100000);
	a->keys = auth_cache_new(sizeof(struct key_state), a->cache_ttl_us, 100000);
	a->roles = auth_cache_new(sizeof(enum role), a->cache_ttl_us, 200000);
	/* Idle buckets are full again after an hour at any configured rate
	 * we accept, so forgetting them then changes nothing. */
	a->buckets = auth_cache_new(sizeof(struct auth_bucket), 3600LL * 1000000, 200000);
	a->users = auth_cache_new(sizeof(struct user_state), a->cache_ttl_us, 100000);
	sem_init(&a->argon2, 0, (unsigned) (o->argon2_concurrency > 0 ? o->argon2_concurrency : 4));
	/* A fixed hash of a random password nobody kept, with the parameters
	 * every hash has: unknown emails cost one verify too. A constant, not
	 * computed at start, so the start stays fast. */
	snprintf(a->dummy_hash, sizeof(a->dummy_hash), "%s",
	         "$argon2id$v=19$m=19456,t=2,p=1$Swsh1LDWvKJWLpd7Lhq+bw$AAx0zGgqB+RRtUqkd0ffH4Jwsbxn6WEuYdwHK9UKzz4");
	*out = a;
	return ST_OK;
}

void auth_free(struct auth **ap)
{
	struct auth *a = *ap;
	if (!a)
		return;
	auth_cache_free(&a->sessions);
	auth_cache_free(&a->keys);
	auth_cache_free(&a->roles);
	auth_cache_free(&a->buckets);
	auth_cache_free(&a->users);
	sem_destroy(&a->argon2);
	sodium_memzero(a, sizeof(*a));
	free(a);
	*ap = NULL;
}

/* ---- cache invalidation ---- */

static bool sess_of_user(const char *key, const void *value, void *ctx)
{
	(void) key;
	return str_eq(((const struct sess_state *) value)->user_id, ctx);
}

static bool key_of_user(const char *key, const void *value, void *ctx)
{
	(void) key;
	return str_eq(((const struct key_state *) value)->user_id, ctx);
}

static bool key_by_id(const char *key, const void *value, void *ctx)
{
	(void) key;
	return str_eq(((const struct key_state *) value)->key_id, ctx);
}

static bool key_of_ws(const char *key, const void *value, void *ctx)
{
	(void) key;
	return str_eq(((const struct key_state *) value)->ws, ctx);
}

static bool role_of_ws(const char *key, const void *value, void *ctx)
{
	(void) value;
	size_t n = strlen(ctx);
	return strncmp(key, ctx, n) == 0 && key[n] == '|';
}

void auth_forget_user(struct auth *a, const char *user_id)
{
	auth_cache_del_if(a->sessions, sess_of_user, (void *) user_id);
	auth_cache_del_if(a->keys, key_of_user, (void *) user_id);
	auth_cache_del(a->users, user_id);
}

void auth_forget_session(struct auth *a, const char *sid)
{
	auth_cache_del(a->sessions, sid);
}

void auth_forget_member(struct auth *a, const char *ws, const char *user_id)
{
	char k[96];
	snprintf(k, sizeof(k), "%s|%s", ws, user_id);
	auth_cache_del(a->roles, k);
}

void auth_forget_workspace(struct auth *a, const char *ws)
{
	auth_cache_del_if(a->roles, role_of_ws, (void *) ws);
	auth_cache_del_if(a->keys, key_of_ws, (void *) ws);
}

void auth_forget_key(struct auth *a, const char *key_id)
{
	auth_cache_del_if(a->keys, key_by_id, (void *) key_id);
}

enum status auth_revoke_sessions(struct auth *a, struct arena *ar, const char *user_id, const char *keep_sid,
                                 const char *reason, struct problem *p)
{
	enum status st;
	int64_t now = time_now_ms();
	if (keep_sid)
		st = auth_q(a, DB_WRITE, ar, NULL,
		            "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND id <> ? AND "
		            "revoked_at IS NULL",
		            DB_ARGS(db_int(now), db_text(reason), db_text(user_id), db_text(keep_sid)), p);
	else
		st = auth_q(a, DB_WRITE, ar, NULL,
		            "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND revoked_at "
		            "IS NULL",
		            DB_ARGS(db_int(now), db_text(reason), db_text(user_id)), p);
	/* After the write: the next request reloads the revoked state. */
	auth_forget_user(a, user_id);
	return st;
}

/* ---- credentials ---- */

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static enum status load_session(struct auth *a, struct arena *ar, const char *sid, struct sess_state *s)
{
	struct problem p;
	problem_init(&p, ar);
	struct db_res *r = NULL;
	enum status st = auth_q(a, DB_READ, ar, &r,
	                        "SELECT u.id, u.email, u.personal_workspace_id, u.is_admin, u.disabled, s.revoked_at, "
	                        "s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?",
	                        DB_ARGS(db_text(sid)), &p);
	if (st != ST_OK)
		return st;
	memset(s, 0, sizeof(*s));
	if (db_res_rows(r) == 1) {
		copy(s->user_id, sizeof(s->user_id), db_res_text(r, 0, 0));
		copy(s->email, sizeof(s->email), db_res_text(r, 0, 1));
		copy(s->personal_ws, sizeof(s->personal_ws), db_res_text(r, 0, 2));
		s->admin = db_res_int(r, 0, 3) != 0;
		s->ok = db_res_int(r, 0, 4) == 0 && db_res_null(r, 0, 5) && db_res_int(r, 0, 6) > time_now_ms();
	}
	return ST_OK;
}

static enum status load_key(struct auth *a, struct arena *ar, const char *hash, struct key_state *k)
{
	struct problem p;
	problem_init(&p, ar);
	struct db_res *r = NULL;
	enum status st =
	    auth_q(a, DB_READ, ar, &r,
	           "SELECT k.id, k.workspace_id, k.role, k.expires_at, k.revoked_at, k.last_used_at, u.id, "
	           "u.email, u.personal_workspace_id, u.disabled FROM api_keys k JOIN users u ON u.id = "
	           "k.created_by WHERE k.key_hash = ?",
	           DB_ARGS(db_text(hash)), &p);
	if (st != ST_OK)
		return st;
	memset(k, 0, sizeof(*k));
	if (db_res_rows(r) != 1)
		return ST_OK;
	copy(k->key_id, sizeof(k->key_id), db_res_text(r, 0, 0));
	copy(k->ws, sizeof(k->ws), db_res_text(r, 0, 1));
	k->role = role_parse(db_res_text(r, 0, 2));
	k->expires_at = db_res_null(r, 0, 3) ? 0 : db_res_int(r, 0, 3);
	copy(k->user_id, sizeof(k->user_id), db_res_text(r, 0, 6));
	copy(k->email, sizeof(k->email), db_res_text(r, 0, 7));
	copy(k->personal_ws, sizeof(k->personal_ws), db_res_text(r, 0, 8));
	k->ok = db_res_null(r, 0, 4) && db_res_int(r, 0, 9) == 0 && k->role >= ROLE_VIEWER;
	/* last_used_at is written at most once a minute per key and process:
	 * a write per request would cost more than the request. */
	int64_t now = time_now_ms();
	int64_t last = db_res_null(r, 0, 5) ? 0 : db_res_int(r, 0, 5);
	if (k->ok && now - last > LAST_USED_EVERY)
		auth_q(a, DB_WRITE, ar, NULL, "UPDATE api_keys SET last_used_at = ? WHERE id = ?",
		       DB_ARGS(db_int(now), db_text(k->key_id)), &p);
	return ST_OK;
}

enum status auth_authenticate(struct auth *a, struct arena *ar, const char *bearer, struct actor *who)
{
	*who = (struct actor){.client_ip = who->client_ip, .request_id = who->request_id, .arena = who->arena};
	int64_t now_us = time_mono_us();
	if (!bearer || !*bearer)
		return ST_UNAUTHENTICATED;
	if (str_startswith(bearer, "trp_")) {
		if (!auth_token_wellformed("trp_", bearer))
			return ST_UNAUTHENTICATED;
		char hash[65];
		auth_apikey_hash(bearer, hash);
		struct key_state k;
		if (!auth_cache_get(a->keys, hash, &k, now_us)) {
			enum status st = load_key(a, ar, hash, &k);
			if (st != ST_OK)
				return st;
			auth_cache_put(a->keys, hash, &k, now_us);
		}
		if (!k.ok || (k.expires_at && k.expires_at <= time_now_ms()))
			return ST_UNAUTHENTICATED;
		who->authenticated = true;
		who->user_id = arena_strdup(ar, k.user_id);
		who->api_key_id = arena_strdup(ar, k.key_id);
		who->workspace_id = arena_strdup(ar, k.ws);
		who->role = k.role;
		who->email = arena_strdup(ar, k.email);
		return ST_OK;
	}
	struct auth_claims c;
	if (auth_jwt_verify(a->jwt_key, bearer, time_now_ms() / 1000, &c) != ST_OK)
		return ST_UNAUTHENTICATED;
	struct sess_state s;
	if (!auth_cache_get(a->sessions, c.sid, &s, now_us)) {
		enum status st = load_session(a, ar, c.sid, &s);
		if (st != ST_OK)
			return st;
		auth_cache_put(a->sessions, c.sid, &s, now_us);
	}
	if (!s.ok || !str_eq(s.user_id, c.sub))
		return ST_UNAUTHENTICATED;
	who->authenticated = true;
	who->user_id = arena_strdup(ar, s.user_id);
	who->session_id = arena_strdup(ar, c.sid);
	who->workspace_id = s.personal_ws[0] ? arena_strdup(ar, s.personal_ws) : NULL;
	who->instance_admin = s.admin;
	who->email = arena_strdup(ar, s.email);
	return ST_OK;
}

enum status auth_member_role(struct auth *a, const char *ws, const char *user_id, enum role *out)
{
	char k[96];
	snprintf(k, sizeof(k), "%s|%s", ws, user_id);
	int64_t now_us = time_mono_us();
	if (auth_cache_get(a->roles, k, out, now_us))
		return ST_OK;
	struct arena *ar = arena_new();
	struct problem p;
	problem_init(&p, ar);
	struct db_res *r = NULL;
	enum status st =
	    auth_q(a, DB_READ, ar, &r, "SELECT role FROM workspace_members WHERE workspace_id = ? AND user_id = ?",
	           DB_ARGS(db_text(ws), db_text(user_id)), &p);
	if (st == ST_OK) {
		*out = db_res_rows(r) == 1 ? role_parse(db_res_text(r, 0, 0)) : ROLE_UNSET;
		auth_cache_put(a->roles, k, out, now_us);
	}
	arena_free(&ar);
	return st;
}

/* ---- rate limits ---- */

struct take_ctx {
	double rate, burst;
	int64_t now_us;
	int retry;
};

static int take_fn(void *value, void *ctx)
{
	struct take_ctx *t = ctx;
	return auth_bucket_take(value, t->rate, t->burst, t->now_us, &t->retry) ? 1 : 0;
}

enum status auth_rate_take(struct auth *a, enum limit_class cls, const char *key, int *retry_after)
{
	if (cls == LIMIT_NONE)
		return ST_OK;
	struct take_ctx t = {.now_us = time_mono_us()};
	if (cls == LIMIT_AUTH) {
		t.rate = a->rate_auth;
		t.burst = a->burst_auth;
	} else {
		t.rate = a->rate_def;
		t.burst = a->burst_def;
		/* A client address carries several principals: twice as much. */
		if (str_startswith(key, "ip|")) {
			t.rate *= 2;
			t.burst *= 2;
		}
	}
	char k[400];
	snprintf(k, sizeof(k), "%d|%s", (int) cls, key);
	if (auth_cache_update(a->buckets, k, take_fn, &t, t.now_us))
		return ST_OK;
	*retry_after = t.retry;
	return ST_RATE_LIMITED;
}

/* ---- idempotency ---- */

static void body_hash(const void *body, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, body ? body : (const void *) "", body ? len : 0);
	hex_encode(h, sizeof(h), out);
}

enum status auth_idem_begin(struct auth *a, struct arena *ar, const char *scope, const char *key, const char *route,
                            const void *body, size_t len, enum status *replay_st, json_t **replay_json,
                            struct problem *p)
{
	char bh[65];
	body_hash(body, len, bh);
	*replay_json = NULL;
	int64_t deadline = time_mono_us() + (int64_t) IDEM_WAIT_MS * 1000;
	for (int attempt = 0;; attempt++) {
		int64_t now = time_now_ms();
		enum status st =
		    auth_q(a, DB_WRITE, ar, NULL,
		           "INSERT INTO idempotency_keys (scope, idem_key, route, body_hash, status, "
		           "response, created_at) VALUES (?, ?, ?, ?, 0, NULL, ?)",
		           DB_ARGS(db_text(scope), db_text(key), db_text(route), db_text(bh), db_int(now)), p);
		if (st == ST_OK)
			return ST_OK; /* ours: run the handler */
		if (st != ST_CONFLICT)
			return st;
		problem_clear(p);
		struct db_res *r = NULL;
		st = auth_q(
		    a, DB_READ, ar, &r,
		    "SELECT route, body_hash, status, response, created_at FROM idempotency_keys WHERE scope = ? "
		    "AND idem_key = ?",
		    DB_ARGS(db_text(scope), db_text(key)), p);
		if (st != ST_OK)
			return st;
		if (db_res_rows(r) != 1)
			continue; /* forgotten meanwhile: try again */
		if (now - db_res_int(r, 0, 4) > IDEM_TTL_MS) {
			auth_q(a, DB_WRITE, ar, NULL,
			       "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND created_at = ?",
			       DB_ARGS(db_text(scope), db_text(key), db_int(db_res_int(r, 0, 4))), p);
			continue;
		}
		if (!str_eq(db_res_text(r, 0, 0), route) || !str_eq(db_res_text(r, 0, 1), bh)) {
			problem_set(p, ST_UNPROCESSABLE,
			            "this Idempotency-Key was used with another request body or endpoint");
			problem_hint(p, "use a new key for a different request");
			return ST_UNPROCESSABLE;
		}
		int stored = (int) db_res_int(r, 0, 2);
		if (stored == 0) {
			if (time_mono_us() > deadline) {
				problem_set(p, ST_CONFLICT, "a request with this Idempotency-Key is still running");
				problem_hint(p, "retry when it has finished");
				return ST_CONFLICT;
			}
			usleep(attempt < 10 ? 10000 : 50000);
			continue;
		}
		const char *text = db_res_text(r, 0, 3);
		*replay_st = (enum status) stored;
		*replay_json = text ? json_loads(text, 0, NULL) : NULL;
		if (!*replay_json)
			*replay_json = json_object();
		return ST_OK;
	}
}

static void strip_secrets(json_t *j)
{
	static const char *const secret_fields[] = {"key", "access_token", "refresh_token", "password"};
	if (!json_is_object(j))
		return;
	for (size_t i = 0; i < ARRAY_LEN(secret_fields); i++)
		if (json_object_get(j, secret_fields[i]))
			json_object_set_new(j, secret_fields[i], json_null());
}

void auth_idem_end(struct auth *a, const char *scope, const char *key, enum status st, json_t *response)
{
	struct arena *ar = arena_new();
	struct problem p;
	problem_init(&p, ar);
	if (status_ok(st)) {
		/* The stored answer never holds a secret: a replay of an API key's
		 * creation shows the key as null (it is shown once). */
		json_t *copy = response ? json_deep_copy(response) : json_object();
		strip_secrets(copy);
		char *text = json_text(copy, JSON_COMPACT);
		json_decref(copy);
		auth_q(a, DB_WRITE, ar, NULL,
		       "UPDATE idempotency_keys SET status = ?, response = ? WHERE scope = ? AND idem_key = ?",
		       DB_ARGS(db_int(st), db_text(text), db_text(scope), db_text(key)), &p);
		free(text);
	} else {
		auth_q(a, DB_WRITE, ar, NULL, "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?",
		       DB_ARGS(db_text(scope), db_text(key)), &p);
	}
	arena_free(&ar);
}

/* ---- audit ---- */

/* One statement for both writers: the row names the actor only when it is
 * authenticated, and its workspace as the actor acts in it. */
static enum status audit_insert(struct db_conn *conn, struct arena *ar, const struct actor *c, const char *action,
                                const char *target_type, const char *target_id, const char *detail, struct problem *p)
{
	char id[37];
	id_new(id);
	bool authd = c && c->authenticated;
	return db_query(
	    conn, ar, NULL,
	    "INSERT INTO audit_events (id, at, workspace_id, actor_user_id, actor_api_key_id, action, "
	    "target_type, target_id, client_ip, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    DB_ARGS(db_text(id), db_int(time_now_ms()), db_text(authd ? c->workspace_id : NULL),
	            db_text(authd ? c->user_id : NULL), db_text(authd ? c->api_key_id : NULL), db_text(action),
	            db_text(target_type), db_text(target_id), db_text(c ? c->client_ip : NULL),
	            db_text(c ? c->request_id : NULL), db_text(detail)),
	    p);
}

static char *audit_detail(json_t *detail)
{
	return detail ? json_text(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

enum status auth_audit_tx(struct db_conn *conn, const struct actor *c, const char *action, const char *target_type,
                          const char *target_id, json_t *detail, struct problem *p)
{
	struct arena *ar = arena_new();
	char *text = audit_detail(detail);
	enum status st = audit_insert(conn, ar, c, action, target_type, target_id, text, p);
	free(text);
	json_decref(detail);
	arena_free(&ar);
	return st;
}

void auth_audit(struct auth *a, const struct actor *c, const char *action, const char *target_type,
                const char *target_id, json_t *detail)
{
	struct arena *ar = arena_new();
	struct problem p;
	problem_init(&p, ar);
	char *text = audit_detail(detail);
	enum status st = ST_UNAVAILABLE;
	struct db_conn *conn = db_conn_get(a->db, DB_WRITE);
	if (conn) {
		st = audit_insert(conn, ar, c, action, target_type, target_id, text, &p);
		db_conn_put(conn);
	}
	if (st != ST_OK)
		log_kv(LOG_ERROR, "audit event not written", "action", action, "request_id",
		       c && c->request_id ? c->request_id : "", NULL);
	free(text);
	json_decref(detail);
	arena_free(&ar);
}
