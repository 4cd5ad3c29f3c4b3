/*
 * db: the generic half. URL parsing, the connection pool, placeholder
 * rewriting, error mapping, transactions with retry and result access.
 * The drivers (sqlite.c, pg.c) only talk to their library.
 */
#include "db_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_DEFAULT_BUSY_MS  5000
#define DB_DEFAULT_WAIT_MS  10000
#define DB_DEFAULT_READERS  4
#define DB_DEFAULT_PG_CONNS 10
#define DB_MAX_CONNS        256
#define DB_TX_TRIES         5

/* ---- URLs ---- */

int db_url_parse(const char *url, enum db_kind *kind, const char **target)
{
	if (!url || !*url)
		return -1;
	if (str_startswith(url, "postgres://") || str_startswith(url, "postgresql://")) {
		*kind = DB_POSTGRES;
		*target = url;
		return 0;
	}
	/* "sqlite:///abs/path" and "sqlite:rel/path" both name a file. */
	if (str_startswith(url, "sqlite://"))
		url += strlen("sqlite://");
	else if (str_startswith(url, "sqlite:"))
		url += strlen("sqlite:");
	else if (strstr(url, "://"))
		return -1;
	if (!*url)
		return -1;
	*kind = DB_SQLITE;
	*target = url;
	return 0;
}

/* ---- SQL text: one scanner so both rewrites skip the same things ---- */

/* Past the literal, quoted identifier or comment that starts at s; s itself
 * when none does. An unterminated one runs to the end of the text. */
static const char *sql_skip(const char *s)
{
	if (*s == '\'' || *s == '"') {
		char q = *s++;
		for (; *s; s++) {
			if (*s != q)
				continue;
			if (s[1] != q)
				return s + 1;
			s++; /* '' or "" is an escaped quote, not the end */
		}
		return s;
	}
	if (s[0] == '-' && s[1] == '-') {
		while (*s && *s != '\n')
			s++;
		return s;
	}
	if (s[0] == '/' && s[1] == '*') {
		const char *e = strstr(s + 2, "*/");
		return e ? e + 2 : s + strlen(s);
	}
	return s;
}

static char *sql_buf_to_arena(struct arena *a, struct buf *b)
{
	char *out = arena_strndup(a, b->len ? b->data : "", b->len);
	buf_free(b);
	return out;
}

char *db_sql_pg_params(struct arena *a, const char *sql, int *nparams)
{
	struct buf b;
	const char *s = sql;
	int n = 0;

	buf_init(&b, 0);
	while (*s) {
		const char *e = sql_skip(s);
		if (e != s) {
			buf_append(&b, s, (size_t) (e - s));
			s = e;
		} else if (*s == '?') {
			buf_printf(&b, "$%d", ++n);
			s++;
		} else {
			buf_append(&b, s++, 1);
		}
	}
	*nparams = n;
	return sql_buf_to_arena(a, &b);
}

static bool sql_word_char(char c)
{
	return isalnum((unsigned char) c) || c == '_' || c == '$';
}

char *db_sql_pg_types(struct arena *a, const char *sql)
{
	struct buf b;
	const char *s = sql;

	buf_init(&b, 0);
	while (*s) {
		const char *e = sql_skip(s);
		if (e != s) {
			buf_append(&b, s, (size_t) (e - s));
			s = e;
			continue;
		}
		if (!sql_word_char(*s)) {
			buf_append(&b, s++, 1);
			continue;
		}
		/* A whole word, so "blobs" or "my_blob" stay as written. */
		for (e = s; sql_word_char(*e); e++)
			;
		if (e - s == 4 && strncasecmp(s, "blob", 4) == 0)
			buf_puts(&b, "BYTEA");
		else
			buf_append(&b, s, (size_t) (e - s));
		s = e;
	}
	return sql_buf_to_arena(a, &b);
}

/* ---- errors ---- */

enum status db_fail(struct db *db, const struct db_err *e, const char *sql, struct problem *p)
{
	char head[161];
	const char *drv = db ? db->drv->name : "db";

