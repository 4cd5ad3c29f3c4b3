/* The engine's tool runner (toolrun.h): a fixed pool of tool threads, one
 * completion queue per engine loop, one tool set per execution.
 *
 * A call is an item. The loop thread creates it (start), links it in its
 * port's in-flight list and queues it on the pool; a tool thread runs it and
 * posts it to the port's done queue, then wakes the loop; the port's hook
 * takes it on the loop thread, answers the engine and frees it. Cancel and
 * timeout answer the engine at once and detach the item (job NULL): whoever
 * holds it next frees it. An item never points at the set that made it, so a
 * set can go as soon as its crew is done. */
#include "engine/toolrun.h"
#include "core/json_text.h"
#include "engine/engine_int.h"

#include "agents/agents.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT_GRACE_MS 1000

struct item {
	struct item *next;            /* pool queue, then the port's done queue */
	struct item *lnext, *lprev;   /* the port's in-flight list (loop thread) */
	struct engine_toolport *port; /* counted in port->nitems */
	struct engine_tool_job *job;  /* loop thread only; NULL once the engine was answered */
	atomic_bool abandoned;        /* cancelled or timed out: a queued item is not run */
	char *ws, *id, *name;         /* copies */
	int64_t version;              /* the snapshot's pin */
	json_t *args;                 /* a copy: the tool thread's own */
	int64_t deadline_us;
	bool ok; /* written by the tool thread before posting */
	char *result;
};

struct engine_toolpool {
	struct agents *agents;
	int timeout_s;
	pthread_mutex_t mu; /* guards head, tail, stop */
	pthread_cond_t cv;
	struct item *head, *tail;
	bool stop;
	int nthreads;
	pthread_t *threads;
};

struct engine_toolport {
	struct engine_toolpool *pool;
	struct engine_loop *loop;
	int wakefd;            /* a dup of the loop's eventfd: writing it after the loop is gone harms nothing */
	pthread_mutex_t mu;    /* guards done, closed, nitems */
	struct item *done;     /* posted by tool threads, newest first */
	bool closed;           /* engine_toolport_free ran: posted items are freed by the poster */
	int nitems;            /* items alive that point here */
	struct item *inflight; /* loop thread: items the engine waits for */
};

/* What a tool set remembers of each tool (engine_tool.ud). */
struct tool_ref {
	const char *id;
	int64_t version;
};

struct engine_toolset {
	struct engine_toolport *port;
	struct engine_tool_runner runner;
	struct arena *arena; /* the tool arrays and refs */
	char *ws;
};

/* ---------------------------------------------------------------- items */

static void item_free(struct item *it)
{
	free(it->ws);
	free(it->id);
	free(it->name);
	free(it->result);
	json_decref(it->args);
	free(it);
}

static void port_destroy(struct engine_toolport *port)
{
	close(port->wakefd);
	pthread_mutex_destroy(&port->mu);
	free(port);
}

/* Frees an item and drops its count on the port; the port goes with its last item once closed. */
static void item_release(struct item *it)
{
	struct engine_toolport *port = it->port;
	bool last;

	item_free(it);
	pthread_mutex_lock(&port->mu);
	last = --port->nitems == 0 && port->closed;
	pthread_mutex_unlock(&port->mu);
	if (last)
		port_destroy(port);
}

static void inflight_unlink(struct engine_toolport *port, struct item *it)
{
	if (it->lprev)
		it->lprev->lnext = it->lnext;
	else
		port->inflight = it->lnext;
	if (it->lnext)
		it->lnext->lprev = it->lprev;
	it->lnext = it->lprev = NULL;
}

/* Answers the engine now and leaves the item to whoever holds it (loop thread). */
static void item_detach(struct item *it, const char *why)
{
	struct engine_tool_job *job = it->job;

	atomic_store(&it->abandoned, true);
	it->job = NULL;
	inflight_unlink(it->port, it);
	engine_tool_done(job, false, why);
}

