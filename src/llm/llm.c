/*
 * The engine: calls as small state machines on one thread's curl multi
 * handle. A call waits (for its start, the limiter or a backoff) or runs one
 * attempt; every wait is a due time the loop polls towards, so one slow or
 * rate-limited call never holds up the others on the thread.
 */
#include "llm/llm_int.h"
#include "core/json_text.h"

#undef NDEBUG /* the invariant checks run in every build */
#include <assert.h>

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS      120000
#define DEFAULT_IDLE_MS         30000
#define DEFAULT_DEADLINE_MS     300000
#define DEFAULT_ATTEMPTS        6
#define DEFAULT_BACKOFF_BASE_MS 250
#define DEFAULT_BACKOFF_CAP_MS  20000
#define CONNECT_TIMEOUT_MS      10000
#define BODY_MAX                (64u << 20)
#define EASY_POOL_MAX           1024

struct llm_client {
	CURLM *multi;
	struct llm_limiter *limiter;
	struct llm_call *head; /* calls not finished yet */
	int ncalls;
	uint64_t nfinished;
	CURL **pool; /* idle easy handles: their buffers and settings are reused */
	int npool;
	atomic_int cancel_asked; /* set by llm_call_cancel from any thread */
	/* epoll over curl's sockets: poll(2) on every in-flight socket per wake-up cost more than the calls */
	int epfd;
	int wakefd;            /* eventfd: llm_call_cancel wakes the loop from any thread */
	int watchfd;           /* the caller's wake-up fd (llm_client_watch_fd), or -1 */
	int64_t curl_timer_us; /* when curl wants CURL_SOCKET_TIMEOUT; -1: never */
	int64_t next_idle_us;  /* earliest moment a stream can go idle */
	uint8_t *fd_idle;      /* by socket: curl let it go, it stays in epfd (see on_socket) */
	int nfd_idle;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void llm_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

/* ---- the call's invariants (see enum call_state) ---- */

void llm_call_invariants(const struct llm_call *call)
{
	assert(call && call->client);
	assert(call->state == CALL_WAITING || call->state == CALL_ACTIVE);
	assert(!call->finished);
	/* an attempt under way is exactly a call with an easy handle */
	assert((call->state == CALL_ACTIVE) == (call->easy != NULL));
	assert(call->state != CALL_ACTIVE || (call->url && call->body && call->attempts > 0));
	/* the limiter's slot: held only by a running attempt, and always by one when there is a limiter */
	assert(!call->holds_limit || call->limit);
	assert(call->state != CALL_WAITING || !call->holds_limit);
	assert(call->state != CALL_ACTIVE || !call->limit || call->holds_limit);
	assert(call->attempts >= 0 && call->max_attempts >= 0);
	assert(call->max_attempts == 0 || call->attempts <= call->max_attempts);
	/* an error before any attempt: only a request that could not be built, which gets none */
	assert(call->attempts > 0 || call->err == LLM_ERR_NONE || call->max_attempts == 0);
	/* deltas go out only on a stream */
	assert(!call->st.delivered || call->stream);
	assert(call->start_us <= call->deadline_us);
}

/* ---- names, responses, cost ---- */

const char *llm_provider_name(enum llm_provider p)
{
	static const char *const names[] = {"openai", "azure_openai", "anthropic", "ollama", "openai_compatible"};
	return (unsigned) p < ARRAY_LEN(names) ? names[p] : "unknown";
}

const char *llm_error_name(enum llm_error e)
{
	static const char *const names[] = {"none",    "auth",    "not_found", "bad_request", "rate_limited", "server",
	                                    "timeout", "network", "cancelled", "parse",       "quota"};
	return (unsigned) e < ARRAY_LEN(names) ? names[e] : "unknown";
}

/* "provider: what happened (error name, N attempts)", the error's name
 * left out when the text already says it ("openai: the call was
 * cancelled", not "... cancelled (cancelled)"). */
static char *error_message(enum llm_provider prov, const char *msg, enum llm_error err, int attempts)
{
	const char *name = llm_error_name(err);
	bool said = strstr(msg, name) != NULL;
	if (attempts > 1)
		return said ? xasprintf("%s: %s (%d attempts)", llm_provider_name(prov), msg, attempts)
		            : xasprintf("%s: %s (%s, %d attempts)", llm_provider_name(prov), msg, name, attempts);
	return said ? xasprintf("%s: %s", llm_provider_name(prov), msg)
	            : xasprintf("%s: %s (%s)", llm_provider_name(prov), msg, name);
}

static double cost_of(double in, double out, double cached_in, int64_t prompt, int64_t completion, int64_t cached)
{
	if (cached_in <= 0)
		cached_in = in;
	if (cached > prompt)
		cached = prompt;
	return cost_round(((double) (prompt - cached) * in + (double) cached * cached_in + (double) completion * out) /
	                  1e6);
}

double llm_cost(const struct llm_request *req, int64_t prompt, int64_t completion, int64_t cached)
{
	return cost_of(req->input_per_mtok, req->output_per_mtok, req->cached_input_per_mtok, prompt, completion,
	               cached);
}

void llm_response_free(struct llm_response *r)
{
	if (!r)
		return;
	free(r->text);
	for (int i = 0; i < r->ntool_calls; i++) {
		free(r->tool_calls[i].id);
		free(r->tool_calls[i].name);
		free(r->tool_calls[i].arguments);
	}
	free(r->tool_calls);
	free(r->finish_reason);
	free(r->rec.model);
	free(r->rec.error_message);
	memset(r, 0, sizeof(*r));
}

void llm_response_move(struct llm_response *dst, struct llm_response *src)
{
	if (dst == src)
		return;
	llm_response_free(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

/* ---- the client ---- */

/* Marks fd idle or not in the client's table, growing it as needed. */
static void fd_idle_set(struct llm_client *c, curl_socket_t fd, bool idle)
{
	if (fd < 0)
		return;
	if (fd >= c->nfd_idle) {
		if (!idle)
			return;
		int n = c->nfd_idle ? c->nfd_idle : 64;
		while (n <= fd)
			n *= 2;
		c->fd_idle = xrealloc(c->fd_idle, (size_t) n);
		memset(c->fd_idle + c->nfd_idle, 0, (size_t) (n - c->nfd_idle));
		c->nfd_idle = n;
	}
	c->fd_idle[fd] = idle;
}

static bool fd_is_idle(const struct llm_client *c, curl_socket_t fd)
{
	return fd >= 0 && fd < c->nfd_idle && c->fd_idle[fd];
}

/*
 * curl drops a kept-alive connection's socket when a transfer ends
 * (CURL_POLL_REMOVE) and asks for it again on the next: an epoll DEL and ADD
 * per call. The socket stays in the set instead, marked idle; asking again is
 * one MOD (ADD when it was closed meanwhile: epoll forgets closed sockets),
 * and an idle socket that wakes the loop (the server closed it) leaves the
 * set then.
 */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
	struct llm_client *c = ud;
	struct epoll_event ev = {.data.fd = fd};

	(void) e;
	if (what == CURL_POLL_REMOVE) {
		fd_idle_set(c, fd, true);
		curl_multi_assign(c->multi, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (!sockp) {
		if (fd_is_idle(c, fd)) {
			fd_idle_set(c, fd, false);
			if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
				epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev);
		} else if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno == EEXIST) {
			epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev);
		}
		curl_multi_assign(c->multi, fd, c); /* any non-NULL: "registered" */
	} else {
		epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev);
	}
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *ud)
{
	struct llm_client *c = ud;
	(void) m;
	c->curl_timer_us = timeout_ms < 0 ? -1 : time_mono_us() + timeout_ms * 1000LL;
	return 0;
}