	if (db)
		__atomic_fetch_add(&db->errors, 1, __ATOMIC_RELAXED);
	/* The SQL has placeholders, not values, so it is safe to log. */
	snprintf(head, sizeof(head), "%s", sql ? sql : "");
	switch (e->kind) {
	case DB_E_CONFLICT:
		/* An expected outcome (a duplicate name), not a server fault. */
		log_kv(LOG_WARN, "database conflict", "driver", drv, "code", e->code, "error", e->msg, "sql", head,
		       NULL);
		return problem_set(p, ST_CONFLICT, "conflicts with an existing record");
	case DB_E_RETRY:
		log_kv(LOG_WARN, "database busy", "driver", drv, "code", e->code, "error", e->msg, "sql", head, NULL);
		return problem_set(p, ST_UNAVAILABLE, "the database is busy; try again");
	case DB_E_UNAVAILABLE:
		log_kv(LOG_ERROR, "database unavailable", "driver", drv, "code", e->code, "error", e->msg, "sql", head,
		       NULL);
		return problem_set(p, ST_UNAVAILABLE, "the database is unavailable");
	case DB_E_OTHER:
		break;
	}
	log_kv(LOG_ERROR, "database error", "driver", drv, "code", e->code, "error", e->msg, "sql", head, NULL);
	return problem_set(p, ST_INTERNAL, "database error");
}

static enum status db_fail_msg(struct db *db, enum db_err_kind kind, const char *sql, struct problem *p,
                               const char *msg)
{
	struct db_err e = {.kind = kind};
	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	return db_fail(db, &e, sql, p);
}

/* ---- open and close ---- */

enum status db_open(const struct db_options *opt, struct db **out, struct problem *p)
{
	enum status st = ST_OK;
	enum db_kind kind;
	const char *target;
	pthread_condattr_t ca;
	struct db *db = NULL;
	int size;

	*out = NULL;
	if (!opt || db_url_parse(opt->url, &kind, &target) < 0) {
		st = problem_set(p, ST_BAD_INPUT, "the database URL is not one troupe knows");
		problem_hint(p, "use sqlite:PATH, a file path, or postgres://user@host:port/dbname");
		goto out;
	}
	db = xcalloc(1, sizeof(*db));
	db->drv = kind == DB_SQLITE ? &db_sqlite_driver : &db_pg_driver;
	db->target = xstrdup(target);
	db->busy_timeout_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : DB_DEFAULT_BUSY_MS;
	db->wait_ms = DB_DEFAULT_WAIT_MS;
	size = opt->pool_size > 0 ? opt->pool_size : (kind == DB_SQLITE ? DB_DEFAULT_READERS : DB_DEFAULT_PG_CONNS);
	if (size > DB_MAX_CONNS)
		size = DB_MAX_CONNS;
	if (kind == DB_POSTGRES) {
		db->nconns = size;
	} else {
		/* Each connection to ":memory:" is its own database: reads go
		 * to the writer there. */
		db->nreaders = str_eq(db->target, ":memory:") ? 0 : size;
		db->nconns = 1 + db->nreaders;
	}
	db->conns = xcalloc((size_t) db->nconns, sizeof(*db->conns));
	for (int i = 0; i < db->nconns; i++)
		db->conns[i].db = db;
	db->conns[0].writer = kind == DB_SQLITE;
	pthread_mutex_init(&db->mu, NULL);
	/* A monotonic clock, so a wall-clock step cannot stretch the wait. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&db->cv, &ca);
	pthread_condattr_destroy(&ca);
	st = db->drv->open(db, p);
out:
	if (st == ST_OK)
		*out = db;
	else if (db)
		db_close(&db);
	return st;
}

void db_close(struct db **dbp)
{
	struct db *db = dbp ? *dbp : NULL;

	if (!db)
		return;
	/* Readers first: the last SQLite connection to close checkpoints the WAL. */
	for (int i = db->nconns - 1; i >= 0; i--) {
		if (db->conns[i].open)
			db->drv->conn_close(&db->conns[i]);
	}
	pthread_cond_destroy(&db->cv);
	pthread_mutex_destroy(&db->mu);
	free(db->conns);
	free(db->target);
	free(db);
	*dbp = NULL;
}

enum db_kind db_kind(const struct db *db)
{
	return db->drv->kind;
}

enum db_kind db_conn_kind(const struct db_conn *c)
{
	return c->db->drv->kind;
}

const char *db_kind_name(const struct db *db)
{
	return db->drv->name;
}

