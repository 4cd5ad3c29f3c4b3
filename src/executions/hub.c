/* executions' live hub: the in-process fan-out from the writers of an
 * execution's events (the worker) to the streams that watch it (the SSE
 * route). See executions.h, "The live hub", and docs/executions.md.
 *
 * One hub per process, in static storage (never freed, so a writer that
 * calls in after executions_hub_stop finds nobody listening rather than
 * freed memory). Everything in it is guarded by hub.mu, except nsubs, an
 * atomic that writers read without the lock: zero means nobody listens and
 * a writer returns at once. Subscribers are kept per execution (a topic) in
 * a hash of HUB_BUCKETS chains. Wake callbacks are called with hub.mu held:
 * they must only set a flag and resume a connection, never block. */
#include "core/json_text.h"
#include "executions_int.h"

#include "../db/db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define HUB_BUCKETS       256
#define HUB_POLL_BATCH    256 /* executions per poll query */
#define HUB_QUEUE_DEFAULT 256

struct executions_live_msg {
	atomic_int refs;
	int64_t after_seq;
	int64_t seq; /* a stored event's seq; 0: a live-only one */
	char type[EXECUTIONS_EVENT_TYPE_MAX + 1];
	size_t len;
	char text[]; /* the envelope's JSON, NUL-terminated */
};

struct topic {
	struct topic *next; /* in its bucket */
	char ws[40], id[40];
	int64_t last_seq; /* the highest seq notified (or seen by the poll) */
	struct executions_sub *subs;
};

struct executions_sub {
	struct topic *topic;
	struct executions_sub *next; /* in topic->subs */
	executions_wake_fn wake;
	void *ctx;
	struct executions_live_msg **ring; /* queue_max slots */
	int head, count;
	struct executions_live_msg **stored; /* queue_max slots: stored events, by seq */
	int shead, scount;
	int64_t dropped;
	bool keepalive_due;
	int64_t keepalive_at_ms; /* monotonic: when the next keep-alive is due */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* the hub thread waits on it; initialised by start */
	atomic_int nsubs;  /* subscribers in all topics; read without mu by writers */
	bool running;      /* the hub thread runs */
	bool stopping;     /* the hub thread is asked to end */
	bool cv_ready;     /* cv initialised (monotonic clock) */
	pthread_t thread;
	struct db *db;     /* for the cross-process poll; NULL: none */
	int poll_ms;       /* 0: no poll */
	int keepalive_ms;  /* a subscriber idle this long is woken with a keep-alive due */
	int queue_max;     /* live events held per subscriber; more are dropped */
	int64_t live_sent; /* live events queued to subscribers, for /metrics and tests */
	int64_t live_dropped;
	int64_t stored_taken; /* stored events streams took from their queue instead of a query */
	struct topic *buckets[HUB_BUCKETS];
} hub = {.mu = PTHREAD_MUTEX_INITIALIZER, .keepalive_ms = 15000, .queue_max = HUB_QUEUE_DEFAULT};

static int64_t mono_ms(void)
{
	return time_mono_us() / 1000;
}

static unsigned bucket_of(const char *id)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *) id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % HUB_BUCKETS;
}

/* hub.mu held. */
static struct topic *topic_find(const char *id)
{
	for (struct topic *t = hub.buckets[bucket_of(id)]; t; t = t->next)
		if (strcmp(t->id, id) == 0)
			return t;
	return NULL;
}

static void msg_release(struct executions_live_msg *m)
{
	if (m && atomic_fetch_sub(&m->refs, 1) == 1)
		free(m);
}

/* hub.mu held. */
static void wake_topic(struct topic *t)
{
	for (struct executions_sub *s = t->subs; s; s = s->next)
		s->wake(s->ctx);
}

/* ---- writers ---- */

