/*
 * The HTTP server: the only file that includes microhttpd.h.
 *
 * The middleware chain, in order, for every request:
 *   request id -> route match (404/405) -> body limit (413 from
 *   Content-Length, before reading) -> content type (415) -> auth hook ->
 *   rate limit hook -> body accumulation under the limit -> JSON parsing
 *   (duplicate keys refused) -> schema validation -> idempotency hook ->
 *   handler -> error mapping (problem+json) -> security headers, CORS ->
 *   access log and metrics (on completion).
 */
#include "http_int.h"
#include "core/json_text.h"
#include "form.h"
#include "web_assets.h"
#include "../app.h"
#include "../executions/executions.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct http_server {
	struct MHD_Daemon *d;
	struct app *app;
	struct http_options opt;
	struct http_hooks hooks;
	int port;
	char *web_root; /* realpath of web_dir, or NULL */
	char **cors;
	int ncors;
	atomic_int inflight;
	atomic_int open_conns;
	struct http_metrics metrics;
	bool check_answers;          /* TROUPE_CHECK_RESPONSES=1: answers checked against their documentation */
	atomic_bool stopping;        /* http_stop has begun: streams end */
	pthread_mutex_t streams_mu;  /* guards streams */
	struct http_stream *streams; /* queued streams, so http_stop can end them */
};

/* A streamed answer (res_stream). libmicrohttpd calls stream_read on one of
 * its polling threads whenever the socket can take bytes; when the producer
 * has nothing, the connection is suspended (out of the event loop: no
 * thread waits for it) until http_stream_wake resumes it. */
struct http_stream {
	struct http_server *s;
	struct MHD_Connection *c;
	const struct http_stream_ops *ops;
	void *ctx;
	pthread_mutex_t mu;              /* guards suspended and woken */
	bool suspended;                  /* MHD_suspend_connection was called and not yet undone */
	bool woken;                      /* a wake came since the last read began */
	bool queued;                     /* libmicrohttpd owns it (and frees it through stream_free) */
	struct http_stream *prev, *next; /* in s->streams, under s->streams_mu */
};

struct conn_state {
	struct http_server *s;
	struct MHD_Connection *c;
	struct req rq;
	struct res rs;
	struct buf body;
	size_t limit;
	int64_t start_us;
	int code;
	size_t bytes;
	bool too_large;
	bool responded;
	bool has_body;
	bool started;
	bool close;                 /* answer with Connection: close: the request's framing is not trusted */
	struct http_stream *stream; /* res_stream: the answer is streamed */
};

/* ---- request accessors ---- */

static bool is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* A weight's qvalue in thousandths (RFC 9110 12.4.2: "0" ["." 0*3DIGIT] or
 * "1" ["." 0*3("0")]), read from [p, end); -1 when it is not one. */
static int qvalue_parse(const char *p, const char *end)
{
	if (p >= end || (*p != '0' && *p != '1'))
		return -1;
	int q = (*p++ - '0') * 1000;
	if (p < end && *p == '.') {
		p++;
		for (int scale = 100; p < end && *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10)
			q += (*p - '0') * scale;
	}
	return p == end && q <= 1000 ? q : -1;
}

/* The q of one Accept-Encoding element's parameters [p, end) (after its
 * coding): 1000 without one, -1 when malformed. */
static int element_q(const char *p, const char *end)
{
	int q = 1000;
	for (;;) {
		while (p < end && is_ows(*p))
			p++;
		if (p == end)
			return q;
		if (*p++ != ';')
			return -1;
		while (p < end && is_ows(*p))
			p++;
		const char *pend = p;
		while (pend < end && *pend != ';')
			pend++;
		const char *vend = pend;
		while (vend > p && is_ows(vend[-1]))
			vend--;
		if (vend - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
			q = qvalue_parse(p + 2, vend);
		if (q < 0)
			return -1;
		p = pend;
	}
}

bool http_accepts_gzip(const char *ae)
{
	int gzip_q = -1, star_q = -1;
	for (const char *p = ae; p && *p;) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		while (p < end && is_ows(*p))
			p++;
		const char *name = p;
		while (p < end && *p != ';' && !is_ows(*p))
			p++;
		size_t n = (size_t) (p - name);
		int q = element_q(p, end);
		if ((n == 4 && strncasecmp(name, "gzip", 4) == 0) || (n == 6 && strncasecmp(name, "x-gzip", 6) == 0))
			gzip_q = q > gzip_q ? q : gzip_q;
		else if (n == 1 && *name == '*')
			star_q = q > star_q ? q : star_q;
		p = comma ? comma + 1 : end;
	}
	return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}

/* A field's value without the whitespace around it: RFC 9110 5.5 says it
 * is not part of the value. libmicrohttpd drops the leading whitespace and
 * keeps the trailing; a value that has some is copied into the arena. */
static const char *header_value(struct conn_state *cs, const char *name)
{
	const char *v = NULL;
	size_t n = 0;
	if (MHD_lookup_connection_value_n(cs->c, MHD_HEADER_KIND, name, strlen(name), &v, &n) != MHD_YES || !v)
		return NULL;
	size_t end = n;
	while (end && is_ows(v[end - 1]))
		end--;
	size_t start = 0;
	while (start < end && is_ows(v[start]))
		start++;
	if (start == 0 && end == n)
		return v;
	return arena_strndup(cs->rq.arena, v + start, end - start);
}

const char *req_header(const struct req *rq, const char *name)
{
	return header_value(rq->impl, name);
}

const char *req_query(const struct req *rq, const char *name)
{
	struct conn_state *cs = rq->impl;
	return MHD_lookup_connection_value(cs->c, MHD_GET_ARGUMENT_KIND, name);
}

const char *req_param(const struct req *rq, const char *name)
{
	for (int i = 0; i < rq->match.nparams; i++)
		if (str_eq(rq->match.names[i], name))
			return rq->match.values[i];
	return NULL;
}

void res_json(struct res *rs, json_t *j)
{
	if (rs->json)
		json_decref(rs->json);
	rs->json = j;
}

void res_body(struct res *rs, const char *ctype, char *body, size_t len)
{
	rs->content_type = ctype;
	rs->body = body;
	rs->len = len;
}

void res_header(struct res *rs, const char *name, const char *value)
{
	if (rs->nheaders >= RES_MAX_HEADERS)
		return;
	rs->hname[rs->nheaders] = name;
	rs->hvalue[rs->nheaders] = value;
	rs->nheaders++;
}

int http_port(const struct http_server *s)
{
	return s->port;
}

/* ---- responses ---- */

