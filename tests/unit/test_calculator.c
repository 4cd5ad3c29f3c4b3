/* agents/calculator: the arithmetic parser, its errors and bounds. */
#include "agents/agents.h"
#include "t.h"

#include <math.h>

static void test_values(void)
{
	static const struct {
		const char *expr;
		double want;
	} cases[] = {
	    {"1 + 2 * 3", 7},
	    {"(1 + 2) * 3", 9},
	    {"10 / 4", 2.5},
	    {"2 ^ 10", 1024},
	    {"2 ** 10", 1024},
	    {"2 ^ 3 ^ 2", 512},
	    {"-2 ^ 2", -4},
	    {"(-2) ^ 2", 4},
	    {"2 ^ -1", 0.5},
	    {"--3", 3},
	    {"+3 - -3", 6},
	    {"7 % 3", 1},
	    {"-7 % 3", 2},
	    {"7 % -3", -2},
	    {"5.5 % 2", 1.5},
	    {"1e3 + 2.5E-1", 1000.25},
	    {".5 + 1.", 1.5},
	    {"sqrt(16) + abs(-3)", 7},
	    {"round(2.5) + round(-2.5)", 0},
	    {"round(3.14159, 2)", 3.14},
	    {"round(1234, -2)", 1200},
	    {"floor(-1.5) + ceil(1.2)", 0},
	    {"min(4, 2, 8) * max(1, 5)", 10},
	    {"log(1000)", 3},
	    {"log(8, 2)", 3},
	    {"ln(e)", 1},
	    {"exp(0)", 1},
	    {"sin(0) + cos(0) + tan(0)", 1},
	    {"pi", M_PI},
	    {"2 * pi * 3", 6 * M_PI},
	    {"  ( 1 +\t2 )\n* 2 ", 6},
	    {"0 * -1", 0},
	    {"1.5e308 + 0", 1.5e308},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		double v = -12345;
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		enum status st = agents_calc_eval(cases[i].expr, &v, &p);
		T_EQ_INT(st, ST_OK, "\"%s\" evaluates%s%s", cases[i].expr, p.nfields ? ": " : "",
		         p.nfields ? p.fields[0].message : "");
		T_OK(fabs(v - cases[i].want) <= 1e-9 * fmax(1, fabs(cases[i].want)), "\"%s\" = %.17g (got %.17g)",
		     cases[i].expr, cases[i].want, v);
		T_OK(!signbit(v) || v != 0, "\"%s\" never answers -0", cases[i].expr);
		arena_free(&a);
	}
}

