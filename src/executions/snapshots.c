/* snapshots: an execution's snapshot stored once per content, and two
 * bounded in-process caches in front of it (executions_int.h; migration
 * 0011; docs/executions.md "Snapshots").
 *
 * - docs: parsed snapshots by (workspace, id). An id is the SHA-256 of the
 *   workspace id and the content, so an entry is never stale.
 * - plans: what POST /workflows/{id}/execute resolved last for (workspace,
 *   workflow, version asked), with the versions it resolved (the
 *   workflow's, and each agent's and custom tool's current version). A
 *   plan is used only after one read finds the same versions in the
 *   database, so another process's edit (which bumps a version) is seen by
 *   the next execute; a mismatch rebuilds the snapshot through
 *   workflows_snapshot. */
#include "executions_int.h"

#include "../agents/agents.h"
#include "../auth/auth.h"
#include "../core/json_text.h"
#include "../db/db.h"
#include "../workflows/workflows.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define DOCS_MAX  64 /* parsed snapshots kept */
#define PLANS_MAX 32 /* (workspace, workflow, version asked) resolutions kept */
#define DEPS_MAX  32 /* agents and custom tools of a plan; more: never cached */
#define ID_MAX    40 /* bytes of an id with its NUL (UUIDs are 36) */

struct doc {
	char ws[ID_MAX], id[SNAPSHOT_ID_LEN + 1];
	json_t *doc;
	uint64_t used;
};

struct dep {
	char kind; /* 'a' agent, 't' custom tool */
	char id[ID_MAX];
	int64_t version;
};

struct plan {
	char ws[ID_MAX], wf[ID_MAX];
	int64_t asked, wf_version;
	int ndeps;
	struct dep deps[DEPS_MAX];
	char snap_id[SNAPSHOT_ID_LEN + 1];
	char *text; /* the stored content (malloc in plans[], the arena in copies) */
	json_t *doc;
	bool stored; /* this process has committed its row */
	uint64_t used;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct doc docs[DOCS_MAX];
static struct plan plans[PLANS_MAX];
static uint64_t tick;

static bool id_fits(const char *s)
{
	return s && strlen(s) < ID_MAX;
}

/* ---- parsed snapshots by id ---- */

/* A new reference, or NULL. Under mu. */
static json_t *doc_find(const char *ws, const char *id)
{
	for (int i = 0; i < DOCS_MAX; i++)
		if (docs[i].doc && !strcmp(docs[i].id, id) && !strcmp(docs[i].ws, ws)) {
			docs[i].used = ++tick;
			return json_incref(docs[i].doc);
		}
	return NULL;
}

/* Keeps a reference to doc (replacing the least recently used). Under mu. */
static void doc_put(const char *ws, const char *id, json_t *doc)
{
	int victim = 0;
	for (int i = 0; i < DOCS_MAX; i++) {
		if (docs[i].doc && !strcmp(docs[i].id, id) && !strcmp(docs[i].ws, ws))
			return;
		if (!docs[i].doc || docs[i].used < docs[victim].used)
			victim = i;
		if (!docs[i].doc)
			break;
	}
	struct doc *d = &docs[victim];
	json_decref(d->doc);
	snprintf(d->ws, sizeof(d->ws), "%s", ws);
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->doc = json_incref(doc);
	d->used = ++tick;
}

enum status executions_snapshot_get(struct db *db, const char *ws, const char *snapshot_id, json_t **out,
                                    struct problem *p)
{
	struct arena *a = NULL;
	struct db_res *r;
	enum status st = ST_OK;

	*out = NULL;
	if (!id_fits(ws) || !snapshot_id || strlen(snapshot_id) != SNAPSHOT_ID_LEN)
		return problem_set(p, ST_NOT_FOUND, "no such snapshot");
	pthread_mutex_lock(&mu);
	*out = doc_find(ws, snapshot_id);
	pthread_mutex_unlock(&mu);
	if (*out)
		return ST_OK;
	a = arena_new();
	st = db_exec1(db, DB_READ, a, &r, "SELECT content FROM execution_snapshots WHERE workspace_id = ? AND id = ?",
	              DB_ARGS(db_text(ws), db_text(snapshot_id)), p);
	if (st != ST_OK)
		goto out;
	if (db_res_rows(r) == 0) {
		st = problem_set(p, ST_NOT_FOUND, "no such snapshot");
		goto out;
	}
	*out = json_loads(db_res_text(r, 0, 0), 0, NULL);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		st = problem_set(p, ST_INTERNAL, "a stored snapshot does not read");
		goto out;
	}
	pthread_mutex_lock(&mu);
	doc_put(ws, snapshot_id, *out);
	pthread_mutex_unlock(&mu);
out:
	arena_free(&a);
	return st;
}

/* ---- plans ---- */

static void plan_clear(struct plan *pl)
{
	free(pl->text);
	json_decref(pl->doc);
	memset(pl, 0, sizeof(*pl));
}

