/* llm: SSE parser, wire formats, stream assembly, cost, retry arithmetic, limiter. */
#include "llm/llm_int.h"
#include "t.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- SSE ---- */

struct sse_log {
	struct buf out;
	int stop_after; /* stop the stream at this event; 0: never */
	int n;
};

static int sse_collect(void *ud, const char *event, const char *data, size_t len)
{
	struct sse_log *l = ud;
	buf_printf(&l->out, "[%s|%.*s]", event, (int) len, data);
	l->n++;
	return l->stop_after && l->n >= l->stop_after ? -1 : 0;
}

/* Feeds in pieces of `step` bytes (0: all at once). */
static char *sse_run(const char *in, size_t step, int *rc)
{
	struct sse_log l = {0};
	struct llm_sse s;
	size_t n = strlen(in);

	buf_init(&l.out, 0);
	llm_sse_init(&s, sse_collect, &l);
	*rc = 0;
	if (!step)
		step = n ? n : 1;
	for (size_t i = 0; i < n && *rc == 0; i += step)
		*rc = llm_sse_feed(&s, in + i, n - i < step ? n - i : step);
	llm_sse_free(&s);
	return buf_steal(&l.out);
}

static void test_sse(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"data: a\n\n", "[message|a]"},
	    {"data: a\r\n\r\n", "[message|a]"},
	    {"data: a\r\rdata: b\r\r", "[message|a][message|b]"},
	    {"data: one\ndata: two\n\n", "[message|one\ntwo]"},
	    {": a comment\ndata: x\n\n", "[message|x]"},
	    {"event: delta\ndata: {\"a\":1}\n\n", "[delta|{\"a\":1}]"},
	    {"event: ping\n\ndata: y\n\n", "[message|y]"}, /* no data: no event, and the name resets */
	    {"data:nospace\n\n", "[message|nospace]"},
	    {"data:  two spaces\n\n", "[message| two spaces]"},
	    {"data\n\n", "[message|]"},
	    {"data: tail without blank line\n", ""},
	    {"id: 7\nretry: 100\ndata: z\n\n", "[message|z]"},
	    {"\n\n\ndata: a\n\n\n", "[message|a]"},
	    {"data: [DONE]\n\n", "[message|[DONE]]"},
	    {"event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n", "[a|1][b|2]"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		/* whole, then in every split size: a CRLF or a field cut anywhere must not matter */
		for (size_t step = 0; step <= 7; step++) {
			int rc;
			char *got = sse_run(cases[i].in, step, &rc);
			if (step == 0 || strcmp(got, cases[i].want) != 0 || rc != 0)
				T_EQ_STR(got, cases[i].want, "sse case %zu (step %zu)", i, step);
			free(got);
		}
	}
	/* byte at a time over a long stream with CRLF split across reads */
	struct buf in;
	buf_init(&in, 0);
	for (int i = 0; i < 50; i++)
		buf_printf(&in, "event: e%d\r\ndata: {\"i\":%d}\r\n: keepalive\r\n\r\n", i, i);
	int rc;
	char *got = sse_run(in.data, 1, &rc);
	T_OK(strstr(got, "[e0|{\"i\":0}]") && strstr(got, "[e49|{\"i\":49}]"), "byte-at-a-time stream of 50 events");
	free(got);
	buf_free(&in);

	struct sse_log l = {.stop_after = 1};
	struct llm_sse s;
	buf_init(&l.out, 0);
	llm_sse_init(&s, sse_collect, &l);
	T_EQ_INT(llm_sse_feed(&s, "data: a\n\ndata: b\n\n", 18), -1, "a callback can stop the stream");
	llm_sse_free(&s);
	buf_free(&l.out);
}

/* ---- request bodies ---- */

static bool json_same(json_t *got, const char *want, char **gtext)
{
	json_error_t e;
	json_t *w = json_loads(want, 0, &e);
	bool same = w && got && json_equal(got, w);
	*gtext = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("(null)");
	if (!w)
		printf("# bad expected JSON: %s\n", e.text);
	json_decref(w);
	return same;
}

static void check_body(const char *what, const struct llm_request *req, const char *want)
{
	char err[256] = "", *g;
	json_t *got = llm_wire_chat_body(req, err, sizeof(err));
	bool same = json_same(got, want, &g);
	T_OK(same, "body: %s", what);
	if (!same)
		printf("#   got  %s\n#   want %s\n#   err %s\n", g, want, err);
	free(g);
	json_decref(got);
}

