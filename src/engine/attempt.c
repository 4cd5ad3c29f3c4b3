/*
 * One task attempt: crewAI's native-tool-calling agent loop
 * (agents/crew_agent_executor.py, _invoke_loop_native_tools) as a state
 * machine driven by engine_loop_run.
 *
 *   READY --(rpm window full)--> WAIT_RPM --(slot frees)--> READY
 *   READY --llm_call_start--> LLM --answer with tool calls--> TOOLS --all done--> READY
 *                              LLM --final answer / error--> ENDING --nothing in flight--> DONE
 *   any state --cancel, max_execution_time_s--> ENDING (in-flight calls cancelled)
 *
 * Callbacks from the LLM client and the tool runner only record what
 * happened and put the attempt on the loop's ready list; attempt_step, run
 * from engine_loop_run, takes every transition, and each ends with
 * assert(attempt_invariants(at)).
 */
#include "engine/engine_int.h"
#include "core/json_text.h"

#include "core/jsonschema.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum att_state { AT_READY = 0, AT_WAIT_RPM, AT_LLM, AT_TOOLS, AT_ENDING, AT_DONE };

struct engine_tool_job {
	struct engine_attempt *at;
	const char *call_id, *name, *arguments; /* in at->arena */
	const struct engine_tool *tool;         /* the agent's tool of that name, once found */
	json_t *args;                           /* parsed, when valid */
	const char *cache_key;                  /* name + US + canonical arguments, when valid */
	char *result;                           /* in at->arena once done */
	int dup_of;                             /* -1, or an earlier job of this turn with the same call */
	bool started, done, ok, cached, cancelled;
	int64_t started_us;
};

struct engine_attempt {
	struct engine_loop *loop;
	struct engine_attempt *next, *prev, *ready_next;
	bool on_ready;
	enum att_state state;
	struct engine_attempt_spec spec;
	struct arena *arena;
	const char *task_key, *model;

	struct llm_message *msgs; /* the conversation; strings in arena */
	int nmsgs, capmsgs;
	struct llm_tool *ltools;

	struct llm_call *call; /* LLM: in flight */
	bool call_ended;       /* its callback ran; resp holds the answer */
	struct llm_response resp;
	size_t delta_text, delta_any; /* bytes given to on_delta during the current call */
	int64_t call_started_us;

	struct engine_tool_job *jobs; /* the current turn's calls */
	int njobs, jobs_pending;
	json_t *cache; /* cache_key -> earlier successful result */

	int iterations;
	bool forced; /* the max_iter call: tools refused */
	int64_t deadline_us, wake_us;

	bool ending;
	struct engine_result res;
	struct problem problem;
};

static int max_iter(const struct engine_attempt *at)
{
	return at->spec.agent->max_iter > 0 ? at->spec.agent->max_iter : ENGINE_DEFAULT_MAX_ITER;
}

/* What holds in every state (STYLE.md, "State machines check themselves"). */
static bool attempt_invariants(const struct engine_attempt *at)
{
	int pending = 0;

	for (int i = 0; i < at->njobs; i++) {
		const struct engine_tool_job *j = &at->jobs[i];
		if (j->started && !j->done)
			pending++;
		if (j->dup_of >= i || (j->dup_of >= 0 && j->started))
			return false;
	}
	if (pending != at->jobs_pending || at->jobs_pending < 0)
		return false;
	if (at->state == AT_LLM && (at->call != NULL) == at->call_ended)
		return false;
	if (at->state != AT_LLM && at->state != AT_ENDING && (at->call || at->call_ended))
		return false;
	if (at->state == AT_TOOLS && at->njobs == 0)
		return false;
	if (at->state != AT_TOOLS && at->state != AT_ENDING && at->jobs_pending)
		return false;
	if (at->state == AT_DONE && (at->call || at->jobs_pending))
		return false;
	if ((at->state == AT_ENDING || at->state == AT_DONE) != at->ending)
		return false;
	if (at->iterations > max_iter(at) + 1 || (at->forced && at->iterations < max_iter(at)) ||
	    (!at->forced && at->iterations > max_iter(at)))
		return false;
	if (at->state == AT_WAIT_RPM && at->wake_us <= 0)
		return false;
	return true;
}

#define STEP_END(at) assert(attempt_invariants(at))

const char *engine_outcome_name(enum engine_outcome o)
{
	static const char *const names[] = {"succeeded", "failed", "retry", "cancelled", "timeout"};
	return (unsigned) o < ARRAY_LEN(names) ? names[o] : "unknown";
}

/* ---------------------------------------------------------------- helpers */

