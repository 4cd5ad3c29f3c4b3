/*
 * db: one contract, run against SQLite (a temp file) and, when
 * TROUPE_TEST_PG_URL is set, against PostgreSQL (a fresh schema per run).
 * TROUPE_TEST_PG_CTL, when set, is a command taking "stop" or "start":
 * the reconnect case stops and restarts the server with it.
 */
#include "db/db_int.h"
#include "t.h"

#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/troupe-test-db-XXXXXX";
static const char *pg_base;

static void t_skip(const char *why)
{
	printf("ok %d # SKIP %s\n", ++t_n, why);
}

/* A database nobody has used: a new SQLite file, or a new PostgreSQL schema. */
static char *fresh_url(enum db_kind kind, const char *name)
{
	struct arena *a;
	struct problem p;
	struct db *admin = NULL;
	struct db_options o = {.url = pg_base, .pool_size = 1};
	char *sql;

	if (kind == DB_SQLITE)
		return xasprintf("sqlite:%s/%s.db", tmpdir, name);
	a = arena_new();
	problem_init(&p, a);
	if (db_open(&o, &admin, &p) == ST_OK) {
		sql = arena_printf(a, "DROP SCHEMA IF EXISTS troupe_test_%s CASCADE", name);
		db_exec1(admin, DB_WRITE, NULL, NULL, sql, DB_NOARGS, &p);
		sql = arena_printf(a, "CREATE SCHEMA troupe_test_%s", name);
		db_exec1(admin, DB_WRITE, NULL, NULL, sql, DB_NOARGS, &p);
	}
	db_close(&admin);
	arena_free(&a);
	return xasprintf("%s%soptions=-csearch_path%%3Dtroupe_test_%s", pg_base, strchr(pg_base, '?') ? "&" : "?",
	                 name);
}

static struct db *open_busy(const char *url, int pool, int busy_ms)
{
	struct db_options o = {.url = url, .pool_size = pool, .busy_timeout_ms = busy_ms};
	struct db *db = NULL;
	struct arena *a = arena_new();
	struct problem p;

	problem_init(&p, a);
	if (db_open(&o, &db, &p) != ST_OK)
		printf("# db_open %s: %s\n", url, p.detail ? p.detail : "?");
	arena_free(&a);
	return db;
}

static struct db *open_url(const char *url, int pool)
{
	return open_busy(url, pool, 0);
}

/* DDL in portable SQL: BLOB becomes BYTEA on PostgreSQL, as in migrations. */
static enum status ddl(struct db *db, const char *sql)
{
	struct arena *a = arena_new();
	struct problem p;
	struct db_conn *c = db_conn_get(db, DB_WRITE);
	enum status st;

	problem_init(&p, a);
	st = db_exec_script(c, db_kind(db) == DB_POSTGRES ? db_sql_pg_types(a, sql) : sql, &p);
	db_conn_put(c);
	arena_free(&a);
	return st;
}

static int64_t count(struct db *db, const char *sql)
{
	struct arena *a = arena_new();
	struct db_res *r = NULL;
	int64_t n = -1;

	if (db_exec1(db, DB_READ, a, &r, sql, DB_NOARGS, NULL) == ST_OK)
		n = db_res_int(r, 0, 0);
	arena_free(&a);
	return n;
}

/* ---- pure functions ---- */

static void test_rewrite(void)
{
	static const struct {
		const char *in, *out;
		int n;
	} cases[] = {
	    {"SELECT ?", "SELECT $1", 1},
	    {"SELECT ?, ?, ?", "SELECT $1, $2, $3", 3},
	    {"SELECT '?', ?", "SELECT '?', $1", 1},
	    {"SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1},
	    {"SELECT \"a?b\" FROM t WHERE x = ?", "SELECT \"a?b\" FROM t WHERE x = $1", 1},
	    {"SELECT \"a\"\"?\" , ?", "SELECT \"a\"\"?\" , $1", 1},
	    {"SELECT ? -- what?\n, ?", "SELECT $1 -- what?\n, $2", 2},
	    {"/* ? */ SELECT ?", "/* ? */ SELECT $1", 1},
	    {"SELECT 'abc?", "SELECT 'abc?", 0},
	    {"", "", 0},
	    {"UPDATE t SET a = ?, b = '' WHERE c = ?", "UPDATE t SET a = $1, b = '' WHERE c = $2", 2},
	};
	struct arena *a = arena_new();

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int n = -1;
		/* Case numbers, not the SQL: one case holds a newline, which TAP cannot. */
		T_EQ_STR(db_sql_pg_params(a, cases[i].in, &n), cases[i].out, "params case %zu", i);
		T_EQ_INT(n, cases[i].n, "params count, case %zu", i);
	}
	static const struct {
		const char *in, *out;
	} types[] = {
	    {"CREATE TABLE t (b BLOB)", "CREATE TABLE t (b BYTEA)"},
	    {"CREATE TABLE t (b blob, blobs TEXT, my_blob Blob)",
	     "CREATE TABLE t (b BYTEA, blobs TEXT, my_blob BYTEA)"},
	    {"INSERT INTO t VALUES ('BLOB') -- BLOB\n", "INSERT INTO t VALUES ('BLOB') -- BLOB\n"},
	    {"CREATE TABLE \"blob\" (x BLOB)", "CREATE TABLE \"blob\" (x BYTEA)"},
	};
	for (size_t i = 0; i < ARRAY_LEN(types); i++)
		T_EQ_STR(db_sql_pg_types(a, types[i].in), types[i].out, "types: %s", types[i].in);
	arena_free(&a);
}

