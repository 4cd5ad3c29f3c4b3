/* agents/jsonpath: RFC 9535's own examples (the tables of section 2),
 * its comparison table, the function well-typedness rules, invalid
 * queries, and the bounds. */
#include "agents/agents.h"
#include "t.h"

/* Figure 1 of RFC 9535 */
static const char *bookstore =
    "{\"store\": {\"book\": ["
    "{\"category\": \"reference\", \"author\": \"Nigel Rees\", \"title\": \"Sayings of the Century\", \"price\": 8.95},"
    "{\"category\": \"fiction\", \"author\": \"Evelyn Waugh\", \"title\": \"Sword of Honour\", \"price\": 12.99},"
    "{\"category\": \"fiction\", \"author\": \"Herman Melville\", \"title\": \"Moby Dick\", \"isbn\": "
    "\"0-553-21311-3\", \"price\": 8.99},"
    "{\"category\": \"fiction\", \"author\": \"J. R. R. Tolkien\", \"title\": \"The Lord of the Rings\", \"isbn\": "
    "\"0-395-19395-8\", \"price\": 22.99}],"
    "\"bicycle\": {\"color\": \"red\", \"price\": 399}}}";

/* 2.3.5.3 */
static const char *filter_doc =
    "{\"a\": [3, 5, 1, 2, 4, 6, {\"b\": \"j\"}, {\"b\": \"k\"}, {\"b\": {}}, {\"b\": \"kilo\"}],"
    " \"o\": {\"p\": 1, \"q\": 2, \"r\": 3, \"s\": 5, \"t\": {\"u\": 6}}, \"e\": \"f\"}";
/* 2.5.2.3 */
static const char *desc_doc = "{\"o\": {\"j\": 1, \"k\": 2}, \"a\": [5, 3, [{\"j\": 4}, {\"k\": 6}]]}";
/* 2.6.1 */
static const char *null_doc = "{\"a\": null, \"b\": [null], \"c\": [{}], \"null\": 1}";
/* Table 11 */
static const char *cmp_doc = "{\"obj\": {\"x\": \"y\"}, \"arr\": [2, 3]}";

