/*
 * net: address classification, the allowlist, the URL checks, and the client
 * against loopback servers: the hostile corpus in tests/fixtures/ssrf is
 * refused while a canary listener on loopback sees no connection; an
 * allowlisted host is reached; redirects, the size cap, the time caps and
 * credential headers behave as docs/net.md says.
 */
#include "net/net.h"
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- classification ---- */

static void test_classify(void)
{
	static const struct {
		const char *addr, *kind; /* kind NULL: a public address */
	} cases[] = {
	    {"8.8.8.8", NULL},
	    {"93.184.216.34", NULL},
	    {"0.0.0.0", "unspecified"},
	    {"0.1.2.3", "this_network"},
	    {"10.0.0.5", "private"},
	    {"10.255.255.255", "private"},
	    {"11.0.0.1", NULL},
	    {"100.63.255.255", NULL},
	    {"100.64.0.1", "cgnat"},
	    {"100.127.255.255", "cgnat"},
	    {"100.128.0.0", NULL},
	    {"127.0.0.1", "loopback"},
	    {"127.255.255.254", "loopback"},
	    {"169.254.169.254", "link_local"},
	    {"169.255.0.1", NULL},
	    {"172.15.255.255", NULL},
	    {"172.16.0.1", "private"},
	    {"172.31.255.255", "private"},
	    {"172.32.0.0", NULL},
	    {"192.0.0.8", "protocol_assignments"},
	    {"192.0.2.1", "documentation"},
	    {"192.88.99.1", "6to4_relay"},
	    {"192.168.0.1", "private"},
	    {"192.169.0.1", NULL},
	    {"198.18.0.1", "benchmarking"},
	    {"198.19.255.255", "benchmarking"},
	    {"198.20.0.0", NULL},
	    {"198.51.100.7", "documentation"},
	    {"203.0.113.9", "documentation"},
	    {"223.255.255.255", NULL},
	    {"224.0.0.1", "multicast"},
	    {"239.255.255.250", "multicast"},
	    {"240.0.0.1", "reserved"},
	    {"255.255.255.254", "reserved"},
	    {"255.255.255.255", "broadcast"},
	    {"2606:4700:4700::1111", NULL},
	    {"2a00:1450:4001::200e", NULL},
	    {"::", "unspecified"},
	    {"::1", "loopback"},
	    {"::2", "ipv4_compatible"},
	    {"::127.0.0.1", "ipv4_compatible"},
	    {"::ffff:127.0.0.1", "ipv4_mapped"},
	    {"::ffff:8.8.8.8", "ipv4_mapped"},
	    {"::ffff:0:7f00:1", "ipv4_translated"},
	    {"64:ff9b::7f00:1", "nat64"},
	    {"64:ff9b::808:808", "nat64"},
	    {"64:ff9b:1::a00:5", "nat64"},
	    {"100::1", "discard"},
	    {"2001::1", "teredo"},
	    {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"},
	    {"2001:2::1", "benchmarking"},
	    {"2001:10::1", "orchid"},
	    {"2001:20::1", "orchid"},
	    {"2001:db8::1", "documentation"},
	    {"3fff::1", "documentation"},
	    {"2002:7f00:1::1", "6to4"},
	    {"2002:a00:5::1", "6to4"},
	    {"2002:808:808::1", NULL},
	    {"fc00::1", "ula"},
	    {"fdff:ffff::1", "ula"},
	    {"fe80::1", "link_local"},
	    {"febf::1", "link_local"},
	    {"fec0::1", "site_local"},
	    {"ff02::1", "multicast"},
	    {"4000::1", "reserved"},
	    {"1fff::1", "reserved"},
	    {"5f00::1", "reserved"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		unsigned char a[16];
		int fam = strchr(cases[i].addr, ':') ? AF_INET6 : AF_INET;
		T_OK(inet_pton(fam, cases[i].addr, a) == 1, "parse %s", cases[i].addr);
		const struct net_block *b = net_addr_block(fam, a);
		T_EQ_STR(b ? b->kind : NULL, cases[i].kind, "classify %s", cases[i].addr);
		if (b)
			T_OK(b->rfc && strncmp(b->rfc, "RFC ", 4) == 0 && b->what, "%s names its RFC", cases[i].addr);
	}
}

/* ---- the allowlist ---- */

static void test_policy(void)
{
	static const struct {
		const char *allow;
		bool ok;
	} lists[] = {
	    {"", true},
	    {NULL, true},
	    {"intranet.example", true},
	    {" intranet.example , 10.20.0.0/16,fd00::/8 ,192.168.1.7, ::1 ", true},
	    {"Wiki.Corp.Example.", true},
	    {",,", true},
	    {"10.0.0.0/33", false},
	    {"fd00::/129", false},
	    {"10.0.0.0/", false},
	    {"/8", false},
	    {"127.1", false},
	    {"0x7f.0.0.1", false},
	    {"bad host", false},
	    {"a:b", false},
	    {"under_score.example", true},
	    {"-leading.example", false},
	};
	for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
		char err[256] = "";
		struct net_policy *p = net_policy_new(lists[i].allow, err, sizeof(err));
		T_EQ_INT(p != NULL, lists[i].ok, "allowlist \"%s\" (%s)", lists[i].allow ? lists[i].allow : "(null)",
		         err);
		if (!lists[i].ok)
			T_OK(err[0] != '\0', "allowlist \"%s\" says why: %s", lists[i].allow, err);
		net_policy_free(&p);
		T_OK(p == NULL, "net_policy_free clears the pointer");
	}

	char err[256];
	struct net_policy *p =
	    net_policy_new("wiki.corp.example,10.20.0.0/16,fd00:1::/32,192.168.1.7", err, sizeof(err));
	static const struct {
		const char *host, *addr;
		bool allowed;
	} cases[] = {
	    {"wiki.corp.example", "10.9.9.9", true},
	    {"WIKI.corp.example.", "127.0.0.1", true},
	    {"other.corp.example", "10.9.9.9", false},
	    {"wiki.corp.example.evil", "10.9.9.9", false},
	    {"x.test", "10.20.3.4", true},
	    {"x.test", "10.21.0.1", false},
	    {"x.test", "::ffff:10.20.3.4", true},
	    {"x.test", "fd00:1:2::3", true},
	    {"x.test", "fd00:2::3", false},
	    {"x.test", "192.168.1.7", true},
	    {"x.test", "192.168.1.8", false},
	    {"x.test", "93.184.216.34", true},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		unsigned char a[16];
		struct net_verdict v;
		int fam = strchr(cases[i].addr, ':') ? AF_INET6 : AF_INET;
		inet_pton(fam, cases[i].addr, a);
		enum net_error e = net_addr_check(p, cases[i].host, fam, a, &v);
		T_EQ_INT(e == NET_OK, cases[i].allowed, "%s at %s: %s", cases[i].host, cases[i].addr, v.reason);
	}
	struct net_verdict v;
	unsigned char a[4] = {10, 0, 0, 5};
	net_addr_check(NULL, "private.test", AF_INET, a, &v);
	T_EQ_STR(v.reason, "refused: private.test resolves to 10.0.0.5, a private address (RFC 1918)",
	         "the reason names the host, the address, the range and its RFC");
	net_addr_check(NULL, "10.0.0.5", AF_INET, a, &v);
	T_EQ_STR(v.reason, "refused: 10.0.0.5 is a private address (RFC 1918)", "a literal address's reason");
	net_policy_free(&p);
}

/* ---- URL checks before any connection ---- */

static void test_url_check(void)
{
	static const struct {
		const char *url, *kind; /* NULL: passes the check (connect-time checks still follow) */
	} cases[] = {
	    {"http://example.com/", NULL},
	    {"https://example.com:8443/a?b=c#d", NULL},
	    {"HTTPS://Example.COM/", NULL},
	    {"http://93.184.216.34/", NULL},
	    {"http://[2606:4700:4700::1111]/", NULL},
	    {"http://example.com", NULL},
	    {"http://example.com?x", NULL},
	    {"http://1.2.3.4.example/", NULL},
	    {"http://0x7f.example/", NULL},
	    {"ftp://example.com/", "scheme"},
	    {"file:///etc/passwd", "scheme"},
	    {"gopher://example.com/", "scheme"},
	    {"http:/example.com/", "url"},
	    {"http:example.com", "url"},
	    {"//example.com/", "url"},
	    {"", "url"},
	    {"http://", "url"},
	    {"http://:80/", "url"},
	    {"http://example.com:0/", "url"},
	    {"http://example.com:65536/", "url"},
	    {"http://example.com:8o/", "url"},
	    {"http://example.com:/", "url"},
	    {"http://exa mple.com/", "url"},
	    {"http://example.com/\x7f", "url"},
	    {"http://example.com/\tx", "url"},
	    {"http://a@example.com/", "userinfo"},
	    {"http://example.com@10.0.0.1/", "userinfo"},
	    {"http://[fe80::1%25eth0]/", "zone_id"},
	    {"http://[::1]x/", "url"},
	    {"http://[zz::1]/", "url"},
	    {"http://127.0.0.1/", "loopback"},
	    {"http://1.2.3.4/", NULL},
	    {"http://1.2.3/", "ipv4_form"},
	    {"http://01.2.3.4/", "ipv4_form"},
	    {"http://1.2.3.256/", "ipv4_form"},
	    {"http://1.2.3.4.5/", "ipv4_form"},
	    {"http://example.0x10/", "ipv4_form"},
	    {"http://example.10/", "ipv4_form"},
	    {"http://0x/", "ipv4_form"},
	    {"http://[::ffff:10.0.0.1]/", "ipv4_mapped"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct net_verdict v;
		enum net_error e = net_url_check(NULL, cases[i].url, &v);
		T_EQ_STR(e == NET_OK ? NULL : v.kind, cases[i].kind, "url check %s (%s)", cases[i].url, v.reason);
		if (e != NET_OK)
			T_OK(strncmp(v.reason, "refused: ", 9) == 0, "%s: a reason", cases[i].url);
	}
	char err[64];
	struct net_policy *p = net_policy_new("127.0.0.0/8", err, sizeof(err));
	struct net_verdict v;
	T_EQ_INT(net_url_check(p, "http://127.0.0.1:9/", &v), NET_OK, "an allowlisted CIDR opens a literal address");
	T_EQ_INT(net_url_check(p, "http://127.1:9/", &v), NET_ERR_REFUSED, "but never a non-standard IPv4 form");
	net_policy_free(&p);
}

/* ---- loopback servers ---- */

static int listen_on(int family, int port)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t) port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t) port);
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	}
	if (bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in s = {0};
	socklen_t len = sizeof(s);
	getsockname(fd, (struct sockaddr *) &s, &len);
	return ntohs(s.sin_port);
}

