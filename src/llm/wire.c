/*
 * Wire formats: what each provider wants to read and what it writes back.
 * OpenAI Chat Completions is the lingua franca (Azure, Ollama's /v1 and the
 * OpenAI-compatible servers speak it); Anthropic Messages differs in the
 * system prompt, the content blocks and the stream's events.
 */
#include "llm/llm_int.h"
#include "core/json_text.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AZURE_DEFAULT_VERSION     "2024-10-21"
#define ANTHROPIC_DEFAULT_VERSION "2023-06-01"
#define ANTHROPIC_DEFAULT_MAX     1024

static bool is_anthropic(enum llm_provider p)
{
	return p == LLM_ANTHROPIC;
}

/* Escapes a deployment name for a URL path: providers allow [A-Za-z0-9._-]. */
static void url_path_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~')
			buf_append(b, s, 1);
		else
			buf_printf(b, "%%%02X", c);
	}
}

const char *llm_default_base_url(enum llm_provider p)
{
	switch (p) {
	case LLM_OPENAI:
		return "https://api.openai.com/v1";
	case LLM_ANTHROPIC:
		return "https://api.anthropic.com";
	case LLM_OLLAMA:
		return "http://127.0.0.1:11434"; /* an address: no DNS, no IPv6 ::1 first */
	default:
		return NULL;
	}
}

/* ---- base URLs ---- */

/* Cuts suffix from the path in b (at path_at) when it ends the path; true if it did. */
static bool cut_suffix(struct buf *b, size_t path_at, const char *suffix)
{
	size_t n = strlen(suffix);
	if (b->len - path_at < n || strncasecmp(b->data + b->len - n, suffix, n) != 0)
		return false;
	b->len -= n;
	b->data[b->len] = '\0';
	return true;
}

/* Parses base with libcurl's URL parser: an absolute http or https URL
 * with a host and without userinfo, whitespace or control characters. 0, or
 * -1 with the fix in err (never echoing the URL: it may hold a password). */
static int base_url_parse(const char *base, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL;
	int rc = -1;

	if (!u) {
		log_error("llm: curl_url failed");
		abort();
	}
	for (const unsigned char *c = (const unsigned char *) base; *c; c++)
		if (*c <= 0x20 || *c == 0x7f) {
			snprintf(err, errlen,
			         "must be an absolute http or https URL without spaces or control characters");
			goto out;
		}
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		snprintf(err, errlen, "must be an absolute http or https URL (http://host:port/path)");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
		snprintf(err, errlen,
		         "must not carry a user or password (user:password@host): put the credential in api_key, or "
		         "in params.extra_headers");
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
	return rc;
}

/* "//" in the path (http://h:P//v1) becomes "/": a path written twice. */
static void collapse_slashes(struct buf *b, size_t path_at)
{
	size_t end = path_at + strcspn(b->data + path_at, "?#"), w = path_at;
	for (size_t r = path_at; r < b->len; r++) {
		if (r < end && r > path_at && b->data[r] == '/' && b->data[r - 1] == '/')
			continue;
		b->data[w++] = b->data[r];
	}
	b->len = w;
	b->data[w] = '\0';
}

static void trim_slashes(struct buf *b, size_t path_at)
{
	while (b->len > path_at && b->data[b->len - 1] == '/')
		b->data[--b->len] = '\0';
}

/* Azure: everything from /openai on is the client's to write; a deployment
 * in a pasted URL must agree with the configured one. */
static int azure_base(struct buf *b, size_t path_at, const char *deployment, char *err, size_t errlen)
{
	char *q = strchr(b->data + path_at, '?'), version[64] = "";
	if (q) {
		const char *v = strstr(q, "api-version=");
		if (v)
			snprintf(version, sizeof(version), " and api_version to %.*s", (int) strcspn(v + 12, "&#"),
			         v + 12);
		b->len = (size_t) (q - b->data);
		*q = '\0';
	}
	trim_slashes(b, path_at);
	char *o = strstr(b->data + path_at, "/openai/");
	if (!o && cut_suffix(b, path_at, "/openai"))
		return 0;
	if (!o)
		return 0;
	const char *dep = str_startswith(o, "/openai/deployments/") ? o + strlen("/openai/deployments/") : NULL;
	size_t dn = dep ? strcspn(dep, "/") : 0;
	if (dep && dn && (!deployment || strlen(deployment) != dn || strncmp(dep, deployment, dn) != 0)) {
		snprintf(err, errlen, "is the resource's endpoint only: set base_url to %.*s, deployment to %.*s%s",
		         (int) (o - b->data), b->data, (int) dn, dep, version);
		return -1;
	}
	b->len = (size_t) (o - b->data);
	*o = '\0';
	return 0;
}

char *llm_base_url_normalise(enum llm_provider p, const char *base, const char *deployment, char *err, size_t errlen)
{
	struct buf b;
	const char *scheme = base ? strstr(base, "://") : NULL;

	/* libcurl takes http:///h as http://h/: a host must follow "://" */
	if (!scheme || scheme == base || strchr("/?#@", scheme[3])) {
		snprintf(err, errlen, "must be an absolute http or https URL (http://host:port/path)");
		return NULL;
	}
	if (base_url_parse(base, err, errlen) < 0)
		return NULL;
	buf_init(&b, 0);
	buf_puts(&b, base);
	size_t host_at = (size_t) (scheme - base) + 3;
	size_t path_at = host_at + strcspn(b.data + host_at, "/?#");
	collapse_slashes(&b, path_at);
	if (p != LLM_AZURE_OPENAI && strpbrk(b.data + host_at, "?#")) {
		snprintf(err, errlen,
		         "must not have a query or fragment (?…, #…): the client appends its paths to it; put a key "
		         "in api_key and headers in params.extra_headers");
		buf_free(&b);
		return NULL;
	}
	trim_slashes(&b, path_at);
	switch (p) {
	case LLM_AZURE_OPENAI:
		if (azure_base(&b, path_at, deployment, err, errlen) < 0) {
			buf_free(&b);
			return NULL;
		}
		break;
	case LLM_ANTHROPIC: /* the client appends /v1/messages */
		cut_suffix(&b, path_at, "/messages");
		while (cut_suffix(&b, path_at, "/v1"))
			;
		break;
	case LLM_OLLAMA: /* the client appends /v1/chat/completions and /api/embed */
		if (!cut_suffix(&b, path_at, "/chat/completions") && !cut_suffix(&b, path_at, "/api/chat") &&
		    !cut_suffix(&b, path_at, "/api/embed") && !cut_suffix(&b, path_at, "/api/embeddings"))
			cut_suffix(&b, path_at, "/embeddings");
		while (cut_suffix(&b, path_at, "/v1") || cut_suffix(&b, path_at, "/api"))
			;
		break;
	default: /* OpenAI and compatible servers: the base ends where the SDKs' base_url ends (…/v1) */
		if (!cut_suffix(&b, path_at, "/chat/completions"))
			cut_suffix(&b, path_at, "/embeddings");
		while (b.len - path_at >= 6 && strcmp(b.data + b.len - 6, "/v1/v1") == 0)
			cut_suffix(&b, path_at, "/v1");
		if (p == LLM_OPENAI && b.len == path_at)
			buf_puts(&b, "/v1"); /* OpenAI serves nothing under its host's root */
		break;
	}
	trim_slashes(&b, path_at);
	return buf_steal(&b);
}

