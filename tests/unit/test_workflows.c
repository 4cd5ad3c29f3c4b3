/* workflows: the module called as the engine or the CLI would (an actor, no
 * HTTP): a snapshot from given numbers stays the same after later edits
 * and after the workflow is archived, scoped to the workspace; the agents
 * module's usage hook names live workflows only; stale writes are refused
 * and not audited. */
#include "core/core.h"
#include "db/db.h"
#include "agents/agents.h"
#include "auth/auth.h"
#include "models/models.h"
#include "workflows/workflows.h"
#include "t.h"

#include <stdlib.h>
#include <unistd.h>

#define WS_A   "00000000-0000-4000-8000-00000000000a"
#define WS_B   "00000000-0000-4000-8000-00000000000b"
#define USER_A "00000000-0000-4000-8000-0000000000aa"

static struct db *open_db(const char *dir, struct problem *p)
{
	char *url = xasprintf("sqlite:%s/workflows.db", dir);
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

static int64_t count(struct db *db, struct arena *a, const char *sql, const char *arg)
{
	struct problem p;
	problem_init(&p, a);
	struct db_res *r = NULL;
	if (db_exec1(db, DB_READ, a, &r, sql, DB_ARGS(db_text(arg)), &p) != ST_OK || db_res_rows(r) != 1)
		return -1;
	return db_res_int(r, 0, 0);
}

static char *dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

static const char *new_agent(struct agents *ag, const struct actor *who, struct arena *a)
{
	struct problem p;
	problem_init(&p, a);
	json_t *in = json_pack("{s:s, s:s, s:s, s:s}", "name", "r", "role", "Researcher of {topic}", "goal", "g1",
	                       "backstory", "b"),
	       *out = NULL;
	T_EQ_INT(agents_create(ag, who, in, a, &out, &p), ST_CREATED, "an agent");
	const char *id = arena_strdup(a, json_string_value(json_object_get(out, "id")));
	json_decref(in);
	json_decref(out);
	return id;
}

static const char *new_workflow(struct workflows *m, const struct actor *who, const char *agent, const char *name,
                                struct arena *a)
{
	struct problem p;
	problem_init(&p, a);
	json_t *in = json_pack("{s:s, s:[{s:s}], s:[{s:s, s:s, s:s, s:s}]}", "name", name, "inputs", "name", "topic",
	                       "tasks", "key", "research", "description", "Research {topic}", "expected_output",
	                       "Bullets", "agent_id", agent),
	       *out = NULL;
	enum status st = workflows_create(m, who, in, a, &out, &p);
	T_EQ_INT(st, ST_CREATED, "workflows_create as an actor");
	if (st != ST_CREATED)
		printf("#   problem: %s\n", p.detail ? p.detail : "");
	json_decref(in);
	return out ? arena_strdup(a, json_string_value(json_object_get(out, "id"))) : "";
}

static void test_snapshot(struct db *db, struct agents *ag, struct workflows *m)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	const struct actor wa = {.authenticated = true, .user_id = USER_A, .workspace_id = WS_A, .role = ROLE_EDITOR};
	const char *agent = new_agent(ag, &wa, a);
	const char *id = new_workflow(m, &wa, agent, "w", a);
	json_t *s1 = NULL, *s2 = NULL, *out = NULL;
	T_EQ_INT(workflows_snapshot(m, WS_A, id, 0, NULL, a, &s1, &p), ST_OK, "a snapshot of the latest version");
	char *before = dump(s1);

	json_t *patch = json_pack("{s:s}", "goal", "g2");
	T_EQ_INT(agents_update(ag, &wa, agent, patch, a, &out, &p), ST_OK, "the agent changes");
	json_decref(patch);
	json_decref(out);
	patch = json_pack("{s:s}", "name", "w2");
	T_EQ_INT(workflows_update(m, &wa, id, patch, a, &out, &p), ST_OK, "the workflow changes");
	json_decref(patch);
	patch = json_pack("{s:s, s:i}", "name", "late", "base_version", 1);
	int64_t audits = count(db, a, "SELECT COUNT(*) FROM audit_events WHERE target_id = ?", id);
	T_EQ_INT(workflows_update(m, &wa, id, patch, a, &out, &p), ST_CONFLICT, "a stale base_version is refused");
	json_decref(patch);
	T_EQ_INT(count(db, a, "SELECT COUNT(*) FROM audit_events WHERE target_id = ?", id), audits,
	         "a refused write is not audited");
	T_EQ_INT(audits, 2, "create and update audited by the module");
	T_EQ_INT(workflows_delete(m, &wa, id, a, &p), ST_OK, "the workflow is archived");

