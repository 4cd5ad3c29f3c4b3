/* engine tool runner (src/engine/toolrun.h): real tools (the calculator
 * built-in and custom HTTP tools pointed at the fake provider) run on the
 * pool for real attempts: two at once, failures and timeouts as results the
 * model sees, cancel while a call is in flight, the result cap, the
 * snapshot's version, no secret in any event. */
#include "core/core.h"
#include "db/db.h"
#include "agents/agents.h"
#include "engine/engine.h"
#include "engine/toolrun.h"
#include "models/models.h"
#include "net/net.h"
#include "fake_llm.h"

#include <stdlib.h>
#include <unistd.h>

#define WS     "00000000-0000-4000-8000-00000000000a"
#define USER   "00000000-0000-4000-8000-0000000000aa"
#define CALC   "00000000-0000-7000-8000-000000000001"
#define SECRET "Bearer tool-secret-value-Q7Z9"

static struct engine_loop *loop;
static struct engine_toolpool *pool;
static struct engine_toolport *port;
static struct agents *agents;
static struct arena *A;

struct rec {
	json_t *events;
	int done;
	enum engine_outcome outcome;
	char *output;
};

static void rec_event(void *ud, const struct engine_event *ev)
{
	struct rec *r = ud;
	if (!str_eq(ev->type, "output.delta"))
		json_array_append_new(r->events, json_pack("{s:s, s:O}", "type", ev->type, "data", ev->data));
}

static void rec_done(void *ud, struct engine_attempt *at, const struct engine_result *res)
{
	struct rec *r = ud;
	(void) at;
	r->done++;
	r->outcome = res->outcome;
	r->output = res->output ? xstrdup(res->output) : NULL;
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

static void run_until(int *flag, int want, int max_ms)
{
	int64_t until = time_mono_us() + (int64_t) max_ms * 1000;
	while (*flag < want && time_mono_us() < until)
		engine_loop_run(loop, 20);
}

/* A custom tool that posts {q} to the fake's chat completions (so scripts shape its answers); path may differ. */
static const char *make_tool(const char *name, const char *path, int max_bytes)
{
	const struct actor who = {.authenticated = true, .user_id = USER, .workspace_id = WS, .role = ROLE_EDITOR};
	struct problem p;
	json_t *out = NULL;
	char *url = arena_printf(A, "%s%s", base, path);
	json_t *in = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s, s:b}], s:{s:s, s:{s:{s:s}}, s:[s]}, s:i}", "name",
	    name, "description", "Asks the oracle.", "method", "POST", "url_template", url, "body_template",
	    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":{q}}]}", "headers", "name", "Content-Type",
	    "value", "application/json", "name", "Authorization", "value", SECRET, "secret", 1, "parameters", "type",
	    "object", "properties", "q", "type", "string", "required", "q", "max_response_bytes", max_bytes);
	problem_init(&p, A);
	enum status st = tools_create(agents, &who, in, A, &out, &p);
	json_decref(in);
	T_EQ_INT(st, ST_CREATED, "custom tool %s created (%s)", name, p.detail ? p.detail : "");
	const char *id = arena_strdup(A, json_string_value(json_object_get(out, "id")));
	json_decref(out);
	return id;
}

/* {tools: {id: resolved}} as workflows_snapshot writes it, each at version (0: current). */
static json_t *snapshot_of(const char *const *ids, const int64_t *versions, int n)
{
	json_t *tools = json_object();
	for (int i = 0; i < n; i++) {
		struct problem p;
		json_t *t = NULL;
		problem_init(&p, A);
		T_EQ_INT(tools_resolve(agents, WS, ids[i], versions ? versions[i] : 0, A, &t, &p), ST_OK,
		         "tool %s resolves", ids[i]);
		json_object_set_new(tools, ids[i], t);
	}
	return json_pack("{s:o}", "tools", tools);
}

struct run {
	struct rec r;
	struct engine_toolset *set;
	struct engine_agent ag;
	struct engine_task task;
	json_t *snapshot, *ids, *inputs;
	struct engine_attempt *at;
};

