/* libFuzzer: a task text and, after a NUL byte, its inputs as JSON (as a
 * workflow definition and a run request bring them). Checks two
 * invariants: interpolating each placeholder with its own "{name}" gives
 * the text back unchanged (the scanner and the replacer agree), and every
 * extracted name is a valid placeholder name. */
#include "core/template.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *all = xstrndup((const char *) data, size);
	size_t tlen = strlen(all);
	json_t *inputs = tlen < size ? json_loadb(all + tlen + 1, size - tlen - 1, 0, NULL) : NULL;
	struct arena *a = arena_new();
	struct problem p;
	char *out = NULL;

	problem_init(&p, a);
	(void) template_interpolate(all, inputs, 4096, a, &out, &p);

	json_t *names = template_placeholders(all), *self = json_object(), *n;
	size_t i;
	json_array_foreach(names, i, n)
	{
		assert(template_name_valid(json_string_value(n)));
		json_object_set_new(self, json_string_value(n),
		                    json_string(arena_printf(a, "{%s}", json_string_value(n))));
	}
	problem_init(&p, a);
	enum status st = template_interpolate(all, self, tlen + 1, a, &out, &p);
	assert(st == ST_OK && strcmp(out, all) == 0);

	json_decref(self);
	json_decref(names);
	json_decref(inputs);
	arena_free(&a);
	free(all);
	return 0;
}
