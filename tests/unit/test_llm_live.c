/*
 * llm against tests/fake-llm/server.js: every wire format end to end, and
 * the promises that need a real server: retries on 429 and 500s, stalled
 * streams, cancel, the rpm limiter, and errors that tell apart a bad key, a
 * missing model and a host that is not there.
 */
#include "llm/llm.h"
#include "core/core.h"
#include "t.h"
#include "fake_llm.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- requests ---- */

struct prov {
	const char *name;
	enum llm_provider kind;
	const char *base;
	const char *path; /* where the fake records it */
};

static struct llm_request make_req(const struct prov *p, const struct llm_message *msgs, int n)
{
	struct llm_request r = {
	    .provider = p->kind,
	    .base_url = p->base,
	    .api_key = "sk-live-test-key",
	    .model = p->kind == LLM_ANTHROPIC ? "claude-3-5-haiku-latest" : "gpt-4o-mini",
	    .deployment = p->kind == LLM_AZURE_OPENAI ? "gpt4o-deploy" : NULL,
	    .api_version = p->kind == LLM_AZURE_OPENAI ? "2024-10-21" : NULL,
	    .messages = msgs,
	    .nmessages = n,
	    .timeout_ms = 10000,
	    .input_per_mtok = 1,
	    .output_per_mtok = 2,
	};
	return r;
}

struct deltas {
	int n;
	struct buf text;
};

static void count_delta(void *ud, const struct llm_delta *d)
{
	struct deltas *x = ud;
	x->n++;
	if (d->kind == LLM_DELTA_TEXT)
		buf_append(&x->text, d->text, d->len);
}