struct llm_client *llm_client_new(struct llm_limiter *limiter)
{
	struct llm_client *c = xcalloc(1, sizeof(*c));

	pthread_once(&curl_once, curl_init_once);
	if (!(c->multi = curl_multi_init())) {
		log_error("llm: curl_multi_init failed");
		abort();
	}
	/* keep every connection of a busy thread: reconnecting costs more than the memory */
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 512L);
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->epfd < 0 || c->wakefd < 0) {
		log_error("llm: epoll/eventfd: %s", strerror(errno));
		abort();
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = c->wakefd};
	epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wakefd, &ev);
	c->curl_timer_us = -1;
	c->watchfd = -1;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	c->limiter = limiter;
	c->pool = xcalloc(EASY_POOL_MAX, sizeof(CURL *));
	atomic_init(&c->cancel_asked, 0);
	return c;
}

void llm_client_watch_fd(struct llm_client *c, int fd)
{
	if (c->watchfd >= 0)
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->watchfd, NULL);
	c->watchfd = fd;
	if (fd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

int llm_client_pending(const struct llm_client *c)
{
	return c->ncalls;
}

static void call_link(struct llm_client *c, struct llm_call *call)
{
	call->next = c->head;
	if (c->head)
		c->head->prev = call;
	c->head = call;
	c->ncalls++;
}

static void call_unlink(struct llm_client *c, struct llm_call *call)
{
	if (call->prev)
		call->prev->next = call->next;
	else
		c->head = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
	c->ncalls--;
}

static CURL *easy_get(struct llm_client *c)
{
	if (c->npool)
		return c->pool[--c->npool];
	CURL *e = curl_easy_init();
	if (!e) {
		log_error("llm: curl_easy_init failed");
		abort();
	}
	return e;
}

static void easy_put(struct llm_client *c, CURL *e)
{
	if (c->npool < EASY_POOL_MAX)
		c->pool[c->npool++] = e;
	else
		curl_easy_cleanup(e);
}

static void call_free(struct llm_call *call)
{
	if (call->key) {
		sodium_memzero(call->key, strlen(call->key));
		free(call->key);
	}
	llm_wire_headers_free(call->headers);
	free(call->model);
	free(call->url);
	free(call->body);
	free(call->errmsg);
	buf_free(&call->in);
	llm_sse_free(&call->sse);
	llm_stream_free(&call->st);
	llm_response_free(&call->resp);
	free(call);
}

/* Replaces every copy of the key in a provider's message: some echo it back. */
static char *redact(char *msg, const char *key)
{
	size_t klen = key ? strlen(key) : 0;
	struct buf b;
	const char *p, *hit;

	if (!msg || klen < 4 || !strstr(msg, key))
		return msg;
	buf_init(&b, 0);
	for (p = msg; (hit = strstr(p, key)); p = hit + klen) {
		buf_append(&b, p, (size_t) (hit - p));
		buf_puts(&b, "[redacted]");
	}
	buf_puts(&b, p);
	sodium_memzero(msg, strlen(msg));
	free(msg);
	return buf_steal(&b);
}

static void limit_release(struct llm_call *call, int64_t used)
{
	if (call->holds_limit) {
		llm_limiter_done(call->client->limiter, call->limit, call->est_tokens, used);
		call->holds_limit = false;
	}
}

/* Ends a call: fills the record, runs the callback, frees the call. */
static void call_finish(struct llm_call *call, enum llm_error err, char *msg)
{
	struct llm_client *c = call->client;
	struct llm_record *rec = &call->resp.rec;
	int64_t now = time_mono_us();

	llm_call_invariants(call);
	call->finished = true;
	if (call->state == CALL_ACTIVE && call->easy) {
		curl_multi_remove_handle(c->multi, call->easy);
		easy_put(c, call->easy);
		call->easy = NULL;
	}
	limit_release(call, 0);
	call_unlink(c, call);
	c->nfinished++;

	rec->provider = call->provider;
	if (!rec->model && call->model)
		rec->model = xstrdup(call->model);
	rec->latency_ms = (now - call->start_us) / 1000;
	rec->ttft_ms = call->st.first_us ? (call->st.first_us - call->start_us) / 1000 : -1;
	rec->attempts = call->attempts;
	rec->retries = call->attempts > 0 ? call->attempts - 1 : 0;
	rec->error = err;
	rec->cost = cost_of(call->in_price, call->out_price, call->cached_price, rec->prompt_tokens,
	                    rec->completion_tokens, rec->cached_tokens);
	if (err != LLM_ERR_NONE) {
		msg = redact(msg ? msg : xstrdup("unknown failure"), call->key);
		rec->error_message = error_message(call->provider, msg, err, call->attempts);
		free(msg);
	} else {
		free(msg);
	}
	if (call->done)
		call->done(call, &call->resp, call->ud);
	call_free(call);
}

/* ---- curl callbacks ---- */

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct llm_call *call = ud;
	size_t len = size * n;
	char val[80];

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		call->retry_after_ms = -1;
		call->retry_after_precise = false;
		return len;
	}
	bool precise = len > 15 && strncasecmp(p, "retry-after-ms:", 15) == 0;
	if (!precise && !(len > 12 && strncasecmp(p, "retry-after:", 12) == 0))
		return len;
	size_t skip = precise ? 15 : 12, vlen = len - skip;
	if (vlen >= sizeof(val))
		vlen = sizeof(val) - 1;
	memcpy(val, p + skip, vlen);
	val[vlen] = '\0';
	if (precise) {
		int64_t ms = llm_retry_after_ms(val, 0); /* whole ms: parse as seconds, scale down */
		if (ms >= 0) {
			call->retry_after_ms = ms / 1000;
			call->retry_after_precise = true;
		}
	} else if (!call->retry_after_precise) {
		call->retry_after_ms = llm_retry_after_ms(val, time_now_ms() / 1000);
	}
	return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
	struct llm_call *call = ud;
	size_t len = size * n;

	call->last_byte_us = time_mono_us();
	if (!call->head_seen) {
		char *ct = NULL;
		call->head_seen = true;
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &call->status);
		curl_easy_getinfo(call->easy, CURLINFO_CONTENT_TYPE, &ct);
		/* a server that ignores stream:true answers JSON: read it as such */
		call->sse_on = call->stream && call->status >= 200 && call->status < 300 && ct &&
		               strncasecmp(ct, "text/event-stream", 17) == 0;
	}
	if (call->sse_on)
		return llm_sse_feed(&call->sse, p, len) == 0 ? len : 0;
	return buf_append(&call->in, p, len) == 0 ? len : 0;
}