static const struct {
	const char **doc;
	const char *text; /* when doc is NULL */
	const char *query;
	const char *want; /* the nodelist's values as JSON, or "!" + the start of the error */
} cases[] = {
    /* Table 2 / 3 */
    {&bookstore, NULL, "$.store.book[*].author",
     "[\"Nigel Rees\", \"Evelyn Waugh\", \"Herman Melville\", \"J. R. R. Tolkien\"]"},
    {&bookstore, NULL, "$..author", "[\"Nigel Rees\", \"Evelyn Waugh\", \"Herman Melville\", \"J. R. R. Tolkien\"]"},
    {&bookstore, NULL, "$.store.*", "!2"},
    {&bookstore, NULL, "$.store..price", "[8.95, 12.99, 8.99, 22.99, 399]"},
    {&bookstore, NULL, "$..book[2].author", "[\"Herman Melville\"]"},
    {&bookstore, NULL, "$..book[2].publisher", "[]"},
    {&bookstore, NULL, "$..book[-1].title", "[\"The Lord of the Rings\"]"},
    {&bookstore, NULL, "$..book[0,1].title", "[\"Sayings of the Century\", \"Sword of Honour\"]"},
    {&bookstore, NULL, "$..book[:2].title", "[\"Sayings of the Century\", \"Sword of Honour\"]"},
    {&bookstore, NULL, "$..book[?@.isbn].title", "[\"Moby Dick\", \"The Lord of the Rings\"]"},
    {&bookstore, NULL, "$..book[?@.price<10].title", "[\"Sayings of the Century\", \"Moby Dick\"]"},
    {&bookstore, NULL, "$..*", "!27"},
    /* 2.3.1.3 */
    {NULL, "{\"o\": {\"j j\": {\"k.k\": 3}}, \"'\": {\"@\": 2}}", "$.o['j j']", "[{\"k.k\": 3}]"},
    {NULL, "{\"o\": {\"j j\": {\"k.k\": 3}}, \"'\": {\"@\": 2}}", "$.o['j j']['k.k']", "[3]"},
    {NULL, "{\"o\": {\"j j\": {\"k.k\": 3}}, \"'\": {\"@\": 2}}", "$.o[\"j j\"][\"k.k\"]", "[3]"},
    {NULL, "{\"o\": {\"j j\": {\"k.k\": 3}}, \"'\": {\"@\": 2}}", "$[\"'\"][\"@\"]", "[2]"},
    /* 2.3.2.3 */
    {NULL, "{\"o\": {\"j\": 1, \"k\": 2}, \"a\": [5, 3]}", "$[*]", "[{\"j\": 1, \"k\": 2}, [5, 3]]"},
    {NULL, "{\"o\": {\"j\": 1, \"k\": 2}, \"a\": [5, 3]}", "$.o[*]", "[1, 2]"},
    {NULL, "{\"o\": {\"j\": 1, \"k\": 2}, \"a\": [5, 3]}", "$.o[*, *]", "[1, 2, 1, 2]"},
    {NULL, "{\"o\": {\"j\": 1, \"k\": 2}, \"a\": [5, 3]}", "$.a[*]", "[5, 3]"},
    /* 2.3.3.3 */
    {NULL, "[\"a\", \"b\"]", "$[1]", "[\"b\"]"},
    {NULL, "[\"a\", \"b\"]", "$[-2]", "[\"a\"]"},
    {NULL, "[\"a\", \"b\"]", "$[2]", "[]"},
    {NULL, "[\"a\", \"b\"]", "$[-3]", "[]"},
    /* 2.3.4.3 */
    {NULL, "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]", "$[1:3]", "[\"b\", \"c\"]"},
    {NULL, "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]", "$[5:]", "[\"f\", \"g\"]"},
    {NULL, "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]", "$[1:5:2]", "[\"b\", \"d\"]"},
    {NULL, "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]", "$[5:1:-2]", "[\"f\", \"d\"]"},
    {NULL, "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]", "$[::-1]",
     "[\"g\", \"f\", \"e\", \"d\", \"c\", \"b\", \"a\"]"},
    {NULL, "[\"a\", \"b\", \"c\"]", "$[::0]", "[]"},
    {NULL, "[\"a\", \"b\", \"c\"]", "$[-100:100]", "[\"a\", \"b\", \"c\"]"},
    {NULL, "[\"a\", \"b\", \"c\"]", "$[100:-100:-1]", "[\"c\", \"b\", \"a\"]"},
    {NULL, "[\"a\", \"b\", \"c\"]", "$[ 1 : 2 ]", "[\"b\"]"},
    /* Table 12 (2.3.5.3) */
    {&filter_doc, NULL, "$.a[?@.b == 'kilo']", "[{\"b\": \"kilo\"}]"},
    {&filter_doc, NULL, "$.a[?(@.b == 'kilo')]", "[{\"b\": \"kilo\"}]"},
    {&filter_doc, NULL, "$.a[?@>3.5]", "[5, 4, 6]"},
    {&filter_doc, NULL, "$.a[?@.b]", "[{\"b\": \"j\"}, {\"b\": \"k\"}, {\"b\": {}}, {\"b\": \"kilo\"}]"},
    {&filter_doc, NULL, "$[?@.*]",
     "[[3, 5, 1, 2, 4, 6, {\"b\": \"j\"}, {\"b\": \"k\"}, {\"b\": {}}, {\"b\": \"kilo\"}], {\"p\": 1, \"q\": 2, "
     "\"r\": 3, \"s\": 5, \"t\": {\"u\": 6}}]"},
    {&filter_doc, NULL, "$[?@[?@.b]]",
     "[[3, 5, 1, 2, 4, 6, {\"b\": \"j\"}, {\"b\": \"k\"}, {\"b\": {}}, {\"b\": \"kilo\"}]]"},
    {&filter_doc, NULL, "$.o[?@<3, ?@<3]", "[1, 2, 1, 2]"},
    {&filter_doc, NULL, "$.a[?@<2 || @.b == \"k\"]", "[1, {\"b\": \"k\"}]"},
    {&filter_doc, NULL, "$.a[?match(@.b, \"[jk]\")]", "[{\"b\": \"j\"}, {\"b\": \"k\"}]"},
    {&filter_doc, NULL, "$.a[?search(@.b, \"[jk]\")]", "[{\"b\": \"j\"}, {\"b\": \"k\"}, {\"b\": \"kilo\"}]"},
    {&filter_doc, NULL, "$.o[?@>1 && @<4]", "[2, 3]"},
    {&filter_doc, NULL, "$.o[?@.u || @.x]", "[{\"u\": 6}]"},
    {&filter_doc, NULL, "$.a[?@.b == $.x]", "[3, 5, 1, 2, 4, 6]"},
    {&filter_doc, NULL, "$.a[?@ == @]", "!10"},
    {&filter_doc, NULL, "$.a[?!@.b]", "[3, 5, 1, 2, 4, 6]"},
    {&filter_doc, NULL, "$.a[?!(@.b == 'j')]", "!9"},
    {&filter_doc, NULL, "$.a[?length(@.b) == 4]", "[{\"b\": \"kilo\"}]"},
    {&filter_doc, NULL, "$[?count(@.*) == 5]", "[{\"p\": 1, \"q\": 2, \"r\": 3, \"s\": 5, \"t\": {\"u\": 6}}]"},
    {&filter_doc, NULL, "$.o[?value(@..u) == 6]", "[{\"u\": 6}]"},
    {&filter_doc, NULL, "$.a[?match(@.b, 'k.*')]", "[{\"b\": \"k\"}, {\"b\": \"kilo\"}]"},
    {&filter_doc, NULL, "$.a[?match(@.b, $.e)]", "[]"},
    {&filter_doc, NULL, "$.a[?search(@.b, '(')]", "[]"},
    {&filter_doc, NULL, "$.a[?search(@.b, '\\\\p{L}')]", "[]"},
    /* a pattern regcomp cannot build in bounded time or memory is not a
     * valid I-Regexp (RFC 9485 4: one quantifier per atom): no match */
    {NULL, "[\"88\", \"aa\"]", "$[?search(@, '8++++++++++++++++++++++++')]", "[]"},
    {NULL, "[\"88\", \"aa\"]", "$[?search(@, '8+*')]", "[]"},
    {NULL, "[\"88\", \"aa\"]", "$[?match(@, '(8{1000}){1000}')]", "[]"},
    {NULL, "[\"88\", \"aa\"]", "$[?match(@, '(8{1}){2}')]", "[\"88\"]"},
    /* match/search: a pattern that is not a string, anchors, case classes */
    {NULL, "[\"1\", \"a\"]", "$[?match(@, 1)]", "[]"},
    {NULL, "[\"1\", \"a\"]", "$[?search(@, null)]", "[]"},
    {NULL, "[\"abc\", \"xab\", \"ab\"]", "$[?match(@, '^ab.*')]", "[\"abc\", \"ab\"]"},
    {NULL, "[\"abc\", \"cab\"]", "$[?search(@, 'c$')]", "[\"abc\"]"},
    {NULL, "[\"a.c\", \"abc\"]", "$[?match(@, 'a\\\\.c')]", "[\"a.c\"]"},
    {NULL, "[\"\\u0416\", \"\\u0436\", \"A\", \"1\"]", "$[?match(@, '\\\\p{Lu}')]", "[\"\\u0416\", \"A\"]"},
    {NULL, "[\"\\u0416\", \"\\u0436\", \"A\", \"1\"]", "$[?match(@, '\\\\P{Lu}')]", "[\"\\u0436\", \"1\"]"},
    {NULL, "[\"\\u0416\", \"\\u0436\", \"A\", \"1\"]", "$[?match(@, '[\\\\p{Ll}0-9]')]", "[\"\\u0436\", \"1\"]"},
    {NULL, "[\"\\u0416\"]", "$[?match(@, '\\\\p{Greek}')]", "[]"},
    {NULL, "[\"a\\nb\", \"axb\"]", "$[?match(@, 'a.b')]", "[\"axb\"]"},
    {NULL, "[\"ab\", \"aab\"]", "$[?match(@, 'a{2}b')]", "[\"aab\"]"},
    {NULL, "[\"ab\"]", "$[?match(@, 'a{')]", "[]"},
    /* Table 16 (2.5.2.3) */
    {&desc_doc, NULL, "$..j", "[1, 4]"},
    {&desc_doc, NULL, "$..[0]", "[5, {\"j\": 4}]"},
    {&desc_doc, NULL, "$..[*]",
     "[{\"j\": 1, \"k\": 2}, [5, 3, [{\"j\": 4}, {\"k\": 6}]], 1, 2, 5, 3, [{\"j\": 4}, {\"k\": 6}], {\"j\": 4}, "
     "{\"k\": 6}, 4, 6]"},
    {&desc_doc, NULL, "$..*",
     "[{\"j\": 1, \"k\": 2}, [5, 3, [{\"j\": 4}, {\"k\": 6}]], 1, 2, 5, 3, [{\"j\": 4}, {\"k\": 6}], {\"j\": 4}, "
     "{\"k\": 6}, 4, 6]"},
    {&desc_doc, NULL, "$..o", "[{\"j\": 1, \"k\": 2}]"},
    {&desc_doc, NULL, "$.o..[*, *]", "[1, 2, 1, 2]"},
    {&desc_doc, NULL, "$.a..[0, 1]", "[5, 3, {\"j\": 4}, {\"k\": 6}]"},
    /* Table 17 (2.6.1) */
    {&null_doc, NULL, "$.a", "[null]"},
    {&null_doc, NULL, "$.a[0]", "[]"},
    {&null_doc, NULL, "$.a.d", "[]"},
    {&null_doc, NULL, "$.b[0]", "[null]"},
    {&null_doc, NULL, "$.b[*]", "[null]"},
    {&null_doc, NULL, "$.b[?@]", "[null]"},
    {&null_doc, NULL, "$.b[?@==null]", "[null]"},
    {&null_doc, NULL, "$.c[?@.d==null]", "[]"},
    {&null_doc, NULL, "$.null", "[1]"},
    /* Table 11 (2.3.5.2): each true comparison selects both members of the root */
    {&cmp_doc, NULL, "$[?$.absent1 == $.absent2]", "!2"},
    {&cmp_doc, NULL, "$[?$.absent1 <= $.absent2]", "!2"},
    {&cmp_doc, NULL, "$[?$.absent == 'g']", "!0"},
    {&cmp_doc, NULL, "$[?$.absent1 != $.absent2]", "!0"},
    {&cmp_doc, NULL, "$[?$.absent != 'g']", "!2"},
    {&cmp_doc, NULL, "$[?1 <= 2]", "!2"},
    {&cmp_doc, NULL, "$[?1 > 2]", "!0"},
    {&cmp_doc, NULL, "$[?13 == '13']", "!0"},
    {&cmp_doc, NULL, "$[?'a' <= 'b']", "!2"},
    {&cmp_doc, NULL, "$[?'a' > 'b']", "!0"},
    {&cmp_doc, NULL, "$[?$.obj == $.arr]", "!0"},
    {&cmp_doc, NULL, "$[?$.obj != $.arr]", "!2"},
    {&cmp_doc, NULL, "$[?$.obj == $.obj]", "!2"},
    {&cmp_doc, NULL, "$[?$.obj != $.obj]", "!0"},
    {&cmp_doc, NULL, "$[?$.arr == $.arr]", "!2"},
    {&cmp_doc, NULL, "$[?$.arr != $.arr]", "!0"},
    {&cmp_doc, NULL, "$[?$.obj == 17]", "!0"},
    {&cmp_doc, NULL, "$[?$.obj != 17]", "!2"},
    {&cmp_doc, NULL, "$[?$.obj <= $.arr]", "!0"},
    {&cmp_doc, NULL, "$[?$.obj < $.arr]", "!0"},
    {&cmp_doc, NULL, "$[?$.obj <= $.obj]", "!2"},
    {&cmp_doc, NULL, "$[?$.arr <= $.arr]", "!2"},
    {&cmp_doc, NULL, "$[?1 <= $.arr]", "!0"},
    {&cmp_doc, NULL, "$[?1 >= $.arr]", "!0"},
    {&cmp_doc, NULL, "$[?1 > $.arr]", "!0"},
    {&cmp_doc, NULL, "$[?1 < $.arr]", "!0"},
    {&cmp_doc, NULL, "$[?true <= true]", "!2"},
    {&cmp_doc, NULL, "$[?true > true]", "!0"},
    {&cmp_doc, NULL, "$[?1 == 1.0]", "!2"},
    {&cmp_doc, NULL, "$[?$.arr[0] == 2.0]", "!2"},
    {&cmp_doc, NULL, "$[?'\\u00e9' > 'z']", "!2"},
    /* names, escapes, whitespace */
    {NULL, "{\"a b\": 1, \"\xc3\xa9t\xc3\xa9\": 2, \"q'\\\"\": 3, \"\\u0001\": 4, \"\xf0\x9f\x98\x80\": 5}", "$['a b']",
     "[1]"},
    {NULL, "{\"\xc3\xa9t\xc3\xa9\": 2}", "$.\xc3\xa9t\xc3\xa9", "[2]"},
    {NULL, "{\"\xc3\xa9t\xc3\xa9\": 2}", "$['\\u00e9t\\u00e9']", "[2]"},
    {NULL, "{\"q'\\\"\": 3}", "$['q\\'\"']", "[3]"},
    {NULL, "{\"q'\\\"\": 3}", "$[\"q'\\\"\"]", "[3]"},
    {NULL, "{\"\\u0001\": 4}", "$['\\u0001']", "[4]"},
    {NULL, "{\"\xf0\x9f\x98\x80\": 5}", "$['\\ud83d\\ude00']", "[5]"},
    {NULL, "{\"a\": {\"b\": 1}}", "$ .a [ 'b' ]", "[1]"},
    {NULL, "{\"a\": [1, 2]}", "$.a[?@ > 1 ]", "[2]"},
    {NULL, "{\"a\": {\"b\": 1}}", "$", "[{\"a\": {\"b\": 1}}]"},
    {NULL, "5", "$", "[5]"},
    {NULL, "5", "$.a", "[]"},
    {NULL, "5", "$[0]", "[]"},
    {NULL, "{\"_x1\": 1}", "$._x1", "[1]"},
    /* invalid queries (2.4.9 Table 14 included) */
    {NULL, "{}", "", "!a query starts with $ at position 1"},
    {NULL, "{}", "a", "!a query starts with $ at position 1"},
    {NULL, "{}", "$.a ", "!whitespace is not allowed here at position 4"},
    {NULL, "{}", " $.a", "!a query starts with $"},
    {NULL, "{}", "$. a", "!expected a member name, * or [ at position 3"},
    {NULL, "{}", "$..", "!expected a member name"},
    {NULL, "{}", "$.1", "!expected a member name"},
    {NULL, "{}", "$[01]", "!an integer has no leading zeros"},
    {NULL, "{}", "$[-0]", "!an integer has no leading zeros"},
    {NULL, "{}", "$[9007199254740992]", "!an integer beyond"},
    {NULL, "{}", "$[9007199254740991]", "[]"},
    {NULL, "{}", "$['a'", "!expected ',' or ']'"},
    {NULL, "{}", "$['a]", "!unclosed string"},
    {NULL, "{}", "$['\\x']", "!invalid escape"},
    {NULL, "{}", "$['\\ud83d']", "!a high surrogate must be followed"},
    {NULL, "{}", "$['\\ude00']", "!a lone low surrogate"},
    {NULL, "{}", "$[\"a\tb\"]", "!a control character"},
    {NULL, "{}", "$[?true]", "!a literal alone is not a test"},
    {NULL, "{}", "$[?@.a == 1 == 2]", "!expected ',' or ']'"},
    {NULL, "{}", "$[?!@.a == 1]", "!expected ',' or ']'"},
    {NULL, "{}", "$[?@.* == 1]", "!only a literal, a singular query or a value function can be compared"},
    {NULL, "{}", "$[?@..a == 1]", "!only a literal, a singular query"},
    {NULL, "{}", "$[?length(@) < 3]", "[]"},
    {NULL, "{}", "$[?length(@.*) < 3]", "!this argument must be a value"},
    {NULL, "{}", "$[?count(@.*) == 1]", "[]"},
    {NULL, "{}", "$[?count(1) == 1]", "!this argument must be a query"},
    {NULL, "{}", "$[?match(@.timezone, 'Europe/.*')]", "[]"},
    {NULL, "{}", "$[?match(@.timezone, 'Europe/.*') == true]", "!only a literal, a singular query"},
    {NULL, "{}", "$[?value(@..color) == \"red\"]", "[]"},
    {NULL, "{}", "$[?value(@..color)]", "!this function's value must be compared"},
    {NULL, "{}", "$[?foo(@.a)]", "!unknown function"},
    {NULL, "{}", "$[?length(@.a, 1) == 1]", "!too many arguments"},
    {NULL, "{}", "$[?match(@.a) == 1]", "!this function takes two arguments"},
    {NULL, "{}", "$[?length (@.a) == 1]", "!expected a query, a literal or a function call"},
    {NULL, "{}", "$[?@.a == 01]", "!a number has no leading zeros"},
    {NULL, "{}", "$[?@.a == 1.]", "!expected digits after the decimal point"},
    {NULL, "{}", "$[?@.a == -0]", "[]"},
    {NULL, "{}", "$[?(@.a]", "!expected ')'"},
    {NULL, "{}", "$[?@.a &&]", "!expected a query, a literal or a function call"},
    {NULL, "{}", "$[1:2:3:4]", "!expected ',' or ']'"},
};

