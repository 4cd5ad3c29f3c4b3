/* Workflows: definitions checked on every save, immutable versions,
 * publish, archive on delete, and the snapshot an execution stores. */
#include "workflows_int.h"
#include "core/json_text.h"
#include "core/json_diff.h"

#include <ctype.h>
#include <string.h>

enum status workflows_new(struct db *db, struct agents *agents, struct workflows **out, struct problem *p)
{
	(void) p;
	struct workflows *m = xcalloc(1, sizeof(*m));
	m->db = db;
	m->agents = agents;
	*out = m;
	return ST_OK;
}

void workflows_free(struct workflows **m)
{
	free(*m);
	*m = NULL;
}

json_t *wf_own(struct arena *a, json_t *j)
{
	if (j)
		arena_defer(a, (void (*)(void *)) json_decref, j);
	return j;
}

const char *wf_str(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

char *wf_dump(const json_t *j, struct arena *a)
{
	char *s = j ? json_text(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *r = arena_strdup(a, s ? s : "{}");
	free(s);
	return r;
}

static char *iso(int64_t ms, struct arena *a)
{
	char *s = arena_alloc(a, 40);
	time_iso8601(ms, s, 40);
	return s;
}

static enum status query(struct workflows *m, struct db_conn *c, struct arena *a, struct db_res **r, const char *sql,
                         const struct db_arg *args, size_t n, struct problem *p)
{
	if (c)
		return db_query(c, a, r, sql, args, n, p);
	return db_exec1(m->db, DB_READ, a, r, sql, args, n, p);
}

static enum status not_found(struct problem *p)
{
	return problem_set(p, ST_NOT_FOUND, "no workflow with this id in the workspace");
}

enum status wf_load(struct workflows *m, struct db_conn *c, const char *ws, const char *id, bool archived_ok,
                    struct arena *a, struct wrow *out, struct problem *p)
{
	struct db_res *r;
	memset(out, 0, sizeof(*out));
	if (!id_valid(id))
		return not_found(p);
	enum status st = query(m, c, a, &r,
	                       "SELECT id, version, published_version, definition, archived_at, created_at, "
	                       "updated_at FROM workflows WHERE workspace_id = ? AND id = ?",
	                       DB_ARGS(db_text(ws), db_text(id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0 || (!archived_ok && !db_res_null(r, 0, 4)))
		return not_found(p);
	out->id = db_res_text(r, 0, 0);
	out->version = db_res_int(r, 0, 1);
	out->published = db_res_null(r, 0, 2) ? 0 : db_res_int(r, 0, 2);
	out->def = wf_own(a, json_loads(db_res_text(r, 0, 3), 0, NULL));
	out->created_at = db_res_int(r, 0, 5);
	out->updated_at = db_res_int(r, 0, 6);
	if (!out->def) {
		log_kv(LOG_ERROR, "a stored workflow does not parse", "id", id, NULL);
		return problem_set(p, ST_INTERNAL, "the stored workflow cannot be read");
	}
	return ST_OK;
}

enum status wf_load_version(struct workflows *m, const char *ws, const char *id, int64_t n, struct arena *a,
                            json_t **def, struct problem *p)
{
	struct db_res *r;
	if (!id_valid(id))
		return not_found(p);
	enum status st = db_exec1(m->db, DB_READ, a, &r,
	                          "SELECT definition FROM workflow_versions WHERE workspace_id = ? AND workflow_id = ? "
	                          "AND version = ?",
	                          DB_ARGS(db_text(ws), db_text(id), db_int(n)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no version %lld of this workflow", (long long) n);
	*def = wf_own(a, json_loads(db_res_text(r, 0, 0), 0, NULL));
	if (!*def)
		return problem_set(p, ST_INTERNAL, "the stored workflow version cannot be read");
	return ST_OK;
}

static json_t *wf_json(const struct wrow *row)
{
	json_t *o = json_pack("{s:s, s:I, s:o}", "id", row->id, "version", (json_int_t) row->version,
	                      "published_version", row->published ? json_integer(row->published) : json_null());
	json_object_update(o, row->def);
	char c[40], u[40];
	time_iso8601(row->created_at, c, sizeof(c));
	time_iso8601(row->updated_at, u, sizeof(u));
	json_object_set_new(o, "created_at", json_string(c));
	json_object_set_new(o, "updated_at", json_string(u));
	return o;
}

/* ---- writing ---- */

static enum status stale(struct problem *p, int64_t base, int64_t current)
{
	problem_field(p, "base_version", "the workflow is at version %lld, not %lld", (long long) current,
	              (long long) base);
	problem_hint(p, "reload the workflow (version %lld), apply your change again and send base_version %lld",
	             (long long) current, (long long) current);
	return problem_set(p, ST_CONFLICT, "the workflow changed since version %lld: it is at version %lld",
	                   (long long) base, (long long) current);
}

static enum status audit(struct db_conn *c, const struct actor *who, const char *action, const char *id,
                         const json_t *def, int64_t version, struct problem *p)
{
	json_t *d = json_pack("{s:O?, s:I}", "name", json_object_get(def, "name"), "version", (json_int_t) version);
	return auth_audit_tx(c, who, action, "workflow", id, d, p);
}

static enum status insert_version(struct db_conn *c, const char *ws, const char *id, int64_t n, const json_t *def,
                                  const struct actor *who, const char *note, struct arena *a, struct problem *p)
{
	const char *author = who->user_id ? who->user_id : who->api_key_id;
	return db_query(c, a, NULL,
	                "INSERT INTO workflow_versions (workflow_id, version, workspace_id, definition, author_id, "
	                "change_note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	                DB_ARGS(db_text(id), db_int(n), db_text(ws), db_text(wf_dump(def, a)), db_text(author),
	                        db_text(note), db_int(time_now_ms())),
	                p);
}

enum status wf_write_tx(struct workflows *m, struct db_conn *c, struct wf_write *w, struct arena *a, struct problem *p)
{
	const char *ws = w->who->workspace_id;
	struct wrow row = {0};
	enum status st;
	if (w->id) {
		if ((st = wf_load(m, c, ws, w->id, false, a, &row, p)) != ST_OK)
			return st;
		if (w->base && w->base != row.version)
			return stale(p, w->base, row.version);
		if (w->patch)
			w->def = wf_own(a, wf_apply(row.def, w->patch));
	}
	if ((st = wf_validate(m, c, w->who, w->def, w->known, a, w->warnings, p)) != ST_OK)
		return st;
	int64_t now = time_now_ms();
	const char *text = wf_dump(w->def, a), *name = wf_str(w->def, "name");
	if (!w->id) {
		char id[37];
		id_new(id);
		w->id_out = arena_strdup(a, id);
		w->version = 1;
		st = db_query(
		    c, a, NULL,
		    "INSERT INTO workflows (id, workspace_id, name, version, definition, created_at, "
		    "updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
		    DB_ARGS(db_text(w->id_out), db_text(ws), db_text(name), db_text(text), db_int(now), db_int(now)),
		    p);
	} else {
		w->id_out = w->id;
		json_t *d = json_diff(row.def, w->def);
		bool same = json_diff_empty(d);
		json_decref(d);
		if (same && !w->force) {
			/* an edit that changes nothing writes nothing */
			w->version = row.version;
			return ST_OK;
		}
		w->version = row.version + 1;
		/* version = ?: of two writers that read the same version, the
		 * second matches no row and answers 409 */
		st = db_query(c, a, NULL,
		              "UPDATE workflows SET name = ?, version = ?, definition = ?, updated_at = ? WHERE "
		              "workspace_id = ? AND id = ? AND version = ? AND archived_at IS NULL",
		              DB_ARGS(db_text(name), db_int(w->version), db_text(text), db_int(now), db_text(ws),
		                      db_text(w->id), db_int(row.version)),
		              p);
		if (st == ST_OK && db_changes(c) == 0)
			return stale(p, row.version, row.version + 1);
	}
	if (st != ST_OK)
		return st;
	if ((st = insert_version(c, ws, w->id_out, w->version, w->def, w->who, w->note, a, p)) != ST_OK)
		return st;
	return audit(c, w->who, w->action, w->id_out, w->def, w->version, p);
}

struct one_write {
	struct workflows *m;
	struct wf_write *w;
	struct arena *a;
};

static enum status one_write_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct one_write *o = vctx;
	json_array_clear(o->w->warnings); /* a retried transaction starts over */
	return wf_write_tx(o->m, c, o->w, o->a, p);
}

static enum status run_write(struct workflows *m, struct wf_write *w, struct arena *a, json_t **out, struct problem *p)
{
	struct one_write o = {m, w, a};
	w->warnings = wf_own(a, json_array());
	enum status st = db_tx(m->db, one_write_tx, &o, p);
	if (st != ST_OK)
		return st;
	if ((st = workflows_get(m, w->who, w->id_out, a, out, p)) != ST_OK)
		return st;
	json_object_set(*out, "warnings", w->warnings);
	return ST_OK;
}

enum status workflows_create(struct workflows *m, const struct actor *who, json_t *in, struct arena *a, json_t **out,
                             struct problem *p)
{
	struct wf_write w = {.who = who,
	                     .def = wf_own(a, wf_apply(NULL, in)),
	                     .note = wf_str(in, "change_note"),
	                     .action = "workflow.create"};
	enum status st = run_write(m, &w, a, out, p);
	return st == ST_OK ? ST_CREATED : st;
}

enum status workflows_update(struct workflows *m, const struct actor *who, const char *id, json_t *patch,
                             struct arena *a, json_t **out, struct problem *p)
{
	json_t *base = json_object_get(patch, "base_version");
	struct wf_write w = {.who = who,
	                     .id = id,
	                     .patch = patch,
	                     .base = json_is_integer(base) ? json_integer_value(base) : 0,
	                     .note = wf_str(patch, "change_note"),
	                     .action = "workflow.update"};
	return run_write(m, &w, a, out, p);
}

enum status workflows_version_restore(struct workflows *m, const struct actor *who, const char *id, int64_t n,
                                      json_t *body, struct arena *a, json_t **out, struct problem *p)
{
	struct wrow row;
	json_t *def;
	enum status st = wf_load(m, NULL, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK || (st = wf_load_version(m, who->workspace_id, id, n, a, &def, p)) != ST_OK)
		return st;
	const char *note = wf_str(body, "change_note");
	struct wf_write w = {.who = who,
	                     .id = id,
	                     .def = def,
	                     .base = row.version,
	                     .note = note ? note : arena_printf(a, "restored from version %lld", (long long) n),
	                     .action = "workflow.restore",
	                     .force = true};
	return run_write(m, &w, a, out, p);
}

enum status workflows_get(struct workflows *m, const struct actor *who, const char *id, struct arena *a, json_t **out,
                          struct problem *p)
{
	struct wrow row;
	enum status st = wf_load(m, NULL, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK)
		return st;
	*out = wf_own(a, wf_json(&row));
	return ST_OK;
}

static char *like(const char *q, struct arena *a)
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

static bool has_tag(const json_t *def, const char *tag)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(def, "tags"), i, e) if (str_eq(json_string_value(e), tag)) return true;
	return false;
}

enum status workflows_list(struct workflows *m, const struct actor *who, const char *q, const char *tag, int limit,
                           const char *after, struct arena *a, json_t **items, const char **last, struct problem *p)
{
	*items = NULL;
	*last = NULL;
	/* tags live in the definition: a page is read in batches until it is
	 * full or the workspace's rows run out, so a rare tag still fills it */
	json_t *list = wf_own(a, json_array());
	const char *cursor = after ? after : "", *pattern = like(q ? q : "", a);
	for (;;) {
		struct db_res *r;
		enum status st =
		    db_exec1(m->db, DB_READ, a, &r,
		             "SELECT id, version, published_version, definition, created_at, updated_at "
		             "FROM workflows WHERE workspace_id = ? AND archived_at IS NULL AND id > ? AND "
		             "LOWER(name) LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
		             DB_ARGS(db_text(who->workspace_id), db_text(cursor), db_text(pattern), db_int(limit)), p);
		if (st != ST_OK)
			return st;
		int rows = db_res_rows(r);
		for (int i = 0; i < rows && (int) json_array_size(list) < limit; i++) {
			struct wrow row = {.id = db_res_text(r, i, 0),
			                   .version = db_res_int(r, i, 1),
			                   .published = db_res_null(r, i, 2) ? 0 : db_res_int(r, i, 2),
			                   .def = wf_own(a, json_loads(db_res_text(r, i, 3), 0, NULL)),
			                   .created_at = db_res_int(r, i, 4),
			                   .updated_at = db_res_int(r, i, 5)};
			cursor = row.id;
			if (!row.def || (tag && *tag && !has_tag(row.def, tag)))
				continue;
			json_array_append_new(list, wf_json(&row));
			*last = row.id;
		}
		if (rows < limit || (int) json_array_size(list) >= limit)
			break;
	}
	/* a page cut short by the tag filter still ends where reading stopped */
	if ((int) json_array_size(list) < limit)
		*last = NULL;
	*items = json_incref(list);
	wf_own(a, *items);
	return ST_OK;
}

struct del {
	struct workflows *m;
	const struct actor *who;
	const char *id;
	struct arena *a;
};

static enum status delete_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct del *d = vctx;
	struct wrow row;
	enum status st = wf_load(d->m, c, d->who->workspace_id, d->id, false, d->a, &row, p);
	if (st != ST_OK)
		return st;
	st = db_query(c, d->a, NULL,
	              "UPDATE workflows SET archived_at = ? WHERE workspace_id = ? AND id = ? AND archived_at IS NULL",
	              DB_ARGS(db_int(time_now_ms()), db_text(d->who->workspace_id), db_text(d->id)), p);
	return st == ST_OK ? audit(c, d->who, "workflow.delete", d->id, row.def, row.version, p) : st;
}

enum status workflows_delete(struct workflows *m, const struct actor *who, const char *id, struct arena *a,
                             struct problem *p)
{
	struct del d = {m, who, id, a};
	return db_tx(m->db, delete_tx, &d, p);
}

static json_t *problem_errors(const struct problem *p)
{
	json_t *e = json_array();
	for (int i = 0; i < p->nfields; i++)
		json_array_append_new(
		    e, json_pack("{s:s, s:s}", "field", p->fields[i].field, "message", p->fields[i].message));
	return e;
}

enum status workflows_validate(struct workflows *m, const struct actor *who, const char *id, struct arena *a,
                               json_t **out, struct problem *p)
{
	struct wrow row;
	enum status st = wf_load(m, NULL, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK)
		return st;
	struct problem v;
	problem_init(&v, a);
	json_t *warnings = json_array();
	st = wf_validate(m, NULL, who, row.def, NULL, a, warnings, &v);
	if (st != ST_OK && st != ST_UNPROCESSABLE) {
		json_decref(warnings);
		return problem_set(p, st, "%s", v.detail ? v.detail : "the workflow could not be checked");
	}
	*out = wf_own(
	    a, json_pack("{s:b, s:o, s:o}", "valid", st == ST_OK, "errors", problem_errors(&v), "warnings", warnings));
	return ST_OK;
}

/* ---- versions ---- */

enum status workflows_versions_list(struct workflows *m, const struct actor *who, const char *id, int limit,
                                    const char *after, struct arena *a, json_t **items, const char **last,
                                    struct problem *p)
{
	struct wrow row;
	*items = NULL;
	*last = NULL;
	enum status st = wf_load(m, NULL, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK)
		return st;
	st = db_versions_page(m->db, "workflow_versions", "workflow_id", who->workspace_id, id, after, limit, a, items,
	                      last, p);
	if (st == ST_OK)
		wf_own(a, *items);
	return st;
}

enum status workflows_version_get(struct workflows *m, const struct actor *who, const char *id, int64_t version,
                                  struct arena *a, json_t **out, struct problem *p)
{
	struct wrow row;
	struct db_res *r;
	enum status st = wf_load(m, NULL, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK)
		return st;
	st = db_exec1(m->db, DB_READ, a, &r,
	              "SELECT author_id, change_note, created_at, definition FROM workflow_versions WHERE "
	              "workspace_id = ? AND workflow_id = ? AND version = ?",
	              DB_ARGS(db_text(who->workspace_id), db_text(id), db_int(version)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no version %lld of this workflow (the latest is %lld)",
		                   (long long) version, (long long) row.version);
	json_t *def = json_loads(db_res_text(r, 0, 3), 0, NULL);
	if (!def)
		return problem_set(p, ST_INTERNAL, "the stored workflow version cannot be read");
	const char *author = db_res_text(r, 0, 0), *note = db_res_text(r, 0, 1);
	*out = wf_own(a, json_pack("{s:s, s:I, s:o, s:o, s:s, s:o}", "id", id, "version", (json_int_t) version,
	                           "author_id", author ? json_string(author) : json_null(), "change_note",
	                           note ? json_string(note) : json_null(), "created_at", iso(db_res_int(r, 0, 2), a),
	                           "definition", def));
	return ST_OK;
}

/* Appends every entry of d (a json_diff) to out's lists, paths prefixed. */
static void merge_diff(json_t *out, json_t *d, const char *prefix)
{
	const char *lists[] = {"added", "removed", "changed"};
	for (size_t l = 0; l < 3; l++) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(d, lists[l]), i, e)
		{
			json_t *c = json_copy(e);
			const char *path = wf_str(e, "path");
			char *full = xasprintf("%s%s%s", prefix, *prefix && path && *path ? "." : "", path ? path : "");
			json_object_set_new(c, "path", json_string(full));
			free(full);
			json_array_append_new(json_object_get(out, lists[l]), c);
		}
	}
}

