/*
 * jobs: the queue's contract, run against SQLite (a temp file) and, when
 * TROUPE_TEST_PG_URL is set, against PostgreSQL (a fresh schema per run).
 * The kinds here ("test.*") are registered by this program only: no kind
 * ships for tests. The process cases fork children that run a pool and
 * kill them with SIGKILL and SIGTERM.
 */
#include "jobs/jobs.h"
#include "t.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/troupe-test-jobs-XXXXXX";
static const char *pg_base;

static void t_skip(const char *why)
{
	printf("ok %d # SKIP %s\n", ++t_n, why);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t) (ms / 1000), .tv_nsec = (long) (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* A database nobody has used, migrated: a new SQLite file, or a new
 * PostgreSQL schema. */
static char *fresh_url(enum db_kind kind, const char *name)
{
	struct arena *a;
	struct problem p;
	struct db *admin = NULL;
	struct db_options o = {.url = pg_base, .pool_size = 1};

	if (kind == DB_SQLITE)
		return xasprintf("sqlite:%s/%s.db", tmpdir, name);
	a = arena_new();
	problem_init(&p, a);
	if (db_open(&o, &admin, &p) == ST_OK) {
		db_exec1(admin, DB_WRITE, NULL, NULL,
		         arena_printf(a, "DROP SCHEMA IF EXISTS troupe_test_%s CASCADE", name), DB_NOARGS, &p);
		db_exec1(admin, DB_WRITE, NULL, NULL, arena_printf(a, "CREATE SCHEMA troupe_test_%s", name), DB_NOARGS,
		         &p);
	}
	db_close(&admin);
	arena_free(&a);
	return xasprintf("%s%soptions=-csearch_path%%3Dtroupe_test_%s", pg_base, strchr(pg_base, '?') ? "&" : "?",
	                 name);
}

static struct db *open_db(const char *url)
{
	struct db_options o = {.url = url, .pool_size = 8};
	struct db *db = NULL;
	struct arena *a = arena_new();
	struct problem p;

	problem_init(&p, a);
	if (db_open(&o, &db, &p) != ST_OK || db_migrate(db, &p) != ST_OK) {
		printf("# db %s: %s\n", url, p.detail ? p.detail : "?");
		db_close(&db);
	}
	arena_free(&a);
	return db;
}

static int64_t count(struct db *db, const char *sql)
{
	struct arena *a = arena_new();
	struct db_res *r = NULL;
	int64_t n = -1;

	if (db_exec1(db, DB_READ, a, &r, sql, DB_NOARGS, NULL) == ST_OK)
		n = db_res_int(r, 0, 0);
	arena_free(&a);
	return n;
}

static void exec(struct db *db, const char *sql)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	if (db_exec1(db, DB_WRITE, NULL, NULL, sql, DB_NOARGS, &p) != ST_OK)
		printf("# %s: %s\n", sql, p.detail ? p.detail : "?");
	arena_free(&a);
}

struct enq {
	struct jobs_enqueue e;
	char id[37];
	bool rollback;
};

static enum status tx_enqueue(struct db_conn *c, void *ctx, struct problem *p)
{
	struct enq *q = ctx;
	enum status st = jobs_enqueue_tx(c, &q->e, q->id, p);
	if (st == ST_OK && q->rollback)
		return problem_set(p, ST_CONFLICT, "the caller's own write failed");
	return st;
}

static enum status enqueue(struct db *db, const char *kind, int i, int max_attempts, char id[37])
{
	struct arena *a = arena_new();
	struct problem p;
	struct enq q = {.e = {.kind = kind, .payload = json_pack("{s:i}", "i", i), .max_attempts = max_attempts}};
	enum status st;

	problem_init(&p, a);
	st = db_tx(db, tx_enqueue, &q, &p);
	if (st != ST_OK)
		printf("# enqueue: %s\n", p.detail ? p.detail : "?");
	if (id)
		memcpy(id, q.id, 37);
	json_decref(q.e.payload);
	arena_free(&a);
	return st;
}

static int payload_i(const char *payload)
{
	json_t *v = json_loads(payload, 0, NULL);
	int i = (int) json_integer_value(json_object_get(v, "i"));
	json_decref(v);
	return i;
}

/* ---- enqueue: validation, and the caller's transaction decides ---- */

