/* Validation against struct schema: the data that also writes the OpenAPI
 * document. Every problem is a field error named by its path. */
#include "schema.h"

#include <math.h>
#include <string.h>

static const char *const jtype_names[] = {
    [JT_ANY] = "any",        [JT_STRING] = "a string",  [JT_INT] = "an integer", [JT_NUMBER] = "a number",
    [JT_BOOL] = "a boolean", [JT_OBJECT] = "an object", [JT_ARRAY] = "an array",
};

static bool type_is(json_t *v, enum jtype t)
{
	switch (t) {
	case JT_ANY:
		return true;
	case JT_STRING:
		return json_is_string(v);
	case JT_INT:
		return json_is_integer(v);
	case JT_NUMBER:
		return json_is_number(v);
	case JT_BOOL:
		return json_is_boolean(v);
	case JT_OBJECT:
		return json_is_object(v);
	case JT_ARRAY:
		return json_is_array(v);
	}
	return false;
}

static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.'))
		return false;
	if (at[1] == '.' || s[strlen(s) - 1] == '.')
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char) *c <= ' ' || *c == '<' || *c == '>' || *c == '"' || *c == ',')
			return false;
	return strlen(s) <= 254;
}

/* A UUID in capitals made lowercase in place, as ids are stored (RFC 9562
 * section 4: case-insensitive on input). False when v is not a UUID. */
static bool uuid_lower(json_t *v)
{
	const char *s = json_string_value(v);
	char low[37];
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
		low[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char) (s[i] - 'A' + 'a') : s[i];
	low[36] = '\0';
	return id_valid(low) && json_string_set(v, low) == 0;
}

static bool format_ok(const char *fmt, const char *s)
{
	if (!fmt)
		return true;
	if (str_eq(fmt, "email"))
		return email_ok(s);
	if (str_eq(fmt, "uuid"))
		return id_valid(s);
	if (str_eq(fmt, "date-time")) {
		int64_t ms;
		return time_parse_iso8601(s, &ms) == 0;
	}
	if (str_eq(fmt, "uri"))
		return str_startswith(s, "http://") || str_startswith(s, "https://");
	return true;
}

static const char *format_text(const char *fmt)
{
	if (str_eq(fmt, "email"))
		return "an email address";
	if (str_eq(fmt, "uuid"))
		return "an id (UUID)";
	if (str_eq(fmt, "date-time"))
		return "an RFC 3339 date-time";
	if (str_eq(fmt, "uri"))
		return "an http:// or https:// URL";
	return fmt;
}

static void check_value(const struct field *f, json_t *v, const char *path, struct problem *p);

static void check_object(const struct schema *s, json_t *obj, const char *prefix, struct problem *p)
{
	struct arena *a = p->arena;
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		const struct field *f = NULL;
		for (const struct field *x = s->fields; x && x->name; x++)
			if (str_eq(x->name, key)) {
				f = x;
				break;
			}
		const char *path = prefix[0] ? arena_printf(a, "%s.%s", prefix, key) : key;
		if (!f) {
			if (!s->open)
				problem_field(p, path, "unknown field");
			continue;
		}
		check_value(f, v, path, p);
	}
	for (const struct field *f = s->fields; f && f->name; f++) {
		if (f->required && !json_object_get(obj, f->name)) {
			const char *path = prefix[0] ? arena_printf(a, "%s.%s", prefix, f->name) : f->name;
			problem_field(p, path, "is required");
		}
	}
}

static void check_bounds(const struct field *f, json_t *v, const char *path, struct problem *p)
{
	if (f->min == 0 && f->max == 0)
		return;
	if (json_is_string(v)) {
		size_t n = str_utf8_len(json_string_value(v));
		if ((int64_t) n < f->min)
			problem_field(p, path,
			              f->min == 1 ? "must not be empty" : "must be at least %lld characters long",
			              (long long) f->min);
		else if (f->max && (int64_t) n > f->max)
			problem_field(p, path, "must be at most %lld characters long", (long long) f->max);
	} else if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < f->min || (f->max && i > f->max))
			problem_field(p, path, "must be between %lld and %lld, got %lld", (long long) f->min,
			              (long long) f->max, (long long) i);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d < (double) f->min || (f->max && d > (double) f->max))
			problem_field(p, path, "must be between %lld and %lld, got %g", (long long) f->min,
			              (long long) f->max, d);
	} else if (json_is_array(v)) {
		size_t n = json_array_size(v);
		if ((int64_t) n < f->min)
			problem_field(p, path, "must have at least %lld items", (long long) f->min);
		else if (f->max && (int64_t) n > f->max)
			problem_field(p, path, "must have at most %lld items", (long long) f->max);
	}
}

static void check_value(const struct field *f, json_t *v, const char *path, struct problem *p)
{
	if (json_is_null(v)) {
		if (!f->nullable)
			problem_field(p, path, "must not be null");
		return;
	}
	if (!type_is(v, f->type)) {
		problem_field(p, path, "must be %s", jtype_names[f->type]);
		return;
	}
	if (json_is_real(v) && !isfinite(json_real_value(v))) {
		problem_field(p, path, "must be a finite number");
		return;
	}
	check_bounds(f, v, path, p);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!str_utf8_valid(s, json_string_length(v))) {
			problem_field(p, path, "must be valid UTF-8 without NUL characters");
			return;
		}
		if (f->enums) {
			bool found = false;
			for (const char *const *e = f->enums; *e && !found; e++)
				found = str_eq(*e, s);
			if (!found) {
				struct buf b;
				buf_init(&b, 512);
				for (const char *const *e = f->enums; *e; e++)
					buf_printf(&b, "%s%s", e == f->enums ? "" : ", ", *e);
				problem_field(p, path, "must be one of: %s", b.data ? b.data : "");
				buf_free(&b);
			}
		}
		if (str_eq(f->format, "uuid") && !id_valid(s) && uuid_lower(v))
			s = json_string_value(v);
		if (!format_ok(f->format, s))
			problem_field(p, path, "must be %s", format_text(f->format));
	} else if (json_is_object(v) && f->object) {
		check_object(f->object, v, path, p);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item)
		{
			const char *ipath = arena_printf(p->arena, "%s[%zu]", path, i);
			struct field itemf = {.name = f->name, .type = f->items, .object = f->object};
			check_value(&itemf, item, ipath, p);
		}
	}
}

enum status schema_validate(const struct schema *s, json_t *doc, struct problem *p)
{
	return schema_validate_at(s, doc, "", p);
}

enum status schema_validate_at(const struct schema *s, json_t *doc, const char *prefix, struct problem *p)
{
	bool top = !prefix || !prefix[0];
	if (!json_is_object(doc)) {
		if (top) {
			problem_set(p, ST_BAD_INPUT, "the request body must be a JSON object");
		} else {
			problem_field(p, prefix, "must be an object");
			problem_set(p, ST_BAD_INPUT, "%s must be an object", prefix);
		}
		p->type = "/problems/validation";
		return ST_BAD_INPUT;
	}
	int before = p->nfields;
	check_object(s, doc, top ? "" : prefix, p);
	if (p->nfields == before && p->nfields_dropped == 0)
		return ST_OK;
	int n = p->nfields + p->nfields_dropped;
	problem_set(p, ST_BAD_INPUT, "the %s has %d invalid field%s", top ? "request body" : "document", n,
	            n == 1 ? "" : "s");
	return ST_BAD_INPUT;
}
