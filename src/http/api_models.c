/* /api/v1/models: model configurations. Viewers read (an agent's page
 * names its model), editors also test, admins write (keys are admin
 * business). Keys are write-only: answers carry api_key_last4. */
#include "api.h"
#include "../app.h"
#include "../models/models.h"

static const char *const providers[] = {"openai", "azure_openai", "anthropic", "ollama", "openai_compatible", NULL};
static const char *const kinds[] = {"chat", "embedding", NULL};
static const char *const currencies[] = {"USD", NULL};

static const struct field params_fields[] = {
    {"temperature", JT_NUMBER, .min = 0, .max = 2, .nullable = true},
    {"top_p", JT_NUMBER, .min = 0, .max = 1, .nullable = true},
    {"max_tokens", JT_INT, .min = 1, .max = 1000000, .nullable = true},
    {"timeout_s", JT_INT, .min = 1, .max = 3600, .nullable = true},
    {"extra_headers", JT_OBJECT, .object = &(const struct schema){"ModelHeaders", NULL, true},
     .description = "header name to value; values are sealed at rest and never shown"},
    {0},
};
static const struct schema params_schema = {"ModelParams", params_fields, false};

static const struct field caps_fields[] = {
    {"tools", JT_BOOL},
    {"json_mode", JT_BOOL},
    {"structured_output", JT_BOOL},
    {"streaming", JT_BOOL},
    {"vision", JT_BOOL},
    {"context_window", JT_INT, .min = 1, .max = 100000000},
    {0},
};
static const struct schema caps_schema = {"ModelCapabilities", caps_fields, false};

static const struct field limits_fields[] = {
    {"rpm", JT_INT, .min = 0, .max = 1000000},
    {"tpm", JT_INT, .min = 0, .max = 1000000000},
    {"max_concurrency", JT_INT, .min = 0, .max = 10000},
    {0},
};
static const struct schema limits_schema = {"ModelLimits", limits_fields, false};

static const struct field pricing_fields[] = {
    {"input_per_mtok", JT_NUMBER, .min = 0, .max = 100000},
    {"output_per_mtok", JT_NUMBER, .min = 0, .max = 100000},
    {"currency", JT_STRING, .enums = currencies},
    {0},
};
static const struct schema pricing_schema = {"ModelPricing", pricing_fields, false};

#define MODEL_FIELDS(req)                                                                                              \
	{"name", JT_STRING, .required = req, .min = 1, .max = 100},                                                    \
	    {"provider", JT_STRING, .required = req, .enums = providers},                                              \
	    {"model", JT_STRING, .required = req, .min = 1, .max = 200}, {"kind", JT_STRING, .enums = kinds},          \
	    {"base_url", JT_STRING, .format = "uri", .max = 2000, .nullable = true},                                   \
	    {"api_key", JT_STRING, .min = 1, .max = 1000, .nullable = true, .write_only = true},                       \
	    {"api_version", JT_STRING, .min = 1, .max = 50, .nullable = true},                                         \
	    {"deployment", JT_STRING, .min = 1, .max = 200, .nullable = true},                                         \
	    {"organization", JT_STRING, .min = 1, .max = 200, .nullable = true},                                       \
	    {"params", JT_OBJECT, .object = &params_schema}, {"capabilities", JT_OBJECT, .object = &caps_schema},      \
	    {"limits", JT_OBJECT, .object = &limits_schema}, {"pricing", JT_OBJECT, .object = &pricing_schema},        \
	    {"default", JT_BOOL},                                                                                      \
	{                                                                                                              \
		0                                                                                                      \
	}

static const struct field create_fields[] = {MODEL_FIELDS(true)};
static const struct schema api_model_create_schema = {"ModelCreate", create_fields, false};
static const struct field update_fields[] = {MODEL_FIELDS(false)};
static const struct schema api_model_update_schema = {"ModelUpdate", update_fields, false};

/* ---- answers ---- */
static const struct field params_out_fields[] = {
    {"temperature", JT_NUMBER, .nullable = true},
    {"top_p", JT_NUMBER, .nullable = true},
    {"max_tokens", JT_INT, .nullable = true},
    {"timeout_s", JT_INT, .nullable = true},
    {"extra_headers", JT_ARRAY, .required = true, .items = JT_STRING,
     .description = "the names of the extra headers; their values are never shown"},
    {0},
};
static const struct schema params_out_schema = {"ModelParamsOut", params_out_fields, false};

static const struct field caps_out_fields[] = {
    {"tools", JT_BOOL, .required = true},
    {"json_mode", JT_BOOL, .required = true},
    {"structured_output", JT_BOOL, .required = true},
    {"streaming", JT_BOOL, .required = true},
    {"vision", JT_BOOL, .required = true},
    {"context_window", JT_INT, .required = true, .nullable = true},
    {0},
};
static const struct schema caps_out_schema = {"ModelCapabilitiesOut", caps_out_fields, false};

static const struct field pricing_out_fields[] = {
    {"input_per_mtok", JT_NUMBER, .required = true},
    {"output_per_mtok", JT_NUMBER, .required = true},
    {"currency", JT_STRING, .required = true, .enums = currencies},
    {0},
};
static const struct schema pricing_out_schema = {"ModelPricingOut", pricing_out_fields, false};

