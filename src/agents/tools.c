/* Tools: the built-ins (fixed ids, in the binary) and the workspace's custom
 * HTTP tools (rows, versioned like agents, secret header values sealed). */
#include "agents_int.h"
#include "../core/jsonschema.h"
#include "../core/template.h"
#include "../models/models.h"
#include "../net/net.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

/* ---- built-ins: ids fixed forever (an execution's snapshot names them) ---- */

struct builtin {
	const char *id, *name, *description, *parameters;
};

/* The pure built-ins (calculator, current_datetime, json_query) take their
 * description and parameters from their cores (agents_builtin_find); the
 * two that use the network are described here. */
static const struct builtin BUILTINS[] = {
    {"00000000-0000-7000-8000-000000000001", "calculator", NULL, NULL},
    {"00000000-0000-7000-8000-000000000002", "current_datetime", NULL, NULL},
    {"00000000-0000-7000-8000-000000000003", "json_query", NULL, NULL},
    {"00000000-0000-7000-8000-000000000004", "http_request",
     "Sends one HTTP request to a public http(s) URL and answers status, headers and body (size and time "
     "capped; private and loopback addresses refused).",
     "{\"type\":\"object\",\"properties\":{\"url\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":2000},"
     "\"method\":{\"enum\":[\"GET\",\"POST\",\"PUT\",\"PATCH\",\"DELETE\",\"HEAD\"],\"default\":\"GET\"},"
     "\"headers\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\",\"maxLength\":4000}},"
     "\"body\":{\"type\":\"string\",\"maxLength\":1048576}},\"required\":[\"url\"],"
     "\"additionalProperties\":false}"},
    {"00000000-0000-7000-8000-000000000005", "web_fetch",
     "Fetches a public web page and answers its readable text (headings, paragraphs, link text; no scripts "
     "or styles).",
     "{\"type\":\"object\",\"properties\":{\"url\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":2000}},"
     "\"required\":[\"url\"],\"additionalProperties\":false}"},
};

static const struct builtin *builtin_by_id(const char *id)
{
	for (size_t i = 0; id && i < ARRAY_LEN(BUILTINS); i++)
		if (str_eq(BUILTINS[i].id, id))
			return &BUILTINS[i];
	return NULL;
}

static const struct builtin *builtin_by_name(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_LEN(BUILTINS); i++)
		if (str_eq_nocase(BUILTINS[i].name, name))
			return &BUILTINS[i];
	return NULL;
}

bool tools_is_builtin(const char *id)
{
	return builtin_by_id(id) != NULL;
}

json_t *tools_builtin_json(const char *id)
{
	const struct builtin *b = builtin_by_id(id);
	if (!b)
		return NULL;
	const struct agents_builtin_tool *core = agents_builtin_find(b->name);
	const char *desc = core ? core->description : b->description;
	json_t *params = json_loads(core ? core->parameters : b->parameters, 0, NULL);
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:o, s:i}", "id", b->id, "name", b->name, "description",
	                 desc ? desc : "", "builtin", true, "kind", "builtin", "parameters",
	                 params ? params : json_object(), "version", 1);
}

/* ---- custom tools: checking a definition ---- */

#define TOOL_HEADERS_MAX 32

static bool name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len < 1 || len > 64)
		return false;
	for (const char *c = n; *c; c++)
		if (!isalnum((unsigned char) *c) && *c != '_' && *c != '-')
			return false;
	return true;
}

/* A header a tool may set: net's rule (net_header_allowed), at most 100 bytes. */
bool tools_header_name_ok(const char *n)
{
	return n && strlen(n) <= 100 && net_header_allowed(n);
}

static bool has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

/* Every {slot} of text must be a declared parameter. */
static void check_slots(const char *field, const char *text, json_t *props, struct problem *p)
{
	json_t *slots = template_placeholders(text);
	for (size_t i = 0; i < json_array_size(slots); i++) {
		const char *s = json_string_value(json_array_get(slots, i));
		if (!json_object_get(props, s))
			problem_field(p, field, "the slot {%s} is not a property of parameters", s);
	}
	json_decref(slots);
}

