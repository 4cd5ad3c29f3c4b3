/*
 * models: model configurations (providers, endpoints, capabilities, limits,
 * prices) and their secrets. Provider keys and extra header values are
 * sealed at rest (XChaCha20-Poly1305, key derived from the server secret,
 * row id as associated data) and opened only in the worker's memory for a
 * call; answers show api_key_last4 and api_key_set, never the key.
 */
#ifndef TROUPE_MODELS_H
#define TROUPE_MODELS_H

#include "../auth/auth.h"
#include "../core/core.h"
#include "../db/db.h"
#include "../llm/llm.h"

#include <jansson.h>

struct models;

enum status models_new(struct db *db, const char *server_secret, struct models **out, struct problem *p);
void models_free(struct models **m);

/* CRUD in who's workspace (who->workspace_id; the caller has checked the
 * role). Inputs are validated JSON bodies (the gateway's schema has run);
 * provider-specific rules are checked here. Another workspace's id answers
 * ST_NOT_FOUND, as a missing one does. Every write records its audit event
 * (model.create, model.update, model.key_change, model.delete: name,
 * provider, whether a key is set and its last four; never the key) in the
 * write's own transaction, whoever calls: the API, the CLI or the engine. */
enum status models_create(struct models *m, const struct actor *who, json_t *in, struct arena *a, json_t **out,
                          struct problem *p);
enum status models_get(struct models *m, const struct actor *who, const char *id, struct arena *a, json_t **out,
                       struct problem *p);
enum status models_list(struct models *m, const struct actor *who, int limit, const char *after, struct arena *a,
                        json_t **items, const char **last_id, struct problem *p);
enum status models_update(struct models *m, const struct actor *who, const char *id, json_t *patch, struct arena *a,
                          json_t **out, struct problem *p);
enum status models_delete(struct models *m, const struct actor *who, const char *id, struct problem *p);

/* The catalogue for the web form: each provider and its fields. */
json_t *models_providers(void);

/* A configuration ready for a call. The key and header values are opened
 * into the arena; models_resolved_wipe() zeroes them (the arena frees). */
struct model_header {
	const char *name;
	char *value;
};
struct model_resolved {
	const char *id, *name, *provider, *model, *kind;
	const char *base_url, *api_version, *deployment, *organization;
	char *api_key; /* NULL when none is set */
	struct model_header *headers;
	int nheaders;
	double temperature, top_p;
	bool has_temperature, has_top_p;
	int max_tokens, timeout_s;
	int rpm, tpm, max_concurrency;
	double input_per_mtok, output_per_mtok;
	bool tools, json_mode, structured_output, streaming, vision;
	int64_t context_window;
};
/* id NULL: the workspace's default model of that kind ("chat"|"embedding"). */
enum status models_resolve(struct models *m, const char *ws, const char *id, const char *kind, struct arena *a,
                           struct model_resolved *out, struct problem *p);
void models_resolved_wipe(struct model_resolved *r);

/*
 * The one mapping from a configuration to an LLM request (models/request.c):
 * provider, endpoint, key, sampling, max_tokens, timeout, extra headers,
 * prices, and the configuration's id as the limiter's key. The caller adds
 * messages, tools and the rest; out borrows r's strings, so it lives no
 * longer than r (and its arena).
 */
enum llm_provider models_llm_provider(const char *provider);
void models_llm_request(const struct model_resolved *r, struct arena *a, struct llm_request *out);
void models_llm_embed_request(const struct model_resolved *r, struct arena *a, struct llm_embed_request *out);
/* The configuration's rpm, tpm and concurrency become the process limiter's for its id. */
void models_llm_limit(const struct model_resolved *r, struct llm_limiter *lim);

/* One minimal real call (a chat turn, or one embedding) through the llm
 * client: {ok, latency_ms, model_reported, error: {class, message, detail}},
 * for a configuration of who's workspace. */
struct llm_limiter;
enum status models_probe(struct models *m, struct llm_limiter *lim, const struct actor *who, const char *id,
                         struct arena *a, json_t **out, struct problem *p);

/* Re-seals every secret under a new server secret, in one transaction. */
enum status models_rotate_secret(struct db *db, const char *old_secret, const char *new_secret, int *count,
                                 struct problem *p);

/* Sealing, exposed for tests: base64url(nonce || ciphertext). */
char *models_seal(const struct models *m, const char *aad, const char *plain, struct arena *a);
char *models_open(const struct models *m, const char *aad, const char *sealed, struct arena *a);

#endif
