/*
 * engine: crewAI's prompts compared byte for byte with golden files, and the
 * agent loop against the scripted fake provider (tests/fake-llm/server.js):
 * context per crewAI, tools (parallel, bad arguments, failures, repeats),
 * max_iter, structured output, cancel, and many attempts on one loop.
 */
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "core/core.h"
#include "core/jsonschema.h"
#include "workflows/workflows.h"
#include "t.h"
#include "fake_llm.h"

#include <stdio.h>

static const char *root(void)
{
	const char *r = getenv("TROUPE_SOURCE_ROOT");
	return r && *r ? r : ".";
}

static char *slurp(const char *rel)
{
	char path[4096];
	struct buf b;
	char chunk[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root(), rel);
	if (!(f = fopen(path, "rb")))
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_steal(&b);
}

/* A golden file's message: every byte after the line "#---8<---". */
static char *golden(const char *name)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "tests/fixtures/engine/%s", name);
	char *all = slurp(rel), *cut, *msg;
	if (!all)
		return NULL;
	cut = strstr(all, "#---8<---\n");
	msg = xstrdup(cut ? cut + strlen("#---8<---\n") : "");
	free(all);
	return msg;
}

static void same_bytes(const char *got, const char *want, const char *what)
{
	size_t i = 0;
	if (got && want)
		while (got[i] && got[i] == want[i])
			i++;
	T_OK(got && want && str_eq(got, want), "golden %s: byte for byte", what);
	if (!(got && want && str_eq(got, want)))
		printf("#   first difference at byte %zu: got \"%.40s\", want \"%.40s\"\n", i, got ? got + i : "(null)",
		       want ? want + i : "(null)");
}

/* ---- the golden prompt: the crewAI project template crew ---- */

static void test_golden(void)
{
	struct arena *a = arena_new();
	struct problem p;
	char *ay = slurp("tests/fixtures/crewai/template/agents.yaml");
	char *ty = slurp("tests/fixtures/crewai/template/tasks.yaml");
	json_t *in = json_pack("{s:s,s:s}", "agents_yaml", ay ? ay : "", "tasks_yaml", ty ? ty : ""), *def = NULL;
	json_t *inputs = json_pack("{s:s,s:s}", "topic", "AI LLMs", "current_year", "2026");
	const char *research_out = "1. Mixture-of-experts models lead the 2026 benchmarks.\n"
	                           "2. Context windows pass ten million tokens.";

	problem_init(&p, a);
	T_EQ_INT(workflows_crewai_import(in, &def, &p), ST_OK, "template crew imports from its YAML");
	json_t *agents = json_object_get(def, "agents"),
	       *tasks = json_object_get(json_object_get(def, "workflow"), "tasks");
	for (size_t i = 0; i < json_array_size(tasks); i++) {
		json_t *t = json_array_get(tasks, i), *ag = NULL;
		for (size_t k = 0; k < json_array_size(agents); k++)
			if (str_eq(json_string_value(json_object_get(json_array_get(agents, k), "key")),
			           json_string_value(json_object_get(t, "agent_key"))))
				ag = json_array_get(agents, k);
		struct engine_agent eag = {
		    .role = json_string_value(json_object_get(ag, "role")),
		    .goal = json_string_value(json_object_get(ag, "goal")),
		    .backstory = json_string_value(json_object_get(ag, "backstory")),
		};
		struct engine_task et = {
		    .key = json_string_value(json_object_get(t, "key")),
		    .description = json_string_value(json_object_get(t, "description")),
		    .expected_output = json_string_value(json_object_get(t, "expected_output")),
		};
		char *sys = NULL, *user = NULL, name[128];
		/* context absent: every earlier output, here the research task's */
		T_EQ_INT(engine_prompt_build(&eag, &et, inputs, i ? research_out : NULL, a, &sys, &user, &p), ST_OK,
		         "%s: prompt builds", et.key);
		snprintf(name, sizeof(name), "%s.system.txt", et.key);
		char *want = golden(name);
		same_bytes(sys, want, name);
		free(want);
		snprintf(name, sizeof(name), "%s.user.txt", et.key);
		want = golden(name);
		same_bytes(user, want, name);
		free(want);
	}
	T_EQ_INT(json_array_size(tasks), 2, "both template tasks compared");

	/* a missing input is named */
	struct engine_agent ag = {.role = "{topic} analyst", .goal = "g", .backstory = "b"};
	struct engine_task t = {.key = "k", .description = "d", .expected_output = "e"};
	char *sys, *user;
	json_t *none = json_object();
	problem_init(&p, a);
	T_EQ_INT(engine_prompt_build(&ag, &t, none, NULL, a, &sys, &user, &p), ST_BAD_INPUT,
	         "a missing input: ST_BAD_INPUT");
	T_OK(p.nfields == 1 && str_eq(p.fields[0].field, "inputs.topic"), "the field named: %s",
	     p.nfields ? p.fields[0].field : "-");
	json_decref(none);
	json_decref(in);
	json_decref(def);
	json_decref(inputs);
	free(ay);
	free(ty);
	arena_free(&a);
}

/* ---- the loop against the fake ---- */

static struct engine_loop *loop;

