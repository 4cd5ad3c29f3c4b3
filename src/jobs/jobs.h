/*
 * jobs: the durable job queue. Jobs are rows of the `jobs` table
 * (migration 0006); workers claim them under a lease (owner, epoch,
 * expiry), renew it by heartbeat, and fence every write they make for a
 * job on the epoch they hold. See docs/jobs.md for the guarantees.
 *
 * Delivery is at least once: a job whose worker died (or lost its lease
 * some other way) runs again under a higher epoch. A handler's effects are
 * exactly once only when written in a transaction that also passes
 * jobs_fence_tx() (or jobs_complete_tx()) with its epoch.
 *
 * States: queued -> running -> succeeded | failed | dead, and
 * running -> queued (retry after backoff, or hand-back on shutdown, or an
 * expired lease reclaimed by the next claim, which goes straight to
 * running under a new epoch). jobs_invariants() is asserted after every
 * transition.
 *
 * Status of the *_tx writes: ST_OK; ST_CONFLICT when the lease was lost
 * (no row has that id, that epoch and state running: another worker took
 * the job, or it was handed back), and then nothing was written;
 * ST_UNAVAILABLE / ST_INTERNAL from the database.
 */
#ifndef TROUPE_JOBS_H
#define TROUPE_JOBS_H

#include "../core/core.h"
#include "../db/db.h"

#include <jansson.h>

/* Limits on what a caller may enqueue. */
#define JOBS_KIND_MAX     64           /* bytes of a kind name: [a-z0-9_.-] */
#define JOBS_PAYLOAD_MAX  (256 * 1024) /* bytes of the serialised payload */
#define JOBS_ERROR_MAX    2048         /* bytes of last_error kept (cut on a UTF-8 boundary) */
#define JOBS_KINDS_MAX    16           /* kinds one pool may register */
#define JOBS_ATTEMPTS_MAX 100

enum jobs_state { JOBS_QUEUED, JOBS_RUNNING, JOBS_SUCCEEDED, JOBS_FAILED, JOBS_DEAD };
const char *jobs_state_name(enum jobs_state s);

/* A job's row as read or as left by a transition (times in ms since the
 * epoch, 0 for NULL). Strings live in the arena of the call that filled it. */
struct jobs_job {
	const char *id;
	const char *kind;
	const char *workspace_id; /* NULL for instance-wide jobs */
	const char *payload;      /* JSON text */
	enum jobs_state state;
	int attempts; /* claims that counted, this one included while running */
	int max_attempts;
	int64_t run_after;
	const char *lease_owner;
	int64_t lease_epoch; /* bumped by every claim and every release; never decreases */
	int64_t lease_expires_at;
	const char *last_error;
	int64_t created_at, updated_at, finished_at;
};

/* What must hold in every state (STYLE.md, "State machines check
 * themselves"); true when it holds. */
bool jobs_invariants(const struct jobs_job *j);

/* ---- writes inside the caller's transaction (c from db_tx) ---- */

struct jobs_enqueue {
	const char *kind;         /* required */
	const char *workspace_id; /* NULL: instance-wide */
	json_t *payload;          /* NULL: {} */
	int max_attempts;         /* 0: JOBS_DEFAULT_MAX_ATTEMPTS */
	int64_t run_after;        /* ms since the epoch; 0: now */
};
#define JOBS_DEFAULT_MAX_ATTEMPTS 5

/* Inserts a queued job in the caller's open transaction, so the job and
 * the caller's rows commit or roll back together. id_out (37 bytes) gets
 * the new id. ST_BAD_INPUT naming the field for a bad kind, payload or
 * max_attempts. Call jobs_wake() after the commit to start it at once. */
enum status jobs_enqueue_tx(struct db_conn *c, const struct jobs_enqueue *e, char id_out[37], struct problem *p);

/* Checks, in the caller's transaction, that the lease (id, epoch) is still
 * held, and locks the job's row until the transaction ends so no reclaim
 * can slip between the check and the commit. ST_CONFLICT when it is lost:
 * the caller must roll back and drop the job. */
enum status jobs_fence_tx(struct db_conn *c, const char *id, int64_t epoch, struct problem *p);