static char *make_url(enum llm_provider p, const char *base_url, const char *deployment, const char *api_version,
                      const char *what, char *err, size_t errlen)
{
	struct buf b;
	const char *given = base_url && *base_url ? base_url : llm_default_base_url(p);
	char *base;

	if (!given) {
		snprintf(err, errlen, "%s needs a base_url", llm_provider_name(p));
		return NULL;
	}
	if (p == LLM_AZURE_OPENAI && (!deployment || !*deployment)) {
		snprintf(err, errlen, "azure_openai needs a deployment");
		return NULL;
	}
	if (!(base = llm_base_url_normalise(p, given, deployment, err, errlen))) {
		char m[256];
		snprintf(m, sizeof(m), "base_url %s", err);
		snprintf(err, errlen, "%s", m);
		return NULL;
	}
	buf_init(&b, 0);
	buf_puts(&b, base);
	free(base);
	switch (p) {
	case LLM_AZURE_OPENAI:
		buf_puts(&b, "/openai/deployments/");
		url_path_escape(&b, deployment);
		buf_printf(&b, "/%s?api-version=%s", what,
		           api_version && *api_version ? api_version : AZURE_DEFAULT_VERSION);
		break;
	case LLM_ANTHROPIC:
		buf_puts(&b, "/v1/messages");
		break;
	case LLM_OLLAMA:
		buf_puts(&b, str_eq(what, "embeddings") ? "/api/embed" : "/v1/chat/completions");
		break;
	default:
		buf_printf(&b, "/%s", what);
		break;
	}
	return buf_steal(&b);
}

char *llm_wire_chat_url(const struct llm_request *req, char *err, size_t errlen)
{
	return make_url(req->provider, req->base_url, req->deployment, req->api_version, "chat/completions", err,
	                errlen);
}

char *llm_wire_embed_url(const struct llm_embed_request *req, char *err, size_t errlen)
{
	if (req->provider == LLM_ANTHROPIC) {
		snprintf(err, errlen, "anthropic has no embeddings");
		return NULL;
	}
	return make_url(req->provider, req->base_url, req->deployment, req->api_version, "embeddings", err, errlen);
}

/* ---- headers ---- */

static struct curl_slist *header_add(struct curl_slist *h, const char *name, const char *value)
{
	struct buf b;
	struct curl_slist *n;

	buf_init(&b, 0);
	buf_printf(&b, "%s: %s", name, value);
	n = curl_slist_append(h, b.data);
	sodium_memzero(b.data, b.len); /* it may hold the key */
	buf_free(&b);
	if (!n) {
		log_error("llm: out of memory building headers");
		abort();
	}
	return n;
}

struct curl_slist *llm_wire_headers(enum llm_provider p, const char *api_key, const char *api_version,
                                    const char *organization, const struct llm_header *extra, int nextra, bool stream)
{
	struct curl_slist *h = NULL;
	bool has_key = api_key && *api_key;

	h = header_add(h, "Content-Type", "application/json");
	h = header_add(h, "Accept", stream ? "text/event-stream" : "application/json");
	/* curl would otherwise wait for 100-continue on bodies over 1 KiB */
	h = curl_slist_append(h, "Expect:");
	switch (p) {
	case LLM_AZURE_OPENAI:
		if (has_key)
			h = header_add(h, "api-key", api_key);
		break;
	case LLM_ANTHROPIC:
		if (has_key)
			h = header_add(h, "x-api-key", api_key);
		h = header_add(h, "anthropic-version",
		               api_version && *api_version ? api_version : ANTHROPIC_DEFAULT_VERSION);
		break;
	default:
		if (has_key) {
			struct buf b;
			buf_init(&b, 0);
			buf_printf(&b, "Bearer %s", api_key);
			h = header_add(h, "Authorization", b.data);
			sodium_memzero(b.data, b.len);
			buf_free(&b);
		}
		if (organization && *organization)
			h = header_add(h, "OpenAI-Organization", organization);
		break;
	}
	for (int i = 0; i < nextra; i++)
		if (extra[i].name && extra[i].value)
			h = header_add(h, extra[i].name, extra[i].value);
	return h;
}

void llm_wire_headers_free(struct curl_slist *h)
{
	for (struct curl_slist *x = h; x; x = x->next)
		sodium_memzero(x->data, strlen(x->data));
	curl_slist_free_all(h);
}

/* ---- request bodies ---- */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

bool llm_model_is_reasoning(const char *model)
{
	static const char *const families[] = {"o1", "o3", "o4", "gpt-5"};
	const char *slash = model ? strrchr(model, '/') : NULL;
	const char *name = slash ? slash + 1 : model;

	if (!name || str_startswith(name, "gpt-5-chat"))
		return false; /* gpt-5-chat-latest is the non-reasoning one */
	for (size_t i = 0; i < ARRAY_LEN(families); i++) {
		size_t n = strlen(families[i]);
		if (strncmp(name, families[i], n) == 0 && (name[n] == '\0' || name[n] == '-' || name[n] == '.'))
			return true;
	}
	return false;
}

/* The model a request names: Azure's deployment when no model is given. */
static const char *model_of(const struct llm_request *req)
{
	return req->model && *req->model ? req->model : req->deployment;
}

static void set_sampling(json_t *o, const struct llm_request *req)
{
	/* reasoning models answer 400 unsupported_parameter to either: they are not sent */
	if (!is_anthropic(req->provider) && llm_model_is_reasoning(model_of(req)))
		return;
	if (req->has_temperature)
		json_object_set_new(o, "temperature", json_real(req->temperature));
	if (req->has_top_p)
		json_object_set_new(o, "top_p", json_real(req->top_p));
}