/* ---- the journal: stored events on their way to the streams ----
 *
 * executions_journal_add (inside the writer's transaction) keeps each
 * stored event's envelope, rendered once, on the writer's thread, tagged
 * with the thread's transaction (db_tx_serial). executions_notify (after the
 * commit) queues those of the last committed transaction to the
 * execution's subscribers, so a stream that is caught up sends them without
 * a query. Those of a transaction that rolled back are never queued and go
 * at the thread's next add. Only while someone listens to the execution. */

#define JOURNAL_MAX 256

struct journal {
	int n;
	struct {
		char id[40];
		uint64_t serial;
		struct executions_live_msg *m;
	} e[JOURNAL_MAX];
};

static pthread_key_t journal_key;
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;

static void journal_free(void *v)
{
	struct journal *j = v;
	for (int i = 0; i < j->n; i++)
		msg_release(j->e[i].m);
	free(j);
}

static void journal_init(void)
{
	pthread_key_create(&journal_key, journal_free);
}

static struct journal *journal_get(bool create)
{
	pthread_once(&journal_once, journal_init);
	struct journal *j = pthread_getspecific(journal_key);
	if (!j && create) {
		j = xcalloc(1, sizeof(*j));
		pthread_setspecific(journal_key, j);
	}
	return j;
}

/* Drops the entries of transactions that are neither running nor the last committed one. */
static void journal_prune(struct journal *j)
{
	uint64_t cur = db_tx_serial(), done = db_tx_committed();
	int k = 0;
	for (int i = 0; i < j->n; i++) {
		if (j->e[i].serial == cur || j->e[i].serial == done)
			j->e[k++] = j->e[i];
		else
			msg_release(j->e[i].m);
	}
	j->n = k;
}

/* The envelope as executions_stream_read gives it: {seq, type, at, data, task_key?, attempt?}. */
static struct executions_live_msg *stored_msg_new(int64_t seq, const char *type, int64_t at_ms, const char *task_key,
                                                  int attempt, const char *data_text)
{
	char at[40];
	struct buf b;
	time_iso8601(at_ms, at, sizeof(at));
	json_t *ty = json_string(type), *tk = task_key ? json_string(task_key) : NULL;
	char *tyt = json_text(ty, JSON_ENCODE_ANY), *tkt = tk ? json_text(tk, JSON_ENCODE_ANY) : NULL;
	buf_init(&b, 0);
	buf_printf(&b, "{\"seq\":%lld,\"type\":%s,\"at\":\"%s\",\"data\":%s", (long long) seq, tyt ? tyt : "\"\"", at,
	           data_text ? data_text : "{}");
	if (tkt)
		buf_printf(&b, ",\"task_key\":%s", tkt);
	if (attempt > 0)
		buf_printf(&b, ",\"attempt\":%d", attempt);
	buf_puts(&b, "}");
	struct executions_live_msg *m = xmalloc(sizeof(*m) + b.len + 1);
	atomic_init(&m->refs, 1);
	m->after_seq = seq - 1;
	m->seq = seq;
	snprintf(m->type, sizeof(m->type), "%s", type);
	m->len = b.len;
	memcpy(m->text, b.data, b.len);
	m->text[b.len] = '\0';
	buf_free(&b);
	free(tyt);
	free(tkt);
	json_decref(ty);
	json_decref(tk);
	return m;
}

static bool has_subscribers(const char *id);

void executions_journal_add(const char *execution_id, int64_t seq, const char *type, int64_t at_ms,
                            const char *task_key, int attempt, const char *data_text)
{
	if (!execution_id || !type || strlen(execution_id) >= 40 || strlen(type) > EXECUTIONS_EVENT_TYPE_MAX ||
	    atomic_load(&hub.nsubs) == 0 || !has_subscribers(execution_id))
		return;
	struct journal *j = journal_get(true);
	journal_prune(j);
	/* a retried transaction stores the same seqs again: the newer envelope wins */
	for (int i = 0; i < j->n; i++)
		if (j->e[i].m->seq >= seq && !strcmp(j->e[i].id, execution_id)) {
			msg_release(j->e[i].m);
			j->e[i--] = j->e[--j->n];
		}
	if (j->n == JOURNAL_MAX)
		return; /* the streams read it from the database */
	snprintf(j->e[j->n].id, sizeof(j->e[j->n].id), "%s", execution_id);
	j->e[j->n].serial = db_tx_serial();
	j->e[j->n].m = stored_msg_new(seq, type, at_ms, task_key, attempt, data_text);
	j->n++;
}

