/* The worker pool: N threads claiming jobs of the registered kinds and
 * running their handlers, one heartbeat thread renewing the leases they
 * hold, and the counters /metrics shows. */
#include "jobs.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct kind {
	char name[JOBS_KIND_MAX + 1];
	jobs_handler_fn fn;
	void *ctx;
};

struct jobs_run {
	struct jobs *j;
	char id[37];
	int64_t epoch;
	atomic_bool lost;
	/* detached runs only, under j->mu */
	bool handed_back;
	struct jobs_run *prev, *next;
};

struct worker {
	struct jobs *j;
	pthread_t thread;
	char owner[128];
	/* under j->mu */
	bool started, busy, exited, handed_back;
	struct jobs_run run; /* valid while busy; id and epoch written under j->mu */
};

struct counters {
	atomic_uint_fast64_t claims, reclaims, retries, dead, failed, succeeded, handed_back, lost;
};

struct jobs {
	struct db *db;
	struct jobs_options o;
	char owner[96];
	/* written before jobs_workers_start, read-only after */
	struct kind kinds[JOBS_KINDS_MAX];
	const char *kind_names[JOBS_KINDS_MAX];
	size_t nkinds;

	pthread_mutex_t mu;  /* guards what is marked "under mu" */
	pthread_cond_t wake; /* idle workers wait here: a wake, a free detached slot, the stop */
	pthread_cond_t exit; /* a worker exited or a detached run ended; the heartbeat sleeps here */
	unsigned pending;    /* under mu: wakes not yet taken */
	atomic_bool stopping;
	bool hb_stop;    /* under mu */
	bool hb_started; /* set before threads start */
	bool stopped;    /* under mu: jobs_stop ran */
	pthread_t hb;
	char only_id[37];          /* under mu: o.claim_by_id's job ("" until jobs_claim_only) */
	struct jobs_run *detached; /* under mu: runs handlers detached, heartbeated here */
	int ndetached;             /* under mu */
	struct worker *w;
	int nw;
	struct counters n;
};

int64_t jobs_run_epoch(const struct jobs_run *r)
{
	return r->epoch;
}

bool jobs_run_lost(const struct jobs_run *r)
{
	return atomic_load(&r->lost);
}

bool jobs_run_stopping(const struct jobs_run *r)
{
	return atomic_load(&r->j->stopping);
}

enum status jobs_run_renew(struct jobs_run *r, struct problem *p)
{
	enum status st = jobs_renew(r->j->db, r->id, r->epoch, r->j->o.lease_ms, p);
	if (st == ST_CONFLICT)
		atomic_store(&r->lost, true);
	return st;
}

static void outcome_write(struct jobs *j, const char *id, int64_t epoch, enum jobs_outcome oc, const char *error);

struct jobs_run *jobs_run_detach(struct jobs_run *r)
{
	struct jobs *j = r->j;
	struct jobs_run *d = xcalloc(1, sizeof(*d));

	d->j = j;
	memcpy(d->id, r->id, sizeof(d->id));
	d->epoch = r->epoch;
	atomic_store(&d->lost, atomic_load(&r->lost));
	pthread_mutex_lock(&j->mu);
	d->next = j->detached;
	if (d->next)
		d->next->prev = d;
	j->detached = d;
	j->ndetached++;
	pthread_mutex_unlock(&j->mu);
	return d;
}

void jobs_run_end(struct jobs_run **rp, enum jobs_outcome oc, const char *error)
{
	struct jobs_run *d = rp ? *rp : NULL;
	struct jobs *j;
	bool handed;

	if (!d)
		return;
	*rp = NULL;
	j = d->j;
	pthread_mutex_lock(&j->mu);
	handed = d->handed_back;
	pthread_mutex_unlock(&j->mu);
	/* handed back by jobs_stop meanwhile: the epoch moved on, nothing to write */
	if (!handed && oc != JOBS_DETACHED)
		outcome_write(j, d->id, d->epoch, oc, error);
	pthread_mutex_lock(&j->mu);
	if (d->prev)
		d->prev->next = d->next;
	else
		j->detached = d->next;
	if (d->next)
		d->next->prev = d->prev;
	j->ndetached--;
	/* a slot is free: a worker at max_detached may claim again */
	j->pending++;
	pthread_cond_signal(&j->wake);
	pthread_cond_broadcast(&j->exit);
	pthread_mutex_unlock(&j->mu);
	free(d);
}

