/*
 * The worker that runs executions (engine.h, "the worker"; docs/executions.md).
 *
 * A jobs handler (a pool worker thread) loads the execution, builds its
 * agents and tasks, marks it running under the job's lease, detaches the
 * job run and hands the execution to one of a few loop threads. A loop
 * thread owns one engine_loop and many runs: it drives them, stores what
 * they emitted in one transaction per turn (fenced on each run's epoch),
 * and ends their jobs.
 *
 *   handler: load -> build -> begin (fenced) -> detach -> inbox of a loop
 *   loop:    RUNNING --crew done--> ENDED --finish committed--> job HANDLED
 *            RUNNING --lease lost / write given up / SIGTERM--> DROPPING
 *                    --crew drained--> job LOST / RETRY / HAND_BACK
 *
 * Threads: a run belongs to its loop thread once in the inbox; the inbox and
 * the cancel list are under the loop's mutex; `load` is atomic.
 */
#include "engine/engine.h"
#include "core/json_text.h"
#include "engine/toolrun.h"

#include "core/template.h"
#include "db/db.h"
#include "executions/executions.h"
#include "jobs/jobs.h"
#include "models/models.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define LOOP_SLICE_MS      50   /* a turn's longest wait; new runs and cancels wake the loop (engine_loop_wake) */
#define SWEEP_MS           2000 /* how often loop 0 looks for dead-lettered executions */
#define RETRY_WAIT_MS      5    /* the wait of a turn with nothing in flight but writes to retry */
#define WRITE_FAILURES_MAX 3    /* consecutive failed writes of a run before its job is retried */

/* DROP_GONE: the execution was cancelled while queued before the run began (its job completed with the begin) */
enum drop { DROP_NONE = 0, DROP_LOST, DROP_RETRY, DROP_HAND_BACK, DROP_GONE };

struct pending {
	char *type, *task_key;
	int attempt;
	json_t *data;
	bool live;   /* output.delta: to live streams only, after the events before it are notified */
	bool merged; /* an attempt's end stored with its start (one row insert): no row update of its own */
	int64_t seq; /* set by the transaction that stores it */
};

struct run {
	struct run *next;
	struct arena *a;
	char id[37];
	const char *ws, *job_id;
	int64_t epoch;
	struct jobs_run *jr;
	json_t *inputs, *snapshot;
	const json_t **tool_ids; /* per task: the task's tool_ids, else its agent's */
	struct engine_toolset *tools;
	int ntasks;
	struct engine_task *tasks;
	struct engine_agent *agents; /* one per task: the task's agent with the task's tools */
	const struct engine_agent **agent_ptrs;
	const char **agent_ids;    /* per task */
	const char **distinct;     /* the distinct agents' ids, [0, nresolved) */
	const char **model_ids;    /* per distinct agent: the model asked for (NULL: the default) */
	const char **output_files; /* per task: the sanitised artifact name, or NULL */
	struct model_resolved *resolved;
	int nresolved;
	struct engine_rpm *rpms; /* per distinct agent */
	struct engine_rpm workflow_rpm;
	int first_task;
	const char **outputs; /* stored outputs of the tasks before first_task */
	json_t *last_stored;  /* the last task's stored output as stored (borrowed from the load, in a), or NULL */
	int *attempts_before;
	json_t *models; /* the stored map {agent_id: {id, model, prices...}} (owned) */
	/* the begin (queued -> running, execution.started) is written by the loop's first flush of the run */
	bool begun;
	bool interrupted; /* the load saw an attempt left running */
	int job_attempt;
	int64_t begin_seq;  /* execution.started's seq, set by the transaction that stores it */
	bool gone;          /* set by the same when the execution was no longer queued or running */
	json_t *usage_rows; /* [{task_key, agent_id, usage}] of every ended attempt, stored or not yet (owned):
	                     * the end's usage is summed from it, not read back */
	struct engine_crew *crew;
	/* what the loop has not stored yet */
	struct pending *ev;
	int nev, cap;
	bool ended, finished; /* the crew ended; its end is stored */
	enum executions_status final;
	json_t *final_output;
	char *final_error;
	char *failed_task;
	bool cancel_asked;
	int timeout_s;       /* the workflow's timeout_s: the whole execution's bound (0: none) */
	int64_t deadline_us; /* monotonic; set when the crew starts (0: none) */
	bool timed_out;
	enum drop drop;
	const char *drop_error;
	int write_failures;
	bool conflict;      /* set by the flush transaction; reset on each try */
	int64_t finish_seq; /* the seq of execution.<status>, set by the same */
};

struct rloop {
	struct engine_runner *r;
	pthread_t th;
	bool started;
	struct engine_loop *el;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct run *inbox;   /* mu */
	char (*cancels)[37]; /* mu */
	int ncancels, capc;  /* mu */
	bool stop;           /* mu */
	bool fresh;          /* runs were started since the last flush: their begin and first task.started are
	                      * stored before the loop sends their first call */
	struct run *runs;    /* the thread's own */
	struct engine_toolport *port;
	int64_t next_poll_us;
	int64_t next_sweep_us, swept_ms; /* loop 0: the dead-letter sweep, and the time it last looked from */
	atomic_int load;
};

struct engine_runner {
	struct db *db;
	struct models *models;
	struct llm_limiter *limiter;
	struct engine_toolpool *tools;
	int nloops;
	struct rloop *loops;
	int64_t cancel_poll_us;
};

/* ---------------------------------------------------------------- runs */