static enum status check_tool(json_t *def, struct problem *p)
{
	const char *name = agents_jstr(def, "name");
	if (!name || !name_ok(name))
		problem_field(p, "name", "must match ^[A-Za-z0-9_-]{1,64}$");
	else if (builtin_by_name(name))
		problem_field(p, "name", "\"%s\" is a built-in tool's name", name);
	const char *url = agents_jstr(def, "url_template");
	if (!url || !(str_startswith(url, "http://") || str_startswith(url, "https://")))
		problem_field(p, "url_template", "must start with http:// or https://");
	else if (has_crlf(url) || strpbrk(url, " \t"))
		problem_field(p, "url_template", "must not contain spaces or line breaks");
	json_t *params = json_object_get(def, "parameters");
	if (!json_is_object(params) || !str_eq(agents_jstr(params, "type"), "object"))
		problem_field(p, "parameters", "must be a JSON Schema of type \"object\"");
	else
		jsonschema_check(params, "parameters", p); /* the supported subset, each error with its path */
	json_t *props = json_object_get(params, "properties");
	check_slots("url_template", url, props, p);
	check_slots("body_template", agents_jstr(def, "body_template"), props, p);
	const char *method = agents_jstr(def, "method");
	if ((str_eq(method, "GET") || str_eq(method, "HEAD")) && agents_jstr(def, "body_template"))
		problem_field(p, "body_template", "a %s request has no body", method);
	json_t *hdrs = json_object_get(def, "headers");
	for (size_t i = 0; i < json_array_size(hdrs); i++) {
		json_t *h = json_array_get(hdrs, i);
		const char *hn = agents_jstr(h, "name");
		char *f = arena_printf(p->arena, "headers[%zu].name", i);
		if (!hn || !tools_header_name_ok(hn))
			problem_field(
			    p, f,
			    "must be a header token (RFC 9110) that the client does not write itself (docs/net.md)");
		for (size_t j = 0; hn && j < i; j++)
			if (str_eq_nocase(hn, agents_jstr(json_array_get(hdrs, j), "name")))
				problem_field(p, f, "repeats headers[%zu]", j);
		const char *hv = agents_jstr(h, "value");
		char *fv = arena_printf(p->arena, "headers[%zu].value", i);
		if (has_crlf(hv))
			problem_field(p, fv, "must not contain CR or LF");
		else if (!json_is_true(json_object_get(h, "secret")))
			check_slots(fv, hv, props, p);
	}
	if (p->nfields)
		return problem_set(p, ST_BAD_INPUT, "the tool has %d invalid field%s", p->nfields,
		                   p->nfields == 1 ? "" : "s");
	return ST_OK;
}

/* ---- secrets: header values marked secret are sealed with the tool id ---- */

static char *last4(const char *v, struct arena *a)
{
	size_t n = strlen(v);
	/* Short values show nothing: four characters of eight would be half. */
	return arena_strdup(a, n < 12 ? "" : v + n - 4);
}

/* The stored secrets {name: value} of a tool (opened into the arena), or an
 * empty object. */
static json_t *open_secrets(struct agents *m, const char *id, const char *sealed, struct arena *a, struct problem *p)
{
	if (!sealed)
		return agents_own(a, json_object());
	char *plain = models_open(m->models, id, sealed, a);
	json_t *s = plain ? json_loads(plain, 0, NULL) : NULL;
	if (plain)
		sodium_memzero(plain, strlen(plain));
	if (!s) {
		log_kv(LOG_ERROR, "a tool's sealed headers do not open", "tool_id", id, NULL);
		problem_set(p, ST_INTERNAL, "the tool's secret headers cannot be decrypted");
		problem_hint(p, "the server secret changed; set the secret header values again");
		return NULL;
	}
	return agents_own(a, s);
}

/* Splits the body's headers into the stored shape (secret values replaced by
 * their last four characters) and the secrets to seal. A secret header given
 * without a value keeps the value stored under its name. */