static void test_enqueue(struct db *db, const char *k)
{
	struct arena *a = arena_new();
	struct problem p;
	struct jobs_job j;
	json_t *arr = json_array(), *big = json_object();
	char *long_kind = arena_printf(a, "%065d", 0);
	char *pad = xcalloc(1, JOBS_PAYLOAD_MAX + 1);
	memset(pad, 'x', JOBS_PAYLOAD_MAX);
	json_object_set_new(big, "x", json_string(pad));
	free(pad);
	static const char *const bad_kinds[] = {"", "Exec", "a b", "é", NULL};
	const struct {
		struct jobs_enqueue e;
		const char *field;
	} bad[] = {
	    {{.kind = bad_kinds[0]}, "kind"},
	    {{.kind = bad_kinds[1]}, "kind"},
	    {{.kind = bad_kinds[2]}, "kind"},
	    {{.kind = bad_kinds[3]}, "kind"},
	    {{.kind = NULL}, "kind"},
	    {{.kind = long_kind}, "kind"},
	    {{.kind = "ok", .max_attempts = -1}, "max_attempts"},
	    {{.kind = "ok", .max_attempts = JOBS_ATTEMPTS_MAX + 1}, "max_attempts"},
	    {{.kind = "ok", .payload = arr}, "payload"},
	    {{.kind = "ok", .payload = big}, "payload"},
	    {{.kind = "ok", .workspace_id = "not-a-uuid"}, "workspace_id"},
	    {{.kind = "ok", .run_after = -5}, "run_after"},
	};

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct enq q = {.e = bad[i].e};
		problem_init(&p, a);
		enum status st = db_tx(db, tx_enqueue, &q, &p);
		T_EQ_INT(st, ST_BAD_INPUT, "%s: enqueue bad case %zu (%s) refused", k, i, bad[i].field);
		T_EQ_STR(p.nfields ? p.fields[0].field : NULL, bad[i].field, "%s: bad case %zu names its field", k, i);
	}
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs"), 0, "%s: no refused job was written", k);

	struct enq q = {.e = {.kind = "test.rb"}, .rollback = true};
	problem_init(&p, a);
	T_EQ_INT(db_tx(db, tx_enqueue, &q, &p), ST_CONFLICT, "%s: the caller's transaction fails", k);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs"), 0, "%s: enqueue in a rolled-back transaction leaves no job",
	         k);

	char id[37];
	T_EQ_INT(enqueue(db, "test.rb", 7, 0, id), ST_OK, "%s: enqueue commits", k);
	problem_init(&p, a);
	T_EQ_INT(jobs_get(db, id, a, &j, &p), ST_OK, "%s: the job reads back", k);
	T_OK(j.state == JOBS_QUEUED && j.attempts == 0 && j.lease_epoch == 0 &&
	         j.max_attempts == JOBS_DEFAULT_MAX_ATTEMPTS && !j.lease_owner && payload_i(j.payload) == 7,
	     "%s: a new job is queued, unclaimed, with its payload and the default attempts", k);
	T_OK(jobs_invariants(&j), "%s: its invariants hold", k);
	exec(db, "DELETE FROM jobs");
	json_decref(arr);
	json_decref(big);
	arena_free(&a);
}

/* ---- the invariants themselves: each broken state is refused ---- */

static void test_invariants(void)
{
	const struct jobs_job ok = {.id = "x",
	                            .kind = "k",
	                            .payload = "{}",
	                            .state = JOBS_RUNNING,
	                            .attempts = 1,
	                            .max_attempts = 3,
	                            .lease_owner = "w",
	                            .lease_epoch = 1,
	                            .lease_expires_at = 5};
	T_OK(jobs_invariants(&ok), "invariants: a running job holds");
	struct jobs_job c[8];
	for (int i = 0; i < 8; i++)
		c[i] = ok;
	c[0].lease_owner = NULL;  /* running without a lease */
	c[1].attempts = 0;        /* running, never claimed */
	c[2].state = JOBS_QUEUED; /* queued with a lease */
	c[3].attempts = 4;        /* more attempts than allowed */
	c[4].state = JOBS_DEAD;   /* dead without an error or an end */
	c[4].lease_owner = NULL;
	c[4].lease_expires_at = 0;
	c[4].finished_at = 9;
	c[5] = c[4]; /* succeeded without finished_at */
	c[5].state = JOBS_SUCCEEDED;
	c[5].finished_at = 0;
	c[6].state = JOBS_QUEUED, c[6].lease_owner = NULL, c[6].lease_expires_at = 0, c[6].attempts = 3; /* none left */
	c[7].lease_epoch = 0; /* running at epoch 0 */
	for (int i = 0; i < 8; i++)
		T_OK(!jobs_invariants(&c[i]), "invariants: broken case %d refused", i);
}

/* ---- claimers never share a job ---- */

#define CLAIMERS   6
#define CLAIM_JOBS 120
struct claimer {
	struct db *db;
	int idx;
	atomic_int *hits;
	int errors;
};

static void *claimer_main(void *arg)
{
	struct claimer *c = arg;
	static const char *const kinds[] = {"test.claim"};
	char owner[32];

	snprintf(owner, sizeof(owner), "claimer-%d", c->idx);
	for (;;) {
		struct arena *a = arena_new();
		struct problem p;
		struct jobs_job j;
		problem_init(&p, a);
		enum status st = jobs_claim(c->db, kinds, 1, owner, 30000, a, &j, NULL, &p);
		if (st == ST_NOT_FOUND) {
			arena_free(&a);
			break;
		}
		if (st != ST_OK || jobs_complete(c->db, j.id, j.lease_epoch, &p) != ST_OK)
			c->errors++;
		else
			atomic_fetch_add(&c->hits[payload_i(j.payload)], 1);
		arena_free(&a);
	}
	return NULL;
}