static bool cors_allowed(struct http_server *s, const char *origin)
{
	if (!origin)
		return false;
	for (int i = 0; i < s->ncors; i++)
		if (str_eq(s->cors[i], origin))
			return true;
	return false;
}

static void add_common_headers(struct conn_state *cs, struct MHD_Response *r, bool web_page)
{
	MHD_add_response_header(r, "X-Request-Id", cs->rq.request_id);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (web_page) {
		/* No 'unsafe-inline'. The app's production build has emotion (MUI's
		 * styles) create empty <style> elements and fill them through the
		 * CSSOM (insertRule), which style-src does not govern; the one hash
		 * allowed is SHA-256 of the empty string (RFC 6234), so only an empty
		 * <style> is admitted, never one carrying text (an injected one).
		 * web/tests/app.test.js fails on any CSP refusal. */
		MHD_add_response_header(
		    r, "Content-Security-Policy",
		    "default-src 'self'; script-src 'self'; "
		    "style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='; "
		    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
		    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	} else {
		MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
		MHD_add_response_header(r, "Cache-Control", "no-store");
	}
	const char *origin = header_value(cs, "Origin");
	if (cors_allowed(cs->s, origin)) {
		/* An exact match from the allowlist: never a reflected origin. */
		MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
		MHD_add_response_header(r, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
	}
	if (cs->s->ncors)
		MHD_add_response_header(r, "Vary", "Origin");
}

static enum MHD_Result queue(struct conn_state *cs, int code, const char *ctype, const char *body, size_t len,
                             bool web_page)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *) body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(r, "Content-Type", ctype);
	add_common_headers(cs, r, web_page);
	for (int i = 0; i < cs->rs.nheaders; i++)
		MHD_add_response_header(r, cs->rs.hname[i], cs->rs.hvalue[i]);
	if (code == 405 && cs->rq.match.allow[0])
		MHD_add_response_header(r, "Allow", cs->rq.match.allow);
	/* libmicrohttpd closes the connection after sending a response that
	 * carries this header, and reads nothing more from it. */
	if (cs->close)
		MHD_add_response_header(r, "Connection", "close");
	enum MHD_Result ret = MHD_queue_response(cs->c, (unsigned) code, r);
	MHD_destroy_response(r);
	cs->code = code;
	cs->bytes = len;
	cs->responded = true;
	return ret;
}

static enum MHD_Result respond_problem(struct conn_state *cs, enum status st)
{
	struct problem *p = &cs->rq.problem;
	if (status_ok(p->st) || p->st != st) {
		if (status_ok(p->st))
			p->st = st;
		else
			st = p->st;
	}
	if (st == ST_INTERNAL && !p->detail)
		p->detail = "an internal error occurred; the request id identifies it in the server log";
	json_t *j = problem_to_json(p, cs->rq.path);
	char *text = json_text(j, JSON_COMPACT);
	json_decref(j);
	enum MHD_Result ret =
	    queue(cs, status_http_code(st), "application/problem+json", text, text ? strlen(text) : 0, false);
	free(text);
	return ret;
}

/* ---- streamed answers ---- */

struct http_stream *res_stream(struct req *rq, struct res *rs, const char *ctype, const struct http_stream_ops *ops,
                               void *ctx)
{
	struct conn_state *cs = rq->impl;
	struct http_stream *st = xcalloc(1, sizeof(*st));
	st->s = cs->s;
	st->c = cs->c;
	st->ops = ops;
	st->ctx = ctx;
	pthread_mutex_init(&st->mu, NULL);
	cs->stream = st;
	rs->content_type = ctype;
	return st;
}