/* Events kept for checks (output.delta counted apart). */
struct rec {
	json_t *events; /* [{type, task_key, attempt, data}] */
	int deltas;
	int done;
	enum engine_outcome outcome;
	char *output, *error;
	json_t *output_json;
	struct engine_usage usage;
};

/* LLM calls started and not yet answered, over every attempt: the peak shows what ran at once. */
static int calls_in_flight, calls_peak;

static void rec_event(void *ud, const struct engine_event *ev)
{
	struct rec *r = ud;
	if (str_eq(ev->type, "llm.started") && ++calls_in_flight > calls_peak)
		calls_peak = calls_in_flight;
	if (str_eq(ev->type, "llm.completed") || str_eq(ev->type, "llm.failed"))
		calls_in_flight--;
	if (str_eq(ev->type, "output.delta")) {
		r->deltas++;
		return;
	}
	json_array_append_new(r->events, json_pack("{s:s, s:s, s:i, s:O}", "type", ev->type, "task_key", ev->task_key,
	                                           "attempt", ev->attempt, "data", ev->data));
}

static void rec_done(void *ud, struct engine_attempt *at, const struct engine_result *res)
{
	struct rec *r = ud;
	(void) at;
	r->done++;
	r->outcome = res->outcome;
	r->output = res->output ? xstrdup(res->output) : NULL;
	r->error = res->error ? xstrdup(res->error) : NULL;
	r->output_json = json_incref(res->output_json);
	r->usage = res->usage;
}

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->events = json_array();
}

static void rec_free(struct rec *r)
{
	json_decref(r->events);
	json_decref(r->output_json);
	free(r->output);
	free(r->error);
}

static int count_type(const struct rec *r, const char *type)
{
	int n = 0;
	for (size_t i = 0; i < json_array_size(r->events); i++)
		n += str_eq(json_string_value(json_object_get(json_array_get(r->events, i), "type")), type);
	return n;
}

static json_t *nth_of(const struct rec *r, const char *type, int nth)
{
	for (size_t i = 0; i < json_array_size(r->events); i++) {
		json_t *e = json_array_get(r->events, i);
		if (str_eq(json_string_value(json_object_get(e, "type")), type) && nth-- == 0)
			return json_object_get(e, "data");
	}
	return NULL;
}

static struct engine_agent agent_for(const char *role)
{
	struct engine_agent a = {
	    .role = role,
	    .goal = "Answer well",
	    .backstory = "A test agent.",
	    .llm = {.provider = LLM_OPENAI_COMPATIBLE,
	            .base_url = base_v1,
	            .api_key = "sk-engine-test-secret",
	            .model = "gpt-4o-mini",
	            .timeout_ms = 10000,
	            .backoff_base_ms = 10,
	            .backoff_cap_ms = 50},
	};
	return a;
}

static void run_until(int *flag, int want, int max_ms)
{
	int64_t until = time_mono_us() + (int64_t) max_ms * 1000;
	while (*flag < want && time_mono_us() < until)
		engine_loop_run(loop, 20);
}

/* ---- a test tool runner: counts, records concurrency, completes on demand ---- */

struct tool_rt {
	int runs[8]; /* per tool below */
	int in_flight, max_in_flight;
	struct engine_tool_job *held[64];
	json_t *held_args[64];
	char held_name[64][32];
	int nheld;
	int cancels;
};
static struct tool_rt rt;

static const char *const tool_names_tbl[] = {"get_weather", "get_time", "fail_tool", "slow_tool", "big_tool"};

static void rt_start(void *ud, struct engine_tool_job *job, const char *name, const json_t *args)
{
	(void) ud;
	for (size_t i = 0; i < ARRAY_LEN(tool_names_tbl); i++)
		if (str_eq(name, tool_names_tbl[i]))
			rt.runs[i]++;
	rt.in_flight++;
	if (rt.in_flight > rt.max_in_flight)
		rt.max_in_flight = rt.in_flight;
	rt.held[rt.nheld] = job;
	rt.held_args[rt.nheld] = json_deep_copy(args);
	snprintf(rt.held_name[rt.nheld], sizeof(rt.held_name[0]), "%s", name);
	rt.nheld++;
}

static void rt_cancel(void *ud, struct engine_tool_job *job)
{
	(void) ud;
	for (int i = 0; i < rt.nheld; i++)
		if (rt.held[i] == job) {
			rt.cancels++;
			rt.in_flight--;
			json_decref(rt.held_args[i]);
			rt.held[i] = rt.held[--rt.nheld];
			rt.held_args[i] = rt.held_args[rt.nheld];
			memcpy(rt.held_name[i], rt.held_name[rt.nheld], sizeof(rt.held_name[0]));
			engine_tool_done(job, false, "cancelled");
			return;
		}
}