static void test_url(void)
{
	static const struct {
		const char *url;
		int rc;
		enum db_kind kind;
		const char *target;
	} cases[] = {
	    {"sqlite:/tmp/x.db", 0, DB_SQLITE, "/tmp/x.db"},
	    {"sqlite:///tmp/z.db", 0, DB_SQLITE, "/tmp/z.db"},
	    {"sqlite:rel.db", 0, DB_SQLITE, "rel.db"},
	    {"/tmp/y.db", 0, DB_SQLITE, "/tmp/y.db"},
	    {"postgres://u@h/d", 0, DB_POSTGRES, "postgres://u@h/d"},
	    {"postgresql://h:5/d?sslmode=disable", 0, DB_POSTGRES, "postgresql://h:5/d?sslmode=disable"},
	    {"mysql://h/d", -1, DB_SQLITE, NULL},
	    {"sqlite:", -1, DB_SQLITE, NULL},
	    {"", -1, DB_SQLITE, NULL},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum db_kind k = DB_SQLITE;
		const char *t = NULL;
		int rc = db_url_parse(cases[i].url, &k, &t);
		T_EQ_INT(rc, cases[i].rc, "url: %s", cases[i].url);
		if (rc == 0) {
			T_EQ_INT(k, cases[i].kind, "url kind: %s", cases[i].url);
			T_EQ_STR(t, cases[i].target, "url target: %s", cases[i].url);
		}
	}
}

static void test_open_errors(void)
{
	struct arena *a = arena_new();
	struct problem p;
	struct db *db = NULL;
	struct db_options bad = {.url = "mysql://h/d"};
	struct db_options nodir = {.url = "sqlite:/nonexistent-dir-troupe/x.db"};
	/* Port 1: nothing listens, so the connect fails at once. */
	struct db_options down = {.url = "postgres://postgres@127.0.0.1:1/x", .busy_timeout_ms = 1000};

	problem_init(&p, a);
	T_EQ_INT(db_open(&bad, &db, &p), ST_BAD_INPUT, "unknown URL scheme is bad input");
	T_OK(db == NULL && p.hint != NULL, "no handle, and a hint");
	problem_clear(&p);
	T_EQ_INT(db_open(&nodir, &db, &p), ST_UNAVAILABLE, "SQLite in a missing directory is unavailable");
	T_OK(p.detail && !strstr(p.detail, "unable"), "detail carries no driver text: %s", p.detail);
	problem_clear(&p);
	T_EQ_INT(db_open(&down, &db, &p), ST_OK, "PostgreSQL down at start: db_open still succeeds");
	problem_clear(&p);
	T_EQ_INT(db_ping(db, &p), ST_UNAVAILABLE, "and db_ping says unavailable");
	T_EQ_INT(db_exec1(db, DB_READ, NULL, NULL, "SELECT 1", DB_NOARGS, NULL), ST_UNAVAILABLE,
	         "queries say unavailable");
	db_close(&db);
	T_OK(db == NULL, "db_close NULLs the handle");
	arena_free(&a);
}

/* ---- the contract ---- */