static json_t *openai_messages(const struct llm_request *req)
{
	json_t *arr = json_array();
	static const char *const roles[] = {"system", "user", "assistant", "tool"};

	for (int i = 0; i < req->nmessages; i++) {
		const struct llm_message *m = &req->messages[i];
		json_t *o = json_object();
		json_object_set_new(o, "role", json_string(roles[m->role]));
		json_object_set_new(o, "content", str_or_null(m->content));
		if (m->role == LLM_ROLE_TOOL && m->tool_call_id)
			json_object_set_new(o, "tool_call_id", json_string(m->tool_call_id));
		if (m->role == LLM_ROLE_ASSISTANT && m->ntool_calls > 0) {
			json_t *tcs = json_array();
			for (int k = 0; k < m->ntool_calls; k++) {
				const struct llm_tool_call *tc = &m->tool_calls[k];
				json_array_append_new(
				    tcs, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", tc->id ? tc->id : "", "type",
				                   "function", "function", "name", tc->name ? tc->name : "",
				                   "arguments", tc->arguments ? tc->arguments : "{}"));
			}
			json_object_set_new(o, "tool_calls", tcs);
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *openai_body(const struct llm_request *req, char *err, size_t errlen)
{
	json_t *o = json_object();

	if (req->model && *req->model)
		json_object_set_new(o, "model", json_string(req->model));
	else if (req->provider != LLM_AZURE_OPENAI) {
		snprintf(err, errlen, "a model is required");
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "messages", openai_messages(req));
	if (req->ntools > 0) {
		json_t *tools = json_array();
		for (int i = 0; i < req->ntools; i++) {
			const struct llm_tool *t = &req->tools[i];
			json_t *fn = json_pack("{s:s}", "name", t->name ? t->name : "");
			if (t->description)
				json_object_set_new(fn, "description", json_string(t->description));
			json_object_set(fn, "parameters",
			                t->parameters ? t->parameters
			                              : json_pack("{s:s, s:{}}", "type", "object", "properties"));
			if (!t->parameters)
				json_decref(json_object_get(fn, "parameters"));
			json_array_append_new(tools, json_pack("{s:s, s:o}", "type", "function", "function", fn));
		}
		json_object_set_new(o, "tools", tools);
	}
	if (req->tool_choice) {
		if (str_eq(req->tool_choice, "auto") || str_eq(req->tool_choice, "none") ||
		    str_eq(req->tool_choice, "required"))
			json_object_set_new(o, "tool_choice", json_string(req->tool_choice));
		else
			json_object_set_new(
			    o, "tool_choice",
			    json_pack("{s:s, s:{s:s}}", "type", "function", "function", "name", req->tool_choice));
	}
	if (req->format == LLM_FORMAT_JSON_OBJECT) {
		json_object_set_new(o, "response_format", json_pack("{s:s}", "type", "json_object"));
	} else if (req->format == LLM_FORMAT_JSON_SCHEMA) {
		if (!req->schema) {
			snprintf(err, errlen, "response format json_schema needs a schema");
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, "response_format",
		                    json_pack("{s:s, s:{s:s, s:O, s:b}}", "type", "json_schema", "json_schema", "name",
		                              req->schema_name ? req->schema_name : "response", "schema", req->schema,
		                              "strict", req->schema_strict));
	}
	set_sampling(o, req);
	if (req->max_tokens > 0)
		/* OpenAI deprecated max_tokens for max_completion_tokens, and its reasoning models (on
		 * Azure too) refuse it; Ollama and the compatible servers know only max_tokens */
		json_object_set_new(o,
		                    req->provider == LLM_OPENAI || req->provider == LLM_AZURE_OPENAI
		                        ? "max_completion_tokens"
		                        : "max_tokens",
		                    json_integer(req->max_tokens));
	if (req->stream) {
		json_object_set_new(o, "stream", json_true());
		json_object_set_new(o, "stream_options", json_pack("{s:b}", "include_usage", 1));
	}
	return o;
}

static json_t *anthropic_text_block(const char *text)
{
	return json_pack("{s:s, s:s}", "type", "text", "text", text);
}

static json_t *anthropic_messages(const struct llm_request *req, char *err, size_t errlen)
{
	json_t *arr = json_array();
	json_t *tool_results = NULL; /* consecutive tool answers share one user turn */

	for (int i = 0; i < req->nmessages; i++) {
		const struct llm_message *m = &req->messages[i];
		if (m->role == LLM_ROLE_SYSTEM)
			continue;
		if (m->role == LLM_ROLE_TOOL) {
			json_t *blk =
			    json_pack("{s:s, s:s, s:s}", "type", "tool_result", "tool_use_id",
			              m->tool_call_id ? m->tool_call_id : "", "content", m->content ? m->content : "");
			if (!tool_results) {
				tool_results = json_array();
				json_array_append_new(arr,
				                      json_pack("{s:s, s:O}", "role", "user", "content", tool_results));
				json_decref(tool_results);
			}
			json_array_append_new(tool_results, blk);
			continue;
		}
		tool_results = NULL;
		if (m->role == LLM_ROLE_ASSISTANT && m->ntool_calls > 0) {
			json_t *content = json_array();
			if (m->content && *m->content)
				json_array_append_new(content, anthropic_text_block(m->content));
			for (int k = 0; k < m->ntool_calls; k++) {
				const struct llm_tool_call *tc = &m->tool_calls[k];
				json_error_t jerr;
				json_t *input = json_loads(tc->arguments ? tc->arguments : "{}", 0, &jerr);
				if (!input || !json_is_object(input)) {
					snprintf(err, errlen,
					         "messages[%d].tool_calls[%d].arguments is not a JSON object", i, k);
					json_decref(input);
					json_decref(content);
					json_decref(arr);
					return NULL;
				}
				json_array_append_new(content, json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use",
				                                         "id", tc->id ? tc->id : "", "name",
				                                         tc->name ? tc->name : "", "input", input));
			}
			json_array_append_new(arr, json_pack("{s:s, s:o}", "role", "assistant", "content", content));
			continue;
		}
		json_array_append_new(arr,
		                      json_pack("{s:s, s:s}", "role", m->role == LLM_ROLE_USER ? "user" : "assistant",
		                                "content", m->content ? m->content : ""));
	}
	return arr;
}

static json_t *anthropic_body(const struct llm_request *req, char *err, size_t errlen)
{
	json_t *o = json_object(), *msgs;
	struct buf sys;

	if (!req->model || !*req->model) {
		snprintf(err, errlen, "a model is required");
		goto fail;
	}
	json_object_set_new(o, "model", json_string(req->model));
	json_object_set_new(o, "max_tokens",
	                    json_integer(req->max_tokens > 0 ? req->max_tokens : ANTHROPIC_DEFAULT_MAX));
	/* Anthropic takes the system prompt beside the messages, not among them */
	buf_init(&sys, 0);
	for (int i = 0; i < req->nmessages; i++) {
		if (req->messages[i].role != LLM_ROLE_SYSTEM || !req->messages[i].content)
			continue;
		if (sys.len)
			buf_puts(&sys, "\n\n");
		buf_puts(&sys, req->messages[i].content);
	}
	if (sys.len)
		json_object_set_new(o, "system", json_stringn(sys.data, sys.len));
	buf_free(&sys);
	if (!(msgs = anthropic_messages(req, err, errlen)))
		goto fail;
	json_object_set_new(o, "messages", msgs);

	json_t *tools = json_array();
	for (int i = 0; i < req->ntools; i++) {
		const struct llm_tool *t = &req->tools[i];
		json_t *tj = json_pack("{s:s}", "name", t->name ? t->name : "");
		if (t->description)
			json_object_set_new(tj, "description", json_string(t->description));
		if (t->parameters)
			json_object_set(tj, "input_schema", t->parameters);
		else
			json_object_set_new(tj, "input_schema",
			                    json_pack("{s:s, s:{}}", "type", "object", "properties"));
		json_array_append_new(tools, tj);
	}
	json_t *choice = NULL;
	if (req->format == LLM_FORMAT_JSON_SCHEMA || req->format == LLM_FORMAT_JSON_OBJECT) {
		/* No native JSON mode: a forced tool whose input schema is the wanted one */
		json_t *schema = req->format == LLM_FORMAT_JSON_SCHEMA ? json_incref(req->schema)
		                                                       : json_pack("{s:s}", "type", "object");
		if (!schema) {
			snprintf(err, errlen, "response format json_schema needs a schema");
			json_decref(tools);
			goto fail;
		}
		json_array_append_new(tools,
		                      json_pack("{s:s, s:s, s:o}", "name", LLM_JSON_TOOL, "description",
		                                "Give the answer as this tool's input.", "input_schema", schema));
		choice = json_pack("{s:s, s:s}", "type", "tool", "name", LLM_JSON_TOOL);
	} else if (req->tool_choice) {
		if (str_eq(req->tool_choice, "auto"))
			choice = json_pack("{s:s}", "type", "auto");
		else if (str_eq(req->tool_choice, "required"))
			choice = json_pack("{s:s}", "type", "any");
		else if (str_eq(req->tool_choice, "none"))
			choice = json_pack("{s:s}", "type", "none");
		else
			choice = json_pack("{s:s, s:s}", "type", "tool", "name", req->tool_choice);
	}
	if (json_array_size(tools))
		json_object_set_new(o, "tools", tools);
	else
		json_decref(tools);
	if (choice)
		json_object_set_new(o, "tool_choice", choice);
	set_sampling(o, req);
	if (req->stream)
		json_object_set_new(o, "stream", json_true());
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *llm_wire_chat_body(const struct llm_request *req, char *err, size_t errlen)
{
	if (req->nmessages <= 0 || !req->messages) {
		snprintf(err, errlen, "a request needs at least one message");
		return NULL;
	}
	for (int i = 0; i < req->nmessages; i++) {
		const struct llm_message *m = &req->messages[i];
		if ((unsigned) m->role > LLM_ROLE_TOOL) {
			snprintf(err, errlen, "messages[%d] has an unknown role", i);
			return NULL;
		}
		/* an empty id would pair no answer with its call: answers always carry one (the client
		 * makes one when the provider gives none) */
		if (m->role == LLM_ROLE_TOOL && (!m->tool_call_id || !*m->tool_call_id)) {
			snprintf(err, errlen, "messages[%d].tool_call_id is required", i);
			return NULL;
		}
		for (int k = 0; m->role == LLM_ROLE_ASSISTANT && k < m->ntool_calls; k++) {
			if (!m->tool_calls[k].id || !*m->tool_calls[k].id) {
				snprintf(err, errlen, "messages[%d].tool_calls[%d].id is required", i, k);
				return NULL;
			}
		}
	}
	return is_anthropic(req->provider) ? anthropic_body(req, err, errlen) : openai_body(req, err, errlen);
}

json_t *llm_wire_embed_body(const struct llm_embed_request *req, const char *const *inputs, int n)
{
	json_t *o = json_object(), *in = json_array();

	if (req->model && *req->model)
		json_object_set_new(o, "model", json_string(req->model));
	for (int i = 0; i < n; i++)
		json_array_append_new(in, json_string(inputs[i] ? inputs[i] : ""));
	json_object_set_new(o, "input", in);
	if (req->dimensions > 0)
		json_object_set_new(o, "dimensions", json_integer(req->dimensions));
	if (req->provider != LLM_OLLAMA)
		json_object_set_new(o, "encoding_format", json_string("float"));
	return o;
}

/* ---- answers ---- */

const char *llm_finish_normalise(const char *r)
{
	if (!r)
		return NULL;
	if (str_eq(r, "end_turn") || str_eq(r, "stop_sequence"))
		return "stop";
	if (str_eq(r, "tool_use"))
		return "tool_calls";
	if (str_eq(r, "max_tokens"))
		return "length";
	return r;
}

static char *dup_json_str(json_t *v)
{
	return json_is_string(v) ? xstrndup(json_string_value(v), json_string_length(v)) : NULL;
}

char *llm_tool_call_id_new(void)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[12];
	char out[5 + 2 * sizeof(raw) + 1] = "call_";

	rand_bytes(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[5 + 2 * i] = hex[raw[i] >> 4];
		out[6 + 2 * i] = hex[raw[i] & 15];
	}
	out[sizeof(out) - 1] = '\0';
	return xstrdup(out);
}

/* Takes ownership of the strings. A call without an id (some compatible
 * servers omit it) gets one made here, so the next turn can answer it. */
static void add_tool_call(struct llm_response *r, char *id, char *name, char *args)
{
	if (!id || !*id) {
		free(id);
		id = llm_tool_call_id_new();
	}
	r->tool_calls = xrealloc(r->tool_calls, sizeof(*r->tool_calls) * (size_t) (r->ntool_calls + 1));
	r->tool_calls[r->ntool_calls++] = (struct llm_tool_call){.id = id, .name = name, .arguments = args};
}

static int64_t jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int64_t) json_integer_value(v) : 0;
}

