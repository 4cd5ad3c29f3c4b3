/*
 * Answers as real providers send them (issue 8, part 1), each a scripted
 * reply of tests/fake-llm/server.js, checked on what the client returns and
 * on what the fake recorded it sending next. Every case names the kind of
 * fault it belongs to; the ones marked "more" are inputs of the same kind
 * beyond the issue's.
 */
#include "llm/llm.h"
#include "core/core.h"
#include "t.h"
#include "fake_llm.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static struct llm_client *cl;

/* What on_delta was given. */
struct seen {
	struct buf text;
	int text_deltas, tool_deltas;
	int max_tool_index;
};

static void on_delta(void *ud, const struct llm_delta *d)
{
	struct seen *s = ud;
	if (d->kind == LLM_DELTA_TEXT) {
		buf_append(&s->text, d->text, d->len);
		s->text_deltas++;
	} else {
		s->tool_deltas++;
		if (d->tool_index > s->max_tool_index)
			s->max_tool_index = d->tool_index;
	}
}

static struct llm_message user_msg;

static struct llm_request req_for(enum llm_provider p, const char *prompt)
{
	user_msg = (struct llm_message){.role = LLM_ROLE_USER, .content = prompt};
	struct llm_request r = {
	    .provider = p,
	    .base_url = p == LLM_OPENAI || p == LLM_OPENAI_COMPATIBLE ? base_v1 : base,
	    .api_key = "sk-answers-test-key",
	    .model = p == LLM_ANTHROPIC ? "claude-3-5-haiku-latest" : "gpt-4o-mini",
	    .deployment = p == LLM_AZURE_OPENAI ? "gpt4o-deploy" : NULL,
	    .messages = &user_msg,
	    .nmessages = 1,
	    .timeout_ms = 10000,
	    .backoff_base_ms = 10,
	    .backoff_cap_ms = 50,
	};
	return r;
}

/* A streamed call that records its deltas into s (initialised here). */
static enum llm_error stream_call(struct llm_request *req, struct seen *s, struct llm_response *r)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->text, 0);
	s->max_tool_index = -1;
	req->stream = true;
	req->on_delta = on_delta;
	req->delta_ud = s;
	return llm_call(cl, req, r);
}

static int requests_with(const char *marker)
{
	json_t *a = fake_requests_with(marker);
	int n = (int) json_array_size(a);
	json_decref(a);
	return n;
}

static const char *msg_of(const struct llm_response *r)
{
	return r->rec.error_message ? r->rec.error_message : "ok";
}

/* ---- assembling streamed answers from what the chunks say ---- */

/* An OpenAI-shaped chunk carrying tool call deltas (JSON with ' for "). */
#define CHUNK(calls) "{'choices':[{'index':0,'delta':{'tool_calls':[" calls "]},'finish_reason':null}]}"
#define FINISH_TOOLS "{'choices':[{'index':0,'delta':{},'finish_reason':'tool_calls'}]}"

static bool call_is(const struct llm_response *r, int i, const char *id, const char *name, const char *args)
{
	return i < r->ntool_calls && str_eq(r->tool_calls[i].id, id) && str_eq(r->tool_calls[i].name, name) &&
	       str_eq(r->tool_calls[i].arguments, args);
}

static void case_stream_parallel_no_index(void)
{
	struct llm_request req = req_for(LLM_OPENAI_COMPATIBLE, "NOINDEX two calls");
	struct llm_response r;
	struct seen s;

	fake_scriptq("{'rules':[{'match':'NOINDEX','replies':[{'sse':[" CHUNK(
	    "{'id':'call_a','type':'function','function':{'name':'get_weather','arguments':'{\\'city\\':"
	    "\\'Paris\\'}'}}") "," CHUNK("{'id':'call_b','type':'function','function':{'name':'get_time',"
	                                 "'arguments':'{\\'city\\':\\'Tokyo\\'}'}}") "," FINISH_TOOLS
	                                                                             ",'[DONE]']}]}]}");
	stream_call(&req, &s, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && r.ntool_calls == 2 &&
	         call_is(&r, 0, "call_a", "get_weather", "{\"city\":\"Paris\"}") &&
	         call_is(&r, 1, "call_b", "get_time", "{\"city\":\"Tokyo\"}") && str_eq(r.finish_reason, "tool_calls"),
	     "stream_parallel_no_index: two calls without index are two calls, each its own id, name and "
	     "arguments (%d calls: %s %s)",
	     r.ntool_calls, r.ntool_calls ? r.tool_calls[0].arguments : "-", msg_of(&r));
	T_OK(s.tool_deltas == 2 && s.max_tool_index == 1, "stream_parallel_no_index: deltas name calls 0 and 1");
	llm_response_free(&r);
	buf_free(&s.text);
}