/* Completes every held job except slow_tool's: get_weather and get_time answer, fail_tool fails. */
static void rt_complete(void)
{
	int keep = 0;
	for (int i = 0; i < rt.nheld; i++) {
		struct engine_tool_job *j = rt.held[i];
		const char *n = rt.held_name[i];
		if (str_eq(n, "slow_tool")) {
			rt.held[keep] = j;
			rt.held_args[keep] = rt.held_args[i];
			memcpy(rt.held_name[keep], n, sizeof(rt.held_name[0]));
			keep++;
			continue;
		}
		rt.in_flight--;
		const char *city = json_string_value(json_object_get(rt.held_args[i], "city"));
		char out[128];
		if (str_eq(n, "fail_tool")) {
			engine_tool_done(j, false, "the upstream service answered 503");
		} else if (str_eq(n, "big_tool")) {
			char *big = xmalloc(ENGINE_TOOL_RESULT_MAX * 3);
			memset(big, 'z', ENGINE_TOOL_RESULT_MAX * 3 - 1);
			big[ENGINE_TOOL_RESULT_MAX * 3 - 1] = 0;
			engine_tool_done(j, true, big);
			free(big);
		} else {
			snprintf(out, sizeof(out), "%s in %s: %s", n, city ? city : "?",
			         str_eq(n, "get_weather") ? "sunny, 21 C" : "14:05");
			engine_tool_done(j, true, out);
		}
		json_decref(rt.held_args[i]);
	}
	rt.nheld = keep;
}

static const struct engine_tool_runner runner = {rt_start, rt_cancel, NULL};

static void run_with_tools(int *flag, int want, int max_ms)
{
	int64_t until = time_mono_us() + (int64_t) max_ms * 1000;
	while (*flag < want && time_mono_us() < until) {
		engine_loop_run(loop, 10);
		rt_complete();
	}
}

static json_t *city_schema;
static struct engine_tool tools[5];

static void tools_init(void)
{
	city_schema = json_loads("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
	                         "\"required\":[\"city\"],\"additionalProperties\":false}",
	                         0, NULL);
	for (size_t i = 0; i < ARRAY_LEN(tools); i++)
		tools[i] = (struct engine_tool){tool_names_tbl[i], "A test tool.", city_schema};
	T_EQ_INT(jsonschema_check(city_schema, NULL, NULL), ST_OK, "the tools' schema is in the subset");
}

static struct engine_attempt *start(struct rec *r, const struct engine_agent *ag, const struct engine_task *t,
                                    const char *context)
{
	struct engine_attempt_spec s = {.agent = ag,
	                                .task = t,
	                                .inputs = NULL,
	                                .context = context,
	                                .attempt = 1,
	                                .tools = &runner,
	                                .on_event = rec_event,
	                                .on_done = rec_done,
	                                .ud = r};
	return engine_attempt_start(loop, &s);
}

/* The tool messages of the last recorded request whose body mentions marker. */
static json_t *last_body_with(const char *marker)
{
	json_t *all = fake_requests_with(marker), *b = NULL;
	size_t n = json_array_size(all);
	if (n)
		b = json_incref(json_object_get(json_array_get(all, n - 1), "body"));
	json_decref(all);
	return b;
}

static int tool_messages(json_t *body, const char *needle)
{
	int n = 0;
	json_t *msgs = json_object_get(body, "messages");
	for (size_t i = 0; i < json_array_size(msgs); i++) {
		json_t *m = json_array_get(msgs, i);
		const char *c = json_string_value(json_object_get(m, "content"));
		if (str_eq(json_string_value(json_object_get(m, "role")), "tool") && c && strstr(c, needle))
			n++;
	}
	return n;
}

static void test_two_tools(void)
{
	struct rec r;
	struct engine_agent ag = agent_for("Weather reporter");
	struct engine_task t = {.key = "weather",
	                        .description = "TWOTOOLS Tell the weather and time in Paris",
	                        .expected_output = "One line"};
	ag.tools = tools;
	ag.ntools = 4;
	memset(&rt, 0, sizeof(rt));
	fake_scriptq(
	    "{'rules':[{'match':'TWOTOOLS','replies':[{'tool_calls':[{'name':'get_weather','arguments':"
	    "{'city':'Paris'}},{'name':'get_time','arguments':{'city':'Paris'}}]},{'text':'Sunny at 14:05.'}]}]}");
	rec_init(&r);
	start(&r, &ag, &t, NULL);
	run_with_tools(&r.done, 1, 10000);
	T_OK(r.done == 1 && r.outcome == ENGINE_SUCCEEDED && str_eq(r.output, "Sunny at 14:05."),
	     "two tools: the task succeeds with the final answer (%s, %s)", engine_outcome_name(r.outcome),
	     r.error ? r.error : r.output);
	T_OK(rt.runs[0] == 1 && rt.runs[1] == 1, "two tools: both ran once (%d, %d)", rt.runs[0], rt.runs[1]);
	T_EQ_INT(rt.max_in_flight, 2, "two tools: both in flight at once");
	json_t *body = last_body_with("TWOTOOLS");
	T_OK(tool_messages(body, "sunny, 21 C") == 1 && tool_messages(body, "14:05") == 1,
	     "two tools: the model was sent both results as tool messages");
	json_decref(body);
	T_OK(count_type(&r, "tool.started") == 2 && count_type(&r, "tool.completed") == 2 &&
	         count_type(&r, "llm.completed") == 2 && count_type(&r, "task.started") == 1 &&
	         count_type(&r, "task.succeeded") == 1,
	     "two tools: events task.started, 2 llm.completed, 2 tool.started/completed, task.succeeded");
	T_OK(r.deltas > 0, "two tools: the final answer streamed as output.delta events (%d)", r.deltas);
	json_t *c = nth_of(&r, "llm.completed", 1);
	T_OK(c && json_is_null(json_object_get(c, "cost")) &&
	         json_integer_value(json_object_get(c, "prompt_tokens")) > 0,
	     "llm.completed: tokens counted, cost null for a model without a price (not 0)");
	char *dump = json_dumps(r.events, JSON_COMPACT);
	T_OK(dump && !strstr(dump, "sk-engine-test-secret"), "no event carries the provider key");
	free(dump);
	rec_free(&r);
}