static const char *render(json_t *v)
{
	static char out[4096];
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	snprintf(out, sizeof(out), "%s", s ? s : "(null)");
	free(s);
	return out;
}

static void test_cases(void)
{
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_error_t err;
		const char *text = cases[i].doc ? *cases[i].doc : cases[i].text;
		json_t *doc = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err), *out = NULL;
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		T_OK(doc != NULL, "document of %s parses (%s)", cases[i].query, err.text);
		enum status st = agents_jsonpath_query(cases[i].query, doc, &out, &p);
		const char *want = cases[i].want;
		if (want[0] == '!' && (want[1] >= '0' && want[1] <= '9')) {
			T_EQ_INT(st, ST_OK, "%s succeeds", cases[i].query);
			T_EQ_INT(json_array_size(out), atoi(want + 1), "%s selects %s nodes", cases[i].query, want + 1);
		} else if (want[0] == '!') {
			T_EQ_INT(st, ST_BAD_INPUT, "%s is refused", cases[i].query);
			T_OK(p.nfields && !strcmp(p.fields[0].field, "query") &&
			         !strncmp(p.fields[0].message, want + 1, strlen(want + 1)),
			     "%s: \"%s\" (got \"%s\")", cases[i].query, want + 1, p.nfields ? p.fields[0].message : "");
		} else {
			T_EQ_INT(st, ST_OK, "%s succeeds%s%s", cases[i].query, p.nfields ? ": " : "",
			         p.nfields ? p.fields[0].message : "");
			json_t *w = json_loads(want, JSON_ALLOW_NUL, &err);
			T_OK(w && out && json_equal(w, out), "%s = %s (got %s)", cases[i].query, want, render(out));
			json_decref(w);
		}
		json_decref(out);
		json_decref(doc);
		arena_free(&a);
	}
}

