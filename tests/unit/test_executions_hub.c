/* executions' live hub (src/executions/hub.c): writers wake the
 * subscribers of their execution only; live events keep their order and
 * their place after the last notified seq; a full queue drops live events
 * for that subscriber without blocking the writer; keep-alives come from the
 * hub's thread; the poll finds events another process wrote (a second
 * database handle here, which never notifies); nothing happens when nobody
 * listens; writers on many threads and a reader at once leave nothing
 * behind (run under ASan). */
#include "core/core.h"
#include "core/json_text.h"
#include "db/db.h"
#include "executions/executions.h"
#include "t.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define WS  "00000000-0000-4000-8000-00000000000a"
#define EX1 "00000000-0000-4000-8000-000000000e01"
#define EX2 "00000000-0000-4000-8000-000000000e02"

struct waker {
	atomic_int wakes;
};

static void on_wake(void *ctx)
{
	struct waker *w = ctx;
	atomic_fetch_add(&w->wakes, 1);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits up to limit_ms for *wakes to pass from; the ms it took, or -1. */
static int wait_wake(struct waker *w, int from, int limit_ms)
{
	for (int ms = 0; ms <= limit_ms; ms += 5) {
		if (atomic_load(&w->wakes) > from)
			return ms;
		sleep_ms(5);
	}
	return -1;
}

static void t_nobody_listens(void)
{
	struct executions_hub_stats st;
	json_t *d = json_pack("{s:s}", "text", "hello");
	for (int i = 0; i < 1000; i++) {
		executions_notify(EX1, i);
		executions_live(EX1, "output.delta", "t", 1, d);
	}
	json_decref(d);
	executions_hub_stats(&st);
	T_EQ_INT(st.subscribers, 0, "nobody listens: no subscriber");
	T_EQ_INT(st.live_sent, 0, "nobody listens: live events are not even queued");
}

static void t_notify_and_live(void)
{
	struct waker a = {0}, b = {0};
	struct executions_sub *sa = executions_subscribe(WS, EX1, 3, on_wake, &a);
	struct executions_sub *sb = executions_subscribe(WS, EX2, 0, on_wake, &b);
	int64_t seq;
	bool ka;
	int64_t dropped;

	executions_sub_state(sa, &seq, &ka, &dropped);
	T_EQ_INT(seq, 3, "a new subscription starts at the seq its subscriber knows");
	executions_notify(EX1, 5);
	T_EQ_INT(atomic_load(&a.wakes), 1, "notify wakes the execution's subscriber");
	T_EQ_INT(atomic_load(&b.wakes), 0, "and no other execution's");
	executions_notify(EX1, 4);
	T_EQ_INT(atomic_load(&a.wakes), 1, "a notify below the known seq wakes nobody");
	executions_sub_state(sa, &seq, &ka, &dropped);
	T_EQ_INT(seq, 5, "the subscriber reads the highest seq notified");

	json_t *d1 = json_pack("{s:s}", "text", "Hel"), *d2 = json_pack("{s:s}", "text", "lo\nthere");
	executions_live(EX1, "output.delta", "research", 2, d1);
	executions_notify(EX1, 6);
	executions_live(EX1, "output.delta", NULL, 0, d2);
	executions_live(EX1, "output.delta", NULL, 0, NULL);
	json_decref(d1);
	json_decref(d2);
	struct executions_live_msg *m = executions_sub_next(sa);
	size_t len = 0;
	const char *text = m ? executions_live_text(m, &len) : "";
	json_t *e = json_loadb(text, len, 0, NULL);
	T_OK(e && json_is_string(json_object_get(e, "at")) && !json_object_get(e, "seq"),
	     "a live event's envelope has at and no seq: %s", text);
	T_EQ_STR(json_string_value(json_object_get(e, "type")), "output.delta", "its type");
	T_EQ_STR(json_string_value(json_object_get(e, "task_key")), "research", "its task_key");
	T_EQ_INT(json_integer_value(json_object_get(e, "attempt")), 2, "its attempt");
	T_EQ_STR(json_string_value(json_object_get(json_object_get(e, "data"), "text")), "Hel", "its data");
	T_EQ_INT(m ? executions_live_after(m) : -1, 5, "it goes after the seq notified before it was written");
	json_decref(e);
	executions_live_release(&m);
	T_OK(!m, "release NULLs the pointer");
	m = executions_sub_next(sa);
	text = m ? executions_live_text(m, &len) : "";
	T_OK(strchr(text, '\n') == NULL, "a newline in the data stays escaped in the JSON (SSE data is one line)");
	T_OK(!strstr(text, "task_key") && !strstr(text, "attempt"), "no task_key or attempt when not given: %s", text);
	T_EQ_INT(m ? executions_live_after(m) : -1, 6, "the second one after seq 6");
	executions_live_release(&m);
	m = executions_sub_next(sa);
	T_OK(m && strstr(executions_live_text(m, &len), "\"data\":{}"), "data NULL is {}");
	executions_live_release(&m);
	T_OK(executions_sub_next(sa) == NULL, "then the queue is empty");
	T_OK(executions_sub_next(sb) == NULL, "the other execution's subscriber got none");

	/* Unsubscribed: never woken again, and its queue is freed (ASan). */
	executions_live(EX1, "output.delta", NULL, 0, NULL);
	executions_unsubscribe(&sa);
	T_OK(!sa, "unsubscribe NULLs the pointer");
	int before = atomic_load(&a.wakes);
	executions_notify(EX1, 50);
	T_EQ_INT(atomic_load(&a.wakes), before, "an ended subscription is not woken");
	executions_unsubscribe(&sb);
	struct executions_hub_stats st;
	executions_hub_stats(&st);
	T_EQ_INT(st.subscribers, 0, "no subscriber left");
}

static void t_bounded(void)
{
	struct waker a = {0}, b = {0};
	struct executions_sub *slow = executions_subscribe(WS, EX1, 0, on_wake, &a);
	struct executions_sub *fast = executions_subscribe(WS, EX1, 0, on_wake, &b);
	int taken = 0;
	for (int i = 0; i < 10; i++) {
		json_t *d = json_pack("{s:i}", "i", i);
		executions_live(EX1, "output.delta", NULL, 0, d);
		json_decref(d);
		struct executions_live_msg *m = executions_sub_next(fast);
		taken += m != NULL;
		executions_live_release(&m);
	}
	int64_t seq, dropped;
	bool ka;
	executions_sub_state(slow, &seq, &ka, &dropped);
	T_EQ_INT(dropped, 6, "a slow subscriber holds queue_max (4) live events; the other 6 are dropped");
	executions_sub_state(slow, &seq, &ka, &dropped);
	T_EQ_INT(dropped, 0, "the dropped count resets when read");
	T_EQ_INT(taken, 10, "a subscriber that keeps up gets every one");
	struct executions_live_msg *m = executions_sub_next(slow);
	size_t len;
	T_OK(m && strstr(executions_live_text(m, &len), "\"i\":0"), "the slow one keeps the oldest, in order");
	executions_live_release(&m);
	executions_unsubscribe(&slow); /* three still queued: freed */
	executions_unsubscribe(&fast);
}

static void t_keepalive(void)
{
	struct waker a = {0};
	struct executions_sub *s = executions_subscribe(WS, EX1, 0, on_wake, &a);
	int ms = wait_wake(&a, 0, 5000);
	int64_t seq, dropped;
	bool ka = false;
	executions_sub_state(s, &seq, &ka, &dropped);
	T_OK(ms >= 0 && ka, "an idle subscriber is woken with a keep-alive due (keepalive 400 ms: after %d ms)", ms);
	executions_sub_state(s, &seq, &ka, &dropped);
	T_OK(!ka, "the keep-alive flag resets when read");
	/* Sending pushes the clock: 20 ms sends for 200 ms see no keep-alive (the
	 * keep-alive is 400 ms so that a busy machine's late wake-up is no gap). */
	int before = atomic_load(&a.wakes);
	for (int i = 0; i < 10; i++) {
		executions_sub_sent(s);
		sleep_ms(20);
	}
	T_EQ_INT(atomic_load(&a.wakes), before, "a subscriber that keeps sending gets no keep-alive");
	executions_unsubscribe(&s);
}

static struct db *open_db(const char *url)
{
	struct arena *a = arena_new();
	struct problem p;
	struct db_options o = {.url = url};
	struct db *db = NULL;
	problem_init(&p, a);
	if (db_open(&o, &db, &p) != ST_OK) {
		printf("# database: %s\n", p.detail ? p.detail : "?");
		db = NULL;
	}
	arena_free(&a);
	return db;
}

struct bump {
	const char *id;
	int64_t seq;
};

static enum status bump_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct bump *b = ctx;
	return executions_event_tx(c, WS, b->id, "task.started", "t", 1, NULL, &b->seq, p);
}

