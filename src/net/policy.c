/*
 * The guard's rules: which addresses are special (the IANA special-purpose
 * address registries, RFC 6890 and the RFCs that update them), which URLs
 * are refused before any connection, and the allowlist.
 */
#include "net/net_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

const char *net_error_name(enum net_error e)
{
	static const char *const names[] = {"ok", "refused", "dns", "connect", "timeout", "too_large", "tls", "http"};
	return (unsigned) e < ARRAY_LEN(names) ? names[e] : "unknown";
}

/* ---- special-purpose ranges ---- */

struct range {
	uint8_t prefix[16];
	int bits;
	struct net_block b;
};

/* IPv4 special-purpose registry (RFC 6890 §2.2.2 and updates). First match
 * wins, so a narrower range comes before the wider one holding it. Ranges the
 * registry marks globally reachable (AS112, AMT, 192.175.48.0/24) stay open. */
static const struct range v4_ranges[] = {
    {{0, 0, 0, 0}, 32, {"unspecified", "the unspecified address", "RFC 1122"}},
    {{0}, 8, {"this_network", "a \"this network\" address", "RFC 791"}},
    {{10}, 8, {"private", "a private address", "RFC 1918"}},
    {{100, 64}, 10, {"cgnat", "a shared (carrier-grade NAT) address", "RFC 6598"}},
    {{127}, 8, {"loopback", "a loopback address", "RFC 1122"}},
    {{169, 254}, 16, {"link_local", "a link-local address (cloud metadata lives here)", "RFC 3927"}},
    {{172, 16}, 12, {"private", "a private address", "RFC 1918"}},
    {{192, 0, 0}, 24, {"protocol_assignments", "an IETF protocol assignment", "RFC 6890"}},
    {{192, 0, 2}, 24, {"documentation", "a documentation address (TEST-NET-1)", "RFC 5737"}},
    {{192, 88, 99}, 24, {"6to4_relay", "a 6to4 relay anycast address", "RFC 7526"}},
    {{192, 168}, 16, {"private", "a private address", "RFC 1918"}},
    {{198, 18}, 15, {"benchmarking", "a benchmarking address", "RFC 2544"}},
    {{198, 51, 100}, 24, {"documentation", "a documentation address (TEST-NET-2)", "RFC 5737"}},
    {{203, 0, 113}, 24, {"documentation", "a documentation address (TEST-NET-3)", "RFC 5737"}},
    {{224}, 4, {"multicast", "a multicast address", "RFC 5771"}},
    {{255, 255, 255, 255}, 32, {"broadcast", "the limited broadcast address", "RFC 919"}},
    {{240}, 4, {"reserved", "a reserved address (240.0.0.0/4)", "RFC 1112"}},
};

/* IPv6 special-purpose registry (RFC 6890 §2.2.3 and updates). Everything
 * outside global unicast 2000::/3 is refused after these (see net_addr_block). */
static const struct range v6_ranges[] = {
    {{0}, 128, {"unspecified", "the unspecified address", "RFC 4291"}},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, {"loopback", "the loopback address", "RFC 4291"}},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, {"ipv4_mapped", "an IPv4-mapped address", "RFC 4291"}},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}, 96, {"ipv4_translated", "an IPv4-translated address", "RFC 2765"}},
    {{0}, 96, {"ipv4_compatible", "an IPv4-compatible address", "RFC 4291"}},
    {{0, 0x64, 0xff, 0x9b}, 96, {"nat64", "a NAT64 address", "RFC 6052"}},
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, {"nat64", "a local-use NAT64 address", "RFC 8215"}},
    {{1, 0}, 64, {"discard", "a discard-only address", "RFC 6666"}},
    {{0x20, 0x01, 0, 0}, 32, {"teredo", "a Teredo address", "RFC 4380"}},
    {{0x20, 0x01, 0, 2, 0, 0}, 48, {"benchmarking", "a benchmarking address", "RFC 5180"}},
    {{0x20, 0x01, 0, 0x10}, 28, {"orchid", "an ORCHID address", "RFC 4843"}},
    {{0x20, 0x01, 0, 0x20}, 28, {"orchid", "an ORCHIDv2 address", "RFC 7343"}},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, {"documentation", "a documentation address", "RFC 3849"}},
    {{0x3f, 0xff}, 20, {"documentation", "a documentation address", "RFC 9637"}},
    {{0xfc}, 7, {"ula", "a unique local address", "RFC 4193"}},
    {{0xfe, 0x80}, 10, {"link_local", "a link-local address", "RFC 4291"}},
    {{0xfe, 0xc0}, 10, {"site_local", "a site-local address", "RFC 3879"}},
    {{0xff}, 8, {"multicast", "a multicast address", "RFC 4291"}},
};

