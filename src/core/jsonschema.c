/*
 * jsonschema: the subset's checker and validator. Two walks over the same
 * keyword table: check_* look at a schema alone (shapes, supported
 * keywords, patterns, $ref targets and loops); v_* apply a checked schema
 * to a value. Keyword meanings follow JSON Schema 2020-12 Validation
 * (draft-bhutton-json-schema-validation-01) and Core (-core-01); the one
 * draft-07 form kept is "items" as an array (a tuple, as prefixItems).
 */
#include "core/jsonschema.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_BYTES 1024
#define RE_CACHE       32
#define RE_COST_MAX    1000 /* atom copies regcomp may build for one pattern (ere_bounded) */
#define RE_DEPTH_MAX   32   /* nested groups */

/* ---- paths ---- */

static bool ident_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$';
}

/* A JavaScript-style identifier ("$ref" and "$defs" included). */
static bool ident_name(const char *s)
{
	if (!ident_start(*s))
		return false;
	for (s++; *s; s++)
		if (!ident_start(*s) && !(*s >= '0' && *s <= '9'))
			return false;
	return true;
}

int jsonschema_path_name(struct buf *b, const char *name)
{
	if (ident_name(name))
		return buf_printf(b, ".%s", name);
	if (buf_puts(b, "[\"") < 0)
		return -1;
	for (const unsigned char *s = (const unsigned char *) name; *s; s++) {
		int rc;
		if (*s == '"' || *s == '\\')
			rc = buf_printf(b, "\\%c", *s);
		else if (*s < 0x20)
			rc = buf_printf(b, "\\u%04x", *s);
		else
			rc = buf_append(b, s, 1);
		if (rc < 0)
			return -1;
	}
	return buf_puts(b, "\"]");
}

/* Marks where a segment starts, so the caller can drop it again. */
static size_t path_push_name(struct buf *b, const char *name)
{
	size_t mark = b->len;
	if (jsonschema_path_name(b, name) < 0)
		(void) buf_puts(b, "...");
	return mark;
}

static size_t path_push_index(struct buf *b, size_t i)
{
	size_t mark = b->len;
	(void) buf_printf(b, "[%zu]", i);
	return mark;
}

static void path_pop(struct buf *b, size_t mark)
{
	b->len = mark;
	if (b->data)
		b->data[mark] = '\0';
}

/* ---- values ---- */

static bool is_number(const json_t *v)
{
	return json_is_integer(v) || json_is_real(v);
}

static double num(const json_t *v)
{
	return json_is_integer(v) ? (double) json_integer_value(v) : json_real_value(v);
}

/* 2020-12 Validation 6.1.1: an integer is any number with a zero fractional part. */
static bool is_integral(const json_t *v)
{
	if (json_is_integer(v))
		return true;
	double d = json_is_real(v) ? json_real_value(v) : NAN;
	return isfinite(d) && d == floor(d);
}

static int num_cmp(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		return x < y ? -1 : x > y;
	}
	double x = num(a), y = num(b);
	return x < y ? -1 : x > y;
}

static bool equal_at(const json_t *a, const json_t *b, int depth)
{
	if (depth > JSONSCHEMA_MAX_DEPTH)
		return false;
	if (is_number(a) && is_number(b))
		return num_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!equal_at(json_array_get(a, i), json_array_get(b, i), depth + 1))
				return false;
		return true;
	case JSON_OBJECT: {
		const char *k;
		json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *) a, k, v)
		{
			const json_t *w = json_object_get(b, k);
			if (!w || !equal_at(v, w, depth + 1))
				return false;
		}
		return true;
	}
	default:
		return true; /* null, true, false: the type is the value */
	}
}

bool jsonschema_equal(const json_t *a, const json_t *b)
{
	return a && b && equal_at(a, b, 0);
}

static size_t utf8_chars(const char *s, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char) s[i] & 0xc0) != 0x80)
			count++;
	return count;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return is_integral(v) ? "integer" : "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

static bool type_matches(const char *t, const json_t *v)
{
	if (!strcmp(t, "number"))
		return is_number(v);
	if (!strcmp(t, "integer"))
		return is_integral(v);
	return !strcmp(t, type_name(v));
}

/* A short JSON rendering for messages: at most 80 bytes, then "...". */
static const char *short_json(struct arena *a, const json_t *v)
{
	char *s;
	const char *out;
	if (!a)
		return ""; /* nobody reads it: no problem to fill, or inside anyOf and the like */
	if (!(s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)))
		return "?";
	out = strlen(s) > 80 ? arena_printf(a, "%.77s...", s) : arena_strdup(a, s);
	free(s);
	return out;
}

/* ---- patterns: ECMA-262 source to a POSIX ERE (docs/core.md lists the subset) ---- */

static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale; /* written once under utf8_once, read-only after */

static void utf8_locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
}

/* uselocale(3) is per thread: regcomp and regexec see UTF-8 characters
 * ("." matches "é") without touching the process's locale. */
static locale_t utf8_enter(void)
{
	pthread_once(&utf8_once, utf8_locale_init);
	return utf8_locale ? uselocale(utf8_locale) : (locale_t) 0;
}

static void utf8_leave(locale_t old)
{
	if (old)
		uselocale(old);
}