/* Another process's writer: a second handle on the same file that stores an
 * event and never calls executions_notify. */
static void t_poll(const char *dir)
{
	char *url = xasprintf("sqlite:%s/hub.db", dir);
	struct db *db = open_db(url), *other = open_db(url);
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	T_OK(db && other && db_migrate(db, &p) == ST_OK, "a database");
	if (!db || !other)
		goto out;
	db_exec1(db, DB_WRITE, a, NULL,
	         "INSERT INTO workspaces (id, name, personal, created_by, created_at, updated_at) VALUES (?, 'w', 0, "
	         "'u', 1, 1)",
	         DB_ARGS(db_text(WS)), &p);
	db_exec1(db, DB_WRITE, a, NULL,
	         "INSERT INTO executions (id, workspace_id, workflow_id, workflow_version, snapshot, status, inputs, "
	         "created_at) VALUES (?, ?, ?, 1, '{}', 'running', '{}', 1)",
	         DB_ARGS(db_text(EX2), db_text(WS), db_text(EX1)), &p);
	struct executions_hub_options o = {.db = db, .poll_ms = 40, .keepalive_ms = 60000, .queue_max = 4};
	executions_hub_stop();
	T_EQ_INT(executions_hub_start(&o, &p), ST_OK, "the hub restarts with a database to poll");
	struct waker w = {0};
	struct executions_sub *s = executions_subscribe(WS, EX2, 0, on_wake, &w);
	struct bump b = {.id = EX2};
	T_EQ_INT(db_tx(other, bump_tx, &b, &p), ST_OK, "the other handle stores an event");
	int from = atomic_load(&w.wakes);
	int ms = wait_wake(&w, from, 2000);
	int64_t seq, dropped;
	bool ka;
	executions_sub_state(s, &seq, &ka, &dropped);
	T_OK(ms >= 0 && seq == b.seq, "the poll finds it and wakes the subscriber (after %d ms, seq %lld)", ms,
	     (long long) seq);
	executions_unsubscribe(&s);
	/* The hub's thread polls this database: stop it before the database is
	 * closed, and start it again without one for the tests that follow. */
	executions_hub_stop();
	struct executions_hub_options plain = {.keepalive_ms = 60000, .queue_max = 4};
	T_EQ_INT(executions_hub_start(&plain, &p), ST_OK, "the hub restarts without a database to poll");
out:
	db_close(&other);
	db_close(&db);
	arena_free(&a);
	free(url);
}