static void test_claim_once(struct db *db, const char *k)
{
	atomic_int hits[CLAIM_JOBS] = {0};
	struct claimer c[CLAIMERS];
	pthread_t t[CLAIMERS];
	int once = 0, errors = 0;

	for (int i = 0; i < CLAIM_JOBS; i++)
		enqueue(db, "test.claim", i, 0, NULL);
	for (int i = 0; i < CLAIMERS; i++) {
		c[i] = (struct claimer){.db = db, .idx = i, .hits = hits};
		pthread_create(&t[i], NULL, claimer_main, &c[i]);
	}
	for (int i = 0; i < CLAIMERS; i++) {
		pthread_join(t[i], NULL);
		errors += c[i].errors;
	}
	for (int i = 0; i < CLAIM_JOBS; i++)
		once += atomic_load(&hits[i]) == 1;
	T_EQ_INT(errors, 0, "%s: %d claimers: every claim and complete succeeded", k, CLAIMERS);
	T_EQ_INT(once, CLAIM_JOBS, "%s: %d claimers x %d jobs: each job claimed and run exactly once", k, CLAIMERS,
	         CLAIM_JOBS);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded' AND attempts = 1"), CLAIM_JOBS,
	         "%s: every job succeeded on its first attempt", k);
	exec(db, "DELETE FROM jobs");
}

/* ---- a claim by id takes that job and no other (troupe run on a shared database) ---- */

static void test_claim_id(struct db *db, const char *k)
{
	static const char *const kinds[] = {"test.byid"};
	struct arena *a = arena_new();
	struct problem p;
	struct jobs_job j;
	char first[37], second[37];

	problem_init(&p, a);
	enqueue(db, "test.byid", 1, 0, first);
	enqueue(db, "test.byid", 2, 0, second);
	T_EQ_INT(jobs_claim_id(db, second, kinds, 1, "run", 30000, a, &j, NULL, &p), ST_OK,
	         "%s: claim the second by id", k);
	T_OK(str_eq(j.id, second) && payload_i(j.payload) == 2, "%s: it is the second, the older one left queued", k);
	T_EQ_INT(jobs_claim_id(db, second, kinds, 1, "run", 30000, a, &j, NULL, &p), ST_NOT_FOUND,
	         "%s: running already: nothing to claim", k);
	T_EQ_INT(jobs_claim_id(db, "00000000-0000-7000-8000-000000000000", kinds, 1, "run", 30000, a, &j, NULL, &p),
	         ST_NOT_FOUND, "%s: an unknown id: nothing", k);
	static const char *const other[] = {"test.other"};
	T_EQ_INT(jobs_claim_id(db, first, other, 1, "run", 30000, a, &j, NULL, &p), ST_NOT_FOUND,
	         "%s: the id of another kind: nothing", k);
	problem_clear(&p);
	T_EQ_INT(jobs_claim_id(db, "nope", kinds, 1, "run", 30000, a, &j, NULL, &p), ST_BAD_INPUT,
	         "%s: not an id: bad input", k);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'test.byid' AND state = 'queued'"), 1,
	         "%s: the first is still queued", k);
	T_EQ_INT(jobs_claim(db, kinds, 1, "w", 30000, a, &j, NULL, &p), ST_OK, "%s: a plain claim takes it", k);
	T_OK(str_eq(j.id, first), "%s: the first", k);
	exec(db, "DELETE FROM jobs");
	arena_free(&a);
}

/* ---- an expired lease is reclaimed; the old owner's late writes are refused ---- */

static enum status tx_fence(struct db_conn *c, void *ctx, struct problem *p)
{
	struct jobs_job *j = ctx;
	enum status st = jobs_fence_tx(c, j->id, j->lease_epoch, p);
	if (st != ST_OK)
		return st;
	/* the engine's own write, under the same fence */
	return db_query(c, NULL, NULL, "UPDATE jobs SET payload = '{\"i\":99}' WHERE id = ?", DB_ARGS(db_text(j->id)),
	                p);
}

