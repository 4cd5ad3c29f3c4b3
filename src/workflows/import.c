/* crewAI through the module: an import creates the agents and the workflow
 * in one transaction, names mapped to the workspace's tools and models; an
 * export names the workflow's agents, tools and models again and writes
 * the YAML (crewai.c does the documents). */
#include "workflows_int.h"
#include "core/schema.h"
#include "core/template.h"

#include <string.h>

#define META_KEY "crewai_key" /* the YAML key an imported agent came from, kept for the export */

/* {name: id} of every tool the workspace can use: built-ins and custom. */
static enum status tool_names(struct workflows *m, const struct actor *who, struct arena *a, json_t **out,
                              struct problem *p)
{
	const char *after = NULL;
	*out = wf_own(a, json_object());
	for (int pages = 0; pages < 100; pages++) {
		json_t *items = NULL, *t;
		const char *last = NULL;
		size_t i;
		enum status st = tools_list(m->agents, who, NULL, 200, after, a, &items, &last, p);
		if (st != ST_OK)
			return st;
		wf_own(a, items);
		json_array_foreach(items, i, t) if (wf_str(t, "name") && wf_str(t, "id"))
		    json_object_set(*out, wf_str(t, "name"), json_object_get(t, "id"));
		if (!last || json_array_size(items) < 200)
			break;
		after = last;
	}
	return ST_OK;
}

/* The chat model configuration whose model (or name) is llm, or NULL. */
static const char *model_named(struct workflows *m, const char *ws, const char *llm, struct arena *a, struct problem *p)
{
	struct db_res *r;
	if (!llm)
		return NULL;
	/* crewAI writes "provider/model" (openai/gpt-4o) as often as "gpt-4o" */
	const char *slash = strchr(llm, '/');
	if (db_exec1(m->db, DB_READ, a, &r,
	             "SELECT id FROM model_configs WHERE workspace_id = ? AND kind = 'chat' AND (model = ? OR name = ? "
	             "OR model = ?) ORDER BY is_default DESC, name LIMIT 1",
	             DB_ARGS(db_text(ws), db_text(llm), db_text(llm), db_text(slash ? slash + 1 : llm)), p) != ST_OK)
		return NULL;
	return db_res_rows(r) ? db_res_text(r, 0, 0) : NULL;
}

static void warn(json_t *warnings, const char *field, const char *msg)
{
	json_array_append_new(warnings, json_pack("{s:s, s:s}", "field", field, "message", msg));
}

/* tool names -> ids; unknown names are warned about and left out. */
static json_t *map_tools(const json_t *names, const json_t *known, json_t *warnings, const char *field, struct arena *a)
{
	json_t *ids = json_array(), *e;
	size_t i;
	json_array_foreach(names, i, e)
	{
		json_t *id = json_object_get(known, json_string_value(e));
		if (id && !json_array_size(ids))
			json_array_append(ids, id);
		else if (id) {
			bool dup = false;
			size_t j;
			json_t *x;
			json_array_foreach(ids, j, x) dup |= json_equal(x, id);
			if (!dup)
				json_array_append(ids, id);
		} else
			warn(warnings, arena_printf(a, "%s[%zu]", field, i),
			     arena_printf(a,
			                  "no tool named \"%s\" among the built-ins and the workspace's custom tools; "
			                  "left out (create it as a custom tool and add it)",
			                  json_string_value(e)));
	}
	return ids;
}

static const char *const AGENT_KEYS[] = {"name",
                                         "role",
                                         "goal",
                                         "backstory",
                                         "max_iter",
                                         "max_rpm",
                                         "max_execution_time_s",
                                         "max_retry_limit",
                                         "allow_delegation",
                                         "respect_context_window",
                                         "temperature",
                                         "system_prompt_extra",
                                         NULL};

struct imp {
	struct workflows *m;
	const struct actor *who;
	struct arena *a;
	json_t *doc;      /* workflows_crewai_import's answer */
	json_t *tools;    /* {name: id} */
	json_t *agents;   /* in: [{key, body}] prepared outside; out: created */
	json_t *warnings; /* the importer's and the mapping's */
	/* out */
	const char *workflow_id;
	json_t *created; /* [agent + key] */
	json_t *wf_warnings;
};

