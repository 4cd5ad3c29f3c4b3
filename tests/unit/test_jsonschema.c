/* core/jsonschema: the subset against the JSON-Schema-Test-Suite (Debian's
 * json-schema-test-suite package), then our own cases: the checker's
 * errors and paths, $ref, patterns, bounds. */
#include "core/jsonschema.h"
#include "t.h"

#include <dirent.h>
#include <sys/stat.h>

#define SUITE_DIR "/usr/share/json-schema-test-suite/tests"

/* The suite's files for keywords outside the subset (docs/core.md), and
 * the reason; every other file of the draft runs, every case must pass. */
static const struct {
	const char *file;
	const char *why;
} skipped[] = {
    {"additionalItems.json", "additionalItems: draft-07 tuples only; use prefixItems and items"},
    {"contains.json", "contains: not in the subset"},
    {"dependencies.json", "dependencies: not in the subset"},
    {"dependentRequired.json", "dependentRequired: not in the subset"},
    {"dependentSchemas.json", "dependentSchemas: not in the subset"},
    {"if-then-else.json", "if/then/else: not in the subset"},
    {"unevaluatedItems.json", "unevaluatedItems: not in the subset"},
    {"unevaluatedProperties.json", "unevaluatedProperties: not in the subset"},
    {"maxContains.json", "maxContains: not in the subset"},
    {"minContains.json", "minContains: not in the subset"},
    {"dynamicRef.json", "$dynamicRef: not in the subset"},
    {"anchor.json", "$anchor references: not in the subset"},
    {"id.json", "$id-based references: not in the subset"},
    {"vocabulary.json", "$vocabulary: not in the subset"},
    {"refRemote.json", "remote $ref: not in the subset"},
    {"definitions.json", "refers to the remote draft metaschema"},
    {"ref.json", "mixes local refs with $id and remote refs and draft-07 sibling rules; local refs are tested below"},
    {"infinite-loop-detection.json", "uses $defs with items; covered below"},
    {"defs.json", "refers to the remote draft metaschema"},
    {"content.json", "contentMediaType/contentEncoding: not in the subset"},
    {"format.json", "format is an annotation here; the file asserts nothing for it in draft 2020-12"},
};

static const char *skip_reason(const char *file)
{
	for (size_t i = 0; i < ARRAY_LEN(skipped); i++)
		if (!strcmp(skipped[i].file, file))
			return skipped[i].why;
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int run_file(const char *dir, const char *file)
{
	char path[512];
	json_error_t err;
	int cases = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	json_t *groups = json_load_file(path, 0, &err);
	T_OK(json_is_array(groups), "%s parses (%s)", file, err.text);
	size_t gi;
	json_t *g;
	json_array_foreach(groups, gi, g)
	{
		const json_t *schema = json_object_get(g, "schema");
		const char *gdesc = json_string_value(json_object_get(g, "description"));
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		enum status st = jsonschema_check(schema, NULL, &p);
		T_EQ_INT(st, ST_OK, "%s: \"%s\": the schema is accepted%s%s", file, gdesc, p.nfields ? ": " : "",
		         p.nfields ? p.fields[0].message : "");
		size_t ti;
		json_t *t;
		json_array_foreach(json_object_get(g, "tests"), ti, t)
		{
			bool want = json_is_true(json_object_get(t, "valid"));
			problem_init(&p, a);
			st = jsonschema_validate(schema, json_object_get(t, "data"), NULL, &p);
			T_EQ_INT(st == ST_OK, want, "%s: \"%s\" / \"%s\"%s%s", file, gdesc,
			         json_string_value(json_object_get(t, "description")), p.nfields ? ": " : "",
			         p.nfields ? p.fields[0].message : "");
			cases++;
		}
		arena_free(&a);
	}
	json_decref(groups);
	return cases;
}

/* The newest draft the package has: 2020-12, else 2019-09, else 7. */
static void test_suite(void)
{
	static const char *const drafts[] = {"draft2020-12", "draft2019-09", "draft7"};
	char dir[256] = "";
	struct stat sb;
	for (size_t i = 0; i < ARRAY_LEN(drafts); i++) {
		snprintf(dir, sizeof(dir), "%s/%s", SUITE_DIR, drafts[i]);
		if (stat(dir, &sb) == 0)
			break;
		dir[0] = '\0';
	}
	T_OK(dir[0], "the json-schema-test-suite package is installed (scripts/setup)");
	if (!dir[0])
		return;
	DIR *d = opendir(dir);
	char *names[128];
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) && n < ARRAY_LEN(names))
		if (strlen(e->d_name) > 5 && !strcmp(e->d_name + strlen(e->d_name) - 5, ".json"))
			names[n++] = xstrdup(e->d_name);
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	int cases = 0, files = 0, skips = 0;
	for (size_t i = 0; i < n; i++) {
		const char *why = skip_reason(names[i]);
		if (why) {
			printf("# skipped %s: %s\n", names[i], why);
			skips++;
		} else {
			cases += run_file(dir, names[i]);
			files++;
		}
		free(names[i]);
	}
	printf("# JSON-Schema-Test-Suite %s: %d cases run from %d files, %d files skipped\n", dir, cases, files, skips);
	T_OK(cases > 300, "the suite ran %d cases", cases);
}

