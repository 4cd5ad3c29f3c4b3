/*
 * json_query: RFC 9535 JSONPath, our own. The query is parsed whole into
 * a small tree (syntax and the function type rules of 2.4.3 checked
 * before anything runs), then evaluated over the value with a budget of
 * visited nodes. Section numbers below are RFC 9535's.
 *
 * match() and search() take I-Regexp (RFC 9485), translated to a POSIX
 * extended expression and run in a C.UTF-8 locale. Of the \p{..}
 * character properties only Lu and Ll are supported (the locale's upper
 * and lower classes); a pattern with another is not valid here, so the
 * function answers LogicalFalse, as 2.4.6 and 2.4.7 say for an invalid
 * one. "^" and "$" anchor, as in the ECMAScript mapping of RFC 9485 5.3
 * and as the JSONPath compliance test suite expects.
 */
#include "agents.h"
#include "../core/jsonschema.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAFE_INT 9007199254740991LL /* I-JSON's range for indexes (2.1) */
#define MAX_OUTPUT   (1024 * 1024)      /* bytes of the answer, as JSON */

/* ---- the tree ---- */

enum sel_kind { SEL_NAME, SEL_WILD, SEL_INDEX, SEL_SLICE, SEL_FILTER };
enum ex_kind { EX_OR, EX_AND, EX_NOT, EX_CMP, EX_LITERAL, EX_QUERY, EX_FUNC };
enum ex_type { T_VALUE, T_LOGICAL, T_NODES };
enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum fn_id { FN_LENGTH, FN_COUNT, FN_MATCH, FN_SEARCH, FN_VALUE };

struct expr;

struct sel {
	enum sel_kind kind;
	char *name; /* SEL_NAME, decoded */
	size_t name_len;
	int64_t index, start, end, step;
	bool has_start, has_end;
	struct expr *filter;
	struct sel *next;
};

struct seg {
	bool descendant;
	struct sel *sels;
	struct seg *next;
};

struct query {
	bool relative; /* "@" rather than "$" */
	bool singular; /* only single name or index selectors in child segments (2.3.5.1) */
	struct seg *segs;
};

struct expr {
	enum ex_kind kind;
	enum ex_type type;
	enum cmp_op op;
	enum fn_id fn;
	struct expr *a, *b; /* operands; function arguments */
	json_t *literal;
	struct query *q;
	regex_t re;   /* match/search with a literal pattern: compiled once */
	int re_state; /* 0 none, 1 compiled, -1 invalid */
};

struct parser {
	const char *s;
	size_t pos;
	int depth;
	struct arena *a;
	const char *err;
	size_t err_pos;
	json_t *literals; /* every literal, freed together */
	struct expr *regexes[64];
	int nregexes;
	/* A function argument parsed as a primary and then found to start a
	 * comparison or a logical expression: primary() hands it back once
	 * instead of parsing it again, so nested arguments cost linear time
	 * (a re-parse at every level of match(@.a[?match(...)]) was 2^depth). */
	struct expr *pending;
	size_t pending_at, pending_end;
};

static bool perr(struct parser *ps, const char *msg)
{
	if (!ps->err) {
		ps->err = msg;
		ps->err_pos = ps->pos;
	}
	return false;
}

static void blank(struct parser *ps)
{
	while (ps->s[ps->pos] == ' ' || ps->s[ps->pos] == '\t' || ps->s[ps->pos] == '\n' || ps->s[ps->pos] == '\r')
		ps->pos++;
}

static char peek(struct parser *ps)
{
	return ps->s[ps->pos];
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- literals (2.3.1.1, 2.3.5.1) ---- */

static int hexval(char c)
{
	return digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

static bool hex4(struct parser *ps, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(ps->s[ps->pos + (size_t) i]);
		if (h < 0)
			return perr(ps, "expected four hex digits after \\u");
		v = v << 4 | (unsigned) h;
	}
	ps->pos += 4;
	*out = v;
	return true;
}

static void put_utf8(struct buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char) cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char) (0xc0 | cp >> 6);
		u[1] = (char) (0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char) (0xe0 | cp >> 12);
		u[1] = (char) (0x80 | (cp >> 6 & 0x3f));
		u[2] = (char) (0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char) (0xf0 | cp >> 18);
		u[1] = (char) (0x80 | (cp >> 12 & 0x3f));
		u[2] = (char) (0x80 | (cp >> 6 & 0x3f));
		u[3] = (char) (0x80 | (cp & 0x3f));
		n = 4;
	}
	(void) buf_append(b, u, n);
}

