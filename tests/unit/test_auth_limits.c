/* auth limits (src/auth/limits.c): window settings, and the counters in
 * the database, on SQLite and, when TROUPE_TEST_PG_URL is set, on
 * PostgreSQL: counting, a refused attempt counting nowhere, reset,
 * give-back, a window starting again, pruning, and concurrent attempts
 * that never get past the count. */
#include "auth/auth_int.h"
#include "core/core.h"
#include "t.h"

#include <pthread.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/troupe-test-limits-XXXXXX";

static void test_window_parse(void)
{
	struct {
		const char *s;
		int rc;
		int64_t count, window_ms;
	} cases[] = {
	    {"10/15min", 0, 10, 900000},
	    {"30/hour", 0, 30, 3600000},
	    {"3/2s", 0, 3, 2000},
	    {"5/m", 0, 5, 60000},
	    {"1/168h", 0, 1, 604800000},
	    {"1/169h", -1, 0, 0},
	    {"0/15min", -1, 0, 0},
	    {"-1/min", -1, 0, 0},
	    {"+3/min", -1, 0, 0},
	    {" 3/min", -1, 0, 0},
	    {"3/0min", -1, 0, 0},
	    {"3/15", -1, 0, 0},
	    {"3/15fortnights", -1, 0, 0},
	    {"3", -1, 0, 0},
	    {"", -1, 0, 0},
	    {"3/min ", -1, 0, 0},
	    {"10/15 min", -1, 0, 0},
	    {"99999999999/min", -1, 0, 0},
	    {"3/9999999999s", -1, 0, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct auth_window w = {0};
		int rc = auth_window_parse(cases[i].s, &w);
		T_EQ_INT(rc, cases[i].rc, "parse \"%s\"", cases[i].s);
		if (rc == 0 && cases[i].rc == 0)
			T_OK(w.count == cases[i].count && w.window_ms == cases[i].window_ms, "\"%s\": %lld per %lld ms",
			     cases[i].s, (long long) w.count, (long long) w.window_ms);
	}
	T_EQ_INT(auth_window_parse(NULL, &(struct auth_window){0}), -1, "parse NULL");
}

/* A new SQLite file, or a new PostgreSQL schema, migrated. */
static struct db *fresh_db(const char *pg_base, const char *name)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	char *url;
	if (!pg_base) {
		url = xasprintf("sqlite:%s/%s.db", tmpdir, name);
	} else {
		struct db *admin = NULL;
		struct db_options o = {.url = pg_base, .pool_size = 1};
		if (db_open(&o, &admin, &p) == ST_OK) {
			db_exec1(admin, DB_WRITE, NULL, NULL,
			         arena_printf(a, "DROP SCHEMA IF EXISTS troupe_test_%s CASCADE", name), DB_NOARGS, &p);
			db_exec1(admin, DB_WRITE, NULL, NULL, arena_printf(a, "CREATE SCHEMA troupe_test_%s", name),
			         DB_NOARGS, &p);
		}
		db_close(&admin);
		url = xasprintf("%s%soptions=-csearch_path%%3Dtroupe_test_%s", pg_base,
		                strchr(pg_base, '?') ? "&" : "?", name);
	}
	struct db_options o = {.url = url, .pool_size = 8};
	struct db *db = NULL;
	if (db_open(&o, &db, &p) != ST_OK || db_migrate(db, &p) != ST_OK) {
		printf("# cannot open %s: %s\n", url, p.detail ? p.detail : "?");
		db_close(&db);
	}
	free(url);
	arena_free(&a);
	return db;
}

static int64_t query_int(struct db *db, const char *sql, const struct db_arg *args, size_t n)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	struct db_res *r = NULL;
	int64_t v = -1;
	if (db_exec1(db, DB_READ, a, &r, sql, args, n, &p) == ST_OK && db_res_rows(r) == 1)
		v = db_res_int(r, 0, 0);
	arena_free(&a);
	return v;
}