static void test_provider(struct llm_client *c, const struct prov *p)
{
	struct llm_response r;
	char prompt[128], marker[64], rules[1024];
	struct llm_message m = {.role = LLM_ROLE_USER, .content = prompt};

	/* plain */
	snprintf(prompt, sizeof(prompt), "hello from %s", p->name);
	struct llm_request req = make_req(p, &m, 1);
	enum llm_error e = llm_call(c, &req, &r);
	char want[160];
	snprintf(want, sizeof(want), "echo: %s", prompt);
	T_EQ_INT(e, LLM_ERR_NONE, "%s plain call: %s", p->name, r.rec.error_message ? r.rec.error_message : "ok");
	T_EQ_STR(r.text, want, "%s plain text", p->name);
	T_EQ_STR(r.finish_reason, "stop", "%s finish reason", p->name);
	T_OK(r.rec.prompt_tokens > 0 && r.rec.completion_tokens > 0, "%s usage %lld/%lld", p->name,
	     (long long) r.rec.prompt_tokens, (long long) r.rec.completion_tokens);
	T_OK(r.rec.cost > 0 && r.rec.cost == llm_cost(&req, r.rec.prompt_tokens, r.rec.completion_tokens, 0),
	     "%s cost from usage and prices: %g", p->name, r.rec.cost);
	T_OK(r.rec.attempts == 1 && r.rec.http_status == 200 && r.rec.model, "%s record: 1 attempt, 200, model %s",
	     p->name, r.rec.model ? r.rec.model : "(none)");
	llm_response_free(&r);

	json_t *sent = last_request(p->path);
	json_t *h = json_object_get(sent, "headers");
	const char *key = p->kind == LLM_AZURE_OPENAI ? "api-key"
	                  : p->kind == LLM_ANTHROPIC  ? "x-api-key"
	                                              : "authorization";
	const char *keyval = json_string_value(json_object_get(h, key));
	T_OK(keyval && strstr(keyval, "sk-live-test-key"), "%s sends the key in %s", p->name, key);
	if (p->kind == LLM_ANTHROPIC)
		T_EQ_STR(json_string_value(json_object_get(h, "anthropic-version")), "2023-06-01",
		         "anthropic-version header");
	json_decref(sent);

	/* streaming */
	struct deltas d = {0};
	buf_init(&d.text, 0);
	req.stream = true;
	req.on_delta = count_delta;
	req.delta_ud = &d;
	e = llm_call(c, &req, &r);
	T_EQ_INT(e, LLM_ERR_NONE, "%s streaming call: %s", p->name, r.rec.error_message ? r.rec.error_message : "ok");
	T_EQ_STR(r.text, want, "%s streamed text", p->name);
	T_OK(d.n > 1 && str_eq(d.text.data, want), "%s deltas: %d pieces", p->name, d.n);
	T_OK(r.rec.ttft_ms >= 0 && r.rec.ttft_ms <= r.rec.latency_ms, "%s ttft %lld ms <= latency %lld ms", p->name,
	     (long long) r.rec.ttft_ms, (long long) r.rec.latency_ms);
	T_OK(r.rec.prompt_tokens > 0 && r.rec.completion_tokens > 0 && r.rec.cost > 0, "%s streamed usage and cost",
	     p->name);
	llm_response_free(&r);
	buf_free(&d.text);
	req.stream = false;
	req.on_delta = NULL;

	/* tool call round trip, plain then streamed */
	for (int streamed = 0; streamed < 2; streamed++) {
		snprintf(marker, sizeof(marker), "TOOLRT-%s-%d", p->name, streamed);
		snprintf(rules, sizeof(rules),
		         "{\"rules\":[{\"match\":\"%s\",\"replies\":[{\"tool_calls\":[{\"name\":\"get_weather\","
		         "\"arguments\":{\"city\":\"Paris\"}}]},{\"text\":\"It is sunny in Paris.\"}]}]}",
		         marker);
		fake_script(rules);
		snprintf(prompt, sizeof(prompt), "%s: what is the weather in Paris?", marker);
		json_t *params = json_loads("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
		                            "\"required\":[\"city\"]}",
		                            0, NULL);
		struct llm_tool tool = {.name = "get_weather", .description = "Current weather", .parameters = params};
		req.tools = &tool;
		req.ntools = 1;
		req.stream = streamed;
		e = llm_call(c, &req, &r);
		T_OK(e == LLM_ERR_NONE && r.ntool_calls == 1 && str_eq(r.tool_calls[0].name, "get_weather") &&
		         str_eq(r.tool_calls[0].arguments, "{\"city\":\"Paris\"}") && r.tool_calls[0].id &&
		         str_eq(r.finish_reason, "tool_calls"),
		     "%s%s tool call: %s(%s)", p->name, streamed ? " streamed" : "",
		     r.ntool_calls ? r.tool_calls[0].name : "-", r.ntool_calls ? r.tool_calls[0].arguments : "-");
		struct llm_tool_call tc = {0};
		if (r.ntool_calls)
			tc = r.tool_calls[0];
		struct llm_message turn[] = {
		    m,
		    {.role = LLM_ROLE_ASSISTANT, .tool_calls = &tc, .ntool_calls = 1},
		    {.role = LLM_ROLE_TOOL, .tool_call_id = tc.id, .content = "{\"sky\":\"clear\"}"},
		};
		struct llm_request req2 = req;
		req2.messages = turn;
		req2.nmessages = 3;
		struct llm_response r2;
		e = llm_call(c, &req2, &r2);
		T_OK(e == LLM_ERR_NONE && str_eq(r2.text, "It is sunny in Paris."), "%s%s tool result answered: %s",
		     p->name, streamed ? " streamed" : "", r2.text ? r2.text : "(null)");
		json_t *lr2 = last_request(p->path);
		json_t *back = json_object_get(lr2, "body");
		json_t *msgs = json_object_get(back, "messages");
		char *dump = json_dumps(msgs, JSON_COMPACT);
		bool ok = p->kind == LLM_ANTHROPIC
		              ? strstr(dump, "\"tool_result\"") && strstr(dump, "\"tool_use\"")
		              : strstr(dump, "\"role\":\"tool\"") && strstr(dump, "\"tool_call_id\"");
		T_OK(ok && tc.id && strstr(dump, tc.id), "%s sends the tool result in its own shape", p->name);
		free(dump);
		json_decref(lr2);
		llm_response_free(&r);
		llm_response_free(&r2);
		json_decref(params);
		req.tools = NULL;
		req.ntools = 0;
	}
	req.stream = false;

	/* JSON schema response, with a usage override for the cost */
	snprintf(marker, sizeof(marker), "JSON-%s", p->name);
	snprintf(rules, sizeof(rules),
	         "{\"rules\":[{\"match\":\"%s\",\"replies\":[{\"json\":{\"answer\":42,\"unit\":\"none\"},"
	         "\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":2000}}]}]}",
	         marker);
	fake_script(rules);
	snprintf(prompt, sizeof(prompt), "%s: answer as JSON", marker);
	json_t *schema =
	    json_loads("{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"integer\"},\"unit\":"
	               "{\"type\":\"string\"}},\"required\":[\"answer\",\"unit\"],\"additionalProperties\":false}",
	               0, NULL);
	req.format = LLM_FORMAT_JSON_SCHEMA;
	req.schema = schema;
	req.schema_name = "answer";
	req.schema_strict = true;
	e = llm_call(c, &req, &r);
	json_t *got = r.text ? json_loads(r.text, 0, NULL) : NULL;
	T_OK(e == LLM_ERR_NONE && json_integer_value(json_object_get(got, "answer")) == 42, "%s JSON schema answer: %s",
	     p->name, r.text ? r.text : "(null)");
	T_OK(r.rec.prompt_tokens == 1000 && r.rec.completion_tokens == 2000 && r.rec.cost > 0.004999 &&
	         r.rec.cost < 0.005001,
	     "%s cost of 1000 in at 1/M and 2000 out at 2/M: %g", p->name, r.rec.cost);
	json_t *lr = last_request(p->path);
	json_t *body = json_object_get(lr, "body");
	if (p->kind == LLM_ANTHROPIC)
		T_EQ_STR(json_string_value(json_object_get(json_object_get(body, "tool_choice"), "name")),
		         "json_response", "anthropic: JSON through a forced tool");
	else
		T_EQ_STR(json_string_value(json_object_get(json_object_get(body, "response_format"), "type")),
		         "json_schema", "%s: response_format json_schema sent", p->name);
	json_decref(lr);
	json_decref(got);
	json_decref(schema);
	llm_response_free(&r);
}

