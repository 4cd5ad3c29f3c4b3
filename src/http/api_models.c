/* /api/v1/models: model configurations. Editors read; admins write (keys
 * are admin business). Keys are write-only: answers carry api_key_last4. */
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
	enum status st = models_probe(mods(rq), rq->app->llm_limiter, rq->who.workspace_id, req_param(rq, "id"),
	                              rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

const struct route api_models_routes[] = {
    {"GET", "/api/v1/models", api_models_list, ROLE_EDITOR, .flags = ROUTE_LIST,
     .summary = "List model configurations"},
    {"POST", "/api/v1/models", api_models_create, ROLE_ADMIN, .body = &api_model_create_schema,
     .flags = ROUTE_IDEMPOTENT, .summary = "Create a model configuration"},
    {"GET", "/api/v1/models/providers", api_models_providers, ROLE_USER, .flags = ROUTE_NO_WORKSPACE,
     .summary = "Providers and the fields each takes"},
    {"GET", "/api/v1/models/{id}", api_models_get, ROLE_EDITOR, .summary = "Get a model configuration"},
    {"PATCH", "/api/v1/models/{id}", api_models_update, ROLE_ADMIN, .body = &api_model_update_schema,
     .summary = "Change a model configuration (null clears a field; api_key: null removes the key)"},
    {"DELETE", "/api/v1/models/{id}", api_models_delete, ROLE_ADMIN, .summary = "Delete a model configuration"},
    {"POST", "/api/v1/models/{id}/test", api_models_test, ROLE_EDITOR,
     .summary = "Make one minimal real call: ok, latency, the model the provider reports, or what to fix"},
    {0},
};
