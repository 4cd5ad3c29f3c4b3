/*
 * The client: calls as small state machines on one thread's curl multi
 * handle. A call runs one hop at a time; redirects are followed here, not by
 * curl, so every hop's URL passes net_url_check and every hop's connections
 * pass the open-socket check with that hop's host name.
 */
#include "net/net_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REQUEST_HEADERS  64
#define MAX_RESPONSE_HEADERS 200
#define USER_AGENT           "troupe/" TROUPE_VERSION

struct hdr {
	char *name;
	char *value;
	bool secret;
};

struct net_multi {
	CURLM *multi;
	const struct net_policy *pol;
	struct net_call *head; /* calls not handed back yet */
	int ncalls;
	int nended; /* ended, callback not run yet */
	int epfd;
	int64_t curl_timer_us; /* when curl wants CURL_SOCKET_TIMEOUT; -1: never */
	struct curl_slist *resolve;
};

struct net_call {
	struct net_multi *m;
	struct net_call *prev, *next;
	bool ended;

	char *method;
	char *url; /* this hop's */
	struct hdr *hdrs;
	int nhdrs;
	char *body;
	size_t body_len;
	size_t max_bytes;
	int connect_ms, max_redirects;
	bool truncate_ok;
	int64_t start_us, deadline_us;

	/* the hop under way */
	CURL *easy;
	CURLU *cu;
	struct curl_slist *slist; /* holds secret values: wiped on free */
	char host[256];           /* curl's reading of the hop's host, for the open-socket check */
	char origin[300];         /* scheme://host:port, to drop credentials across origins */
	char scheme[8];
	bool refused;
	bool connect_cap_first;     /* this hop's connect cap ends before the whole call's */
	struct net_verdict verdict; /* the first address the open-socket check refused */
	struct buf in;
	size_t header_bytes;
	bool headers_too_large;