static const struct net_block v6_not_global = {"reserved", "an address outside global unicast 2000::/3", "RFC 4291"};
static const struct net_block v6_6to4 = {"6to4", "a 6to4 address embedding a blocked IPv4 address", "RFC 3056"};

bool net_prefix_match(const uint8_t *addr, const uint8_t *prefix, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(addr, prefix, (size_t) whole) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t) (0xff << (8 - rest));
	return (addr[whole] & mask) == (prefix[whole] & mask);
}

static const struct net_block *match(const struct range *r, size_t n, const uint8_t *addr)
{
	for (size_t i = 0; i < n; i++)
		if (net_prefix_match(addr, r[i].prefix, r[i].bits))
			return &r[i].b;
	return NULL;
}

const struct net_block *net_addr_block(int family, const void *addr)
{
	const uint8_t *a = addr;
	if (family == AF_INET)
		return match(v4_ranges, ARRAY_LEN(v4_ranges), a);
	if (family != AF_INET6)
		return &v6_not_global;
	const struct net_block *b = match(v6_ranges, ARRAY_LEN(v6_ranges), a);
	if (b)
		return b;
	if ((a[0] & 0xe0) != 0x20)
		return &v6_not_global;
	/* 6to4 (RFC 3056 §2): 2002:V4ADDR::/48 reaches the embedded IPv4 address */
	if (a[0] == 0x20 && a[1] == 0x02 && match(v4_ranges, ARRAY_LEN(v4_ranges), a + 2))
		return &v6_6to4;
	return NULL;
}

/* ---- the allowlist ---- */

#define ALLOW_MAX 256

struct cidr {
	int family;
	uint8_t addr[16];
	int bits;
};

struct net_policy {
	char **hosts; /* lowercase, no trailing dot */
	int nhosts;
	struct cidr *cidrs;
	int ncidrs;
};

/* A host name as written in the allowlist: letters, digits, '-', '_', '.'. */
static bool host_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char) s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return false;
	return true;
}

/* Parses "addr" or "addr/bits" into c; -1 if it is neither. */
static int cidr_parse(const char *s, struct cidr *c)
{
	char tmp[64];
	const char *slash = strchr(s, '/');
	size_t al = slash ? (size_t) (slash - s) : strlen(s);
	if (al == 0 || al >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, al);
	tmp[al] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, tmp, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, c->addr) == 1)
		c->family = AF_INET6;
	else
		return -1;
	int max = c->family == AF_INET ? 32 : 128;
	int64_t bits = max;
	if (slash && str_to_i64(slash + 1, 0, max, &bits) < 0)
		return -1;
	c->bits = (int) bits;
	return 0;
}

static int policy_add(struct net_policy *pol, const char *e, char *err, size_t errlen)
{
	if (pol->nhosts + pol->ncidrs >= ALLOW_MAX) {
		snprintf(err, errlen, "more than %d entries", ALLOW_MAX);
		return -1;
	}
	struct cidr c;
	if (cidr_parse(e, &c) == 0) {
		pol->cidrs = xrealloc(pol->cidrs, sizeof(*pol->cidrs) * (size_t) (pol->ncidrs + 1));
		pol->cidrs[pol->ncidrs++] = c;
		return 0;
	}
	if (strchr(e, '/') || strchr(e, ':')) {
		snprintf(err, errlen, "\"%.64s\" is not an address or CIDR (like 10.0.0.0/8 or fd00::/8)", e);
		return -1;
	}
	if (!host_name_ok(e) || net_host_is_numeric(e)) {
		snprintf(err, errlen, "\"%.64s\" is not a host name, an address in dotted decimal, or a CIDR", e);
		return -1;
	}
	char *h = xstrdup(e);
	for (char *q = h; *q; q++)
		*q = (char) tolower((unsigned char) *q);
	size_t hl = strlen(h);
	if (hl > 1 && h[hl - 1] == '.')
		h[hl - 1] = '\0';
	pol->hosts = xrealloc(pol->hosts, sizeof(*pol->hosts) * (size_t) (pol->nhosts + 1));
	pol->hosts[pol->nhosts++] = h;
	return 0;
}

struct net_policy *net_policy_new(const char *allow, char *err, size_t errlen)
{
	struct net_policy *pol = xcalloc(1, sizeof(*pol));
	const char *s = allow ? allow : "";
	char entry[260];