static void test_bodies(void)
{
	struct llm_tool_call tc = {.id = "call_1", .name = "get_weather", .arguments = "{\"city\":\"Paris\"}"};
	struct llm_message msgs[] = {
	    {.role = LLM_ROLE_SYSTEM, .content = "be brief"},
	    {.role = LLM_ROLE_USER, .content = "weather in Paris?"},
	    {.role = LLM_ROLE_ASSISTANT, .tool_calls = &tc, .ntool_calls = 1},
	    {.role = LLM_ROLE_TOOL, .tool_call_id = "call_1", .content = "sunny"},
	};
	json_t *params = json_loads("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}", 0, NULL);
	json_t *schema = json_loads("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}}}", 0, NULL);
	struct llm_tool tools[] = {{.name = "get_weather", .description = "Weather now", .parameters = params}};
	struct llm_request req = {
	    .provider = LLM_OPENAI,
	    .model = "gpt-4o-mini",
	    .messages = msgs,
	    .nmessages = 4,
	    .tools = tools,
	    .ntools = 1,
	    .tool_choice = "auto",
	    .has_temperature = true,
	    .temperature = 0.5,
	    .max_tokens = 100,
	};

	check_body("openai with tools", &req,
	           "{\"model\":\"gpt-4o-mini\",\"messages\":["
	           "{\"role\":\"system\",\"content\":\"be brief\"},"
	           "{\"role\":\"user\",\"content\":\"weather in Paris?\"},"
	           "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
	           "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
	           "{\"role\":\"tool\",\"content\":\"sunny\",\"tool_call_id\":\"call_1\"}],"
	           "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather "
	           "now\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}],"
	           "\"tool_choice\":\"auto\",\"temperature\":0.5,\"max_completion_tokens\":100}");

	req.provider = LLM_OPENAI_COMPATIBLE;
	req.ntools = 0;
	req.tool_choice = NULL;
	req.has_temperature = false;
	req.nmessages = 2;
	req.stream = true;
	req.format = LLM_FORMAT_JSON_SCHEMA;
	req.schema = schema;
	req.schema_name = "count";
	req.schema_strict = true;
	check_body("openai-compatible, streamed, json schema", &req,
	           "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
	           "{\"role\":\"user\",\"content\":\"weather in Paris?\"}],"
	           "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"count\",\"schema\":"
	           "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}}},\"strict\":true}},"
	           "\"max_tokens\":100,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");

	req.provider = LLM_AZURE_OPENAI;
	req.model = NULL;
	req.deployment = "prod-gpt";
	req.stream = false;
	req.format = LLM_FORMAT_JSON_OBJECT;
	req.max_tokens = 0;
	req.nmessages = 1;
	req.messages = &msgs[1];
	check_body("azure: no model needed, json object", &req,
	           "{\"messages\":[{\"role\":\"user\",\"content\":\"weather in Paris?\"}],"
	           "\"response_format\":{\"type\":\"json_object\"}}");

	req = (struct llm_request){
	    .provider = LLM_ANTHROPIC,
	    .model = "claude-3-5-haiku-latest",
	    .messages = msgs,
	    .nmessages = 4,
	    .tools = tools,
	    .ntools = 1,
	    .tool_choice = "required",
	};
	check_body("anthropic: system on top, tool_use and tool_result blocks, default max_tokens", &req,
	           "{\"model\":\"claude-3-5-haiku-latest\",\"max_tokens\":1024,\"system\":\"be brief\",\"messages\":["
	           "{\"role\":\"user\",\"content\":\"weather in Paris?\"},"
	           "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":"
	           "\"get_weather\",\"input\":{\"city\":\"Paris\"}}]},"
	           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"call_1\","
	           "\"content\":\"sunny\"}]}],"
	           "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather now\",\"input_schema\":{\"type\":"
	           "\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}],"
	           "\"tool_choice\":{\"type\":\"any\"}}");

	req.ntools = 0;
	req.tool_choice = NULL;
	req.nmessages = 2;
	req.format = LLM_FORMAT_JSON_SCHEMA;
	req.schema = schema;
	req.stream = true;
	req.max_tokens = 50;
	check_body("anthropic: json schema as a forced tool, streamed", &req,
	           "{\"model\":\"claude-3-5-haiku-latest\",\"max_tokens\":50,\"system\":\"be brief\",\"messages\":["
	           "{\"role\":\"user\",\"content\":\"weather in Paris?\"}],"
	           "\"tools\":[{\"name\":\"json_response\",\"description\":\"Give the answer as this tool's input.\","
	           "\"input_schema\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}}}}],"
	           "\"tool_choice\":{\"type\":\"tool\",\"name\":\"json_response\"},\"stream\":true}");

	/* requests that cannot be built say why */
	char err[256];
	struct llm_tool_call badtc = {.id = "c", .name = "x", .arguments = "not json"};
	struct llm_message bad[] = {{.role = LLM_ROLE_USER, .content = "q"},
	                            {.role = LLM_ROLE_ASSISTANT, .tool_calls = &badtc, .ntool_calls = 1}};
	static const struct {
		enum llm_provider p;
		const char *model;
		int nmsg;
		enum llm_format fmt;
		const char *want;
	} fails[] = {
	    {LLM_OPENAI, "m", 0, LLM_FORMAT_TEXT, "at least one message"},
	    {LLM_OPENAI, NULL, 1, LLM_FORMAT_TEXT, "a model is required"},
	    {LLM_ANTHROPIC, NULL, 1, LLM_FORMAT_TEXT, "a model is required"},
	    {LLM_OPENAI, "m", 1, LLM_FORMAT_JSON_SCHEMA, "needs a schema"},
	    {LLM_ANTHROPIC, "m", 2, LLM_FORMAT_TEXT, "not a JSON object"},
	};
	for (size_t i = 0; i < ARRAY_LEN(fails); i++) {
		struct llm_request r = {.provider = fails[i].p,
		                        .model = fails[i].model,
		                        .messages = bad,
		                        .nmessages = fails[i].nmsg,
		                        .format = fails[i].fmt};
		err[0] = '\0';
		json_t *b = llm_wire_chat_body(&r, err, sizeof(err));
		T_OK(!b && strstr(err, fails[i].want), "unbuildable request %zu: \"%s\" (%s)", i, err, fails[i].want);
		json_decref(b);
	}

	struct llm_embed_request er = {.provider = LLM_OLLAMA, .model = "nomic"};
	const char *inputs[] = {"a", "b"};
	json_t *eb = llm_wire_embed_body(&er, inputs, 2);
	char *g;
	T_OK(json_same(eb, "{\"model\":\"nomic\",\"input\":[\"a\",\"b\"]}", &g), "ollama embed body: %s", g);
	free(g);
	json_decref(eb);
	er.provider = LLM_OPENAI;
	er.dimensions = 4;
	eb = llm_wire_embed_body(&er, inputs, 1);
	T_OK(
	    json_same(eb, "{\"model\":\"nomic\",\"input\":[\"a\"],\"dimensions\":4,\"encoding_format\":\"float\"}", &g),
	    "openai embed body: %s", g);
	free(g);
	json_decref(eb);
	json_decref(params);
	json_decref(schema);
}