static void run_free(struct run *run)
{
	if (!run)
		return;
	for (int i = 0; i < run->nev; i++)
		json_decref(run->ev[i].data);
	free(run->ev);
	engine_toolset_free(&run->tools);
	for (int i = 0; i < run->nresolved; i++)
		models_resolved_wipe(&run->resolved[i]);
	for (int i = 0; run->rpms && i < run->ntasks; i++)
		engine_rpm_free(&run->rpms[i]);
	free(run->rpms);
	engine_rpm_free(&run->workflow_rpm);
	json_decref(run->final_output);
	json_decref(run->models);
	json_decref(run->usage_rows);
	free(run->final_error);
	free(run->failed_task);
	arena_free(&run->a);
	free(run);
}

static const char *str_of(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int int_of(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int) json_integer_value(v) : 0;
}

/* A stored output as the text the next tasks get as context. */
static const char *output_text(const json_t *v, struct arena *a)
{
	if (json_is_string(v))
		return arena_strdup(a, json_string_value(v));
	char *s = json_text(v, JSON_COMPACT | JSON_ENCODE_ANY);
	const char *r = arena_strdup(a, s ? s : "");
	free(s);
	return r;
}

/* Resolves agent k's model: the one stored at the first start, else the
 * agent's model_id, else the workspace's default chat model. */
static enum status resolve_model(struct engine_runner *r, struct run *run, int k, const char *agent_id,
                                 const json_t *agent, json_t *models, struct problem *p)
{
	json_t *stored = json_object_get(models, agent_id);
	const char *mid = stored ? str_of(stored, "id") : str_of(agent, "model_id");
	struct model_resolved *m = &run->resolved[k];
	enum status st = ST_OK;
	int j = 0;
	/* agents sharing a model share its resolution: one read and one key opening per model */
	while (j < k && !(run->model_ids[j] == mid || (run->model_ids[j] && mid && str_eq(run->model_ids[j], mid))))
		j++;
	run->model_ids[k] = mid;
	if (j < k) {
		*m = run->resolved[j];
		m->api_key = m->api_key ? arena_strdup(run->a, m->api_key) : NULL; /* each wiped on its own */
	} else {
		st = models_resolve(r->models, run->ws, mid, "chat", run->a, m, p);
	}
	if (st == ST_NOT_FOUND) {
		problem_clear(p);
		return problem_set(p, ST_UNPROCESSABLE,
		                   mid ? "agent \"%s\": its model configuration no longer exists"
		                       : "agent \"%s\": no model is set and the workspace has no default chat model",
		                   str_of(agent, "name") ? str_of(agent, "name") : agent_id);
	}
	if (st != ST_OK)
		return st;
	models_llm_limit(m, r->limiter);
	if (!stored) {
		bool priced = m->input_per_mtok > 0 || m->output_per_mtok > 0;
		json_object_set_new(models, agent_id,
		                    json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:b}", "id", m->id, "name", m->name,
		                              "provider", m->provider, "model", m->model, "input_per_mtok",
		                              m->input_per_mtok, "output_per_mtok", m->output_per_mtok, "priced",
		                              priced));
	}
	return ST_OK;
}

/* The agent of task i, as the engine takes it (k: the agent's index among the distinct ones). */
static void build_agent(struct run *run, int i, int k, const json_t *agent, const json_t *models, const char *agent_id,
                        const json_t *task)
{
	struct engine_agent *ag = &run->agents[i];
	json_t *stored = json_object_get(models, agent_id);
	ag->role = str_of(agent, "role");
	ag->goal = str_of(agent, "goal");
	ag->backstory = str_of(agent, "backstory");
	models_llm_request(&run->resolved[k], run->a, &ag->llm);
	/* the prices stored at the first start hold for the whole execution */
	ag->llm.input_per_mtok = json_number_value(json_object_get(stored, "input_per_mtok"));
	ag->llm.output_per_mtok = json_number_value(json_object_get(stored, "output_per_mtok"));
	ag->priced = json_is_true(json_object_get(stored, "priced"));
	ag->currency = "USD";
	ag->max_iter = int_of(agent, "max_iter");
	ag->max_execution_time_s = int_of(agent, "max_execution_time_s");
	json_t *retries = json_object_get(agent, "max_retry_limit");
	ag->max_retry_limit = json_is_integer(retries) && json_integer_value(retries) >= 0
	                          ? (int) json_integer_value(retries)
	                          : ENGINE_DEFAULT_MAX_RETRY_LIMIT;
	ag->rpm = &run->rpms[k];
	run->rpms[k].max = int_of(agent, "max_rpm");
	ag->workflow_rpm = &run->workflow_rpm;
	json_t *ids = json_object_get(task, "tool_ids");
	run->tool_ids[i] = json_is_array(ids) ? ids : json_object_get(agent, "tool_ids");
	run->agent_ptrs[i] = ag;
}

static void build_task(struct run *run, int i, const json_t *t)
{
	struct engine_task *et = &run->tasks[i];
	json_t *out = json_object_get(t, "output"), *ctx = json_object_get(t, "context"), *e;
	size_t j;
	et->key = str_of(t, "key");
	et->description = str_of(t, "description");
	et->expected_output = str_of(t, "expected_output") ? str_of(t, "expected_output") : "";
	if (str_eq(str_of(out, "format"), "json")) {
		et->format = ENGINE_OUTPUT_JSON;
		json_t *schema = json_object_get(out, "schema");
		et->schema = json_is_object(schema) ? schema : NULL;
	}
	if (json_is_array(ctx)) {
		const char **c = arena_zalloc(run->a, sizeof(*c) * (json_array_size(ctx) + 1));
		json_array_foreach(ctx, j, e) c[j] = json_string_value(e);
		et->context_set = true;
		et->context = c;
		et->ncontext = (int) json_array_size(ctx);
	}
}

