/*
 * llm: calls to language-model providers that survive 429s.
 *
 * One request/response model for OpenAI, Azure OpenAI, Anthropic, Ollama
 * and any OpenAI-compatible server; a non-blocking engine over libcurl's
 * multi interface (one struct llm_client per thread, many calls in flight),
 * retries with backoff and Retry-After, stalled-stream timeouts, cancel,
 * a process-wide per-model limiter, and embeddings.
 *
 * Keys: the engine copies api_key only into the request headers, wipes its
 * copies when a call ends, and never writes a key into a log, an error
 * message or the call record.
 */
#ifndef TROUPE_LLM_H
#define TROUPE_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum llm_provider {
	LLM_OPENAI = 0,
	LLM_AZURE_OPENAI,
	LLM_ANTHROPIC,
	LLM_OLLAMA,
	LLM_OPENAI_COMPATIBLE,
};

enum llm_role { LLM_ROLE_SYSTEM = 0, LLM_ROLE_USER, LLM_ROLE_ASSISTANT, LLM_ROLE_TOOL };

enum llm_format {
	LLM_FORMAT_TEXT = 0,
	LLM_FORMAT_JSON_OBJECT,
	LLM_FORMAT_JSON_SCHEMA, /* Anthropic: emulated with a forced tool, see docs/llm.md */
};

/* What went wrong, coarse enough to act on. */
enum llm_error {
	LLM_ERR_NONE = 0,
	LLM_ERR_AUTH,         /* 401, 403: the key */
	LLM_ERR_NOT_FOUND,    /* 404: model, deployment or URL */
	LLM_ERR_BAD_REQUEST,  /* other 4xx: the request itself */
	LLM_ERR_RATE_LIMITED, /* 429 after the last retry */
	LLM_ERR_SERVER,       /* 5xx (and 409) after the last retry */
	LLM_ERR_TIMEOUT,      /* attempt timeout, stalled stream or deadline */
	LLM_ERR_NETWORK,      /* connect, DNS, reset */
	LLM_ERR_CANCELLED,    /* llm_call_cancel */
	LLM_ERR_PARSE,        /* the provider's answer made no sense */
	LLM_ERR_QUOTA,        /* the account is out of credit (insufficient_quota): never retried */
};

struct llm_tool_call {
	char *id;
	char *name;
	char *arguments; /* JSON text, as the model wrote it */
};

/* A request's message; strings are borrowed for the duration of llm_call_start. */
struct llm_message {
	enum llm_role role;
	const char *content;                    /* may be NULL for an assistant turn with tool calls */
	const char *tool_call_id;               /* LLM_ROLE_TOOL: the call this answers */
	const struct llm_tool_call *tool_calls; /* LLM_ROLE_ASSISTANT */
	int ntool_calls;
};

struct llm_tool {
	const char *name;
	const char *description;
	json_t *parameters; /* JSON Schema; borrowed */
};

struct llm_header {
	const char *name;
	const char *value;
};

/* One piece of a streamed answer, given to llm_request.on_delta. */
enum llm_delta_kind { LLM_DELTA_TEXT, LLM_DELTA_TOOL_CALL };
struct llm_delta {
	enum llm_delta_kind kind;
	const char *text; /* text, or a fragment of a tool call's arguments */
	size_t len;
	int tool_index;        /* LLM_DELTA_TOOL_CALL */
	const char *tool_name; /* LLM_DELTA_TOOL_CALL: set once known */
};
typedef void (*llm_delta_fn)(void *ud, const struct llm_delta *d);

struct llm_limiter;

/*
 * Everything a call needs. Read only inside llm_call_start (the body is built
 * there), so it and everything it points at may go away right after.
 * Zero means "default" for every number.
 */
struct llm_request {
	enum llm_provider provider;
	const char *base_url;     /* see docs/llm.md: what each provider appends */
	const char *api_key;      /* never logged */
	const char *api_version;  /* Azure: api-version (default 2024-10-21); Anthropic: anthropic-version */
	const char *deployment;   /* Azure */
	const char *organization; /* OpenAI-Organization */
	const char *model;