/* ---- resilience ---- */

static struct llm_request openai_req(struct llm_message *m)
{
	struct llm_request r = {
	    .provider = LLM_OPENAI,
	    .base_url = base_v1,
	    .api_key = "sk-live-test-key",
	    .model = "gpt-4o-mini",
	    .messages = m,
	    .nmessages = 1,
	    .timeout_ms = 10000,
	    .backoff_base_ms = 20,
	};
	return r;
}

static void test_retries(struct llm_client *c)
{
	struct llm_message m = {.role = LLM_ROLE_USER};
	struct llm_request req = openai_req(&m);
	struct llm_response r;

	fake_script("{\"rules\":["
	            "{\"match\":\"RL429\",\"replies\":[{\"status\":429,\"retry_after\":1},{\"text\":\"after 429\"}]},"
	            "{\"match\":\"FIVE500\",\"replies\":[{\"status\":500},{\"status\":500},{\"status\":500},"
	            "{\"status\":500},{\"status\":500},{\"text\":\"after five 500s\"}]},"
	            "{\"match\":\"STALL\",\"replies\":[{\"stall_ms\":3000},{\"text\":\"after a stall\"}]},"
	            "{\"match\":\"HANGING\",\"replies\":[{\"stall_ms\":3000}]},"
	            "{\"match\":\"CUT\",\"replies\":[{\"disconnect\":true},{\"text\":\"after a cut\"}]},"
	            "{\"match\":\"BROKEN\",\"replies\":[{\"raw\":\"broken { json\"}]},"
	            "{\"match\":\"ALWAYS500\",\"replies\":[{\"status\":500}]}]}");

	m.content = "RL429 please";
	int64_t t0 = time_mono_us();
	llm_call(c, &req, &r);
	int64_t ms = (time_mono_us() - t0) / 1000;
	T_OK(r.rec.error == LLM_ERR_NONE && str_eq(r.text, "after 429"), "429 then success: %s",
	     r.rec.error_message ? r.rec.error_message : r.text);
	T_OK(ms >= 1000 && r.rec.retries == 1, "Retry-After: 1 honoured: %lld ms, %d retries", (long long) ms,
	     r.rec.retries);
	llm_response_free(&r);

	m.content = "FIVE500 please";
	t0 = time_mono_us();
	llm_call(c, &req, &r);
	ms = (time_mono_us() - t0) / 1000;
	T_OK(r.rec.error == LLM_ERR_NONE && str_eq(r.text, "after five 500s") && r.rec.attempts == 6,
	     "five 500s then success in %d attempts, %lld ms", r.rec.attempts, (long long) ms);
	llm_response_free(&r);

	m.content = "ALWAYS500 please";
	req.max_attempts = 3;
	llm_call(c, &req, &r);
	T_OK(r.rec.error == LLM_ERR_SERVER && r.rec.attempts == 3 && r.rec.error_message &&
	         strstr(r.rec.error_message, "HTTP 500") && strstr(r.rec.error_message, "3 attempts"),
	     "500s past the limit: %s", r.rec.error_message ? r.rec.error_message : "-");
	llm_response_free(&r);
	req.max_attempts = 0;

	m.content = "STALL please";
	req.stream = true;
	req.idle_timeout_ms = 300;
	t0 = time_mono_us();
	llm_call(c, &req, &r);
	ms = (time_mono_us() - t0) / 1000;
	T_OK(r.rec.error == LLM_ERR_NONE && str_eq(r.text, "after a stall") && r.rec.attempts == 2 && ms < 2500,
	     "a stalled stream times out and is retried: %d attempts, %lld ms", r.rec.attempts, (long long) ms);
	llm_response_free(&r);

	m.content = "HANGING please";
	req.max_attempts = 2;
	llm_call(c, &req, &r);
	T_OK(r.rec.error == LLM_ERR_TIMEOUT && r.rec.error_message && strstr(r.rec.error_message, "stalled"),
	     "a stream that keeps stalling fails as a timeout: %s", r.rec.error_message ? r.rec.error_message : "-");
	llm_response_free(&r);
	req.max_attempts = 0;

	m.content = "CUT please";
	llm_call(c, &req, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && str_eq(r.text, "after a cut") && r.rec.attempts == 2,
	     "a stream cut mid-way is retried: %s", r.rec.error_message ? r.rec.error_message : r.text);
	llm_response_free(&r);
	req.stream = false;

	m.content = "BROKEN please";
	llm_call(c, &req, &r);
	T_OK(r.rec.error == LLM_ERR_PARSE && r.rec.attempts == 1,
	     "a broken JSON answer is a parse error, not retried: %s", r.rec.error_message ? r.rec.error_message : "-");
	llm_response_free(&r);
}