static void test_migrate(struct db *db)
{
	struct arena *a = arena_new();
	struct problem p;
	struct db_res *r = NULL;
	int v = -1, latest = db_schema_latest();

	problem_init(&p, a);
	T_OK(latest >= 1, "the binary knows migrations (%d)", latest);
	T_EQ_INT(db_schema_version(db, &v, &p), ST_OK, "schema version of a new database");
	T_EQ_INT(v, 0, "is 0");
	T_EQ_INT(db_migrate(db, &p), ST_OK, "migrate applies");
	T_EQ_INT(db_schema_version(db, &v, &p), ST_OK, "schema version after");
	T_EQ_INT(v, latest, "is the latest");
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM schema_migrations"), latest, "one row per migration");
	T_EQ_INT(db_exec1(db, DB_READ, a, &r, "SELECT name, applied_at FROM schema_migrations WHERE version = 1",
	                  DB_NOARGS, &p),
	         ST_OK, "read the first row");
	T_EQ_STR(db_res_text(r, 0, 0), "init", "its name");
	T_OK(db_res_int(r, 0, 1) > 1700000000000LL, "applied_at is ms since the epoch");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL,
	                  "INSERT INTO instance_settings (key, value, updated_at) VALUES (?, ?, ?)",
	                  DB_ARGS(db_text("k"), db_text("v"), db_int(1)), &p),
	         ST_OK, "the migrated table is usable");
	T_EQ_INT(db_migrate(db, &p), ST_OK, "migrate again");
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM schema_migrations"), latest, "is a no-op");

	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL,
	                  "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)",
	                  DB_ARGS(db_int(latest + 1)), &p),
	         ST_OK, "record a newer version");
	problem_clear(&p);
	T_EQ_INT(db_migrate(db, &p), ST_CONFLICT, "a newer database is refused");
	T_OK(p.detail && strstr(p.detail, "newer troupe"), "detail says why: %s", p.detail);
	T_OK(p.hint && strstr(p.hint, "backup"), "hint says what to do: %s", p.hint);
	T_EQ_INT(db_schema_version(db, &v, NULL), ST_OK, "version still readable");
	T_EQ_INT(v, latest + 1, "and reported as recorded");
	db_exec1(db, DB_WRITE, NULL, NULL, "DELETE FROM schema_migrations WHERE version = ?",
	         DB_ARGS(db_int(latest + 1)), NULL);
	arena_free(&a);
}

static void test_migrate_list(struct db *db)
{
	static const struct db_migration list[] = {
	    {1, "a",
	     "CREATE TABLE m_a (id TEXT PRIMARY KEY, data BLOB);\n"
	     "-- a comment with ; and ? and BLOB\n"
	     "CREATE TABLE m_b (x INTEGER NOT NULL);\n"},
	    {2, "b", "INSERT INTO m_b (x) VALUES (1); INSERT INTO m_b (x) VALUES (2);"},
	    {0, 0, 0},
	};
	static const struct db_migration broken[] = {
	    {1, "a", "CREATE TABLE m_a (id TEXT PRIMARY KEY, data BLOB);"},
	    {2, "b", "INSERT INTO m_b (x) VALUES (1); INSERT INTO m_b (x) VALUES (2);"},
	    {3, "c", "CREATE TABLE m_c (x INTEGER); INSERT INTO no_such_table VALUES (1);"},
	    {0, 0, 0},
	};
	struct arena *a = arena_new();
	struct problem p;
	struct db_res *r = NULL;
	size_t len = 0;
	int v = -1;

	problem_init(&p, a);
	T_EQ_INT(db_migrate_list(db, list, &p), ST_OK, "multi-statement migrations apply");
	T_EQ_INT(db_schema_version(db, &v, &p), ST_OK, "version");
	T_EQ_INT(v, 2, "is 2");
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM m_b"), 2, "both statements of migration 2 ran");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "INSERT INTO m_a (id, data) VALUES ('x', ?)",
	                  DB_ARGS(db_blob("\0\1", 2)), &p),
	         ST_OK, "BLOB column takes bytes");
	T_EQ_INT(db_exec1(db, DB_READ, a, &r, "SELECT data FROM m_a", DB_NOARGS, &p), ST_OK, "read them");
	const char *b = db_res_blob(r, 0, 0, &len);
	T_OK(len == 2 && b && b[0] == 0 && b[1] == 1, "bytes come back (len %zu)", len);
	problem_clear(&p);
	T_OK(db_migrate_list(db, broken, &p) != ST_OK, "a failing migration fails");
	T_EQ_STR(p.detail, "database error", "with a generic detail");
	T_EQ_INT(db_schema_version(db, &v, NULL), ST_OK, "version");
	T_EQ_INT(v, 2, "stays at 2");
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM m_c"), -1, "its first statement was rolled back too");
	arena_free(&a);
}