void db_pool_wait_set(struct db *db, int ms)
{
	pthread_mutex_lock(&db->mu);
	db->wait_ms = ms;
	pthread_mutex_unlock(&db->mu);
}

/* ---- the pool ---- */

/* Under db->mu. */
static struct db_conn *pool_pick(struct db *db, enum db_mode mode)
{
	struct db_conn *closed = NULL;

	if (db->drv->kind == DB_SQLITE) {
		if (mode == DB_WRITE || db->nreaders == 0)
			return db->conns[0].in_use ? NULL : &db->conns[0];
		for (int i = 1; i < db->nconns; i++) {
			if (!db->conns[i].in_use)
				return &db->conns[i];
		}
		return NULL;
	}
	/* PostgreSQL: prefer a live connection, so the pool grows only under load. */
	for (int i = 0; i < db->nconns; i++) {
		struct db_conn *c = &db->conns[i];
		if (c->in_use)
			continue;
		if (c->open && !c->bad)
			return c;
		if (!closed)
			closed = c;
	}
	return closed;
}

static void pool_release(struct db_conn *c)
{
	struct db *db = c->db;

	pthread_mutex_lock(&db->mu);
	c->in_use = false;
	/* Broadcast: the writer and the readers wait on one condvar. */
	pthread_cond_broadcast(&db->cv);
	pthread_mutex_unlock(&db->mu);
}

static void pool_set_open(struct db_conn *c, bool open)
{
	pthread_mutex_lock(&c->db->mu);
	c->open = open;
	c->bad = false;
	pthread_mutex_unlock(&c->db->mu);
}

/* Makes c usable: drops a broken handle and connects when needed. */
static int pool_ready(struct db_conn *c)
{
	struct db *db = c->db;
	struct db_err e = {0};

	if (c->open && db->drv->conn_check)
		db->drv->conn_check(c);
	if (c->open && c->bad) {
		db->drv->conn_close(c);
		pool_set_open(c, false);
	}
	if (c->open)
		return 0;
	if (db->drv->conn_open(c, &e) < 0) {
		db_fail(db, &e, NULL, NULL);
		return -1;
	}
	pool_set_open(c, true);
	return 0;
}

struct db_conn *db_conn_get(struct db *db, enum db_mode mode)
{
	struct db_conn *c = NULL;
	struct timespec deadline;
	bool waited = false;

	if (!db)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	pthread_mutex_lock(&db->mu);
	deadline.tv_sec += db->wait_ms / 1000;
	deadline.tv_nsec += (long) (db->wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	while (!(c = pool_pick(db, mode))) {
		if (!waited) {
			waited = true;
			db->waits++;
		}
		if (pthread_cond_timedwait(&db->cv, &db->mu, &deadline) == ETIMEDOUT) {
			c = pool_pick(db, mode);
			break;
		}
	}
	if (c)
		c->in_use = true;
	pthread_mutex_unlock(&db->mu);
	if (!c) {
		db_fail_msg(db, DB_E_UNAVAILABLE, NULL, NULL, "no free connection in the pool");
		return NULL;
	}
	if (pool_ready(c) < 0) {
		pool_release(c);
		return NULL;
	}
	c->retry = false;
	return c;
}

void db_conn_put(struct db_conn *c)
{
	if (!c)
		return;
	/* A transaction left open would hold the writer's locks for the next user. */
	if (c->open && !c->bad && c->db->drv->conn_release)
		c->db->drv->conn_release(c);
	pool_release(c);
}

void db_stats(struct db *db, struct db_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!db)
		return;
	pthread_mutex_lock(&db->mu);
	out->size = db->nconns;
	for (int i = 0; i < db->nconns; i++) {
		out->open += db->conns[i].open;
		out->in_use += db->conns[i].in_use;
	}
	out->waits = db->waits;
	pthread_mutex_unlock(&db->mu);
	out->errors = __atomic_load_n(&db->errors, __ATOMIC_RELAXED);
}

/* ---- statements ---- */