/* ---- attempts ---- */

static void attempt_reset(struct llm_call *call)
{
	call->in.len = 0;
	call->status = 0;
	call->head_seen = call->sse_on = call->idle_fired = false;
	call->retry_after_ms = -1;
	call->retry_after_precise = false;
	call->errbuf[0] = '\0';
	if (call->stream) {
		llm_sse_reset(&call->sse);
		int64_t first = call->st.first_us;
		llm_stream_free(&call->st);
		llm_stream_init(&call->st, call->provider, call->json_tool, call->on_delta, call->delta_ud);
		call->st.first_us = first; /* time to first token counts from the call's start */
	}
}

static void attempt_start(struct llm_call *call, int64_t now)
{
	struct llm_client *c = call->client;
	CURL *e = easy_get(c);
	int64_t left_ms = (call->deadline_us - now) / 1000;
	long timeout = call->timeout_ms < left_ms ? call->timeout_ms : (long) left_ms;

	attempt_reset(call);
	call->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, call->url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) call->body_len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(e, CURLOPT_PRIVATE, call);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout > 1 ? timeout : 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	call->state = CALL_ACTIVE;
	call->attempts++;
	call->attempt_us = call->last_byte_us = now;
	if (call->stream && call->idle_ms > 0 &&
	    (c->next_idle_us == 0 || now + call->idle_ms * 1000LL < c->next_idle_us))
		c->next_idle_us = now + call->idle_ms * 1000LL;
	curl_multi_add_handle(c->multi, e);
	llm_call_invariants(call);
}