/* The artifact name of task i's output_file, placeholders filled. */
static enum status build_output_file(struct run *run, int i, const json_t *t, struct problem *p)
{
	const char *f = str_of(t, "output_file");
	char *filled = NULL, clean[EXECUTIONS_ARTIFACT_NAME_MAX + 1];
	if (!f || !*f)
		return ST_OK;
	enum status st = template_interpolate(f, run->inputs, 0, run->a, &filled, p);
	if (st != ST_OK)
		return st;
	if (!executions_artifact_name(filled, clean, sizeof(clean)))
		return problem_set(p, ST_UNPROCESSABLE, "task \"%s\": output_file \"%s\" is not a usable file name",
		                   run->tasks[i].key, filled);
	run->output_files[i] = arena_strdup(run->a, clean);
	return ST_OK;
}

/* Where to start: the first task without a stored succeeded output; the
 * attempt numbers stored so far. */
static void build_progress(struct run *run, const json_t *stored)
{
	size_t j;
	json_t *row;
	run->usage_rows = json_array();
	json_array_foreach(stored, j, row)
	{
		if (json_is_object(json_object_get(row, "usage")))
			json_array_append(run->usage_rows, row);
	}
	run->first_task = run->ntasks;
	for (int i = 0; i < run->ntasks; i++) {
		json_array_foreach(stored, j, row)
		{
			if (!str_eq(str_of(row, "task_key"), run->tasks[i].key))
				continue;
			if (int_of(row, "attempt") > run->attempts_before[i])
				run->attempts_before[i] = int_of(row, "attempt");
			if (str_eq(str_of(row, "status"), "succeeded") && !run->outputs[i]) {
				run->outputs[i] = output_text(json_object_get(row, "output"), run->a);
				if (i == run->ntasks - 1)
					run->last_stored = json_object_get(row, "output");
			}
		}
		if (!run->outputs[i] && run->first_task == run->ntasks)
			run->first_task = i;
	}
}

/* Builds the run from what was loaded. ST_UNPROCESSABLE: the definition
 * cannot run (the execution fails with p's detail); other errors: the
 * database (the job is retried). */
static enum status build(struct engine_runner *r, struct run *run, const struct executions_run *er, json_t *models,
                         struct problem *p)
{
	json_t *def = json_object_get(json_object_get(er->snapshot, "workflow"), "definition");
	json_t *agents = json_object_get(er->snapshot, "agents");
	json_t *tasks = json_object_get(def, "tasks");
	int n = (int) json_array_size(tasks);
	enum status st = ST_OK;

	run->inputs = er->inputs;
	run->snapshot = er->snapshot;
	if (n == 0)
		return problem_set(p, ST_UNPROCESSABLE, "the workflow has no tasks");
	run->ntasks = n;
	run->tasks = arena_zalloc(run->a, sizeof(*run->tasks) * (size_t) n);
	run->agents = arena_zalloc(run->a, sizeof(*run->agents) * (size_t) n);
	run->agent_ptrs = arena_zalloc(run->a, sizeof(*run->agent_ptrs) * (size_t) n);
	run->tool_ids = arena_zalloc(run->a, sizeof(*run->tool_ids) * (size_t) n);
	run->agent_ids = arena_zalloc(run->a, sizeof(*run->agent_ids) * (size_t) n);
	run->distinct = arena_zalloc(run->a, sizeof(*run->distinct) * (size_t) n);
	run->model_ids = arena_zalloc(run->a, sizeof(*run->model_ids) * (size_t) n);
	run->output_files = arena_zalloc(run->a, sizeof(*run->output_files) * (size_t) n);
	run->resolved = arena_zalloc(run->a, sizeof(*run->resolved) * (size_t) n);
	run->rpms = xcalloc((size_t) n, sizeof(*run->rpms));
	run->outputs = arena_zalloc(run->a, sizeof(*run->outputs) * (size_t) n);
	run->attempts_before = arena_zalloc(run->a, sizeof(*run->attempts_before) * (size_t) n);
	run->workflow_rpm.max = int_of(def, "max_rpm");
	run->timeout_s = int_of(def, "timeout_s");
	for (int i = 0; i < n && st == ST_OK; i++) {
		json_t *t = json_array_get(tasks, (size_t) i);
		const char *aid = str_of(t, "agent_id");
		json_t *agent = aid ? json_object_get(agents, aid) : NULL;
		build_task(run, i, t);
		if (!agent)
			return problem_set(p, ST_UNPROCESSABLE, "task \"%s\" has no agent", run->tasks[i].key);
		int k = 0;
		while (k < run->nresolved && !str_eq(run->distinct[k], aid))
			k++;
		run->agent_ids[i] = aid;
		if (k == run->nresolved) {
			run->distinct[k] = aid;
			if ((st = resolve_model(r, run, k, aid, agent, models, p)) != ST_OK)
				return st;
			run->nresolved++;
		}
		build_agent(run, i, k, agent, models, aid, t);
		st = build_output_file(run, i, t, p);
	}
	if (st == ST_BAD_INPUT)
		st = problem_set(p, ST_UNPROCESSABLE, "the output_file of a task uses an input that is not given");
	build_progress(run, er->tasks);
	return st;
}

/* ---------------------------------------------------------------- engine callbacks (loop thread) */

static int task_index(const struct run *run, const char *key);

static void on_event(void *ud, const struct engine_event *ev)
{
	struct run *run = ud;
	if (run->drop)
		return;
	if (str_eq(ev->type, "task.failed")) { /* the last one is the task the crew ends on */
		free(run->failed_task);
		run->failed_task = xstrdup(ev->task_key ? ev->task_key : "");
	}
	if (run->nev == run->cap) {
		run->cap = run->cap ? run->cap * 2 : 16;
		run->ev = xrealloc(run->ev, sizeof(*run->ev) * (size_t) run->cap);
	}
	struct pending *e = &run->ev[run->nev++];
	e->type = arena_strdup(run->a, ev->type);
	e->task_key = ev->task_key ? arena_strdup(run->a, ev->task_key) : NULL;
	e->attempt = ev->attempt;
	/* the engine builds each event's data fresh and never changes it after: a reference, not a copy */
	e->data = json_incref(ev->data);
	e->live = str_eq(ev->type, "output.delta"); /* never stored */
	e->merged = false;
	e->seq = 0;
	/* the usage the end will sum: what store_event writes into the attempt's row */
	int i = task_index(run, ev->task_key);
	json_t *u = json_object_get(ev->data, "usage");
	if (i >= 0 && u && !json_is_null(u) && (str_eq(ev->type, "task.succeeded") || str_eq(ev->type, "task.failed")))
		json_array_append_new(run->usage_rows, json_pack("{s:s, s:s, s:O}", "task_key", run->tasks[i].key,
		                                                 "agent_id", run->agent_ids[i], "usage", u));
}