/* A \u escape, with its low surrogate when it is a high one. */
static bool unicode_escape(struct parser *ps, struct buf *b)
{
	unsigned cp, lo;
	if (!hex4(ps, &cp))
		return false;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return perr(ps, "a lone low surrogate in \\u escapes");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (ps->s[ps->pos] != '\\' || ps->s[ps->pos + 1] != 'u')
			return perr(ps, "a high surrogate must be followed by a \\u low surrogate");
		ps->pos += 2;
		if (!hex4(ps, &lo))
			return false;
		if (lo < 0xdc00 || lo > 0xdfff)
			return perr(ps, "a high surrogate must be followed by a \\u low surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(b, cp);
	return true;
}

/* A quoted string; *out in the arena, NUL-terminated, *len its bytes. */
static bool string_literal(struct parser *ps, char **out, size_t *len)
{
	char quote = peek(ps);
	struct buf b;
	bool ok = false;

	buf_init(&b, AGENTS_JSONPATH_MAX_QUERY);
	ps->pos++;
	for (;;) {
		unsigned char c = (unsigned char) ps->s[ps->pos];
		if (c == '\0') {
			perr(ps, "unclosed string");
			goto out;
		}
		if (c == (unsigned char) quote) {
			ps->pos++;
			break;
		}
		if (c < 0x20) {
			perr(ps, "a control character in a string must be escaped");
			goto out;
		}
		if (c != '\\') {
			(void) buf_append(&b, &ps->s[ps->pos++], 1);
			continue;
		}
		char e = ps->s[++ps->pos], plain = 0;
		ps->pos++;
		switch (e) {
		case 'b':
			plain = '\b';
			break;
		case 'f':
			plain = '\f';
			break;
		case 'n':
			plain = '\n';
			break;
		case 'r':
			plain = '\r';
			break;
		case 't':
			plain = '\t';
			break;
		case '/':
			plain = '/';
			break;
		case '\\':
			plain = '\\';
			break;
		default:
			break;
		}
		if (plain)
			(void) buf_append(&b, &plain, 1);
		else if (e == quote)
			(void) buf_append(&b, &e, 1);
		else if (e == 'u') {
			if (!unicode_escape(ps, &b))
				goto out;
		} else {
			ps->pos--;
			perr(ps, "invalid escape in a string");
			goto out;
		}
	}
	*out = arena_memdup(ps->a, b.data ? b.data : "", b.len);
	*len = b.len;
	ok = true;
out:
	buf_free(&b);
	return ok;
}

/* An integer as 2.1 allows: no leading zeros, no "-0", within +-(2^53-1). */
static bool int_literal(struct parser *ps, int64_t *out)
{
	size_t start = ps->pos;
	bool neg = peek(ps) == '-';
	int64_t v = 0;

	if (neg)
		ps->pos++;
	if (!digit(peek(ps)))
		return perr(ps, "expected an integer");
	if (peek(ps) == '0' && (neg || digit(ps->s[ps->pos + 1]))) {
		ps->pos = start;
		return perr(ps, "an integer has no leading zeros and no \"-0\"");
	}
	while (digit(peek(ps))) {
		v = v * 10 + (peek(ps) - '0');
		ps->pos++;
		if (v > MAX_SAFE_INT) {
			ps->pos = start;
			return perr(ps, "an integer beyond +-(2^53-1)");
		}
	}
	*out = neg ? -v : v;
	return true;
}

/* number = (int / "-0") [frac] [exp] (2.3.5.1) */
static json_t *number_literal(struct parser *ps)
{
	size_t start = ps->pos;
	bool real = false;
	if (peek(ps) == '-')
		ps->pos++;
	if (!digit(peek(ps))) {
		perr(ps, "expected a number");
		return NULL;
	}
	if (peek(ps) == '0' && digit(ps->s[ps->pos + 1])) {
		perr(ps, "a number has no leading zeros");
		return NULL;
	}
	while (digit(peek(ps)))
		ps->pos++;
	if (peek(ps) == '.') {
		real = true;
		ps->pos++;
		if (!digit(peek(ps))) {
			perr(ps, "expected digits after the decimal point");
			return NULL;
		}
		while (digit(peek(ps)))
			ps->pos++;
	}
	if (peek(ps) == 'e' || peek(ps) == 'E') {
		real = true;
		ps->pos++;
		if (peek(ps) == '+' || peek(ps) == '-')
			ps->pos++;
		if (!digit(peek(ps))) {
			perr(ps, "expected digits in the exponent");
			return NULL;
		}
		while (digit(peek(ps)))
			ps->pos++;
	}
	char buf[64];
	size_t n = ps->pos - start;
	if (n >= sizeof(buf)) {
		ps->pos = start;
		perr(ps, "number too long");
		return NULL;
	}
	memcpy(buf, ps->s + start, n);
	buf[n] = '\0';
	if (!real) {
		int64_t v;
		if (str_to_i64(buf, INT64_MIN, INT64_MAX, &v) == 0)
			return json_integer(v);
	}
	double d = strtod(buf, NULL);
	if (!isfinite(d)) {
		ps->pos = start;
		perr(ps, "number out of range");
		return NULL;
	}
	return json_real(d);
}

/* ---- selectors and segments (2.3, 2.5) ---- */

static struct expr *logical_or(struct parser *ps);
static struct query *query(struct parser *ps);

static bool slice_rest(struct parser *ps, struct sel *s)
{
	/* s->start parsed (or absent); at ":" */
	s->kind = SEL_SLICE;
	s->step = 1;
	ps->pos++;
	blank(ps);
	if (peek(ps) == '-' || digit(peek(ps))) {
		if (!int_literal(ps, &s->end))
			return false;
		s->has_end = true;
		blank(ps);
	}
	if (peek(ps) == ':') {
		ps->pos++;
		blank(ps);
		if (peek(ps) == '-' || digit(peek(ps))) {
			if (!int_literal(ps, &s->step))
				return false;
		}
	}
	return true;
}

static struct sel *selector(struct parser *ps)
{
	struct sel *s = arena_zalloc(ps->a, sizeof(*s));
	char c = peek(ps);

	if (c == '\'' || c == '"') {
		s->kind = SEL_NAME;
		return string_literal(ps, &s->name, &s->name_len) ? s : NULL;
	}
	if (c == '*') {
		ps->pos++;
		s->kind = SEL_WILD;
		return s;
	}
	if (c == '?') {
		ps->pos++;
		blank(ps);
		s->kind = SEL_FILTER;
		return (s->filter = logical_or(ps)) ? s : NULL;
	}
	if (c == ':')
		return slice_rest(ps, s) ? s : NULL;
	if (c == '-' || digit(c)) {
		if (!int_literal(ps, &s->index))
			return NULL;
		blank(ps);
		if (peek(ps) == ':') {
			s->start = s->index;
			s->has_start = true;
			return slice_rest(ps, s) ? s : NULL;
		}
		s->kind = SEL_INDEX;
		return s;
	}
	perr(ps, "expected a selector: a quoted name, *, an index, a slice or a ?filter");
	return NULL;
}

static bool bracketed(struct parser *ps, struct seg *g)
{
	struct sel **tail = &g->sels;
	ps->pos++; /* "[" */
	for (;;) {
		blank(ps);
		struct sel *s = selector(ps);
		if (!s)
			return false;
		*tail = s;
		tail = &s->next;
		blank(ps);
		if (peek(ps) == ']') {
			ps->pos++;
			return true;
		}
		if (peek(ps) != ',')
			return perr(ps, "expected ',' or ']'");
		ps->pos++;
	}
}

static bool name_first(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

/* member-name-shorthand (2.5.1.1); non-ASCII bytes are taken as they
 * come: the query was checked to be UTF-8 before parsing. */
static bool shorthand(struct parser *ps, struct seg *g)
{
	size_t start = ps->pos;
	if (!name_first((unsigned char) peek(ps)))
		return perr(ps, "expected a member name, * or [");
	while (name_first((unsigned char) peek(ps)) || digit(peek(ps)))
		ps->pos++;
	struct sel *s = arena_zalloc(ps->a, sizeof(*s));
	s->kind = SEL_NAME;
	s->name_len = ps->pos - start;
	s->name = arena_strndup(ps->a, ps->s + start, s->name_len);
	g->sels = s;
	return true;
}

static struct seg *segment(struct parser *ps)
{
	struct seg *g = arena_zalloc(ps->a, sizeof(*g));
	if (peek(ps) == '[')
		return bracketed(ps, g) ? g : NULL;
	/* "." or ".." */
	ps->pos++;
	if (peek(ps) == '.') {
		g->descendant = true;
		ps->pos++;
		if (peek(ps) == '[')
			return bracketed(ps, g) ? g : NULL;
	}
	if (peek(ps) == '*') {
		ps->pos++;
		g->sels = arena_zalloc(ps->a, sizeof(*g->sels));
		g->sels->kind = SEL_WILD;
		return g;
	}
	return shorthand(ps, g) ? g : NULL;
}

static bool is_singular(const struct seg *g)
{
	for (; g; g = g->next)
		if (g->descendant || g->sels->next || (g->sels->kind != SEL_NAME && g->sels->kind != SEL_INDEX))
			return false;
	return true;
}

/* "$" or "@" and its segments; whitespace may come between segments. */
static struct query *query(struct parser *ps)
{
	struct query *q = arena_zalloc(ps->a, sizeof(*q));
	struct seg **tail = &q->segs;

	q->relative = peek(ps) == '@';
	ps->pos++;
	for (;;) {
		size_t save = ps->pos;
		blank(ps);
		if (peek(ps) != '[' && peek(ps) != '.') {
			ps->pos = save;
			break;
		}
		struct seg *g = segment(ps);
		if (!g)
			return NULL;
		*tail = g;
		tail = &g->next;
	}
	q->singular = is_singular(q->segs);
	return q;
}

/* ---- filter expressions (2.3.5) and functions (2.4) ---- */

static const struct {
	const char *name;
	enum fn_id id;
	int nargs;
	enum ex_type args[2];
	enum ex_type result;
} functions[] = {
    {"length", FN_LENGTH, 1, {T_VALUE}, T_VALUE},
    {"count", FN_COUNT, 1, {T_NODES}, T_VALUE},
    {"match", FN_MATCH, 2, {T_VALUE, T_VALUE}, T_LOGICAL},
    {"search", FN_SEARCH, 2, {T_VALUE, T_VALUE}, T_LOGICAL},
    {"value", FN_VALUE, 1, {T_NODES}, T_VALUE},
};

static struct expr *new_expr(struct parser *ps, enum ex_kind kind, enum ex_type type)
{
	struct expr *e = arena_zalloc(ps->a, sizeof(*e));
	e->kind = kind;
	e->type = type;
	return e;
}

/* Whether an argument fits a parameter's declared type (2.4.3). */
static bool arg_fits(const struct expr *e, enum ex_type want)
{
	switch (want) {
	case T_VALUE:
		return e->kind == EX_LITERAL || (e->kind == EX_QUERY && e->q->singular) ||
		       (e->kind == EX_FUNC && e->type == T_VALUE);
	case T_NODES:
		return e->kind == EX_QUERY;
	case T_LOGICAL:
		return e->type == T_LOGICAL || e->kind == EX_QUERY;
	}
	return false;
}

static struct expr *primary(struct parser *ps);

static struct expr *function_call(struct parser *ps)
{
	size_t start = ps->pos, n = 0;
	while ((peek(ps) >= 'a' && peek(ps) <= 'z') || digit(peek(ps)) || peek(ps) == '_')
		ps->pos++, n++;
	size_t fi = ARRAY_LEN(functions);
	for (size_t i = 0; i < ARRAY_LEN(functions); i++)
		if (strlen(functions[i].name) == n && !strncmp(ps->s + start, functions[i].name, n))
			fi = i;
	if (peek(ps) != '(') {
		ps->pos = start;
		perr(ps, "expected a query, a literal or a function call");
		return NULL;
	}
	if (fi == ARRAY_LEN(functions)) {
		ps->pos = start;
		perr(ps, "unknown function (length, count, match, search, value)");
		return NULL;
	}
	struct expr *e = new_expr(ps, EX_FUNC, functions[fi].result);
	struct expr **args[2] = {&e->a, &e->b};
	int nargs = 0;
	e->fn = functions[fi].id;
	ps->pos++;
	blank(ps);
	while (peek(ps) != ')') {
		size_t at = ps->pos;
		if (nargs == functions[fi].nargs) {
			perr(ps, "too many arguments");
			return NULL;
		}
		/* a plain argument (literal, query, function), else a logical
		 * expression that starts with one, or with '!' or '(' */
		struct expr *arg;
		if (peek(ps) == '!' || peek(ps) == '(') {
			if (!(arg = logical_or(ps)))
				return NULL;
		} else {
			if (!(arg = primary(ps)))
				return NULL;
			size_t end = ps->pos;
			blank(ps);
			if (peek(ps) != ',' && peek(ps) != ')') {
				ps->pending = arg;
				ps->pending_at = at;
				ps->pending_end = end;
				ps->pos = at;
				arg = logical_or(ps);
				ps->pending = NULL;
				if (!arg)
					return NULL;
			}
		}
		if (!arg_fits(arg, functions[fi].args[nargs])) {
			ps->pos = at;
			perr(ps, functions[fi].args[nargs] == T_VALUE
			             ? "this argument must be a value: a literal, a singular query or a value function"
			             : "this argument must be a query (a nodelist)");
			return NULL;
		}
		*args[nargs++] = arg;
		blank(ps);
		if (peek(ps) == ',') {
			ps->pos++;
			blank(ps);
		} else if (peek(ps) != ')') {
			perr(ps, "expected ',' or ')'");
			return NULL;
		}
	}
	ps->pos++;
	if (nargs != functions[fi].nargs) {
		ps->pos = start;
		perr(ps, functions[fi].nargs == 1 ? "this function takes one argument"
		                                  : "this function takes two arguments");
		return NULL;
	}
	if ((e->fn == FN_MATCH || e->fn == FN_SEARCH) && e->b->kind == EX_LITERAL && json_is_string(e->b->literal) &&
	    ps->nregexes < 64)
		ps->regexes[ps->nregexes++] = e; /* compiled once, after parsing */
	return e;
}

/* A literal, a query or a function call. */
static struct expr *primary(struct parser *ps)
{
	char c = peek(ps);
	struct expr *e;

	if (ps->pending && ps->pos == ps->pending_at) {
		e = ps->pending;
		ps->pending = NULL;
		ps->pos = ps->pending_end;
		return e;
	}
	if (c == '$' || c == '@') {
		e = new_expr(ps, EX_QUERY, T_NODES);
		return (e->q = query(ps)) ? e : NULL;
	}
	e = new_expr(ps, EX_LITERAL, T_VALUE);
	if (c == '\'' || c == '"') {
		char *s;
		size_t len;
		if (!string_literal(ps, &s, &len))
			return NULL;
		e->literal = json_stringn(s, len);
	} else if (c == '-' || digit(c)) {
		e->literal = number_literal(ps);
	} else if (!strncmp(ps->s + ps->pos, "true", 4) && !(ps->s[ps->pos + 4] >= 'a' && ps->s[ps->pos + 4] <= 'z')) {
		ps->pos += 4;
		e->literal = json_true();
	} else if (!strncmp(ps->s + ps->pos, "false", 5) && !(ps->s[ps->pos + 5] >= 'a' && ps->s[ps->pos + 5] <= 'z')) {
		ps->pos += 5;
		e->literal = json_false();
	} else if (!strncmp(ps->s + ps->pos, "null", 4) && !(ps->s[ps->pos + 4] >= 'a' && ps->s[ps->pos + 4] <= 'z')) {
		ps->pos += 4;
		e->literal = json_null();
	} else if (c >= 'a' && c <= 'z') {
		return function_call(ps);
	} else {
		perr(ps, "expected a query, a literal or a function call");
		return NULL;
	}
	if (!e->literal)
		return NULL;
	json_array_append_new(ps->literals, e->literal);
	return e;
}

static bool comparable(const struct expr *e)
{
	return e->kind == EX_LITERAL || (e->kind == EX_QUERY && e->q->singular) ||
	       (e->kind == EX_FUNC && e->type == T_VALUE);
}

static int comparison_op(struct parser *ps)
{
	static const struct {
		const char *tok;
		enum cmp_op op;
	} ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE}, {"<", OP_LT}, {">", OP_GT}};
	for (size_t i = 0; i < ARRAY_LEN(ops); i++)
		if (!strncmp(ps->s + ps->pos, ops[i].tok, strlen(ops[i].tok))) {
			ps->pos += strlen(ops[i].tok);
			return (int) ops[i].op;
		}
	return -1;
}

