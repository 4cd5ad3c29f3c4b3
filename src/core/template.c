/*
 * template: crewAI's placeholder scanner and our interpolation. The
 * differences from crewAI's interpolate_only are listed in template.h and
 * docs/core.md; its behaviour on the shared edge cases is kept:
 *   - "{1x}", "{a b}", "{a.b}", "{}", "{ x }": not placeholders (literal);
 *   - "{x}}" and "{{x}": the placeholder inside is replaced, the odd brace
 *     stays (the regex matches "{x}" at the innermost "{");
 *   - matches do not overlap: "{a}{b}" has two, "{{a}b}" has one ("{a}").
 */
#include "core/template.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_MAX_DEPTH 64

static bool name_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(unsigned char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-';
}

bool template_name_valid(const char *name)
{
	if (!name || !name_start((unsigned char) name[0]))
		return false;
	for (const char *s = name + 1; *s; s++)
		if (!name_char((unsigned char) *s))
			return false;
	return true;
}

/* One placeholder match: text[start] is "{", text[end] is "}". */
struct ph_match {
	size_t start, end;
	bool literal; /* "{{name}}": kept as written */
};

/* Finds the next match at or after *pos; false when there is none. */
static bool next_match(const char *text, size_t *pos, struct ph_match *m)
{
	for (size_t i = *pos; text[i]; i++) {
		if (text[i] != '{' || !name_start((unsigned char) text[i + 1]))
			continue;
		size_t j = i + 2;
		while (name_char((unsigned char) text[j]))
			j++;
		if (text[j] != '}')
			continue;
		m->start = i;
		m->end = j;
		m->literal = i > 0 && text[i - 1] == '{' && text[j + 1] == '}';
		*pos = j + 1;
		return true;
	}
	return false;
}

json_t *template_placeholders(const char *text)
{
	json_t *names = json_array();
	json_t *seen = json_object(); /* name -> true: each name once */
	struct ph_match m;
	size_t pos = 0;

	while (text && next_match(text, &pos, &m)) {
		if (m.literal)
			continue;
		char *name = xstrndup(text + m.start + 1, m.end - m.start - 1);
		if (!json_object_get(seen, name)) {
			json_object_set_new(seen, name, json_true());
			json_array_append_new(names, json_string(name));
		}
		free(name);
	}
	json_decref(seen);
	return names;
}

static int put_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (buf_append(b, "\"", 1) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];
		char esc[7];
		const char *e = NULL;
		switch (c) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		default:
			if (c < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				esc[6] = '\0';
				e = esc;
			}
		}
		if (e ? buf_puts(b, e) < 0 : buf_append(b, s + i, 1) < 0)
			return -1;
	}
	return buf_append(b, "\"", 1);
}

/* The shortest %.Ng that reads back as the same double, with ".0" on an
 * integral value, as Python's repr and JavaScript print reals. */
static int put_real(struct buf *b, double d)
{
	char tmp[40];
	if (!isfinite(d))
		return buf_puts(b, "null"); /* jansson never holds one; JSON has none */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	if (!strpbrk(tmp, ".e"))
		strcat(tmp, ".0");
	return buf_puts(b, tmp);
}

static int render(struct buf *b, const json_t *v, int depth)
{
	if (depth > RENDER_MAX_DEPTH)
		return -2;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return buf_puts(b, "null");
	case JSON_TRUE:
		return buf_puts(b, "true");
	case JSON_FALSE:
		return buf_puts(b, "false");
	case JSON_INTEGER:
		return buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return put_real(b, json_real_value(v));
	case JSON_STRING:
		return put_string(b, json_string_value(v), json_string_length(v));
	case JSON_ARRAY: {
		if (buf_puts(b, "[") < 0)
			return -1;
		for (size_t i = 0; i < json_array_size(v); i++) {
			int rc;
			if (i && buf_puts(b, ", ") < 0)
				return -1;
			if ((rc = render(b, json_array_get(v, i), depth + 1)) < 0)
				return rc;
		}
		return buf_puts(b, "]");
	}
	case JSON_OBJECT: {
		const char *k;
		const json_t *item;
		bool first = true;
		if (buf_puts(b, "{") < 0)
			return -1;
		json_object_foreach((json_t *) v, k, item)
		{
			int rc;
			if ((!first && buf_puts(b, ", ") < 0) || put_string(b, k, strlen(k)) < 0 ||
			    buf_puts(b, ": ") < 0)
				return -1;
			if ((rc = render(b, item, depth + 1)) < 0)
				return rc;
			first = false;
		}
		return buf_puts(b, "}");
	}
	}
	return -1;
}

int template_render_json(struct buf *b, const json_t *v)
{
	return v ? render(b, v, 0) : buf_puts(b, "null");
}

/* A value as interpolated: strings without quotes, the rest as JSON. */
static int put_value(struct buf *b, const json_t *v)
{
	if (json_is_string(v))
		return buf_append(b, json_string_value(v), json_string_length(v));
	return template_render_json(b, v);
}

/* Field errors for every missing input, in order of first appearance. */
static int check_missing(const char *text, const json_t *inputs, struct problem *p)
{
	json_t *names = template_placeholders(text);
	size_t i;
	json_t *n;
	int missing = 0;

	json_array_foreach(names, i, n)
	{
		const char *name = json_string_value(n);
		if (inputs && json_object_get(inputs, name))
			continue;
		problem_field(p, arena_printf(p->arena, "inputs.%s", name), "no input named \"%s\"; the text uses {%s}",
		              name, name);
		missing++;
	}
	json_decref(names);
	return missing;
}

enum status template_interpolate(const char *text, const json_t *inputs, size_t max_len, struct arena *a, char **out,
                                 struct problem *p)
{
	enum status st = ST_OK;
	struct buf b;
	struct ph_match m;
	size_t pos = 0, copied = 0;
	int missing;

	*out = NULL;
	buf_init(&b, max_len ? max_len : TEMPLATE_MAX_OUTPUT);
	if (inputs && !json_is_object(inputs)) {
		st = problem_field(p, "inputs", "must be an object");
		goto out;
	}
	if (!text)
		text = "";
	if ((missing = check_missing(text, inputs, p)) > 0) {
		st = problem_set(p, ST_BAD_INPUT, "%d input%s used by the text %s missing", missing,
		                 missing == 1 ? "" : "s", missing == 1 ? "is" : "are");
		goto out;
	}
	while (next_match(text, &pos, &m)) {
		if (m.literal)
			continue;
		char *name = xstrndup(text + m.start + 1, m.end - m.start - 1);
		int rc = buf_append(&b, text + copied, m.start - copied);
		if (rc == 0)
			rc = put_value(&b, json_object_get(inputs, name));
		free(name);
		if (rc == -2) {
			st = problem_field(
			    p, arena_printf(p->arena, "inputs.%.*s", (int) (m.end - m.start - 1), text + m.start + 1),
			    "nests deeper than %d levels", RENDER_MAX_DEPTH);
			goto out;
		}
		if (rc < 0)
			goto too_large;
		copied = m.end + 1;
	}
	if (buf_append(&b, text + copied, strlen(text + copied)) < 0)
		goto too_large;
	*out = arena_memdup(a, b.data, b.len);
	goto out;
too_large:
	st = problem_set(p, ST_UNPROCESSABLE, "the interpolated text would exceed %zu bytes",
	                 max_len ? max_len : (size_t) TEMPLATE_MAX_OUTPUT);
out:
	buf_free(&b);
	return st;
}
