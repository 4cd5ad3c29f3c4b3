/*
 * fake_llm_fast: a fast fake OpenAI provider for benchmarks.
 *
 * The scripted Node fake (server.js) burns about as much CPU per call as the
 * client under test and shares the machine with it, so it bounds what a
 * benchmark can show. This one answers the same wire format from C with
 * nothing scripted and nothing recorded:
 *
 *   POST …/chat/completions  OpenAI Chat Completions; plain JSON, or with
 *                            "stream":true SSE: a role chunk, a few content
 *                            chunks, a finish chunk, a usage chunk (with
 *                            stream_options.include_usage) and [DONE]. The
 *                            answer names the model the request asked for.
 *   POST …/embeddings        deterministic unit vectors per input
 *                            ("dimensions" honoured, else --embed-dim)
 *
 * It prints {"port":N} on stdout when it listens (--port 0 picks one), keeps
 * connections alive and stops on SIGINT or SIGTERM. Never part of the product.
 */
#include <jansson.h>
#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX (16u << 20)

static int embed_dim = 8;
static atomic_ulong seq; /* response ids; atomic: the pool's threads share it */

struct upload {
	char *data;
	size_t len, cap;
	bool too_large;
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fprintf(stderr, "fake_llm_fast: out of memory\n");
		abort();
	}
	return p;
}

static void upload_append(struct upload *u, const char *p, size_t n)
{
	if (u->too_large)
		return;
	if (u->len + n > BODY_MAX) {
		u->too_large = true;
		return;
	}
	if (u->len + n + 1 > u->cap) {
		size_t cap = u->cap ? u->cap : 1024;
		while (cap < u->len + n + 1)
			cap *= 2;
		char *d = realloc(u->data, cap);
		if (!d) {
			fprintf(stderr, "fake_llm_fast: out of memory\n");
			abort();
		}
		u->data = d;
		u->cap = cap;
	}
	memcpy(u->data + u->len, p, n);
	u->len += n;
	u->data[u->len] = '\0';
}

/* ---- a growing output buffer ---- */

struct out {
	char *p;
	size_t len, cap;
};

static void out_reserve(struct out *o, size_t more)
{
	if (o->len + more + 1 <= o->cap)
		return;
	size_t cap = o->cap ? o->cap : 2048;
	while (cap < o->len + more + 1)
		cap *= 2;
	char *p = realloc(o->p, cap);
	if (!p) {
		fprintf(stderr, "fake_llm_fast: out of memory\n");
		abort();
	}
	o->p = p;
	o->cap = cap;
}

static void out_add(struct out *o, const char *s, size_t n)
{
	out_reserve(o, n);
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void out_puts(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p ? o->p + o->len : NULL, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if (o->len + (size_t) n + 1 > o->cap) {
		out_reserve(o, (size_t) n);
		va_start(ap, fmt);
		vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
	}
	o->len += (size_t) n;
}

/* ---- the few request fields the answer needs, without building a tree ---- */

struct chat_req {
	const char *model; /* as written in the body: still JSON-escaped, so it can be echoed verbatim */
	size_t model_len;
	bool stream, include_usage;
};

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at an opening quote: returns the closing quote, or NULL. */
static const char *string_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p;
	}
	return NULL;
}

/* p at the start of any JSON value: returns just past it, or NULL. */
static const char *value_end(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		switch (*p) {
		case '"':
			if (!(p = string_end(p, end)))
				return NULL;
			if (depth == 0)
				return p + 1;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return p + 1;
			if (depth < 0)
				return p;
			break;
		case ',':
			if (depth == 0)
				return p;
			break;
		default:
			break;
		}
	}
	return depth == 0 ? p : NULL;
}

static bool is_lit(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t) (end - p) >= n && memcmp(p, lit, n) == 0;
}