	const struct llm_message *messages;
	int nmessages;
	const struct llm_tool *tools;
	int ntools;
	const char *tool_choice; /* NULL: provider default; "auto", "none", "required", or a tool's name */

	enum llm_format format;
	const char *schema_name; /* LLM_FORMAT_JSON_SCHEMA; default "response" */
	json_t *schema;          /* borrowed */
	bool schema_strict;

	bool has_temperature, has_top_p;
	double temperature, top_p;
	int max_tokens; /* Anthropic requires one: default 1024 */

	bool stream;
	llm_delta_fn on_delta; /* stream only; called on the client's thread */
	void *delta_ud;

	int timeout_ms;      /* one attempt, default 120000 */
	int idle_timeout_ms; /* no byte for this long mid-answer: timeout; default 30000 */
	int deadline_ms;     /* all attempts and waits, default 300000 */
	int max_attempts;    /* default 6 */
	int backoff_base_ms; /* default 250: attempt n waits U(0, min(cap, base*2^n)) */
	int backoff_cap_ms;  /* default 20000 */

	const struct llm_header *headers;
	int nheaders;

	/* Prices in currency units per million tokens, for the record's cost. */
	double input_per_mtok, output_per_mtok, cached_input_per_mtok;

	const char *limit_key; /* llm_limiter key; default the model */
};

/* Filled by the engine for every call, success or not: the execution event. */
struct llm_record {
	enum llm_provider provider;
	char *model; /* as reported by the provider, else as requested */
	int64_t latency_ms;
	int64_t ttft_ms; /* streaming: first token; -1 if none */
	int64_t prompt_tokens, completion_tokens, cached_tokens;
	double cost;
	int attempts; /* retries = attempts - 1 */
	int retries;
	int http_status; /* of the last attempt, 0 if none */
	enum llm_error error;
	char *error_message; /* NULL on success; no key, headers by name only */
};

struct llm_response {
	char *text; /* NULL if the model only called tools */
	struct llm_tool_call *tool_calls;
	int ntool_calls;
	char *finish_reason; /* normalised: stop, length, tool_calls, content_filter, or the provider's */
	struct llm_record rec;
};

void llm_response_free(struct llm_response *r);
/* Hands src's memory to dst (freeing dst's first) and empties src. */
void llm_response_move(struct llm_response *dst, struct llm_response *src);

const char *llm_provider_name(enum llm_provider p);
/* The base URL a provider gets when none is configured (docs/llm.md); NULL
 * for Azure and OpenAI-compatible servers, which have none. The models
 * module shows the same (models_default_base_url). */
const char *llm_default_base_url(enum llm_provider p);
const char *llm_error_name(enum llm_error e);
/* The cost of a usage at the request's prices. */
double llm_cost(const struct llm_request *req, int64_t prompt, int64_t completion, int64_t cached);

/*
 * OpenAI's reasoning families (o1, o3, o4-mini, gpt-5 but gpt-5-chat, after
 * any "vendor/"): they refuse temperature and top_p (400
 * unsupported_parameter), so requests to them carry neither; see
 * docs/llm.md. Source: OpenAI's reasoning-models guide.
 */
bool llm_model_is_reasoning(const char *model);

/*
 * A configured base_url made into the one the client appends its paths to
 * (docs/llm.md, "Base URLs"): trailing slashes go; a path the client writes
 * itself and a user pasted into the base is cut (…/chat/completions,
 * Anthropic's /v1/messages, Ollama's /v1 and /api/…, Azure's /openai/… and
 * ?api-version); /v1/v1 becomes /v1; OpenAI's host alone gets /v1. NULL with
 * the fix in err when it cannot be made right without guessing (a query on a
 * provider other than Azure, an Azure URL naming another deployment than
 * deployment). Caller frees.
 */
