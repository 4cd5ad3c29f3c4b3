/* Agents: definitions with crewAI's fields and defaults, checked, versioned
 * and archived on delete. */
#include "agents_int.h"
#include "core/json_text.h"

#include <string.h>

#define AGENT_FIELDS(req)                                                                                              \
	{"name", JT_STRING, .required = req, .min = 1, .max = 200, .description = "need not be unique"},               \
	    {"role", JT_STRING, .required = req, .min = 1, .max = 1000},                                               \
	    {"goal", JT_STRING, .required = req, .min = 1, .max = 8000},                                               \
	    {"backstory", JT_STRING, .required = req, .min = 1, .max = 32000},                                         \
	    {"model_id", JT_STRING, .format = "uuid", .nullable = true,                                                \
	     .description = "a chat model configuration; null: the workspace's default chat model"},                   \
	    {"tool_ids", JT_ARRAY, .items = JT_STRING, .max = 64, .description = "built-in or custom tool ids"},       \
	    {"max_iter", JT_INT, .min = 1, .max = 200, .description = "default 25"},                                   \
	    {"max_rpm", JT_INT, .min = 1, .max = 100000, .nullable = true},                                            \
	    {"max_execution_time_s", JT_INT, .min = 1, .max = 86400, .nullable = true},                                \
	    {"max_retry_limit", JT_INT, .min = 0, .max = 20, .description = "default 2"},                              \
	    {"allow_delegation", JT_BOOL, .description = "default false"},                                             \
	    {"respect_context_window", JT_BOOL, .description = "default true"},                                        \
	    {"temperature", JT_NUMBER, .min = 0, .max = 2, .nullable = true},                                          \
	    {"system_prompt_extra", JT_STRING, .max = 32000, .nullable = true},                                        \
	    {"metadata", JT_OBJECT, .object = &(const struct schema){"AgentMetadata", NULL, true}},                    \
	{                                                                                                              \
		"change_note", JT_STRING, .max = 500, .description = "recorded with the version this change writes"    \
	}

static const struct field create_fields[] = {AGENT_FIELDS(true), {0}};
const struct schema agents_create_schema = {"AgentCreate", create_fields, false};
static const struct field update_fields[] = {
    AGENT_FIELDS(false),
    {"base_version", JT_INT, .min = 1, .max = INT32_MAX,
     .description = "the version the change was made on; a stale one answers 409 naming the current"},
    {0}};
const struct schema agents_update_schema = {"AgentUpdate", update_fields, false};

/* The definition's fields, in answer order, with crewAI's defaults. */
static json_t *agent_defaults(void)
{
	return json_pack("{s:n, s:[], s:i, s:n, s:n, s:i, s:b, s:b, s:n, s:n, s:{}}", "model_id", "tool_ids",
	                 "max_iter", 25, "max_rpm", "max_execution_time_s", "max_retry_limit", 2, "allow_delegation",
	                 false, "respect_context_window", true, "temperature", "system_prompt_extra", "metadata");
}

static const char *const DEF_KEYS[] = {"name",
                                       "role",
                                       "goal",
                                       "backstory",
                                       "model_id",
                                       "tool_ids",
                                       "max_iter",
                                       "max_rpm",
                                       "max_execution_time_s",
                                       "max_retry_limit",
                                       "allow_delegation",
                                       "respect_context_window",
                                       "temperature",
                                       "system_prompt_extra",
                                       "metadata",
                                       NULL};

#define METADATA_MAX 16384

/* base (a stored definition or the defaults) with the body's definition
 * fields applied; null resets an optional field to its default. */
static json_t *apply(json_t *base, json_t *body)
{
	json_t *def = json_object(), *dflt = agent_defaults();
	for (const char *const *k = DEF_KEYS; *k; k++) {
		json_t *v = json_object_get(body, *k);
		if (!v)
			v = json_object_get(base, *k);
		if ((!v || json_is_null(v)) && json_object_get(dflt, *k))
			v = json_object_get(dflt, *k);
		if (v)
			json_object_set(def, *k, v);
	}
	json_decref(dflt);
	return def;
}

static bool blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

/* Rules beyond the body schema: ST_BAD_INPUT with every field named. */
static enum status check_def(json_t *def, struct problem *p)
{
	for (const char *const *k = (const char *const[]){"name", "role", "goal", "backstory", NULL}; *k; k++) {
		json_t *v = json_object_get(def, *k);
		if (!json_is_string(v))
			problem_field(p, *k, "is required");
		else if (blank(json_string_value(v)))
			problem_field(p, *k, "must not be empty or only spaces");
	}
	json_t *tools = json_object_get(def, "tool_ids");
	for (size_t i = 0; i < json_array_size(tools); i++)
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_array_get(tools, i), json_array_get(tools, j))) {
				problem_field(p, arena_printf(p->arena, "tool_ids[%zu]", i), "repeats tool_ids[%zu]",
				              j);
				break;
			}
	char *meta = json_text(json_object_get(def, "metadata"), JSON_COMPACT);
	if (meta && strlen(meta) > METADATA_MAX)
		problem_field(p, "metadata", "must be at most %d bytes of JSON, got %zu", METADATA_MAX, strlen(meta));
	free(meta);
	if (p->nfields)
		return problem_set(p, ST_BAD_INPUT, "the agent has %d invalid field%s", p->nfields,
		                   p->nfields == 1 ? "" : "s");
	return ST_OK;
}

