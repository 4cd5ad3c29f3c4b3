/* The queue's rows: enqueue, claim, renew, fence, complete, fail, release.
 * Every transition is one UPDATE fenced on the epoch, with RETURNING the
 * row it leaves, so its invariants are asserted on what was written. */
#include "jobs.h"
#include "core/json_text.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define JOB_COLS                                                                                                       \
	"id, kind, workspace_id, payload, state, attempts, max_attempts, run_after, lease_owner, lease_epoch, "        \
	"lease_expires_at, last_error, created_at, updated_at, finished_at"

static const char *const state_names[] = {
    [JOBS_QUEUED] = "queued", [JOBS_RUNNING] = "running", [JOBS_SUCCEEDED] = "succeeded",
    [JOBS_FAILED] = "failed", [JOBS_DEAD] = "dead",
};

const char *jobs_state_name(enum jobs_state s)
{
	return (unsigned) s <= JOBS_DEAD ? state_names[s] : "?";
}

static int state_parse(const char *s)
{
	for (int i = 0; i <= JOBS_DEAD; i++)
		if (s && str_eq(s, state_names[i]))
			return i;
	return -1;
}

bool jobs_invariants(const struct jobs_job *j)
{
	bool running = j->state == JOBS_RUNNING;
	bool terminal = j->state == JOBS_SUCCEEDED || j->state == JOBS_FAILED || j->state == JOBS_DEAD;

	if (!j->id || !j->kind || !j->kind[0] || !j->payload || (unsigned) j->state > JOBS_DEAD)
		return false;
	if (j->max_attempts < 1 || j->max_attempts > JOBS_ATTEMPTS_MAX || j->attempts < 0 ||
	    j->attempts > j->max_attempts || j->lease_epoch < 0)
		return false;
	/* a lease exists exactly while running, and a running job was claimed */
	if (running != (j->lease_owner != NULL && j->lease_expires_at > 0))
		return false;
	if (running && (j->attempts < 1 || j->lease_epoch < 1))
		return false;
	/* a queued job has an attempt left to run */
	if (j->state == JOBS_QUEUED && j->attempts >= j->max_attempts)
		return false;
	if (terminal != (j->finished_at > 0))
		return false;
	if ((j->state == JOBS_FAILED || j->state == JOBS_DEAD) && !j->last_error)
		return false;
	return true;
}

static enum status row_read(const struct db_res *r, int row, struct jobs_job *j, struct problem *p)
{
	int st = state_parse(db_res_text(r, row, 4));

	if (st < 0)
		return problem_set(p, ST_INTERNAL, "a job has an unknown state");
	*j = (struct jobs_job){
	    .id = db_res_text(r, row, 0),
	    .kind = db_res_text(r, row, 1),
	    .workspace_id = db_res_text(r, row, 2),
	    .payload = db_res_text(r, row, 3),
	    .state = (enum jobs_state) st,
	    .attempts = (int) db_res_int(r, row, 5),
	    .max_attempts = (int) db_res_int(r, row, 6),
	    .run_after = db_res_int(r, row, 7),
	    .lease_owner = db_res_text(r, row, 8),
	    .lease_epoch = db_res_int(r, row, 9),
	    .lease_expires_at = db_res_null(r, row, 10) ? 0 : db_res_int(r, row, 10),
	    .last_error = db_res_text(r, row, 11),
	    .created_at = db_res_int(r, row, 12),
	    .updated_at = db_res_int(r, row, 13),
	    .finished_at = db_res_null(r, row, 14) ? 0 : db_res_int(r, row, 14),
	};
	return ST_OK;
}

/* Runs a fenced transition: no row back means the lease was lost. The row
 * it returns must satisfy the invariants. */
static enum status transition(struct db_conn *c, struct arena *a, const char *sql, const struct db_arg *args,
                              size_t nargs, struct jobs_job *out, struct problem *p)
{
	struct db_res *r = NULL;
	struct jobs_job j;
	enum status st = db_query(c, a, &r, sql, args, nargs, p);

	if (st != ST_OK)
		return st;
	if (!r || db_res_rows(r) == 0)
		return problem_set(p, ST_CONFLICT, "the job's lease was lost");
	if ((st = row_read(r, 0, &j, p)) != ST_OK)
		return st;
	assert(jobs_invariants(&j));
	if (out)
		*out = j;
	return ST_OK;
}

