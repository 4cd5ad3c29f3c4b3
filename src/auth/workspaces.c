/* auth: workspaces, their members and roles, API keys, and reading the
 * audit log. Every query of a workspace's rows binds the workspace id. */
#include "auth_int.h"

#include <sodium.h>

#include <string.h>

static json_t *ws_json(struct db_res *r, int i, const char *role)
{
	return json_pack("{s:s, s:s, s:b, s:s?, s:o, s:o}", "id", db_res_text(r, i, 0), "name", db_res_text(r, i, 1),
	                 "personal", db_res_int(r, i, 2) != 0, "role", role, "created_at",
	                 auth_iso_json(db_res_int(r, i, 3)), "updated_at", auth_iso_json(db_res_int(r, i, 4)));
}

enum status auth_workspaces_list(struct auth *a, const struct actor *c, const char *after, int limit, json_t **items,
                                 const char **last, struct problem *p)
{
	struct arena *ar = c->arena;
	const struct actor *w = c;
	struct db_res *r = NULL;
	enum status st;
	/* An API key sees the one workspace it acts in. */
	if (w->api_key_id)
		st = auth_q(
		    a, DB_READ, ar, &r,
		    "SELECT w.id, w.name, w.personal, w.created_at, w.updated_at, m.role FROM workspaces w JOIN "
		    "workspace_members m ON m.workspace_id = w.id WHERE m.user_id = ? AND w.id = ? AND w.id > ? "
		    "ORDER BY w.id LIMIT ?",
		    DB_ARGS(db_text(w->user_id), db_text(w->workspace_id), db_text(after ? after : ""), db_int(limit)),
		    p);
	else
		st = auth_q(
		    a, DB_READ, ar, &r,
		    "SELECT w.id, w.name, w.personal, w.created_at, w.updated_at, m.role FROM workspaces w JOIN "
		    "workspace_members m ON m.workspace_id = w.id WHERE m.user_id = ? AND w.id > ? ORDER BY w.id "
		    "LIMIT ?",
		    DB_ARGS(db_text(w->user_id), db_text(after ? after : ""), db_int(limit)), p);
	if (st != ST_OK)
		return st;
	*items = json_array();
	*last = NULL;
	for (int i = 0; i < db_res_rows(r); i++) {
		json_array_append_new(*items, ws_json(r, i, db_res_text(r, i, 5)));
		*last = db_res_text(r, i, 0);
	}
	return ST_OK;
}

struct new_ws {
	const char *name, *user_id;
	char id[37];
};

static enum status ws_create_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct new_ws *n = ctx;
	int64_t now = time_now_ms();
	enum status st =
	    db_query(c, p->arena, NULL,
	             "INSERT INTO workspaces (id, name, personal, created_by, created_at, updated_at) "
	             "VALUES (?, ?, 0, ?, ?, ?)",
	             DB_ARGS(db_text(n->id), db_text(n->name), db_text(n->user_id), db_int(now), db_int(now)), p);
	if (st != ST_OK)
		return st;
	return db_query(
	    c, p->arena, NULL,
	    "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES (?, ?, 'owner', ?)",
	    DB_ARGS(db_text(n->id), db_text(n->user_id), db_int(now)), p);
}

enum status auth_workspace_create(struct auth *a, const struct actor *c, const char *name, json_t **out,
                                  struct problem *p)
{
	if (c->api_key_id)
		return problem_set(p, ST_FORBIDDEN, "an API key acts in its own workspace and cannot create one");
	struct new_ws n = {.name = name, .user_id = c->user_id};
	id_new(n.id);
	enum status st = db_tx(a->db, ws_create_tx, &n, p);
	if (st != ST_OK)
		return st;
	auth_forget_member(a, n.id, n.user_id);
	struct actor ac = *c;
	ac.workspace_id = n.id;
	auth_audit(a, &ac, "workspace.created", "workspace", n.id, json_pack("{s:s}", "name", name));
	return auth_workspace_get(a, &ac, n.id, out, p) == ST_OK ? ST_CREATED : p->st;
}

enum status auth_workspace_get(struct auth *a, const struct actor *c, const char *ws, json_t **out, struct problem *p)
{
	struct db_res *r = NULL;
	enum status st = auth_q(a, DB_READ, c->arena, &r,
	                        "SELECT id, name, personal, created_at, updated_at FROM workspaces WHERE id = ?",
	                        DB_ARGS(db_text(ws)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) != 1)
		return problem_set(p, ST_NOT_FOUND, "no such workspace");
	enum role role = ROLE_UNSET;
	auth_member_role(a, ws, c->user_id, &role);
	*out = ws_json(r, 0, role != ROLE_UNSET ? role_name(role) : NULL);
	return ST_OK;
}

