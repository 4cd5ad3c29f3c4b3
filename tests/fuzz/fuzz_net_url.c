/* libFuzzer: text as a user or a model writes a URL, and as an operator
 * writes TROUPE_OUTBOUND_ALLOW, through the outbound guard's checks. A
 * refusal must carry a kind and a reason; an accepted literal address must
 * be outside every blocked range. */
#include "core/core.h"
#include "net/net_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void check_verdict(enum net_error e, const struct net_verdict *v)
{
	if (e == NET_OK) {
		assert(v->kind == NULL && v->reason[0] == '\0');
		return;
	}
	assert(e == NET_ERR_REFUSED && v->kind && strncmp(v->reason, "refused: ", 9) == 0);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct net_policy *pol;
	char err[256];
	struct net_verdict v;
	struct net_url_parts u;

	if (size > 4096)
		return 0;
	if (!pol)
		pol = net_policy_new("allowed.test,10.20.0.0/16,fd00:1::/32", err, sizeof(err));
	char *s = xstrndup((const char *) data, size);

	enum net_error e = net_url_check(NULL, s, &v);
	check_verdict(e, &v);
	if (e == NET_OK) {
		assert(net_url_split(s, &u, &v) == 0);
		unsigned char a[16];
		if (u.bracketed) {
			assert(inet_pton(AF_INET6, u.host, a) == 1 && !net_addr_block(AF_INET6, a));
		} else if (inet_pton(AF_INET, u.host, a) == 1) {
			assert(!net_addr_block(AF_INET, a));
		}
		/* an allowlist only ever opens more */
		assert(net_url_check(pol, s, &v) == NET_OK);
	}
	check_verdict(net_url_check(pol, s, &v), &v);

	struct net_policy *p = net_policy_new(s, err, sizeof(err));
	assert(p || err[0]);
	net_policy_free(&p);

	if (size >= 16) {
		check_verdict(net_addr_check(pol, s, AF_INET6, data, &v), &v);
		check_verdict(net_addr_check(NULL, NULL, AF_INET, data, &v), &v);
	}
	free(s);
	return 0;
}
