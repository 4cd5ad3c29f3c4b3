/* libFuzzer: multipart/form-data bodies as the gateway reads them for a
 * ROUTE_FORM route (src/http/form.c). The input is a Content-Type line,
 * then the body. Must never crash, leak or hang; an accepted body gives an
 * object of at most FORM_MAX_PARTS strings. */
#include "core/core.h"
#include "http/form.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	char *ct = xstrndup((const char *) data, (size_t) (nl - (const char *) data));
	const char *body = nl + 1;
	size_t len = size - (size_t) (body - (const char *) data);
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	json_t *out = NULL;
	enum status st = form_to_json(ct, body, len, &out, &p);
	if (st == ST_OK) {
		const char *k;
		json_t *v;
		assert(json_object_size(out) <= FORM_MAX_PARTS);
		json_object_foreach(out, k, v)
		{
			assert(json_is_string(v));
			assert(json_string_length(v) <= len);
		}
	} else {
		assert(!out && p.nfields > 0);
	}
	json_decref(out);
	arena_free(&a);
	free(ct);
	return 0;
}