/* A test (existence or a logical function) or a comparison. */
static struct expr *test_or_comparison(struct parser *ps)
{
	size_t at = ps->pos;
	struct expr *lhs = primary(ps);
	if (!lhs)
		return NULL;
	size_t after = ps->pos;
	blank(ps);
	int op = comparison_op(ps);
	if (op < 0) {
		ps->pos = after;
		if (lhs->kind == EX_QUERY || (lhs->kind == EX_FUNC && lhs->type != T_VALUE))
			return lhs;
		ps->pos = at;
		perr(ps, lhs->kind == EX_LITERAL ? "a literal alone is not a test; compare it with something"
		                                 : "this function's value must be compared with something");
		return NULL;
	}
	if (!comparable(lhs)) {
		ps->pos = at;
		perr(ps, "only a literal, a singular query or a value function can be compared");
		return NULL;
	}
	blank(ps);
	at = ps->pos;
	struct expr *rhs = primary(ps);
	if (!rhs)
		return NULL;
	if (!comparable(rhs)) {
		ps->pos = at;
		perr(ps, "only a literal, a singular query or a value function can be compared");
		return NULL;
	}
	struct expr *e = new_expr(ps, EX_CMP, T_LOGICAL);
	e->op = (enum cmp_op) op;
	e->a = lhs;
	e->b = rhs;
	return e;
}