static void test_bad_args_and_failure(void)
{
	struct rec r;
	struct engine_agent ag = agent_for("Weather reporter");
	struct engine_task t = {.key = "bad", .description = "BADARGS weather please", .expected_output = "One line"};
	ag.tools = tools;
	ag.ntools = 4;
	memset(&rt, 0, sizeof(rt));
	fake_scriptq("{'rules':[{'match':'BADARGS','replies':[{'tool_calls':[{'name':'get_weather','arguments':"
	             "{'town':'Paris'}},{'name':'fail_tool','arguments':{'city':'Oslo'}},{'name':'no_such_tool',"
	             "'arguments':{}}]},{'text':'I could not find out.'}]}]}");
	rec_init(&r);
	start(&r, &ag, &t, NULL);
	run_with_tools(&r.done, 1, 10000);
	T_OK(r.done == 1 && r.outcome == ENGINE_SUCCEEDED, "bad arguments and a failing tool: the task still ends (%s)",
	     r.error ? r.error : "ok");
	T_EQ_INT(rt.runs[0], 0, "bad arguments: the tool never ran");
	T_EQ_INT(rt.runs[2], 1, "the failing tool ran");
	json_t *body = last_body_with("BADARGS");
	T_EQ_INT(tool_messages(body, "$.town"), 1, "bad arguments: the validation error is the result the model sees");
	T_EQ_INT(tool_messages(body, "answered 503"), 1, "a failing tool: its error is the result the model sees");
	T_EQ_INT(tool_messages(body, "doesn't exist"), 1, "an unknown tool: crewAI's wrong_tool_name result");
	json_decref(body);
	T_EQ_INT(count_type(&r, "tool.failed"), 3, "three tool.failed events");
	rec_free(&r);
}

static void test_repeat(void)
{
	struct rec r;
	struct engine_agent ag = agent_for("Weather reporter");
	struct engine_task t = {.key = "rep", .description = "REPEAT weather", .expected_output = "One line"};
	ag.tools = tools;
	ag.ntools = 4;
	memset(&rt, 0, sizeof(rt));
	/* the same call three times, arguments in another key order once, then an answer */
	fake_scriptq("{'rules':[{'match':'REPEAT','replies':["
	             "{'tool_calls':[{'name':'get_time','arguments':{'city':'Rome'}}]},"
	             "{'tool_calls':[{'name':'get_time','arguments':{'city':'Rome'}}]},"
	             "{'tool_calls':[{'name':'get_time','arguments':{'city':'Rome'}},"
	             "{'name':'get_time','arguments':{'city':'Lima'}}]},{'text':'done'}]}]}");
	rec_init(&r);
	start(&r, &ag, &t, NULL);
	run_with_tools(&r.done, 1, 10000);
	T_OK(r.outcome == ENGINE_SUCCEEDED, "repeat: succeeds (%s)", r.error ? r.error : "ok");
	T_EQ_INT(rt.runs[1], 2, "repeat: Rome ran once, Lima once; the repeats were answered from the first result");
	json_t *body = last_body_with("REPEAT");
	T_EQ_INT(tool_messages(body, "get_time in Rome: 14:05"), 3, "repeat: the model got Rome's result each time");
	json_decref(body);
	rec_free(&r);
}

static void test_max_iter(void)
{
	struct rec r;
	struct engine_agent ag = agent_for("Weather reporter");
	struct engine_task t = {.key = "mi", .description = "MAXITER loop forever", .expected_output = "x"};
	ag.tools = tools;
	ag.ntools = 4;
	ag.max_iter = 2;
	memset(&rt, 0, sizeof(rt));
	/* always asks for a tool (new arguments each time would need state; the cache answers repeats) */
	fake_scriptq("{'rules':[{'match':'MAXITER','replies':["
	             "{'tool_calls':[{'name':'get_time','arguments':{'city':'A'}}]},"
	             "{'tool_calls':[{'name':'get_time','arguments':{'city':'B'}}]},"
	             "{'text':'forced answer'}]}]}");
	rec_init(&r);
	start(&r, &ag, &t, NULL);
	run_with_tools(&r.done, 1, 10000);
	T_OK(r.outcome == ENGINE_SUCCEEDED && str_eq(r.output, "forced answer"), "max_iter 2: a final answer (%s)",
	     r.error ? r.error : r.output);
	T_EQ_INT(count_type(&r, "llm.started"), 3, "max_iter 2: two calls, then the forced one");
	json_t *forced = nth_of(&r, "llm.started", 2);
	T_OK(forced && json_is_true(json_object_get(forced, "forced_final_answer")),
	     "the third llm.started says forced_final_answer");
	json_t *body = last_body_with("MAXITER");
	json_t *msgs = json_object_get(body, "messages");
	const char *lastc =
	    json_string_value(json_object_get(json_array_get(msgs, json_array_size(msgs) - 1), "content"));
	T_OK(lastc && str_startswith(lastc, "Now it's time you MUST give your absolute best final answer."),
	     "the forced call ends with crewAI's force_final_answer");
	T_EQ_STR(json_string_value(json_object_get(body, "tool_choice")), "none", "the forced call refuses tools");
	json_decref(body);
	rec_free(&r);
}