bool engine_cut(struct buf *b, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max) {
		buf_append(b, s, n);
		return false;
	}
	while (max > 0 && ((unsigned char) s[max] & 0xC0) == 0x80)
		max--;
	buf_append(b, s, max);
	return true;
}

json_t *engine_json_cut(const char *s, size_t max)
{
	struct buf b;
	json_t *j;

	if (!s)
		return json_null();
	buf_init(&b, 0);
	engine_cut(&b, s, max);
	j = json_stringn(b.data ? b.data : "", b.len);
	buf_free(&b);
	return j ? j : json_string("");
}

static void emit(struct engine_attempt *at, const char *type, json_t *data)
{
	struct engine_event ev = {type, at->task_key, at->spec.attempt, data};
	if (at->spec.on_event)
		at->spec.on_event(at->spec.ud, &ev);
	json_decref(data);
}

static void make_ready(struct engine_attempt *at)
{
	struct engine_loop *l = at->loop;
	if (at->on_ready)
		return;
	at->on_ready = true;
	at->ready_next = NULL;
	if (l->ready_tail)
		l->ready_tail->ready_next = at;
	else
		l->ready_head = at;
	l->ready_tail = at;
}

static void push_msg(struct engine_attempt *at, struct llm_message m)
{
	if (at->nmsgs == at->capmsgs) {
		at->capmsgs = at->capmsgs ? at->capmsgs * 2 : 8;
		at->msgs = xrealloc(at->msgs, (size_t) at->capmsgs * sizeof(*at->msgs));
	}
	at->msgs[at->nmsgs++] = m;
}

static json_t *usage_json(const struct engine_usage *u)
{
	return json_pack("{s:I, s:I, s:I, s:o, s:i, s:i}", "prompt_tokens", (json_int_t) u->prompt_tokens,
	                 "completion_tokens", (json_int_t) u->completion_tokens, "cached_tokens",
	                 (json_int_t) u->cached_tokens, "cost", u->cost_known ? json_real(u->cost) : json_null(),
	                 "llm_calls", u->llm_calls, "tool_calls", u->tool_calls);
}

/* ---------------------------------------------------------------- ending */

static void cancel_in_flight(struct engine_attempt *at)
{
	if (at->call && !at->call_ended)
		llm_call_cancel(at->call);
	for (int i = 0; i < at->njobs; i++) {
		struct engine_tool_job *j = &at->jobs[i];
		if (j->started && !j->done && !j->cancelled) {
			j->cancelled = true;
			if (at->spec.tools && at->spec.tools->cancel)
				at->spec.tools->cancel(at->spec.tools->ud, j);
		}
	}
}