static enum status split_headers(json_t *def, json_t *old_secrets, struct arena *a, json_t **secrets, struct problem *p)
{
	json_t *hdrs = json_object_get(def, "headers"), *out = json_array();
	*secrets = agents_own(a, json_object());
	for (size_t i = 0; i < json_array_size(hdrs); i++) {
		json_t *h = json_array_get(hdrs, i);
		const char *hn = agents_jstr(h, "name"), *hv = agents_jstr(h, "value");
		if (!json_is_true(json_object_get(h, "secret"))) {
			json_array_append_new(
			    out, json_pack("{s:s?, s:s?, s:b}", "name", hn, "value", hv ? hv : "", "secret", false));
			continue;
		}
		if (!hv)
			hv = agents_jstr(old_secrets, hn ? hn : "");
		if (!hv) {
			problem_field(p, arena_printf(a, "headers[%zu].value", i),
			              "is required: no secret value is stored under this name");
			continue;
		}
		json_object_set_new(*secrets, hn, json_string(hv));
		json_array_append_new(
		    out, json_pack("{s:s, s:b, s:s}", "name", hn, "secret", true, "value_last4", last4(hv, a)));
	}
	json_object_set_new(def, "headers", out);
	if (p->nfields)
		return problem_set(p, ST_BAD_INPUT, "the tool has %d invalid field%s", p->nfields,
		                   p->nfields == 1 ? "" : "s");
	return ST_OK;
}

/* Secret values given in a body are wiped once sealed. */
static void wipe_body_secrets(json_t *body)
{
	json_t *hdrs = json_object_get(body, "headers");
	for (size_t i = 0; i < json_array_size(hdrs); i++) {
		json_t *h = json_array_get(hdrs, i), *v = json_object_get(h, "value");
		if (json_is_true(json_object_get(h, "secret")) && json_is_string(v))
			sodium_memzero((void *) json_string_value(v), json_string_length(v));
	}
}

static const char *const TOOL_KEYS[] = {"name",          "description", "method",    "url_template",       "headers",
                                        "body_template", "parameters",  "timeout_s", "max_response_bytes", NULL};

static json_t *tool_defaults(void)
{
	return json_pack("{s:s, s:s, s:[], s:n, s:{s:s, s:{}}, s:i, s:i}", "description", "", "method", "GET",
	                 "headers", "body_template", "parameters", "type", "object", "properties", "timeout_s", 30,
	                 "max_response_bytes", 1048576);
}

/* base with the body's fields; stored secret headers come back with value
 * absent so that split_headers keeps them. */
static json_t *apply(json_t *base, json_t *body)
{
	json_t *def = json_object(), *dflt = tool_defaults();
	for (const char *const *k = TOOL_KEYS; *k; k++) {
		json_t *v = json_object_get(body, *k);
		if (!v)
			v = json_object_get(base, *k);
		if ((!v || json_is_null(v)) && json_object_get(dflt, *k))
			v = json_object_get(dflt, *k);
		if (v)
			json_object_set_new(def, *k, json_deep_copy(v));
	}
	json_decref(dflt);
	return def;
}

static json_t *tool_json(const char *id, int64_t version, json_t *def, int64_t created, int64_t updated)
{
	json_t *o = json_pack("{s:s, s:b, s:s, s:I}", "id", id, "builtin", false, "kind", "http", "version",
	                      (json_int_t) version);
	json_object_update(o, def);
	if (created) {
		char c[40], u[40];
		time_iso8601(created, c, sizeof(c));
		time_iso8601(updated, u, sizeof(u));
		json_object_set_new(o, "created_at", json_string(c));
		json_object_set_new(o, "updated_at", json_string(u));
	}
	return o;
}

/* The audit entry, on the transaction's connection. */
static enum status audit(struct db_conn *c, const struct actor *who, const char *action, const char *id, json_t *def,
                         int64_t version, struct problem *p)
{
	/* names of headers only: never a value, secret or not */
	json_t *names = json_array(), *hdrs = json_object_get(def, "headers");
	for (size_t i = 0; i < json_array_size(hdrs); i++)
		json_array_append(names, json_object_get(json_array_get(hdrs, i), "name"));
	json_t *d = json_pack("{s:O?, s:I, s:o}", "name", json_object_get(def, "name"), "version", (json_int_t) version,
	                      "header_names", names);
	return auth_audit_tx(c, who, action, "tool", id, d, p);
}