static const struct field model_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"name", JT_STRING, .required = true},
    {"provider", JT_STRING, .required = true, .enums = providers},
    {"model", JT_STRING, .required = true},
    {"kind", JT_STRING, .required = true, .enums = kinds},
    {"base_url", JT_STRING, .required = true, .nullable = true},
    {"api_version", JT_STRING, .required = true, .nullable = true},
    {"deployment", JT_STRING, .required = true, .nullable = true},
    {"organization", JT_STRING, .required = true, .nullable = true},
    {"api_key_set", JT_BOOL, .required = true},
    {"api_key_last4", JT_STRING, .required = true, .nullable = true},
    {"params", JT_OBJECT, .required = true, .object = &params_out_schema},
    {"capabilities", JT_OBJECT, .required = true, .object = &caps_out_schema,
     .description = "the known model's, overridden by the configuration's"},
    {"limits", JT_OBJECT, .required = true, .object = &limits_schema},
    {"pricing", JT_OBJECT, .required = true, .object = &pricing_out_schema},
    {"default", JT_BOOL, .required = true, .description = "the workspace's default model of its kind"},
    {"created_at", JT_STRING, .required = true, .format = "date-time"},
    {"updated_at", JT_STRING, .required = true, .format = "date-time"},
    {0},
};
static const struct schema model_schema = {"Model", model_fields, false};

static const struct field provider_fields[] = {
    {"id", JT_STRING, .required = true, .enums = providers},
    {"label", JT_STRING, .required = true},
    {"description", JT_STRING, .required = true},
    {"required", JT_ARRAY, .required = true, .items = JT_STRING},
    {"optional", JT_ARRAY, .required = true, .items = JT_STRING},
    {"default_base_url", JT_STRING, .required = true, .nullable = true},
    {"kinds", JT_ARRAY, .required = true, .items = JT_STRING},
    {0},
};
static const struct schema provider_schema = {"Provider", provider_fields, false};
static const struct field providers_fields[] = {
    {"items", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &provider_schema},
    {0},
};
static const struct schema providers_schema = {"ProviderList", providers_fields, false};

static const struct field test_error_fields[] = {
    {"class", JT_STRING, .required = true, .description = "auth, rate_limit, server, network, ..."},
    {"message", JT_STRING, .required = true, .description = "what to fix"},
    {"detail", JT_STRING, .nullable = true, .description = "the provider's own message, secrets redacted"},
    {"http_status", JT_INT, .description = "the provider's HTTP status; 0 when none"},
    {0},
};
static const struct schema test_error_schema = {"ModelTestError", test_error_fields, true};
static const struct field test_fields[] = {
    {"ok", JT_BOOL, .required = true},
    {"latency_ms", JT_INT, .required = true},
    {"model_reported", JT_STRING, .required = true, .nullable = true},
    {"error", JT_OBJECT, .object = &test_error_schema, .description = "when ok is false"},
    {0},
};
static const struct schema test_schema = {"ModelTest", test_fields, true};

static struct models *mods(struct req *rq)
{
	return rq->app->models;
}

static enum status api_models_list(struct req *rq, struct res *rs)
{
	int limit;
	const char *after, *last = NULL;
	json_t *items = NULL;
	enum status st = http_page(rq, &limit, &after);
	if (st != ST_OK)
		return st;
	st = models_list(mods(rq), req_actor(rq), limit, after, rq->arena, &items, &last, &rq->problem);
	return api_list_reply(rq, rs, st, items, limit, last);
}

static enum status api_models_create(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = models_create(mods(rq), req_actor(rq), rq->body, rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_models_get(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = models_get(mods(rq), req_actor(rq), req_param(rq, "id"), rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_models_update(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st =
	    models_update(mods(rq), req_actor(rq), req_param(rq, "id"), rq->body, rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status api_models_delete(struct req *rq, struct res *rs)
{
	(void) rs;
	enum status st = models_delete(mods(rq), req_actor(rq), req_param(rq, "id"), &rq->problem);
	return st == ST_OK ? ST_NO_CONTENT : st;
}

static enum status api_models_providers(struct req *rq, struct res *rs)
{
	(void) rq;
	res_json(rs, json_pack("{s:o}", "items", models_providers()));
	return ST_OK;
}

static enum status api_models_test(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = models_probe(mods(rq), rq->app->llm_limiter, req_actor(rq), req_param(rq, "id"), rq->arena,
	                              &out, &rq->problem);
	return api_reply(rs, st, out);
}

const struct route api_models_routes[] = {
    {"GET", "/api/v1/models", api_models_list, ROLE_VIEWER, .response = &model_schema, .flags = ROUTE_LIST,
     .summary = "List model configurations, in the order they were created"},
    {"POST", "/api/v1/models", api_models_create, ROLE_ADMIN, .body = &api_model_create_schema,
     .response = &model_schema, .flags = ROUTE_IDEMPOTENT | ROUTE_CREATES, .summary = "Create a model configuration"},
    {"GET", "/api/v1/models/providers", api_models_providers, ROLE_USER, .response = &providers_schema,
     .flags = ROUTE_NO_WORKSPACE, .summary = "Providers and the fields each takes"},
    {"GET", "/api/v1/models/{id}", api_models_get, ROLE_VIEWER, .response = &model_schema,
     .summary = "Get a model configuration"},
    {"PATCH", "/api/v1/models/{id}", api_models_update, ROLE_ADMIN, .body = &api_model_update_schema,
     .response = &model_schema,
     .summary = "Change a model configuration (null clears a field; api_key: null removes the key)"},
    {"DELETE", "/api/v1/models/{id}", api_models_delete, ROLE_ADMIN, .summary = "Delete a model configuration"},
    {"POST", "/api/v1/models/{id}/test", api_models_test, ROLE_EDITOR, .response = &test_schema,
     .summary = "Make one minimal real call: ok, latency, the model the provider reports, or what to fix"},
    {0},
};