static struct expr *paren(struct parser *ps)
{
	struct expr *e;
	ps->pos++; /* "(" */
	blank(ps);
	if (!(e = logical_or(ps)))
		return NULL;
	blank(ps);
	if (peek(ps) != ')') {
		perr(ps, "expected ')'");
		return NULL;
	}
	ps->pos++;
	return e;
}

/* After "!": a parenthesised expression or a test, never a comparison
 * (basic-expr in 2.3.5.1). */
static struct expr *negated(struct parser *ps)
{
	size_t at = ps->pos;
	struct expr *inner;
	if (peek(ps) == '(') {
		inner = paren(ps);
	} else if ((inner = primary(ps)) &&
	           !(inner->kind == EX_QUERY || (inner->kind == EX_FUNC && inner->type != T_VALUE))) {
		ps->pos = at;
		perr(ps, "'!' applies to a query, a logical function or (...)");
		return NULL;
	}
	if (!inner)
		return NULL;
	struct expr *e = new_expr(ps, EX_NOT, T_LOGICAL);
	e->a = inner;
	return e;
}

static struct expr *basic(struct parser *ps)
{
	struct expr *e;
	if (++ps->depth > AGENTS_JSONPATH_MAX_DEPTH) {
		perr(ps, "nested too deeply");
		return NULL;
	}
	if (peek(ps) == '!') {
		ps->pos++;
		blank(ps);
		e = negated(ps);
	} else if (peek(ps) == '(') {
		e = paren(ps);
	} else {
		e = test_or_comparison(ps);
	}
	ps->depth--;
	return e;
}