/* ---- writing ---- */

struct write {
	struct agents *m;
	const struct actor *who;
	struct arena *a;
	const char *action;
	const char *id;
	json_t *body;
	json_t *restore; /* a version's definition, and its sealed secrets */
	const char *restore_sealed;
	int64_t base;
	const char *note;
	bool creating;
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
		if ((st = vs_load(w->m, c, &agents_vk_tool, ws, w->id, false, a, &row, p)) != ST_OK)
			return st;
		if (w->base && w->base != row.version)
			return vs_stale(p, &agents_vk_tool, w->base, row.version);
	}
	const char *sealed;
	if (w->restore) {
		w->def = agents_own(a, json_deep_copy(w->restore));
		sealed = w->restore_sealed;
		if ((st = check_tool(w->def, p)) != ST_OK)
			return st;
	} else {
		json_t *old = open_secrets(w->m, w->id, row.sealed, a, p), *secrets;
		if (!old)
			return ST_INTERNAL;
		w->def = agents_own(a, apply(row.def, w->body));
		if ((st = check_tool(w->def, p)) != ST_OK || (st = split_headers(w->def, old, a, &secrets, p)) != ST_OK)
			return st;
		/* unchanged secrets keep their sealed text, so an edit of the
		 * description does not count as a change of the secrets */
		sealed = json_object_size(secrets) == 0 ? NULL
		         : json_equal(secrets, old)     ? row.sealed
		                                        : models_seal(w->m->models, w->id, agents_dump(secrets, a), a);
	}
	int64_t now = time_now_ms();
	const char *text = agents_dump(w->def, a);
	if (w->creating) {
		w->version = 1;
		st = db_query(
		    c, a, NULL,
		    "INSERT INTO tools (id, workspace_id, name, version, definition, headers_sealed, created_at, "
		    "updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
		    DB_ARGS(db_text(w->id), db_text(ws), db_text(agents_jstr(w->def, "name")), db_text(text),
		            db_text(sealed), db_int(now), db_int(now)),
		    p);
	} else {
		json_t *d = json_diff(row.def, w->def);
		w->unchanged = !w->restore && json_diff_empty(d) && str_eq(sealed, row.sealed);
		json_decref(d);
		if (w->unchanged) {
			w->version = row.version;
			return ST_OK;
		}
		w->version = row.version + 1;
		st = db_query(
		    c, a, NULL,
		    "UPDATE tools SET name = ?, version = ?, definition = ?, headers_sealed = ?, updated_at = ? "
		    "WHERE workspace_id = ? AND id = ? AND version = ? AND archived_at IS NULL",
		    DB_ARGS(db_text(agents_jstr(w->def, "name")), db_int(w->version), db_text(text), db_text(sealed),
		            db_int(now), db_text(ws), db_text(w->id), db_int(row.version)),
		    p);
		if (st == ST_OK && db_changes(c) == 0)
			return vs_stale(p, &agents_vk_tool, row.version, row.version + 1);
	}
	if (st == ST_CONFLICT) {
		problem_clear(p);
		problem_field(p, "name", "a tool with this name already exists in the workspace");
		return problem_set(p, ST_CONFLICT, "the name is taken");
	}
	if (st != ST_OK)
		return st;
	st = vs_insert_version(c, &agents_vk_tool, ws, w->id, w->version, w->def, sealed, w->who, w->note, a, p);
	return st == ST_OK ? audit(c, w->who, w->action, w->id, w->def, w->version, p) : st;
}

static enum status run_write(struct agents *m, struct write *w, json_t **out, struct problem *p)
{
	enum status st = db_tx(m->db, write_tx, w, p);
	wipe_body_secrets(w->body);
	if (st != ST_OK)
		return st;
	return tools_get(m, w->who, w->id, w->a, out, p);
}

