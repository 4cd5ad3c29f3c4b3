/* Model configurations: storage, sealing of secrets, and the JSON shape
 * the API answers with. */
#include "models_int.h"
#include "core/json_text.h"

#include <sodium.h>

#include <ctype.h>
#include <string.h>

#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG   crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SECRET_MAX 4096

struct models {
	struct db *db;
	unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
};

static const char COLS[] = "id, name, provider, model, kind, base_url, api_version, deployment, organization, "
                           "api_key_sealed, api_key_last4, headers_sealed, header_names, params, capabilities, "
                           "limits, pricing, is_default, created_at, updated_at";
enum {
	C_ID,
	C_NAME,
	C_PROVIDER,
	C_MODEL,
	C_KIND,
	C_BASE_URL,
	C_API_VERSION,
	C_DEPLOYMENT,
	C_ORG,
	C_KEY_SEALED,
	C_KEY_LAST4,
	C_HEADERS_SEALED,
	C_HEADER_NAMES,
	C_PARAMS,
	C_CAPS,
	C_LIMITS,
	C_PRICING,
	C_DEFAULT,
	C_CREATED,
	C_UPDATED
};

/* The sealing key: a KDF subkey of a hash of the server secret, so other
 * modules' keys derived from the same secret are independent of it. */
static void derive_key(const char *secret, unsigned char out[32])
{
	unsigned char master[crypto_kdf_KEYBYTES];
	crypto_generichash(master, sizeof(master), (const unsigned char *) secret, strlen(secret), NULL, 0);
	crypto_kdf_derive_from_key(out, 32, 1, "trpmodel", master);
	sodium_memzero(master, sizeof(master));
}

enum status models_new(struct db *db, const char *server_secret, struct models **out, struct problem *p)
{
	if (!server_secret || strlen(server_secret) < 32)
		return problem_set(p, ST_INTERNAL, "the server secret is missing or short");
	struct models *m = xcalloc(1, sizeof(*m));
	m->db = db;
	derive_key(server_secret, m->key);
	*out = m;
	return ST_OK;
}

void models_free(struct models **mp)
{
	if (!*mp)
		return;
	sodium_memzero((*mp)->key, sizeof((*mp)->key));
	free(*mp);
	*mp = NULL;
}

static char *seal_with(const unsigned char *key, const char *aad, const char *plain, struct arena *a)
{
	size_t n = strlen(plain);
	size_t clen = SEAL_NONCE + n + SEAL_TAG;
	unsigned char *buf = arena_alloc(a, clen);
	randombytes_buf(buf, SEAL_NONCE);
	unsigned long long outlen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(buf + SEAL_NONCE, &outlen, (const unsigned char *) plain, n,
	                                           (const unsigned char *) aad, strlen(aad), NULL, buf, key);
	char *enc = arena_alloc(a, clen * 4 / 3 + 8);
	b64url_encode(buf, clen, enc);
	return enc;
}

static char *open_with(const unsigned char *key, const char *aad, const char *sealed, struct arena *a)
{
	size_t slen = strlen(sealed);
	if (slen > SECRET_MAX * 2)
		return NULL;
	unsigned char *buf = arena_alloc(a, slen);
	long n = b64url_decode(sealed, slen, buf, slen);
	if (n < (long) (SEAL_NONCE + SEAL_TAG))
		return NULL;
	char *plain = arena_alloc(a, (size_t) n);
	unsigned long long plen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *) plain, &plen, NULL, buf + SEAL_NONCE,
	                                               (unsigned long long) n - SEAL_NONCE, (const unsigned char *) aad,
	                                               strlen(aad), buf, key) != 0)
		return NULL;
	plain[plen] = '\0';
	return plain;
}

char *models_seal(const struct models *m, const char *aad, const char *plain, struct arena *a)
{
	return seal_with(m->key, aad, plain, a);
}

char *models_open(const struct models *m, const char *aad, const char *sealed, struct arena *a)
{
	return open_with(m->key, aad, sealed, a);
}