static struct expr *logical_and(struct parser *ps)
{
	struct expr *lhs = basic(ps);
	for (;;) {
		size_t save = ps->pos;
		if (!lhs)
			return NULL;
		blank(ps);
		if (strncmp(ps->s + ps->pos, "&&", 2)) {
			ps->pos = save;
			return lhs;
		}
		ps->pos += 2;
		blank(ps);
		struct expr *e = new_expr(ps, EX_AND, T_LOGICAL);
		e->a = lhs;
		if (!(e->b = basic(ps)))
			return NULL;
		lhs = e;
	}
}

static struct expr *logical_or(struct parser *ps)
{
	struct expr *lhs = logical_and(ps);
	for (;;) {
		size_t save = ps->pos;
		if (!lhs)
			return NULL;
		blank(ps);
		if (strncmp(ps->s + ps->pos, "||", 2)) {
			ps->pos = save;
			return lhs;
		}
		ps->pos += 2;
		blank(ps);
		struct expr *e = new_expr(ps, EX_OR, T_LOGICAL);
		e->a = lhs;
		if (!(e->b = logical_and(ps)))
			return NULL;
		lhs = e;
	}
}

/* ---- I-Regexp (RFC 9485) to a POSIX ERE ---- */

/* One escape after "\": appended to out (inside a class when in_class);
 * false when I-Regexp does not allow it or we do not support it. */
static bool iregexp_escape(char e, bool in_class, struct buf *out)
{
	switch (e) {
	case 'n':
		return buf_append(out, "\n", 1) == 0;
	case 'r':
		return buf_append(out, "\r", 1) == 0;
	case 't':
		return buf_append(out, "\t", 1) == 0;
	default:
		break;
	}
	if (!e || !strchr("()*+-.?[\\]^{|}", e))
		return false; /* \p{..}, \d and the rest are not I-Regexp, or not supported */
	if (in_class)
		return e != ']' && e != '^' && e != '-' && e != '[' && buf_append(out, &e, 1) == 0;
	if (e == '-')
		return buf_append(out, "-", 1) == 0;
	return buf_printf(out, "\\%c", e) == 0;
}

/* \p{Lu} and \p{Ll} (\P negates), s just past the "p" or "P": the
 * locale's upper and lower classes, which follow Unicode's case mappings
 * (an approximation of the General_Category values; other categories are
 * not supported). Returns the bytes consumed, or 0. */
static size_t iregexp_category(const char *s, bool negated, bool in_class, struct buf *out)
{
	const char *cls = !strncmp(s, "{Lu}", 4) ? "[:upper:]" : !strncmp(s, "{Ll}", 4) ? "[:lower:]" : NULL;
	if (!cls || (negated && in_class))
		return 0;
	if (in_class)
		(void) buf_puts(out, cls);
	else
		(void) buf_printf(out, "[%s%s]", negated ? "^" : "", cls);
	return 4;
}

static size_t iregexp_class(const char *s, struct buf *out)
{
	struct buf items;
	bool neg = false, rbracket = false, caret = false, dash = false, lbracket = false, ok = true;
	size_t i = 0;

	buf_init(&items, 4096);
	if (s[i] == '^')
		neg = true, i++;
	for (; ok && s[i] && s[i] != ']'; i++) {
		if (s[i] == '\\') {
			char e = s[++i];
			size_t used;
			if (e == ']' || e == '^' || e == '-' || e == '[')
				rbracket |= e == ']', caret |= e == '^', dash |= e == '-', lbracket |= e == '[';
			else if (e == 'p' || e == 'P')
				ok = (used = iregexp_category(s + i + 1, e == 'P', true, &items)) > 0, i += used;
			else
				ok = iregexp_escape(e, true, &items);
		} else if (s[i] == '[') {
			ok = false; /* I-Regexp requires "[" escaped in a class */
		} else if (s[i] == '-' && (i == (neg ? 1u : 0u) || s[i + 1] == ']')) {
			dash = true;
		} else if (s[i] == '^') {
			caret = true;
		} else {
			ok = buf_append(&items, &s[i], 1) == 0;
		}
	}
	ok = ok && s[i] == ']' && (items.len || rbracket || caret || dash || lbracket);
	if (ok) {
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
	}
	buf_free(&items);
	return ok ? i + 1 : 0;
}