static void on_crew_done(void *ud, const struct engine_result *res)
{
	struct run *run = ud;
	run->crew = NULL;
	run->ended = true;
	if (res->outcome == ENGINE_SUCCEEDED) {
		run->final = EXEC_SUCCEEDED;
		run->final_output =
		    res->output_json ? json_deep_copy(res->output_json) : json_string(res->output ? res->output : "");
	} else if (res->outcome == ENGINE_CANCELLED && run->timed_out) {
		struct buf b;
		buf_init(&b, 0);
		buf_printf(&b, "the execution ran past the workflow's timeout_s (%d s)", run->timeout_s);
		run->final = EXEC_FAILED;
		run->final_error = buf_steal(&b);
	} else if (res->outcome == ENGINE_CANCELLED && run->cancel_asked) {
		run->final = EXEC_CANCELLED;
	} else {
		run->final = EXEC_FAILED;
		struct buf b;
		buf_init(&b, 0);
		if (run->failed_task && *run->failed_task)
			buf_printf(&b, "task \"%s\": ", run->failed_task);
		buf_printf(&b, "%s", res->error && *res->error ? res->error : engine_outcome_name(res->outcome));
		run->final_error = buf_steal(&b);
	}
}

/* Fails the run before its crew starts (its end is stored by the next flush). */
static void run_fail(struct run *run, const char *error)
{
	run->ended = true;
	run->final = EXEC_FAILED;
	run->final_error = xstrdup(error);
}

/* Each task's tools, pinned at the snapshot's versions, through the loop's tool port. */
static bool run_tools(struct rloop *l, struct run *run)
{
	struct problem p;
	problem_init(&p, run->a);
	if (!l->port)
		return true; /* no tool pool: a tool call fails with "no tool runner", which the model sees */
	run->tools = engine_toolset_new(l->port, run->ws);
	for (int i = 0; i < run->ntasks; i++) {
		struct engine_agent *ag = &run->agents[i];
		if (engine_toolset_agent_tools(run->tools, run->snapshot, run->tool_ids[i], &ag->tools, &ag->ntools,
		                               &p) != ST_OK) {
			run_fail(run, arena_printf(run->a, "task \"%s\": %s%s%s", run->tasks[i].key,
			                           p.detail ? p.detail : "its tools cannot be loaded",
			                           p.nfields ? ": " : "", p.nfields ? p.fields[0].message : ""));
			return false;
		}
	}
	return true;
}

static void run_start(struct rloop *l, struct run *run)
{
	struct engine_crew_spec spec = {
	    .agents = run->agent_ptrs,
	    .tasks = run->tasks,
	    .ntasks = run->ntasks,
	    .inputs = run->inputs,
	    .first_task = run->first_task,
	    .outputs = run->outputs,
	    .attempts_before = run->attempts_before,
	    .tools = NULL,
	    .on_event = on_event,
	    .on_done = on_crew_done,
	    .ud = run,
	};
	if (run->first_task >= run->ntasks) {
		/* every task's output is stored: a worker died between the last task and the end */
		run->ended = true;
		run->final = EXEC_SUCCEEDED;
		run->final_output =
		    run->last_stored ? json_incref(run->last_stored) : json_string(run->outputs[run->ntasks - 1]);
		return;
	}
	if (!run_tools(l, run))
		return;
	spec.tools = run->tools ? engine_toolset_runner(run->tools) : NULL;
	/* this run's bound: a resumed or reclaimed execution gets the whole of it again */
	run->deadline_us = run->timeout_s > 0 ? time_mono_us() + (int64_t) run->timeout_s * 1000000 : 0;
	run->crew = engine_crew_start(l->el, &spec);
}

static void run_drop(struct run *run, enum drop why, const char *error)
{
	if (run->drop)
		return;
	run->drop = why;
	run->drop_error = error;
	for (int i = 0; i < run->nev; i++)
		json_decref(run->ev[i].data);
	run->nev = 0;
	if (run->crew)
		engine_crew_cancel(run->crew, "stopped: the job left this worker");
}

/* ---------------------------------------------------------------- storing (loop thread) */