static json_t *task_by_key(const json_t *tasks, const char *key)
{
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) if (str_eq(wf_str(t, "key"), key)) return t;
	return NULL;
}

static json_t *task_keys(const json_t *tasks)
{
	json_t *k = json_array(), *t;
	size_t i;
	json_array_foreach(tasks, i, t) json_array_append(k, json_object_get(t, "key"));
	return k;
}

/* Tasks matched by key: added and removed tasks whole, a changed task
 * field by field ("tasks.research.description"), and the order once. */
static json_t *def_diff(const json_t *da, const json_t *db)
{
	json_t *a = json_copy((json_t *) da), *b = json_copy((json_t *) db);
	json_t *ta = json_object_get(da, "tasks"), *tb = json_object_get(db, "tasks"), *t;
	json_object_del(a, "tasks");
	json_object_del(b, "tasks");
	json_t *out = json_diff(a, b);
	json_decref(a);
	json_decref(b);
	size_t i;
	json_array_foreach(tb, i, t)
	{
		const char *key = wf_str(t, "key");
		json_t *old = task_by_key(ta, key);
		char *prefix = xasprintf("tasks.%s", key);
		if (!old) {
			json_array_append_new(json_object_get(out, "added"),
			                      json_pack("{s:s, s:O}", "path", prefix, "value", t));
		} else {
			json_t *d = json_diff(old, t);
			merge_diff(out, d, prefix);
			json_decref(d);
		}
		free(prefix);
	}
	json_array_foreach(ta, i, t)
	{
		const char *key = wf_str(t, "key");
		if (task_by_key(tb, key))
			continue;
		char *prefix = xasprintf("tasks.%s", key);
		json_array_append_new(json_object_get(out, "removed"),
		                      json_pack("{s:s, s:O}", "path", prefix, "value", t));
		free(prefix);
	}
	json_t *ka = task_keys(ta), *kb = task_keys(tb);
	if (!json_equal(ka, kb))
		json_array_append_new(json_object_get(out, "changed"),
		                      json_pack("{s:s, s:O, s:O}", "path", "tasks", "from", ka, "to", kb));
	json_decref(ka);
	json_decref(kb);
	return out;
}