static void case_stream_args_object(void)
{
	struct llm_request req = req_for(LLM_OPENAI_COMPATIBLE, "ARGSOBJ please");
	struct llm_response r;
	struct seen s;

	fake_scriptq("{'rules':[{'match':'ARGSOBJ','replies':[{'sse':[" CHUNK(
	    "{'index':0,'id':'call_o','type':'function','function':{'name':'get_weather','arguments':{'city':'Paris'}}"
	    "}") "," FINISH_TOOLS ",'[DONE]']}]}]}");
	stream_call(&req, &s, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && call_is(&r, 0, "call_o", "get_weather", "{\"city\":\"Paris\"}"),
	     "stream_args_object: arguments sent as an object read as {\"city\":\"Paris\"}: %s",
	     r.ntool_calls ? r.tool_calls[0].arguments : msg_of(&r));
	T_EQ_INT(s.tool_deltas, 1, "stream_args_object: and given to on_delta");
	llm_response_free(&r);
	buf_free(&s.text);
}

/* more: index on some deltas and not on others, three calls */
static void case_stream_mixed_index(void)
{
	struct llm_request req = req_for(LLM_OPENAI_COMPATIBLE, "MIXEDINDEX three calls");
	struct llm_response r;
	struct seen s;

	fake_scriptq("{'rules':[{'match':'MIXEDINDEX','replies':[{'sse':[" CHUNK(
	    "{'index':0,'id':'c1','type':'"
	    "function','function':{'name':'f1','"
	    "arguments':''}}") "," CHUNK("{'index'"
	                                 ":0,'"
	                                 "function"
	                                 "':{'"
	                                 "argument"
	                                 "s':'{\\'"
	                                 "x\\':'}"
	                                 "}") "," CHUNK("{'id':'c2','type':'function','function':{'name':'f2','"
	                                                "arguments':'{\\'y\\':2}'}}") "," CHUNK("{'index':0,'"
	                                                                                        "function':"
	                                                                                        "{'arguments':'1}'}"
	                                                                                        "}") "," CHUNK("{'"
	                                                                                                       "ind"
	                                                                                                       "ex'"
	                                                                                                       ":2,"
	                                                                                                       "'id"
	                                                                                                       "':'"
	                                                                                                       "c3'"
	                                                                                                       ",'"
	                                                                                                       "typ"
	                                                                                                       "e':"
	                                                                                                       "'fu"
	                                                                                                       "nct"
	                                                                                                       "ion"
	                                                                                                       "','"
	                                                                                                       "fun"
	                                                                                                       "cti"
	                                                                                                       "on'"
	                                                                                                       ":{"
	                                                                                                       "'na"
	                                                                                                       "me'"
	                                                                                                       ":'"
	                                                                                                       "f3'"
	                                                                                                       ",'"
	                                                                                                       "arg"
	                                                                                                       "ume"
	                                                                                                       "nts"
	                                                                                                       "':'"
	                                                                                                       "{}'"
	                                                                                                       "}}") "," FINISH_TOOLS
	                                                                                                             ","
	                                                                                                             "'"
	                                                                                                             "["
	                                                                                                             "D"
	                                                                                                             "O"
	                                                                                                             "N"
	                                                                                                             "E"
	                                                                                                             "]"
	                                                                                                             "'"
	                                                                                                             "]"
	                                                                                                             "}"
	                                                                                                             "]"
	                                                                                                             "}"
	                                                                                                             "]"
	                                                                                                             "}");
	stream_call(&req, &s, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && r.ntool_calls == 3 && call_is(&r, 0, "c1", "f1", "{\"x\":1}") &&
	         call_is(&r, 1, "c2", "f2", "{\"y\":2}") && call_is(&r, 2, "c3", "f3", "{}"),
	     "stream_mixed_index: index on some deltas only: three calls, each whole (%d)", r.ntool_calls);
	llm_response_free(&r);
	buf_free(&s.text);
}