/* Moves to ENDING with an outcome (the first one wins) and stops what is in flight. */
static void end(struct engine_attempt *at, enum engine_outcome o, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void end(struct engine_attempt *at, enum engine_outcome o, const char *fmt, ...)
{
	va_list ap;

	if (at->ending)
		return;
	at->ending = true;
	at->state = AT_ENDING;
	at->res.outcome = o;
	if (fmt) {
		va_start(ap, fmt);
		at->res.error = arena_vprintf(at->arena, fmt, ap);
		va_end(ap);
	}
	cancel_in_flight(at);
	make_ready(at);
}

static void attempt_free(struct engine_attempt *at)
{
	struct engine_loop *l = at->loop;

	if (at->prev)
		at->prev->next = at->next;
	else
		l->all = at->next;
	if (at->next)
		at->next->prev = at->prev;
	l->n--;
	for (int i = 0; i < at->njobs; i++)
		json_decref(at->jobs[i].args);
	json_decref(at->cache);
	json_decref(at->res.output_json);
	llm_response_free(&at->resp);
	free(at->msgs);
	free(at->jobs);
	arena_free(&at->arena);
	free(at);
}

static void finish(struct engine_attempt *at)
{
	json_t *d;

	at->state = AT_DONE;
	STEP_END(at);
	at->res.iterations = at->iterations;
	if (at->res.outcome == ENGINE_SUCCEEDED) {
		d = json_pack("{s:s, s:O?, s:o, s:i}", "output", at->res.output ? at->res.output : "", "output_json",
		              at->res.output_json, "usage", usage_json(&at->res.usage), "iterations", at->iterations);
		emit(at, "task.succeeded", d);
	} else {
		d = json_pack("{s:s, s:s, s:o, s:i}", "outcome", engine_outcome_name(at->res.outcome), "error",
		              at->res.error ? at->res.error : "", "usage", usage_json(&at->res.usage), "iterations",
		              at->iterations);
		emit(at, "task.failed", d);
	}
	if (at->spec.on_done)
		at->spec.on_done(at->spec.ud, at, &at->res);
	attempt_free(at);
}

/* ---------------------------------------------------------------- the LLM call */

static void on_delta(void *ud, const struct llm_delta *d)
{
	struct engine_attempt *at = ud;

	at->delta_any += d->len;
	if (d->kind != LLM_DELTA_TEXT || !d->len)
		return;
	at->delta_text += d->len;
	emit(at, "output.delta", json_pack("{s:s%}", "text", d->text, d->len));
}

static void on_llm_done(struct llm_call *call, struct llm_response *resp, void *ud)
{
	struct engine_attempt *at = ud;
	(void) call;
	llm_response_move(&at->resp, resp);
	at->call = NULL;
	at->call_ended = true;
	make_ready(at);
}

static json_t *messages_json(const struct engine_attempt *at)
{
	static const char *const roles[] = {"system", "user", "assistant", "tool"};
	json_t *a = json_array();

	for (int i = 0; i < at->nmsgs; i++) {
		const struct llm_message *m = &at->msgs[i];
		json_t *o = json_pack("{s:s, s:o}", "role", roles[m->role], "content",
		                      engine_json_cut(m->content, ENGINE_EVENT_TEXT_MAX));
		if (m->tool_call_id)
			json_object_set_new(o, "tool_call_id", json_string(m->tool_call_id));
		if (m->ntool_calls) {
			json_t *calls = json_array();
			for (int k = 0; k < m->ntool_calls; k++)
				json_array_append_new(calls, json_pack("{s:s, s:s, s:o}", "id", m->tool_calls[k].id,
				                                       "name", m->tool_calls[k].name, "arguments",
				                                       engine_json_cut(m->tool_calls[k].arguments,
				                                                       ENGINE_EVENT_TEXT_MAX)));
			json_object_set_new(o, "tool_calls", calls);
		}
		json_array_append_new(a, o);
	}
	return a;
}

static void start_call(struct engine_attempt *at)
{
	struct llm_request req = at->spec.agent->llm;
	const struct engine_task *t = at->spec.task;

	req.messages = at->msgs;
	req.nmessages = at->nmsgs;
	req.tools = at->ltools;
	req.ntools = at->spec.agent->ntools;
	req.tool_choice = at->forced && req.ntools ? "none" : NULL;
	if (t->format == ENGINE_OUTPUT_JSON) {
		req.format = t->schema ? LLM_FORMAT_JSON_SCHEMA : LLM_FORMAT_JSON_OBJECT;
		req.schema = t->schema;
		req.schema_name = req.schema_name ? req.schema_name : "output";
	}
	req.stream = true;
	req.on_delta = on_delta;
	req.delta_ud = at;
	at->iterations++;
	at->delta_text = at->delta_any = 0;
	at->call_ended = false;
	at->call_started_us = time_mono_us();
	emit(at, "llm.started",
	     json_pack("{s:s, s:i, s:b, s:o}", "model", at->model, "iteration", at->iterations, "forced_final_answer",
	               at->forced, "messages", messages_json(at)));
	at->state = AT_LLM;
	at->call = llm_call_start(at->loop->llm, &req, on_llm_done, at);
}

/* ---------------------------------------------------------------- tools */

/* errors.wrong_tool_name, errors.tool_arguments_error, errors.tool_usage_exception (crewAI en.json) */
static const struct engine_tool *find_tool(const struct engine_agent *ag, const char *name)
{
	for (int i = 0; i < ag->ntools; i++)
		if (str_eq(ag->tools[i].name, name))
			return &ag->tools[i];
	return NULL;
}

static char *tool_names(struct engine_attempt *at)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	for (int i = 0; i < at->spec.agent->ntools; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", at->spec.agent->tools[i].name);
	s = arena_strndup(at->arena, b.data ? b.data : "", b.len);
	buf_free(&b);
	return s;
}

/* Validates one call; on error fills j->result (what the model sees) and returns false. */
static bool check_call(struct engine_attempt *at, struct engine_tool_job *j)
{
	const struct engine_tool *tool = find_tool(at->spec.agent, j->name);
	struct problem p;
	json_error_t err;
	struct buf b;
	char *canon, *schema;

	if (!tool) {
		j->result = arena_printf(at->arena,
		                         "You tried to use the tool %s, but it doesn't exist. You must use one of the "
		                         "following tools, use one at time: %s.",
		                         j->name, tool_names(at));
		return false;
	}
	j->tool = tool;
	j->args = json_loads(j->arguments && *j->arguments ? j->arguments : "{}", JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(j->args)) {
		j->result = arena_strdup(at->arena, "Error: the Action Input is not a valid key, value dictionary.");
		return false;
	}
	problem_init(&p, at->arena);
	if (tool->parameters && jsonschema_validate(tool->parameters, j->args, "$", &p) != ST_OK) {
		buf_init(&b, 0);
		for (int i = 0; i < p.nfields; i++)
			buf_printf(&b, "%s%s: %s", i ? "; " : "", p.fields[i].field, p.fields[i].message);
		schema = json_text(tool->parameters, JSON_COMPACT | JSON_PRESERVE_ORDER);
		j->result = arena_printf(at->arena,
		                         "I encountered an error while trying to use the tool. This was the error: "
		                         "%.*s.\n Tool %s accepts these inputs: %s",
		                         (int) b.len, b.data ? b.data : "", j->name, schema ? schema : "{}");
		free(schema);
		buf_free(&b);
		return false;
	}
	canon = json_text(j->args, JSON_COMPACT | JSON_SORT_KEYS);
	j->cache_key = arena_printf(at->arena, "%s\x1f%s", j->name, canon ? canon : "{}");
	free(canon);
	return true;
}

static json_t *args_json(const struct engine_tool_job *j)
{
	return j->args ? json_incref(j->args) : engine_json_cut(j->arguments, ENGINE_EVENT_TEXT_MAX);
}

/* Ends a job: result (cut, with a note) and its event. */
static void job_finish(struct engine_tool_job *j, bool ok, const char *result)
{
	struct engine_attempt *at = j->at;
	struct buf b;
	size_t n = strlen(result ? result : "");
	double ms = (double) (time_mono_us() - j->started_us) / 1000.0;

	buf_init(&b, 0);
	if (engine_cut(&b, result ? result : "", ENGINE_TOOL_RESULT_MAX))
		buf_printf(&b, "\n\n[troupe: the tool's result was cut to %zu of its %zu bytes]", b.len, n);
	j->result = arena_strndup(at->arena, b.data ? b.data : "", b.len);
	buf_free(&b);
	j->ok = ok;
	j->done = true;
	if (ok) {
		if (j->cache_key && !j->cached)
			json_object_set_new(at->cache, j->cache_key, json_string(j->result));
		emit(at, "tool.completed",
		     json_pack("{s:s, s:s, s:o, s:o, s:f, s:b}", "call_id", j->call_id, "name", j->name, "arguments",
		               args_json(j), "result", engine_json_cut(j->result, ENGINE_EVENT_TEXT_MAX), "duration_ms",
		               ms, "cached", j->cached));
	} else {
		emit(at, "tool.failed",
		     json_pack("{s:s, s:s, s:o, s:o, s:f}", "call_id", j->call_id, "name", j->name, "arguments",
		               args_json(j), "error", engine_json_cut(j->result, ENGINE_EVENT_TEXT_MAX), "duration_ms",
		               ms));
	}
}

const struct engine_tool *engine_tool_job_tool(const struct engine_tool_job *j)
{
	return j->tool;
}

void engine_tool_done(struct engine_tool_job *j, bool ok, const char *result)
{
	struct engine_attempt *at = j->at;

	assert(j->started && !j->done);
	if (!ok)
		result = arena_printf(at->arena, "I encountered an error: %s", result ? result : "the tool failed");
	job_finish(j, ok, result);
	at->jobs_pending--;
	if (at->jobs_pending == 0)
		make_ready(at);
}

static void start_tools(struct engine_attempt *at, const struct llm_response *r)
{
	struct llm_tool_call *calls = arena_zalloc(at->arena, (size_t) r->ntool_calls * sizeof(*calls));

	/* the assistant turn that asked, then one tool message per call (after they end) */
	at->jobs = xcalloc((size_t) r->ntool_calls, sizeof(*at->jobs));
	at->njobs = r->ntool_calls;
	for (int i = 0; i < r->ntool_calls; i++) {
		struct engine_tool_job *j = &at->jobs[i];
		calls[i].id = arena_strdup(at->arena, r->tool_calls[i].id ? r->tool_calls[i].id : "");
		calls[i].name = arena_strdup(at->arena, r->tool_calls[i].name ? r->tool_calls[i].name : "");
		calls[i].arguments =
		    arena_strdup(at->arena, r->tool_calls[i].arguments ? r->tool_calls[i].arguments : "");
		*j = (struct engine_tool_job){.at = at,
		                              .call_id = calls[i].id,
		                              .name = calls[i].name,
		                              .arguments = calls[i].arguments,
		                              .dup_of = -1};
	}
	push_msg(at, (struct llm_message){.role = LLM_ROLE_ASSISTANT,
	                                  .content = r->text ? arena_strdup(at->arena, r->text) : NULL,
	                                  .tool_calls = calls,
	                                  .ntool_calls = r->ntool_calls});
	at->state = AT_TOOLS;
	for (int i = 0; i < at->njobs; i++) {
		struct engine_tool_job *j = &at->jobs[i];
		json_t *hit;
		j->started_us = time_mono_us();
		if (!check_call(at, j)) {
			emit(at, "tool.started",
			     json_pack("{s:s, s:s, s:o}", "call_id", j->call_id, "name", j->name, "arguments",
			               args_json(j)));
			j->done = true;
			job_finish(j, false, j->result);
			continue;
		}
		for (int k = 0; k < i && j->dup_of < 0; k++)
			if (at->jobs[k].cache_key && str_eq(at->jobs[k].cache_key, j->cache_key))
				j->dup_of = k;
		if (j->dup_of >= 0)
			continue; /* answered with the first one's result when the turn ends */
		at->res.usage.tool_calls++;
		if ((hit = json_object_get(at->cache, j->cache_key))) {
			j->cached = true;
			job_finish(j, true, json_string_value(hit));
			continue;
		}
		emit(at, "tool.started",
		     json_pack("{s:s, s:s, s:O}", "call_id", j->call_id, "name", j->name, "arguments", j->args));
		j->started = true;
		at->jobs_pending++;
		if (!at->spec.tools || !at->spec.tools->start)
			engine_tool_done(j, false, "no tool runner is configured");
		else
			at->spec.tools->start(at->spec.tools->ud, j, j->name, j->args);
	}
	if (at->jobs_pending == 0)
		make_ready(at);
}

/* TOOLS -> READY: one tool message per call, in the order asked. */
static void tools_returned(struct engine_attempt *at)
{
	for (int i = 0; i < at->njobs; i++) {
		struct engine_tool_job *j = &at->jobs[i];
		if (j->dup_of >= 0) {
			j->cached = true;
			job_finish(j, at->jobs[j->dup_of].ok, at->jobs[j->dup_of].result);
		}
		push_msg(at,
		         (struct llm_message){.role = LLM_ROLE_TOOL, .content = j->result, .tool_call_id = j->call_id});
		json_decref(j->args);
	}
	free(at->jobs);
	at->jobs = NULL;
	at->njobs = 0;
	at->state = AT_READY;
	if (at->iterations >= max_iter(at) && !at->forced) {
		/* errors.force_final_answer (crewAI en.json; handle_max_iterations_exceeded) */
		at->forced = true;
		push_msg(at, (struct llm_message){.role = LLM_ROLE_USER,
		                                  .content = "Now it's time you MUST give your absolute best final "
		                                             "answer. You'll ignore all previous instructions, stop "
		                                             "using any tools, and just return your absolute BEST "
		                                             "Final answer."});
	}
}

/* ---------------------------------------------------------------- answers */

static void add_usage(struct engine_attempt *at, const struct llm_record *rec)
{
	struct engine_usage *u = &at->res.usage;
	u->prompt_tokens += rec->prompt_tokens;
	u->completion_tokens += rec->completion_tokens;
	u->cached_tokens += rec->cached_tokens;
	u->cost = cost_round(u->cost + rec->cost);
	u->cost_known = u->cost_known && at->spec.agent->priced;
	u->llm_calls++;
}

static void check_output(struct engine_attempt *at, const char *text)
{
	const struct engine_task *t = at->spec.task;
	struct problem p;
	json_error_t err;
	struct buf b;

	at->res.output = arena_strdup(at->arena, text);
	if (t->format != ENGINE_OUTPUT_JSON) {
		end(at, ENGINE_SUCCEEDED, NULL);
		return;
	}
	at->res.output_json = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (!at->res.output_json) {
		end(at, ENGINE_FAILED, "the answer is not JSON: %s (line %d, column %d)", err.text, err.line,
		    err.column);
		return;
	}
	problem_init(&p, at->arena);
	if (t->schema && jsonschema_validate(t->schema, at->res.output_json, "$", &p) != ST_OK) {
		buf_init(&b, 4096);
		for (int i = 0; i < p.nfields; i++)
			buf_printf(&b, "%s%s: %s", i ? "; " : "", p.fields[i].field, p.fields[i].message);
		end(at, ENGINE_FAILED, "the answer does not match the output schema: %.*s", (int) b.len,
		    b.data ? b.data : "");
		buf_free(&b);
		json_decref(at->res.output_json);
		at->res.output_json = NULL;
		return;
	}
	end(at, ENGINE_SUCCEEDED, NULL);
}

static json_t *calls_json(const struct llm_response *r)
{
	json_t *a = json_array();
	for (int i = 0; i < r->ntool_calls; i++)
		json_array_append_new(a, json_pack("{s:s?, s:s?, s:o}", "id", r->tool_calls[i].id, "name",
		                                   r->tool_calls[i].name, "arguments",
		                                   engine_json_cut(r->tool_calls[i].arguments, ENGINE_EVENT_TEXT_MAX)));
	return a;
}

/* Whether a new attempt of the task may get past a failed call: the kinds
 * the client retries itself (it gave up after its own attempts) and an
 * answer that made no sense. Not a refused key, an unknown model, a bad
 * request or an exhausted quota: the same request would fail the same way. */
static bool llm_error_transient(enum llm_error e)
{
	return e == LLM_ERR_RATE_LIMITED || e == LLM_ERR_SERVER || e == LLM_ERR_TIMEOUT || e == LLM_ERR_NETWORK ||
	       e == LLM_ERR_PARSE;
}

/* llm.failed: discard_partial tells clients to drop the output.delta text of this call. */
static void llm_failed_event(struct engine_attempt *at, const struct llm_record *rec)
{
	emit(at, "llm.failed",
	     json_pack("{s:s, s:s, s:s, s:I, s:i, s:b}", "model", at->model, "error", llm_error_name(rec->error),
	               "message", rec->error_message ? rec->error_message : "", "latency_ms",
	               (json_int_t) rec->latency_ms, "retries", rec->retries, "discard_partial", at->delta_text > 0));
}

/* LLM -> TOOLS | ENDING */
static void llm_returned(struct engine_attempt *at)
{
	struct llm_response *r = &at->resp;
	const struct llm_record *rec = &r->rec;
	bool priced = at->spec.agent->priced;

	at->call_ended = false;
	if (rec->error != LLM_ERR_NONE) {
		bool partial = at->delta_any > 0;
		llm_failed_event(at, rec);
		add_usage(at, rec);
		if (rec->error == LLM_ERR_CANCELLED)
			end(at, ENGINE_CANCELLED, "cancelled");
		else if (partial)
			end(at, ENGINE_RETRY, "the model's answer broke off after it started (%s)",
			    llm_error_name(rec->error));
		else
			end(at, llm_error_transient(rec->error) ? ENGINE_RETRY : ENGINE_FAILED,
			    "the model call failed: %s", /* the message names the error once (llm.c) */
			    rec->error_message ? rec->error_message : llm_error_name(rec->error));
		goto out;
	}
	add_usage(at, rec);
	emit(at, "llm.completed",
	     json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:s?, s:i, s:s?, s:o, s:o}", "model",
	               rec->model ? rec->model : at->model, "latency_ms", (json_int_t) rec->latency_ms, "ttft_ms",
	               (json_int_t) rec->ttft_ms, "prompt_tokens", (json_int_t) rec->prompt_tokens, "completion_tokens",
	               (json_int_t) rec->completion_tokens, "cached_tokens", (json_int_t) rec->cached_tokens, "cost",
	               priced ? json_real(rec->cost) : json_null(), "currency",
	               priced ? at->spec.agent->currency : NULL, "retries", rec->retries, "finish_reason",
	               r->finish_reason, "text", engine_json_cut(r->text, ENGINE_EVENT_TEXT_MAX), "tool_calls",
	               calls_json(r)));
	if (r->ntool_calls > 0 && !at->forced) {
		start_tools(at, r);
		goto out;
	}
	if (!r->text || !*r->text) {
		end(at, ENGINE_FAILED, "%s",
		    r->ntool_calls ? "the model asked for tools after max_iter forced a final answer"
		                   : "Invalid response from LLM call - None or empty.");
		goto out;
	}
	check_output(at, r->text);
