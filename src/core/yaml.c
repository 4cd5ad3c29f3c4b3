/*
 * yaml: YAML <-> jansson with libyaml's event parser and emitter. The
 * rules and limits are in yaml.h; the loader keeps an explicit stack, so no
 * input drives recursion.
 */
#include "core/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/core.h"

#define NODE_WEIGHT  16  /* per node, on top of a scalar's bytes */
#define MAX_ANCHORS  256 /* found by linear search: few in real files */
#define YAML_TAG_PFX "tag:yaml.org,2002:"

/* ------------------------------------------------------------------ load */

struct frame {
	json_t *node;       /* object or array being filled */
	char *anchor;       /* its anchor, registered when it closes */
	char *key;          /* object: the key waiting for its value */
	bool merge_next;    /* object: the pending key is the merge key << */
	json_t *merges;     /* object: values of <<, applied when it closes */
	yaml_mark_t key_at; /* object: where the pending key is */
	size_t weight0;     /* loader weight when the node opened */
	int height;         /* deepest child's height */
	yaml_mark_t start;  /* where the node began */
};

struct anchor {
	char *name;
	json_t *node;
	size_t weight;
	int height;
};

struct loader {
	yaml_parser_t parser;
	struct frame stack[YAML_MAX_DEPTH];
	int depth;
	struct anchor anchors[MAX_ANCHORS];
	int nanchors;
	size_t weight;
	int ndocs;
	json_t *root;
	struct yaml_error *err;
	bool failed;
	const char *text;
	size_t len;
};

static void fail_at(struct loader *l, yaml_mark_t m, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void fail_at(struct loader *l, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;

	if (l->failed)
		return;
	l->failed = true;
	l->err->line = (int) m.line + 1;
	l->err->column = (int) m.column + 1;
	va_start(ap, fmt);
	vsnprintf(l->err->message, sizeof(l->err->message), fmt, ap);
	va_end(ap);
}

/* The reader reports a byte offset, not a mark: count lines and characters. */
static yaml_mark_t mark_of_offset(const char *text, size_t len, size_t off)
{
	yaml_mark_t m = {0};

	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n')
			m.line++, m.column = 0;
		else if (((unsigned char) text[i] & 0xc0) != 0x80)
			m.column++;
	}
	return m;
}

static void fail_parser(struct loader *l)
{
	yaml_parser_t *ps = &l->parser;
	yaml_mark_t m =
	    ps->error == YAML_READER_ERROR ? mark_of_offset(l->text, l->len, ps->problem_offset) : ps->problem_mark;
	const char *problem = ps->problem ? ps->problem : "invalid YAML";

	if (ps->context)
		fail_at(l, m, "%s (%s at line %zu, column %zu)", problem, ps->context, ps->context_mark.line + 1,
		        ps->context_mark.column + 1);
	else
		fail_at(l, m, "%s", problem);
}

static bool add_weight(struct loader *l, size_t w, yaml_mark_t m)
{
	if (w > YAML_MAX_WEIGHT - l->weight) {
		fail_at(l, m, "the document expands beyond %d bytes (aliases are copied where they are used)",
		        YAML_MAX_WEIGHT);
		return false;
	}
	l->weight += w;
	return true;
}

/* YAML 1.2 core schema (YAML 1.2.2 section 10.3.2), for plain scalars. */
static bool is_null_word(const char *s)
{
	return !*s || str_eq(s, "~") || str_eq(s, "null") || str_eq(s, "Null") || str_eq(s, "NULL");
}

static int bool_word(const char *s)
{
	if (str_eq(s, "true") || str_eq(s, "True") || str_eq(s, "TRUE"))
		return 1;
	if (str_eq(s, "false") || str_eq(s, "False") || str_eq(s, "FALSE"))
		return 0;
	return -1;
}