static void test_structured(void)
{
	struct rec r;
	struct engine_agent ag = agent_for("Extractor");
	json_t *schema = json_loads("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{"
	                            "\"type\":\"integer\",\"minimum\":0}},\"required\":[\"name\",\"age\"]}",
	                            0, NULL);
	struct engine_task t = {.key = "so",
	                        .description = "STRUCTOK extract",
	                        .expected_output = "a person",
	                        .format = ENGINE_OUTPUT_JSON,
	                        .schema = schema};

	fake_scriptq("{'rules':[{'match':'STRUCTOK','replies':[{'json':{'name':'Ada','age':36}}]},"
	             "{'match':'STRUCTBAD','replies':[{'json':{'name':'Ada','age':-1}}]}]}");
	rec_init(&r);
	start(&r, &ag, &t, NULL);
	run_until(&r.done, 1, 10000);
	T_OK(r.outcome == ENGINE_SUCCEEDED && json_integer_value(json_object_get(r.output_json, "age")) == 36,
	     "structured output: a valid answer is kept as JSON (%s)", r.error ? r.error : "ok");
	json_t *body = last_body_with("STRUCTOK");
	json_t *rf = json_object_get(body, "response_format");
	T_OK(str_eq(json_string_value(json_object_get(rf, "type")), "json_schema") &&
	         json_equal(json_object_get(json_object_get(rf, "json_schema"), "schema"), schema),
	     "structured output: the schema went to the provider as response_format json_schema");
	const char *u =
	    json_string_value(json_object_get(json_array_get(json_object_get(body, "messages"), 1), "content"));
	T_OK(u && strstr(u, "Format your final answer according to the following OpenAPI schema: {\n  \"type\""),
	     "structured output: crewAI's formatted_task_instructions in the user message");
	json_decref(body);
	rec_free(&r);

	t.description = "STRUCTBAD extract";
	rec_init(&r);
	start(&r, &ag, &t, NULL);
	run_until(&r.done, 1, 10000);
	T_OK(r.outcome == ENGINE_FAILED && r.error && strstr(r.error, "$.age") && !r.output_json,
	     "structured output: an invalid answer fails the task with the validation error (%s)",
	     r.error ? r.error : "none");
	T_EQ_INT(count_type(&r, "task.failed"), 1, "structured output: task.failed");
	rec_free(&r);
	json_decref(schema);
}

static void test_cancel(void)
{
	struct rec r[3];
	struct engine_agent ag = agent_for("Slow");
	struct engine_task t = {.key = "c", .description = "CANCELSLOW wait", .expected_output = "x"};
	struct engine_task t2 = {.key = "c2", .description = "CANCELTOOL wait", .expected_output = "x"};
	struct engine_attempt *at[3];

	ag.tools = tools;
	ag.ntools = 4;
	memset(&rt, 0, sizeof(rt));
	fake_scriptq("{'rules':[{'match':'CANCELSLOW','replies':[{'delay_ms':5000,'text':'late'}]},"
	             "{'match':'CANCELTOOL','replies':[{'tool_calls':[{'name':'slow_tool','arguments':{'city':'X'}}]},"
	             "{'text':'never'}]}]}");
	for (int i = 0; i < 3; i++) {
		rec_init(&r[i]);
		at[i] = start(&r[i], &ag, i < 2 ? &t : &t2, NULL);
	}
	/* until both LLM calls are in flight and the third attempt's slow tool runs */
	int64_t until = time_mono_us() + 5000000;
	while (rt.nheld < 1 && time_mono_us() < until) {
		engine_loop_run(loop, 10);
		rt_complete();
	}
	int64_t t0 = time_mono_us();
	for (int i = 0; i < 3; i++)
		engine_attempt_cancel(at[i], i == 0 ? "cancelled by a user" : NULL);
	int done = 0;
	while (done < 3 && time_mono_us() - t0 < 2000000) {
		engine_loop_run(loop, 5);
		done = r[0].done + r[1].done + r[2].done;
	}
	int64_t ms = (time_mono_us() - t0) / 1000;
	T_OK(done == 3 && ms < 100, "cancel: three attempts (two LLM calls and a tool in flight) end in %lld ms",
	     (long long) ms);
	T_OK(r[0].outcome == ENGINE_CANCELLED && r[1].outcome == ENGINE_CANCELLED && r[2].outcome == ENGINE_CANCELLED,
	     "cancel: each ends cancelled");
	T_EQ_INT(rt.cancels, 1, "cancel: the tool runner was asked to stop its job");
	json_t *f0 = nth_of(&r[0], "llm.failed", 0);
	T_OK(f0 && str_eq(json_string_value(json_object_get(f0, "error")), "cancelled") &&
	         count_type(&r[1], "llm.failed") == 1,
	     "cancel: each cancelled call ends with llm.failed (error cancelled)");
	const char *msg = f0 ? json_string_value(json_object_get(f0, "message")) : NULL;
	T_OK(msg && strstr(msg, "cancelled") && !strstr(strstr(msg, "cancelled") + 1, "cancelled"),
	     "cancel: llm.failed's message says cancelled once: %s", msg ? msg : "(none)");
	T_OK(str_eq(r[0].error, "cancelled by a user") && str_eq(r[1].error, "cancelled"),
	     "cancel: the attempt's error is the reason given, once: %s / %s", r[0].error ? r[0].error : "(none)",
	     r[1].error ? r[1].error : "(none)");
	for (int i = 0; i < 3; i++)
		rec_free(&r[i]);
}

