/* core/template: crewAI's placeholder pattern, extraction and interpolation. */
#include "core/template.h"
#include "t.h"

static void test_name_valid(void)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
	    {"topic", true}, {"_x", true}, {"a-b_c9", true}, {"A", true},    {"1x", false},
	    {"-x", false},   {"", false},  {"a b", false},   {"a.b", false}, {"é", false},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		T_EQ_INT(template_name_valid(cases[i].name), cases[i].ok, "template_name_valid(\"%s\")", cases[i].name);
	T_OK(!template_name_valid(NULL), "template_name_valid(NULL)");
}

static void test_placeholders(void)
{
	static const struct {
		const char *text;
		const char *names; /* JSON array text */
	} cases[] = {
	    {"", "[]"},
	    {"no braces at all", "[]"},
	    {"Research {topic} in {current_year}", "[\"topic\", \"current_year\"]"},
	    {"{b} then {a} then {b}", "[\"b\", \"a\"]"},
	    {"{_private} {with-dash} {x9}", "[\"_private\", \"with-dash\", \"x9\"]"},
	    {"{1x} {a b} {a.b} {} { x } {x }", "[]"},
	    {"JSON: {\"name\": \"{who}\", \"n\": 1}", "[\"who\"]"},
	    {"{\"key\": \"value\"}", "[]"},
	    {"{{literal}} and {real}", "[\"real\"]"},
	    {"{{{triple}}}", "[]"},
	    {"{{odd} and {odd2}}", "[\"odd\", \"odd2\"]"},
	    {"{a}{b}", "[\"a\", \"b\"]"},
	    {"{{a}b}", "[\"a\"]"},
	    {"unclosed {topic", "[]"},
	    {"{topic}}", "[\"topic\"]"},
	    {"{ünï}", "[]"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *got = template_placeholders(cases[i].text);
		struct buf b;
		buf_init(&b, 0);
		template_render_json(&b, got);
		buf_append(&b, "", 0);
		T_EQ_STR(b.data, cases[i].names, "placeholders of \"%s\"", cases[i].text);
		buf_free(&b);
		json_decref(got);
	}
	json_t *none = template_placeholders(NULL);
	T_EQ_INT(json_array_size(none), 0, "placeholders of NULL");
	json_decref(none);
}

static void test_interpolate(void)
{
	static const char *inputs_json =
	    "{\"topic\": \"AI agents\", \"year\": 2026, \"pi\": 3.14, \"half\": 0.1, \"big\": 1e300, \"whole\": 2.0,"
	    " \"yes\": true, \"no\": false, \"nothing\": null, \"list\": [1, \"two\", [3]],"
	    " \"obj\": {\"a\": \"q\\\"uote\\n\", \"b\": {}}, \"empty\": \"\", \"tricky\": \"{topic} {{x}}\","
	    " \"utf\": \"h\\u00e9llo \\u2603\", \"ctl\": [\"\\u0001\"], \"with-dash\": \"d\"}";
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"Research {topic}", "Research AI agents"},
	    {"{topic}{topic}", "AI agentsAI agents"},
	    {"in {year}", "in 2026"},
	    {"pi={pi} half={half} big={big} whole={whole}", "pi=3.14 half=0.1 big=1e+300 whole=2.0"},
	    {"{yes}/{no}/{nothing}", "true/false/null"},
	    {"{list}", "[1, \"two\", [3]]"},
	    {"{obj}", "{\"a\": \"q\\\"uote\\n\", \"b\": {}}"},
	    {"[{empty}]", "[]"},
	    {"{tricky}", "{topic} {{x}}"},
	    {"{utf} {ctl}", "h\xc3\xa9llo \xe2\x98\x83 [\"\\u0001\"]"},
	    {"{with-dash}", "d"},
	    {"{{topic}} stays", "{{topic}} stays"},
	    {"{{topic} odd", "{AI agents odd"},
	    {"{topic}} odd", "AI agents} odd"},
	    {"{\"json\": {\"k\": [1, 2]}, \"t\": \"{topic}\"}", "{\"json\": {\"k\": [1, 2]}, \"t\": \"AI agents\"}"},
	    {"{1x} {a b} {}", "{1x} {a b} {}"},
	    {"", ""},
	    {"no placeholders", "no placeholders"},
	};
	json_t *inputs = json_loads(inputs_json, 0, NULL);
	T_OK(inputs != NULL, "inputs parse");
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct problem p;
		char *out = NULL;
		problem_init(&p, a);
		enum status st = template_interpolate(cases[i].text, inputs, 0, a, &out, &p);
		T_EQ_INT(st, ST_OK, "interpolate \"%s\" succeeds", cases[i].text);
		T_EQ_STR(out, cases[i].want, "interpolate \"%s\"", cases[i].text);
	}

	/* missing inputs: every one named, in order, nothing produced */
	struct problem p;
	char *out = (char *) "unset";
	problem_init(&p, a);
	enum status st = template_interpolate("{topic} {zeta} {alpha} {zeta}", inputs, 0, a, &out, &p);
	T_EQ_INT(st, ST_BAD_INPUT, "missing inputs are bad input");
	T_OK(out == NULL, "nothing produced on error");
	T_EQ_INT(p.nfields, 2, "two missing inputs");
	T_EQ_STR(p.nfields > 0 ? p.fields[0].field : NULL, "inputs.zeta", "first missing named");
	T_EQ_STR(p.nfields > 1 ? p.fields[1].field : NULL, "inputs.alpha", "second missing named");
	T_EQ_STR(p.detail, "2 inputs used by the text are missing", "detail counts them");

	problem_init(&p, a);
	st = template_interpolate("{x}", NULL, 0, a, &out, &p);
	T_EQ_INT(st, ST_BAD_INPUT, "NULL inputs: a placeholder is missing");
	T_EQ_STR(p.nfields > 0 ? p.fields[0].field : NULL, "inputs.x", "missing x named");

	problem_init(&p, a);
	st = template_interpolate("{\"a\": 1} {{x}}", NULL, 0, a, &out, &p);
	T_EQ_INT(st, ST_OK, "NULL inputs without placeholders is fine (crewAI refuses)");
	T_EQ_STR(out, "{\"a\": 1} {{x}}", "text unchanged");

	json_t *arr = json_array();
	problem_init(&p, a);
	st = template_interpolate("{x}", arr, 0, a, &out, &p);
	T_EQ_INT(st, ST_BAD_INPUT, "inputs must be an object");
	T_EQ_STR(p.nfields > 0 ? p.fields[0].field : NULL, "inputs", "field named");
	json_decref(arr);

	/* the output cap */
	problem_init(&p, a);
	st = template_interpolate("ab{topic}", inputs, 11, a, &out, &p);
	T_EQ_INT(st, ST_OK, "exactly at the cap");
	T_EQ_STR(out, "abAI agents", "11 bytes");
	problem_init(&p, a);
	st = template_interpolate("ab{topic}", inputs, 10, a, &out, &p);
	T_EQ_INT(st, ST_UNPROCESSABLE, "one byte over the cap");
	T_OK(out == NULL, "nothing produced over the cap");
	problem_init(&p, a);
	st = template_interpolate("{topic}abc", inputs, 10, a, &out, &p);
	T_EQ_INT(st, ST_UNPROCESSABLE, "trailing text over the cap");

	/* rendering depth: jansson values can nest deeper than JSON text parses */
	json_t *deep = json_array(), *cur = deep;
	for (int i = 0; i < 100; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	json_t *in2 = json_pack("{s:o}", "d", deep);
	problem_init(&p, a);
	st = template_interpolate("{d}", in2, 0, a, &out, &p);
	T_EQ_INT(st, ST_BAD_INPUT, "a value nested 100 deep is refused");
	T_EQ_STR(p.nfields > 0 ? p.fields[0].field : NULL, "inputs.d", "the deep input named");
	json_decref(in2);

	json_decref(inputs);
	arena_free(&a);
}

int main(void)
{
	test_name_valid();
	test_placeholders();
	test_interpolate();
	return t_done();
}
