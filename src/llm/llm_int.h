/*
 * llm module internals: the SSE parser, the providers' wire formats, retry
 * arithmetic and the limiter's bookkeeping. Only src/llm/ and its unit
 * tests include this; everyone else uses llm.h.
 */
#ifndef TROUPE_LLM_INT_H
#define TROUPE_LLM_INT_H

#include "core/core.h"
#include "llm/llm.h"

#include <curl/curl.h>
#include <stdatomic.h>

/* ---- sse.c: text/event-stream, fed in arbitrary pieces ---- */

/* Returns 0 to go on, -1 to stop the stream. event is "message" when unnamed. */
typedef int (*llm_sse_fn)(void *ud, const char *event, const char *data, size_t len);

struct llm_sse {
	struct buf line; /* the line being read */
	struct buf data; /* data lines of the event being read, joined by \n */
	char event[64];
	bool has_data;
	bool after_cr; /* the last byte was CR: an LF right after belongs to it */
	llm_sse_fn fn;
	void *ud;
};

void llm_sse_init(struct llm_sse *s, llm_sse_fn fn, void *ud);
/* Returns -1 when fn stopped the stream or a line is over 16 MiB. */
int llm_sse_feed(struct llm_sse *s, const char *p, size_t n);
void llm_sse_reset(struct llm_sse *s);
void llm_sse_free(struct llm_sse *s);

/* ---- wire.c: URLs, headers and bodies per provider, and their answers ---- */

/* The forced tool that stands in for JSON output on Anthropic. */
#define LLM_JSON_TOOL "json_response"

/* NULL with the reason in err (no base_url, no deployment, a base_url that cannot be made right). */
char *llm_wire_chat_url(const struct llm_request *req, char *err, size_t errlen);
char *llm_wire_embed_url(const struct llm_embed_request *req, char *err, size_t errlen);
/* Builds the body; NULL with a message in err when the request cannot be sent. */
json_t *llm_wire_chat_body(const struct llm_request *req, char *err, size_t errlen);
json_t *llm_wire_embed_body(const struct llm_embed_request *req, const char *const *inputs, int n);
/* Content-Type, auth and extras; the key is wiped from every scratch copy. */
struct curl_slist *llm_wire_headers(enum llm_provider p, const char *api_key, const char *api_version,
                                    const char *organization, const struct llm_header *extra, int nextra, bool stream);
/* Wipes each header's bytes (one carries the key) and frees the list. */
void llm_wire_headers_free(struct curl_slist *h);

/* Non-streamed answer into resp (text, tools, finish, usage, model). */
int llm_wire_parse_chat(enum llm_provider p, const char *body, size_t len, bool json_tool, struct llm_response *resp,
                        char *err, size_t errlen);
/* The provider's error message from an error body: "type: message", or the body's start. Caller frees. */
char *llm_wire_error_text(const char *body, size_t len);
/*
 * What an error answer means, from its status and its body's error object:
 * the type or code (insufficient_quota is LLM_ERR_QUOTA whatever the status,
 * never retried) and, in a 2xx (some routers answer 200 with an error
 * object), the embedded numeric code, else the type's usual status, else a
 * server error. Returns whether the body holds an error object; *err and
 * *retry are set either way.
 */
bool llm_wire_error_classify(long http_status, const char *body, size_t len, enum llm_error *err, bool *retry);
/* A fresh tool call id, "call_" and 24 hex digits, for providers that send none. Caller frees. */
char *llm_tool_call_id_new(void);
/* Embedding vectors of one batch into out[n*dim]; sets *dim on the first batch (0 on entry). */
int llm_wire_parse_embed(enum llm_provider p, const char *body, size_t len, int n, float **out, int *dim,
                         int64_t *prompt_tokens, char *err, size_t errlen);

