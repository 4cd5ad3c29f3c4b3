/* Settings: one table gives each its flag, environment name, type,
 * default, bounds and help. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum set_type { SET_STR, SET_INT, SET_BOOL };

struct setting {
	const char *key; /* file key and flag name (--key with _ as -) */
	const char *env;
	enum set_type type;
	size_t off;
	const char *def;
	int64_t min, max;
	unsigned roles; /* bitmask of 1 << role_kind; 0: all */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)
#define R(x)   (1u << (x))
#define SRV    (R(RUN_SERVE) | R(RUN_API) | R(RUN_WORKER))

static const struct setting settings[] = {
    {"listen", "TROUPE_LISTEN", SET_STR, OFF(listen), "127.0.0.1:8080", 0, 0, R(RUN_SERVE) | R(RUN_API),
     "address to listen on, HOST:PORT"},
    {"data", "TROUPE_DATA_DIR", SET_STR, OFF(data_dir), "./data", 0, 0, 0,
     "data directory (SQLite database, objects, generated secret)"},
    {"database_url", "TROUPE_DATABASE_URL", SET_STR, OFF(database_url), "", 0, 0, 0,
     "postgres://user:pass@host/db for PostgreSQL; empty for SQLite in the data directory"},
    {"secret_key", "TROUPE_SECRET_KEY", SET_STR, OFF(secret_key), "", 0, 0, 0,
     "server secret, at least 32 bytes (serve generates one when unset)"},
    {"admin_email", "TROUPE_ADMIN_EMAIL", SET_STR, OFF(admin_email), "admin@localhost", 0, 0, 0,
     "first administrator's email, created on first start"},
    {"admin_password", "TROUPE_ADMIN_PASSWORD", SET_STR, OFF(admin_password), "", 0, 0, 0,
     "first administrator's password (generated and printed once when unset)"},
    {"cors_origins", "TROUPE_CORS_ORIGINS", SET_STR, OFF(cors_origins), "", 0, 0, SRV,
     "comma-separated exact origins allowed by CORS; empty: no CORS"},
    {"web_dir", "TROUPE_WEB_DIR", SET_STR, OFF(web_dir), "", 0, 0, SRV, "directory of the built web app"},
    {"outbound_allow", "TROUPE_OUTBOUND_ALLOW", SET_STR, OFF(outbound_allow), "", 0, 0, SRV,
     "comma-separated host names and CIDRs that tools and webhooks may reach although private (on-premise)"},
    {"log_level", "TROUPE_LOG_LEVEL", SET_STR, OFF(log_level), "info", 0, 0, 0, "debug, info, warn or error"},
    {"log_format", "TROUPE_LOG_FORMAT", SET_STR, OFF(log_format), "json", 0, 0, 0, "json or text"},
    {"rate_limit_default", "TROUPE_RATE_LIMIT_DEFAULT", SET_STR, OFF(rate_limit_default), "600/min", 0, 0, SRV,
     "requests per caller (user, API key) and per address: N/s, N/min or N/hour"},
    {"rate_limit_auth", "TROUPE_RATE_LIMIT_AUTH", SET_STR, OFF(rate_limit_auth), "300/min", 0, 0, SRV,
     "a ceiling on login and registration attempts of any kind per address"},
    {"rate_limit_login_account", "TROUPE_RATE_LIMIT_LOGIN_ACCOUNT", SET_STR, OFF(rate_limit_login_account), "10/15min",
     0, 0, SRV, "failed logins per account (email), then 429 until the window ends: N/[M]unit"},
    {"rate_limit_login_address", "TROUPE_RATE_LIMIT_LOGIN_ADDRESS", SET_STR, OFF(rate_limit_login_address), "30/15min",
     0, 0, SRV, "failed logins per address, then 429 until the window ends"},
    {"rate_limit_register", "TROUPE_RATE_LIMIT_REGISTER", SET_STR, OFF(rate_limit_register), "30/hour", 0, 0, SRV,
     "registrations per address"},
    {"body_limit", "TROUPE_BODY_LIMIT", SET_INT, OFF(body_limit), "1048576", 1024, 1LL << 30, SRV,
     "largest request body in bytes (routes may set their own)"},
    {"http_threads", "TROUPE_HTTP_THREADS", SET_INT, OFF(http_threads), "0", 0, 256, SRV,
     "HTTP threads (at least 2); 0: twice the CPU count"},
    {"workers", "TROUPE_WORKERS", SET_INT, OFF(workers), "2", 0, 256, SRV, "job worker threads"},
    {"job_lease", "TROUPE_JOB_LEASE", SET_INT, OFF(job_lease_s), "30", 1, 3600, SRV,
     "seconds a worker holds a job without a heartbeat before another may reclaim it"},
    {"max_active_runs", "TROUPE_MAX_ACTIVE_RUNS", SET_INT, OFF(max_active_runs), "128", 1, 4096, SRV,
     "executions one job worker's engine loop runs at once; the rest wait queued"},
    {"tool_threads", "TROUPE_TOOL_THREADS", SET_INT, OFF(tool_threads), "4", 1, 64, SRV,
     "threads that run agents' tool calls, shared by every job worker"},
    {"tool_timeout", "TROUPE_TOOL_TIMEOUT", SET_INT, OFF(tool_timeout_s), "60", 1, 3600, SRV,
     "seconds a tool call may take (queue wait included) before the agent is told it failed"},
    {"db_pool", "TROUPE_DB_POOL", SET_INT, OFF(db_pool), "8", 1, 512, 0, "database connections per process"},
    {"shutdown_timeout", "TROUPE_SHUTDOWN_TIMEOUT", SET_INT, OFF(shutdown_timeout_s), "30", 0, 3600, SRV,
     "seconds to let in-flight requests finish on SIGTERM"},
    {"access_ttl", "TROUPE_ACCESS_TTL", SET_INT, OFF(access_ttl_s), "900", 30, 86400, SRV,
     "access token lifetime in seconds"},
    {"refresh_ttl", "TROUPE_REFRESH_TTL", SET_INT, OFF(refresh_ttl_s), "2592000", 300, 31536000, SRV,
     "refresh token lifetime in seconds"},
    {"sse_keepalive_ms", "TROUPE_SSE_KEEPALIVE_MS", SET_INT, OFF(sse_keepalive_ms), "15000", 10, 600000,
     R(RUN_SERVE) | R(RUN_API), "milliseconds an execution's event stream may stay silent before a keep-alive comment"},
    {"sse_poll_ms", "TROUPE_SSE_POLL_MS", SET_INT, OFF(sse_poll_ms), "250", 10, 250, R(RUN_SERVE) | R(RUN_API),
     "milliseconds between polls for events written by other processes (one query for every execution streamed)"},
    {"stream_token_ttl", "TROUPE_STREAM_TOKEN_TTL", SET_INT, OFF(stream_token_ttl_s), "60", 1, 3600,
     R(RUN_SERVE) | R(RUN_API), "seconds a stream token (POST /executions/{id}/stream-token) stays valid"},
    {"allow_registration", "TROUPE_ALLOW_REGISTRATION", SET_BOOL, OFF(allow_registration), "true", 0, 0, SRV,
     "let anyone register an account"},
    {"trust_proxy", "TROUPE_TRUST_PROXY", SET_BOOL, OFF(trust_proxy), "false", 0, 0, SRV,
     "take the client address from X-Forwarded-For (only behind a proxy you run)"},
};