/* more: arguments split across chunks that carry the id but no index; and one index reused by two ids */
static void case_stream_split_by_id(void)
{
	struct llm_request req = req_for(LLM_OPENAI_COMPATIBLE, "SPLITID two calls");
	struct llm_response r;
	struct seen s;

	fake_scriptq(
	    "{'rules':[{'match':'SPLITID','replies':[{'sse':[" CHUNK(
	        "{'id':'s1','type':'function','function':"
	        "{'name':'f','arguments':'{\\'a\\''}}") "," CHUNK("{'id':'s1','function':{'arguments':':1}'}}") "," CHUNK("{'id':'s2','type':'function','function':{'name':'g','arguments':'{\\'b\\':2}'}}") "," FINISH_TOOLS
	                                                                                                                                                                                                     ",'[DONE]']}]},"
	                                                                                                                                                                                                     "{'match':'SAMEINDEX','"
	                                                                                                                                                                                                     "replies':[{'sse':"
	                                                                                                                                                                                                     "[" CHUNK("{'index':0,'"
	                                                                                                                                                                                                               "id':'i1','"
	                                                                                                                                                                                                               "type':'"
	                                                                                                                                                                                                               "function','"
	                                                                                                                                                                                                               "function':{'"
	                                                                                                                                                                                                               "name':'f','"
	                                                                                                                                                                                                               "arguments':'{"
	                                                                                                                                                                                                               "}'}}") "," CHUNK("{'index':0,'id':'"
	                                                                                                                                                                                                                                 "i2','type':'"
	                                                                                                                                                                                                                                 "function','"
	                                                                                                                                                                                                                                 "function':{'name':'"
	                                                                                                                                                                                                                                 "g','arguments':''}"
	                                                                                                                                                                                                                                 "}") "," CHUNK("{'"
	                                                                                                                                                                                                                                                "inde"
	                                                                                                                                                                                                                                                "x':"
	                                                                                                                                                                                                                                                "0,'"
	                                                                                                                                                                                                                                                "func"
	                                                                                                                                                                                                                                                "tion"
	                                                                                                                                                                                                                                                "':{'"
	                                                                                                                                                                                                                                                "argu"
	                                                                                                                                                                                                                                                "ment"
	                                                                                                                                                                                                                                                "s':'"
	                                                                                                                                                                                                                                                "{\\'"
	                                                                                                                                                                                                                                                "k\\'"
	                                                                                                                                                                                                                                                ":3}'"
	                                                                                                                                                                                                                                                "}}") "," FINISH_TOOLS
	                                                                                                                                                                                                                                                      ",'[DONE]']}]}]}");
	stream_call(&req, &s, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && r.ntool_calls == 2 && call_is(&r, 0, "s1", "f", "{\"a\":1}") &&
	         call_is(&r, 1, "s2", "g", "{\"b\":2}"),
	     "stream_split_by_id: arguments split across chunks with the id and no index (%d calls)", r.ntool_calls);
	llm_response_free(&r);
	buf_free(&s.text);

	req = req_for(LLM_OPENAI_COMPATIBLE, "SAMEINDEX two calls");
	stream_call(&req, &s, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && r.ntool_calls == 2 && call_is(&r, 0, "i1", "f", "{}") &&
	         call_is(&r, 1, "i2", "g", "{\"k\":3}"),
	     "stream_same_index: two ids under one index are two calls (%d calls)", r.ntool_calls);
	llm_response_free(&r);
	buf_free(&s.text);
}

/* ---- reading non-streamed answers ---- */

static void case_200_error_object(void)
{
	struct llm_request req = req_for(LLM_OPENAI_COMPATIBLE, "ERR200A please");
	struct llm_response r;

	fake_scriptq(
	    "{'rules':["
	    "{'match':'ERR200A','replies':[{'body':{'error':{'message':'Upstream failed','code':502}}},"
	    "{'text':'after the router recovered'}]},"
	    "{'match':'ERR200B','replies':[{'body':{'error':{'message':'Upstream failed','code':502}}}]},"
	    "{'match':'ERR200C','replies':[{'body':{'error':{'message':'No auth credentials found','code':401}}}]},"
	    "{'match':'ERR200D','replies':[{'body':{'error':{'message':'Rate limit exceeded','code':429}}},"
	    "{'text':'after the limit'}]},"
	    "{'match':'ERR200E','replies':[{'body':{'type':'error','error':{'type':'rate_limit_error',"
	    "'message':'slow down'}}},{'text':'after rate_limit_error'}]}]}");
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && str_eq(r.text, "after the router recovered") && r.rec.attempts == 2,
	     "200_error_502: a 200 with an error object coded 502 is a server error and is retried (%d attempts: %s)",
	     r.rec.attempts, msg_of(&r));
	llm_response_free(&r);

	user_msg.content = "ERR200B please";
	req.max_attempts = 2;
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_SERVER && r.rec.attempts == 2 && strstr(r.rec.error_message, "Upstream failed"),
	     "200_error_502: when it persists, a server error that keeps the provider's message: %s", msg_of(&r));
	llm_response_free(&r);

	user_msg.content = "ERR200C please";
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_AUTH && r.rec.attempts == 1 && strstr(r.rec.error_message, "No auth credentials"),
	     "200_error_401: coded 401 is an auth error, not retried: %s", msg_of(&r));
	llm_response_free(&r);

	user_msg.content = "ERR200D please";
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && r.rec.attempts == 2 && str_eq(r.text, "after the limit"),
	     "200_error_429: coded 429 is a rate limit, retried: %s", msg_of(&r));
	llm_response_free(&r);

	/* more: no numeric code, the type says it */
	user_msg.content = "ERR200E please";
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && r.rec.attempts == 2 && str_eq(r.text, "after rate_limit_error"),
	     "200_error_type: a 200 whose error type is rate_limit_error is retried: %s", msg_of(&r));
	llm_response_free(&r);
}