/* The index of the plan for the key, or -1. Under mu. */
static int plan_index(const char *ws, const char *wf, int64_t asked)
{
	for (int i = 0; i < PLANS_MAX; i++)
		if (plans[i].doc && plans[i].asked == asked && !strcmp(plans[i].wf, wf) && !strcmp(plans[i].ws, ws))
			return i;
	return -1;
}

/* The snapshot's dependencies: each agent and custom tool at its version.
 * false: more than DEPS_MAX, or an id that does not fit (not cached). */
static bool deps_of(const json_t *snap, struct plan *pl)
{
	static const struct {
		const char *key;
		char kind;
	} kinds[] = {{"agents", 'a'}, {"tools", 't'}};
	pl->ndeps = 0;
	for (size_t k = 0; k < 2; k++) {
		const char *id;
		json_t *v;
		json_object_foreach(json_object_get(snap, kinds[k].key), id, v)
		{
			if (kinds[k].kind == 't' && tools_is_builtin(id))
				continue; /* a built-in is the binary's: version 1 forever */
			if (pl->ndeps == DEPS_MAX || !id_fits(id) || !json_is_integer(json_object_get(v, "version")))
				return false;
			struct dep *d = &pl->deps[pl->ndeps++];
			d->kind = kinds[k].kind;
			snprintf(d->id, sizeof(d->id), "%s", id);
			d->version = json_integer_value(json_object_get(v, "version"));
		}
	}
	return true;
}

/* One read: is the workflow still live at the version the plan resolved,
 * and is every agent and custom tool still at the plan's version? */
static enum status plan_valid(struct db *db, const struct plan *pl, bool *ok, struct problem *p)
{
	struct arena *a = arena_new();
	struct db_arg args[3 + DEPS_MAX + 2];
	struct db_res *r;
	struct buf sql;
	size_t n = 0;
	int na = 0, nt = 0;
	enum status st;

	*ok = false;
	buf_init(&sql, 0);
	buf_puts(&sql, "SELECT 'w', id, version, published_version FROM workflows WHERE workspace_id = ? AND id = ? "
	               "AND archived_at IS NULL");
	args[n++] = db_text(pl->ws);
	args[n++] = db_text(pl->wf);
	for (int k = 0; k < 2; k++) {
		char kind = k ? 't' : 'a';
		bool first = true;
		for (int i = 0; i < pl->ndeps; i++) {
			if (pl->deps[i].kind != kind)
				continue;
			if (first) {
				buf_puts(&sql, kind == 'a' ? " UNION ALL SELECT 'a', id, version, 0 FROM agents"
				                           : " UNION ALL SELECT 't', id, version, 0 FROM tools");
				buf_puts(&sql, " WHERE workspace_id = ? AND id IN (?");
				args[n++] = db_text(pl->ws);
			} else {
				buf_puts(&sql, ", ?");
			}
			first = false;
			args[n++] = db_text(pl->deps[i].id);
			kind == 'a' ? na++ : nt++;
		}
		if (!first)
			buf_puts(&sql, ")");
	}
	st = db_exec1(db, DB_READ, a, &r, sql.data, args, n, p);
	if (st != ST_OK || db_res_rows(r) != 1 + na + nt)
		goto out;
	*ok = true;
	for (int i = 0; *ok && i < db_res_rows(r); i++) {
		const char *kind = db_res_text(r, i, 0), *id = db_res_text(r, i, 1);
		int64_t v = db_res_int(r, i, 2);
		if (kind[0] == 'w') {
			int64_t published = db_res_null(r, i, 3) ? 0 : db_res_int(r, i, 3);
			*ok = pl->asked ? true : (published ? published : v) == pl->wf_version;
			continue;
		}
		bool found = false;
		for (int j = 0; !found && j < pl->ndeps; j++)
			found = pl->deps[j].kind == kind[0] && !strcmp(pl->deps[j].id, id) && pl->deps[j].version == v;
		*ok = found;
	}
out:
	buf_free(&sql);
	arena_free(&a);
	return st;
}

/* Copies the plan of the key into *copy (text into a, doc a new
 * reference). false: none. */
static bool plan_get(const char *ws, const char *wf, int64_t asked, struct arena *a, struct plan *copy)
{
	pthread_mutex_lock(&mu);
	int i = plan_index(ws, wf, asked);
	if (i >= 0) {
		*copy = plans[i];
		copy->text = arena_strdup(a, plans[i].text);
		json_incref(copy->doc);
		plans[i].used = ++tick;
	}
	pthread_mutex_unlock(&mu);
	return i >= 0;
}

/* Keeps pl (its text copied, a reference to its doc). */
static void plan_put(const struct plan *pl)
{
	pthread_mutex_lock(&mu);
	int i = plan_index(pl->ws, pl->wf, pl->asked);
	if (i < 0) {
		i = 0;
		for (int j = 0; j < PLANS_MAX; j++) {
			if (!plans[j].doc) {
				i = j;
				break;
			}
			if (plans[j].used < plans[i].used)
				i = j;
		}
	}
	bool stored = plans[i].doc && plans[i].stored && !strcmp(plans[i].snap_id, pl->snap_id);
	plan_clear(&plans[i]);
	plans[i] = *pl;
	plans[i].text = strdup(pl->text);
	plans[i].doc = json_incref(pl->doc);
	plans[i].stored = stored;
	plans[i].used = ++tick;
	if (!plans[i].text)
		plan_clear(&plans[i]);
	pthread_mutex_unlock(&mu);
}