/* A failed attempt: classify the curl result. retry says whether another attempt may help. */
static enum llm_error curl_failure(struct llm_call *call, CURLcode rc, bool *retry, char **msg)
{
	const char *detail = call->errbuf[0] ? call->errbuf : curl_easy_strerror(rc);

	*retry = true;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		*msg = xasprintf("no answer from %s within %d ms (%s)", call->url, call->timeout_ms, detail);
		return LLM_ERR_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		*msg = xasprintf("cannot connect to %s: %s", call->url, detail);
		return LLM_ERR_NETWORK;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		*retry = false;
		*msg = xasprintf("bad URL %s: %s", call->url, detail);
		return LLM_ERR_BAD_REQUEST;
	case CURLE_WRITE_ERROR:
		*retry = false;
		if (call->sse_on && call->st.error) {
			*msg = xasprintf("%s", call->st.error);
			if (str_startswith(call->st.error, "a stream event is not JSON"))
				return LLM_ERR_PARSE;
			/* an error event mid-stream: overloaded_error is the server's, worth retrying
			 * (unless deltas went out: attempt_end decides) */
			*retry = call->st.error_retry;
			return call->st.error_kind;
		}
		*msg = xasprintf("the answer from %s is over %u bytes or unreadable", call->url, BODY_MAX);
		return LLM_ERR_PARSE;
	default:
		*msg = xasprintf("connection to %s failed: %s", call->url, detail);
		return LLM_ERR_NETWORK;
	}
}

static enum llm_error parse_success(struct llm_call *call, bool *retry, char **msg)
{
	char err[256] = "";

	*retry = false;
	if (call->is_embed) {
		/* the embedding caller parses the body: hand it over as the text */
		call->resp.text = buf_steal(&call->in);
		return LLM_ERR_NONE;
	}
	if (call->sse_on) {
		if (llm_stream_finish(&call->st, &call->resp, err, sizeof(err)) == 0)
			return LLM_ERR_NONE;
		*msg = xasprintf("stream from %s: %s", call->url, err);
		if (call->st.error) {
			*retry = call->st.error_retry;
			return call->st.error_kind;
		}
		*retry = true; /* cut short: the connection's fault, not the answer's */
		return LLM_ERR_NETWORK;
	}
	const char *body = call->in.data ? call->in.data : "";
	if (llm_wire_parse_chat(call->provider, body, call->in.len, call->json_tool, &call->resp, err, sizeof(err)) ==
	    0)
		return LLM_ERR_NONE;
	enum llm_error e;
	if (llm_wire_error_classify(call->status, body, call->in.len, &e, retry)) {
		/* an error object in a 2xx, as some routers send: classified by its code */
		char *text = llm_wire_error_text(body, call->in.len);
		*msg = xasprintf("HTTP %ld from %s with an error: %s", call->status, call->url, text ? text : "");
		free(text);
		return e;
	}
	*msg = xasprintf("unreadable answer from %s: %s", call->url, err);
	return LLM_ERR_PARSE;
}

/*
 * A streamed attempt failed after on_delta had been given part of the answer:
 * a retry would give it the start again, so the call fails here, carrying the
 * partial text for the caller to keep or drop.
 */