/* The dead-letter sweep (executions_fail_dead) ends an execution whose job
 * went dead and wakes its streams itself: the hub here has no database to
 * poll, so the wake can only be the sweep's notify. */
static void t_dead_letter(const char *dir)
{
	static const char *const ex = "00000000-0000-4000-8000-000000000e03",
	                         *const job = "00000000-0000-4000-8000-0000000000b3";
	char *url = xasprintf("sqlite:%s/dead.db", dir);
	struct db *db = open_db(url);
	struct arena *a = arena_new();
	struct problem p;
	int n = 0;
	problem_init(&p, a);
	T_OK(db && db_migrate(db, &p) == ST_OK, "a database for the sweep");
	if (!db)
		goto out;
	int64_t now = time_now_ms();
	db_exec1(db, DB_WRITE, a, NULL,
	         "INSERT INTO workspaces (id, name, personal, created_by, created_at, updated_at) VALUES (?, 'w', 0, "
	         "'u', 1, 1)",
	         DB_ARGS(db_text(WS)), &p);
	db_exec1(db, DB_WRITE, a, NULL,
	         "INSERT INTO jobs (id, kind, workspace_id, payload, state, attempts, max_attempts, run_after, "
	         "last_error, created_at, updated_at, finished_at) VALUES (?, ?, ?, ?, 'dead', 5, 5, 1, 'the lease "
	         "expired on the last attempt', 1, ?, ?)",
	         DB_ARGS(db_text(job), db_text(EXECUTIONS_JOB_KIND), db_text(WS),
	                 db_text("{\"execution_id\":\"00000000-0000-4000-8000-000000000e03\"}"), db_int(now),
	                 db_int(now)),
	         &p);
	db_exec1(db, DB_WRITE, a, NULL,
	         "INSERT INTO executions (id, workspace_id, workflow_id, workflow_version, snapshot, status, inputs, "
	         "created_at, job_id) VALUES (?, ?, ?, 1, '{}', 'running', '{}', 1, ?)",
	         DB_ARGS(db_text(ex), db_text(WS), db_text(EX1), db_text(job)), &p);
	struct waker w = {0};
	struct executions_sub *s = executions_subscribe(WS, ex, 0, on_wake, &w);
	int from = atomic_load(&w.wakes);
	T_EQ_INT(executions_fail_dead(db, 0, &n, &p), ST_OK, "the sweep runs (%s)", p.detail ? p.detail : "ok");
	T_EQ_INT(n, 1, "it ends the execution whose job is dead");
	int64_t seq = 0, dropped;
	bool ka;
	executions_sub_state(s, &seq, &ka, &dropped);
	struct db_res *r = NULL;
	db_exec1(db, DB_READ, a, &r, "SELECT last_seq, status FROM executions WHERE id = ?", DB_ARGS(db_text(ex)), &p);
	T_OK(r && db_res_rows(r) == 1 && str_eq(db_res_text(r, 0, 1), "failed"), "the execution is failed");
	T_OK(atomic_load(&w.wakes) > from && r && seq == db_res_int(r, 0, 0),
	     "its stream is woken at once with the final event's seq (%lld), no poll needed", (long long) seq);
	executions_unsubscribe(&s);
out:
	db_close(&db);
	arena_free(&a);
	free(url);
}