void executions_snapshot_stored(const char *ws, const char *workflow_id, int64_t asked, const char *snapshot_id)
{
	pthread_mutex_lock(&mu);
	int i = plan_index(ws, workflow_id, asked);
	if (i >= 0 && !strcmp(plans[i].snap_id, snapshot_id))
		plans[i].stored = true;
	pthread_mutex_unlock(&mu);
}

static void snapshot_id_of(const char *ws, const char *text, char out[SNAPSHOT_ID_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state s;
	crypto_hash_sha256_init(&s);
	crypto_hash_sha256_update(&s, (const unsigned char *) ws, strlen(ws) + 1); /* with its NUL */
	crypto_hash_sha256_update(&s, (const unsigned char *) text, strlen(text));
	crypto_hash_sha256_final(&s, h);
	sodium_bin2hex(out, SNAPSHOT_ID_LEN + 1, h, sizeof(h));
}

/* Builds the snapshot through the workflows module (the live check first:
 * an archived workflow does not start). */
static enum status rebuild(struct workflows *wf, const struct actor *who, const char *workflow_id, int64_t asked,
                           struct arena *a, struct snapshot_ref *out, struct problem *p)
{
	json_t *live = NULL, *snap = NULL;
	const char *ws = who->workspace_id;
	enum status st = workflows_get(wf, who, workflow_id, a, &live, p);
	if (st != ST_OK)
		return st;
	st = workflows_snapshot(wf, ws, workflow_id, asked, NULL, a, &snap, p);
	if (st == ST_NOT_FOUND && asked) {
		problem_clear(p);
		problem_set(p, ST_UNPROCESSABLE, "the workflow has no version %lld", (long long) asked);
		return problem_field(p, "version", "is not a version of this workflow");
	}
	if (st != ST_OK)
		return st;
	char *s = json_text(snap, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return problem_set(p, ST_INTERNAL, "out of memory");
	out->text = arena_strdup(a, s);
	free(s);
	/* parsed back from the text: the document shared with other threads is nobody else's */
	out->doc = json_loads(out->text, 0, NULL);
	if (!out->doc)
		return problem_set(p, ST_INTERNAL, "out of memory");
	arena_defer(a, (void (*)(void *)) json_decref, out->doc);
	snapshot_id_of(ws, out->text, out->id);
	out->wf_version = json_integer_value(json_object_get(json_object_get(snap, "workflow"), "version"));
	out->stored = false;

	struct plan pl = {.asked = asked, .wf_version = out->wf_version, .text = (char *) out->text, .doc = out->doc};
	if (!id_fits(ws) || !id_fits(workflow_id) || !deps_of(out->doc, &pl))
		return ST_OK;
	snprintf(pl.ws, sizeof(pl.ws), "%s", ws);
	snprintf(pl.wf, sizeof(pl.wf), "%s", workflow_id);
	snprintf(pl.snap_id, sizeof(pl.snap_id), "%s", out->id);
	plan_put(&pl);
	pthread_mutex_lock(&mu);
	doc_put(ws, out->id, out->doc);
	pthread_mutex_unlock(&mu);
	return ST_OK;
}

enum status executions_snapshot_resolve(struct db *db, struct workflows *wf, const struct actor *who,
                                        const char *workflow_id, int64_t asked, struct arena *a,
                                        struct snapshot_ref *out, struct problem *p)
{
	const char *ws = who->workspace_id;
	struct plan pl;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (id_fits(ws) && id_fits(workflow_id) && plan_get(ws, workflow_id, asked, a, &pl)) {
		arena_defer(a, (void (*)(void *)) json_decref, pl.doc);
		enum status st = plan_valid(db, &pl, &ok, p);
		if (st != ST_OK)
			return st;
		if (ok) {
			snprintf(out->id, sizeof(out->id), "%s", pl.snap_id);
			out->text = pl.text;
			out->doc = pl.doc;
			out->wf_version = pl.wf_version;
			out->stored = pl.stored;
			return ST_OK;
		}
	}
	return rebuild(wf, who, workflow_id, asked, a, out, p);
}

enum status executions_snapshot_store_tx(struct db_conn *c, const char *ws, const struct snapshot_ref *s,
                                         struct problem *p)
{
	if (s->stored)
		return ST_OK;
	return db_query(c, NULL, NULL,
	                "INSERT INTO execution_snapshots (id, workspace_id, content, created_at) VALUES (?, ?, ?, ?) "
	                "ON CONFLICT (id) DO NOTHING",
	                DB_ARGS(db_text(s->id), db_text(ws), db_text(s->text), db_int(time_now_ms())), p);
}