enum status workflows_version_diff(struct workflows *m, const struct actor *who, const char *id, int64_t from,
                                   int64_t to, struct arena *a, json_t **out, struct problem *p)
{
	struct wrow row;
	json_t *da, *db;
	enum status st = wf_load(m, NULL, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK || (st = wf_load_version(m, who->workspace_id, id, from, a, &da, p)) != ST_OK ||
	    (st = wf_load_version(m, who->workspace_id, id, to, a, &db, p)) != ST_OK)
		return st;
	*out = wf_own(a, def_diff(da, db));
	json_object_set_new(*out, "id", json_string(id));
	json_object_set_new(*out, "from", json_integer(from));
	json_object_set_new(*out, "to", json_integer(to));
	return ST_OK;
}

struct pub {
	struct workflows *m;
	const struct actor *who;
	const char *id;
	int64_t version;
	struct arena *a;
};

static enum status publish_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct pub *u = vctx;
	struct wrow row;
	struct db_res *r;
	const char *ws = u->who->workspace_id;
	enum status st = wf_load(u->m, c, ws, u->id, false, u->a, &row, p);
	if (st != ST_OK)
		return st;
	st =
	    db_query(c, u->a, &r,
	             "SELECT version FROM workflow_versions WHERE workspace_id = ? AND workflow_id = ? AND version = ?",
	             DB_ARGS(db_text(ws), db_text(u->id), db_int(u->version)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0) {
		problem_field(p, "version", "no version %lld of this workflow (the latest is %lld)",
		              (long long) u->version, (long long) row.version);
		return problem_set(p, ST_UNPROCESSABLE, "the workflow has no version %lld", (long long) u->version);
	}
	st = db_query(c, u->a, NULL, "UPDATE workflows SET published_version = ? WHERE workspace_id = ? AND id = ?",
	              DB_ARGS(db_int(u->version), db_text(ws), db_text(u->id)), p);
	if (st != ST_OK)
		return st;
	json_t *d = json_pack("{s:O?, s:I}", "name", json_object_get(row.def, "name"), "published_version",
	                      (json_int_t) u->version);
	return auth_audit_tx(c, u->who, "workflow.publish", "workflow", u->id, d, p);
}