/* hub.mu held: queues t's journal entries of the last committed transaction up to last_seq, in seq order. */
static void journal_publish(struct journal *j, struct topic *t, int64_t last_seq)
{
	uint64_t done = db_tx_committed();
	for (;;) {
		int best = -1;
		for (int i = 0; i < j->n; i++)
			if (j->e[i].serial == done && j->e[i].m->seq <= last_seq && !strcmp(j->e[i].id, t->id) &&
			    (best < 0 || j->e[i].m->seq < j->e[best].m->seq))
				best = i;
		if (best < 0)
			return;
		struct executions_live_msg *m = j->e[best].m;
		for (int i = best; i + 1 < j->n; i++)
			j->e[i] = j->e[i + 1];
		j->n--;
		for (struct executions_sub *s = t->subs; s; s = s->next) {
			if (s->scount >= hub.queue_max)
				continue; /* full: this stream reads the database */
			atomic_fetch_add(&m->refs, 1);
			s->stored[(s->shead + s->scount) % hub.queue_max] = m;
			s->scount++;
		}
		msg_release(m);
	}
}

void executions_notify(const char *execution_id, int64_t last_seq)
{
	if (!execution_id || atomic_load(&hub.nsubs) == 0)
		return;
	struct journal *j = journal_get(false);
	pthread_mutex_lock(&hub.mu);
	struct topic *t = topic_find(execution_id);
	if (t && j)
		journal_publish(j, t, last_seq);
	if (t && last_seq > t->last_seq) {
		t->last_seq = last_seq;
		wake_topic(t);
	}
	pthread_mutex_unlock(&hub.mu);
}

static bool has_subscribers(const char *id)
{
	pthread_mutex_lock(&hub.mu);
	struct topic *t = topic_find(id);
	bool yes = t && t->subs;
	pthread_mutex_unlock(&hub.mu);
	return yes;
}