out:
	llm_response_free(r);
	memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------- steps */

/* READY -> LLM | WAIT_RPM */
static void next_call(struct engine_attempt *at, int64_t now)
{
	int64_t w1 = 0, w2 = 0;
	const struct engine_agent *ag = at->spec.agent;

	if (!engine_rpm_free_at(ag->rpm, now, &w1) || !engine_rpm_free_at(ag->workflow_rpm, now, &w2)) {
		at->state = AT_WAIT_RPM;
		at->wake_us = w1 > w2 ? w1 : w2;
		return;
	}
	engine_rpm_take(ag->rpm, now, &w1);
	engine_rpm_take(ag->workflow_rpm, now, &w2);
	at->wake_us = 0;
	start_call(at);
}

static void attempt_step(struct engine_attempt *at, int64_t now)
{
	if (!at->ending && at->deadline_us && now >= at->deadline_us)
		end(at, ENGINE_TIMEOUT, "max_execution_time_s (%d s) reached", at->spec.agent->max_execution_time_s);
	switch (at->state) {
	case AT_READY:
		next_call(at, now);
		break;
	case AT_WAIT_RPM:
		if (now >= at->wake_us)
			next_call(at, now);
		break;
	case AT_LLM:
		if (at->call_ended)
			llm_returned(at);
		break;
	case AT_TOOLS:
		if (at->jobs_pending == 0)
			tools_returned(at);
		if (at->state == AT_READY)
			next_call(at, now);
		break;
	case AT_ENDING:
		if (at->call_ended) {
			if (at->resp.rec.error != LLM_ERR_NONE)
				llm_failed_event(at, &at->resp.rec);
			add_usage(at, &at->resp.rec);
			llm_response_free(&at->resp);
			memset(&at->resp, 0, sizeof(at->resp));
			at->call_ended = false;
		}
		if (!at->call && at->jobs_pending == 0) {
			finish(at);
			return;
		}
		break;
	case AT_DONE:
		assert(!"a done attempt was stepped");
	}
	STEP_END(at); /* an attempt that ended is on the ready list again: its next step finishes it */
}