enum status workflows_publish(struct workflows *m, const struct actor *who, const char *id, json_t *body,
                              struct arena *a, json_t **out, struct problem *p)
{
	struct pub u = {m, who, id, json_integer_value(json_object_get(body, "version")), a};
	enum status st = db_tx(m->db, publish_tx, &u, p);
	return st == ST_OK ? workflows_get(m, who, id, a, out, p) : st;
}

/* ---- snapshot ---- */

static int64_t pin(const json_t *pins, const char *kind, const char *id)
{
	json_t *v = json_object_get(json_object_get(pins, kind), id);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static enum status snap_tool(struct workflows *m, const char *ws, const char *id, const json_t *pins, json_t *tools,
                             struct arena *a, struct problem *p)
{
	if (!id || json_object_get(tools, id))
		return ST_OK;
	json_t *t = NULL;
	enum status st = tools_resolve(m->agents, ws, id, pin(pins, "tools", id), a, &t, p);
	if (st != ST_OK)
		return st;
	json_object_set_new(tools, id, t);
	return ST_OK;
}

static enum status snap_agent(struct workflows *m, const char *ws, const char *id, const json_t *pins, json_t *agents,
                              json_t *tools, struct arena *a, struct problem *p)
{
	if (!id || json_object_get(agents, id))
		return ST_OK;
	json_t *ag = NULL, *e;
	enum status st = agents_resolve(m->agents, ws, id, pin(pins, "agents", id), a, &ag, p);
	if (st != ST_OK)
		return st;
	json_object_set_new(agents, id, ag);
	size_t i;
	json_array_foreach(json_object_get(ag, "tool_ids"), i, e)
	{
		if ((st = snap_tool(m, ws, json_string_value(e), pins, tools, a, p)) != ST_OK)
			return st;
	}
	return ST_OK;
}

/* pins: {"agents"?: {id: n}, "tools"?: {id: n}}, n a version number. */
static enum status check_pins(const json_t *pins, struct problem *p)
{
	const char *kinds[] = {"agents", "tools"};
	for (size_t k = 0; k < 2; k++) {
		json_t *o = json_object_get(pins, kinds[k]), *v;
		const char *id;
		if (o && !json_is_object(o))
			problem_field(p, kinds[k], "must be an object {id: version}");
		json_object_foreach(o, id, v)
		{
			if (!id_valid(id))
				problem_field(p, kinds[k], "\"%.40s\" is not an id", id);
			else if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT32_MAX)
				problem_field(p, arena_printf(p->arena, "%s.%s", kinds[k], id),
				              "must be a version number (1, 2, ...)");
		}
	}
	return p->nfields ? problem_set(p, ST_BAD_INPUT, "the versions asked for are not version numbers") : ST_OK;
}