struct store {
	const char *id;
	int n;
	enum status outcome; /* what the transaction returns after storing: ST_OK commits */
	int64_t last;
};

static enum status store_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct store *s = ctx;
	struct executions_event evs[4];
	json_t *d = json_pack("{s:s, s:f}", "text", "caf\u00e9 \"quoted\"", "cost", 0.15);
	for (int i = 0; i < s->n; i++)
		evs[i] = (struct executions_event){.type = i % 2 ? "llm.completed" : "task.started",
		                                   .task_key = i % 2 ? "research" : NULL,
		                                   .attempt = i % 2 ? 2 : 0,
		                                   .data = i % 2 ? d : NULL};
	enum status st = executions_events_tx(c, WS, s->id, evs, (size_t) s->n, p);
	json_decref(d);
	s->last = st == ST_OK ? evs[s->n - 1].seq : 0;
	return st == ST_OK ? s->outcome : st;
}

/* Stores n events on db in one transaction; commits when outcome is ST_OK,
 * then notifies as a writer does. */
static int64_t store(struct db *db, const char *id, int n, enum status outcome)
{
	struct arena *a = arena_new();
	struct problem p;
	struct store s = {.id = id, .n = n, .outcome = outcome};
	problem_init(&p, a);
	enum status st = db_tx(db, store_tx, &s, &p);
	if (st == ST_OK)
		executions_notify(id, s.last);
	arena_free(&a);
	return st == ST_OK ? s.last : 0;
}

/* The stored events a stream can take from its queue: the committed ones of
 * this process's writers, each envelope byte for byte what the database
 * read gives; a rolled-back transaction's never; a gap (an event that never
 * reached the queue) answers false, so the stream reads the database. */