static int put_utf8(struct buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char) cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char) (0xc0 | (cp >> 6));
		u[1] = (char) (0x80 | (cp & 0x3f));
		n = 2;
	} else {
		u[0] = (char) (0xe0 | (cp >> 12));
		u[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char) (0x80 | (cp & 0x3f));
		n = 3;
	}
	return buf_append(b, u, n);
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned) (c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned) (c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* A control escape (\t \n \r \f \v \0) as its character, or -1. */
static int control_escape(char c)
{
	switch (c) {
	case 't':
		return '\t';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 'f':
		return '\f';
	case 'v':
		return '\v';
	default:
		return -1;
	}
}

/* One bracket expression, s just past "[": the ECMA class rebuilt in POSIX
 * order ("]" first, "^" not first, "-" last). Returns the bytes consumed
 * up to and including "]", or 0 with *why set. */
static size_t re_bracket(const char *s, struct buf *out, const char **why)
{
	struct buf items;
	bool neg = false, rbracket = false, caret = false, dash = false, lbracket = false;
	size_t i = 0, rc = 0;

	buf_init(&items, 0);
	if (s[i] == '^') {
		neg = true;
		i++;
	}
	for (; s[i] && s[i] != ']'; i++) {
		char c = s[i];
		if (c == '\\') {
			char e = s[++i];
			int ctl = control_escape(e);
			unsigned cp;
			if (e == 'd')
				(void) buf_puts(&items, "0-9");
			else if (e == 'w')
				(void) buf_puts(&items, "A-Za-z0-9_");
			else if (e == 's')
				(void) buf_puts(&items, "[:space:]");
			else if (ctl >= 0)
				(void) buf_append(&items, &(char){(char) ctl}, 1);
			else if (e == 'u' && hex4(s + i + 1, &cp) == 0 && cp) {
				(void) put_utf8(&items, cp);
				i += 4;
			} else if (e == ']')
				rbracket = true;
			else if (e == '^')
				caret = true;
			else if (e == '-')
				dash = true;
			else if (e == '[')
				lbracket = true;
			else if (e && strchr("\\.*+?(){}|$/", e))
				(void) buf_append(&items, &e, 1);
			else {
				*why = "uses an escape inside [...] that is not supported (\\D, \\W, \\S, \\b, "
				       "\\p{...}, \\x...)";
				goto out;
			}
		} else if (c == '[') {
			lbracket = true;
		} else if (c == '^') {
			caret = true;
		} else if (c == '-' && (i == (neg ? 1u : 0u) || s[i + 1] == ']')) {
			dash = true; /* a "-" first or last is literal in both syntaxes */
		} else {
			(void) buf_append(&items, &c, 1);
		}
	}
	if (s[i] != ']') {
		*why = "has an unclosed [";
		goto out;
	}
	if (!items.len && !rbracket && !lbracket && !caret && !dash) {
		*why = "uses an empty class [] or [^], which is not supported";
		goto out;
	}
	(void) buf_puts(out, neg ? "[^" : "[");
	if (rbracket)
		(void) buf_puts(out, "]");
	if (items.len)
		(void) buf_append(out, items.data, items.len);
	if (lbracket)
		(void) buf_puts(out, "[");
	if (caret)
		(void) buf_puts(out, "^");
	if (dash)
		(void) buf_puts(out, "-");
	(void) buf_puts(out, "]");
	rc = i + 1;
out:
	buf_free(&items);
	return rc;
}

/* True when s starts a {n}, {n,} or {n,m} quantifier. */
static bool re_interval(const char *s)
{
	size_t i = 1;
	if (!(s[i] >= '0' && s[i] <= '9'))
		return false;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	if (s[i] == ',')
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			;
	return s[i] == '}';
}

/* Translates an ECMA-262 pattern to a POSIX ERE; -1 with *why when it uses
 * what the subset leaves out. */
static int re_translate(const char *src, struct buf *out, const char **why)
{
	for (size_t i = 0; src[i]; i++) {
		char c = src[i];
		if (c == '\\') {
			char e = src[++i];
			int ctl = control_escape(e);
			unsigned cp;
			if (e == 'd')
				(void) buf_puts(out, "[0-9]");
			else if (e == 'D')
				(void) buf_puts(out, "[^0-9]");
			else if (e == 'w')
				(void) buf_puts(out, "[A-Za-z0-9_]");
			else if (e == 'W')
				(void) buf_puts(out, "[^A-Za-z0-9_]");
			else if (e == 's')
				(void) buf_puts(out, "[[:space:]]");
			else if (e == 'S')
				(void) buf_puts(out, "[^[:space:]]");
			else if (e == 'b' || e == 'B')
				(void) buf_printf(out, "\\%c", e);
			else if (ctl >= 0)
				(void) buf_append(out, &(char){(char) ctl}, 1);
			else if (e == 'u' && hex4(src + i + 1, &cp) == 0 && cp) {
				(void) buf_puts(out, "(");
				(void) put_utf8(out, cp);
				(void) buf_puts(out, ")");
				i += 4;
			} else if (e && strchr(".[]()*+?{}|^$\\", e))
				(void) buf_printf(out, "\\%c", e);
			else if (e && strchr("/-,:=!<>'\"#&%~`@ ", e))
				(void) buf_append(out, &e, 1);
			else {
				*why = e >= '1' && e <= '9'
				           ? "uses a backreference, which is not supported"
				           : "uses an escape that is not supported (\\p{...}, \\x.., \\c.., \\k<...>)";
				return -1;
			}
		} else if (c == '[') {
			size_t used = re_bracket(src + i + 1, out, why);
			if (!used)
				return -1;
			i += used;
		} else if (c == '(' && src[i + 1] == '?') {
			if (src[i + 2] != ':') {
				*why = "uses a lookaround or named group ((?=, (?!, (?<), which is not supported";
				return -1;
			}
			(void) buf_puts(out, "(");
			i += 2;
		} else if (c == '.') {
			/* ECMA's "." is any character but a line terminator */
			(void) buf_puts(out, "[^\n\r\xe2\x80\xa8\xe2\x80\xa9]");
		} else if (c == '{' && !re_interval(src + i)) {
			(void) buf_puts(out, "\\{");
		} else if (c == '?' && i > 0 && strchr("*+?}", src[i - 1]) && (i < 2 || src[i - 2] != '\\')) {
			/* lazy quantifier: whether a match exists does not depend on it */
		} else {
			(void) buf_append(out, &c, 1);
		}
	}
	return 0;
}

static bool ere_bounded(const char *s);

/* Compiles an ECMA-262 pattern; 0, or -1 with *why. */
static int re_build(const char *src, regex_t *re, const char **why)
{
	struct buf ere;
	int rc = -1;

	buf_init(&ere, 8 * JSONSCHEMA_MAX_PATTERN);
	if (strlen(src) > JSONSCHEMA_MAX_PATTERN) {
		*why = "is longer than 1024 bytes";
		goto out;
	}
	if (re_translate(src, &ere, why) < 0)
		goto out;
	(void) buf_append(&ere, "", 0);
	if (!ere_bounded(ere.data)) {
		*why = "repeats more than this engine allows (a quantifier right after another, or repetitions that "
		       "multiply past 1000 copies)";
		goto out;
	}
	if (jsonschema_regcomp(re, ere.data) < 0) {
		*why = "is not a valid regular expression";
		goto out;
	}
	rc = 0;
out:
	buf_free(&ere);
	return rc;
}

/* The end of the bracket expression that starts at s[0] == '[' (POSIX
 * 9.3.5: a leading "^", a leading "]" as itself, "[:class:]", "[=e=]" and
 * "[.c.]" inside), or NULL when it never ends. */
static const char *ere_bracket_end(const char *s)
{
	size_t i = 1;
	if (s[i] == '^')
		i++;
	if (s[i] == ']')
		i++;
	for (; s[i] && s[i] != ']'; i++) {
		if (s[i] == '[' && (s[i + 1] == ':' || s[i + 1] == '=' || s[i + 1] == '.')) {
			const char *close = strchr("]:=.", s[i + 1]);
			const char *end = strstr(s + i + 2, (char[]){*close, ']', '\0'});
			if (!end)
				return NULL;
			i = (size_t) (end - s) + 1;
		}
	}
	return s[i] ? s + i : NULL;
}

/* How many copies of the atom a quantifier at s asks glibc's regcomp to
 * build (it expands "x{n,m}" into m copies and "x+" into "xx*"), 1 for
 * "*" and "?", 0 when s is no quantifier; *len gets its length. */
static size_t ere_number(const char *s, uint64_t *v)
{
	size_t i = 0;
	for (*v = 0; s[i] >= '0' && s[i] <= '9'; i++)
		if (*v <= RE_COST_MAX)
			*v = *v * 10 + (uint64_t) (s[i] - '0');
	return i;
}

static uint64_t ere_quantifier(const char *s, size_t *len)
{
	uint64_t n, m;
	size_t i = 1, used;
	*len = 1;
	if (*s == '*' || *s == '?')
		return 1;
	if (*s == '+')
		return 2;
	if (*s != '{' || !(used = ere_number(s + i, &n)))
		return 0;
	i += used, m = n;
	if (s[i] == ',') {
		i++;
		used = ere_number(s + i, &m);
		if (!used)
			m = n + 1; /* "{n,}": n copies and a star */
		i += used;
	}
	if (s[i] != '}')
		return 0;
	*len = i + 1;
	return m > n ? m : (n ? n : 1);
}

/* True when regcomp can build ere in bounded time and memory. glibc's
 * regcomp (2.36) builds a copy of an atom per repetition and takes time
 * exponential in stacked quantifiers ("a+++...": 24 of them ran past 10 s
 * and gigabytes, found by the fuzz smoke), and "(a{1000}){1000}" takes
 * 200 MB. So a quantifier right after a quantifier is refused (neither
 * ECMA-262 nor I-Regexp, RFC 9485 section 4, allows one: a lazy "?" is
 * dropped before it gets here), and so is a pattern whose copies, summed
 * over the pattern and multiplied through nested groups, pass
 * RE_COST_MAX. */
static bool ere_bounded(const char *s)
{
	uint64_t seq[RE_DEPTH_MAX + 1] = {0}; /* copies so far at each open group */
	uint64_t last = 0;                    /* copies of the last atom: what a quantifier multiplies */
	bool quantified = false;
	int d = 0;

	for (size_t i = 0; s[i]; i++) {
		size_t qlen;
		uint64_t f = ere_quantifier(s + i, &qlen);
		if (f) {
			if (quantified)
				return false;
			seq[d] += last * (f - 1);
			i += qlen - 1;
			quantified = true;
		} else if (s[i] == '(') {
			if (++d > RE_DEPTH_MAX)
				return false;
			seq[d] = 0, last = 0, quantified = false;
		} else if (s[i] == ')' && d > 0) {
			last = seq[d] ? seq[d] : 1;
			seq[--d] += last;
			quantified = false;
		} else if (s[i] == '|' || s[i] == '^' || s[i] == '$') {
			last = 0, quantified = false;
		} else {
			if (s[i] == '\\' && s[i + 1])
				i++;
			else if (s[i] == '[') {
				const char *end = ere_bracket_end(s + i);
				if (!end)
					return false;
				i = (size_t) (end - s);
			}
			seq[d] += 1, last = 1, quantified = false;
		}
		if (seq[d] > RE_COST_MAX)
			return false;
	}
	return seq[0] <= RE_COST_MAX;
}

int jsonschema_regcomp(regex_t *re, const char *ere)
{
	if (!ere_bounded(ere))
		return -1;
	locale_t old = utf8_enter();
	int rc = regcomp(re, ere, REG_EXTENDED | REG_NOSUB);
	utf8_leave(old);
	return rc == 0 ? 0 : -1;
}

bool jsonschema_regsearch(const regex_t *re, const char *s, size_t n)
{
	regmatch_t m[1] = {{.rm_so = 0, .rm_eo = (regoff_t) n}};
	locale_t old = utf8_enter();
	bool found = regexec(re, s, 1, m, REG_STARTEND) == 0;
	utf8_leave(old);
	return found;
}

static bool re_find(const regex_t *re, const char *s, size_t n)
{
	return jsonschema_regsearch(re, s, n);
}

/* ---- JSON pointers in $ref (RFC 6901 in a URI fragment, RFC 3986 2.1) ---- */

/* Decodes the next reference token of a fragment into tok; *s moves on. */
static int pointer_token(const char **s, struct buf *tok)
{
	const char *p = *s;
	buf_reset(tok);
	for (; *p && *p != '/'; p++) {
		char c = *p;
		unsigned hi, lo;
		if (c == '%') {
			const char *h = "0123456789abcdef0123456789ABCDEF";
			const char *x = p[1] ? strchr(h, p[1]) : NULL, *y = x && p[2] ? strchr(h, p[2]) : NULL;
			if (!x || !y)
				return -1;
			hi = (unsigned) ((x - h) % 16);
			lo = (unsigned) ((y - h) % 16);
			c = (char) (hi * 16 + lo);
			p += 2;
		}
		if (buf_append(tok, &c, 1) < 0)
			return -1;
	}
	/* ~1 is "/", ~0 is "~"; decoded after the percent-decoding (RFC 6901 6) */
	size_t w = 0;
	for (size_t r = 0; r < tok->len; r++, w++) {
		if (tok->data[r] == '~') {
			char n = r + 1 < tok->len ? tok->data[r + 1] : '\0';
			if (n != '0' && n != '1')
				return -1;
			tok->data[w] = n == '0' ? '~' : '/';
			r++;
		} else {
			tok->data[w] = tok->data[r];
		}
	}
	tok->len = w;
	(void) buf_append(tok, "", 0);
	*s = p;
	return 0;
}

enum ref_pos { AT_SCHEMA, AT_MAP, AT_LIST };

/* Resolves "#" or "#/..." against root, walking only through places where
 * a schema stands (so a $ref never treats a "properties" map or an enum as
 * a schema). NULL with *why when it does not resolve. */
static const json_t *ref_resolve(const json_t *root, const char *ref, const char **why)
{
	const json_t *cur = root;
	enum ref_pos pos = AT_SCHEMA;
	struct buf tok;
	const char *s;

	*why = NULL;
	if (ref[0] != '#' || (ref[1] && ref[1] != '/')) {
		*why =
		    "must be \"#\" or a JSON pointer \"#/...\" into this schema (remote and anchor references are not "
		    "supported)";
		return NULL;
	}
	buf_init(&tok, 4096);
	s = ref + 1;
	while (cur && *s == '/') {
		s++;
		if (pointer_token(&s, &tok) < 0) {
			*why = "has a malformed JSON pointer";
			cur = NULL;
			break;
		}
		const char *t = tok.data ? tok.data : "";
		if (pos == AT_SCHEMA) {
			if (!json_is_object(cur)) {
				cur = NULL;
				break;
			}
			if (!strcmp(t, "properties") || !strcmp(t, "patternProperties") || !strcmp(t, "$defs") ||
			    !strcmp(t, "definitions"))
				pos = AT_MAP;
			else if (!strcmp(t, "allOf") || !strcmp(t, "anyOf") || !strcmp(t, "oneOf") ||
			         !strcmp(t, "prefixItems") ||
			         (!strcmp(t, "items") && json_is_array(json_object_get(cur, t))))
				pos = AT_LIST;
			else if (strcmp(t, "items") && strcmp(t, "additionalProperties") && strcmp(t, "not") &&
			         strcmp(t, "propertyNames")) {
				*why = "must point at a schema (through $defs, definitions, properties, items, ...)";
				cur = NULL;
				break;
			}
			cur = json_object_get(cur, t);
		} else if (pos == AT_MAP) {
			cur = json_is_object(cur) ? json_object_get(cur, t) : NULL;
			pos = AT_SCHEMA;
		} else {
			int64_t idx;
			cur = json_is_array(cur) && str_to_i64(t, 0, INT32_MAX, &idx) == 0
			          ? json_array_get(cur, (size_t) idx)
			          : NULL;
			pos = AT_SCHEMA;
		}
	}
	buf_free(&tok);
	if (cur && pos != AT_SCHEMA) {
		*why = "must point at a schema, not at a map or list of schemas";
		cur = NULL;
	}
	if (cur && !json_is_object(cur) && !json_is_boolean(cur)) {
		*why = "must point at a schema (an object or a boolean)";
		cur = NULL;
	}
	if (!cur && !*why)
		*why = "does not resolve to anything in this schema";
	return cur;
}

/* ---- the checker ---- */

struct cctx {
	const json_t *root;
	struct problem *p;
	struct buf path;
	const char *prefix;
	int errors;
	json_t *color; /* "%p" of a schema -> 1 on the DFS stack, 2 done: the $ref loop search */
};

static void c_err(struct cctx *c, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void c_err(struct cctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	c->errors++;
	if (!c->p)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	problem_field(c->p, arena_printf(c->p->arena, "%s%s", c->prefix, c->path.len ? c->path.data : ""), "%s", msg);
}

static void c_schema(struct cctx *c, const json_t *s, int depth);

static bool nonneg_int(const json_t *v)
{
	return is_integral(v) && num(v) >= 0;
}

static void c_schema_map(struct cctx *c, const json_t *v, int depth, bool names_are_patterns)
{
	const char *k;
	json_t *sub;
	if (!json_is_object(v)) {
		c_err(c, "must be an object of schemas");
		return;
	}
	json_object_foreach((json_t *) v, k, sub)
	{
		size_t m = path_push_name(&c->path, k);
		if (names_are_patterns) {
			regex_t re;
			const char *why = NULL;
			if (re_build(k, &re, &why) < 0)
				c_err(c, "the pattern %s", why);
			else
				regfree(&re);
		}
		c_schema(c, sub, depth + 1);
		path_pop(&c->path, m);
	}
}

static void c_schema_list(struct cctx *c, const json_t *v, int depth)
{
	if (!json_is_array(v) || json_array_size(v) == 0) {
		c_err(c, "must be a non-empty array of schemas");
		return;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		size_t m = path_push_index(&c->path, i);
		c_schema(c, json_array_get(v, i), depth + 1);
		path_pop(&c->path, m);
	}
}

static void c_type(struct cctx *c, const json_t *v)
{
	static const char *const types[] = {"null", "boolean", "object", "array", "number", "integer", "string"};
	const json_t *one = v;
	size_t n = json_is_array(v) ? json_array_size(v) : 1;

	if (json_is_array(v) && n == 0) {
		c_err(c, "must not be an empty list");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		if (json_is_array(v))
			one = json_array_get(v, i);
		for (size_t t = 0; json_is_string(one) && t < ARRAY_LEN(types); t++)
			known |= !strcmp(json_string_value(one), types[t]);
		if (!known) {
			c_err(
			    c,
			    "must be one of null, boolean, object, array, number, integer, string (or a list of them)");
			return;
		}
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_array_get(v, j), (json_t *) one)) {
				c_err(c, "lists \"%s\" twice", json_string_value(one));
				return;
			}
	}
}