char *llm_base_url_normalise(enum llm_provider p, const char *base, const char *deployment, char *err, size_t errlen);

/* Process set-up (libcurl's global state): call once at start, before
 * threads; clients also do it on first use. */
void llm_init(void);

/* ---- limiter: one per process, shared by every client ---- */
struct llm_limit {
	int rpm;             /* requests per minute, paced evenly; 0: none */
	int burst;           /* requests allowed back to back; default 1 */
	int tpm;             /* tokens per minute (estimated before, corrected after); 0: none */
	int max_concurrency; /* calls in flight; 0: none */
};
struct llm_limiter *llm_limiter_new(void);
/* Sets or replaces the limits of key (a model id). Thread-safe. */
void llm_limiter_set(struct llm_limiter *l, const char *key, const struct llm_limit *lim);
void llm_limiter_free(struct llm_limiter **l);

/* ---- client: owns one CURLM; used by one thread ---- */
struct llm_client;
struct llm_call;

/* resp is the engine's: read it, or llm_response_move it out; freed after the callback. */
typedef void (*llm_done_fn)(struct llm_call *call, struct llm_response *resp, void *ud);

/* limiter may be NULL; it must outlive the client. */
struct llm_client *llm_client_new(struct llm_limiter *limiter);
/* Cancels what is still in flight (callbacks run with LLM_ERR_CANCELLED). */
void llm_client_free(struct llm_client **c);

/*
 * Starts a call; done runs later on this thread, from llm_client_run, exactly
 * once (also for a request that cannot be built). The returned handle is
 * valid until done returns.
 */
struct llm_call *llm_call_start(struct llm_client *c, const struct llm_request *req, llm_done_fn done, void *ud);
/*
 * Asks an in-flight call to stop; it ends with LLM_ERR_CANCELLED within
 * milliseconds. Safe from any thread while the handle is valid.
 */
void llm_call_cancel(struct llm_call *call);
/* Drives transfers, retries and waits for at most timeout_ms; returns the calls still pending. */
int llm_client_run(struct llm_client *c, int timeout_ms);
/* Runs until no call is pending. */
void llm_client_perform_all(struct llm_client *c);
int llm_client_pending(const struct llm_client *c);
/* fd (an eventfd or a pipe's read end that other threads write to wake this
 * one) joins the client's wait: llm_client_run returns soon after it becomes
 * readable. The caller reads it and keeps it open while watched; -1 stops
 * watching. One fd per client. */
void llm_client_watch_fd(struct llm_client *c, int fd);

/* Blocking convenience: runs the client's loop until this call ends. Returns resp->rec.error. */
enum llm_error llm_call(struct llm_client *c, const struct llm_request *req, struct llm_response *resp);

/* ---- embeddings: OpenAI-compatible /embeddings, Azure, Ollama /api/embed ---- */
struct llm_embed_request {
	enum llm_provider provider; /* openai, azure_openai, ollama, openai_compatible */
	const char *base_url;
	const char *api_key;
	const char *api_version;
	const char *deployment;
	const char *model;
	const char *const *inputs;
	int ninputs;
	int batch_size; /* inputs per request, default 64 */
	int dimensions; /* 0: the model's */
	int timeout_ms, max_attempts, backoff_base_ms, deadline_ms;
	double input_per_mtok;
	const struct llm_header *headers;
	int nheaders;
};
struct llm_embed_response {
	float *vectors; /* ninputs * dim, row-major, in input order */
	int n, dim;
	int requests;          /* batches sent */
	struct llm_record rec; /* tokens, cost and latency summed over batches */
};
/* Blocking; batches run concurrently on the client's loop. Returns resp->rec.error. */
enum llm_error llm_embed(struct llm_client *c, const struct llm_embed_request *req, struct llm_embed_response *resp);
void llm_embed_response_free(struct llm_embed_response *r);

#endif