/* Walks the top-level object's keys. -1 if the body is not a JSON object. */
static int chat_req_scan(const char *body, size_t len, struct chat_req *r)
{
	const char *p = body, *end = body + len;

	memset(r, 0, sizeof(*r));
	p = skip_ws(p, end);
	if (p == end || *p != '{')
		return -1;
	p = skip_ws(p + 1, end);
	while (p < end && *p == '"') {
		const char *k = p + 1, *ke = string_end(p, end);
		if (!ke)
			return -1;
		size_t klen = (size_t) (ke - k);
		p = skip_ws(ke + 1, end);
		if (p == end || *p != ':')
			return -1;
		const char *v = skip_ws(p + 1, end), *ve = value_end(v, end);
		if (!ve)
			return -1;
		if (klen == 5 && memcmp(k, "model", 5) == 0 && *v == '"') {
			r->model = v + 1;
			r->model_len = (size_t) (ve - v - 2);
		} else if (klen == 6 && memcmp(k, "stream", 6) == 0) {
			r->stream = is_lit(v, end, "true");
		} else if (klen == 14 && memcmp(k, "stream_options", 14) == 0 && *v == '{') {
			const char *u = memmem(v, (size_t) (ve - v), "\"include_usage\"", 15);
			if (u) {
				u = skip_ws(u + 15, ve);
				r->include_usage = u < ve && *u == ':' && is_lit(skip_ws(u + 1, ve), ve, "true");
			}
		}
		p = skip_ws(ve, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
	}
	return p < end && *p == '}' ? 0 : -1;
}

/* ---- answers ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, struct out *o)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(o->len, o->p, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(o->p);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (type[0] == 't')
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *type, const char *msg)
{
	struct out o = {0};
	out_printf(&o, "{\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"param\":null,\"code\":null}}", msg, type);
	return reply(c, status, "application/json", &o);
}

#define ANSWER_HEAD "This is "
#define ANSWER_TAIL " answering from the fast fake."

static void chunk_open(struct out *o, unsigned long id, long created, const struct chat_req *r)
{
	out_printf(
	    o, "data: {\"id\":\"chatcmpl-fast%lu\",\"object\":\"chat.completion.chunk\",\"created\":%ld,\"model\":\"",
	    id, created);
	out_add(o, r->model, r->model_len);
	out_puts(o, "\",\"system_fingerprint\":\"fp_fast\",");
}

static void chunk_delta(struct out *o, unsigned long id, long created, const struct chat_req *r, const char *delta,
                        size_t dlen, const char *finish)
{
	chunk_open(o, id, created, r);
	out_puts(o, "\"choices\":[{\"index\":0,\"delta\":{");
	out_add(o, delta, dlen);
	out_puts(o, "},\"logprobs\":null,\"finish_reason\":");
	out_puts(o, finish ? finish : "null");
	out_puts(o, "}]}\n\n");
}

static void content_delta(struct out *o, unsigned long id, long created, const struct chat_req *r, const char *s,
                          size_t n)
{
	struct out d = {0};
	out_puts(&d, "\"content\":\"");
	out_add(&d, s, n);
	out_puts(&d, "\"");
	chunk_delta(o, id, created, r, d.p, d.len, NULL);
	free(d.p);
}

static enum MHD_Result answer_chat(struct MHD_Connection *c, const struct upload *u)
{
	struct chat_req r;
	struct out o = {0};
	unsigned long id = atomic_fetch_add(&seq, 1) + 1;
	long created = (long) time(NULL);

	if (chat_req_scan(u->data ? u->data : "", u->len, &r) < 0)
		return reply_error(c, 400, "invalid_request_error", "the body is not a JSON object");
	if (!r.model || !r.model_len)
		return reply_error(c, 400, "invalid_request_error", "you must provide a model parameter");
	/* about 4 characters a token, as the Node fake counts */
	long prompt = (long) (u->len + 3) / 4;
	long completion = (long) (sizeof(ANSWER_HEAD) - 1 + r.model_len + sizeof(ANSWER_TAIL) - 1 + 3) / 4;

	if (!r.stream) {
		out_printf(&o,
		           "{\"id\":\"chatcmpl-fast%lu\",\"object\":\"chat.completion\",\"created\":%ld,\"model\":\"",
		           id, created);
		out_add(&o, r.model, r.model_len);
		out_puts(&o,
		         "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" ANSWER_HEAD);
		out_add(&o, r.model, r.model_len);
		out_printf(&o,
		           ANSWER_TAIL
		           "\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
		           "\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld,"
		           "\"prompt_tokens_details\":{\"cached_tokens\":0}},\"system_fingerprint\":\"fp_fast\"}",
		           prompt, completion, prompt + completion);
		return reply(c, 200, "application/json", &o);
	}
	static const char role[] = "\"role\":\"assistant\",\"content\":\"\"";
	chunk_delta(&o, id, created, &r, role, sizeof(role) - 1, NULL);
	content_delta(&o, id, created, &r, ANSWER_HEAD, sizeof(ANSWER_HEAD) - 1);
	content_delta(&o, id, created, &r, r.model, r.model_len);
	content_delta(&o, id, created, &r, " answering", 10);
	content_delta(&o, id, created, &r, " from the fast fake.", 20);
	chunk_delta(&o, id, created, &r, "", 0, "\"stop\"");
	if (r.include_usage) {
		chunk_open(&o, id, created, &r);
		out_printf(
		    &o,
		    "\"choices\":[],\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld,"
		    "\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n",
		    prompt, completion, prompt + completion);
	}
	out_puts(&o, "data: [DONE]\n\n");
	return reply(c, 200, "text/event-stream", &o);
}