static void test_stream_cut(void)
{
	struct rec r;
	struct engine_agent ag = agent_for("Cut");
	struct engine_task t = {.key = "cut", .description = "STREAMCUT go", .expected_output = "x"};

	fake_scriptq("{'rules':[{'match':'STREAMCUT','replies':[{'sse':[{'choices':[{'index':0,'delta':{'content':"
	             "'partial '},'finish_reason':null}]}],'cut':true}]}]}");
	rec_init(&r);
	start(&r, &ag, &t, NULL);
	run_until(&r.done, 1, 10000);
	json_t *f = nth_of(&r, "llm.failed", 0);
	T_OK(r.outcome == ENGINE_RETRY && f && json_is_true(json_object_get(f, "discard_partial")),
	     "a stream cut after text: the attempt ends retry, llm.failed says discard_partial (%s)",
	     engine_outcome_name(r.outcome));
	rec_free(&r);
}

/* ---- the sequential driver: context absent, an explicit list, [] ---- */

struct crew_rec {
	struct rec r;
	int tasks_done, done;
	enum engine_outcome outcome;
	struct engine_crew *cancel_at_task_done; /* cancelled from the first task's on_task_done */
};

static void crew_task_done(void *ud, int i, const struct engine_result *res)
{
	struct crew_rec *c = ud;
	(void) i;
	(void) res;
	c->tasks_done++;
	if (c->cancel_at_task_done)
		engine_crew_cancel(c->cancel_at_task_done, "cancelled by a user");
}

static void crew_done(void *ud, const struct engine_result *res)
{
	struct crew_rec *c = ud;
	c->done++;
	c->outcome = res->outcome;
	c->r.output = res->output ? xstrdup(res->output) : NULL;
	c->r.error = res->error ? xstrdup(res->error) : NULL;
}

static void crew_event(void *ud, const struct engine_event *ev)
{
	rec_event(&((struct crew_rec *) ud)->r, ev);
}

static const char *user_msg_of(json_t *req)
{
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(json_object_get(req, "body"), "messages"), 1), "content"));
}

static void test_limits(void)
{
	struct rec r;
	struct engine_agent ag = agent_for("Limits");
	struct engine_task t = {.key = "big", .description = "BIGTOOL go", .expected_output = "x"};
	struct engine_rpm rpm = {.max = 2};
	int64_t wake = 0;

	ag.tools = tools;
	ag.ntools = 5;
	memset(&rt, 0, sizeof(rt));
	fake_scriptq(
	    "{'rules':[{'match':'BIGTOOL','replies':[{'tool_calls':[{'name':'big_tool','arguments':{'city':'Z'}}]},"
	    "{'text':'fine'}]},{'match':'TIMEOUTX','replies':[{'delay_ms':5000,'text':'late'}]},"
	    "{'match':'RPMX','replies':[{'text':'paced'}]}]}");
	rec_init(&r);
	start(&r, &ag, &t, NULL);
	run_with_tools(&r.done, 1, 10000);
	json_t *body = last_body_with("BIGTOOL");
	T_OK(r.outcome == ENGINE_SUCCEEDED &&
	         tool_messages(body, "[troupe: the tool's result was cut to 16384 of its 49151 "
	                             "bytes]") == 1,
	     "a tool result over the limit is cut with a note");
	json_decref(body);
	rec_free(&r);

	/* max_execution_time_s */
	ag.ntools = 0;
	ag.max_execution_time_s = 1;
	t.description = "TIMEOUTX wait";
	rec_init(&r);
	start(&r, &ag, &t, NULL);
	run_until(&r.done, 1, 4000);
	T_OK(r.outcome == ENGINE_TIMEOUT && r.error && strstr(r.error, "max_execution_time_s"),
	     "max_execution_time_s 1 ends a 5 s call as timeout (%s)", r.error ? r.error : "-");
	rec_free(&r);

	/* max_rpm: the window's arithmetic, then an attempt that waits for it */
	T_OK(engine_rpm_take(&rpm, 0, &wake) && engine_rpm_take(&rpm, 1000, &wake), "rpm 2: two requests pass");
	T_OK(!engine_rpm_take(&rpm, 2000, &wake) && wake == 60000000,
	     "rpm 2: the third waits until the first is 60 s old");
	T_OK(engine_rpm_take(&rpm, 60000000, &wake) && !engine_rpm_take(&rpm, 60000500, &wake) && wake == 60001000,
	     "rpm 2: a slot frees one minute after each request");
	ag.max_execution_time_s = 0;
	ag.rpm = &rpm;
	engine_rpm_take(&rpm, time_mono_us(), &wake);
	engine_rpm_take(&rpm, time_mono_us(), &wake);
	t.description = "RPMX go";
	rec_init(&r);
	struct engine_attempt *at = start(&r, &ag, &t, NULL);
	for (int i = 0; i < 20; i++)
		engine_loop_run(loop, 5);
	T_OK(r.done == 0 && count_type(&r, "llm.started") == 0, "max_rpm: with the window full no call starts");
	engine_attempt_cancel(at, NULL);
	run_until(&r.done, 1, 1000);
	T_OK(r.outcome == ENGINE_CANCELLED, "max_rpm: a waiting attempt cancels at once");
	rec_free(&r);
	engine_rpm_free(&rpm);
}