static bool iregexp_translate(const char *src, struct buf *out)
{
	for (size_t i = 0; src[i]; i++) {
		char c = src[i];
		if (c == '\\' && (src[i + 1] == 'p' || src[i + 1] == 'P')) {
			size_t used = iregexp_category(src + i + 2, src[i + 1] == 'P', false, out);
			if (!used)
				return false;
			i += 1 + used;
		} else if (c == '\\') {
			if (!iregexp_escape(src[++i], false, out))
				return false;
		} else if (c == '[') {
			size_t used = iregexp_class(src + i + 1, out);
			if (!used)
				return false;
			i += used;
		} else if (c == '.') {
			(void) buf_puts(out, "[^\n\r]"); /* RFC 9485 5.3 */
		} else if (c == '(' && src[i + 1] == '?') {
			return false;
		} else if (c == '{') {
			size_t j = i + 1;
			if (!digit(src[j]))
				return false;
			while (digit(src[j]))
				j++;
			if (src[j] == ',')
				for (j++; digit(src[j]); j++)
					;
			if (src[j] != '}')
				return false;
			(void) buf_append(out, src + i, j - i + 1);
			i = j;
		} else if (c == '}' || c == ']') {
			return false;
		} else {
			(void) buf_append(out, &c, 1);
		}
	}
	return true;
}

/* Compiles an I-Regexp for match (anchored) or search; -1 when invalid. */
static int iregexp_compile(const char *src, size_t len, bool anchored, regex_t *re)
{
	struct buf ere;
	int rc = -1;
	buf_init(&ere, 64 * 1024);
	if (memchr(src, '\0', len) || len > AGENTS_JSONPATH_MAX_QUERY)
		goto out;
	(void) buf_puts(&ere, anchored ? "^(" : "(");
	if (!iregexp_translate(src, &ere))
		goto out;
	if (buf_puts(&ere, anchored ? ")$" : ")") < 0)
		goto out;
	rc = jsonschema_regcomp(re, ere.data);
out:
	buf_free(&ere);
	return rc;
}

/* ---- evaluation (2.3, 2.5, 2.6) ---- */

struct nodes {
	const json_t **v;
	size_t n, cap;
};

struct eval {
	const json_t *root;
	long visits;
	bool over;
};

static bool push(struct eval *ev, struct nodes *l, const json_t *v)
{
	if (++ev->visits > AGENTS_JSONPATH_MAX_NODES) {
		ev->over = true;
		return false;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = v;
	return true;
}

static bool query_eval(struct eval *ev, const struct query *q, const json_t *current, struct nodes *out);
static bool logical(struct eval *ev, const struct expr *e, const json_t *current);

static void slice(struct eval *ev, const struct sel *s, const json_t *arr, struct nodes *out)
{
	int64_t len = (int64_t) json_array_size(arr), step = s->step;
	if (step == 0)
		return;
	int64_t start = s->has_start ? s->start : step > 0 ? 0 : len - 1;
	int64_t end = s->has_end ? s->end : step > 0 ? len : -len - 1;
	int64_t ns = start >= 0 ? start : len + start, ne = end >= 0 ? end : len + end;
	if (step > 0) {
		int64_t lo = ns < 0 ? 0 : ns > len ? len : ns, hi = ne < 0 ? 0 : ne > len ? len : ne;
		for (int64_t i = lo; i < hi && !ev->over; i += step)
			push(ev, out, json_array_get(arr, (size_t) i));
	} else {
		int64_t hi = ns < -1        ? -1
		             : ns > len - 1 ? len - 1
		                            : ns,
		        lo = ne < -1        ? -1
		             : ne > len - 1 ? len - 1
		                            : ne;
		for (int64_t i = hi; lo < i && !ev->over; i += step)
			push(ev, out, json_array_get(arr, (size_t) i));
	}
}

/* The children of v in order, for wildcards and filters. */
static void children(const json_t *v, struct nodes *tmp)
{
	tmp->n = 0;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (tmp->n == tmp->cap) {
				tmp->cap = tmp->cap ? tmp->cap * 2 : 16;
				tmp->v = xrealloc(tmp->v, tmp->cap * sizeof(*tmp->v));
			}
			tmp->v[tmp->n++] = json_array_get(v, i);
		}
	} else if (json_is_object(v)) {
		const char *k;
		json_t *item;
		json_object_foreach((json_t *) v, k, item)
		{
			if (tmp->n == tmp->cap) {
				tmp->cap = tmp->cap ? tmp->cap * 2 : 16;
				tmp->v = xrealloc(tmp->v, tmp->cap * sizeof(*tmp->v));
			}
			tmp->v[tmp->n++] = item;
		}
	}
}

static void apply_sel(struct eval *ev, const struct sel *s, const json_t *v, struct nodes *out)
{
	struct nodes kids = {0};
	switch (s->kind) {
	case SEL_NAME:
		if (json_is_object(v)) {
			const json_t *m = json_object_getn(v, s->name, s->name_len);
			if (m)
				push(ev, out, m);
		}
		break;
	case SEL_INDEX:
		if (json_is_array(v)) {
			int64_t len = (int64_t) json_array_size(v), i = s->index >= 0 ? s->index : len + s->index;
			if (i >= 0 && i < len)
				push(ev, out, json_array_get(v, (size_t) i));
		}
		break;
	case SEL_SLICE:
		if (json_is_array(v))
			slice(ev, s, v, out);
		break;
	case SEL_WILD:
		children(v, &kids);
		for (size_t i = 0; i < kids.n && !ev->over; i++)
			push(ev, out, kids.v[i]);
		break;
	case SEL_FILTER:
		children(v, &kids);
		for (size_t i = 0; i < kids.n && !ev->over; i++)
			if (logical(ev, s->filter, kids.v[i]) && !ev->over)
				push(ev, out, kids.v[i]);
		break;
	}
	free(kids.v);
}

