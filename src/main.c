/* troupe: roles and flags only. Everything else lives in the modules. */
#include "app.h"
#include "core/config.h"
#include "auth/auth.h"
#include "http/api.h"
#include "http/http.h"
#include "models/models.h"
#include "agents/agents.h"
#include "jobs/jobs.h"
#include "engine/toolrun.h"
#include "executions/executions.h"
#include "engine/engine.h"
#include "workflows/workflows.h"
#include "cli/cli.h"
#include "llm/llm.h"
#include "net/net.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

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
	        "  run WORKFLOW_ID [--input NAME=VALUE]...\n"
	        "            start an execution and run it in this process, printing its events and output;\n"
	        "            it runs that execution only (other queued jobs of a shared database stay for the\n"
	        "            workers); with TROUPE_URL set it goes through that server instead\n"
	        "  secrets rotate < new-secret   re-encrypt stored secrets under a new server secret\n"
	        "  version   print the version\n"
	        "  import crew DIR      import a crewAI project's agents.yaml, tasks.yaml (and crew.yaml)\n"
	        "  export crew ID DIR   write a workflow as crewAI files\n"
	        "            (both talk to TROUPE_URL with TROUPE_API_KEY)\n\n"
	        "Run 'troupe COMMAND --help' for a command's options.\n",
	        TROUPE_VERSION);
}

/* Whether argv (after the command) names flag, as "--flag value" or "--flag=value". */
static bool arg_given(int argc, char **argv, const char *flag)
{
	size_t n = strlen(flag);
	for (int i = 2; i < argc; i++)
		if (strncmp(argv[i], flag, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '='))
			return true;
	return false;
}

