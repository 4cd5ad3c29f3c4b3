/* executions: starting a run of a workflow, and reading runs and their
 * events back (executions.h; docs/executions.md). */
#include "core/json_text.h"
#include "executions_int.h"

#include "../auth/auth.h"
#include "../db/db.h"
#include "../jobs/jobs.h"
#include "../workflows/workflows.h"

#include <pthread.h>
#include <string.h>

static const char *const STATUS_NAMES[] = {"queued", "running", "succeeded", "failed", "cancelled"};

const char *executions_status_name(enum executions_status s)
{
	return (unsigned) s < sizeof(STATUS_NAMES) / sizeof(*STATUS_NAMES) ? STATUS_NAMES[s] : "unknown";
}

int executions_status_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof(STATUS_NAMES) / sizeof(*STATUS_NAMES); i++)
		if (strcmp(name, STATUS_NAMES[i]) == 0)
			return (int) i;
	return -1;
}

static json_t *own(struct arena *a, json_t *j)
{
	if (j)
		arena_defer(a, (void (*)(void *)) json_decref, j);
	return j;
}

static char *dump(const json_t *j, struct arena *a)
{
	char *s = j ? json_text(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
	char *r = arena_strdup(a, s ? s : "{}");
	free(s);
	return r;
}

/* A stored JSON column, or null (a new reference). */
static json_t *column_json(const struct db_res *r, int row, int col)
{
	if (db_res_null(r, row, col))
		return json_null();
	json_t *j = json_loads(db_res_text(r, row, col), JSON_DECODE_ANY, NULL);
	return j ? j : json_null();
}

static json_t *column_time(const struct db_res *r, int row, int col)
{
	if (db_res_null(r, row, col))
		return json_null();
	char s[40];
	time_iso8601(db_res_int(r, row, col), s, sizeof(s));
	return json_string(s);
}

/* ---- starting ---- */

static bool input_type_ok(const char *type, const json_t *v)
{
	if (strcmp(type, "string") == 0)
		return json_is_string(v);
	if (strcmp(type, "number") == 0)
		return json_is_number(v);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(v);
	return true; /* json: any value */
}

/* The inputs with defaults applied (a new object) or NULL with a field
 * error per bad name. */
static json_t *check_inputs(const json_t *declared, const json_t *given, struct problem *p)
{
	json_t *out = json_object(), *d;
	size_t i;
	const char *k;
	json_t *v;
	json_array_foreach(declared, i, d)
	{
		const char *name = json_string_value(json_object_get(d, "name"));
		const char *type = json_string_value(json_object_get(d, "type"));
		if (!name)
			continue;
		json_t *val = json_object_get(given, name), *def = json_object_get(d, "default");
		if (!val && def && !json_is_null(def))
			val = def;
		if (!val) {
			if (json_is_true(json_object_get(d, "required")))
				problem_field(p, arena_printf(p->arena, "inputs.%s", name), "is required");
			continue;
		}
		if (!input_type_ok(type ? type : "json", val))
			problem_field(p, arena_printf(p->arena, "inputs.%s", name), "must be of type %s",
			              type ? type : "json");
		else
			json_object_set(out, name, val);
	}
	json_object_foreach((json_t *) given, k, v)
	{
		bool known = false;
		json_array_foreach(declared, i, d)
		{
			const char *name = json_string_value(json_object_get(d, "name"));
			if (name && strcmp(name, k) == 0)
				known = true;
		}
		if (!known)
			problem_field(p, arena_printf(p->arena, "inputs.%s", k), "is not an input of this workflow");
	}
	if (p->nfields) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* What this engine does not run yet, each refused naming its field. */
static void check_supported(const json_t *def, struct problem *p)
{
	const char *process = json_string_value(json_object_get(def, "process"));
	if (process && strcmp(process, "sequential") != 0)
		problem_field(p, "process", "the %s process is not run yet (sequential only)", process);
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(def, "tasks"), i, t)
	{
		json_t *dep = json_object_get(t, "depends_on");
		if (json_array_size(dep) > 0)
			problem_field(p, arena_printf(p->arena, "tasks[%zu].depends_on", i),
			              "depends_on (the graph process) is not run yet");
		json_t *cond = json_object_get(t, "condition");
		if (cond && !json_is_null(cond))
			problem_field(p, arena_printf(p->arena, "tasks[%zu].condition", i),
			              "conditions are not run yet");
		json_t *g = json_object_get(t, "guardrail");
		if (g && !json_is_null(g))
			problem_field(p, arena_printf(p->arena, "tasks[%zu].guardrail", i),
			              "guardrails are not run yet");
		if (json_is_true(json_object_get(t, "human_review")))
			problem_field(p, arena_printf(p->arena, "tasks[%zu].human_review", i),
			              "human review is not run yet");
	}
}

struct start {
	const struct actor *who;
	const char *workflow_id;
	const char *inputs;
	struct snapshot_ref snap;
	char id[37];
	struct arena *a;
	/* the group commit's */
	struct db *db;
	struct problem *p;
	enum status st;
	bool done;
	struct start *next;
};

static enum status insert_events(struct db_conn *c, const char *ws, const char *id, const struct executions_event *evs,
                                 size_t n, struct arena *a, struct problem *p);

/* The job, the execution (last_seq 1, its job named) and execution.queued
 * at seq 1: three statements, plus the snapshot's row the first time. */
static enum status start_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct start *s = vctx;
	const char *ws = s->who->workspace_id;
	enum status st = executions_snapshot_store_tx(c, ws, &s->snap, p);
	if (st != ST_OK)
		return st;
	json_t *payload = json_pack("{s:s}", "execution_id", s->id);
	struct jobs_enqueue e = {.kind = EXECUTIONS_JOB_KIND, .workspace_id = ws, .payload = payload};
	char job[37];
	st = jobs_enqueue_tx(c, &e, job, p);
	json_decref(payload);
	if (st != ST_OK)
		return st;
	st = db_query(c, s->a, NULL,
	              "INSERT INTO executions (id, workspace_id, workflow_id, workflow_version, snapshot, snapshot_id, "
	              "status, inputs, job_id, last_seq, created_by, created_at) VALUES (?, ?, ?, ?, '', ?, 'queued', "
	              "?, ?, 1, ?, ?)",
	              DB_ARGS(db_text(s->id), db_text(ws), db_text(s->workflow_id), db_int(s->snap.wf_version),
	                      db_text(s->snap.id), db_text(s->inputs), db_text(job), db_text(s->who->user_id),
	                      db_int(time_now_ms())),
	              p);
	if (st != ST_OK)
		return st;
	json_t *data = own(s->a, json_pack("{s:s, s:I}", "workflow_id", s->workflow_id, "workflow_version",
	                                   (json_int_t) s->snap.wf_version));
	struct executions_event ev = {.type = "execution.queued", .data = data, .seq = 1};
	return insert_events(c, ws, s->id, &ev, 1, s->a, p);
}

