/* libFuzzer: method and path as they arrive from the network ("METHOD
 * /path?query"), through the router and the pagination cursor decoder. */
#include "core/core.h"
#include "http/http.h"

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
	struct route_match m;
	router_match(method, path, a, &m);
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