static void apply_selectors(struct eval *ev, const struct seg *g, const json_t *v, struct nodes *out)
{
	for (const struct sel *s = g->sels; s && !ev->over; s = s->next)
		apply_sel(ev, s, v, out);
}

/* 2.5.2.2: the node, then its descendants in document order (pre-order),
 * each given the selectors; an explicit stack, so deep values cannot
 * exhaust the C stack. */
static void descendants(struct eval *ev, const struct seg *g, const json_t *v, struct nodes *out)
{
	struct nodes stack = {0}, kids = {0};
	push(ev, &stack, v);
	while (stack.n && !ev->over) {
		const json_t *cur = stack.v[--stack.n];
		apply_selectors(ev, g, cur, out);
		children(cur, &kids);
		for (size_t i = kids.n; i-- > 0 && !ev->over;)
			if (json_is_array(kids.v[i]) || json_is_object(kids.v[i]))
				push(ev, &stack, kids.v[i]);
	}
	free(stack.v);
	free(kids.v);
}

static bool query_eval(struct eval *ev, const struct query *q, const json_t *current, struct nodes *out)
{
	struct nodes cur = {0}, next = {0};
	push(ev, &cur, q->relative ? current : ev->root);
	for (const struct seg *g = q->segs; g && !ev->over; g = g->next) {
		next.n = 0;
		for (size_t i = 0; i < cur.n && !ev->over; i++) {
			if (g->descendant)
				descendants(ev, g, cur.v[i], &next);
			else
				apply_selectors(ev, g, cur.v[i], &next);
		}
		struct nodes t = cur;
		cur = next;
		next = t;
	}
	free(next.v);
	*out = cur;
	return !ev->over;
}

/* A comparable's value, or NULL for Nothing (2.3.5.2.2). *owned is a new
 * reference the caller drops (function results). */
static const json_t *value_of(struct eval *ev, const struct expr *e, const json_t *current, json_t **owned);

static json_t *function(struct eval *ev, const struct expr *e, const json_t *current)
{
	struct nodes l = {0};
	json_t *owned = NULL, *res = NULL;
	switch (e->fn) {
	case FN_COUNT:
		query_eval(ev, e->a->q, current, &l);
		res = json_integer((json_int_t) l.n);
		break;
	case FN_VALUE:
		query_eval(ev, e->a->q, current, &l);
		res = l.n == 1 ? json_incref((json_t *) l.v[0]) : NULL;
		break;
	case FN_LENGTH: {
		const json_t *v = value_of(ev, e->a, current, &owned);
		if (json_is_string(v)) {
			json_int_t n = 0;
			for (size_t i = 0; i < json_string_length(v); i++)
				n += ((unsigned char) json_string_value(v)[i] & 0xc0) != 0x80;
			res = json_integer(n);
		} else if (json_is_array(v)) {
			res = json_integer((json_int_t) json_array_size(v));
		} else if (json_is_object(v)) {
			res = json_integer((json_int_t) json_object_size(v));
		}
		break;
	}
	case FN_MATCH:
	case FN_SEARCH: {
		json_t *owned2 = NULL;
		const json_t *str = value_of(ev, e->a, current, &owned), *pat = value_of(ev, e->b, current, &owned2);
		bool found = false;
		if (json_is_string(str) && json_is_string(pat)) {
			if (e->re_state == 1) {
				found = jsonschema_regsearch(&e->re, json_string_value(str), json_string_length(str));
			} else if (e->re_state == 0) {
				regex_t re;
				ev->visits += 100; /* a compilation costs more than a visit */
				if (iregexp_compile(json_string_value(pat), json_string_length(pat), e->fn == FN_MATCH,
				                    &re) == 0) {
					found =
					    jsonschema_regsearch(&re, json_string_value(str), json_string_length(str));
					regfree(&re);
				}
			}
		}
		json_decref(owned2);
		res = found ? json_true() : json_false();
		break;
	}
	}
	free(l.v);
	json_decref(owned);
	return res;
}

static const json_t *value_of(struct eval *ev, const struct expr *e, const json_t *current, json_t **owned)
{
	*owned = NULL;
	if (e->kind == EX_LITERAL)
		return e->literal;
	if (e->kind == EX_FUNC)
		return *owned = function(ev, e, current);
	struct nodes l = {0};
	query_eval(ev, e->q, current, &l);
	const json_t *v = l.n == 1 ? l.v[0] : NULL; /* a singular query: one node or none */
	free(l.v);
	return v;
}

static bool is_num(const json_t *v)
{
	return json_is_integer(v) || json_is_real(v);
}

static bool less(const json_t *a, const json_t *b)
{
	if (is_num(a) && is_num(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) < json_integer_value(b);
		double x = json_is_integer(a) ? (double) json_integer_value(a) : json_real_value(a);
		double y = json_is_integer(b) ? (double) json_integer_value(b) : json_real_value(b);
		return x < y;
	}
	if (json_is_string(a) && json_is_string(b)) {
		/* UTF-8 byte order is Unicode scalar value order */
		size_t la = json_string_length(a), lb = json_string_length(b);
		int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
		return c < 0 || (c == 0 && la < lb);
	}
	return false;
}

static bool equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return !a && !b; /* Nothing equals only Nothing */
	return jsonschema_equal(a, b);
}