static void case_tool_call_without_id(void)
{
	struct llm_request req = req_for(LLM_OPENAI_COMPATIBLE, "NOID call a tool");
	struct llm_response r, r2, rs;
	struct seen s;

	fake_scriptq(
	    "{'rules':[{'match':'NOID','replies':[{'body':{'model':'m','choices':[{'index':0,'message':{'role':"
	    "'assistant','content':null,'tool_calls':[{'type':'function','function':{'name':'get_weather','arguments':"
	    "'{\\'city\\':\\'Paris\\'}'}},{'type':'function','function':{'name':'get_time','arguments':'{}'}}]},"
	    "'finish_reason':'tool_calls'}]}},{'text':'answered'}]},"
	    "{'match':'SIDLESS','replies':[{'sse':[" CHUNK(
	        "{'index':0,'type':'function','function':{'name':'get_weather','arguments':'{}'}}") "," FINISH_TOOLS
	                                                                                            ",'[DONE]']}]}]}");
	llm_call(cl, &req, &r);
	bool ids = r.ntool_calls == 2 && r.tool_calls[0].id && r.tool_calls[1].id && *r.tool_calls[0].id &&
	           !str_eq(r.tool_calls[0].id, r.tool_calls[1].id);
	T_OK(r.rec.error == LLM_ERR_NONE && ids, "tool_call_without_id: the client makes a unique id for each: %s %s",
	     r.ntool_calls > 0 ? r.tool_calls[0].id : "-", r.ntool_calls > 1 ? r.tool_calls[1].id : "-");
	if (!ids) {
		llm_response_free(&r);
		return;
	}
	struct llm_message turn[] = {
	    user_msg,
	    {.role = LLM_ROLE_ASSISTANT, .tool_calls = r.tool_calls, .ntool_calls = 2},
	    {.role = LLM_ROLE_TOOL, .tool_call_id = r.tool_calls[0].id, .content = "sunny"},
	    {.role = LLM_ROLE_TOOL, .tool_call_id = r.tool_calls[1].id, .content = "noon"},
	};
	struct llm_request req2 = req;
	req2.messages = turn;
	req2.nmessages = 4;
	llm_call(cl, &req2, &r2);
	json_t *sent = fake_requests_with("sunny");
	json_t *msgs = json_object_get(json_object_get(json_array_get(sent, 0), "body"), "messages");
	const char *sent_call = json_string_value(
	    json_object_get(json_array_get(json_object_get(json_array_get(msgs, 1), "tool_calls"), 0), "id"));
	const char *sent_answer = json_string_value(json_object_get(json_array_get(msgs, 2), "tool_call_id"));
	T_OK(r2.rec.error == LLM_ERR_NONE && str_eq(sent_call, r.tool_calls[0].id) &&
	         str_eq(sent_answer, r.tool_calls[0].id),
	     "tool_call_without_id: the next turn sends that id in the call and in the tool message (%s, %s)",
	     sent_call ? sent_call : "none", sent_answer ? sent_answer : "none");
	json_decref(sent);
	llm_response_free(&r2);

	/* more: a turn that would send an empty id is refused before it leaves */
	turn[3].tool_call_id = "";
	llm_call(cl, &req2, &r2);
	T_OK(r2.rec.error == LLM_ERR_BAD_REQUEST && strstr(r2.rec.error_message, "messages[3].tool_call_id"),
	     "tool_call_without_id: an empty tool_call_id is refused, naming the message: %s", msg_of(&r2));
	llm_response_free(&r2);
	llm_response_free(&r);

	/* more: streamed, without an id */
	req = req_for(LLM_OPENAI_COMPATIBLE, "SIDLESS call a tool");
	stream_call(&req, &s, &rs);
	T_OK(rs.rec.error == LLM_ERR_NONE && rs.ntool_calls == 1 && rs.tool_calls[0].id &&
	         str_startswith(rs.tool_calls[0].id, "call_"),
	     "stream_tool_call_without_id: a streamed call gets an id too: %s",
	     rs.ntool_calls ? rs.tool_calls[0].id : msg_of(&rs));
	llm_response_free(&rs);
	buf_free(&s.text);
}

/* ---- retrying only what can succeed, and never what was already shown ---- */