static char *dumps(const json_t *j)
{
	return j ? json_text(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

static int task_index(const struct run *run, const char *key)
{
	for (int i = 0; key && i < run->ntasks; i++)
		if (str_eq(run->tasks[i].key, key))
			return i;
	return -1;
}

/* The end of attempt (key, attempt) among the turn's events after k, or NULL. */
static struct pending *attempt_end(struct run *run, int k, const char *key, int attempt)
{
	for (int j = k + 1; j < run->nev; j++) {
		struct pending *e = &run->ev[j];
		if (e->attempt == attempt && str_eq(e->task_key, key) &&
		    (str_eq(e->type, "task.succeeded") || str_eq(e->type, "task.failed")))
			return e;
	}
	return NULL;
}

/* What an event changes beside itself (a task attempt's row, its artifact);
 * the events themselves are stored together by store_run. An attempt that
 * starts and ends within the turn is one row insert. */
static enum status store_event(struct db_conn *c, struct run *run, int k, struct problem *p)
{
	struct pending *e = &run->ev[k], *end = NULL;
	enum status st = ST_OK;
	if (e->live || e->merged)
		return ST_OK;
	int i = task_index(run, e->task_key);
	char *output = NULL, *usage = NULL;
	const char *status = NULL, *error = NULL;
	json_t *text = NULL;
	if (i >= 0 && str_eq(e->type, "task.started") && !(end = attempt_end(run, k, e->task_key, e->attempt)))
		return executions_task_started_tx(c, run->ws, run->id, e->task_key, e->attempt, run->agent_ids[i], p);
	if (end) {
		end->merged = true;
		e = end;
	}
	if (i >= 0 && str_eq(e->type, "task.succeeded")) {
		json_t *oj = json_object_get(e->data, "output_json");
		text = json_object_get(e->data, "output");
		output = dumps(oj && !json_is_null(oj) ? oj : text);
		status = "succeeded";
	} else if (i >= 0 && str_eq(e->type, "task.failed")) {
		status = str_eq(str_of(e->data, "outcome"), "cancelled") ? "cancelled" : "failed";
		error = str_of(e->data, "error");
	}
	if (status) {
		usage = dumps(json_object_get(e->data, "usage"));
		st = end ? executions_task_row_tx(c, run->ws, run->id, e->task_key, e->attempt, run->agent_ids[i],
		                                  status, output, error, usage, p)
		         : executions_task_ended_tx(c, run->ws, run->id, e->task_key, e->attempt, status, output, error,
		                                    usage, p);
	}
	if (st == ST_OK && text && run->output_files[i])
		st = executions_artifact_put_tx(c, run->ws, run->id, e->task_key, run->output_files[i],
		                                json_string_value(text), json_string_length(text), p);
	free(output);
	free(usage);
	return st;
}

/* The first write of a run's turn changed no row: its lease was lost (the
 * run is dropped; the other runs' writes commit), or else (the fence now
 * holds the row) the execution left queued/running (gone: cancelled while
 * queued, before the run began) or is missing (an error). */
static enum status fenced_miss(struct db_conn *c, struct run *run, enum status st, struct problem *p)
{
	problem_clear(p);
	enum status fs = jobs_fence_tx(c, run->job_id, run->epoch, p);
	if (fs == ST_CONFLICT) {
		problem_clear(p);
		run->conflict = true;
		return ST_OK;
	}
	if (fs != ST_OK)
		return fs;
	if (st == ST_CONFLICT) { /* the begin found it ended: nothing of the run is written; its job ends */
		run->gone = true;
		return jobs_complete_tx(c, run->job_id, run->epoch, p);
	}
	return problem_set(p, ST_NOT_FOUND, "the execution is missing");
}

/* One run's writes of this turn, fenced on its epoch by their first
 * statement: at the end, the job's completion (jobs_complete_tx); at the
 * run's first write, the begin (execution.started and the turn's events);
 * else the events' seq bump (jobs_fence_sql in each). Then the attempts'
 * rows, then, at the end, the end with the turn's events. */
static enum status store_run(struct db_conn *c, struct run *run, struct problem *p)
{
	bool end = run->ended && !run->crew, with_begin = !run->begun && !end;
	struct executions_fence f = {run->job_id, run->epoch};
	struct executions_event *evs = run->nev ? xcalloc((size_t) run->nev, sizeof(*evs)) : NULL;
	size_t n = 0;
	enum status st;
	for (int k = 0; k < run->nev; k++) {
		struct pending *e = &run->ev[k];
		e->merged = false;
		if (!e->live)
			evs[n++] = (struct executions_event){
			    .type = e->type, .task_key = e->task_key, .attempt = e->attempt, .data = e->data};
	}
	if (end)
		st = jobs_complete_tx(c, run->job_id, run->epoch, p);
	else if (with_begin)
		st = executions_begin_tx(c, run->ws, run->id, run->models, run->job_attempt, run->interrupted, &f, evs,
		                         n, &run->begin_seq, p);
	else if (n > 0)
		st = executions_events_fenced_tx(c, run->ws, run->id, &f, evs, n, p);
	else
		st = jobs_fence_tx(c, run->job_id, run->epoch, p);
	if (end && st == ST_CONFLICT) {
		problem_clear(p);
		run->conflict = true;
		st = ST_OK;
		goto out;
	}
	/* no row changed: the begin says ST_CONFLICT, the bump ST_NOT_FOUND, the fence ST_CONFLICT */
	if (!end && (with_begin || n == 0 ? st == ST_CONFLICT : st == ST_NOT_FOUND)) {
		st = fenced_miss(c, run, st, p);
		goto out;
	}
	if (st == ST_OK && end && !run->begun) { /* ended before its first write: begun and ended at once */
		st = executions_begin_tx(c, run->ws, run->id, run->models, run->job_attempt, run->interrupted, NULL,
		                         NULL, 0, &run->begin_seq, p);
		if (st == ST_CONFLICT) {
			problem_clear(p);
			run->gone = true;
			st = ST_OK;
			goto out;
		}
	}
	for (int k = 0; st == ST_OK && k < run->nev; k++)
		if (!run->ev[k].live)
			st = store_event(c, run, k, p);
	if (st == ST_OK && end) {
		json_t *usage = executions_usage_sum(run->usage_rows, run->models);
		st = executions_end_tx(c, run->ws, run->id, run->final, run->final_output, run->final_error, usage, evs,
		                       n, &run->finish_seq, p);
		json_decref(usage);
	}
	for (size_t k = 0, j = 0; st == ST_OK && !run->conflict && !run->gone && k < (size_t) run->nev; k++)
		if (!run->ev[k].live)
			run->ev[k].seq = evs[j++].seq;
out:
	free(evs);
	return st;
}

struct batch {
	struct run **runs;
	int n;
};

static enum status batch_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct batch *b = ctx;
	enum status st = ST_OK;
	for (int i = 0; i < b->n; i++) {
		b->runs[i]->conflict = false;
		b->runs[i]->gone = false;
		b->runs[i]->begin_seq = 0;
		b->runs[i]->finish_seq = 0;
	}
	for (int i = 0; st == ST_OK && i < b->n; i++)
		st = store_run(c, b->runs[i], p);
	return st;
}

/* After a commit: what was stored is forgotten; a lost lease drops the run. */
static void stored(struct run *run)
{
	if (run->conflict || run->gone) {
		run_drop(run, run->conflict ? DROP_LOST : DROP_GONE, NULL);
		return;
	}
	/* live streams: each delta after the stored events written before it */
	int64_t last = run->begun ? 0 : run->begin_seq, notified = 0;
	run->begun = true;
	for (int i = 0; i < run->nev; i++) {
		struct pending *e = &run->ev[i];
		if (!e->live) {
			last = e->seq;
			continue;
		}
		if (last > notified)
			executions_notify(run->id, notified = last);
		executions_live(run->id, e->type, e->task_key, e->attempt, e->data);
	}
	if (run->finish_seq)
		last = run->finish_seq;
	if (last > notified)
		executions_notify(run->id, last);
	for (int i = 0; i < run->nev; i++)
		json_decref(run->ev[i].data);
	run->nev = 0;
	run->write_failures = 0;
	if (run->ended && !run->crew)
		run->finished = true;
}

static bool has_writes(const struct run *run)
{
	return !run->drop && !run->finished && (!run->begun || run->nev > 0 || (run->ended && !run->crew));
}

/* Stores every run's writes of this turn in one transaction; when that
 * fails, each run alone, so one run's trouble does not hold the others. */
static void flush(struct rloop *l)
{
	struct run *list[64];
	struct batch b = {list, 0};
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	struct run *run = l->runs;
	while (run) {
		for (b.n = 0; run && b.n < (int) ARRAY_LEN(list); run = run->next)
			if (has_writes(run))
				list[b.n++] = run;
		if (b.n == 0)
			break;
		if (db_tx(l->r->db, batch_tx, &b, &p) == ST_OK) {
			for (int i = 0; i < b.n; i++)
				stored(list[i]);
			continue;
		}
		for (int i = 0; i < b.n; i++) {
			struct batch one = {&list[i], 1};
			problem_clear(&p);
			if (db_tx(l->r->db, batch_tx, &one, &p) == ST_OK) {
				stored(list[i]);
			} else if (++list[i]->write_failures >= WRITE_FAILURES_MAX) {
				log_kv(LOG_ERROR, "an execution's writes keep failing; its job is retried",
				       "execution_id", list[i]->id, "error", p.detail ? p.detail : "", NULL);
				run_drop(list[i], DROP_RETRY, "the execution's progress could not be stored");
			}
		}
	}
	arena_free(&a);
}

/* ---------------------------------------------------------------- the loop thread */

/* Ends the jobs of the runs that are over and frees them. */
static void reap(struct rloop *l)
{
	struct run **pp = &l->runs;
	while (*pp) {
		struct run *run = *pp;
		bool over = run->drop ? !run->crew : run->finished;
		if (!over) {
			pp = &run->next;
			continue;
		}
		*pp = run->next;
		enum jobs_outcome oc = run->drop == DROP_LOST        ? JOBS_LOST
		                       : run->drop == DROP_RETRY     ? JOBS_RETRY
		                       : run->drop == DROP_HAND_BACK ? JOBS_HAND_BACK
		                                                     : JOBS_HANDLED; /* DROP_GONE too */
		jobs_run_end(&run->jr, oc, run->drop_error);
		atomic_fetch_sub(&l->load, 1);
		run_free(run);
	}
}

static void apply_cancel(struct rloop *l, const char *id)
{
	for (struct run *run = l->runs; run; run = run->next) {
		if (!str_eq(run->id, id) || run->cancel_asked)
			continue;
		run->cancel_asked = true;
		if (run->crew)
			engine_crew_cancel(run->crew, "cancelled by a user");
	}
}

/* Cancels asked through another process's API: read at most every cancel_poll_us. */
static void poll_cancels(struct rloop *l)
{
	int64_t now = time_mono_us();
	if (!l->runs || now < l->next_poll_us)
		return;
	l->next_poll_us = now + l->r->cancel_poll_us;
	struct arena *a = arena_new();
	struct problem p;
	json_t *ids = NULL, *id;
	size_t i;
	problem_init(&p, a);
	if (executions_cancel_requests(l->r->db, a, &ids, &p) == ST_OK)
		json_array_foreach(ids, i, id) apply_cancel(l, json_string_value(id));
	arena_free(&a);
}

/* Loop 0 ends, every SWEEP_MS, the executions whose job was dead-lettered
 * without a handler seeing it (first since the epoch, then since the last
 * sweep, with a margin for clocks). */
static void sweep_dead(struct rloop *l)
{
	int64_t now = time_mono_us(), wall = time_now_ms();
	int n = 0;
	if (l != &l->r->loops[0] || now < l->next_sweep_us)
		return;
	l->next_sweep_us = now + SWEEP_MS * 1000;
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	if (executions_fail_dead(l->r->db, l->swept_ms ? l->swept_ms - 60000 : 0, &n, &p) == ST_OK)
		l->swept_ms = wall;
	if (n)
		log_kv(LOG_WARN, "executions whose job was dead-lettered ended failed", "count",
		       arena_printf(a, "%d", n), NULL);
	arena_free(&a);
}

/* The lease of each run, as the pool's heartbeat last saw it. */
static void check_leases(struct rloop *l, bool stopping)
{
	int64_t now = time_mono_us();
	for (struct run *run = l->runs; run; run = run->next) {
		if (run->crew && run->deadline_us && now >= run->deadline_us && !run->timed_out) {
			run->timed_out = true; /* the workflow's timeout_s: its calls stop, it ends failed */
			engine_crew_cancel(run->crew, arena_printf(run->a,
			                                           "stopped: the execution ran past the "
			                                           "workflow's timeout_s (%d s)",
			                                           run->timeout_s));
		}
		if (jobs_run_lost(run->jr))
			run_drop(run, DROP_LOST, NULL);
		else if (stopping || jobs_run_stopping(run->jr))
			run_drop(run, DROP_HAND_BACK, NULL);
	}
}

/* Takes what other threads left for this loop; false when it must stop and holds nothing. */
static bool take(struct rloop *l, bool *stopping)
{
	struct run *in;
	char(*cancels)[37] = NULL;
	int nc;
	pthread_mutex_lock(&l->mu);
	while (!l->stop && !l->inbox && !l->ncancels && !l->runs) {
		if (l != &l->r->loops[0]) {
			pthread_cond_wait(&l->cv, &l->mu);
			continue;
		}
		/* loop 0 wakes for its sweep even when idle */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += SWEEP_MS / 1000;
		if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT)
			break;
	}
	in = l->inbox;
	l->inbox = NULL;
	nc = l->ncancels;
	if (nc) {
		cancels = xcalloc((size_t) nc, sizeof(*cancels));
		memcpy(cancels, l->cancels, sizeof(*cancels) * (size_t) nc);
		l->ncancels = 0;
	}
	*stopping = l->stop;
	pthread_mutex_unlock(&l->mu);
	while (in) {
		struct run *run = in;
		in = in->next;
		run->next = l->runs;
		l->runs = run;
		if (*stopping)
			run_drop(run, DROP_HAND_BACK, NULL);
		else
			run_start(l, run);
		l->fresh = true;
	}
	for (int i = 0; i < nc; i++)
		apply_cancel(l, cancels[i]);
	free(cancels);
	return !(*stopping && !l->runs);
}