static bool applies(const struct setting *s, enum role_kind run)
{
	return s->roles == 0 || (s->roles & R(run));
}

static int set_value(struct config *cfg, const struct setting *s, const char *val, const char *from, char *err,
                     size_t errlen)
{
	char *base = (char *) cfg + s->off;
	switch (s->type) {
	case SET_STR: {
		char **dst = (char **) base;
		free(*dst);
		*dst = xstrdup(val);
		return 0;
	}
	case SET_INT: {
		int64_t v;
		if (str_to_i64(val, s->min, s->max, &v) < 0) {
			snprintf(err, errlen, "invalid %s (%s): must be a whole number from %lld to %lld", s->key, from,
			         (long long) s->min, (long long) s->max);
			return -1;
		}
		*(int64_t *) base = v;
		return 0;
	}
	case SET_BOOL:
		if (str_eq_nocase(val, "true") || str_eq(val, "1") || str_eq_nocase(val, "yes") ||
		    str_eq_nocase(val, "on")) {
			*(bool *) base = true;
		} else if (str_eq_nocase(val, "false") || str_eq(val, "0") || str_eq_nocase(val, "no") ||
		           str_eq_nocase(val, "off")) {
			*(bool *) base = false;
		} else {
			snprintf(err, errlen, "invalid %s (%s): must be true or false", s->key, from);
			return -1;
		}
		return 0;
	}
	return -1;
}