static void test_urls_headers(void)
{
	static const struct {
		enum llm_provider p;
		const char *base, *dep, *ver, *want;
	} urls[] = {
	    {LLM_OPENAI, NULL, NULL, NULL, "https://api.openai.com/v1/chat/completions"},
	    {LLM_OPENAI, "http://h:1/v1/", NULL, NULL, "http://h:1/v1/chat/completions"},
	    {LLM_OPENAI_COMPATIBLE, "https://api.groq.com/openai/v1", NULL, NULL,
	     "https://api.groq.com/openai/v1/chat/completions"},
	    {LLM_OPENAI_COMPATIBLE, NULL, NULL, NULL, NULL},
	    {LLM_ANTHROPIC, NULL, NULL, NULL, "https://api.anthropic.com/v1/messages"},
	    {LLM_OLLAMA, NULL, NULL, NULL, "http://127.0.0.1:11434/v1/chat/completions"},
	    {LLM_AZURE_OPENAI, "https://x.openai.azure.com", "gpt 4o", NULL,
	     "https://x.openai.azure.com/openai/deployments/gpt%204o/chat/completions?api-version=2024-10-21"},
	    {LLM_AZURE_OPENAI, "https://x.openai.azure.com", "d", "2025-01-01-preview",
	     "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2025-01-01-preview"},
	    {LLM_AZURE_OPENAI, "https://x.openai.azure.com", NULL, NULL, NULL},
	};
	for (size_t i = 0; i < ARRAY_LEN(urls); i++) {
		struct llm_request r = {.provider = urls[i].p,
		                        .base_url = urls[i].base,
		                        .deployment = urls[i].dep,
		                        .api_version = urls[i].ver};
		char uerr[256] = "";
		char *u = llm_wire_chat_url(&r, uerr, sizeof(uerr));
		T_EQ_STR(u, urls[i].want, "chat url case %zu: %s", i, uerr);
		free(u);
	}
	/* base URLs as users paste them: normalised where unambiguous, refused with the fix where not */
	static const struct {
		enum llm_provider p;
		const char *base, *dep, *want, *err;
	} bases[] = {
	    {LLM_OLLAMA, "http://h:11434/v1", NULL, "http://h:11434", NULL},
	    {LLM_OLLAMA, "http://h:11434/v1/", NULL, "http://h:11434", NULL},
	    {LLM_OLLAMA, "http://h:11434/api", NULL, "http://h:11434", NULL},
	    {LLM_OLLAMA, "http://h:11434/v1/chat/completions", NULL, "http://h:11434", NULL},
	    {LLM_OLLAMA, "http://proxy/ollama/v1", NULL, "http://proxy/ollama", NULL},
	    {LLM_OPENAI, "https://api.openai.com", NULL, "https://api.openai.com/v1", NULL},
	    {LLM_OPENAI, "https://api.openai.com/v1//", NULL, "https://api.openai.com/v1", NULL},
	    {LLM_OPENAI_COMPATIBLE, "http://h/v1/v1", NULL, "http://h/v1", NULL},
	    {LLM_OPENAI_COMPATIBLE, "http://h/v1/chat/completions", NULL, "http://h/v1", NULL},
	    {LLM_OPENAI_COMPATIBLE, "http://h", NULL, "http://h", NULL},
	    {LLM_OPENAI_COMPATIBLE, "http://h/v1?key=x", NULL, NULL, "query"},
	    {LLM_ANTHROPIC, "https://api.anthropic.com/v1", NULL, "https://api.anthropic.com", NULL},
	    {LLM_ANTHROPIC, "https://api.anthropic.com/v1/messages", NULL, "https://api.anthropic.com", NULL},
	    {LLM_AZURE_OPENAI, "https://r.openai.azure.com/", "d", "https://r.openai.azure.com", NULL},
	    {LLM_AZURE_OPENAI, "https://r.openai.azure.com/openai", "d", "https://r.openai.azure.com", NULL},
	    {LLM_AZURE_OPENAI,
	     "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21", "d",
	     "https://r.openai.azure.com", NULL},
	    {LLM_AZURE_OPENAI, "https://r.openai.azure.com/openai/deployments/x/chat/completions?api-version=1", "d",
	     NULL, "set base_url to https://r.openai.azure.com, deployment to x and api_version to 1"},
	    {LLM_AZURE_OPENAI, "https://r.openai.azure.com/openai/deployments/x/chat/completions", NULL, NULL,
	     "deployment to x"},
	    {LLM_OPENAI, "api.openai.com/v1", NULL, NULL, "absolute"},
	    /* libcurl's URL parser: userinfo, spaces, other schemes, no host; the error never echoes the URL */
	    {LLM_OPENAI_COMPATIBLE, "http://user:pw@h/v1", NULL, NULL, "put the credential in api_key"},
	    {LLM_OPENAI_COMPATIBLE, "http://user@h/v1", NULL, NULL, "must not carry a user or password"},
	    {LLM_AZURE_OPENAI, "https://u:secret@r.openai.azure.com/openai/deployments/x/chat/completions", "d", NULL,
	     "must not carry"},
	    {LLM_OLLAMA, "http://h:11434/v 1", NULL, NULL, "without spaces"},
	    {LLM_OLLAMA, "http://h:11434/v1 ", NULL, NULL, "without spaces"},
	    {LLM_OLLAMA, "http://h:11434/\x01v1", NULL, NULL, "control characters"},
	    {LLM_OPENAI_COMPATIBLE, "ftp://h/v1", NULL, NULL, "absolute http or https"},
	    {LLM_OPENAI_COMPATIBLE, "http:///v1", NULL, NULL, "absolute http or https"},
	    {LLM_OPENAI_COMPATIBLE, "http://h:99999/v1", NULL, NULL, "absolute http or https"},
	    /* a path written twice: // anywhere in it is one / */
	    {LLM_OLLAMA, "http://h:11434//v1", NULL, "http://h:11434", NULL},
	    {LLM_OPENAI_COMPATIBLE, "http://h:8//v1", NULL, "http://h:8/v1", NULL},
	    {LLM_OPENAI_COMPATIBLE, "http://h/a//b///v1", NULL, "http://h/a/b/v1", NULL},
	    {LLM_AZURE_OPENAI, "https://r.openai.azure.com//openai/deployments/d/chat/completions?api-version=x//y",
	     "d", "https://r.openai.azure.com", NULL},
	};
	for (size_t i = 0; i < ARRAY_LEN(bases); i++) {
		char berr[300] = "";
		char *n = llm_base_url_normalise(bases[i].p, bases[i].base, bases[i].dep, berr, sizeof(berr));
		T_OK((n ? str_eq(n, bases[i].want) : !bases[i].want) && (!bases[i].err || strstr(berr, bases[i].err)) &&
		         !strstr(berr, "pw@") && !strstr(berr, "secret"),
		     "base url %s (%s): %s%s", bases[i].base, llm_provider_name(bases[i].p), n ? n : "refused: ", berr);
		free(n);
	}

	struct llm_embed_request er = {.provider = LLM_OLLAMA, .base_url = "http://o:11434"};
	char eerr[256] = "";
	char *u = llm_wire_embed_url(&er, eerr, sizeof(eerr));
	T_EQ_STR(u, "http://o:11434/api/embed", "ollama embed url");
	free(u);
	er.provider = LLM_OPENAI;
	er.base_url = NULL;
	u = llm_wire_embed_url(&er, eerr, sizeof(eerr));
	T_EQ_STR(u, "https://api.openai.com/v1/embeddings", "openai embed url");
	free(u);

	static const struct {
		enum llm_provider p;
		const char *want, *absent;
	} hdrs[] = {
	    {LLM_OPENAI, "Authorization: Bearer sk-test", "x-api-key"},
	    {LLM_AZURE_OPENAI, "api-key: sk-test", "Authorization"},
	    {LLM_ANTHROPIC, "x-api-key: sk-test", "Authorization"},
	    {LLM_ANTHROPIC, "anthropic-version: 2023-06-01", "api-key: "},
	};
	struct llm_header extra[] = {{"X-Trace", "t1"}};
	for (size_t i = 0; i < ARRAY_LEN(hdrs); i++) {
		struct curl_slist *h = llm_wire_headers(hdrs[i].p, "sk-test", NULL, NULL, extra, 1, false);
		bool want = false, absent = true, trace = false;
		for (struct curl_slist *x = h; x; x = x->next) {
			want |= str_eq(x->data, hdrs[i].want);
			absent &= !str_startswith(x->data, hdrs[i].absent);
			trace |= str_eq(x->data, "X-Trace: t1");
		}
		T_OK(want && absent && trace, "headers for %s: %s, not %s", llm_provider_name(hdrs[i].p), hdrs[i].want,
		     hdrs[i].absent);
		llm_wire_headers_free(h);
	}
}