/* The same fence as a condition of the caller's own first write of the
 * transaction, saving the statement: "EXISTS (SELECT 1 FROM jobs WHERE
 * id = ? AND lease_epoch = ? AND state = 'running' [FOR UPDATE])", taking
 * two arguments (id, epoch) where it stands. On PostgreSQL FOR UPDATE
 * locks the job's row until the transaction ends, as jobs_fence_tx does;
 * SQLite's writer holds the whole database (BEGIN IMMEDIATE). A write
 * that changes no row under it may have lost the lease: jobs_fence_tx then
 * tells which. */
const char *jobs_fence_sql(struct db_conn *c);

/* running -> succeeded, fenced on the epoch; for a handler that ends its
 * job in the same transaction as its own writes. */
enum status jobs_complete_tx(struct db_conn *c, const char *id, int64_t epoch, struct problem *p);

/* ---- single-statement operations (each its own transaction) ---- */

enum status jobs_complete(struct db *db, const char *id, int64_t epoch, struct problem *p);

/* running -> queued with run_after = now + backoff (exponential from
 * retry_base_ms, capped at retry_max_ms, with jitter: a uniform draw in
 * [d/2, d]), or -> dead once attempts reached max_attempts, or -> failed
 * when !retry. The error is kept in last_error (cut to JOBS_ERROR_MAX). */
struct jobs_retry {
	int64_t base_ms; /* 0: 1000 */
	int64_t max_ms;  /* 0: 600000 */
};
enum status jobs_fail(struct db *db, const char *id, int64_t epoch, const char *error, bool retry,
                      const struct jobs_retry *r, enum jobs_state *state_out, struct problem *p);

/* running -> queued now, the attempt not counted, the epoch bumped so the
 * old holder's later writes are refused (shutdown hand-back). */
enum status jobs_release(struct db *db, const char *id, int64_t epoch, struct problem *p);

/* Pushes the lease's expiry to now + lease_ms. ST_CONFLICT when lost. */
enum status jobs_renew(struct db *db, const char *id, int64_t epoch, int64_t lease_ms, struct problem *p);

/* Claims one job of the given kinds: a queued one whose run_after has
 * come, or a running one whose lease expired (a reclaim). The claim bumps
 * the epoch, sets owner and expiry and counts an attempt; a reclaimed job
 * that had used its last attempt goes to dead instead ("lease expired").
 * FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's immediate transaction
 * on its one writer. ST_NOT_FOUND when there is nothing to claim.
 * info (may be NULL) tells whether the lease had expired and how many
 * reclaimed jobs went to dead on the way. Strings of *out live in a. */
struct jobs_claim_info {
	bool reclaimed;
	int buried;
};
enum status jobs_claim(struct db *db, const char *const *kinds, size_t nkinds, const char *owner, int64_t lease_ms,
                       struct arena *a, struct jobs_job *out, struct jobs_claim_info *info, struct problem *p);
/* jobs_claim of one job only (id, of one of the kinds): troupe run claims
 * the job of its own execution this way, and no other job of a database it
 * may share with workers. ST_NOT_FOUND when that job is not claimable now;
 * ST_BAD_INPUT naming "id" for an id that is not one. */
enum status jobs_claim_id(struct db *db, const char *id, const char *const *kinds, size_t nkinds, const char *owner,
                          int64_t lease_ms, struct arena *a, struct jobs_job *out, struct jobs_claim_info *info,
                          struct problem *p);

/* Reads a job by id, for workers and tests. Not workspace-scoped: a user
 * sees a job only through the object that owns it (an execution), whose
 * read is. ST_NOT_FOUND when absent. */
enum status jobs_get(struct db *db, const char *id, struct arena *a, struct jobs_job *out, struct problem *p);

/* ---- the worker pool ---- */

struct jobs;     /* a pool: its registry, threads and counters; owned by main */
struct jobs_run; /* one running job as its handler sees it */

enum jobs_outcome {
	JOBS_DONE,      /* the pool marks it succeeded (fenced) */
	JOBS_HANDLED,   /* the handler already ended it (jobs_complete_tx in its own transaction) */
	JOBS_RETRY,     /* failed: retry after backoff, or dead after max_attempts; error in the problem */
	JOBS_FAIL,      /* failed for good (bad payload...): state failed; error in the problem */
	JOBS_HAND_BACK, /* give it back unfinished (shutting down): attempt not counted */
	JOBS_LOST,      /* the handler found its lease lost: nothing more is written */
	JOBS_DETACHED,  /* the handler called jobs_run_detach(): the job ends later, by jobs_run_end */
};

