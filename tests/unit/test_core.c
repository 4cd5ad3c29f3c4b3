/* core: arena, buf, problem, time, ids, strings. */
#include "core/core.h"
#include "core/json_text.h"
#include "t.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void test_arena(void)
{
	struct arena *a = arena_new();
	char *s = arena_strdup(a, "hello");
	T_EQ_STR(s, "hello", "arena_strdup copies");
	char *big = arena_alloc(a, 100000);
	memset(big, 1, 100000);
	T_OK(arena_used(a) >= 100000, "arena_used counts a big block");
	T_EQ_STR(arena_printf(a, "%d-%s", 7, "x"), "7-x", "arena_printf formats");
	T_EQ_STR(arena_strndup(a, "abcdef", 3), "abc", "arena_strndup cuts");
	T_OK(arena_strdup(a, NULL) == NULL, "arena_strdup(NULL) is NULL");
	char *after = arena_strdup(a, "small after big");
	T_EQ_STR(after, "small after big", "small allocation after a big one");
	int *z = arena_zalloc(a, 64 * sizeof(int));
	int allzero = 1;
	for (int i = 0; i < 64; i++)
		allzero &= z[i] == 0;
	T_OK(allzero, "arena_zalloc zeroes");
	arena_defer(a, free, xstrdup("freed by the arena"));
	arena_free(&a);
	T_OK(a == NULL, "arena_free NULLs the pointer");
	arena_free(&a);
	T_OK(a == NULL, "arena_free on a NULLed arena is harmless and leaves it NULL");
}

static void test_buf(void)
{
	struct buf b;
	buf_init(&b, 10);
	T_EQ_INT(buf_puts(&b, "12345"), 0, "buf_puts under the cap");
	T_EQ_INT(buf_puts(&b, "123456"), -1, "buf_puts over the cap fails");
	T_EQ_INT(b.len, 5, "failed append leaves the buffer as it was");
	T_EQ_INT(buf_printf(&b, "%d", 42), 0, "buf_printf");
	T_EQ_STR(b.data, "1234542", "contents");
	char *s = buf_steal(&b);
	T_EQ_STR(s, "1234542", "buf_steal hands over");
	T_OK(b.data == NULL, "buf_steal empties");
	free(s);
	buf_init(&b, 0);
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%04d", i);
	T_EQ_INT(b.len, 4000, "unbounded buffer grows");
	buf_free(&b);
}

static void test_problem(void)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	T_EQ_INT(problem_field(&p, "name", "must not be empty"), ST_BAD_INPUT, "field error sets bad input");
	T_EQ_STR(p.fields[0].field, "name", "field name kept");
	problem_set(&p, ST_BAD_INPUT, "first %d", 1);
	problem_set(&p, ST_BAD_INPUT, "second");
	T_EQ_STR(p.detail, "first 1", "first detail wins");
	for (int i = 0; i < PROBLEM_MAX_FIELDS + 5; i++)
		problem_field(&p, "x", "y");
	T_EQ_INT(p.nfields, PROBLEM_MAX_FIELDS, "field errors are capped");
	T_EQ_INT(p.nfields_dropped, 6, "dropped ones are counted");
	T_EQ_STR(status_name(ST_NOT_FOUND), "not_found", "status_name");
	T_EQ_STR(status_name((enum status) 999), "unknown", "status_name out of range");
	arena_free(&a);
}