enum status tools_create(struct agents *m, const struct actor *who, json_t *in, struct arena *a, json_t **out,
                         struct problem *p)
{
	char id[37];
	id_new(id);
	struct write w = {.m = m,
	                  .who = who,
	                  .id = arena_strdup(a, id),
	                  .a = a,
	                  .action = "tool.create",
	                  .body = in,
	                  .note = agents_jstr(in, "change_note"),
	                  .creating = true};
	enum status st = run_write(m, &w, out, p);
	return st == ST_OK ? ST_CREATED : st;
}

enum status tools_update(struct agents *m, const struct actor *who, const char *id, json_t *patch, struct arena *a,
                         json_t **out, struct problem *p)
{
	if (tools_is_builtin(id)) {
		wipe_body_secrets(patch);
		return problem_set(p, ST_FORBIDDEN, "built-in tools cannot be changed");
	}
	json_t *base = json_object_get(patch, "base_version");
	struct write w = {.m = m,
	                  .who = who,
	                  .a = a,
	                  .action = "tool.update",
	                  .id = id,
	                  .body = patch,
	                  .base = json_is_integer(base) ? json_integer_value(base) : 0,
	                  .note = agents_jstr(patch, "change_note")};
	return run_write(m, &w, out, p);
}

enum status tools_restore(struct agents *m, const struct actor *who, const char *id, int64_t n, const char *note,
                          struct arena *a, json_t **out, struct problem *p)
{
	struct vrow row;
	json_t *def;
	const char *sealed;
	enum status st = vs_load(m, NULL, &agents_vk_tool, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK ||
	    (st = vs_load_version(m, NULL, &agents_vk_tool, who->workspace_id, id, n, a, &def, &sealed, p)) != ST_OK)
		return st;
	struct write w = {.m = m,
	                  .who = who,
	                  .id = id,
	                  .a = a,
	                  .action = "tool.restore",
	                  .restore = def,
	                  .restore_sealed = sealed,
	                  .base = row.version,
	                  .note = note};
	return run_write(m, &w, out, p);
}

enum status tools_get(struct agents *m, const struct actor *who, const char *id, struct arena *a, json_t **out,
                      struct problem *p)
{
	if (tools_is_builtin(id)) {
		*out = tools_builtin_json(id);
		return ST_OK;
	}
	struct vrow row;
	enum status st = vs_load(m, NULL, &agents_vk_tool, who->workspace_id, id, false, a, &row, p);
	if (st != ST_OK)
		return st;
	*out = tool_json(row.id, row.version, row.def, row.created_at, row.updated_at);
	return ST_OK;
}

static bool builtin_matches(const struct builtin *b, const char *q)
{
	if (!q || !*q)
		return true;
	size_t n = strlen(q);
	const struct agents_builtin_tool *core = agents_builtin_find(b->name);
	const char *desc = core ? core->description : b->description;
	for (const char *const *t = (const char *const[]){b->name, desc ? desc : "", NULL}; *t; t++)
		for (const char *s = *t; *s; s++)
			if (strncasecmp(s, q, n) == 0)
				return true;
	return false;
}