static void set_finish(struct llm_response *r, const char *reason)
{
	free(r->finish_reason);
	r->finish_reason = reason ? xstrdup(llm_finish_normalise(reason)) : NULL;
}

/* ---- a fast path for OpenAI's answers and stream chunks ---- */

/*
 * jansson builds a tree of a whole answer to read five fields of it, and a
 * stream parses one per chunk: most of a streamed call's CPU. This scanner
 * reads the same fields straight from the text, checking the text as
 * jansson does, and gives up (-1) on whatever it cannot be sure of: \u
 * escapes, numbers jansson might refuse, a field it reads given twice, tool
 * calls, errors, deep nesting. The caller then takes the jansson path, so
 * answers and error messages stay the same.
 */
#define OAI_DEPTH_MAX 32

bool llm_wire_slow_only; /* tests only, see llm_int.h: read-only while clients run */

struct oai_str {
	const char *p; /* between the quotes, still escaped */
	size_t n;
	bool esc;
};

enum oai_ctx { OAI_NONE, OAI_ROOT, OAI_CHOICES, OAI_CHOICE0, OAI_MSG, OAI_USAGE, OAI_DETAILS };

struct oai_scan {
	const char *p, *end;
	int depth;
	bool chunk; /* a stream chunk: choices[0].delta, not .message */
	bool has_model, has_msg, has_content, has_finish, has_usage;
	struct oai_str model, content, finish;
	int64_t prompt, completion, cached;
};

static void oai_ws(struct oai_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* One UTF-8 sequence at s->p (a byte >= 0x80), strictly: no overlongs, surrogates or > U+10FFFF. */
static int oai_utf8(struct oai_scan *s)
{
	const unsigned char *u = (const unsigned char *) s->p;
	size_t left = (size_t) (s->end - s->p);
	int n;
	unsigned char lo = 0x80, hi = 0xBF;

	if (u[0] >= 0xC2 && u[0] <= 0xDF)
		n = 2;
	else if (u[0] >= 0xE0 && u[0] <= 0xEF)
		n = 3;
	else if (u[0] >= 0xF0 && u[0] <= 0xF4)
		n = 4;
	else
		return -1;
	if (u[0] == 0xE0)
		lo = 0xA0;
	else if (u[0] == 0xED)
		hi = 0x9F;
	else if (u[0] == 0xF0)
		lo = 0x90;
	else if (u[0] == 0xF4)
		hi = 0x8F;
	if (left < (size_t) n || u[1] < lo || u[1] > hi)
		return -1;
	for (int i = 2; i < n; i++)
		if (u[i] < 0x80 || u[i] > 0xBF)
			return -1;
	s->p += n;
	return 0;
}

static int oai_string(struct oai_scan *s, struct oai_str *out)
{
	struct oai_str str = {.p = ++s->p};

	while (s->p < s->end) {
		unsigned char c = (unsigned char) *s->p;
		if (c == '"') {
			str.n = (size_t) (s->p - str.p);
			s->p++;
			if (out)
				*out = str;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (s->p + 1 >= s->end || !s->p[1] || !strchr("\"\\/bfnrt", s->p[1]))
				return -1; /* \u and the invalid ones: jansson's to judge */
			str.esc = true;
			s->p += 2;
		} else if (c >= 0x80) {
			if (oai_utf8(s) < 0)
				return -1;
		} else {
			s->p++;
		}
	}
	return -1;
}

/* A JSON number; *is_int when it has neither fraction nor exponent. */
static int oai_number(struct oai_scan *s, int64_t *v, bool *is_int)
{
	const char *start = s->p;
	int digits = 0;

	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0') {
		s->p++;
		digits = 1;
	} else {
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
			s->p++;
			digits++;
		}
	}
	if (digits == 0 || digits > 18) /* 19 digits may overflow: jansson refuses those */
		return -1;
	*is_int = true;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (s->p == s->end || *s->p < '0' || *s->p > '9')
			return -1;
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
		*is_int = false;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
		return -1; /* could overflow a double */
	if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		return -1; /* 0123 */
	/* Not strtoll: the body is not NUL-terminated, and the digits may run
	 * to its very end. At most 18 digits: no overflow. */
	int64_t n = 0;
	if (*is_int)
		for (const char *d = start + (*start == '-'); d < s->p; d++)
			n = n * 10 + (*d - '0');
	*v = *start == '-' ? -n : n;
	return 0;
}

/* After a member or an element: 0 past a comma (more follow), 1 past the
 * closing bracket (the container is done: depth back down), -1 on junk. */
static int oai_next(struct oai_scan *s, char close)
{
	oai_ws(s);
	if (s->p == s->end)
		return -1;
	if (*s->p == close) {
		s->p++;
		s->depth--;
		return 1;
	}
	if (*s->p++ != ',')
		return -1;
	oai_ws(s);
	return 0;
}