struct canceller {
	struct llm_call *call;
	int64_t at_us;
};

static void *cancel_later(void *ud)
{
	struct canceller *cx = ud;
	usleep(200000);
	cx->at_us = time_mono_us();
	llm_call_cancel(cx->call);
	return NULL;
}

struct done_flag {
	bool done;
	int64_t at_us;
	enum llm_error err;
	char *text;
};

static void on_done(struct llm_call *call, struct llm_response *r, void *ud)
{
	struct done_flag *f = ud;
	(void) call;
	f->done = true;
	f->at_us = time_mono_us();
	f->err = r->rec.error;
	f->text = r->text ? xstrdup(r->text) : NULL;
}

static void test_cancel(struct llm_client *c)
{
	struct llm_message m = {.role = LLM_ROLE_USER, .content = "SLOWCANCEL please"};
	struct llm_request req = openai_req(&m);
	struct done_flag f = {0}, other = {0};
	pthread_t th;

	fake_script("{\"rules\":[{\"match\":\"SLOWCANCEL\",\"replies\":[{\"delay_ms\":3000,\"text\":\"too late\"}]},"
	            "{\"match\":\"BESIDE\",\"replies\":[{\"delay_ms\":400,\"text\":\"beside\"}]}]}");
	struct canceller cx = {.call = llm_call_start(c, &req, on_done, &f)};
	struct llm_message m2 = {.role = LLM_ROLE_USER, .content = "BESIDE the cancelled one"};
	struct llm_request req2 = openai_req(&m2);
	llm_call_start(c, &req2, on_done, &other);
	pthread_create(&th, NULL, cancel_later, &cx);
	while (!f.done || !other.done)
		llm_client_run(c, 1000);
	pthread_join(th, NULL);
	int64_t ms = (f.at_us - cx.at_us) / 1000;
	T_OK(f.err == LLM_ERR_CANCELLED && ms < 100, "cancel from another thread ends the call in %lld ms",
	     (long long) ms);
	T_OK(other.err == LLM_ERR_NONE && str_eq(other.text, "beside"), "the call beside it is untouched");
	free(f.text);
	free(other.text);
}