static json_t *J(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!v)
		printf("# bad JSON in the test: %s: %s\n", text, err.text);
	return v;
}

/* Fields of p joined as "field: message|field: message". */
static const char *fields(struct problem *p)
{
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < p->nfields; i++)
		buf_printf(&b, "%s%s: %s", i ? "|" : "", p->fields[i].field, p->fields[i].message);
	char *s = arena_strdup(p->arena, b.data ? b.data : "");
	buf_free(&b);
	return s;
}

static void test_check(void)
{
	static const struct {
		const char *schema;
		const char *want; /* "" when accepted; else the errors, field: message|... */
	} cases[] = {
	    {"{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\", \"maxLength\": 10}}, "
	     "\"required\": [\"name\"], \"additionalProperties\": false, \"$schema\": "
	     "\"https://json-schema.org/draft/2020-12/schema\", \"title\": \"t\", \"description\": \"d\", "
	     "\"default\": {}, \"examples\": [{}], \"$comment\": \"c\", \"$id\": \"urn:x\"}",
	     ""},
	    {"true", ""},
	    {"{\"type\": [\"string\", \"null\"], \"format\": \"email\", \"pattern\": \"^[^@]+@\\\\S+$\"}", ""},
	    {"{\"prefixItems\": [{\"type\": \"integer\"}], \"items\": false, \"minItems\": 1, \"uniqueItems\": true}",
	     ""},
	    {"{\"$defs\": {\"a\": {\"type\": \"integer\"}}, \"$ref\": \"#/$defs/a\"}", ""},
	    {"{\"definitions\": {\"a~b\": {\"type\": \"integer\"}, \"c/d\": true}, \"anyOf\": [{\"$ref\": "
	     "\"#/definitions/a~0b\"}, {\"$ref\": \"#/definitions/c~1d\"}]}",
	     ""},
	    {"{\"properties\": {\"a\": {\"if\": {}, \"then\": {}}}, \"contains\": {}}",
	     "schema.properties.a.if: unsupported keyword \"if\"; docs/core.md lists the supported JSON Schema subset|"
	     "schema.properties.a.then: unsupported keyword \"then\"; docs/core.md lists the supported JSON Schema "
	     "subset|schema.contains: unsupported keyword \"contains\"; docs/core.md lists the supported JSON Schema "
	     "subset"},
	    {"{\"type\": \"strin\"}",
	     "schema.type: must be one of null, boolean, object, array, number, integer, string (or a list of them)"},
	    {"{\"type\": [\"string\", \"string\"]}", "schema.type: lists \"string\" twice"},
	    {"{\"required\": \"name\"}", "schema.required: must be an array of property names"},
	    {"{\"minLength\": -1, \"maxItems\": 1.5}",
	     "schema.minLength: must be a non-negative integer|schema.maxItems: must be a non-negative integer"},
	    {"{\"minLength\": 2.0}", ""},
	    {"{\"exclusiveMinimum\": true}",
	     "schema.exclusiveMinimum: must be a number (the draft-04 boolean form is not supported; give the bound "
	     "itself)"},
	    {"{\"multipleOf\": 0}", "schema.multipleOf: must be a number greater than 0"},
	    {"{\"anyOf\": []}", "schema.anyOf: must be a non-empty array of schemas"},
	    {"{\"allOf\": [{\"type\": 1}]}",
	     "schema.allOf[0].type: must be one of null, boolean, object, array, number, integer, string (or a list of "
	     "them)"},
	    {"{\"properties\": {\"a b\": 3}}", "schema.properties[\"a b\"]: must be a schema (an object or a boolean)"},
	    {"{\"pattern\": \"(?=x)\"}",
	     "schema.pattern: the pattern uses a lookaround or named group ((?=, (?!, (?<), which is not supported"},
	    {"{\"pattern\": \"(a)\\\\1\"}", "schema.pattern: the pattern uses a backreference, which is not supported"},
	    {"{\"pattern\": \"[a\"}", "schema.pattern: the pattern has an unclosed ["},
	    {"{\"pattern\": \"a(\"}", "schema.pattern: the pattern is not a valid regular expression"},
	    /* what glibc's regcomp cannot build in bounded time or memory (ere_bounded) */
	    {"{\"pattern\": \"8++++++++++++++++++++++++\"}",
	     "schema.pattern: the pattern repeats more than this engine allows (a quantifier right after another, or "
	     "repetitions that multiply past 1000 copies)"},
	    {"{\"pattern\": \"a*{2}\"}",
	     "schema.pattern: the pattern repeats more than this engine allows (a quantifier right after another, or "
	     "repetitions that multiply past 1000 copies)"},
	    {"{\"pattern\": \"(a{1000}){1000}\"}",
	     "schema.pattern: the pattern repeats more than this engine allows (a quantifier right after another, or "
	     "repetitions that multiply past 1000 copies)"},
	    {"{\"pattern\": \"((a{10}){10}b){11}\"}",
	     "schema.pattern: the pattern repeats more than this engine allows (a quantifier right after another, or "
	     "repetitions that multiply past 1000 copies)"},
	    {"{\"pattern\": \"[a-z]{1,600}[0-9]{1,600}\"}",
	     "schema.pattern: the pattern repeats more than this engine allows (a quantifier right after another, or "
	     "repetitions that multiply past 1000 copies)"},
	    {"{\"patternProperties\": {\"\\\\p{L}\": {}}}",
	     "schema.patternProperties[\"\\\\p{L}\"]: the pattern uses an escape that is not supported (\\p{...}, "
	     "\\x.., \\c.., \\k<...>)"},
	    {"{\"$ref\": \"http://example.com/s.json\"}",
	     "schema.$ref: \"http://example.com/s.json\" must be \"#\" or a JSON pointer \"#/...\" into this schema "
	     "(remote and anchor references are not supported)"},
	    {"{\"$ref\": \"#/$defs/missing\"}",
	     "schema.$ref: \"#/$defs/missing\" does not resolve to anything in this schema"},
	    {"{\"$ref\": \"#/properties\", \"properties\": {\"a\": {}}}",
	     "schema.$ref: \"#/properties\" must point at a schema, not at a map or list of schemas"},
	    {"{\"$ref\": \"#/required/0\", \"required\": [\"a\"]}",
	     "schema.$ref: \"#/required/0\" must point at a schema (through $defs, definitions, properties, items, "
	     "...)"},
	    {"{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"allOf\": [{\"$ref\": \"#/$defs/a\"}]}}, "
	     "\"properties\": {\"x\": {\"$ref\": \"#/$defs/a\"}}}",
	     "schema.$defs.a.$ref: \"#/$defs/b\" leads back to itself without descending into the value (a $ref loop), "
	     "or through more than 128 references|schema.$defs.b.allOf[0].$ref: \"#/$defs/a\" leads back to itself "
	     "without descending into the value (a $ref loop), or through more than 128 references|"
	     "schema.properties.x.$ref: \"#/$defs/a\" leads back to itself without descending into the value (a $ref "
	     "loop), or through more than 128 references"},
	    {"{\"$ref\": \"#\"}",
	     "schema.$ref: \"#\" leads back to itself without descending into the value (a $ref loop), or through more "
	     "than 128 references"},
	    {"{\"properties\": {\"child\": {\"$ref\": \"#\"}}, \"items\": {\"$ref\": \"#\"}}", ""},
	    {"{\"items\": [{}, {\"$ref\": \"#/items/0\"}]}", ""},
	    {"{\"prefixItems\": [{}], \"items\": [{}]}", "schema.items: must be a schema when prefixItems is given (a "
	                                                 "list here is the draft-07 form of prefixItems)"},
	    {"3", "schema: must be a schema (an object or a boolean)"},
	    {"{\"title\": 3}", "schema.title: must be a string"},
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct problem p;
		json_t *s = J(cases[i].schema);
		problem_init(&p, a);
		enum status st = jsonschema_check(s, NULL, &p);
		T_EQ_INT(st, cases[i].want[0] ? ST_UNPROCESSABLE : ST_OK, "check %s", cases[i].schema);
		T_EQ_STR(fields(&p), cases[i].want, "check errors of %s", cases[i].schema);
		json_decref(s);
	}

	/* the caller's prefix: what the workflow validator reports */
	struct problem p;
	json_t *s = J("{\"type\": \"object\", \"properties\": {\"x\": {\"not\": {\"dependentRequired\": {}}}}}");
	problem_init(&p, a);
	jsonschema_check(s, "tasks[2].output.schema", &p);
	T_EQ_STR(p.nfields ? p.fields[0].field : NULL, "tasks[2].output.schema.properties.x.not.dependentRequired",
	         "the prefix leads the path");
	json_decref(s);
	problem_init(&p, a);
	T_EQ_INT(jsonschema_check(NULL, "x", &p), ST_UNPROCESSABLE, "a NULL schema is refused");
	s = J("{\"type\": \"string\"}");
	T_EQ_INT(jsonschema_check(s, NULL, NULL), ST_OK, "no problem: just the answer");
	T_EQ_INT(jsonschema_validate(s, s, NULL, NULL), ST_UNPROCESSABLE, "no problem: an object is not a string");
	json_decref(s);
	/* messages that quote the schema are not built when nobody reads them */
	static const char *const quiet[][2] = {
	    {"{\"enum\": [1]}", "2"},  {"{\"const\": 1}", "2"},      {"{\"pattern\": \"^a\"}", "\"b\""},
	    {"{\"minimum\": 3}", "2"}, {"{\"multipleOf\": 2}", "3"}, {"{\"not\": {\"enum\": [2]}}", "2"},
	};
	for (size_t i = 0; i < ARRAY_LEN(quiet); i++) {
		json_t *qs = J(quiet[i][0]), *qv = J(quiet[i][1]);
		T_EQ_INT(jsonschema_validate(qs, qv, NULL, NULL), ST_UNPROCESSABLE, "no problem: %s refuses %s",
		         quiet[i][0], quiet[i][1]);
		json_decref(qs);
		json_decref(qv);
	}

	/* nesting deeper than the bound */
	struct buf deep;
	buf_init(&deep, 0);
	for (int i = 0; i < 200; i++)
		buf_puts(&deep, "{\"not\": ");
	buf_puts(&deep, "{}");
	for (int i = 0; i < 200; i++)
		buf_puts(&deep, "}");
	s = J(deep.data);
	problem_init(&p, a);
	T_EQ_INT(jsonschema_check(s, NULL, &p), ST_UNPROCESSABLE, "200 nested schemas are refused");
	T_OK(p.nfields == 1 && strstr(p.fields[0].message, "nests deeper than 128"), "the depth is named: %s",
	     fields(&p));
	json_decref(s);
	buf_free(&deep);
	arena_free(&a);
}