enum status jobs_new(struct db *db, const struct jobs_options *o, struct jobs **out, struct problem *p)
{
	struct jobs_options d = o ? *o : (struct jobs_options){0};
	struct jobs *j;
	pthread_condattr_t ca;
	char host[64] = "host";

	if (d.lease_ms <= 0)
		d.lease_ms = 30000;
	if (d.heartbeat_ms <= 0 || d.heartbeat_ms >= d.lease_ms)
		d.heartbeat_ms = d.lease_ms / 3 > 0 ? d.lease_ms / 3 : 1;
	/* other processes' jobs are seen by polling: at most 250 ms late */
	if (d.poll_ms <= 0)
		d.poll_ms = 200;
	if (d.poll_ms > 250)
		return problem_field(p, "poll_ms", "must be at most 250, got %lld", (long long) d.poll_ms);
	j = xcalloc(1, sizeof(*j));
	j->db = db;
	j->o = d;
	gethostname(host, sizeof(host) - 1);
	snprintf(j->owner, sizeof(j->owner), "%s:%ld", d.owner ? d.owner : host, (long) getpid());
	j->o.owner = j->owner;
	pthread_mutex_init(&j->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->wake, &ca);
	pthread_cond_init(&j->exit, &ca);
	pthread_condattr_destroy(&ca);
	*out = j;
	return ST_OK;
}

enum status jobs_register(struct jobs *j, const char *kind, jobs_handler_fn fn, void *ctx, struct problem *p)
{
	if (j->w)
		return problem_set(p, ST_CONFLICT, "kinds are registered before the workers start");
	if (!kind || !kind[0] || strlen(kind) > JOBS_KIND_MAX ||
	    strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(kind))
		return problem_field(p, "kind", "must be 1 to %d characters of a-z, 0-9, '_', '.' and '-'",
		                     JOBS_KIND_MAX);
	if (!fn)
		return problem_field(p, "handler", "is required");
	for (size_t i = 0; i < j->nkinds; i++)
		if (str_eq(j->kinds[i].name, kind))
			return problem_field(p, "kind", "\"%s\" is already registered", kind);
	if (j->nkinds == JOBS_KINDS_MAX)
		return problem_set(p, ST_TOO_LARGE, "a pool takes at most %d kinds", JOBS_KINDS_MAX);
	struct kind *k = &j->kinds[j->nkinds];
	snprintf(k->name, sizeof(k->name), "%s", kind);
	k->fn = fn;
	k->ctx = ctx;
	j->kind_names[j->nkinds++] = k->name;
	return ST_OK;
}

static struct timespec deadline_in(int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t) (ms / 1000);
	ts.tv_nsec += (long) (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

void jobs_wake(struct jobs *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->pending++;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->mu);
}

void jobs_claim_only(struct jobs *j, const char *job_id)
{
	pthread_mutex_lock(&j->mu);
	snprintf(j->only_id, sizeof(j->only_id), "%s", job_id ? job_id : "");
	j->pending++;
	pthread_cond_broadcast(&j->wake);
	pthread_mutex_unlock(&j->mu);
}

/* Idle: until woken, stopped or poll_ms passed. */
static void idle_wait(struct jobs *j, int64_t ms)
{
	struct timespec ts = deadline_in(ms);

	pthread_mutex_lock(&j->mu);
	while (!j->pending && !atomic_load(&j->stopping))
		if (pthread_cond_timedwait(&j->wake, &j->mu, &ts) != 0)
			break;
	if (j->pending)
		j->pending--;
	pthread_mutex_unlock(&j->mu);
}

static const struct kind *kind_find(const struct jobs *j, const char *name)
{
	for (size_t i = 0; i < j->nkinds; i++)
		if (str_eq(j->kinds[i].name, name))
			return &j->kinds[i];
	return NULL;
}