static void c_required(struct cctx *c, const json_t *v)
{
	if (!json_is_array(v)) {
		c_err(c, "must be an array of property names");
		return;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *n = json_array_get(v, i);
		if (!json_is_string(n)) {
			c_err(c, "must be an array of property names (strings)");
			return;
		}
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_array_get(v, j), (json_t *) n)) {
				c_err(c, "lists \"%s\" twice", json_string_value(n));
				return;
			}
	}
}

/* Annotations: accepted and ignored by validation (2020-12 Validation 7, 9). */
static const char *const annotations[] = {
    "$schema",  "$id",        "$comment", "title",     "description", "default",
    "examples", "deprecated", "readOnly", "writeOnly", "format",      "$anchor",
};

static bool is_annotation(const char *k)
{
	for (size_t i = 0; i < ARRAY_LEN(annotations); i++)
		if (!strcmp(k, annotations[i]))
			return true;
	return false;
}

static void c_keyword(struct cctx *c, const json_t *s, const char *k, const json_t *v, int depth)
{
	if (!strcmp(k, "type"))
		c_type(c, v);
	else if (!strcmp(k, "enum")) {
		if (!json_is_array(v))
			c_err(c, "must be an array");
	} else if (!strcmp(k, "const")) {
		/* any value */
	} else if (!strcmp(k, "properties") || !strcmp(k, "$defs") || !strcmp(k, "definitions"))
		c_schema_map(c, v, depth, false);
	else if (!strcmp(k, "patternProperties"))
		c_schema_map(c, v, depth, true);
	else if (!strcmp(k, "required"))
		c_required(c, v);
	else if (!strcmp(k, "additionalProperties") || !strcmp(k, "not") || !strcmp(k, "propertyNames"))
		c_schema(c, v, depth + 1);
	else if (!strcmp(k, "items")) {
		if (json_is_array(v) && json_object_get(s, "prefixItems"))
			c_err(c, "must be a schema when prefixItems is given (a list here is the draft-07 form of "
			         "prefixItems)");
		else if (json_is_array(v))
			c_schema_list(c, v, depth);
		else
			c_schema(c, v, depth + 1);
	} else if (!strcmp(k, "prefixItems") || !strcmp(k, "allOf") || !strcmp(k, "anyOf") || !strcmp(k, "oneOf"))
		c_schema_list(c, v, depth);
	else if (!strcmp(k, "minItems") || !strcmp(k, "maxItems") || !strcmp(k, "minLength") ||
	         !strcmp(k, "maxLength") || !strcmp(k, "minProperties") || !strcmp(k, "maxProperties")) {
		if (!nonneg_int(v))
			c_err(c, "must be a non-negative integer");
	} else if (!strcmp(k, "minimum") || !strcmp(k, "maximum") || !strcmp(k, "exclusiveMinimum") ||
	           !strcmp(k, "exclusiveMaximum")) {
		if (!is_number(v))
			c_err(c, "must be a number%s",
			      json_is_boolean(v)
			          ? " (the draft-04 boolean form is not supported; give the bound itself)"
			          : "");
	} else if (!strcmp(k, "multipleOf")) {
		if (!is_number(v) || num(v) <= 0)
			c_err(c, "must be a number greater than 0");
	} else if (!strcmp(k, "uniqueItems")) {
		if (!json_is_boolean(v))
			c_err(c, "must be true or false");
	} else if (!strcmp(k, "pattern")) {
		regex_t re;
		const char *why = NULL;
		if (!json_is_string(v))
			c_err(c, "must be a string (an ECMA-262 regular expression)");
		else if (re_build(json_string_value(v), &re, &why) < 0)
			c_err(c, "the pattern %s", why);
		else
			regfree(&re);
	} else if (!strcmp(k, "$ref")) {
		const char *why = NULL;
		if (!json_is_string(v))
			c_err(c, "must be a string");
		else if (!ref_resolve(c->root, json_string_value(v), &why))
			c_err(c, "\"%s\" %s", json_string_value(v), why);
	} else if (is_annotation(k)) {
		if ((!strcmp(k, "$schema") || !strcmp(k, "$id") || !strcmp(k, "$comment") || !strcmp(k, "title") ||
		     !strcmp(k, "description") || !strcmp(k, "format") || !strcmp(k, "$anchor")) &&
		    !json_is_string(v))
			c_err(c, "must be a string");
	} else
		c_err(c, "unsupported keyword \"%s\"; docs/core.md lists the supported JSON Schema subset", k);
}