static void case_quota(void)
{
	struct llm_request req = req_for(LLM_OPENAI, "QUOTA429 please");
	struct llm_response r;

	fake_scriptq(
	    "{'rules':["
	    "{'match':'QUOTA429','replies':[{'status':429,'retry_after':0,'body':{'error':{'message':'You "
	    "exceeded your current quota, please check your plan and billing details.','type':"
	    "'insufficient_quota','param':null,'code':'insufficient_quota'}}},{'text':'never'}]},"
	    "{'match':'QUOTALIM','replies':[{'status':429,'body':{'error':{'message':'quota','type':"
	    "'insufficient_quota','code':'insufficient_quota'}}}]},"
	    "{'match':'QUOTATYPE','replies':[{'status':429,'body':{'error':{'message':'You have hit your hard "
	    "limit','type':'billing_hard_limit_reached','code':null}}},{'text':'never'}]},"
	    "{'match':'QUOTA200','replies':[{'body':{'error':{'message':'quota','code':'insufficient_quota'}}},"
	    "{'text':'never'}]}]}");
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_QUOTA && r.rec.attempts == 1 && strstr(r.rec.error_message, "out of quota") &&
	         strstr(r.rec.error_message, "exceeded your current quota"),
	     "quota_429: insufficient_quota is one attempt and says the account is out of quota: %s", msg_of(&r));
	T_EQ_INT(requests_with("QUOTA429"), 1, "quota_429: the fake saw one request");
	llm_response_free(&r);

	/* more: billing_hard_limit_reached spelled as the type; insufficient_quota in a 200 */
	user_msg.content = "QUOTATYPE please";
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_QUOTA && r.rec.attempts == 1, "quota_type: billing_hard_limit_reached as type: %s",
	     msg_of(&r));
	llm_response_free(&r);
	user_msg.content = "QUOTA200 please";
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_QUOTA && r.rec.attempts == 1, "quota_200: insufficient_quota in a 200's code: %s",
	     msg_of(&r));
	llm_response_free(&r);
	T_EQ_STR(llm_error_name(LLM_ERR_QUOTA), "quota", "quota: the error's name");

	/* the limiter is not slowed by it: a tpm budget with room for one call a minute still serves the next */
	struct llm_limiter *lim = llm_limiter_new();
	struct llm_client *lc = llm_client_new(lim);
	llm_limiter_set(lim, "quota-budget", &(struct llm_limit){.tpm = 1200});
	req = req_for(LLM_OPENAI, "QUOTALIM please");
	req.limit_key = "quota-budget";
	req.max_tokens = 1000; /* the estimate: about 1050 of the 1200 */
	llm_call(lc, &req, &r);
	T_EQ_INT(r.rec.error, LLM_ERR_QUOTA, "quota_limiter: the quota error under a tpm limit");
	llm_response_free(&r);
	user_msg.content = "after the quota error";
	int64_t t0 = time_mono_us();
	llm_call(lc, &req, &r);
	int64_t ms = (time_mono_us() - t0) / 1000;
	T_OK(r.rec.error == LLM_ERR_NONE && ms < 5000,
	     "quota_limiter: the next call starts at once (%lld ms), its tokens were not spent by the failure",
	     (long long) ms);
	llm_response_free(&r);
	llm_client_free(&lc);
	llm_limiter_free(&lim);
}

#define ANT(name, data) "'event: " name "\\ndata: " data "'"
#define ANT_START                                                                                                      \
	ANT("message_start", "{\\'type\\':\\'message_start\\',\\'message\\':{\\'model\\':\\'claude-x\\',\\'usage\\':{" \
	                     "\\'input_tokens\\':5,\\'output_tokens\\':1}}}")                                          \
	"," ANT("content_block_start", "{\\'type\\':\\'content_block_start\\',\\'index\\':0,\\'content_block\\':{"     \
	                               "\\'type\\':\\'text\\',\\'text\\':\\'\\'}}")
#define ANT_TEXT(t)                                                                                                    \
	ANT("content_block_delta", "{\\'type\\':\\'content_block_delta\\',\\'index\\':0,\\'delta\\':{\\'type\\':"      \
	                           "\\'text_delta\\',\\'text\\':\\'" t "\\'}}")
#define ANT_OVERLOADED                                                                                                 \
	ANT("error", "{\\'type\\':\\'error\\',\\'error\\':{\\'type\\':\\'overloaded_error\\',\\'message\\':"           \
	             "\\'Overloaded\\'}}")
#define ANT_END                                                                                                        \
	ANT("content_block_stop", "{\\'type\\':\\'content_block_stop\\',\\'index\\':0}")                               \
	"," ANT("message_delta",                                                                                       \
	        "{\\'type\\':\\'message_delta\\',\\'delta\\':{\\'stop_reason\\':\\'end_turn\\'},"                      \
	        "\\'usage\\':{\\'output_tokens\\':3}}") "," ANT("message_stop", "{\\'type\\':\\'message_stop\\'}")
#define OAI_TEXT(t) "{'choices':[{'index':0,'delta':{'content':'" t "'},'finish_reason':null}]}"