void http_stream_wake(struct http_stream *st)
{
	pthread_mutex_lock(&st->mu);
	st->woken = true;
	if (st->suspended) {
		st->suspended = false;
		MHD_resume_connection(st->c);
	}
	pthread_mutex_unlock(&st->mu);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *st = cls;
	(void) pos;
	for (;;) {
		if (atomic_load(&st->s->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&st->mu);
		st->woken = false;
		pthread_mutex_unlock(&st->mu);
		ssize_t n = st->ops->read(st->ctx, buf, max);
		if (n < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (n > 0)
			return n;
		pthread_mutex_lock(&st->mu);
		if (st->woken) {
			/* Woken while reading: read again rather than sleep on it. */
			pthread_mutex_unlock(&st->mu);
			continue;
		}
		/* libmicrohttpd allows this from a content reader; the 0 returned
		 * is not busy-waited on, the connection leaves the event loop. */
		st->suspended = true;
		MHD_suspend_connection(st->c);
		pthread_mutex_unlock(&st->mu);
		return 0;
	}
}

static void stream_unlist(struct http_stream *st)
{
	struct http_server *s = st->s;
	pthread_mutex_lock(&s->streams_mu);
	if (st->prev)
		st->prev->next = st->next;
	else if (s->streams == st)
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	st->prev = st->next = NULL;
	pthread_mutex_unlock(&s->streams_mu);
}

/* libmicrohttpd is done with the answer (or it was never queued). */
static void stream_free(void *cls)
{
	struct http_stream *st = cls;
	stream_unlist(st);
	/* After done(), nobody wakes the stream any more (it unsubscribes). */
	st->ops->done(st->ctx);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

static enum MHD_Result queue_stream(struct conn_state *cs, int code)
{
	struct http_stream *st = cs->stream;
	/* the block is allocated with the answer and held while the stream is open: 4 KB rather than 16 KB keeps
	 * 1,000 open streams 12 MB smaller (an event longer than a read goes out over several: the reader keeps
	 * its offset) */
	struct MHD_Response *r =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4 * 1024, stream_read, st, stream_free);
	if (!r)
		return MHD_NO;
	st->queued = true; /* from here libmicrohttpd frees it */
	pthread_mutex_lock(&cs->s->streams_mu);
	st->next = cs->s->streams;
	if (st->next)
		st->next->prev = st;
	cs->s->streams = st;
	pthread_mutex_unlock(&cs->s->streams_mu);
	MHD_add_response_header(r, "Content-Type", cs->rs.content_type);
	add_common_headers(cs, r, false);
	/* A proxy that buffers would hold the events back (nginx reads this). */
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	for (int i = 0; i < cs->rs.nheaders; i++)
		MHD_add_response_header(r, cs->rs.hname[i], cs->rs.hvalue[i]);
	enum MHD_Result ret = MHD_queue_response(cs->c, (unsigned) code, r);
	MHD_destroy_response(r);
	cs->code = code;
	cs->responded = true;
	return ret;
}

static enum MHD_Result respond_ok(struct conn_state *cs, enum status st)
{
	int code = status_http_code(st);
	if (cs->stream)
		return queue_stream(cs, code);
	if (st == ST_NO_CONTENT)
		return queue(cs, code, NULL, "", 0, false);
	if (cs->rs.json) {
		char *text = json_text(cs->rs.json, JSON_COMPACT);
		enum MHD_Result ret = queue(cs, code, "application/json", text, text ? strlen(text) : 0, false);
		free(text);
		return ret;
	}
	return queue(cs, code, cs->rs.content_type ? cs->rs.content_type : "application/json",
	             cs->rs.body ? cs->rs.body : "", cs->rs.body ? cs->rs.len : 0, false);
}

static enum MHD_Result respond(struct conn_state *cs, enum status st)
{
	return status_ok(st) ? respond_ok(cs, st) : respond_problem(cs, st);
}

/* ---- static web app ---- */

static const char *mime_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".json", "application/json"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".ico", "image/x-icon"},
	    {".woff2", "font/woff2"},
	    {".woff", "font/woff"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".map", "application/json"},
	};
	const char *dot = strrchr(path, '.');
	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < ARRAY_LEN(types); i++)
			if (str_eq(dot, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

/* A path that may name a file below the web root: no dot segments, no
 * backslashes, no control characters. */
static bool web_path_ok(const char *path)
{
	if (path[0] != '/')
		return false;
	for (const char *p = path; *p; p++) {
		if ((unsigned char) *p < 0x20 || *p == '\\')
			return false;
		if (*p == '/' && p[1] == '.')
			return false;
		if (*p == '/' && p[1] == '/')
			return false;
	}
	return true;
}

/* Vite names built assets by content hash (/assets/name-HASH.ext): they never
 * change, so browsers keep them a year; everything else is revalidated. */
static void web_headers(struct conn_state *cs, struct MHD_Response *r, const char *path)
{
	MHD_add_response_header(r, "Content-Type", mime_type(path));
	add_common_headers(cs, r, true);
	if (strstr(path, "/assets/"))
		MHD_add_response_header(r, "Cache-Control", "public, max-age=31536000, immutable");
	else
		MHD_add_response_header(r, "Cache-Control", "no-cache");
}

static enum MHD_Result web_queue(struct conn_state *cs, struct MHD_Response *r, const char *path, size_t len)
{
	if (!r)
		return MHD_NO;
	web_headers(cs, r, path);
	enum MHD_Result ret = MHD_queue_response(cs->c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	cs->code = 200;
	cs->bytes = len;
	cs->responded = true;
	return ret;
}

static enum MHD_Result serve_file(struct conn_state *cs, const char *full, bool head)
{
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return MHD_NO;
	}
	struct MHD_Response *r;
	if (head) {
		close(fd);
		r = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
	} else {
		r = MHD_create_response_from_fd((uint64_t) st.st_size, fd);
	}
	return web_queue(cs, r, full, (size_t) st.st_size);
}

static const struct web_asset *web_asset_find(const char *path)
{
	for (const struct web_asset *w = web_assets; w->path; w++)
		if (str_eq(w->path, path))
			return w;
	return NULL;
}

/* The bytes live in the binary: no copy. A file compressed at build time is
 * sent gzipped to a client that accepts it (RFC 9110 8.4, 12.5.3), and both
 * forms say that the answer varies with Accept-Encoding (12.5.5), so a cache
 * keeps them apart; the headers (CSP, cache) are the same for both. */
static enum MHD_Result serve_asset(struct conn_state *cs, const struct web_asset *w, bool head)
{
	bool gz = w->gz && http_accepts_gzip(header_value(cs, "Accept-Encoding"));
	const char *data = gz ? w->gz : w->data;
	size_t len = gz ? w->gz_len : w->len;
	struct MHD_Response *r = MHD_create_response_from_buffer(head ? 0 : len, (void *) data, MHD_RESPMEM_PERSISTENT);
	if (r && w->gz)
		MHD_add_response_header(r, "Vary", "Accept-Encoding");
	if (r && gz)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	return web_queue(cs, r, w->path, len);
}

/* A client-side route of the app: a page request (Accept names text/html)
 * for a path with no file behind it and no extension in its last segment (a
 * missing /x.js stays 404); the caller has ruled out /api/. */
static bool wants_app_page(struct conn_state *cs)
{
	const char *accept = header_value(cs, "Accept");
	const char *last = strrchr(cs->rq.path, '/');
	return accept && strstr(accept, "text/html") && last && !strchr(last, '.');
}

static enum MHD_Result serve_web(struct conn_state *cs)
{
	const char *path = cs->rq.path;
	bool head = str_eq(cs->rq.method, "HEAD");
	struct arena *a = cs->rq.arena;
	bool embedded = !cs->s->web_root && web_assets[0].path;
	if (!cs->s->web_root && !embedded && str_eq(path, "/")) {
		/* No web app built: say so, and where the API is. */
		static const char page[] =
		    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>troupe</title></head>"
		    "<body><h1>troupe is running</h1><p>The web app is not built here. The API lives under "
		    "<a href=\"/api/v1/openapi.json\">/api/v1</a>; health at <a href=\"/readyz\">/readyz</a>.</p>"
		    "</body></html>";
		return queue(cs, 200, "text/html; charset=utf-8", page, sizeof(page) - 1, true);
	}
	bool favicon = str_eq(path, "/favicon.ico");
	if ((!cs->s->web_root && !embedded) || !web_path_ok(path)) {
		if (favicon)
			return queue(cs, 204, NULL, "", 0, true);
		problem_set(&cs->rq.problem, ST_NOT_FOUND, "no route matches %s", path);
		return respond_problem(cs, ST_NOT_FOUND);
	}
	const char *rel = str_eq(path, "/") ? "/index.html" : path;
	if (embedded) {
		const struct web_asset *w = web_asset_find(rel);
		if (!w && wants_app_page(cs))
			w = web_asset_find("/index.html");
		if (w)
			return serve_asset(cs, w, head);
	} else {
		char *full = arena_printf(a, "%s%s", cs->s->web_root, rel);
		if (serve_file(cs, full, head) == MHD_YES)
			return MHD_YES;
		if (wants_app_page(cs)) {
			full = arena_printf(a, "%s/index.html", cs->s->web_root);
			if (serve_file(cs, full, head) == MHD_YES)
				return MHD_YES;
		}
	}
	/* Browsers ask for /favicon.ico whatever the page links (the app links
	 * its SVG icon): with no such file, 204 rather than a 404 in the console. */
	if (favicon)
		return queue(cs, 204, NULL, "", 0, true);
	problem_set(&cs->rq.problem, ST_NOT_FOUND, "no file or route matches %s", path);
	return respond_problem(cs, ST_NOT_FOUND);
}

/* ---- the chain ---- */

static void set_request_id(struct conn_state *cs)
{
	const char *given = header_value(cs, "X-Request-Id");
	size_t n = given ? strlen(given) : 0;
	bool ok = n > 0 && n < sizeof(cs->rq.request_id);
	for (size_t i = 0; ok && i < n; i++) {
		char ch = given[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		     ch == '_' || ch == '.';
	}
	if (ok) {
		memcpy(cs->rq.request_id, given, n + 1);
	} else {
		unsigned char raw[12];
		rand_bytes(raw, sizeof(raw));
		b64url_encode(raw, sizeof(raw), cs->rq.request_id);
	}
}

static void set_client_ip(struct conn_state *cs)
{
	if (cs->s->opt.trust_proxy) {
		const char *xff = header_value(cs, "X-Forwarded-For");
		if (xff && *xff) {
			const char *comma = strchr(xff, ',');
			size_t n = comma ? (size_t) (comma - xff) : strlen(xff);
			while (n && is_ows(xff[n - 1]))
				n--;
			cs->rq.client_ip = arena_strndup(cs->rq.arena, xff, n);
			return;
		}
	}
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(cs->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char ip[INET6_ADDRSTRLEN] = "unknown";
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *) (const void *) sa)->sin_addr, ip, sizeof(ip));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) (const void *) sa)->sin6_addr, ip,
			          sizeof(ip));
	}
	cs->rq.client_ip = arena_strdup(cs->rq.arena, ip);
}