static void test_time(void)
{
	char out[40];
	time_iso8601(1764050854123LL, out, sizeof(out));
	T_EQ_STR(out, "2025-11-25T06:07:34.123Z", "time_iso8601");
	static const struct {
		const char *in;
		int rc;
		long long ms;
	} cases[] = {
	    {"2025-11-25T06:07:34.123Z", 0, 1764050854123LL},
	    {"2025-11-25T06:07:34Z", 0, 1764050854000LL},
	    {"2025-11-25T08:07:34+02:00", 0, 1764050854000LL},
	    {"2025-11-25t06:07:34.1z", 0, 1764050854100LL},
	    {"2025-13-25T06:07:34Z", -1, 0},
	    {"2025-11-25T06:07:34", -1, 0},
	    {"2025-11-25T06:07:34.Z", -1, 0},
	    {"2025-11-25", -1, 0},
	    {"", -1, 0},
	    {"2025-11-25T06:07:34Zjunk", -1, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t ms = 0;
		int rc = time_parse_iso8601(cases[i].in, &ms);
		T_EQ_INT(rc, cases[i].rc, "time_parse_iso8601(\"%s\") rc", cases[i].in);
		if (rc == 0)
			T_EQ_INT(ms, cases[i].ms, "time_parse_iso8601(\"%s\") value", cases[i].in);
	}
	int64_t a = time_mono_us(), b = time_mono_us();
	T_OK(b >= a, "monotonic clock does not go back");
}

static void test_ids(void)
{
	char a[37], b[37];
	id_new(a);
	id_new(b);
	T_OK(id_valid(a), "id_new is valid: %s", a);
	T_OK(strcmp(a, b) != 0, "ids differ");
	T_OK(a[14] == '7', "version 7");
	T_OK(!id_valid("not-an-id"), "id_valid rejects junk");
	T_OK(!id_valid("0190c5a0-0000-7000-8000-00000000000G"), "id_valid rejects non-hex");
	T_OK(!id_valid("0190C5A0-0000-7000-8000-000000000000"), "id_valid rejects upper case");
	T_OK(!id_valid(NULL), "id_valid(NULL)");
	/* RFC 9562 section 4: any case in, lowercase (as stored) out */
	static const struct {
		const char *in, *want;
	} low[] = {
	    {"0190C5A0-ABCD-7EF0-8000-00000000000A", "0190c5a0-abcd-7ef0-8000-00000000000a"},
	    {"0190c5A0-aBcD-7000-8000-000000000000", "0190c5a0-abcd-7000-8000-000000000000"},
	    {"0190c5a0-0000-7000-8000-000000000000", "0190c5a0-0000-7000-8000-000000000000"},
	    {"0190C5A0-0000-7000-8000-00000000000G", NULL},
	    {"0190C5A0-0000-7000-8000-0000000000001", NULL},
	    {"0190C5A0_0000-7000-8000-000000000000", NULL},
	    {"", NULL},
	    {NULL, NULL},
	};
	struct arena *ar = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(low); i++) {
		const char *got = id_lower(ar, low[i].in);
		T_OK(low[i].want ? str_eq(got, low[i].want) : got == NULL, "id_lower(%s) = %s",
		     low[i].in ? low[i].in : "NULL", got ? got : "NULL");
	}
	arena_free(&ar);
	char hx[9];
	hex_encode("\x01\xab\xff\x00", 4, hx);
	T_EQ_STR(hx, "01abff00", "hex_encode");
	char enc[16];
	b64url_encode("\xfb\xff", 2, enc);
	T_EQ_STR(enc, "-_8", "b64url_encode uses the URL alphabet without padding");
	unsigned char dec[4];
	T_EQ_INT(b64url_decode("-_8", 3, dec, sizeof(dec)), 2, "b64url_decode length");
	T_EQ_INT(b64url_decode("***", 3, dec, sizeof(dec)), -1, "b64url_decode rejects junk");
}

static void test_strings(void)
{
	int64_t v;
	static const struct {
		const char *in;
		int rc;
	} ints[] = {{"42", 0}, {"-1", -1}, {"", -1}, {" 1", -1}, {"1x", -1}, {"201", -1}, {"200", 0}, {"0", 0}};
	for (size_t i = 0; i < ARRAY_LEN(ints); i++)
		T_EQ_INT(str_to_i64(ints[i].in, 0, 200, &v), ints[i].rc, "str_to_i64(\"%s\", 0, 200)", ints[i].in);
	static const struct {
		const char *in;
		bool ok;
	} utf[] = {
	    {"plain", true},
	    {"caf\xc3\xa9", true},
	    {"\xe2\x82\xac", true},
	    {"\xf0\x9f\x98\x80", true},
	    {"\xc3", false},
	    {"\xc0\xaf", false},
	    {"\xed\xa0\x80", false},
	    {"\xff", false},
	    {"\xf4\x90\x80\x80", false},
	};
	for (size_t i = 0; i < ARRAY_LEN(utf); i++)
		T_EQ_INT(str_utf8_valid(utf[i].in, strlen(utf[i].in)), utf[i].ok, "str_utf8_valid case %zu", i);
	T_OK(!str_utf8_valid("a\0b", 3), "NUL is refused");
	T_EQ_INT(str_utf8_len("caf\xc3\xa9"), 4, "str_utf8_len counts characters");
	T_OK(str_ct_eq("abc", "abc", 3) && !str_ct_eq("abc", "abd", 3), "str_ct_eq");
	T_OK(str_startswith("postgres://x", "postgres://"), "str_startswith");
	T_OK(str_eq_nocase("Content-Type", "content-type"), "str_eq_nocase");
	T_OK(!str_eq(NULL, "x"), "str_eq(NULL)");
}

/* Costs are rounded to 1e-9 USD where computed and summed (core.h cost_round). */
static void test_cost_round(void)
{
	double noisy = (1 * 0.1 + 1 * 0.2) / 1e6, sum = 0;
	json_t *raw = json_pack("[f]", noisy);
	char *a = json_text(raw, JSON_COMPACT), *b = NULL;
	T_OK(a && strstr(a, "3.0000000000000004e-7"), "the unrounded cost carries noise: %s", a ? a : "");
	for (int i = 0; i < 1000; i++)
		sum = cost_round(sum + cost_round(noisy));
	json_t *j = json_pack("[f, f]", cost_round(noisy), sum);
	b = json_text(j, JSON_COMPACT);
	T_EQ_STR(b, "[3e-7,0.0003]", "rounded: one cost and the sum of 1000 print without noise");
	T_OK(cost_round(1.23456789049e-3) == 0.001234568 && cost_round(0) == 0, "cost_round keeps 9 decimal places");
	json_decref(raw);
	json_decref(j);
	free(a);
	free(b);
}

int main(void)
{
	core_init();
	test_arena();
	test_buf();
	test_problem();
	test_time();
	test_ids();
	test_strings();
	test_cost_round();
	return t_done();
}