static char *keep_partial(struct llm_call *call, char *msg, bool *retry)
{
	char *m = *retry ? xasprintf("%s; %zu bytes of the answer had been streamed, so it was not retried", msg,
	                             call->st.text.len)
	                 : xstrdup(msg);
	int status = call->resp.rec.http_status;
	*retry = false;
	free(msg);
	llm_response_free(&call->resp);
	call->resp.rec.http_status = status;
	if (call->st.has_text)
		call->resp.text = buf_steal(&call->st.text);
	return m;
}

/* An attempt ended (or was cut short): succeed, schedule a retry, or fail. */
static void attempt_end(struct llm_call *call, CURLcode rc)
{
	struct llm_client *c = call->client;
	enum llm_error err;
	bool retry = false;
	char *msg = NULL;
	int64_t now = time_mono_us();

	llm_call_invariants(call);
	curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &call->status);
	curl_multi_remove_handle(c->multi, call->easy);
	easy_put(c, call->easy);
	call->easy = NULL;
	call->state = CALL_WAITING;
	call->resp.rec.http_status = (int) call->status;

	if (atomic_load(&call->cancel)) {
		err = LLM_ERR_CANCELLED;
		msg = xstrdup("the call was cancelled");
	} else if (call->idle_fired) {
		err = LLM_ERR_TIMEOUT;
		retry = true;
		msg = xasprintf("the stream from %s stalled: no data for %d ms", call->url, call->idle_ms);
	} else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && !call->sse_on && call->status >= 300)) {
		err = curl_failure(call, rc, &retry, &msg);
	} else if (call->status < 200 || call->status >= 300) {
		char *text = llm_wire_error_text(call->in.data, call->in.len);
		llm_wire_error_classify(call->status, call->in.data, call->in.len, &err, &retry);
		msg = xasprintf("HTTP %ld from %s%s%s%s", call->status, call->url, text ? ": " : "", text ? text : "",
		                err == LLM_ERR_QUOTA ? "; the account is out of quota or credit: not retried" : "");
		free(text);
	} else {
		err = parse_success(call, &retry, &msg);
	}
	if (err != LLM_ERR_NONE && call->st.delivered)
		msg = keep_partial(call, msg, &retry);
	limit_release(call, err == LLM_ERR_NONE ? call->resp.rec.prompt_tokens + call->resp.rec.completion_tokens : 0);

	if (err != LLM_ERR_NONE && retry && call->attempts < call->max_attempts) {
		int64_t delay_ms = call->retry_after_ms >= 0 ? call->retry_after_ms
		                                             : llm_backoff_ms(call->attempts - 1, call->backoff_base_ms,
		                                                              call->backoff_cap_ms);
		if (now + delay_ms * 1000 < call->deadline_us) {
			call->due_us = now + delay_ms * 1000;
			free(call->errmsg);
			call->errmsg = msg; /* kept for the record if no later attempt gets through */
			call->err = err;
			llm_response_free(&call->resp);
			llm_call_invariants(call);
			return;
		}
		char *m = xasprintf("%s; waiting %lld ms more would pass the deadline", msg, (long long) delay_ms);
		free(msg);
		msg = m;
	}
	call_finish(call, err, msg);
}

/* ---- starting calls ---- */

struct call_params {
	enum llm_provider provider;
	const char *model, *api_key;
	int timeout_ms, idle_ms, deadline_ms, max_attempts, backoff_base_ms, backoff_cap_ms, max_tokens;
	const char *limit_key;
};

static struct llm_call *call_new(struct llm_client *c, const struct call_params *p, llm_done_fn done, void *ud)
{
	struct llm_call *call = xcalloc(1, sizeof(*call));
	int64_t now = time_mono_us();

	call->client = c;
	atomic_init(&call->cancel, false);
	call->provider = p->provider;
	call->model = p->model ? xstrdup(p->model) : NULL;
	call->key = p->api_key && *p->api_key ? xstrdup(p->api_key) : NULL;
	call->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : DEFAULT_TIMEOUT_MS;
	call->idle_ms = p->idle_ms > 0 ? p->idle_ms : DEFAULT_IDLE_MS;
	call->max_attempts = p->max_attempts > 0 ? p->max_attempts : DEFAULT_ATTEMPTS;
	call->backoff_base_ms = p->backoff_base_ms > 0 ? p->backoff_base_ms : DEFAULT_BACKOFF_BASE_MS;
	call->backoff_cap_ms = p->backoff_cap_ms > 0 ? p->backoff_cap_ms : DEFAULT_BACKOFF_CAP_MS;
	call->start_us = call->due_us = now;
	call->deadline_us = now + (int64_t) (p->deadline_ms > 0 ? p->deadline_ms : DEFAULT_DEADLINE_MS) * 1000;
	call->retry_after_ms = -1;
	buf_init(&call->in, BODY_MAX);
	call->done = done;
	call->ud = ud;
	call->state = CALL_WAITING;
	if (c->limiter)
		call->limit = llm_limiter_find(c->limiter, p->limit_key ? p->limit_key : p->model);
	call->est_tokens = 0;
	(void) p->max_tokens;
	call_link(c, call);
	llm_call_invariants(call);
	return call;
}