static bool all_in(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/* [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+: an integer json_t, or a real when
 * a decimal is beyond int64, or NULL when s is no integer. */
static json_t *int_word(const char *s)
{
	const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
	int base = 10;
	char *end;

	if (str_startswith(s, "0o") && all_in(s + 2, "01234567"))
		base = 8, d = s + 2;
	else if (str_startswith(s, "0x") && all_in(s + 2, "0123456789abcdefABCDEF"))
		base = 16, d = s + 2;
	else if (!all_in(d, "0123456789"))
		return NULL;
	errno = 0;
	if (base == 10) {
		long long v = strtoll(s, &end, 10);
		if (errno == ERANGE)
			return json_real(strtod(s, NULL));
		return json_integer(v);
	}
	unsigned long long u = strtoull(d, &end, base);
	if (errno == ERANGE || u > (unsigned long long) INT64_MAX)
		return NULL; /* no JSON integer: keep the text */
	return json_integer((json_int_t) u);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static json_t *float_word(const char *s)
{
	const char *p = s;
	size_t digits = 0;

	if (*p == '-' || *p == '+')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits++;
	}
	if (!digits)
		return NULL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return NULL;
	double v = strtod(s, NULL);
	return isfinite(v) ? json_real(v) : NULL;
}

static json_t *resolve_plain(const char *s, size_t n)
{
	json_t *v;
	int b;

	if (is_null_word(s))
		return json_null();
	if ((b = bool_word(s)) >= 0)
		return json_boolean(b);
	if ((v = int_word(s)) || (v = float_word(s)))
		return v;
	return json_stringn(s, n);
}

/* An explicit standard tag decides the type; !!int and the like must fit. */
static json_t *resolve_tagged(struct loader *l, const char *tag, const char *s, size_t n, yaml_mark_t m)
{
	const char *t = tag + strlen(YAML_TAG_PFX);
	json_t *v;

	if (str_eq(tag, "!") || str_eq(tag, YAML_TAG_PFX "str"))
		return json_stringn(s, n);
	if (!str_startswith(tag, YAML_TAG_PFX) ||
	    !(str_eq(t, "null") || str_eq(t, "bool") || str_eq(t, "int") || str_eq(t, "float"))) {
		fail_at(l, m, "the tag %.64s is not supported", tag);
		return NULL;
	}
	if (str_eq(t, "null") && is_null_word(s))
		return json_null();
	if (str_eq(t, "bool") && bool_word(s) >= 0)
		return json_boolean(bool_word(s));
	v = int_word(s);
	if (str_eq(t, "int") && json_is_integer(v))
		return v;
	if (str_eq(t, "float") && (v || (v = float_word(s)))) {
		json_t *r = json_real(json_number_value(v));
		json_decref(v);
		return r;
	}
	json_decref(v);
	fail_at(l, m, "the value does not match its tag %.64s", tag);
	return NULL;
}

static bool collection_tag_ok(struct loader *l, const yaml_char_t *tag, const char *want, yaml_mark_t m)
{
	if (!tag || str_eq((const char *) tag, "!") ||
	    (str_startswith((const char *) tag, YAML_TAG_PFX) &&
	     str_eq((const char *) tag + strlen(YAML_TAG_PFX), want)))
		return true;
	fail_at(l, m, "the tag %.64s is not supported", (const char *) tag);
	return false;
}

/* Registers (or redefines, as YAML allows) an anchor for a finished node. */
static bool anchor_set(struct loader *l, const char *name, json_t *node, size_t weight, int height, yaml_mark_t m)
{
	struct anchor *a = NULL;

	for (int i = 0; i < l->nanchors; i++)
		if (str_eq(l->anchors[i].name, name))
			a = &l->anchors[i];
	if (!a) {
		if (l->nanchors == MAX_ANCHORS) {
			fail_at(l, m, "more than %d anchors", MAX_ANCHORS);
			return false;
		}
		a = &l->anchors[l->nanchors++];
		a->name = xstrdup(name);
	} else {
		json_decref(a->node);
	}
	a->node = json_incref(node);
	a->weight = weight;
	a->height = height;
	return true;
}

/* Places a finished value (a new reference, consumed) under the open
 * collection, or as the root. height: the value's own nesting height. */
static bool place(struct loader *l, json_t *v, int height, yaml_mark_t m)
{
	if (!v) {
		fail_at(l, m, "out of memory building the value");
		return false;
	}
	if (l->depth == 0) {
		json_decref(l->root);
		l->root = v;
		return true;
	}
	struct frame *f = &l->stack[l->depth - 1];
	if (height + 1 > f->height)
		f->height = height + 1;
	if (json_is_array(f->node)) {
		json_array_append_new(f->node, v);
		return true;
	}
	if (f->merge_next) {
		f->merge_next = false;
		free(f->key);
		f->key = NULL;
		if (!json_is_object(v) && !json_is_array(v))
			goto bad_merge;
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) if (!json_is_object(e)) goto bad_merge;
		}
		if (!f->merges)
			f->merges = json_array();
		json_array_append_new(f->merges, v);
		return true;
	}
	if (json_object_get(f->node, f->key)) {
		fail_at(l, f->key_at, "the key \"%.100s\" appears twice in this mapping", f->key);
		json_decref(v);
		return false;
	}
	json_object_set_new(f->node, f->key, v);
	free(f->key);
	f->key = NULL;
	return true;