static void test_lease_fencing(struct db *db, const char *k)
{
	static const char *const kinds[] = {"test.lease"};
	struct arena *a = arena_new();
	struct problem p;
	struct jobs_job old = {0}, now = {0}, after = {0};
	struct jobs_claim_info info;
	char id[37];

	enqueue(db, "test.lease", 1, 0, id);
	problem_init(&p, a);
	T_EQ_INT(jobs_claim(db, kinds, 1, "old-owner", 60, a, &old, &info, &p), ST_OK, "%s: the first owner claims", k);
	T_OK(old.lease_epoch == 1 && !info.reclaimed, "%s: first claim at epoch 1, not a reclaim", k);
	T_EQ_INT(jobs_claim(db, kinds, 1, "new-owner", 60000, a, &now, NULL, &p), ST_NOT_FOUND,
	         "%s: a held lease is not claimed again", k);
	sleep_ms(120);
	T_EQ_INT(jobs_claim(db, kinds, 1, "new-owner", 60000, a, &now, &info, &p), ST_OK,
	         "%s: the expired lease is reclaimed", k);
	T_OK(now.lease_epoch > old.lease_epoch && info.reclaimed && str_eq(now.lease_owner, "new-owner") &&
	         now.attempts == 2,
	     "%s: reclaimed with a higher epoch (%lld > %lld), counted as attempt 2", k, (long long) now.lease_epoch,
	     (long long) old.lease_epoch);

	/* the old owner wakes up and writes late: every write is refused */
	problem_init(&p, a);
	T_EQ_INT(jobs_complete(db, id, old.lease_epoch, &p), ST_CONFLICT, "%s: the old epoch's complete is refused", k);
	T_EQ_INT(jobs_fail(db, id, old.lease_epoch, "late", true, NULL, NULL, &p), ST_CONFLICT,
	         "%s: the old epoch's fail is refused", k);
	T_EQ_INT(jobs_renew(db, id, old.lease_epoch, 60000, &p), ST_CONFLICT, "%s: the old epoch's renew is refused",
	         k);
	T_EQ_INT(jobs_release(db, id, old.lease_epoch, &p), ST_CONFLICT, "%s: the old epoch's release is refused", k);
	T_EQ_INT(db_tx(db, tx_fence, &old, &p), ST_CONFLICT, "%s: a transaction fenced on the old epoch fails", k);
	T_EQ_INT(jobs_get(db, id, a, &after, &p), ST_OK, "%s: the job reads back", k);
	T_OK(after.state == JOBS_RUNNING && after.lease_epoch == now.lease_epoch &&
	         str_eq(after.lease_owner, "new-owner") && after.lease_expires_at == now.lease_expires_at &&
	         payload_i(after.payload) == 1 && !after.last_error && after.attempts == 2,
	     "%s: the row is untouched by the late writes", k);

	/* the new owner's fenced writes go through */
	T_EQ_INT(db_tx(db, tx_fence, &now, &p), ST_OK, "%s: a transaction fenced on the current epoch commits", k);
	T_EQ_INT(jobs_renew(db, id, now.lease_epoch, 60000, &p), ST_OK, "%s: the current owner renews", k);
	T_EQ_INT(jobs_complete(db, id, now.lease_epoch, &p), ST_OK, "%s: the current owner completes", k);
	T_EQ_INT(jobs_get(db, id, a, &after, &p), ST_OK, "%s: read after complete", k);
	T_OK(after.state == JOBS_SUCCEEDED && payload_i(after.payload) == 99 && after.finished_at > 0 &&
	         !after.lease_owner,
	     "%s: succeeded with the fenced write kept", k);
	T_EQ_INT(jobs_complete(db, id, now.lease_epoch, &p), ST_CONFLICT, "%s: a second complete is refused", k);

	/* a reclaimed job that had used its last attempt goes to dead */
	enqueue(db, "test.lease", 2, 1, id);
	T_EQ_INT(jobs_claim(db, kinds, 1, "w", 30, a, &old, NULL, &p), ST_OK, "%s: claim the one-attempt job", k);
	sleep_ms(80);
	T_EQ_INT(jobs_claim(db, kinds, 1, "w2", 30000, a, &now, &info, &p), ST_NOT_FOUND,
	         "%s: an expired last attempt is not run again", k);
	T_EQ_INT(info.buried, 1, "%s: the claim buried it", k);
	T_EQ_INT(jobs_get(db, id, a, &after, &p), ST_OK, "%s: read the buried job", k);
	T_OK(after.state == JOBS_DEAD && after.last_error && strstr(after.last_error, "lease expired"),
	     "%s: dead with the reason (%s)", k, after.last_error ? after.last_error : "null");
	exec(db, "DELETE FROM jobs");
	arena_free(&a);
}

/* ---- retries with backoff, then dead letter; a permanent failure ---- */

