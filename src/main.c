/* troupe: roles and flags only. Everything else lives in the modules. */
#include "app.h"
#include "core/config.h"
#include "http/http.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
	fprintf(f,
	        "troupe %s: define AI agents, compose them into crews, run and watch them.\n\n"
	        "Usage: troupe COMMAND [OPTIONS]\n\n"
	        "Commands:\n"
	        "  serve     everything in one process: API, workers and web app (SQLite by default)\n"
	        "  api       the HTTP API only (scale out over PostgreSQL)\n"
	        "  worker    job workers only (scale out over PostgreSQL)\n"
	        "  migrate   apply pending database migrations and exit\n"
	        "  version   print the version\n\n"
	        "Run 'troupe COMMAND --help' for a command's options.\n",
	        TROUPE_VERSION);
}

static int mkdir_p(const char *dir)
{
	char *tmp = xstrdup(dir);
	int rc = 0;
	for (char *p = tmp + 1; *p && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (rc == 0 && mkdir(tmp, 0700) < 0 && errno != EEXIST)
		rc = -1;
	free(tmp);
	return rc;
}

static char *db_url(const struct config *cfg)
{
	if (cfg->database_url[0])
		return xstrdup(cfg->database_url);
	return xasprintf("sqlite:%s/troupe.db", cfg->data_dir);
}

static int open_db(struct app *app, bool migrate)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	char *url = db_url(app->cfg);
	struct db_options o = {.url = url, .pool_size = (int) app->cfg->db_pool};
	int rc = -1;
	if (db_open(&o, &app->db, &p) != ST_OK) {
		fprintf(stderr, "troupe: cannot open the database: %s\n", p.detail ? p.detail : "unknown error");
		goto out;
	}
	if (migrate) {
		if (db_migrate(app->db, &p) != ST_OK) {
			fprintf(stderr, "troupe: migration failed: %s%s%s\n", p.detail ? p.detail : "unknown error",
			        p.hint ? "; " : "", p.hint ? p.hint : "");
			goto out;
		}
	} else {
		int v = 0;
		if (db_schema_version(app->db, &v, &p) != ST_OK) {
			fprintf(stderr, "troupe: cannot read the schema version: %s\n",
			        p.detail ? p.detail : "unknown error");
			goto out;
		}
		if (v != db_schema_latest()) {
			fprintf(stderr,
			        "troupe: database schema is at version %d, this binary needs %d: run 'troupe "
			        "migrate' with the matching binary\n",
			        v, db_schema_latest());
			goto out;
		}
	}
	rc = 0;
out:
	free(url);
	arena_free(&a);
	return rc;
}

static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigwait(&set, &sig);
	return sig;
}

static int run_server(struct app *app, const struct config *cfg)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	int rc = 1;
	struct http_options ho = {
	    .host = cfg->listen_host,
	    .port = cfg->listen_port,
	    .threads = (int) cfg->http_threads,
	    .body_limit = (size_t) cfg->body_limit,
	    .shutdown_timeout_s = (int) cfg->shutdown_timeout_s,
	    .cors_origins = cfg->cors_origins,
	    .web_dir = cfg->web_dir,
	    .trust_proxy = cfg->trust_proxy,
	};
	struct http_hooks hooks = {0};
	if (http_start(app, &ho, &hooks, &app->http, &p) != ST_OK) {
		fprintf(stderr, "troupe: cannot listen on %s: %s\n", cfg->listen, p.detail ? p.detail : "error");
		goto out;
	}
	char port[16];
	snprintf(port, sizeof(port), "%d", http_port(app->http));
	log_kv(LOG_INFO, "listening", "host", cfg->listen_host, "port", port, "database", db_kind_name(app->db),
	       "version", TROUPE_VERSION, NULL);
	int sig = wait_for_signal();
	log_kv(LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
	http_stop(&app->http);
	rc = 0;
out:
	arena_free(&a);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	enum role_kind run;
	if (str_eq(cmd, "--help") || str_eq(cmd, "-h") || str_eq(cmd, "help")) {
		usage(stdout);
		return 0;
	} else if (str_eq(cmd, "version") || str_eq(cmd, "--version")) {
		printf("troupe %s\n", TROUPE_VERSION);
		return 0;
	} else if (str_eq(cmd, "serve")) {
		run = RUN_SERVE;
	} else if (str_eq(cmd, "api")) {
		run = RUN_API;
	} else if (str_eq(cmd, "worker")) {
		run = RUN_WORKER;
	} else if (str_eq(cmd, "migrate")) {
		run = RUN_MIGRATE;
	} else {
		fprintf(stderr, "troupe: unknown command \"%s\"\n\n", cmd);
		usage(stderr);
		return 2;
	}
	if (core_init() < 0) {
		fprintf(stderr, "troupe: cannot initialise libsodium\n");
		return 1;
	}

	/* Signals are taken by sigwait in the main thread only: block them
	 * before any thread starts so every thread inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct config cfg;
	char err[512] = "";
	int rc = config_load(&cfg, run, argc - 2, argv + 2, err, sizeof(err));
	if (rc == 1) {
		printf("Usage: troupe %s [OPTIONS]\n\n", cmd);
		config_print_help(stdout, run);
		config_free(&cfg);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "troupe: %s\n", err);
		config_free(&cfg);
		return 2;
	}
	log_set_level(str_eq(cfg.log_level, "debug")   ? LOG_DEBUG
	              : str_eq(cfg.log_level, "warn")  ? LOG_WARN
	              : str_eq(cfg.log_level, "error") ? LOG_ERROR
	                                               : LOG_INFO);
	log_set_json(str_eq(cfg.log_format, "json"));

	struct app app = {.cfg = &cfg, .started_ms = time_now_ms(), .started_mono_us = time_mono_us()};
	rc = 1;
	if (!cfg.database_url[0] || run == RUN_SERVE) {
		if (mkdir_p(cfg.data_dir) < 0) {
			fprintf(stderr, "troupe: invalid data: cannot create %s: %s\n", cfg.data_dir, strerror(errno));
			goto out;
		}
	}
	if (run != RUN_MIGRATE && config_resolve_secret(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "troupe: %s\n", err);
		rc = 2;
		goto out;
	}
	if (open_db(&app, run == RUN_SERVE || run == RUN_MIGRATE) < 0)
		goto out;
	switch (run) {
	case RUN_MIGRATE:
		printf("troupe: database at schema version %d\n", db_schema_latest());
		rc = 0;
		break;
	case RUN_SERVE:
	case RUN_API:
		rc = run_server(&app, &cfg);
		break;
	case RUN_WORKER:
		log_kv(LOG_INFO, "worker started", NULL);
		wait_for_signal();
		rc = 0;
		break;
	case RUN_ADMIN:
		break;
	}
out:
	db_close(&app.db);
	config_free(&cfg);
	return rc;
}