static void run_start(struct run *x, const char *marker, json_t *snapshot, json_t *tool_ids)
{
	struct problem p;
	memset(x, 0, sizeof(*x));
	x->r.events = json_array();
	x->snapshot = snapshot;
	x->ids = tool_ids;
	x->inputs = json_object();
	x->set = engine_toolset_new(port, WS);
	problem_init(&p, A);
	T_EQ_INT(engine_toolset_agent_tools(x->set, snapshot, tool_ids, &x->ag.tools, &x->ag.ntools, &p), ST_OK,
	         "%s: the agent's tools from the snapshot", marker);
	x->ag.role = "Tester";
	x->ag.goal = "Use tools";
	x->ag.backstory = "A test agent.";
	x->ag.llm = (struct llm_request){.provider = LLM_OPENAI_COMPATIBLE,
	                                 .base_url = base_v1,
	                                 .api_key = "sk-toolrun-test",
	                                 .model = "gpt-4o-mini",
	                                 .timeout_ms = 10000};
	x->task = (struct engine_task){.key = "t", .description = marker, .expected_output = "an answer"};
	struct engine_attempt_spec spec = {.agent = &x->ag,
	                                   .task = &x->task,
	                                   .inputs = x->inputs,
	                                   .attempt = 1,
	                                   .tools = engine_toolset_runner(x->set),
	                                   .on_event = rec_event,
	                                   .on_done = rec_done,
	                                   .ud = &x->r};
	x->at = engine_attempt_start(loop, &spec);
}

static void run_free(struct run *x)
{
	engine_toolset_free(&x->set);
	T_OK(x->set == NULL, "the set's pointer is cleared");
	json_decref(x->r.events);
	free(x->r.output);
	json_decref(x->snapshot);
	json_decref(x->ids);
	json_decref(x->inputs);
}

/* The tool messages of the last provider request whose body mentions marker, joined. */
static char *tool_messages(const char *marker)
{
	json_t *reqs = fake_requests_with(marker);
	json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
	json_t *msgs = json_object_get(json_object_get(last, "body"), "messages");
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < json_array_size(msgs); i++) {
		json_t *m = json_array_get(msgs, i);
		if (str_eq(json_string_value(json_object_get(m, "role")), "tool"))
			buf_printf(&b, "[%s]", json_string_value(json_object_get(m, "content")));
	}
	char *s = arena_strdup(A, b.data ? b.data : "");
	buf_free(&b);
	json_decref(reqs);
	return s;
}

/* The record's times (ms) of the requests whose body mentions marker. */
static int times_of(const char *marker, double *t, int max)
{
	json_t *reqs = fake_requests_with(marker);
	int n = 0;
	for (size_t i = 0; i < json_array_size(reqs) && n < max; i++)
		t[n++] = json_real_value(json_object_get(json_array_get(reqs, i), "time")) +
		         (double) json_integer_value(json_object_get(json_array_get(reqs, i), "time"));
	json_decref(reqs);
	return n;
}

static void test_two_at_once(const char *oracle)
{
	struct run x;
	fake_scriptq("{'rules':[{'match':'RUNTWO','replies':[{'tool_calls':[{'name':'calculator','arguments':"
	             "{'expression':'2+3'}},{'name':'oracle','arguments':{'q':'ASKSLOW'}}]},{'text':'Done: 5.'}]},"
	             "{'match':'ASKSLOW','replies':[{'delay_ms':400,'text':'the oracle says yes'}]}]}");
	run_start(&x, "RUNTWO", snapshot_of((const char *[]){CALC, oracle}, NULL, 2), json_pack("[s,s]", CALC, oracle));
	run_until(&x.r.done, 1, 10000);
	T_OK(x.r.done == 1 && x.r.outcome == ENGINE_SUCCEEDED && str_eq(x.r.output, "Done: 5."),
	     "two tools: the task ends with the final answer (%s)", x.r.output ? x.r.output : "-");
	char *tm = tool_messages("RUNTWO");
	T_OK(strstr(tm, "\"result\":5") != NULL, "two tools: the calculator's answer is a tool message (%s)", tm);
	T_OK(strstr(tm, "the oracle says yes") != NULL, "two tools: the custom tool's body is a tool message");
	T_EQ_INT(count_type(&x.r, "tool.completed"), 2, "two tools: two tool.completed events");
	char *ev = json_dumps(x.r.events, JSON_COMPACT);
	T_OK(ev && !strstr(ev, "tool-secret-value"), "two tools: no event carries the tool's secret header");
	free(ev);
	json_t *asked = fake_requests_with("ASKSLOW"); /* the tool's request comes first */
	json_t *auth = json_object_get(json_object_get(json_array_get(asked, 0), "headers"), "authorization");
	T_EQ_STR(json_string_value(auth), SECRET, "the secret header reached the tool's server");
	json_decref(asked);
	run_free(&x);
}

