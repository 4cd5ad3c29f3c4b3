/* yaml: one case per line: YAML text, and the JSON it must load as or the
 * error (line, column, words of the message) it must give. Then the writer:
 * dumps that read back equal, and the shapes a reader expects. */
#include "t.h"
#include "../../src/core/core.h"
#include "../../src/core/yaml.h"

static const struct {
	const char *yaml, *json;
	int line, column;
	const char *msg;
} cases[] = {
    {"", "null"},
    {"# only a comment\n", "null"},
    {"a: 1\nb: -2\nc: 0o17\nd: 0x1F\ne: 1.5\nf: 1e3\ng: .5\n",
     "{\"a\":1,\"b\":-2,\"c\":15,\"d\":31,\"e\":1.5,\"f\":1000.0,\"g\":0.5}"},
    {"a: true\nb: False\nc: TRUE\nd: yes\ne: on\n", "{\"a\":true,\"b\":false,\"c\":true,\"d\":\"yes\",\"e\":\"on\"}"},
    {"a: ~\nb: null\nc:\nd: 'null'\ne: \"5\"\nf: '1.5'\n",
     "{\"a\":null,\"b\":null,\"c\":null,\"d\":\"null\",\"e\":\"5\",\"f\":\"1.5\"}"},
    {"a: .inf\nb: .nan\nc: 1_000\nd: 12:30\ne: 2024-01-01\nf: 0x\n",
     "{\"a\":\".inf\",\"b\":\".nan\",\"c\":\"1_000\",\"d\":\"12:30\",\"e\":\"2024-01-01\",\"f\":\"0x\"}"},
    {"big: 99999999999999999999\n", "{\"big\":1e20}"},
    {"a: !!str 12\nb: !!int \"7\"\nc: !!float 2\nd: !!bool true\ne: !!null ''\nf: ! 3\n",
     "{\"a\":\"12\",\"b\":7,\"c\":2.0,\"d\":true,\"e\":null,\"f\":\"3\"}"},
    {"role: >\n  {topic} Senior\n  Data Researcher\n", "{\"role\":\"{topic} Senior Data Researcher\\n\"}"},
    {"b: |\n  line one\n    indented\n  ┌─┐ 🚀 émoji\n", "{\"b\":\"line one\\n  indented\\n┌─┐ 🚀 émoji\\n\"}"},
    {"b: |-\n  kept\n\n  gap\nc: >+\n  x\n\n", "{\"b\":\"kept\\n\\ngap\",\"c\":\"x\\n\\n\"}"},
    {"a: 1 # trailing comment\n# between\nb: 'it''s' # more\n", "{\"a\":1,\"b\":\"it's\"}"},
    {"l: [a, 'b', 2]\nm: {x: y}\n", "{\"l\":[\"a\",\"b\",2],\"m\":{\"x\":\"y\"}}"},
    {"- a\n- - b\n  - c\n", "[\"a\",[\"b\",\"c\"]]"},
    {"a: &x [1, 2]\nb: *x\n", "{\"a\":[1,2],\"b\":[1,2]}"},
    {"base: &b {llm: gpt, max_iter: 3}\nagent:\n  <<: *b\n  max_iter: 5\n",
     "{\"base\":{\"llm\":\"gpt\",\"max_iter\":3},\"agent\":{\"max_iter\":5,\"llm\":\"gpt\"}}"},
    {"a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n",
     "{\"a\":{\"x\":1},\"b\":{\"x\":2,\"y\":2},\"c\":{\"x\":1,\"y\":2}}"},
    {"a: &a 1\na2: *a\nb: &a 2\nc: *a\n", "{\"a\":1,\"a2\":1,\"b\":2,\"c\":2}"},
    {"1: one\ntrue: yes\n", "{\"1\":\"one\",\"true\":\"yes\"}"},
    /* errors, with where */
    {"a: 1\nb: [1, 2\n", NULL, 3, 1, "did not find expected ',' or ']'"},
    {"a:\n  b: 1\n c: 2\n", NULL, 3, 2, "did not find expected key"},
    {"a: b: c\n", NULL, 1, 5, "mapping values are not allowed"},
    {"a: \"open\n", NULL, 2, 1, "found unexpected end of stream"},
    {"a: 1\na: 2\n", NULL, 2, 1, "\"a\" appears twice"},
    {"x:\n  k: 1\n  k: 2\n", NULL, 3, 3, "\"k\" appears twice"},
    {"a: *nope\n", NULL, 1, 4, "has no anchor"},
    {"a: &r [1, *r]\n", NULL, 1, 11, "contains it"},
    {"a: !python/object:os.system x\n", NULL, 1, 4, "not supported"},
    {"a: !!binary aGk=\n", NULL, 1, 4, "not supported"},
    {"a: !!int x\n", NULL, 1, 4, "does not match"},
    {"? [a]\n: b\n", NULL, 1, 3, "plain text"},
    {"a: 1\n---\nb: 2\n", NULL, 2, 1, "more than one YAML document"},
    {"a: \"nul\\0\"\n", NULL, 1, 4, "NUL"},
    {"a: \xff\n", NULL, 1, 4, "invalid leading UTF-8 octet"},
    {"<<: 1\n", NULL, 1, 5, "merge key"},
};