static void *loop_main(void *arg)
{
	struct rloop *l = arg;
	bool stopping = false;
	if (l->r->tools)
		l->port = engine_toolport_new(l->r->tools, l->el);
	while (take(l, &stopping)) {
		sweep_dead(l);
		poll_cancels(l);
		check_leases(l, stopping);
		/* write-ahead: an attempt's row is stored before its call goes out (a kill in between leaves a
		 * running attempt, which the next run counts; never a call without an attempt) */
		if (l->fresh) {
			l->fresh = false;
			flush(l);
		}
		if (engine_loop_pending(l->el) > 0)
			engine_loop_run(l->el, LOOP_SLICE_MS);
		else if (l->runs)
			poll(NULL, 0, RETRY_WAIT_MS); /* only ends waiting for a write that failed: no busy loop */
		/* runs handed over meanwhile start now, so the turn's transaction stores their begin too (their
		 * calls go out in the next turn); with runs held, take does not wait */
		if (l->runs)
			(void) take(l, &stopping);
		l->fresh = false;
		flush(l);
		reap(l);
	}
	engine_loop_free(&l->el); /* nothing is in flight: every run was reaped */
	engine_toolport_free(&l->port);
	return NULL;
}

/* ---------------------------------------------------------------- the job handler (pool threads) */