static void test_limiter(struct llm_client *c, struct llm_limiter *lim)
{
	enum { N = 20, RPM = 300 };
	struct llm_message m = {.role = LLM_ROLE_USER, .content = "paced"};
	struct llm_request req = openai_req(&m);
	struct done_flag f[N] = {{0}};

	req.model = "paced-model";
	llm_limiter_set(lim, "paced-model", &(struct llm_limit){.rpm = RPM});
	int64_t t0 = time_mono_us();
	for (int i = 0; i < N; i++)
		llm_call_start(c, &req, on_done, &f[i]);
	llm_client_perform_all(c);
	int64_t ms = (time_mono_us() - t0) / 1000;
	int ok = 0;
	for (int i = 0; i < N; i++) {
		ok += f[i].err == LLM_ERR_NONE;
		free(f[i].text);
	}
	T_EQ_INT(ok, N, "all %d limited calls succeed (waiting, not failing)", N);

	/* the fake's clock: no window of one second holds more than rpm/60 of them */
	json_t *all = fake_http("/_requests", NULL), *reqs = json_object_get(all, "requests");
	double t[N];
	int n = 0;
	for (size_t i = 0; i < json_array_size(reqs) && n < N; i++) {
		json_t *r = json_array_get(reqs, i);
		if (str_eq(json_string_value(json_object_get(json_object_get(r, "body"), "model")), "paced-model"))
			t[n++] = json_number_value(json_object_get(r, "time"));
	}
	int worst = 0;
	for (int i = 0; i < n; i++) {
		int k = 0;
		/* 1 ms of slack for the loopback's jitter between requests */
		for (int j = i; j < n; j++)
			k += t[j] - t[i] < 999.0;
		worst = k > worst ? k : worst;
	}
	T_EQ_INT(n, N, "the fake saw every limited call");
	T_OK(worst <= RPM / 60, "rpm %d: at most %d in any second, saw %d", RPM, RPM / 60, worst);
	T_OK(ms >= (N - 1) * 60000 / RPM - 50, "pacing took %lld ms (>= %d)", (long long) ms, (N - 1) * 60000 / RPM);
	json_decref(all);
}

static int closed_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), port;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	bind(s, (struct sockaddr *) &a, sizeof(a));
	getsockname(s, (struct sockaddr *) &a, &len);
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

