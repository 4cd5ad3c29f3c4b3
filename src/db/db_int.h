/* db's private header: the driver vtable, the pool's structs and the
 * embedded migrations. Only src/db/ and its tests include it. */
#ifndef TROUPE_DB_INT_H
#define TROUPE_DB_INT_H

#include "db.h"

#include <pthread.h>

struct db_migration {
	int version;
	const char *name;
	const char *sql;
};
/* Generated at build time; terminated by version 0. */
extern const struct db_migration db_migrations[];

/* What a driver says about a failure; db.c turns it into a status. */
enum db_err_kind {
	DB_E_OTHER,       /* ST_INTERNAL */
	DB_E_CONFLICT,    /* unique or foreign-key violation: ST_CONFLICT */
	DB_E_RETRY,       /* busy, deadlock, serialization failure: db_tx runs again */
	DB_E_UNAVAILABLE, /* the connection is gone or cannot be made */
};
struct db_err {
	enum db_err_kind kind;
	char code[16]; /* SQLSTATE or SQLite's extended code, for the log */
	char msg[512]; /* the driver's text: log only */
};

/* One cell of a result, read whole; p is NUL-terminated in every type but
 * NULL, so text access works on numbers and blobs too. */
struct db_cell {
	enum db_type type;
	size_t n;
	const char *p;
	int64_t i;
	double d;
};
struct db_res {
	int rows;
	int cols;
	const char **names;
	struct db_cell *cells; /* rows * cols, row-major */
};

struct db_conn {
	struct db *db;
	bool writer; /* SQLite's one writer connection */
	bool in_use; /* under db->mu */
	bool open;   /* the driver handle is live */
	bool bad;    /* broken: reopen before the next use */
	bool retry;  /* a statement failed with DB_E_RETRY since db_tx began */
	int64_t changes;
	void *h; /* driver state */
};

struct db_driver {
	const char *name;
	enum db_kind kind;
	const char *begin_sql; /* how db_tx starts a transaction */
	/* Whole-pool setup at db_open (SQLite opens its files here). */
	enum status (*open)(struct db *db, struct problem *p);
	int (*conn_open)(struct db_conn *c, struct db_err *e);
	void (*conn_close)(struct db_conn *c);
	/* Cheap check when a connection is handed out; marks c->bad. */
	void (*conn_check)(struct db_conn *c);
	/* Called on db_conn_put: rolls back a transaction left open. */
	void (*conn_release)(struct db_conn *c);
	/* sql already has the driver's placeholders. */
	int (*query)(struct db_conn *c, struct arena *a, struct db_res **out, const char *sql,
	             const struct db_arg *args, size_t nargs, struct db_err *e);
	/* Several statements, no parameters, no rows (migrations). */
	int (*exec_script)(struct db_conn *c, const char *sql, struct db_err *e);
};
extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_pg_driver;

struct db {
	const struct db_driver *drv;
	char *target; /* SQLite: file path; PostgreSQL: the URL as given */
	int busy_timeout_ms;
	int wait_ms; /* how long db_conn_get waits for a free connection */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* signalled when a connection is put back */
	int nconns;
	int nreaders; /* SQLite: conns[1..nreaders] read, conns[0] writes */
	struct db_conn *conns;
	uint64_t waits;  /* under mu */
	uint64_t errors; /* atomic */
};

/* Splits a database URL: kind and the driver's target (a path for SQLite,
 * the URL itself for PostgreSQL). -1 when the URL is not one we know. */
int db_url_parse(const char *url, enum db_kind *kind, const char **target);
/* `?` → `$1..$n` outside literals, quoted identifiers and comments. */
char *db_sql_pg_params(struct arena *a, const char *sql, int *nparams);
/* Whole-word BLOB → BYTEA outside literals and comments (migrations only). */
char *db_sql_pg_types(struct arena *a, const char *sql);
/* Reports a driver failure: the log gets the driver's text, p a generic one. */
enum status db_fail(struct db *db, const struct db_err *e, const char *sql, struct problem *p);
/* Runs a multi-statement script on c (migrations). */
enum status db_exec_script(struct db_conn *c, const char *sql, struct problem *p);
/* For tests: how long db_conn_get waits before it gives up. */
void db_pool_wait_set(struct db *db, int ms);
/* Migrations from a given list (db_migrate uses db_migrations). */
enum status db_migrate_list(struct db *db, const struct db_migration *list, struct problem *p);
int db_migrations_latest(const struct db_migration *list);

#endif
