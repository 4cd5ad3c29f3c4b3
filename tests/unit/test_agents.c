/* agents: the module called as the engine or the CLI would (an actor, no
 * HTTP): versions resolve after later edits and after the archive, scoped
 * to the workspace; stale writes refused; audit rows written; and
 * web_fetch's HTML reader, case by case. */
#include "core/core.h"
#include "db/db.h"
#include "agents/agents_int.h"
#include "models/models.h"
#include "t.h"

#include <stdlib.h>
#include <unistd.h>

#define WS_A   "00000000-0000-4000-8000-00000000000a"
#define WS_B   "00000000-0000-4000-8000-00000000000b"
#define USER_A "00000000-0000-4000-8000-0000000000aa"

static struct db *open_db(const char *dir, struct problem *p)
{
	char *url = xasprintf("sqlite:%s/agents.db", dir);
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

static json_t *edit(struct agents *m, const struct actor *who, const char *id, json_t *patch, struct arena *a,
                    enum status want, const char *what)
{
	struct problem p;
	problem_init(&p, a);
	json_t *out = NULL;
	enum status st = agents_update(m, who, id, patch, a, &out, &p);
	T_EQ_INT(st, want, "%s", what);
	if (st != want)
		printf("#   problem: %s\n", p.detail ? p.detail : "");
	json_decref(patch);
	return out;
}

static void test_agent_versions(struct db *db, struct agents *m)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	const struct actor wa = {.authenticated = true, .user_id = USER_A, .workspace_id = WS_A, .role = ROLE_EDITOR};
	json_t *in =
	    json_pack("{s:s, s:s, s:s, s:s}", "name", "r", "role", "Researcher", "goal", "g1", "backstory", "b");
	json_t *out = NULL;
	T_EQ_INT(agents_create(m, &wa, in, a, &out, &p), ST_CREATED, "agents_create as an actor");
	json_decref(in);
	const char *id = arena_strdup(a, json_string_value(json_object_get(out, "id")));
	json_decref(out);
	json_decref(edit(m, &wa, id, json_pack("{s:s}", "goal", "g2"), a, ST_OK, "edit 1"));
	json_decref(edit(m, &wa, id, json_pack("{s:s, s:i}", "goal", "g3", "base_version", 2), a, ST_OK, "edit 2"));
	json_decref(edit(m, &wa, id, json_pack("{s:s, s:i}", "goal", "late", "base_version", 2), a, ST_CONFLICT,
	                 "a stale base_version is refused"));
	T_EQ_INT(count(db, a, "SELECT COUNT(*) FROM agent_versions WHERE agent_id = ?", id), 3, "three versions");
	T_EQ_INT(count(db, a, "SELECT COUNT(*) FROM audit_events WHERE target_id = ?", id), 3,
	         "one audit row per change, none for the refused one");

	json_t *v2 = NULL, *cur = NULL;
	T_EQ_INT(agents_resolve(m, WS_A, id, 2, a, &v2, &p), ST_OK, "resolve version 2");
	T_EQ_STR(json_string_value(json_object_get(v2, "goal")), "g2", "version 2 is what it was");
	T_EQ_INT(agents_delete(m, &wa, id, a, &p), ST_OK, "archive");
	json_t *again = NULL;
	T_EQ_INT(agents_resolve(m, WS_A, id, 2, a, &again, &p), ST_OK, "version 2 resolves after the archive");
	T_OK(json_equal(v2, again), "and is the same document");
	T_EQ_INT(agents_resolve(m, WS_A, id, 0, a, &cur, &p), ST_OK, "the current version resolves too");
	T_EQ_INT(json_integer_value(json_object_get(cur, "version")), 3, "at 3");
	problem_init(&p, a);
	json_t *none = NULL;
	T_EQ_INT(agents_get(m, &wa, id, a, &none, &p), ST_NOT_FOUND, "an archived agent is not found by id");
	T_EQ_INT(agents_resolve(m, WS_B, id, 2, a, &none, &p), ST_NOT_FOUND, "another workspace resolves nothing");
	T_EQ_INT(agents_resolve(m, WS_A, id, 9, a, &none, &p), ST_NOT_FOUND, "a version that does not exist");
	json_decref(v2);
	json_decref(again);
	json_decref(cur);
	arena_free(&a);
}