static struct executions_live_msg *live_msg_new(const char *type, const char *task_key, int attempt, const json_t *data)
{
	char at[40];
	time_iso8601(time_now_ms(), at, sizeof(at));
	json_t *e = json_pack("{s:s, s:s, s:o}", "type", type, "at", at, "data",
	                      data ? json_incref((json_t *) data) : json_object());
	if (task_key)
		json_object_set_new(e, "task_key", json_string(task_key));
	if (attempt > 0)
		json_object_set_new(e, "attempt", json_integer(attempt));
	char *text = json_text(e, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(e);
	if (!text)
		return NULL;
	size_t len = strlen(text);
	struct executions_live_msg *m = xmalloc(sizeof(*m) + len + 1);
	atomic_init(&m->refs, 1);
	m->after_seq = 0;
	m->seq = 0;
	snprintf(m->type, sizeof(m->type), "%s", type);
	m->len = len;
	memcpy(m->text, text, len + 1);
	free(text);
	return m;
}

void executions_live(const char *execution_id, const char *type, const char *task_key, int attempt, const json_t *data)
{
	if (!execution_id || !type || atomic_load(&hub.nsubs) == 0 || !has_subscribers(execution_id))
		return;
	/* Serialised once, outside the lock, shared by every subscriber. */
	struct executions_live_msg *m = live_msg_new(type, task_key, attempt, data);
	if (!m)
		return;
	pthread_mutex_lock(&hub.mu);
	struct topic *t = topic_find(execution_id);
	if (t) {
		m->after_seq = t->last_seq;
		for (struct executions_sub *s = t->subs; s; s = s->next) {
			if (s->count >= hub.queue_max) {
				/* A slow client: its deltas go, the writer never waits. */
				s->dropped++;
				hub.live_dropped++;
				continue;
			}
			atomic_fetch_add(&m->refs, 1);
			s->ring[(s->head + s->count) % hub.queue_max] = m;
			s->count++;
			hub.live_sent++;
			s->wake(s->ctx);
		}
	}
	pthread_mutex_unlock(&hub.mu);
	msg_release(m);
}

/* ---- subscribers ---- */

struct executions_sub *executions_subscribe(const char *ws, const char *execution_id, int64_t known_seq,
                                            executions_wake_fn wake, void *ctx)
{
	struct executions_sub *s = xcalloc(1, sizeof(*s));
	s->wake = wake;
	s->ctx = ctx;
	pthread_mutex_lock(&hub.mu);
	s->ring = xcalloc((size_t) hub.queue_max, sizeof(*s->ring));
	s->stored = xcalloc((size_t) hub.queue_max, sizeof(*s->stored));
	s->keepalive_at_ms = mono_ms() + hub.keepalive_ms;
	struct topic *t = topic_find(execution_id);
	if (!t) {
		unsigned b = bucket_of(execution_id);
		t = xcalloc(1, sizeof(*t));
		snprintf(t->ws, sizeof(t->ws), "%s", ws);
		snprintf(t->id, sizeof(t->id), "%s", execution_id);
		t->next = hub.buckets[b];
		hub.buckets[b] = t;
	}
	if (known_seq > t->last_seq)
		t->last_seq = known_seq;
	s->topic = t;
	s->next = t->subs;
	t->subs = s;
	if (atomic_fetch_add(&hub.nsubs, 1) == 0 && hub.cv_ready)
		pthread_cond_signal(&hub.cv); /* the hub thread sleeps while nobody listens */
	pthread_mutex_unlock(&hub.mu);
	return s;
}

void executions_unsubscribe(struct executions_sub **sp)
{
	struct executions_sub *s = *sp;
	if (!s)
		return;
	pthread_mutex_lock(&hub.mu);
	struct topic *t = s->topic;
	for (struct executions_sub **pp = &t->subs; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	if (!t->subs) {
		for (struct topic **pp = &hub.buckets[bucket_of(t->id)]; *pp; pp = &(*pp)->next)
			if (*pp == t) {
				*pp = t->next;
				break;
			}
		free(t);
	}
	atomic_fetch_sub(&hub.nsubs, 1);
	int cap = hub.queue_max;
	pthread_mutex_unlock(&hub.mu);
	for (int i = 0; i < s->count; i++)
		msg_release(s->ring[(s->head + i) % cap]);
	for (int i = 0; i < s->scount; i++)
		msg_release(s->stored[(s->shead + i) % cap]);
	free(s->ring);
	free(s->stored);
	free(s);
	*sp = NULL;
}

void executions_sub_state(struct executions_sub *s, int64_t *notified_seq, bool *keepalive, int64_t *dropped)
{
	pthread_mutex_lock(&hub.mu);
	*notified_seq = s->topic->last_seq;
	*keepalive = s->keepalive_due;
	*dropped = s->dropped;
	s->keepalive_due = false;
	s->dropped = 0;
	pthread_mutex_unlock(&hub.mu);
}

struct executions_live_msg *executions_sub_next(struct executions_sub *s)
{
	struct executions_live_msg *m = NULL;
	pthread_mutex_lock(&hub.mu);
	if (s->count) {
		m = s->ring[s->head];
		s->head = (s->head + 1) % hub.queue_max;
		s->count--;
	}
	pthread_mutex_unlock(&hub.mu);
	return m;
}

bool executions_sub_stored(struct executions_sub *s, int64_t after_seq, int64_t upto, struct executions_live_msg **out,
                           size_t max, size_t *n)
{
	bool ok = true;
	*n = 0;
	pthread_mutex_lock(&hub.mu);
	int cap = hub.queue_max;
	while (s->scount && s->stored[s->shead]->seq <= after_seq) {
		msg_release(s->stored[s->shead]);
		s->shead = (s->shead + 1) % cap;
		s->scount--;
	}
	/* all of after_seq+1 .. upto, contiguous, or nothing */
	if (upto - after_seq > s->scount || upto - after_seq > (int64_t) max)
		ok = false;
	for (int64_t i = 0; ok && i < upto - after_seq; i++)
		ok = s->stored[(s->shead + i) % cap]->seq == after_seq + 1 + i;
	for (int64_t i = 0; ok && i < upto - after_seq; i++) {
		out[(*n)++] = s->stored[s->shead];
		s->shead = (s->shead + 1) % cap;
		s->scount--;
	}
	hub.stored_taken += (int64_t) *n;
	pthread_mutex_unlock(&hub.mu);
	return ok;
}

void executions_sub_sent(struct executions_sub *s)
{
	pthread_mutex_lock(&hub.mu);
	s->keepalive_at_ms = mono_ms() + hub.keepalive_ms;
	pthread_mutex_unlock(&hub.mu);
}

const char *executions_live_text(const struct executions_live_msg *m, size_t *len)
{
	*len = m->len;
	return m->text;
}

int64_t executions_live_after(const struct executions_live_msg *m)
{
	return m->after_seq;
}

int64_t executions_live_seq(const struct executions_live_msg *m)
{
	return m->seq;
}

const char *executions_live_type(const struct executions_live_msg *m)
{
	return m->type;
}

void executions_live_release(struct executions_live_msg **m)
{
	msg_release(*m);
	*m = NULL;
}

void executions_hub_stats(struct executions_hub_stats *out)
{
	pthread_mutex_lock(&hub.mu);
	out->subscribers = atomic_load(&hub.nsubs);
	out->live_sent = hub.live_sent;
	out->live_dropped = hub.live_dropped;
	out->stored_taken = hub.stored_taken;
	pthread_mutex_unlock(&hub.mu);
}

/* ---- the hub thread: keep-alives and the cross-process poll ---- */

/* hub.mu held. */
static void keepalives(int64_t now)
{
	for (int b = 0; b < HUB_BUCKETS; b++)
		for (struct topic *t = hub.buckets[b]; t; t = t->next)
			for (struct executions_sub *s = t->subs; s; s = s->next)
				if (now >= s->keepalive_at_ms) {
					s->keepalive_due = true;
					s->keepalive_at_ms = now + hub.keepalive_ms;
					s->wake(s->ctx);
				}
}

struct watched {
	char ws[40], id[40];
};

/* One query for up to HUB_POLL_BATCH executions: their last seq, as other
 * processes' writers left it. */
static void poll_batch(const struct watched *w, int n)
{
	struct arena *a = arena_new();
	struct problem p;
	struct db_res *r = NULL;
	struct buf sql;
	struct db_arg *args = arena_alloc(a, sizeof(*args) * (size_t) n * 2);

	problem_init(&p, a);
	buf_init(&sql, 0);
	buf_puts(&sql, "SELECT id, last_seq FROM executions WHERE ");
	for (int i = 0; i < n; i++) {
		buf_puts(&sql, i ? " OR (workspace_id = ? AND id = ?)" : "(workspace_id = ? AND id = ?)");
		args[2 * i] = db_text(w[i].ws);
		args[2 * i + 1] = db_text(w[i].id);
	}
	if (db_exec1(hub.db, DB_READ, a, &r, sql.data, args, (size_t) n * 2, &p) != ST_OK)
		goto out;
	pthread_mutex_lock(&hub.mu);
	for (int i = 0; i < db_res_rows(r); i++) {
		struct topic *t = topic_find(db_res_text(r, i, 0));
		int64_t seq = db_res_int(r, i, 1);
		if (t && seq > t->last_seq) {
			t->last_seq = seq;
			wake_topic(t);
		}
	}
	pthread_mutex_unlock(&hub.mu);
out:
	buf_free(&sql);
	arena_free(&a);
}

/* hub.mu held on entry and on return; released while querying. */
static void poll_db(void)
{
	int n = 0, cap = 0;
	struct watched *w = NULL;
	for (int b = 0; b < HUB_BUCKETS; b++)
		for (struct topic *t = hub.buckets[b]; t; t = t->next) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				w = xrealloc(w, sizeof(*w) * (size_t) cap);
			}
			memcpy(w[n].ws, t->ws, sizeof(w[n].ws));
			memcpy(w[n].id, t->id, sizeof(w[n].id));
			n++;
		}
	pthread_mutex_unlock(&hub.mu);
	for (int i = 0; i < n; i += HUB_POLL_BATCH)
		poll_batch(w + i, n - i < HUB_POLL_BATCH ? n - i : HUB_POLL_BATCH);
	free(w);
	pthread_mutex_lock(&hub.mu);
}