static int oai_value(struct oai_scan *s, enum oai_ctx ctx, struct oai_str *str, int64_t *num);

static int oai_object(struct oai_scan *s, enum oai_ctx ctx)
{
	unsigned seen = 0;

	if (++s->depth > OAI_DEPTH_MAX)
		return -1;
	s->p++;
	oai_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		s->depth--;
		return 0;
	}
	for (;;) {
		struct oai_str k;
		if (s->p == s->end || *s->p != '"' || oai_string(s, &k) < 0)
			return -1;
		oai_ws(s);
		if (s->p == s->end || *s->p++ != ':')
			return -1;
		oai_ws(s);
		if (s->p == s->end)
			return -1;
		/* which field this is; escaped keys are none of ours */
		int field = 0;
		static const char *const keys[][4] = {
		    [OAI_ROOT] = {"model", "choices", "usage", "error"},
		    [OAI_CHOICE0] = {"message", "delta", "finish_reason"},
		    [OAI_MSG] = {"content", "tool_calls"},
		    [OAI_USAGE] = {"prompt_tokens", "completion_tokens", "prompt_tokens_details"},
		    [OAI_DETAILS] = {"cached_tokens"},
		};
		if (!k.esc && ctx < ARRAY_LEN(keys))
			for (int i = 0; i < 4 && keys[ctx][i]; i++)
				if (strlen(keys[ctx][i]) == k.n && memcmp(keys[ctx][i], k.p, k.n) == 0)
					field = i + 1;
		if (field) {
			if (seen & (1u << field))
				return -1; /* jansson keeps the last: not worth following */
			seen |= 1u << field;
		}
		struct oai_str str = {0};
		int64_t num = 0;
		enum oai_ctx child = OAI_NONE;
		char c = *s->p;
		bool take_str = false, take_num = false;
		switch (ctx * 8 + field) {
		case OAI_ROOT * 8 + 1:
			take_str = s->has_model = c == '"';
			break;
		case OAI_ROOT * 8 + 2:
			child = c == '[' ? OAI_CHOICES : OAI_NONE;
			break;
		case OAI_ROOT * 8 + 3:
			child = c == '{' ? OAI_USAGE : OAI_NONE;
			s->has_usage = c == '{';
			break;
		case OAI_ROOT * 8 + 4:
			return -1;
		case OAI_CHOICE0 * 8 + 1:
		case OAI_CHOICE0 * 8 + 2:
			if ((field == 2) == s->chunk) {
				child = c == '{' ? OAI_MSG : OAI_NONE;
				s->has_msg = c == '{';
			}
			break;
		case OAI_CHOICE0 * 8 + 3:
			take_str = s->has_finish = c == '"';
			break;
		case OAI_MSG * 8 + 1:
			take_str = s->has_content = c == '"';
			break;
		case OAI_MSG * 8 + 2:
			if (c != 'n')
				return -1; /* tool calls: the jansson path */
			break;
		case OAI_USAGE * 8 + 1:
		case OAI_USAGE * 8 + 2:
		case OAI_DETAILS * 8 + 1:
			take_num = true;
			break;
		case OAI_USAGE * 8 + 3:
			child = c == '{' ? OAI_DETAILS : OAI_NONE;
			break;
		default:
			break;
		}
		if (oai_value(s, child, take_str ? &str : NULL, take_num ? &num : NULL) < 0)
			return -1;
		if (take_str && ctx == OAI_ROOT)
			s->model = str;
		else if (take_str && ctx == OAI_CHOICE0)
			s->finish = str;
		else if (take_str)
			s->content = str;
		else if (take_num && ctx == OAI_DETAILS)
			s->cached = num;
		else if (take_num)
			*(field == 1 ? &s->prompt : &s->completion) = num;
		int end = oai_next(s, '}');
		if (end != 0)
			return end < 0 ? -1 : 0;
	}
}

static int oai_array(struct oai_scan *s, enum oai_ctx ctx)
{
	if (++s->depth > OAI_DEPTH_MAX)
		return -1;
	s->p++;
	oai_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		s->depth--;
		return 0;
	}
	for (int i = 0;; i++) {
		if (s->p == s->end)
			return -1;
		enum oai_ctx child = ctx == OAI_CHOICES && i == 0 && *s->p == '{' ? OAI_CHOICE0 : OAI_NONE;
		if (oai_value(s, child, NULL, NULL) < 0)
			return -1;
		int end = oai_next(s, ']');
		if (end != 0)
			return end < 0 ? -1 : 0;
	}
}