static void test_retries(struct db *db, const char *k)
{
	static const char *const kinds[] = {"test.retry"};
	const struct jobs_retry r = {.base_ms = 200, .max_ms = 10000};
	struct arena *a = arena_new();
	struct problem p;
	struct jobs_job j;
	enum jobs_state to;
	char id[37];
	int64_t prev_epoch = 0;

	enqueue(db, "test.retry", 1, 3, id);
	for (int attempt = 1; attempt <= 3; attempt++) {
		problem_init(&p, a);
		int64_t deadline = time_now_ms() + 2000;
		enum status st;
		while ((st = jobs_claim(db, kinds, 1, "w", 30000, a, &j, NULL, &p)) == ST_NOT_FOUND &&
		       time_now_ms() < deadline)
			sleep_ms(10);
		T_EQ_INT(st, ST_OK, "%s: attempt %d claimed", k, attempt);
		T_OK(j.attempts == attempt && j.lease_epoch > prev_epoch, "%s: attempt %d counted, epoch %lld", k,
		     attempt, (long long) j.lease_epoch);
		prev_epoch = j.lease_epoch;
		char *err = arena_printf(a, "provider said no (%d)", attempt);
		T_EQ_INT(jobs_fail(db, id, j.lease_epoch, err, true, &r, &to, &p), ST_OK, "%s: attempt %d fails", k,
		         attempt);
		T_EQ_INT(jobs_get(db, id, a, &j, &p), ST_OK, "%s: read after attempt %d", k, attempt);
		T_EQ_STR(j.last_error, err, "%s: attempt %d's error kept", k, attempt);
		if (attempt < 3) {
			/* both set from the same clock reading in the transition */
			int64_t d = j.run_after - j.updated_at, lo = (200LL << (attempt - 1)) / 2,
			        hi = 200LL << (attempt - 1);
			T_OK(to == JOBS_QUEUED && j.state == JOBS_QUEUED && !j.lease_owner,
			     "%s: attempt %d queued again", k, attempt);
			T_OK(d >= lo && d <= hi, "%s: backoff after attempt %d is %lld ms, in [%lld, %lld]", k, attempt,
			     (long long) d, (long long) lo, (long long) hi);
			T_EQ_INT(jobs_claim(db, kinds, 1, "w", 30000, a, &j, NULL, &p), ST_NOT_FOUND,
			         "%s: not claimable before its backoff ends", k);
		} else {
			T_OK(to == JOBS_DEAD && j.state == JOBS_DEAD && j.finished_at > 0 && j.attempts == 3,
			     "%s: dead letter after max_attempts", k);
		}
	}

	/* an error past the limit is cut on a UTF-8 boundary */
	enqueue(db, "test.retry", 2, 1, id);
	char *big = xcalloc(1, 3 * JOBS_ERROR_MAX);
	for (size_t i = 0; i + 2 < 3 * JOBS_ERROR_MAX - 1; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	problem_init(&p, a);
	T_EQ_INT(jobs_claim(db, kinds, 1, "w", 30000, a, &j, NULL, &p), ST_OK, "%s: claim the permanent one", k);
	T_EQ_INT(jobs_fail(db, id, j.lease_epoch, big, false, &r, &to, &p), ST_OK, "%s: permanent failure", k);
	T_EQ_INT(jobs_get(db, id, a, &j, &p), ST_OK, "%s: read the failed job", k);
	T_OK(j.state == JOBS_FAILED && to == JOBS_FAILED && j.last_error && strlen(j.last_error) <= JOBS_ERROR_MAX &&
	         str_utf8_valid(j.last_error, strlen(j.last_error)) && strlen(j.last_error) >= JOBS_ERROR_MAX - 1,
	     "%s: failed for good, error cut to %zu bytes of valid UTF-8", k, j.last_error ? strlen(j.last_error) : 0);
	free(big);
	exec(db, "DELETE FROM jobs");
	arena_free(&a);
}

/* ---- the pool: handlers with fenced effects; shutdown hands back ---- */

struct effect_ctx {
	struct db *db;
	int delay_ms;
};

struct effect_tx {
	const struct jobs_job *job;
};

static enum status tx_effect(struct db_conn *c, void *ctx, struct problem *p)
{
	const struct jobs_job *job = ((struct effect_tx *) ctx)->job;
	enum status st = jobs_fence_tx(c, job->id, job->lease_epoch, p);
	if (st == ST_OK)
		st = db_query(c, NULL, NULL, "INSERT INTO test_effects (job_id, epoch) VALUES (?, ?)",
		              DB_ARGS(db_text(job->id), db_int(job->lease_epoch)), p);
	if (st == ST_OK)
		st = jobs_complete_tx(c, job->id, job->lease_epoch, p);
	return st;
}

/* The shape the engine will take: work, then its effect and the job's end
 * in one transaction fenced on the epoch. */
static enum jobs_outcome h_effect(const struct jobs_job *job, struct jobs_run *run, void *ctx, struct problem *p)
{
	struct effect_ctx *e = ctx;
	struct effect_tx t = {job};
	enum status st;

	if (e->delay_ms)
		sleep_ms(e->delay_ms);
	if (jobs_run_lost(run))
		return JOBS_LOST;
	st = db_tx(e->db, tx_effect, &t, p);
	return st == ST_OK ? JOBS_HANDLED : st == ST_CONFLICT ? JOBS_LOST : JOBS_RETRY;
}

/* Works until the pool stops, then hands back. */
static enum jobs_outcome h_polite(const struct jobs_job *job, struct jobs_run *run, void *ctx, struct problem *p)
{
	(void) job, (void) ctx, (void) p;
	while (!jobs_run_stopping(run))
		sleep_ms(5);
	return JOBS_HAND_BACK;
}

static atomic_int stubborn_late = -1;
/* Ignores the stop: sleeps past the deadline, then tries to complete. */
static enum jobs_outcome h_stubborn(const struct jobs_job *job, struct jobs_run *run, void *ctx, struct problem *p)
{
	struct effect_ctx *e = ctx;
	(void) run;
	sleep_ms(1500);
	atomic_store(&stubborn_late, (int) jobs_complete(e->db, job->id, job->lease_epoch, p));
	return JOBS_DONE;
}

static int h_flaky_calls;
static enum jobs_outcome h_flaky(const struct jobs_job *job, struct jobs_run *run, void *ctx, struct problem *p)
{
	(void) job, (void) run, (void) ctx;
	__atomic_add_fetch(&h_flaky_calls, 1, __ATOMIC_SEQ_CST);
	problem_set(p, ST_UNAVAILABLE, "upstream timed out");
	return JOBS_RETRY;
}

/* Runs longer than its lease: the heartbeat must keep it. */
static enum jobs_outcome h_long(const struct jobs_job *job, struct jobs_run *run, void *ctx, struct problem *p)
{
	struct effect_ctx *e = ctx;
	struct effect_tx t = {job};
	for (int i = 0; i < 100 && !jobs_run_lost(run); i++)
		sleep_ms(10);
	if (jobs_run_lost(run))
		return JOBS_LOST;
	return db_tx(e->db, tx_effect, &t, p) == ST_OK ? JOBS_HANDLED : JOBS_LOST;
}

static atomic_int lost_seen;
/* Waits until a renewal finds its lease gone. */
static enum jobs_outcome h_until_lost(const struct jobs_job *job, struct jobs_run *run, void *ctx, struct problem *p)
{
	(void) job, (void) ctx, (void) p;
	for (int i = 0; i < 500 && !jobs_run_lost(run); i++)
		sleep_ms(10);
	atomic_store(&lost_seen, jobs_run_lost(run));
	return jobs_run_lost(run) ? JOBS_LOST : JOBS_DONE;
}

/* Detaches every run into a box a "loop" (the test) ends later. */
static struct {
	pthread_mutex_t mu;
	struct jobs_run *runs[64];
	int n;
} box = {PTHREAD_MUTEX_INITIALIZER};

static enum jobs_outcome h_detach(const struct jobs_job *job, struct jobs_run *run, void *ctx, struct problem *p)
{
	(void) job, (void) ctx, (void) p;
	struct jobs_run *d = jobs_run_detach(run);
	pthread_mutex_lock(&box.mu);
	box.runs[box.n++] = d;
	pthread_mutex_unlock(&box.mu);
	return JOBS_DETACHED;
}

static int box_count(void)
{
	pthread_mutex_lock(&box.mu);
	int n = box.n;
	pthread_mutex_unlock(&box.mu);
	return n;
}

/* Ends the oldest detached run in the box, if any. */
static bool box_end(enum jobs_outcome oc, const char *error)
{
	struct jobs_run *r = NULL;
	pthread_mutex_lock(&box.mu);
	if (box.n > 0) {
		r = box.runs[0];
		memmove(box.runs, box.runs + 1, (size_t) --box.n * sizeof(box.runs[0]));
	}
	pthread_mutex_unlock(&box.mu);
	if (r)
		jobs_run_end(&r, oc, error);
	return r != NULL;
}

static bool wait_box(int want, int64_t timeout_ms)
{
	int64_t end = time_now_ms() + timeout_ms;
	while (box_count() < want && time_now_ms() < end)
		sleep_ms(10);
	return box_count() >= want;
}

static bool wait_for(struct db *db, const char *sql, int64_t want, int64_t timeout_ms)
{
	int64_t end = time_now_ms() + timeout_ms;
	while (time_now_ms() < end) {
		if (count(db, sql) == want)
			return true;
		sleep_ms(20);
	}
	return count(db, sql) == want;
}

static void test_pool(struct db *db, const char *k)
{
	struct arena *a = arena_new();
	struct problem p;
	struct jobs *j = NULL;
	struct effect_ctx e = {.db = db, .delay_ms = 2};
	struct jobs_options o = {.lease_ms = 2000, .poll_ms = 50, .retry = {.base_ms = 10, .max_ms = 40}};
	struct buf b;

	/* the handlers' records, from the other database's run */
	h_flaky_calls = 0;
	atomic_store(&stubborn_late, -1);
	atomic_store(&lost_seen, 0);
	problem_init(&p, a);
	T_EQ_INT(jobs_new(db, &o, &j, &p), ST_OK, "%s: pool created", k);
	T_EQ_INT(jobs_register(j, "test.effect", h_effect, &e, &p), ST_OK, "%s: kind registered", k);
	T_EQ_INT(jobs_register(j, "test.effect", h_effect, &e, &p), ST_BAD_INPUT, "%s: a kind registers once", k);
	T_EQ_INT(jobs_register(j, "Bad Kind", h_effect, &e, &p), ST_BAD_INPUT, "%s: a bad kind is refused", k);
	T_EQ_INT(jobs_register(j, "test.flaky", h_flaky, &e, &p), ST_OK, "%s: flaky kind registered", k);
	for (int i = 0; i < 30; i++)
		enqueue(db, "test.effect", i, 0, NULL);
	char flaky[37];
	enqueue(db, "test.flaky", 0, 3, flaky);
	T_EQ_INT(jobs_workers_start(j, 4, &p), ST_OK, "%s: 4 workers started", k);
	T_EQ_INT(jobs_register(j, "test.late", h_effect, &e, &p), ST_CONFLICT, "%s: no kind after the start", k);
	jobs_wake(j);
	T_OK(wait_for(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'test.effect' AND state = 'succeeded'", 30, 20000),
	     "%s: the pool ran all 30 jobs", k);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM test_effects"), 30, "%s: 30 effects written", k);
	T_EQ_INT(count(db, "SELECT COUNT(DISTINCT job_id) FROM test_effects"), 30, "%s: one effect per job", k);
	T_OK(wait_for(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'test.flaky' AND state = 'dead'", 1, 10000),
	     "%s: the flaky job retried to dead", k);
	T_EQ_INT(__atomic_load_n(&h_flaky_calls, __ATOMIC_SEQ_CST), 3, "%s: the flaky handler ran max_attempts times",
	         k);
	buf_init(&b, 0);
	jobs_metrics_render(db, j, &b);
	T_OK(b.data && strstr(b.data, "troupe_jobs_succeeded_total 30\n") &&
	         strstr(b.data, "troupe_jobs{state=\"queued\"} 0\n") &&
	         strstr(b.data, "troupe_jobs{state=\"running\"} 0\n") && !strstr(b.data, "state=\"succeeded\"") &&
	         strstr(b.data, "troupe_jobs{state=\"dead\"} 1\n") && strstr(b.data, "troupe_jobs_claims_total 33\n") &&
	         strstr(b.data, "troupe_jobs_retries_total 2\n") &&
	         strstr(b.data, "troupe_jobs_dead_letters_total 1\n"),
	     "%s: metrics show depth by state, claims, retries and dead letters", k);
	if (t_failed)
		printf("# %s\n", b.data ? b.data : "");
	buf_free(&b);
	jobs_free(&j);
	exec(db, "DELETE FROM jobs");
	exec(db, "DELETE FROM test_effects");

	/* the heartbeat keeps a lease alive past its time; a lost lease is seen */
	problem_init(&p, a);
	struct jobs_options ho = {.lease_ms = 300, .poll_ms = 20};
	jobs_new(db, &ho, &j, &p);
	jobs_register(j, "test.long", h_long, &e, &p);
	jobs_register(j, "test.lost", h_until_lost, &e, &p);
	char long_id[37], lost_id[37];
	enqueue(db, "test.long", 0, 0, long_id);
	jobs_workers_start(j, 2, &p);
	T_OK(wait_for(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'test.long' AND state = 'running'", 1, 5000),
	     "%s: the long job is running", k);
	static const char *const long_kind[] = {"test.long"};
	int stolen = 0;
	for (int i = 0; i < 40 && count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'running'") == 1; i++) {
		struct jobs_job other;
		if (jobs_claim(db, long_kind, 1, "thief", 60000, a, &other, NULL, &p) == ST_OK)
			stolen++;
		sleep_ms(25);
	}
	T_EQ_INT(stolen, 0, "%s: nobody reclaims a heartbeated lease (1 s of work on a 300 ms lease)", k);
	T_OK(wait_for(db,
	              "SELECT COUNT(*) FROM jobs WHERE kind = 'test.long' AND state = 'succeeded' AND attempts = 1 AND "
	              "lease_epoch = 1",
	              1, 5000),
	     "%s: the long job succeeded on its first attempt and epoch", k);
	enqueue(db, "test.lost", 0, 0, lost_id);
	jobs_wake(j);
	T_OK(wait_for(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'test.lost' AND state = 'running'", 1, 5000),
	     "%s: the lost job is running", k);
	/* another worker's reclaim, with a fresh lease of its own */
	exec(db, arena_printf(a,
	                      "UPDATE jobs SET lease_epoch = lease_epoch + 1, lease_owner = 'someone-else', "
	                      "lease_expires_at = %lld WHERE kind = 'test.lost'",
	                      (long long) time_now_ms() + 600000));
	for (int i = 0; i < 300 && !atomic_load(&lost_seen); i++)
		sleep_ms(10);
	T_OK(atomic_load(&lost_seen), "%s: the handler saw its lease lost at the next heartbeat", k);
	jobs_free(&j);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'test.lost' AND state = 'running' AND lease_owner = "
	                   "'someone-else' AND lease_epoch = 2"),
	         1, "%s: the lost job's row is left to its new owner", k);
	exec(db, "DELETE FROM jobs");
	exec(db, "DELETE FROM test_effects");

	/* detached runs: many jobs in flight on one worker thread */
	problem_init(&p, a);
	struct jobs_options dop = {.lease_ms = 600,
	                           .heartbeat_ms = 150,
	                           .poll_ms = 20,
	                           .max_detached = 4,
	                           .retry = {.base_ms = 10, .max_ms = 20}};
	jobs_new(db, &dop, &j, &p);
	jobs_register(j, "test.detach", h_detach, &e, &p);
	box.n = 0;
	for (int i = 0; i < 10; i++)
		enqueue(db, "test.detach", i, 0, NULL);
	jobs_workers_start(j, 1, &p);
	T_OK(wait_box(4, 5000), "%s: one worker thread holds 4 detached runs", k);
	sleep_ms(900);
	T_EQ_INT(box_count(), 4, "%s: no more than max_detached are claimed", k);
	T_EQ_INT(
	    count(db, arena_printf(a, "SELECT COUNT(*) FROM jobs WHERE state = 'running' AND lease_expires_at > %lld",
	                           (long long) time_now_ms())),
	    4, "%s: the detached leases are heartbeated past their 600 ms", k);
	box_end(JOBS_RETRY, "provider busy");
	box_end(JOBS_FAIL, "a payload that can never work");
	int64_t end = time_now_ms() + 10000;
	while (count(db, "SELECT COUNT(*) FROM jobs WHERE state IN ('succeeded', 'failed')") < 10 &&
	       time_now_ms() < end)
		if (!box_end(JOBS_DONE, NULL))
			sleep_ms(10);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'"), 9,
	         "%s: detached runs ended by the loop: 9 succeeded (the retried one too)", k);
	T_EQ_INT(count(db,
	               "SELECT COUNT(*) FROM jobs WHERE state = 'failed' AND last_error = 'a payload that can never "
	               "work'"),
	         1, "%s: and one failed with its error", k);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE attempts = 2"), 1, "%s: the retry ran as attempt 2", k);
	enqueue(db, "test.detach", 10, 0, NULL);
	enqueue(db, "test.detach", 11, 0, NULL);
	jobs_wake(j);
	T_OK(wait_box(2, 5000), "%s: two more detached", k);
	jobs_stop(j, 100);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND attempts = 0 AND lease_owner IS NULL"),
	         2, "%s: stop hands back the detached runs not ended", k);
	while (box_end(JOBS_DONE, NULL))
		;
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'"), 2,
	         "%s: ending a handed-back run writes nothing", k);
	jobs_free(&j);
	box.n = 0; /* a run detached after the drain was freed by jobs_free */
	exec(db, "DELETE FROM jobs");

	/* shutdown: a polite handler hands back; a stubborn one is handed back at the deadline */
	problem_init(&p, a);
	jobs_new(db, &o, &j, &p);
	jobs_register(j, "test.polite", h_polite, &e, &p);
	jobs_register(j, "test.stubborn", h_stubborn, &e, &p);
	char polite[37], stubborn[37];
	enqueue(db, "test.polite", 0, 0, polite);
	enqueue(db, "test.stubborn", 0, 0, stubborn);
	jobs_workers_start(j, 2, &p);
	T_OK(wait_for(db, "SELECT COUNT(*) FROM jobs WHERE state = 'running'", 2, 5000), "%s: both jobs running", k);
	jobs_stop(j, 300);
	T_EQ_INT(atomic_load(&stubborn_late), -1,
	         "%s: stop returned at its deadline, before the stubborn handler (1.5 s) ended", k);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND attempts = 0 AND lease_owner IS NULL "
	                   "AND lease_epoch = 2"),
	         2, "%s: both handed back: queued, attempt not counted, epoch bumped", k);
	jobs_free(&j);
	T_EQ_INT(atomic_load(&stubborn_late), ST_CONFLICT, "%s: the stubborn handler's late complete was refused", k);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'"), 2, "%s: still queued after it", k);
	exec(db, "DELETE FROM jobs");
	arena_free(&a);
}