/* Group commit: the executes that arrive while another's transaction runs
 * are stored together in the next one (one commit, and their rows share the
 * pages a time-ordered id puts them on). A batch that fails is stored again
 * one execute per transaction, so each gets its own answer. The waiting
 * requests' threads are blocked meanwhile, so the one that runs the batch
 * may use their arenas and problems. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct start *head, **tail;
	bool busy;
} group = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static enum status batch_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	enum status st = ST_OK;
	for (struct start *s = ctx; st == ST_OK && s; s = s->next)
		st = start_tx(c, s, p);
	return st;
}

/* group.mu held: unlinks the queued executes of db, in order. */
static struct start *group_take(struct db *db)
{
	struct start *list = NULL, **lt = &list;
	group.tail = &group.head;
	for (struct start *s = group.head, *next; s; s = next) {
		next = s->next;
		s->next = NULL;
		if (s->db == db) {
			*lt = s;
			lt = &s->next;
		} else {
			*group.tail = s;
			group.tail = &s->next;
		}
	}
	*group.tail = NULL;
	return list;
}

static void group_run(struct db *db, struct start *list)
{
	if (list && !list->next) {
		list->st = db_tx(db, start_tx, list, list->p);
		return;
	}
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	enum status st = db_tx(db, batch_tx, list, &p);
	for (struct start *s = list; s; s = s->next)
		s->st = st == ST_OK ? ST_OK : db_tx(db, start_tx, s, s->p);
	arena_free(&a);
}

static enum status start_grouped(struct db *db, struct start *s, struct problem *p)
{
	s->db = db;
	s->p = p;
	s->done = false;
	s->next = NULL;
	pthread_mutex_lock(&group.mu);
	if (!group.tail)
		group.tail = &group.head;
	*group.tail = s;
	group.tail = &s->next;
	while (!s->done) {
		if (group.busy) {
			pthread_cond_wait(&group.cv, &group.mu);
			continue;
		}
		group.busy = true;
		struct start *list = group_take(db);
		pthread_mutex_unlock(&group.mu);
		group_run(db, list);
		pthread_mutex_lock(&group.mu);
		for (struct start *x = list, *next; x; x = next) {
			next = x->next;
			x->next = NULL;
			x->done = true;
		}
		group.busy = false;
		pthread_cond_broadcast(&group.cv);
	}
	pthread_mutex_unlock(&group.mu);
	return s->st;
}

enum status executions_start(struct db *db, struct workflows *wf, const struct actor *who, const char *workflow_id,
                             const json_t *body, struct arena *a, json_t **out, struct problem *p)
{
	*out = NULL;
	json_t *v = json_object_get(body, "version");
	int64_t version = json_is_integer(v) ? json_integer_value(v) : 0;
	struct start s = {.who = who, .workflow_id = workflow_id, .a = a};
	enum status st = executions_snapshot_resolve(db, wf, who, workflow_id, version, a, &s.snap, p);
	if (st != ST_OK)
		return st;
	json_t *def = json_object_get(json_object_get(s.snap.doc, "workflow"), "definition");
	check_supported(def, p);
	if (p->nfields)
		return problem_set(p, ST_UNPROCESSABLE, "the workflow uses what this engine does not run yet");
	json_t *given = json_object_get(body, "inputs");
	json_t *inputs = check_inputs(json_object_get(def, "inputs"), json_is_object(given) ? given : NULL, p);
	if (!inputs)
		return problem_set(p, ST_UNPROCESSABLE, "the inputs do not match the workflow's declared inputs");
	own(a, inputs);
	s.inputs = dump(inputs, a);
	id_new(s.id);
	if ((st = start_grouped(db, &s, p)) != ST_OK)
		return st;
	if (!s.snap.stored)
		executions_snapshot_stored(who->workspace_id, workflow_id, version, s.snap.id);
	*out = own(a, json_pack("{s:s, s:s}", "id", s.id, "status", "queued"));
	return ST_OK;
}

/* ---- events ---- */

enum status executions_event_tx(struct db_conn *c, const char *ws, const char *id, const char *type,
                                const char *task_key, int attempt, const json_t *data, int64_t *seq_out,
                                struct problem *p)
{
	struct executions_event ev = {.type = type, .task_key = task_key, .attempt = attempt, .data = data};
	enum status st = executions_events_tx(c, ws, id, &ev, 1, p);
	if (st == ST_OK && seq_out)
		*seq_out = ev.seq;
	return st;
}

#define EVENT_COLS 8

/* One multi-row INSERT of evs[0, n), n <= EXECUTIONS_EVENTS_CHUNK, seqs set. */
static enum status insert_events(struct db_conn *c, const char *ws, const char *id, const struct executions_event *evs,
                                 size_t n, struct arena *a, struct problem *p)
{
	struct db_arg args[EXECUTIONS_EVENTS_CHUNK * EVENT_COLS];
	struct buf sql;
	int64_t now = time_now_ms();
	enum status st;

	buf_init(&sql, 0);
	buf_puts(&sql, "INSERT INTO execution_events (execution_id, seq, workspace_id, type, at, task_key, attempt, "
	               "data) VALUES ");
	for (size_t i = 0; i < n; i++) {
		const struct executions_event *e = &evs[i];
		struct db_arg *r = &args[i * EVENT_COLS];
		buf_puts(&sql, i ? ", (?, ?, ?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?, ?, ?)");
		r[0] = db_text(id);
		r[1] = db_int(e->seq);
		r[2] = db_text(ws);
		r[3] = db_text(e->type);
		r[4] = db_int(now);
		r[5] = e->task_key ? db_text(e->task_key) : db_null();
		r[6] = e->attempt > 0 ? db_int(e->attempt) : db_null();
		r[7] = db_text(dump(e->data, a));
		executions_journal_add(id, e->seq, e->type, now, e->task_key, e->attempt, r[7].v.s);
	}
	st = db_query(c, a, NULL, sql.data, args, n * EVENT_COLS, p);
	buf_free(&sql);
	return st;
}

enum status executions_events_tx(struct db_conn *c, const char *ws, const char *id, struct executions_event *evs,
                                 size_t n, struct problem *p)
{
	return executions_events_fenced_tx(c, ws, id, NULL, evs, n, p);
}

enum status executions_events_fenced_tx(struct db_conn *c, const char *ws, const char *id,
                                        const struct executions_fence *f, struct executions_event *evs, size_t n,
                                        struct problem *p)
{
	struct arena *a;
	struct db_res *r;
	enum status st;

	if (n == 0)
		return ST_OK;
	a = arena_new();
	/* one statement: the bump locks the row and RETURNING reads the last seq it took */
	const char *sql =
	    f ? arena_printf(a,
	                     "UPDATE executions SET last_seq = last_seq + ? WHERE workspace_id = ? AND id = ? AND %s "
	                     "RETURNING last_seq",
	                     jobs_fence_sql(c))
	      : "UPDATE executions SET last_seq = last_seq + ? WHERE workspace_id = ? AND id = ? RETURNING last_seq";
	struct db_arg args[] = {db_int((int64_t) n), db_text(ws), db_text(id), f ? db_text(f->job_id) : db_null(),
	                        db_int(f ? f->epoch : 0)};
	st = db_query(c, a, &r, sql, args, f ? 5 : 3, p);
	if (st != ST_OK)
		goto out;
	if (db_res_rows(r) != 1) {
		st = problem_set(p, ST_NOT_FOUND, "no such execution");
		goto out;
	}
	int64_t first = db_res_int(r, 0, 0) - (int64_t) n + 1;
	for (size_t i = 0; i < n; i++)
		evs[i].seq = first + (int64_t) i;
	for (size_t i = 0; st == ST_OK && i < n; i += EXECUTIONS_EVENTS_CHUNK)
		st = insert_events(c, ws, id, evs + i,
		                   n - i < EXECUTIONS_EVENTS_CHUNK ? n - i : EXECUTIONS_EVENTS_CHUNK, a, p);
out:
	arena_free(&a);
	return st;
}

