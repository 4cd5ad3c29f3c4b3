/* libFuzzer: a calculator expression as a model sends it. The answer is
 * either an error naming "expression" or a finite number. */
#include "agents/agents.h"

#include <assert.h>
#include <math.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size > 2 * AGENTS_CALC_MAX_INPUT)
		return 0;
	char *expr = xstrndup((const char *) data, size);
	struct arena *a = arena_new();
	struct problem p;
	double v;

	problem_init(&p, a);
	enum status st = agents_calc_eval(expr, &v, &p);
	if (st == ST_OK)
		assert(isfinite(v) && p.nfields == 0);
	else
		assert(st == ST_BAD_INPUT && p.nfields == 1 && str_eq(p.fields[0].field, "expression"));
	arena_free(&a);
	free(expr);
	return 0;
}