static void call_set_body(struct llm_call *call, json_t *body, int max_tokens)
{
	call->body = json_text(body, JSON_COMPACT);
	call->body_len = call->body ? strlen(call->body) : 0;
	call->est_tokens = llm_estimate_tokens(call->body_len, max_tokens);
}

struct llm_call *llm_call_start(struct llm_client *c, const struct llm_request *req, llm_done_fn done, void *ud)
{
	char err[256] = "";
	struct call_params p = {
	    .provider = req->provider,
	    .model = req->model && *req->model ? req->model : req->deployment,
	    .api_key = req->api_key,
	    .timeout_ms = req->timeout_ms,
	    .idle_ms = req->idle_timeout_ms,
	    .deadline_ms = req->deadline_ms,
	    .max_attempts = req->max_attempts,
	    .backoff_base_ms = req->backoff_base_ms,
	    .backoff_cap_ms = req->backoff_cap_ms,
	    .max_tokens = req->max_tokens,
	    .limit_key = req->limit_key,
	};
	struct llm_call *call = call_new(c, &p, done, ud);
	json_t *body = NULL;

	call->stream = req->stream;
	call->json_tool = req->provider == LLM_ANTHROPIC && req->format != LLM_FORMAT_TEXT;
	call->on_delta = req->on_delta;
	call->delta_ud = req->delta_ud;
	call->in_price = req->input_per_mtok;
	call->out_price = req->output_per_mtok;
	call->cached_price = req->cached_input_per_mtok;
	if (call->stream) {
		llm_sse_init(&call->sse, llm_stream_event, &call->st);
		llm_stream_init(&call->st, call->provider, call->json_tool, call->on_delta, call->delta_ud);
	}
	if ((unsigned) req->provider > LLM_OPENAI_COMPATIBLE) {
		snprintf(err, sizeof(err), "unknown provider %d", (int) req->provider);
		goto out;
	}
	if (!(call->url = llm_wire_chat_url(req, err, sizeof(err))))
		goto out;
	if (!(body = llm_wire_chat_body(req, err, sizeof(err))))
		goto out;
	call_set_body(call, body, req->max_tokens);
	call->headers = llm_wire_headers(req->provider, req->api_key, req->api_version, req->organization, req->headers,
	                                 req->nheaders, req->stream);
out:
	json_decref(body);
	if (err[0]) {
		/* reported through the callback like any failure, from the loop */
		call->err = LLM_ERR_BAD_REQUEST;
		call->errmsg = xstrdup(err);
		call->max_attempts = 0;
	}
	llm_call_invariants(call);
	return call;
}

void llm_call_cancel(struct llm_call *call)
{
	if (!call)
		return;
	atomic_store(&call->cancel, true);
	atomic_store(&call->client->cancel_asked, 1);
	uint64_t one = 1;
	ssize_t n = write(call->client->wakefd, &one, sizeof(one));
	(void) n; /* EAGAIN: a wake-up is already pending */
}

/* ---- the loop ---- */

static void step_waiting(struct llm_client *c, int64_t now, int64_t *wake)
{
	for (struct llm_call *call = c->head, *next; call; call = next) {
		next = call->next;
		llm_call_invariants(call);
		if (call->state != CALL_WAITING)
			continue;
		if (atomic_load(&call->cancel)) {
			call_finish(call, LLM_ERR_CANCELLED, xstrdup("the call was cancelled"));
			continue;
		}
		if (call->max_attempts == 0 || (call->attempts > 0 && call->attempts >= call->max_attempts)) {
			char *m = call->errmsg;
			call->errmsg = NULL;
			call_finish(call, call->err, m);
			continue;
		}
		if (call->due_us > now) {
			if (call->due_us < *wake)
				*wake = call->due_us;
			continue;
		}
		if (now >= call->deadline_us) {
			char *m = call->errmsg ? xasprintf("%s; then the deadline passed", call->errmsg)
			                       : xstrdup("the deadline passed before the call could start");
			call_finish(call, call->errmsg ? call->err : LLM_ERR_TIMEOUT, m);
			continue;
		}
		if (call->limit && !call->holds_limit) {
			int64_t wait = llm_limiter_take(c->limiter, call->limit, call->est_tokens, now);
			if (wait > 0) {
				call->due_us = now + wait;
				if (call->due_us < *wake)
					*wake = call->due_us;
				continue;
			}
			call->holds_limit = true;
		}
		attempt_start(call, now);
	}
}