/* ---------------------------------------------------------------- the tool threads */

/* The problem as one line for the model: detail, then each field error. */
static char *problem_text(const struct problem *p)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	buf_puts(&b, p->detail ? p->detail : "the tool failed");
	for (int i = 0; i < p->nfields; i++)
		buf_printf(&b, "%s%s: %s", i ? "; " : " (", p->fields[i].field, p->fields[i].message);
	if (p->nfields)
		buf_puts(&b, ")");
	s = xstrdup(b.data ? b.data : "");
	buf_free(&b);
	return s;
}

/* tools_run's answer ({status, headers, body, truncated, duration_ms}, every
 * tool alike) as the model sees it (toolrun.h). */
static void answer(struct item *it, json_t *out)
{
	json_int_t status = json_integer_value(json_object_get(out, "status"));
	const char *body = json_string_value(json_object_get(out, "body"));

	if (str_eq(it->name, "http_request") && tools_is_builtin(it->id)) {
		json_object_del(out, "duration_ms"); /* the model asked for the request: it sees the status itself */
		it->result = json_text(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
		it->ok = it->result != NULL;
	} else {
		it->ok = status < 400;
		it->result = it->ok ? xstrdup(body ? body : "")
		                    : xasprintf("HTTP %lld: %s", (long long) status, body ? body : "");
	}
	if (!it->result)
		it->result = xstrdup("the tool's answer could not be encoded");
}

static void item_run(struct engine_toolpool *pool, struct item *it)
{
	struct arena *a = arena_new();
	struct problem p;
	json_t *out = NULL;

	/* what is left of the call's timeout (queue wait included), and a grace second so that the engine's own
	 * timeout answers first, bounds its HTTP request: the thread is free soon after the engine stops waiting */
	int64_t left_ms = (it->deadline_us - time_mono_us()) / 1000 + TIMEOUT_GRACE_MS;
	problem_init(&p, a);
	if (tools_run_within(pool->agents, it->ws, it->id, it->version, it->args, left_ms > 1 ? (int) left_ms : 1, a,
	                     &out, &p) == ST_OK &&
	    out) {
		answer(it, out);
	} else {
		it->ok = false;
		it->result = problem_text(&p);
	}
	json_decref(out);
	arena_free(&a);
}

/* Hands a finished item back to its loop (or frees it when the port is gone). */
static void item_post(struct item *it)
{
	struct engine_toolport *port = it->port;
	uint64_t one = 1;

	pthread_mutex_lock(&port->mu);
	if (!port->closed) {
		it->next = port->done;
		port->done = it;
		ssize_t n = write(port->wakefd, &one, sizeof(one));
		(void) n; /* EAGAIN: a wake-up is already pending */
		pthread_mutex_unlock(&port->mu);
		return;
	}
	pthread_mutex_unlock(&port->mu);
	item_release(it);
}

static void *pool_thread(void *arg)
{
	struct engine_toolpool *pool = arg;

	for (;;) {
		struct item *it;
		pthread_mutex_lock(&pool->mu);
		while (!pool->head && !pool->stop)
			pthread_cond_wait(&pool->cv, &pool->mu);
		if (pool->stop) {
			pthread_mutex_unlock(&pool->mu);
			return NULL;
		}
		it = pool->head;
		pool->head = it->next;
		if (!pool->head)
			pool->tail = NULL;
		it->next = NULL;
		pthread_mutex_unlock(&pool->mu);
		if (!atomic_load(&it->abandoned))
			item_run(pool, it);
		item_post(it);
	}
}

struct engine_toolpool *engine_toolpool_new(struct agents *m, int nthreads, int timeout_s)
{
	struct engine_toolpool *pool = xcalloc(1, sizeof(*pool));

	assert(nthreads >= 1 && nthreads <= 64 && timeout_s >= 1);
	pool->agents = m;
	pool->timeout_s = timeout_s;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	pool->threads = xcalloc((size_t) nthreads, sizeof(*pool->threads));
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&pool->threads[i], NULL, pool_thread, pool) != 0) {
			log_error("engine: cannot start a tool thread");
			abort();
		}
		pool->nthreads++;
	}
	return pool;
}