static bool compare(struct eval *ev, const struct expr *e, const json_t *current)
{
	json_t *oa, *ob;
	const json_t *a = value_of(ev, e->a, current, &oa), *b = value_of(ev, e->b, current, &ob);
	bool r = false;
	switch (e->op) {
	case OP_EQ:
		r = equal(a, b);
		break;
	case OP_NE:
		r = !equal(a, b);
		break;
	case OP_LT:
		r = a && b && less(a, b);
		break;
	case OP_LE:
		r = a && b ? less(a, b) || equal(a, b) : !a && !b;
		break;
	case OP_GT:
		r = a && b && less(b, a);
		break;
	case OP_GE:
		r = a && b ? less(b, a) || equal(a, b) : !a && !b;
		break;
	}
	json_decref(oa);
	json_decref(ob);
	return r;
}

static bool logical(struct eval *ev, const struct expr *e, const json_t *current)
{
	if (ev->over)
		return false;
	switch (e->kind) {
	case EX_OR:
		return logical(ev, e->a, current) || logical(ev, e->b, current);
	case EX_AND:
		return logical(ev, e->a, current) && logical(ev, e->b, current);
	case EX_NOT:
		return !logical(ev, e->a, current);
	case EX_CMP:
		return compare(ev, e, current);
	case EX_QUERY: {
		struct nodes l = {0};
		query_eval(ev, e->q, current, &l);
		free(l.v);
		return l.n > 0;
	}
	case EX_FUNC: {
		json_t *r = function(ev, e, current);
		bool t = json_is_true(r);
		json_decref(r);
		return t;
	}
	case EX_LITERAL:
		return false; /* the parser never puts one here */
	}
	return false;
}

/* ---- the entry points ---- */

/* Bytes v takes as compact JSON, stopping once past limit. */
static size_t json_size(const json_t *v, size_t limit, int depth)
{
	size_t n = 0;
	if (depth > 200)
		return limit + 1;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_length(v) + 2;
	case JSON_ARRAY:
		n = 2;
		for (size_t i = 0; i < json_array_size(v) && n <= limit; i++)
			n += json_size(json_array_get(v, i), limit - n, depth + 1) + 1;
		return n;
	case JSON_OBJECT: {
		const char *k;
		json_t *item;
		n = 2;
		json_object_foreach((json_t *) v, k, item)
		{
			if (n > limit)
				break;
			n += strlen(k) + 4 + json_size(item, limit - n, depth + 1);
		}
		return n;
	}
	default:
		return 24;
	}
}

static void regexes_free(struct parser *ps)
{
	for (int i = 0; i < ps->nregexes; i++)
		if (ps->regexes[i]->re_state == 1)
			regfree(&ps->regexes[i]->re);
}

enum status agents_jsonpath_query(const char *q, const json_t *value, json_t **out, struct problem *p)
{
	struct parser ps = {.s = q ? q : ""};
	struct eval ev = {.root = value};
	struct nodes res = {0};
	enum status st = ST_BAD_INPUT;
	struct query *parsed;

	*out = NULL;
	ps.a = arena_new();
	ps.literals = json_array();
	if (strlen(ps.s) > AGENTS_JSONPATH_MAX_QUERY || !str_utf8_valid(ps.s, strlen(ps.s))) {
		st = problem_field(p, "query", "must be valid UTF-8 of at most %d bytes", AGENTS_JSONPATH_MAX_QUERY);
		goto out;
	}
	if (peek(&ps) != '$') {
		perr(&ps, "a query starts with $");
	} else if ((parsed = query(&ps)) && ps.s[ps.pos] != '\0') {
		perr(&ps, ps.s[ps.pos] == ' ' ? "whitespace is not allowed here" : "unexpected character");
	}
	if (ps.err) {
		st = problem_field(p, "query", "%s at position %zu", ps.err, ps.err_pos + 1);
		goto out;
	}
	for (int i = 0; i < ps.nregexes; i++) {
		struct expr *e = ps.regexes[i];
		e->re_state = iregexp_compile(json_string_value(e->b->literal), json_string_length(e->b->literal),
		                              e->fn == FN_MATCH, &e->re) == 0
		                  ? 1
		                  : -1;
	}
	if (!value) {
		st = problem_field(p, "document", "is required: the JSON value to query");
		goto out;
	}
	query_eval(&ev, parsed, value, &res);
	if (ev.over) {
		st = problem_set(p, ST_UNPROCESSABLE, "the query visits more than %d nodes", AGENTS_JSONPATH_MAX_NODES);
		goto out;
	}
	if (res.n > AGENTS_JSONPATH_MAX_RESULTS) {
		st = problem_set(p, ST_UNPROCESSABLE, "the query selects %zu values, more than %d", res.n,
		                 AGENTS_JSONPATH_MAX_RESULTS);
		goto out;
	}
	size_t size = 2;
	for (size_t i = 0; i < res.n && size <= MAX_OUTPUT; i++)
		size += json_size(res.v[i], MAX_OUTPUT - size, 0) + 1;
	if (size > MAX_OUTPUT) {
		st = problem_set(p, ST_UNPROCESSABLE, "the selected values exceed %d bytes as JSON", MAX_OUTPUT);
		goto out;
	}
	*out = json_array();
	for (size_t i = 0; i < res.n; i++)
		json_array_append(*out, (json_t *) res.v[i]);
	st = ST_OK;
out:
	free(res.v);
	regexes_free(&ps);
	json_decref(ps.literals);
	arena_free(&ps.a);
	return st;
}

enum status agents_tool_json_query(const json_t *args, json_t **out, struct problem *p)
{
	const json_t *q = json_object_get(args, "query");
	json_t *res;
	enum status st;

	*out = NULL;
	if (!json_is_string(q))
		return problem_field(p, "query", "is required: an RFC 9535 JSONPath query such as \"$.items[0].name\"");
	if ((st = agents_jsonpath_query(json_string_value(q), json_object_get(args, "document"), &res, p)) != ST_OK)
		return st;
	*out = json_pack("{s:I,s:o}", "count", (json_int_t) json_array_size(res), "results", res);
	return ST_OK;
}