static bool kind_valid(const char *k)
{
	size_t n = k ? strlen(k) : 0;

	if (n == 0 || n > JOBS_KIND_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '.' ||
		      k[i] == '-'))
			return false;
	return true;
}

enum status jobs_enqueue_tx(struct db_conn *c, const struct jobs_enqueue *e, char id_out[37], struct problem *p)
{
	struct arena *a = arena_new();
	char *payload = NULL;
	int64_t now = time_now_ms();
	int max = e->max_attempts ? e->max_attempts : JOBS_DEFAULT_MAX_ATTEMPTS;
	enum status st;
	char id[37];

	if (!kind_valid(e->kind)) {
		st =
		    problem_field(p, "kind", "must be 1 to %d characters of a-z, 0-9, '_', '.' and '-'", JOBS_KIND_MAX);
		goto out;
	}
	if (e->workspace_id && !id_valid(e->workspace_id)) {
		st = problem_field(p, "workspace_id", "must be a workspace id");
		goto out;
	}
	if (max < 1 || max > JOBS_ATTEMPTS_MAX) {
		st = problem_field(p, "max_attempts", "must be between 1 and %d, got %d", JOBS_ATTEMPTS_MAX, max);
		goto out;
	}
	if (e->run_after < 0) {
		st = problem_field(p, "run_after", "must not be negative");
		goto out;
	}
	if (e->payload && !json_is_object(e->payload)) {
		st = problem_field(p, "payload", "must be a JSON object");
		goto out;
	}
	payload = e->payload ? json_text(e->payload, JSON_COMPACT) : strdup("{}");
	if (!payload || strlen(payload) > JOBS_PAYLOAD_MAX) {
		st = problem_field(p, "payload", "must be at most %d bytes of JSON", JOBS_PAYLOAD_MAX);
		goto out;
	}
	id_new(id);
	st = db_query(c, a, NULL,
	              "INSERT INTO jobs (id, kind, workspace_id, payload, state, attempts, max_attempts, run_after, "
	              "lease_epoch, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, 0, ?, ?)",
	              DB_ARGS(db_text(id), db_text(e->kind), db_text(e->workspace_id), db_text(payload), db_int(max),
	                      db_int(e->run_after ? e->run_after : now), db_int(now), db_int(now)),
	              p);
	if (st == ST_OK && id_out)
		memcpy(id_out, id, sizeof(id));
out:
	free(payload);
	arena_free(&a);
	return st;
}

enum status jobs_fence_tx(struct db_conn *c, const char *id, int64_t epoch, struct problem *p)
{
	struct arena *a = arena_new();
	/* An UPDATE, not a SELECT: it takes the row lock until the caller's
	 * commit, so a claimer (SKIP LOCKED) cannot reclaim in between. */
	enum status st = transition(c, a,
	                            "UPDATE jobs SET updated_at = ? WHERE id = ? AND lease_epoch = ? AND state = "
	                            "'running' RETURNING " JOB_COLS,
	                            DB_ARGS(db_int(time_now_ms()), db_text(id), db_int(epoch)), NULL, p);
	arena_free(&a);
	return st;
}

const char *jobs_fence_sql(struct db_conn *c)
{
	return db_conn_kind(c) == DB_POSTGRES
	           ? "EXISTS (SELECT 1 FROM jobs WHERE id = ? AND lease_epoch = ? AND state = 'running' FOR UPDATE)"
	           : "EXISTS (SELECT 1 FROM jobs WHERE id = ? AND lease_epoch = ? AND state = 'running')";
}

enum status jobs_complete_tx(struct db_conn *c, const char *id, int64_t epoch, struct problem *p)
{
	struct arena *a = arena_new();
	int64_t now = time_now_ms();
	enum status st = transition(c, a,
	                            "UPDATE jobs SET state = 'succeeded', lease_owner = NULL, lease_expires_at = NULL, "
	                            "finished_at = ?, updated_at = ? WHERE id = ? AND lease_epoch = ? AND state = "
	                            "'running' RETURNING " JOB_COLS,
	                            DB_ARGS(db_int(now), db_int(now), db_text(id), db_int(epoch)), NULL, p);
	arena_free(&a);
	return st;
}