static void test_bounds_and_tool(void)
{
	struct arena *a = arena_new();
	struct problem p;
	json_t *out = NULL;

	/* descendants of descendants of ...: about n^k/k! visits over a chain
	 * n deep; the visit budget stops it */
	json_t *doc = json_array(), *cur = doc;
	for (int i = 0; i < 200; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, json_integer(i));
		json_array_append_new(cur, next);
		cur = next;
	}
	problem_init(&p, a);
	T_EQ_INT(agents_jsonpath_query("$..*..*..*..*", doc, &out, &p), ST_UNPROCESSABLE,
	         "a query that explodes stops");
	T_OK(p.detail && strstr(p.detail, "visits more than"), "the budget is named: %s", p.detail ? p.detail : "");
	T_OK(out == NULL, "no partial answer");
	problem_init(&p, a);
	T_EQ_INT(agents_jsonpath_query("$..*", doc, &out, &p), ST_OK, "400 nodes are fine");
	T_EQ_INT(json_array_size(out), 400, "every node once");
	json_decref(out);
	json_decref(doc);

	/* more results than allowed */
	doc = json_array();
	for (int i = 0; i < AGENTS_JSONPATH_MAX_RESULTS + 1; i++)
		json_array_append_new(doc, json_integer(i));
	problem_init(&p, a);
	T_EQ_INT(agents_jsonpath_query("$[*]", doc, &out, &p), ST_UNPROCESSABLE, "10001 results are refused");
	problem_init(&p, a);
	T_EQ_INT(agents_jsonpath_query("$[:10000]", doc, &out, &p), ST_OK, "10000 are fine");
	json_decref(out);
	json_decref(doc);

	/* a large value selected many times: the output size bound */
	char *big = xmalloc(200001);
	memset(big, 'x', 200000);
	big[200000] = '\0';
	doc = json_pack("{s:s}", "s", big);
	free(big);
	problem_init(&p, a);
	T_EQ_INT(agents_jsonpath_query("$[*,*,*,*,*,*]", doc, &out, &p), ST_UNPROCESSABLE,
	         "1.2 MB of answer is refused");
	json_decref(doc);

	/* filters nested past the bound; a value nested deeper than the C stack would like */
	struct buf q;
	buf_init(&q, 0);
	buf_puts(&q, "$");
	for (int i = 0; i < 100; i++)
		buf_puts(&q, "[?@");
	for (int i = 0; i < 100; i++)
		buf_puts(&q, "]");
	problem_init(&p, a);
	json_t *empty = json_object();
	T_EQ_INT(agents_jsonpath_query(q.data, empty, &out, &p), ST_BAD_INPUT, "100 nested filters are refused");
	json_decref(empty);
	buf_free(&q);
	json_t *deep = json_array();
	cur = deep;
	for (int i = 0; i < 100000; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	json_array_append_new(cur, json_string("x"));
	problem_init(&p, a);
	T_EQ_INT(agents_jsonpath_query("$..[?@ == 'x']", deep, &out, &p), ST_OK, "a 100000-deep value: no recursion");
	T_EQ_STR(render(out), "[\"x\"]", "the innermost value found");
	json_decref(out);
	/* jansson frees nested arrays recursively: unwind it by hand */
	while (json_array_size(deep)) {
		json_t *child = json_incref(json_array_get(deep, 0));
		json_decref(deep);
		deep = child;
	}
	json_decref(deep);

	/* the tool */
	json_t *args = json_pack("{s:s,s:{s:[i,i,i]}}", "query", "$.a[?@ > 1]", "document", "a", 1, 2, 3);
	problem_init(&p, a);
	T_EQ_INT(agents_tool_json_query(args, &out, &p), ST_OK, "the tool answers");
	T_EQ_STR(render(out), "{\"count\": 2, \"results\": [2, 3]}", "count and results");
	json_decref(out);
	json_decref(args);
	args = json_pack("{s:s}", "query", "$");
	problem_init(&p, a);
	T_EQ_INT(agents_tool_json_query(args, &out, &p), ST_BAD_INPUT, "document is required");
	T_EQ_STR(p.nfields ? p.fields[0].field : NULL, "document", "document named");
	json_decref(args);
	args = json_pack("{s:s,s:n}", "query", "$[", "document");
	problem_init(&p, a);
	T_EQ_INT(agents_tool_json_query(args, &out, &p), ST_BAD_INPUT, "a bad query");
	T_EQ_STR(p.nfields ? p.fields[0].field : NULL, "query", "query named");
	json_decref(args);
	arena_free(&a);
}