/* The bounds are the module's: a caller that skips the gateway (the
 * workflows importer, the CLI) is held to them too. */
static void test_agent_bounds(struct db *db, struct agents *m)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	const struct actor wa = {.authenticated = true, .user_id = USER_A, .workspace_id = WS_A, .role = ROLE_EDITOR};
	char name[202];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	int64_t before = count(db, a, "SELECT COUNT(*) FROM agents WHERE workspace_id = ?", WS_A);
	json_t *in =
	    json_pack("{s:s, s:s, s:s, s:s}", "name", name, "role", "Researcher", "goal", "g", "backstory", "b");
	json_t *out = NULL;
	T_EQ_INT(agents_create(m, &wa, in, a, &out, &p), ST_BAD_INPUT, "a 201-character name is refused");
	T_OK(p.nfields == 1 && !strcmp(p.fields[0].field, "name"), "naming name");
	json_decref(in);
	json_decref(out);
	T_EQ_INT(count(db, a, "SELECT COUNT(*) FROM agents WHERE workspace_id = ?", WS_A), before, "nothing written");

	problem_init(&p, a);
	in = json_pack("{s:s, s:s, s:s, s:s}", "name", "n", "role", "Researcher", "goal", "g", "backstory", "b");
	out = NULL;
	T_EQ_INT(agents_create(m, &wa, in, a, &out, &p), ST_CREATED, "200 characters or fewer is created");
	json_decref(in);
	const char *id = arena_strdup(a, json_string_value(json_object_get(out, "id")));
	json_decref(out);
	json_decref(edit(m, &wa, id, json_pack("{s:i}", "max_iter", 201), a, ST_BAD_INPUT,
	                 "an update with max_iter 201 is refused"));
	T_EQ_INT(count(db, a, "SELECT COUNT(*) FROM agent_versions WHERE agent_id = ?", id), 1, "no version written");
	arena_free(&a);
}

static void test_tool_versions(struct db *db, struct agents *m)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	const struct actor wa = {.authenticated = true, .user_id = USER_A, .workspace_id = WS_A, .role = ROLE_EDITOR};
	json_t *in =
	    json_pack("{s:s, s:s, s:[{s:s, s:s, s:b}]}", "name", "t", "url_template", "https://example.com/", "headers",
	              "name", "Authorization", "value", "Bearer unit-secret-value-XYZW", "secret", 1);
	json_t *out = NULL;
	T_EQ_INT(tools_create(m, &wa, in, a, &out, &p), ST_CREATED, "tools_create as an actor");
	json_decref(in);
	const char *id = arena_strdup(a, json_string_value(json_object_get(out, "id")));
	json_decref(out);
	json_t *patch = json_pack("{s:s}", "description", "v2");
	T_EQ_INT(tools_update(m, &wa, id, patch, a, &out, &p), ST_OK, "tools_update");
	json_decref(patch);
	json_decref(out);
	json_t *v1 = NULL, *v2 = NULL;
	T_EQ_INT(tools_resolve(m, WS_A, id, 1, a, &v1, &p), ST_OK, "tool version 1");
	T_EQ_INT(tools_resolve(m, WS_A, id, 0, a, &v2, &p), ST_OK, "tool current version");
	T_EQ_STR(json_string_value(json_object_get(v1, "description")), "", "version 1 as it was");
	T_EQ_STR(json_string_value(json_object_get(v2, "description")), "v2", "version 2");
	T_EQ_INT(
	    count(db, a, "SELECT COUNT(*) FROM tool_versions WHERE tool_id = ? AND headers_sealed IS NOT NULL", id), 2,
	    "each version keeps its sealed secrets");
	T_EQ_INT(count(db, a,
	               "SELECT COUNT(*) FROM tools WHERE id = ? AND (definition LIKE '%unit-secret%' OR headers_sealed "
	               "LIKE '%unit-secret%')",
	               id),
	         0, "the secret is not in the row's text");
	json_t *b = NULL;
	T_EQ_INT(tools_resolve(m, WS_B, id, 1, a, &b, &p), ST_NOT_FOUND, "another workspace resolves nothing");
	T_EQ_INT(tools_resolve(m, WS_B, "00000000-0000-7000-8000-000000000003", 1, a, &b, &p), ST_OK,
	         "a built-in resolves in every workspace");
	T_OK(json_is_true(json_object_get(b, "builtin")), "with builtin: true");
	json_decref(b);
	b = NULL;
	T_EQ_INT(tools_resolve(m, WS_A, "00000000-0000-7000-8000-000000000003", 2, a, &b, &p), ST_NOT_FOUND,
	         "a built-in has only version 1");
	json_decref(v1);
	json_decref(v2);
	arena_free(&a);
}