void engine_toolpool_free(struct engine_toolpool **pp)
{
	struct engine_toolpool *pool = *pp;
	struct item *it;

	if (!pool)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->stop = true;
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	for (int i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	while ((it = pool->head)) {
		pool->head = it->next;
		it->ok = false;
		it->result = xstrdup("the tool runner is stopping");
		item_post(it);
	}
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool->threads);
	free(pool);
	*pp = NULL;
}

static void pool_push(struct engine_toolpool *pool, struct item *it)
{
	pthread_mutex_lock(&pool->mu);
	it->next = NULL;
	if (pool->tail)
		pool->tail->next = it;
	else
		pool->head = it;
	pool->tail = it;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

/* ---------------------------------------------------------------- the port (loop thread) */

/* The engine_loop hook: answers what the pool finished, ends what ran past its deadline. */
static int64_t port_hook(void *ud, int64_t now)
{
	struct engine_toolport *port = ud;
	struct item *done, *rev = NULL;
	int64_t next = 0;

	pthread_mutex_lock(&port->mu);
	done = port->done;
	port->done = NULL;
	pthread_mutex_unlock(&port->mu);
	while (done) { /* oldest first */
		struct item *n = done->next;
		done->next = rev;
		rev = done;
		done = n;
	}
	while (rev) {
		struct item *it = rev;
		rev = it->next;
		if (it->job) {
			struct engine_tool_job *job = it->job;
			it->job = NULL;
			inflight_unlink(port, it);
			engine_tool_done(job, it->ok, it->result);
		}
		item_release(it);
	}
	for (struct item *it = port->inflight, *n; it; it = n) {
		char why[96];
		n = it->lnext;
		if (it->deadline_us > now)
			continue;
		snprintf(why, sizeof(why), "the tool did not answer within %d s", port->pool->timeout_s);
		item_detach(it, why);
	}
	for (struct item *it = port->inflight; it; it = it->lnext)
		if (!next || it->deadline_us < next)
			next = it->deadline_us;
	return next;
}

struct engine_toolport *engine_toolport_new(struct engine_toolpool *pool, struct engine_loop *l)
{
	struct engine_toolport *port = xcalloc(1, sizeof(*port));

	port->pool = pool;
	port->loop = l;
	port->wakefd = dup(l->wakefd);
	if (port->wakefd < 0) {
		log_error("engine: cannot duplicate the loop's wake-up descriptor");
		abort();
	}
	pthread_mutex_init(&port->mu, NULL);
	engine_loop_hook_add(l, port_hook, port);
	return port;
}

void engine_toolport_free(struct engine_toolport **pp)
{
	struct engine_toolport *port = *pp;
	struct item *done;
	bool last;

	if (!port)
		return;
	assert(!port->inflight); /* engine_loop_free ended every attempt */
	pthread_mutex_lock(&port->mu);
	port->closed = true;
	done = port->done;
	port->done = NULL;
	last = port->nitems == 0;
	pthread_mutex_unlock(&port->mu);
	while (done) {
		struct item *n = done->next;
		item_release(done); /* may free the port with the last one */
		done = n;
	}
	if (last)
		port_destroy(port);
	*pp = NULL;
}

/* ---------------------------------------------------------------- the set (loop thread) */

static void set_start(void *ud, struct engine_tool_job *job, const char *name, const json_t *arguments)
{
	struct engine_toolset *set = ud;
	struct engine_toolport *port = set->port;
	const struct engine_tool *tool = engine_tool_job_tool(job);
	const struct tool_ref *ref = tool ? tool->ud : NULL;
	struct item *it;

	if (!ref) {
		engine_tool_done(job, false, "the tool is not in the execution's snapshot");
		return;
	}
	it = xcalloc(1, sizeof(*it));
	atomic_init(&it->abandoned, false);
	it->port = port;
	it->job = job;
	it->ws = xstrdup(set->ws);
	it->id = xstrdup(ref->id);
	it->name = xstrdup(name);
	it->version = ref->version;
	it->args = json_deep_copy(arguments);
	it->deadline_us = time_mono_us() + (int64_t) port->pool->timeout_s * 1000000;
	pthread_mutex_lock(&port->mu);
	port->nitems++;
	pthread_mutex_unlock(&port->mu);
	it->lnext = port->inflight;
	if (port->inflight)
		port->inflight->lprev = it;
	port->inflight = it;
	pool_push(port->pool, it);
}

static void set_cancel(void *ud, struct engine_tool_job *job)
{
	struct engine_toolset *set = ud;

	for (struct item *it = set->port->inflight; it; it = it->lnext)
		if (it->job == job) {
			item_detach(it, "cancelled");
			return;
		}
}

struct engine_toolset *engine_toolset_new(struct engine_toolport *port, const char *ws)
{
	struct engine_toolset *set = xcalloc(1, sizeof(*set));

	set->port = port;
	set->arena = arena_new();
	set->ws = arena_strdup(set->arena, ws);
	set->runner = (struct engine_tool_runner){set_start, set_cancel, set};
	return set;
}

void engine_toolset_free(struct engine_toolset **sp)
{
	struct engine_toolset *set = *sp;

	if (!set)
		return;
	arena_free(&set->arena);
	free(set);
	*sp = NULL;
}

const struct engine_tool_runner *engine_toolset_runner(struct engine_toolset *set)
{
	return &set->runner;
}

static void decref(void *j)
{
	json_decref(j);
}

enum status engine_toolset_agent_tools(struct engine_toolset *set, const json_t *snapshot, const json_t *tool_ids,
                                       const struct engine_tool **tools, int *ntools, struct problem *p)
{
	json_t *all = json_object_get(snapshot, "tools");
	size_t n = json_array_size(tool_ids);
	struct engine_tool *t;

	*tools = NULL;
	*ntools = 0;
	if (!n)
		return ST_OK;
	t = arena_zalloc(set->arena, n * sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_array_get(tool_ids, i));
		json_t *def = id ? json_object_get(all, id) : NULL;
		const char *name = json_string_value(json_object_get(def, "name"));
		struct tool_ref *ref;
		if (!name) {
			problem_field(p, arena_printf(p->arena, "tool_ids[%zu]", i),
			              "names no tool of the execution's snapshot");
			return problem_set(p, ST_UNPROCESSABLE, "an agent's tool is not in the execution's snapshot");
		}
		for (size_t k = 0; k < i; k++)
			if (str_eq(t[k].name, name)) {
				problem_field(p, arena_printf(p->arena, "tool_ids[%zu]", i),
				              "is a second tool named \"%s\": a model calls tools by name", name);
				return problem_set(p, ST_UNPROCESSABLE, "an agent has two tools of one name");
			}
		ref = arena_zalloc(set->arena, sizeof(*ref));
		ref->id = arena_strdup(set->arena, id);
		ref->version = json_integer_value(json_object_get(def, "version"));
		t[i] = (struct engine_tool){
		    .name = arena_strdup(set->arena, name),
		    .description = arena_strdup(set->arena, json_string_value(json_object_get(def, "description"))
		                                                ? json_string_value(json_object_get(def, "description"))
		                                                : ""),
		    .parameters = json_object_get(def, "parameters"),
		    .ud = ref,
		};
		if (t[i].parameters)
			arena_defer(set->arena, decref, json_incref(t[i].parameters));
	}
	*tools = t;
	*ntools = (int) n;
	return ST_OK;
}
