/*
 * One mapping from a model configuration to an LLM request: the engine, the
 * knowledge bases and POST /models/{id}/test build their calls here, so a
 * setting means the same thing wherever it is used.
 */
#include "models_int.h"
#include "../llm/llm.h"

#include <stdlib.h>
#include <string.h>

enum llm_provider models_llm_provider(const char *provider)
{
	if (str_eq(provider, "azure_openai"))
		return LLM_AZURE_OPENAI;
	if (str_eq(provider, "anthropic"))
		return LLM_ANTHROPIC;
	if (str_eq(provider, "ollama"))
		return LLM_OLLAMA;
	if (str_eq(provider, "openai_compatible"))
		return LLM_OPENAI_COMPATIBLE;
	return LLM_OPENAI;
}

/* The extra headers as the client takes them; the values stay the resolved ones (wiped with it). */
static const struct llm_header *headers_of(const struct model_resolved *r, struct arena *a)
{
	struct llm_header *h = arena_zalloc(a, sizeof(*h) * (size_t) (r->nheaders + 1));
	for (int i = 0; i < r->nheaders; i++) {
		h[i].name = r->headers[i].name;
		h[i].value = r->headers[i].value;
	}
	return h;
}

void models_llm_request(const struct model_resolved *r, struct arena *a, struct llm_request *out)
{
	memset(out, 0, sizeof(*out));
	out->provider = models_llm_provider(r->provider);
	out->base_url = r->base_url;
	out->api_key = r->api_key;
	out->api_version = r->api_version;
	out->deployment = r->deployment;
	out->organization = r->organization;
	out->model = r->model;
	out->has_temperature = r->has_temperature;
	out->temperature = r->temperature;
	out->has_top_p = r->has_top_p;
	out->top_p = r->top_p;
	out->max_tokens = r->max_tokens;
	out->timeout_ms = r->timeout_s > 0 ? r->timeout_s * 1000 : 0;
	out->headers = headers_of(r, a);
	out->nheaders = r->nheaders;
	out->input_per_mtok = r->input_per_mtok;
	out->output_per_mtok = r->output_per_mtok;
	out->limit_key = r->id;
}

void models_llm_embed_request(const struct model_resolved *r, struct arena *a, struct llm_embed_request *out)
{
	memset(out, 0, sizeof(*out));
	out->provider = models_llm_provider(r->provider);
	out->base_url = r->base_url;
	out->api_key = r->api_key;
	out->api_version = r->api_version;
	out->deployment = r->deployment;
	out->model = r->model;
	out->timeout_ms = r->timeout_s > 0 ? r->timeout_s * 1000 : 0;
	out->headers = headers_of(r, a);
	out->nheaders = r->nheaders;
	out->input_per_mtok = r->input_per_mtok;
}

void models_llm_limit(const struct model_resolved *r, struct llm_limiter *lim)
{
	if (lim && (r->rpm || r->tpm || r->max_concurrency))
		llm_limiter_set(
		    lim, r->id,
		    &(struct llm_limit){.rpm = r->rpm, .tpm = r->tpm, .max_concurrency = r->max_concurrency});
}

void models_base_url_check(json_t *cfg, struct problem *p)
{
	json_t *b = json_object_get(cfg, "base_url"), *d = json_object_get(cfg, "deployment");
	char err[300] = "";

	if (!json_is_string(b))
		return;
	char *norm = llm_base_url_normalise(models_llm_provider(json_string_value(json_object_get(cfg, "provider"))),
	                                    json_string_value(b), json_string_value(d), err, sizeof(err));
	if (!norm)
		problem_field(p, "base_url", "%s", err);
	else if (!str_eq(norm, json_string_value(b)))
		json_object_set_new(cfg, "base_url", json_string(norm));
	free(norm);
}