static void test_cases(void)
{
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct yaml_error err;
		json_t *got = yaml_json_load(cases[i].yaml, strlen(cases[i].yaml), &err);
		if (cases[i].json) {
			json_t *want = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
			char *gs = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
			T_OK(want && got && json_equal(got, want), "load %s", cases[i].yaml);
			if (!(want && got && json_equal(got, want)))
				printf("#   got %s (%s), want %s\n", gs ? gs : "error", err.message, cases[i].json);
			free(gs);
			json_decref(want);
		} else {
			T_OK(!got, "refuse %s", cases[i].yaml);
			T_OK(strstr(err.message, cases[i].msg) != NULL, "message of %s: %s", cases[i].yaml,
			     err.message);
			T_EQ_INT(err.line, cases[i].line, "line of %s (%s)", cases[i].yaml, err.message);
			T_EQ_INT(err.column, cases[i].column, "column of %s (%s)", cases[i].yaml, err.message);
		}
		json_decref(got);
	}
}

/* Billion laughs: each level doubles; the weight cap stops it early. */
static void test_limits(void)
{
	struct buf b;
	struct yaml_error err;

	buf_init(&b, 0);
	buf_puts(&b, "l0: &l0 [\"lol lol lol lol lol lol lol lol\"]\n");
	for (int i = 1; i < 40; i++)
		buf_printf(&b, "l%d: &l%d [*l%d, *l%d, *l%d, *l%d]\n", i, i, i - 1, i - 1, i - 1, i - 1);
	json_t *v = yaml_json_load(b.data, b.len, &err);
	T_OK(!v && strstr(err.message, "expands beyond"), "billion laughs refused: %s at %d:%d", err.message, err.line,
	     err.column);
	json_decref(v);
	buf_reset(&b);

	for (int i = 0; i < YAML_MAX_DEPTH + 1; i++)
		buf_puts(&b, "[");
	v = yaml_json_load(b.data, b.len, &err);
	T_OK(!v && strstr(err.message, "deeper than"), "deep nesting refused: %s", err.message);
	json_decref(v);
	buf_reset(&b);

	/* an alias may not stack a deep node on a deep place */
	for (int i = 0; i < 40; i++)
		buf_puts(&b, "[");
	buf_puts(&b, "&d x");
	for (int i = 0; i < 40; i++)
		buf_puts(&b, "]");
	buf_puts(&b, "\n");
	char *deep = xstrdup(b.data);
	buf_reset(&b);
	buf_printf(&b, "a: &deep %s", deep);
	for (int i = 0; i < 40; i++)
		buf_puts(&b, i == 0 ? "b: " : "[");
	buf_puts(&b, "*deep");
	for (int i = 1; i < 40; i++)
		buf_puts(&b, "]");
	buf_puts(&b, "\n");
	v = yaml_json_load(b.data, b.len, &err);
	T_OK(!v && strstr(err.message, "deeper than"), "deep alias refused: %s", err.message);
	json_decref(v);
	free(deep);
	buf_reset(&b);

	char *big = xcalloc(1, YAML_MAX_INPUT + 2);
	memset(big, 'a', YAML_MAX_INPUT + 1);
	v = yaml_json_load(big, YAML_MAX_INPUT + 1, &err);
	T_OK(!v && strstr(err.message, "longer than"), "oversized text refused: %s", err.message);
	free(big);
	buf_free(&b);
}