static void test_module(void)
{
	char dir[] = "/tmp/troupe-test-agents-XXXXXX";
	if (!mkdtemp(dir)) {
		T_OK(0, "mkdtemp");
		return;
	}
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	struct db *db = open_db(dir, &p);
	struct models *models = NULL;
	struct agents *m = NULL;
	T_OK(db != NULL, "a migrated SQLite database");
	if (db && models_new(db, "0123456789abcdef0123456789abcdef-agents", &models, &p) == ST_OK &&
	    agents_new(db, models, NULL, &m, &p) == ST_OK) {
		test_agent_versions(db, m);
		test_tool_versions(db, m);
		test_agent_bounds(db, m);
	}
	agents_free(&m);
	models_free(&models);
	db_close(&db);
	arena_free(&a);
	char *rm = xasprintf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		printf("# could not remove %s\n", dir);
	free(rm);
}

/* web_fetch's reader: one case per line. */
static void test_html_text(void)
{
	static const struct {
		const char *html, *want;
	} cases[] = {
	    {"<p>a  b\t c</p>", "a b c"},
	    {"<html><head><title>T</title><script>x()</script></head><body><h2>H</h2><p>p</p></body></html>",
	     "T\n\n## H\n\np"},
	    {"<div>one<br>two</div><style>.a{}</style><noscript>no</noscript>", "one\ntwo"},
	    {"<ul><li>a</li><li><a href='x'>b</a></li></ul>", "a\nb"},
	    {"<p>caf&eacute; &amp; &lt;tea&gt;</p>", "caf\xc3\xa9 & <tea>"},
	    {"<p>unclosed <b>bold <i>it", "unclosed bold it"},
	    {"", ""},
	    {"plain text only", "plain text only"},
	    {"<svg><text>drawn</text></svg><p>kept</p>", "kept"},
	    {"<html><head><meta charset=\"iso-8859-1\"></head><body><p>caf\xe9</p></body></html>", "caf\xc3\xa9"},
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		T_EQ_STR(agents_html_text(cases[i].html, strlen(cases[i].html), 0, a), cases[i].want, "html %s",
		         cases[i].html);
	/* a cap keeps the prefix */
	const char *big = "<p>0123456789</p>";
	T_EQ_STR(agents_html_text(big, strlen(big), 4, a), "0123", "capped at 4 bytes");
	/* deep nesting is bounded, not a stack overflow */
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 5000; i++)
		buf_puts(&b, "<div>");
	buf_puts(&b, "deep");
	T_OK(agents_html_text(b.data, b.len, 0, a) != NULL, "5000 nested elements");
	buf_free(&b);
	arena_free(&a);
}

int main(void)
{
	core_init();
	test_html_text();
	test_module();
	return t_done();
}