/* The canary: loopback listeners (IPv4 and, when the host has it, IPv6 on
 * the same port) that nothing may connect to. Non-blocking, so a pending
 * connection shows as accept() succeeding. */
struct canary {
	int fd4, fd6, port;
};

static bool canary_touched(struct canary *c)
{
	bool hit = false;
	for (int i = 0; i < 2; i++) {
		int fd = i ? c->fd6 : c->fd4;
		if (fd < 0)
			continue;
		int s = accept(fd, NULL, NULL);
		if (s >= 0) {
			close(s);
			hit = true;
		}
	}
	return hit;
}

struct server {
	int fd, port;
	int canary_port;
	atomic_int stop;
	atomic_int active;
	atomic_int requests;
	pthread_t th;
};

struct conn {
	struct server *s;
	int fd;
};

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t) w;
	}
}

static void reply(int fd, const char *status, const char *extra, const char *body)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\nX-Test: yes\r\n%s\r\n", status,
	                 strlen(body), extra ? extra : "");
	send_all(fd, head, (size_t) n);
	send_all(fd, body, strlen(body));
}

/* The value of header name in the request text, into out. */
static void req_header(const char *req, const char *name, char *out, size_t outlen)
{
	out[0] = '\0';
	for (const char *l = strstr(req, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, name, strlen(name)) == 0 && l[2 + strlen(name)] == ':') {
			const char *v = l + 3 + strlen(name);
			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int) strcspn(v, "\r\n"), v);
			return;
		}
	}
}