static void c_schema(struct cctx *c, const json_t *s, int depth)
{
	const char *k;
	json_t *v;

	if (depth > JSONSCHEMA_MAX_DEPTH) {
		c_err(c, "nests deeper than %d schemas", JSONSCHEMA_MAX_DEPTH);
		return;
	}
	if (json_is_boolean(s))
		return;
	if (!json_is_object(s)) {
		c_err(c, "must be a schema (an object or a boolean)");
		return;
	}
	json_object_foreach((json_t *) s, k, v)
	{
		size_t m = path_push_name(&c->path, k);
		c_keyword(c, s, k, v, depth);
		path_pop(&c->path, m);
	}
}

/* Depth-first search over the "same value" edges ($ref, allOf, anyOf,
 * oneOf, not): a way back to a schema on the stack is a loop that never
 * descends into the value, so validation would never end. */
static bool loop_from(struct cctx *c, const json_t *s, int depth)
{
	char key[32];
	const json_t *v;
	bool loop = false;

	if (!json_is_object(s))
		return false;
	snprintf(key, sizeof(key), "%p", (const void *) s);
	json_int_t color = json_integer_value(json_object_get(c->color, key));
	if (color == 1 || depth > JSONSCHEMA_MAX_DEPTH)
		return true;
	if (color == 2)
		return false;
	json_object_set_new(c->color, key, json_integer(1));
	if ((v = json_object_get(s, "$ref")) && json_is_string(v)) {
		const char *why;
		const json_t *t = ref_resolve(c->root, json_string_value(v), &why);
		loop = t && loop_from(c, t, depth + 1);
	}
	static const char *const lists[] = {"allOf", "anyOf", "oneOf"};
	for (size_t l = 0; !loop && l < ARRAY_LEN(lists); l++) {
		const json_t *arr = json_object_get(s, lists[l]);
		for (size_t i = 0; !loop && json_is_array(arr) && i < json_array_size(arr); i++)
			loop = loop_from(c, json_array_get(arr, i), depth + 1);
	}
	if (!loop && (v = json_object_get(s, "not")))
		loop = loop_from(c, v, depth + 1);
	json_object_set_new(c->color, key, json_integer(loop ? 1 : 2));
	return loop;
}