/* The SQLite database of cfg's data directory exists. */
static bool sqlite_exists(const struct config *cfg)
{
	char *path = xasprintf("%s/troupe.db", cfg->data_dir);
	bool yes = access(path, F_OK) == 0;
	free(path);
	return yes;
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

/* `troupe secrets rotate`: the new secret comes on stdin, never in argv or
 * the environment, where other users could see it. */
static int rotate_secrets(struct app *app, struct config *cfg)
{
	char line[1024];
	if (!fgets(line, sizeof(line), stdin)) {
		fprintf(stderr, "troupe: secrets rotate reads the new secret (at least 32 bytes) from stdin\n");
		return 2;
	}
	line[strcspn(line, "\r\n")] = '\0';
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	int count = 0, tools = 0, rc = 1;
	/* tools first, in their own transaction; run back if the model keys'
	 * rotation then fails, so a failure changes nothing */
	if (agents_rotate_secret(app->db, cfg->secret_key, line, &tools, &p) != ST_OK) {
		fprintf(stderr, "troupe: rotation failed, nothing changed: %s\n", p.detail ? p.detail : "error");
		goto out;
	}
	if (models_rotate_secret(app->db, cfg->secret_key, line, &count, &p) != ST_OK) {
		int back = 0;
		struct problem p2;
		problem_init(&p2, a);
		bool undone = agents_rotate_secret(app->db, line, cfg->secret_key, &back, &p2) == ST_OK;
		fprintf(stderr, "troupe: rotation failed, %s: %s\n",
		        undone ? "nothing changed" : "tool secrets are sealed under the new secret: rotate again",
		        p.detail ? p.detail : "error");
		goto out;
	}
	if (cfg->secret_file && access(cfg->secret_file, F_OK) == 0) {
		/* The secret came from the data directory: replace the file too. */
		char *tmp = xasprintf("%s.new", cfg->secret_file);
		FILE *f = fopen(tmp, "w");
		int ok = f && fchmod(fileno(f), 0600) == 0 && fprintf(f, "%s\n", line) > 0 && fflush(f) == 0 &&
		         fsync(fileno(f)) == 0;
		if (f)
			fclose(f);
		ok = ok && rename(tmp, cfg->secret_file) == 0;
		free(tmp);
		if (!ok) {
			fprintf(stderr,
			        "troupe: secrets were re-encrypted but %s could not be replaced: write the new "
			        "secret there by hand\n",
			        cfg->secret_file);
			goto out;
		}
		printf(
		    "troupe: re-encrypted %d model configuration(s) and %d tool secret(s); %s holds the new secret\n",
		    count, tools, cfg->secret_file);
	} else {
		printf("troupe: re-encrypted %d model configuration(s) and %d tool secret(s); set TROUPE_SECRET_KEY to "
		       "the new secret for every process\n",
		       count, tools);
	}
	rc = 0;
out:
	sodium_memzero(line, sizeof(line));
	arena_free(&a);
	return rc;
}

/* The limits' settings, checked with the others, before anything is
 * opened: one line naming the setting. */
static int check_limits(const struct config *cfg)
{
	const struct {
		const char *key, *value;
		bool window;
	} lims[] = {
	    {"rate_limit_default", cfg->rate_limit_default, false},
	    {"rate_limit_auth", cfg->rate_limit_auth, false},
	    {"rate_limit_login_account", cfg->rate_limit_login_account, true},
	    {"rate_limit_login_address", cfg->rate_limit_login_address, true},
	    {"rate_limit_register", cfg->rate_limit_register, true},
	};
	for (size_t i = 0; i < ARRAY_LEN(lims); i++) {
		double per_s, burst;
		struct auth_window w;
		if (lims[i].window ? auth_window_parse(lims[i].value, &w) == 0
		                   : auth_rate_parse(lims[i].value, &per_s, &burst) == 0)
			continue;
		fprintf(stderr, "troupe: invalid %s \"%s\": want %s\n", lims[i].key, lims[i].value,
		        lims[i].window ? "N/[M]s, N/[M]min or N/[M]hour, such as 10/15min, at most a week"
		                       : "N/s, N/min or N/hour");
		return -1;
	}
	return 0;
}

/* The auth module, and (serve) the first administrator. A generated
 * password is printed once, on stdout, never through the logger. */
static int start_auth(struct app *app, const struct config *cfg, bool bootstrap)
{
	struct arena *a = arena_new();
	struct problem p;
	problem_init(&p, a);
	int rc = -1;
	struct auth_options ao = {
	    .secret = cfg->secret_key,
	    .access_ttl_s = cfg->access_ttl_s,
	    .refresh_ttl_s = cfg->refresh_ttl_s,
	    .allow_registration = cfg->allow_registration,
	    .rate_default = cfg->rate_limit_default,
	    .rate_auth = cfg->rate_limit_auth,
	    .login_account = cfg->rate_limit_login_account,
	    .login_address = cfg->rate_limit_login_address,
	    .register_address = cfg->rate_limit_register,
	};
	if (auth_new(app->db, &ao, &app->auth, &p) != ST_OK) {
		fprintf(stderr, "troupe: %s\n", p.detail ? p.detail : "cannot start authentication");
		goto out;
	}
	if (bootstrap) {
		char *generated = NULL;
		if (auth_bootstrap_admin(app->auth, cfg->admin_email, cfg->admin_password, &generated, &p) != ST_OK) {
			fprintf(stderr, "troupe: cannot create the first administrator: %s\n",
			        p.detail ? p.detail : "error");
			goto out;
		}
		if (generated) {
			printf("troupe: first administrator created: %s / %s\n"
			       "troupe: this password is shown once; sign in and change it on the web app's Profile "
			       "page (/profile), or with PATCH /api/v1/users/me\n",
			       cfg->admin_email, generated);
			fflush(stdout);
			sodium_memzero(generated, strlen(generated));
			free(generated);
		}
	}
	rc = 0;
out:
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

/* The job workers of serve and worker. Kinds are registered here, before
 * the start, by the modules that own them (the engine, the knowledge
 * bases) as they arrive. */
static int start_jobs(struct app *app, const struct config *cfg, bool claim_by_id)
{
	struct arena *a = arena_new();
	struct problem p;
	/* max_detached: the executions one process holds at once (each is a detached job run), max_active_runs
	 * per engine loop (one loop per worker; the runner hands each to the least loaded): the rest stay
	 * queued in the database, so a burst costs rows, not memory; claim_by_id: troupe run claims its own
	 * execution's job and no other */
	struct jobs_options o = {.lease_ms = cfg->job_lease_s * 1000,
	                         .max_detached = (int) ((cfg->workers > 0 ? cfg->workers : 1) * cfg->max_active_runs),
	                         .claim_by_id = claim_by_id};
	struct engine_runner_options ro = {
	    .db = app->db, .models = app->models, .limiter = app->llm_limiter, .loops = (int) cfg->workers};
	int rc = -1;

	problem_init(&p, a);
	/* before the workers: their engine loops take ports on it */
	app->tools = engine_toolpool_new(app->agents, (int) cfg->tool_threads, (int) cfg->tool_timeout_s);
	ro.tools = app->tools;
	if (jobs_new(app->db, &o, &app->jobs, &p) != ST_OK ||
	    engine_runner_new(&ro, app->jobs, &app->runner, &p) != ST_OK ||
	    jobs_workers_start(app->jobs, (int) cfg->workers, &p) != ST_OK) {
		fprintf(stderr, "troupe: cannot start the job workers: %s\n", p.detail ? p.detail : "error");
		goto out;
	}
	rc = 0;
out:
	arena_free(&a);
	return rc;
}

/* SIGTERM: stop claiming at once; handlers finish or hand back within the
 * shutdown timeout (jobs_stop hands back what is still held then). */
static void stop_jobs(struct app *app, const struct config *cfg)
{
	jobs_stop(app->jobs, cfg->shutdown_timeout_s * 1000);
	engine_runner_free(&app->runner);
	engine_toolpool_free(&app->tools); /* after the workers: their loops and ports are gone */
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
	if (app->auth)
		api_auth_hooks(app->auth, &hooks);
	/* The live hub before the server: its thread counts among the
	 * process's from the start, and sleeps while nobody streams. */
	struct executions_hub_options hub = {
	    .db = app->db, .poll_ms = (int) cfg->sse_poll_ms, .keepalive_ms = (int) cfg->sse_keepalive_ms};
	if (executions_hub_start(&hub, &p) != ST_OK) {
		fprintf(stderr, "troupe: %s\n", p.detail ? p.detail : "cannot start the live hub");
		goto out;
	}
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
	jobs_quiesce(app->jobs);
	http_stop(&app->http);
	stop_jobs(app, cfg);
	rc = 0;
out:
	executions_hub_stop();
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
	struct cli_run_args run_args = {0};
	bool run_cmd = false; /* troupe run: a worker that starts one execution and follows it */
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
	} else if (str_eq(cmd, "import") || str_eq(cmd, "export")) {
		return cli_crew(argc - 1, argv + 1);
	} else if (str_eq(cmd, "run")) {
		int nrest = 0;
		if (argc > 2 && (str_eq(argv[2], "--help") || str_eq(argv[2], "-h"))) {
			cli_run_help(stdout);
			return 0;
		}
		int urc = cli_run_args(argc - 2, argv + 2, &run_args, &nrest);
		if (urc) {
			cli_run_args_free(&run_args);
			return urc;
		}
		const char *url = getenv("TROUPE_URL");
		if (url && *url) { /* through a server: nothing runs here */
			int rrc = nrest ? 2 : cli_run_remote(&run_args);
			if (nrest)
				fprintf(stderr, "troupe: with TROUPE_URL set, troupe run takes no setting (%s)\n",
				        argv[2]);
			cli_run_args_free(&run_args);
			return rrc;
		}
		run = RUN_WORKER;
		run_cmd = true;
		argc = nrest + 2;
	} else if (str_eq(cmd, "secrets")) {
		if (argc < 3 || !str_eq(argv[2], "rotate")) {
			fprintf(stderr, "troupe: usage: troupe secrets rotate [OPTIONS] < new-secret\n");
			return 2;
		}
		run = RUN_ADMIN;
		argv++;
		argc--;
	} else {
		fprintf(stderr, "troupe: unknown command \"%s\"\n\n", cmd);
		usage(stderr);
		return 2;
	}
	llm_init();
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
	if (rc == 1 && run == RUN_ADMIN) {
		printf("Usage: troupe secrets rotate [OPTIONS] < new-secret\n\n"
		       "Re-encrypts every stored provider key and tool secret under the new server secret read from\n"
		       "stdin (one line, at least 32 bytes; never an argument, where other users could read it). The\n"
		       "current secret is the one these options name (secret.key in --data, or TROUPE_SECRET_KEY).\n"
		       "Stop the other processes first; with secret.key the file is replaced, else set\n"
		       "TROUPE_SECRET_KEY to the new secret everywhere.\n\n");
		config_print_help(stdout, run);
		config_free(&cfg);
		return 0;
	}
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
	if (run_cmd && cfg.workers < 1)
		cfg.workers = 1; /* troupe run runs its execution here: at least one worker */
	if (run_cmd && str_eq(cfg.log_level, "info") && !getenv("TROUPE_LOG_LEVEL") &&
	    !arg_given(argc, argv, "--log-level"))
		log_set_level(LOG_WARN); /* its stdout is the events; the workers' start lines are noise there */
	if ((run == RUN_SERVE || run == RUN_API) && check_limits(&cfg) < 0) {
		config_free(&cfg);
		return 2;
	}

	struct app app = {.cfg = &cfg, .started_ms = time_now_ms(), .started_mono_us = time_mono_us()};
	rc = 1;
	if (run != RUN_MIGRATE && run != RUN_ADMIN &&
	    !(app.net_policy = net_policy_new(cfg.outbound_allow, err, sizeof(err)))) {
		fprintf(stderr, "troupe: invalid outbound_allow: %s\n", err);
		rc = 2;
		goto out;
	}
	if ((run_cmd || run == RUN_ADMIN) && !cfg.database_url[0] && !sqlite_exists(&cfg)) {
		/* before asking for its secret: the missing database is what to fix */
		fprintf(stderr,
		        "troupe: no database in %s (troupe.db is not there): give --data the data directory of 'troupe "
		        "serve' (TROUPE_DATA_DIR), or TROUPE_DATABASE_URL its PostgreSQL%s\n",
		        cfg.data_dir,
		        run_cmd ? "; or set TROUPE_URL and TROUPE_API_KEY to run it through a server" : "");
		rc = 2;
		goto out;
	}
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
	if (run != RUN_MIGRATE && run != RUN_ADMIN) {
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		app.llm_limiter = llm_limiter_new();
		enum status st = models_new(app.db, cfg.secret_key, &app.models, &p);
		if (st == ST_OK)
			st = agents_new(app.db, app.models, app.net_policy, &app.agents, &p);
		if (st == ST_OK)
			st = workflows_new(app.db, app.agents, &app.workflows, &p);
		if (st == ST_OK)
			agents_set_usage_hook(app.agents, workflows_agent_usage);
		if (st != ST_OK)
			fprintf(stderr, "troupe: %s\n", p.detail);
		arena_free(&a);
		if (st != ST_OK)
			goto out;
	}
	if ((run == RUN_SERVE || run == RUN_API) && start_auth(&app, &cfg, run == RUN_SERVE) < 0)
		goto out;
	if ((run == RUN_SERVE || run == RUN_WORKER) && start_jobs(&app, &cfg, run_cmd) < 0)
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
	case RUN_WORKER: {
		if (run_cmd) {
			rc = cli_run(&app, &run_args);
			stop_jobs(&app, &cfg);
			break;
		}
		char n[24];
		snprintf(n, sizeof(n), "%lld", (long long) cfg.workers);
		log_kv(LOG_INFO, "worker started", "database", db_kind_name(app.db), "workers", n, NULL);
		wait_for_signal();
		log_kv(LOG_INFO, "worker shutting down", NULL);
		stop_jobs(&app, &cfg);
		rc = 0;
		break;
	}
	case RUN_ADMIN:
		rc = rotate_secrets(&app, &cfg);
		break;
	}
out:
	engine_runner_free(&app.runner);
	jobs_free(&app.jobs);
	engine_toolpool_free(&app.tools);
	auth_free(&app.auth);
	workflows_free(&app.workflows);
	agents_free(&app.agents);
	models_free(&app.models);
	llm_limiter_free(&app.llm_limiter);
	net_policy_free(&app.net_policy);
	db_close(&app.db);
	config_free(&cfg);
	cli_run_args_free(&run_args);
	return rc;
}
