/*
 * Migrations: numbered SQL files compiled into the binary, applied in
 * order, each in its own transaction together with its schema_migrations
 * row, so a crash leaves the database at one version or the next.
 */
#include "db_int.h"

#include <stdio.h>

/* Any fixed number will do; every troupe process must use the same one. */
#define MIG_LOCK_SQL "SELECT pg_advisory_xact_lock(7306793226413733632)"

struct mig_ctx {
	const struct db_migration *m;
	int latest;
	bool applied;
};

int db_migrations_latest(const struct db_migration *list)
{
	int v = 0;

	for (; list->version; list++) {
		if (list->version > v)
			v = list->version;
	}
	return v;
}

int db_schema_latest(void)
{
	return db_migrations_latest(db_migrations);
}

/* Two processes migrating at once take turns here. On SQLite, BEGIN
 * IMMEDIATE already holds the only write lock there is. */
static enum status mig_lock(struct db_conn *c, struct problem *p)
{
	if (db_kind(c->db) != DB_POSTGRES)
		return ST_OK;
	return db_query(c, NULL, NULL, MIG_LOCK_SQL, DB_NOARGS, p);
}

static enum status mig_newer(int found, int latest, struct problem *p)
{
	problem_set(p, ST_CONFLICT,
	            "the database was migrated by a newer troupe (version %d); this binary knows up to %d", found,
	            latest);
	problem_hint(p, "run the newer binary or restore a backup");
	return ST_CONFLICT;
}

static enum status mig_recorded(struct db_conn *c, int *version, struct problem *p)
{
	struct arena *a = arena_new();
	struct db_res *r = NULL;
	enum status st;

	st = db_query(c, a, &r, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", DB_NOARGS, p);
	if (st == ST_OK)
		*version = (int) db_res_int(r, 0, 0);
	arena_free(&a);
	return st;
}

static enum status mig_create_table(struct db_conn *c, void *ctx UNUSED, struct problem *p)
{
	enum status st = mig_lock(c, p);

	if (st != ST_OK)
		return st;
	return db_query(c, NULL, NULL,
	                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
	                "name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
	                DB_NOARGS, p);
}

static enum status mig_apply(struct db_conn *c, void *ctx, struct problem *p)
{
	struct mig_ctx *mc = ctx;
	const struct db_migration *m = mc->m;
	struct arena *a = arena_new();
	const char *sql = m->sql;
	enum status st;
	int v = 0;

	if ((st = mig_lock(c, p)) != ST_OK || (st = mig_recorded(c, &v, p)) != ST_OK)
		goto out;
	/* Looked at again under the lock: another process may have been first. */
	if (v > mc->latest) {
		st = mig_newer(v, mc->latest, p);
		goto out;
	}
	if (v >= m->version)
		goto out;
	if (v != m->version - 1) {
		st = problem_set(p, ST_INTERNAL, "migration %d cannot follow version %d", m->version, v);
		goto out;
	}
	if (db_kind(c->db) == DB_POSTGRES)
		sql = db_sql_pg_types(a, sql);
	if ((st = db_exec_script(c, sql, p)) != ST_OK)
		goto out;
	st = db_query(c, NULL, NULL, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
	              DB_ARGS(db_int(m->version), db_text(m->name), db_int(time_now_ms())), p);
	mc->applied = st == ST_OK;
out:
	arena_free(&a);
	return st;
}

enum status db_schema_version(struct db *db, int *version, struct problem *p)
{
	struct db_conn *c = db_conn_get(db, DB_READ);
	struct arena *a = arena_new();
	struct db_res *r = NULL;
	enum status st;

	*version = 0;
	if (!c) {
		st = problem_set(p, ST_UNAVAILABLE, "the database is unavailable");
		goto out;
	}
	/* Asked first, so a new database reads as version 0, not an error. */
	st = db_query(c, a, &r,
	              db_kind(db) == DB_POSTGRES
	                  ? "SELECT to_regclass('schema_migrations') IS NOT NULL"
	                  : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
	              DB_NOARGS, p);
	if (st != ST_OK || db_res_int(r, 0, 0) == 0)
		goto out;
	st = mig_recorded(c, version, p);
out:
	db_conn_put(c);
	arena_free(&a);
	return st;
}

enum status db_migrate_list(struct db *db, const struct db_migration *list, struct problem *p)
{
	int latest = db_migrations_latest(list), v = 0;
	enum status st;

	if ((st = db_tx(db, mig_create_table, NULL, p)) != ST_OK)
		return st;
	if ((st = db_schema_version(db, &v, p)) != ST_OK)
		return st;
	if (v > latest)
		return mig_newer(v, latest, p);
	for (const struct db_migration *m = list; m->version; m++) {
		struct mig_ctx mc = {.m = m, .latest = latest};
		char ver[16];

		if (m->version <= v)
			continue;
		snprintf(ver, sizeof(ver), "%d", m->version);
		st = db_tx(db, mig_apply, &mc, p);
		if (st != ST_OK) {
			log_kv(LOG_ERROR, "migration failed", "version", ver, "name", m->name, "status",
			       status_name(st), NULL);
			return st;
		}
		if (mc.applied)
			log_kv(LOG_INFO, "migration applied", "version", ver, "name", m->name, NULL);
	}
	return ST_OK;
}

enum status db_migrate(struct db *db, struct problem *p)
{
	return db_migrate_list(db, db_migrations, p);
}
