/* auth's private header: the state every file of the module shares. */
#ifndef TROUPE_AUTH_INT_H
#define TROUPE_AUTH_INT_H

#include "auth.h"

#include <semaphore.h>

struct auth {
	struct db *db;
	unsigned char jwt_key[AUTH_KEY_BYTES];  /* read-only after auth_new */
	unsigned char hash_key[AUTH_KEY_BYTES]; /* read-only after auth_new */
	int64_t access_ttl_s, refresh_ttl_s;
	bool allow_registration;
	double rate_def, burst_def;   /* per principal; per IP twice these */
	double rate_auth, burst_auth; /* per IP: every login and registration */
	/* Fixed windows counted in the database (limits.c). */
	struct auth_window login_account, login_address, register_address;
	int64_t limits_pruned_ms; /* atomic (__atomic builtins): last prune of ended windows */
	int64_t cache_ttl_us;
	/* Each cache has its own lock inside. */
	struct auth_cache *sessions; /* session id -> struct sess_state */
	struct auth_cache *keys;     /* API key hash -> struct key_state */
	struct auth_cache *roles;    /* "workspace|user" -> enum role */
	struct auth_cache *buckets;  /* "class|what|who" -> struct auth_bucket */
	struct auth_cache *users;    /* user id -> struct user_state (the user's JSON) */
	sem_t argon2;                /* bounds concurrent Argon2id runs (19 MiB each) */
	char dummy_hash[128];        /* verified against for unknown emails */
};

struct sess_state {
	bool ok; /* exists, not revoked, not expired, user enabled */
	bool admin;
	char user_id[40];
	char personal_ws[40];
	char email[256];
};

struct key_state {
	bool ok; /* exists, not revoked, creator enabled */
	enum role role;
	int64_t expires_at; /* ms; 0: never */
	char key_id[40];
	char ws[40];
	char user_id[40];
	char personal_ws[40];
	char email[256];
};

/* A user's answer, cached so that GET /users/me costs no query. */
struct user_state {
	char json[1000]; /* compact JSON; users whose JSON is longer are not cached */
};

/* Helpers shared by the module's files. */
enum status auth_q(struct auth *a, enum db_mode mode, struct arena *ar, struct db_res **out, const char *sql,
                   const struct db_arg *args, size_t nargs, struct problem *p);
void auth_forget_user(struct auth *a, const char *user_id);
void auth_forget_session(struct auth *a, const char *sid);
void auth_forget_member(struct auth *a, const char *ws, const char *user_id);
void auth_forget_workspace(struct auth *a, const char *ws);
void auth_forget_key(struct auth *a, const char *key_id);
/* Revokes the user's sessions (all but keep_sid, which may be NULL). */
enum status auth_revoke_sessions(struct auth *a, struct arena *ar, const char *user_id, const char *keep_sid,
                                 const char *reason, struct problem *p);
char *auth_iso(struct arena *ar, int64_t ms);
json_t *auth_iso_json(int64_t ms); /* null for 0 */
const char *auth_actor(const struct actor *c);

/* One counter of the login and registration limits (limits.c). */
struct limit_key {
	const char *scope; /* "login_account", "login_address", "register_address" */
	const struct auth_window *w;
	char hash[65];         /* keyed hash of scope and subject: no email or address is stored */
	int64_t hits;          /* after auth_limits_hit: this attempt's number in its window */
	int64_t window_end_ms; /* after auth_limits_hit: when the window ends (wall clock) */
};
void auth_limit_key(struct auth *a, struct limit_key *k, const char *scope, const struct auth_window *w,
                    const char *subject);
/* Counts one attempt on every key, in one transaction. ST_OK, or
 * ST_RATE_LIMITED when a key is over its count: nothing is counted then,
 * *retry_after is the seconds until the latest such window ends, and the
 * keys over their count have hits > w->count. */
enum status auth_limits_hit(struct auth *a, struct arena *ar, struct limit_key *keys, size_t n, int *retry_after,
                            struct problem *p);
/* A success: deletes reset's counter and takes back give_back's attempt
 * (in the window it was counted in). Either may be NULL. */
enum status auth_limits_success(struct auth *a, const struct limit_key *reset, const struct limit_key *give_back,
                                struct problem *p);

#endif
