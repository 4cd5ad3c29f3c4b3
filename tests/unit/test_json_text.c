/* json_text: the fewest digits that read back as the same double. */
#include "t.h"
#include "../../src/core/core.h"
#include "../../src/core/json_text.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *in, *want;
} cases[] = {
    {"{\"price\":0.15}", "{\"price\":0.15}"},
    {"[0.1,2.5,1e-07,3.0,100]", "[0.1,2.5,1e-7,3.0,100]"},
    {"{\"cost\":0.00015}", "{\"cost\":0.00015}"},
    /* 0.1 + 0.2 needs all 17 digits; its neighbour is printed with 17 too, and still reads back */
    {"[0.30000000000000004,0.15]", "[0.30000000000000004,0.14999999999999999]"},
    {"{\"a\":{\"b\":[1.7976931348623157e308]}}", "{\"a\":{\"b\":[1.7976931348623157e308]}}"},
    {"\"0.15\"", "\"0.15\""},
};

/* Every real printed reads back as the very same double. */
static void round_trip(double v)
{
	json_t *j = json_real(v);
	char *text = json_text(j, JSON_ENCODE_ANY);
	json_t *back = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	T_OK(back && json_real_value(back) == v, "%.17g reads back from %s", v, text ? text : "(null)");
	json_decref(back);
	free(text);
	json_decref(j);
}

int main(void)
{
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *j = json_loads(cases[i].in, JSON_DECODE_ANY, NULL);
		char *got = json_text(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		T_EQ_STR(got, cases[i].want, "%s prints shortest", cases[i].in);
		free(got);
		json_decref(j);
	}
	json_t *p = json_real(0.15);
	char *got = json_text(p, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
	T_EQ_STR(got, "0.15", "a precision in the flags is replaced");
	free(got);
	T_EQ_INT(json_text_precision(p), 15, "0.15 needs 15 digits");
	json_decref(p);
	T_EQ_INT(json_text_precision(NULL), 15, "no document: the least");

	round_trip(0.1 + 0.2);
	round_trip(5e-324);
	round_trip(2.0 / 3.0);
	round_trip(123456789.12345679);
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	int bad = 0;
	for (int i = 0; i < 20000; i++) { /* random bit patterns: every finite double must survive */
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		double v;
		memcpy(&v, &seed, sizeof(v));
		if (v != v || v - v != 0)
			continue;
		json_t *j = json_real(v);
		char *text = json_text(j, JSON_ENCODE_ANY);
		json_t *back = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
		bad += !back || json_real_value(back) != v;
		json_decref(back);
		free(text);
		json_decref(j);
	}
	T_EQ_INT(bad, 0, "20000 random doubles read back exactly");

	/* nesting deeper than the walk's bound: the safe 17 digits */
	json_t *deep = json_array(), *at = deep;
	for (int i = 0; i < 2100; i++) {
		json_t *n = json_array();
		json_array_append_new(at, n);
		at = n;
	}
	json_array_append_new(at, json_real(0.5));
	T_EQ_INT(json_text_precision(deep), 17, "past the depth bound: 17 digits");
	json_decref(deep);
	return t_done();
}