bad_merge:
	fail_at(l, m, "a merge key (<<) takes a mapping or a list of mappings");
	json_decref(v);
	return false;
}

/* A scalar in key position: the key's text, kept until its value comes. */
static bool take_key(struct loader *l, struct frame *f, const yaml_event_t *ev)
{
	const char *s = (const char *) ev->data.scalar.value;

	if (str_eq(s, "<<") && ev->data.scalar.plain_implicit && !ev->data.scalar.tag) {
		if (f->merges) {
			fail_at(l, ev->start_mark, "the key \"<<\" appears twice in this mapping");
			return false;
		}
		f->merge_next = true;
	}
	f->key = xstrdup(s);
	f->key_at = ev->start_mark;
	return add_weight(l, NODE_WEIGHT + ev->data.scalar.length, ev->start_mark);
}

static bool in_key_position(struct loader *l)
{
	if (l->depth == 0)
		return false;
	struct frame *f = &l->stack[l->depth - 1];
	return json_is_object(f->node) && !f->key;
}

static bool on_scalar(struct loader *l, const yaml_event_t *ev)
{
	const char *s = (const char *) ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *) ev->data.scalar.tag;
	json_t *v;

	if (memchr(s, 0, n)) {
		fail_at(l, ev->start_mark, "a NUL character is not allowed");
		return false;
	}
	if (in_key_position(l)) {
		if (tag && !str_eq(tag, "!") && !str_eq(tag, YAML_TAG_PFX "str")) {
			fail_at(l, ev->start_mark, "mapping keys are plain text here; the tag %.64s is not supported",
			        tag);
			return false;
		}
		return take_key(l, &l->stack[l->depth - 1], ev);
	}
	if (!add_weight(l, NODE_WEIGHT + n, ev->start_mark))
		return false;
	if (tag)
		v = resolve_tagged(l, tag, s, n, ev->start_mark);
	else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		v = resolve_plain(s, n);
	else
		v = json_stringn(s, n);
	if (!v) {
		if (!l->failed)
			fail_at(l, ev->start_mark, "the value is not valid UTF-8 text");
		return false;
	}
	if (ev->data.scalar.anchor &&
	    !anchor_set(l, (const char *) ev->data.scalar.anchor, v, NODE_WEIGHT + n, 0, ev->start_mark)) {
		json_decref(v);
		return false;
	}
	return place(l, v, 0, ev->start_mark);
}

static bool on_alias(struct loader *l, const yaml_event_t *ev)
{
	const char *name = (const char *) ev->data.alias.anchor;
	const struct anchor *a = NULL;

	if (in_key_position(l)) {
		fail_at(l, ev->start_mark, "an alias as a mapping key is not supported");
		return false;
	}
	for (int i = 0; i < l->nanchors; i++)
		if (str_eq(l->anchors[i].name, name))
			a = &l->anchors[i];
	for (int i = 0; !a && i < l->depth; i++)
		if (l->stack[i].anchor && str_eq(l->stack[i].anchor, name)) {
			fail_at(l, ev->start_mark, "the alias *%.64s refers to a node that contains it", name);
			return false;
		}
	if (!a) {
		fail_at(l, ev->start_mark, "the alias *%.64s has no anchor before it", name);
		return false;
	}
	if (l->depth + a->height > YAML_MAX_DEPTH) {
		fail_at(l, ev->start_mark, "the alias *%.64s nests deeper than %d levels", name, YAML_MAX_DEPTH);
		return false;
	}
	if (!add_weight(l, a->weight, ev->start_mark))
		return false;
	return place(l, json_deep_copy(a->node), a->height, ev->start_mark);
}

static bool on_open(struct loader *l, const yaml_event_t *ev, bool mapping)
{
	const yaml_char_t *tag = mapping ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
	const yaml_char_t *anchor = mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;

	if (in_key_position(l)) {
		fail_at(l, ev->start_mark, "mapping keys must be plain text, not a %s", mapping ? "mapping" : "list");
		return false;
	}
	if (!collection_tag_ok(l, tag, mapping ? "map" : "seq", ev->start_mark))
		return false;
	if (l->depth == YAML_MAX_DEPTH) {
		fail_at(l, ev->start_mark, "the document nests deeper than %d levels", YAML_MAX_DEPTH);
		return false;
	}
	if (!add_weight(l, NODE_WEIGHT, ev->start_mark))
		return false;
	struct frame *f = &l->stack[l->depth++];
	memset(f, 0, sizeof(*f));
	f->node = mapping ? json_object() : json_array();
	f->anchor = anchor ? xstrdup((const char *) anchor) : NULL;
	f->weight0 = l->weight - NODE_WEIGHT;
	f->start = ev->start_mark;
	return true;
}