static void *hub_main(void *unused)
{
	(void) unused;
	int tick = hub.poll_ms > 0 ? hub.poll_ms : 250;
	if (tick > hub.keepalive_ms / 2)
		tick = hub.keepalive_ms / 2 > 5 ? hub.keepalive_ms / 2 : 5;
	int64_t next_poll = 0;
	pthread_mutex_lock(&hub.mu);
	while (!hub.stopping) {
		if (atomic_load(&hub.nsubs) == 0) {
			/* Nobody listens: no tick, no query. */
			pthread_cond_wait(&hub.cv, &hub.mu);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long) tick * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&hub.cv, &hub.mu, &ts);
		if (hub.stopping)
			break;
		int64_t now = mono_ms();
		keepalives(now);
		if (hub.db && hub.poll_ms > 0 && now >= next_poll) {
			next_poll = now + hub.poll_ms;
			poll_db();
		}
	}
	pthread_mutex_unlock(&hub.mu);
	return NULL;
}

enum status executions_hub_start(const struct executions_hub_options *o, struct problem *p)
{
	pthread_mutex_lock(&hub.mu);
	if (hub.running) {
		pthread_mutex_unlock(&hub.mu);
		return problem_set(p, ST_CONFLICT, "the live hub is already running");
	}
	if (!hub.cv_ready) {
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&hub.cv, &ca);
		pthread_condattr_destroy(&ca);
		hub.cv_ready = true;
	}
	hub.db = o->db;
	hub.poll_ms = o->poll_ms;
	hub.keepalive_ms = o->keepalive_ms > 0 ? o->keepalive_ms : 15000;
	/* The ring size is fixed while anyone holds a ring. */
	if (atomic_load(&hub.nsubs) == 0)
		hub.queue_max = o->queue_max > 0 ? o->queue_max : HUB_QUEUE_DEFAULT;
	hub.stopping = false;
	int rc = pthread_create(&hub.thread, NULL, hub_main, NULL);
	hub.running = rc == 0;
	pthread_mutex_unlock(&hub.mu);
	if (rc != 0)
		return problem_set(p, ST_INTERNAL, "cannot start the live hub's thread");
	return ST_OK;
}

void executions_hub_stop(void)
{
	pthread_mutex_lock(&hub.mu);
	if (!hub.running) {
		pthread_mutex_unlock(&hub.mu);
		return;
	}
	hub.stopping = true;
	pthread_cond_signal(&hub.cv);
	pthread_mutex_unlock(&hub.mu);
	pthread_join(hub.thread, NULL);
	pthread_mutex_lock(&hub.mu);
	hub.running = false;
	hub.db = NULL;
	pthread_mutex_unlock(&hub.mu);
}
