/*
 * The sequential process (crewAI's Process.sequential, crew.py
 * _execute_tasks): tasks in order, each task's context from earlier outputs
 * (crew.py _get_context: context absent, every earlier output; a list, the
 * outputs of those tasks; [], none), joined with utilities/formatter.py's
 * DIVIDERS. A task whose attempt ends ENGINE_RETRY runs again as a new
 * attempt (task.retrying), up to its agent's max_retry_limit times (crewAI's
 * agent.py execute_task retries a task that raised, max_retry_limit times).
 */
#include "engine/engine_int.h"

#include <assert.h>
#include <string.h>

struct engine_crew {
	struct engine_loop *loop;
	struct engine_crew_spec spec;
	char **outputs; /* one per task, once it succeeded */
	int i;          /* the task running */
	int attempt;
	struct engine_attempt *at; /* in flight, or NULL */
	bool cancelled;
	char *why; /* engine_crew_cancel's, or NULL */
};

static bool crew_invariants(const struct engine_crew *c)
{
	if (c->i < 0 || c->i > c->spec.ntasks || c->attempt < 1)
		return false;
	for (int k = 0; k < c->spec.ntasks; k++)
		if ((c->outputs[k] != NULL) != (k < c->i))
			return false;
	return true;
}

static int task_index(const struct engine_crew *c, const char *key)
{
	for (int k = 0; k < c->i; k++)
		if (str_eq(c->spec.tasks[k].key, key))
			return k;
	return -1;
}

/* The context of task i, joined with ENGINE_CONTEXT_DIVIDER; NULL for none. */
static char *context_of(const struct engine_crew *c)
{
	const struct engine_task *t = &c->spec.tasks[c->i];
	struct buf b;
	int n = 0;

	buf_init(&b, 0);
	if (!t->context_set) {
		for (int k = 0; k < c->i; k++, n++)
			buf_printf(&b, "%s%s", n ? ENGINE_CONTEXT_DIVIDER : "", c->outputs[k]);
	} else {
		for (int k = 0; k < t->ncontext; k++) {
			int j = task_index(c, t->context[k]);
			if (j < 0)
				continue; /* a later or unknown task has no output yet: crewAI skips it too */
			buf_printf(&b, "%s%s", n++ ? ENGINE_CONTEXT_DIVIDER : "", c->outputs[j]);
		}
	}
	return buf_steal(&b);
}

static void crew_free(struct engine_crew *c)
{
	for (int k = 0; k < c->spec.ntasks; k++)
		free(c->outputs[k]);
	free(c->outputs);
	free(c->why);
	free(c);
}

static void start_task(struct engine_crew *c);

/* The number of task i's next attempt: attempts continue from the stored ones on a resume. */
static int first_attempt(const struct engine_crew *c)
{
	return c->i < c->spec.ntasks && c->spec.attempts_before ? c->spec.attempts_before[c->i] + 1 : 1;
}

static void crew_end(struct engine_crew *c, const struct engine_result *res)
{
	if (c->spec.on_done)
		c->spec.on_done(c->spec.ud, res);
	crew_free(c);
}

static void on_attempt_done(void *ud, struct engine_attempt *at, const struct engine_result *res)
{
	struct engine_crew *c = ud;
	int max = c->spec.max_attempts > 0 ? c->spec.max_attempts : c->spec.agents[c->i]->max_retry_limit + 1;
	(void) at;

	c->at = NULL;
	if (res->outcome == ENGINE_RETRY && c->attempt - first_attempt(c) + 1 < max && !c->cancelled) {
		json_t *d =
		    json_pack("{s:s, s:i}", "reason", res->error ? res->error : "", "next_attempt", c->attempt + 1);
		struct engine_event ev = {"task.retrying", c->spec.tasks[c->i].key, c->attempt, d};
		if (c->spec.on_event)
			c->spec.on_event(c->spec.ud, &ev);
		json_decref(d);
		c->attempt++;
		start_task(c);
		return;
	}
	if (c->spec.on_task_done)
		c->spec.on_task_done(c->spec.ud, c->i, res);
	if (res->outcome != ENGINE_SUCCEEDED) {
		crew_end(c, res);
		return;
	}
	c->outputs[c->i++] = xstrdup(res->output ? res->output : "");
	c->attempt = first_attempt(c);
	assert(crew_invariants(c));
	if (c->i == c->spec.ntasks) {
		crew_end(c, res);
		return;
	}
	if (c->cancelled) {
		/* cancelled while the task was finishing: the next one does not start */
		struct engine_result cr = {
		    .outcome = ENGINE_CANCELLED, .error = c->why ? c->why : "cancelled", .usage = {.cost_known = true}};
		crew_end(c, &cr);
		return;
	}
	start_task(c);
}

static void on_attempt_event(void *ud, const struct engine_event *ev)
{
	struct engine_crew *c = ud;
	if (c->spec.on_event)
		c->spec.on_event(c->spec.ud, ev);
}

static void start_task(struct engine_crew *c)
{
	char *ctx = context_of(c);
	struct engine_attempt_spec s = {
	    .agent = c->spec.agents[c->i],
	    .task = &c->spec.tasks[c->i],
	    .inputs = c->spec.inputs,
	    .context = ctx,
	    .attempt = c->attempt,
	    .tools = c->spec.tools,
	    .on_event = on_attempt_event,
	    .on_done = on_attempt_done,
	    .ud = c,
	};
	c->at = engine_attempt_start(c->loop, &s);
	free(ctx);
	assert(crew_invariants(c));
}

struct engine_crew *engine_crew_start(struct engine_loop *l, const struct engine_crew_spec *spec)
{
	struct engine_crew *c = xcalloc(1, sizeof(*c));

	c->loop = l;
	c->spec = *spec;
	c->outputs = xcalloc((size_t) (spec->ntasks > 0 ? spec->ntasks : 1), sizeof(*c->outputs));
	assert(spec->ntasks > 0 && spec->first_task >= 0 && spec->first_task < spec->ntasks);
	assert(spec->first_task == 0 || spec->outputs);
	for (c->i = 0; c->i < spec->first_task; c->i++)
		c->outputs[c->i] = xstrdup(spec->outputs[c->i] ? spec->outputs[c->i] : "");
	c->spec.outputs = NULL; /* borrowed for the start only */
	c->attempt = first_attempt(c);
	start_task(c);
	return c;
}

void engine_crew_cancel(struct engine_crew *c, const char *why)
{
	c->cancelled = true;
	if (why && !c->why)
		c->why = xstrdup(why);
	if (c->at)
		engine_attempt_cancel(c->at, c->why);
}