static void test_types(struct db *db)
{
	static const char blob[] = {'a', 0, 'b', 0, (char) 0xff};
	const char *uni = "h\xc3\xa9llo \xe2\x86\x92 \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8e\x89 'quoted' \"dq\"";
	struct arena *a = arena_new();
	struct problem p;
	struct db_res *r = NULL;
	size_t len = 0;

	problem_init(&p, a);
	T_EQ_INT(ddl(db, "CREATE TABLE rt (id INTEGER PRIMARY KEY, t TEXT, i BIGINT, d DOUBLE PRECISION, b BLOB, "
	                 "n TEXT)"),
	         ST_OK, "create the round-trip table");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "INSERT INTO rt (id, t, i, d, b, n) VALUES (?, ?, ?, ?, ?, ?)",
	                  DB_ARGS(db_int(1), db_text(uni), db_int(INT64_MAX), db_real(3.141592653589793),
	                          db_blob(blob, sizeof(blob)), db_null()),
	                  &p),
	         ST_OK, "insert row 1");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "INSERT INTO rt (id, t, i, d, b, n) VALUES (?, ?, ?, ?, ?, ?)",
	                  DB_ARGS(db_int(2), db_text(""), db_int(INT64_MIN), db_real(-1.5e-300), db_blob("", 0),
	                          db_text(NULL)),
	                  &p),
	         ST_OK, "insert row 2");
	T_EQ_INT(db_exec1(db, DB_READ, a, &r, "SELECT t, i, d, b, n FROM rt ORDER BY id", DB_NOARGS, &p), ST_OK,
	         "select");
	T_EQ_INT(db_res_rows(r), 2, "rows");
	T_EQ_INT(db_res_cols(r), 5, "cols");
	T_EQ_STR(db_res_name(r, 3), "b", "column name");
	T_EQ_STR(db_res_text(r, 0, 0), uni, "unicode text");
	T_OK(db_res_int(r, 0, 1) == INT64_MAX, "INT64_MAX");
	T_OK(db_res_int(r, 1, 1) == INT64_MIN, "INT64_MIN");
	T_OK(db_res_real(r, 0, 2) == 3.141592653589793, "double exact");
	T_OK(db_res_real(r, 1, 2) == -1.5e-300, "tiny double exact");
	const char *b = db_res_blob(r, 0, 3, &len);
	T_OK(len == sizeof(blob) && b && memcmp(b, blob, len) == 0, "blob with NUL bytes (len %zu)", len);
	b = db_res_blob(r, 1, 3, &len);
	T_OK(b && len == 0 && !db_res_null(r, 1, 3), "empty blob is not NULL");
	T_OK(db_res_null(r, 0, 4) && db_res_text(r, 0, 4) == NULL, "NULL");
	T_OK(db_res_null(r, 1, 4), "db_text(NULL) is NULL");
	T_EQ_STR(db_res_text(r, 1, 0), "", "empty text is not NULL");
	T_OK(!db_res_null(r, 1, 0), "empty text is not NULL (flag)");
	T_EQ_STR(db_res_text(r, 0, 1), "9223372036854775807", "int as text");
	T_OK(db_res_null(r, 5, 0) && db_res_text(r, 0, 9) == NULL && db_res_int(r, -1, 0) == 0,
	     "out of range is NULL/0");
	T_EQ_INT(db_exec1(db, DB_READ, a, &r, "SELECT ? AS x, 1 = 1 AS yes", DB_ARGS(db_int(42)), &p), ST_OK,
	         "select a parameter");
	T_EQ_INT(db_res_int(r, 0, 0), 42, "an int parameter reads back as int");
	T_EQ_INT(db_res_int(r, 0, 1), 1, "a boolean reads as 1");
	T_EQ_INT(db_exec1(db, DB_READ, a, &r, "SELECT '?' AS q, 'it''s ?' AS s, ? AS v", DB_ARGS(db_text("x")), &p),
	         ST_OK, "? inside literals is not a placeholder");
	T_EQ_STR(db_res_text(r, 0, 0), "?", "literal ?");
	T_EQ_STR(db_res_text(r, 0, 1), "it's ?", "literal with quote");
	T_EQ_STR(db_res_text(r, 0, 2), "x", "real placeholder");
	problem_clear(&p);
	T_EQ_INT(db_exec1(db, DB_READ, a, &r, "SELECT ?, ?", DB_ARGS(db_int(1)), &p), ST_INTERNAL,
	         "too few arguments is an error");
	T_EQ_INT(db_exec1(db, DB_READ, a, &r, "SELEKT 1", DB_NOARGS, NULL), ST_INTERNAL, "a syntax error");
	T_EQ_STR(p.detail, "database error", "detail is generic");
	arena_free(&a);
}

