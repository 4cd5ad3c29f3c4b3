/* libFuzzer: method and path as they arrive from the network ("METHOD
 * /path?query"), through the router and the pagination cursor decoder. */
#include "core/core.h"
#include "http/http.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = xstrndup((const char *) data, size);
	char *sp = strchr(s, ' ');
	const char *method = "GET", *path = s;
	if (sp) {
		*sp = '\0';
		method = s;
		path = sp + 1;
	}
	struct arena *a = arena_new();
	struct route_match m, m2;
	int rc = router_match(method, path, a, &m);
	/* The table's precomputed shapes and length index must answer as a
	 * plain scan of the same rows does. */
	int rc2 = router_match_in(http_routes(), method, path, a, &m2);
	if (rc != rc2 || m.route != m2.route || m.nparams != m2.nparams || m.path_matched != m2.path_matched ||
	    strcmp(m.allow, m2.allow) != 0)
		abort();
	if (m.route) {
		for (int i = 0; i < m.nparams; i++)
			(void) id_valid(m.values[i]);
	}
	char out[512];
	(void) b64url_decode(path, strlen(path) < 600 ? strlen(path) : 600, out, sizeof(out));
	(void) str_utf8_valid(path, strlen(path));
	arena_free(&a);
	free(s);
	return 0;
}