struct begin {
	struct run *run;
	const json_t *models;
	int job_attempt;
	bool interrupted;           /* an attempt was left running */
	enum executions_status end; /* EXEC_RUNNING: begin; else end at once with this status */
	const char *error;
	bool lost, gone;
	int64_t seq; /* the last event written */
};

static enum status begin_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct begin *b = ctx;
	struct run *run = b->run;
	b->lost = b->gone = false;
	enum status st = jobs_fence_tx(c, run->job_id, run->epoch, p);
	if (st == ST_CONFLICT) {
		b->lost = true;
		return st;
	}
	if (st == ST_OK && (st = executions_begin_tx(c, run->ws, run->id, b->models, b->job_attempt, b->interrupted,
	                                             NULL, NULL, 0, &b->seq, p)) == ST_CONFLICT)
		b->gone = true;
	if (st == ST_OK && b->end != EXEC_RUNNING) {
		st = executions_finish_tx(c, run->ws, run->id, b->end, NULL, b->error, &b->seq, p);
		if (st == ST_OK)
			st = jobs_complete_tx(c, run->job_id, run->epoch, p);
	}
	return st;
}

/* A database error: retry the job; on its last attempt the execution shows the error. */
static enum jobs_outcome infra_error(struct engine_runner *r, const struct jobs_job *job, struct run *run,
                                     struct problem *p)
{
	if (job->attempts >= job->max_attempts && run->ws) {
		struct arena *a = arena_new();
		struct problem p2;
		problem_init(&p2, a);
		struct begin b = {.run = run,
		                  .models = json_object(),
		                  .job_attempt = job->attempts,
		                  .interrupted = true, /* not known: the load may not have read the attempts */
		                  .end = EXEC_FAILED,
		                  .error = arena_printf(a, "the worker gave up after %d attempts: %s", job->attempts,
		                                        p->detail ? p->detail : "database error")};
		if (db_tx(r->db, begin_tx, &b, &p2) == ST_OK) {
			json_decref((json_t *) b.models);
			arena_free(&a);
			return JOBS_HANDLED;
		}
		json_decref((json_t *) b.models);
		arena_free(&a);
	}
	return JOBS_RETRY;
}

/* Hands the run to the least loaded loop. */
static enum jobs_outcome detach(struct engine_runner *r, struct run *run, struct jobs_run *jr)
{
	struct rloop *l = &r->loops[0];
	for (int i = 1; i < r->nloops; i++)
		if (atomic_load(&r->loops[i].load) < atomic_load(&l->load))
			l = &r->loops[i];
	run->jr = jobs_run_detach(jr);
	atomic_fetch_add(&l->load, 1);
	pthread_mutex_lock(&l->mu);
	run->next = l->inbox;
	l->inbox = run;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	engine_loop_wake(l->el);
	return JOBS_DETACHED;
}