/* ---------------------------------------------------------------- start, cancel */

struct engine_attempt *engine_attempt_start(struct engine_loop *l, const struct engine_attempt_spec *spec)
{
	struct engine_attempt *at = xcalloc(1, sizeof(*at));
	const struct engine_agent *ag = spec->agent;
	char *system = NULL, *user = NULL;

	at->loop = l;
	at->spec = *spec;
	at->spec.inputs = NULL;
	at->spec.context = NULL;
	at->arena = arena_new();
	at->cache = json_object();
	at->task_key = arena_strdup(at->arena, spec->task->key ? spec->task->key : "");
	at->model =
	    arena_strdup(at->arena, ag->llm.model ? ag->llm.model : (ag->llm.deployment ? ag->llm.deployment : ""));
	at->res.usage.cost_known = true;
	at->next = l->all;
	if (l->all)
		l->all->prev = at;
	l->all = at;
	l->n++;
	problem_init(&at->problem, at->arena);
	if (ag->max_execution_time_s > 0)
		at->deadline_us = time_mono_us() + (int64_t) ag->max_execution_time_s * 1000000;
	at->ltools = arena_zalloc(at->arena, (size_t) (ag->ntools ? ag->ntools : 1) * sizeof(*at->ltools));
	for (int i = 0; i < ag->ntools; i++)
		at->ltools[i] = (struct llm_tool){ag->tools[i].name, ag->tools[i].description, ag->tools[i].parameters};