enum status auth_workspace_update(struct auth *a, const struct actor *c, const char *ws, json_t *body, json_t **out,
                                  struct problem *p)
{
	const char *name = json_string_value(json_object_get(body, "name"));
	if (name) {
		enum status st =
		    auth_q(a, DB_WRITE, c->arena, NULL, "UPDATE workspaces SET name = ?, updated_at = ? WHERE id = ?",
		           DB_ARGS(db_text(name), db_int(time_now_ms()), db_text(ws)), p);
		if (st != ST_OK)
			return st;
		auth_audit(a, c, "workspace.renamed", "workspace", ws, json_pack("{s:s}", "name", name));
	}
	return auth_workspace_get(a, c, ws, out, p);
}

static enum status ws_delete_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	const char *ws = ctx;
	static const char *const sql[] = {
	    "DELETE FROM api_keys WHERE workspace_id = ?",
	    "DELETE FROM workspace_members WHERE workspace_id = ?",
	    "DELETE FROM workspaces WHERE id = ?",
	};
	for (size_t i = 0; i < ARRAY_LEN(sql); i++) {
		enum status st = db_query(c, p->arena, NULL, sql[i], DB_ARGS(db_text(ws)), p);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

enum status auth_workspace_delete(struct auth *a, const struct actor *c, const char *ws, struct problem *p)
{
	struct db_res *r = NULL;
	enum status st =
	    auth_q(a, DB_READ, c->arena, &r, "SELECT personal FROM workspaces WHERE id = ?", DB_ARGS(db_text(ws)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) != 1)
		return problem_set(p, ST_NOT_FOUND, "no such workspace");
	if (db_res_int(r, 0, 0))
		return problem_set(p, ST_CONFLICT, "a personal workspace cannot be deleted");
	st = db_tx(a->db, ws_delete_tx, (void *) ws, p);
	if (st == ST_CONFLICT) {
		problem_clear(p);
		problem_set(p, ST_CONFLICT, "the workspace still holds objects");
		problem_hint(p, "delete its agents, workflows, models and knowledge bases first");
		return ST_CONFLICT;
	}
	if (st != ST_OK)
		return st;
	auth_forget_workspace(a, ws);
	auth_audit(a, c, "workspace.deleted", "workspace", ws, NULL);
	return ST_NO_CONTENT;
}

/* ---- members ---- */

static json_t *member_json(struct db_res *r, int i)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "user_id", db_res_text(r, i, 0), "email", db_res_text(r, i, 1),
	                 "name", db_res_text(r, i, 2), "role", db_res_text(r, i, 3), "created_at",
	                 auth_iso_json(db_res_int(r, i, 4)));
}