static const struct setting *find_key(const char *key, size_t n)
{
	for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
		const char *k = settings[i].key;
		if (strlen(k) != n)
			continue;
		bool same = true;
		for (size_t j = 0; j < n && same; j++)
			same = (key[j] == '-' ? '_' : key[j]) == k[j];
		if (same)
			return &settings[i];
	}
	return NULL;
}

static char *trim(char *s)
{
	while (isspace((unsigned char) *s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

/* key = value lines; '#' starts a comment; values may be "quoted". */
static int load_file(struct config *cfg, const char *path, bool *seen, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "invalid config_file: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "invalid config_file: %s line %d: expected key = value", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = '\0';
			val++;
		}
		const struct setting *st = find_key(key, strlen(key));
		if (!st) {
			snprintf(err, errlen, "invalid config_file: %s line %d: unknown setting \"%s\"", path, lineno,
			         key);
			rc = -1;
			break;
		}
		size_t idx = (size_t) (st - settings);
		if (seen[idx])
			continue;
		char from[64];
		snprintf(from, sizeof(from), "config file line %d", lineno);
		if (set_value(cfg, st, val, from, err, errlen) < 0) {
			rc = -1;
			break;
		}
		seen[idx] = true;
	}
	fclose(f);
	return rc;
}

static int parse_listen(struct config *cfg, char *err, size_t errlen)
{
	const char *l = cfg->listen;
	const char *colon = strrchr(l, ':');
	int64_t port;
	if (!colon || colon == l || str_to_i64(colon + 1, 0, 65535, &port) < 0) {
		snprintf(err, errlen, "invalid listen \"%s\": expected HOST:PORT with a port from 0 to 65535", l);
		return -1;
	}
	size_t hl = (size_t) (colon - l);
	if (l[0] == '[' && hl >= 2 && l[hl - 1] == ']')
		cfg->listen_host = xstrndup(l + 1, hl - 2);
	else
		cfg->listen_host = xstrndup(l, hl);
	cfg->listen_port = (int) port;
	return 0;
}

static int validate(struct config *cfg, char *err, size_t errlen)
{
	if (!str_eq(cfg->log_level, "debug") && !str_eq(cfg->log_level, "info") && !str_eq(cfg->log_level, "warn") &&
	    !str_eq(cfg->log_level, "error")) {
		snprintf(err, errlen, "invalid log_level \"%s\": must be debug, info, warn or error", cfg->log_level);
		return -1;
	}
	if (!str_eq(cfg->log_format, "json") && !str_eq(cfg->log_format, "text")) {
		snprintf(err, errlen, "invalid log_format \"%s\": must be json or text", cfg->log_format);
		return -1;
	}
	if (cfg->database_url[0] && !str_startswith(cfg->database_url, "postgres://") &&
	    !str_startswith(cfg->database_url, "postgresql://") && !str_startswith(cfg->database_url, "sqlite:")) {
		snprintf(err, errlen, "invalid database_url: must start with postgres://, postgresql:// or sqlite:");
		return -1;
	}
	if (!cfg->data_dir[0]) {
		snprintf(err, errlen, "invalid data: the data directory may not be empty");
		return -1;
	}
	if (cfg->run == RUN_SERVE || cfg->run == RUN_API)
		return parse_listen(cfg, err, errlen);
	return 0;
}

static void print_setting(FILE *f, const struct setting *s)
{
	char flag[64];
	snprintf(flag, sizeof(flag), "--%s", s->key);
	for (char *c = flag + 2; *c; c++)
		if (*c == '_')
			*c = '-';
	fprintf(f, "  %-21s (%s) %s [default: %s]\n", flag, s->env, s->help, s->def[0] ? s->def : "none");
}

void config_print_help(FILE *f, enum role_kind run)
{
	fprintf(f, "Options (flag, environment variable; flags win over the environment, which wins over "
	           "--config_file):\n");
	fprintf(f, "  --config-file PATH    (TROUPE_CONFIG_FILE) key = value settings file\n");
	for (size_t i = 0; i < ARRAY_LEN(settings); i++)
		if (applies(&settings[i], run))
			print_setting(f, &settings[i]);
}

void config_print_settings(FILE *f, const char *const *keys)
{
	for (; *keys; keys++)
		for (size_t i = 0; i < ARRAY_LEN(settings); i++)
			if (str_eq(settings[i].key, *keys))
				print_setting(f, &settings[i]);
}

int config_load(struct config *cfg, enum role_kind run, int argc, char **argv, char *err, size_t errlen)
{
	bool seen[ARRAY_LEN(settings)] = {0};
	const char *file = getenv("TROUPE_CONFIG_FILE");
	memset(cfg, 0, sizeof(*cfg));
	cfg->run = run;

	/* Flags first: they win. */
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (str_eq(a, "--help") || str_eq(a, "-h"))
			return 1;
		if (!str_startswith(a, "--")) {
			snprintf(err, errlen, "unexpected argument \"%s\"", a);
			return -1;
		}
		a += 2;
		const char *eq = strchr(a, '=');
		size_t kl = eq ? (size_t) (eq - a) : strlen(a);
		const char *val = eq ? eq + 1 : NULL;
		if (kl == 11 && (strncmp(a, "config-file", 11) == 0 || strncmp(a, "config_file", 11) == 0)) {
			if (!val && i + 1 < argc)
				val = argv[++i];
			if (!val) {
				snprintf(err, errlen, "invalid config_file: --config-file needs a value");
				return -1;
			}
			file = val;
			continue;
		}
		const struct setting *s = find_key(a, kl);
		if (!s || !applies(s, run)) {
			snprintf(err, errlen, "unknown option --%.*s (see --help)", (int) kl, a);
			return -1;
		}
		if (!val && s->type == SET_BOOL)
			val = "true";
		if (!val && i + 1 < argc)
			val = argv[++i];
		if (!val) {
			snprintf(err, errlen, "invalid %s: --%.*s needs a value", s->key, (int) kl, a);
			return -1;
		}
		if (set_value(cfg, s, val, "flag", err, errlen) < 0)
			return -1;
		seen[s - settings] = true;
	}
	for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
		const char *v = getenv(settings[i].env);
		if (seen[i] || !v)
			continue;
		if (set_value(cfg, &settings[i], v, settings[i].env, err, errlen) < 0)
			return -1;
		seen[i] = true;
	}
	if (file && file[0]) {
		cfg->config_file = xstrdup(file);
		if (load_file(cfg, file, seen, err, errlen) < 0)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
		if (seen[i])
			continue;
		if (set_value(cfg, &settings[i], settings[i].def, "default", err, errlen) < 0)
			return -1;
	}
	return validate(cfg, err, errlen);
}