enum status db_query(struct db_conn *c, struct arena *a, struct db_res **out, const char *sql,
                     const struct db_arg *args, size_t nargs, struct problem *p)
{
	enum status st = ST_OK;
	struct arena *tmp = NULL;
	struct db_err e = {0};
	const char *q = sql;
	int n;

	if (out)
		*out = NULL;
	if (!c)
		return problem_set(p, ST_UNAVAILABLE, "the database is unavailable");
	if (!sql || (out && !a))
		return db_fail_msg(c->db, DB_E_OTHER, sql, p, "db_query needs SQL, and an arena when rows are wanted");
	if (!a)
		a = tmp = arena_new();
	if (c->db->drv->kind == DB_POSTGRES) {
		q = db_sql_pg_params(a, sql, &n);
		if ((size_t) n != nargs) {
			st = db_fail_msg(c->db, DB_E_OTHER, sql, p, "placeholders and arguments differ in number");
			goto out;
		}
	}
	if (c->db->drv->query(c, a, out, q, args, nargs, &e) < 0) {
		if (e.kind == DB_E_RETRY)
			c->retry = true;
		st = db_fail(c->db, &e, sql, p);
	}
out:
	arena_free(&tmp);
	return st;
}

int64_t db_changes(struct db_conn *c)
{
	return c ? c->changes : 0;
}

enum status db_exec_script(struct db_conn *c, const char *sql, struct problem *p)
{
	struct db_err e = {0};

	if (!c)
		return problem_set(p, ST_UNAVAILABLE, "the database is unavailable");
	if (c->db->drv->exec_script(c, sql, &e) < 0) {
		if (e.kind == DB_E_RETRY)
			c->retry = true;
		return db_fail(c->db, &e, sql, p);
	}
	return ST_OK;
}

enum status db_exec1(struct db *db, enum db_mode mode, struct arena *a, struct db_res **out, const char *sql,
                     const struct db_arg *args, size_t nargs, struct problem *p)
{
	struct db_conn *c = db_conn_get(db, mode);
	enum status st;

	if (out)
		*out = NULL;
	if (!c)
		return problem_set(p, ST_UNAVAILABLE, "the database is unavailable");
	st = db_query(c, a, out, sql, args, nargs, p);
	db_conn_put(c);
	return st;
}

/* ---- transactions ---- */

static _Thread_local uint64_t tx_serial, tx_committed;

uint64_t db_tx_serial(void)
{
	return tx_serial;
}

uint64_t db_tx_committed(void)
{
	return tx_committed;
}

static enum status tx_once(struct db_conn *c, db_tx_fn fn, void *ctx, struct problem *p)
{
	enum status st;

	st = db_query(c, NULL, NULL, c->db->drv->begin_sql, DB_NOARGS, p);
	if (st != ST_OK)
		return st;
	tx_serial++;
	st = fn(c, ctx, p);
	if (status_ok(st)) {
		enum status cst = db_query(c, NULL, NULL, "COMMIT", DB_NOARGS, p);
		if (cst != ST_OK)
			st = cst;
		else
			tx_committed = tx_serial;
	}
	/* A failed COMMIT leaves PostgreSQL's transaction open too. */
	if (!status_ok(st) && !c->bad)
		db_query(c, NULL, NULL, "ROLLBACK", DB_NOARGS, NULL);
	return st;
}

static void tx_backoff(int attempt)
{
	/* 2, 4, 8, 16 ms and up to as much again at random, so the
	 * contenders do not collide on the same beat. */
	uint32_t base_us = 1000u << attempt;
	uint32_t us = base_us + rand_uniform(base_us);
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long) us * 1000L};
	nanosleep(&ts, NULL);
}

enum status db_tx(struct db *db, db_tx_fn fn, void *ctx, struct problem *p)
{
	enum status st = ST_UNAVAILABLE;

	for (int attempt = 1; attempt <= DB_TX_TRIES; attempt++) {
		struct db_conn *c = db_conn_get(db, DB_WRITE);
		bool retry;

		if (!c)
			return problem_set(p, ST_UNAVAILABLE, "the database is unavailable");
		st = tx_once(c, fn, ctx, p);
		retry = c->retry;
		/* Put the connection back before sleeping: the SQLite writer is one. */
		db_conn_put(c);
		if (status_ok(st) || !retry || attempt == DB_TX_TRIES)
			break;
		if (p)
			problem_clear(p);
		tx_backoff(attempt);
	}
	return st;
}

/* ---- health ---- */

