/* json_diff: one case per line: a, b, and the expected diff. */
#include "t.h"
#include "../../src/core/core.h"
#include "../../src/core/json_diff.h"

static const struct {
	const char *a, *b, *want;
} cases[] = {
    {"{}", "{}", "{\"added\":[],\"removed\":[],\"changed\":[]}"},
    {"{\"x\":1}", "{\"x\":1.0}", "{\"added\":[],\"removed\":[],\"changed\":[]}"},
    {"{\"x\":1}", "{\"x\":2}", "{\"added\":[],\"removed\":[],\"changed\":[{\"path\":\"x\",\"from\":1,\"to\":2}]}"},
    {"{\"x\":1}", "{\"y\":1}",
     "{\"added\":[{\"path\":\"y\",\"value\":1}],\"removed\":[{\"path\":\"x\",\"value\":1}],\"changed\":[]}"},
    {"{\"m\":{\"a\":1,\"b\":2}}", "{\"m\":{\"a\":1,\"c\":3}}",
     "{\"added\":[{\"path\":\"m.c\",\"value\":3}],\"removed\":[{\"path\":\"m.b\",\"value\":2}],\"changed\":[]}"},
    {"{\"t\":[1,2]}", "{\"t\":[2,1]}",
     "{\"added\":[],\"removed\":[],\"changed\":[{\"path\":\"t\",\"from\":[1,2],\"to\":[2,1]}]}"},
    {"{\"t\":[1.0,{\"k\":2}]}", "{\"t\":[1,{\"k\":2.0}]}", "{\"added\":[],\"removed\":[],\"changed\":[]}"},
    {"{\"m\":{\"a.b\":1}}", "{\"m\":{\"a.b\":null}}",
     "{\"added\":[],\"removed\":[],\"changed\":[{\"path\":\"m[\\\"a.b\\\"]\",\"from\":1,\"to\":null}]}"},
    {"{\"b\":1,\"a\":1}", "{\"a\":2,\"b\":2}",
     "{\"added\":[],\"removed\":[],\"changed\":[{\"path\":\"a\",\"from\":1,\"to\":2},{\"path\":\"b\",\"from\":1,"
     "\"to\":2}]}"},
    {"{\"o\":{}}", "{\"o\":\"s\"}",
     "{\"added\":[],\"removed\":[],\"changed\":[{\"path\":\"o\",\"from\":{},\"to\":\"s\"}]}"},
    {"1", "2", "{\"added\":[],\"removed\":[],\"changed\":[{\"path\":\"\",\"from\":1,\"to\":2}]}"},
    {NULL, "{\"x\":true}", "{\"added\":[{\"path\":\"x\",\"value\":true}],\"removed\":[],\"changed\":[]}"},
};

int main(void)
{
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *a = cases[i].a ? json_loads(cases[i].a, JSON_DECODE_ANY, NULL) : NULL;
		json_t *b = json_loads(cases[i].b, JSON_DECODE_ANY, NULL);
		json_t *want = json_loads(cases[i].want, 0, NULL);
		json_t *got = json_diff(a, b);
		char *gs = json_dumps(got, JSON_COMPACT | JSON_PRESERVE_ORDER);
		T_OK(want && json_equal(got, want), "diff %s -> %s", cases[i].a ? cases[i].a : "(none)", cases[i].b);
		if (!json_equal(got, want))
			printf("#   got %s\n#   want %s\n", gs, cases[i].want);
		T_EQ_INT(json_diff_empty(got), i < 2 || i == 6, "emptiness of %s -> %s", cases[i].a ? cases[i].a : "-",
		         cases[i].b);
		free(gs);
		json_decref(a);
		json_decref(b);
		json_decref(want);
		json_decref(got);
	}
	/* Deep nesting stops recursing at the bound and compares whole. */
	json_t *a = json_object(), *b = json_object(), *pa = a, *pb = b;
	for (int i = 0; i < JSON_DIFF_DEPTH + 10; i++) {
		json_t *na = json_object(), *nb = json_object();
		json_object_set_new(pa, "n", na);
		json_object_set_new(pb, "n", nb);
		pa = na;
		pb = nb;
	}
	json_object_set_new(pb, "leaf", json_true());
	json_t *got = json_diff(a, b);
	T_EQ_INT(json_array_size(json_object_get(got, "changed")), 1, "a deep difference is one bounded change");
	json_decref(got);
	json_decref(a);
	json_decref(b);
	return t_done();
}
