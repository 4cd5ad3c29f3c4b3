/*
 * The SQLite driver. WAL lets readers run beside the one writer; the pool
 * (db.c) hands the writer to one thread at a time, so SQLite's own locks
 * only ever meet other processes, and busy_timeout covers those.
 */
#include "db_int.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prepared statements kept per connection: the API's queries are a few
 * dozen fixed strings, so a small cache catches nearly all of them. */
#define SQ_CACHE 32

struct sq_stmt {
	char *sql;
	sqlite3_stmt *st;
	uint64_t used;
};

struct sq_conn {
	sqlite3 *h;
	uint64_t tick;
	struct sq_stmt cache[SQ_CACHE];
};

static void sq_err(sqlite3 *h, int rc, const char *msg, struct db_err *e)
{
	int prim = rc & 0xff;

	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		e->kind = DB_E_CONFLICT;
	else if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		e->kind = DB_E_RETRY;
	else if (prim == SQLITE_CANTOPEN || prim == SQLITE_IOERR || prim == SQLITE_NOTADB || prim == SQLITE_FULL)
		e->kind = DB_E_UNAVAILABLE;
	else
		e->kind = DB_E_OTHER;
	snprintf(e->code, sizeof(e->code), "%d", rc);
	if (!msg)
		msg = h ? sqlite3_errmsg(h) : sqlite3_errstr(rc);
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

static void sq_err_text(struct db_err *e, const char *msg)
{
	e->kind = DB_E_OTHER;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

static void sq_conn_close(struct db_conn *c)
{
	struct sq_conn *s = c->h;

	if (!s)
		return;
	for (int i = 0; i < SQ_CACHE; i++) {
		sqlite3_finalize(s->cache[i].st);
		free(s->cache[i].sql);
	}
	sqlite3_close_v2(s->h);
	free(s);
	c->h = NULL;
}

static int sq_conn_open(struct db_conn *c, struct db_err *e)
{
	struct db *db = c->db;
	struct sq_conn *s = xcalloc(1, sizeof(*s));
	/* NOMUTEX: the pool gives a connection to one thread at a time. Only
	 * the writer creates the file: in WAL mode a reader must find it made. */
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (c->writer ? SQLITE_OPEN_CREATE : 0);
	const char *pragmas = c->writer ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
	                                : "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;";
	char *msg = NULL;
	int rc;

	c->h = s;
	rc = sqlite3_open_v2(db->target, &s->h, flags, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_extended_result_codes(s->h, 1);
	sqlite3_busy_timeout(s->h, db->busy_timeout_ms);
	rc = sqlite3_exec(s->h, pragmas, NULL, NULL, &msg);
out:
	if (rc != SQLITE_OK) {
		sq_err(s->h, rc, msg, e);
		sq_conn_close(c);
	}
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : -1;
}

static enum status sq_open(struct db *db, struct problem *p)
{
	/* Every connection now, writer first: a bad path is found at start. */
	for (int i = 0; i < db->nconns; i++) {
		struct db_err e = {0};
		if (sq_conn_open(&db->conns[i], &e) < 0) {
			enum status st = db_fail(db, &e, NULL, p);
			problem_hint(p, "check that the database file's directory exists and is writable");
			return st;
		}
		db->conns[i].open = true;
	}
	return ST_OK;
}

static void sq_conn_release(struct db_conn *c)
{
	struct sq_conn *s = c->h;

	if (!sqlite3_get_autocommit(s->h)) {
		log_kv(LOG_WARN, "a transaction was left open; rolling back", "driver", "sqlite", NULL);
		sqlite3_exec(s->h, "ROLLBACK", NULL, NULL, NULL);
	}
}

static bool sq_only_space(const char *s)
{
	while (s && isspace((unsigned char) *s))
		s++;
	return !s || !*s;
}

/* The statement for sql, from the cache or freshly prepared into it. */
static sqlite3_stmt *sq_prepare(struct sq_conn *s, const char *sql, struct db_err *e)
{
	struct sq_stmt *slot = NULL;
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc;

	for (int i = 0; i < SQ_CACHE; i++) {
		struct sq_stmt *x = &s->cache[i];
		if (x->sql && strcmp(x->sql, sql) == 0) {
			x->used = ++s->tick;
			return x->st;
		}
		if (!slot || (slot->sql && (!x->sql || x->used < slot->used)))
			slot = x;
	}
	rc = sqlite3_prepare_v2(s->h, sql, -1, &st, &tail);
	if (rc != SQLITE_OK) {
		sq_err(s->h, rc, NULL, e);
		return NULL;
	}
	if (!st || !sq_only_space(tail)) {
		sqlite3_finalize(st);
		sq_err_text(e, st ? "one statement per query" : "empty statement");
		return NULL;
	}
	sqlite3_finalize(slot->st);
	free(slot->sql);
	slot->sql = xstrdup(sql);
	slot->st = st;
	slot->used = ++s->tick;
	return st;
}

static int sq_bind(sqlite3_stmt *st, const struct db_arg *args, size_t nargs)
{
	int rc = SQLITE_OK;

	for (size_t i = 0; i < nargs && rc == SQLITE_OK; i++) {
		int k = (int) i + 1;
		const struct db_arg *x = &args[i];
		switch (x->type) {
		case DB_T_TEXT:
			rc = sqlite3_bind_text(st, k, x->v.s, -1, SQLITE_STATIC);
			break;
		case DB_T_INT:
			rc = sqlite3_bind_int64(st, k, x->v.i);
			break;
		case DB_T_REAL:
			rc = sqlite3_bind_double(st, k, x->v.d);
			break;
		case DB_T_BLOB:
			/* A non-NULL pointer keeps a zero-length blob from becoming NULL. */
			rc = sqlite3_bind_blob64(st, k, x->v.b.n ? x->v.b.p : "", x->v.b.n, SQLITE_STATIC);
			break;
		case DB_T_NULL:
			rc = sqlite3_bind_null(st, k);
			break;
		}
	}
	return rc;
}

static void sq_cell(sqlite3_stmt *st, int col, struct arena *a, struct db_cell *cell)
{
	const void *p;

	memset(cell, 0, sizeof(*cell));
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_INTEGER:
		cell->type = DB_T_INT;
		cell->i = sqlite3_column_int64(st, col);
		cell->p = arena_printf(a, "%lld", (long long) cell->i);
		cell->n = strlen(cell->p);
		break;
	case SQLITE_FLOAT:
		cell->type = DB_T_REAL;
		cell->d = sqlite3_column_double(st, col);
		cell->p = arena_printf(a, "%.17g", cell->d);
		cell->n = strlen(cell->p);
		break;
	case SQLITE_TEXT:
		cell->type = DB_T_TEXT;
		p = sqlite3_column_text(st, col); /* before _bytes, as SQLite asks */
		cell->n = (size_t) sqlite3_column_bytes(st, col);
		cell->p = arena_memdup(a, p, cell->n);
		break;
	case SQLITE_BLOB:
		cell->type = DB_T_BLOB;
		p = sqlite3_column_blob(st, col);
		cell->n = (size_t) sqlite3_column_bytes(st, col);
		cell->p = arena_memdup(a, p, cell->n);
		break;
	default:
		cell->type = DB_T_NULL;
	}
}

static int sq_query(struct db_conn *c, struct arena *a, struct db_res **out, const char *sql, const struct db_arg *args,
                    size_t nargs, struct db_err *e)
{
	struct sq_conn *s = c->h;
	struct db_cell *cells = NULL;
	size_t ncells = 0, cap = 0;
	sqlite3_stmt *st;
	int rc, cols, rows = 0, ret = -1;

	if (!(st = sq_prepare(s, sql, e)))
		return -1;
	if (sqlite3_bind_parameter_count(st) != (int) nargs) {
		sq_err_text(e, "placeholders and arguments differ in number");
		goto out;
	}
	if ((rc = sq_bind(st, args, nargs)) != SQLITE_OK) {
		sq_err(s->h, rc, NULL, e);
		goto out;
	}
	cols = sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!out)
			continue;
		if (ncells + (size_t) cols > cap) {
			cap = cap ? cap * 2 : 16 * (size_t) (cols ? cols : 1);
			cells = xrealloc(cells, cap * sizeof(*cells));
		}
		for (int j = 0; j < cols; j++)
			sq_cell(st, j, a, &cells[ncells++]);
		rows++;
	}
	if (rc != SQLITE_DONE) {
		sq_err(s->h, rc, NULL, e);
		goto out;
	}
	/* A SELECT changes nothing, whatever the statement before it did. */
	c->changes = sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes64(s->h);
	if (out) {
		struct db_res *r = arena_zalloc(a, sizeof(*r));
		r->rows = rows;
		r->cols = cols;
		r->names = arena_zalloc(a, (size_t) (cols ? cols : 1) * sizeof(*r->names));
		for (int j = 0; j < cols; j++)
			r->names[j] = arena_strdup(a, sqlite3_column_name(st, j));
		r->cells = ncells ? (struct db_cell *) arena_memdup(a, cells, ncells * sizeof(*cells)) : NULL;
		*out = r;
	}
	ret = 0;
out:
	/* Reset at once: a statement left stepping holds a read snapshot. */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(cells);
	return ret;
}

static int sq_exec_script(struct db_conn *c, const char *sql, struct db_err *e)
{
	struct sq_conn *s = c->h;
	char *msg = NULL;
	int rc = sqlite3_exec(s->h, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		sq_err(s->h, sqlite3_extended_errcode(s->h), msg, e);
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : -1;
}

const struct db_driver db_sqlite_driver = {
    .name = "sqlite",
    .kind = DB_SQLITE,
    /* IMMEDIATE: take the write lock now, not at the first write, so a
     * transaction never fails half-way for want of it. */
    .begin_sql = "BEGIN IMMEDIATE",
    .open = sq_open,
    .conn_open = sq_conn_open,
    .conn_close = sq_conn_close,
    .conn_release = sq_conn_release,
    .query = sq_query,
    .exec_script = sq_exec_script,
};