static void step_cancel_idle(struct llm_client *c, int64_t now)
{
	bool cancels = atomic_exchange(&c->cancel_asked, 0) != 0;
	bool idle = c->next_idle_us && now >= c->next_idle_us;

	if (!cancels && !idle)
		return;
	if (idle)
		c->next_idle_us = 0;
	for (struct llm_call *call = c->head, *next; call; call = next) {
		next = call->next;
		llm_call_invariants(call);
		if (call->state != CALL_ACTIVE)
			continue;
		if (atomic_load(&call->cancel)) {
			call_finish(call, LLM_ERR_CANCELLED, xstrdup("the call was cancelled"));
			continue;
		}
		if (!call->stream || call->idle_ms <= 0)
			continue;
		int64_t idle_at = call->last_byte_us + call->idle_ms * 1000LL;
		if (now >= idle_at) {
			call->idle_fired = true;
			attempt_end(call, CURLE_OPERATION_TIMEDOUT);
		} else if (c->next_idle_us == 0 || idle_at < c->next_idle_us) {
			c->next_idle_us = idle_at;
		}
	}
}

static void drain(struct llm_client *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct llm_call *call = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &call);
		if (call)
			attempt_end(call, m->data.result);
	}
}

int llm_client_run(struct llm_client *c, int timeout_ms)
{
	int64_t now = time_mono_us();
	int64_t until = now + (int64_t) (timeout_ms > 0 ? timeout_ms : 0) * 1000;
	uint64_t finished = c->nfinished;
	int running;
	bool watched = false; /* the caller's fd is readable: return to it */
	struct epoll_event evs[64];

	for (;;) {
		int64_t wake = until;
		step_cancel_idle(c, now);
		step_waiting(c, now, &wake);
		if (c->curl_timer_us >= 0 && c->curl_timer_us <= now) {
			c->curl_timer_us = -1;
			curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		drain(c);
		if (c->ncalls == 0 || c->nfinished != finished || watched)
			break;
		now = time_mono_us();
		if (c->curl_timer_us >= 0 && c->curl_timer_us <= now)
			continue;
		if (now >= until)
			break;
		if (c->next_idle_us && c->next_idle_us < wake)
			wake = c->next_idle_us;
		if (c->curl_timer_us >= 0 && c->curl_timer_us < wake)
			wake = c->curl_timer_us;
		int wait_ms = wake > now ? (int) ((wake - now + 999) / 1000) : 0;
		int n = epoll_wait(c->epfd, evs, (int) ARRAY_LEN(evs), wait_ms);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == c->wakefd) {
				uint64_t v;
				ssize_t r = read(c->wakefd, &v, sizeof(v));
				(void) r;
				continue;
			}
			if (evs[i].data.fd == c->watchfd) {
				watched = true; /* the caller reads it */
				continue;
			}
			if (fd_is_idle(c, evs[i].data.fd)) {
				/* a kept-alive connection curl is not using: closed by the server, most likely */
				epoll_ctl(c->epfd, EPOLL_CTL_DEL, evs[i].data.fd, NULL);
				fd_idle_set(c, evs[i].data.fd, false);
				continue;
			}
			int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			            (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			            (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			curl_multi_socket_action(c->multi, evs[i].data.fd, flags, &running);
		}
		drain(c);
		now = time_mono_us();
	}
	return c->ncalls;
}

void llm_client_perform_all(struct llm_client *c)
{
	while (llm_client_run(c, 1000) > 0)
		;
}

struct sync_call {
	struct llm_response *out;
	bool done;
};

static void sync_done(struct llm_call *call, struct llm_response *resp, void *ud)
{
	struct sync_call *s = ud;
	(void) call;
	llm_response_move(s->out, resp);
	s->done = true;
}

enum llm_error llm_call(struct llm_client *c, const struct llm_request *req, struct llm_response *resp)
{
	struct sync_call s = {.out = resp};

	memset(resp, 0, sizeof(*resp));
	llm_call_start(c, req, sync_done, &s);
	while (!s.done)
		llm_client_run(c, 1000);
	return resp->rec.error;
}

void llm_client_free(struct llm_client **cp)
{
	struct llm_client *c = cp ? *cp : NULL;

	if (!c)
		return;
	while (c->head) {
		atomic_store(&c->head->cancel, true);
		call_finish(c->head, LLM_ERR_CANCELLED, xstrdup("the call was cancelled: the client was freed"));
	}
	for (int i = 0; i < c->npool; i++)
		curl_easy_cleanup(c->pool[i]);
	free(c->pool);
	curl_multi_cleanup(c->multi);
	free(c->fd_idle);
	close(c->epfd);
	close(c->wakefd);
	free(c);
	*cp = NULL;
}

/* ---- embeddings ---- */

struct embed_job {
	const struct llm_embed_request *req;
	struct llm_embed_response *resp;
	int pending;
	enum llm_error err;
	char *errmsg;
	int64_t start_us;
};

struct embed_part {
	struct embed_job *job;
	int offset, n;
};

static void embed_done(struct llm_call *call, struct llm_response *r, void *ud)
{
	struct embed_part *part = ud;
	struct embed_job *job = part->job;
	struct llm_embed_response *out = job->resp;
	char err[256] = "";
	float *vec = NULL;
	int dim = 0;
	int64_t tokens = 0;

	(void) call;
	job->pending--;
	out->rec.attempts += r->rec.attempts;
	out->rec.retries += r->rec.retries;
	if (r->rec.http_status)
		out->rec.http_status = r->rec.http_status;
	if (r->rec.error != LLM_ERR_NONE) {
		if (job->err == LLM_ERR_NONE) {
			job->err = r->rec.error;
			job->errmsg = r->rec.error_message ? xstrdup(r->rec.error_message) : NULL;
		}
		goto out;
	}
	if (llm_wire_parse_embed(job->req->provider, r->text, strlen(r->text), part->n, &vec, &dim, &tokens, err,
	                         sizeof(err)) < 0) {
		if (job->err == LLM_ERR_NONE) {
			job->err = LLM_ERR_PARSE;
			job->errmsg = xasprintf("%s: %s (parse)", llm_provider_name(job->req->provider), err);
		}
		goto out;
	}
	if (!out->vectors) {
		out->dim = dim;
		out->vectors = xcalloc((size_t) out->n, sizeof(float) * (size_t) dim);
	}
	if (dim != out->dim) {
		if (job->err == LLM_ERR_NONE) {
			job->err = LLM_ERR_PARSE;
			job->errmsg = xasprintf("%s: batches disagree on the dimension: %d and %d (parse)",
			                        llm_provider_name(job->req->provider), out->dim, dim);
		}
		goto out;
	}
	memcpy(out->vectors + (size_t) part->offset * (size_t) dim, vec,
	       sizeof(float) * (size_t) dim * (size_t) part->n);
	out->rec.prompt_tokens += tokens;
	if (r->rec.model && !out->rec.model)
		out->rec.model = xstrdup(r->rec.model);
out:
	free(vec);
	free(part);
}

enum llm_error llm_embed(struct llm_client *c, const struct llm_embed_request *req, struct llm_embed_response *resp)
{
	struct embed_job job = {.req = req, .resp = resp, .start_us = time_mono_us()};
	int batch = req->batch_size > 0 ? req->batch_size : 64;
	char uerr[256] = "";
	char *url = llm_wire_embed_url(req, uerr, sizeof(uerr));

	memset(resp, 0, sizeof(*resp));
	resp->n = req->ninputs;
	resp->rec.provider = req->provider;
	resp->rec.ttft_ms = -1;
	if (!url || req->ninputs <= 0) {
		job.err = LLM_ERR_BAD_REQUEST;
		job.errmsg = xasprintf("%s: %s (bad_request)", llm_provider_name(req->provider),
		                       !url ? uerr : "no inputs to embed");
		goto out;
	}
	for (int off = 0; off < req->ninputs; off += batch) {
		int n = req->ninputs - off < batch ? req->ninputs - off : batch;
		struct call_params p = {
		    .provider = req->provider,
		    .model = req->model && *req->model ? req->model : req->deployment,
		    .api_key = req->api_key,
		    .timeout_ms = req->timeout_ms,
		    .deadline_ms = req->deadline_ms,
		    .max_attempts = req->max_attempts,
		    .backoff_base_ms = req->backoff_base_ms,
		};
		struct embed_part *part = xcalloc(1, sizeof(*part));
		part->job = &job;
		part->offset = off;
		part->n = n;
		struct llm_call *call = call_new(c, &p, embed_done, part);
		json_t *body = llm_wire_embed_body(req, req->inputs + off, n);
		call->is_embed = true;
		call->url = xstrdup(url);
		call_set_body(call, body, 1);
		json_decref(body);
		call->headers = llm_wire_headers(req->provider, req->api_key, req->api_version, NULL, req->headers,
		                                 req->nheaders, false);
		job.pending++;
		resp->requests++;
	}
	while (job.pending > 0)
		llm_client_run(c, 1000);
out:
	free(url);
	resp->rec.latency_ms = (time_mono_us() - job.start_us) / 1000;
	resp->rec.error = job.err;
	resp->rec.error_message = job.errmsg;
	resp->rec.cost = cost_of(req->input_per_mtok, 0, 0, resp->rec.prompt_tokens, 0, 0);
	if (!resp->rec.model && req->model)
		resp->rec.model = xstrdup(req->model);
	if (job.err != LLM_ERR_NONE) {
		free(resp->vectors);
		resp->vectors = NULL;
	}
	return job.err;
}

void llm_embed_response_free(struct llm_embed_response *r)
{
	if (!r)
		return;
	free(r->vectors);
	free(r->rec.model);
	free(r->rec.error_message);
	memset(r, 0, sizeof(*r));
}
