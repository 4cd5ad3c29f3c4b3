/* net: what the module's files share; not for other modules. */
#ifndef TROUPE_NET_INT_H
#define TROUPE_NET_INT_H

#include "net/net.h"

#define NET_URL_MAX 8192

/* A URL's parts as the guard reads them, before curl does. */
struct net_url_parts {
	char scheme[8]; /* lowercase: http or https */
	char host[256]; /* as written, without brackets */
	bool bracketed; /* an IPv6 literal */
	int port;       /* explicit, or the scheme's */
};

/* Splits an http(s) URL; -1 with the verdict filled when it is refused. */
int net_url_split(const char *url, struct net_url_parts *u, struct net_verdict *v);
/* The host's last label is a number: WHATWG's rule for "this is an IPv4 address". */
bool net_host_is_numeric(const char *host);
bool net_prefix_match(const uint8_t *addr, const uint8_t *prefix, int bits);
bool net_policy_allows_host(const struct net_policy *pol, const char *host);

#endif
