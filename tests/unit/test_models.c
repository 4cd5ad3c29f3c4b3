/* models: sealing, the known-model table, the provider catalogue, and the
 * module called as the CLI or the engine would: an actor, no HTTP. */
#include "core/core.h"
#include "db/db.h"
#include "models/models_int.h"
#include "t.h"

#include <stdlib.h>
#include <unistd.h>

#define WS_A   "00000000-0000-4000-8000-00000000000a"
#define WS_B   "00000000-0000-4000-8000-00000000000b"
#define USER_A "00000000-0000-4000-8000-0000000000aa"

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

/* A database with two workspaces, as the module sees it. */
static struct db *open_db(const char *dir, struct problem *p)
{
	char *url = xasprintf("sqlite:%s/models.db", dir);
	struct db_options o = {.url = url};
	struct db *db = NULL;
	enum status st = db_open(&o, &db, p);
	free(url);
	if (st != ST_OK || db_migrate(db, p) != ST_OK) {
		printf("# database: %s\n", p->detail ? p->detail : "?");
		db_close(&db);
		return NULL;
	}
	for (const char *const *ws = (const char *const[]){WS_A, WS_B, NULL}; *ws; ws++)
		db_exec1(db, DB_WRITE, p->arena, NULL,
		         "INSERT INTO workspaces (id, name, personal, created_by, created_at, updated_at) "
		         "VALUES (?, ?, 0, ?, 1, 1)",
		         DB_ARGS(db_text(*ws), db_text(*ws), db_text(USER_A)), p);
	return db;
}

static const char *audit_row(struct db *db, struct arena *a, const char *action, const char *id, const char **ws,
                             const char **user, const char **request_id)
{
	struct problem p;
	problem_init(&p, a);
	struct db_res *r = NULL;
	if (db_exec1(db, DB_READ, a, &r,
	             "SELECT detail, workspace_id, actor_user_id, request_id FROM audit_events WHERE action = ? AND "
	             "target_type = 'model' AND target_id = ?",
	             DB_ARGS(db_text(action), db_text(id)), &p) != ST_OK ||
	    db_res_rows(r) != 1)
		return NULL;
	*ws = db_res_text(r, 0, 1);
	*user = db_res_text(r, 0, 2);
	*request_id = db_res_text(r, 0, 3);
	return db_res_text(r, 0, 0) ? db_res_text(r, 0, 0) : "";
}

/* models_update called with an actor and nothing of HTTP: the module writes
 * its own audit row, naming the actor and the workspace, never the key. */
static void test_actor_audit(struct db *db)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	struct models *m = NULL;
	T_EQ_INT(models_new(db, "0123456789abcdef0123456789abcdef-audit", &m, &p), ST_OK, "models_new");
	const struct actor who = {.authenticated = true, .user_id = USER_A, .workspace_id = WS_A, .role = ROLE_ADMIN};
	json_t *in = json_pack("{s:s, s:s, s:s}", "name", "cli", "provider", "ollama", "model", "llama3.1:8b");
	json_t *out = NULL;
	T_EQ_INT(models_create(m, &who, in, a, &out, &p), ST_CREATED, "models_create as an actor");
	const char *id = arena_strdup(a, json_string_value(json_object_get(out, "id")));
	json_decref(in);
	json_decref(out);
	const char *ws = NULL, *user = NULL, *rid = NULL;
	T_OK(audit_row(db, a, "model.create", id, &ws, &user, &rid) != NULL, "models_create wrote model.create");

	json_t *patch = json_pack("{s:s}", "api_key", "sk-canary-models-unit-7f3a");
	T_EQ_INT(models_update(m, &who, id, patch, a, &out, &p), ST_OK, "models_update as an actor");
	json_decref(patch);
	json_decref(out);
	const char *d = audit_row(db, a, "model.key_change", id, &ws, &user, &rid);
	T_OK(d != NULL, "models_update wrote one model.key_change row");
	T_EQ_STR(ws, WS_A, "the row names the actor's workspace");
	T_EQ_STR(user, USER_A, "the row names the actor");
	T_OK(rid == NULL, "no request id without a request");
	T_OK(d && strstr(d, "\"api_key_last4\":\"7f3a\"") && !strstr(d, "canary"),
	     "detail: last four, never the key (%s)", d ? d : "(none)");

	patch = json_pack("{s:s}", "name", "cli-renamed");
	T_EQ_INT(models_update(m, &who, id, patch, a, &out, &p), ST_OK, "models_update without a key");
	json_decref(patch);
	json_decref(out);
	d = audit_row(db, a, "model.update", id, &ws, &user, &rid);
	T_OK(d && strstr(d, "cli-renamed") && strstr(d, "\"api_key_last4\":\"7f3a\""),
	     "model.update keeps the stored key's last four (%s)", d ? d : "(none)");

	const struct actor other = {.authenticated = true, .user_id = USER_A, .workspace_id = WS_B, .role = ROLE_ADMIN};
	patch = json_pack("{s:s}", "name", "hijack");
	out = NULL;
	T_EQ_INT(models_update(m, &other, id, patch, a, &out, &p), ST_NOT_FOUND,
	         "another workspace's actor: not found");
	json_decref(patch);
	T_EQ_INT(models_delete(m, &other, id, &p), ST_NOT_FOUND, "another workspace's actor cannot delete");
	T_OK(audit_row(db, a, "model.delete", id, &ws, &user, &rid) == NULL, "a refused delete writes no audit row");
	T_EQ_INT(models_delete(m, &who, id, &p), ST_OK, "models_delete as an actor");
	T_OK(audit_row(db, a, "model.delete", id, &ws, &user, &rid) != NULL, "models_delete wrote model.delete");
	models_free(&m);
	arena_free(&a);
}

