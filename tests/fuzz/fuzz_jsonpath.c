/* libFuzzer: a JSONPath query and, after a NUL byte, the JSON document
 * (as the json_query tool receives them); without a NUL, RFC 9535's
 * bookstore. An answer is an array within the result bound; an error names
 * the query or is a bound. */
#include "agents/agents.h"

#include <assert.h>
#include <string.h>

static const char bookstore[] =
    "{\"store\": {\"book\": [{\"category\": \"reference\", \"author\": \"Nigel Rees\", \"title\": \"Sayings of the "
    "Century\", \"price\": 8.95}, {\"category\": \"fiction\", \"author\": \"Herman Melville\", \"title\": \"Moby "
    "Dick\", \"isbn\": \"0-553-21311-3\", \"price\": 8.99}], \"bicycle\": {\"color\": \"red\", \"price\": 399}}, "
    "\"a\": [3, 5, 1, 2, {\"b\": \"j\"}, {\"b\": null}, [[\"deep\"]]], \"e\": \"\\u00e9t\\u00e9\"}";

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size > 16384)
		return 0;
	char *all = xstrndup((const char *) data, size);
	size_t qlen = strlen(all);
	json_t *doc = qlen < size ? json_loadb(all + qlen + 1, size - qlen - 1, JSON_DECODE_ANY, NULL)
	                          : json_loads(bookstore, 0, NULL);
	struct arena *a = arena_new();
	struct problem p;
	json_t *out = NULL;

	problem_init(&p, a);
	enum status st = agents_jsonpath_query(all, doc, &out, &p);
	if (st == ST_OK)
		assert(json_is_array(out) && json_array_size(out) <= AGENTS_JSONPATH_MAX_RESULTS);
	else
		assert(!out && (st == ST_UNPROCESSABLE || (st == ST_BAD_INPUT && p.nfields == 1)));
	json_decref(out);
	json_decref(doc);
	arena_free(&a);
	free(all);
	return 0;
}