	emit(at, "task.started",
	     json_pack("{s:s, s:s, s:i}", "model", at->model, "role", ag->role ? ag->role : "", "max_iter",
	               max_iter(at)));
	if (engine_prompt_build(ag, spec->task, spec->inputs, spec->context, at->arena, &system, &user, &at->problem) !=
	    ST_OK) {
		struct buf b;
		buf_init(&b, 4096);
		buf_puts(&b, at->problem.detail ? at->problem.detail : "the prompt cannot be built");
		for (int i = 0; i < at->problem.nfields; i++)
			buf_printf(&b, "%s%s: %s", i ? "; " : ": ", at->problem.fields[i].field,
			           at->problem.fields[i].message);
		end(at, ENGINE_FAILED, "%.*s", (int) b.len, b.data ? b.data : "");
		buf_free(&b);
	} else {
		push_msg(at, (struct llm_message){.role = LLM_ROLE_SYSTEM, .content = system});
		push_msg(at, (struct llm_message){.role = LLM_ROLE_USER, .content = user});
		make_ready(at);
	}
	STEP_END(at);
	return at;
}

void engine_attempt_cancel(struct engine_attempt *at, const char *why)
{
	end(at, ENGINE_CANCELLED, "%s", why ? why : "cancelled");
	STEP_END(at);
}