static int read_secret_file(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[1024];
	int rc = -1;
	if (fgets(line, sizeof(line), f)) {
		*out = xstrdup(trim(line));
		rc = 0;
	}
	fclose(f);
	return rc;
}

int config_resolve_secret(struct config *cfg, char *err, size_t errlen)
{
	if (!cfg->secret_key[0]) {
		free(cfg->secret_file);
		cfg->secret_file = xasprintf("%s/secret.key", cfg->data_dir);
		char *s = NULL;
		if (read_secret_file(cfg->secret_file, &s) == 0) {
			free(cfg->secret_key);
			cfg->secret_key = s;
		} else if (cfg->run == RUN_SERVE) {
			unsigned char raw[32];
			char enc[64];
			rand_bytes(raw, sizeof(raw));
			b64url_encode(raw, sizeof(raw), enc);
			int fd = open(cfg->secret_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd < 0) {
				snprintf(err, errlen, "invalid secret_key: cannot create %s: %s", cfg->secret_file,
				         strerror(errno));
				return -1;
			}
			size_t n = strlen(enc);
			int ok = write(fd, enc, n) == (ssize_t) n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
			close(fd);
			if (!ok) {
				snprintf(err, errlen, "invalid secret_key: cannot write %s", cfg->secret_file);
				return -1;
			}
			free(cfg->secret_key);
			cfg->secret_key = xstrdup(enc);
		} else {
			snprintf(err, errlen,
			         "missing secret_key: set TROUPE_SECRET_KEY (at least 32 bytes) for this role; only "
			         "'serve' generates one");
			return -1;
		}
	}
	if (strlen(cfg->secret_key) < 32) {
		snprintf(err, errlen, "invalid secret_key: must be at least 32 bytes, got %zu",
		         strlen(cfg->secret_key));
		return -1;
	}
	return 0;
}

void config_free(struct config *cfg)
{
	if (cfg->secret_key)
		memset(cfg->secret_key, 0, strlen(cfg->secret_key));
	for (size_t i = 0; i < ARRAY_LEN(settings); i++)
		if (settings[i].type == SET_STR) {
			char **p = (char **) ((char *) cfg + settings[i].off);
			free(*p);
			*p = NULL;
		}
	free(cfg->listen_host);
	free(cfg->secret_file);
	free(cfg->config_file);
	memset(cfg, 0, sizeof(*cfg));
}