/* splitmix64: a deterministic stream from a seed */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void embed_vector(struct out *o, const char *text, size_t len, int dim, double *v)
{
	uint64_t s = 1469598103934665603ULL; /* FNV-1a of the text seeds the vector */
	double norm = 0;

	for (size_t i = 0; i < len; i++)
		s = (s ^ (unsigned char) text[i]) * 1099511628211ULL;
	for (int i = 0; i < dim; i++) {
		v[i] = (double) (mix(&s) >> 11) / (double) (1ULL << 53) * 2 - 1;
		norm += v[i] * v[i];
	}
	norm = sqrt(norm);
	out_puts(o, "[");
	for (int i = 0; i < dim; i++)
		out_printf(o, "%s%.6f", i ? "," : "", norm > 0 ? v[i] / norm : 0.0);
	out_puts(o, "]");
}

static enum MHD_Result answer_embeddings(struct MHD_Connection *c, const struct upload *u)
{
	json_error_t jerr;
	json_t *root = json_loadb(u->data ? u->data : "", u->len, 0, &jerr);
	json_t *in = json_object_get(root, "input");
	struct out o = {0};
	size_t n = json_is_array(in) ? json_array_size(in) : 1;
	long tokens = 0;

	if (!json_is_object(root) || !(json_is_string(in) || json_is_array(in))) {
		json_decref(root);
		return reply_error(c, 400, "invalid_request_error", "'input' is a required property");
	}
	json_t *dj = json_object_get(root, "dimensions");
	int dim = json_is_integer(dj) && json_integer_value(dj) > 0 && json_integer_value(dj) <= 65536
	              ? (int) json_integer_value(dj)
	              : embed_dim;
	double *v = xmalloc(sizeof(double) * (size_t) dim);
	const char *model = json_string_value(json_object_get(root, "model"));
	json_t *model_str = json_string(model ? model : "");
	char *model_json = json_dumps(model_str, JSON_ENCODE_ANY);

	out_puts(&o, "{\"object\":\"list\",\"data\":[");
	for (size_t i = 0; i < n; i++) {
		json_t *t = json_is_array(in) ? json_array_get(in, i) : in;
		const char *s = json_is_string(t) ? json_string_value(t) : "";
		size_t sl = json_is_string(t) ? json_string_length(t) : 0;
		out_printf(&o, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":", i ? "," : "", i);
		embed_vector(&o, s, sl, dim, v);
		out_puts(&o, "}");
		tokens += (long) (sl + 3) / 4;
	}
	out_printf(&o, "],\"model\":%s,\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}",
	           model_json ? model_json : "\"\"", tokens, tokens);
	free(model_json);
	json_decref(model_str);
	free(v);
	json_decref(root);
	return reply(c, 200, "application/json", &o);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static enum MHD_Result answer(struct MHD_Connection *c, const char *url, const char *method, struct upload *u)
{
	if (strcmp(method, "POST") != 0)
		return reply_error(c, 404, "invalid_request_error", "unknown endpoint");
	if (u->too_large)
		return reply_error(c, 413, "invalid_request_error", "the body is too large");
	if (ends_with(url, "/chat/completions"))
		return answer_chat(c, u);
	if (ends_with(url, "/embeddings"))
		return answer_embeddings(c, u);
	return reply_error(c, 404, "invalid_request_error", "unknown endpoint");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	struct upload *u = *con_cls;

	(void) cls;
	(void) version;
	if (!u) {
		/* an answer queued on this first call makes libmicrohttpd close the
		 * connection: read the body on the next calls, answer on the last */
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*upload_data_size) {
		upload_append(u, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return answer(c, url, method, u);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	(void) cls;
	(void) c;
	(void) toe;
	if (u) {
		free(u->data);
		free(u);
		*con_cls = NULL;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: fake_llm_fast [--port N] [--threads N] [--embed-dim N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int port = 0, threads = 1;
	sigset_t sigs;
	int sig;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--embed-dim") == 0)
			embed_dim = atoi(argv[++i]);
		else
			usage();
	}
	if (port < 0 || port > 65535 || threads < 1 || threads > 64 || embed_dim < 1 || embed_dim > 65536)
		usage();
	/* the daemon's threads inherit the mask: only main takes the signals */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* One thread: poll(2). libmicrohttpd 0.9.75's single-thread epoll mode
	 * leaves requests unread on some of 256 fresh keep-alive connections
	 * (their sockets hold a whole request, the client times out); a pool
	 * uses epoll, one per worker, which does not. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | (threads > 1 ? MHD_USE_EPOLL : MHD_USE_POLL);
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, (uint16_t) port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned) (threads > 1 ? threads : 0), MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 120, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned) 4096, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned) 1024, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "fake_llm_fast: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
		return 1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("{\"port\":%u}\n", di ? (unsigned) di->port : (unsigned) port);
	fflush(stdout);
	sigwait(&sigs, &sig);
	MHD_stop_daemon(d);
	return 0;
}