/* The events of an execution known to be in ws, seq > after_seq. */
static enum status events_page(struct db *db, const char *ws, const char *id, int64_t after_seq, int limit,
                               struct arena *a, json_t **items, int64_t *last_seq, struct problem *p)
{
	struct db_res *r;
	enum status st =
	    db_exec1(db, DB_READ, a, &r,
	             "SELECT seq, type, at, task_key, attempt, data FROM execution_events WHERE workspace_id = ? AND "
	             "execution_id = ? AND seq > ? ORDER BY seq LIMIT ?",
	             DB_ARGS(db_text(ws), db_text(id), db_int(after_seq), db_int(limit)), p);
	if (st != ST_OK)
		return st;
	json_t *list = own(a, json_array());
	for (int i = 0; i < db_res_rows(r); i++) {
		json_t *e = json_pack("{s:I, s:s, s:o, s:o}", "seq", (json_int_t) db_res_int(r, i, 0), "type",
		                      db_res_text(r, i, 1), "at", column_time(r, i, 2), "data", column_json(r, i, 5));
		if (!db_res_null(r, i, 3))
			json_object_set_new(e, "task_key", json_string(db_res_text(r, i, 3)));
		if (!db_res_null(r, i, 4))
			json_object_set_new(e, "attempt", json_integer(db_res_int(r, i, 4)));
		json_array_append_new(list, e);
		*last_seq = db_res_int(r, i, 0);
	}
	*items = list;
	return ST_OK;
}

