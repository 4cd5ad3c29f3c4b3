/*
 * net: the one guarded outbound HTTP client, for every URL a user or a model
 * chooses (built-in and custom HTTP tools, URL ingestion, webhooks). A model
 * configuration's base URL is set by admins and goes through llm, not here.
 *
 * The guard (docs/net.md):
 *   - http and https only, on the first request and on every redirect;
 *   - the URL's host is checked before any connection: credentials in the
 *     URL, IPv6 zone identifiers, and IPv4 addresses written any way but
 *     canonical dotted decimal (2130706433, 0177.0.0.1, 0x7f.1, 127.1) are
 *     refused; a literal address in a blocked range is refused at once;
 *   - every address curl is about to connect to (each resolved address, each
 *     redirect hop) is checked in its open-socket callback, so what is checked
 *     is what is connected to and DNS rebinding has no gap to use;
 *   - blocked: the special-purpose ranges of the IANA registries (RFC 6890 and
 *     its updates), each named with its RFC in policy.c;
 *   - the allowlist (TROUPE_OUTBOUND_ALLOW: host names and CIDRs) opens a
 *     host name's addresses, or the addresses in a CIDR, for on-premise
 *     services;
 *   - at most 5 redirects, a response size cap (the transfer stops past it),
 *     a total time cap over every hop and a connect time cap per hop;
 *   - no proxy from the environment: the checked address is the peer.
 *
 * Secrets: header values marked secret are wiped from memory when the call
 * ends, dropped on a redirect to another origin (as Authorization and Cookie
 * always are), and never written to a log, a reason or a response.
 *
 * Threads: a net_policy is immutable once built and may be shared; a
 * net_multi (one curl multi handle) belongs to one thread, like llm_client.
 */
#ifndef TROUPE_NET_H
#define TROUPE_NET_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What went wrong, as coarse classes a caller can act on. */
enum net_error {
	NET_OK = 0,
	NET_ERR_REFUSED,   /* the guard: scheme, URL form, blocked address, redirect limit */
	NET_ERR_DNS,       /* the name does not resolve */
	NET_ERR_CONNECT,   /* no address accepted a connection */
	NET_ERR_TIMEOUT,   /* total or connect time cap */
	NET_ERR_TOO_LARGE, /* the body passed max_response_bytes (truncated is set) */
	NET_ERR_TLS,       /* handshake or certificate */
	NET_ERR_HTTP,      /* a malformed answer, a bad Location, headers too large */
};
/* "refused", "dns", "connect", "timeout", "too_large", "tls", "http" ("ok" for NET_OK). */
const char *net_error_name(enum net_error e);

/* ---- the policy: classification and allowlist ---- */

/* A blocked range: kind is a short stable name ("loopback", "private",
 * "link_local", ...), what reads in a sentence ("a private address"), rfc the
 * document that assigns it ("RFC 1918"). Static data. */
struct net_block {
	const char *kind;
	const char *what;
	const char *rfc;
};

/* The block an address falls in, or NULL when it is an ordinary public
 * address. family is AF_INET (addr: 4 bytes, network order) or AF_INET6
 * (16 bytes). 6to4 (2002::/16) is blocked when its embedded IPv4 address is. */
const struct net_block *net_addr_block(int family, const void *addr);

struct net_policy;
/*
 * Builds a policy from an allowlist: comma-separated entries, each a host
 * name (exact, case-insensitive; "intranet.example"), an address
 * ("10.1.2.3", "fd00::5") or a CIDR ("10.20.0.0/16", "fd00::/8"). NULL or ""
 * allows nothing special. On a bad entry: NULL and one sentence in err
 * naming the entry.
 */
struct net_policy *net_policy_new(const char *allow, char *err, size_t errlen);
void net_policy_free(struct net_policy **pol);

/* Why a URL or an address is refused, filled by the checks below. */
struct net_verdict {
	enum net_error error; /* NET_OK or NET_ERR_REFUSED */
	const char *kind;     /* static: a net_block kind, or "scheme", "url", "userinfo", "ipv4_form", "zone_id" */
	char reason[256];     /* "refused: 10.0.0.5 is a private address (RFC 1918)" */
};

/* The checks made before any connection (scheme, form, literal addresses
 * outside the allowlist). pol may be NULL (an empty allowlist). */
enum net_error net_url_check(const struct net_policy *pol, const char *url, struct net_verdict *v);
/* The check made at connect time: may this host name connect to this address? */
enum net_error net_addr_check(const struct net_policy *pol, const char *host, int family, const void *addr,
                              struct net_verdict *v);

/* ---- requests and responses ---- */

struct net_header {
	const char *name;
	const char *value;
	bool secret; /* Authorization, API keys: wiped after use, never logged, not sent across origins */
};

/* True when a caller may set a request header of this name: an RFC 9110
 * token (5.6.2) that is not one of the framing and routing headers libcurl
 * writes itself (Host, Content-Length, Transfer-Encoding, Connection,
 * Upgrade, TE, Keep-Alive, Trailer, Proxy-*; RFC 9110 7.6.1, RFC 9112 6).
 * net_start refuses the others; the agents module checks tool definitions
 * and arguments with the same predicate, so nothing saved is refused later. */