static bool json_content_type(const char *ct)
{
	if (!ct)
		return false;
	size_t n = strlen("application/json");
	if (strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || is_ows(ct[n]);
}

/* A query value libmicrohttpd has percent-decoded: one holding a NUL byte
 * (%00) would be read cut short by every C string accessor (?cursor=%00%ff
 * would read as no cursor), and one that is not UTF-8 cannot be compared
 * with what the database holds. Refused naming the parameter. */
static bool is_token(const char *s, size_t n);

struct query_walk {
	struct req *rq;
	const char *bad; /* the first parameter refused */
};

static enum MHD_Result query_value(void *cls, enum MHD_ValueKind kind, const char *name, size_t nlen, const char *value,
                                   size_t vlen)
{
	struct query_walk *w = cls;
	(void) kind;
	if (!value || (!memchr(value, '\0', vlen) && str_utf8_valid(value, vlen)))
		return MHD_YES;
	w->bad = is_token(name, nlen) && nlen <= 64 ? arena_strndup(w->rq->arena, name, nlen) : "";
	return MHD_NO;
}

static enum status check_query(struct req *rq)
{
	struct conn_state *cs = rq->impl;
	struct query_walk w = {.rq = rq};
	MHD_get_connection_values_n(cs->c, MHD_GET_ARGUMENT_KIND, query_value, &w);
	if (!w.bad)
		return ST_OK;
	problem_field(&rq->problem, *w.bad ? arena_printf(rq->arena, "query.%s", w.bad) : "query",
	              "holds a NUL byte (%%00) or is not UTF-8 once percent-decoded");
	return problem_set(&rq->problem, ST_BAD_INPUT, "a query parameter is not valid text");
}

/* Path parameters that name ids must look like ids: a clear 400 naming the
 * parameter, before any query runs. A UUID is case-insensitive on input
 * (RFC 9562 section 4): one in capitals is taken and made lowercase. */
static enum status check_params(struct req *rq)
{
	for (int i = 0; i < rq->match.nparams; i++) {
		const char *n = rq->match.names[i];
		if (!str_eq(n, "id") && !(strlen(n) > 3 && str_eq(n + strlen(n) - 3, "_id")))
			continue;
		/* Any case in, lowercase (as stored) to every query after. */
		const char *low = id_lower(rq->arena, rq->match.values[i]);
		if (!low) {
			problem_field(&rq->problem, arena_printf(rq->arena, "path.%s", n), "must be an id (UUID)");
			return problem_set(&rq->problem, ST_BAD_INPUT, "the path parameter %s is not a valid id", n);
		}
		rq->match.values[i] = low;
	}
	return ST_OK;
}

/* Steps before the body is read. ST_OK: go on reading. */
static enum status begin(struct conn_state *cs)
{
	struct req *rq = &cs->rq;
	struct http_server *s = cs->s;
	const struct route *r = rq->match.route;

	/* Content-Length over the limit: answered now, the body is never read. */
	const char *cl = header_value(cs, "Content-Length");
	const char *te = header_value(cs, "Transfer-Encoding");
	int64_t clen = 0;
	if (cl && str_to_i64(cl, 0, INT64_MAX, &clen) < 0)
		return problem_set(&rq->problem, ST_BAD_INPUT, "invalid Content-Length");
	/* framing_check() let Transfer-Encoding through only as "chunked". */
	cs->has_body = clen > 0 || te;
	cs->limit = r->body_limit ? r->body_limit : s->opt.body_limit;
	if (clen > (int64_t) cs->limit) {
		problem_set(&rq->problem, ST_TOO_LARGE,
		            "the request body is %lld bytes; this endpoint takes at most %zu", (long long) clen,
		            cs->limit);
		return ST_TOO_LARGE;
	}
	if (cs->has_body && !(r->flags & ROUTE_RAW_BODY)) {
		const char *ct = header_value(cs, "Content-Type");
		if (!json_content_type(ct) && !((r->flags & ROUTE_FORM) && form_content_type(ct))) {
			problem_set(&rq->problem, ST_UNSUPPORTED_MEDIA, "the request body must be application/json");
			problem_hint(&rq->problem, "send the header Content-Type: application/json");
			return ST_UNSUPPORTED_MEDIA;
		}
	}
	enum status st = check_query(rq);
	if (st == ST_OK)
		st = check_params(rq);
	if (st != ST_OK)
		return st;
	if (s->hooks.authenticate) {
		st = s->hooks.authenticate(rq, s->hooks.ctx);
		if (st != ST_OK)
			return problem_set(&rq->problem, st,
			                   st == ST_UNAUTHENTICATED ? "authentication required" : NULL);
	} else if (r->role != ROLE_PUBLIC) {
		return problem_set(&rq->problem, ST_UNAUTHENTICATED, "authentication required");
	}
	if (s->hooks.rate_limit && r->limit != LIMIT_NONE) {
		int retry = 0;
		st = s->hooks.rate_limit(rq, s->hooks.ctx, &retry);
		if (st != ST_OK) {
			res_header(&cs->rs, "Retry-After", arena_printf(rq->arena, "%d", retry > 0 ? retry : 1));
			return problem_set(&rq->problem, ST_RATE_LIMITED, "too many requests; retry in %d seconds",
			                   retry > 0 ? retry : 1);
		}
	}
	return ST_OK;
}

static enum status parse_body(struct conn_state *cs)
{
	struct req *rq = &cs->rq;
	const struct route *r = rq->match.route;
	rq->raw = cs->body.data;
	rq->raw_len = cs->body.len;
	if (r->flags & ROUTE_RAW_BODY)
		return ST_OK;
	if (!r->body && cs->body.len == 0)
		return ST_OK;
	if (cs->body.len == 0) {
		problem_set(&rq->problem, ST_BAD_INPUT, "the request body must be a JSON object");
		rq->problem.type = "/problems/validation";
		return ST_BAD_INPUT;
	}
	json_error_t err;
	const char *ct = header_value(cs, "Content-Type");
	json_t *j = NULL;
	if ((r->flags & ROUTE_FORM) && form_content_type(ct)) {
		enum status fst = form_to_json(ct, cs->body.data, cs->body.len, &j, &rq->problem);
		if (fst != ST_OK)
			return fst;
	} else {
		j = json_loadb(cs->body.data, cs->body.len, JSON_REJECT_DUPLICATES, &err);
	}
	if (!j) {
		rq->problem.type = "/problems/malformed-json";
		/* jansson says: duplicate object key near '"name"' */
		const char *dup = strstr(err.text, "duplicate object key");
		if (dup) {
			const char *q1 = strstr(err.text, "'\"");
			const char *q2 = q1 ? strstr(q1 + 2, "\"'") : NULL;
			const char *key = q1 && q2 ? arena_strndup(rq->arena, q1 + 2, (size_t) (q2 - q1 - 2)) : "";
			problem_field(&rq->problem, key, "duplicate key");
			rq->problem.type = "/problems/malformed-json";
			return problem_set(&rq->problem, ST_BAD_INPUT,
			                   "the JSON body repeats the key \"%s\" (at byte %d)", key, err.position);
		}
		return problem_set(&rq->problem, ST_BAD_INPUT, "malformed JSON at byte %d: %s", err.position, err.text);
	}
	arena_defer(rq->arena, (void (*)(void *)) json_decref, j);
	/* Routes without a schema take no body; many clients send {} anyway. */
	if (!r->body) {
		if (json_is_object(j) && json_object_size(j) == 0)
			return ST_OK;
		return problem_set(&rq->problem, ST_BAD_INPUT, "this endpoint takes no request body (or an empty {})");
	}
	rq->body = j;
	return schema_validate(r->body, j, &rq->problem);
}

static enum MHD_Result finish(struct conn_state *cs)
{
	struct req *rq = &cs->rq;
	struct http_server *s = cs->s;
	if (cs->too_large) {
		problem_set(&rq->problem, ST_TOO_LARGE,
		            "the request body is larger than the %zu bytes this endpoint takes", cs->limit);
		return respond_problem(cs, ST_TOO_LARGE);
	}
	enum status st = parse_body(cs);
	if (st != ST_OK)
		return respond_problem(cs, st);
	bool replayed = false;
	bool idem = (rq->route->flags & ROUTE_IDEMPOTENT) && s->hooks.idem_begin;
	if (idem) {
		st = s->hooks.idem_begin(rq, &cs->rs, s->hooks.ctx, &replayed);
		if (replayed || st != ST_OK)
			return respond(cs, st);
	}
	st = rq->route->handler(rq, &cs->rs);
	if (!status_ok(st) && status_ok(rq->problem.st))
		rq->problem.st = st;
	if (s->check_answers && http_answer_check(rq->route, st, &cs->rs, &rq->problem) != ST_OK) {
		log_kv(LOG_ERROR, rq->problem.detail, "request_id", rq->request_id, NULL);
		st = ST_INTERNAL;
	}
	if (idem && s->hooks.idem_end)
		s->hooks.idem_end(rq, st, &cs->rs, s->hooks.ctx);
	return respond(cs, st);
}

/* ---- request framing ----
 *
 * A request whose length two parsers could read differently lets a second
 * request hide in its body (request smuggling). Such a request is answered
 * 400 and the connection closed, so nothing after it is read as a request
 * (RFC 9112 6.1, 6.3). libmicrohttpd refuses some of these itself (a
 * Content-Length that is not a number, a bad chunk size, a header line
 * without a colon) with its own 400 and a close; this walk refuses the rest.
 *
 * libmicrohttpd 0.9.75 parses the header lines in place, in its read
 * buffer: each line terminator becomes NUL bytes (two for CRLF, one for a
 * bare LF), the colon a NUL, and the whitespace after the colon is skipped.
 * It silently cuts a value at a NUL byte, and glues an obs-fold continuation
 * line onto the field *name*, copied elsewhere in its pool ("X-A: a\r\n b"
 * becomes "X-Ab: a"). Its interface shows none of this, but where the strings
 * lie does: the lines of a well-formed header sit back to back. So each name
 * must start exactly two NUL bytes after the previous line ends, and its
 * value after only a NUL and whitespace. The walk reads only between the
 * pointers libmicrohttpd hands out, at most FRAMING_MAX_GAP bytes each, and
 * the four bytes after the last value (its CRLF and the empty line's). A
 * library that lays its buffer out otherwise fails every request, loudly,
 * and tests/api/framing.test.js with it. */

#define FRAMING_MAX_GAP 4096

struct framing {
	struct conn_state *cs;
	const char *prev_end; /* end of the previous line in libmicrohttpd's read buffer */
	int n_cl, n_te, n_host;
	unsigned seen;        /* bit i: singleton_headers[i] was given */
	const char *field;    /* the first fault: the field it names ... */
	const char *why;      /* ... and what is wrong */
	const char *repeated; /* the first singleton header given twice */
};

/* Headers troupe reads as one value. RFC 9110 5.3: a field that is not a
 * list must not be repeated; reading the first of two would let a client
 * (or a proxy that appends) mean one thing to troupe and another to the
 * proxy in front of it. X-Forwarded-For is a list: its lines combine in
 * order, and the first element of the first line is the first of the
 * combined list, which is what set_client_ip reads. Host and
 * Content-Length are framing, refused above with a close. */
static const char *const singleton_headers[] = {
    "Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "Origin", "X-Request-Id", "X-Workspace-Id",
};

/* RFC 9110 5.6.2: tchar. */
static bool is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool is_token(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char) s[i]))
			return false;
	return true;
}