static int64_t stored_hits(struct db *db, const struct limit_key *k)
{
	return query_int(db,
	                 "SELECT COALESCE(SUM(hits), -1) FROM auth_limit_counters WHERE scope = ? AND subject_hash = ?",
	                 DB_ARGS(db_text(k->scope), db_text(k->hash)));
}

static struct auth *new_auth(struct db *db, const char *account)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	struct auth_options o = {.secret = "0123456789abcdef0123456789abcdef-limits", .login_account = account};
	struct auth *au = NULL;
	if (auth_new(db, &o, &au, &p) != ST_OK)
		printf("# auth_new: %s\n", p.detail ? p.detail : "?");
	arena_free(&a);
	return au;
}

static void test_counters(struct db *db, const char *label)
{
	struct arena *ar = arena_new();
	struct problem p;
	problem_init(&p, ar);
	struct auth *a = new_auth(db, "3/1s");
	struct limit_key k, addr, g;
	int retry = 0;
	auth_limit_key(a, &k, "login_account", &a->login_account, "someone@example.test");
	auth_limit_key(a, &addr, "login_address", &a->login_address, "192.0.2.7");

	for (int i = 1; i <= 3; i++) {
		T_EQ_INT(auth_limits_hit(a, ar, &k, 1, &retry, &p), ST_OK, "%s: attempt %d counted", label, i);
		T_EQ_INT(k.hits, i, "%s: its number in the window", label);
	}
	T_EQ_INT(auth_limits_hit(a, ar, &k, 1, &retry, &p), ST_RATE_LIMITED, "%s: the 4th of 3/1s is refused", label);
	T_EQ_INT(retry, 1, "%s: retry when the 1 s window ends", label);
	T_EQ_INT(stored_hits(db, &k), 3, "%s: a refused attempt is not counted", label);
	T_EQ_INT(
	    query_int(db, "SELECT COUNT(*) FROM auth_limit_counters WHERE subject_hash LIKE '%example%'", DB_NOARGS), 0,
	    "%s: the subject is stored as a hash only", label);

	/* Two keys, one over its count: neither counts. */
	struct limit_key both[2] = {addr, k};
	T_EQ_INT(auth_limits_hit(a, ar, both, 2, &retry, &p), ST_RATE_LIMITED, "%s: refused when one key is over",
	         label);
	T_OK(both[1].hits > both[1].w->count && both[0].hits <= both[0].w->count, "%s: the caller sees which one",
	     label);
	T_EQ_INT(stored_hits(db, &addr), -1, "%s: the other key was rolled back too", label);

	/* A success resets one key and gives back one attempt of another. */
	T_EQ_INT(auth_limits_success(a, &k, NULL, &p), ST_OK, "%s: reset", label);
	T_EQ_INT(stored_hits(db, &k), -1, "%s: reset deletes the count", label);
	T_EQ_INT(auth_limits_hit(a, ar, &k, 1, &retry, &p), ST_OK, "%s: counting starts again", label);
	T_EQ_INT(k.hits, 1, "%s: from one", label);
	auth_limit_key(a, &g, "login_address", &a->login_address, "192.0.2.8");
	auth_limits_hit(a, ar, &g, 1, &retry, &p);
	auth_limits_hit(a, ar, &g, 1, &retry, &p);
	T_EQ_INT(g.hits, 2, "%s: two on the address", label);
	T_EQ_INT(auth_limits_success(a, NULL, &g, &p), ST_OK, "%s: give back", label);
	T_EQ_INT(stored_hits(db, &g), 1, "%s: one attempt given back", label);
	struct limit_key stale = g;
	stale.window_end_ms -= 1;
	auth_limits_success(a, NULL, &stale, &p);
	T_EQ_INT(stored_hits(db, &g), 1, "%s: nothing given back to another window", label);

	/* The window ends: counting starts again at one. */
	usleep(1100 * 1000);
	T_EQ_INT(auth_limits_hit(a, ar, &k, 1, &retry, &p), ST_OK, "%s: after the window", label);
	T_EQ_INT(k.hits, 1, "%s: a new window", label);

	/* Pruning: ended windows go, at most once a minute per process. */
	int64_t past = time_now_ms() - 1000;
	const char *ins = "INSERT INTO auth_limit_counters (scope, subject_hash, hits, window_end) VALUES (?, ?, 1, ?)";
	db_exec1(db, DB_WRITE, ar, NULL, ins, DB_ARGS(db_text("login_account"), db_text("old-1"), db_int(past)), &p);
	auth_limits_hit(a, ar, &g, 1, &retry, &p);
	T_EQ_INT(query_int(db, "SELECT COUNT(*) FROM auth_limit_counters WHERE subject_hash = 'old-1'", DB_NOARGS), 1,
	         "%s: not pruned again within the minute", label);
	a->limits_pruned_ms = 0;
	auth_limits_hit(a, ar, &g, 1, &retry, &p);
	T_EQ_INT(query_int(db, "SELECT COUNT(*) FROM auth_limit_counters WHERE window_end <= ?",
	                   DB_ARGS(db_int(time_now_ms()))),
	         0, "%s: every ended window pruned", label);
	T_EQ_INT(stored_hits(db, &g), 3, "%s: live windows kept (1 + 2 attempts)", label);
	auth_free(&a);
	arena_free(&ar);
}