static void route(struct server *s, int fd, const char *req)
{
	char method[16] = "", path[256] = "", extra[512], auth[256], key[256];
	sscanf(req, "%15s %255s", method, path);
	if (str_eq(path, "/hello")) {
		reply(fd, "200 OK", "Content-Type: text/plain\r\n", "hello");
	} else if (str_eq(path, "/method")) {
		reply(fd, "200 OK", NULL, method);
	} else if (str_eq(path, "/echo-auth")) {
		char body[600];
		req_header(req, "Authorization", auth, sizeof(auth));
		req_header(req, "X-Api-Key", key, sizeof(key));
		snprintf(body, sizeof(body), "auth=%s key=%s", auth, key);
		reply(fd, "200 OK", NULL, body);
	} else if (str_eq(path, "/redirect-canary")) {
		snprintf(extra, sizeof(extra), "Location: http://127.0.0.1:%d/\r\n", s->canary_port);
		reply(fd, "302 Found", extra, "");
	} else if (str_eq(path, "/redirect-evil")) {
		snprintf(extra, sizeof(extra), "Location: http://evil.test:%d/\r\n", s->canary_port);
		reply(fd, "307 Temporary Redirect", extra, "");
	} else if (str_eq(path, "/redirect-decimal")) {
		snprintf(extra, sizeof(extra), "Location: http://2130706433:%d/\r\n", s->canary_port);
		reply(fd, "301 Moved Permanently", extra, "");
	} else if (str_eq(path, "/redirect-schemeless")) {
		snprintf(extra, sizeof(extra), "Location: //0x7f.1:%d/\r\n", s->canary_port);
		reply(fd, "308 Permanent Redirect", extra, "");
	} else if (str_eq(path, "/redirect-file")) {
		reply(fd, "302 Found", "Location: file:///etc/passwd\r\n", "");
	} else if (str_eq(path, "/redirect-hello")) {
		reply(fd, "302 Found", "Location: /hello\r\n", "");
	} else if (str_eq(path, "/redirect-same")) {
		reply(fd, "302 Found", "Location: /echo-auth\r\n", "");
	} else if (str_eq(path, "/redirect-other")) {
		snprintf(extra, sizeof(extra), "Location: http://allowed2.test:%d/echo-auth\r\n", s->port);
		reply(fd, "302 Found", extra, "");
	} else if (str_eq(path, "/see-other")) {
		reply(fd, "303 See Other", "Location: /method\r\n", "");
	} else if (str_eq(path, "/keep-method")) {
		reply(fd, "307 Temporary Redirect", "Location: /method\r\n", "");
	} else if (str_eq(path, "/garbage")) {
		send_all(fd, "NOT HTTP AT ALL\r\n\r\n", 19);
	} else if (str_eq(path, "/loop")) {
		reply(fd, "302 Found", "Location: /loop\r\n", "");
	} else if (str_eq(path, "/big")) {
		static char chunk[4096];
		memset(chunk, 'x', sizeof(chunk));
		const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n";
		send_all(fd, head, strlen(head));
		for (int i = 0; i < 256 && !atomic_load(&s->stop); i++)
			send_all(fd, chunk, sizeof(chunk));
	} else if (str_eq(path, "/slow")) {
		for (int i = 0; i < 60 && !atomic_load(&s->stop); i++)
			poll(NULL, 0, 50);
		reply(fd, "200 OK", NULL, "late");
	} else {
		reply(fd, "404 Not Found", NULL, "");
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	char req[8192] = "";
	size_t n = 0;
	while (n < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
		struct pollfd pfd = {c->fd, POLLIN, 0};
		if (poll(&pfd, 1, 2000) <= 0)
			break;
		ssize_t r = recv(c->fd, req + n, sizeof(req) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t) r;
		req[n] = '\0';
		if (req[0] == 0x16) /* a TLS handshake: answer in plain text at once */
			break;
	}
	req[n] = '\0';
	atomic_fetch_add(&c->s->requests, 1);
	route(c->s, c->fd, req);
	close(c->fd);
	atomic_fetch_sub(&c->s->active, 1);
	free(c);
	return NULL;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = {s->fd, POLLIN, 0};
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		struct conn *c = xcalloc(1, sizeof(*c));
		c->s = s;
		c->fd = fd;
		pthread_t th;
		atomic_fetch_add(&s->active, 1);
		if (pthread_create(&th, NULL, conn_main, c) != 0) {
			atomic_fetch_sub(&s->active, 1);
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(th);
	}
	return NULL;
}

static void server_stop(struct server *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	while (atomic_load(&s->active) > 0)
		poll(NULL, 0, 10);
	close(s->fd);
}

/* ---- the corpus ---- */

static char *subst(const char *in, int canary, int server)
{
	struct buf b;
	buf_init(&b, 0);
	for (const char *p = in; *p;) {
		if (strncmp(p, "{canary}", 8) == 0) {
			buf_printf(&b, "%d", canary);
			p += 8;
		} else if (strncmp(p, "{server}", 8) == 0) {
			buf_printf(&b, "%d", server);
			p += 8;
		} else {
			buf_append(&b, p++, 1);
		}
	}
	return buf_steal(&b);
}

static FILE *open_fixture(const char *rel)
{
	char path[1024];
	const char *root = getenv("TROUPE_SOURCE_ROOT");
	const char *tries[] = {root, ".", "..", "../.."};
	for (size_t i = 0; i < ARRAY_LEN(tries); i++) {
		if (!tries[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", tries[i], rel);
		FILE *f = fopen(path, "r");
		if (f)
			return f;
	}
	return NULL;
}

static struct net_multi *multi_for_tests(const struct net_policy *pol, int canary, int server)
{
	char r[128];
	struct net_multi *m = net_multi_new(pol);
	static const char *const fixed[] = {"private.test:80:10.0.0.5", "metadata.test:80:169.254.169.254"};
	for (size_t i = 0; i < ARRAY_LEN(fixed); i++)
		net_multi_test_resolve(m, fixed[i]);
	snprintf(r, sizeof(r), "evil.test:%d:127.0.0.1", canary);
	net_multi_test_resolve(m, r);
	snprintf(r, sizeof(r), "rebind.test:%d:127.0.0.1,[::1]", canary);
	net_multi_test_resolve(m, r);
	snprintf(r, sizeof(r), "allowed.test:%d:127.0.0.1", server);
	net_multi_test_resolve(m, r);
	snprintf(r, sizeof(r), "allowed2.test:%d:127.0.0.1", server);
	net_multi_test_resolve(m, r);
	return m;
}

static void test_corpus(struct net_multi *m, struct canary *cn, struct server *srv)
{
	FILE *f = open_fixture("tests/fixtures/ssrf/urls.txt");
	T_OK(f != NULL, "open tests/fixtures/ssrf/urls.txt (set TROUPE_SOURCE_ROOT)");
	if (!f)
		return;
	char line[1024];
	int n = 0, before = atomic_load(&srv->requests);
	while (fgets(line, sizeof(line), f)) {
		char kind[64], raw[900];
		if (line[0] == '#' || sscanf(line, "%63s %899s", kind, raw) != 2)
			continue;
		char *url = subst(raw, cn->port, srv->port);
		struct net_request req = {.url = url, .timeout_ms = 5000, .connect_timeout_ms = 1000};
		struct net_header h[] = {{"Authorization", "Bearer canary-secret-1234", true}};
		req.headers = h;
		req.nheaders = 1;
		struct net_response resp;
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		enum status st = net_fetch(m, &req, &resp, &p);
		T_EQ_INT(resp.error, NET_ERR_REFUSED, "%s is refused (%s: %s)", url, net_error_name(resp.error),
		         resp.reason ? resp.reason : "");
		T_EQ_STR(resp.kind, kind, "%s: kind", url);
		T_OK(!canary_touched(cn), "%s: the canary saw no connection", url);
		T_OK(st == ST_UNPROCESSABLE && p.nfields == 1 && str_eq(p.fields[0].field, "url"),
		     "%s: a 422 naming url", url);
		T_OK(resp.reason && !strstr(resp.reason, "canary-secret"), "%s: the reason holds no secret", url);
		n++;
		net_response_free(&resp);
		arena_free(&a);
		free(url);
	}
	fclose(f);
	T_OK(n >= 30, "the corpus has %d hostile URLs (at least 30)", n);
	T_OK(atomic_load(&srv->requests) > before, "the redirect cases did reach the allowlisted server first");
}

/* ---- what the allowlisted server answers ---- */

static struct net_response fetch(struct net_multi *m, const struct net_request *req)
{
	struct net_response resp;
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	net_fetch(m, req, &resp, &p);
	arena_free(&a);
	return resp;
}

static void test_reach(struct net_multi *m, struct server *srv)
{
	char url[256];
	snprintf(url, sizeof(url), "http://allowed.test:%d/hello", srv->port);
	struct net_response r = fetch(m, &(struct net_request){.url = url});
	T_EQ_INT(r.error, NET_OK, "an allowlisted host is reached (%s)", r.reason ? r.reason : "");
	T_EQ_INT(r.status, 200, "status 200");
	T_EQ_STR(r.body, "hello", "the body");
	T_EQ_INT(r.body_len, 5, "body_len");
	T_EQ_STR(net_response_header(&r, "x-test"), "yes", "headers, by name in any case");
	T_OK(!r.truncated && r.redirects == 0, "not truncated, no redirect");
	net_response_free(&r);

	snprintf(url, sizeof(url), "http://allowed.test:%d/redirect-hello", srv->port);
	r = fetch(m, &(struct net_request){.url = url});
	T_EQ_STR(r.body, "hello", "a relative redirect on the allowed host is followed");
	T_EQ_INT(r.redirects, 1, "one redirect");
	T_OK(r.url && strstr(r.url, "/hello"), "the last URL: %s", r.url);
	net_response_free(&r);

	snprintf(url, sizeof(url), "http://allowed.test:%d/redirect-hello", srv->port);
	r = fetch(m, &(struct net_request){.url = url, .max_redirects = -1});
	T_OK(r.error == NET_OK && r.status == 302 && net_response_header(&r, "location"),
	     "max_redirects -1: the 302 itself comes back");
	net_response_free(&r);

	snprintf(url, sizeof(url), "http://allowed.test:%d/see-other", srv->port);
	r = fetch(m, &(struct net_request){.url = url, .body = "{}", .body_len = 2});
	T_EQ_STR(r.body, "GET", "303 turns a POST into a GET");
	net_response_free(&r);
	snprintf(url, sizeof(url), "http://allowed.test:%d/keep-method", srv->port);
	r = fetch(m, &(struct net_request){.url = url, .method = "put", .body = "{}", .body_len = 2});
	T_EQ_STR(r.body, "PUT", "307 keeps the method");
	net_response_free(&r);

	/* a proxy from the environment would make the proxy the checked peer: it is ignored */
	char proxy[64];
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", srv->canary_port);
	setenv("http_proxy", proxy, 1);
	setenv("HTTPS_PROXY", proxy, 1);
	setenv("ALL_PROXY", proxy, 1);
	snprintf(url, sizeof(url), "http://allowed.test:%d/hello", srv->port);
	r = fetch(m, &(struct net_request){.url = url});
	T_EQ_STR(r.body, "hello", "http_proxy in the environment is not used");
	unsetenv("http_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	net_response_free(&r);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", srv->port);
	r = fetch(m, &(struct net_request){.url = url});
	T_EQ_STR(r.kind, "loopback", "the same server by address is not allowed: the name is");
	net_response_free(&r);
}

static void test_credentials(struct net_multi *m, struct server *srv)
{
	char url[256];
	struct net_header h[] = {{"Authorization", "Bearer s3cret-token", true}, {"X-Api-Key", "k3y-value", true}};
	struct net_request req = {.url = url, .headers = h, .nheaders = 2};

	snprintf(url, sizeof(url), "http://allowed.test:%d/redirect-same", srv->port);
	struct net_response r = fetch(m, &req);
	T_EQ_STR(r.body, "auth=Bearer s3cret-token key=k3y-value", "same-origin redirect keeps the credentials");
	net_response_free(&r);

	snprintf(url, sizeof(url), "http://allowed.test:%d/redirect-other", srv->port);
	r = fetch(m, &req);
	T_EQ_STR(r.body, "auth= key=", "a redirect to another origin drops secret headers and Authorization");
	net_response_free(&r);

	struct net_header bad[] = {{"X-A", "v\r\nX-Injected: 1", false}};
	r = fetch(m, &(struct net_request){.url = url, .headers = bad, .nheaders = 1});
	T_OK(r.error == NET_ERR_REFUSED && str_eq(r.kind, "header"), "CR/LF in a header value is refused");
	net_response_free(&r);
	struct net_header host[] = {{"Host", "metadata.google.internal", false}};
	r = fetch(m, &(struct net_request){.url = url, .headers = host, .nheaders = 1});
	T_OK(r.error == NET_ERR_REFUSED && str_eq(r.kind, "header"), "a Host header is refused");
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	T_EQ_INT(net_problem(&r, &p), ST_UNPROCESSABLE, "a refused header is a 422");
	T_EQ_STR(p.fields[0].field, "headers", "naming headers");
	net_response_free(&r);
	r = fetch(m, &(struct net_request){.url = url, .method = "GET /x HTTP/1.1\r\n"});
	problem_clear(&p);
	T_OK(r.error == NET_ERR_REFUSED && net_problem(&r, &p) == ST_UNPROCESSABLE &&
	         str_eq(p.fields[0].field, "method"),
	     "a method that is not a token is refused, naming method");
	arena_free(&a);
	net_response_free(&r);
}

static void test_caps(struct net_multi *m, struct server *srv)
{
	char url[256];
	snprintf(url, sizeof(url), "http://allowed.test:%d/big", srv->port);
	struct net_response r = fetch(m, &(struct net_request){.url = url, .max_response_bytes = 1000});
	T_EQ_INT(r.error, NET_ERR_TOO_LARGE, "a body past the cap: too_large (%s)", r.reason ? r.reason : "");
	T_OK(r.truncated && r.body_len == 1000 && strlen(r.body) == 1000, "truncated at the cap, 1000 bytes kept");
	net_response_free(&r);
	r = fetch(m, &(struct net_request){.url = url, .max_response_bytes = 1000, .truncate_ok = true});
	T_OK(r.error == NET_OK && r.truncated && r.body_len == 1000 && r.status == 200,
	     "truncate_ok: the first 1000 bytes, no error");
	net_response_free(&r);
	r = fetch(m, &(struct net_request){.url = url, .max_response_bytes = 2u << 20});
	T_OK(r.error == NET_OK && !r.truncated && r.body_len == 1048576, "under the cap: the whole MiB");
	net_response_free(&r);

	snprintf(url, sizeof(url), "http://allowed.test:%d/slow", srv->port);
	r = fetch(m, &(struct net_request){.url = url, .timeout_ms = 300});
	T_EQ_INT(r.error, NET_ERR_TIMEOUT, "a slow answer hits the total time cap (%s)", r.reason ? r.reason : "");
	T_OK(r.reason && strstr(r.reason, "within 300 ms"), "the reason gives the caller's limit: %s",
	     r.reason ? r.reason : "");
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	T_EQ_INT(net_problem(&r, &p), ST_TIMEOUT, "a timeout is ST_TIMEOUT");
	arena_free(&a);
	net_response_free(&r);

	r = fetch(m, &(struct net_request){.url = "http://allowed.test:1/"});
	T_OK(r.error == NET_ERR_CONNECT || r.error == NET_ERR_DNS, "a closed port: connect (%s: %s)",
	     net_error_name(r.error), r.reason ? r.reason : "");
	net_response_free(&r);
}

/* The other error classes. */
static void test_errors(struct net_multi *m, struct server *srv)
{
	char url[256];
	snprintf(url, sizeof(url), "https://allowed.test:%d/hello", srv->port);
	struct net_response r = fetch(m, &(struct net_request){.url = url, .timeout_ms = 5000});
	T_EQ_INT(r.error, NET_ERR_TLS, "https to a plain HTTP server: tls (%s)", r.reason ? r.reason : "");
	net_response_free(&r);
	snprintf(url, sizeof(url), "http://allowed.test:%d/garbage", srv->port);
	r = fetch(m, &(struct net_request){.url = url});
	T_EQ_INT(r.error, NET_ERR_HTTP, "an answer that is not HTTP: http (%s)", r.reason ? r.reason : "");
	T_OK(r.reason && strstr(r.reason, "allowed.test") && !strstr(r.reason, "/garbage"),
	     "the reason names the host, not the path or query: %s", r.reason ? r.reason : "");
	net_response_free(&r);
	/* a 64-byte label cannot be encoded in a DNS query (RFC 1035 §2.3.4): the resolver fails without the network */
	char name[128];
	memset(name, 'a', 64);
	snprintf(name + 64, sizeof(name) - 64, ".invalid");
	snprintf(url, sizeof(url), "http://%s/", name);
	r = fetch(m, &(struct net_request){.url = url, .timeout_ms = 10000});
	T_EQ_INT(r.error, NET_ERR_DNS, "a name that does not resolve: dns (%s)", r.reason ? r.reason : "");
	net_response_free(&r);
}

/* Connect time cap: a blackholed documentation address, opened by CIDR. */
static void test_connect_cap(void)
{
	char err[64];
	struct net_policy *pol = net_policy_new("192.0.2.0/24", err, sizeof(err));
	struct net_multi *m = net_multi_new(pol);
	struct net_response r =
	    fetch(m, &(struct net_request){.url = "http://192.0.2.1:81/", .connect_timeout_ms = 200});
	T_OK(r.error == NET_ERR_TIMEOUT || r.error == NET_ERR_CONNECT,
	     "an allowlisted CIDR passes the guard; the connect cap ends it (%s: %s)", net_error_name(r.error),
	     r.reason ? r.reason : "");
	net_response_free(&r);
	net_multi_free(&m);
	net_policy_free(&pol);
}

/* A connection that never completes, on loopback: a listener whose accept
 * queue (backlog 0 holds one) is already full drops further SYNs, so curl is
 * still connecting when the whole call's time runs out. The reason must give
 * the caller's limit, not the 10000 ms default connect cap. */
static void test_total_cap_while_connecting(void)
{
	char err[64], r[128], url[128];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_OK(lfd >= 0 && filler >= 0 && bind(lfd, (struct sockaddr *) &sa, len) == 0 && listen(lfd, 0) == 0 &&
	         getsockname(lfd, (struct sockaddr *) &sa, &len) == 0 &&
	         connect(filler, (struct sockaddr *) &sa, len) == 0,
	     "a loopback listener with its accept queue full");
	struct net_policy *pol = net_policy_new("stuck.test", err, sizeof(err));
	struct net_multi *m = net_multi_new(pol);
	snprintf(r, sizeof(r), "stuck.test:%d:127.0.0.1", ntohs(sa.sin_port));
	net_multi_test_resolve(m, r);
	snprintf(url, sizeof(url), "http://stuck.test:%d/", ntohs(sa.sin_port));
	struct net_response resp = fetch(m, &(struct net_request){.url = url, .timeout_ms = 300});
	T_EQ_INT(resp.error, NET_ERR_TIMEOUT, "still connecting at the total cap: timeout (%s)",
	         resp.reason ? resp.reason : "");
	T_OK(resp.reason && strstr(resp.reason, "within 300 ms"), "the reason gives the caller's 300 ms: %s",
	     resp.reason ? resp.reason : "");
	net_response_free(&resp);
	resp = fetch(m, &(struct net_request){.url = url, .timeout_ms = 5000, .connect_timeout_ms = 250});
	T_OK(resp.error == NET_ERR_TIMEOUT && resp.reason &&
	         strstr(resp.reason, "no connection to stuck.test within 250 ms"),
	     "the tighter connect cap is named with its own limit: %s", resp.reason ? resp.reason : "");
	net_response_free(&resp);
	net_multi_free(&m);
	net_policy_free(&pol);
	close(filler);
	close(lfd);
}

/* ---- driving the client from another event loop ---- */

static void count_done(struct net_call *call, struct net_response *resp, void *ud)
{
	int *n = ud;
	(void) call;
	if (resp->error == NET_OK && resp->status == 200)
		(*n)++;
	else
		(*n) += 100;
}

static void test_nonblocking(struct net_multi *m, struct server *srv)
{
	char url[256];
	int ok = 0;
	snprintf(url, sizeof(url), "http://allowed.test:%d/hello", srv->port);
	for (int i = 0; i < 8; i++)
		net_start(m, &(struct net_request){.url = url}, count_done, &ok);
	T_EQ_INT(net_multi_pending(m), 8, "8 calls in flight");
	T_OK(net_multi_fd(m) >= 0, "a descriptor to poll");
	for (int spins = 0; net_multi_pending(m) > 0 && spins < 1000; spins++) {
		struct pollfd pfd = {net_multi_fd(m), POLLIN, 0};
		int t = net_multi_timeout_ms(m);
		poll(&pfd, 1, t < 0 || t > 100 ? 100 : t);
		net_multi_run(m, 0);
	}
	T_EQ_INT(ok, 8, "all 8 answered, driven by poll on net_multi_fd");
	T_EQ_INT(net_multi_timeout_ms(m), -1, "nothing pending: no timeout");

	int refused = 0;
	net_start(m, &(struct net_request){.url = "file:///etc/passwd"}, count_done, &refused);
	T_EQ_INT(refused, 0, "a refused call's callback does not run inside net_start");
	T_EQ_INT(net_multi_timeout_ms(m), 0, "but the loop is due at once");
	net_multi_run(m, 0);
	T_EQ_INT(refused, 100, "and it runs from net_multi_run");

	int one = 0;
	snprintf(url, sizeof(url), "http://allowed.test:%d/slow", srv->port);
	struct net_call *slow = net_start(m, &(struct net_request){.url = url}, count_done, &one);
	net_multi_run(m, 20);
	net_cancel(slow);
	net_multi_run(m, 0);
	T_EQ_INT(one, 100, "net_cancel ends a call in flight; its callback runs once");
	T_EQ_INT(net_multi_pending(m), 0, "and it is gone");

	int cancelled = 0;
	struct net_multi *m2 = net_multi_new(NULL);
	net_start(m2, &(struct net_request){.url = url}, count_done, &cancelled);
	net_multi_free(&m2);
	T_EQ_INT(cancelled, 100, "net_multi_free ends what is in flight, with its callback");
}

/* The one list of headers a caller may not set (docs/net.md, point 5). */
static void test_header_allowed(void)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
	    {"X-Api-Key", true},
	    {"Authorization", true},
	    {"Accept", true},
	    {"Expect-CT", true},
	    {"Proxyish", true},
	    {"Host", false},
	    {"host", false},
	    {"Content-Length", false},
	    {"Transfer-Encoding", false},
	    {"Connection", false},
	    {"Upgrade", false},
	    {"TE", false},
	    {"Keep-Alive", false},
	    {"keep-alive", false},
	    {"Trailer", false},
	    {"Proxy-Authorization", false},
	    {"proxy-connection", false},
	    {"X A", false},
	    {"X-A:", false},
	    {"", false},
	    {"X-\x01", false},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		T_OK(net_header_allowed(cases[i].name) == cases[i].ok, "net_header_allowed(\"%s\") is %s",
		     cases[i].name, cases[i].ok ? "true" : "false");
}

int main(void)
{
	core_init();
	test_header_allowed();
	net_init();
	test_classify();
	test_policy();
	test_url_check();

	struct canary cn = {.fd4 = listen_on(AF_INET, 0)};
	T_OK(cn.fd4 >= 0, "canary listens on 127.0.0.1");
	cn.port = port_of(cn.fd4);
	cn.fd6 = listen_on(AF_INET6, cn.port);

	struct server srv = {.fd = listen_on(AF_INET, 0)};
	srv.port = port_of(srv.fd);
	srv.canary_port = cn.port;
	pthread_create(&srv.th, NULL, server_main, &srv);

	char err[128];
	struct net_policy *pol = net_policy_new("allowed.test, allowed2.test", err, sizeof(err));
	struct net_multi *m = multi_for_tests(pol, cn.port, srv.port);
	test_corpus(m, &cn, &srv);
	test_reach(m, &srv);
	test_credentials(m, &srv);
	test_caps(m, &srv);
	test_errors(m, &srv);
	test_nonblocking(m, &srv);
	test_connect_cap();
	test_total_cap_while_connecting();
	T_OK(!canary_touched(&cn), "the canary saw no connection in the whole run");
	net_multi_free(&m);
	T_OK(m == NULL, "net_multi_free clears the pointer");
	net_policy_free(&pol);

	server_stop(&srv);
	close(cn.fd4);
	if (cn.fd6 >= 0)
		close(cn.fd6);
	return t_done();
}