static void test_conflicts(struct db *db)
{
	struct arena *a = arena_new();
	struct problem p;

	problem_init(&p, a);
	T_EQ_INT(ddl(db, "CREATE TABLE parent (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	                 "CREATE TABLE child (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parent(id))"),
	         ST_OK, "create parent and child");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)",
	                  DB_ARGS(db_text("p1"), db_text("one")), &p),
	         ST_OK, "insert a parent");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)",
	                  DB_ARGS(db_text("p2"), db_text("one")), &p),
	         ST_CONFLICT, "unique violation is a conflict");
	T_EQ_STR(p.detail, "conflicts with an existing record", "with a generic detail");
	problem_clear(&p);
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "INSERT INTO parent (id, name) VALUES (?, ?)",
	                  DB_ARGS(db_text("p1"), db_text("two")), &p),
	         ST_CONFLICT, "primary key violation is a conflict");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "INSERT INTO child (id, parent_id) VALUES (?, ?)",
	                  DB_ARGS(db_text("c1"), db_text("nope")), &p),
	         ST_CONFLICT, "foreign key violation is a conflict");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "INSERT INTO child (id, parent_id) VALUES (?, ?)",
	                  DB_ARGS(db_text("c1"), db_text("p1")), &p),
	         ST_OK, "a child of an existing parent");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "DELETE FROM parent WHERE id = ?", DB_ARGS(db_text("p1")), &p),
	         ST_CONFLICT, "deleting a referenced parent is a conflict");
	arena_free(&a);
}

struct tx_ctx {
	const char *a, *b;
	enum status fail;
};

static enum status tx_insert_two(struct db_conn *c, void *ctx, struct problem *p)
{
	struct tx_ctx *t = ctx;
	enum status st;

	st = db_query(c, NULL, NULL, "INSERT INTO txt (k) VALUES (?)", DB_ARGS(db_text(t->a)), p);
	if (st != ST_OK)
		return st;
	st = db_query(c, NULL, NULL, "INSERT INTO txt (k) VALUES (?)", DB_ARGS(db_text(t->b)), p);
	if (st != ST_OK)
		return st;
	if (t->fail != ST_OK)
		return problem_set(p, t->fail, "the caller changed its mind");
	return ST_OK;
}

static void test_tx(struct db *db)
{
	struct arena *a = arena_new();
	struct problem p;
	struct tx_ctx ok = {"a", "b", ST_OK}, no = {"c", "d", ST_BAD_INPUT}, dup = {"e", "a", ST_OK};
	struct db_conn *c;

	problem_init(&p, a);
	T_EQ_INT(ddl(db, "CREATE TABLE txt (k TEXT PRIMARY KEY)"), ST_OK, "create txt");
	T_EQ_INT(db_tx(db, tx_insert_two, &ok, &p), ST_OK, "db_tx commits");
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM txt"), 2, "both rows written");
	T_EQ_INT(db_tx(db, tx_insert_two, &no, &p), ST_BAD_INPUT, "a failing fn's status comes back");
	T_EQ_STR(p.detail, "the caller changed its mind", "with its problem");
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM txt"), 2, "and nothing of it is written");
	problem_clear(&p);
	T_EQ_INT(db_tx(db, tx_insert_two, &dup, &p), ST_CONFLICT, "a conflict half-way");
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM txt WHERE k = 'e'"), 0, "rolls back the first insert");

	c = db_conn_get(db, DB_WRITE);
	T_EQ_INT(db_query(c, NULL, NULL, "UPDATE txt SET k = k || 'x'", DB_NOARGS, NULL), ST_OK, "update all");
	T_EQ_INT(db_changes(c), 2, "db_changes counts the rows updated");
	db_query(c, NULL, NULL, "DELETE FROM txt WHERE k = 'none'", DB_NOARGS, NULL);
	T_EQ_INT(db_changes(c), 0, "a delete of nothing changes 0");
	db_query(c, NULL, NULL, "INSERT INTO txt (k) VALUES ('z')", DB_NOARGS, NULL);
	T_EQ_INT(db_changes(c), 1, "an insert changes 1");
	db_query(c, a, NULL, "SELECT * FROM txt", DB_NOARGS, NULL);
	T_EQ_INT(db_changes(c), 0, "a select changes 0");
	/* A transaction left open is rolled back when the connection goes back. */
	db_query(c, NULL, NULL, c->db->drv->begin_sql, DB_NOARGS, NULL);
	db_query(c, NULL, NULL, "INSERT INTO txt (k) VALUES ('left-open')", DB_NOARGS, NULL);
	db_conn_put(c);
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM txt WHERE k = 'left-open'"), 0,
	         "an open transaction is rolled back on put");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "INSERT INTO txt (k) VALUES ('after')", DB_NOARGS, NULL), ST_OK,
	         "and the writer is usable after");
	arena_free(&a);
}