static enum status load_member(struct auth *a, struct arena *ar, const char *ws, const char *user_id, struct db_res **r,
                               struct problem *p)
{
	enum status st = auth_q(a, DB_READ, ar, r,
	                        "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM workspace_members m JOIN "
	                        "users u ON u.id = m.user_id WHERE m.workspace_id = ? AND m.user_id = ?",
	                        DB_ARGS(db_text(ws), db_text(user_id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(*r) != 1)
		return problem_set(p, ST_NOT_FOUND, "no such member in this workspace");
	return ST_OK;
}

enum status auth_members_list(struct auth *a, const struct actor *c, const char *ws, const char *after, int limit,
                              json_t **items, const char **last, struct problem *p)
{
	struct db_res *r = NULL;
	enum status st = auth_q(a, DB_READ, c->arena, &r,
	                        "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM workspace_members m JOIN "
	                        "users u ON u.id = m.user_id WHERE m.workspace_id = ? AND m.user_id > ? ORDER BY "
	                        "m.user_id LIMIT ?",
	                        DB_ARGS(db_text(ws), db_text(after ? after : ""), db_int(limit)), p);
	if (st != ST_OK)
		return st;
	*items = json_array();
	*last = NULL;
	for (int i = 0; i < db_res_rows(r); i++) {
		json_array_append_new(*items, member_json(r, i));
		*last = db_res_text(r, i, 0);
	}
	return ST_OK;
}

/* A role may be granted only up to one's own: more is mass assignment. */
static enum status check_grant(const struct actor *c, const char *role, enum role *out, struct problem *p)
{
	*out = role_parse(role);
	if (*out == ROLE_UNSET) {
		problem_field(p, "role", "must be one of: viewer, editor, admin, owner");
		return problem_set(p, ST_BAD_INPUT, "invalid role");
	}
	if (*out > c->role) {
		problem_field(p, "role", "cannot grant %s: above your own role (%s)", role, role_name(c->role));
		return problem_set(p, ST_BAD_INPUT, "the role is above your own");
	}
	return ST_OK;
}

enum status auth_member_add(struct auth *a, const struct actor *c, const char *ws, const char *email, const char *role,
                            json_t **out, struct problem *p)
{
	struct arena *ar = c->arena;
	enum role r;
	if (c->api_key_id)
		return problem_set(p, ST_FORBIDDEN, "an API key cannot create API keys: sign in as the user");
	if (check_grant(c, role, &r, p) != ST_OK)
		return ST_BAD_INPUT;
	char *em = arena_strdup(ar, email);
	for (char *x = em; *x; x++)
		if (*x >= 'A' && *x <= 'Z')
			*x = (char) (*x - 'A' + 'a');
	struct db_res *res = NULL;
	enum status st = auth_q(a, DB_READ, ar, &res, "SELECT id FROM users WHERE email = ?", DB_ARGS(db_text(em)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(res) != 1)
		return problem_set(p, ST_NOT_FOUND, "no user with this email");
	const char *uid = arena_strdup(ar, db_res_text(res, 0, 0));
	st = auth_q(a, DB_WRITE, ar, NULL,
	            "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
	            DB_ARGS(db_text(ws), db_text(uid), db_text(role_name(r)), db_int(time_now_ms())), p);
	if (st == ST_CONFLICT) {
		problem_clear(p);
		return problem_set(p, ST_CONFLICT, "this user is already a member; change the role with PATCH");
	}
	if (st != ST_OK)
		return st;
	auth_forget_member(a, ws, uid);
	auth_audit(a, c, "member.added", "user", uid, json_pack("{s:s}", "role", role_name(r)));
	if (load_member(a, ar, ws, uid, &res, p) != ST_OK)
		return p->st;
	*out = member_json(res, 0);
	return ST_CREATED;
}

/* A role change or a removal, decided and written in one transaction that
 * first locks the workspace row: concurrent changes to one workspace's
 * members run one after the other, so "the last owner" is judged on the
 * latest state (two owners demoting each other at once cannot leave none). */
struct member_change {
	const struct actor *c;
	const char *ws, *user_id;
	const char *role; /* the new role; NULL: remove */
	bool demote;
};

static enum status member_change_tx(struct db_conn *conn, void *vctx, struct problem *p)
{
	struct member_change *m = vctx;
	struct arena *ar = m->c->arena;
	struct db_res *r = NULL;
	enum status st = db_query(conn, ar, NULL, "UPDATE workspaces SET updated_at = ? WHERE id = ?",
	                          DB_ARGS(db_int(time_now_ms()), db_text(m->ws)), p);
	if (st != ST_OK)
		return st;
	st = db_query(conn, ar, &r,
	              "SELECT m.role, w.personal, w.created_by, (SELECT COUNT(*) FROM workspace_members o WHERE "
	              "o.workspace_id = w.id AND o.role = 'owner') FROM workspaces w JOIN workspace_members m ON "
	              "m.workspace_id = w.id AND m.user_id = ? WHERE w.id = ?",
	              DB_ARGS(db_text(m->user_id), db_text(m->ws)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) != 1)
		return problem_set(p, ST_NOT_FOUND, "no such member in this workspace");
	bool owner = str_eq(db_res_text(r, 0, 0), "owner");
	if (owner && m->c->role < ROLE_OWNER)
		return problem_set(p, ST_FORBIDDEN, "only an owner can change or remove an owner");
	if (m->demote && db_res_int(r, 0, 1) && str_eq(db_res_text(r, 0, 2), m->user_id))
		return problem_set(p, ST_CONFLICT, "the owner of a personal workspace stays its owner");
	if (m->demote && owner && db_res_int(r, 0, 3) <= 1) {
		problem_set(p, ST_CONFLICT, "the last owner of a workspace cannot be removed or demoted");
		problem_hint(p, "make another member an owner first");
		return ST_CONFLICT;
	}
	if (m->role)
		return db_query(conn, ar, NULL,
		                "UPDATE workspace_members SET role = ? WHERE workspace_id = ? AND user_id = ?",
		                DB_ARGS(db_text(m->role), db_text(m->ws), db_text(m->user_id)), p);
	return db_query(conn, ar, NULL, "DELETE FROM workspace_members WHERE workspace_id = ? AND user_id = ?",
	                DB_ARGS(db_text(m->ws), db_text(m->user_id)), p);
}

enum status auth_member_set_role(struct auth *a, const struct actor *c, const char *ws, const char *user_id,
                                 const char *role, json_t **out, struct problem *p)
{
	struct arena *ar = c->arena;
	enum role r;
	if (check_grant(c, role, &r, p) != ST_OK)
		return ST_BAD_INPUT;
	struct member_change m = {
	    .c = c, .ws = ws, .user_id = user_id, .role = role_name(r), .demote = r != ROLE_OWNER};
	enum status st = db_tx(a->db, member_change_tx, &m, p);
	if (st != ST_OK)
		return st;
	auth_forget_member(a, ws, user_id);
	auth_audit(a, c, "member.role_changed", "user", user_id, json_pack("{s:s}", "role", role_name(r)));
	struct db_res *res = NULL;
	if (load_member(a, ar, ws, user_id, &res, p) != ST_OK)
		return p->st;
	*out = member_json(res, 0);
	return ST_OK;
}

enum status auth_member_remove(struct auth *a, const struct actor *c, const char *ws, const char *user_id,
                               struct problem *p)
{
	struct member_change m = {.c = c, .ws = ws, .user_id = user_id, .role = NULL, .demote = true};
	enum status st = db_tx(a->db, member_change_tx, &m, p);
	if (st != ST_OK)
		return st;
	auth_forget_member(a, ws, user_id);
	auth_audit(a, c, "member.removed", "user", user_id, NULL);
	return ST_NO_CONTENT;
}

/* ---- API keys ---- */

static const char *key_cols = "id, name, prefix, role, created_at, last_used_at, expires_at, created_by, last4";

static json_t *key_json(struct db_res *r, int i)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o}", "id", db_res_text(r, i, 0), "name",
	                 db_res_text(r, i, 1), "prefix", db_res_text(r, i, 2), "role", db_res_text(r, i, 3),
	                 "created_at", auth_iso_json(db_res_int(r, i, 4)), "last_used_at",
	                 auth_iso_json(db_res_null(r, i, 5) ? 0 : db_res_int(r, i, 5)), "expires_at",
	                 auth_iso_json(db_res_null(r, i, 6) ? 0 : db_res_int(r, i, 6)), "created_by",
	                 db_res_text(r, i, 7), "last4",
	                 db_res_null(r, i, 8) ? json_null() : json_string(db_res_text(r, i, 8)));
}