/* <<: keys the mapping does not set itself; the first merged mapping wins. */
static void apply_merges(struct frame *f)
{
	size_t i;
	json_t *m;

	json_array_foreach(f->merges, i, m)
	{
		json_t *list = json_is_array(m) ? m : NULL;
		size_t n = list ? json_array_size(list) : 1;
		for (size_t j = 0; j < n; j++) {
			json_t *src = list ? json_array_get(list, j) : m;
			const char *k;
			json_t *v;
			json_object_foreach(src, k, v) if (!json_object_get(f->node, k)) json_object_set(f->node, k, v);
		}
	}
}

static void frame_release(struct frame *f)
{
	json_decref(f->node);
	json_decref(f->merges);
	free(f->anchor);
	free(f->key);
	memset(f, 0, sizeof(*f));
}

static bool on_close(struct loader *l, const yaml_event_t *ev)
{
	struct frame f = l->stack[--l->depth];
	bool ok = true;

	memset(&l->stack[l->depth], 0, sizeof(f));
	if (f.merges)
		apply_merges(&f);
	if (f.anchor)
		ok = anchor_set(l, f.anchor, f.node, l->weight - f.weight0, f.height, f.start);
	if (ok)
		ok = place(l, json_incref(f.node), f.height, ev->start_mark);
	frame_release(&f);
	return ok;
}

static bool on_event(struct loader *l, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++l->ndocs > 1) {
			fail_at(l, ev->start_mark, "more than one YAML document (---) in one text");
			return false;
		}
		return true;
	case YAML_SCALAR_EVENT:
		return on_scalar(l, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(l, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_open(l, ev, false);
	case YAML_MAPPING_START_EVENT:
		return on_open(l, ev, true);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_close(l, ev);
	default:
		return true;
	}
}