static enum jobs_outcome handle(const struct jobs_job *job, struct jobs_run *jr, void *ctx, struct problem *p)
{
	struct engine_runner *r = ctx;
	struct run *run = xcalloc(1, sizeof(*run));
	struct executions_run er;
	enum jobs_outcome oc = JOBS_RETRY;
	json_t *payload = json_loads(job->payload, 0, NULL), *models = NULL;
	const char *id = str_of(payload, "execution_id");

	run->a = arena_new();
	if (!id || !id_valid(id)) {
		problem_set(p, ST_BAD_INPUT, "the job's payload names no execution");
		oc = JOBS_FAIL;
		goto out;
	}
	snprintf(run->id, sizeof(run->id), "%s", id);
	run->job_id = arena_strdup(run->a, job->id);
	run->epoch = jobs_run_epoch(jr);
	enum status st = executions_load_run(r->db, run->id, run->a, &er, p);
	if (st == ST_NOT_FOUND) {
		oc = JOBS_FAIL;
		goto out;
	}
	if (st != ST_OK)
		goto out;
	run->ws = arena_strdup(run->a, er.workspace_id);
	if (er.status != EXEC_QUEUED && er.status != EXEC_RUNNING) {
		oc = JOBS_DONE; /* cancelled while queued, or already ended: nothing to run */
		goto out;
	}
	models = er.models ? json_deep_copy(er.models) : json_object();
	struct begin b = {.run = run,
	                  .models = models,
	                  .job_attempt = job->attempts,
	                  .interrupted = er.interrupted,
	                  .end = EXEC_RUNNING};
	if (er.cancel_requested) {
		b.end = EXEC_CANCELLED;
	} else if ((st = build(r, run, &er, models, p)) == ST_UNPROCESSABLE) {
		b.end = EXEC_FAILED;
		b.error = arena_strdup(run->a, p->detail ? p->detail : "the execution cannot run");
		problem_clear(p);
	} else if (st != ST_OK) {
		oc = infra_error(r, job, run, p);
		goto out;
	}
	if (b.end == EXEC_RUNNING) {
		/* begun by the loop's next flush, in the transaction of the turn's other writes */
		run->models = json_incref(models);
		run->interrupted = er.interrupted;
		run->job_attempt = job->attempts;
		oc = detach(r, run, jr);
		run = NULL;
		goto out;
	}
	st = db_tx(r->db, begin_tx, &b, p);
	if (st == ST_OK)
		executions_notify(run->id, b.seq);
	if (b.lost) {
		oc = JOBS_LOST;
	} else if (b.gone) {
		problem_clear(p);
		oc = JOBS_DONE; /* cancelled between the load and now */
	} else if (st != ST_OK) {
		oc = infra_error(r, job, run, p);
	} else {
		oc = JOBS_HANDLED;
	}
out:
	json_decref(models);
	json_decref(payload);
	run_free(run);
	return oc;
}

/* ---------------------------------------------------------------- the runner */

enum status engine_runner_new(const struct engine_runner_options *o, struct jobs *j, struct engine_runner **out,
                              struct problem *p)
{
	struct engine_runner *r = xcalloc(1, sizeof(*r));
	*out = NULL;
	r->db = o->db;
	r->models = o->models;
	r->limiter = o->limiter;
	r->tools = o->tools;
	r->nloops = o->loops > 0 ? o->loops : 1;
	r->cancel_poll_us = (o->cancel_poll_ms > 0 ? o->cancel_poll_ms : 250) * 1000;
	r->loops = xcalloc((size_t) r->nloops, sizeof(*r->loops));
	enum status st = jobs_register(j, EXECUTIONS_JOB_KIND, handle, r, p);
	for (int i = 0; st == ST_OK && i < r->nloops; i++) {
		struct rloop *l = &r->loops[i];
		l->r = r;
		l->el = engine_loop_new(r->limiter);
		pthread_mutex_init(&l->mu, NULL);
		pthread_cond_init(&l->cv, NULL);
		atomic_init(&l->load, 0);
		if (pthread_create(&l->th, NULL, loop_main, l) != 0)
			st = problem_set(p, ST_INTERNAL, "cannot start an engine loop thread");
		else
			l->started = true;
	}
	*out = r;
	if (st != ST_OK)
		engine_runner_free(out);
	return st;
}

void engine_runner_cancel(struct engine_runner *r, const char *execution_id)
{
	if (!r || !execution_id || strlen(execution_id) != 36)
		return;
	for (int i = 0; i < r->nloops; i++) {
		struct rloop *l = &r->loops[i];
		pthread_mutex_lock(&l->mu);
		if (l->ncancels == l->capc) {
			l->capc = l->capc ? l->capc * 2 : 8;
			l->cancels = xrealloc(l->cancels, sizeof(*l->cancels) * (size_t) l->capc);
		}
		memcpy(l->cancels[l->ncancels++], execution_id, 37);
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		engine_loop_wake(l->el);
	}
}

void engine_runner_free(struct engine_runner **rp)
{
	struct engine_runner *r = *rp;
	if (!r)
		return;
	for (int i = 0; i < r->nloops; i++) {
		struct rloop *l = &r->loops[i];
		if (!l->started)
			continue;
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->th, NULL);
	}
	for (int i = 0; i < r->nloops; i++) {
		struct rloop *l = &r->loops[i];
		engine_loop_free(&l->el);
		if (l->r) {
			pthread_mutex_destroy(&l->mu);
			pthread_cond_destroy(&l->cv);
		}
		free(l->cancels);
	}
	free(r->loops);
	free(r);
	*rp = NULL;
}