/* ---- answers ---- */

static void test_parse(void)
{
	struct llm_response r = {0};
	char err[256];
	const char *oa = "{\"id\":\"x\",\"model\":\"gpt-4o-mini-2024\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
	                 "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_9\",\"type\":\"function\","
	                 "\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":1}\"}}]},\"finish_reason\":"
	                 "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17,"
	                 "\"prompt_tokens_details\":{\"cached_tokens\":4}}}";
	T_EQ_INT(llm_wire_parse_chat(LLM_OPENAI, oa, strlen(oa), false, &r, err, sizeof(err)), 0, "openai tool answer");
	T_OK(r.text == NULL, "no text beside the tool call");
	T_EQ_INT(r.ntool_calls, 1, "one tool call");
	T_EQ_STR(r.tool_calls[0].id, "call_9", "tool call id");
	T_EQ_STR(r.tool_calls[0].name, "lookup", "tool call name");
	T_EQ_STR(r.tool_calls[0].arguments, "{\"q\":1}", "tool call arguments");
	T_EQ_STR(r.finish_reason, "tool_calls", "finish reason");
	T_EQ_INT(r.rec.prompt_tokens, 12, "prompt tokens");
	T_EQ_INT(r.rec.completion_tokens, 5, "completion tokens");
	T_EQ_INT(r.rec.cached_tokens, 4, "cached tokens");
	T_EQ_STR(r.rec.model, "gpt-4o-mini-2024", "model as reported");
	llm_response_free(&r);

	const char *an = "{\"id\":\"msg\",\"type\":\"message\",\"model\":\"claude-x\",\"content\":[{\"type\":\"text\","
	                 "\"text\":\"Let me look.\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"lookup\","
	                 "\"input\":{\"q\":\"a\"}}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":10,"
	                 "\"output_tokens\":7,\"cache_read_input_tokens\":5,\"cache_creation_input_tokens\":1}}";
	T_EQ_INT(llm_wire_parse_chat(LLM_ANTHROPIC, an, strlen(an), false, &r, err, sizeof(err)), 0,
	         "anthropic text and tool_use");
	T_EQ_STR(r.text, "Let me look.", "anthropic text");
	T_EQ_INT(r.ntool_calls, 1, "anthropic tool call");
	T_EQ_STR(r.tool_calls[0].arguments, "{\"q\":\"a\"}", "anthropic input as JSON text");
	T_EQ_STR(r.finish_reason, "tool_calls", "tool_use normalised");
	T_EQ_INT(r.rec.prompt_tokens, 16, "anthropic prompt = input + cache read + cache creation");
	T_EQ_INT(r.rec.cached_tokens, 5, "anthropic cached");
	T_EQ_INT(r.rec.completion_tokens, 7, "anthropic output");
	llm_response_free(&r);

	const char *aj =
	    "{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"json_response\",\"input\":{\"n\":3}"
	    "}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}";
	T_EQ_INT(llm_wire_parse_chat(LLM_ANTHROPIC, aj, strlen(aj), true, &r, err, sizeof(err)), 0,
	         "anthropic json tool");
	T_EQ_STR(r.text, "{\"n\":3}", "the forced tool's input becomes the text");
	T_EQ_INT(r.ntool_calls, 0, "and is not a tool call");
	T_EQ_STR(r.finish_reason, "stop", "finish is stop");
	llm_response_free(&r);

	static const char *const broken[] = {"", "not json", "[]", "{\"choices\":[]}", "{\"choices\":[{}]}"};
	for (size_t i = 0; i < ARRAY_LEN(broken); i++) {
		T_EQ_INT(llm_wire_parse_chat(LLM_OPENAI, broken[i], strlen(broken[i]), false, &r, err, sizeof(err)), -1,
		         "broken openai answer \"%s\" is refused: %s", broken[i], err);
		llm_response_free(&r);
	}
	T_EQ_INT(llm_wire_parse_chat(LLM_ANTHROPIC, "{}", 2, false, &r, err, sizeof(err)), -1,
	         "anthropic without content");
	llm_response_free(&r);

	static const struct {
		const char *body, *want;
	} errs[] = {
	    {"{\"error\":{\"message\":\"The model `x` does not exist\",\"type\":\"invalid_request_error\",\"code\":"
	     "\"model_not_found\"}}",
	     "invalid_request_error (model_not_found): The model `x` does not exist"},
	    {"{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"model: x\"}}",
	     "not_found_error: model: x"},
	    {"{\"error\":{\"code\":\"DeploymentNotFound\",\"message\":\"gone\"}}", "DeploymentNotFound: gone"},
	    {"{\"error\":\"model \\\"x\\\" not found\"}", "model \"x\" not found"},
	    {"<html>\nBad gateway</html>", "<html> Bad gateway</html>"},
	    {"", NULL},
	};
	for (size_t i = 0; i < ARRAY_LEN(errs); i++) {
		char *t = llm_wire_error_text(errs[i].body, strlen(errs[i].body));
		T_EQ_STR(t, errs[i].want, "error text case %zu", i);
		free(t);
	}

	float *vec = NULL;
	int dim = 0;
	int64_t tok = 0;
	const char *emb = "{\"data\":[{\"index\":1,\"embedding\":[3,4]},{\"index\":0,\"embedding\":[1,2]}],"
	                  "\"usage\":{\"prompt_tokens\":9}}";
	T_EQ_INT(llm_wire_parse_embed(LLM_OPENAI, emb, strlen(emb), 2, &vec, &dim, &tok, err, sizeof(err)), 0,
	         "openai embeddings");
	T_OK(dim == 2 && vec[0] == 1 && vec[1] == 2 && vec[2] == 3 && vec[3] == 4 && tok == 9,
	     "placed by index, dim and tokens");
	free(vec);
	vec = NULL;
	dim = 0;
	const char *oe = "{\"embeddings\":[[0.5,0.25,1]],\"prompt_eval_count\":3}";
	T_EQ_INT(llm_wire_parse_embed(LLM_OLLAMA, oe, strlen(oe), 1, &vec, &dim, &tok, err, sizeof(err)), 0,
	         "ollama embeddings");
	T_OK(dim == 3 && vec[1] == 0.25f && tok == 3, "ollama vector and tokens");
	free(vec);
	vec = NULL;
	dim = 0;
	T_EQ_INT(llm_wire_parse_embed(LLM_OLLAMA, oe, strlen(oe), 2, &vec, &dim, &tok, err, sizeof(err)), -1,
	         "too few embeddings is an error: %s", err);
	free(vec);
}