static void test_errors(struct llm_client *c)
{
	struct llm_message m = {.role = LLM_ROLE_USER, .content = "hi"};
	struct llm_request req = openai_req(&m);
	struct llm_response a, b, u, an;
	char unreachable[64];

	req.api_key = "bad-key";
	llm_call(c, &req, &a);
	req.api_key = "sk-live-test-key";
	req.model = "no-such-model";
	llm_call(c, &req, &b);
	snprintf(unreachable, sizeof(unreachable), "http://127.0.0.1:%d/v1", closed_port());
	req.base_url = unreachable;
	req.model = "gpt-4o-mini";
	req.max_attempts = 2;
	llm_call(c, &req, &u);
	struct prov ap = {"anthropic", LLM_ANTHROPIC, base, "/v1/messages"};
	struct llm_request areq = make_req(&ap, &m, 1);
	areq.model = "no-such-model";
	llm_call(c, &areq, &an);

	T_OK(a.rec.error == LLM_ERR_AUTH && strstr(a.rec.error_message, "HTTP 401") &&
	         strstr(a.rec.error_message, "Incorrect API key") && a.rec.attempts == 1,
	     "bad key: %s", a.rec.error_message);
	T_OK(!strstr(a.rec.error_message, "bad-key"), "the key the provider echoed is redacted");
	T_OK(b.rec.error == LLM_ERR_NOT_FOUND && strstr(b.rec.error_message, "HTTP 404") &&
	         strstr(b.rec.error_message, "does not exist") && b.rec.attempts == 1,
	     "missing model: %s", b.rec.error_message);
	T_OK(u.rec.error == LLM_ERR_NETWORK && strstr(u.rec.error_message, "cannot connect") && u.rec.attempts == 2,
	     "unreachable host: %s", u.rec.error_message);
	T_OK(an.rec.error == LLM_ERR_NOT_FOUND && strstr(an.rec.error_message, "not_found_error: model: no-such-model"),
	     "anthropic missing model: %s", an.rec.error_message);
	T_OK(!strstr(u.rec.error_message, "sk-live") && !strstr(b.rec.error_message, "sk-live"),
	     "no key in any message");
	llm_response_free(&a);
	llm_response_free(&b);
	llm_response_free(&u);
	llm_response_free(&an);

	/* an unbuildable request ends through the callback too */
	struct llm_request bad = openai_req(&m);
	bad.nmessages = 0;
	llm_call(c, &bad, &a);
	T_OK(a.rec.error == LLM_ERR_BAD_REQUEST && strstr(a.rec.error_message, "message") && a.rec.attempts == 0,
	     "unbuildable request: %s", a.rec.error_message);
	llm_response_free(&a);
}