/* Runs a one-statement transition in autocommit: one round trip where
 * db_tx costs three, and a single statement is atomic on both databases. */
static enum status run1(struct db *db, db_tx_fn fn, void *ctx, struct problem *p)
{
	struct db_conn *c = db_conn_get(db, DB_WRITE);
	enum status st;

	if (!c)
		return problem_set(p, ST_UNAVAILABLE, "the database is unavailable");
	st = fn(c, ctx, p);
	db_conn_put(c);
	return st;
}

struct fence_ctx {
	const char *id;
	int64_t epoch;
	int64_t lease_ms;
	const char *error;
	bool retry;
	const struct jobs_retry *r;
	enum db_kind db;
	enum jobs_state state;
};

static enum status tx_complete(struct db_conn *c, void *ctx, struct problem *p)
{
	struct fence_ctx *f = ctx;
	return jobs_complete_tx(c, f->id, f->epoch, p);
}

enum status jobs_complete(struct db *db, const char *id, int64_t epoch, struct problem *p)
{
	struct fence_ctx f = {.id = id, .epoch = epoch};
	return run1(db, tx_complete, &f, p);
}

static enum status tx_renew(struct db_conn *c, void *ctx, struct problem *p)
{
	struct fence_ctx *f = ctx;
	struct arena *a = arena_new();
	int64_t now = time_now_ms();
	enum status st =
	    transition(c, a,
	               "UPDATE jobs SET lease_expires_at = ?, updated_at = ? WHERE id = ? AND lease_epoch "
	               "= ? AND state = 'running' RETURNING " JOB_COLS,
	               DB_ARGS(db_int(now + f->lease_ms), db_int(now), db_text(f->id), db_int(f->epoch)), NULL, p);
	arena_free(&a);
	return st;
}

enum status jobs_renew(struct db *db, const char *id, int64_t epoch, int64_t lease_ms, struct problem *p)
{
	struct fence_ctx f = {.id = id, .epoch = epoch, .lease_ms = lease_ms};
	return run1(db, tx_renew, &f, p);
}

static enum status tx_release(struct db_conn *c, void *ctx, struct problem *p)
{
	struct fence_ctx *f = ctx;
	struct arena *a = arena_new();
	int64_t now = time_now_ms();
	/* the epoch moves on so the old holder's late writes are refused */
	enum status st =
	    transition(c, a,
	               "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, "
	               "lease_expires_at = NULL, lease_epoch = lease_epoch + 1, run_after = ?, "
	               "updated_at = ? WHERE id = ? AND lease_epoch = ? AND state = 'running' RETURNING " JOB_COLS,
	               DB_ARGS(db_int(now), db_int(now), db_text(f->id), db_int(f->epoch)), NULL, p);
	arena_free(&a);
	return st;
}

enum status jobs_release(struct db *db, const char *id, int64_t epoch, struct problem *p)
{
	struct fence_ctx f = {.id = id, .epoch = epoch};
	return run1(db, tx_release, &f, p);
}

/* Exponential from base, capped, then a uniform draw in [d/2, d] so
 * jobs that failed together do not come back together. */
