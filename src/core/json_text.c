#include "json_text.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PRECISION_MIN DBL_DIG         /* 15 */
#define PRECISION_MAX DBL_DECIMAL_DIG /* 17 */

/* The digits v needs to read back as itself, at least `floor`. */
static int real_digits(double v, int floor)
{
	char text[40];

	if (!isfinite(v)) /* jansson refuses to write these anyway */
		return floor;
	for (int p = floor; p < PRECISION_MAX; p++) {
		snprintf(text, sizeof(text), "%.*g", p, v);
		if (strtod(text, NULL) == v)
			return p;
	}
	return PRECISION_MAX;
}

/* Parsed documents nest at most 2048 deep (jansson's JSON_PARSER_MAX_DEPTH);
 * past that (or in a cycle, which json_dumps refuses) take the safe answer. */
#define WALK_MAX_DEPTH 2048

static int walk(const json_t *j, int p, int depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > WALK_MAX_DEPTH)
		return PRECISION_MAX;
	switch (json_typeof(j)) {
	case JSON_REAL:
		return real_digits(json_real_value(j), p);
	case JSON_OBJECT:
		json_object_foreach((json_t *) j, key, v) if ((p = walk(v, p, depth + 1)) == PRECISION_MAX) break;
		return p;
	case JSON_ARRAY:
		json_array_foreach(j, i, v) if ((p = walk(v, p, depth + 1)) == PRECISION_MAX) break;
		return p;
	default:
		return p;
	}
}

int json_text_precision(const json_t *j)
{
	return j ? walk(j, PRECISION_MIN, 0) : PRECISION_MIN;
}

char *json_text(const json_t *j, size_t flags)
{
	flags &= ~(size_t) JSON_REAL_PRECISION(31);
	return json_dumps(j, flags | JSON_REAL_PRECISION(json_text_precision(j)));
}