static void test_embeddings(struct llm_client *c)
{
	const char *inputs[10] = {"alpha", "beta", "gamma", "delta", "epsilon",
	                          "zeta",  "eta",  "theta", "iota",  "alpha"};
	struct llm_embed_request req = {
	    .provider = LLM_OPENAI,
	    .base_url = base_v1,
	    .api_key = "sk-live-test-key",
	    .model = "text-embedding-3-small",
	    .inputs = inputs,
	    .ninputs = 10,
	    .batch_size = 4,
	    .input_per_mtok = 0.02,
	};
	struct llm_embed_response r;

	json_decref(fake_http("/_reset", ""));
	llm_embed(c, &req, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && r.n == 10 && r.dim == 8 && r.requests == 3,
	     "10 inputs in batches of 4: %d requests, dim %d: %s", r.requests, r.dim,
	     r.rec.error_message ? r.rec.error_message : "ok");
	json_t *stats = fake_http("/_stats", NULL);
	T_EQ_INT(json_integer_value(json_object_get(stats, "total")), 3, "the fake saw 3 embedding requests");
	json_decref(stats);
	if (r.vectors) {
		T_OK(memcmp(r.vectors, r.vectors + 9 * 8, 8 * sizeof(float)) == 0, "same text, same vector (in order)");
		T_OK(memcmp(r.vectors, r.vectors + 8, 8 * sizeof(float)) != 0, "different text, different vector");
		double norm = 0;
		for (int k = 0; k < 8; k++)
			norm += r.vectors[k] * r.vectors[k];
		T_OK(norm > 0.99 && norm < 1.01, "unit vectors: %g", norm);
	}
	T_OK(r.rec.prompt_tokens > 0 && r.rec.cost > 0, "embedding usage %lld tokens", (long long) r.rec.prompt_tokens);
	llm_embed_response_free(&r);

	req.provider = LLM_OLLAMA;
	req.base_url = base;
	req.api_key = NULL;
	req.dimensions = 16;
	llm_embed(c, &req, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && r.dim == 16 && r.requests == 3, "ollama /api/embed: dim %d, %d requests",
	     r.dim, r.requests);
	llm_embed_response_free(&r);

	req.model = "no-such-model";
	llm_embed(c, &req, &r);
	T_OK(r.rec.error == LLM_ERR_NOT_FOUND && r.vectors == NULL, "embedding a missing model: %s",
	     r.rec.error_message ? r.rec.error_message : "-");
	llm_embed_response_free(&r);
}

static void test_many(struct llm_client *c)
{
	enum { N = 200 };
	static struct done_flag f[N];
	static char prompts[N][32];
	struct llm_message m[N];
	const struct prov provs[] = {
	    {"openai", LLM_OPENAI, base_v1, ""},
	    {"anthropic", LLM_ANTHROPIC, base, ""},
	    {"azure", LLM_AZURE_OPENAI, base, ""},
	    {"ollama", LLM_OLLAMA, base, ""},
	};
	for (int i = 0; i < N; i++) {
		snprintf(prompts[i], sizeof(prompts[i]), "many %d", i);
		m[i] = (struct llm_message){.role = LLM_ROLE_USER, .content = prompts[i]};
		struct llm_request req = make_req(&provs[i % 4], &m[i], 1);
		req.stream = i % 3 == 0;
		llm_call_start(c, &req, on_done, &f[i]);
	}
	T_EQ_INT(llm_client_pending(c), N, "%d calls pending at once", N);
	llm_client_perform_all(c);
	int ok = 0;
	for (int i = 0; i < N; i++) {
		char want[48];
		snprintf(want, sizeof(want), "echo: many %d", i);
		ok += f[i].err == LLM_ERR_NONE && str_eq(f[i].text, want);
		free(f[i].text);
	}
	T_EQ_INT(ok, N, "%d concurrent calls over four wire formats, each with its own answer", N);
}

int main(void)
{
	core_init();
	signal(SIGPIPE, SIG_IGN);
	fake_start();
	struct llm_limiter *lim = llm_limiter_new();
	struct llm_client *c = llm_client_new(lim);
	const struct prov provs[] = {
	    {"openai", LLM_OPENAI, base_v1, "/v1/chat/completions"},
	    {"anthropic", LLM_ANTHROPIC, base, "/v1/messages"},
	    {"azure", LLM_AZURE_OPENAI, base, "/openai/deployments/gpt4o-deploy/chat/completions"},
	    {"compatible", LLM_OPENAI_COMPATIBLE, base_v1, "/v1/chat/completions"},
	    {"ollama", LLM_OLLAMA, base, "/v1/chat/completions"},
	};
	for (size_t i = 0; i < ARRAY_LEN(provs); i++)
		test_provider(c, &provs[i]);
	test_retries(c);
	test_cancel(c);
	test_errors(c);
	test_embeddings(c);
	test_limiter(c, lim);
	test_many(c);
	llm_client_free(&c);
	T_OK(c == NULL, "llm_client_free NULLs the pointer");
	llm_limiter_free(&lim);
	fake_stop();
	return t_done();
}