/* ---------------------------------------------------------------- the loop */

struct engine_loop *engine_loop_new(struct llm_limiter *limiter)
{
	struct engine_loop *l = xcalloc(1, sizeof(*l));
	l->llm = llm_client_new(limiter);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wakefd < 0) {
		log_error("engine: eventfd: %s", strerror(errno));
		abort();
	}
	llm_client_watch_fd(l->llm, l->wakefd);
	return l;
}

void engine_loop_wake(struct engine_loop *l)
{
	uint64_t one = 1;
	ssize_t n = write(l->wakefd, &one, sizeof(one));
	(void) n; /* EAGAIN: a wake-up is already pending */
}

void engine_loop_hook_add(struct engine_loop *l, engine_hook_fn fn, void *ud)
{
	assert(l->nhooks < ENGINE_LOOP_HOOKS_MAX);
	l->hooks[l->nhooks++] = (struct engine_hook){fn, ud};
}

void engine_loop_hook_remove(struct engine_loop *l, engine_hook_fn fn, void *ud)
{
	for (int i = 0; i < l->nhooks; i++)
		if (l->hooks[i].fn == fn && l->hooks[i].ud == ud) {
			l->hooks[i] = l->hooks[--l->nhooks];
			return;
		}
}

/* Reads the wake-ups, runs the hooks; returns the earliest time one wants to run again (0: none). */
static int64_t run_hooks(struct engine_loop *l, int64_t now)
{
	uint64_t v;
	int64_t next = 0;
	ssize_t r = read(l->wakefd, &v, sizeof(v));

	(void) r; /* EAGAIN: no wake-up pending */
	for (int i = 0; i < l->nhooks; i++) {
		int64_t t = l->hooks[i].fn(l->hooks[i].ud, now);
		if (t > 0 && (!next || t < next))
			next = t;
	}
	return next;
}