/* ---- validation beyond the schema ---- */

static bool header_name_ok(const char *n)
{
	static const char *const reserved[] = {
	    "authorization",     "api-key",    "x-api-key",         "host", "content-length", "content-type",
	    "transfer-encoding", "connection", "anthropic-version", NULL};
	if (!*n || strlen(n) > 100)
		return false;
	for (const char *c = n; *c; c++)
		if (!isalnum((unsigned char) *c) && *c != '-' && *c != '_')
			return false;
	for (int i = 0; reserved[i]; i++)
		if (str_eq_nocase(n, reserved[i]))
			return false;
	return true;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The effective row a create or update would write, as JSON fields. */
static enum status check_config(json_t *cfg, struct problem *p)
{
	const char *provider = jstr(cfg, "provider");
	const char *base = jstr(cfg, "base_url");
	const char *key = jstr(cfg, "api_key");
	if (str_eq(provider, "azure_openai")) {
		if (!base)
			problem_field(p, "base_url",
			              "is required for azure_openai (https://RESOURCE.openai.azure.com)");
		if (!jstr(cfg, "deployment"))
			problem_field(p, "deployment", "is required for azure_openai");
	}
	if (str_eq(provider, "openai_compatible") && !base)
		problem_field(p, "base_url", "is required for openai_compatible");
	models_base_url_check(cfg, p);
	if ((str_eq(provider, "openai") || str_eq(provider, "azure_openai") || str_eq(provider, "anthropic")) && !key &&
	    !json_is_true(json_object_get(cfg, "api_key_set")))
		problem_field(p, "api_key", "is required for %s", provider);
	if (str_eq(provider, "anthropic") && str_eq(jstr(cfg, "kind"), "embedding"))
		problem_field(p, "kind", "anthropic has no embedding models");
	json_t *params = json_object_get(cfg, "params");
	json_t *hdrs = json_object_get(params, "extra_headers");
	const char *hn;
	json_t *hv;
	json_object_foreach(hdrs, hn, hv)
	{
		if (!header_name_ok(hn))
			problem_field(p, "params.extra_headers",
			              "\"%s\" is not an allowed header name (letters, digits, - and _; not an "
			              "authentication or framing header: put keys in api_key)",
			              hn);
		else if (!json_is_string(hv) || json_string_length(hv) > 2000)
			problem_field(p, "params.extra_headers",
			              "the value of \"%s\" must be a string of at most 2000 "
			              "characters",
			              hn);
	}
	if (p->nfields)
		return problem_set(p, ST_BAD_INPUT, "the model configuration has %d invalid field%s", p->nfields,
		                   p->nfields == 1 ? "" : "s");
	return ST_OK;
}

/* ---- row <-> JSON ---- */

static json_t *parse_col(const struct db_res *r, int row, int col)
{
	const char *t = db_res_text(r, row, col);
	json_t *j = t ? json_loads(t, 0, NULL) : NULL;
	return j ? j : json_object();
}

static json_t *effective_caps(const char *model, json_t *over)
{
	const struct model_known *k = models_known(model);
	json_t *c = json_pack("{s:b, s:b, s:b, s:b, s:b, s:o}", "tools", k ? k->tools : true, "json_mode",
	                      k ? k->json_mode : false, "structured_output", k ? k->structured_output : false,
	                      "streaming", k ? k->streaming : true, "vision", k ? k->vision : false, "context_window",
	                      k ? json_integer(k->context_window) : json_null());
	json_object_update(c, over);
	return c;
}

static json_t *effective_pricing(const char *model, json_t *over)
{
	const struct model_known *k = models_known(model);
	json_t *c = json_pack("{s:f, s:f, s:s}", "input_per_mtok", k ? k->input_per_mtok : 0.0, "output_per_mtok",
	                      k ? k->output_per_mtok : 0.0, "currency", "USD");
	json_object_update(c, over);
	return c;
}

static json_t *opt_str(const struct db_res *r, int row, int col)
{
	const char *s = db_res_text(r, row, col);
	return s ? json_string(s) : json_null();
}

static json_t *row_to_json(const struct db_res *r, int row)
{
	char created[40], updated[40];
	time_iso8601(db_res_int(r, row, C_CREATED), created, sizeof(created));
	time_iso8601(db_res_int(r, row, C_UPDATED), updated, sizeof(updated));
	const char *model = db_res_text(r, row, C_MODEL);
	json_t *params = parse_col(r, row, C_PARAMS);
	json_t *names = json_loads(db_res_text(r, row, C_HEADER_NAMES), 0, NULL);
	json_object_set_new(params, "extra_headers", names ? names : json_array());
	json_t *over_caps = parse_col(r, row, C_CAPS), *over_price = parse_col(r, row, C_PRICING);
	json_t *j = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:b, s:s, s:s}", "id",
	    db_res_text(r, row, C_ID), "name", db_res_text(r, row, C_NAME), "provider", db_res_text(r, row, C_PROVIDER),
	    "model", model, "kind", db_res_text(r, row, C_KIND), "base_url", opt_str(r, row, C_BASE_URL), "api_version",
	    opt_str(r, row, C_API_VERSION), "deployment", opt_str(r, row, C_DEPLOYMENT), "organization",
	    opt_str(r, row, C_ORG), "api_key_set", !db_res_null(r, row, C_KEY_SEALED), "api_key_last4",
	    opt_str(r, row, C_KEY_LAST4), "params", params, "capabilities", effective_caps(model, over_caps), "limits",
	    parse_col(r, row, C_LIMITS), "pricing", effective_pricing(model, over_price), "default",
	    db_res_int(r, row, C_DEFAULT) != 0, "created_at", created, "updated_at", updated);
	json_decref(over_caps);
	json_decref(over_price);
	return j;
}