static int64_t backoff_ms(const struct jobs_retry *r, int attempts)
{
	int64_t base = r && r->base_ms > 0 ? r->base_ms : 1000;
	int64_t max = r && r->max_ms > 0 ? r->max_ms : 600000;
	int64_t d = base;

	for (int i = 1; i < attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	if (d > UINT32_MAX)
		d = UINT32_MAX;
	return d / 2 + (int64_t) rand_uniform((uint32_t) (d - d / 2) + 1);
}

/* The error as kept: at most JOBS_ERROR_MAX bytes, cut on a UTF-8 boundary. */
static char *error_cut(struct arena *a, const char *e)
{
	size_t n;

	if (!e || !e[0])
		e = "the handler failed without saying why";
	n = strlen(e);
	if (n <= JOBS_ERROR_MAX)
		return arena_strdup(a, e);
	n = JOBS_ERROR_MAX;
	while (n > 0 && ((unsigned char) e[n] & 0xC0) == 0x80)
		n--;
	return arena_strndup(a, e, n);
}

static enum status tx_fail(struct db_conn *c, void *ctx, struct problem *p)
{
	struct fence_ctx *f = ctx;
	struct arena *a = arena_new();
	struct db_res *r = NULL;
	struct jobs_job j;
	int64_t now = time_now_ms();
	char *err = error_cut(a, f->error);
	enum status st;

	/* read the attempts under the row lock: the decision and the write agree */
	st = db_query(c, a, &r,
	              f->db == DB_POSTGRES
	                  ? "SELECT attempts, max_attempts FROM jobs WHERE id = ? AND lease_epoch = ? AND state = "
	                    "'running' FOR UPDATE"
	                  : "SELECT attempts, max_attempts FROM jobs WHERE id = ? AND lease_epoch = ? AND state = "
	                    "'running'",
	              DB_ARGS(db_text(f->id), db_int(f->epoch)), p);
	if (st != ST_OK)
		goto out;
	if (db_res_rows(r) == 0) {
		st = problem_set(p, ST_CONFLICT, "the job's lease was lost");
		goto out;
	}
	if (f->retry && db_res_int(r, 0, 0) < db_res_int(r, 0, 1))
		st = transition(c, a,
		                "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
		                "run_after = ?, last_error = ?, updated_at = ? WHERE id = ? AND lease_epoch = ? AND "
		                "state = 'running' RETURNING " JOB_COLS,
		                DB_ARGS(db_int(now + backoff_ms(f->r, (int) db_res_int(r, 0, 0))), db_text(err),
		                        db_int(now), db_text(f->id), db_int(f->epoch)),
		                &j, p);
	else
		st = transition(
		    c, a,
		    "UPDATE jobs SET state = ?, lease_owner = NULL, lease_expires_at = NULL, last_error = ?, "
		    "finished_at = ?, updated_at = ? WHERE id = ? AND lease_epoch = ? AND state = 'running' "
		    "RETURNING " JOB_COLS,
		    DB_ARGS(db_text(f->retry ? "dead" : "failed"), db_text(err), db_int(now), db_int(now),
		            db_text(f->id), db_int(f->epoch)),
		    &j, p);
	if (st == ST_OK)
		f->state = j.state;
out:
	arena_free(&a);
	return st;
}

enum status jobs_fail(struct db *db, const char *id, int64_t epoch, const char *error, bool retry,
                      const struct jobs_retry *r, enum jobs_state *state_out, struct problem *p)
{
	struct fence_ctx f = {.id = id, .epoch = epoch, .error = error, .retry = retry, .r = r, .db = db_kind(db)};
	enum status st = db_tx(db, tx_fail, &f, p);

	if (st == ST_OK && state_out)
		*state_out = f.state;
	return st;
}

struct claim_ctx {
	const char *const *kinds;
	size_t nkinds;
	const char *owner;
	int64_t lease_ms;
	struct arena *a;
	enum db_kind db;
	struct jobs_job *out;
	bool found;
	struct jobs_claim_info info;
	const char *only_id; /* jobs_claim_id: this job or none */
};

/* A reclaimed job that had used its last attempt: its worker died or hung
 * on it every time, so it goes to dead rather than run again. */
static enum status claim_bury(struct db_conn *c, struct arena *a, const char *id, int64_t epoch, struct problem *p)
{
	int64_t now = time_now_ms();
	return transition(c, a,
	                  "UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_expires_at = NULL, last_error = "
	                  "'the lease expired on the last attempt: the worker stopped or hung', finished_at = ?, "
	                  "updated_at = ? WHERE id = ? AND lease_epoch = ? RETURNING " JOB_COLS,
	                  DB_ARGS(db_int(now), db_int(now), db_text(id), db_int(epoch)), NULL, p);
}

/* The claim's SELECT over the kinds (their count checked by jobs_claim):
 * due queued jobs, or running jobs whose lease expired. Two queries, not
 * one with OR: each walks its own partial index in order and stops at the
 * first row, where "ORDER BY" over an OR sorted the whole backlog. */
enum claim_q {
	Q_EXPIRED, /* running jobs whose lease expired */
	Q_DUE,     /* queued jobs whose run_after has come */
};

#define CLAIM_COLS "id, lease_epoch, state, attempts, max_attempts"

static size_t claim_select(const struct claim_ctx *cc, enum claim_q q, const char *cols, bool lock, int64_t now,
                           char *sql, size_t sqlsz, struct db_arg *args)
{
	static const char *const where[] = {
	    [Q_EXPIRED] = " AND state = 'running' AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT 1",
	    [Q_DUE] = " AND state = 'queued' AND run_after <= ? ORDER BY run_after LIMIT 1",
	};
	size_t n = 0, len;

	len = (size_t) snprintf(sql, sqlsz, "SELECT %s FROM jobs WHERE kind IN (?", cols);
	for (size_t i = 1; i < cc->nkinds; i++)
		len += (size_t) snprintf(sql + len, sqlsz - len, ", ?");
	/* SKIP LOCKED: two workers must never wait on the same job row */
	snprintf(sql + len, sqlsz - len, ")%s%s%s", cc->only_id ? " AND id = ?" : "", where[q],
	         lock && cc->db == DB_POSTGRES ? " FOR UPDATE SKIP LOCKED" : "");
	for (size_t i = 0; i < cc->nkinds; i++)
		args[n++] = db_text(cc->kinds[i]);
	if (cc->only_id)
		args[n++] = db_text(cc->only_id);
	args[n++] = db_int(now);
	return n;
}

/* A due job in one statement: the row is picked (and locked, SKIP LOCKED
 * on PostgreSQL) by the subquery and claimed by the UPDATE around it, in
 * one round trip. ST_CONFLICT when there is none. */
static enum status claim_due(struct db_conn *c, struct claim_ctx *cc, int64_t now, struct problem *p)
{
	struct db_arg args[JOBS_KINDS_MAX + 5];
	char sel[1024], sql[2048];
	size_t n = 0, ns;

	args[n++] = db_text(cc->owner);
	args[n++] = db_int(now + cc->lease_ms);
	args[n++] = db_int(now);
	ns = claim_select(cc, Q_DUE, "id", true, now, sel, sizeof(sel), args + n);
	n += ns;
	snprintf(sql, sizeof(sql),
	         "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_epoch = "
	         "lease_epoch + 1, lease_expires_at = ?, updated_at = ? WHERE state = 'queued' AND id = (%s) "
	         "RETURNING " JOB_COLS,
	         sel);
	return transition(c, cc->a, sql, args, n, cc->out, p);
}

/* A reclaim needs a decision (claim again, or bury a job on its last
 * attempt), so it reads, then writes, in one transaction. */
static enum status tx_claim_expired(struct db_conn *c, void *ctx, struct problem *p)
{
	struct claim_ctx *cc = ctx;
	struct db_arg args[JOBS_KINDS_MAX + 3];
	char sql[1024];
	int64_t now = time_now_ms();
	size_t n = claim_select(cc, Q_EXPIRED, CLAIM_COLS, true, now, sql, sizeof(sql), args);
	enum status st;

	cc->found = false;
	cc->info = (struct jobs_claim_info){0};
	/* a few buried jobs may stand in front of a live one */
	for (int tries = 0; tries < 8; tries++) {
		struct db_res *r = NULL;
		const char *id;
		int64_t epoch;

		if ((st = db_query(c, cc->a, &r, sql, args, n, p)) != ST_OK)
			return st;
		if (db_res_rows(r) == 0)
			return ST_OK; /* nothing to reclaim; the buried stay buried */
		id = db_res_text(r, 0, 0);
		epoch = db_res_int(r, 0, 1);
		if (db_res_int(r, 0, 3) >= db_res_int(r, 0, 4)) {
			if ((st = claim_bury(c, cc->a, id, epoch, p)) != ST_OK)
				return st;
			cc->info.buried++;
			continue;
		}
		st = transition(
		    c, cc->a,
		    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, "
		    "lease_epoch = lease_epoch + 1, lease_expires_at = ?, updated_at = ? WHERE id = ? AND "
		    "lease_epoch = ? RETURNING " JOB_COLS,
		    DB_ARGS(db_text(cc->owner), db_int(now + cc->lease_ms), db_int(now), db_text(id), db_int(epoch)),
		    cc->out, p);
		cc->found = st == ST_OK;
		cc->info.reclaimed = cc->found;
		return st;
	}
	return ST_OK;
}

/* Reclaims an expired lease if there is one: a read first, so the common
 * case (none) takes neither SQLite's writer nor a PostgreSQL transaction. */
static enum status claim_expired(struct db *db, struct claim_ctx *cc, struct problem *p)
{
	struct db_arg args[JOBS_KINDS_MAX + 3];
	struct db_res *r = NULL;
	char sql[1024];
	size_t n = claim_select(cc, Q_EXPIRED, CLAIM_COLS, false, time_now_ms(), sql, sizeof(sql), args);
	enum status st = db_exec1(db, DB_READ, cc->a, &r, sql, args, n, p);

	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return ST_NOT_FOUND;
	st = db_tx(db, tx_claim_expired, cc, p);
	if (st == ST_OK && !cc->found)
		st = ST_NOT_FOUND;
	return st;
}

/* When the next claim looks for expired leases before due jobs, so a busy
 * queue still reclaims within this interval. Atomic: every worker thread
 * of the process reads and moves it. */
#define EXPIRED_EVERY_MS 100
static _Atomic int64_t expired_check_at;

static enum status claim(struct db *db, const char *only_id, const char *const *kinds, size_t nkinds, const char *owner,
                         int64_t lease_ms, struct arena *a, struct jobs_job *out, struct jobs_claim_info *info,
                         struct problem *p)
{
	struct claim_ctx cc = {.only_id = only_id,
	                       .kinds = kinds,
	                       .nkinds = nkinds,
	                       .owner = owner,
	                       .lease_ms = lease_ms > 0 ? lease_ms : 30000,
	                       .a = a,
	                       .db = db_kind(db),
	                       .out = out};
	int64_t now = time_now_ms(), at = atomic_load(&expired_check_at);
	bool expired_first =
	    now >= at && atomic_compare_exchange_strong(&expired_check_at, &at, now + EXPIRED_EVERY_MS);
	enum status st = ST_NOT_FOUND;
	struct db_conn *c;

	if (info)
		*info = (struct jobs_claim_info){0};
	if (!owner || !owner[0])
		return problem_field(p, "owner", "a claim needs a lease owner");
	if (nkinds == 0 || nkinds > JOBS_KINDS_MAX)
		return problem_field(p, "kinds", "a claim names 1 to %d kinds", JOBS_KINDS_MAX);
	if (expired_first)
		st = claim_expired(db, &cc, p);
	if (st == ST_NOT_FOUND) {
		if (!(c = db_conn_get(db, DB_WRITE)))
			return problem_set(p, ST_UNAVAILABLE, "the database is unavailable");
		st = claim_due(c, &cc, now, p);
		db_conn_put(c);
		if (st == ST_CONFLICT) {
			problem_clear(p);
			st = expired_first ? ST_NOT_FOUND : claim_expired(db, &cc, p);
		}
	}
	if (info)
		*info = cc.info;
	return st;
}

enum status jobs_claim(struct db *db, const char *const *kinds, size_t nkinds, const char *owner, int64_t lease_ms,
                       struct arena *a, struct jobs_job *out, struct jobs_claim_info *info, struct problem *p)
{
	return claim(db, NULL, kinds, nkinds, owner, lease_ms, a, out, info, p);
}

enum status jobs_claim_id(struct db *db, const char *id, const char *const *kinds, size_t nkinds, const char *owner,
                          int64_t lease_ms, struct arena *a, struct jobs_job *out, struct jobs_claim_info *info,
                          struct problem *p)
{
	if (!id || !id_valid(id)) {
		if (info)
			*info = (struct jobs_claim_info){0};
		return problem_field(p, "id", "a claim by id needs a job id");
	}
	return claim(db, id, kinds, nkinds, owner, lease_ms, a, out, info, p);
}

enum status jobs_get(struct db *db, const char *id, struct arena *a, struct jobs_job *out, struct problem *p)
{
	struct db_res *r = NULL;
	enum status st =
	    db_exec1(db, DB_READ, a, &r, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", DB_ARGS(db_text(id)), p);

	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no such job");
	return row_read(r, 0, out, p);
}