static void t_journal(const char *dir)
{
	char *url = xasprintf("sqlite:%s/journal.db", dir);
	struct db *db = open_db(url);
	struct arena *a = arena_new();
	struct problem p;
	struct executions_live_msg *msgs[8];
	size_t n = 0;
	problem_init(&p, a);
	T_OK(db && db_migrate(db, &p) == ST_OK, "a database");
	if (!db)
		goto out;
	db_exec1(db, DB_WRITE, a, NULL,
	         "INSERT INTO workspaces (id, name, personal, created_by, created_at, updated_at) VALUES (?, 'w', 0, "
	         "'u', 1, 1)",
	         DB_ARGS(db_text(WS)), &p);
	db_exec1(db, DB_WRITE, a, NULL,
	         "INSERT INTO executions (id, workspace_id, workflow_id, workflow_version, snapshot, status, inputs, "
	         "created_at) VALUES (?, ?, ?, 1, '{}', 'running', '{}', 1)",
	         DB_ARGS(db_text(EX1), db_text(WS), db_text(EX2)), &p);
	T_EQ_INT(store(db, EX1, 1, ST_OK), 1, "an event stored while nobody listens");
	struct waker w = {0};
	struct executions_sub *s = executions_subscribe(WS, EX1, 1, on_wake, &w);
	T_EQ_INT(store(db, EX1, 2, ST_OK), 3, "two more, with a subscriber");
	T_OK(atomic_load(&w.wakes) > 0, "the subscriber is woken");
	T_OK(!executions_sub_stored(s, 0, 3, msgs, 8, &n) && n == 0,
	     "seq 1 was stored before anyone listened: not queued, the stream reads the database");
	T_OK(executions_sub_stored(s, 1, 3, msgs, 8, &n) && n == 2, "seqs 2 and 3 come from the queue");
	json_t *items = NULL;
	int64_t last = 0;
	T_EQ_INT(executions_stream_read(db, WS, EX1, 1, 10, a, &items, &last, &p), ST_OK, "the database read");
	for (size_t i = 0; i < n && i < json_array_size(items); i++) {
		size_t len;
		const char *text = executions_live_text(msgs[i], &len);
		char *want = json_text(json_array_get(items, i), JSON_COMPACT);
		T_EQ_STR(text, want, "seq %lld: the queued envelope is the database's, byte for byte",
		         (long long) executions_live_seq(msgs[i]));
		T_EQ_STR(executions_live_type(msgs[i]),
		         json_string_value(json_object_get(json_array_get(items, i), "type")), "and its type");
		free(want);
		executions_live_release(&msgs[i]);
	}
	T_OK(!executions_sub_stored(s, 3, 3, msgs, 8, &n) || n == 0, "taken once: nothing is left");

	T_EQ_INT(store(db, EX1, 1, ST_CONFLICT), 0, "a transaction that stores seq 4 rolls back");
	executions_notify(EX1, 4); /* as if another writer's seq 4 were notified */
	T_OK(!executions_sub_stored(s, 3, 4, msgs, 8, &n) && n == 0, "the rolled-back event is never queued");
	T_EQ_INT(store(db, EX1, 1, ST_OK), 4, "seq 4 is stored again, committed");
	T_OK(executions_sub_stored(s, 3, 4, msgs, 8, &n) && n == 1, "the committed seq 4 is queued once");
	T_OK(n == 1 && strstr(executions_live_text(msgs[0], &(size_t){0}), "task.started"),
	     "with the committed content, not the rolled-back one's");
	if (n == 1)
		executions_live_release(&msgs[0]);

	/* A gap: seq 5 committed on another thread's transaction numbering is
	 * simulated by a notify that never comes for it. */
	struct store lost = {.id = EX1, .n = 1, .outcome = ST_OK};
	T_EQ_INT(db_tx(db, store_tx, &lost, &p), ST_OK, "seq 5 is stored and its writer never notifies");
	T_EQ_INT(store(db, EX1, 1, ST_OK), 6, "seq 6 is stored and notified");
	T_OK(!executions_sub_stored(s, 4, 6, msgs, 8, &n) && n == 0, "5 is missing: false, nothing taken");
	T_OK(executions_sub_stored(s, 5, 6, msgs, 8, &n) && n == 1 && executions_live_seq(msgs[0]) == 6,
	     "after the database gave 5, seq 6 comes from the queue");
	if (n == 1)
		executions_live_release(&msgs[0]);

	/* A subscriber attached mid-run gets what is written after it. */
	struct waker w2 = {0};
	struct executions_sub *s2 = executions_subscribe(WS, EX1, 6, on_wake, &w2);
	T_EQ_INT(store(db, EX1, 2, ST_OK), 8, "two more");
	T_OK(executions_sub_stored(s2, 6, 8, msgs, 8, &n) && n == 2, "the late subscriber takes 7 and 8");
	for (size_t i = 0; i < n; i++)
		executions_live_release(&msgs[i]);
	T_OK(executions_sub_stored(s, 6, 8, msgs, 8, &n) && n == 2, "and so does the first");
	for (size_t i = 0; i < n; i++)
		executions_live_release(&msgs[i]);
	T_EQ_INT(store(db, EX1, 1, ST_OK), 9, "one more left queued at the end (freed with the subscription: ASan)");
	executions_unsubscribe(&s2);
	executions_unsubscribe(&s);
out:
	db_close(&db);
	arena_free(&a);
	free(url);
}