enum status auth_key_create(struct auth *a, const struct actor *c, const char *name, const char *role,
                            const char *expires_at, json_t **out, struct problem *p)
{
	struct arena *ar = c->arena;
	const struct actor *w = c;
	enum role r;
	if (check_grant(c, role, &r, p) != ST_OK)
		return ST_BAD_INPUT;
	int64_t exp = 0, now = time_now_ms();
	if (expires_at) {
		if (time_parse_iso8601(expires_at, &exp) < 0 || exp <= now) {
			problem_field(p, "expires_at", "must be a date-time in the future");
			return problem_set(p, ST_BAD_INPUT, "invalid expiry");
		}
	}
	char key[80], hash[65], id[37];
	auth_token_new("trp_", key);
	auth_apikey_hash(key, hash);
	id_new(id);
	char *prefix = arena_strndup(ar, key, 12);
	/* The last 4 to tell keys apart by their end too: 4 of 43 random characters. */
	char *last4 = arena_strndup(ar, key + strlen(key) - 4, 4);
	enum status st = auth_q(
	    a, DB_WRITE, ar, NULL,
	    "INSERT INTO api_keys (id, workspace_id, created_by, name, prefix, key_hash, role, "
	    "created_at, expires_at, last_used_at, revoked_at, last4) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "NULL, NULL, ?)",
	    DB_ARGS(db_text(id), db_text(w->workspace_id), db_text(w->user_id), db_text(name), db_text(prefix),
	            db_text(hash), db_text(role_name(r)), db_int(now), exp ? db_int(exp) : db_null(), db_text(last4)),
	    p);
	if (st != ST_OK) {
		sodium_memzero(key, sizeof(key));
		return st;
	}
	auth_audit(a, c, "api_key.created", "api_key", id,
	           json_pack("{s:s, s:s, s:s}", "name", name, "role", role_name(r), "prefix", prefix));
	*out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:n, s:o, s:s, s:s, s:s}", "id", id, "name", name, "prefix", prefix,
	                 "role", role_name(r), "created_at", auth_iso_json(now), "last_used_at", "expires_at",
	                 auth_iso_json(exp), "created_by", w->user_id, "last4", last4, "key", key);
	sodium_memzero(key, sizeof(key));
	return ST_CREATED;
}