	json_t *pins = json_pack("{s:{s:i}}", "agents", agent, 1);
	problem_init(&p, a);
	T_EQ_INT(workflows_snapshot(m, WS_A, id, 1, pins, a, &s2, &p), ST_OK,
	         "an archived workflow still resolves from its numbers");
	char *after = dump(s2);
	T_EQ_STR(after, before, "the same numbers give the same document after later edits");
	json_t *s3 = NULL;
	T_EQ_INT(workflows_snapshot(m, WS_A, id, 0, NULL, a, &s3, &p), ST_OK, "and at its latest version");
	T_EQ_INT(json_integer_value(json_object_get(json_object_get(s3, "workflow"), "version")), 2, "version 2");
	T_EQ_STR(json_string_value(json_object_get(json_object_get(json_object_get(s3, "agents"), agent), "goal")),
	         "g2", "with the agent's current version");
	problem_init(&p, a);
	T_EQ_INT(workflows_snapshot(m, WS_B, id, 1, NULL, a, &s3, &p), ST_NOT_FOUND,
	         "another workspace resolves nothing");
	problem_init(&p, a);
	json_decref(pins);
	free(before);
	free(after);
	arena_free(&a);
}

static void test_usage(struct db *db, struct agents *ag, struct workflows *m)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	const struct actor wa = {.authenticated = true, .user_id = USER_A, .workspace_id = WS_A, .role = ROLE_EDITOR};
	const char *agent = new_agent(ag, &wa, a);
	const char *gone = new_workflow(m, &wa, agent, "archived", a);
	const char *live = new_workflow(m, &wa, agent, "live", a);
	T_EQ_INT(workflows_delete(m, &wa, gone, a, &p), ST_OK, "one workflow archived");
	problem_init(&p, a);
	T_EQ_INT(agents_delete(ag, &wa, agent, a, &p), ST_CONFLICT, "deleting an agent in use is a conflict");
	T_EQ_INT(p.nfields, 1, "naming the live workflow only");
	T_OK(p.nfields == 1 && strstr(p.fields[0].message, live) != NULL, "workflows[0] names %s", live);
	T_EQ_INT(count(db, a, "SELECT COUNT(*) FROM agents WHERE id = ? AND archived_at IS NULL", agent), 1,
	         "the agent stays");
	json_t *patch = json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "tasks", "key", "other", "description", "D",
	                          "expected_output", "E", "agent_id", new_agent(ag, &wa, a)),
	       *out = NULL;
	T_EQ_INT(workflows_update(m, &wa, live, patch, a, &out, &p), ST_OK, "the workflow stops using it");
	json_decref(patch);
	problem_init(&p, a);
	T_EQ_INT(agents_delete(ag, &wa, agent, a, &p), ST_OK, "then the agent can go");
	arena_free(&a);
}

static void test_module(void)
{
	char dir[] = "/tmp/troupe-test-workflows-XXXXXX";
	if (!mkdtemp(dir)) {
		T_OK(0, "mkdtemp");
		return;
	}
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	struct db *db = open_db(dir, &p);
	struct models *models = NULL;
	struct agents *ag = NULL;
	struct workflows *m = NULL;
	T_OK(db != NULL, "a migrated SQLite database");
	if (db && models_new(db, "0123456789abcdef0123456789abcdef-workflows", &models, &p) == ST_OK &&
	    agents_new(db, models, NULL, &ag, &p) == ST_OK && workflows_new(db, ag, &m, &p) == ST_OK) {
		agents_set_usage_hook(ag, workflows_agent_usage);
		test_snapshot(db, ag, m);
		test_usage(db, ag, m);
	}
	workflows_free(&m);
	agents_free(&ag);
	models_free(&models);
	db_close(&db);
	arena_free(&a);
	char *rm = xasprintf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		printf("# could not remove %s\n", dir);
	free(rm);
}

int main(void)
{
	test_module();
	return t_done();
}