static void case_no_retry_after_delta(void)
{
	struct llm_request req = req_for(LLM_ANTHROPIC, "OVERMID please");
	struct llm_response r;
	struct seen s;

	fake_scriptq(
	    "{'rules':["
	    "{'match':'OVERMID','replies':[{'sse':[" ANT_START
	    "," ANT_TEXT("Hel") "," ANT_TEXT("lo") "," ANT_OVERLOADED "]},{'sse':[" ANT_START "," ANT_TEXT(
	        "Second whole answer") "," ANT_END "]}]},"
	                               "{'match':'OVERFIRST','replies':[{'sse':[" ANT_START "," ANT_OVERLOADED
	                               "]},{'sse':[" ANT_START "," ANT_TEXT(
	                                   "Whole") "," ANT_END "]}]},"
	                                            "{'match':'ANTCUT','replies':[{'sse':[" ANT_START "," ANT_TEXT(
	                                                "Part") "],'cut':true},"
	                                                        "{'sse':[" ANT_START "," ANT_TEXT(
	                                                            "Whole") "," ANT_END "]}]},"
	                                                                     "{'match':'OAICUT','replies':[{'sse':"
	                                                                     "[" OAI_TEXT("Partial ") "," OAI_TEXT(
	                                                                         "text") "],'cut':true},"
	                                                                                 "{'text':'never'}]},"
	                                                                                 "{'match':'OAISTALLTEXT','"
	                                                                                 "replies':[{'sse':[" OAI_TEXT(
	                                                                                     "Before the stall") "],'"
	                                                                                                         "gap_"
	                                                                                                         "ms':"
	                                                                                                         "3000}"
	                                                                                                         ","
	                                                                                                         "{'"
	                                                                                                         "text'"
	                                                                                                         ":'"
	                                                                                                         "never"
	                                                                                                         "'}]}]"
	                                                                                                         "}");
	stream_call(&req, &s, &r);
	T_OK(r.rec.error == LLM_ERR_SERVER && r.rec.attempts == 1 && r.rec.http_status == 200 &&
	         str_eq(r.text, "Hello") && str_eq(s.text.data, "Hello") &&
	         strstr(r.rec.error_message, "overloaded_error"),
	     "anthropic_error_after_delta: no retry once a delta went out; a server error carrying the partial "
	     "text (text %s, deltas %s): %s",
	     r.text ? r.text : "(null)", s.text.data ? s.text.data : "", msg_of(&r));
	T_EQ_INT(requests_with("OVERMID"), 1, "anthropic_error_after_delta: the fake saw one request");
	llm_response_free(&r);
	buf_free(&s.text);

	/* more: overloaded before any delta: a retry shows nothing twice */
	req = req_for(LLM_ANTHROPIC, "OVERFIRST please");
	stream_call(&req, &s, &r);
	T_OK(r.rec.error == LLM_ERR_NONE && r.rec.attempts == 2 && str_eq(r.text, "Whole") &&
	         str_eq(s.text.data, "Whole"),
	     "anthropic_error_before_delta: retried, and on_delta saw the answer once: %s / %s", msg_of(&r),
	     s.text.data ? s.text.data : "");
	llm_response_free(&r);
	buf_free(&s.text);

	/* more: an Anthropic stream cut after text */
	req = req_for(LLM_ANTHROPIC, "ANTCUT please");
	stream_call(&req, &s, &r);
	T_OK(r.rec.error == LLM_ERR_NETWORK && r.rec.attempts == 1 && str_eq(r.text, "Part") &&
	         str_eq(s.text.data, "Part"),
	     "anthropic_cut_after_text: not retried, the partial text kept: %s", msg_of(&r));
	llm_response_free(&r);
	buf_free(&s.text);

	req = req_for(LLM_OPENAI_COMPATIBLE, "OAICUT please");
	stream_call(&req, &s, &r);
	T_OK(r.rec.error == LLM_ERR_NETWORK && r.rec.attempts == 1 && str_eq(r.text, "Partial text") &&
	         str_eq(s.text.data, "Partial text"),
	     "openai_cut_after_text: a stream cut after text is not retried: %s", msg_of(&r));
	T_EQ_INT(requests_with("OAICUT"), 1, "openai_cut_after_text: the fake saw one request");
	llm_response_free(&r);
	buf_free(&s.text);

	/* more: a stream that stalls after text times out without a retry */
	req = req_for(LLM_OPENAI_COMPATIBLE, "OAISTALLTEXT please");
	req.idle_timeout_ms = 300;
	stream_call(&req, &s, &r);
	T_OK(r.rec.error == LLM_ERR_TIMEOUT && r.rec.attempts == 1 && str_eq(r.text, "Before the stall"),
	     "openai_stall_after_text: stalled after text: a timeout, not retried: %s", msg_of(&r));
	llm_response_free(&r);
	buf_free(&s.text);
}

/* ---- building requests the provider accepts ---- */

static json_t *body_with(const char *marker)
{
	json_t *a = fake_requests_with(marker);
	json_t *b = json_incref(json_object_get(json_array_get(a, json_array_size(a) - 1), "body"));
	json_decref(a);
	return b;
}