/* ---- processes: SIGKILL loses nothing; SIGTERM hands back ---- */

/* A child process running a pool, as `troupe worker` does: SIGTERM stops it. */
static pid_t spawn_worker(const char *url, int delay_ms)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct db *db = open_db(url);
	struct arena *a = arena_new();
	struct problem p;
	struct jobs *j = NULL;
	struct effect_ctx e = {.db = db, .delay_ms = delay_ms};
	struct jobs_options o = {.lease_ms = 500, .poll_ms = 50};
	int sig = 0;
	problem_init(&p, a);
	if (!db || jobs_new(db, &o, &j, &p) != ST_OK || jobs_register(j, "test.effect", h_effect, &e, &p) != ST_OK ||
	    jobs_register(j, "test.polite", h_polite, &e, &p) != ST_OK || jobs_workers_start(j, 4, &p) != ST_OK)
		_exit(3);
	sigwait(&set, &sig);
	jobs_stop(j, 2000);
	jobs_free(&j);
	db_close(&db);
	arena_free(&a);
	_exit(0);
}

static void test_processes(const char *url, struct db *db, const char *k)
{
	int status = 0;
	pid_t pid;

	for (int i = 0; i < 40; i++)
		enqueue(db, "test.effect", i, 0, NULL);
	pid = spawn_worker(url, 40);
	T_OK(wait_for(db, "SELECT CASE WHEN COUNT(*) >= 8 THEN 1 ELSE 0 END FROM test_effects", 1, 20000),
	     "%s: the first worker process is running jobs", k);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	int64_t held = count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'running'");
	int64_t done = count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'");
	T_OK(held > 0, "%s: SIGKILL left %lld jobs held (%lld done)", k, (long long) held, (long long) done);
	pid = spawn_worker(url, 0);
	T_OK(wait_for(db, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", 40, 20000),
	     "%s: a restarted worker finished every job", k);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM test_effects"), 40, "%s: 40 effects, none twice", k);
	T_EQ_INT(count(db, "SELECT COUNT(DISTINCT job_id) FROM test_effects"), 40, "%s: each job's effect exactly once",
	         k);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE attempts >= 2"), held,
	         "%s: exactly the held jobs were reclaimed (a second attempt)", k);

	/* SIGTERM: the worker stops claiming, hands back what it holds, exits 0 */
	for (int i = 0; i < 3; i++)
		enqueue(db, "test.polite", i, 0, NULL);
	T_OK(wait_for(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'test.polite' AND state = 'running'", 3, 10000),
	     "%s: the worker holds 3 polite jobs", k);
	int64_t t0 = time_now_ms();
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: SIGTERM: the worker exited 0 after %lld ms", k,
	     (long long) (time_now_ms() - t0));
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'test.polite' AND state = 'queued' AND attempts = 0 "
	                   "AND lease_owner IS NULL"),
	         3, "%s: SIGTERM handed back every job it held, attempts not counted", k);
	exec(db, "DELETE FROM jobs");
	exec(db, "DELETE FROM test_effects");
}

static void contract(enum db_kind kind)
{
	const char *k = kind == DB_SQLITE ? "sqlite" : "postgres";
	char *url = fresh_url(kind, "jobs");
	struct db *db = open_db(url);

	T_OK(db != NULL, "%s: database opened and migrated", k);
	if (db) {
		exec(db, "CREATE TABLE test_effects (job_id TEXT NOT NULL, epoch BIGINT NOT NULL)");
		test_enqueue(db, k);
		test_claim_once(db, k);
		test_claim_id(db, k);
		test_lease_fencing(db, k);
		test_retries(db, k);
		test_pool(db, k);
		test_processes(url, db, k);
	}
	db_close(&db);
	free(url);
}

int main(void)
{
	core_init();
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_invariants();
	contract(DB_SQLITE);
	pg_base = getenv("TROUPE_TEST_PG_URL");
	if (pg_base && *pg_base)
		contract(DB_POSTGRES);
	else
		t_skip("no PostgreSQL (set TROUPE_TEST_PG_URL)");
	char *rm = xasprintf("rm -rf '%s'", tmpdir);
	if (system(rm) != 0)
		printf("# could not remove %s\n", tmpdir);
	free(rm);
	return t_done();
}