/* Writes the handler's outcome, fenced on its epoch; a lost lease is
 * counted and dropped. */
static void outcome_write(struct jobs *j, const char *id, int64_t epoch, enum jobs_outcome oc, const char *error)
{
	struct arena *a = arena_new();
	struct problem p;
	enum jobs_state to = JOBS_QUEUED;
	enum status st = ST_OK;

	problem_init(&p, a);
	switch (oc) {
	case JOBS_DONE:
		st = jobs_complete(j->db, id, epoch, &p);
		if (st == ST_OK)
			atomic_fetch_add(&j->n.succeeded, 1);
		break;
	case JOBS_HANDLED:
		atomic_fetch_add(&j->n.succeeded, 1);
		break;
	case JOBS_RETRY:
	case JOBS_FAIL:
		st = jobs_fail(j->db, id, epoch, error, oc == JOBS_RETRY, &j->o.retry, &to, &p);
		if (st == ST_OK)
			atomic_fetch_add(to == JOBS_QUEUED ? &j->n.retries
			                 : to == JOBS_DEAD ? &j->n.dead
			                                   : &j->n.failed,
			                 1);
		break;
	case JOBS_HAND_BACK:
		st = jobs_release(j->db, id, epoch, &p);
		if (st == ST_OK)
			atomic_fetch_add(&j->n.handed_back, 1);
		break;
	case JOBS_DETACHED:
		break; /* jobs_run_end writes it */
	case JOBS_LOST:
		st = ST_CONFLICT;
		break;
	}
	if (st == ST_CONFLICT) {
		atomic_fetch_add(&j->n.lost, 1);
		log_kv(LOG_INFO, "job lease lost; dropped", "job", id, NULL);
	} else if (st != ST_OK) {
		/* the lease expires and the job is reclaimed: at least once */
		log_kv(LOG_WARN, "job outcome not written", "job", id, "error", p.detail ? p.detail : "?", NULL);
	}
	arena_free(&a);
}