enum status workflows_snapshot(struct workflows *m, const char *ws, const char *id, int64_t version, const json_t *pins,
                               struct arena *a, json_t **out, struct problem *p)
{
	struct wrow row;
	json_t *def;
	enum status st = check_pins(pins, p);
	if (st != ST_OK)
		return st;
	st = wf_load(m, NULL, ws, id, true, a, &row, p);
	if (st != ST_OK)
		return st;
	if (!version)
		version = row.published ? row.published : row.version;
	if ((st = wf_load_version(m, ws, id, version, a, &def, p)) != ST_OK)
		return st;
	json_t *agents = wf_own(a, json_object()), *tools = wf_own(a, json_object()), *t, *e;
	st = snap_agent(m, ws, wf_str(def, "manager_agent_id"), pins, agents, tools, a, p);
	size_t i, j;
	json_array_foreach(json_object_get(def, "tasks"), i, t)
	{
		if (st == ST_OK)
			st = snap_agent(m, ws, wf_str(t, "agent_id"), pins, agents, tools, a, p);
		json_array_foreach(json_object_get(t, "tool_ids"), j, e)
		{
			if (st == ST_OK)
				st = snap_tool(m, ws, json_string_value(e), pins, tools, a, p);
		}
	}
	if (st != ST_OK)
		return st;
	*out = wf_own(a, json_pack("{s:{s:s, s:I, s:O}, s:O, s:O}", "workflow", "id", id, "version",
	                           (json_int_t) version, "definition", def, "agents", agents, "tools", tools));
	return ST_OK;
}