enum status executions_events(struct db *db, const struct actor *who, const char *id, int64_t after_seq, int limit,
                              struct arena *a, json_t **items, int64_t *last_seq, struct problem *p)
{
	*items = NULL;
	*last_seq = 0;
	struct db_res *r;
	enum status st = db_exec1(db, DB_READ, a, &r, "SELECT 1 FROM executions WHERE workspace_id = ? AND id = ?",
	                          DB_ARGS(db_text(who->workspace_id), db_text(id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no execution with this id in this workspace");
	return events_page(db, who->workspace_id, id, after_seq, limit, a, items, last_seq, p);
}

/* ---- streams ---- */

bool executions_event_final(const char *type)
{
	return type && (strcmp(type, "execution.succeeded") == 0 || strcmp(type, "execution.failed") == 0 ||
	                strcmp(type, "execution.cancelled") == 0);
}

enum status executions_stream_open(struct db *db, const struct actor *who, const char *id, int *status,
                                   int64_t *last_seq, struct problem *p)
{
	struct arena *a = arena_new();
	struct db_res *r;
	enum status st =
	    db_exec1(db, DB_READ, a, &r, "SELECT status, last_seq FROM executions WHERE workspace_id = ? AND id = ?",
	             DB_ARGS(db_text(who->workspace_id), db_text(id)), p);
	if (st == ST_OK && db_res_rows(r) == 0)
		st = problem_set(p, ST_NOT_FOUND, "no execution with this id in this workspace");
	if (st == ST_OK) {
		*status = executions_status_parse(db_res_text(r, 0, 0));
		*last_seq = db_res_int(r, 0, 1);
	}
	arena_free(&a);
	return st;
}

enum status executions_stream_read(struct db *db, const char *ws, const char *id, int64_t after_seq, int limit,
                                   struct arena *a, json_t **items, int64_t *last_seq, struct problem *p)
{
	*items = NULL;
	*last_seq = after_seq;
	return events_page(db, ws, id, after_seq, limit, a, items, last_seq, p);
}

/* ---- reading ---- */

static json_t *summary(const struct db_res *r, int i)
{
	/* columns: id, workflow_id, workflow_version, status, error, created_at, started_at, ended_at */
	return json_pack("{s:s, s:s, s:I, s:s, s:o, s:o, s:o, s:o}", "id", db_res_text(r, i, 0), "workflow_id",
	                 db_res_text(r, i, 1), "workflow_version", (json_int_t) db_res_int(r, i, 2), "status",
	                 db_res_text(r, i, 3), "error", column_json(r, i, 4), "created_at", column_time(r, i, 5),
	                 "started_at", column_time(r, i, 6), "ended_at", column_time(r, i, 7));
}

#define SUMMARY_COLUMNS "id, workflow_id, workflow_version, status, error, created_at, started_at, ended_at"

/* The LIKE pattern of tag as a JSON string token ("news" with its quotes):
 * every definition that carries the tag contains it; has_tag confirms. */
static char *tag_pattern(const char *tag, struct arena *a)
{
	json_t *j = json_string(tag);
	char *tok = j ? json_text(j, JSON_ENCODE_ANY) : NULL;
	struct buf b;
	char *out;

	json_decref(j);
	buf_init(&b, 0);
	buf_puts(&b, "%");
	for (const char *c = tok ? tok : ""; *c; c++) {
		if (*c == '%' || *c == '_' || *c == '\\')
			buf_puts(&b, "\\");
		buf_append(&b, c, 1);
	}
	buf_puts(&b, "%");
	out = arena_strdup(a, b.data);
	buf_free(&b);
	free(tok);
	return out;
}

static bool has_tag(const json_t *def, const char *tag)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(def, "tags"), i, e) if (str_eq(json_string_value(e), tag)) return true;
	return false;
}

/* The ids of the workspace's workflows (archived ones too) whose current
 * definition carries tag. Reads the workflows table: the tag lives in the
 * definition's JSON, which has no portable index on SQLite and PostgreSQL. */
static enum status tagged_workflows(struct db *db, const char *ws, const char *tag, struct arena *a, const char ***ids,
                                    int *n, struct problem *p)
{
	struct db_res *r;
	enum status st = db_exec1(db, DB_READ, a, &r,
	                          "SELECT id, definition FROM workflows WHERE workspace_id = ? AND definition LIKE ? "
	                          "ESCAPE '\\' ORDER BY id",
	                          DB_ARGS(db_text(ws), db_text(tag_pattern(tag, a))), p);
	if (st != ST_OK)
		return st;
	*n = 0;
	*ids = arena_zalloc(a, sizeof(**ids) * (size_t) (db_res_rows(r) + 1));
	for (int i = 0; i < db_res_rows(r); i++) {
		json_t *def = json_loads(db_res_text(r, i, 1), 0, NULL);
		if (has_tag(def, tag))
			(*ids)[(*n)++] = db_res_text(r, i, 0);
		json_decref(def);
	}
	if (*n > EXECUTIONS_TAG_MAX_WORKFLOWS) {
		problem_field(p, "query.tag", "is carried by %d workflows, more than %d: filter by workflow_id", *n,
		              EXECUTIONS_TAG_MAX_WORKFLOWS);
		return problem_set(p, ST_UNPROCESSABLE, "the tag names too many workflows");
	}
	return ST_OK;
}

/* A page's key, "created_at:id" (the last item's creation in ms, and its
 * id): the next page holds the executions that sort after it, newest
 * first (an earlier created_at, or the same and a smaller id). Executions
 * created while a client pages sort before its first page, so paging
 * neither skips nor repeats one. */
static bool after_key_parse(const char *key, struct arena *a, int64_t *at, const char **id)
{
	const char *colon = strchr(key, ':');
	if (!colon || str_to_i64(arena_strndup(a, key, (size_t) (colon - key)), 0, INT64_MAX, at) < 0 ||
	    !id_valid(colon + 1))
		return false;
	*id = colon + 1;
	return true;
}

enum status executions_list(struct db *db, const struct actor *who, const struct executions_filter *f, int limit,
                            const char *after, struct arena *a, json_t **items, const char **last, struct problem *p)
{
	*items = NULL;
	*last = NULL;
	struct db_res *r;
	int64_t after_at = INT64_MAX;
	const char *after_id = "";
	if (after && !after_key_parse(after, a, &after_at, &after_id)) {
		problem_field(p, "query.cursor", "is not a cursor of this list");
		return problem_set(p, ST_BAD_INPUT, "invalid cursor");
	}
	const char *status = f->status >= 0 ? executions_status_name((enum executions_status) f->status) : "";
	const char **tagged = NULL;
	int ntagged = 0;
	enum status st;
	if (f->tag && (st = tagged_workflows(db, who->workspace_id, f->tag, a, &tagged, &ntagged, p)) != ST_OK)
		return st;
	if (f->tag && ntagged == 0) {
		*items = own(a, json_array());
		return ST_OK;
	}
	const struct db_arg fixed[] = {db_text(who->workspace_id),
	                               db_int(after_at),
	                               db_int(after_at),
	                               db_text(after_id),
	                               db_text(f->workflow_id ? f->workflow_id : ""),
	                               db_text(f->workflow_id ? f->workflow_id : ""),
	                               db_text(status),
	                               db_text(status),
	                               db_int(f->since_ms),
	                               db_int(f->until_ms > 0 ? f->until_ms : INT64_MAX)};
	size_t nfixed = ARRAY_LEN(fixed), nargs = nfixed + (size_t) ntagged + 1;
	struct db_arg *args = arena_zalloc(a, nargs * sizeof(*args));
	struct buf sql;
	memcpy(args, fixed, sizeof(fixed));
	buf_init(&sql, 0);
	buf_puts(&sql, "SELECT " SUMMARY_COLUMNS " FROM executions WHERE workspace_id = ? AND (created_at < ? OR "
	               "(created_at = ? AND id < ?)) AND (? = '' OR "
	               "workflow_id = ?) AND (? = '' OR status = ?) AND created_at >= ? AND created_at < ?");
	if (ntagged) {
		buf_puts(&sql, " AND workflow_id IN (");
		for (int i = 0; i < ntagged; i++) {
			buf_puts(&sql, i ? ", ?" : "?");
			args[nfixed + (size_t) i] = db_text(tagged[i]);
		}
		buf_puts(&sql, ")");
	}
	buf_puts(&sql, " ORDER BY created_at DESC, id DESC LIMIT ?");
	args[nargs - 1] = db_int(limit);
	st = db_exec1(db, DB_READ, a, &r, sql.data, args, nargs, p);
	buf_free(&sql);
	if (st != ST_OK)
		return st;
	json_t *list = own(a, json_array());
	for (int i = 0; i < db_res_rows(r); i++) {
		json_array_append_new(list, summary(r, i));
		*last = arena_printf(a, "%lld:%s", (long long) db_res_int(r, i, 5), db_res_text(r, i, 0));
	}
	*items = list;
	return ST_OK;
}

static json_t *empty_usage(void)
{
	return json_pack("{s:i, s:i, s:i, s:n, s:n, s:{}, s:{}, s:{}}", "prompt_tokens", 0, "completion_tokens", 0,
	                 "cached_tokens", 0, "cost", "currency", "by_agent", "by_model", "by_task");
}

/* The tasks of the snapshot, each with its latest attempt (r: the
 * attempts, by task and attempt). */
static json_t *tasks_view(const json_t *snap, const struct db_res *r)
{
	json_t *tasks = json_array(), *t;
	json_t *agents = json_object_get(snap, "agents");
	json_t *def = json_object_get(json_object_get(snap, "workflow"), "definition");
	size_t i;
	json_array_foreach(json_object_get(def, "tasks"), i, t)
	{
		const char *key = json_string_value(json_object_get(t, "key"));
		const char *agent_id = json_string_value(json_object_get(t, "agent_id"));
		json_t *ag = agent_id ? json_object_get(agents, agent_id) : NULL;
		json_t *agent = ag ? json_pack("{s:s, s:O, s:O}", "id", agent_id, "name", json_object_get(ag, "name"),
		                               "version", json_object_get(ag, "version"))
		                   : json_null();
		json_t *o = json_pack("{s:s, s:o, s:s, s:n, s:i, s:n, s:n, s:n}", "key", key ? key : "", "agent", agent,
		                      "status", "pending", "output", "attempts", 0, "started_at", "ended_at", "usage");
		for (int row = 0; key && row < db_res_rows(r); row++) {
			if (strcmp(db_res_text(r, row, 0), key) != 0)
				continue;
			/* rows come by attempt: the last one wins */
			json_object_set_new(o, "attempts", json_integer(db_res_int(r, row, 1)));
			json_object_set_new(o, "status", json_string(db_res_text(r, row, 2)));
			json_object_set_new(o, "output", column_json(r, row, 3));
			json_object_set_new(o, "usage", column_json(r, row, 4));
			json_object_set_new(o, "started_at", column_time(r, row, 5));
			json_object_set_new(o, "ended_at", column_time(r, row, 6));
		}
		json_array_append_new(tasks, o);
	}
	return tasks;
}

/* o.artifacts: [{name, size, url}] by name. */
static enum status artifacts_view(struct db *db, const char *ws, const char *id, struct arena *a, json_t *o,
                                  struct problem *p)
{
	struct db_res *r;
	enum status st =
	    db_exec1(db, DB_READ, a, &r,
	             "SELECT name, size FROM execution_artifacts WHERE workspace_id = ? AND execution_id = ? "
	             "ORDER BY name",
	             DB_ARGS(db_text(ws), db_text(id)), p);
	if (st != ST_OK)
		return st;
	json_t *list = json_array();
	for (int i = 0; i < db_res_rows(r); i++)
		json_array_append_new(list, json_pack("{s:s, s:I, s:s+++}", "name", db_res_text(r, i, 0), "size",
		                                      (json_int_t) db_res_int(r, i, 1), "url", "/api/v1/executions/",
		                                      id, "/artifacts/", db_res_text(r, i, 0)));
	json_object_set_new(o, "artifacts", list);
	return ST_OK;
}

/* An execution's snapshot: r's column col is the inline one (before 0011),
 * col + 1 the shared one's id. *snap belongs to a; shared: read only. */
static enum status run_snapshot(struct db *db, const struct db_res *r, const char *ws, int col, struct arena *a,
                                json_t **snap, struct problem *p)
{
	if (db_res_null(r, 0, col + 1)) {
		*snap = own(a, column_json(r, 0, col));
		return ST_OK;
	}
	enum status st = executions_snapshot_get(db, ws, db_res_text(r, 0, col + 1), snap, p);
	if (st == ST_NOT_FOUND)
		return problem_set(p, ST_INTERNAL, "an execution's snapshot is missing");
	own(a, *snap);
	return st;
}

enum status executions_get(struct db *db, const struct actor *who, const char *id, struct arena *a, json_t **out,
                           struct problem *p)
{
	*out = NULL;
	struct db_res *r, *tr;
	enum status st =
	    db_exec1(db, DB_READ, a, &r,
	             "SELECT " SUMMARY_COLUMNS ", inputs, output, usage, snapshot, snapshot_id FROM executions WHERE "
	             "workspace_id = ? AND id = ?",
	             DB_ARGS(db_text(who->workspace_id), db_text(id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no execution with this id in this workspace");
	st =
	    db_exec1(db, DB_READ, a, &tr,
	             "SELECT task_key, attempt, status, output, usage, started_at, ended_at FROM execution_tasks WHERE "
	             "workspace_id = ? AND execution_id = ? ORDER BY task_key, attempt",
	             DB_ARGS(db_text(who->workspace_id), db_text(id)), p);
	if (st != ST_OK)
		return st;
	json_t *snap = NULL;
	if ((st = run_snapshot(db, r, who->workspace_id, 11, a, &snap, p)) != ST_OK)
		return st;
	json_t *o = own(a, summary(r, 0)), *usage = column_json(r, 0, 10);
	json_object_set_new(o, "inputs", column_json(r, 0, 8));
	json_object_set_new(o, "output", column_json(r, 0, 9));
	json_object_set_new(o, "usage", json_is_object(usage) ? usage : empty_usage());
	if (!json_is_object(usage))
		json_decref(usage);
	json_object_set_new(o, "tasks", tasks_view(snap, tr));
	if ((st = artifacts_view(db, who->workspace_id, id, a, o, p)) != ST_OK)
		return st;
	*out = o;
	return ST_OK;
}

enum status executions_artifact_get(struct db *db, const struct actor *who, const char *id, const char *name,
                                    struct arena *a, const char **content, size_t *len, struct problem *p)
{
	struct db_res *r;
	*content = NULL;
	*len = 0;
	enum status st =
	    db_exec1(db, DB_READ, a, &r,
	             "SELECT content FROM execution_artifacts WHERE workspace_id = ? AND execution_id = ? AND "
	             "name = ?",
	             DB_ARGS(db_text(who->workspace_id), db_text(id), db_text(name)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "this execution has no artifact with this name");
	*content = db_res_blob(r, 0, 0, len);
	return ST_OK;
}

/* ---- the worker's side ---- */

enum status executions_load_run(struct db *db, const char *id, struct arena *a, struct executions_run *out,
                                struct problem *p)
{
	struct db_res *r, *tr;
	memset(out, 0, sizeof(*out));
	enum status st = db_exec1(db, DB_READ, a, &r,
	                          "SELECT workspace_id, status, snapshot, snapshot_id, inputs, models, "
	                          "cancel_requested_at, started_at FROM executions WHERE id = ?",
	                          DB_ARGS(db_text(id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no execution with this id");
	int s = executions_status_parse(db_res_text(r, 0, 1));
	out->workspace_id = db_res_text(r, 0, 0);
	out->status = s < 0 ? EXEC_FAILED : (enum executions_status) s;
	out->snapshot_id = db_res_null(r, 0, 3) ? NULL : db_res_text(r, 0, 3);
	if ((st = run_snapshot(db, r, out->workspace_id, 2, a, &out->snapshot, p)) != ST_OK)
		return st;
	out->inputs = own(a, column_json(r, 0, 4));
	out->models = db_res_null(r, 0, 5) ? NULL : own(a, column_json(r, 0, 5));
	out->cancel_requested = !db_res_null(r, 0, 6);
	out->tasks = own(a, json_array());
	/* attempts are written only after started_at is set (executions_begin_tx, same transaction as
	 * the first attempt's or earlier): a first start has none to read */
	if (db_res_null(r, 0, 7))
		goto check;
	st = db_exec1(db, DB_READ, a, &tr,
	              "SELECT task_key, attempt, status, output, agent_id, usage FROM execution_tasks WHERE "
	              "workspace_id = ? AND execution_id = ? ORDER BY task_key, attempt",
	              DB_ARGS(db_text(out->workspace_id), db_text(id)), p);
	if (st != ST_OK)
		return st;
	for (int i = 0; i < db_res_rows(tr); i++) {
		const char *status = db_res_text(tr, i, 2);
		out->interrupted = out->interrupted || str_eq(status, "running");
		json_array_append_new(out->tasks,
		                      json_pack("{s:s, s:I, s:s, s:o, s:s?, s:o}", "task_key", db_res_text(tr, i, 0),
		                                "attempt", (json_int_t) db_res_int(tr, i, 1), "status", status,
		                                "output", column_json(tr, i, 3), "agent_id", db_res_text(tr, i, 4),
		                                "usage", column_json(tr, i, 5)));
	}
check:
	if (!json_is_object(out->snapshot) || !json_is_object(out->inputs))
		return problem_set(p, ST_INTERNAL, "the execution's stored snapshot or inputs do not read");
	return ST_OK;
}

enum status executions_begin_tx(struct db_conn *c, const char *ws, const char *id, const json_t *models,
                                int job_attempt, bool interrupted, const struct executions_fence *f,
                                struct executions_event *evs, size_t n, int64_t *seq_out, struct problem *p)
{
	struct arena *a = arena_new();
	struct db_res *r = NULL;
	int64_t now = time_now_ms();
	/* the seqs of execution.started and of the events after it taken by the same statement */
	const char *sql =
	    arena_printf(a,
	                 "UPDATE executions SET status = 'running', started_at = COALESCE(started_at, ?), "
	                 "models = ?, last_seq = last_seq + ? WHERE workspace_id = ? AND id = ? AND status "
	                 "IN ('queued', 'running')%s%s RETURNING last_seq",
	                 f ? " AND " : "", f ? jobs_fence_sql(c) : "");
	struct db_arg args[] = {db_int(now), db_text(dump(models, a)),           db_int((int64_t) n + 1), db_text(ws),
	                        db_text(id), f ? db_text(f->job_id) : db_null(), db_int(f ? f->epoch : 0)};
	enum status st = db_query(c, a, &r, sql, args, f ? 7 : 5, p);
	if (st == ST_OK && db_res_rows(r) != 1)
		st = problem_set(p, ST_CONFLICT, "the execution is no longer queued or running");
	if (st == ST_OK && interrupted)
		st = db_query(
		    c, a, NULL,
		    "UPDATE execution_tasks SET status = 'failed', error = ?, ended_at = ? WHERE workspace_id = "
		    "? AND execution_id = ? AND status = 'running'",
		    DB_ARGS(db_text("interrupted: the worker running this attempt stopped"), db_int(now), db_text(ws),
		            db_text(id)),
		    p);
	if (st == ST_OK) {
		json_t *d = own(a, json_pack("{s:i}", "job_attempt", job_attempt));
		struct executions_event *all = arena_zalloc(a, sizeof(*all) * (n + 1));
		int64_t first = db_res_int(r, 0, 0) - (int64_t) n;
		all[0] = (struct executions_event){.type = "execution.started", .data = d, .seq = first};
		for (size_t i = 0; i < n; i++) {
			evs[i].seq = first + 1 + (int64_t) i;
			all[i + 1] = evs[i];
		}
		for (size_t i = 0; st == ST_OK && i <= n; i += EXECUTIONS_EVENTS_CHUNK)
			st = insert_events(c, ws, id, all + i,
			                   n + 1 - i < EXECUTIONS_EVENTS_CHUNK ? n + 1 - i : EXECUTIONS_EVENTS_CHUNK, a,
			                   p);
		if (st == ST_CONFLICT) /* ST_CONFLICT means the row was not there: a taken seq is another matter */
			st = problem_set(p, ST_INTERNAL, "an event's seq is already taken");
		if (st == ST_OK && seq_out)
			*seq_out = first;
	}
	arena_free(&a);
	return st;
}

enum status executions_task_started_tx(struct db_conn *c, const char *ws, const char *id, const char *task_key,
                                       int attempt, const char *agent_id, struct problem *p)
{
	return db_query(c, NULL, NULL,
	                "INSERT INTO execution_tasks (execution_id, task_key, attempt, workspace_id, agent_id, status, "
	                "started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)",
	                DB_ARGS(db_text(id), db_text(task_key), db_int(attempt), db_text(ws), db_text(agent_id),
	                        db_int(time_now_ms())),
	                p);
}

enum status executions_task_row_tx(struct db_conn *c, const char *ws, const char *id, const char *task_key, int attempt,
                                   const char *agent_id, const char *status, const char *output, const char *error,
                                   const char *usage, struct problem *p)
{
	int64_t now = time_now_ms();
	return db_query(c, NULL, NULL,
	                "INSERT INTO execution_tasks (execution_id, task_key, attempt, workspace_id, agent_id, status, "
	                "output, error, usage, started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                DB_ARGS(db_text(id), db_text(task_key), db_int(attempt), db_text(ws), db_text(agent_id),
	                        db_text(status), db_text(output), db_text(error), db_text(usage), db_int(now),
	                        db_int(now)),
	                p);
}

enum status executions_task_ended_tx(struct db_conn *c, const char *ws, const char *id, const char *task_key,
                                     int attempt, const char *status, const char *output, const char *error,
                                     const char *usage, struct problem *p)
{
	return db_query(c, NULL, NULL,
	                "UPDATE execution_tasks SET status = ?, output = ?, error = ?, usage = ?, ended_at = ? WHERE "
	                "workspace_id = ? AND execution_id = ? AND task_key = ? AND attempt = ?",
	                DB_ARGS(db_text(status), db_text(output), db_text(error), db_text(usage), db_int(time_now_ms()),
	                        db_text(ws), db_text(id), db_text(task_key), db_int(attempt)),
	                p);
}

bool executions_artifact_name(const char *raw, char *out, size_t n)
{
	const char *base = raw ? strrchr(raw, '/') : NULL;
	size_t k = 0;
	base = base ? base + 1 : raw ? raw : "";
	const char *bs = strrchr(base, '\\');
	if (bs)
		base = bs + 1;
	while (*base == '.')
		base++; /* no hidden files, no "..", never an empty stem */
	for (; *base && k + 1 < n && k < EXECUTIONS_ARTIFACT_NAME_MAX; base++) {
		unsigned char ch = (unsigned char) *base;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		          ch == '.' || ch == '_' || ch == '-';
		out[k++] = ok ? (char) ch : '_';
	}
	if (n)
		out[k] = '\0';
	return k > 0;
}

enum status executions_artifact_put_tx(struct db_conn *c, const char *ws, const char *id, const char *task_key,
                                       const char *name, const char *content, size_t len, struct problem *p)
{
	char clean[EXECUTIONS_ARTIFACT_NAME_MAX + 1];
	if (!executions_artifact_name(name, clean, sizeof(clean)))
		return problem_field(p, "output_file", "is not a usable file name");
	if (len > EXECUTIONS_ARTIFACT_MAX) {
		len = EXECUTIONS_ARTIFACT_MAX;
		while (len > 0 && ((unsigned char) content[len] & 0xC0) == 0x80)
			len--; /* cut on a UTF-8 boundary */
	}
	enum status st = db_query(
	    c, NULL, NULL, "DELETE FROM execution_artifacts WHERE workspace_id = ? AND execution_id = ? AND name = ?",
	    DB_ARGS(db_text(ws), db_text(id), db_text(clean)), p);
	if (st != ST_OK)
		return st;
	return db_query(c, NULL, NULL,
	                "INSERT INTO execution_artifacts (execution_id, name, workspace_id, task_key, content, size, "
	                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	                DB_ARGS(db_text(id), db_text(clean), db_text(ws), db_text(task_key),
	                        db_blob(content ? content : "", len), db_int((int64_t) len), db_int(time_now_ms())),
	                p);
}

/* ---- usage: summed from the attempts ---- */

struct usage_sum {
	int64_t prompt, completion, cached;
	double cost;
	bool cost_unknown; /* a call without a price: the sum is null, never 0 */
	bool cost_seen;
	int64_t llm_calls, tool_calls;
};

static void usage_add(struct usage_sum *s, const json_t *u)
{
	s->prompt += json_integer_value(json_object_get(u, "prompt_tokens"));
	s->completion += json_integer_value(json_object_get(u, "completion_tokens"));
	s->cached += json_integer_value(json_object_get(u, "cached_tokens"));
	json_int_t calls = json_integer_value(json_object_get(u, "llm_calls"));
	s->llm_calls += calls;
	s->tool_calls += json_integer_value(json_object_get(u, "tool_calls"));
	json_t *cost = json_object_get(u, "cost");
	if (json_is_number(cost)) {
		s->cost = cost_round(s->cost + json_number_value(cost));
		s->cost_seen = true;
	} else if (calls > 0) {
		s->cost_unknown = true;
	}
}

static json_t *usage_json(const struct usage_sum *s)
{
	bool known = s->cost_seen && !s->cost_unknown;
	return json_pack("{s:I, s:I, s:I, s:o, s:o, s:I, s:I}", "prompt_tokens", (json_int_t) s->prompt,
	                 "completion_tokens", (json_int_t) s->completion, "cached_tokens", (json_int_t) s->cached,
	                 "cost", known ? json_real(s->cost) : json_null(), "currency",
	                 known ? json_string("USD") : json_null(), "llm_calls", (json_int_t) s->llm_calls, "tool_calls",
	                 (json_int_t) s->tool_calls);
}

/* Adds u to groups[key] (kept as struct usage_sum in a JSON-free side table: n small). */
struct usage_group {
	const char *key;
	struct usage_sum s;
};

static void group_add(struct usage_group *g, int *n, int max, const char *key, const json_t *u)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(g[i].key, key) == 0) {
			usage_add(&g[i].s, u);
			return;
		}
	if (*n >= max)
		return;
	g[*n].key = key;
	memset(&g[*n].s, 0, sizeof(g[*n].s));
	usage_add(&g[(*n)++].s, u);
}

static json_t *groups_json(const struct usage_group *g, int n)
{
	json_t *o = json_object();
	for (int i = 0; i < n; i++)
		json_object_set_new(o, g[i].key, usage_json(&g[i].s));
	return o;
}

json_t *executions_usage_sum(const json_t *rows, const json_t *models)
{
	size_t rows_n = json_array_size(rows), i;
	int nt = 0, na = 0, nm = 0, max = (int) rows_n + 1;
	struct usage_group *bt = xcalloc((size_t) max, sizeof(*bt));
	struct usage_group *ba = xcalloc((size_t) max, sizeof(*ba));
	struct usage_group *bm = xcalloc((size_t) max, sizeof(*bm));
	struct usage_sum all = {0};
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		json_t *u = json_object_get(row, "usage");
		const char *task = json_string_value(json_object_get(row, "task_key"));
		const char *agent = json_string_value(json_object_get(row, "agent_id"));
		const char *model =
		    agent ? json_string_value(json_object_get(json_object_get(models, agent), "model")) : NULL;
		if (!json_is_object(u))
			continue;
		usage_add(&all, u);
		if (task)
			group_add(bt, &nt, max, task, u);
		if (agent)
			group_add(ba, &na, max, agent, u);
		if (model)
			group_add(bm, &nm, max, model, u);
	}
	json_t *o = usage_json(&all);
	json_object_del(o, "llm_calls");
	json_object_del(o, "tool_calls");
	json_object_set_new(o, "by_task", groups_json(bt, nt));
	json_object_set_new(o, "by_agent", groups_json(ba, na));
	json_object_set_new(o, "by_model", groups_json(bm, nm));
	free(bt);
	free(ba);
	free(bm);
	return o;
}

/* Usage of every attempt of the execution, per task, agent and model, read back from its rows. */
static enum status usage_total(struct db_conn *c, const char *ws, const char *id, struct arena *a, json_t **out,
                               struct problem *p)
{
	struct db_res *r, *mr;
	enum status st = db_query(c, a, &r,
	                          "SELECT task_key, agent_id, usage FROM execution_tasks WHERE workspace_id = ? AND "
	                          "execution_id = ? AND usage IS NOT NULL",
	                          DB_ARGS(db_text(ws), db_text(id)), p);
	if (st == ST_OK)
		st = db_query(c, a, &mr, "SELECT models FROM executions WHERE workspace_id = ? AND id = ?",
		              DB_ARGS(db_text(ws), db_text(id)), p);
	if (st != ST_OK)
		return st;
	json_t *models = db_res_rows(mr) ? own(a, column_json(mr, 0, 0)) : NULL;
	json_t *rows = own(a, json_array());
	for (int i = 0; i < db_res_rows(r); i++)
		json_array_append_new(rows, json_pack("{s:s?, s:s?, s:o}", "task_key", db_res_text(r, i, 0), "agent_id",
		                                      db_res_text(r, i, 1), "usage", column_json(r, i, 2)));
	*out = own(a, executions_usage_sum(rows, models));
	return ST_OK;
}

enum status executions_end_tx(struct db_conn *c, const char *ws, const char *id, enum executions_status st_end,
                              const json_t *output, const char *error, const json_t *usage,
                              struct executions_event *evs, size_t n, int64_t *seq_out, struct problem *p)
{
	struct arena *a = arena_new();
	struct db_res *r = NULL;
	enum status st = ST_OK;
	json_t *summed = NULL;
	if (!usage && (st = usage_total(c, ws, id, a, &summed, p)) == ST_OK)
		usage = summed;
	json_t *err = error ? own(a, json_string(error)) : NULL;
	/* the status, and the seqs of the turn's events and of execution.<status>, in one statement */
	if (st == ST_OK)
		st = db_query(
		    c, a, &r,
		    "UPDATE executions SET status = ?, output = ?, error = ?, usage = ?, ended_at = ?, "
		    "cancel_requested_at = NULL, last_seq = last_seq + ? WHERE workspace_id = ? AND id = ? AND "
		    "status IN ('queued', 'running') RETURNING last_seq",
		    DB_ARGS(db_text(executions_status_name(st_end)), output ? db_text(dump(output, a)) : db_null(),
		            err ? db_text(dump(err, a)) : db_null(), db_text(dump(usage, a)), db_int(time_now_ms()),
		            db_int((int64_t) n + 1), db_text(ws), db_text(id)),
		    p);
	if (st == ST_OK && db_res_rows(r) != 1)
		st = problem_set(p, ST_CONFLICT, "the execution is not running");
	if (st != ST_OK)
		goto out;
	int64_t first = db_res_int(r, 0, 0) - (int64_t) n;
	json_t *d = own(a, json_pack("{s:O?, s:O?, s:O}", "output", output, "error", err, "usage", usage));
	struct executions_event *all = arena_zalloc(a, sizeof(*all) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		evs[i].seq = first + (int64_t) i;
		all[i] = evs[i];
	}
	all[n] = (struct executions_event){.type = arena_printf(a, "execution.%s", executions_status_name(st_end)),
	                                   .data = d,
	                                   .seq = first + (int64_t) n};
	for (size_t i = 0; st == ST_OK && i <= n; i += EXECUTIONS_EVENTS_CHUNK)
		st = insert_events(c, ws, id, all + i,
		                   n + 1 - i < EXECUTIONS_EVENTS_CHUNK ? n + 1 - i : EXECUTIONS_EVENTS_CHUNK, a, p);
	if (st == ST_OK && seq_out)
		*seq_out = all[n].seq;
out:
	arena_free(&a);
	return st;
}

enum status executions_finish_tx(struct db_conn *c, const char *ws, const char *id, enum executions_status st_end,
                                 const json_t *output, const char *error, int64_t *seq_out, struct problem *p)
{
	return executions_end_tx(c, ws, id, st_end, output, error, NULL, NULL, 0, seq_out, p);
}

struct dead {
	const char *ws, *id, *error;
	int64_t seq;
};

static enum status dead_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct dead *d = ctx;
	int64_t now = time_now_ms();
	d->seq = 0;
	/* a worker that died between its claim and marking it running left it queued; the attempt its worker
	 * was running when it died is over too */
	enum status st =
	    db_query(c, NULL, NULL,
	             "UPDATE executions SET status = 'running', started_at = COALESCE(started_at, ?) WHERE "
	             "workspace_id = ? AND id = ? AND status = 'queued'",
	             DB_ARGS(db_int(now), db_text(d->ws), db_text(d->id)), p);
	if (st == ST_OK)
		st = db_query(
		    c, NULL, NULL,
		    "UPDATE execution_tasks SET status = 'failed', error = ?, ended_at = ? WHERE workspace_id = ? "
		    "AND execution_id = ? AND status = 'running'",
		    DB_ARGS(db_text("interrupted: the worker running this attempt stopped"), db_int(now),
		            db_text(d->ws), db_text(d->id)),
		    p);
	if (st == ST_OK)
		st = executions_finish_tx(c, d->ws, d->id, EXEC_FAILED, NULL, d->error, &d->seq, p);
	if (st == ST_CONFLICT) { /* it ended meanwhile */
		problem_clear(p);
		return ST_OK;
	}
	return st;
}

enum status executions_fail_dead(struct db *db, int64_t since_ms, int *n, struct problem *p)
{
	struct arena *a = arena_new();
	struct db_res *r;
	*n = 0;
	/* jobs' own partial indexes (state dead / failed, by finished_at: one query each, an IN matches
	 * neither) find the jobs, and each execution is found by its id in the job's payload (its primary
	 * key): a join on executions.job_id, which has no index, scanned every execution every sweep */
	const char *eid = db_kind(db) == DB_POSTGRES ? "(j.payload::json ->> 'execution_id')"
	                                             : "json_extract(j.payload, '$.execution_id')";
#define DEAD_ONE                                                                                                       \
	"SELECT e.workspace_id, e.id, j.state, j.last_error, j.attempts FROM jobs j JOIN executions e ON e.id = %s "   \
	"AND e.job_id = j.id WHERE j.state = '%s' AND j.finished_at >= ? AND j.kind = ? AND e.status IN "              \
	"('queued', 'running')"
	char *sql = arena_printf(a, DEAD_ONE " UNION ALL " DEAD_ONE " LIMIT 100", eid, "dead", eid, "failed");
#undef DEAD_ONE
	enum status st = db_exec1(
	    db, DB_READ, a, &r, sql,
	    DB_ARGS(db_int(since_ms), db_text(EXECUTIONS_JOB_KIND), db_int(since_ms), db_text(EXECUTIONS_JOB_KIND)), p);
	for (int i = 0; st == ST_OK && i < db_res_rows(r); i++) {
		const char *err = db_res_text(r, i, 3);
		struct dead d = {
		    .ws = db_res_text(r, i, 0),
		    .id = db_res_text(r, i, 1),
		    .error = arena_printf(a, "the job %s after %lld attempts: %s",
		                          str_eq(db_res_text(r, i, 2), "dead") ? "was dead-lettered" : "failed",
		                          (long long) db_res_int(r, i, 4), err ? err : "no error was recorded")};
		if ((st = db_tx(db, dead_tx, &d, p)) == ST_OK && d.seq) {
			executions_notify(d.id, d.seq);
			(*n)++;
		}
	}
	arena_free(&a);
	return st;
}

enum status executions_cancel_requests(struct db *db, struct arena *a, json_t **ids, struct problem *p)
{
	struct db_res *r;
	*ids = NULL;
	enum status st = db_exec1(
	    db, DB_READ, a, &r,
	    "SELECT id FROM executions WHERE cancel_requested_at IS NOT NULL AND status = 'running'", DB_NOARGS, p);
	if (st != ST_OK)
		return st;
	*ids = own(a, json_array());
	for (int i = 0; i < db_res_rows(r); i++)
		json_array_append_new(*ids, json_string(db_res_text(r, i, 0)));
	return ST_OK;
}

/* ---- cancel and resume ---- */

struct control {
	const struct actor *who;
	const char *id;
	bool running; /* cancel: the execution runs; the worker ends it */
	char now[16]; /* the status after */
	int64_t seq;  /* the event written, 0: none */
	struct arena *a;
};

static enum status status_of(struct db_conn *c, struct control *k, const char **status, struct problem *p)
{
	struct db_res *r;
	enum status st = db_query(c, k->a, &r, "SELECT status FROM executions WHERE workspace_id = ? AND id = ?",
	                          DB_ARGS(db_text(k->who->workspace_id), db_text(k->id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no execution with this id in this workspace");
	*status = db_res_text(r, 0, 0);
	return ST_OK;
}

static enum status cancel_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct control *k = ctx;
	const char *ws = k->who->workspace_id, *status = NULL;
	int64_t now = time_now_ms();
	enum status st;
	k->running = false;
	k->seq = 0;
	st = db_query(c, k->a, NULL,
	              "UPDATE executions SET status = 'cancelled', ended_at = ? WHERE workspace_id = ? AND id = ? AND "
	              "status = 'queued'",
	              DB_ARGS(db_int(now), db_text(ws), db_text(k->id)), p);
	if (st != ST_OK)
		return st;
	if (db_changes(c) == 1) {
		snprintf(k->now, sizeof(k->now), "cancelled");
		st = executions_event_tx(c, ws, k->id, "execution.cancelled", NULL, 0, NULL, &k->seq, p);
	} else {
		st = db_query(c, k->a, NULL,
		              "UPDATE executions SET cancel_requested_at = COALESCE(cancel_requested_at, ?) WHERE "
		              "workspace_id = ? AND id = ? AND status = 'running'",
		              DB_ARGS(db_int(now), db_text(ws), db_text(k->id)), p);
		if (st != ST_OK)
			return st;
		if (db_changes(c) != 1) {
			if ((st = status_of(c, k, &status, p)) != ST_OK)
				return st;
			return problem_set(p, ST_CONFLICT, "the execution has ended (%s): there is nothing to cancel",
			                   status);
		}
		k->running = true;
		snprintf(k->now, sizeof(k->now), "running");
	}
	if (st == ST_OK)
		st = auth_audit_tx(c, k->who, "execution.cancel", "execution", k->id, NULL, p);
	return st;
}

enum status executions_cancel(struct db *db, const struct actor *who, const char *id, bool *running, struct arena *a,
                              json_t **out, struct problem *p)
{
	struct control k = {.who = who, .id = id, .a = a};
	*out = NULL;
	*running = false;
	enum status st = db_tx(db, cancel_tx, &k, p);
	if (st != ST_OK)
		return st;
	if (k.seq)
		executions_notify(id, k.seq);
	*running = k.running;
	*out = own(a, json_pack("{s:s, s:s}", "id", id, "status", k.now));
	return ST_OK;
}

static enum status resume_tx(struct db_conn *c, void *ctx, struct problem *p)
{
	struct control *k = ctx;
	const char *ws = k->who->workspace_id, *status = NULL;
	char job[37];
	enum status st = status_of(c, k, &status, p);
	if (st != ST_OK)
		return st;
	if (!str_eq(status, "failed") && !str_eq(status, "cancelled")) {
		return problem_set(p, ST_CONFLICT, "only a failed or cancelled execution resumes; this one is %s",
		                   status);
	}
	json_t *payload = json_pack("{s:s}", "execution_id", k->id);
	struct jobs_enqueue e = {.kind = EXECUTIONS_JOB_KIND, .workspace_id = ws, .payload = payload};
	st = jobs_enqueue_tx(c, &e, job, p);
	json_decref(payload);
	if (st == ST_OK)
		st = db_query(
		    c, k->a, NULL,
		    "UPDATE executions SET status = 'queued', job_id = ?, output = NULL, error = NULL, ended_at = "
		    "NULL, cancel_requested_at = NULL WHERE workspace_id = ? AND id = ? AND status = ?",
		    DB_ARGS(db_text(job), db_text(ws), db_text(k->id), db_text(status)), p);
	if (st == ST_OK && db_changes(c) != 1)
		st = problem_set(p, ST_CONFLICT, "the execution changed meanwhile; try again");
	if (st == ST_OK) {
		json_t *d = json_pack("{s:s}", "from", status);
		st = executions_event_tx(c, ws, k->id, "execution.resumed", NULL, 0, d, &k->seq, p);
		json_decref(d);
	}
	if (st == ST_OK)
		st = auth_audit_tx(c, k->who, "execution.resume", "execution", k->id, NULL, p);
	return st;
}

enum status executions_resume(struct db *db, const struct actor *who, const char *id, struct arena *a, json_t **out,
                              struct problem *p)
{
	struct control k = {.who = who, .id = id, .a = a};
	*out = NULL;
	enum status st = db_tx(db, resume_tx, &k, p);
	if (st != ST_OK)
		return st;
	executions_notify(id, k.seq);
	*out = own(a, json_pack("{s:s, s:s}", "id", id, "status", "queued"));
	return ST_OK;
}