static void run_ready(struct engine_loop *l)
{
	int64_t now = time_mono_us();
	struct engine_attempt *at;

	while ((at = l->ready_head)) {
		l->ready_head = at->ready_next;
		if (!l->ready_head)
			l->ready_tail = NULL;
		at->on_ready = false;
		at->ready_next = NULL;
		attempt_step(at, now);
	}
}

/* Timers: deadlines that passed and rpm waits that ended become ready; returns the next one (0: none). */
static int64_t run_timers(struct engine_loop *l, int64_t now)
{
	int64_t next = 0;

	for (struct engine_attempt *at = l->all; at; at = at->next) {
		int64_t t = 0;
		if (at->ending)
			continue;
		if (at->deadline_us)
			t = at->deadline_us;
		if (at->state == AT_WAIT_RPM && (!t || at->wake_us < t))
			t = at->wake_us;
		if (!t)
			continue;
		if (t <= now)
			make_ready(at);
		else if (!next || t < next)
			next = t;
	}
	return next;
}

int engine_loop_run(struct engine_loop *l, int timeout_ms)
{
	int64_t now, next, hook_next;
	int wait;

	hook_next = run_hooks(l, time_mono_us());
	run_ready(l);
	now = time_mono_us();
	next = run_timers(l, now);
	if (hook_next && (!next || hook_next < next))
		next = hook_next;
	wait = timeout_ms > 0 ? timeout_ms : 0;
	if (l->ready_head)
		wait = 0;
	else if (next && (next - now) / 1000 < wait)
		wait = (int) ((next - now + 999) / 1000);
	if (llm_client_pending(l->llm) > 0) {
		llm_client_run(l->llm, wait);
	} else if (wait > 0 && l->n > 0) {
		struct pollfd pfd = {.fd = l->wakefd, .events = POLLIN};
		poll(&pfd, 1, wait);
	}
	run_hooks(l, time_mono_us());
	run_timers(l, time_mono_us());
	run_ready(l);
	return l->n;
}

int engine_loop_pending(const struct engine_loop *l)
{
	return l->n;
}

void engine_loop_free(struct engine_loop **lp)
{
	struct engine_loop *l = *lp;

	if (!l)
		return;
	for (struct engine_attempt *at = l->all; at; at = at->next)
		end(at, ENGINE_CANCELLED, "the engine is shutting down");
	while (l->n > 0)
		engine_loop_run(l, 50);
	llm_client_free(&l->llm);
	close(l->wakefd);
	free(l);
	*lp = NULL;
}

/* ---------------------------------------------------------------- rpm */

bool engine_rpm_free_at(const struct engine_rpm *r, int64_t now_us, int64_t *wake_us)
{
	if (!r || r->max <= 0 || r->n < r->max)
		return true;
	if (now_us - r->at_us[r->head] >= 60 * 1000000LL)
		return true;
	*wake_us = r->at_us[r->head] + 60 * 1000000LL;
	return false;
}

bool engine_rpm_take(struct engine_rpm *r, int64_t now_us, int64_t *wake_us)
{
	if (!r || r->max <= 0)
		return true;
	if (!engine_rpm_free_at(r, now_us, wake_us))
		return false;
	if (!r->at_us)
		r->at_us = xcalloc((size_t) r->max, sizeof(*r->at_us));
	if (r->n < r->max) {
		r->at_us[(r->head + r->n) % r->max] = now_us;
		r->n++;
	} else {
		r->at_us[r->head] = now_us;
		r->head = (r->head + 1) % r->max;
	}
	return true;
}

void engine_rpm_free(struct engine_rpm *r)
{
	free(r->at_us);
	r->at_us = NULL;
	r->n = r->head = 0;
}