struct retry_ctx {
	int calls;
	int fail_calls; /* calls that end in a forced serialization failure */
};

static enum status tx_retry(struct db_conn *c, void *ctx, struct problem *p)
{
	struct retry_ctx *r = ctx;
	enum status st;

	r->calls++;
	st = db_query(c, NULL, NULL, "INSERT INTO txr (n) VALUES (?)", DB_ARGS(db_int(r->calls)), p);
	if (st != ST_OK || r->calls > r->fail_calls)
		return st;
	/* What PostgreSQL says when two transactions cannot both commit. */
	return db_query(c, NULL, NULL, "DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '40001'; END $$",
	                DB_NOARGS, p);
}

struct holder {
	struct db *db;
	struct db_conn *c;
	int hold_ms;
};

static void *holder_run(void *arg)
{
	struct holder *h = arg;
	struct timespec ts = {h->hold_ms / 1000, (long) (h->hold_ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
	db_query(h->c, NULL, NULL, "ROLLBACK", DB_NOARGS, NULL);
	db_conn_put(h->c);
	return NULL;
}

static void test_retry(struct db *db, const char *url)
{
	struct arena *a = arena_new();
	struct problem p;
	struct retry_ctx once = {.fail_calls = 1}, always = {.fail_calls = 100};

	problem_init(&p, a);
	T_EQ_INT(ddl(db, "CREATE TABLE txr (n INTEGER)"), ST_OK, "create txr");
	if (db_kind(db) == DB_POSTGRES) {
		T_EQ_INT(db_tx(db, tx_retry, &once, &p), ST_OK, "a serialization failure is retried");
		T_EQ_INT(once.calls, 2, "fn ran twice");
		T_EQ_INT(count(db, "SELECT COUNT(*) FROM txr"), 1, "only the second run's write is kept");
		problem_clear(&p);
		T_EQ_INT(db_tx(db, tx_retry, &always, &p), ST_UNAVAILABLE, "retries give up");
		T_EQ_INT(always.calls, 5, "after 5 tries");
		T_EQ_STR(p.detail, "the database is busy; try again", "and say busy");
		T_EQ_INT(count(db, "SELECT COUNT(*) FROM txr"), 1, "leaving nothing written");
		arena_free(&a);
		return;
	}
	/* SQLite: another handle on the file (as another process would) holds
	 * the write lock; a short busy_timeout makes BEGIN IMMEDIATE give up. */
	struct db *other = open_url(url, 1), *quick = open_busy(url, 1, 20);
	struct holder h = {.db = other, .hold_ms = 60};
	pthread_t th;
	int64_t t0;

	h.c = db_conn_get(other, DB_WRITE);
	T_EQ_INT(db_query(h.c, NULL, NULL, "BEGIN IMMEDIATE", DB_NOARGS, NULL), ST_OK, "another writer takes the lock");
	pthread_create(&th, NULL, holder_run, &h);
	t0 = time_mono_us();
	once.fail_calls = 0;
	T_EQ_INT(db_tx(quick, tx_retry, &once, &p), ST_OK, "busy is retried until the lock is free");
	T_OK(time_mono_us() - t0 >= 40000, "it did wait for the lock");
	T_EQ_INT(once.calls, 1, "fn ran once: BEGIN was the busy part");
	pthread_join(th, NULL);
	h.c = db_conn_get(other, DB_WRITE);
	db_query(h.c, NULL, NULL, "BEGIN IMMEDIATE", DB_NOARGS, NULL);
	problem_clear(&p);
	always.fail_calls = 0;
	T_EQ_INT(db_tx(quick, tx_retry, &always, &p), ST_UNAVAILABLE, "a lock held throughout gives up");
	T_EQ_STR(p.detail, "the database is busy; try again", "and says busy");
	T_EQ_INT(always.calls, 0, "fn never ran");
	db_query(h.c, NULL, NULL, "ROLLBACK", DB_NOARGS, NULL);
	db_conn_put(h.c);
	db_close(&other);
	db_close(&quick);
	arena_free(&a);
}

static enum status tx_incr(struct db_conn *c, void *ctx UNUSED, struct problem *p)
{
	return db_query(c, NULL, NULL, "UPDATE counter SET n = n + 1 WHERE id = 1", DB_NOARGS, p);
}

struct worker {
	struct db *db;
	int ok;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 50; i++)
		w->ok += db_tx(w->db, tx_incr, NULL, NULL) == ST_OK;
	return NULL;
}

static void test_concurrent(struct db *db)
{
	struct worker w[4];
	pthread_t th[4];
	int ok = 0;

	T_EQ_INT(ddl(db, "CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);"
	                 "INSERT INTO counter (id, n) VALUES (1, 0)"),
	         ST_OK, "create the counter");
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.db = db};
		pthread_create(&th[i], NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok += w[i].ok;
	}
	T_EQ_INT(ok, 200, "4 threads x 50 transactions all commit");
	T_EQ_INT(count(db, "SELECT n FROM counter WHERE id = 1"), 200, "the counter is exact");
}

