/*
 * auth: users, sessions, workspaces with roles, API keys, gateway limits,
 * idempotency and the audit log. This header is the module's whole face.
 *
 * Owner: main.c creates one struct auth per process after the database
 * opens (auth_new) and frees it after the HTTP server stops (auth_free).
 * Every function is safe to call from any thread.
 *
 * Credentials:
 *   - access tokens: JWT HS256 (alg pinned) signed with a key derived from
 *     the server secret; claims sub, sid (session), typ "access", aud
 *     "troupe", iat, exp.
 *   - refresh tokens: "trr_" + 32 CSPRNG bytes (base64url), stored as a
 *     keyed hash, rotated on every use; reuse revokes the whole session.
 *   - API keys: "trp_" + 32 CSPRNG bytes (base64url), stored as a keyed
 *     hash, acting in one workspace with a role.
 *
 * Caches: session, API key and membership state is cached in this process
 * for a short TTL (2 s by default) and invalidated at once by this process
 * when it changes it; other processes sharing the database see a change
 * within the TTL.
 */
#ifndef TROUPE_AUTH_H
#define TROUPE_AUTH_H

#include "../core/core.h"
#include "../db/db.h"

#include <jansson.h>

struct auth;

struct auth_options {
	const char *secret; /* the server secret; keys are derived from it */
	int64_t access_ttl_s;
	int64_t refresh_ttl_s;
	bool allow_registration;
	const char *rate_default; /* "N/min" or "N/s"; NULL: 600/min per principal */
	const char *rate_auth;    /* NULL: 300/min per IP, every login and registration attempt */
	/* Fixed windows, "N/[M]unit" (auth_window_parse), shared by every
	 * process through the database: */
	const char *login_account;    /* failed logins per account (email); NULL: 10/15min */
	const char *login_address;    /* failed logins per client address; NULL: 30/15min */
	const char *register_address; /* registration attempts per client address; NULL: 30/hour */
	int cache_ttl_ms;             /* 0: 2000 */
	int argon2_concurrency;       /* 0: 4 */
};

enum status auth_new(struct db *db, const struct auth_options *o, struct auth **out, struct problem *p);
void auth_free(struct auth **a);

/* ---- roles: each includes the one below. A route must name one. ---- */
enum role {
	ROLE_UNSET = 0, /* a route left at this fails the start */
	ROLE_PUBLIC,    /* anyone, no credentials */
	ROLE_USER,      /* any signed-in user; no workspace needed */
	ROLE_VIEWER,    /* in the request's workspace */
	ROLE_EDITOR,
	ROLE_ADMIN,
	ROLE_OWNER,
	ROLE_INSTANCE, /* instance administrator */
};
const char *role_name(enum role r);
enum role role_parse(const char *s); /* viewer|editor|admin|owner; ROLE_UNSET if not */

/* Rate-limit classes: which bucket a route's requests take from. */
enum limit_class { LIMIT_DEFAULT = 0, LIMIT_AUTH, LIMIT_NONE, LIMIT__COUNT };

/*
 * The actor: who does something, in which workspace, with which role, and
 * where the request came from. Every module function that acts for
 * someone takes one (const struct actor *who), checks what it must,
 * and writes its own audit entry from it, so an action taken by the CLI,
 * a worker or the engine is decided and audited like one taken over HTTP.
 * No HTTP type in sight: the gateway fills one per request (req_actor()),
 * others build one on the stack. Strings are borrowed (the arena's or the
 * caller's) and live as long as the actor.
 */
struct actor {
	bool authenticated;       /* false: anonymous (login, register) */
	const char *user_id;      /* the acting user; for an API key, its creator */
	const char *session_id;   /* access tokens */
	const char *api_key_id;   /* API keys */
	const char *workspace_id; /* the workspace acted in; NULL: none */
	enum role role;           /* in workspace_id */
	bool instance_admin;
	const char *email;
	/* where it came from, for the audit log; NULL when not over HTTP */
	const char *client_ip;
	const char *request_id;
	struct arena *arena; /* scratch for the call and its answers */
};

/* ---- the gateway: credentials, workspace roles, limits, idempotency ---- */

/* Authenticates a bearer credential (JWT or trp_ key) and fills who's
 * identity (strings in arena; client_ip, request_id and arena are kept).
 * ST_UNAUTHENTICATED for anything not valid now. */
enum status auth_authenticate(struct auth *a, struct arena *ar, const char *bearer, struct actor *who);
/* The user's role in a workspace, ROLE_UNSET when not a member. */
enum status auth_member_role(struct auth *a, const char *workspace_id, const char *user_id, enum role *out);
/* Takes one token from the bucket of (cls, key). ST_OK or
 * ST_RATE_LIMITED with *retry_after in seconds. */
enum status auth_rate_take(struct auth *a, enum limit_class cls, const char *key, int *retry_after);