/* ---- streams ---- */

struct deltas {
	struct buf text, args;
	int n;
};

static void on_delta(void *ud, const struct llm_delta *d)
{
	struct deltas *x = ud;
	x->n++;
	buf_append(d->kind == LLM_DELTA_TEXT ? &x->text : &x->args, d->text, d->len);
}

static int stream_run(enum llm_provider p, bool json_tool, const char *sse, size_t step, struct llm_response *r,
                      struct deltas *d, char *err, size_t errlen)
{
	struct llm_stream st;
	struct llm_sse s;
	size_t n = strlen(sse);
	int rc = 0;

	llm_stream_init(&st, p, json_tool, on_delta, d);
	llm_sse_init(&s, llm_stream_event, &st);
	for (size_t i = 0; i < n && rc == 0; i += step)
		rc = llm_sse_feed(&s, sse + i, n - i < step ? n - i : step);
	if (rc == 0)
		rc = llm_stream_finish(&st, r, err, errlen);
	else
		snprintf(err, errlen, "%s", st.error ? st.error : "feed failed");
	llm_sse_free(&s);
	llm_stream_free(&st);
	return rc;
}

static void test_streams(void)
{
	const char *oa =
	    "data: "
	    "{\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
	    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
	    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n"
	    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n"
	    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
	    "\"{\\\"a\\\"\"}}]}}]}\n\n"
	    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
	    "\":1}\"}}]}}]}\n\n"
	    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
	    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":1}}}\n\n"
	    "data: [DONE]\n\n";
	size_t steps[] = {1, 3, 1000000};
	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		struct llm_response r = {0};
		struct deltas d = {0};
		char err[256] = "";
		buf_init(&d.text, 0);
		buf_init(&d.args, 0);
		int rc = stream_run(LLM_OPENAI, false, oa, steps[i], &r, &d, err, sizeof(err));
		T_EQ_INT(rc, 0, "openai stream in pieces of %zu: %s", steps[i], err);
		T_EQ_STR(r.text, "Hello", "openai stream text (step %zu)", steps[i]);
		T_OK(r.ntool_calls == 1 && str_eq(r.tool_calls[0].arguments, "{\"a\":1}") &&
		         str_eq(r.tool_calls[0].id, "call_1") && str_eq(r.tool_calls[0].name, "f"),
		     "openai stream tool call assembled (step %zu)", steps[i]);
		T_OK(r.rec.prompt_tokens == 3 && r.rec.completion_tokens == 4 && r.rec.cached_tokens == 1,
		     "openai stream usage (step %zu)", steps[i]);
		T_EQ_STR(r.rec.model, "gpt-x", "openai stream model");
		T_OK(str_eq(d.text.data, "Hello") && str_eq(d.args.data, "{\"a\":1}") && d.n == 4,
		     "deltas reach the callback (step %zu, %d)", steps[i], d.n);
		llm_response_free(&r);
		buf_free(&d.text);
		buf_free(&d.args);
	}

	const char *an =
	    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\","
	    "\"usage\":{\"input_tokens\":20,\"output_tokens\":1}}}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
	    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	    "{\"type\":\"text_delta\",\"text\":\"Hi \"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	    "{\"type\":\"text_delta\",\"text\":\"there\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
	    "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"g\",\"input\":{}}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
	    "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"b\\\":\"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
	    "{\"type\":\"input_json_delta\",\"partial_json\":\"2}\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},"
	    "\"usage\":{\"output_tokens\":15}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		struct llm_response r = {0};
		struct deltas d = {0};
		char err[256] = "";
		buf_init(&d.text, 0);
		buf_init(&d.args, 0);
		T_EQ_INT(stream_run(LLM_ANTHROPIC, false, an, steps[i], &r, &d, err, sizeof(err)), 0,
		         "anthropic stream (step %zu): %s", steps[i], err);
		T_EQ_STR(r.text, "Hi there", "anthropic stream text");
		T_OK(r.ntool_calls == 1 && str_eq(r.tool_calls[0].arguments, "{\"b\":2}") &&
		         str_eq(r.tool_calls[0].id, "toolu_1"),
		     "anthropic stream tool_use assembled");
		T_OK(r.rec.prompt_tokens == 20 && r.rec.completion_tokens == 15, "anthropic stream usage");
		T_EQ_STR(r.finish_reason, "tool_calls", "anthropic finish normalised");
		llm_response_free(&r);
		buf_free(&d.text);
		buf_free(&d.args);
	}

	static const struct {
		enum llm_provider p;
		const char *sse, *want;
	} bad[] = {
	    {LLM_OPENAI, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", "ended before"},
	    {LLM_OPENAI, "data: broken { json\n\n", "not JSON"},
	    {LLM_ANTHROPIC,
	     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	     "\"message\":\"Overloaded\"}}\n\n",
	     "overloaded_error: Overloaded"},
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct llm_response r = {0};
		struct deltas d = {0};
		char err[256] = "";
		buf_init(&d.text, 0);
		buf_init(&d.args, 0);
		int rc = stream_run(bad[i].p, false, bad[i].sse, 5, &r, &d, err, sizeof(err));
		T_OK(rc == -1 && strstr(err, bad[i].want), "bad stream %zu fails: \"%s\"", i, err);
		llm_response_free(&r);
		buf_free(&d.text);
		buf_free(&d.args);
	}
}