struct getter {
	struct db *db;
	struct db_conn *c;
	int64_t waited_us;
};

static void *getter_run(void *arg)
{
	struct getter *g = arg;
	int64_t t0 = time_mono_us();

	g->c = db_conn_get(g->db, DB_READ);
	g->waited_us = time_mono_us() - t0;
	db_conn_put(g->c);
	return NULL;
}

static void test_pool(const char *url, enum db_kind kind)
{
	struct db *db = open_url(url, 2);
	struct db_conn *c1, *c2, *c3;
	struct getter g = {.db = db};
	struct db_stats s;
	struct timespec pause = {0, 200 * 1000000L};
	pthread_t th;

	if (!db) {
		T_OK(0, "open a pool of 2");
		return;
	}
	db_stats(db, &s);
	T_EQ_INT(s.size, kind == DB_SQLITE ? 3 : 2, "size: %s", kind == DB_SQLITE ? "writer + 2 readers" : "2");
	c1 = db_conn_get(db, DB_READ);
	c2 = db_conn_get(db, DB_READ);
	T_OK(c1 && c2 && c1 != c2, "two connections");
	db_stats(db, &s);
	T_EQ_INT(s.in_use, 2, "in_use");
	T_OK(s.open >= 2, "open (%d)", s.open);
	T_EQ_INT(s.waits, 0, "no waits yet");
	pthread_create(&th, NULL, getter_run, &g);
	nanosleep(&pause, NULL);
	db_conn_put(c1);
	pthread_join(th, NULL);
	T_OK(g.c != NULL, "a third get waits, then proceeds");
	T_OK(g.waited_us >= 150000, "it waited (%lld us)", (long long) g.waited_us);
	db_stats(db, &s);
	T_EQ_INT(s.waits, 1, "the wait is counted");
	T_EQ_INT(s.in_use, 1, "in_use after put");

	db_pool_wait_set(db, 100);
	c1 = db_conn_get(db, DB_READ);
	int64_t t0 = time_mono_us();
	c3 = db_conn_get(db, DB_READ);
	int64_t took = time_mono_us() - t0;
	T_OK(c3 == NULL, "an exhausted pool gives NULL after its wait");
	T_OK(took >= 90000 && took < 2000000, "after about the wait (%lld us)", (long long) took);
	db_stats(db, &s);
	T_EQ_INT(s.errors, 1, "the timeout is counted as an error");
	T_EQ_INT(db_exec1(db, DB_READ, NULL, NULL, "SELECT 1", DB_NOARGS, NULL), ST_UNAVAILABLE,
	         "db_exec1 on an exhausted pool is unavailable");
	db_conn_put(c1);
	db_conn_put(c2);
	db_conn_put(c3);
	db_stats(db, &s);
	T_EQ_INT(s.in_use, 0, "all back");
	db_close(&db);
}