static bool oai_lit(struct oai_scan *s, const char *lit, size_t n)
{
	if ((size_t) (s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return false;
	s->p += n;
	return true;
}

/* At a value (no leading blanks). str and num: where to put a string or integer, if wanted. */
static int oai_value(struct oai_scan *s, enum oai_ctx ctx, struct oai_str *str, int64_t *num)
{
	int64_t v;
	bool is_int;

	switch (*s->p) {
	case '{':
		return oai_object(s, ctx);
	case '[':
		return oai_array(s, ctx);
	case '"':
		return oai_string(s, str);
	case 't':
		return oai_lit(s, "true", 4) ? 0 : -1;
	case 'f':
		return oai_lit(s, "false", 5) ? 0 : -1;
	case 'n':
		return oai_lit(s, "null", 4) ? 0 : -1;
	default:
		if (oai_number(s, &v, &is_int) < 0)
			return -1;
		if (num && is_int)
			*num = v; /* jint: a real counts as 0 */
		return 0;
	}
}

static int oai_scan(struct oai_scan *s, const char *text, size_t len, bool chunk)
{
	memset(s, 0, sizeof(*s));
	s->p = text;
	s->end = text + len;
	s->chunk = chunk;
	oai_ws(s);
	if (s->p == s->end || *s->p != '{' || oai_object(s, OAI_ROOT) < 0)
		return -1;
	oai_ws(s);
	return s->p == s->end ? 0 : -1;
}

/* Writes the string's bytes, unescaped and NUL-terminated, to out (str->n + 1 bytes); returns their length. */
static size_t oai_unescape(char *out, const struct oai_str *str)
{
	char *o = out;

	if (!str->esc) {
		memcpy(out, str->p, str->n);
		o += str->n;
	} else {
		for (const char *p = str->p, *end = str->p + str->n; p < end; p++) {
			if (*p != '\\') {
				*o++ = *p;
				continue;
			}
			switch (*++p) {
			case 'b':
				*o++ = '\b';
				break;
			case 'f':
				*o++ = '\f';
				break;
			case 'n':
				*o++ = '\n';
				break;
			case 'r':
				*o++ = '\r';
				break;
			case 't':
				*o++ = '\t';
				break;
			default: /* " \ / */
				*o++ = *p;
				break;
			}
		}
	}
	*o = '\0';
	return (size_t) (o - out);
}

static char *oai_dup(const struct oai_str *str)
{
	char *out = xmalloc(str->n + 1);
	oai_unescape(out, str);
	return out;
}

/* parse_openai and the model, from the text: 0, or -1 for the jansson path. */
static int parse_openai_fast(const char *body, size_t len, struct llm_response *r)
{
	struct oai_scan s;

	if (oai_scan(&s, body, len, false) < 0 || !s.has_msg)
		return -1;
	r->text = s.has_content ? oai_dup(&s.content) : NULL;
	free(r->finish_reason);
	r->finish_reason = NULL;
	if (s.has_finish) {
		char *f = oai_dup(&s.finish);
		r->finish_reason = xstrdup(llm_finish_normalise(f));
		free(f);
	}
	r->rec.prompt_tokens = s.has_usage ? s.prompt : 0;
	r->rec.completion_tokens = s.has_usage ? s.completion : 0;
	r->rec.cached_tokens = s.has_usage ? s.cached : 0;
	if (s.has_model) {
		free(r->rec.model);
		r->rec.model = oai_dup(&s.model);
	}
	return 0;
}

static int parse_openai(json_t *root, struct llm_response *r, char *err, size_t errlen)
{
	json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
	json_t *msg = json_object_get(choice, "message");
	json_t *usage = json_object_get(root, "usage");

	if (!json_is_object(msg)) {
		snprintf(err, errlen, "the answer has no choices[0].message");
		return -1;
	}
	r->text = dup_json_str(json_object_get(msg, "content"));
	json_t *tcs = json_object_get(msg, "tool_calls");
	for (size_t i = 0; i < json_array_size(tcs); i++) {
		json_t *tc = json_array_get(tcs, i), *fn = json_object_get(tc, "function");
		json_t *args = json_object_get(fn, "arguments");
		char *a = json_is_string(args)   ? dup_json_str(args)
		          : json_is_object(args) ? json_text(args, JSON_COMPACT) /* some compatible servers */
		                                 : xstrdup("{}");
		add_tool_call(r, dup_json_str(json_object_get(tc, "id")), dup_json_str(json_object_get(fn, "name")), a);
	}
	set_finish(r, json_string_value(json_object_get(choice, "finish_reason")));
	r->rec.prompt_tokens = jint(usage, "prompt_tokens");
	r->rec.completion_tokens = jint(usage, "completion_tokens");
	r->rec.cached_tokens = jint(json_object_get(usage, "prompt_tokens_details"), "cached_tokens");
	return 0;
}

static void anthropic_usage(json_t *usage, int64_t *prompt, int64_t *completion, int64_t *cached)
{
	if (!json_is_object(usage))
		return;
	/* input_tokens leaves out the cache: the prompt is all three */
	if (json_object_get(usage, "input_tokens")) {
		*cached = jint(usage, "cache_read_input_tokens");
		*prompt = jint(usage, "input_tokens") + *cached + jint(usage, "cache_creation_input_tokens");
	}
	if (json_object_get(usage, "output_tokens"))
		*completion = jint(usage, "output_tokens");
}

static int parse_anthropic(json_t *root, bool json_tool, struct llm_response *r, char *err, size_t errlen)
{
	json_t *content = json_object_get(root, "content");
	struct buf text;
	bool has_text = false;

	if (!json_is_array(content)) {
		snprintf(err, errlen, "the answer has no content array");
		return -1;
	}
	buf_init(&text, 0);
	for (size_t i = 0; i < json_array_size(content); i++) {
		json_t *blk = json_array_get(content, i);
		const char *type = json_string_value(json_object_get(blk, "type"));
		if (str_eq(type, "text")) {
			json_t *t = json_object_get(blk, "text");
			buf_append(&text, json_string_value(t) ? json_string_value(t) : "", json_string_length(t));
			has_text = true;
		} else if (str_eq(type, "tool_use")) {
			char *args = json_text(json_object_get(blk, "input"), JSON_COMPACT | JSON_ENCODE_ANY);
			const char *name = json_string_value(json_object_get(blk, "name"));
			if (json_tool && str_eq(name, LLM_JSON_TOOL)) {
				text.len = 0;
				buf_puts(&text, args ? args : "{}");
				has_text = true;
				free(args);
				continue;
			}
			add_tool_call(r, dup_json_str(json_object_get(blk, "id")), name ? xstrdup(name) : NULL,
			              args ? args : xstrdup("{}"));
		}
	}
	r->text = has_text ? buf_steal(&text) : NULL;
	buf_free(&text);
	const char *stop = json_string_value(json_object_get(root, "stop_reason"));
	set_finish(r, json_tool && str_eq(stop, "tool_use") && r->ntool_calls == 0 ? "stop" : stop);
	anthropic_usage(json_object_get(root, "usage"), &r->rec.prompt_tokens, &r->rec.completion_tokens,
	                &r->rec.cached_tokens);
	return 0;
}

int llm_wire_parse_chat(enum llm_provider p, const char *body, size_t len, bool json_tool, struct llm_response *r,
                        char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int rc = -1;

	if (!is_anthropic(p) && !llm_wire_slow_only && parse_openai_fast(body, len, r) == 0)
		return 0;
	root = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(root)) {
		snprintf(err, errlen, "the answer is not a JSON object: %s", root ? "another JSON value" : jerr.text);
		goto out;
	}
	rc = is_anthropic(p) ? parse_anthropic(root, json_tool, r, err, errlen) : parse_openai(root, r, err, errlen);
	if (rc == 0) {
		char *model = dup_json_str(json_object_get(root, "model"));
		if (model) {
			free(r->rec.model);
			r->rec.model = model;
		}
	}
out:
	json_decref(root);
	return rc;
}

char *llm_wire_error_text(const char *body, size_t len)
{
	json_error_t jerr;
	json_t *root = len ? json_loadb(body, len, 0, &jerr) : NULL;
	json_t *e = json_object_get(root, "error");
	char *out = NULL;

	if (json_is_string(e)) { /* Ollama */
		out = xstrdup(json_string_value(e));
	} else if (json_is_object(e)) {
		const char *msg = json_string_value(json_object_get(e, "message"));
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *code = json_string_value(json_object_get(e, "code"));
		if (!type)
			type = code;
		if (msg && type && code && !str_eq(type, code)) /* OpenAI's code says more than its type */
			out = xasprintf("%s (%s): %s", type, code, msg);
		else if (msg)
			out = type ? xasprintf("%s: %s", type, msg) : xstrdup(msg);
	}
	if (!out && len) {
		/* not a known shape: the start of the body, one line */
		size_t n = len > 200 ? 200 : len;
		out = xstrndup(body, n);
		for (char *c = out; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
	}
	json_decref(root);
	return out;
}

/* Error types and codes that say more than the status does. */
static const struct {
	const char *name;
	long status;
} error_names[] = {
    {"rate_limit_error", 429},  {"rate_limit_exceeded", 429}, {"authentication_error", 401},
    {"invalid_api_key", 401},   {"permission_error", 403},    {"not_found_error", 404},
    {"model_not_found", 404},   {"DeploymentNotFound", 404},  {"overloaded_error", 529},
    {"api_error", 500},         {"server_error", 500},        {"invalid_request_error", 400},
    {"request_too_large", 413}, {"timeout_error", 504},
};

/* Billing exhausted: OpenAI's insufficient_quota (as type or code), its older
 * billing_hard_limit_reached, and billing_not_active. */
static bool is_quota_name(const char *s)
{
	return str_eq(s, "insufficient_quota") || str_eq(s, "billing_hard_limit_reached") ||
	       str_eq(s, "billing_not_active");
}

static long status_of_name(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_LEN(error_names); i++)
		if (str_eq(s, error_names[i].name))
			return error_names[i].status;
	return 0;
}

/* A numeric code: 502 or "502" (Azure writes codes as strings). */
static long status_of_code(json_t *code)
{
	long v = 0;
	if (json_is_integer(code))
		v = (long) json_integer_value(code);
	else if (json_is_string(code) && json_string_length(code) == 3)
		v = strtol(json_string_value(code), NULL, 10);
	return v >= 100 && v <= 599 ? v : 0;
}

bool llm_wire_error_classify(long http_status, const char *body, size_t len, enum llm_error *err, bool *retry)
{
	json_error_t jerr;
	json_t *root = len ? json_loadb(body, len, 0, &jerr) : NULL;
	json_t *e = json_object_get(root, "error");
	bool found = json_is_object(e) || (json_is_string(e) && json_string_length(e) > 0);
	long status = http_status;

	if (json_is_object(e)) {
		json_t *code = json_object_get(e, "code");
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *scode = json_string_value(code);
		if (is_quota_name(type) || is_quota_name(scode)) {
			*err = LLM_ERR_QUOTA;
			*retry = false;
			json_decref(root);
			return true;
		}
		if (status >= 200 && status < 300) {
			/* an error in a 200 (some routers): its code says what it is */
			status = status_of_code(code);
			if (!status)
				status = status_of_name(type);
			if (!status)
				status = status_of_name(scode);
		}
	}
	if (found && status >= 200 && status < 300)
		status = 500; /* an error of no known kind: the server's */
	*err = llm_error_of_status(status);
	*retry = llm_status_retryable(status);
	json_decref(root);
	return found;
}

int llm_wire_parse_embed(enum llm_provider p, const char *body, size_t len, int n, float **out, int *dim,
                         int64_t *prompt_tokens, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr), *rows;
	int rc = -1;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "the answer is not a JSON object");
		goto out;
	}
	rows = json_object_get(root, p == LLM_OLLAMA ? "embeddings" : "data");
	if ((int) json_array_size(rows) != n) {
		snprintf(err, errlen, "asked for %d embeddings, got %zu", n, json_array_size(rows));
		goto out;
	}
	for (int i = 0; i < n; i++) {
		json_t *row = json_array_get(rows, (size_t) i), *vec = row;
		int at = i;
		if (p != LLM_OLLAMA) {
			vec = json_object_get(row, "embedding");
			if (json_is_integer(json_object_get(row, "index")))
				at = (int) json_integer_value(json_object_get(row, "index"));
		}
		int d = (int) json_array_size(vec);
		if (!json_is_array(vec) || d == 0 || at < 0 || at >= n) {
			snprintf(err, errlen, "embedding %d is not a vector", i);
			goto out;
		}
		if (*dim == 0) {
			*dim = d;
			*out = xcalloc((size_t) n, sizeof(float) * (size_t) d);
		}
		if (d != *dim) {
			snprintf(err, errlen, "embedding %d has %d dimensions, not %d", i, d, *dim);
			goto out;
		}
		for (int k = 0; k < d; k++)
			(*out)[(size_t) at * (size_t) d + (size_t) k] =
			    (float) json_number_value(json_array_get(vec, (size_t) k));
	}
	if (p == LLM_OLLAMA)
		*prompt_tokens = jint(root, "prompt_eval_count");
	else
		*prompt_tokens = jint(json_object_get(root, "usage"), "prompt_tokens");
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* ---- streams ---- */