static void test_validate(void)
{
	static const struct {
		const char *schema;
		const char *value;
		const char *want; /* "" when valid */
	} cases[] = {
	    {"{\"type\": \"object\", \"properties\": {\"items\": {\"type\": \"array\", \"items\": {\"type\": "
	     "\"object\", "
	     "\"properties\": {\"name\": {\"type\": \"string\"}}, \"required\": [\"name\"]}}}}",
	     "{\"items\": [{\"name\": \"a\"}, {\"name\": 1}, {}, {\"name\": \"d\"}]}",
	     "$.items[1].name: must be a string, got integer|$.items[2].name: is required"},
	    {"{\"additionalProperties\": false, \"properties\": {\"a\": {}}}", "{\"a\": 1, \"b c\": 2, \"d\": 3}",
	     "$[\"b c\"]: is not allowed (additionalProperties is false)|$.d: is not allowed (additionalProperties is "
	     "false)"},
	    {"{\"type\": [\"string\", \"null\"]}", "3", "$: must be one of the types string, null; got integer"},
	    {"{\"type\": \"integer\"}", "3.0", ""},
	    {"{\"type\": \"integer\"}", "3.5", "$: must be an integer, got number"},
	    {"{\"enum\": [1, \"a\", {\"k\": [true]}]}", "{\"k\": [true]}", ""},
	    {"{\"enum\": [1, \"a\"]}", "1.0", ""},
	    {"{\"enum\": [1, \"a\"]}", "true", "$: must be one of [1,\"a\"]"},
	    {"{\"const\": {\"a\": 1, \"b\": 2}}", "{\"b\": 2.0, \"a\": 1}", ""},
	    {"{\"const\": false}", "0", "$: must equal false"},
	    {"{\"minLength\": 2, \"maxLength\": 3}", "\"\xc3\xa9\xc3\xa9\"", ""},
	    {"{\"maxLength\": 1}", "\"\xc3\xa9\xc3\xa9\"", "$: must be at most 1 characters long, got 2"},
	    {"{\"minimum\": 1, \"exclusiveMaximum\": 3}", "3", "$: must be < 3, got 3"},
	    {"{\"minimum\": 1.5}", "1", "$: must be >= 1.5, got 1"},
	    {"{\"exclusiveMinimum\": 0}", "0", "$: must be > 0, got 0"},
	    {"{\"multipleOf\": 0.01}", "19.99", ""},
	    {"{\"multipleOf\": 0.01}", "19.991", "$: must be a multiple of 0.01, got 19.991"},
	    {"{\"multipleOf\": 3}", "9223372036854775806", ""},
	    {"{\"multipleOf\": 3}", "9223372036854775807", "$: must be a multiple of 3, got 9223372036854775807"},
	    {"{\"pattern\": \"^\\\\d{3}-\\\\w+$\"}", "\"123-ab_c\"", ""},
	    {"{\"pattern\": \"^\\\\d{3}-\\\\w+$\"}", "\"12-ab\"", "$: must match the pattern \"^\\\\d{3}-\\\\w+$\""},
	    {"{\"pattern\": \"^.$\"}", "\"\xc3\xa9\"", ""},
	    {"{\"pattern\": \"^.$\"}", "\"\\n\"", "$: must match the pattern \"^.$\""},
	    {"{\"pattern\": \"^(?:ab)+?$\"}", "\"abab\"", ""},
	    {"{\"pattern\": \"^[\\\\w.-]+@[^\\\\s@]+$\"}", "\"a.b-c@x.org\"", ""},
	    {"{\"pattern\": \"^[\\\\]\\\\-^a]+$\"}", "\"]-^a\"", ""},
	    {"{\"pattern\": \"^[\\\\]\\\\-^a]+$\"}", "\"b\"", "$: must match the pattern \"^[\\\\]\\\\-^a]+$\""},
	    {"{\"pattern\": \"a{\"}", "\"xa{\"", ""},
	    {"{\"pattern\": \"^\\\\u00e9+$\"}", "\"\xc3\xa9\xc3\xa9\"", ""},
	    /* repetition within ere_bounded's limit still works */
	    {"{\"pattern\": \"^.{1,1000}$\"}", "\"abc\"", ""},
	    {"{\"pattern\": \"^(a{2}){3}[\\\\]x]{1,3}$\"}", "\"aaaaaa]x\"", ""},
	    {"{\"pattern\": \"^(a{2}){3}$\"}", "\"aaaaa\"", "$: must match the pattern \"^(a{2}){3}$\""},
	    {"{\"pattern\": \"^[a-z]{2}\\\\d+?x*$\"}", "\"ab1x\"", ""},
	    {"{\"pattern\": \"caf\\\\u00e9\"}", "\"cafe\"", "$: must match the pattern \"caf\\\\u00e9\""},
	    {"{\"pattern\": \"b\"}", "\"a\\u0000b\"", ""},
	    {"{\"patternProperties\": {\"^x-\": {\"type\": \"string\"}}, \"additionalProperties\": false}",
	     "{\"x-a\": \"s\", \"x-b\": 1, \"y\": 2}",
	     "$[\"x-b\"]: must be a string, got integer|$.y: is not allowed (additionalProperties is false)"},
	    {"{\"propertyNames\": {\"maxLength\": 2}}", "{\"ab\": 1, \"abc\": 2}",
	     "$.abc: is not an allowed property name (propertyNames)"},
	    {"{\"minProperties\": 2}", "{\"a\": 1}", "$: must have at least 2 properties, got 1"},
	    {"{\"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"integer\"}], \"items\": false}", "[\"a\", 1, 2]",
	     "$[2]: is not allowed (the schema is false)"},
	    {"{\"items\": [{\"type\": \"string\"}]}", "[\"a\", 1, 2]", ""},
	    {"{\"minItems\": 2, \"uniqueItems\": true}", "[1, 1.0]",
	     "$: items [0] and [1] are equal; uniqueItems requires them distinct"},
	    {"{\"uniqueItems\": true}", "[{\"a\": 1}, {\"a\": 2}, [1], [1, 2]]", ""},
	    {"{\"anyOf\": [{\"type\": \"string\"}, {\"minimum\": 3}]}", "2",
	     "$: must match at least one of the 2 schemas in anyOf"},
	    {"{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 3}]}", "4",
	     "$: must match exactly one of the 2 schemas in oneOf, matches more than one"},
	    {"{\"oneOf\": [{\"type\": \"string\"}, {\"minimum\": 3}]}", "2",
	     "$: must match exactly one of the 2 schemas in oneOf, matches none"},
	    {"{\"not\": {\"type\": \"null\"}}", "null", "$: must not match the schema in not"},
	    {"{\"allOf\": [{\"minimum\": 1}, {\"maximum\": 0}]}", "5", "$: must be <= 0, got 5"},
	    {"false", "1", "$: is not allowed (the schema is false)"},
	    {"{\"$defs\": {\"node\": {\"type\": \"object\", \"properties\": {\"v\": {\"type\": \"integer\"}, \"next\": "
	     "{\"$ref\": \"#/$defs/node\"}}}}, \"$ref\": \"#/$defs/node\"}",
	     "{\"v\": 1, \"next\": {\"v\": 2, \"next\": {\"v\": \"x\"}}}",
	     "$.next.next.v: must be an integer, got string"},
	    {"{\"$ref\": \"#/$defs/pos\", \"maximum\": 10, \"$defs\": {\"pos\": {\"minimum\": 0}}}", "-1",
	     "$: must be >= 0, got -1"},
	    {"{\"$ref\": \"#/$defs/pos\", \"maximum\": 10, \"$defs\": {\"pos\": {\"minimum\": 0}}}", "11",
	     "$: must be <= 10, got 11"},
	    {"{\"properties\": {\"%\": {\"type\": \"integer\"}, \"b\": {\"$ref\": \"#/properties/%25\"}}}",
	     "{\"b\": \"x\", \"%\": 1}", "$.b: must be an integer, got string"},
	    {"{\"description\": \"x\", \"format\": \"email\", \"default\": 3}", "\"not an email\"", ""},
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct problem p;
		json_t *s = J(cases[i].schema), *v = J(cases[i].value);
		problem_init(&p, a);
		enum status chk = jsonschema_check(s, NULL, &p);
		T_EQ_INT(chk, ST_OK, "schema %s is accepted: %s", cases[i].schema, fields(&p));
		problem_init(&p, a);
		enum status st = jsonschema_validate(s, v, NULL, &p);
		T_EQ_INT(st, cases[i].want[0] ? ST_UNPROCESSABLE : ST_OK, "validate %s against %s", cases[i].value,
		         cases[i].schema);
		T_EQ_STR(fields(&p), cases[i].want, "errors of %s against %s", cases[i].value, cases[i].schema);
		json_decref(s);
		json_decref(v);
	}
	arena_free(&a);
}