	while (*s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t) (comma - s) : strlen(s);
		while (n && isspace((unsigned char) *s)) {
			s++;
			n--;
		}
		while (n && isspace((unsigned char) s[n - 1]))
			n--;
		if (n >= sizeof(entry)) {
			snprintf(err, errlen, "entry \"%.32s...\" is too long", s);
			goto fail;
		}
		memcpy(entry, s, n);
		entry[n] = '\0';
		if (n && policy_add(pol, entry, err, errlen) < 0)
			goto fail;
		s += comma ? (size_t) (comma - s) + 1 : strlen(s);
	}
	return pol;
fail:
	net_policy_free(&pol);
	return NULL;
}

void net_policy_free(struct net_policy **polp)
{
	struct net_policy *pol = *polp;
	if (!pol)
		return;
	for (int i = 0; i < pol->nhosts; i++)
		free(pol->hosts[i]);
	free(pol->hosts);
	free(pol->cidrs);
	free(pol);
	*polp = NULL;
}

bool net_policy_allows_host(const struct net_policy *pol, const char *host)
{
	if (!pol || !host)
		return false;
	size_t n = strlen(host);
	if (n > 1 && host[n - 1] == '.')
		n--;
	for (int i = 0; i < pol->nhosts; i++)
		if (strlen(pol->hosts[i]) == n && strncasecmp(pol->hosts[i], host, n) == 0)
			return true;
	return false;
}

static bool policy_allows_addr(const struct net_policy *pol, int family, const uint8_t *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (!pol)
		return false;
	for (int i = 0; i < pol->ncidrs; i++) {
		const struct cidr *c = &pol->cidrs[i];
		if (c->family == family && net_prefix_match(a, c->addr, c->bits))
			return true;
		/* an IPv4-mapped address reaches the same host as its IPv4 address */
		if (c->family == AF_INET && family == AF_INET6 && memcmp(a, mapped, 12) == 0 &&
		    net_prefix_match(a + 12, c->addr, c->bits))
			return true;
	}
	return false;
}

/* ---- verdicts ---- */

static enum net_error refuse(struct net_verdict *v, const char *kind, const char *fmt, ...) PRINTF_LIKE(3, 4);
static enum net_error refuse(struct net_verdict *v, const char *kind, const char *fmt, ...)
{
	va_list ap;
	v->error = NET_ERR_REFUSED;
	v->kind = kind;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	return NET_ERR_REFUSED;
}

static void verdict_ok(struct net_verdict *v)
{
	v->error = NET_OK;
	v->kind = NULL;
	v->reason[0] = '\0';
}

enum net_error net_addr_check(const struct net_policy *pol, const char *host, int family, const void *addr,
                              struct net_verdict *v)
{
	char text[INET6_ADDRSTRLEN] = "?";
	verdict_ok(v);
	if (family != AF_INET && family != AF_INET6)
		return refuse(v, "family", "refused: only IPv4 and IPv6 addresses are connected to");
	if (net_policy_allows_host(pol, host) || policy_allows_addr(pol, family, addr))
		return NET_OK;
	const struct net_block *b = net_addr_block(family, addr);
	if (!b)
		return NET_OK;
	inet_ntop(family, addr, text, sizeof(text));
	uint8_t lit[16];
	bool literal = !host || inet_pton(family, host, lit) == 1;
	if (literal)
		return refuse(v, b->kind, "refused: %s is %s (%s)", text, b->what, b->rfc);
	return refuse(v, b->kind, "refused: %.100s resolves to %s, %s (%s)", host, text, b->what, b->rfc);
}

/* WHATWG URL "ends in a number": the last label is digits, or 0x and hex digits. */
static bool label_is_number(const char *s, size_t n)
{
	if (n == 0)
		return false;
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (size_t i = 2; i < n; i++)
			if (!isxdigit((unsigned char) s[i]))
				return false;
		return true;
	}
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char) s[i]))
			return false;
	return true;
}

bool net_host_is_numeric(const char *host)
{
	size_t n = strlen(host);
	if (n && host[n - 1] == '.')
		n--;
	size_t start = n;
	while (start > 0 && host[start - 1] != '.')
		start--;
	return label_is_number(host + start, n - start);
}