void llm_stream_init(struct llm_stream *st, enum llm_provider p, bool json_tool, llm_delta_fn fn, void *ud)
{
	memset(st, 0, sizeof(*st));
	st->provider = p;
	st->json_tool = json_tool;
	st->on_delta = fn;
	st->delta_ud = ud;
	buf_init(&st->text, 0);
}

void llm_stream_free(struct llm_stream *st)
{
	buf_free(&st->text);
	for (int i = 0; i < st->ntools; i++) {
		buf_free(&st->tools[i].id);
		buf_free(&st->tools[i].name);
		buf_free(&st->tools[i].args);
	}
	free(st->tools);
	free(st->finish_reason);
	free(st->model);
	free(st->error);
	memset(st, 0, sizeof(*st));
}

static void stream_first(struct llm_stream *st)
{
	if (!st->first_us)
		st->first_us = time_mono_us();
}

static void stream_text(struct llm_stream *st, const char *s, size_t n)
{
	stream_first(st);
	st->has_text = true;
	buf_append(&st->text, s, n);
	if (st->on_delta && n) {
		st->delivered = true;
		st->on_delta(st->delta_ud, &(struct llm_delta){.kind = LLM_DELTA_TEXT, .text = s, .len = n});
	}
}

static struct llm_acc_tool *stream_tool_new(struct llm_stream *st, int block)
{
	st->tools = xrealloc(st->tools, sizeof(*st->tools) * (size_t) (st->ntools + 1));
	struct llm_acc_tool *t = &st->tools[st->ntools++];
	memset(t, 0, sizeof(*t));
	buf_init(&t->id, 0);
	buf_init(&t->name, 0);
	buf_init(&t->args, 0);
	t->block = block;
	return t;
}

/* The latest call started under block (a later one may reuse a block: see openai_tool_of). */
static struct llm_acc_tool *stream_tool(struct llm_stream *st, int block, bool create)
{
	for (int i = st->ntools; i-- > 0;)
		if (st->tools[i].block == block)
			return &st->tools[i];
	return create ? stream_tool_new(st, block) : NULL;
}

static struct llm_acc_tool *stream_tool_by_id(struct llm_stream *st, const char *id, size_t n)
{
	for (int i = st->ntools; i-- > 0;)
		if (st->tools[i].id.len == n && memcmp(st->tools[i].id.data, id, n) == 0)
			return &st->tools[i];
	return NULL;
}

static void stream_tool_args(struct llm_stream *st, struct llm_acc_tool *t, const char *s, size_t n)
{
	stream_first(st);
	buf_append(&t->args, s, n);
	if (!st->on_delta || !n)
		return;
	st->delivered = true;
	if (st->json_tool && t->name.len && str_eq(t->name.data, LLM_JSON_TOOL)) {
		st->on_delta(st->delta_ud, &(struct llm_delta){.kind = LLM_DELTA_TEXT, .text = s, .len = n});
		return;
	}
	st->on_delta(st->delta_ud, &(struct llm_delta){.kind = LLM_DELTA_TOOL_CALL,
	                                               .text = s,
	                                               .len = n,
	                                               .tool_index = (int) (t - st->tools),
	                                               .tool_name = t->name.len ? t->name.data : NULL});
}

static void buf_set_json(struct buf *b, json_t *v)
{
	if (json_is_string(v)) {
		b->len = 0;
		buf_append(b, json_string_value(v), json_string_length(v));
	}
}

static void stream_set_error(struct llm_stream *st, json_t *e)
{
	char *txt = json_text(e, JSON_COMPACT);
	size_t n = txt ? strlen(txt) : 0;
	free(st->error);
	st->error = llm_wire_error_text(txt ? txt : "", n);
	if (!st->error)
		st->error = xstrdup("an error event in the stream");
	/* the stream's status was 200: the event's type or code says what failed */
	llm_wire_error_classify(200, txt ? txt : "", n, &st->error_kind, &st->error_retry);
	free(txt);
}

/*
 * Which call a tool_calls delta continues, from what the delta says rather
 * than what the spec promises: OpenAI sends an index on every delta and the
 * id on the first; some compatible servers send no index, or the same index
 * for every parallel call. An id not seen before starts a call; a delta with
 * neither index nor id continues the latest one.
 */
static struct llm_acc_tool *openai_tool_of(struct llm_stream *st, json_t *tc)
{
	json_t *idx = json_object_get(tc, "index"), *id = json_object_get(tc, "id");
	bool has_idx = json_is_integer(idx) && json_integer_value(idx) >= 0 && json_integer_value(idx) < INT_MAX;
	int block = has_idx ? (int) json_integer_value(idx) : -1 - st->ntools; /* below zero: no index given */
	struct llm_acc_tool *t;

	if (json_is_string(id) && json_string_length(id) > 0) {
		if ((t = stream_tool_by_id(st, json_string_value(id), json_string_length(id))))
			return t;
		if (has_idx && (t = stream_tool(st, block, false)) && t->id.len == 0)
			return t; /* the id came after the call's first delta */
		return stream_tool_new(st, block);
	}
	if (has_idx)
		return stream_tool(st, block, true);
	return st->ntools ? &st->tools[st->ntools - 1] : stream_tool_new(st, block);
}