static void test_sequential_context(void)
{
	static const char *const only_a[] = {"task_a"};
	struct engine_agent a1 = agent_for("Researcher"), a2 = agent_for("Writer"), a3 = agent_for("Editor");
	const struct engine_agent *agents[] = {&a1, &a2, &a3, &a1, &a2};
	struct engine_task tasks[] = {
	    {.key = "task_a", .description = "SEQA research {topic}", .expected_output = "facts"},
	    {.key = "task_b", .description = "SEQB write", .expected_output = "text"},
	    {.key = "task_c",
	     .description = "SEQC edit",
	     .expected_output = "text",
	     .context_set = true,
	     .context = only_a,
	     .ncontext = 1},
	    {.key = "task_d",
	     .description = "SEQD fresh",
	     .expected_output = "text",
	     .context_set = true,
	     .ncontext = 0},
	    {.key = "task_e", .description = "SEQE all", .expected_output = "text"},
	};
	json_t *inputs = json_pack("{s:s}", "topic", "owls");
	struct crew_rec c;

	memset(&c, 0, sizeof(c));
	c.r.events = json_array();
	fake_scriptq("{'rules':[{'match':'SEQA','replies':[{'text':'OUT-A owls hunt at night'}]},"
	             "{'match':'SEQB','replies':[{'text':'OUT-B'}]},{'match':'SEQC','replies':[{'text':'OUT-C'}]},"
	             "{'match':'SEQD','replies':[{'text':'OUT-D'}]},{'match':'SEQE','replies':[{'text':'OUT-E'}]}]}");
	struct engine_crew_spec s = {.agents = agents,
	                             .tasks = tasks,
	                             .ntasks = 5,
	                             .inputs = inputs,
	                             .on_event = crew_event,
	                             .on_task_done = crew_task_done,
	                             .on_done = crew_done,
	                             .ud = &c};
	engine_crew_start(loop, &s);
	run_until(&c.done, 1, 20000);
	T_OK(c.done == 1 && c.outcome == ENGINE_SUCCEEDED && c.tasks_done == 5 && str_eq(c.r.output, "OUT-E"),
	     "sequential: five tasks in order, the crew's output is the last one's (%s)",
	     c.r.output ? c.r.output : "-");
	const char *marks[] = {"SEQA", "SEQB", "SEQC", "SEQD", "SEQE"};
	const char *u[5] = {0};
	json_t *reqs[5];
	for (int i = 0; i < 5; i++) {
		reqs[i] = fake_requests_with(marks[i]);
		u[i] = json_array_size(reqs[i]) == 1 ? user_msg_of(json_array_get(reqs[i], 0)) : NULL;
	}
	T_OK(u[0] && strstr(u[0], "research owls") && !strstr(u[0], "context you're working with"),
	     "task_a: inputs interpolated, no context (first task)");
	T_OK(u[1] && strstr(u[1], "This is the context you're working with:\nOUT-A owls hunt at night\n\nProvide"),
	     "task_b: context absent -> the earlier output");
	T_OK(u[2] && strstr(u[2], "working with:\nOUT-A owls hunt at night\n\nProvide") && !strstr(u[2], "OUT-B"),
	     "task_c: context [task_a] -> only task_a's output");
	T_OK(u[3] && !strstr(u[3], "context you're working with") && !strstr(u[3], "OUT-"),
	     "task_d: context [] -> none");
	T_OK(u[4] && strstr(u[4], "OUT-A owls hunt at night\n\n----------\n\nOUT-B\n\n----------\n\nOUT-C\n\n----------"
	                          "\n\nOUT-D\n\nProvide"),
	     "task_e: context absent -> every earlier output, crewAI's divider between them");
	for (int i = 0; i < 5; i++)
		json_decref(reqs[i]);
	json_decref(inputs);
	rec_free(&c.r);
}

/* Resume: the crew starts at a later task, the stored outputs are its
 * context, attempt numbers continue; a cancel while a task finishes stops
 * the crew before the next task. */
