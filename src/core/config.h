/*
 * config: settings from flags, then TROUPE_* environment variables, then an
 * optional config file (key = value lines), then defaults, in that
 * precedence. Validated once at start: a bad value stops the process with
 * one line naming the setting. Read-only after config_load().
 */
#ifndef TROUPE_CONFIG_H
#define TROUPE_CONFIG_H

#include "core.h"

#include <stdio.h>

enum role_kind { RUN_SERVE, RUN_API, RUN_WORKER, RUN_MIGRATE, RUN_ADMIN };

struct config {
	enum role_kind run;
	char *listen; /* HOST:PORT */
	char *listen_host;
	int listen_port;
	char *data_dir;
	char *database_url; /* empty: sqlite under data_dir */
	char *secret_key;   /* resolved secret (never logged) */
	char *secret_file;  /* where serve keeps a generated secret */
	char *admin_email;
	char *admin_password;
	char *cors_origins; /* comma-separated exact origins; empty: no CORS */
	char *web_dir;      /* built web assets; empty: none */
	char *config_file;
	char *log_level;
	char *log_format;               /* json | text */
	char *rate_limit_default;       /* N/s, N/min or N/hour per user, key and address */
	char *rate_limit_auth;          /* every login and registration attempt per address */
	char *rate_limit_login_account; /* failed logins per account: N/[M]unit, a fixed window */
	char *rate_limit_login_address; /* failed logins per address */
	char *rate_limit_register;      /* registrations per address */
	int64_t body_limit;             /* bytes */
	int64_t http_threads;
	int64_t workers;
	int64_t job_lease_s;     /* a job's lease, renewed by heartbeat every third of it */
	int64_t max_active_runs; /* executions one engine loop holds at once (each costs ~100 KB in flight) */
	int64_t tool_threads;    /* the engine's tool threads, shared by every worker (engine/toolrun.h) */
	int64_t tool_timeout_s;  /* a tool call's time limit, queue wait included */
	int64_t db_pool;
	int64_t shutdown_timeout_s;
	int64_t access_ttl_s;
	int64_t refresh_ttl_s;
	int64_t sse_keepalive_ms;   /* an execution's event stream sends a comment when idle this long */
	int64_t sse_poll_ms;        /* how often an API process polls for events other processes wrote */
	int64_t stream_token_ttl_s; /* a stream token's lifetime */
	bool allow_registration;
	bool trust_proxy; /* take the client address from X-Forwarded-For */
	/* host names and CIDRs the outbound client may reach although private (net/net.h) */
	char *outbound_allow;
};

/* Fills cfg from argv (after the subcommand), environment and file.
 * Returns 0, or -1 with one line in err naming the setting. Prints help
 * and returns 1 for --help. */
int config_load(struct config *cfg, enum role_kind run, int argc, char **argv, char *err, size_t errlen);
/* Resolves the server secret: configured, or (serve only) generated into
 * data_dir/secret.key with mode 0600. -1 with err when missing or short. */
int config_resolve_secret(struct config *cfg, char *err, size_t errlen);
void config_print_help(FILE *f, enum role_kind run);
/* The settings named in keys (NULL-terminated, as in the table: "data",
 * "tool_threads"), one line each as config_print_help writes them. */
void config_print_settings(FILE *f, const char *const *keys);
void config_free(struct config *cfg);

#endif
