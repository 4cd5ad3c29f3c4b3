/*
 * template: crewAI's {placeholder} interpolation for task and agent texts.
 *
 * A placeholder is "{" + a letter or "_" + letters, digits, "_" or "-" +
 * "}" (crewAI's _VARIABLE_PATTERN, lib/crewai/src/crewai/utilities/
 * string_utils.py). Anything else in braces is literal text, so JSON
 * examples in prompts stay intact. Deliberate differences from crewAI
 * (docs/core.md, "Templates"):
 *   - "{{name}}" (a placeholder enclosed by a second pair of braces) stays
 *     literal, braces and all; crewAI would replace the inner "{name}".
 *   - numbers, null, lists and objects are rendered as JSON text
 *     ({"a": [1, 2.5]}, null); crewAI uses Python's str() ({'a': [1, 2.5]},
 *     None). Strings go in as they are, booleans as true/false.
 *   - one pass: an input's value is never scanned for placeholders (crewAI
 *     replaces variable by variable, so a value containing "{other}" is
 *     replaced again).
 *   - an empty inputs object is fine when the text has no placeholder
 *     (crewAI refuses any text with a brace when its inputs are empty).
 */
#ifndef TROUPE_TEMPLATE_H
#define TROUPE_TEMPLATE_H

#include "core/core.h"

#include <jansson.h>

/* Longest interpolated text template_interpolate produces by default. */
#define TEMPLATE_MAX_OUTPUT (1024 * 1024)

/* True when name matches the placeholder name pattern
 * [A-Za-z_][A-Za-z0-9_-]*: what a declared input's name must be. */
bool template_name_valid(const char *name);

/* The placeholder names of text (NULL: none), in order of first
 * appearance, each once: a new JSON array of strings. */
json_t *template_placeholders(const char *text);

/* Replaces every placeholder of text by its value in inputs (a JSON
 * object; NULL is an empty one): strings as they are, true/false, and
 * numbers, null, arrays and objects as JSON text. The result (in a, never
 * longer than max_len bytes; 0 means TEMPLATE_MAX_OUTPUT) goes to *out.
 * Errors: ST_BAD_INPUT with one field error "inputs.<name>" for each
 * missing input (all of them, in order); ST_BAD_INPUT when inputs is not
 * an object or a value used nests deeper than 64 levels ("inputs.<name>");
 * ST_UNPROCESSABLE when the result would exceed max_len.
 * *out is NULL on any error. */
enum status template_interpolate(const char *text, const json_t *inputs, size_t max_len, struct arena *a, char **out,
                                 struct problem *p);

/* Appends v as JSON text the way template_interpolate renders it (Python's
 * json.dumps spacing, ", " and ": "; reals in their shortest round-trip
 * form; UTF-8 kept). Returns 0, -1 when b's cap is reached, or -2 when v
 * nests deeper than 64 levels (jansson values can be built deeper than JSON
 * text parses). */
int template_render_json(struct buf *b, const json_t *v);

#endif