static void run_one(struct worker *w, const struct jobs_job *job)
{
	struct jobs *j = w->j;
	const struct kind *k = kind_find(j, job->kind);
	assert(k); /* the claim asked for registered kinds only */
	struct arena *a = arena_new();
	struct problem hp;
	enum jobs_outcome oc;
	bool handed;

	problem_init(&hp, a);
	pthread_mutex_lock(&j->mu);
	snprintf(w->run.id, sizeof(w->run.id), "%s", job->id);
	w->run.epoch = job->lease_epoch;
	atomic_store(&w->run.lost, false);
	w->busy = true;
	w->handed_back = false;
	pthread_mutex_unlock(&j->mu);

	oc = k->fn(job, &w->run, k->ctx, &hp);

	pthread_mutex_lock(&j->mu);
	w->busy = false;
	handed = w->handed_back;
	pthread_mutex_unlock(&j->mu);
	/* handed back by jobs_stop meanwhile: the epoch moved on, nothing to write */
	if (!handed)
		outcome_write(j, job->id, job->lease_epoch, oc, hp.detail);
	arena_free(&a);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct jobs *j = w->j;

	while (!atomic_load(&j->stopping)) {
		struct arena *a;
		bool full;
		char only[37];

		pthread_mutex_lock(&j->mu);
		full = j->o.max_detached > 0 && j->ndetached >= j->o.max_detached;
		memcpy(only, j->only_id, sizeof(only));
		pthread_mutex_unlock(&j->mu);
		if (full || (j->o.claim_by_id && !only[0])) {
			idle_wait(j, j->o.poll_ms);
			continue;
		}
		a = arena_new();
		struct problem p;
		struct jobs_job job;
		struct jobs_claim_info info;
		enum status st;

		problem_init(&p, a);
		st = j->o.claim_by_id
		         ? jobs_claim_id(j->db, only, j->kind_names, j->nkinds, w->owner, j->o.lease_ms, a, &job, &info,
		                         &p)
		         : jobs_claim(j->db, j->kind_names, j->nkinds, w->owner, j->o.lease_ms, a, &job, &info, &p);
		atomic_fetch_add(&j->n.dead, (uint_fast64_t) info.buried);
		if (st == ST_OK) {
			atomic_fetch_add(&j->n.claims, 1);
			if (info.reclaimed)
				atomic_fetch_add(&j->n.reclaims, 1);
			run_one(w, &job);
		} else {
			if (st != ST_NOT_FOUND)
				log_kv(LOG_WARN, "job claim failed", "error", p.detail ? p.detail : "?", NULL);
			idle_wait(j, j->o.poll_ms);
		}
		arena_free(&a);
	}
	pthread_mutex_lock(&j->mu);
	w->exited = true;
	pthread_cond_broadcast(&j->exit);
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* Renews the detached runs' leases; called and returning under j->mu.
 * Renewals run unlocked, from a copy; a run ended meanwhile is not found
 * again by pointer, id and epoch. */
static void heartbeat_detached(struct jobs *j)
{
	int n = j->ndetached, k = 0;
	struct held {
		struct jobs_run *r;
		char id[37];
		int64_t epoch;
		enum status st;
	} * h;

	if (n == 0)
		return;
	h = xcalloc((size_t) n, sizeof(*h));
	for (struct jobs_run *r = j->detached; r && k < n; r = r->next)
		if (!r->handed_back) {
			h[k].r = r;
			memcpy(h[k].id, r->id, sizeof(h[k].id));
			h[k++].epoch = r->epoch;
		}
	pthread_mutex_unlock(&j->mu);
	for (int i = 0; i < k; i++) {
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		h[i].st = jobs_renew(j->db, h[i].id, h[i].epoch, j->o.lease_ms, &p);
		arena_free(&a);
	}
	pthread_mutex_lock(&j->mu);
	for (int i = 0; i < k; i++) {
		if (h[i].st != ST_CONFLICT)
			continue;
		for (struct jobs_run *r = j->detached; r; r = r->next)
			if (r == h[i].r && r->epoch == h[i].epoch && str_eq(r->id, h[i].id))
				atomic_store(&r->lost, true);
	}
	free(h);
}

/* Renews every lease a worker holds, every heartbeat_ms, until jobs_stop
 * has dealt with the workers. */
static void *heartbeat_main(void *arg)
{
	struct jobs *j = arg;

	pthread_mutex_lock(&j->mu);
	while (!j->hb_stop) {
		struct timespec ts = deadline_in(j->o.heartbeat_ms);
		while (!j->hb_stop && pthread_cond_timedwait(&j->exit, &j->mu, &ts) == 0)
			;
		for (int i = 0; i < j->nw && !j->hb_stop; i++) {
			struct worker *w = &j->w[i];
			char id[37];
			int64_t epoch;
			struct arena *a;
			struct problem p;
			enum status st;

			if (!w->busy || w->handed_back)
				continue;
			memcpy(id, w->run.id, sizeof(id));
			epoch = w->run.epoch;
			pthread_mutex_unlock(&j->mu);
			a = arena_new();
			problem_init(&p, a);
			st = jobs_renew(j->db, id, epoch, j->o.lease_ms, &p);
			arena_free(&a);
			pthread_mutex_lock(&j->mu);
			if (st == ST_CONFLICT && w->busy && w->run.epoch == epoch && str_eq(w->run.id, id))
				atomic_store(&w->run.lost, true);
		}
		heartbeat_detached(j);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

enum status jobs_workers_start(struct jobs *j, int n, struct problem *p)
{
	if (j->w)
		return problem_set(p, ST_CONFLICT, "the workers already started");
	if (n < 0 || n > 256)
		return problem_field(p, "workers", "must be between 0 and 256, got %d", n);
	if (n > 0 && j->nkinds == 0)
		log_kv(LOG_INFO, "job workers have no kinds to run yet", NULL);
	j->w = xcalloc((size_t) n + 1, sizeof(*j->w));
	j->nw = n;
	if (n == 0 || j->nkinds == 0)
		return ST_OK; /* nothing to claim: no threads */
	if (pthread_create(&j->hb, NULL, heartbeat_main, j) != 0)
		return problem_set(p, ST_INTERNAL, "cannot start the heartbeat thread");
	j->hb_started = true;
	for (int i = 0; i < n; i++) {
		struct worker *w = &j->w[i];
		w->j = j;
		w->run.j = j;
		snprintf(w->owner, sizeof(w->owner), "%s:w%d", j->owner, i);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			jobs_stop(j, 0);
			return problem_set(p, ST_INTERNAL, "cannot start job worker %d", i);
		}
		pthread_mutex_lock(&j->mu);
		w->started = true;
		pthread_mutex_unlock(&j->mu);
	}
	log_kv(LOG_INFO, "job workers started", "owner", j->owner, NULL);
	return ST_OK;
}

static bool all_exited(const struct jobs *j)
{
	for (int i = 0; i < j->nw; i++)
		if (j->w[i].started && !j->w[i].exited)
			return false;
	return true;
}

/* Hands back, epoch bumped, what a worker still holds at the deadline: the
 * next claim runs it at once, and the late handler's writes are refused. */
static void hand_back_stuck(struct jobs *j)
{
	for (int i = 0; i < j->nw; i++) {
		struct worker *w = &j->w[i];
		struct arena *a;
		struct problem p;
		char id[37];
		int64_t epoch;

		if (!w->started || w->exited || !w->busy || w->handed_back)
			continue;
		w->handed_back = true;
		memcpy(id, w->run.id, sizeof(id));
		epoch = w->run.epoch;
		pthread_mutex_unlock(&j->mu);
		a = arena_new();
		problem_init(&p, a);
		if (jobs_release(j->db, id, epoch, &p) == ST_OK)
			atomic_fetch_add(&j->n.handed_back, 1);
		log_kv(LOG_WARN, "job handed back at shutdown", "job", id, NULL);
		arena_free(&a);
		pthread_mutex_lock(&j->mu);
	}
}

/* Hands back the detached runs still held at the deadline; under j->mu.
 * Their owner's jobs_run_end then writes nothing. Rescans from the head
 * after each release: the list may change while the lock is dropped. */
static void hand_back_detached(struct jobs *j)
{
	for (;;) {
		struct jobs_run *r = j->detached;
		struct arena *a;
		struct problem p;
		char id[37];
		int64_t epoch;

		while (r && r->handed_back)
			r = r->next;
		if (!r)
			return;
		r->handed_back = true;
		memcpy(id, r->id, sizeof(id));
		epoch = r->epoch;
		pthread_mutex_unlock(&j->mu);
		a = arena_new();
		problem_init(&p, a);
		if (jobs_release(j->db, id, epoch, &p) == ST_OK)
			atomic_fetch_add(&j->n.handed_back, 1);
		log_kv(LOG_WARN, "detached job handed back at shutdown", "job", id, NULL);
		arena_free(&a);
		pthread_mutex_lock(&j->mu);
	}
}

void jobs_quiesce(struct jobs *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	atomic_store(&j->stopping, true);
	pthread_cond_broadcast(&j->wake);
	pthread_mutex_unlock(&j->mu);
}

void jobs_stop(struct jobs *j, int64_t timeout_ms)
{
	struct timespec ts = deadline_in(timeout_ms > 0 ? timeout_ms : 0);

	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	if (j->stopped) {
		pthread_mutex_unlock(&j->mu);
		return;
	}
	j->stopped = true;
	atomic_store(&j->stopping, true);
	pthread_cond_broadcast(&j->wake);
	while (!all_exited(j) || j->ndetached > 0)
		if (pthread_cond_timedwait(&j->exit, &j->mu, &ts) != 0)
			break;
	hand_back_stuck(j);
	hand_back_detached(j);
	j->hb_stop = true;
	pthread_cond_broadcast(&j->exit);
	pthread_mutex_unlock(&j->mu);
	if (j->hb_started)
		pthread_join(j->hb, NULL);
	for (int i = 0; i < j->nw; i++) {
		struct worker *w = &j->w[i];
		bool exited;
		pthread_mutex_lock(&j->mu);
		exited = w->exited;
		pthread_mutex_unlock(&j->mu);
		if (w->started && exited) {
			pthread_join(w->thread, NULL);
			w->started = false;
		}
	}
}

void jobs_free(struct jobs **jp)
{
	struct jobs *j = jp ? *jp : NULL;

	if (!j)
		return;
	*jp = NULL;
	jobs_stop(j, 0);
	/* a handler that ignored jobs_run_stopping() past the deadline: its
	 * job was handed back (its late writes are refused); wait for it */
	for (int i = 0; i < j->nw; i++)
		if (j->w[i].started)
			pthread_join(j->w[i].thread, NULL);
	/* detached runs never ended: handed back (a worker may have detached
	 * one after jobs_stop's deadline), then freed; their owner must not
	 * touch them after this */
	pthread_mutex_lock(&j->mu);
	hand_back_detached(j);
	pthread_mutex_unlock(&j->mu);
	while (j->detached) {
		struct jobs_run *r = j->detached;
		j->detached = r->next;
		free(r);
	}
	pthread_cond_destroy(&j->wake);
	pthread_cond_destroy(&j->exit);
	pthread_mutex_destroy(&j->mu);
	free(j->w);
	free(j);
}

void jobs_metrics_render(struct db *db, struct jobs *j, struct buf *b)
{
	/* Every state but succeeded, one count each over its partial index:
	 * the succeeded jobs pile up, and a scrape must not read them all. */
	static const enum jobs_state gauged[] = {JOBS_QUEUED, JOBS_RUNNING, JOBS_FAILED, JOBS_DEAD};
	struct arena *a = arena_new();
	struct problem p;

	problem_init(&p, a);
	buf_puts(b, "# HELP troupe_jobs Jobs in the queue by state, in the whole database (succeeded: see "
	            "troupe_jobs_succeeded_total).\n"
	            "# TYPE troupe_jobs gauge\n");
	for (size_t i = 0; i < sizeof(gauged) / sizeof(gauged[0]); i++) {
		struct db_res *r = NULL;
		const char *name = jobs_state_name(gauged[i]);
		/* a literal, not a parameter: a generic plan would not match the
		 * partial index's predicate; the name comes from our own table */
		char *sql = arena_printf(a, "SELECT COUNT(*) FROM jobs WHERE state = '%s'", name);
		if (db_exec1(db, DB_READ, a, &r, sql, DB_NOARGS, &p) == ST_OK && db_res_rows(r) == 1)
			buf_printf(b, "troupe_jobs{state=\"%s\"} %lld\n", name, (long long) db_res_int(r, 0, 0));
	}
	arena_free(&a);
	if (!j)
		return;
	static const struct {
		const char *name, *help;
		size_t off;
	} c[] = {
	    {"claims", "Jobs claimed by this process's workers.", offsetof(struct counters, claims)},
	    {"lease_expiries", "Claims that took a job whose lease had expired (reclaims).",
	     offsetof(struct counters, reclaims)},
	    {"retries", "Failed attempts queued again after backoff.", offsetof(struct counters, retries)},
	    {"dead_letters", "Jobs moved to dead: attempts exhausted.", offsetof(struct counters, dead)},
	    {"failures", "Jobs failed for good by their handler.", offsetof(struct counters, failed)},
	    {"succeeded", "Jobs this process's workers completed.", offsetof(struct counters, succeeded)},
	    {"hand_backs", "Jobs handed back unfinished (shutdown).", offsetof(struct counters, handed_back)},
	    {"leases_lost", "Outcomes dropped because the lease was lost.", offsetof(struct counters, lost)},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		atomic_uint_fast64_t *v = (atomic_uint_fast64_t *) ((char *) &j->n + c[i].off);
		buf_printf(
		    b,
		    "# HELP troupe_jobs_%s_total %s\n# TYPE troupe_jobs_%s_total counter\ntroupe_jobs_%s_total %llu\n",
		    c[i].name, c[i].help, c[i].name, c[i].name, (unsigned long long) atomic_load(v));
	}
}