/* Idempotency. scope names the principal and workspace; route the method
 * and path. ST_OK: go on (*replay_json NULL) or replay (*replay_json set
 * to the stored response, *replay_st to its status); ST_UNPROCESSABLE for
 * another body under the same key; ST_CONFLICT while the first is still
 * running after a short wait. */
enum status auth_idem_begin(struct auth *a, struct arena *ar, const char *scope, const char *key, const char *route,
                            const void *body, size_t len, enum status *replay_st, json_t **replay_json,
                            struct problem *p);
/* Stores the answer (secrets such as "key" and tokens stripped), or
 * forgets the key when the request failed so it can be retried. */
void auth_idem_end(struct auth *a, const char *scope, const char *key, enum status st, json_t *response);

/* ---- users and sessions ---- */
struct auth_tokens {
	char *access_token; /* arena */
	char *refresh_token;
	int64_t expires_in;
};
json_t *auth_tokens_json(const struct auth_tokens *t);

/* Counts against the registrations of c->client_ip (when set): over the
 * limit, ST_RATE_LIMITED with *retry_after in seconds. */
enum status auth_register(struct auth *a, const struct actor *c, const char *email, const char *password,
                          const char *name, json_t **user, int *retry_after, struct problem *p);
/* Same answer and the same work (one Argon2id verify) for an unknown email
 * and a wrong password. Failed logins are limited per account (email,
 * known or not) and per c->client_ip: over either, ST_RATE_LIMITED with
 * *retry_after in seconds, and a login.locked audit event when a window
 * fills. A success resets the account's count. */
enum status auth_login(struct auth *a, const struct actor *c, const char *email, const char *password,
                       struct auth_tokens *out, int *retry_after, struct problem *p);
enum status auth_refresh(struct auth *a, const struct actor *c, const char *refresh_token, struct auth_tokens *out,
                         struct problem *p);
enum status auth_logout(struct auth *a, const struct actor *c, struct problem *p);

enum status auth_user_get(struct auth *a, const struct actor *c, const char *user_id, json_t **out, struct problem *p);
/* body: {name?, password?, current_password?}; a new password ends every
 * other session of the user. */
enum status auth_me_update(struct auth *a, const struct actor *c, json_t *body, json_t **out, struct problem *p);
enum status auth_users_list(struct auth *a, const struct actor *c, const char *after, int limit, json_t **items,
                            const char **last, struct problem *p);
/* Instance administrators: body {name?, disabled?, is_admin?}. */
enum status auth_user_update(struct auth *a, const struct actor *c, const char *user_id, json_t *body, json_t **out,
                             struct problem *p);
/* First start: creates the administrator when no user exists. *password
 * is set (malloc'd; caller frees) when one was generated. */
enum status auth_bootstrap_admin(struct auth *a, const char *email, const char *password, char **generated,
                                 struct problem *p);
/* Sets a new password for email and ends its sessions (admin command). */
enum status auth_reset_password(struct auth *a, const char *email, const char *password, struct problem *p);

/* ---- workspaces and members ---- */
enum status auth_workspaces_list(struct auth *a, const struct actor *c, const char *after, int limit, json_t **items,
                                 const char **last, struct problem *p);
enum status auth_workspace_create(struct auth *a, const struct actor *c, const char *name, json_t **out,
                                  struct problem *p);
enum status auth_workspace_get(struct auth *a, const struct actor *c, const char *ws, json_t **out, struct problem *p);
enum status auth_workspace_update(struct auth *a, const struct actor *c, const char *ws, json_t *body, json_t **out,
                                  struct problem *p);
enum status auth_workspace_delete(struct auth *a, const struct actor *c, const char *ws, struct problem *p);
enum status auth_members_list(struct auth *a, const struct actor *c, const char *ws, const char *after, int limit,
                              json_t **items, const char **last, struct problem *p);
enum status auth_member_add(struct auth *a, const struct actor *c, const char *ws, const char *email, const char *role,
                            json_t **out, struct problem *p);
enum status auth_member_set_role(struct auth *a, const struct actor *c, const char *ws, const char *user_id,
                                 const char *role, json_t **out, struct problem *p);
enum status auth_member_remove(struct auth *a, const struct actor *c, const char *ws, const char *user_id,
                               struct problem *p);

/* ---- API keys (in the principal's workspace) ---- */
enum status auth_key_create(struct auth *a, const struct actor *c, const char *name, const char *role,
                            const char *expires_at, json_t **out, struct problem *p);
enum status auth_keys_list(struct auth *a, const struct actor *c, const char *after, int limit, json_t **items,
                           const char **last, struct problem *p);
enum status auth_key_revoke(struct auth *a, const struct actor *c, const char *key_id, struct problem *p);