enum status tools_list(struct agents *m, const struct actor *who, const char *q, int limit, const char *after,
                       struct arena *a, json_t **items, const char **last, struct problem *p)
{
	*items = json_array();
	*last = NULL;
	/* Built-in ids sort before every UUIDv7, so one id order pages both. */
	for (size_t i = 0; i < ARRAY_LEN(BUILTINS) && (int) json_array_size(*items) < limit; i++) {
		if ((after && strcmp(BUILTINS[i].id, after) <= 0) || !builtin_matches(&BUILTINS[i], q))
			continue;
		json_array_append_new(*items, tools_builtin_json(BUILTINS[i].id));
		*last = BUILTINS[i].id;
	}
	int room = limit - (int) json_array_size(*items);
	if (room <= 0)
		return ST_OK;
	struct db_res *r;
	const char *from = *last ? *last : after ? after : "";
	enum status st;
	if (q && *q) {
		const char *like = agents_like(q, a);
		st = db_exec1(
		    m->db, DB_READ, a, &r,
		    "SELECT id, version, definition, created_at, updated_at FROM tools WHERE workspace_id = ? "
		    "AND archived_at IS NULL AND id > ? AND (LOWER(name) LIKE ? ESCAPE '\\' OR "
		    "LOWER(definition) LIKE ? ESCAPE '\\') ORDER BY id LIMIT ?",
		    DB_ARGS(db_text(who->workspace_id), db_text(from), db_text(like), db_text(like), db_int(room)), p);
	} else {
		st =
		    db_exec1(m->db, DB_READ, a, &r,
		             "SELECT id, version, definition, created_at, updated_at FROM tools WHERE workspace_id = ? "
		             "AND archived_at IS NULL AND id > ? ORDER BY id LIMIT ?",
		             DB_ARGS(db_text(who->workspace_id), db_text(from), db_int(room)), p);
	}
	if (st != ST_OK)
		return st;
	for (int i = 0; i < db_res_rows(r); i++) {
		json_t *def = json_loads(db_res_text(r, i, 2), 0, NULL);
		if (!def)
			continue;
		json_array_append_new(*items, tool_json(db_res_text(r, i, 0), db_res_int(r, i, 1), def,
		                                        db_res_int(r, i, 3), db_res_int(r, i, 4)));
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

/* Live agents whose current definition lists the tool, as field errors. */
static enum status agents_using(struct db_conn *c, const char *ws, const char *id, struct arena *a, struct problem *p)
{
	struct db_res *r;
	enum status st = db_query(c, a, &r,
	                          "SELECT id, name, definition FROM agents WHERE workspace_id = ? AND archived_at IS "
	                          "NULL AND definition LIKE ? ORDER BY id",
	                          DB_ARGS(db_text(ws), db_text(arena_printf(a, "%%%s%%", id))), p);
	if (st != ST_OK)
		return st;
	int n = 0;
	for (int i = 0; i < db_res_rows(r); i++) {
		json_t *def = agents_own(a, json_loads(db_res_text(r, i, 2), 0, NULL));
		json_t *ids = json_object_get(def, "tool_ids");
		for (size_t j = 0; j < json_array_size(ids); j++)
			if (str_eq(json_string_value(json_array_get(ids, j)), id)) {
				problem_field(p, arena_printf(a, "agents[%d]", n++), "%s (%s)", db_res_text(r, i, 1),
				              db_res_text(r, i, 0));
				break;
			}
	}
	if (n) {
		p->type = "/problems/in-use";
		problem_hint(p, "remove the tool from these agents first");
		return problem_set(p, ST_CONFLICT, "the tool is used by %d agent%s", n, n == 1 ? "" : "s");
	}
	return ST_OK;
}

static enum status delete_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct del *d = vctx;
	struct arena *a = d->a;
	const char *ws = d->who->workspace_id;
	struct vrow row;
	enum status st = vs_load(d->m, c, &agents_vk_tool, ws, d->id, false, a, &row, p);
	if (st != ST_OK || (st = agents_using(c, ws, d->id, a, p)) != ST_OK)
		return st;
	d->def = row.def;
	d->version = row.version;
	st = db_query(c, a, NULL,
	              "UPDATE tools SET archived_at = ? WHERE workspace_id = ? AND id = ? AND archived_at IS NULL",
	              DB_ARGS(db_int(time_now_ms()), db_text(ws), db_text(d->id)), p);
	return st == ST_OK ? audit(c, d->who, "tool.delete", d->id, d->def, d->version, p) : st;
}

enum status tools_delete(struct agents *m, const struct actor *who, const char *id, struct arena *a, struct problem *p)
{
	if (tools_is_builtin(id))
		return problem_set(p, ST_FORBIDDEN, "built-in tools cannot be deleted");
	struct del d = {.m = m, .who = who, .a = a, .id = id};
	enum status st = db_tx(m->db, delete_tx, &d, p);
	return st;
}

enum status tools_exists(struct agents *m, struct db_conn *c, const char *ws, const char *id, bool *yes,
                         struct problem *p)
{
	(void) m;
	*yes = tools_is_builtin(id);
	if (*yes || !id_valid(id))
		return ST_OK;
	struct arena *a = arena_new();
	struct db_res *r;
	enum status st =
	    db_query(c, a, &r, "SELECT 1 FROM tools WHERE workspace_id = ? AND id = ? AND archived_at IS NULL",
	             DB_ARGS(db_text(ws), db_text(id)), p);
	if (st == ST_OK)
		*yes = db_res_rows(r) > 0;
	arena_free(&a);
	return st;
}

enum status tools_resolve(struct agents *m, const char *ws, const char *id, int64_t version, struct arena *a,
                          json_t **out, struct problem *p)
{
	if (tools_is_builtin(id)) {
		if (version > 1)
			return problem_set(p, ST_NOT_FOUND, "a built-in tool has only version 1");
		*out = tools_builtin_json(id);
		return ST_OK;
	}
	struct vrow row;
	enum status st = vs_load(m, NULL, &agents_vk_tool, ws, id, true, a, &row, p);
	if (st != ST_OK)
		return st;
	json_t *def = row.def;
	if (version && version != row.version &&
	    (st = vs_load_version(m, NULL, &agents_vk_tool, ws, id, version, a, &def, NULL, p)) != ST_OK)
		return st;
	*out = tool_json(id, version ? version : row.version, def, 0, 0);
	return ST_OK;
}

/* ---- rotation of the server secret ---- */

struct rotate {
	struct models *from, *to;
	int count;
	struct arena *a;
};

/* Re-seals one table's sealed column; key_sql selects (id for the aad, the
 * row's key columns, sealed). */
static enum status reseal(struct db_conn *c, struct rotate *r, const char *select, const char *update, bool versions,
                          struct problem *p)
{
	struct db_res *res;
	enum status st = db_query(c, r->a, &res, select, DB_NOARGS, p);
	for (int i = 0; st == ST_OK && i < db_res_rows(res); i++) {
		const char *id = db_res_text(res, i, 0);
		char *plain = models_open(r->from, id, db_res_text(res, i, 2), r->a);
		if (!plain)
			return problem_set(p, ST_CONFLICT,
			                   "a secret header of tool %s does not open with the current secret", id);
		char *sealed = models_seal(r->to, id, plain, r->a);
		sodium_memzero(plain, strlen(plain));
		if (versions)
			st = db_query(c, r->a, NULL, update,
			              DB_ARGS(db_text(sealed), db_text(id), db_int(db_res_int(res, i, 1))), p);
		else
			st = db_query(c, r->a, NULL, update, DB_ARGS(db_text(sealed), db_text(id)), p);
		r->count++;
	}
	return st;
}

static enum status rotate_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct rotate *r = vctx;
	r->count = 0;
	enum status st = reseal(c, r, "SELECT id, 0, headers_sealed FROM tools WHERE headers_sealed IS NOT NULL",
	                        "UPDATE tools SET headers_sealed = ? WHERE id = ?", false, p);
	if (st != ST_OK)
		return st;
	return reseal(c, r,
	              "SELECT tool_id, version, headers_sealed FROM tool_versions WHERE headers_sealed IS NOT NULL",
	              "UPDATE tool_versions SET headers_sealed = ? WHERE tool_id = ? AND version = ?", true, p);
}

enum status agents_rotate_secret(struct db *db, const char *old_secret, const char *new_secret, int *count,
                                 struct problem *p)
{
	struct rotate r = {.a = arena_new()};
	enum status st = models_new(db, old_secret, &r.from, p);
	if (st == ST_OK)
		st = models_new(db, new_secret, &r.to, p);
	if (st == ST_OK)
		st = db_tx(db, rotate_tx, &r, p);
	*count = r.count;
	models_free(&r.from);
	models_free(&r.to);
	arena_free(&r.a);
	return st;
}