/* Marking a default clears the previous default of the same workspace
 * only: workspace B's default must leave A's standing. */
static void test_default_per_workspace(struct db *db)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	struct models *m = NULL;
	T_EQ_INT(models_new(db, "0123456789abcdef0123456789abcdef-audit", &m, &p), ST_OK, "models_new");
	const struct actor wa = {.authenticated = true, .user_id = USER_A, .workspace_id = WS_A, .role = ROLE_ADMIN};
	const struct actor wb = {.authenticated = true, .user_id = USER_A, .workspace_id = WS_B, .role = ROLE_ADMIN};
	const struct actor *actors[] = {&wa, &wb};
	const char *ids[2] = {0};
	for (int i = 0; i < 2; i++) {
		json_t *in = json_pack("{s:s, s:s, s:s, s:b}", "name", "default-chat", "provider", "ollama", "model",
		                       "llama3.1:8b", "default", 1);
		json_t *out = NULL;
		T_EQ_INT(models_create(m, actors[i], in, a, &out, &p), ST_CREATED, "default chat model in workspace %c",
		         'A' + i);
		ids[i] = arena_strdup(a, json_string_value(json_object_get(out, "id")));
		json_decref(in);
		json_decref(out);
	}
	for (int i = 0; i < 2; i++) {
		struct model_resolved r;
		enum status st = models_resolve(m, actors[i]->workspace_id, NULL, "chat", a, &r, &p);
		T_EQ_INT(st, ST_OK, "workspace %c still has a default chat model", 'A' + i);
		T_EQ_STR(st == ST_OK ? r.id : NULL, ids[i], "workspace %c's default is its own", 'A' + i);
		if (st == ST_OK)
			models_resolved_wipe(&r);
	}
	models_free(&m);
	arena_free(&a);
}

static void test_module_calls(void)
{
	char dir[] = "/tmp/troupe-test-models-XXXXXX";
	if (!mkdtemp(dir)) {
		T_OK(0, "mkdtemp");
		return;
	}
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	struct db *db = open_db(dir, &p);
	T_OK(db != NULL, "a migrated SQLite database");
	if (db) {
		test_actor_audit(db);
		test_default_per_workspace(db);
	}
	db_close(&db);
	arena_free(&a);
	char *rm = xasprintf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		printf("# could not remove %s\n", dir);
	free(rm);
}

/* The one mapping from a configuration to a request: each setting lands where the client reads it. */
static void test_request_mapping(void)
{
	struct arena *a = arena_new();
	struct model_header hdrs[] = {{"X-Team", (char *) "blue"}};
	struct model_resolved r = {
	    .id = "cfg-1",
	    .provider = "azure_openai",
	    .model = "o3-mini",
	    .kind = "chat",
	    .base_url = "https://r.openai.azure.com",
	    .api_version = "2024-12-01-preview",
	    .deployment = "o3-prod",
	    .organization = "org-1",
	    .api_key = (char *) "sk-map-key",
	    .headers = hdrs,
	    .nheaders = 1,
	    .temperature = 0.3,
	    .has_temperature = true,
	    .top_p = 0.8,
	    .has_top_p = true,
	    .max_tokens = 500,
	    .timeout_s = 45,
	    .input_per_mtok = 1.1,
	    .output_per_mtok = 4.4,
	};
	struct llm_request q;
	models_llm_request(&r, a, &q);
	T_OK(q.provider == LLM_AZURE_OPENAI && str_eq(q.base_url, r.base_url) && str_eq(q.api_key, "sk-map-key") &&
	         str_eq(q.api_version, "2024-12-01-preview") && str_eq(q.deployment, "o3-prod") &&
	         str_eq(q.organization, "org-1") && str_eq(q.model, "o3-mini"),
	     "mapping: provider, endpoint, key, version, deployment, organization and model");
	T_OK(q.has_temperature && q.temperature == 0.3 && q.has_top_p && q.top_p == 0.8 && q.max_tokens == 500,
	     "mapping: sampling and max_tokens");
	T_OK(q.timeout_ms == 45000 && q.input_per_mtok == 1.1 && q.output_per_mtok == 4.4 &&
	         str_eq(q.limit_key, "cfg-1"),
	     "mapping: timeout in ms, prices, the configuration's id as the limiter's key");
	T_OK(q.nheaders == 1 && str_eq(q.headers[0].name, "X-Team") && str_eq(q.headers[0].value, "blue"),
	     "mapping: the extra headers");
	T_OK(q.messages == NULL && q.nmessages == 0 && !q.stream, "mapping: the caller's part left empty");

	struct llm_embed_request e;
	r.provider = "ollama";
	r.has_temperature = false;
	r.timeout_s = 0;
	models_llm_embed_request(&r, a, &e);
	T_OK(e.provider == LLM_OLLAMA && str_eq(e.model, "o3-mini") && str_eq(e.base_url, r.base_url) &&
	         e.timeout_ms == 0 && e.nheaders == 1 && e.input_per_mtok == 1.1,
	     "mapping: an embedding request from the same configuration");
	static const struct {
		const char *name;
		enum llm_provider p;
	} provs[] = {{"openai", LLM_OPENAI},
	             {"azure_openai", LLM_AZURE_OPENAI},
	             {"anthropic", LLM_ANTHROPIC},
	             {"ollama", LLM_OLLAMA},
	             {"openai_compatible", LLM_OPENAI_COMPATIBLE}};
	for (size_t i = 0; i < ARRAY_LEN(provs); i++)
		T_EQ_INT(models_llm_provider(provs[i].name), provs[i].p, "mapping: provider %s", provs[i].name);
	arena_free(&a);
}

int main(void)
{
	core_init();
	test_seal();
	test_known();
	test_providers();
	test_module_calls();
	test_request_mapping();
	return t_done();
}