/* Reports each $ref from which a loop starts, at its own path. */
static void c_loops(struct cctx *c, const json_t *s, int depth)
{
	const char *k;
	json_t *v;

	if (!json_is_object(s) || depth > JSONSCHEMA_MAX_DEPTH)
		return;
	if (json_object_get(s, "$ref") && loop_from(c, s, 0)) {
		size_t m = path_push_name(&c->path, "$ref");
		c_err(
		    c,
		    "\"%s\" leads back to itself without descending into the value (a $ref loop), or through more than "
		    "128 references",
		    json_string_value(json_object_get(s, "$ref")));
		path_pop(&c->path, m);
		return; /* one report per loop is enough */
	}
	json_object_foreach((json_t *) s, k, v)
	{
		size_t m = path_push_name(&c->path, k);
		if (json_is_array(v) && (!strcmp(k, "allOf") || !strcmp(k, "anyOf") || !strcmp(k, "oneOf") ||
		                         !strcmp(k, "prefixItems") || !strcmp(k, "items"))) {
			for (size_t i = 0; i < json_array_size(v); i++) {
				size_t m2 = path_push_index(&c->path, i);
				c_loops(c, json_array_get(v, i), depth + 1);
				path_pop(&c->path, m2);
			}
		} else if (!strcmp(k, "properties") || !strcmp(k, "patternProperties") || !strcmp(k, "$defs") ||
		           !strcmp(k, "definitions")) {
			const char *n;
			json_t *sub;
			json_object_foreach(v, n, sub)
			{
				size_t m2 = path_push_name(&c->path, n);
				c_loops(c, sub, depth + 1);
				path_pop(&c->path, m2);
			}
		} else if (!strcmp(k, "items") || !strcmp(k, "additionalProperties") || !strcmp(k, "not") ||
		           !strcmp(k, "propertyNames")) {
			c_loops(c, v, depth + 1);
		}
		path_pop(&c->path, m);
	}
}