/* The AgentCreate body of one imported agent. */
static json_t *agent_body(struct imp *im, const json_t *ag, size_t i)
{
	json_t *b = json_object();
	for (const char *const *k = AGENT_KEYS; *k; k++)
		if (json_object_get(ag, *k) && !json_is_null(json_object_get(ag, *k)))
			json_object_set(b, *k, json_object_get(ag, *k));
	const char *key = wf_str(ag, "key");
	if (!json_object_get(b, "name"))
		json_object_set_new(b, "name", json_string(key));
	const char *model = wf_str(ag, "model_id"), *llm = wf_str(ag, "llm");
	if (!model && llm) {
		struct problem q;
		problem_init(&q, im->a);
		model = model_named(im->m, im->who->workspace_id, llm, im->a, &q);
		if (!model)
			warn(im->warnings, arena_printf(im->a, "agents_yaml: %s.llm", key),
			     arena_printf(
			         im->a,
			         "no chat model configuration named \"%s\" in the workspace; the agent uses the "
			         "workspace's default chat model",
			         llm));
	}
	json_object_set_new(b, "model_id", model ? json_string(model) : json_null());
	json_object_set_new(b, "tool_ids",
	                    map_tools(json_object_get(ag, "tool_names"), im->tools, im->warnings,
	                              arena_printf(im->a, "agents[%zu].tools", i), im->a));
	json_object_set_new(b, "metadata", json_pack("{s:s}", META_KEY, key));
	json_object_set_new(b, "change_note", json_string("imported from crewAI YAML"));
	return b;
}

/* The workflow body: keys of agents and tools replaced by ids. */
static json_t *workflow_body(struct imp *im, const json_t *ids)
{
	json_t *w = json_deep_copy(json_object_get(im->doc, "workflow")), *t;
	const char *mk = wf_str(w, "manager_agent_key"), *mllm = wf_str(w, "manager_llm");
	if (mk)
		json_object_set(w, "manager_agent_id", json_object_get(ids, mk));
	if (mllm) {
		struct problem q;
		problem_init(&q, im->a);
		const char *model = model_named(im->m, im->who->workspace_id, mllm, im->a, &q);
		if (model)
			json_object_set_new(w, "manager_model_id", json_string(model));
		else
			warn(im->warnings, "crew_yaml: manager_llm",
			     arena_printf(im->a, "no chat model configuration named \"%s\" in the workspace", mllm));
	}
	json_object_del(w, "manager_agent_key");
	json_object_del(w, "manager_llm");
	size_t i;
	json_array_foreach(json_object_get(w, "tasks"), i, t)
	{
		const char *ak = wf_str(t, "agent_key");
		if (ak)
			json_object_set(t, "agent_id", json_object_get(ids, ak));
		json_object_del(t, "agent_key");
		json_t *names = json_object_get(t, "tool_names");
		if (names)
			json_object_set_new(t, "tool_ids",
			                    map_tools(names, im->tools, im->warnings,
			                              arena_printf(im->a, "tasks[%zu].tools", i), im->a));
		json_object_del(t, "tool_names");
	}
	json_object_set_new(w, "change_note", json_string("imported from crewAI YAML"));
	return w;
}

static enum status import_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct imp *im = vctx;
	struct arena *a = im->a;
	json_t *ids = wf_own(a, json_object()), *known = wf_own(a, json_object()), *ag;
	size_t i;
	im->created = wf_own(a, json_array());
	json_array_foreach(json_object_get(im->doc, "agents"), i, ag)
	{
		json_t *body = wf_own(a, agent_body(im, ag, i)), *out = NULL;
		/* agents_create_tx checks the bounds too; here first, to name the
		 * fields by the agent's YAML key */
		const char *at = arena_printf(a, "agents_yaml: %s", wf_str(ag, "key"));
		if (schema_validate_at(&agents_create_schema, body, at, p) != ST_OK)
			return p->st;
		enum status st = agents_create_tx(im->m->agents, c, im->who, body, a, &out, p);
		if (st != ST_CREATED) {
			/* the agent's fields are named as the YAML names them */
			for (int f = 0; f < p->nfields; f++)
				p->fields[f].field =
				    arena_printf(a, "agents_yaml: %s.%s", wf_str(ag, "key"), p->fields[f].field);
			return st;
		}
		json_object_set_new(out, "key", json_string(wf_str(ag, "key")));
		json_array_append_new(im->created, out);
		json_object_set(ids, wf_str(ag, "key"), json_object_get(out, "id"));
		json_object_set(known, json_string_value(json_object_get(out, "id")), out);
	}
	json_t *body = wf_own(a, workflow_body(im, ids));
	if (schema_validate_at(&workflows_create_schema, body, "workflow", p) != ST_OK)
		return p->st;
	struct wf_write w = {.who = im->who,
	                     .def = wf_own(a, wf_apply(NULL, body)),
	                     .note = wf_str(body, "change_note"),
	                     .action = "workflow.import",
	                     .known = known,
	                     .warnings = im->wf_warnings};
	enum status st = wf_write_tx(im->m, c, &w, a, p);
	im->workflow_id = w.id_out;
	return st;
}