/* A streamed answer being assembled. */
struct llm_acc_tool {
	struct buf id, name, args;
	int block; /* Anthropic content block index; OpenAI tool index */
};
struct llm_stream {
	enum llm_provider provider;
	struct buf text;
	bool has_text;
	struct llm_acc_tool *tools;
	int ntools;
	char *finish_reason;
	char *model;
	int64_t prompt_tokens, completion_tokens, cached_tokens;
	bool done;                 /* [DONE] or message_stop seen */
	int64_t first_us;          /* first text or tool delta, 0 until then */
	char *error;               /* an error event inside the stream */
	enum llm_error error_kind; /* and what it says failed (llm_wire_error_classify) */
	bool error_retry;
	bool delivered; /* on_delta has been called: what went out cannot be taken back by a retry */
	bool json_tool; /* Anthropic JSON emulation: the forced tool's input is the text */
	llm_delta_fn on_delta;
	void *delta_ud;
};
void llm_stream_init(struct llm_stream *st, enum llm_provider p, bool json_tool, llm_delta_fn fn, void *ud);
/* An llm_sse_fn: ud is the struct llm_stream. */
int llm_stream_event(void *ud, const char *event, const char *data, size_t len);
/* Moves the assembled answer into resp. -1 if the stream ended early. */
int llm_stream_finish(struct llm_stream *st, struct llm_response *resp, char *err, size_t errlen);
void llm_stream_free(struct llm_stream *st);

/* Tests only: true forces the jansson path where wire.c has a faster one, to
 * compare the two. Set it only while no client runs. */
extern bool llm_wire_slow_only;

/* Normalises finish reasons across providers: end_turn -> stop, tool_use -> tool_calls, max_tokens -> length. */
const char *llm_finish_normalise(const char *reason);

/* ---- retry.c ---- */

/* Retry-After (delta-seconds or an HTTP date) in ms from now_s (unix seconds); -1 if unusable. */
int64_t llm_retry_after_ms(const char *value, int64_t now_s);
/* Full jitter: uniform in [0, min(cap, base * 2^retry)] for retry 0, 1, 2 ... */
int64_t llm_backoff_ms(int retry, int base_ms, int cap_ms);
enum llm_error llm_error_of_status(long status);
bool llm_status_retryable(long status);

/* ---- limiter.c ---- */

struct llm_limit_state; /* one key's state; lives as long as the limiter */
struct llm_limit_state *llm_limiter_find(struct llm_limiter *l, const char *key);
/*
 * Takes a request slot and `tokens` estimated tokens if the limits allow it
 * at now_us: returns 0. Otherwise takes nothing and returns the microseconds
 * to wait before asking again.
 */
int64_t llm_limiter_take(struct llm_limiter *l, struct llm_limit_state *s, int64_t tokens, int64_t now_us);
/* Gives the slot back and corrects the token estimate with what was used. */
void llm_limiter_done(struct llm_limiter *l, struct llm_limit_state *s, int64_t estimated, int64_t used);
/* A rough token count of a request body, for tpm before the provider tells. */
int64_t llm_estimate_tokens(size_t body_len, int max_tokens);

/* ---- llm.c: a call, as a small state machine ---- */

/*
 * WAITING: for its start, the limiter, or a retry's backoff (due_us); no
 * easy handle, no limiter slot. ACTIVE: one attempt under way on the
 * client's multi handle, holding the limiter's slot when there is a limiter.
 * A call leaves through call_finish, from either state, exactly once.
 * llm_call_invariants() checks this on every transition.
 */
enum call_state { CALL_WAITING = 1, CALL_ACTIVE };

struct llm_call {
	struct llm_client *client;
	struct llm_call *prev, *next;
	enum call_state state;
	bool finished; /* call_finish ran: the callback is under way, nothing more may happen */
	atomic_bool cancel;

	enum llm_provider provider;
	bool is_embed;
	char *model;
	char *url;
	char *body;
	size_t body_len;
	struct curl_slist *headers; /* one of them holds the key: wiped on free */
	char *key;                  /* to redact provider messages that echo it; wiped on free */
	bool stream, json_tool;
	llm_delta_fn on_delta;
	void *delta_ud;
	int timeout_ms, idle_ms, max_attempts, backoff_base_ms, backoff_cap_ms;
	double in_price, out_price, cached_price;

	int64_t start_us, deadline_us, due_us, attempt_us, last_byte_us;
	int attempts;
	struct llm_limit_state *limit;
	int64_t est_tokens;
	bool holds_limit;

	/* the attempt under way */
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	struct buf in;
	long status;
	bool head_seen, sse_on, idle_fired;
	int64_t retry_after_ms;
	bool retry_after_precise; /* retry-after-ms seen: it wins over Retry-After */
	struct llm_sse sse;
	struct llm_stream st;

	enum llm_error err; /* set before the first attempt: the request could not be built */
	char *errmsg;

	struct llm_response resp;
	llm_done_fn done;
	void *ud;
};

/* Aborts when call is in a state no transition may leave it in (asserts are
 * on in every build: an impossible state is a bug, not an input). */
void llm_call_invariants(const struct llm_call *call);

#endif