/* ---- audit log ---- */
/* Appends one event (detail: a JSON object without secrets, taken; may be
 * NULL). Failures are logged, never returned: the action already happened. */
void auth_audit(struct auth *a, const struct actor *c, const char *action, const char *target_type,
                const char *target_id, json_t *detail);
/* The audit writer for every module: appends one event on conn inside the
 * caller's transaction (db_tx), so a change and its audit row commit or
 * roll back together. The event carries who's user, API key, workspace,
 * client address and request id; detail (taken; may be NULL) must hold no
 * secret. Returns the database's status: a failure rolls the change back. */
enum status auth_audit_tx(struct db_conn *conn, const struct actor *who, const char *action, const char *target_type,
                          const char *target_id, json_t *detail, struct problem *p);
struct auth_audit_filter {
	const char *action;
	const char *actor;
	int64_t since_ms, until_ms; /* 0: open */
	const char *workspace_id;   /* instance admins: NULL for every workspace */
};
enum status auth_audit_list(struct auth *a, const struct actor *c, const struct auth_audit_filter *f, const char *after,
                            int limit, json_t **items, const char **last, struct problem *p);

/* ---- building blocks, public for the unit tests ---- */
#define AUTH_KEY_BYTES 32
struct auth_claims {
	char sub[40];
	char sid[40];
	int64_t iat, exp;
};
/* HS256 JWT for c into out (arena). */
char *auth_jwt_sign(const unsigned char key[AUTH_KEY_BYTES], const struct auth_claims *c, struct arena *ar);
/* ST_OK with c filled, or ST_UNAUTHENTICATED: another algorithm, bad
 * signature, malformed, expired, typ other than "access", wrong aud. */
enum status auth_jwt_verify(const unsigned char key[AUTH_KEY_BYTES], const char *token, int64_t now_s,
                            struct auth_claims *c);
/* Password policy: 8..256 characters of valid UTF-8, not a common one. */
enum status auth_password_policy(const char *pw, struct problem *p);
bool auth_password_common(const char *pw);
/* Argon2id (libsodium, opslimit 2, memlimit 19 MiB). */
int auth_password_hash(const char *pw, char out[128]);
bool auth_password_verify(const char *hash, const char *pw);
/* prefix + base64url(32 random bytes) into out[80]. */
void auth_token_new(const char *prefix, char out[80]);
/* A well-formed "trp_" key or "trr_" refresh token. */
bool auth_token_wellformed(const char *prefix, const char *s);
/* Keyed BLAKE2b of s as hex into out[65]. */
void auth_secret_hash(const unsigned char key[AUTH_KEY_BYTES], const char *s, char out[65]);
/* API keys: a fixed-key hash, so keys outlive a rotation of the server secret. */
void auth_apikey_hash(const char *s, char out[65]);
/* Derives the JWT (id 1) and hashing (id 2) keys from the server secret. */
void auth_derive_key(const char *secret, uint64_t id, unsigned char out[AUTH_KEY_BYTES]);

/* A small string-keyed cache with a TTL; values are fixed-size copies.
 * One mutex per cache. */
struct auth_cache;
struct auth_cache *auth_cache_new(size_t value_size, int64_t ttl_us, size_t max_entries);
void auth_cache_free(struct auth_cache **c);
bool auth_cache_get(struct auth_cache *c, const char *key, void *value, int64_t now_us);
void auth_cache_put(struct auth_cache *c, const char *key, const void *value, int64_t now_us);
void auth_cache_del(struct auth_cache *c, const char *key);
/* Deletes every entry for which match(key, value, ctx) is true. */
size_t auth_cache_del_if(struct auth_cache *c, bool (*match)(const char *key, const void *value, void *ctx), void *ctx);
/* Runs fn on the entry's value (zeroed when new) under the lock; the
 * entry's age restarts. Returns fn's result. */
int auth_cache_update(struct auth_cache *c, const char *key, int (*fn)(void *value, void *ctx), void *ctx,
                      int64_t now_us);
size_t auth_cache_count(struct auth_cache *c);

/* Token bucket: capacity burst, refilled at rate per second. */
struct auth_bucket {
	double tokens;
	int64_t last_us;
	bool init;
};
bool auth_bucket_take(struct auth_bucket *b, double rate_per_s, double burst, int64_t now_us, int *retry_after_s);
/* "10/min", "600/m", "5/s", "100/hour" into a per-second rate; -1 if bad. */
int auth_rate_parse(const char *s, double *per_s, double *burst);

/* A fixed window: at most count events per window_ms, counted from the
 * window's first event. */
struct auth_window {
	int64_t count;
	int64_t window_ms;
};
/* "N/[M]unit": N (1..1e9) per M (1..1e6, default 1) units of s, min or
 * hour, a week at most: "10/15min", "30/hour", "3/2s". -1 if bad. */
int auth_window_parse(const char *s, struct auth_window *w);

#endif