enum status workflows_import(struct workflows *m, const struct actor *who, json_t *in, struct arena *a, json_t **out,
                             struct problem *p)
{
	json_t *doc = NULL;
	enum status st = workflows_crewai_import(in, &doc, p);
	if (st != ST_OK)
		return st;
	wf_own(a, doc);
	const char *model_id = wf_str(in, "model_id");
	if (model_id) {
		struct db_res *r;
		if ((st = db_exec1(m->db, DB_READ, a, &r,
		                   "SELECT id FROM model_configs WHERE workspace_id = ? AND id = ? AND kind = 'chat'",
		                   DB_ARGS(db_text(who->workspace_id), db_text(model_id)), p)) != ST_OK)
			return st;
		if (!db_res_rows(r)) {
			problem_field(p, "model_id", "no chat model configuration with this id in the workspace");
			return problem_set(p, ST_UNPROCESSABLE, "the import names a model the workspace does not have");
		}
	}
	struct imp im = {.m = m, .who = who, .a = a, .doc = doc};
	if ((st = tool_names(m, who, a, &im.tools, p)) != ST_OK)
		return st;
	/* the mapping's warnings are made again by a retried transaction */
	json_t *base = json_object_get(doc, "warnings");
	im.warnings = wf_own(a, json_array());
	im.wf_warnings = wf_own(a, json_array());
	json_array_extend(im.warnings, base);
	if ((st = db_tx(m->db, import_tx, &im, p)) != ST_OK)
		return st;
	json_t *wf = NULL;
	if ((st = workflows_get(m, who, im.workflow_id, a, &wf, p)) != ST_OK)
		return st;
	/* the validator says again what the importer said (an empty
	 * expected_output): once is enough */
	json_t *wv;
	size_t i;
	json_array_foreach(im.wf_warnings, i, wv)
	{
		bool said = false;
		size_t j;
		json_t *e;
		json_array_foreach(base, j, e) said |= str_eq(wf_str(e, "message"), wf_str(wv, "message"));
		if (!said)
			json_array_append(im.warnings, wv);
	}
	*out = wf_own(a, json_pack("{s:O, s:O, s:O}", "workflow", wf, "agents", im.created, "warnings", im.warnings));
	return ST_CREATED;
}

/* ---- export ---- */

static void strip_nulls(json_t *o)
{
	const char *k;
	json_t *v, *tmp;
	json_object_foreach_safe(o, tmp, k, v) if (json_is_null(v)) json_object_del(o, k);
}

/* A key for an agent: its import key when it has one, else its name made
 * an identifier; distinct within the export. */