struct writer {
	int n;
};

static atomic_int writers_done;

static void *writer_main(void *ctx)
{
	struct writer *w = ctx;
	json_t *d = json_pack("{s:s}", "text", "x");
	for (int i = 0; i < w->n; i++) {
		executions_live(EX1, "output.delta", "t", 1, d);
		executions_notify(EX1, i);
	}
	json_decref(d);
	atomic_fetch_add(&writers_done, 1);
	return NULL;
}

static void t_threads(void)
{
	struct waker a = {0};
	struct executions_sub *s = executions_subscribe(WS, EX1, 0, on_wake, &a);
	pthread_t th[4];
	struct writer w = {.n = 2000};
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, writer_main, &w);
	/* The reader takes while the writers write, however the threads are
	 * scheduled; then what the bounded queue kept is still there to take. */
	int got = 0;
	while (atomic_load(&writers_done) < 4) {
		struct executions_live_msg *m = executions_sub_next(s);
		got += m != NULL;
		executions_live_release(&m);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (struct executions_live_msg *m; (m = executions_sub_next(s)) != NULL;) {
		got++;
		executions_live_release(&m);
	}
	T_OK(got > 0, "a reader drains while four writers write (%d taken)", got);
	executions_unsubscribe(&s); /* what is left is freed: ASan would tell */
	struct executions_hub_stats st;
	executions_hub_stats(&st);
	T_EQ_INT(st.subscribers, 0, "no subscriber left");
}

int main(void)
{
	struct arena *a = arena_new();
	struct problem p;
	char dir[] = "/tmp/troupe-test-hub-XXXXXX";
	problem_init(&p, a);
	core_init();
	if (!mkdtemp(dir))
		return 1;
	t_nobody_listens();
	/* A long keep-alive first, so none counts as a wake where wakes are counted. */
	struct executions_hub_options o = {.keepalive_ms = 600000, .queue_max = 4};
	T_EQ_INT(executions_hub_start(&o, &p), ST_OK, "the hub starts");
	T_EQ_INT(executions_hub_start(&o, &p), ST_CONFLICT, "only once");
	t_notify_and_live();
	t_bounded();
	t_threads();
	t_dead_letter(dir);
	executions_hub_stop();
	o.keepalive_ms = 400;
	T_EQ_INT(executions_hub_start(&o, &p), ST_OK, "the hub starts again (keep-alive 400 ms)");
	t_keepalive();
	t_poll(dir);
	t_journal(dir);
	executions_hub_stop();
	executions_hub_stop();
	T_OK(1, "stop twice is harmless");
	char *rm = xasprintf("rm -rf %s", dir);
	if (system(rm) != 0)
		printf("# could not remove %s\n", dir);
	free(rm);
	arena_free(&a);
	return t_done();
}