static void case_reasoning_params(void)
{
	struct llm_response r;
	struct {
		const char *what;
		enum llm_provider p;
		const char *model, *deployment, *marker, *tokens_field;
		bool sampling;
	} cases[] = {
	    {"azure_reasoning", LLM_AZURE_OPENAI, "o3-mini", "o3-mini-prod", "REASONAZ", "max_completion_tokens",
	     false},
	    {"azure_reasoning_deployment_only", LLM_AZURE_OPENAI, NULL, "o4-mini", "REASONAZ2", "max_completion_tokens",
	     false},
	    {"openai_gpt5", LLM_OPENAI, "gpt-5-mini", NULL, "REASONOAI", "max_completion_tokens", false},
	    {"openai_o1", LLM_OPENAI, "o1", NULL, "REASONO1", "max_completion_tokens", false},
	    {"openai_gpt4o", LLM_OPENAI, "gpt-4o-mini", NULL, "PLAINOAI", "max_completion_tokens", true},
	    {"azure_gpt4o", LLM_AZURE_OPENAI, "gpt-4o", "gpt4o-deploy", "PLAINAZ", "max_completion_tokens", true},
	    {"compatible_keeps_max_tokens", LLM_OPENAI_COMPATIBLE, "gpt-4o-mini", NULL, "PLAINCOMPAT", "max_tokens",
	     true},
	    {"ollama_keeps_max_tokens", LLM_OLLAMA, "llama3.2", NULL, "PLAINOLLAMA", "max_tokens", true},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char prompt[64];
		snprintf(prompt, sizeof(prompt), "%s please", cases[i].marker);
		struct llm_request req = req_for(cases[i].p, prompt);
		req.model = cases[i].model;
		req.deployment = cases[i].deployment;
		req.max_tokens = 100;
		req.has_temperature = req.has_top_p = true;
		req.temperature = 0.2;
		req.top_p = 0.9;
		llm_call(cl, &req, &r);
		json_t *b = body_with(cases[i].marker);
		const char *other =
		    str_eq(cases[i].tokens_field, "max_tokens") ? "max_completion_tokens" : "max_tokens";
		T_OK(r.rec.error == LLM_ERR_NONE &&
		         json_integer_value(json_object_get(b, cases[i].tokens_field)) == 100 &&
		         !json_object_get(b, other) &&
		         (json_object_get(b, "temperature") != NULL) == cases[i].sampling &&
		         (json_object_get(b, "top_p") != NULL) == cases[i].sampling,
		     "%s: the fake accepted it and recorded %s%s: %s", cases[i].what, cases[i].tokens_field,
		     cases[i].sampling ? " with temperature and top_p" : ", no temperature, no top_p", msg_of(&r));
		json_decref(b);
		llm_response_free(&r);
	}

	/* the fake tells the truth: it refuses max_tokens for a reasoning model */
	struct llm_request req = req_for(LLM_OPENAI_COMPATIBLE, "REFUSED please");
	req.model = "o3-mini";
	req.max_tokens = 100;
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_BAD_REQUEST && r.rec.attempts == 1 && strstr(r.rec.error_message, "max_tokens") &&
	         strstr(r.rec.error_message, "unsupported_parameter"),
	     "fake_refuses_max_tokens: a compatible server given max_tokens for o3-mini answers 400: %s", msg_of(&r));
	llm_response_free(&r);
}

static void case_base_urls(void)
{
	char v1slash[96], v1twice[96], v1chat[128], azure_whole[256], azure_other[256], ant_v1[96], ollama_v1[96];
	struct llm_response r;

	snprintf(v1slash, sizeof(v1slash), "%s/", base_v1);
	snprintf(v1twice, sizeof(v1twice), "%s/v1/", base_v1);
	snprintf(v1chat, sizeof(v1chat), "%s/chat/completions", base_v1);
	snprintf(azure_whole, sizeof(azure_whole),
	         "%s/openai/deployments/gpt4o-deploy/chat/completions?api-version=2024-10-21", base);
	snprintf(azure_other, sizeof(azure_other), "%s/openai/deployments/other-dep/chat/completions", base);
	snprintf(ant_v1, sizeof(ant_v1), "%s/v1", base);
	snprintf(ollama_v1, sizeof(ollama_v1), "%s/v1", base);
	struct {
		const char *what;
		enum llm_provider p;
		const char *url, *path;
	} ok[] = {
	    {"ollama_base_v1", LLM_OLLAMA, ollama_v1, "/v1/chat/completions"},
	    {"openai_trailing_slash", LLM_OPENAI, v1slash, "/v1/chat/completions"},
	    {"compatible_v1_twice", LLM_OPENAI_COMPATIBLE, v1twice, "/v1/chat/completions"},
	    {"compatible_endpoint_pasted", LLM_OPENAI_COMPATIBLE, v1chat, "/v1/chat/completions"},
	    {"azure_url_pasted_whole", LLM_AZURE_OPENAI, azure_whole,
	     "/openai/deployments/gpt4o-deploy/chat/completions"},
	    {"anthropic_base_v1", LLM_ANTHROPIC, ant_v1, "/v1/messages"},
	};
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		char prompt[64];
		snprintf(prompt, sizeof(prompt), "BASEURL%zu please", i);
		struct llm_request req = req_for(ok[i].p, prompt);
		req.base_url = ok[i].url;
		if (ok[i].p == LLM_OLLAMA)
			req.model = "llama3.2";
		llm_call(cl, &req, &r);
		json_t *sent = fake_requests_with(prompt);
		const char *path = json_string_value(json_object_get(json_array_get(sent, 0), "path"));
		T_OK(r.rec.error == LLM_ERR_NONE && str_eq(path, ok[i].path), "%s: %s posts to %s: %s", ok[i].what,
		     ok[i].url, path ? path : "(nothing)", msg_of(&r));
		json_decref(sent);
		llm_response_free(&r);
	}

	/* Ollama's embeddings with the same /v1 base */
	const char *inputs[] = {"one"};
	struct llm_embed_request er = {
	    .provider = LLM_OLLAMA, .base_url = ollama_v1, .model = "nomic-embed-text", .inputs = inputs, .ninputs = 1};
	struct llm_embed_response e;
	llm_embed(cl, &er, &e);
	T_OK(e.rec.error == LLM_ERR_NONE && e.dim == 8, "ollama_base_v1: embeddings reach /api/embed: %s",
	     e.rec.error_message ? e.rec.error_message : "ok");
	llm_embed_response_free(&e);

	/* ambiguous: an Azure URL naming another deployment is refused with the fix */
	struct llm_request req = req_for(LLM_AZURE_OPENAI, "BASEAMBIG please");
	req.base_url = azure_other;
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_BAD_REQUEST && r.rec.attempts == 0 &&
	         strstr(r.rec.error_message, "deployment to other-dep"),
	     "azure_other_deployment: refused before sending, with the fix: %s", msg_of(&r));
	llm_response_free(&r);

	/* the fake tells the truth: a doubled path is a 404 */
	struct llm_message m = {.role = LLM_ROLE_USER, .content = "DOUBLED please"};
	req = req_for(LLM_OPENAI_COMPATIBLE, "DOUBLED please");
	req.messages = &m;
	char doubled[128];
	snprintf(doubled, sizeof(doubled), "%s/v1/x", base_v1); /* not a suffix the client may cut */
	req.base_url = doubled;
	llm_call(cl, &req, &r);
	T_OK(r.rec.error == LLM_ERR_NOT_FOUND, "fake_doubled_path: /v1/v1/… answers 404: %s", msg_of(&r));
	llm_response_free(&r);
}