static const char *agent_key(const json_t *ag, json_t *used, struct arena *a)
{
	const char *k = wf_str(json_object_get(ag, "metadata"), META_KEY);
	char base[65];
	if (!k || !template_name_valid(k) || strchr(k, '-')) {
		const char *name = wf_str(ag, "name");
		size_t n = 0;
		for (const char *s = name ? name : ""; *s && n < 48; s++) {
			char ch = *s;
			if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
				base[n++] = (char) (ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
			else if (n && base[n - 1] != '_')
				base[n++] = '_';
		}
		base[n] = '\0';
		k = n && !(base[0] >= '0' && base[0] <= '9') ? arena_strdup(a, base)
		                                             : arena_printf(a, "agent_%s", base);
	}
	const char *key = k;
	for (int i = 2; json_object_get(used, key); i++)
		key = arena_printf(a, "%s_%d", k, i);
	json_object_set_new(used, key, json_true());
	return key;
}

static const char *model_name(struct workflows *m, const char *ws, const char *id, struct arena *a)
{
	struct db_res *r;
	struct problem q;
	problem_init(&q, a);
	if (!id || db_exec1(m->db, DB_READ, a, &r, "SELECT model FROM model_configs WHERE workspace_id = ? AND id = ?",
	                    DB_ARGS(db_text(ws), db_text(id)), &q) != ST_OK)
		return NULL;
	return db_res_rows(r) ? db_res_text(r, 0, 0) : NULL;
}

static json_t *tool_list_names(struct workflows *m, const char *ws, const json_t *ids, struct arena *a)
{
	json_t *names = json_array(), *e;
	size_t i;
	json_array_foreach(ids, i, e)
	{
		json_t *t = NULL;
		struct problem q;
		problem_init(&q, a);
		if (tools_resolve(m->agents, ws, json_string_value(e), 0, a, &t, &q) == ST_OK && wf_str(t, "name"))
			json_array_append(names, json_object_get(t, "name"));
		json_decref(t);
	}
	return names;
}

struct exp {
	struct workflows *m;
	const char *ws;
	struct arena *a;
	json_t *keys;   /* {agent id: key} */
	json_t *agents; /* the export's agents */
	json_t *used;
};

static enum status export_agent(struct exp *x, const char *id, struct problem *p)
{
	json_t *ag = NULL;
	if (!id || json_object_get(x->keys, id))
		return ST_OK;
	enum status st = agents_resolve(x->m->agents, x->ws, id, 0, x->a, &ag, p);
	if (st != ST_OK)
		return st;
	wf_own(x->a, ag);
	const char *key = agent_key(ag, x->used, x->a);
	json_object_set_new(x->keys, id, json_string(key));
	json_t *e = json_pack("{s:s}", "key", key);
	for (const char *const *k = AGENT_KEYS; *k; k++)
		if (json_object_get(ag, *k) && !json_is_null(json_object_get(ag, *k)))
			json_object_set(e, *k, json_object_get(ag, *k));
	const char *llm = model_name(x->m, x->ws, wf_str(ag, "model_id"), x->a);
	if (llm)
		json_object_set_new(e, "llm", json_string(llm));
	json_object_set_new(e, "tool_names", tool_list_names(x->m, x->ws, json_object_get(ag, "tool_ids"), x->a));
	json_array_append_new(x->agents, e);
	return ST_OK;
}

enum status workflows_export(struct workflows *m, const struct actor *who, const char *id, const char *format,
                             struct arena *a, json_t **out, struct problem *p)
{
	struct wrow row;
	if (format && !str_eq(format, "crewai")) {
		problem_field(p, "query.format", "must be crewai (the only export format)");
		return ST_BAD_INPUT;
	}
	enum status st = wf_load(m, NULL, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK)
		return st;
	struct exp x = {
	    m, who->workspace_id, a, wf_own(a, json_object()), wf_own(a, json_array()), wf_own(a, json_object())};
	json_t *w = wf_own(a, json_deep_copy(row.def)), *t;
	const char *mgr = wf_str(w, "manager_agent_id");
	if ((st = export_agent(&x, mgr, p)) != ST_OK)
		return st;
	if (mgr)
		json_object_set(w, "manager_agent_key", json_object_get(x.keys, mgr));
	const char *mllm = model_name(m, who->workspace_id, wf_str(w, "manager_model_id"), a);
	if (mllm)
		json_object_set_new(w, "manager_llm", json_string(mllm));
	json_object_del(w, "manager_agent_id");
	json_object_del(w, "manager_model_id");
	strip_nulls(w);
	size_t i;
	json_array_foreach(json_object_get(w, "inputs"), i, t) strip_nulls(t);
	json_array_foreach(json_object_get(w, "tasks"), i, t)
	{
		const char *ag = wf_str(t, "agent_id");
		if ((st = export_agent(&x, ag, p)) != ST_OK)
			return st;
		if (ag)
			json_object_set(t, "agent_key", json_object_get(x.keys, ag));
		if (json_is_array(json_object_get(t, "tool_ids")))
			json_object_set_new(t, "tool_names",
			                    tool_list_names(m, who->workspace_id, json_object_get(t, "tool_ids"), a));
		json_object_del(t, "agent_id");
		json_object_del(t, "tool_ids");
		json_object_del(t, "depends_on");
		strip_nulls(t);
		strip_nulls(json_object_get(t, "output"));
	}
	json_t *def = wf_own(a, json_pack("{s:O, s:O}", "workflow", w, "agents", x.agents));
	json_t *yaml = NULL;
	if ((st = workflows_crewai_export(def, &yaml, p)) != ST_OK)
		return st;
	*out = wf_own(a, yaml);
	return ST_OK;
}