enum status auth_keys_list(struct auth *a, const struct actor *c, const char *after, int limit, json_t **items,
                           const char **last, struct problem *p)
{
	struct arena *ar = c->arena;
	struct db_res *r = NULL;
	char *sql =
	    arena_printf(ar,
	                 "SELECT %s FROM api_keys WHERE workspace_id = ? AND revoked_at IS NULL AND id > ? ORDER "
	                 "BY id LIMIT ?",
	                 key_cols);
	enum status st = auth_q(a, DB_READ, ar, &r, sql,
	                        DB_ARGS(db_text(c->workspace_id), db_text(after ? after : ""), db_int(limit)), p);
	if (st != ST_OK)
		return st;
	*items = json_array();
	*last = NULL;
	for (int i = 0; i < db_res_rows(r); i++) {
		json_array_append_new(*items, key_json(r, i));
		*last = db_res_text(r, i, 0);
	}
	return ST_OK;
}

enum status auth_key_revoke(struct auth *a, const struct actor *c, const char *key_id, struct problem *p)
{
	struct arena *ar = c->arena;
	struct db_res *r = NULL;
	enum status st = auth_q(a, DB_READ, ar, &r,
	                        "SELECT id FROM api_keys WHERE id = ? AND workspace_id = ? AND revoked_at IS NULL",
	                        DB_ARGS(db_text(key_id), db_text(c->workspace_id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) != 1)
		return problem_set(p, ST_NOT_FOUND, "no such API key in this workspace");
	st = auth_q(a, DB_WRITE, ar, NULL, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND workspace_id = ?",
	            DB_ARGS(db_int(time_now_ms()), db_text(key_id), db_text(c->workspace_id)), p);
	if (st != ST_OK)
		return st;
	auth_forget_key(a, key_id);
	auth_audit(a, c, "api_key.revoked", "api_key", key_id, NULL);
	return ST_NO_CONTENT;
}

/* ---- audit log ---- */

enum status auth_audit_list(struct auth *a, const struct actor *c, const struct auth_audit_filter *f, const char *after,
                            int limit, json_t **items, const char **last, struct problem *p)
{
	struct arena *ar = c->arena;
	struct buf sql;
	buf_init(&sql, 0);
	struct db_arg args[8];
	size_t n = 0;
	buf_puts(&sql, "SELECT id, at, workspace_id, actor_user_id, actor_api_key_id, action, target_type, target_id, "
	               "client_ip, request_id, detail FROM audit_events WHERE 1 = 1");
	if (f->workspace_id) {
		buf_puts(&sql, " AND workspace_id = ?");
		args[n++] = db_text(f->workspace_id);
	}
	if (f->action) {
		buf_puts(&sql, " AND action = ?");
		args[n++] = db_text(f->action);
	}
	if (f->actor) {
		buf_puts(&sql, " AND actor_user_id = ?");
		args[n++] = db_text(f->actor);
	}
	if (f->since_ms) {
		buf_puts(&sql, " AND at >= ?");
		args[n++] = db_int(f->since_ms);
	}
	if (f->until_ms) {
		buf_puts(&sql, " AND at < ?");
		args[n++] = db_int(f->until_ms);
	}
	if (after) {
		buf_puts(&sql, " AND id < ?");
		args[n++] = db_text(after);
	}
	buf_puts(&sql, " ORDER BY id DESC LIMIT ?");
	args[n++] = db_int(limit);
	struct db_res *r = NULL;
	char *text = arena_strdup(ar, sql.data);
	buf_free(&sql);
	enum status st = auth_q(a, DB_READ, ar, &r, text, args, n, p);
	if (st != ST_OK)
		return st;
	*items = json_array();
	*last = NULL;
	for (int i = 0; i < db_res_rows(r); i++) {
		const char *d = db_res_text(r, i, 10);
		json_t *detail = d ? json_loads(d, 0, NULL) : NULL;
		json_array_append_new(
		    *items,
		    json_pack("{s:s, s:o, s:s?, s:s?, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:o}", "id",
		              db_res_text(r, i, 0), "at", auth_iso_json(db_res_int(r, i, 1)), "workspace_id",
		              db_res_text(r, i, 2), "actor_user_id", db_res_text(r, i, 3), "actor_api_key_id",
		              db_res_text(r, i, 4), "action", db_res_text(r, i, 5), "target_type", db_res_text(r, i, 6),
		              "target_id", db_res_text(r, i, 7), "client_ip", db_res_text(r, i, 8), "request_id",
		              db_res_text(r, i, 9), "detail", detail ? detail : json_object()));
		*last = db_res_text(r, i, 0);
	}
	return ST_OK;
}