/* Two slow calls of one turn overlap on the pool: the second reached the server before the first answered. */
static void test_parallel(const char *oracle)
{
	struct run x;
	double t[4];
	fake_scriptq("{'rules':[{'match':'RUNPAR','replies':[{'tool_calls':[{'name':'oracle','arguments':"
	             "{'q':'PARONE'}},{'name':'oracle','arguments':{'q':'PARTWO'}}]},{'text':'both'}]},"
	             "{'match':'PARONE','replies':[{'delay_ms':1000,'text':'one'}]},"
	             "{'match':'PARTWO','replies':[{'delay_ms':1000,'text':'two'}]}]}");
	run_start(&x, "RUNPAR", snapshot_of((const char *[]){oracle}, NULL, 1), json_pack("[s]", oracle));
	run_until(&x.r.done, 1, 10000);
	T_OK(x.r.outcome == ENGINE_SUCCEEDED, "parallel: succeeded");
	int n1 = times_of("PARONE", t, 1), n2 = times_of("PARTWO", t + 1, 1);
	T_OK(n1 == 1 && n2 == 1, "parallel: each call reached the server once");
	double gap = t[1] > t[0] ? t[1] - t[0] : t[0] - t[1];
	/* one after the other, the second would arrive when the first answered, 1000 ms later */
	T_OK(gap < 1000, "parallel: the two calls ran at once, not one after the other (%.0f ms apart)", gap);
	run_free(&x);
}

static void test_failures(const char *oracle, const char *broken)
{
	struct run x;
	fake_scriptq("{'rules':[{'match':'RUNFAIL','replies':[{'tool_calls':[{'name':'broken','arguments':"
	             "{'q':'x'}},{'name':'calculator','arguments':{'expression':'1/0'}}]},{'text':'gave up'}]}]}");
	run_start(&x, "RUNFAIL", snapshot_of((const char *[]){CALC, broken}, NULL, 2),
	          json_pack("[s,s]", CALC, broken));
	run_until(&x.r.done, 1, 10000);
	T_OK(x.r.outcome == ENGINE_SUCCEEDED, "failures: the task still ends with an answer");
	char *tm = tool_messages("RUNFAIL");
	T_OK(strstr(tm, "HTTP 404") != NULL, "a custom tool's HTTP 404 is a failure the model sees (%s)", tm);
	T_OK(strstr(tm, "expression") != NULL, "the calculator's refusal names the argument");
	T_EQ_INT(count_type(&x.r, "tool.failed"), 2, "two tool.failed events");
	run_free(&x);
	(void) oracle;
}

static void test_timeout(const char *oracle)
{
	struct run x;
	fake_scriptq("{'rules':[{'match':'RUNLATE','replies':[{'tool_calls':[{'name':'oracle','arguments':"
	             "{'q':'ASKLATE'}}]},{'text':'no answer came'}]},"
	             "{'match':'ASKLATE','replies':[{'delay_ms':2500,'text':'too late'}]}]}");
	run_start(&x, "RUNLATE", snapshot_of((const char *[]){oracle}, NULL, 1), json_pack("[s]", oracle));
	run_until(&x.r.done, 1, 10000);
	T_OK(x.r.outcome == ENGINE_SUCCEEDED, "timeout: the task goes on");
	char *tm = tool_messages("RUNLATE");
	T_OK(strstr(tm, "did not answer within 1 s") != NULL, "timeout: the model is told (%s)", tm);
	T_OK(!strstr(tm, "too late"), "timeout: the late answer is dropped");
	run_free(&x);
}