static char *dump(json_t *j, struct arena *a)
{
	char *s = j ? json_text(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *r = arena_strdup(a, s ? s : "{}");
	free(s);
	return r;
}

/* Keys given in a body are wiped once written: the arena frees the rest. */
static void wipe_key(json_t *o)
{
	json_t *k = json_object_get(o, "api_key");
	if (json_is_string(k))
		sodium_memzero((void *) json_string_value(k), json_string_length(k));
}

/* ---- writing ---- */

struct write_ctx {
	struct models *m;
	const struct actor *who;
	const char *ws, *id;
	json_t *cfg;     /* the effective configuration */
	bool key_change; /* api_key given: set (string) or clear (null) */
	bool creating;
	const char *old_last4; /* the stored key's last four, when it stays */
	struct arena *a;
};

static char *last4(const char *key, struct arena *a)
{
	size_t n = strlen(key);
	/* Short keys show nothing: four characters of eight would be half. */
	if (n < 12)
		return arena_strdup(a, "");
	return arena_strdup(a, key + n - 4);
}

/* Credential changes join the audit log in the change's transaction: which
 * configuration, whether a key is now set and its last four characters;
 * never the key. cfg NULL: a deletion. */
static enum status audit(struct db_conn *c, const struct actor *who, const char *action, const char *id, json_t *cfg,
                         bool key_set, const char *key_last4, struct problem *p)
{
	json_t *d = NULL;
	if (cfg)
		d = json_pack("{s:s?, s:s?, s:b, s:s?}", "name", jstr(cfg, "name"), "provider", jstr(cfg, "provider"),
		              "api_key_set", key_set, "api_key_last4", key_set ? key_last4 : NULL);
	return auth_audit_tx(c, who, action, "model", id, d, p);
}

static enum status write_row(struct db_conn *c, void *vctx, struct problem *p)
{
	struct write_ctx *w = vctx;
	struct arena *a = w->a;
	json_t *cfg = w->cfg;
	json_t *params = json_deep_copy(json_object_get(cfg, "params"));
	if (!params)
		params = json_object();
	arena_defer(a, (void (*)(void *)) json_decref, params);
	json_t *hdrs = json_object_get(params, "extra_headers");
	json_t *names = json_array();
	arena_defer(a, (void (*)(void *)) json_decref, names);
	char *headers_sealed = NULL;
	if (json_is_object(hdrs) && json_object_size(hdrs)) {
		const char *hn;
		json_t *hv;
		json_object_foreach(hdrs, hn, hv) json_array_append_new(names, json_string(hn));
		headers_sealed = seal_with(w->m->key, w->id, dump(hdrs, a), a);
	}
	json_object_del(params, "extra_headers");
	int64_t now = time_now_ms();
	bool is_default = json_is_true(json_object_get(cfg, "default"));
	const char *kind = jstr(cfg, "kind");
	enum status st;
	if (is_default) {
		st = db_query(c, a, NULL, "UPDATE model_configs SET is_default = 0 WHERE workspace_id = ? AND kind = ?",
		              DB_ARGS(db_text(w->ws), db_text(kind)), p);
		if (st != ST_OK)
			return st;
	}
	const char *key = jstr(cfg, "api_key");
	char *key_sealed = key ? seal_with(w->m->key, w->id, key, a) : NULL;
	char *key_last4 = key ? last4(key, a) : NULL;
	if (w->creating) {
		st = db_query(
		    c, a, NULL,
		    "INSERT INTO model_configs (id, workspace_id, name, provider, model, kind, base_url, "
		    "api_version, deployment, organization, api_key_sealed, api_key_last4, headers_sealed, "
		    "header_names, params, capabilities, limits, pricing, is_default, created_at, updated_at) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		    DB_ARGS(db_text(w->id), db_text(w->ws), db_text(jstr(cfg, "name")), db_text(jstr(cfg, "provider")),
		            db_text(jstr(cfg, "model")), db_text(kind), db_text(jstr(cfg, "base_url")),
		            db_text(jstr(cfg, "api_version")), db_text(jstr(cfg, "deployment")),
		            db_text(jstr(cfg, "organization")), db_text(key_sealed), db_text(key_last4),
		            db_text(headers_sealed), db_text(dump(names, a)), db_text(dump(params, a)),
		            db_text(dump(json_object_get(cfg, "capabilities"), a)),
		            db_text(dump(json_object_get(cfg, "limits"), a)),
		            db_text(dump(json_object_get(cfg, "pricing"), a)), db_bool(is_default), db_int(now),
		            db_int(now)),
		    p);
	} else {
		st = db_query(
		    c, a, NULL,
		    "UPDATE model_configs SET name = ?, provider = ?, model = ?, kind = ?, base_url = ?, "
		    "api_version = ?, deployment = ?, organization = ?, headers_sealed = ?, header_names = ?, "
		    "params = ?, capabilities = ?, limits = ?, pricing = ?, is_default = ?, updated_at = ? "
		    "WHERE workspace_id = ? AND id = ?",
		    DB_ARGS(db_text(jstr(cfg, "name")), db_text(jstr(cfg, "provider")), db_text(jstr(cfg, "model")),
		            db_text(kind), db_text(jstr(cfg, "base_url")), db_text(jstr(cfg, "api_version")),
		            db_text(jstr(cfg, "deployment")), db_text(jstr(cfg, "organization")),
		            db_text(headers_sealed), db_text(dump(names, a)), db_text(dump(params, a)),
		            db_text(dump(json_object_get(cfg, "capabilities"), a)),
		            db_text(dump(json_object_get(cfg, "limits"), a)),
		            db_text(dump(json_object_get(cfg, "pricing"), a)), db_bool(is_default), db_int(now),
		            db_text(w->ws), db_text(w->id)),
		    p);
		if (st == ST_OK && w->key_change)
			st = db_query(c, a, NULL,
			              "UPDATE model_configs SET api_key_sealed = ?, api_key_last4 = ? WHERE "
			              "workspace_id = ? AND id = ?",
			              DB_ARGS(db_text(key_sealed), db_text(key_last4), db_text(w->ws), db_text(w->id)),
			              p);
	}
	if (st == ST_CONFLICT) {
		problem_clear(p);
		problem_field(p, "name", "a model configuration with this name already exists in the workspace");
		return problem_set(p, ST_CONFLICT, "the name is taken");
	}
	if (st != ST_OK)
		return st;
	bool key_set = w->creating || w->key_change ? key != NULL : json_is_true(json_object_get(cfg, "api_key_set"));
	const char *action = w->creating ? "model.create" : (w->key_change ? "model.key_change" : "model.update");
	return audit(c, w->who, action, w->id, cfg, key_set, w->creating || w->key_change ? key_last4 : w->old_last4,
	             p);
}