/* The model and tools named must exist in the workspace, now, on the
 * writing connection: ST_UNPROCESSABLE naming each one that does not. */
static enum status check_refs(struct agents *m, struct db_conn *c, const char *ws, json_t *def, struct arena *a,
                              struct problem *p)
{
	const char *model = agents_jstr(def, "model_id");
	enum status st;
	if (model) {
		struct db_res *r;
		st = db_query(c, a, &r, "SELECT kind FROM model_configs WHERE workspace_id = ? AND id = ?",
		              DB_ARGS(db_text(ws), db_text(model)), p);
		if (st != ST_OK)
			return st;
		if (db_res_rows(r) == 0)
			problem_field(p, "model_id", "no model configuration with this id in the workspace");
		else if (!str_eq(db_res_text(r, 0, 0), "chat"))
			problem_field(p, "model_id", "is an %s model; an agent needs a chat model",
			              db_res_text(r, 0, 0));
	}
	json_t *tools = json_object_get(def, "tool_ids");
	for (size_t i = 0; i < json_array_size(tools); i++) {
		bool yes = false;
		st = tools_exists(m, c, ws, json_string_value(json_array_get(tools, i)), &yes, p);
		if (st != ST_OK)
			return st;
		if (!yes)
			problem_field(p, arena_printf(a, "tool_ids[%zu]", i), "no tool with this id in the workspace");
	}
	if (p->nfields)
		return problem_set(p, ST_UNPROCESSABLE, "the agent names %d object%s the workspace does not have",
		                   p->nfields, p->nfields == 1 ? "" : "s");
	return ST_OK;
}

static json_t *agent_json(const char *id, int64_t version, json_t *def, int64_t created, int64_t updated,
                          struct arena *a)
{
	json_t *o = json_pack("{s:s, s:I}", "id", id, "version", (json_int_t) version);
	json_object_update(o, def);
	if (created) {
		char c[40], u[40];
		time_iso8601(created, c, sizeof(c));
		time_iso8601(updated, u, sizeof(u));
		json_object_set_new(o, "created_at", json_string(c));
		json_object_set_new(o, "updated_at", json_string(u));
	}
	(void) a;
	return o;
}

/* The audit entry, on the transaction's connection: no secret in it. */
static enum status audit(struct db_conn *c, const struct actor *who, const char *action, const char *id, json_t *def,
                         int64_t version, struct problem *p)
{
	json_t *d = json_pack("{s:O?, s:I}", "name", json_object_get(def, "name"), "version", (json_int_t) version);
	return auth_audit_tx(c, who, action, "agent", id, d, p);
}

/* ---- writing: one transaction reads the row, applies, checks, writes ---- */

struct write {
	struct agents *m;
	const struct actor *who;
	struct arena *a;
	const char *action;
	const char *id;
	json_t *body;     /* create/update: the request's fields */
	json_t *restore;  /* restore: the definition of the version restored */
	int64_t base;     /* base_version given, or 0 */
	const char *note; /* change_note */
	bool creating;
	/* out */
	json_t *def;
	int64_t version;
	bool unchanged;
};

