/* auth: the login and registration limits, after OWASP's Authentication
 * Cheat Sheet ("Protect against automated attacks": lock by account and by
 * address, count failures, not successes). Fixed-window counters live in
 * the database (auth_limit_counters), so every process on it counts into
 * the same rows; each count is one UPSERT ... RETURNING inside one
 * transaction, so concurrent attempts never both see the last free slot. */
#include "auth_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Ended windows are deleted at most this often per process. */
#define PRUNE_EVERY_MS (60LL * 1000)

int auth_window_parse(const char *s, struct auth_window *w)
{
	if (!s || !isdigit((unsigned char) s[0]))
		return -1;
	char *end = NULL;
	long long n = strtoll(s, &end, 10);
	if (n < 1 || n > 1000000000LL || *end != '/')
		return -1;
	const char *unit = end + 1;
	long long mult = 1;
	if (isdigit((unsigned char) *unit)) {
		mult = strtoll(unit, &end, 10);
		if (mult < 1 || mult > 1000000LL)
			return -1;
		unit = end;
	}
	long long secs;
	if (str_eq(unit, "s") || str_eq(unit, "sec") || str_eq(unit, "second"))
		secs = 1;
	else if (str_eq(unit, "m") || str_eq(unit, "min") || str_eq(unit, "minute"))
		secs = 60;
	else if (str_eq(unit, "h") || str_eq(unit, "hour"))
		secs = 3600;
	else
		return -1;
	/* A week at most: a longer lockout is an outage, not a limit. */
	if (mult * secs > 7LL * 86400)
		return -1;
	w->count = n;
	w->window_ms = mult * secs * 1000;
	return 0;
}

void auth_limit_key(struct auth *a, struct limit_key *k, const char *scope, const struct auth_window *w,
                    const char *subject)
{
	char buf[600];
	memset(k, 0, sizeof(*k));
	k->scope = scope;
	k->w = w;
	snprintf(buf, sizeof(buf), "%s|%s", scope, subject ? subject : "");
	auth_secret_hash(a->hash_key, buf, k->hash);
}

static void prune(struct auth *a, struct arena *ar, int64_t now)
{
	int64_t last = __atomic_load_n(&a->limits_pruned_ms, __ATOMIC_RELAXED);
	if (now - last < PRUNE_EVERY_MS ||
	    !__atomic_compare_exchange_n(&a->limits_pruned_ms, &last, now, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	struct problem p;
	problem_init(&p, ar);
	if (auth_q(a, DB_WRITE, ar, NULL, "DELETE FROM auth_limit_counters WHERE window_end <= ?", DB_ARGS(db_int(now)),
	           &p) != ST_OK)
		log_kv(LOG_WARN, "ended limit windows not pruned; will try again", NULL);
}

struct hit_ctx {
	struct limit_key *keys;
	size_t n;
	int64_t now;
	struct arena *ar;
};

/* The count of an ended window starts again at 1; the SET expressions
 * read the row as it was, on both databases. */
static const char *const hit_sql =
    "INSERT INTO auth_limit_counters (scope, subject_hash, hits, window_end) VALUES (?, ?, 1, ?) "
    "ON CONFLICT (scope, subject_hash) DO UPDATE SET "
    "hits = CASE WHEN auth_limit_counters.window_end <= ? THEN 1 ELSE auth_limit_counters.hits + 1 END, "
    "window_end = CASE WHEN auth_limit_counters.window_end <= ? THEN excluded.window_end "
    "ELSE auth_limit_counters.window_end END "
    "RETURNING hits, window_end";

static enum status hit_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct hit_ctx *h = ctx;
	bool over = false;
	for (size_t i = 0; i < h->n; i++) {
		struct limit_key *k = &h->keys[i];
		struct db_res *r = NULL;
		enum status st = db_query(c, h->ar, &r, hit_sql,
		                          DB_ARGS(db_text(k->scope), db_text(k->hash), db_int(h->now + k->w->window_ms),
		                                  db_int(h->now), db_int(h->now)),
		                          p);
		if (st != ST_OK)
			return st;
		if (db_res_rows(r) != 1)
			return problem_set(p, ST_INTERNAL, "the limit counter was not written");
		k->hits = db_res_int(r, 0, 0);
		k->window_end_ms = db_res_int(r, 0, 1);
		if (k->hits > k->w->count)
			over = true;
	}
	/* Over a limit: roll back, so a refused attempt counts nowhere. */
	return over ? ST_RATE_LIMITED : ST_OK;
}

enum status auth_limits_hit(struct auth *a, struct arena *ar, struct limit_key *keys, size_t n, int *retry_after,
                            struct problem *p)
{
	struct hit_ctx h = {.keys = keys, .n = n, .now = time_now_ms(), .ar = ar};
	prune(a, ar, h.now);
	enum status st = db_tx(a->db, hit_tx, &h, p);
	if (st != ST_RATE_LIMITED)
		return st;
	int64_t wait_ms = 0;
	for (size_t i = 0; i < n; i++)
		if (keys[i].hits > keys[i].w->count && keys[i].window_end_ms - h.now > wait_ms)
			wait_ms = keys[i].window_end_ms - h.now;
	*retry_after = (int) ((wait_ms + 999) / 1000);
	if (*retry_after < 1)
		*retry_after = 1;
	return ST_RATE_LIMITED;
}

struct success_ctx {
	const struct limit_key *reset, *give_back;
};

static enum status success_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct success_ctx *s = ctx;
	enum status st = ST_OK;
	if (s->reset)
		st = db_query(c, NULL, NULL, "DELETE FROM auth_limit_counters WHERE scope = ? AND subject_hash = ?",
		              DB_ARGS(db_text(s->reset->scope), db_text(s->reset->hash)), p);
	/* Only in the window it was counted in: a new window owes nothing. */
	if (st == ST_OK && s->give_back)
		st = db_query(c, NULL, NULL,
		              "UPDATE auth_limit_counters SET hits = hits - 1 WHERE scope = ? AND subject_hash = ? AND "
		              "window_end = ? AND hits > 0",
		              DB_ARGS(db_text(s->give_back->scope), db_text(s->give_back->hash),
		                      db_int(s->give_back->window_end_ms)),
		              p);
	return st;
}

enum status auth_limits_success(struct auth *a, const struct limit_key *reset, const struct limit_key *give_back,
                                struct problem *p)
{
	struct success_ctx s = {.reset = reset, .give_back = give_back};
	return db_tx(a->db, success_tx, &s, p);
}