static enum status load_row(struct models *m, const char *ws, const char *id, struct arena *a, struct db_res **r,
                            struct problem *p)
{
	char *sql = arena_printf(a, "SELECT %s FROM model_configs WHERE workspace_id = ? AND id = ?", COLS);
	enum status st = db_exec1(m->db, DB_READ, a, r, sql, DB_ARGS(db_text(ws), db_text(id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(*r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no model configuration with this id in the workspace");
	return ST_OK;
}

static void fill_defaults(json_t *cfg)
{
	if (!json_object_get(cfg, "kind"))
		json_object_set_new(cfg, "kind", json_string("chat"));
	const char *provider = jstr(cfg, "provider");
	if (!jstr(cfg, "base_url") && models_default_base_url(provider))
		json_object_set_new(cfg, "base_url", json_string(models_default_base_url(provider)));
	for (const char *const *k = (const char *const[]){"params", "capabilities", "limits", "pricing", NULL}; *k; k++)
		if (!json_is_object(json_object_get(cfg, *k)))
			json_object_set_new(cfg, *k, json_object());
}

enum status models_create(struct models *m, const struct actor *who, json_t *in, struct arena *a, json_t **out,
                          struct problem *p)
{
	const char *ws = who->workspace_id;
	json_t *cfg = json_deep_copy(in);
	arena_defer(a, (void (*)(void *)) json_decref, cfg);
	fill_defaults(cfg);
	enum status st = check_config(cfg, p);
	if (st != ST_OK)
		return st;
	char id[37];
	id_new(id);
	struct write_ctx w = {
	    .m = m, .who = who, .ws = ws, .id = arena_strdup(a, id), .cfg = cfg, .creating = true, .a = a};
	st = db_tx(m->db, write_row, &w, p);
	wipe_key(cfg);
	wipe_key(in);
	if (st != ST_OK)
		return st;
	st = models_get(m, who, w.id, a, out, p);
	return st == ST_OK ? ST_CREATED : st;
}

enum status models_get(struct models *m, const struct actor *who, const char *id, struct arena *a, json_t **out,
                       struct problem *p)
{
	struct db_res *r;
	enum status st = load_row(m, who->workspace_id, id, a, &r, p);
	if (st != ST_OK)
		return st;
	*out = row_to_json(r, 0);
	return ST_OK;
}

enum status models_list(struct models *m, const struct actor *who, int limit, const char *after, struct arena *a,
                        json_t **items, const char **last_id, struct problem *p)
{
	const char *ws = who->workspace_id;
	struct db_res *r;
	char *sql =
	    arena_printf(a, "SELECT %s FROM model_configs WHERE workspace_id = ? AND id > ? ORDER BY id LIMIT ?", COLS);
	enum status st =
	    db_exec1(m->db, DB_READ, a, &r, sql, DB_ARGS(db_text(ws), db_text(after ? after : ""), db_int(limit)), p);
	if (st != ST_OK)
		return st;
	*items = json_array();
	*last_id = NULL;
	int rows = db_res_rows(r);
	for (int i = 0; i < rows; i++) {
		json_array_append_new(*items, row_to_json(r, i));
		*last_id = db_res_text(r, i, C_ID);
	}
	return ST_OK;
}

/* The stored configuration as JSON fields a patch applies to. */
static json_t *row_to_cfg(const struct db_res *r)
{
	json_t *cfg = json_object();
	static const struct {
		const char *k;
		int col;
	} strs[] = {{"name", C_NAME},
	            {"provider", C_PROVIDER},
	            {"model", C_MODEL},
	            {"kind", C_KIND},
	            {"base_url", C_BASE_URL},
	            {"api_version", C_API_VERSION},
	            {"deployment", C_DEPLOYMENT},
	            {"organization", C_ORG}};
	for (size_t i = 0; i < ARRAY_LEN(strs); i++)
		if (db_res_text(r, 0, strs[i].col))
			json_object_set_new(cfg, strs[i].k, json_string(db_res_text(r, 0, strs[i].col)));
	json_object_set_new(cfg, "params", parse_col(r, 0, C_PARAMS));
	json_object_set_new(cfg, "capabilities", parse_col(r, 0, C_CAPS));
	json_object_set_new(cfg, "limits", parse_col(r, 0, C_LIMITS));
	json_object_set_new(cfg, "pricing", parse_col(r, 0, C_PRICING));
	json_object_set_new(cfg, "default", json_boolean(db_res_int(r, 0, C_DEFAULT)));
	json_object_set_new(cfg, "api_key_set", json_boolean(!db_res_null(r, 0, C_KEY_SEALED)));
	return cfg;
}

enum status models_update(struct models *m, const struct actor *who, const char *id, json_t *patch, struct arena *a,
                          json_t **out, struct problem *p)
{
	const char *ws = who->workspace_id;
	struct db_res *r;
	enum status st = load_row(m, ws, id, a, &r, p);
	if (st != ST_OK)
		return st;
	json_t *cfg = row_to_cfg(r);
	arena_defer(a, (void (*)(void *)) json_decref, cfg);
	/* Stored header values stay unless the patch gives new ones. */
	json_t *old_params = json_object_get(cfg, "params");
	if (!db_res_null(r, 0, C_HEADERS_SEALED)) {
		char *plain = open_with(m->key, id, db_res_text(r, 0, C_HEADERS_SEALED), a);
		json_t *h = plain ? json_loads(plain, 0, NULL) : NULL;
		if (plain)
			sodium_memzero(plain, strlen(plain));
		if (h)
			json_object_set_new(old_params, "extra_headers", h);
	}
	bool key_change = json_object_get(patch, "api_key") != NULL;
	const char *k;
	json_t *v;
	json_object_foreach(patch, k, v)
	{
		if (json_is_null(v))
			json_object_del(cfg, k);
		else
			json_object_set(cfg, k, v);
	}
	if (key_change && json_is_null(json_object_get(patch, "api_key")))
		json_object_set_new(cfg, "api_key_set", json_false());
	fill_defaults(cfg);
	st = check_config(cfg, p);
	if (st != ST_OK)
		return st;
	struct write_ctx w = {.m = m,
	                      .who = who,
	                      .ws = ws,
	                      .id = id,
	                      .cfg = cfg,
	                      .key_change = key_change,
	                      .old_last4 = db_res_text(r, 0, C_KEY_LAST4),
	                      .a = a};
	st = db_tx(m->db, write_row, &w, p);
	wipe_key(patch);
	if (st != ST_OK)
		return st;
	return models_get(m, who, id, a, out, p);
}

struct delete_ctx {
	const struct actor *who;
	const char *id;
	struct arena *a;
};

static enum status delete_row(struct db_conn *c, void *vctx, struct problem *p)
{
	struct delete_ctx *d = vctx;
	enum status st = db_query(c, d->a, NULL, "DELETE FROM model_configs WHERE workspace_id = ? AND id = ?",
	                          DB_ARGS(db_text(d->who->workspace_id), db_text(d->id)), p);
	if (st != ST_OK)
		return st;
	if (db_changes(c) == 0)
		return problem_set(p, ST_NOT_FOUND, "no model configuration with this id in the workspace");
	return audit(c, d->who, "model.delete", d->id, NULL, false, NULL, p);
}

enum status models_delete(struct models *m, const struct actor *who, const char *id, struct problem *p)
{
	struct delete_ctx d = {.who = who, .id = id, .a = arena_new()};
	enum status st = db_tx(m->db, delete_row, &d, p);
	arena_free(&d.a);
	return st;
}

/* ---- resolving for a call ---- */

static double num(json_t *o, const char *k, double def, bool *has)
{
	json_t *v = json_object_get(o, k);
	if (has)
		*has = json_is_number(v);
	return json_is_number(v) ? json_number_value(v) : def;
}

enum status models_resolve(struct models *m, const char *ws, const char *id, const char *kind, struct arena *a,
                           struct model_resolved *out, struct problem *p)
{
	struct db_res *r;
	enum status st;
	memset(out, 0, sizeof(*out));
	if (id) {
		st = load_row(m, ws, id, a, &r, p);
	} else {
		char *sql = arena_printf(a,
		                         "SELECT %s FROM model_configs WHERE workspace_id = ? AND kind = ? AND "
		                         "is_default = 1 LIMIT 1",
		                         COLS);
		st = db_exec1(m->db, DB_READ, a, &r, sql, DB_ARGS(db_text(ws), db_text(kind ? kind : "chat")), p);
		if (st == ST_OK && db_res_rows(r) == 0)
			st =
			    problem_set(p, ST_NOT_FOUND, "the workspace has no default %s model", kind ? kind : "chat");
	}
	if (st != ST_OK)
		return st;
	out->id = db_res_text(r, 0, C_ID);
	out->name = db_res_text(r, 0, C_NAME);
	out->provider = db_res_text(r, 0, C_PROVIDER);
	out->model = db_res_text(r, 0, C_MODEL);
	out->kind = db_res_text(r, 0, C_KIND);
	out->base_url = db_res_text(r, 0, C_BASE_URL);
	out->api_version = db_res_text(r, 0, C_API_VERSION);
	out->deployment = db_res_text(r, 0, C_DEPLOYMENT);
	out->organization = db_res_text(r, 0, C_ORG);
	if (!db_res_null(r, 0, C_KEY_SEALED)) {
		out->api_key = open_with(m->key, out->id, db_res_text(r, 0, C_KEY_SEALED), a);
		if (!out->api_key) {
			log_kv(LOG_ERROR, "a sealed model key does not open", "model_id", out->id, NULL);
			problem_set(p, ST_INTERNAL, "the model's key cannot be decrypted");
			problem_hint(p, "the server secret changed without 'troupe secrets rotate'; set the key again");
			return ST_INTERNAL;
		}
	}
	if (!db_res_null(r, 0, C_HEADERS_SEALED)) {
		char *plain = open_with(m->key, out->id, db_res_text(r, 0, C_HEADERS_SEALED), a);
		json_t *h = plain ? json_loads(plain, 0, NULL) : NULL;
		if (h) {
			out->headers = arena_zalloc(a, sizeof(struct model_header) * (json_object_size(h) + 1));
			const char *hn;
			json_t *hv;
			json_object_foreach(h, hn, hv)
			{
				out->headers[out->nheaders].name = arena_strdup(a, hn);
				out->headers[out->nheaders].value = arena_strdup(a, json_string_value(hv));
				out->nheaders++;
			}
			json_decref(h);
		}
		if (plain)
			sodium_memzero(plain, strlen(plain));
	}
	json_t *params = parse_col(r, 0, C_PARAMS), *limits = parse_col(r, 0, C_LIMITS);
	json_t *over = parse_col(r, 0, C_CAPS);
	json_t *caps = effective_caps(out->model, over);
	json_t *over_price = parse_col(r, 0, C_PRICING);
	json_t *price = effective_pricing(out->model, over_price);
	json_decref(over_price);
	out->temperature = num(params, "temperature", 0, &out->has_temperature);
	out->top_p = num(params, "top_p", 0, &out->has_top_p);
	out->max_tokens = (int) num(params, "max_tokens", 0, NULL);
	out->timeout_s = (int) num(params, "timeout_s", 120, NULL);
	out->rpm = (int) num(limits, "rpm", 0, NULL);
	out->tpm = (int) num(limits, "tpm", 0, NULL);
	out->max_concurrency = (int) num(limits, "max_concurrency", 0, NULL);
	out->input_per_mtok = num(price, "input_per_mtok", 0, NULL);
	out->output_per_mtok = num(price, "output_per_mtok", 0, NULL);
	out->tools = json_is_true(json_object_get(caps, "tools"));
	out->json_mode = json_is_true(json_object_get(caps, "json_mode"));
	out->structured_output = json_is_true(json_object_get(caps, "structured_output"));
	out->streaming = json_is_true(json_object_get(caps, "streaming"));
	out->vision = json_is_true(json_object_get(caps, "vision"));
	out->context_window = (int64_t) num(caps, "context_window", 0, NULL);
	json_decref(params);
	json_decref(limits);
	json_decref(caps);
	json_decref(over);
	json_decref(price);
	return ST_OK;
}

void models_resolved_wipe(struct model_resolved *r)
{
	if (r->api_key)
		sodium_memzero(r->api_key, strlen(r->api_key));
	for (int i = 0; i < r->nheaders; i++)
		if (r->headers[i].value)
			sodium_memzero(r->headers[i].value, strlen(r->headers[i].value));
	r->api_key = NULL;
}

/* ---- rotation ---- */

struct rotate_ctx {
	const char *old_secret, *new_secret;
	int count;
	struct arena *a;
};

static enum status rotate_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct rotate_ctx *rc = vctx;
	struct arena *a = rc->a;
	unsigned char oldk[32], newk[32];
	derive_key(rc->old_secret, oldk);
	derive_key(rc->new_secret, newk);
	struct db_res *r;
	enum status st =
	    db_query(c, a, &r, "SELECT id, api_key_sealed, headers_sealed FROM model_configs", DB_NOARGS, p);
	for (int i = 0; st == ST_OK && i < db_res_rows(r); i++) {
		const char *id = db_res_text(r, i, 0);
		char *sealed[2] = {NULL, NULL};
		for (int k = 0; k < 2; k++) {
			const char *s = db_res_text(r, i, 1 + k);
			if (!s)
				continue;
			char *plain = open_with(oldk, id, s, a);
			if (!plain) {
				st = problem_set(p, ST_CONFLICT,
				                 "a secret of model configuration %s does not open with "
				                 "the current secret",
				                 id);
				break;
			}
			sealed[k] = seal_with(newk, id, plain, a);
			sodium_memzero(plain, strlen(plain));
		}
		if (st != ST_OK)
			break;
		st =
		    db_query(c, a, NULL, "UPDATE model_configs SET api_key_sealed = ?, headers_sealed = ? WHERE id = ?",
		             DB_ARGS(db_text(sealed[0]), db_text(sealed[1]), db_text(id)), p);
		rc->count++;
	}
	sodium_memzero(oldk, sizeof(oldk));
	sodium_memzero(newk, sizeof(newk));
	return st;
}

enum status models_rotate_secret(struct db *db, const char *old_secret, const char *new_secret, int *count,
                                 struct problem *p)
{
	if (!new_secret || strlen(new_secret) < 32)
		return problem_set(p, ST_BAD_INPUT, "the new secret must be at least 32 bytes");
	struct arena *a = arena_new();
	struct rotate_ctx rc = {.old_secret = old_secret, .new_secret = new_secret, .a = a};
	enum status st = db_tx(db, rotate_tx, &rc, p);
	*count = rc.count;
	arena_free(&a);
	return st;
}