static void test_readers(struct db *db)
{
	struct arena *a = arena_new();
	struct db_res *r = NULL;
	struct db_conn *rd = db_conn_get(db, DB_READ);

	T_EQ_INT(ddl(db, "CREATE TABLE seen (v INTEGER)"), ST_OK, "create seen");
	T_EQ_INT(db_query(rd, a, &r, "SELECT COUNT(*) FROM seen", DB_NOARGS, NULL), ST_OK, "a reader reads");
	T_EQ_INT(db_res_int(r, 0, 0), 0, "nothing yet");
	T_EQ_INT(db_exec1(db, DB_WRITE, NULL, NULL, "INSERT INTO seen (v) VALUES (7)", DB_NOARGS, NULL), ST_OK,
	         "the writer writes");
	T_EQ_INT(db_query(rd, a, &r, "SELECT v FROM seen", DB_NOARGS, NULL), ST_OK, "the same reader again");
	T_EQ_INT(db_res_int(r, 0, 0), 7, "sees the committed write");
	if (db_kind(db) == DB_SQLITE) {
		T_OK(db_query(rd, NULL, NULL, "INSERT INTO seen (v) VALUES (8)", DB_NOARGS, NULL) != ST_OK,
		     "an SQLite reader cannot write");
	}
	db_conn_put(rd);
	arena_free(&a);
}

static void test_stats_ping(struct db *db)
{
	struct db_stats s0, s1;

	T_EQ_INT(db_ping(db, NULL), ST_OK, "ping");
	db_stats(db, &s0);
	db_exec1(db, DB_READ, NULL, NULL, "SELECT * FROM no_such_table", DB_NOARGS, NULL);
	db_stats(db, &s1);
	T_EQ_INT(s1.errors, s0.errors + 1, "a failed statement is counted");
	T_EQ_INT(s1.in_use, 0, "nothing left in use");
}

static void test_reconnect(struct db *db, const char *ctl)
{
	char *cmd;
	int rc;

	cmd = xasprintf("%s stop", ctl);
	rc = system(cmd);
	free(cmd);
	T_EQ_INT(rc, 0, "stop PostgreSQL");
	T_EQ_INT(db_ping(db, NULL), ST_UNAVAILABLE, "ping while it is down");
	cmd = xasprintf("%s start", ctl);
	rc = system(cmd);
	free(cmd);
	T_EQ_INT(rc, 0, "start PostgreSQL");
	T_EQ_INT(db_ping(db, NULL), ST_OK, "ping after it is back, without reopening");
	T_EQ_INT(count(db, "SELECT COUNT(*) FROM schema_migrations"), db_schema_latest(), "queries work again");
}

static void contract(enum db_kind kind)
{
	const char *name = kind == DB_SQLITE ? "sqlite" : "postgres";
	char *url = fresh_url(kind, "main"), *url2 = fresh_url(kind, "mig");
	struct db *db = open_url(url, 3), *db2 = open_url(url2, 2);
	struct problem p;
	struct arena *a = arena_new();

	printf("# contract: %s\n", name);
	problem_init(&p, a);
	T_OK(db != NULL && db2 != NULL, "%s: open", name);
	if (!db || !db2)
		goto out;
	T_EQ_INT(db_kind(db), kind, "%s: kind", name);
	T_EQ_STR(db_kind_name(db), name, "kind name");
	T_EQ_INT(db_ping(db, &p), ST_OK, "%s: ping", name);
	test_migrate(db);
	test_migrate_list(db2);
	test_types(db);
	test_conflicts(db);
	test_tx(db);
	test_retry(db, url);
	test_concurrent(db);
	test_readers(db);
	test_stats_ping(db);
	test_pool(url, kind);
	if (kind == DB_POSTGRES && getenv("TROUPE_TEST_PG_CTL"))
		test_reconnect(db, getenv("TROUPE_TEST_PG_CTL"));
	else if (kind == DB_POSTGRES)
		t_skip("no TROUPE_TEST_PG_CTL: reconnect not tested");
out:
	db_close(&db);
	db_close(&db2);
	free(url);
	free(url2);
	arena_free(&a);
}

int main(void)
{
	core_init();
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_rewrite();
	test_url();
	test_open_errors();
	contract(DB_SQLITE);
	pg_base = getenv("TROUPE_TEST_PG_URL");
	if (pg_base && *pg_base)
		contract(DB_POSTGRES);
	else
		t_skip("no PostgreSQL (set TROUPE_TEST_PG_URL)");
	char *rm = xasprintf("rm -rf '%s'", tmpdir);
	if (system(rm) != 0)
		printf("# could not remove %s\n", tmpdir);
	free(rm);
	return t_done();
}