json_t *yaml_json_load(const char *text, size_t len, struct yaml_error *err)
{
	struct loader *l = xcalloc(1, sizeof(*l));
	json_t *out = NULL;
	yaml_event_t ev;
	bool done = false;

	memset(err, 0, sizeof(*err));
	l->err = err;
	l->text = text;
	l->len = len;
	if (len > YAML_MAX_INPUT) {
		snprintf(err->message, sizeof(err->message), "the text is longer than %d bytes", YAML_MAX_INPUT);
		free(l);
		return NULL;
	}
	if (!yaml_parser_initialize(&l->parser))
		abort();
	yaml_parser_set_input_string(&l->parser, (const unsigned char *) text, len);
	while (!done && !l->failed) {
		if (!yaml_parser_parse(&l->parser, &ev)) {
			fail_parser(l);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		on_event(l, &ev);
		yaml_event_delete(&ev);
	}
	if (!l->failed)
		out = l->root ? l->root : json_null();
	else
		json_decref(l->root);
	while (l->depth > 0)
		frame_release(&l->stack[--l->depth]);
	for (int i = 0; i < l->nanchors; i++) {
		free(l->anchors[i].name);
		json_decref(l->anchors[i].node);
	}
	yaml_parser_delete(&l->parser);
	free(l);
	return out;
}

/* ------------------------------------------------------------------ dump */

/*
 * Our own writer, not libyaml's emitter: libyaml 0.2.5 counts every
 * character outside the Basic Multilingual Plane as unprintable, so one
 * emoji turns a whole prompt into a double-quoted line of \U escapes. The
 * writer picks, per string: plain when it is safe and reads back as a
 * string, a literal block (|) for multi-line text, single quotes, and
 * double quotes with escapes only for characters YAML would change (line
 * breaks other than \n, control characters, a byte order mark). The unit
 * test and the fuzz target read every dump back with the loader above.
 */

#define DUMP_MAX    (64 << 20)
#define SIMPLE_KEY  1000 /* YAML 1.2.2 section 7.4.2: simple keys up to 1024 characters */
#define DUMP_INDENT 2

/* Length of a character YAML reads as a line break or must escape (C0 and
 * C1 controls, DEL, U+2028, U+2029, BOM), or 0 for an ordinary one. tab and
 * newline are ordinary here; callers decide about them. */
static size_t special_at(const unsigned char *p, size_t left)
{
	if (*p == '\t' || *p == '\n')
		return 0;
	if (*p < 0x20 || *p == 0x7f)
		return 1;
	if (*p == 0xc2 && left > 1 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	if (*p == 0xe2 && left > 2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		return 3;
	if (*p == 0xef && left > 2 && ((p[1] == 0xbb && p[2] == 0xbf) || (p[1] == 0xbf && p[2] >= 0xbe)))
		return 3; /* BOM, and U+FFFE and U+FFFF, which libyaml refuses raw */
	return 0;
}

static bool has_special(const char *s, size_t n, bool tab_ok)
{
	for (size_t i = 0; i < n; i++)
		if (special_at((const unsigned char *) s + i, n - i) || (!tab_ok && s[i] == '\t'))
			return true;
	return false;
}

/* A string written plain must read back as a string, here (YAML 1.2 core)
 * and in PyYAML (YAML 1.1: yes/no/on/off, 0123, 1_000, 1:20, dates). */
static bool needs_quotes(const char *s, size_t n)
{
	static const char *const words11[] = {"y",  "Y",  "yes", "Yes", "YES", "n",   "N",   "no", "No",
	                                      "NO", "on", "On",  "ON",  "off", "Off", "OFF", "=",  "<<"};
	json_t *v = resolve_plain(s, n);
	bool str = json_is_string(v);

	json_decref(v);
	if (!str)
		return true;
	for (size_t i = 0; i < ARRAY_LEN(words11); i++)
		if (str_eq(s, words11[i]))
			return true;
	return strchr("0123456789+-.", s[0]) && all_in(s, "0123456789_:.+-eExXoObBabcdefABCDEFtTzZ nNiI");
}

/* A plain scalar, conservatively: no indicator first, no ": " or " #", no
 * edge spaces, nothing that would read as another type. */
static bool plain_ok(const char *s, size_t n)
{
	if (!n || strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) || s[n - 1] == ' ' || s[n - 1] == ':')
		return false;
	if (str_startswith(s, "...") || str_startswith(s, "---")) /* document markers at column 0 */
		return false;
	if (memchr(s, '\n', n) || has_special(s, n, false))
		return false;
	for (size_t i = 0; i + 1 < n; i++)
		if ((s[i] == ':' && s[i + 1] == ' ') || (s[i] == ' ' && s[i + 1] == '#'))
			return false;
	return !needs_quotes(s, n);
}

static void put_indent(struct buf *b, int indent)
{
	for (int i = 0; i < indent; i++)
		buf_append(b, " ", 1);
}

static void put_single(struct buf *b, const char *s, size_t n)
{
	buf_append(b, "'", 1);
	for (size_t i = 0; i < n; i++)
		buf_append(b, s[i] == '\'' ? "''" : s + i, s[i] == '\'' ? 2 : 1);
	buf_append(b, "'", 1);
}

static void put_double(struct buf *b, const char *s, size_t n)
{
	buf_append(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *) s + i;
		size_t k = special_at(p, n - i);
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_puts(b, "\\n");
		else if (*p == '\t')
			buf_puts(b, "\\t");
		else if (*p == '\r')
			buf_puts(b, "\\r");
		else if (k == 1)
			buf_printf(b, "\\x%02x", *p);
		else if (k == 2)
			buf_printf(b, "\\x%02x", p[1]); /* U+0080..U+009F */
		else if (k == 3)
			buf_printf(b, "\\u%04x", ((p[0] & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu));
		else
			buf_append(b, p, 1);
		if (k > 1)
			i += k - 1;
	}
	buf_append(b, "\"", 1);
}

/* A literal block: text with a line break and no other special character,
 * with at least one line holding more than spaces. */
static bool block_ok(const char *s, size_t n)
{
	bool content = false;

	if (!memchr(s, '\n', n) || has_special(s, n, true))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\n' && s[i] != ' ')
			content = true;
	return content;
}

static void put_block(struct buf *b, const char *s, size_t n, int indent)
{
	size_t trail = 0, end;

	while (trail < n && s[n - 1 - trail] == '\n')
		trail++;
	end = n - trail;
	buf_puts(b, "|");
	/* an indentation indicator when the first line could mislead detection */
	if (s[0] == ' ' || s[0] == '\n')
		buf_printf(b, "%d", DUMP_INDENT);
	buf_puts(b, trail == 0 ? "-\n" : trail == 1 ? "\n" : "+\n");
	for (size_t i = 0; i <= end;) {
		const char *nl = memchr(s + i, '\n', end - i);
		size_t len = nl ? (size_t) (nl - (s + i)) : end - i;
		if (len)
			put_indent(b, indent);
		buf_append(b, s + i, len);
		buf_puts(b, "\n");
		if (!nl)
			break;
		i += len + 1;
	}
	for (size_t t = 1; t < trail; t++)
		buf_puts(b, "\n");
}

/* Writes s in the style it needs; true when that was a block (which ends
 * its own line). */
static bool put_scalar_string(struct buf *b, const char *s, size_t n, int indent, bool key)
{
	if (plain_ok(s, n)) {
		buf_append(b, s, n);
	} else if (!key && block_ok(s, n)) {
		put_block(b, s, n, indent);
		return true;
	} else if (!memchr(s, '\n', n) && !has_special(s, n, true)) {
		put_single(b, s, n);
	} else {
		put_double(b, s, n);
	}
	return false;
}

/* The shortest text that reads back as the same double, always with a
 * point or an exponent so it reads back as a real. */
static void real_text(double d, char *out, size_t outlen)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, outlen, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
	if (!strpbrk(out, ".eEn"))
		strncat(out, ".0", outlen - strlen(out) - 1);
}

static bool is_nonempty_collection(json_t *v)
{
	return (json_is_object(v) && json_object_size(v)) || (json_is_array(v) && json_array_size(v));
}

static int put_value(struct buf *b, json_t *v, int indent, int depth);

/* After "key:" or "-": a scalar on the same line, a collection below. */
static int put_after(struct buf *b, json_t *v, int indent, int depth, bool in_seq)
{
	if (!is_nonempty_collection(v)) {
		buf_puts(b, " ");
		return put_value(b, v, indent + DUMP_INDENT, depth + 1);
	}
	if (in_seq) { /* "- a: 1" and "- - x": the nested block starts on the dash's line */
		buf_puts(b, " ");
		return put_value(b, v, -(indent + DUMP_INDENT), depth + 1);
	}
	buf_puts(b, "\n");
	return put_value(b, v, indent + DUMP_INDENT, depth + 1);
}

/* indent < 0: the first line's indentation is already written. */
static int put_value(struct buf *b, json_t *v, int indent, int depth)
{
	bool first = true;
	int ind = indent < 0 ? -indent : indent;
	char num[64];

	if (depth > YAML_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *e;
		if (!json_object_size(v))
			return buf_puts(b, "{}\n");
		json_object_foreach(v, k, e)
		{
			size_t kn = strlen(k);
			if (!first || indent >= 0)
				put_indent(b, ind);
			first = false;
			if (kn > SIMPLE_KEY) {
				buf_puts(b, "? ");
				put_scalar_string(b, k, kn, ind, true);
				buf_puts(b, "\n");
				put_indent(b, ind);
			} else {
				put_scalar_string(b, k, kn, ind, true);
			}
			buf_puts(b, ":");
			if (put_after(b, e, ind, depth, false) < 0)
				return -1;
		}
		return 0;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		if (!json_array_size(v))
			return buf_puts(b, "[]\n");
		json_array_foreach(v, i, e)
		{
			if (!first || indent >= 0)
				put_indent(b, ind);
			first = false;
			buf_puts(b, "-");
			if (put_after(b, e, ind, depth, true) < 0)
				return -1;
		}
		return 0;
	}
	case JSON_STRING:
		/* a block at the root still indents, so no line reads as --- or ... */
		if (!put_scalar_string(b, json_string_value(v), json_string_length(v), depth ? ind : DUMP_INDENT,
		                       false))
			buf_puts(b, "\n");
		return 0;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
		return buf_puts(b, num);
	case JSON_REAL:
		real_text(json_real_value(v), num, sizeof(num) - 1);
		strcat(num, "\n");
		return buf_puts(b, num);
	case JSON_TRUE:
		return buf_puts(b, "true\n");
	case JSON_FALSE:
		return buf_puts(b, "false\n");
	case JSON_NULL:
		return buf_puts(b, "null\n");
	}
	return -1;
}

char *yaml_json_dump(json_t *v)
{
	struct buf b;

	buf_init(&b, 0); /* the size is checked once at the end: no append fails midway */
	if (!v || put_value(&b, v, 0, 0) < 0 || b.len > DUMP_MAX) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}