/* Function arguments nested in filters: an argument that is not a plain
 * value is parsed once, not again at every level (which was 2^depth: a
 * 544-byte query ran past the fuzzer's 10 s). 40 levels of each kind
 * below would not finish on that parser. */
static void test_nested_arguments(void)
{
	struct arena *a = arena_new();
	struct problem p;
	json_t *out = NULL, *doc = json_loads("{\"a\": [{\"b\": \"x\"}]}", 0, NULL);
	struct buf q;
	int levels = 40;

	/* a query that fails deep inside: refused, with the error */
	buf_init(&q, 0);
	buf_puts(&q, "$");
	for (int i = 0; i < levels; i++)
		buf_puts(&q, ".a[?match(@.b");
	problem_init(&p, a);
	T_EQ_INT(agents_jsonpath_query(q.data, doc, &out, &p), ST_BAD_INPUT, "%d unclosed nested match( refused",
	         levels);
	T_OK(out == NULL, "no answer");
	buf_free(&q);

	/* filters nested through function arguments: parsed and run */
	buf_init(&q, 0);
	buf_puts(&q, "$.a[?");
	for (int i = 0; i < 20; i++)
		buf_puts(&q, "count(@.b[?");
	buf_puts(&q, "@ == 'x'");
	for (int i = 0; i < 20; i++)
		buf_puts(&q, "]) >= 0 || @.b == 'x'");
	buf_puts(&q, "]");
	problem_init(&p, a);
	T_EQ_INT(agents_jsonpath_query(q.data, doc, &out, &p), ST_OK, "20 nested count() filters run: %s",
	         p.detail ? p.detail : "ok");
	T_EQ_INT(json_array_size(out), 1, "and select the one element");
	json_decref(out);
	buf_free(&q);
	json_decref(doc);
	arena_free(&a);
}

int main(void)
{
	test_cases();
	test_bounds_and_tool();
	test_nested_arguments();
	return t_done();
}
