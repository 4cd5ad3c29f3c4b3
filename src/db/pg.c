/*
 * The PostgreSQL driver (libpq). Connections are made lazily by the pool,
 * so troupe starts while the server is down; a connection that breaks is
 * marked bad and made again on its next use, so troupe recovers by itself
 * when the server comes back.
 */
#include "db_int.h"

#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs from pg_type.h, which libpq does not install. */
#define PG_OID_BOOL   16
#define PG_OID_BYTEA  17
#define PG_OID_INT8   20
#define PG_OID_INT2   21
#define PG_OID_INT4   23
#define PG_OID_OID    26
#define PG_OID_FLOAT4 700
#define PG_OID_FLOAT8 701

static void pg_msg(struct db_err *e, const char *msg)
{
	size_t n;

	snprintf(e->msg, sizeof(e->msg), "%s", msg ? msg : "unknown error");
	/* libpq ends its messages with a newline; the log line should not. */
	n = strlen(e->msg);
	while (n && (e->msg[n - 1] == '\n' || e->msg[n - 1] == ' '))
		e->msg[--n] = '\0';
}

static void pg_err(struct db_conn *c, PGresult *res, struct db_err *e)
{
	PGconn *h = c->h;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	pg_msg(e, res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res) : PQerrorMessage(h));
	snprintf(e->code, sizeof(e->code), "%s", state ? state : "");
	if (PQstatus(h) != CONNECTION_OK || (state && (str_startswith(state, "08") || str_startswith(state, "57P")))) {
		/* Class 08 and 57P0x (shutdown): this connection is done for. */
		e->kind = DB_E_UNAVAILABLE;
		c->bad = true;
	} else if (state && (str_eq(state, "23505") || str_eq(state, "23503"))) {
		e->kind = DB_E_CONFLICT;
	} else if (state && (str_eq(state, "40001") || str_eq(state, "40P01"))) {
		e->kind = DB_E_RETRY;
	} else {
		e->kind = DB_E_OTHER;
	}
}

/* NOTICEs ("relation already exists, skipping") are not worth a log line. */
static void pg_notice(void *arg UNUSED, const char *msg UNUSED)
{
}

static enum status pg_open(struct db *db, struct problem *p)
{
	char *err = NULL;
	PQconninfoOption *o = PQconninfoParse(db->target, &err);

	if (!o) {
		struct db_err e = {.kind = DB_E_OTHER};
		pg_msg(&e, err);
		PQfreemem(err);
		db_fail(db, &e, NULL, NULL);
		problem_set(p, ST_BAD_INPUT, "the PostgreSQL URL cannot be parsed");
		problem_hint(p, "write it as postgres://user:password@host:port/dbname?param=value");
		return ST_BAD_INPUT;
	}
	PQconninfoFree(o);
	return ST_OK;
}

static int pg_conn_open(struct db_conn *c, struct db_err *e)
{
	char timeout[16];
	int secs = (c->db->busy_timeout_ms + 999) / 1000;
	/* Entries before dbname are defaults the URL's own parameters override. */
	const char *keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname", NULL};
	const char *vals[] = {timeout, "troupe", "UTF8", c->db->target, NULL};
	PGconn *h;

	/* libpq rounds anything below 2 s up to 2 s anyway. */
	snprintf(timeout, sizeof(timeout), "%d", secs < 2 ? 2 : secs);
	h = PQconnectdbParams(keys, vals, 1);
	if (!h || PQstatus(h) != CONNECTION_OK) {
		e->kind = DB_E_UNAVAILABLE;
		snprintf(e->code, sizeof(e->code), "08006");
		pg_msg(e, h ? PQerrorMessage(h) : "out of memory");
		PQfinish(h);
		return -1;
	}
	PQsetNoticeProcessor(h, pg_notice, NULL);
	c->h = h;
	return 0;
}

static void pg_conn_close(struct db_conn *c)
{
	PQfinish(c->h);
	c->h = NULL;
}

static void pg_conn_check(struct db_conn *c)
{
	PGconn *h = c->h;
	struct pollfd pfd = {.fd = PQsocket(h), .events = POLLIN};

	if (PQstatus(h) != CONNECTION_OK || pfd.fd < 0) {
		c->bad = true;
		return;
	}
	/* An idle connection has nothing to read: data or EOF now means the
	 * server said goodbye (restart, shutdown, idle timeout). Finding it
	 * here saves the caller's query from failing on a dead socket. */
	if (poll(&pfd, 1, 0) > 0)
		c->bad = true;
}

static void pg_conn_release(struct db_conn *c)
{
	PGconn *h = c->h;
	PGTransactionStatusType ts = PQtransactionStatus(h);

	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
		log_kv(LOG_WARN, "a transaction was left open; rolling back", "driver", "postgres", NULL);
		PQclear(PQexec(h, "ROLLBACK"));
	} else if (ts != PQTRANS_IDLE) {
		c->bad = true;
	}
}

static const char *pg_real(struct arena *a, double d)
{
	/* PostgreSQL's spelling of the special values; %.17g round-trips the rest. */
	if (isnan(d))
		return "NaN";
	if (isinf(d))
		return d > 0 ? "Infinity" : "-Infinity";
	return arena_printf(a, "%.17g", d);
}