static enum status write_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct write *w = vctx;
	struct arena *a = w->a;
	const char *ws = w->who->workspace_id;
	struct vrow row = {0};
	enum status st;
	if (!w->creating) {
		st = vs_load(w->m, c, &agents_vk_agent, ws, w->id, false, a, &row, p);
		if (st != ST_OK)
			return st;
		if (w->base && w->base != row.version)
			return vs_stale(p, &agents_vk_agent, w->base, row.version);
	}
	w->def = agents_own(a, w->restore ? json_deep_copy(w->restore) : apply(row.def, w->body));
	if ((st = check_def(w->def, p)) != ST_OK || (st = check_refs(w->m, c, ws, w->def, a, p)) != ST_OK)
		return st;
	int64_t now = time_now_ms();
	const char *def_text = agents_dump(w->def, a);
	if (w->creating) {
		w->version = 1;
		st =
		    db_query(c, a, NULL,
		             "INSERT INTO agents (id, workspace_id, name, role, version, definition, created_at, "
		             "updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
		             DB_ARGS(db_text(w->id), db_text(ws), db_text(agents_jstr(w->def, "name")),
		                     db_text(agents_jstr(w->def, "role")), db_text(def_text), db_int(now), db_int(now)),
		             p);
	} else {
		json_t *d = json_diff(row.def, w->def);
		/* an edit that changes nothing writes nothing; a restore always
		 * writes, as asked */
		w->unchanged = !w->restore && json_diff_empty(d);
		json_decref(d);
		if (w->unchanged) {
			w->version = row.version;
			return ST_OK;
		}
		w->version = row.version + 1;
		/* version = ?: a writer that read the same version first wins; the
		 * other matches no row and answers 409 */
		st = db_query(c, a, NULL,
		              "UPDATE agents SET name = ?, role = ?, version = ?, definition = ?, updated_at = ? "
		              "WHERE workspace_id = ? AND id = ? AND version = ? AND archived_at IS NULL",
		              DB_ARGS(db_text(agents_jstr(w->def, "name")), db_text(agents_jstr(w->def, "role")),
		                      db_int(w->version), db_text(def_text), db_int(now), db_text(ws), db_text(w->id),
		                      db_int(row.version)),
		              p);
		if (st == ST_OK && db_changes(c) == 0)
			return vs_stale(p, &agents_vk_agent, row.version, row.version + 1);
	}
	if (st != ST_OK)
		return st;
	st = vs_insert_version(c, &agents_vk_agent, ws, w->id, w->version, w->def, NULL, w->who, w->note, a, p);
	return st == ST_OK ? audit(c, w->who, w->action, w->id, w->def, w->version, p) : st;
}

static enum status run_write(struct agents *m, struct write *w, json_t **out, struct problem *p)
{
	enum status st = db_tx(m->db, write_tx, w, p);
	if (st != ST_OK)
		return st;
	return agents_get(m, w->who, w->id, w->a, out, p);
}

/* A create's write, the body checked against AgentCreate first. */
static enum status create_write(struct agents *m, const struct actor *who, json_t *in, struct arena *a, struct write *w,
                                struct problem *p)
{
	if (schema_validate(&agents_create_schema, in, p) != ST_OK)
		return p->st;
	char id[37];
	id_new(id);
	*w = (struct write){.m = m,
	                    .who = who,
	                    .id = arena_strdup(a, id),
	                    .a = a,
	                    .action = "agent.create",
	                    .body = in,
	                    .note = agents_jstr(in, "change_note"),
	                    .creating = true};
	return ST_OK;
}

enum status agents_create(struct agents *m, const struct actor *who, json_t *in, struct arena *a, json_t **out,
                          struct problem *p)
{
	struct write w;
	enum status st = create_write(m, who, in, a, &w, p);
	if (st == ST_OK)
		st = run_write(m, &w, out, p);
	return st == ST_OK ? ST_CREATED : st;
}

enum status agents_create_tx(struct agents *m, struct db_conn *c, const struct actor *who, json_t *in, struct arena *a,
                             json_t **out, struct problem *p)
{
	struct write w;
	enum status st = create_write(m, who, in, a, &w, p);
	if (st == ST_OK)
		st = write_tx(c, &w, p);
	if (st != ST_OK)
		return st;
	int64_t now = time_now_ms();
	*out = agent_json(w.id, w.version, w.def, now, now, a);
	return ST_CREATED;
}

enum status agents_update(struct agents *m, const struct actor *who, const char *id, json_t *patch, struct arena *a,
                          json_t **out, struct problem *p)
{
	json_t *base = json_object_get(patch, "base_version");
	struct write w = {.m = m,
	                  .who = who,
	                  .a = a,
	                  .action = "agent.update",
	                  .id = id,
	                  .body = patch,
	                  .base = json_is_integer(base) ? json_integer_value(base) : 0,
	                  .note = agents_jstr(patch, "change_note")};
	if (!id_valid(id))
		return problem_set(p, ST_NOT_FOUND, "no agent with this id in the workspace");
	if (schema_validate(&agents_update_schema, patch, p) != ST_OK)
		return p->st;
	return run_write(m, &w, out, p);
}

enum status agents_restore(struct agents *m, const struct actor *who, const char *id, int64_t n, const char *note,
                           struct arena *a, json_t **out, struct problem *p)
{
	struct vrow row;
	json_t *def;
	enum status st = vs_load(m, NULL, &agents_vk_agent, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK ||
	    (st = vs_load_version(m, NULL, &agents_vk_agent, who->workspace_id, id, n, a, &def, NULL, p)) != ST_OK)
		return st;
	struct write w = {.m = m,
	                  .who = who,
	                  .a = a,
	                  .action = "agent.restore",
	                  .id = id,
	                  .restore = def,
	                  .base = row.version,
	                  .note = note};
	st = run_write(m, &w, out, p);
	return st;
}