static void test_crew_resume(void)
{
	struct engine_agent a1 = agent_for("Resumer");
	const struct engine_agent *agents[] = {&a1, &a1, &a1};
	struct engine_task tasks[] = {
	    {.key = "ra", .description = "RESA never again", .expected_output = "x"},
	    {.key = "rb", .description = "RESB never again", .expected_output = "x"},
	    {.key = "rc", .description = "RESC now", .expected_output = "x"},
	};
	const char *stored[] = {"STORED-A", "STORED-B"};
	int before[] = {1, 1, 2};
	struct crew_rec c;

	memset(&c, 0, sizeof(c));
	c.r.events = json_array();
	fake_scriptq(
	    "{'rules':[{'match':'RESC','replies':[{'text':'OUT-RC'}]},{'match':'RES','replies':[{'text':'no'}]}]}");
	struct engine_crew_spec s = {.agents = agents,
	                             .tasks = tasks,
	                             .ntasks = 3,
	                             .first_task = 2,
	                             .outputs = stored,
	                             .attempts_before = before,
	                             .on_event = crew_event,
	                             .on_task_done = crew_task_done,
	                             .on_done = crew_done,
	                             .ud = &c};
	engine_crew_start(loop, &s);
	run_until(&c.done, 1, 20000);
	T_OK(c.done == 1 && c.outcome == ENGINE_SUCCEEDED && c.tasks_done == 1 && str_eq(c.r.output, "OUT-RC"),
	     "resume: only the first task without an output runs (%d tasks)", c.tasks_done);
	json_t *ra = fake_requests_with("RESA"), *rc = fake_requests_with("RESC");
	const char *u = json_array_size(rc) == 1 ? user_msg_of(json_array_get(rc, 0)) : NULL;
	T_OK(json_array_size(ra) == 0 && u && strstr(u, "working with:\nSTORED-A\n\n----------\n\nSTORED-B\n"),
	     "resume: the stored outputs are the next task's context");
	json_t *first = json_array_get(c.r.events, 0);
	T_OK(str_eq(json_string_value(json_object_get(first, "type")), "task.started") &&
	         json_integer_value(json_object_get(first, "attempt")) == 3,
	     "resume: attempt numbers continue after the stored ones (3)");
	json_decref(ra);
	json_decref(rc);
	rec_free(&c.r);

	/* a cancel that lands as the first task ends, before the next starts */
	memset(&c, 0, sizeof(c));
	c.r.events = json_array();
	fake_scriptq(
	    "{'rules':[{'match':'CANA','replies':[{'text':'A done'}]},{'match':'CANB','replies':[{'text':'B'}]}]}");
	tasks[0].description = "CANA";
	tasks[1].description = "CANB";
	struct engine_crew_spec s2 = {.agents = agents,
	                              .tasks = tasks,
	                              .ntasks = 2,
	                              .on_event = crew_event,
	                              .on_task_done = crew_task_done,
	                              .on_done = crew_done,
	                              .ud = &c};
	c.cancel_at_task_done = engine_crew_start(loop, &s2);
	run_until(&c.done, 1, 5000);
	json_t *rb = fake_requests_with("CANB");
	T_OK(c.done == 1 && c.outcome == ENGINE_CANCELLED && json_array_size(rb) == 0,
	     "cancel as a task ends: the crew ends cancelled and the next task never starts");
	T_OK(str_eq(c.r.error, "cancelled by a user"), "cancel as a task ends: the crew's error is the reason: %s",
	     c.r.error ? c.r.error : "(none)");
	json_decref(rb);
	rec_free(&c.r);
}

/* ---- many attempts on one loop thread ---- */

static void test_many(void)
{
	enum { N = 200 };
	static struct rec r[N];
	struct engine_agent ag = agent_for("Many");
	struct engine_task t = {.key = "many", .description = "MANYAT go", .expected_output = "x"};
	int done = 0;

	calls_in_flight = calls_peak = 0;
	fake_scriptq("{'rules':[{'match':'MANYAT','replies':[{'delay_ms':300,'text':'ok'}]}]}");
	for (int i = 0; i < N; i++) {
		rec_init(&r[i]);
		start(&r[i], &ag, &t, NULL);
	}
	int64_t until = time_mono_us() + 30000000;
	while (done < N && time_mono_us() < until) {
		engine_loop_run(loop, 20);
		done = 0;
		for (int i = 0; i < N; i++)
			done += r[i].done;
	}
	int ok = 0;
	for (int i = 0; i < N; i++) {
		ok += r[i].outcome == ENGINE_SUCCEEDED && str_eq(r[i].output, "ok");
		rec_free(&r[i]);
	}
	T_EQ_INT(ok, N, "200 attempts on one loop thread all succeed");
	T_EQ_INT(calls_peak, N, "200 LLM calls were in flight at once on the one thread");
}

int main(void)
{
	core_init();
	llm_init();
	test_golden();
	fake_start();
	loop = engine_loop_new(NULL);
	tools_init();
	test_two_tools();
	test_bad_args_and_failure();
	test_repeat();
	test_max_iter();
	test_structured();
	test_cancel();
	test_stream_cut();
	test_limits();
	test_sequential_context();
	test_crew_resume();
	test_many();
	engine_loop_free(&loop);
	json_decref(city_schema);
	fake_stop();
	return t_done();
}