static void pg_cell(PGresult *res, int row, int col, struct arena *a, struct db_cell *cell)
{
	const char *v = PQgetvalue(res, row, col);
	size_t n = (size_t) PQgetlength(res, row, col);

	memset(cell, 0, sizeof(*cell));
	if (PQgetisnull(res, row, col)) {
		cell->type = DB_T_NULL;
		return;
	}
	switch (PQftype(res, col)) {
	case PG_OID_INT8:
	case PG_OID_INT4:
	case PG_OID_INT2:
	case PG_OID_OID:
		cell->type = DB_T_INT;
		cell->i = strtoll(v, NULL, 10);
		break;
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8:
		cell->type = DB_T_REAL;
		cell->d = strtod(v, NULL);
		break;
	case PG_OID_BOOL:
		/* As SQLite gives it: booleans are integers 0/1 in portable SQL. */
		cell->type = DB_T_INT;
		cell->i = v[0] == 't';
		v = cell->i ? "1" : "0";
		n = 1;
		break;
	case PG_OID_BYTEA: {
		size_t len = 0;
		unsigned char *b = PQunescapeBytea((const unsigned char *) v, &len);
		cell->type = DB_T_BLOB;
		cell->n = len;
		cell->p = arena_memdup(a, b ? (const char *) b : "", b ? len : 0);
		PQfreemem(b);
		return;
	}
	default:
		cell->type = DB_T_TEXT;
	}
	cell->n = n;
	cell->p = arena_memdup(a, v, n);
}

static struct db_res *pg_res(PGresult *res, struct arena *a)
{
	struct db_res *r = arena_zalloc(a, sizeof(*r));

	r->rows = PQntuples(res);
	r->cols = PQnfields(res);
	r->names = arena_zalloc(a, (size_t) (r->cols ? r->cols : 1) * sizeof(*r->names));
	for (int j = 0; j < r->cols; j++)
		r->names[j] = arena_strdup(a, PQfname(res, j));
	r->cells = arena_zalloc(a, (size_t) r->rows * (size_t) r->cols * sizeof(*r->cells) + 1);
	for (int i = 0; i < r->rows; i++) {
		for (int j = 0; j < r->cols; j++)
			pg_cell(res, i, j, a, &r->cells[(size_t) i * (size_t) r->cols + (size_t) j]);
	}
	return r;
}

static int pg_query(struct db_conn *c, struct arena *a, struct db_res **out, const char *sql, const struct db_arg *args,
                    size_t nargs, struct db_err *e)
{
	size_t k = nargs ? nargs : 1;
	const char **vals = arena_zalloc(a, k * sizeof(*vals));
	int *lens = arena_zalloc(a, k * sizeof(*lens));
	int *fmts = arena_zalloc(a, k * sizeof(*fmts));
	Oid *types = arena_zalloc(a, k * sizeof(*types));
	ExecStatusType rs;
	PGresult *res;
	int ret = -1;

	/* Text parameters of unknown type: the server infers each from its
	 * context, as it does for a literal. Blobs go binary, as bytea. */
	for (size_t i = 0; i < nargs; i++) {
		const struct db_arg *x = &args[i];
		switch (x->type) {
		case DB_T_TEXT:
			vals[i] = x->v.s;
			break;
		case DB_T_INT:
			vals[i] = arena_printf(a, "%lld", (long long) x->v.i);
			break;
		case DB_T_REAL:
			vals[i] = pg_real(a, x->v.d);
			break;
		case DB_T_BLOB:
			vals[i] = x->v.b.n ? x->v.b.p : "";
			lens[i] = (int) x->v.b.n;
			fmts[i] = 1;
			types[i] = PG_OID_BYTEA;
			break;
		case DB_T_NULL:
			break;
		}
	}
	res = PQexecParams(c->h, sql, (int) nargs, types, vals, lens, fmts, 0);
	rs = PQresultStatus(res);
	if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
		pg_err(c, res, e);
		goto out;
	}
	/* A SELECT changes nothing, though PQcmdTuples counts its rows. */
	c->changes = str_startswith(PQcmdStatus(res), "SELECT") ? 0 : strtoll(PQcmdTuples(res), NULL, 10);
	if (out)
		*out = pg_res(res, a);
	ret = 0;
out:
	PQclear(res);
	return ret;
}

static int pg_exec_script(struct db_conn *c, const char *sql, struct db_err *e)
{
	/* PQexec, unlike PQexecParams, runs several statements in one go. */
	PGresult *res = PQexec(c->h, sql);
	ExecStatusType rs = PQresultStatus(res);
	int ret = 0;

	if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK && rs != PGRES_EMPTY_QUERY) {
		pg_err(c, res, e);
		ret = -1;
	}
	PQclear(res);
	return ret;
}

const struct db_driver db_pg_driver = {
    .name = "postgres",
    .kind = DB_POSTGRES,
    /* READ COMMITTED: atomic UPDATEs (n = n + 1, WHERE epoch = ?) behave
     * as on SQLite's serialized writer without serialization retries. */
    .begin_sql = "BEGIN",
    .open = pg_open,
    .conn_open = pg_conn_open,
    .conn_close = pg_conn_close,
    .conn_check = pg_conn_check,
    .conn_release = pg_conn_release,
    .query = pg_query,
    .exec_script = pg_exec_script,
};