enum status db_ping(struct db *db, struct problem *p)
{
	/* Twice: the first round trip on a connection idle across a server
	 * restart fails and marks it for a reconnect, the second one tells. */
	for (int i = 0; i < 2; i++) {
		struct db_conn *c = db_conn_get(db, DB_READ);
		enum status st;

		if (!c)
			break;
		st = db_query(c, NULL, NULL, "SELECT 1", DB_NOARGS, NULL);
		db_conn_put(c);
		if (st == ST_OK)
			return ST_OK;
	}
	return problem_set(p, ST_UNAVAILABLE, "the database is unavailable");
}

/* ---- results ---- */

static const struct db_cell *res_cell(const struct db_res *r, int row, int col)
{
	if (!r || row < 0 || col < 0 || row >= r->rows || col >= r->cols)
		return NULL;
	return &r->cells[(size_t) row * (size_t) r->cols + (size_t) col];
}

int db_res_rows(const struct db_res *r)
{
	return r ? r->rows : 0;
}

int db_res_cols(const struct db_res *r)
{
	return r ? r->cols : 0;
}

const char *db_res_name(const struct db_res *r, int col)
{
	if (!r || col < 0 || col >= r->cols)
		return NULL;
	return r->names[col];
}

bool db_res_null(const struct db_res *r, int row, int col)
{
	const struct db_cell *c = res_cell(r, row, col);
	return !c || c->type == DB_T_NULL;
}

const char *db_res_text(const struct db_res *r, int row, int col)
{
	const struct db_cell *c = res_cell(r, row, col);
	return c && c->type != DB_T_NULL ? c->p : NULL;
}

int64_t db_res_int(const struct db_res *r, int row, int col)
{
	const struct db_cell *c = res_cell(r, row, col);

	if (!c)
		return 0;
	switch (c->type) {
	case DB_T_INT:
		return c->i;
	case DB_T_REAL:
		return (int64_t) c->d;
	case DB_T_TEXT:
		return strtoll(c->p, NULL, 10);
	default:
		return 0;
	}
}

double db_res_real(const struct db_res *r, int row, int col)
{
	const struct db_cell *c = res_cell(r, row, col);

	if (!c)
		return 0;
	switch (c->type) {
	case DB_T_INT:
		return (double) c->i;
	case DB_T_REAL:
		return c->d;
	case DB_T_TEXT:
		return strtod(c->p, NULL);
	default:
		return 0;
	}
}

const void *db_res_blob(const struct db_res *r, int row, int col, size_t *len)
{
	const struct db_cell *c = res_cell(r, row, col);

	if (!c || c->type == DB_T_NULL) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = c->n;
	return c->p;
}

enum status db_versions_page(struct db *db, const char *vtable, const char *fk, const char *ws, const char *id,
                             const char *after, int limit, struct arena *a, json_t **items, const char **last,
                             struct problem *p)
{
	int64_t from = 0;
	struct db_res *r;
	*items = NULL;
	*last = NULL;
	if (after && str_to_i64(after, 0, INT64_MAX, &from) < 0)
		return problem_field(p, "cursor", "is not a cursor of this list");
	char *sql = arena_printf(a,
	                         "SELECT version, author_id, change_note, created_at FROM %s WHERE workspace_id = ? "
	                         "AND %s = ? AND version > ? ORDER BY version LIMIT ?",
	                         vtable, fk);
	enum status st =
	    db_exec1(db, DB_READ, a, &r, sql, DB_ARGS(db_text(ws), db_text(id), db_int(from), db_int(limit)), p);
	if (st != ST_OK)
		return st;
	*items = json_array();
	for (int i = 0; i < db_res_rows(r); i++) {
		const char *author = db_res_text(r, i, 1), *note = db_res_text(r, i, 2);
		char at[40];
		time_iso8601(db_res_int(r, i, 3), at, sizeof(at));
		json_array_append_new(*items,
		                      json_pack("{s:I, s:o, s:o, s:s}", "version", (json_int_t) db_res_int(r, i, 0),
		                                "author_id", author ? json_string(author) : json_null(), "change_note",
		                                note ? json_string(note) : json_null(), "created_at", at));
		*last = db_res_text(r, i, 0);
	}
	return ST_OK;
}
