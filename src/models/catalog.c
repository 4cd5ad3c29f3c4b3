/* What troupe knows of providers and well-known models: the fields each
 * provider takes, and default capabilities and prices that a configuration
 * may override. Prices are USD per million tokens, as published. */
#include "models_int.h"

#include <string.h>

static const struct model_known known[] = {
    /* prefix, context, tools, json, structured, stream, vision, in, out */
    {"gpt-4.1-nano", 1047576, true, true, true, true, true, 0.10, 0.40},
    {"gpt-4.1-mini", 1047576, true, true, true, true, true, 0.40, 1.60},
    {"gpt-4.1", 1047576, true, true, true, true, true, 2.00, 8.00},
    {"gpt-4o-mini", 128000, true, true, true, true, true, 0.15, 0.60},
    {"gpt-4o", 128000, true, true, true, true, true, 2.50, 10.00},
    {"gpt-4-turbo", 128000, true, true, false, true, true, 10.00, 30.00},
    {"gpt-3.5-turbo", 16385, true, true, false, true, false, 0.50, 1.50},
    {"o4-mini", 200000, true, true, true, true, true, 1.10, 4.40},
    {"o3-mini", 200000, true, true, true, true, false, 1.10, 4.40},
    {"o3", 200000, true, true, true, true, true, 2.00, 8.00},
    {"claude-opus-4", 200000, true, false, true, true, true, 15.00, 75.00},
    {"claude-sonnet-4", 200000, true, false, true, true, true, 3.00, 15.00},
    {"claude-3-7-sonnet", 200000, true, false, true, true, true, 3.00, 15.00},
    {"claude-3-5-sonnet", 200000, true, false, true, true, true, 3.00, 15.00},
    {"claude-3-5-haiku", 200000, true, false, true, true, false, 0.80, 4.00},
    {"claude-3-haiku", 200000, true, false, true, true, true, 0.25, 1.25},
    {"text-embedding-3-small", 8191, false, false, false, false, false, 0.02, 0},
    {"text-embedding-3-large", 8191, false, false, false, false, false, 0.13, 0},
    {"text-embedding-ada-002", 8191, false, false, false, false, false, 0.10, 0},
    {"llama3", 128000, true, true, false, true, false, 0, 0},
    {"qwen2.5", 32768, true, true, false, true, false, 0, 0},
    {"mistral", 32768, true, true, false, true, false, 0, 0},
    {"nomic-embed-text", 8192, false, false, false, false, false, 0, 0},
};

/* The longest known prefix of the model name (after any "vendor/"). */
const struct model_known *models_known(const char *model)
{
	const char *slash = strrchr(model, '/');
	const char *name = slash ? slash + 1 : model;
	const struct model_known *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < ARRAY_LEN(known); i++) {
		size_t n = strlen(known[i].prefix);
		if (n > best_len && strncmp(name, known[i].prefix, n) == 0) {
			best = &known[i];
			best_len = n;
		}
	}
	return best;
}

static const char *const providers[] = {"openai", "azure_openai", "anthropic", "ollama", "openai_compatible", NULL};
const char *const *models_provider_names(void)
{
	return providers;
}

const char *models_default_base_url(const char *provider)
{
	/* the client's own defaults, so the catalog and the calls cannot differ */
	if (str_eq(provider, "openai") || str_eq(provider, "anthropic") || str_eq(provider, "ollama"))
		return llm_default_base_url(models_llm_provider(provider));
	return NULL;
}

json_t *models_providers(void)
{
	json_t *list = json_array();
	static const struct {
		const char *id, *label, *doc;
		const char *required[4];
		const char *optional[5];
	} p[] = {
	    {"openai",
	     "OpenAI",
	     "Chat Completions and embeddings at api.openai.com (or a proxy via base_url).",
	     {"model", "api_key"},
	     {"base_url", "organization"}},
	    {"azure_openai",
	     "Azure OpenAI",
	     "A deployment of an Azure OpenAI resource.",
	     {"model", "api_key", "base_url", "deployment"},
	     {"api_version"}},
	    {"anthropic", "Anthropic", "The Messages API.", {"model", "api_key"}, {"base_url", "api_version"}},
	    {"ollama",
	     "Ollama",
	     "A local Ollama server through its OpenAI-compatible endpoint.",
	     {"model"},
	     {"base_url"}},
	    {"openai_compatible",
	     "OpenAI-compatible",
	     "Any server speaking OpenAI Chat Completions: vLLM, LM Studio, llama.cpp, LiteLLM, Together, Groq, "
	     "OpenRouter.",
	     {"model", "base_url"},
	     {"api_key", "organization"}},
	};
	for (size_t i = 0; i < ARRAY_LEN(p); i++) {
		json_t *req = json_array(), *opt = json_array();
		for (int k = 0; k < 4 && p[i].required[k]; k++)
			json_array_append_new(req, json_string(p[i].required[k]));
		for (int k = 0; k < 5 && p[i].optional[k]; k++)
			json_array_append_new(opt, json_string(p[i].optional[k]));
		const char *base = models_default_base_url(p[i].id);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:[s,s]}", "id", p[i].id, "label",
		                                      p[i].label, "description", p[i].doc, "required", req, "optional",
		                                      opt, "default_base_url", base ? json_string(base) : json_null(),
		                                      "kinds", "chat", "embedding"));
	}
	return list;
}