/* ---- the agents module's usage hook ---- */

static bool names_agent(const json_t *def, const char *agent_id)
{
	json_t *t;
	size_t i;
	if (str_eq(wf_str(def, "manager_agent_id"), agent_id))
		return true;
	json_array_foreach(json_object_get(def, "tasks"), i,
	                   t) if (str_eq(wf_str(t, "agent_id"), agent_id)) return true;
	return false;
}

enum status workflows_agent_usage(struct db_conn *c, const char *ws, const char *agent_id, struct arena *a,
                                  json_t **out, struct problem *p)
{
	struct db_res *r;
	*out = NULL;
	/* ids are UUIDs: the text match finds candidates, the parse decides */
	char *pattern = arena_printf(a, "%%%s%%", agent_id);
	enum status st = db_query(c, a, &r,
	                          "SELECT id, name, definition FROM workflows WHERE workspace_id = ? AND archived_at "
	                          "IS NULL AND definition LIKE ? ORDER BY name, id",
	                          DB_ARGS(db_text(ws), db_text(pattern)), p);
	if (st != ST_OK)
		return st;
	*out = json_array();
	for (int i = 0; i < db_res_rows(r); i++) {
		json_t *def = json_loads(db_res_text(r, i, 2), 0, NULL);
		if (def && names_agent(def, agent_id))
			json_array_append_new(
			    *out, json_pack("{s:s, s:s}", "id", db_res_text(r, i, 0), "name", db_res_text(r, i, 1)));
		json_decref(def);
	}
	return ST_OK;
}