static void openai_event(struct llm_stream *st, json_t *root)
{
	json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
	json_t *delta = json_object_get(choice, "delta"), *v;

	if (json_object_get(root, "error")) {
		stream_set_error(st, root);
		return;
	}
	if (!st->model && (v = json_object_get(root, "model")) && json_is_string(v))
		st->model = dup_json_str(v);
	if ((v = json_object_get(delta, "content")) && json_is_string(v))
		stream_text(st, json_string_value(v), json_string_length(v));
	json_t *tcs = json_object_get(delta, "tool_calls");
	for (size_t i = 0; i < json_array_size(tcs); i++) {
		json_t *tc = json_array_get(tcs, i), *fn = json_object_get(tc, "function");
		struct llm_acc_tool *t = openai_tool_of(st, tc);
		buf_set_json(&t->id, json_object_get(tc, "id"));
		buf_set_json(&t->name, json_object_get(fn, "name"));
		json_t *args = json_object_get(fn, "arguments");
		if (json_is_string(args)) {
			stream_tool_args(st, t, json_string_value(args), json_string_length(args));
		} else if (json_is_object(args)) {
			/* some compatible servers send the arguments as an object, as the plain answer may */
			char *a = json_text(args, JSON_COMPACT);
			if (a)
				stream_tool_args(st, t, a, strlen(a));
			free(a);
		}
	}
	if ((v = json_object_get(choice, "finish_reason")) && json_is_string(v)) {
		free(st->finish_reason);
		st->finish_reason = xstrdup(json_string_value(v));
	}
	json_t *usage = json_object_get(root, "usage");
	if (json_is_object(usage)) {
		st->prompt_tokens = jint(usage, "prompt_tokens");
		st->completion_tokens = jint(usage, "completion_tokens");
		st->cached_tokens = jint(json_object_get(usage, "prompt_tokens_details"), "cached_tokens");
	}
}

static void anthropic_event(struct llm_stream *st, json_t *root)
{
	const char *type = json_string_value(json_object_get(root, "type"));
	json_t *v;

	if (str_eq(type, "message_start")) {
		json_t *msg = json_object_get(root, "message");
		if (!st->model && (v = json_object_get(msg, "model")) && json_is_string(v))
			st->model = dup_json_str(v);
		anthropic_usage(json_object_get(msg, "usage"), &st->prompt_tokens, &st->completion_tokens,
		                &st->cached_tokens);
	} else if (str_eq(type, "content_block_start")) {
		json_t *blk = json_object_get(root, "content_block");
		int index = (int) jint(root, "index");
		if (str_eq(json_string_value(json_object_get(blk, "type")), "tool_use")) {
			struct llm_acc_tool *t = stream_tool(st, index, true);
			buf_set_json(&t->id, json_object_get(blk, "id"));
			buf_set_json(&t->name, json_object_get(blk, "name"));
		} else if ((v = json_object_get(blk, "text")) && json_string_length(v)) {
			stream_text(st, json_string_value(v), json_string_length(v));
		} else {
			st->has_text = true;
		}
	} else if (str_eq(type, "content_block_delta")) {
		json_t *d = json_object_get(root, "delta");
		const char *dt = json_string_value(json_object_get(d, "type"));
		if (str_eq(dt, "text_delta") && (v = json_object_get(d, "text")) && json_is_string(v)) {
			stream_text(st, json_string_value(v), json_string_length(v));
		} else if (str_eq(dt, "input_json_delta") && (v = json_object_get(d, "partial_json")) &&
		           json_is_string(v)) {
			struct llm_acc_tool *t = stream_tool(st, (int) jint(root, "index"), true);
			stream_tool_args(st, t, json_string_value(v), json_string_length(v));
		}
	} else if (str_eq(type, "message_delta")) {
		json_t *d = json_object_get(root, "delta");
		if ((v = json_object_get(d, "stop_reason")) && json_is_string(v)) {
			free(st->finish_reason);
			st->finish_reason = xstrdup(json_string_value(v));
		}
		anthropic_usage(json_object_get(root, "usage"), &st->prompt_tokens, &st->completion_tokens,
		                &st->cached_tokens);
	} else if (str_eq(type, "message_stop")) {
		st->done = true;
	} else if (str_eq(type, "error")) {
		stream_set_error(st, root);
	}
}

/* openai_event from the text: 0, or -1 (nothing done) for the jansson path. */
static int openai_event_fast(struct llm_stream *st, const char *data, size_t len)
{
	struct oai_scan s;

	if (oai_scan(&s, data, len, true) < 0)
		return -1;
	if (!st->model && s.has_model)
		st->model = oai_dup(&s.model);
	if (s.has_content) {
		char small[512];
		char *t = s.content.n < sizeof(small) ? small : xmalloc(s.content.n + 1);
		size_t n = oai_unescape(t, &s.content);
		stream_text(st, t, n);
		if (t != small)
			free(t);
	}
	if (s.has_finish) {
		free(st->finish_reason);
		st->finish_reason = oai_dup(&s.finish);
	}
	if (s.has_usage) {
		st->prompt_tokens = s.prompt;
		st->completion_tokens = s.completion;
		st->cached_tokens = s.cached;
	}
	return 0;
}

int llm_stream_event(void *ud, const char *event, const char *data, size_t len)
{
	struct llm_stream *st = ud;
	json_error_t jerr;
	json_t *root;

	(void) event; /* both providers repeat the event's name in the data's "type" */
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		st->done = true;
		return 0;
	}
	if (!is_anthropic(st->provider) && !llm_wire_slow_only && openai_event_fast(st, data, len) == 0)
		return 0;
	root = json_loadb(data, len, 0, &jerr);
	if (!json_is_object(root)) {
		free(st->error);
		st->error = xasprintf("a stream event is not JSON: %s", jerr.text);
		json_decref(root);
		return -1;
	}
	if (is_anthropic(st->provider))
		anthropic_event(st, root);
	else
		openai_event(st, root);
	json_decref(root);
	return st->error ? -1 : 0;
}

int llm_stream_finish(struct llm_stream *st, struct llm_response *r, char *err, size_t errlen)
{
	if (st->error) {
		snprintf(err, errlen, "%s", st->error);
		return -1;
	}
	/* OpenAI-compatible servers may close without [DONE]; a finish reason is enough */
	if (!st->done && !st->finish_reason) {
		snprintf(err, errlen, "the stream ended before the answer did");
		return -1;
	}
	for (int i = 0; i < st->ntools; i++) {
		struct llm_acc_tool *t = &st->tools[i];
		char *name = buf_steal(&t->name);
		char *args = t->args.len ? buf_steal(&t->args) : xstrdup("{}");
		if (st->json_tool && str_eq(name, LLM_JSON_TOOL)) {
			st->text.len = 0;
			buf_puts(&st->text, args);
			st->has_text = true;
			free(name);
			free(args);
			continue;
		}
		add_tool_call(r, buf_steal(&t->id), name, args);
	}
	r->text = st->has_text ? buf_steal(&st->text) : NULL;
	const char *fin = st->finish_reason;
	if (st->json_tool && str_eq(fin, "tool_use") && r->ntool_calls == 0)
		fin = "stop";
	set_finish(r, fin);
	if (st->model) {
		free(r->rec.model);
		r->rec.model = st->model;
		st->model = NULL;
	}
	r->rec.prompt_tokens = st->prompt_tokens;
	r->rec.completion_tokens = st->completion_tokens;
	r->rec.cached_tokens = st->cached_tokens;
	return 0;
}