enum status jsonschema_check(const json_t *schema, const char *prefix, struct problem *p)
{
	struct cctx c = {.root = schema, .p = p, .prefix = prefix && *prefix ? prefix : "schema"};

	buf_init(&c.path, PATH_MAX_BYTES);
	if (!schema) {
		c_err(&c, "must be a schema (an object or a boolean)");
		goto out;
	}
	c_schema(&c, schema, 0);
	if (c.errors)
		goto out;
	c.color = json_object();
	c_loops(&c, schema, 0);
	json_decref(c.color);
out:
	buf_free(&c.path);
	return c.errors ? ST_UNPROCESSABLE : ST_OK;
}

/* ---- the validator ---- */

struct vctx {
	const json_t *root;
	struct problem *p;
	const char *prefix;
	struct buf path;
	int quiet; /* > 0: inside anyOf, oneOf, not, ...: count, do not report */
	long steps;
	bool stopped;     /* a bound was reached: every result from here is a failure */
	char *stop_field; /* where, and why (reported even when quiet) */
	char *stop_msg;
	int nref;
	const json_t *ref_schema[JSONSCHEMA_MAX_DEPTH + 1];
	const json_t *ref_value[JSONSCHEMA_MAX_DEPTH + 1];
	int nre;
	struct {
		const char *src;
		regex_t re;
	} re[RE_CACHE];
};

/* Where messages are built; NULL when none will be reported. */
static struct arena *msg_arena(const struct vctx *c)
{
	return c->quiet || !c->p ? NULL : c->p->arena;
}