static void test_cancel(const char *oracle)
{
	struct run x;
	fake_scriptq("{'rules':[{'match':'RUNCANCEL','replies':[{'tool_calls':[{'name':'oracle','arguments':"
	             "{'q':'ASKCANCEL'}}]},{'text':'never'}]},"
	             "{'match':'ASKCANCEL','replies':[{'delay_ms':2500,'text':'too late'}]}]}");
	run_start(&x, "RUNCANCEL", snapshot_of((const char *[]){oracle}, NULL, 1), json_pack("[s]", oracle));
	int started = 0;
	int64_t until = time_mono_us() + 5000000;
	while (!started && time_mono_us() < until) {
		engine_loop_run(loop, 20);
		started = count_type(&x.r, "tool.started");
	}
	T_EQ_INT(started, 1, "cancel: the tool call is in flight");
	engine_attempt_cancel(x.at, NULL);
	int turns = 0;
	while (!x.r.done && turns++ < 5)
		engine_loop_run(loop, 0);
	T_OK(x.r.done == 1 && x.r.outcome == ENGINE_CANCELLED,
	     "cancel: the attempt ends at once, without waiting for the tool (%s)", engine_outcome_name(x.r.outcome));
	json_t *f = nth_of(&x.r, "tool.failed", 0);
	T_OK(f && strstr(json_string_value(json_object_get(f, "error")), "cancelled"), "cancel: tool.failed says so");
	run_free(&x);
}

static void test_cap(const char *big)
{
	struct run x;
	struct buf text;
	buf_init(&text, 0);
	for (int i = 0; i < 5000; i++)
		buf_puts(&text, "0123456789");
	char *rules = xasprintf("{\"rules\":[{\"match\":\"RUNBIG\",\"replies\":[{\"tool_calls\":[{\"name\":\"bigtool\","
	                        "\"arguments\":{\"q\":\"ASKBIG\"}}]},{\"text\":\"read it\"}]},"
	                        "{\"match\":\"ASKBIG\",\"replies\":[{\"text\":\"%s\"}]}]}",
	                        text.data);
	fake_script(rules);
	free(rules);
	buf_free(&text);
	run_start(&x, "RUNBIG", snapshot_of((const char *[]){big}, NULL, 1), json_pack("[s]", big));
	run_until(&x.r.done, 1, 10000);
	T_OK(x.r.outcome == ENGINE_SUCCEEDED, "cap: succeeded");
	char *tm = tool_messages("RUNBIG");
	T_OK(strlen(tm) < ENGINE_TOOL_RESULT_MAX + 200, "cap: the tool message is cut (%zu bytes)", strlen(tm));
	T_OK(strstr(tm, "the tool's result was cut") != NULL, "cap: with a note");
	run_free(&x);
}

/* The snapshot pins version 1; version 2 points elsewhere; the call goes where version 1 said. */
static void test_version(const char *oracle)
{
	const struct actor who = {.authenticated = true, .user_id = USER, .workspace_id = WS, .role = ROLE_EDITOR};
	struct problem p;
	json_t *out = NULL;
	problem_init(&p, A);
	json_t *patch = json_pack("{s:s}", "url_template", arena_printf(A, "%s/moved-away", base));
	T_EQ_INT(tools_update(agents, &who, oracle, patch, A, &out, &p), ST_OK, "version: the tool gets version 2");
	json_decref(patch);
	json_decref(out);
	struct run x;
	fake_scriptq("{'rules':[{'match':'RUNPIN','replies':[{'tool_calls':[{'name':'oracle','arguments':"
	             "{'q':'ASKPIN'}}]},{'text':'pinned'}]},{'match':'ASKPIN','replies':[{'text':'version one'}]}]}");
	run_start(&x, "RUNPIN", snapshot_of((const char *[]){oracle}, (const int64_t[]){1}, 1),
	          json_pack("[s]", oracle));
	run_until(&x.r.done, 1, 10000);
	char *tm = tool_messages("RUNPIN");
	T_OK(strstr(tm, "version one") != NULL, "version: the snapshot's version 1 ran, not the current one (%s)", tm);
	run_free(&x);
}

/* The runner's cap reaches the HTTP request: a tool slower than the cap ends as a timeout, on its thread. */
static void test_within(const char *oracle)
{
	struct problem p;
	json_t *out = NULL, *args = json_pack("{s:s}", "q", "ASKWITHIN");
	fake_scriptq("{'rules':[{'match':'ASKWITHIN','replies':[{'delay_ms':3000,'text':'slow'}]}]}");
	problem_init(&p, A);
	enum status st = tools_run_within(agents, WS, oracle, 1, args, 300, A, &out, &p);
	T_EQ_INT(st, ST_TIMEOUT, "within: a 3 s answer under a 300 ms cap is a timeout (%s)", p.detail ? p.detail : "");
	json_decref(out);
	out = NULL;
	fake_scriptq("{'rules':[{'match':'ASKQUICK','replies':[{'text':'quick'}]}]}");
	json_object_set_new(args, "q", json_string("ASKQUICK"));
	problem_init(&p, A);
	T_EQ_INT(tools_run_within(agents, WS, oracle, 1, args, 3000, A, &out, &p), ST_OK,
	         "within: a quick answer passes");
	json_decref(out);
	json_decref(args);
}