static const char *const dumps[] = {
    "{\"role\":\"{topic} Senior Data Researcher\\n\",\"goal\":\"one line\"}",
    "{\"backstory\":\"You're a seasoned researcher.\\n\\nKnown for 🚀 and ┌─┐.\\n\",\"x\":\"no newline\\nat end\"}",
    ("{\"s\":[\"true\",\"null\",\"\",\"5\",\"0o7\",\"1.5\",\"yes\",\"No\",\"2024-01-01\",\"12:30\",\"~\",\"-\",\"#x\","
     "\"a: "
     "b\",\"- x\",\"  lead\",\"trail \",\"'q'\",\"\\\"dq\\\"\",\"<<\"]}"),
    "{\"n\":[1,-2,1.5,1.0,1e300,0.1,true,false,null],\"e\":[],\"o\":{},\"nested\":[[{\"a\":[1]}]]}",
    "{\"key with: colon\":1,\"multi\\nline key\":2,\"tabs\\there\":\"a\\tb\",\"trailing \\n spaces \\n\":\"x\"}",
    "\"just a string\"",
    "\"a root\\nblock\\n--- x\\n... y\\n\"",
    "[\"\\n\\n\",\"\\n\",\" lead\\nx\",\"x\\n  \\n\",\"x\\n  \",\"\\nfirst "
    "empty\\n\\n\\n\",\"cr\\r\\nlf\",\"nel\\u0085x\",\"ls\\u2028ps\\u2029\",\"bom\\ufeff\",\"nc\\ufffe\\uffff\","
    "\"del\\u007f\\u0001\",\"tab\\tin\\nblock\",\"... x\",\"--- y\",\"a "
    "#b\",\"a#b\",\"-x\",\"?x\",\"x:\",\"@x\",\"0x1g\",\".5\",\"+1\",\"1e5\",\"NaN\",\".Inf\"]",
    "[[{\"a\":[[1,{\"b\":{}}]],\"c\":\"d\"}],[[]],{\"k\":[{\"x\":\"multi\\nline\"}]}]",
    "[]",
};

static void test_dump(void)
{
	for (size_t i = 0; i < ARRAY_LEN(dumps); i++) {
		json_t *v = json_loads(dumps[i], JSON_DECODE_ANY, NULL);
		char *y = yaml_json_dump(v);
		struct yaml_error err;
		json_t *back = y ? yaml_json_load(y, strlen(y), &err) : NULL;
		T_OK(back && json_equal(v, back), "dump and load %s", dumps[i]);
		if (!(back && json_equal(v, back)))
			printf("#   yaml:\n%s#   error %s\n", y ? y : "(none)", back ? "-" : err.message);
		json_decref(back);
		json_decref(v);
		free(y);
	}
	/* How it reads: block scalars for multi-line text, bare words plain. */
	json_t *v = json_loads(dumps[1], 0, NULL);
	char *y = yaml_json_dump(v);
	T_EQ_STR(y,
	         "backstory: |\n  You're a seasoned researcher.\n\n  Known for 🚀 and ┌─┐.\nx: |-\n  no newline\n  at "
	         "end\n",
	         "multi-line text is a literal block scalar");
	free(y);
	json_decref(v);
	v = json_loads("{\"a\":[\"x\",\"yes\",\"1\"],\"b\":{\"c\":2}}", 0, NULL);
	y = yaml_json_dump(v);
	T_EQ_STR(y, "a:\n  - x\n  - 'yes'\n  - '1'\nb:\n  c: 2\n", "words that read as other types are quoted");
	free(y);
	json_decref(v);
}

static void test_long_key(void)
{
	char key[1200];
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = 0;
	json_t *v = json_pack("{s:[i]}", key, 1);
	char *y = yaml_json_dump(v);
	struct yaml_error err;
	json_t *back = y ? yaml_json_load(y, strlen(y), &err) : NULL;
	T_OK(back && json_equal(v, back), "a key past 1024 characters is written as an explicit key (%s)",
	     back ? "ok" : err.message);
	json_decref(back);
	json_decref(v);
	free(y);
}

int main(void)
{
	test_long_key();
	test_cases();
	test_limits();
	test_dump();
	return t_done();
}