/* Four decimal numbers 0-255 without leading zeros and nothing else. */
static bool ipv4_canonical(const char *s)
{
	int parts = 0;
	while (parts < 4) {
		size_t n = 0;
		unsigned v = 0;
		while (isdigit((unsigned char) s[n]) && n < 4)
			v = v * 10 + (unsigned) (s[n++] - '0');
		if (n == 0 || n > 3 || v > 255 || (n > 1 && s[0] == '0'))
			return false;
		s += n;
		parts++;
		if (parts < 4 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

/* The check of a host as the URL writes it (without brackets). */
static enum net_error host_check(const struct net_policy *pol, const char *host, bool bracketed, struct net_verdict *v)
{
	uint8_t a[16];
	if (!host[0])
		return refuse(v, "url", "refused: the URL has no host");
	if (bracketed) {
		if (strchr(host, '%'))
			return refuse(v, "zone_id", "refused: IPv6 zone identifiers are not accepted");
		if (inet_pton(AF_INET6, host, a) != 1)
			return refuse(v, "url", "refused: [%.64s] is not an IPv6 address", host);
		return net_addr_check(pol, host, AF_INET6, a, v);
	}
	for (const char *q = host; *q; q++)
		if (!isalnum((unsigned char) *q) && *q != '-' && *q != '.' && *q != '_' && (unsigned char) *q < 0x80)
			return refuse(v, "url", "refused: the host contains '%c'", *q);
	if (net_host_is_numeric(host)) {
		if (!ipv4_canonical(host))
			return refuse(v, "ipv4_form",
			              "refused: host \"%.64s\" is an IPv4 address in a non-standard form; only four "
			              "decimal numbers (like 93.184.216.34) are accepted",
			              host);
		inet_pton(AF_INET, host, a);
		return net_addr_check(pol, host, AF_INET, a, v);
	}
	return NET_OK;
}

int net_url_split(const char *url, struct net_url_parts *u, struct net_verdict *v)
{
	memset(u, 0, sizeof(*u));
	size_t n = strlen(url);
	if (n == 0 || n > NET_URL_MAX) {
		refuse(v, "url", "refused: the URL is empty or longer than %d bytes", NET_URL_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) url[i] <= 0x20 || url[i] == 0x7f || url[i] == '\\') {
			refuse(v, "url", "refused: the URL contains a space, a control character or a backslash");
			return -1;
		}
	size_t sl = 0;
	while (sl < n && (isalnum((unsigned char) url[sl]) || url[sl] == '+' || url[sl] == '-' || url[sl] == '.'))
		sl++;
	if (sl == 0 || sl >= sizeof(u->scheme) || url[sl] != ':') {
		refuse(v, "url", "refused: the URL has no scheme; only http and https are allowed");
		return -1;
	}
	for (size_t i = 0; i < sl; i++)
		u->scheme[i] = (char) tolower((unsigned char) url[i]);
	if (!str_eq(u->scheme, "http") && !str_eq(u->scheme, "https")) {
		refuse(v, "scheme", "refused: scheme \"%s\" is not allowed; only http and https are", u->scheme);
		return -1;
	}
	if (strncmp(url + sl, "://", 3) != 0) {
		refuse(v, "url", "refused: expected \"//\" after \"%s:\"", u->scheme);
		return -1;
	}
	const char *auth = url + sl + 3;
	size_t al = strcspn(auth, "/?#");
	if (memchr(auth, '@', al)) {
		refuse(v, "userinfo", "refused: credentials in the URL are not accepted; send them in a header");
		return -1;
	}
	const char *port = NULL;
	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', al);
		if (!close || (size_t) (close - auth) > sizeof(u->host)) {
			refuse(v, "url", "refused: an IPv6 address must end with ']'");
			return -1;
		}
		memcpy(u->host, auth + 1, (size_t) (close - auth - 1));
		u->bracketed = true;
		if (close + 1 < auth + al) {
			if (close[1] != ':') {
				refuse(v, "url", "refused: unexpected text after ']'");
				return -1;
			}
			port = close + 2;
		}
	} else {
		const char *colon = memchr(auth, ':', al);
		size_t hl = colon ? (size_t) (colon - auth) : al;
		if (hl >= sizeof(u->host)) {
			refuse(v, "url", "refused: the host is longer than %zu bytes", sizeof(u->host) - 1);
			return -1;
		}
		memcpy(u->host, auth, hl);
		port = colon ? colon + 1 : NULL;
	}
	u->port = str_eq(u->scheme, "https") ? 443 : 80;
	if (port) {
		size_t pl = (size_t) (auth + al - port);
		char tmp[8];
		int64_t pv;
		if (pl == 0 || pl >= sizeof(tmp)) {
			refuse(v, "url", "refused: the port must be a number from 1 to 65535");
			return -1;
		}
		memcpy(tmp, port, pl);
		tmp[pl] = '\0';
		if (str_to_i64(tmp, 1, 65535, &pv) < 0) {
			refuse(v, "url", "refused: the port must be a number from 1 to 65535");
			return -1;
		}
		u->port = (int) pv;
	}
	return 0;
}

enum net_error net_url_check(const struct net_policy *pol, const char *url, struct net_verdict *v)
{
	struct net_url_parts u;
	verdict_ok(v);
	if (!url)
		return refuse(v, "url", "refused: no URL");
	if (net_url_split(url, &u, v) < 0)
		return v->error;
	return host_check(pol, u.host, u.bracketed, v);
}
