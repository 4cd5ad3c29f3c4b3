/*
 * db: one interface, two drivers (SQLite and PostgreSQL), in the manner
 * of Dovecot's lib-sql: an opaque handle, a driver vtable inside, `?`
 * placeholders rewritten per driver.
 *
 * Threads: a struct db is shared by every thread; a struct db_conn is
 * used by one thread at a time, between db_conn_get() and db_conn_put().
 *
 * Errors: the driver's own message goes to the log (with the caller's
 * context); callers get a status and a problem whose detail never carries
 * SQL or driver text.
 *
 * Portable SQL: write types as TEXT, INTEGER/BIGINT, DOUBLE PRECISION and
 * BLOB (rewritten to BYTEA on PostgreSQL); booleans are INTEGER 0/1;
 * times are BIGINT milliseconds since the epoch; ids are TEXT UUIDv7.
 */
#ifndef TROUPE_DB_H
#define TROUPE_DB_H

#include "../core/core.h"

#include <jansson.h>

struct db;
struct db_conn;
struct db_res;

enum db_kind { DB_SQLITE, DB_POSTGRES };
/* SQLite has one writer connection; readers never wait for it (WAL). */
enum db_mode { DB_READ, DB_WRITE };

enum db_type { DB_T_NULL, DB_T_TEXT, DB_T_INT, DB_T_REAL, DB_T_BLOB };
struct db_arg {
	enum db_type type;
	union {
		const char *s;
		int64_t i;
		double d;
		struct {
			const void *p;
			size_t n;
		} b;
	} v;
};

static inline struct db_arg db_text(const char *s)
{
	struct db_arg a = {.type = s ? DB_T_TEXT : DB_T_NULL};
	a.v.s = s;
	return a;
}
static inline struct db_arg db_int(int64_t i)
{
	struct db_arg a = {.type = DB_T_INT};
	a.v.i = i;
	return a;
}
static inline struct db_arg db_real(double d)
{
	struct db_arg a = {.type = DB_T_REAL};
	a.v.d = d;
	return a;
}
static inline struct db_arg db_blob(const void *p, size_t n)
{
	struct db_arg a = {.type = p ? DB_T_BLOB : DB_T_NULL};
	a.v.b.p = p;
	a.v.b.n = n;
	return a;
}
static inline struct db_arg db_null(void)
{
	struct db_arg a = {.type = DB_T_NULL};
	return a;
}
static inline struct db_arg db_bool(bool b)
{
	return db_int(b ? 1 : 0);
}

struct db_options {
	const char *url;     /* "sqlite:PATH", a bare path, or "postgres://..." / "postgresql://..." */
	int pool_size;       /* PostgreSQL: max connections; SQLite: reader connections. 0: default */
	int busy_timeout_ms; /* SQLite busy timeout; PostgreSQL connect timeout. 0: default 5000 */
};

/* Opens the pool; connects lazily for PostgreSQL, so a database that is down
 * at start is not fatal (db_ping reports it). */
enum status db_open(const struct db_options *opt, struct db **out, struct problem *p);
void db_close(struct db **db);
enum db_kind db_kind(const struct db *db);
enum db_kind db_conn_kind(const struct db_conn *c);
const char *db_kind_name(const struct db *db);

/* Blocks until a connection is free (or the pool's wait times out: NULL).
 * A broken PostgreSQL connection is reset on the next get. */
struct db_conn *db_conn_get(struct db *db, enum db_mode mode);
void db_conn_put(struct db_conn *c);

/* Runs sql with args bound to its `?` placeholders. Rows, if any, are read
 * whole into the arena (*out may be NULL when rows are not wanted).
 * Returns ST_OK, ST_CONFLICT on a unique/foreign-key violation,
 * ST_UNAVAILABLE when the database cannot be reached, ST_INTERNAL else. */
enum status db_query(struct db_conn *c, struct arena *a, struct db_res **out, const char *sql,
                     const struct db_arg *args, size_t nargs, struct problem *p);

#define DB_ARGS(...)                                                                                                   \
	((const struct db_arg[]){__VA_ARGS__}), (sizeof((const struct db_arg[]){__VA_ARGS__}) / sizeof(struct db_arg))
#define DB_NOARGS NULL, 0

/* Rows changed by the last statement on this connection. */
int64_t db_changes(struct db_conn *c);

/* Transactions. db_tx runs fn inside BEGIN/COMMIT on a writer connection,
 * and runs it again (up to a few times, with backoff) when the database says
 * busy, deadlock or serialization failure. fn returns a status; anything
 * but ST_OK/ST_CREATED/... rolls back. */
typedef enum status (*db_tx_fn)(struct db_conn *c, void *ctx, struct problem *p);
enum status db_tx(struct db *db, db_tx_fn fn, void *ctx, struct problem *p);
/* The calling thread's transactions, numbered: the one db_tx is running
 * (or ran last) and the last one that committed. Equal after a commit; a
 * writer that keeps something per transaction (executions' live journal)
 * tells a committed one from a rolled-back one with them. */
uint64_t db_tx_serial(void);
uint64_t db_tx_committed(void);

/* One statement on a connection from the pool, for the simple cases. */
enum status db_exec1(struct db *db, enum db_mode mode, struct arena *a, struct db_res **out, const char *sql,
                     const struct db_arg *args, size_t nargs, struct problem *p);

/* Result access. Rows and columns from 0. Text of a NULL is NULL. */
int db_res_rows(const struct db_res *r);
int db_res_cols(const struct db_res *r);
const char *db_res_name(const struct db_res *r, int col);
bool db_res_null(const struct db_res *r, int row, int col);
const char *db_res_text(const struct db_res *r, int row, int col);
int64_t db_res_int(const struct db_res *r, int row, int col);
double db_res_real(const struct db_res *r, int row, int col);
/* Blob bytes and their length (text columns work too). */
const void *db_res_blob(const struct db_res *r, int row, int col, size_t *len);

/* Health: a round trip to the database; ST_OK or ST_UNAVAILABLE. */
enum status db_ping(struct db *db, struct problem *p);

/* Pool figures for /metrics. */
struct db_stats {
	int size;   /* connections the pool may hold */
	int open;   /* connections open now */
	int in_use; /* connections handed out now */
	uint64_t waits;
	uint64_t errors;
};
void db_stats(struct db *db, struct db_stats *out);

/* Migrations: numbered SQL files compiled into the binary. */
int db_schema_latest(void); /* the newest version this binary knows */
/* Version recorded in the database (0 when none). */
enum status db_schema_version(struct db *db, int *version, struct problem *p);
/* Applies every pending migration, each in its own transaction. Refuses
 * (ST_CONFLICT) a database newer than this binary. */
enum status db_migrate(struct db *db, struct problem *p);

/* A page of an object's immutable versions, oldest first (agents, tools,
 * workflows): the rows of vtable (columns version, author_id, change_note,
 * created_at ms) of workspace ws whose fk column is id and whose version is
 * above after (the previous page's last version; NULL: the first page), at
 * most limit. vtable and fk are the caller's constants, never input.
 * *items: a new array of {version, author_id|null, change_note|null,
 * created_at (RFC 3339)}; *last: the last item's version as text (the next
 * cursor), NULL when the page is empty. A cursor that is not a version
 * number is ST_BAD_INPUT naming cursor. */
enum status db_versions_page(struct db *db, const char *vtable, const char *fk, const char *ws, const char *id,
                             const char *after, int limit, struct arena *a, json_t **items, const char **last,
                             struct problem *p);

#endif