bool net_header_allowed(const char *name);

#define NET_MAX_REDIRECTS       5
#define NET_DEFAULT_MAX_BYTES   (1u << 20)
#define NET_LIMIT_MAX_BYTES     (64u << 20)
#define NET_DEFAULT_TIMEOUT_MS  30000
#define NET_DEFAULT_CONNECT_MS  10000
#define NET_MAX_RESPONSE_HEADER (64u << 10) /* bytes of response headers, all lines */

/* Read only inside net_start: it and what it points at may go away after.
 * Zero means the default for every number. */
struct net_request {
	const char *method; /* default "GET" (with a body: "POST") */
	const char *url;
	const struct net_header *headers;
	int nheaders;
	const void *body;
	size_t body_len;
	size_t max_response_bytes; /* default NET_DEFAULT_MAX_BYTES, at most NET_LIMIT_MAX_BYTES */
	int timeout_ms;            /* the whole call, every hop; default NET_DEFAULT_TIMEOUT_MS */
	int connect_timeout_ms;    /* each connection; default NET_DEFAULT_CONNECT_MS */
	int max_redirects;         /* 0: NET_MAX_REDIRECTS; -1: follow none; never more than 5 */
	bool truncate_ok;          /* past the cap: NET_OK with truncated set, not NET_ERR_TOO_LARGE */
};

struct net_response_header {
	char *name;
	char *value;
};

/* The last hop's answer. Owned by the caller after net_fetch; freed with net_response_free. */
struct net_response {
	long status; /* 0 when no answer arrived */
	struct net_response_header *headers;
	int nheaders;
	char *body; /* NUL-terminated for convenience; body_len excludes the NUL */
	size_t body_len;
	bool truncated; /* the body stops at max_response_bytes */
	int redirects;  /* hops followed */
	char *url;      /* the last URL requested */
	int64_t duration_ms;
	enum net_error error;
	const char *kind; /* NET_ERR_REFUSED: the verdict's kind */
	char *reason;     /* NULL on success; names the address or the cause, never a header value */
};
void net_response_free(struct net_response *r);
/* A header of the response by name (case-insensitive), or NULL. */
const char *net_response_header(const struct net_response *r, const char *name);

/*
 * Fills p from a failed response: the reason is a field error on "url"
 * (refused: ST_UNPROCESSABLE, so callers answer 422 naming url; "headers" or
 * "method" when one of those was refused), or the
 * detail of ST_TIMEOUT (timeout) or ST_BAD_GATEWAY (the others). Returns the
 * status; ST_OK for a response without error.
 */
enum status net_problem(const struct net_response *r, struct problem *p);

/* ---- the non-blocking client: one per thread ---- */
struct net_multi;
struct net_call;

/* resp is the client's: read it or net_response_move it out; freed after the callback. */
typedef void (*net_done_fn)(struct net_call *call, struct net_response *resp, void *ud);

/* pol may be NULL (empty allowlist); it must outlive the multi. */
struct net_multi *net_multi_new(const struct net_policy *pol);
/* Ends what is still in flight (callbacks run with NET_ERR_TIMEOUT, reason "cancelled"). */
void net_multi_free(struct net_multi **m);

/* Starts a call; done runs later on this thread, from net_multi_run, exactly
 * once, also for a request refused before any connection. */
struct net_call *net_start(struct net_multi *m, const struct net_request *req, net_done_fn done, void *ud);
/*
 * Drives transfers for at most timeout_ms (0: only what is ready now) and
 * runs the callbacks of calls that ended; returns the calls still pending.
 * To drive it from another event loop: wait for net_multi_fd() to be
 * readable (it is an epoll descriptor over the transfers' sockets) or for
 * net_multi_timeout_ms() to pass, then call net_multi_run(m, 0).
 */
int net_multi_run(struct net_multi *m, int timeout_ms);
/* Ends a call that has not reported yet: its callback runs from the next
 * net_multi_run with NET_ERR_TIMEOUT and reason "cancelled". On the multi's
 * thread, while the handle is valid (until its callback returns). */
void net_cancel(struct net_call *call);
int net_multi_fd(const struct net_multi *m);
/* Milliseconds until the client needs net_multi_run even without I/O; -1: no
 * deadline (wait for the descriptor alone, or nothing is pending). */
int net_multi_timeout_ms(const struct net_multi *m);
int net_multi_pending(const struct net_multi *m);
void net_response_move(struct net_response *dst, struct net_response *src);

/* Blocking: runs the multi's loop until this call ends. resp is the caller's
 * (net_response_free it). Returns net_problem's status and fills p. */
enum status net_fetch(struct net_multi *m, const struct net_request *req, struct net_response *resp, struct problem *p);

/*
 * Tests only: answers name lookups of host:port with addr, as curl's
 * CURLOPT_RESOLVE does ("private.test:80:10.0.0.5"), so a test can make a
 * name resolve to any address without the hosts file. The answer still goes
 * through the connect-time check. Never reachable from user input.
 */
void net_multi_test_resolve(struct net_multi *m, const char *host_port_addr);

/* Process set-up (libcurl's global state): once at start, before threads;
 * net_multi_new also does it on first use. */
void net_init(void);

#endif