static enum MHD_Result framing_fault(struct framing *f, const char *field, const char *why)
{
	f->field = field;
	f->why = why;
	return MHD_NO;
}

/* "header.Name" for a name that is a token, after dropping the whitespace a
 * client may have put before the colon; "header" otherwise. */
static const char *framing_field_name(struct framing *f, const char *name, size_t n)
{
	while (n && is_ows(name[n - 1]))
		n--;
	if (!is_token(name, n) || n > 64)
		return "header";
	return arena_printf(f->cs->rq.arena, "header.%.*s", (int) n, name);
}

/* The line's place in the read buffer: see the comment above. Addresses
 * are compared as integers: a folded line's name lies in another block. */
static enum MHD_Result framing_layout(struct framing *f, const char *name, size_t nlen, const char *value)
{
	uintptr_t colon = (uintptr_t) name + nlen, v = (uintptr_t) value;
	if (v < colon + 1 || v - (colon + 1) > FRAMING_MAX_GAP)
		return framing_fault(f, "header",
		                     "a header line is folded onto the next (obsolete line folding, "
		                     "RFC 9112 5.2); send each field on one line");
	for (const char *p = name + nlen + 1; p < value; p++)
		if (!is_ows(*p))
			return framing_fault(f, "header", "a header line is folded or holds a NUL byte");
	if (!f->prev_end)
		return MHD_YES;
	uintptr_t prev = (uintptr_t) f->prev_end, n = (uintptr_t) name;
	if (n == prev + 1 && !f->prev_end[0])
		return framing_fault(f, "header", "a header line ends in a bare LF; lines end in CRLF (RFC 9112 2.2)");
	if (n != prev + 2 || f->prev_end[0] || f->prev_end[1])
		return framing_fault(f, "header", "a header line holds a NUL byte or is folded onto the next");
	return MHD_YES;
}

