/* POST /models/{id}/test: one minimal real call through the same client the
 * engine uses, with the provider's failure translated into what to fix. */
#include "models_int.h"
#include "../llm/llm.h"

#include <string.h>

/* What the user should fix, per error class; the provider's own words
 * follow as detail. */
static const char *advice(enum llm_error e)
{
	switch (e) {
	case LLM_ERR_AUTH:
		return "the provider refused the API key: check api_key (and organization or deployment access)";
	case LLM_ERR_NOT_FOUND:
		return "the provider does not know this model (or deployment, or the base_url path is wrong): check "
		       "model, deployment and base_url";
	case LLM_ERR_NETWORK:
		return "cannot reach the provider's host: check base_url, DNS and that the server is running";
	case LLM_ERR_TIMEOUT:
		return "the provider did not answer in time: check base_url, or raise params.timeout_s";
	case LLM_ERR_RATE_LIMITED:
		return "the provider is rate limiting this key: wait, or lower limits.rpm";
	case LLM_ERR_SERVER:
		return "the provider had an internal error: try again later";
	case LLM_ERR_BAD_REQUEST:
		return "the provider refused the request: check the model's parameters";
	case LLM_ERR_PARSE:
		return "the provider's answer was not in the expected format: check provider and base_url";
	case LLM_ERR_CANCELLED:
		return "the test was cancelled";
	case LLM_ERR_QUOTA:
		return "the provider's account is out of quota or credit: add credit or raise the quota (retrying "
		       "will not help)";
	case LLM_ERR_NONE:
		break;
	}
	return "";
}

static json_t *answer(const struct llm_record *rec, int64_t latency_ms)
{
	json_t *j =
	    json_pack("{s:b, s:I, s:o}", "ok", rec->error == LLM_ERR_NONE, "latency_ms", (json_int_t) latency_ms,
	              "model_reported", rec->model ? json_string(rec->model) : json_null());
	if (rec->error != LLM_ERR_NONE)
		json_object_set_new(j, "error",
		                    json_pack("{s:s, s:s, s:s?, s:i}", "class", llm_error_name(rec->error), "message",
		                              advice(rec->error), "detail", rec->error_message, "http_status",
		                              rec->http_status));
	return j;
}

enum status models_probe(struct models *m, struct llm_limiter *lim, const struct actor *who, const char *id,
                         struct arena *a, json_t **out, struct problem *p)
{
	struct model_resolved r;
	enum status st = models_resolve(m, who->workspace_id, id, NULL, a, &r, p);
	if (st != ST_OK)
		return st;
	/* The configuration's limits hold for every call of the process. */
	models_llm_limit(&r, lim);
	struct llm_client *c = llm_client_new(lim);
	int timeout_ms = (r.timeout_s > 0 && r.timeout_s < 30 ? r.timeout_s : 30) * 1000;
	int64_t t0 = time_mono_us();
	if (str_eq(r.kind, "embedding")) {
		const char *inputs[] = {"ok"};
		struct llm_embed_request req;
		models_llm_embed_request(&r, a, &req);
		req.inputs = inputs;
		req.ninputs = 1;
		req.timeout_ms = req.deadline_ms = timeout_ms;
		req.max_attempts = 1;
		struct llm_embed_response resp = {0};
		llm_embed(c, &req, &resp);
		*out = answer(&resp.rec, (time_mono_us() - t0) / 1000);
		llm_embed_response_free(&resp);
	} else {
		struct llm_message msg = {.role = LLM_ROLE_USER, .content = "Reply with the single word: ok"};
		struct llm_request req;
		models_llm_request(&r, a, &req);
		req.messages = &msg;
		req.nmessages = 1;
		req.max_tokens = 16; /* a probe, not a conversation */
		req.timeout_ms = req.deadline_ms = timeout_ms;
		req.max_attempts = 1;
		struct llm_response resp = {0};
		llm_call(c, &req, &resp);
		*out = answer(&resp.rec, (time_mono_us() - t0) / 1000);
		llm_response_free(&resp);
	}
	llm_client_free(&c);
	models_resolved_wipe(&r);
	return ST_OK;
}
