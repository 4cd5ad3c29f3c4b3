/* System endpoints: health, readiness, metrics, OpenAPI, version. */
#include "http_int.h"
#include "api.h"
#include "../app.h"
#include "../jobs/jobs.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum status api_healthz(struct req *rq, struct res *rs)
{
	(void) rq;
	res_json(rs, json_pack("{s:s}", "status", "ok"));
	return ST_OK;
}

static enum status api_readyz(struct req *rq, struct res *rs)
{
	struct app *app = rq->app;
	int v = 0;
	if (db_ping(app->db, &rq->problem) != ST_OK) {
		problem_set(&rq->problem, ST_UNAVAILABLE, "the database does not answer");
		return ST_UNAVAILABLE;
	}
	if (db_schema_version(app->db, &v, &rq->problem) != ST_OK) {
		problem_clear(&rq->problem);
		return problem_set(&rq->problem, ST_UNAVAILABLE, "the schema version cannot be read");
	}
	if (v != db_schema_latest()) {
		problem_set(&rq->problem, ST_UNAVAILABLE, "the database schema is at version %d; this binary needs %d",
		            v, db_schema_latest());
		problem_hint(&rq->problem, "run 'troupe migrate'");
		return ST_UNAVAILABLE;
	}
	res_json(rs, json_pack("{s:s, s:s, s:i}", "status", "ready", "database", db_kind_name(app->db), "schema", v));
	return ST_OK;
}

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

static enum status api_metrics(struct req *rq, struct res *rs)
{
	struct app *app = rq->app;
	struct buf b;
	buf_init(&b, 0);
	http_metrics_render(app->http, &b);
	struct db_stats ds;
	db_stats(app->db, &ds);
	buf_printf(&b,
	           "# HELP troupe_db_pool_size Connections the database pool may hold.\n"
	           "# TYPE troupe_db_pool_size gauge\ntroupe_db_pool_size %d\n"
	           "# HELP troupe_db_pool_open Open database connections.\n"
	           "# TYPE troupe_db_pool_open gauge\ntroupe_db_pool_open %d\n"
	           "# HELP troupe_db_pool_in_use Database connections in use.\n"
	           "# TYPE troupe_db_pool_in_use gauge\ntroupe_db_pool_in_use %d\n"
	           "# HELP troupe_db_pool_waits_total Times a caller waited for a connection.\n"
	           "# TYPE troupe_db_pool_waits_total counter\ntroupe_db_pool_waits_total %llu\n"
	           "# HELP troupe_db_errors_total Database errors.\n"
	           "# TYPE troupe_db_errors_total counter\ntroupe_db_errors_total %llu\n",
	           ds.size, ds.open, ds.in_use, (unsigned long long) ds.waits, (unsigned long long) ds.errors);
	jobs_metrics_render(app->db, app->jobs, &b);
	buf_printf(&b,
	           "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
	           "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %ld\n"
	           "# HELP process_start_time_seconds Start time of the process since the epoch.\n"
	           "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %lld\n",
	           rss_bytes(), (long long) (app->started_ms / 1000));
	size_t len = b.len;
	char *text = arena_memdup(rq->arena, b.data ? b.data : "", len);
	buf_free(&b);
	res_body(rs, "text/plain; version=0.0.4; charset=utf-8", text, len);
	return ST_OK;
}

static enum status api_openapi(struct req *rq, struct res *rs)
{
	(void) rq;
	res_json(rs, openapi_document());
	return ST_OK;
}

static enum status api_version(struct req *rq, struct res *rs)
{
	struct app *app = rq->app;
	res_json(rs, json_pack("{s:s, s:i, s:s}", "version", TROUPE_VERSION, "schema", db_schema_latest(), "database",
	                       db_kind_name(app->db)));
	return ST_OK;
}

static const struct field health_fields[] = {
    {"status", JT_STRING, .required = true, .enums = (const char *const[]){"ok", NULL}},
    {0},
};
static const struct schema health_schema = {"Health", health_fields, false};
static const struct field ready_fields[] = {
    {"status", JT_STRING, .required = true, .enums = (const char *const[]){"ready", NULL}},
    {"database", JT_STRING, .required = true, .enums = (const char *const[]){"sqlite", "postgres", NULL}},
    {"schema", JT_INT, .required = true, .description = "the database's schema version"},
    {0},
};
static const struct schema ready_schema = {"Ready", ready_fields, false};
static const struct field version_fields[] = {
    {"version", JT_STRING, .required = true},
    {"schema", JT_INT, .required = true, .description = "the schema version this binary needs"},
    {"database", JT_STRING, .required = true, .enums = (const char *const[]){"sqlite", "postgres", NULL}},
    {0},
};
static const struct schema version_schema = {"Version", version_fields, false};
static const struct schema openapi_schema = {"OpenApiDocument", NULL, true};

const struct route api_system_routes[] = {
    {"GET", "/healthz", api_healthz, ROLE_PUBLIC, .response = &health_schema, .limit = LIMIT_NONE,
     .flags = ROUTE_NO_WORKSPACE, .summary = "Liveness: 200 while the process runs"},
    {"GET", "/readyz", api_readyz, ROLE_PUBLIC, .response = &ready_schema, .limit = LIMIT_NONE,
     .flags = ROUTE_NO_WORKSPACE, .summary = "Readiness: 200 when the database answers and migrations are current"},
    {"GET", "/metrics", api_metrics, ROLE_PUBLIC, .produces = "text/plain", .limit = LIMIT_NONE,
     .flags = ROUTE_NO_WORKSPACE, .summary = "Prometheus metrics"},
    {"GET", "/api/v1/openapi.json", api_openapi, ROLE_PUBLIC, .response = &openapi_schema, .flags = ROUTE_NO_WORKSPACE,
     .summary = "This API's OpenAPI 3.1 document"},
    {"GET", "/api/v1/version", api_version, ROLE_PUBLIC, .response = &version_schema, .flags = ROUTE_NO_WORKSPACE,
     .summary = "Server and schema version"},
    {0},
};