enum status agents_get(struct agents *m, const struct actor *who, const char *id, struct arena *a, json_t **out,
                       struct problem *p)
{
	struct vrow row;
	enum status st = vs_load(m, NULL, &agents_vk_agent, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK)
		return st;
	*out = agent_json(row.id, row.version, row.def, row.created_at, row.updated_at, a);
	return ST_OK;
}

enum status agents_list(struct agents *m, const struct actor *who, const char *q, int limit, const char *after,
                        struct arena *a, json_t **items, const char **last, struct problem *p)
{
	struct db_res *r;
	enum status st;
	*items = NULL;
	*last = NULL;
	if (q && *q) {
		const char *like = agents_like(q, a);
		st = db_exec1(
		    m->db, DB_READ, a, &r,
		    "SELECT id, version, definition, created_at, updated_at FROM agents WHERE workspace_id = ? "
		    "AND archived_at IS NULL AND id > ? AND (LOWER(name) LIKE ? ESCAPE '\\' OR LOWER(role) "
		    "LIKE ? ESCAPE '\\') ORDER BY id LIMIT ?",
		    DB_ARGS(db_text(who->workspace_id), db_text(after ? after : ""), db_text(like), db_text(like),
		            db_int(limit)),
		    p);
	} else {
		st = db_exec1(
		    m->db, DB_READ, a, &r,
		    "SELECT id, version, definition, created_at, updated_at FROM agents WHERE workspace_id = ? "
		    "AND archived_at IS NULL AND id > ? ORDER BY id LIMIT ?",
		    DB_ARGS(db_text(who->workspace_id), db_text(after ? after : ""), db_int(limit)), p);
	}
	if (st != ST_OK)
		return st;
	*items = json_array();
	for (int i = 0; i < db_res_rows(r); i++) {
		json_t *def = json_loads(db_res_text(r, i, 2), 0, NULL);
		if (!def)
			continue;
		json_array_append_new(*items, agent_json(db_res_text(r, i, 0), db_res_int(r, i, 1), def,
		                                         db_res_int(r, i, 3), db_res_int(r, i, 4), a));
		json_decref(def);
		*last = db_res_text(r, i, 0);
	}
	return ST_OK;
}

struct del {
	struct agents *m;
	const struct actor *who;
	struct arena *a;
	const char *id;
	json_t *def;
	int64_t version;
};

static enum status delete_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct del *d = vctx;
	struct arena *a = d->a;
	const char *ws = d->who->workspace_id;
	struct vrow row;
	enum status st = vs_load(d->m, c, &agents_vk_agent, ws, d->id, false, a, &row, p);
	if (st != ST_OK)
		return st;
	d->def = row.def;
	d->version = row.version;
	if (d->m->usage) {
		json_t *used = NULL;
		st = d->m->usage(c, ws, d->id, a, &used, p);
		agents_own(a, used);
		if (st != ST_OK)
			return st;
		size_t n = json_array_size(used);
		for (size_t i = 0; i < n; i++) {
			json_t *wf = json_array_get(used, i);
			problem_field(p, arena_printf(a, "workflows[%zu]", i), "%s (%s)", agents_jstr(wf, "name"),
			              agents_jstr(wf, "id"));
		}
		if (n) {
			p->type = "/problems/in-use";
			problem_hint(p, "remove the agent from these workflows first");
			return problem_set(p, ST_CONFLICT, "the agent is used by %zu workflow%s", n, n == 1 ? "" : "s");
		}
	}
	st = db_query(c, a, NULL,
	              "UPDATE agents SET archived_at = ? WHERE workspace_id = ? AND id = ? AND archived_at IS NULL",
	              DB_ARGS(db_int(time_now_ms()), db_text(ws), db_text(d->id)), p);
	return st == ST_OK ? audit(c, d->who, "agent.delete", d->id, d->def, d->version, p) : st;
}

enum status agents_delete(struct agents *m, const struct actor *who, const char *id, struct arena *a, struct problem *p)
{
	struct del d = {.m = m, .who = who, .a = a, .id = id};
	enum status st = db_tx(m->db, delete_tx, &d, p);
	return st;
}

enum status agents_resolve(struct agents *m, const char *ws, const char *id, int64_t version, struct arena *a,
                           json_t **out, struct problem *p)
{
	struct vrow row;
	enum status st = vs_load(m, NULL, &agents_vk_agent, ws, id, true, a, &row, p);
	if (st != ST_OK)
		return st;
	json_t *def = row.def;
	if (version && version != row.version &&
	    (st = vs_load_version(m, NULL, &agents_vk_agent, ws, id, version, a, &def, NULL, p)) != ST_OK)
		return st;
	*out = agent_json(id, version ? version : row.version, def, 0, 0, a);
	return ST_OK;
}