static void test_agent_tools_errors(const char *oracle)
{
	struct engine_toolset *set = engine_toolset_new(port, WS);
	const struct engine_tool *t;
	int n;
	struct problem p;
	json_t *snap = snapshot_of((const char *[]){CALC, oracle}, NULL, 2);
	static const struct {
		const char *ids, *field;
	} cases[] = {
	    {"[\"" CALC "\", \"00000000-0000-4000-8000-0000000000ff\"]", "tool_ids[1]"},
	    {"[\"" CALC "\", \"" CALC "\"]", "tool_ids[1]"},
	    {"[7]", "tool_ids[0]"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *ids = json_loads(cases[i].ids, 0, NULL);
		problem_init(&p, A);
		enum status st = engine_toolset_agent_tools(set, snap, ids, &t, &n, &p);
		T_OK(st == ST_UNPROCESSABLE && p.nfields == 1 && str_eq(p.fields[0].field, cases[i].field),
		     "agent tools %s: 422 naming %s (%d)", cases[i].ids, cases[i].field, (int) st);
		json_decref(ids);
	}
	problem_init(&p, A);
	json_t *none = json_array();
	T_OK(engine_toolset_agent_tools(set, snap, none, &t, &n, &p) == ST_OK && n == 0 && !t, "no tools: none");
	json_decref(none);
	json_decref(snap);
	engine_toolset_free(&set);
}

int main(void)
{
	char tmpl[] = "/tmp/troupe-toolrun-XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct arena *a = arena_new();
	struct problem p;
	struct models *models = NULL;
	struct db *db = NULL;
	char err[256];

	core_init();
	llm_init();
	A = a;
	problem_init(&p, a);
	fake_start();
	char *url = xasprintf("sqlite:%s/toolrun.db", dir);
	struct db_options o = {.url = url};
	struct net_policy *pol = net_policy_new("127.0.0.1/32", err, sizeof(err));
	T_OK(pol != NULL, "net policy (%s)", pol ? "" : err);
	if (db_open(&o, &db, &p) != ST_OK || db_migrate(db, &p) != ST_OK ||
	    models_new(db, "unit-test-server-secret-0123456789abcdef", &models, &p) != ST_OK ||
	    agents_new(db, models, pol, &agents, &p) != ST_OK) {
		printf("Bail out! setup: %s\n", p.detail ? p.detail : "?");
		fake_stop();
		return 1;
	}
	db_exec1(
	    db, DB_WRITE, a, NULL,
	    "INSERT INTO workspaces (id, name, personal, created_by, created_at, updated_at) VALUES (?, ?, 0, ?, 1, 1)",
	    DB_ARGS(db_text(WS), db_text(WS), db_text(USER)), &p);
	const char *oracle = make_tool("oracle", "/v1/chat/completions", 0);
	const char *broken = make_tool("broken", "/no-such-path", 0);
	const char *big = make_tool("bigtool", "/v1/chat/completions", 200000);

	loop = engine_loop_new(NULL);
	pool = engine_toolpool_new(agents, 4, 1);
	port = engine_toolport_new(pool, loop);
	test_two_at_once(oracle);
	test_parallel(oracle);
	test_failures(oracle, broken);
	test_timeout(oracle);
	test_cancel(oracle);
	test_cap(big);
	test_version(oracle);
	test_within(oracle);
	test_agent_tools_errors(oracle);
	engine_loop_free(&loop);
	engine_toolport_free(&port);
	T_OK(port == NULL, "the port's pointer is cleared");
	engine_toolpool_free(&pool); /* waits for the timed-out and cancelled calls still running */
	T_OK(pool == NULL, "the pool's pointer is cleared");

	agents_free(&agents);
	models_free(&models);
	net_policy_free(&pol);
	db_close(&db);
	free(url);
	arena_free(&a);
	char *rm = xasprintf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		printf("# could not remove %s\n", dir);
	free(rm);
	fake_stop();
	return t_done();
}