static void test_errors(void)
{
	static const struct {
		const char *expr;
		const char *want;
	} cases[] = {
	    {"1 / 0", "division by zero at position 3 ('/')"},
	    {"1 / (2 - 2)", "division by zero at position 3 ('/')"},
	    {"5 % 0", "modulo by zero at position 3 ('%')"},
	    {"0 ^ -1", "division by zero (zero to a negative power) at position 3 ('^')"},
	    {"sqrt(-1)", "sqrt of a negative number at position 1 ('s')"},
	    {"ln(0)", "ln of a number that is not positive at position 1 ('l')"},
	    {"log(-1)", "log of a number that is not positive at position 1 ('l')"},
	    {"log(8, 1)", "log base must be positive and not 1 at position 1 ('l')"},
	    {"(-8) ^ 0.5", "a negative number to a fractional power at position 6 ('^')"},
	    {"10 ^ 400", "result too large at position 4 ('^')"},
	    {"1e308 * 10", "result too large at position 7 ('*')"},
	    {"exp(1000)", "result too large at position 1 ('e')"},
	    {"1e999", "number too large at position 1 ('1')"},
	    {"", "unexpected end of the expression at position 1"},
	    {"1 +", "unexpected end of the expression at position 4"},
	    {"(1 + 2", "unclosed '(' at position 1 ('(')"},
	    {"1 + 2)", "unmatched ')' at position 6 (')')"},
	    {"2 3", "unexpected character at position 3 ('3')"},
	    {"1 + x",
	     "unknown name (functions: sqrt abs round floor ceil min max log ln exp sin cos tan; constants: pi "
	     "e) at position 5 ('x')"},
	    {"__import__('os')", "unexpected character at position 1 ('_')"},
	    {"sqrt 4", "a function needs its arguments in parentheses at position 1 ('s')"},
	    {"sqrt(1, 2)", "this function takes one argument at position 1 ('s')"},
	    {"round()", "this function takes one or two arguments at position 1 ('r')"},
	    {"max()", "this function takes at least one argument at position 1 ('m')"},
	    {"round(1, 0.5)", "round: digits must be a whole number from -15 to 15 at position 1 ('r')"},
	    {"1e", "expected digits after the exponent at position 2 ('e')"},
	    {"pi(2)", "unknown name (functions: sqrt abs round floor ceil min max log ln exp sin cos tan; constants: "
	              "pi e) at position 1 ('p')"},
	    {"1 ; 2", "unexpected character at position 3 (';')"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		double v = 1;
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		enum status st = agents_calc_eval(cases[i].expr, &v, &p);
		T_EQ_INT(st, ST_BAD_INPUT, "\"%s\" is refused", cases[i].expr);
		T_EQ_STR(p.nfields ? p.fields[0].field : NULL, "expression", "\"%s\": the field", cases[i].expr);
		T_EQ_STR(p.nfields ? p.fields[0].message : NULL, cases[i].want, "\"%s\": the message", cases[i].expr);
		arena_free(&a);
	}
}

static void test_bounds_and_tool(void)
{
	struct arena *a = arena_new();
	struct problem p;
	double v;
	char deep[200];

	/* nesting: 64 parentheses pass, 65 are refused */
	for (int n = 64; n <= 65; n++) {
		size_t k = 0;
		for (int i = 0; i < n; i++)
			deep[k++] = '(';
		deep[k++] = '1';
		for (int i = 0; i < n; i++)
			deep[k++] = ')';
		deep[k] = '\0';
		problem_init(&p, a);
		T_EQ_INT(agents_calc_eval(deep, &v, &p), n <= AGENTS_CALC_MAX_DEPTH ? ST_OK : ST_BAD_INPUT,
		         "%d nested parentheses", n);
	}
	memset(deep, '-', 100);
	strcpy(deep + 100, "1");
	problem_init(&p, a);
	T_EQ_INT(agents_calc_eval(deep, &v, &p), ST_BAD_INPUT, "100 unary minus signs are refused");
	T_OK(p.nfields && strstr(p.fields[0].message, "nested too deeply"), "nesting named");

	char *longer = xmalloc(AGENTS_CALC_MAX_INPUT + 2);
	memset(longer, '1', AGENTS_CALC_MAX_INPUT + 1);
	longer[AGENTS_CALC_MAX_INPUT + 1] = '\0';
	problem_init(&p, a);
	T_EQ_INT(agents_calc_eval(longer, &v, &p), ST_BAD_INPUT, "input over the length bound");
	free(longer);

	json_t *args = json_pack("{s:s}", "expression", "6 * 7"), *out = NULL;
	problem_init(&p, a);
	T_EQ_INT(agents_tool_calculator(args, &out, &p), ST_OK, "the tool answers");
	T_OK(json_is_integer(json_object_get(out, "result")) &&
	         json_integer_value(json_object_get(out, "result")) == 42,
	     "a whole result is a JSON integer");
	json_decref(out);
	json_decref(args);
	args = json_pack("{s:s}", "expression", "1 / 3");
	problem_init(&p, a);
	agents_tool_calculator(args, &out, &p);
	T_OK(json_is_real(json_object_get(out, "result")), "a fraction is a JSON real");
	json_decref(out);
	json_decref(args);
	args = json_pack("{s:i}", "expression", 3);
	problem_init(&p, a);
	T_EQ_INT(agents_tool_calculator(args, &out, &p), ST_BAD_INPUT, "a number is not an expression");
	T_OK(out == NULL, "no answer on error");
	json_decref(args);
	arena_free(&a);
}

int main(void)
{
	test_values();
	test_errors();
	test_bounds_and_tool();
	return t_done();
}
