/* libFuzzer: an HTML page as web_fetch receives it from the network, read
 * to text uncapped and capped. Invariants: the text is valid UTF-8 without
 * NUL, holds no run of three newlines, no two spaces in a row, no space at
 * a line's start or end, and a capped text is at most its cap. */
#include "agents/agents_int.h"

#include <assert.h>
#include <string.h>

static void check(const char *t, size_t cap)
{
	size_t n = strlen(t);
	assert(str_utf8_valid(t, n));
	assert(!cap || n <= cap);
	assert(!strstr(t, "\n\n\n"));
	assert(!strstr(t, "  "));
	assert(!strstr(t, " \n") && !strstr(t, "\n "));
	assert(!n || (t[0] != ' ' && t[0] != '\n' && t[n - 1] != ' ' && t[n - 1] != '\n'));
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size > 262144)
		return 0;
	struct arena *a = arena_new();
	check(agents_html_text((const char *) data, size, 0, a), 0);
	size_t cap = size ? 1 + data[0] % 64 : 1;
	check(agents_html_text((const char *) data, size, cap, a), cap);
	arena_free(&a);
	return 0;
}