/* Hostile schemas and values end with a clear error, fast. */
static void test_bounds(void)
{
	struct arena *a = arena_new();
	struct problem p;
	struct buf b;

	/* 60 definitions, each an anyOf of two references to the next: 2^60
	 * paths from a schema of a few kilobytes, without the step bound */
	buf_init(&b, 0);
	buf_puts(&b, "{\"$ref\": \"#/$defs/d0\", \"$defs\": {");
	for (int i = 0; i < 60; i++)
		buf_printf(&b, "\"d%d\": {\"anyOf\": [{\"$ref\": \"#/$defs/d%d\"}, {\"$ref\": \"#/$defs/d%d\"}]}, ", i,
		           i + 1, i + 1);
	buf_puts(&b, "\"d60\": {\"type\": \"string\"}}}");
	json_t *s = J(b.data), *v = json_integer(1);
	buf_free(&b);
	problem_init(&p, a);
	T_EQ_INT(jsonschema_check(s, NULL, &p), ST_OK, "the wide anyOf schema is well-formed");
	problem_init(&p, a);
	T_EQ_INT(jsonschema_validate(s, v, NULL, &p), ST_UNPROCESSABLE, "validation of 2^60 paths stops");
	T_OK(strstr(fields(&p), "more than 200000 steps") != NULL, "the step bound is named: %s", fields(&p));
	json_decref(s);

	/* a $ref loop that jsonschema_check would refuse: validate still ends */
	s = J("{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"$ref\": \"#/$defs/a\"}}, \"$ref\": "
	      "\"#/$defs/a\"}");
	problem_init(&p, a);
	T_EQ_INT(jsonschema_validate(s, v, NULL, &p), ST_UNPROCESSABLE, "an unchecked $ref loop ends");
	T_OK(strstr(fields(&p), "loops without descending") != NULL, "the loop is named: %s", fields(&p));
	json_decref(s);

	/* recursion through the value: a 300-deep list under {"items": {"$ref": "#"}} */
	s = J("{\"items\": {\"$ref\": \"#\"}}");
	json_t *deep = json_array(), *cur = deep;
	for (int i = 0; i < 300; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	problem_init(&p, a);
	T_EQ_INT(jsonschema_check(s, NULL, &p), ST_OK, "a recursive items schema is well-formed");
	problem_init(&p, a);
	T_EQ_INT(jsonschema_validate(s, deep, NULL, &p), ST_UNPROCESSABLE, "a 300-deep value stops at the depth bound");
	T_OK(strstr(fields(&p), "deeper than 128") != NULL, "the depth bound is named: %s", fields(&p));
	json_t *shallow = J("[[[[]]]]");
	problem_init(&p, a);
	T_EQ_INT(jsonschema_validate(s, shallow, NULL, &p), ST_OK, "a 4-deep value passes the same schema");
	json_decref(shallow);
	json_decref(deep);
	json_decref(s);

	/* uniqueItems over 2000 distinct items: 2 million comparisons, bounded */
	s = J("{\"uniqueItems\": true}");
	json_t *many = json_array();
	for (int i = 0; i < 2000; i++)
		json_array_append_new(many, json_integer(i));
	problem_init(&p, a);
	T_EQ_INT(jsonschema_validate(s, many, "args", &p), ST_UNPROCESSABLE, "uniqueItems over 2000 items is bounded");
	T_OK(p.nfields == 1 && !strcmp(p.fields[0].field, "args"), "the caller's prefix names the value: %s",
	     fields(&p));
	json_decref(many);
	json_decref(s);
	json_decref(v);

	/* the problem's cap: 100 errors keep 32 and count the rest */
	s = J("{\"items\": {\"type\": \"string\"}}");
	json_t *ints = json_array();
	for (int i = 0; i < 100; i++)
		json_array_append_new(ints, json_integer(i));
	problem_init(&p, a);
	T_EQ_INT(jsonschema_validate(s, ints, NULL, &p), ST_UNPROCESSABLE, "100 wrong items");
	T_EQ_INT(p.nfields + p.nfields_dropped, 100, "every error counted");
	T_EQ_STR(p.fields[31].field, "$[31]", "in order");
	json_decref(ints);
	json_decref(s);
	arena_free(&a);
}

static void test_equal_and_paths(void)
{
	json_t *a = J("{\"x\": [1, 2.0, \"s\", null], \"y\": {}}"), *b = J("{\"y\": {}, \"x\": [1.0, 2, \"s\", null]}");
	T_OK(jsonschema_equal(a, b), "equal by value, members in any order");
	json_t *c = J("{\"y\": {}, \"x\": [1.0, 2, \"t\", null]}");
	T_OK(!jsonschema_equal(a, c), "a different string is unequal");
	T_OK(!jsonschema_equal(a, NULL), "NULL is unequal");
	json_decref(a);
	json_decref(b);
	json_decref(c);
	static const struct {
		const char *name, *want;
	} names[] = {
	    {"name", ".name"},       {"_a1", "._a1"}, {"a-b", "[\"a-b\"]"},
	    {"1a", "[\"1a\"]"},      {"", "[\"\"]"},  {"q\"\\", "[\"q\\\"\\\\\"]"},
	    {"\n", "[\"\\u000a\"]"},
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		struct buf pb;
		buf_init(&pb, 0);
		jsonschema_path_name(&pb, names[i].name);
		T_EQ_STR(pb.data, names[i].want, "path segment for \"%s\"", names[i].name);
		buf_free(&pb);
	}
}

int main(void)
{
	test_suite();
	test_check();
	test_validate();
	test_bounds();
	test_equal_and_paths();
	return t_done();
}
