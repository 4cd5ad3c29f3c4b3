/* Versions of agents and tools: one shape for both kinds. A version row is
 * written once, in the transaction that changes its object, and never
 * updated; the object's row carries the current number. */
#include "agents_int.h"
#include "core/json_text.h"

#include <ctype.h>
#include <string.h>

const struct vkind agents_vk_agent = {"agent", "agents", "agent_versions", "agent_id", "agent"};
const struct vkind agents_vk_tool = {"tool", "tools", "tool_versions", "tool_id", "tool"};

const struct vkind *agents_vkind(const char *kind)
{
	if (str_eq(kind, "agent"))
		return &agents_vk_agent;
	if (str_eq(kind, "tool"))
		return &agents_vk_tool;
	return NULL;
}

enum status agents_new(struct db *db, struct models *models, const struct net_policy *pol, struct agents **out,
                       struct problem *p)
{
	(void) p;
	struct agents *m = xcalloc(1, sizeof(*m));
	m->db = db;
	m->models = models;
	m->net_policy = pol;
	*out = m;
	return ST_OK;
}

void agents_free(struct agents **m)
{
	free(*m);
	*m = NULL;
}

void agents_set_usage_hook(struct agents *m, agents_usage_fn fn)
{
	m->usage = fn;
}

char *agents_dump(json_t *j, struct arena *a)
{
	char *s = j ? json_text(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *r = arena_strdup(a, s ? s : "{}");
	free(s);
	return r;
}

json_t *agents_own(struct arena *a, json_t *j)
{
	if (j)
		arena_defer(a, (void (*)(void *)) json_decref, j);
	return j;
}

const char *agents_jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

char *agents_like(const char *q, struct arena *a)
{
	size_t n = strlen(q);
	char *out = arena_alloc(a, 2 * n + 3), *o = out;
	*o++ = '%';
	for (const char *c = q; *c; c++) {
		if (*c == '%' || *c == '_' || *c == '\\')
			*o++ = '\\';
		*o++ = (char) tolower((unsigned char) *c);
	}
	*o++ = '%';
	*o = '\0';
	return out;
}

static enum status query(struct agents *m, struct db_conn *c, struct arena *a, struct db_res **r, const char *sql,
                         const struct db_arg *args, size_t n, struct problem *p)
{
	if (c)
		return db_query(c, a, r, sql, args, n, p);
	return db_exec1(m->db, DB_READ, a, r, sql, args, n, p);
}

enum status vs_load(struct agents *m, struct db_conn *c, const struct vkind *k, const char *ws, const char *id,
                    bool archived_ok, struct arena *a, struct vrow *out, struct problem *p)
{
	struct db_res *r;
	memset(out, 0, sizeof(*out));
	if (!id_valid(id))
		return problem_set(p, ST_NOT_FOUND, "no %s with this id in the workspace", k->noun);
	char *sql = arena_printf(a,
	                         "SELECT id, version, definition, %s, archived_at, created_at, updated_at FROM %s "
	                         "WHERE workspace_id = ? AND id = ?",
	                         k == &agents_vk_tool ? "headers_sealed" : "NULL", k->table);
	enum status st = query(m, c, a, &r, sql, DB_ARGS(db_text(ws), db_text(id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0 || (!archived_ok && !db_res_null(r, 0, 4)))
		return problem_set(p, ST_NOT_FOUND, "no %s with this id in the workspace", k->noun);
	out->id = db_res_text(r, 0, 0);
	out->version = db_res_int(r, 0, 1);
	out->def = agents_own(a, json_loads(db_res_text(r, 0, 2), 0, NULL));
	out->sealed = db_res_text(r, 0, 3);
	out->archived = !db_res_null(r, 0, 4);
	out->created_at = db_res_int(r, 0, 5);
	out->updated_at = db_res_int(r, 0, 6);
	if (!out->def) {
		log_kv(LOG_ERROR, "a stored definition does not parse", "kind", k->kind, "id", id, NULL);
		return problem_set(p, ST_INTERNAL, "the stored %s cannot be read", k->noun);
	}
	return ST_OK;
}

enum status vs_load_version(struct agents *m, struct db_conn *c, const struct vkind *k, const char *ws, const char *id,
                            int64_t n, struct arena *a, json_t **def, const char **sealed, struct problem *p)
{
	struct db_res *r;
	if (!id_valid(id))
		return problem_set(p, ST_NOT_FOUND, "no %s with this id in the workspace", k->noun);
	char *sql = arena_printf(a, "SELECT definition, %s FROM %s WHERE workspace_id = ? AND %s = ? AND version = ?",
	                         k == &agents_vk_tool ? "headers_sealed" : "NULL", k->vtable, k->fk);
	enum status st = query(m, c, a, &r, sql, DB_ARGS(db_text(ws), db_text(id), db_int(n)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no version %lld of this %s", (long long) n, k->noun);
	*def = agents_own(a, json_loads(db_res_text(r, 0, 0), 0, NULL));
	if (sealed)
		*sealed = db_res_text(r, 0, 1);
	if (!*def)
		return problem_set(p, ST_INTERNAL, "the stored %s version cannot be read", k->noun);
	return ST_OK;
}

enum status vs_insert_version(struct db_conn *c, const struct vkind *k, const char *ws, const char *id, int64_t n,
                              json_t *def, const char *sealed, const struct actor *who, const char *note,
                              struct arena *a, struct problem *p)
{
	char *sql = arena_printf(a,
	                         "INSERT INTO %s (%s, version, workspace_id, definition, %sauthor_id, change_note, "
	                         "created_at) VALUES (?, ?, ?, ?, %s?, ?, ?)",
	                         k->vtable, k->fk, k == &agents_vk_tool ? "headers_sealed, " : "",
	                         k == &agents_vk_tool ? "?, " : "");
	const char *author = who ? (who->user_id ? who->user_id : who->api_key_id) : NULL;
	if (k == &agents_vk_tool)
		return db_query(c, a, NULL, sql,
		                DB_ARGS(db_text(id), db_int(n), db_text(ws), db_text(agents_dump(def, a)),
		                        db_text(sealed), db_text(author), db_text(note), db_int(time_now_ms())),
		                p);
	return db_query(c, a, NULL, sql,
	                DB_ARGS(db_text(id), db_int(n), db_text(ws), db_text(agents_dump(def, a)), db_text(author),
	                        db_text(note), db_int(time_now_ms())),
	                p);
}

enum status vs_stale(struct problem *p, const struct vkind *k, int64_t base, int64_t current)
{
	problem_field(p, "base_version", "the %s is at version %lld, not %lld", k->noun, (long long) current,
	              (long long) base);
	problem_hint(p, "reload the %s (version %lld), apply your change again and send base_version %lld", k->noun,
	             (long long) current, (long long) current);
	return problem_set(p, ST_CONFLICT, "the %s changed since version %lld: it is at version %lld", k->noun,
	                   (long long) base, (long long) current);
}

/* ---- the versions routes ---- */

static enum status find(struct agents *m, const struct actor *who, const char *kind, const char *id, struct arena *a,
                        const struct vkind **k, struct vrow *row, struct problem *p)
{
	*k = agents_vkind(kind);
	if (!*k)
		return problem_set(p, ST_INTERNAL, "unknown kind");
	return vs_load(m, NULL, *k, who->workspace_id, id, false, a, row, p);
}

static char *iso(int64_t ms, struct arena *a)
{
	char *s = arena_alloc(a, 40);
	time_iso8601(ms, s, 40);
	return s;
}

enum status agents_versions_list(struct agents *m, const struct actor *who, const char *kind, const char *id, int limit,
                                 const char *after, struct arena *a, json_t **items, const char **last,
                                 struct problem *p)
{
	const struct vkind *k;
	struct vrow row;
	*items = NULL;
	*last = NULL;
	if (tools_is_builtin(id) && str_eq(kind, "tool")) {
		*items = json_pack("[{s:i, s:n, s:s, s:n}]", "version", 1, "author_id", "change_note", "built in",
		                   "created_at");
		return ST_OK;
	}
	enum status st = find(m, who, kind, id, a, &k, &row, p);
	if (st != ST_OK)
		return st;
	return db_versions_page(m->db, k->vtable, k->fk, who->workspace_id, id, after, limit, a, items, last, p);
}

enum status agents_version_get(struct agents *m, const struct actor *who, const char *kind, const char *id,
                               int64_t version, struct arena *a, json_t **out, struct problem *p)
{
	const struct vkind *k;
	struct vrow row;
	if (tools_is_builtin(id) && str_eq(kind, "tool")) {
		if (version != 1)
			return problem_set(p, ST_NOT_FOUND, "a built-in tool has only version 1");
		*out = json_pack("{s:s, s:i, s:n, s:s, s:n, s:o}", "id", id, "version", 1, "author_id", "change_note",
		                 "built in", "created_at", "definition", tools_builtin_json(id));
		return ST_OK;
	}
	enum status st = find(m, who, kind, id, a, &k, &row, p);
	if (st != ST_OK)
		return st;
	struct db_res *r;
	char *sql = arena_printf(a,
	                         "SELECT author_id, change_note, created_at, definition FROM %s WHERE "
	                         "workspace_id = ? AND %s = ? AND version = ?",
	                         k->vtable, k->fk);
	st = db_exec1(m->db, DB_READ, a, &r, sql, DB_ARGS(db_text(who->workspace_id), db_text(id), db_int(version)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no version %lld of this %s (the latest is %lld)",
		                   (long long) version, k->noun, (long long) row.version);
	json_t *def = json_loads(db_res_text(r, 0, 3), 0, NULL);
	if (!def)
		return problem_set(p, ST_INTERNAL, "the stored %s version cannot be read", k->noun);
	const char *author = db_res_text(r, 0, 0), *note = db_res_text(r, 0, 1);
	*out =
	    json_pack("{s:s, s:I, s:o, s:o, s:s, s:o}", "id", id, "version", (json_int_t) version, "author_id",
	              author ? json_string(author) : json_null(), "change_note", note ? json_string(note) : json_null(),
	              "created_at", iso(db_res_int(r, 0, 2), a), "definition", def);
	return ST_OK;
}

enum status agents_version_diff(struct agents *m, const struct actor *who, const char *kind, const char *id,
                                int64_t from, int64_t to, struct arena *a, json_t **out, struct problem *p)
{
	const struct vkind *k;
	struct vrow row;
	if (tools_is_builtin(id) && str_eq(kind, "tool")) {
		if (from != 1 || to != 1)
			return problem_set(p, ST_NOT_FOUND, "a built-in tool has only version 1");
		*out = json_pack("{s:s, s:i, s:i, s:[], s:[], s:[]}", "id", id, "from", 1, "to", 1, "added", "removed",
		                 "changed");
		return ST_OK;
	}
	enum status st = find(m, who, kind, id, a, &k, &row, p);
	if (st != ST_OK)
		return st;
	json_t *da, *db;
	if ((st = vs_load_version(m, NULL, k, who->workspace_id, id, from, a, &da, NULL, p)) != ST_OK ||
	    (st = vs_load_version(m, NULL, k, who->workspace_id, id, to, a, &db, NULL, p)) != ST_OK)
		return st;
	*out = json_diff(da, db);
	json_object_set_new(*out, "id", json_string(id));
	json_object_set_new(*out, "from", json_integer(from));
	json_object_set_new(*out, "to", json_integer(to));
	return ST_OK;
}

enum status agents_version_restore(struct agents *m, const struct actor *who, const char *kind, const char *id,
                                   int64_t version, json_t *body, struct arena *a, json_t **out, struct problem *p)
{
	const char *note = agents_jstr(body, "change_note");
	char *def_note = arena_printf(a, "restored from version %lld", (long long) version);
	if (str_eq(kind, "tool")) {
		if (tools_is_builtin(id))
			return problem_set(p, ST_FORBIDDEN, "built-in tools cannot be changed");
		return tools_restore(m, who, id, version, note ? note : def_note, a, out, p);
	}
	return agents_restore(m, who, id, version, note ? note : def_note, a, out, p);
}