/* ---- cancel where no timer would wake the loop ---- */

struct canceller {
	struct llm_call *call;
	int delay_ms;
	int64_t at_us;
};

static void *cancel_later(void *ud)
{
	struct canceller *cx = ud;
	usleep((useconds_t) cx->delay_ms * 1000);
	cx->at_us = time_mono_us();
	llm_call_cancel(cx->call);
	return NULL;
}

struct ended {
	bool done;
	int64_t at_us;
	enum llm_error err;
};

static void on_done(struct llm_call *call, struct llm_response *r, void *ud)
{
	struct ended *e = ud;
	(void) call;
	e->done = true;
	e->at_us = time_mono_us();
	e->err = r->rec.error;
}

/* Starts req, cancels it after delay_ms from another thread, and returns how long the end took after the cancel. */
static int64_t cancel_after(struct llm_request *req, int delay_ms, struct ended *e)
{
	pthread_t th;
	memset(e, 0, sizeof(*e));
	struct canceller cx = {.call = llm_call_start(cl, req, on_done, e), .delay_ms = delay_ms};
	int64_t t0 = time_mono_us();
	pthread_create(&th, NULL, cancel_later, &cx);
	/* one long run: only the cancel's wake-up (or a timer) ends the wait */
	while (!e->done && time_mono_us() - t0 < 20000000)
		llm_client_run(cl, 10000);
	pthread_join(th, NULL);
	return (e->at_us - cx.at_us) / 1000;
}

static void case_cancel(void)
{
	struct ended e;

	fake_scriptq("{'rules':[{'match':'STALL5S','replies':[{'stall_ms':5000}]},"
	             "{'match':'RETRY30','replies':[{'status':429,'retry_after':30},{'text':'never'}]}]}");
	/* 400 ms of slack for a loaded machine; without the wake-up the end comes seconds later (the next timer) */
	struct llm_request req = req_for(LLM_OPENAI_COMPATIBLE, "STALL5S please");
	req.stream = true;
	req.idle_timeout_ms = 20000;
	int64_t ms = cancel_after(&req, 730, &e);
	T_OK(e.done && e.err == LLM_ERR_CANCELLED && ms < 400,
	     "cancel_mid_stall: a cancel at 730 ms into a silent 5 s stall ends the call %lld ms later",
	     (long long) ms);

	req = req_for(LLM_OPENAI_COMPATIBLE, "RETRY30 please");
	ms = cancel_after(&req, 730, &e);
	T_OK(e.done && e.err == LLM_ERR_CANCELLED && ms < 400,
	     "cancel_waiting_retry: a call waiting 30 s to retry after a 429 ends %lld ms after its cancel",
	     (long long) ms);
	T_EQ_INT(requests_with("RETRY30"), 1, "cancel_waiting_retry: no second attempt was sent");
}

int main(void)
{
	core_init();
	signal(SIGPIPE, SIG_IGN);
	fake_start();
	cl = llm_client_new(NULL);
	case_stream_parallel_no_index();
	case_stream_args_object();
	case_stream_mixed_index();
	case_stream_split_by_id();
	case_200_error_object();
	case_tool_call_without_id();
	case_quota();
	case_no_retry_after_delta();
	case_reasoning_params();
	case_base_urls();
	case_cancel();
	llm_client_free(&cl);
	fake_stop();
	return t_done();
}