/* Runs in a worker thread. job and its strings live until it returns. p's
 * detail becomes last_error: keep secrets out of it. */
typedef enum jobs_outcome (*jobs_handler_fn)(const struct jobs_job *job, struct jobs_run *run, void *ctx,
                                             struct problem *p);

/* The handler's view of its lease, renewed by the pool's heartbeat while
 * it runs. */
int64_t jobs_run_epoch(const struct jobs_run *r);
bool jobs_run_lost(const struct jobs_run *r);     /* a renewal found the lease gone */
bool jobs_run_stopping(const struct jobs_run *r); /* the pool is shutting down: finish or hand back */
/* Renews now (a handler about to do something long); ST_CONFLICT when lost. */
enum status jobs_run_renew(struct jobs_run *r, struct problem *p);

/* Many jobs in flight per thread (an event loop, as the engine runs
 * executions): the handler detaches its run, keeps the copy, and returns
 * JOBS_DETACHED at once; the worker claims the next job. The pool goes on
 * heartbeating the detached lease; jobs_run_lost() and
 * jobs_run_stopping() work on the copy; jobs_run_end() writes the outcome
 * (JOBS_DONE, JOBS_HANDLED, JOBS_RETRY, JOBS_FAIL with its error,
 * JOBS_HAND_BACK, JOBS_LOST), fenced on the epoch, and frees the run.
 * Workers stop claiming while max_detached runs are held. At jobs_stop's
 * deadline the runs not ended are handed back; ending one afterwards
 * writes nothing, and every run must be ended before jobs_free (which
 * frees those left). Thread-safe. */
struct jobs_run *jobs_run_detach(struct jobs_run *r);
void jobs_run_end(struct jobs_run **r, enum jobs_outcome oc, const char *error);

struct jobs_options {
	const char *owner;       /* lease owner prefix; NULL: "host:pid" */
	int64_t lease_ms;        /* 0: 30000 */
	int64_t heartbeat_ms;    /* 0: lease_ms / 3 */
	int64_t poll_ms;         /* idle wait between claims, at most 250 (other processes' jobs); 0: 200 */
	struct jobs_retry retry; /* backoff of JOBS_RETRY */
	int max_detached;        /* detached runs held at once before workers stop claiming; 0: no limit */
	bool claim_by_id;        /* claim only the job jobs_claim_only names (none before): troupe run */
};

enum status jobs_new(struct db *db, const struct jobs_options *o, struct jobs **out, struct problem *p);
/* Before jobs_workers_start only: the registry is read without a lock
 * afterwards. ST_BAD_INPUT for a bad or repeated kind, ST_TOO_LARGE past
 * JOBS_KINDS_MAX. */
enum status jobs_register(struct jobs *j, const char *kind, jobs_handler_fn fn, void *ctx, struct problem *p);
/* Starts n worker threads (n may be 0: the pool then only keeps counters)
 * and the heartbeat thread. */
enum status jobs_workers_start(struct jobs *j, int n, struct problem *p);
/* Wakes a waiting worker of this process at once (after an enqueue commits). */
void jobs_wake(struct jobs *j);
/* With claim_by_id: the one job the workers may claim from now on (each
 * claim, a retry's too, is jobs_claim_id of it); wakes them. */
void jobs_claim_only(struct jobs *j, const char *job_id);
/* Stops claiming now and tells handlers (jobs_run_stopping), without
 * waiting: the first step of a shutdown. */
void jobs_quiesce(struct jobs *j);
/* Stops claiming, lets handlers finish or hand back for up to timeout_ms,
 * then hands back (epoch bumped) what is still held and joins the threads
 * that returned. Idempotent. After it nothing is held: a hung handler's
 * late writes are refused, and killing the process loses nothing. */
void jobs_stop(struct jobs *j, int64_t timeout_ms);
/* jobs_stop(j, 0) if not stopped yet, waits for handlers still running
 * (their jobs already handed back), frees; NULLs *j. */
void jobs_free(struct jobs **j);

/* Prometheus text: queue depth by state but succeeded (from the database)
 * and this process's claims, reclaims, retries, dead letters (j may be NULL). */
void jobs_metrics_render(struct db *db, struct jobs *j, struct buf *b);

#endif