/* ---- cost, retry, limiter ---- */

static void test_cost(void)
{
	struct llm_request r = {.input_per_mtok = 2.5, .output_per_mtok = 10};
	T_OK(llm_cost(&r, 1000000, 0, 0) == 2.5, "a million prompt tokens");
	T_OK(llm_cost(&r, 1000, 500, 0) > 0.0074999 && llm_cost(&r, 1000, 500, 0) < 0.0075001, "1000 in, 500 out");
	r.cached_input_per_mtok = 1.25;
	double c = llm_cost(&r, 1000, 0, 400);
	T_OK(c > 0.0019999 && c < 0.0020001, "cached tokens at their own price: %g", c);
	r = (struct llm_request){0};
	T_OK(llm_cost(&r, 1000, 1000, 0) == 0, "no prices, no cost");
}

static void test_retry(void)
{
	int64_t now = curl_getdate("Sun, 06 Nov 1994 08:49:27 GMT", NULL);
	static const struct {
		const char *in;
		long long want;
	} cases[] = {
	    {"1", 1000},
	    {" 0", 0},
	    {"120", 120000},
	    {"1.5", 1500},
	    {"2\r\n", 2000},
	    {"Sun, 06 Nov 1994 08:49:37 GMT", 10000},
	    {"Sunday, 06-Nov-94 08:49:37 GMT", 10000},
	    {"Sun, 06 Nov 1994 08:49:17 GMT", 0},
	    {"soon", -1},
	    {"", -1},
	    {"-1", -1},
	    {"5s", -1},
	    {"99999999999", -1},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		T_EQ_INT(llm_retry_after_ms(cases[i].in, now), cases[i].want, "Retry-After case %zu", i);
	T_EQ_INT(llm_retry_after_ms(NULL, now), -1, "no Retry-After");

	for (int retry = 0; retry < 12; retry++) {
		int64_t window = 100LL << retry;
		if (window > 5000)
			window = 5000;
		int64_t lo = INT64_MAX, hi = -1;
		for (int k = 0; k < 2000; k++) {
			int64_t d = llm_backoff_ms(retry, 100, 5000);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		T_OK(lo >= 0 && hi <= window && hi > window / 2 && lo < window / 2,
		     "backoff retry %d in [0, %lld] and spread: %lld..%lld", retry, (long long) window, (long long) lo,
		     (long long) hi);
	}

	static const struct {
		long status;
		enum llm_error err;
		bool retry;
	} st[] = {
	    {200, LLM_ERR_NONE, false},  {400, LLM_ERR_BAD_REQUEST, false}, {401, LLM_ERR_AUTH, false},
	    {403, LLM_ERR_AUTH, false},  {404, LLM_ERR_NOT_FOUND, false},   {408, LLM_ERR_TIMEOUT, true},
	    {409, LLM_ERR_SERVER, true}, {422, LLM_ERR_BAD_REQUEST, false}, {429, LLM_ERR_RATE_LIMITED, true},
	    {500, LLM_ERR_SERVER, true}, {503, LLM_ERR_SERVER, true},       {529, LLM_ERR_SERVER, true},
	};
	for (size_t i = 0; i < ARRAY_LEN(st); i++) {
		T_EQ_INT(llm_error_of_status(st[i].status), st[i].err, "HTTP %ld is %s", st[i].status,
		         llm_error_name(st[i].err));
		if (st[i].status >= 400)
			T_EQ_INT(llm_status_retryable(st[i].status), st[i].retry, "HTTP %ld retryable: %d",
			         st[i].status, st[i].retry);
	}
}

static void test_limiter(void)
{
	struct llm_limiter *l = llm_limiter_new();
	const int64_t s = 1000000; /* a second in µs */

	llm_limiter_set(l, "paced", &(struct llm_limit){.rpm = 60});
	llm_limiter_set(l, "bursty", &(struct llm_limit){.rpm = 60, .burst = 3});
	llm_limiter_set(l, "tokens", &(struct llm_limit){.tpm = 600});
	llm_limiter_set(l, "conc", &(struct llm_limit){.max_concurrency = 2});
	T_OK(llm_limiter_find(l, "nobody") == NULL, "a key without limits is not limited");

	struct llm_limit_state *p = llm_limiter_find(l, "paced");
	int64_t t0 = time_mono_us();
	T_EQ_INT(llm_limiter_take(l, p, 1, t0), 0, "rpm 60: the first call goes");
	int64_t w = llm_limiter_take(l, p, 1, t0);
	/* a second plus 5% headroom */
	T_OK(w > 1049000 && w <= 1050001, "rpm 60: the second waits 1.05 s (%lld µs)", (long long) w);
	T_OK(llm_limiter_take(l, p, 1, t0 + s) > 0, "still waiting a second later");
	T_EQ_INT(llm_limiter_take(l, p, 1, t0 + s * 105 / 100), 0, "goes after 1.05 s");
	/* asking every 10 ms for the next 10.5 s, one call per 1.05 s passes: at +2.1 s … +10.5 s */
	int passed = 0;
	for (int64_t t = t0 + s * 105 / 100 + 10000; t < t0 + s * 105 / 10 + 5000; t += 10000)
		if (llm_limiter_take(l, p, 1, t) == 0)
			passed++;
	T_EQ_INT(passed, 9, "rpm 60 lets one through every 1.05 s");

	struct llm_limit_state *b = llm_limiter_find(l, "bursty");
	int burst = 0;
	for (int i = 0; i < 5; i++)
		burst += llm_limiter_take(l, b, 1, t0) == 0;
	T_EQ_INT(burst, 3, "burst 3: three back to back");

	struct llm_limit_state *tk = llm_limiter_find(l, "tokens");
	T_EQ_INT(llm_limiter_take(l, tk, 500, t0), 0, "tpm 600: 500 tokens go");
	w = llm_limiter_take(l, tk, 500, t0);
	T_OK(w > 39 * s && w <= 40 * s + 1, "the next 500 wait for 400 more at 10/s: %lld µs", (long long) w);
	llm_limiter_done(l, tk, 500, 100); /* it used only 100: 400 come back */
	T_EQ_INT(llm_limiter_take(l, tk, 500, t0), 0, "the correction lets the next go");
	llm_limiter_done(l, tk, 500, 500);
	w = llm_limiter_take(l, tk, 5000, t0 + 60 * s);
	T_EQ_INT(w, 0, "a call bigger than a minute's worth goes once the bucket is full");

	struct llm_limit_state *cc = llm_limiter_find(l, "conc");
	T_EQ_INT(llm_limiter_take(l, cc, 1, t0), 0, "concurrency 2: one");
	T_EQ_INT(llm_limiter_take(l, cc, 1, t0), 0, "concurrency 2: two");
	T_OK(llm_limiter_take(l, cc, 1, t0) > 0, "concurrency 2: the third waits");
	llm_limiter_done(l, cc, 1, 1);
	T_EQ_INT(llm_limiter_take(l, cc, 1, t0), 0, "a slot given back is taken");

	T_OK(llm_estimate_tokens(4000, 100) == 1100, "estimate: body/4 + max_tokens");
	llm_limiter_free(&l);
	T_OK(l == NULL, "llm_limiter_free NULLs the pointer");
}

static void test_names(void)
{
	T_EQ_STR(llm_provider_name(LLM_AZURE_OPENAI), "azure_openai", "provider name");
	T_EQ_STR(llm_provider_name((enum llm_provider) 99), "unknown", "provider name out of range");
	T_EQ_STR(llm_error_name(LLM_ERR_RATE_LIMITED), "rate_limited", "error name");
	T_EQ_STR(llm_error_name(LLM_ERR_PARSE), "parse", "last error name");
	T_EQ_STR(llm_finish_normalise("end_turn"), "stop", "end_turn is stop");
	T_EQ_STR(llm_finish_normalise("max_tokens"), "length", "max_tokens is length");
	T_EQ_STR(llm_finish_normalise("content_filter"), "content_filter", "others pass through");
}

/* ---- the fast OpenAI reader against the jansson path ---- */

static char *parse_summary(const char *body, size_t len)
{
	struct llm_response r = {0};
	char err[256] = "";
	struct buf b;
	int rc = llm_wire_parse_chat(LLM_OPENAI, body, len, false, &r, err, sizeof(err));

	buf_init(&b, 0);
	buf_printf(&b, "rc=%d err=%s text=%s finish=%s tokens=%lld/%lld/%lld model=%s tools=%d", rc, err,
	           r.text ? r.text : "(null)", r.finish_reason ? r.finish_reason : "(null)",
	           (long long) r.rec.prompt_tokens, (long long) r.rec.completion_tokens,
	           (long long) r.rec.cached_tokens, r.rec.model ? r.rec.model : "(null)", r.ntool_calls);
	llm_response_free(&r);
	return buf_steal(&b);
}

static void delta_log(void *ud, const struct llm_delta *d)
{
	buf_printf(ud, "<%d|%.*s>", (int) d->kind, (int) d->len, d->text);
}

static char *event_summary(const char *data, size_t len)
{
	struct llm_stream st;
	struct buf deltas, b;

	buf_init(&deltas, 0);
	buf_init(&b, 0);
	llm_stream_init(&st, LLM_OPENAI, false, delta_log, &deltas);
	st.model = xstrdup("kept"); /* a model already known stays */
	int rc = llm_stream_event(&st, "message", data, len);
	int rc2 = llm_stream_event(&st, "message", data, len); /* twice: accumulation */
	buf_printf(&b,
	           "rc=%d/%d text=%.*s has_text=%d model=%s finish=%s tokens=%lld/%lld/%lld error=%s tools=%d "
	           "first=%d deltas=%s",
	           rc, rc2, (int) st.text.len, st.text.data ? st.text.data : "", st.has_text,
	           st.model ? st.model : "(null)", st.finish_reason ? st.finish_reason : "(null)",
	           (long long) st.prompt_tokens, (long long) st.completion_tokens, (long long) st.cached_tokens,
	           st.error ? st.error : "(null)", st.ntools, st.first_us != 0, deltas.data ? deltas.data : "");
	llm_stream_free(&st);
	buf_free(&deltas);
	return buf_steal(&b);
}

static void test_fast_reader(void)
{
#define OK_MSG(content) "{\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"content\":" content "}}]}"
	static const char *const bodies[] = {
	    "{\"id\":\"c\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
	    "\"content\":"
	    "\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":1}}}",
	    OK_MSG("\"a\\n\\t\\\"q\\\" \\\\ \\/ \\b\\f\\r\""),
	    OK_MSG("\"h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80\""),
	    OK_MSG("\"\\u00e9 \\ud83d\\ude00\""),
	    OK_MSG("\"\\u0000\""),
	    OK_MSG("\"\\ud800\""),
	    OK_MSG("\"bad \xff\""),
	    OK_MSG("\"overlong \xc0\xaf\""),
	    OK_MSG("\"surrogate \xed\xa0\x80\""),
	    OK_MSG("\"above \xf4\x90\x80\x80\""),
	    OK_MSG("\"cut \xe4\xb8\""),
	    OK_MSG("\"ctl \x01\""),
	    OK_MSG("\"bad escape \\x\""),
	    OK_MSG("null"),
	    OK_MSG("12"),
	    OK_MSG("[\"a\"]"),
	    OK_MSG("\"x\"") " ",
	    " \n" OK_MSG("\"x\"") "\n",
	    OK_MSG("\"x\"") " x",
	    OK_MSG("\"x\"") "}",
	    "{\"model\":\"a\",\"model\":\"b\",\"choices\":[{\"message\":{}}]}",
	    "{\"model\":7,\"choices\":[{\"message\":{\"content\":\"a\",\"content\":\"b\"}}]}",
	    "{\"choices\":[{\"message\":{\"content\":\"a\"}},{\"message\":{\"content\":\"b\"}}]}",
	    "{\"choices\":[{\"message\":{\"content\":\"a\"},\"finish_reason\":null}],\"usage\":null}",
	    "{\"choices\":[{\"message\":{\"content\":\"a\"},\"finish_reason\":\"max_tokens\"}],\"usage\":{"
	    "\"prompt_tokens\":12.5,\"completion_tokens\":-0,\"prompt_tokens_details\":[1]}}",
	    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":123456789012345678}}",
	    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":12345678901234567890}}",
	    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":1e400}}",
	    "{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":1e2}}",
	    "{\"choices\":[{\"message\":{}}],\"x\":01}",
	    "{\"choices\":[{\"message\":{}}],\"x\":1.}",
	    "{\"choices\":[{\"message\":{}}],\"x\":-}",
	    "{\"choices\":[{\"message\":{}}],\"x\":[true,false,null,{},[],\"\",0.25]}",
	    "{\"choices\":[{\"message\":{}}],\"x\":tru}",
	    "{\"choices\":[{\"message\":{}}],\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]}",
	    "{\"choices\":[{\"message\":{\"content\":\"a\",\"tool_calls\":null}}]}",
	    "{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"function\":{\"name\":\"f\","
	    "\"arguments\":\"{}\"}}]}}]}",
	    "{\"choices\":[{\"message\":{\"content\":\"a\"}}],\"error\":{\"message\":\"x\"}}",
	    "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",
	    "{\"choices\":[{\"message\":\"a\"}]}",
	    "{\"choices\":{\"message\":{}}}",
	    "{\"choices\":[]}",
	    "{\"mod\\/el\":\"x\",\"choices\":[{\"message\":{}}]}",
	    "{\"choices\":[{\"message\":{\"content\":\"a\"}}]",
	    "{\"choices\":[{\"message\":{\"content\":\"a\"}}],}",
	    "{\"choices\":[{\"message\":{\"content\":\"a\"}}] \"x\":1}",
	    "{\"choices\" [{\"message\":{}}]}",
	    "{choices:[]}",
	    "[]",
	    "",
	    "{}",
	};
	static const char *const events[] = {
	    "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,"
	    "\"delta\":"
	    "{\"content\":\"He\"},\"finish_reason\":null}]}",
	    "{\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}",
	    "{\"choices\":[{\"delta\":{\"content\":\"a\\nb\\\"\"}}]}",
	    "{\"choices\":[{\"delta\":{\"content\":\"\\u00e9\"}}]}",
	    "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}",
	    "{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6,\"prompt_tokens_details\":"
	    "{\"cached_tokens\":2}}}",
	    "{\"choices\":[],\"usage\":{}}",
	    "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"f\","
	    "\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
	    "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}",
	    "{\"choices\":[{\"message\":{\"content\":\"not a delta\"}}]}",
	    "{\"choices\":[{\"delta\":{\"content\":7}}]}",
	    "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]} trailing",
	    "not json",
	    "[1]",
	};

	char *first = parse_summary(bodies[0], strlen(bodies[0]));
	T_EQ_STR(first, "rc=0 err= text=hi finish=stop tokens=3/2/1 model=gpt-x tools=0", "a usual answer, read fast");
	free(first);
	for (size_t i = 0; i < ARRAY_LEN(bodies); i++) {
		char *fast = parse_summary(bodies[i], strlen(bodies[i]));
		llm_wire_slow_only = true;
		char *slow = parse_summary(bodies[i], strlen(bodies[i]));
		llm_wire_slow_only = false;
		T_EQ_STR(fast, slow, "answer %zu reads the same both ways: %s", i, bodies[i]);
		free(fast);
		free(slow);
	}
	for (size_t i = 0; i < ARRAY_LEN(events); i++) {
		char *fast = event_summary(events[i], strlen(events[i]));
		llm_wire_slow_only = true;
		char *slow = event_summary(events[i], strlen(events[i]));
		llm_wire_slow_only = false;
		T_EQ_STR(fast, slow, "chunk %zu reads the same both ways: %s", i, events[i]);
		free(fast);
		free(slow);
	}
