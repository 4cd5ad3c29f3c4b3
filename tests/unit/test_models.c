/* models: sealing, the known-model table, the provider catalogue. */
#include "core/core.h"
#include "models/models_int.h"
#include "t.h"

static void test_seal(void)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	struct models *m = NULL, *other = NULL;
	T_EQ_INT(models_new(NULL, "short", &m, &p), ST_INTERNAL, "a short secret is refused");
	T_EQ_INT(models_new(NULL, "0123456789abcdef0123456789abcdef-one", &m, &p), ST_OK, "models_new");
	T_EQ_INT(models_new(NULL, "0123456789abcdef0123456789abcdef-two", &other, &p), ST_OK, "models_new other");
	const char *key = "sk-test-0123456789";
	char *s1 = models_seal(m, "row-1", key, a);
	char *s2 = models_seal(m, "row-1", key, a);
	T_OK(s1 && !strstr(s1, "sk-test"), "sealed text does not contain the key");
	T_OK(strcmp(s1, s2) != 0, "two seals of one key differ (random nonce)");
	T_EQ_STR(models_open(m, "row-1", s1, a), key, "opens with the same key and row");
	T_OK(models_open(m, "row-2", s1, a) == NULL, "does not open for another row");
	T_OK(models_open(other, "row-1", s1, a) == NULL, "does not open under another secret");
	char *tampered = arena_strdup(a, s1);
	tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
	T_OK(models_open(m, "row-1", tampered, a) == NULL, "a tampered seal does not open");
	T_OK(models_open(m, "row-1", "short", a) == NULL, "junk does not open");
	T_OK(models_open(m, "row-1", "", a) == NULL, "empty does not open");
	T_EQ_STR(models_open(m, "r", models_seal(m, "r", "", a), a), "", "an empty secret round-trips");
	models_free(&m);
	models_free(&other);
	T_OK(m == NULL, "models_free NULLs");
	arena_free(&a);
}

static void test_known(void)
{
	static const struct {
		const char *model;
		const char *prefix;
	} cases[] = {
	    {"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
	    {"gpt-4o", "gpt-4o"},
	    {"gpt-4.1-nano", "gpt-4.1-nano"},
	    {"openai/gpt-4o", "gpt-4o"},
	    {"claude-3-5-haiku-latest", "claude-3-5-haiku"},
	    {"claude-sonnet-4-20250514", "claude-sonnet-4"},
	    {"llama3.1:8b", "llama3"},
	    {"text-embedding-3-small", "text-embedding-3-small"},
	    {"my-own-model", NULL},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct model_known *k = models_known(cases[i].model);
		T_EQ_STR(k ? k->prefix : NULL, cases[i].prefix, "models_known(%s)", cases[i].model);
	}
	T_OK(models_known("gpt-4o-mini")->input_per_mtok < models_known("gpt-4o")->input_per_mtok,
	     "mini is cheaper than 4o");
}

static void test_providers(void)
{
	json_t *p = models_providers();
	T_EQ_INT(json_array_size(p), 5, "five providers");
	size_t i;
	json_t *v;
	int with_required = 0;
	json_array_foreach(p, i, v) with_required += json_array_size(json_object_get(v, "required")) > 0;
	T_EQ_INT(with_required, 5, "each provider lists its required fields");
	json_decref(p);
	T_EQ_STR(models_default_base_url("ollama"), "http://127.0.0.1:11434", "ollama default base URL");
	T_OK(models_default_base_url("azure_openai") == NULL, "azure has no default base URL");
}

int main(void)
{
	core_init();
	test_seal();
	test_known();
	test_providers();
	return t_done();
}