/* RFC 9110 8.6: 1*DIGIT. A list, even of one length repeated ("5, 5"),
 * is refused, as the RFC permits: no client of ours sends one. */
static bool content_length_ok(const char *v, size_t n)
{
	while (n && is_ows(v[n - 1]))
		n--;
	if (!n || n > 18)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return true;
}

static enum MHD_Result framing_field(void *cls, enum MHD_ValueKind kind, const char *name, size_t nlen,
                                     const char *value, size_t vlen)
{
	struct framing *f = cls;
	(void) kind;
	if (!is_token(name, nlen))
		return framing_fault(f, framing_field_name(f, name, nlen),
		                     "a header name holds whitespace or a character RFC 9110 5.6.2 does not allow "
		                     "(whitespace before the colon is refused, RFC 9112 5.1)");
	if (!value)
		return framing_fault(f, framing_field_name(f, name, nlen), "a header has no value");
	if (framing_layout(f, name, nlen, value) == MHD_NO)
		return MHD_NO;
	for (size_t i = 0; i < vlen; i++) {
		unsigned char ch = (unsigned char) value[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return framing_fault(f, framing_field_name(f, name, nlen),
			                     "a header value holds a control character (a bare CR?); RFC 9110 5.5");
	}
	f->prev_end = value + vlen;
	if (strncasecmp(name, "Content-Length", nlen) == 0 && nlen == strlen("Content-Length")) {
		if (++f->n_cl > 1)
			return framing_fault(f, "header.Content-Length",
			                     "Content-Length is given more than once (RFC 9112 6.3)");
		if (!content_length_ok(value, vlen))
			return framing_fault(f, "header.Content-Length",
			                     "Content-Length must be one decimal number (RFC 9110 8.6)");
	} else if (strncasecmp(name, "Transfer-Encoding", nlen) == 0 && nlen == strlen("Transfer-Encoding")) {
		/* Exactly "chunked", in any case: libmicrohttpd reads anything
		 * else, even "chunked " with a space, as a body that runs to the
		 * end of the connection. */
		if (++f->n_te > 1 || vlen != strlen("chunked") || strncasecmp(value, "chunked", vlen) != 0)
			return framing_fault(
			    f, "header.Transfer-Encoding",
			    "the only transfer coding taken is chunked, alone and once (RFC 9112 6.1)");
	} else if (strncasecmp(name, "Host", nlen) == 0 && nlen == strlen("Host")) {
		if (++f->n_host > 1)
			return framing_fault(f, "header.Host", "Host is given more than once (RFC 9112 3.2)");
	}
	for (size_t i = 0; i < sizeof(singleton_headers) / sizeof(singleton_headers[0]); i++) {
		const char *h = singleton_headers[i];
		if (nlen != strlen(h) || strncasecmp(name, h, nlen) != 0)
			continue;
		if ((f->seen & (1u << i)) && !f->repeated)
			f->repeated = h;
		f->seen |= 1u << i;
	}
	return MHD_YES;
}

/* NULL when the request's framing is unambiguous; else the fault, with the
 * field it names in *field. version: libmicrohttpd's, in its read buffer.
 * *repeated: a singleton header given more than once, or NULL. */
static const char *framing_check(struct conn_state *cs, const char *version, const char **field, const char **repeated)
{
	struct framing f = {.cs = cs, .prev_end = version ? version + strlen(version) : NULL};
	MHD_get_connection_values_n(cs->c, MHD_HEADER_KIND, framing_field, &f);
	if (!f.why && f.prev_end) {
		/* The last line's CRLF and the empty line's: four NUL bytes. */
		for (int i = 0; i < 4 && !f.why; i++)
			if (f.prev_end[i])
				framing_fault(&f, "header",
				              "the header ends in a bare LF; lines end in CRLF (RFC 9112 2.2)");
	}
	if (!f.why && f.n_te && f.n_cl)
		framing_fault(&f, "header.Transfer-Encoding",
		              "Content-Length and Transfer-Encoding together make the length ambiguous (RFC 9112 6.1)");
	if (!f.why && f.n_te && version && str_eq(version, "HTTP/1.0"))
		framing_fault(&f, "header.Transfer-Encoding", "HTTP/1.0 has no Transfer-Encoding (RFC 9112 6.1)");
	if (!f.why && !f.n_host && version && str_eq(version, "HTTP/1.1"))
		framing_fault(&f, "header.Host", "an HTTP/1.1 request must carry Host (RFC 9112 3.2)");
	*field = f.field;
	*repeated = f.repeated;
	return f.why;
}

/* Answers a request whose framing is not trusted: 400, then close. */
static enum MHD_Result refuse_framing(struct conn_state *cs, const char *field, const char *why)
{
	struct req *rq = &cs->rq;
	cs->started = true;
	cs->close = true;
	set_request_id(cs);
	set_client_ip(cs);
	problem_field(&rq->problem, field, "%s", why);
	problem_set(&rq->problem, ST_BAD_INPUT, "the request's framing is ambiguous or malformed: %s", why);
	rq->problem.type = "/problems/malformed-request";
	return respond_problem(cs, ST_BAD_INPUT);
}

/* Answers a request that repeats a header troupe reads as one value. */
static enum MHD_Result refuse_repeated(struct conn_state *cs, const char *name)
{
	struct req *rq = &cs->rq;
	cs->started = true;
	set_request_id(cs);
	set_client_ip(cs);
	problem_field(&rq->problem, arena_printf(rq->arena, "header.%s", name),
	              "given more than once; send it once (RFC 9110 5.3: it is not a list)");
	problem_set(&rq->problem, ST_BAD_INPUT, "the header %s is given more than once", name);
	return respond_problem(cs, ST_BAD_INPUT);
}

static struct conn_state *state_new(struct http_server *s, struct MHD_Connection *c, const char *url,
                                    const char *method)
{
	struct arena *a = arena_new();
	struct conn_state *cs = arena_zalloc(a, sizeof(*cs));
	cs->s = s;
	cs->c = c;
	cs->start_us = time_mono_us();
	cs->rq.arena = a;
	cs->rq.app = s->app;
	cs->rq.method = arena_strdup(a, method);
	cs->rq.path = arena_strdup(a, url);
	cs->rq.impl = cs;
	problem_init(&cs->rq.problem, a);
	buf_init(&cs->body, 0);
	return cs;
}

static enum MHD_Result on_first(struct conn_state *cs)
{
	struct req *rq = &cs->rq;
	struct http_server *s = cs->s;
	set_request_id(cs);
	set_client_ip(cs);
	router_match(rq->method, rq->path, rq->arena, &rq->match);
	rq->route = rq->match.route;
	if (!rq->route) {
		if (str_eq(rq->method, "OPTIONS") && rq->match.path_matched && s->ncors &&
		    cors_allowed(s, header_value(cs, "Origin"))) {
			res_header(&cs->rs, "Access-Control-Allow-Methods", arena_strdup(rq->arena, rq->match.allow));
			res_header(&cs->rs, "Access-Control-Allow-Headers",
			           "Authorization, Content-Type, Idempotency-Key, X-Request-Id, X-Workspace-Id");
			res_header(&cs->rs, "Access-Control-Max-Age", "600");
			return queue(cs, 204, NULL, "", 0, false);
		}
		if (rq->match.path_matched) {
			problem_set(&rq->problem, ST_METHOD_NOT_ALLOWED, "%s is not allowed on %s; allowed: %s",
			            rq->method, rq->path, rq->match.allow);
			return respond_problem(cs, ST_METHOD_NOT_ALLOWED);
		}
		if ((str_eq(rq->method, "GET") || str_eq(rq->method, "HEAD")) && !str_startswith(rq->path, "/api/"))
			return serve_web(cs);
		problem_set(&rq->problem, ST_NOT_FOUND, "no route matches %s %s", rq->method, rq->path);
		return respond_problem(cs, ST_NOT_FOUND);
	}
	enum status st = begin(cs);
	if (st != ST_OK)
		return respond_problem(cs, st);
	/* Without a body the whole request is here: answer at once. */
	if (!cs->has_body)
		return finish(cs);
	buf_init(&cs->body, cs->limit);
	return MHD_YES;
}

static bool request_has_body(struct conn_state *cs)
{
	const char *cl = header_value(cs, "Content-Length");
	return (cl && !str_eq(cl, "0")) || header_value(cs, "Transfer-Encoding");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	struct http_server *s = cls;
	struct conn_state *cs = *con_cls;
	if (!cs) {
		cs = state_new(s, c, url, method);
		*con_cls = cs;
		atomic_fetch_add(&s->inflight, 1);
		const char *field = NULL, *repeated = NULL, *why = framing_check(cs, version, &field, &repeated);
		if (why)
			return refuse_framing(cs, field, why);
		if (repeated)
			return refuse_repeated(cs, repeated);
		/* libmicrohttpd closes the connection after an answer queued on
		 * this first call: requests without a body are answered on the
		 * next one, so keep-alive holds. Requests with one are judged
		 * now, so a refused body is never read. */
		if (!request_has_body(cs))
			return MHD_YES;
		cs->started = true;
		return on_first(cs);
	}
	if (!cs->started) {
		cs->started = true;
		return on_first(cs);
	}
	if (cs->responded)
		return MHD_YES;
	if (*upload_data_size) {
		/* Over the limit (a chunked body): drop the rest, answer 413 at the end. */
		if (!cs->too_large && buf_append(&cs->body, upload_data, *upload_data_size) < 0) {
			cs->too_large = true;
			buf_free(&cs->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return finish(cs);
}

static void access_log(struct conn_state *cs, int64_t dur_us)
{
	const struct route *r = cs->rq.route;
	if (r && (r->flags & ROUTE_NO_LOG))
		return;
	char ts[40], line[1024];
	time_iso8601(time_now_ms(), ts, sizeof(ts));
	/* The route pattern, never the raw path: ids and query strings stay out. */
	const char *route = r ? r->pattern : (cs->code == 200 ? "static" : "unmatched");
	int n =
	    snprintf(line, sizeof(line),
	             "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"%s\",\"method\":\"%s\","
	             "\"route\":\"%s\",\"status\":%d,\"duration_ms\":%.3f,\"bytes\":%zu,\"client\":\"%s\"}",
	             ts, cs->rq.request_id, r ? r->method : "-", route, cs->code, (double) dur_us / 1000.0, cs->bytes,
	             cs->rq.client_ip ? cs->rq.client_ip : "");
	if (n > 0)
		log_raw(line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void) c;
	(void) toe;
	struct http_server *s = cls;
	struct conn_state *cs = *con_cls;
	if (!cs)
		return;
	int64_t dur = time_mono_us() - cs->start_us;
	if (cs->code) {
		metrics_observe(&s->metrics, cs->rq.route ? (int) (cs->rq.route - http_routes()) : -1, cs->code, dur);
		access_log(cs, dur);
	}
	if (cs->rs.json)
		json_decref(cs->rs.json);
	if (cs->stream && !cs->stream->queued)
		stream_free(cs->stream); /* made, then an error answered instead */
	buf_free(&cs->body);
	struct arena *a = cs->rq.arena;
	arena_free(&a);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	(void) c;
	(void) socket_context;
	struct http_server *s = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&s->open_conns, 1);
	else
		atomic_fetch_sub(&s->open_conns, 1);
}

static void parse_cors(struct http_server *s, const char *list)
{
	if (!list || !*list)
		return;
	char *copy = xstrdup(list), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		size_t n = strlen(tok);
		while (n && tok[n - 1] == ' ')
			tok[--n] = '\0';
		if (!n)
			continue;
		s->cors = xrealloc(s->cors, sizeof(char *) * (size_t) (s->ncors + 1));
		s->cors[s->ncors++] = xstrdup(tok);
	}
	free(copy);
}

static int check_routes(struct problem *p)
{
	for (const struct route *r = http_routes(); r->method; r++) {
		if (r->role == ROLE_UNSET) {
			problem_set(p, ST_INTERNAL, "route %s %s declares no role", r->method, r->pattern);
			return -1;
		}
		if (!r->handler || !r->summary) {
			problem_set(p, ST_INTERNAL, "route %s %s lacks a handler or summary", r->method, r->pattern);
			return -1;
		}
	}
	return 0;
}

static void server_free(struct http_server *s)
{
	for (int i = 0; i < s->ncors; i++)
		free(s->cors[i]);
	free(s->cors);
	free(s->web_root);
	free((char *) s->opt.host);
	metrics_free(&s->metrics);
	pthread_mutex_destroy(&s->streams_mu);
	free(s);
}

enum status http_start(struct app *app, const struct http_options *opt, const struct http_hooks *hooks,
                       struct http_server **out, struct problem *p)
{
	if (check_routes(p) < 0)
		return p->st;
	struct http_server *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->streams_mu, NULL);
	s->app = app;
	s->opt = *opt;
	s->opt.host = xstrdup(opt->host ? opt->host : "127.0.0.1");
	if (hooks)
		s->hooks = *hooks;
	parse_cors(s, opt->cors_origins);
	s->check_answers = str_eq(getenv("TROUPE_CHECK_RESPONSES"), "1");
	if (opt->web_dir && opt->web_dir[0]) {
		char resolved[PATH_MAX];
		if (realpath(opt->web_dir, resolved))
			s->web_root = xstrdup(resolved);
		else
			log_kv(LOG_WARN, "web app directory not found; serving the API only", "web_dir", opt->web_dir,
			       NULL);
	}
	metrics_init(&s->metrics, http_route_count());

	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	/* Suspend and resume: a stream waiting for events holds no thread. */
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
	struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
	if (inet_pton(AF_INET, s->opt.host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t) opt->port);
	} else if (inet_pton(AF_INET6, s->opt.host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t) opt->port);
		flags |= MHD_USE_IPv6;
	} else if (str_eq(s->opt.host, "localhost")) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons((uint16_t) opt->port);
	} else {
		problem_set(p, ST_BAD_INPUT, "listen host \"%s\" is not an IP address", s->opt.host);
		server_free(s);
		return ST_BAD_INPUT;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = opt->threads > 0 ? (unsigned) opt->threads : (unsigned) (ncpu > 0 ? 2 * ncpu : 2);
	/* At least two: one epoll thread alone was seen to leave some of a
	 * burst of new connections unaccepted until the next one arrived;
	 * with a pool, another thread takes them. */
	if (threads < 2)
		threads = 2;
	s->d = MHD_start_daemon(flags, (uint16_t) opt->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &ss,
	                        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_CONNECTION_TIMEOUT,
	                        (unsigned) 60, MHD_OPTION_CONNECTION_LIMIT, (unsigned) 4096,
	                        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned) 1024, MHD_OPTION_END);
	if (!s->d) {
		problem_set(p, ST_UNAVAILABLE, "cannot listen on %s:%d: %s", s->opt.host, opt->port, strerror(errno));
		server_free(s);
		return ST_UNAVAILABLE;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : opt->port;
	*out = s;
	return ST_OK;
}