#undef OK_MSG
}

/* ---- the call's invariants ---- */

/* Runs how(call) on a fresh call in a child; returns the child's wait status. */
static int in_child(void (*how)(struct llm_client *c, struct llm_call *call))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct llm_message m = {.role = LLM_ROLE_USER, .content = "hi"};
		struct llm_request r = {.provider = LLM_OPENAI_COMPATIBLE,
		                        .base_url = "http://127.0.0.1:9/v1",
		                        .model = "m",
		                        .messages = &m,
		                        .nmessages = 1};
		struct llm_client *c = llm_client_new(NULL);
		struct llm_call *call = llm_call_start(c, &r, NULL, NULL);
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		how(c, call);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}

static void valid_call(struct llm_client *c, struct llm_call *call)
{
	llm_call_invariants(call);
	(void) c;
}

static void active_without_handle(struct llm_client *c, struct llm_call *call)
{
	call->state = CALL_ACTIVE; /* no easy handle: no transition leaves a call so */
	llm_client_run(c, 0);
}

static void slot_while_waiting(struct llm_client *c, struct llm_call *call)
{
	static struct llm_limit_state *fake_slot;
	(void) c;
	call->limit = (struct llm_limit_state *) &fake_slot;
	call->holds_limit = true; /* a waiting call holds no limiter slot */
	llm_call_invariants(call);
}

static void unknown_state(struct llm_client *c, struct llm_call *call)
{
	(void) c;
	call->state = (enum call_state) 0;
	llm_call_invariants(call);
}

static void test_invariants(void)
{
	int st = in_child(valid_call);
	T_OK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "invariants: a fresh call passes its check");
	st = in_child(active_without_handle);
	T_OK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
	     "invariants: an active call without a transfer aborts in the loop");
	st = in_child(slot_while_waiting);
	T_OK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "invariants: a waiting call holding a limiter slot aborts");
	st = in_child(unknown_state);
	T_OK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "invariants: a state outside the enum aborts");
}

int main(void)
{
	core_init();
	test_sse();
	test_bodies();
	test_urls_headers();
	test_parse();
	test_streams();
	test_fast_reader();
	test_cost();
	test_retry();
	test_limiter();
	test_names();
	test_invariants();
	return t_done();
}