	struct net_response resp;
	net_done_fn done;
	void *ud;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void net_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

/* ---- responses ---- */

static void resp_headers_free(struct net_response *r)
{
	for (int i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
}

void net_response_free(struct net_response *r)
{
	if (!r)
		return;
	resp_headers_free(r);
	free(r->body);
	free(r->url);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

void net_response_move(struct net_response *dst, struct net_response *src)
{
	if (dst == src)
		return;
	net_response_free(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

const char *net_response_header(const struct net_response *r, const char *name)
{
	for (int i = r->nheaders - 1; i >= 0; i--)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

enum status net_problem(const struct net_response *r, struct problem *p)
{
	const char *reason = r->reason ? r->reason : net_error_name(r->error);
	switch (r->error) {
	case NET_OK:
		return ST_OK;
	case NET_ERR_REFUSED: {
		const char *field = !r->kind                    ? "url"
		                    : str_eq(r->kind, "header") ? "headers"
		                    : str_eq(r->kind, "method") ? "method"
		                                                : "url";
		problem_field(p, field, "%s", reason);
		return problem_set(p, ST_UNPROCESSABLE, "the outbound request was refused");
	}
	case NET_ERR_TIMEOUT:
		p->type = "/problems/timeout";
		return problem_set(p, ST_TIMEOUT, "url: %s", reason);
	default:
		p->type = "/problems/bad-gateway";
		return problem_set(p, ST_BAD_GATEWAY, "url: %s", reason);
	}
}

/* ---- the multi handle and its event loop ---- */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
	struct net_multi *m = ud;
	struct epoll_event ev = {.data.fd = fd};
	(void) e;
	(void) sockp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL); /* may already be closed: nothing to do then */
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
		epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *ud)
{
	struct net_multi *m = ud;
	(void) multi;
	m->curl_timer_us = timeout_ms < 0 ? -1 : time_mono_us() + (int64_t) timeout_ms * 1000;
	return 0;
}

struct net_multi *net_multi_new(const struct net_policy *pol)
{
	net_init();
	struct net_multi *m = xcalloc(1, sizeof(*m));
	m->pol = pol;
	m->curl_timer_us = -1;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->multi = curl_multi_init();
	if (m->epfd < 0 || !m->multi) {
		log_error("net: cannot create the event loop: %s", strerror(errno));
		abort();
	}
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	return m;
}

void net_multi_test_resolve(struct net_multi *m, const char *host_port_addr)
{
	struct curl_slist *s = curl_slist_append(m->resolve, host_port_addr);
	if (!s) {
		log_error("net: out of memory");
		abort();
	}
	m->resolve = s;
}

int net_multi_fd(const struct net_multi *m)
{
	return m->epfd;
}

int net_multi_pending(const struct net_multi *m)
{
	return m->ncalls;
}

int net_multi_timeout_ms(const struct net_multi *m)
{
	if (m->nended)
		return 0;
	if (m->ncalls == 0 || m->curl_timer_us < 0)
		return -1;
	int64_t d = m->curl_timer_us - time_mono_us();
	return d <= 0 ? 0 : (int) ((d + 999) / 1000);
}

/* ---- calls ---- */

static void slist_wipe_free(struct curl_slist *s)
{
	for (struct curl_slist *q = s; q; q = q->next)
		explicit_bzero(q->data, strlen(q->data));
	curl_slist_free_all(s);
}

static void hop_release(struct net_call *c)
{
	if (c->easy) {
		curl_multi_remove_handle(c->m->multi, c->easy);
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
	}
	if (c->cu) {
		curl_url_cleanup(c->cu);
		c->cu = NULL;
	}
	slist_wipe_free(c->slist);
	c->slist = NULL;
	buf_free(&c->in);
}

static void hdrs_drop(struct net_call *c, int i)
{
	if (c->hdrs[i].secret)
		explicit_bzero(c->hdrs[i].value, strlen(c->hdrs[i].value));
	free(c->hdrs[i].name);
	free(c->hdrs[i].value);
	c->hdrs[i] = c->hdrs[--c->nhdrs];
}

static void call_free(struct net_call *c)
{
	hop_release(c);
	while (c->nhdrs)
		hdrs_drop(c, c->nhdrs - 1);
	free(c->hdrs);
	free(c->method);
	free(c->url);
	if (c->body)
		explicit_bzero(c->body, c->body_len);
	free(c->body);
	net_response_free(&c->resp);
	free(c);
}

/* What holds in every state: in flight, a hop owns an easy handle and its
 * parsed URL; ended, it owns nothing of curl's and its answer is complete,
 * with a reason exactly when it failed and a kind exactly when refused. */
static bool call_invariants(const struct net_call *c)
{
	if (!c->ended)
		return c->easy && c->cu && c->slist && c->url && !c->resp.reason;
	return !c->easy && !c->cu && !c->slist && !c->url && c->resp.body && c->resp.url &&
	       (c->resp.error == NET_OK) == (c->resp.reason == NULL) &&
	       (c->resp.error == NET_ERR_REFUSED) == (c->resp.kind != NULL) && c->resp.redirects <= NET_MAX_REDIRECTS;
}

/* Ends the call (the callback runs from net_multi_run). fmt NULL: success. */
static void call_end(struct net_call *c, enum net_error err, const char *kind, const char *fmt, ...) PRINTF_LIKE(4, 5);
static void call_end(struct net_call *c, enum net_error err, const char *kind, const char *fmt, ...)
{
	assert(!c->ended);
	c->resp.error = err;
	c->resp.kind = kind;
	if (fmt) {
		char msg[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		c->resp.reason = xstrdup(msg);
	}
	c->resp.body_len = c->in.len;
	c->resp.body = buf_steal(&c->in); /* NUL-terminated */
	c->resp.url = c->url;
	c->url = NULL;
	c->resp.duration_ms = (time_mono_us() - c->start_us) / 1000;
	hop_release(c);
	c->ended = true;
	c->m->nended++;
	assert(call_invariants(c));
}

static void call_end_verdict(struct net_call *c, const struct net_verdict *v)
{
	call_end(c, v->error, v->kind, "%s", v->reason);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct net_call *c = ud;
	size_t len = size * n;
	c->header_bytes += len;
	if (c->header_bytes > NET_MAX_RESPONSE_HEADER) {
		c->headers_too_large = true;
		return 0;
	}
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		resp_headers_free(&c->resp); /* a new answer (after 1xx): only the last one counts */
		return len;
	}
	const char *colon = memchr(p, ':', len);
	if (!colon || colon == p || p[0] == ' ' || p[0] == '\t')
		return len;
	if (c->resp.nheaders >= MAX_RESPONSE_HEADERS) {
		c->headers_too_large = true;
		return 0;
	}
	const char *v = colon + 1, *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	struct net_response *r = &c->resp;
	r->headers = xrealloc(r->headers, sizeof(*r->headers) * (size_t) (r->nheaders + 1));
	r->headers[r->nheaders].name = xstrndup(p, (size_t) (colon - p));
	r->headers[r->nheaders].value = xstrndup(v, (size_t) (end - v));
	r->nheaders++;
	return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
	struct net_call *c = ud;
	size_t len = size * n, room = c->max_bytes - c->in.len;
	if (len > room) {
		buf_append(&c->in, p, room);
		c->resp.truncated = true;
		return 0; /* stops the transfer: nothing past the cap is read */
	}
	buf_append(&c->in, p, len);
	return len;
}

/* Every connection curl opens, for every address of every hop, passes here. */
static curl_socket_t on_open(void *ud, curlsocktype purpose, struct curl_sockaddr *sa)
{
	struct net_call *c = ud;
	struct net_verdict v;
	const void *addr = NULL;

	if (purpose == CURLSOCKTYPE_IPCXN && sa->family == AF_INET)
		addr = &((const struct sockaddr_in *) (const void *) &sa->addr)->sin_addr;
	else if (purpose == CURLSOCKTYPE_IPCXN && sa->family == AF_INET6)
		addr = &((const struct sockaddr_in6 *) (const void *) &sa->addr)->sin6_addr;
	if (net_addr_check(c->m->pol, c->host, addr ? sa->family : AF_UNSPEC, addr, &v) != NET_OK) {
		if (!c->refused)
			c->verdict = v;
		c->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(sa->family, sa->socktype | SOCK_CLOEXEC, sa->protocol);
}

/* RFC 9110 §5.1 token characters. */
static bool is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char) *s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

/* Framing and routing are curl's: a caller's header must not redefine them. */
static bool header_reserved(const char *name)
{
	static const char *const names[] = {
	    "host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "keep-alive", "trailer"};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return strncasecmp(name, "proxy-", 6) == 0;
}

bool net_header_allowed(const char *name)
{
	return is_token(name) && !header_reserved(name);
}

static bool header_is_credential(const struct hdr *h)
{
	return h->secret || strcasecmp(h->name, "authorization") == 0 || strcasecmp(h->name, "cookie") == 0;
}

static void call_link(struct net_multi *m, struct net_call *c)
{
	c->next = m->head;
	if (m->head)
		m->head->prev = c;
	m->head = c;
	m->ncalls++;
}

static void call_unlink(struct net_multi *m, struct net_call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		m->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	m->ncalls--;
}

/* Copies the request into the call; false with the call ended when it is refused. */
static bool call_copy(struct net_call *c, const struct net_request *req)
{
	const char *method = req->method ? req->method : req->body ? "POST" : "GET";
	if (!is_token(method)) {
		call_end(c, NET_ERR_REFUSED, "method", "refused: the method is not an HTTP token");
		return false;
	}
	c->method = xstrdup(method);
	for (char *q = c->method; *q; q++)
		*q = (char) toupper((unsigned char) *q);
	if (req->nheaders > MAX_REQUEST_HEADERS) {
		call_end(c, NET_ERR_REFUSED, "header", "refused: more than %d request headers", MAX_REQUEST_HEADERS);
		return false;
	}
	c->hdrs = xcalloc((size_t) req->nheaders + 1, sizeof(*c->hdrs));
	for (int i = 0; i < req->nheaders; i++) {
		const struct net_header *h = &req->headers[i];
		const char *val = h->value ? h->value : "";
		if (!net_header_allowed(h->name)) {
			call_end(c, NET_ERR_REFUSED, "header",
			         "refused: header \"%.64s\" is not a name a request may set", h->name ? h->name : "");
			return false;
		}
		if (strpbrk(val, "\r\n")) {
			call_end(c, NET_ERR_REFUSED, "header", "refused: the value of header %.64s contains CR or LF",
			         h->name);
			return false;
		}
		c->hdrs[c->nhdrs++] = (struct hdr){xstrdup(h->name), xstrdup(val), h->secret};
	}
	if (req->body) {
		c->body = xmalloc(req->body_len + 1);
		memcpy(c->body, req->body, req->body_len);
		c->body_len = req->body_len;
	}
	return true;
}

static struct curl_slist *build_headers(const struct net_call *c)
{
	struct curl_slist *s = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
	for (int i = 0; s && i < c->nhdrs; i++) {
		size_t n = strlen(c->hdrs[i].name) + strlen(c->hdrs[i].value) + 3;
		char *line = xmalloc(n);
		if (c->hdrs[i].value[0])
			snprintf(line, n, "%s: %s", c->hdrs[i].name, c->hdrs[i].value);
		else
			snprintf(line, n, "%s;", c->hdrs[i].name); /* curl's way to send an empty value */
		struct curl_slist *t = curl_slist_append(s, line);
		explicit_bzero(line, n);
		free(line);
		if (!t) {
			slist_wipe_free(s);
			s = NULL;
		}
		s = t;
	}
	if (!s) {
		log_error("net: out of memory");
		abort();
	}
	return s;
}

/* curl must read the host as the guard did: otherwise the two parsers disagree and the URL is refused. */
static bool hop_parse(struct net_call *c, const struct net_url_parts *u)
{
	char *host = NULL;
	bool ok = false;
	c->cu = curl_url();
	if (!c->cu || curl_url_set(c->cu, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
	    curl_url_get(c->cu, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	size_t hl = strlen(host);
	if (u->bracketed) {
		uint8_t a[16], b[16];
		char inner[256];
		if (hl < 2 || hl - 2 >= sizeof(inner) || host[0] != '[')
			goto out;
		memcpy(inner, host + 1, hl - 2);
		inner[hl - 2] = '\0';
		ok =
		    inet_pton(AF_INET6, inner, a) == 1 && inet_pton(AF_INET6, u->host, b) == 1 && memcmp(a, b, 16) == 0;
		snprintf(c->host, sizeof(c->host), "%s", inner);
	} else {
		ok = strcasecmp(host, u->host) == 0;
		snprintf(c->host, sizeof(c->host), "%s", host);
	}
	snprintf(c->origin, sizeof(c->origin), "%s://%s:%d", u->scheme, c->host, u->port);
	memcpy(c->scheme, u->scheme, sizeof(c->scheme));
out:
	curl_free(host);
	return ok;
}

static void hop_setopts(struct net_call *c, int64_t remaining_ms)
{
	CURL *e = c->easy;
	long total = remaining_ms > 0 ? (long) remaining_ms : 1;
	long conn = c->connect_ms < total ? c->connect_ms : total;

	c->connect_cap_first = conn < total;

	curl_easy_setopt(e, CURLOPT_CURLU, c->cu);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROXY, ""); /* no proxy from the environment: the checked address is the peer */
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, total);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, conn);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* the cap counts decoded bytes */
	curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->slist);
	if (c->m->resolve)
		curl_easy_setopt(e, CURLOPT_RESOLVE, c->m->resolve);
	if (str_eq(c->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (c->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) c->body_len);
		if (!str_eq(c->method, "POST"))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
	} else if (!str_eq(c->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
	}
}

/* Starts the hop to c->url: the URL check first, then curl. */
static void hop_start(struct net_call *c)
{
	struct net_url_parts u;
	struct net_verdict v;
	int64_t remaining_ms = (c->deadline_us - time_mono_us()) / 1000;

	if (net_url_split(c->url, &u, &v) < 0 || net_url_check(c->m->pol, c->url, &v) != NET_OK) {
		call_end_verdict(c, &v);
		return;
	}
	if (!hop_parse(c, &u)) {
		call_end(c, NET_ERR_REFUSED, "url", "refused: the URL's host is malformed or ambiguous");
		return;
	}
	if (remaining_ms <= 0) {
		call_end(c, NET_ERR_TIMEOUT, NULL, "no answer within the time limit");
		return;
	}
	c->refused = false;
	c->headers_too_large = false;
	c->header_bytes = 0;
	c->resp.truncated = false;
	c->resp.status = 0;
	resp_headers_free(&c->resp);
	buf_init(&c->in, 0);
	c->slist = build_headers(c);
	c->easy = curl_easy_init();
	if (!c->easy) {
		log_error("net: out of memory");
		abort();
	}
	hop_setopts(c, remaining_ms);
	curl_multi_add_handle(c->m->multi, c->easy);
	assert(call_invariants(c));
}

struct net_call *net_start(struct net_multi *m, const struct net_request *req, net_done_fn done, void *ud)
{
	struct net_call *c = xcalloc(1, sizeof(*c));
	int timeout = req->timeout_ms > 0 ? req->timeout_ms : NET_DEFAULT_TIMEOUT_MS;

	c->m = m;
	c->done = done;
	c->ud = ud;
	c->start_us = time_mono_us();
	c->deadline_us = c->start_us + (int64_t) timeout * 1000;
	c->connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : NET_DEFAULT_CONNECT_MS;
	c->max_bytes = req->max_response_bytes ? req->max_response_bytes : NET_DEFAULT_MAX_BYTES;
	if (c->max_bytes > NET_LIMIT_MAX_BYTES)
		c->max_bytes = NET_LIMIT_MAX_BYTES;
	c->max_redirects = req->max_redirects < 0 ? 0 : req->max_redirects ? req->max_redirects : NET_MAX_REDIRECTS;
	if (c->max_redirects > NET_MAX_REDIRECTS)
		c->max_redirects = NET_MAX_REDIRECTS;
	c->truncate_ok = req->truncate_ok;
	c->url = xstrdup(req->url ? req->url : "");
	call_link(m, c);
	if (call_copy(c, req))
		hop_start(c);
	return c;
}

static bool is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* RFC 9110 §15.4: 301 and 302 turn a POST into a GET, 303 anything but HEAD. */
static void redirect_method(struct net_call *c, long status)
{
	bool to_get = (status == 303 && !str_eq(c->method, "HEAD")) ||
	              ((status == 301 || status == 302) && str_eq(c->method, "POST"));
	if (!to_get)
		return;
	free(c->method);
	c->method = xstrdup("GET");
	if (c->body)
		explicit_bzero(c->body, c->body_len);
	free(c->body);
	c->body = NULL;
	c->body_len = 0;
	for (int i = c->nhdrs - 1; i >= 0; i--)
		if (strcasecmp(c->hdrs[i].name, "content-type") == 0)
			hdrs_drop(c, i);
}

/* curl hands back the redirect target normalised (2130706433 becomes
 * 127.0.0.1): the Location header as written gets the URL check first. */
static bool location_refused(struct net_call *c)
{
	const char *loc = net_response_header(&c->resp, "location");
	struct net_verdict v;
	size_t sl = 0;
	if (!loc)
		return false;
	while (isalnum((unsigned char) loc[sl]) || loc[sl] == '+' || loc[sl] == '-' || loc[sl] == '.')
		sl++;
	char *abs = NULL;
	if (sl > 0 && loc[sl] == ':')
		abs = xstrdup(loc);
	else if (loc[0] == '/' && loc[1] == '/')
		abs = xasprintf("%s:%s", c->scheme, loc); /* scheme-relative: the hop's scheme */
	bool refused = abs && net_url_check(c->m->pol, abs, &v) != NET_OK;
	free(abs);
	if (refused) {
		free(c->url);
		c->url = xstrdup(loc);
		call_end_verdict(c, &v);
	}
	return refused;
}

/* Follows the hop's redirect; false when there is none to follow. */
static bool hop_redirect(struct net_call *c)
{
	char *next = NULL;
	char old_origin[sizeof(c->origin)];
	if (!is_redirect(c->resp.status) || c->resp.truncated)
		return false;
	curl_easy_getinfo(c->easy, CURLINFO_REDIRECT_URL, &next);
	if (!next || c->max_redirects == 0)
		return false;
	if (location_refused(c))
		return true;
	if (c->resp.redirects >= c->max_redirects) {
		call_end(c, NET_ERR_REFUSED, "redirects", "refused: more than %d redirects", c->max_redirects);
		return true;
	}
	c->resp.redirects++;
	free(c->url);
	c->url = xstrdup(next);
	memcpy(old_origin, c->origin, sizeof(old_origin));
	hop_release(c);
	redirect_method(c, c->resp.status);
	struct net_url_parts u;
	struct net_verdict v;
	if (net_url_split(c->url, &u, &v) == 0) {
		char origin[sizeof(c->origin)];
		snprintf(origin, sizeof(origin), "%s://%s:%d", u.scheme, u.host, u.port);
		/* credentials stay with the origin they were meant for */
		if (strcasecmp(origin, old_origin) != 0)
			for (int i = c->nhdrs - 1; i >= 0; i--)
				if (header_is_credential(&c->hdrs[i]))
					hdrs_drop(c, i);
	}
	hop_start(c);
	return true;
}

/* curl says "timed out" for either cap: name the one that ended the call, with
 * the limit the caller set (the whole call's, or this hop's connect cap when
 * it is the tighter one and no connection was made). */
static void call_end_timeout(struct net_call *c)
{
	curl_off_t connected_us = 0;

	curl_easy_getinfo(c->easy, CURLINFO_CONNECT_TIME_T, &connected_us);
	if (connected_us == 0 && c->connect_cap_first)
		call_end(c, NET_ERR_TIMEOUT, NULL, "no connection to %.100s within %d ms", c->host, c->connect_ms);
	else
		call_end(c, NET_ERR_TIMEOUT, NULL, "no complete answer within %lld ms",
		         (long long) ((c->deadline_us - c->start_us) / 1000));
}

static void hop_end(struct net_call *c, CURLcode rc)
{
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->resp.status);
	bool done = rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && c->resp.truncated);
	if (done && hop_redirect(c))
		return;
	if (c->refused && !done) {
		call_end_verdict(c, &c->verdict);
	} else if (c->headers_too_large) {
		call_end(c, NET_ERR_HTTP, NULL, "the response headers are larger than %u bytes or %d lines",
		         NET_MAX_RESPONSE_HEADER, MAX_RESPONSE_HEADERS);
	} else if (c->resp.truncated) {
		if (c->truncate_ok)
			call_end(c, NET_OK, NULL, NULL);
		else
			call_end(c, NET_ERR_TOO_LARGE, NULL, "the response is larger than %zu bytes", c->max_bytes);
	} else if (rc == CURLE_OK) {
		call_end(c, NET_OK, NULL, NULL);
	} else if (rc == CURLE_COULDNT_RESOLVE_HOST) {
		call_end(c, NET_ERR_DNS, NULL, "%.100s does not resolve", c->host);
	} else if (rc == CURLE_COULDNT_CONNECT) {
		call_end(c, NET_ERR_CONNECT, NULL, "%.100s refused the connection or cannot be reached", c->host);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		call_end_timeout(c);
	} else if (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
	           rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CIPHER || rc == CURLE_SSL_CACERT_BADFILE ||
	           rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
		call_end(c, NET_ERR_TLS, NULL, "TLS with %.100s failed: %s", c->host, curl_easy_strerror(rc));
	} else {
		/* curl's generic text only: its error buffer may quote the URL and its query */
		call_end(c, NET_ERR_HTTP, NULL, "the exchange with %.100s failed: %s", c->host, curl_easy_strerror(rc));
	}
}

static void drain(struct net_multi *m)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(m->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct net_call *c = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &c);
		if (c && !c->ended)
			hop_end(c, msg->data.result);
	}
}

/* Runs the callbacks of ended calls; returns how many ran. */
static int run_ended(struct net_multi *m)
{
	int n = 0;
	struct net_call *c = m->head;
	while (m->nended && c) {
		struct net_call *next = c->next;
		if (c->ended) {
			call_unlink(m, c);
			m->nended--;
			if (c->done)
				c->done(c, &c->resp, c->ud);
			call_free(c);
			n++;
		}
		c = next;
	}
	return n;
}

int net_multi_run(struct net_multi *m, int timeout_ms)
{
	int64_t now = time_mono_us();
	int64_t until = now + (int64_t) (timeout_ms > 0 ? timeout_ms : 0) * 1000;
	struct epoll_event evs[64];
	int running;

	for (;;) {
		if (m->curl_timer_us >= 0 && m->curl_timer_us <= now) {
			m->curl_timer_us = -1;
			curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		drain(m);
		if (run_ended(m) > 0 || m->ncalls == 0)
			break;
		now = time_mono_us();
		if (m->curl_timer_us >= 0 && m->curl_timer_us <= now)
			continue;
		int64_t wake = until;
		if (m->curl_timer_us >= 0 && m->curl_timer_us < wake)
			wake = m->curl_timer_us;
		int wait_ms = wake > now ? (int) ((wake - now + 999) / 1000) : 0;
		int n = epoll_wait(m->epfd, evs, (int) ARRAY_LEN(evs), wait_ms);
		for (int i = 0; i < n; i++) {
			int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			            (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			            (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			curl_multi_socket_action(m->multi, evs[i].data.fd, flags, &running);
		}
		drain(m);
		if (run_ended(m) > 0)
			break;
		now = time_mono_us();
		if (now >= until)
			break;
	}
	return m->ncalls;
}

void net_cancel(struct net_call *c)
{
	if (c && !c->ended)
		call_end(c, NET_ERR_TIMEOUT, NULL, "cancelled");
}

struct sync_call {
	struct net_response *out;
	bool done;
};

static void sync_done(struct net_call *call, struct net_response *resp, void *ud)
{
	struct sync_call *s = ud;
	(void) call;
	net_response_move(s->out, resp);
	s->done = true;
}

enum status net_fetch(struct net_multi *m, const struct net_request *req, struct net_response *resp, struct problem *p)
{
	struct sync_call s = {.out = resp};
	memset(resp, 0, sizeof(*resp));
	net_start(m, req, sync_done, &s);
	while (!s.done)
		net_multi_run(m, 1000);
	return net_problem(resp, p);
}

void net_multi_free(struct net_multi **mp)
{
	struct net_multi *m = *mp;
	if (!m)
		return;
	for (struct net_call *c = m->head; c; c = c->next)
		net_cancel(c);
	run_ended(m);
	curl_multi_cleanup(m->multi);
	curl_slist_free_all(m->resolve);
	close(m->epfd);
	free(m);
	*mp = NULL;
}