struct racer {
	struct auth *a;
	int ok, refused, other;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	for (int i = 0; i < 10; i++) {
		struct arena *ar = arena_new();
		struct problem p;
		problem_init(&p, ar);
		struct limit_key k;
		int retry = 0;
		auth_limit_key(r->a, &k, "login_account", &r->a->login_account, "raced@example.test");
		enum status st = auth_limits_hit(r->a, ar, &k, 1, &retry, &p);
		if (st == ST_OK)
			r->ok++;
		else if (st == ST_RATE_LIMITED)
			r->refused++;
		else
			r->other++;
		arena_free(&ar);
	}
	return NULL;
}

static void test_race(struct db *db, const char *label)
{
	struct auth *a = new_auth(db, "20/15min");
	struct racer rs[8] = {0};
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		rs[i].a = a;
		pthread_create(&th[i], NULL, race, &rs[i]);
	}
	int ok = 0, refused = 0, other = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok += rs[i].ok;
		refused += rs[i].refused;
		other += rs[i].other;
	}
	T_EQ_INT(ok, 20, "%s: 80 concurrent attempts, exactly 20 counted", label);
	T_EQ_INT(refused, 60, "%s: the rest refused", label);
	T_EQ_INT(other, 0, "%s: no errors", label);
	struct limit_key k;
	auth_limit_key(a, &k, "login_account", &a->login_account, "raced@example.test");
	T_EQ_INT(stored_hits(db, &k), 20, "%s: stored count", label);
	auth_free(&a);
}

static void run_on(const char *pg_base, const char *label)
{
	struct db *db = fresh_db(pg_base, "limits");
	T_OK(db != NULL, "%s: database opened and migrated", label);
	if (!db)
		return;
	test_counters(db, label);
	test_race(db, label);
	db_close(&db);
}

int main(void)
{
	if (core_init() < 0 || !mkdtemp(tmpdir))
		return 1;
	test_window_parse();
	run_on(NULL, "sqlite");
	const char *pg = getenv("TROUPE_TEST_PG_URL");
	if (pg && *pg)
		run_on(pg, "postgres");
	else
		printf("ok %d # SKIP PostgreSQL: set TROUPE_TEST_PG_URL\n", ++t_n);
	char *rm = xasprintf("rm -rf '%s'", tmpdir);
	if (system(rm) != 0)
		printf("# could not remove %s\n", tmpdir);
	free(rm);
	return t_done();
}