static void v_err(struct vctx *c, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void v_err(struct vctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	if (c->quiet || !c->p)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	problem_field(c->p, arena_printf(c->p->arena, "%s%s", c->prefix, c->path.len ? c->path.data : ""), "%s", msg);
}

/* A pattern from the schema, compiled once per validation (keyed by the
 * schema's own string, which does not move while we run). */
static bool v_match(struct vctx *c, const char *pattern, const char *s, size_t n)
{
	regex_t tmp;
	const char *why;
	for (int i = 0; i < c->nre; i++)
		if (c->re[i].src == pattern)
			return re_find(&c->re[i].re, s, n);
	if (c->nre < RE_CACHE) {
		if (re_build(pattern, &c->re[c->nre].re, &why) < 0)
			return false;
		c->re[c->nre].src = pattern;
		return re_find(&c->re[c->nre++].re, s, n);
	}
	if (re_build(pattern, &tmp, &why) < 0)
		return false;
	bool found = re_find(&tmp, s, n);
	regfree(&tmp);
	return found;
}

static int v_schema(struct vctx *c, const json_t *s, const json_t *v, int depth);

/* A bound was reached: validation ends here, and says why and where. */
static int v_stop(struct vctx *c, const char *msg)
{
	if (!c->stopped) {
		c->stopped = true;
		c->stop_field = xasprintf("%s%s", c->prefix, c->path.len ? c->path.data : "");
		c->stop_msg = xstrdup(msg);
	}
	return 1;
}

/* Applies s to v without reporting: the count of violations (0: valid). */
static int v_quiet(struct vctx *c, const json_t *s, const json_t *v, int depth)
{
	c->quiet++;
	int n = v_schema(c, s, v, depth);
	c->quiet--;
	return n;
}

static int v_type(struct vctx *c, const json_t *t, const json_t *v)
{
	if (json_is_string(t)) {
		if (type_matches(json_string_value(t), v))
			return 0;
		v_err(c, "must be %s %s, got %s", strchr("aeiou", json_string_value(t)[0]) ? "an" : "a",
		      json_string_value(t), type_name(v));
		return 1;
	}
	struct buf names;
	buf_init(&names, 256);
	for (size_t i = 0; i < json_array_size(t); i++) {
		if (type_matches(json_string_value(json_array_get(t, i)), v)) {
			buf_free(&names);
			return 0;
		}
		(void) buf_printf(&names, "%s%s", i ? ", " : "", json_string_value(json_array_get(t, i)));
	}
	v_err(c, "must be one of the types %s; got %s", names.data ? names.data : "", type_name(v));
	buf_free(&names);
	return 1;
}

static int v_object(struct vctx *c, const json_t *s, const json_t *v, int depth)
{
	const json_t *props = json_object_get(s, "properties"), *pprops = json_object_get(s, "patternProperties");
	const json_t *addl = json_object_get(s, "additionalProperties"), *names = json_object_get(s, "propertyNames");
	const json_t *req = json_object_get(s, "required"), *kw;
	const char *k;
	json_t *item;
	int n = 0;

	for (size_t i = 0; json_is_array(req) && i < json_array_size(req); i++) {
		const char *name = json_string_value(json_array_get(req, i));
		if (!json_object_get(v, name)) {
			size_t m = path_push_name(&c->path, name);
			v_err(c, "is required");
			path_pop(&c->path, m);
			n++;
		}
	}
	if ((kw = json_object_get(s, "minProperties")) && json_object_size(v) < (size_t) num(kw)) {
		v_err(c, "must have at least %.0f properties, got %zu", num(kw), json_object_size(v));
		n++;
	}
	if ((kw = json_object_get(s, "maxProperties")) && json_object_size(v) > (size_t) num(kw)) {
		v_err(c, "must have at most %.0f properties, got %zu", num(kw), json_object_size(v));
		n++;
	}
	json_object_foreach((json_t *) v, k, item)
	{
		bool matched = false;
		size_t m = path_push_name(&c->path, k);
		const json_t *sub = props ? json_object_get(props, k) : NULL;
		if (sub) {
			matched = true;
			n += v_schema(c, sub, item, depth + 1);
		}
		const char *pat;
		json_t *psub;
		if (pprops)
			json_object_foreach((json_t *) pprops, pat, psub)
			{
				if (v_match(c, pat, k, strlen(k))) {
					matched = true;
					n += v_schema(c, psub, item, depth + 1);
				}
			}
		if (!matched && addl) {
			if (json_is_false(addl)) {
				v_err(c, "is not allowed (additionalProperties is false)");
				n++;
			} else {
				n += v_schema(c, addl, item, depth + 1);
			}
		}
		if (names) {
			json_t *name = json_string(k);
			if (v_quiet(c, names, name, depth + 1)) {
				v_err(c, "is not an allowed property name (propertyNames)");
				n++;
			}
			json_decref(name);
		}
		path_pop(&c->path, m);
		if (c->stopped)
			break;
	}
	return n;
}

static int v_array(struct vctx *c, const json_t *s, const json_t *v, int depth)
{
	const json_t *prefix = json_object_get(s, "prefixItems"), *items = json_object_get(s, "items"), *kw;
	size_t size = json_array_size(v);
	int n = 0;

	if (json_is_array(items)) { /* draft-07 tuple form */
		prefix = items;
		items = NULL;
	}
	if ((kw = json_object_get(s, "minItems")) && size < (size_t) num(kw)) {
		v_err(c, "must have at least %.0f items, got %zu", num(kw), size);
		n++;
	}
	if ((kw = json_object_get(s, "maxItems")) && size > (size_t) num(kw)) {
		v_err(c, "must have at most %.0f items, got %zu", num(kw), size);
		n++;
	}
	for (size_t i = 0; i < size && !c->stopped; i++) {
		const json_t *sub = prefix && i < json_array_size(prefix) ? json_array_get(prefix, i) : items;
		if (!sub)
			continue;
		size_t m = path_push_index(&c->path, i);
		n += v_schema(c, sub, json_array_get(v, i), depth + 1);
		path_pop(&c->path, m);
	}
	if (json_is_true(json_object_get(s, "uniqueItems")))
		for (size_t i = 1; i < size; i++)
			for (size_t j = 0; j < i; j++) {
				if (++c->steps > JSONSCHEMA_MAX_STEPS)
					return n + v_stop(c, "validation stopped: more than 200000 steps");
				if (jsonschema_equal(json_array_get(v, i), json_array_get(v, j))) {
					v_err(c, "items [%zu] and [%zu] are equal; uniqueItems requires them distinct",
					      j, i);
					return n + 1;
				}
			}
	return n;
}

static int v_string(struct vctx *c, const json_t *s, const json_t *v)
{
	const json_t *kw;
	size_t len = utf8_chars(json_string_value(v), json_string_length(v));
	int n = 0;

	if ((kw = json_object_get(s, "minLength")) && len < (size_t) num(kw)) {
		v_err(c, "must be at least %.0f characters long, got %zu", num(kw), len);
		n++;
	}
	if ((kw = json_object_get(s, "maxLength")) && len > (size_t) num(kw)) {
		v_err(c, "must be at most %.0f characters long, got %zu", num(kw), len);
		n++;
	}
	if ((kw = json_object_get(s, "pattern")) &&
	    !v_match(c, json_string_value(kw), json_string_value(v), json_string_length(v))) {
		v_err(c, "must match the pattern %s", short_json(msg_arena(c), kw));
		n++;
	}
	return n;
}

/* multipleOf (Validation 6.2.1): exact for integers; for reals, the
 * quotient within 1e-9 of an integer (0.0075 is a multiple of 0.0001 although
 * the binary quotient is 74.99999999999999). */
static bool multiple_of(const json_t *v, const json_t *m)
{
	if (json_is_integer(v) && json_is_integer(m))
		return json_integer_value(v) % json_integer_value(m) == 0;
	double q = num(v) / num(m);
	if (!isfinite(q))
		return false;
	return fabs(q - nearbyint(q)) <= 1e-9 * fmax(1.0, fabs(q));
}

static int v_number(struct vctx *c, const json_t *s, const json_t *v)
{
	static const struct {
		const char *kw;
		int bad_cmp; /* num_cmp(v, bound) results that fail */
		int bad_cmp2;
		const char *op;
	} bounds[] = {
	    {"minimum", -1, -1, ">="},
	    {"maximum", 1, 1, "<="},
	    {"exclusiveMinimum", -1, 0, ">"},
	    {"exclusiveMaximum", 1, 0, "<"},
	};
	struct arena *a = msg_arena(c);
	const json_t *kw;
	int n = 0;

	for (size_t i = 0; i < ARRAY_LEN(bounds); i++) {
		if (!(kw = json_object_get(s, bounds[i].kw)))
			continue;
		int cmp = num_cmp(v, kw);
		if (cmp == bounds[i].bad_cmp || cmp == bounds[i].bad_cmp2) {
			v_err(c, "must be %s %s, got %s", bounds[i].op, short_json(a, kw), short_json(a, v));
			n++;
		}
	}
	if ((kw = json_object_get(s, "multipleOf")) && !multiple_of(v, kw)) {
		v_err(c, "must be a multiple of %s, got %s", short_json(a, kw), short_json(a, v));
		n++;
	}
	return n;
}

static int v_combinators(struct vctx *c, const json_t *s, const json_t *v, int depth)
{
	const json_t *kw;
	int n = 0;

	if ((kw = json_object_get(s, "allOf")))
		for (size_t i = 0; i < json_array_size(kw); i++)
			n += v_schema(c, json_array_get(kw, i), v, depth + 1);
	if ((kw = json_object_get(s, "anyOf"))) {
		bool any = false;
		for (size_t i = 0; i < json_array_size(kw) && !any; i++)
			any = v_quiet(c, json_array_get(kw, i), v, depth + 1) == 0;
		if (!any) {
			v_err(c, "must match at least one of the %zu schemas in anyOf", json_array_size(kw));
			n++;
		}
	}
	if ((kw = json_object_get(s, "oneOf"))) {
		size_t matches = 0;
		for (size_t i = 0; i < json_array_size(kw) && matches < 2; i++)
			matches += v_quiet(c, json_array_get(kw, i), v, depth + 1) == 0;
		if (matches != 1) {
			v_err(c, "must match exactly one of the %zu schemas in oneOf, matches %s", json_array_size(kw),
			      matches ? "more than one" : "none");
			n++;
		}
	}
	if ((kw = json_object_get(s, "not")) && v_quiet(c, kw, v, depth + 1) == 0) {
		v_err(c, "must not match the schema in not");
		n++;
	}
	return n;
}

static int v_ref(struct vctx *c, const json_t *ref, const json_t *v, int depth)
{
	const char *why;
	const json_t *t = ref_resolve(c->root, json_string_value(ref), &why);
	int n;

	if (!t) {
		v_err(c, "$ref \"%s\" %s", json_string_value(ref), why);
		return 1;
	}
	for (int i = 0; i < c->nref; i++)
		if (c->ref_schema[i] == t && c->ref_value[i] == v)
			return v_stop(c, "validation stopped: a $ref loops without descending into the value");
	c->ref_schema[c->nref] = t;
	c->ref_value[c->nref] = v;
	c->nref++;
	n = v_schema(c, t, v, depth + 1);
	c->nref--;
	return n;
}

static int v_schema(struct vctx *c, const json_t *s, const json_t *v, int depth)
{
	const json_t *kw;
	int n = 0;

	if (c->stopped)
		return 1;
	if (depth > JSONSCHEMA_MAX_DEPTH)
		return v_stop(c, "validation stopped: deeper than 128 schemas");
	if (++c->steps > JSONSCHEMA_MAX_STEPS)
		return v_stop(c, "validation stopped: more than 200000 steps");
	if (json_is_true(s))
		return 0;
	if (json_is_false(s)) {
		v_err(c, "is not allowed (the schema is false)");
		return 1;
	}
	if ((kw = json_object_get(s, "$ref")))
		n += v_ref(c, kw, v, depth);
	if ((kw = json_object_get(s, "type")) && v_type(c, kw, v))
		return n + 1; /* the other keywords' messages would only repeat it */
	if ((kw = json_object_get(s, "enum"))) {
		bool found = false;
		for (size_t i = 0; i < json_array_size(kw) && !found; i++)
			found = jsonschema_equal(json_array_get(kw, i), v);
		if (!found) {
			v_err(c, "must be one of %s", short_json(msg_arena(c), kw));
			n++;
		}
	}
	if ((kw = json_object_get(s, "const")) && !jsonschema_equal(kw, v)) {
		v_err(c, "must equal %s", short_json(msg_arena(c), kw));
		n++;
	}
	if (json_is_object(v))
		n += v_object(c, s, v, depth);
	else if (json_is_array(v))
		n += v_array(c, s, v, depth);
	else if (json_is_string(v))
		n += v_string(c, s, v);
	else if (is_number(v))
		n += v_number(c, s, v);
	n += v_combinators(c, s, v, depth);
	return c->stopped && !n ? 1 : n;
}

enum status jsonschema_validate(const json_t *schema, const json_t *instance, const char *prefix, struct problem *p)
{
	struct vctx *c = xcalloc(1, sizeof(*c));
	int n;

	c->root = schema;
	c->p = p;
	c->prefix = prefix && *prefix ? prefix : "$";
	buf_init(&c->path, PATH_MAX_BYTES);
	n = schema && instance ? v_schema(c, schema, instance, 0) : 1;
	if (c->stopped && p)
		problem_field(p, c->stop_field, "%s", c->stop_msg);
	free(c->stop_field);
	free(c->stop_msg);
	for (int i = 0; i < c->nre; i++)
		regfree(&c->re[i].re);
	buf_free(&c->path);
	free(c);
	return n ? ST_UNPROCESSABLE : ST_OK;
}
