/*
 * calculator: a recursive-descent parser that evaluates as it parses.
 *
 *   expr    = term *(("+" / "-") term)
 *   term    = unary *(("*" / "/" / "%") unary)
 *   unary   = ("-" / "+") unary / power
 *   power   = primary [("^" / "**") unary]      ; right-associative
 *   primary = number / name / name "(" [expr *("," expr)] ")" / "(" expr ")"
 *
 * Every intermediate result must be finite: an operation that would give
 * NaN or infinity stops with an error at its position.
 */
#include "agents.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALC_MAX_ARGS 32

struct calc {
	const char *s;
	size_t pos;
	int depth;
	const char *err; /* the first error wins */
	size_t err_pos;
};

static bool fail(struct calc *c, size_t pos, const char *msg)
{
	if (!c->err) {
		c->err = msg;
		c->err_pos = pos;
	}
	return false;
}

static void skip_space(struct calc *c)
{
	while (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' || c->s[c->pos] == '\n' || c->s[c->pos] == '\r')
		c->pos++;
}

/* A finite result, or an error at pos saying which. */
static bool finite_at(struct calc *c, size_t pos, double v, double *out, const char *msg)
{
	if (!isfinite(v))
		return fail(c, pos, msg);
	*out = v == 0 ? 0 : v; /* no -0 in answers */
	return true;
}

static bool expr(struct calc *c, double *out);
static bool unary(struct calc *c, double *out);

static bool number(struct calc *c, double *out)
{
	const char *start = c->s + c->pos;
	size_t n = 0;
	bool digits = false;

	while (isdigit((unsigned char) start[n]))
		n++, digits = true;
	if (start[n] == '.')
		for (n++; isdigit((unsigned char) start[n]); n++)
			digits = true;
	if (!digits)
		return fail(c, c->pos, "expected a number");
	if (start[n] == 'e' || start[n] == 'E') {
		size_t e = n + 1;
		if (start[e] == '+' || start[e] == '-')
			e++;
		if (!isdigit((unsigned char) start[e]))
			return fail(c, c->pos + n, "expected digits after the exponent");
		while (isdigit((unsigned char) start[e]))
			e++;
		n = e;
	}
	char buf[64];
	if (n >= sizeof(buf))
		return fail(c, c->pos, "number too long");
	memcpy(buf, start, n);
	buf[n] = '\0';
	double v = strtod(buf, NULL);
	if (!finite_at(c, c->pos, v, out, "number too large"))
		return false;
	c->pos += n;
	return true;
}

enum fn_id {
	FN_SQRT,
	FN_ABS,
	FN_ROUND,
	FN_FLOOR,
	FN_CEIL,
	FN_MIN,
	FN_MAX,
	FN_LOG,
	FN_LN,
	FN_EXP,
	FN_SIN,
	FN_COS,
	FN_TAN
};

static const struct {
	const char *name;
	enum fn_id id;
	int min_args, max_args;
} functions[] = {
    {"sqrt", FN_SQRT, 1, 1},
    {"abs", FN_ABS, 1, 1},
    {"round", FN_ROUND, 1, 2},
    {"floor", FN_FLOOR, 1, 1},
    {"ceil", FN_CEIL, 1, 1},
    {"min", FN_MIN, 1, CALC_MAX_ARGS},
    {"max", FN_MAX, 1, CALC_MAX_ARGS},
    {"log", FN_LOG, 1, 2},
    {"ln", FN_LN, 1, 1},
    {"exp", FN_EXP, 1, 1},
    {"sin", FN_SIN, 1, 1},
    {"cos", FN_COS, 1, 1},
    {"tan", FN_TAN, 1, 1},
};

/* round(x, digits): half away from zero, digits in [-15, 15]. */
static bool do_round(struct calc *c, size_t pos, const double *a, int n, double *out)
{
	if (n == 1)
		return finite_at(c, pos, round(a[0]), out, "round: result out of range");
	if (a[1] != floor(a[1]) || fabs(a[1]) > 15)
		return fail(c, pos, "round: digits must be a whole number from -15 to 15");
	double f = pow(10, a[1]);
	double v = round(a[0] * f) / f;
	if (!isfinite(a[0] * f))
		v = a[0]; /* already coarser than the digits asked for */
	return finite_at(c, pos, v, out, "round: result out of range");
}

static bool apply(struct calc *c, size_t pos, enum fn_id id, const double *a, int n, double *out)
{
	double v = 0;
	switch (id) {
	case FN_SQRT:
		if (a[0] < 0)
			return fail(c, pos, "sqrt of a negative number");
		v = sqrt(a[0]);
		break;
	case FN_ABS:
		v = fabs(a[0]);
		break;
	case FN_ROUND:
		return do_round(c, pos, a, n, out);
	case FN_FLOOR:
		v = floor(a[0]);
		break;
	case FN_CEIL:
		v = ceil(a[0]);
		break;
	case FN_MIN:
	case FN_MAX:
		v = a[0];
		for (int i = 1; i < n; i++)
			v = id == FN_MIN ? fmin(v, a[i]) : fmax(v, a[i]);
		break;
	case FN_LOG:
		if (a[0] <= 0)
			return fail(c, pos, "log of a number that is not positive");
		if (n == 2 && (a[1] <= 0 || a[1] == 1))
			return fail(c, pos, "log base must be positive and not 1");
		v = n == 2 ? log(a[0]) / log(a[1]) : log10(a[0]);
		break;
	case FN_LN:
		if (a[0] <= 0)
			return fail(c, pos, "ln of a number that is not positive");
		v = log(a[0]);
		break;
	case FN_EXP:
		v = exp(a[0]);
		break;
	case FN_SIN:
		v = sin(a[0]);
		break;
	case FN_COS:
		v = cos(a[0]);
		break;
	case FN_TAN:
		v = tan(a[0]);
		break;
	}
	return finite_at(c, pos, v, out, "result too large");
}

static bool call(struct calc *c, size_t pos, size_t fi, double *out)
{
	double args[CALC_MAX_ARGS];
	int n = 0;

	c->pos++; /* "(" */
	if (++c->depth > AGENTS_CALC_MAX_DEPTH)
		return fail(c, pos, "nested too deeply");
	skip_space(c);
	if (c->s[c->pos] != ')') {
		for (;;) {
			if (n == CALC_MAX_ARGS)
				return fail(c, c->pos, "too many arguments");
			if (!expr(c, &args[n++]))
				return false;
			skip_space(c);
			if (c->s[c->pos] != ',')
				break;
			c->pos++;
		}
	}
	if (c->s[c->pos] != ')')
		return fail(c, c->pos, "expected ',' or ')'");
	c->pos++;
	c->depth--;
	if (n < functions[fi].min_args || n > functions[fi].max_args)
		return fail(c, pos,
		            functions[fi].max_args == 1   ? "this function takes one argument"
		            : functions[fi].max_args == 2 ? "this function takes one or two arguments"
		                                          : "this function takes at least one argument");
	return apply(c, pos, functions[fi].id, args, n, out);
}

static bool name(struct calc *c, double *out)
{
	size_t pos = c->pos, n = 0;
	while (isalpha((unsigned char) c->s[pos + n]) || isdigit((unsigned char) c->s[pos + n]) || c->s[pos + n] == '_')
		n++;
	c->pos += n;
	skip_space(c);
	bool is_call = c->s[c->pos] == '(';
	if (!is_call && n == 2 && !strncmp(c->s + pos, "pi", 2)) {
		*out = M_PI;
		return true;
	}
	if (!is_call && n == 1 && c->s[pos] == 'e') {
		*out = M_E;
		return true;
	}
	for (size_t i = 0; i < ARRAY_LEN(functions); i++)
		if (strlen(functions[i].name) == n && !strncmp(c->s + pos, functions[i].name, n)) {
			if (!is_call)
				return fail(c, pos, "a function needs its arguments in parentheses");
			return call(c, pos, i, out);
		}
	return fail(c, pos,
	            "unknown name (functions: sqrt abs round floor ceil min max log ln exp sin cos tan; "
	            "constants: pi e)");
}

static bool primary(struct calc *c, double *out)
{
	bool ok;
	skip_space(c);
	char ch = c->s[c->pos];
	if (ch == '(') {
		size_t open = c->pos++;
		if (++c->depth > AGENTS_CALC_MAX_DEPTH)
			return fail(c, open, "nested too deeply");
		ok = expr(c, out);
		skip_space(c);
		if (ok && c->s[c->pos] != ')')
			ok = fail(c, c->s[c->pos] ? c->pos : open, c->s[c->pos] ? "expected ')'" : "unclosed '('");
		c->pos += ok;
		c->depth--;
	} else if (isdigit((unsigned char) ch) || ch == '.') {
		ok = number(c, out);
	} else if (isalpha((unsigned char) ch)) {
		ok = name(c, out);
	} else {
		ok = fail(c, c->pos, ch ? "unexpected character" : "unexpected end of the expression");
	}
	return ok;
}

static bool power(struct calc *c, double *out)
{
	double base, exponent;
	if (!primary(c, &base))
		return false;
	skip_space(c);
	size_t pos = c->pos;
	if (c->s[pos] == '^' || (c->s[pos] == '*' && c->s[pos + 1] == '*')) {
		c->pos += c->s[pos] == '^' ? 1 : 2;
		if (!unary(c, &exponent))
			return false;
		if (base == 0 && exponent < 0)
			return fail(c, pos, "division by zero (zero to a negative power)");
		if (base < 0 && exponent != floor(exponent))
			return fail(c, pos, "a negative number to a fractional power");
		return finite_at(c, pos, pow(base, exponent), out, "result too large");
	}
	*out = base;
	return true;
}

static bool unary(struct calc *c, double *out)
{
	skip_space(c);
	char ch = c->s[c->pos];
	if (ch == '-' || ch == '+') {
		bool ok;
		if (++c->depth > AGENTS_CALC_MAX_DEPTH)
			return fail(c, c->pos, "nested too deeply");
		c->pos++;
		ok = unary(c, out);
		c->depth--;
		if (ok && ch == '-')
			*out = *out == 0 ? 0 : -*out;
		return ok;
	}
	return power(c, out);
}

static bool term(struct calc *c, double *out)
{
	double rhs;
	if (!unary(c, out))
		return false;
	for (;;) {
		skip_space(c);
		size_t pos = c->pos;
		char op = c->s[pos];
		if (!(op == '*' || op == '/' || op == '%') || (op == '*' && c->s[pos + 1] == '*'))
			return true;
		c->pos++;
		if (!unary(c, &rhs))
			return false;
		if ((op == '/' || op == '%') && rhs == 0)
			return fail(c, pos, op == '/' ? "division by zero" : "modulo by zero");
		double v = op == '*' ? *out * rhs : op == '/' ? *out / rhs : *out - rhs * floor(*out / rhs);
		if (!finite_at(c, pos, v, out, "result too large"))
			return false;
	}
}

static bool expr(struct calc *c, double *out)
{
	double rhs;
	if (!term(c, out))
		return false;
	for (;;) {
		skip_space(c);
		size_t pos = c->pos;
		char op = c->s[pos];
		if (op != '+' && op != '-')
			return true;
		c->pos++;
		if (!term(c, &rhs))
			return false;
		if (!finite_at(c, pos, op == '+' ? *out + rhs : *out - rhs, out, "result too large"))
			return false;
	}
}

enum status agents_calc_eval(const char *s, double *out, struct problem *p)
{
	struct calc c = {.s = s ? s : ""};
	size_t len = strlen(c.s);

	*out = 0;
	if (len > AGENTS_CALC_MAX_INPUT)
		return problem_field(p, "expression", "is longer than %d bytes", AGENTS_CALC_MAX_INPUT);
	if (expr(&c, out)) {
		skip_space(&c);
		if (c.s[c.pos] == '\0')
			return ST_OK;
		fail(&c, c.pos, c.s[c.pos] == ')' ? "unmatched ')'" : "unexpected character");
	}
	*out = 0;
	if (c.s[c.err_pos] && c.s[c.err_pos] != ' ')
		return problem_field(p, "expression", "%s at position %zu ('%c')", c.err, c.err_pos + 1,
		                     isprint((unsigned char) c.s[c.err_pos]) ? c.s[c.err_pos] : '?');
	return problem_field(p, "expression", "%s at position %zu", c.err, c.err_pos + 1);
}

enum status agents_tool_calculator(const json_t *args, json_t **out, struct problem *p)
{
	const json_t *e = json_object_get(args, "expression");
	double v;
	enum status st;

	*out = NULL;
	if (!json_is_string(e))
		return problem_field(p, "expression", "is required: an arithmetic expression as a string");
	if ((st = agents_calc_eval(json_string_value(e), &v, p)) != ST_OK)
		return st;
	/* whole numbers that a double holds exactly answer as JSON integers */
	json_t *num = v == floor(v) && fabs(v) <= 9007199254740992.0 ? json_integer((json_int_t) v) : json_real(v);
	*out = json_pack("{s:O,s:o}", "expression", e, "result", num);
	return ST_OK;
}
