/*
 * bench/jobs: the queue's throughput on one database URL. Enqueue (one job
 * per transaction, as an execution enqueues), then claim + complete through
 * the worker pool with 1 and with 4 workers (a handler that does nothing),
 * then both at once: a producer enqueueing while the workers drain.
 * usage: bench_jobs URL [jobs]
 */
#include "jobs/jobs.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_long done;

static enum jobs_outcome h_noop(const struct jobs_job *job, struct jobs_run *run, void *ctx, struct problem *p)
{
	(void) job, (void) run, (void) ctx, (void) p;
	atomic_fetch_add(&done, 1);
	return JOBS_DONE;
}

static enum status tx_enqueue(struct db_conn *c, void *ctx, struct problem *p)
{
	return jobs_enqueue_tx(c, ctx, NULL, p);
}

static double secs(void)
{
	return (double) time_mono_us() / 1e6;
}

static int enqueue_n(struct db *db, long n, struct jobs *wake)
{
	struct arena *a = arena_new();
	struct problem p;
	json_t *payload = json_pack("{s:s}", "execution_id", "01939a6e-0000-7000-8000-000000000000");
	struct jobs_enqueue e = {.kind = "bench.noop", .payload = payload};
	int rc = 0;

	problem_init(&p, a);
	for (long i = 0; i < n; i++) {
		if (db_tx(db, tx_enqueue, &e, &p) != ST_OK) {
			fprintf(stderr, "bench_jobs: enqueue: %s\n", p.detail ? p.detail : "?");
			rc = -1;
			break;
		}
		jobs_wake(wake);
	}
	json_decref(payload);
	arena_free(&a);
	return rc;
}

static void wait_done(long n)
{
	struct timespec ts = {0, 200000};
	while (atomic_load(&done) < n)
		nanosleep(&ts, NULL);
}

static struct jobs *pool(struct db *db, int workers)
{
	struct arena *a = arena_new();
	struct problem p;
	struct jobs *j = NULL;
	problem_init(&p, a);
	if (jobs_new(db, &(struct jobs_options){.lease_ms = 30000}, &j, &p) != ST_OK ||
	    jobs_register(j, "bench.noop", h_noop, NULL, &p) != ST_OK || jobs_workers_start(j, workers, &p) != ST_OK) {
		fprintf(stderr, "bench_jobs: pool: %s\n", p.detail ? p.detail : "?");
		exit(1);
	}
	arena_free(&a);
	return j;
}

static void clear(struct db *db)
{
	db_exec1(db, DB_WRITE, NULL, NULL, "DELETE FROM jobs", DB_NOARGS, NULL);
}

int main(int argc, char **argv)
{
	const char *url = argc > 1 ? argv[1] : NULL;
	long n = argc > 2 ? atol(argv[2]) : 5000;
	struct db *db = NULL;
	struct arena *a = arena_new();
	struct problem p;
	const int ws[] = {1, 4};

	if (!url || n <= 0) {
		fprintf(stderr, "usage: bench_jobs URL [jobs]\n");
		return 2;
	}
	core_init();
	log_set_level(LOG_WARN);
	problem_init(&p, a);
	if (db_open(&(struct db_options){.url = url, .pool_size = 16}, &db, &p) != ST_OK ||
	    db_migrate(db, &p) != ST_OK) {
		fprintf(stderr, "bench_jobs: %s\n", p.detail ? p.detail : "?");
		return 1;
	}
	clear(db);
	printf("%-10s %8s %8s %14s %14s %14s\n", "database", "workers", "jobs", "enqueue/s", "claim+done/s",
	       "both at once/s");
	for (size_t k = 0; k < sizeof(ws) / sizeof(ws[0]); k++) {
		double t0, enq, drain, both;
		struct jobs *j;

		/* enqueue alone, then the workers drain the backlog */
		t0 = secs();
		if (enqueue_n(db, n, NULL) < 0)
			return 1;
		enq = (double) n / (secs() - t0);
		atomic_store(&done, 0);
		t0 = secs();
		j = pool(db, ws[k]);
		wait_done(n);
		drain = (double) n / (secs() - t0);
		/* a producer enqueueing while the workers claim and complete */
		atomic_store(&done, 0);
		t0 = secs();
		if (enqueue_n(db, n, j) < 0)
			return 1;
		wait_done(n);
		both = (double) n / (secs() - t0);
		jobs_free(&j);
		clear(db);
		printf("%-10s %8d %8ld %14.0f %14.0f %14.0f\n", db_kind_name(db), ws[k], n, enq, drain, both);
	}
	db_close(&db);
	arena_free(&a);
	return 0;
}