void http_stop(struct http_server **sp)
{
	struct http_server *s = *sp;
	if (!s)
		return;
	/* Stop accepting first; in-flight requests finish up to the timeout. */
	MHD_socket fd = MHD_quiesce_daemon(s->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* Streams end now: each is woken and reads the end. None stays
	 * suspended, which MHD_stop_daemon does not allow. */
	atomic_store(&s->stopping, true);
	pthread_mutex_lock(&s->streams_mu);
	for (struct http_stream *st = s->streams; st; st = st->next)
		http_stream_wake(st);
	pthread_mutex_unlock(&s->streams_mu);
	int64_t deadline = time_mono_us() + (int64_t) s->opt.shutdown_timeout_s * 1000000;
	while (atomic_load(&s->inflight) > 0 && time_mono_us() < deadline)
		usleep(10000);
	if (atomic_load(&s->inflight) > 0)
		log_kv(LOG_WARN, "shutdown timeout: dropping in-flight requests", NULL);
	MHD_stop_daemon(s->d);
	server_free(s);
	*sp = NULL;
}

void http_metrics_render(struct http_server *s, struct buf *b)
{
	metrics_render(&s->metrics, b);
	buf_printf(b,
	           "# HELP troupe_http_open_connections Open HTTP connections.\n"
	           "# TYPE troupe_http_open_connections gauge\ntroupe_http_open_connections %d\n",
	           atomic_load(&s->open_conns));
	buf_printf(b,
	           "# HELP troupe_http_inflight_requests Requests being handled.\n"
	           "# TYPE troupe_http_inflight_requests gauge\ntroupe_http_inflight_requests %d\n",
	           atomic_load(&s->inflight));
	struct executions_hub_stats hs;
	executions_hub_stats(&hs);
	buf_printf(b,
	           "# HELP troupe_sse_streams Execution event streams open (subscribers of the live hub).\n"
	           "# TYPE troupe_sse_streams gauge\ntroupe_sse_streams %d\n"
	           "# HELP troupe_sse_live_events_total Live events (output.delta) queued to streams.\n"
	           "# TYPE troupe_sse_live_events_total counter\ntroupe_sse_live_events_total %lld\n"
	           "# HELP troupe_sse_live_dropped_total Live events dropped for streams that read too slowly.\n"
	           "# TYPE troupe_sse_live_dropped_total counter\ntroupe_sse_live_dropped_total %lld\n"
	           "# HELP troupe_sse_stored_from_hub_total Stored events sent to streams from this process's writers "
	           "without a query.\n"
	           "# TYPE troupe_sse_stored_from_hub_total counter\ntroupe_sse_stored_from_hub_total %lld\n",
	           hs.subscribers, (long long) hs.live_sent, (long long) hs.live_dropped, (long long) hs.stored_taken);
}
