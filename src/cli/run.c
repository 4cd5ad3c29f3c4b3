/* troupe run: starts an execution and runs it in this process (cli.h). */
#include "cli/cli.h"
#include "core/json_text.h"
#include "cli/cli_int.h"

#include "app.h"
#include "auth/auth.h"
#include "db/db.h"
#include "engine/engine.h"
#include "executions/executions.h"
#include "jobs/jobs.h"
#include "workflows/workflows.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define POLL_MS     50  /* how often the events are read */
#define SUMMARY_MAX 200 /* bytes of a value shown on an event's line */

/* ---------------------------------------------------------------- arguments */

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "troupe: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\ntroupe: usage: troupe run WORKFLOW_ID [--input NAME=VALUE]... [--workspace ID] [OPTIONS]\n");
	return 2;
}

/* NAME=VALUE into inputs as the text VALUE; inputs_typed gives it the
 * workflow's declared type once the workflow is read. */
static int add_input(json_t *inputs, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *name;

	if (!eq || eq == arg)
		return usage_error("invalid --input \"%s\": want NAME=VALUE", arg);
	name = xstrndup(arg, (size_t) (eq - arg));
	if (json_object_get(inputs, name)) {
		free(name);
		return usage_error("--input %s is given twice", arg);
	}
	json_object_set_new(inputs, name, json_string(eq + 1));
	free(name);
	return 0;
}

int cli_run_args(int argc, char **argv, struct cli_run_args *out, int *nrest)
{
	int k = 0;

	memset(out, 0, sizeof(*out));
	out->inputs = json_object();
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = NULL;
		if (str_eq(a, "--input") || str_eq(a, "--workspace")) {
			if (i + 1 >= argc)
				return usage_error("%s needs a value", a);
			v = argv[++i];
		} else if (str_startswith(a, "--input=") || str_startswith(a, "--workspace=")) {
			v = strchr(a, '=') + 1;
		}
		if (v && str_startswith(a, "--input")) {
			if (add_input(out->inputs, v))
				return 2;
		} else if (v) {
			if (!id_valid(v))
				return usage_error("invalid --workspace \"%s\": want an id (UUID)", v);
			out->workspace_id = v;
		} else if (a[0] != '-' && !out->workflow_id &&
		           (id_valid(a) || i == 0 || !str_startswith(argv[i - 1], "--") || strchr(argv[i - 1], '='))) {
			/* the first id, or a word that is no setting's value (--data DIR) */
			if (!id_valid(a))
				return usage_error("invalid WORKFLOW_ID \"%s\": want an id (UUID)", a);
			out->workflow_id = a;
		} else {
			argv[k++] = argv[i]; /* a setting, for config_load */
		}
	}
	*nrest = k;
	if (!out->workflow_id)
		return usage_error("%s", "missing WORKFLOW_ID");
	return 0;
}

void cli_run_args_free(struct cli_run_args *a)
{
	json_decref(a->inputs);
	a->inputs = NULL;
}

void cli_run_help(FILE *f)
{
	static const char *const local[] = {"data",           "database_url", "secret_key", "workers",
	                                    "tool_threads",   "tool_timeout", "job_lease",  "db_pool",
	                                    "outbound_allow", "log_level",    "log_format", NULL};
	fputs("Usage: troupe run WORKFLOW_ID [--input NAME=VALUE]... [--workspace ID] [OPTIONS]\n\n"
	      "Starts an execution of the workflow (its published version, else its latest), prints each event\n"
	      "as a line while it runs, then its usage (tokens and cost), each artifact with its download\n"
	      "path, and last its output (text as it is, JSON indented). Errors go to stderr.\n\n"
	      "  --input NAME=VALUE   one per input; VALUE is read as the type the workflow declares for NAME:\n"
	      "                       string: the text as given (year=2026 is the text \"2026\"); number: 2026,\n"
	      "                       0.5; boolean: true, false; json: JSON (tags='[\"a\",\"b\"]')\n"
	      "  --workspace ID       the workspace to act in (default: the workflow's)\n\n"
	      "Through a server, when TROUPE_URL is set: the server's workers run it, and this command only\n"
	      "starts and follows it over the API (it takes no OPTIONS then):\n"
	      "  TROUPE_URL           the server, http:// or https:// (like http://127.0.0.1:8080)\n"
	      "  TROUPE_API_KEY       an API key of the workflow's workspace, role editor or admin (sent as a\n"
	      "                       Bearer token, never printed); the key acts in its own workspace\n\n"
	      "In this process, when TROUPE_URL is unset: it opens the database itself, as `troupe worker`\n"
	      "does, and runs the execution with the worker's code. It claims that execution's job only:\n"
	      "other queued jobs of a database shared with workers are left to them. The OPTIONS are the\n"
	      "worker's (`troupe worker --help` lists them all); these matter most:\n",
	      f);
	config_print_settings(f, local);
	fputs("\nExit status: 0 succeeded, 1 failed or refused (the problem on stderr), 2 a usage error,\n"
	      "130 interrupted: Ctrl-C cancels the execution and waits for its end; a second one leaves it running.\n",
	      f);
}

/* ---------------------------------------------------------------- printing */

/* s on one line, cut to SUMMARY_MAX bytes (on a UTF-8 boundary). */
static void put_short(FILE *f, const char *s)
{
	size_t n = 0;

	for (; s[n] && n < SUMMARY_MAX; n++)
		;
	while (n > 0 && s[n] && ((unsigned char) s[n] & 0xc0) == 0x80)
		n--;
	for (size_t i = 0; i < n; i++)
		fputc(s[i] == '\n' || s[i] == '\r' ? ' ' : s[i], f);
	if (s[n])
		fputs("...", f);
}

static void put_json_short(FILE *f, const json_t *v)
{
	char *s = v ? json_text(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	put_short(f, s ? s : "null");
	free(s);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* One event as a line: seq, type, [task#attempt], what matters of its data. */
static void print_event(FILE *f, const json_t *e)
{
	const char *type = jstr(e, "type"), *task = jstr(e, "task_key");
	json_t *d = json_object_get(e, "data");

	int pad = 19 - (int) strlen(type ? type : "?");

	fprintf(f, "%4lld %s", (long long) json_integer_value(json_object_get(e, "seq")), type ? type : "?");
	if (task)
		fprintf(f, "%*s [%s#%lld]", pad > 0 ? pad : 0, "", task,
		        (long long) json_integer_value(json_object_get(e, "attempt")));
	if (str_eq(type, "llm.started") && json_is_true(json_object_get(d, "forced_final_answer"))) {
		fputs(" max_iter reached: a final answer is forced", f);
	} else if (str_eq(type, "llm.completed")) {
		fprintf(f, " %s: %lld in, %lld out, %lld ms", jstr(d, "model") ? jstr(d, "model") : "",
		        (long long) json_integer_value(json_object_get(d, "prompt_tokens")),
		        (long long) json_integer_value(json_object_get(d, "completion_tokens")),
		        (long long) json_integer_value(json_object_get(d, "latency_ms")));
	} else if (str_eq(type, "tool.started")) {
		fprintf(f, " %s ", jstr(d, "name") ? jstr(d, "name") : "");
		put_json_short(f, json_object_get(d, "arguments"));
	} else if (str_eq(type, "tool.completed")) {
		fprintf(f, " %s%s: ", jstr(d, "name") ? jstr(d, "name") : "",
		        json_is_true(json_object_get(d, "cached")) ? " (repeated: the earlier result)" : "");
		put_short(f, jstr(d, "result") ? jstr(d, "result") : "");
	} else if (jstr(d, "error")) {
		fputs(" ", f);
		if (jstr(d, "name"))
			fprintf(f, "%s: ", jstr(d, "name"));
		put_short(f, jstr(d, "error"));
	}
	fputc('\n', f);
	fflush(f);
}

/* ---------------------------------------------------------------- inputs */

/* What a text must be for a declared type (docs/workflows.md, inputs). */
static const char *type_wanted(const char *type)
{
	return str_eq(type, "number")    ? "a number (like 2026 or 0.5)"
	       : str_eq(type, "boolean") ? "true or false"
	                                 : "JSON (a text in quotes: \"...\")";
}

/* Each --input's text as the type the workflow declares for it (declared:
 * its inputs [{name, type}]): a string is the text as given, a number or
 * a boolean is parsed (2026, 0.5, true), json is parsed as JSON. A name the
 * workflow does not declare stays text, for the execute's own check to
 * name. Every text that does not parse is a field error "inputs.NAME". */
static enum status inputs_typed(const json_t *declared, json_t *inputs, struct problem *p)
{
	const json_t *d;
	size_t i;

	json_array_foreach(declared, i, d)
	{
		const char *name = jstr(d, "name"), *type = jstr(d, "type");
		const char *text = json_string_value(json_object_get(inputs, name ? name : ""));
		if (!text || !type || str_eq(type, "string"))
			continue;
		json_error_t err;
		json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
		if (v && (str_eq(type, "json") || (str_eq(type, "number") && json_is_number(v)) ||
		          (str_eq(type, "boolean") && json_is_boolean(v)))) {
			json_object_set_new(inputs, name, v);
			continue;
		}
		json_decref(v);
		problem_field(p, arena_printf(p->arena, "inputs.%s", name), "is declared %s: \"%s\" is not %s", type,
		              text, type_wanted(type));
	}
	if (p->nfields)
		return problem_set(p, ST_UNPROCESSABLE, "an --input does not read as its declared type");
	return ST_OK;
}

/* The inputs the run will be checked against: those of the version that
 * runs when none is asked for (wf: the workflow as GET answers it;
 * published: that version's, when one is published and is not wf's). */
static const json_t *declared_inputs(const json_t *wf, const json_t *published)
{
	if (published)
		return json_object_get(json_object_get(published, "definition"), "inputs");
	return json_object_get(wf, "inputs");
}

/* The version to read the inputs from: the published one when it is not
 * the workflow's current version, else 0 (the current one). */
static json_int_t other_published(const json_t *wf)
{
	const json_t *pv = json_object_get(wf, "published_version");
	json_int_t v = json_integer_value(pv);
	return json_is_integer(pv) && v != json_integer_value(json_object_get(wf, "version")) ? v : 0;
}

/* ---------------------------------------------------------------- the end */

/* The usage and the artifacts of a finished execution x, before its
 * output: tokens, the cost (or why there is none), then each artifact's
 * name and where to download it (base: the server's URL, or "" for the
 * API path alone). */
static void print_summary(FILE *f, const json_t *x, const char *base)
{
	const json_t *u = json_object_get(x, "usage"), *cost = json_object_get(u, "cost"), *art;
	size_t i;

	fprintf(f, "\nusage: %lld prompt tokens (%lld cached), %lld completion tokens; ",
	        (long long) json_integer_value(json_object_get(u, "prompt_tokens")),
	        (long long) json_integer_value(json_object_get(u, "cached_tokens")),
	        (long long) json_integer_value(json_object_get(u, "completion_tokens")));
	if (json_is_number(cost)) {
		/* fixed decimals, as costs are kept (COST_DECIMALS), without the trailing zeros: 0.000281 */
		char c[64];
		int n = snprintf(c, sizeof(c), "%.*f", COST_DECIMALS, json_number_value(cost));
		if (n < 0 || n >= (int) sizeof(c))
			n = (int) strlen(c);
		while (n > 1 && c[n - 1] == '0' && c[n - 2] != '.')
			c[--n] = '\0';
		fprintf(f, "cost %s %s\n", c, jstr(u, "currency") ? jstr(u, "currency") : "");
	} else {
		fputs("cost unknown (a model without a price)\n", f);
	}
	json_array_foreach(json_object_get(x, "artifacts"), i, art)
	{
		const char *url = jstr(art, "url");
		fprintf(f, "artifact %s (%lld bytes): %s%s\n", jstr(art, "name") ? jstr(art, "name") : "?",
		        (long long) json_integer_value(json_object_get(art, "size")), base, url ? url : "");
	}
}

/* ---------------------------------------------------------------- running */

/* The workspace of the workflow (archived ones excluded): a trusted command
 * with the database's credentials acts where the workflow lives. */
static enum status workflow_workspace(struct db *db, const char *id, struct arena *a, const char **ws,
                                      struct problem *p)
{
	struct db_res *r;
	enum status st =
	    db_exec1(db, DB_READ, a, &r, "SELECT workspace_id FROM workflows WHERE id = ? AND archived_at IS NULL",
	             DB_ARGS(db_text(id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) != 1)
		return problem_set(p, ST_NOT_FOUND, "no workflow %s", id);
	*ws = arena_strdup(a, db_res_text(r, 0, 0));
	return ST_OK;
}

static void print_problem(const char *what, const struct problem *p)
{
	fprintf(stderr, "troupe: %s: %s\n", what, p->detail ? p->detail : "error");
	for (int i = 0; i < p->nfields; i++)
		fprintf(stderr, "troupe:   %s: %s\n", p->fields[i].field, p->fields[i].message);
}

/* True when SIGINT or SIGTERM is pending (main blocks them in every thread). */
static bool interrupted(void)
{
	sigset_t set;
	struct timespec zero = {0, 0};

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	return sigtimedwait(&set, NULL, &zero) > 0;
}

/* Ctrl-C asks the execution to stop and keeps following it; a second one leaves at once. */
static void cancel_local(struct app *app, const struct actor *who, const char *id)
{
	struct arena *a = arena_new();
	struct problem p;
	json_t *out = NULL;
	bool running = false;

	problem_init(&p, a);
	if (executions_cancel(app->db, who, id, &running, a, &out, &p) == ST_OK) {
		if (running)
			engine_runner_cancel(app->runner, id);
		fprintf(stderr, "troupe: cancelling execution %s (interrupt again to leave it running)\n", id);
	} else {
		print_problem("cannot cancel", &p);
	}
	arena_free(&a);
}

/* Prints events after *seq; the final status once an execution.<end> event is read (else -1). */
static int follow_once(struct app *app, const struct actor *who, const char *id, int64_t *seq, struct problem *p)
{
	struct arena *a = arena_new();
	json_t *items = NULL, *e;
	int64_t last = *seq;
	size_t i;
	int end = -1;

	problem_init(p, a);
	if (executions_events(app->db, who, id, *seq, 200, a, &items, &last, p) != ST_OK) {
		print_problem("cannot read the execution's events", p);
		arena_free(&a);
		return EXEC_FAILED;
	}
	json_array_foreach(items, i, e)
	{
		const char *type = jstr(e, "type");
		print_event(stdout, e);
		if (str_startswith(type, "execution.") && !str_eq(type, "execution.queued") &&
		    !str_eq(type, "execution.started") && !str_eq(type, "execution.resumed"))
			end = executions_status_parse(type + strlen("execution."));
	}
	if (last > *seq)
		*seq = last;
	arena_free(&a);
	return end;
}

static void print_output(struct app *app, const struct actor *who, const char *id)
{
	struct arena *a = arena_new();
	struct problem p;
	json_t *x = NULL, *out;

	problem_init(&p, a);
	if (executions_get(app->db, who, id, a, &x, &p) != ST_OK) {
		print_problem("cannot read the execution", &p);
		goto out;
	}
	print_summary(stdout, x, "");
	if (json_is_string(out = json_object_get(x, "output"))) {
		printf("\n%s\n", json_string_value(out));
	} else if (out && !json_is_null(out)) {
		char *s = json_text(out, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		printf("\n%s\n", s ? s : "");
		free(s);
	}
	if (jstr(x, "error"))
		fprintf(stderr, "troupe: execution %s %s: %s\n", id, jstr(x, "status"), jstr(x, "error"));
out:
	fflush(stdout);
	arena_free(&a);
}

/* The run's inputs typed by the workflow's declared ones (inputs_typed),
 * read as the execute will: in the workflow's workspace, at the version
 * that runs. */
static enum status local_inputs(struct app *app, const struct actor *who, const char *workflow_id, json_t *inputs,
                                struct problem *p)
{
	json_t *wf = NULL, *pub = NULL;
	enum status st = workflows_get(app->workflows, who, workflow_id, who->arena, &wf, p);
	json_int_t v = st == ST_OK ? other_published(wf) : 0;
	if (st == ST_OK && v)
		st = workflows_version_get(app->workflows, who, workflow_id, v, who->arena, &pub, p);
	if (st != ST_OK)
		return st;
	return inputs_typed(declared_inputs(wf, pub), inputs, p);
}

/* This process's workers claim the job of execution id and no other: a
 * database shared with workers keeps its other queued jobs for them. */
static enum status claim_own_job(struct app *app, const struct actor *who, const char *id, struct problem *p)
{
	struct db_res *r;
	enum status st = db_exec1(app->db, DB_READ, who->arena, &r,
	                          "SELECT job_id FROM executions WHERE workspace_id = ? AND id = ?",
	                          DB_ARGS(db_text(who->workspace_id), db_text(id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) != 1 || db_res_null(r, 0, 0))
		return problem_set(p, ST_INTERNAL, "execution %s has no job", id);
	jobs_claim_only(app->jobs, db_res_text(r, 0, 0));
	return ST_OK;
}

int cli_run(struct app *app, const struct cli_run_args *args)
{
	struct arena *a = arena_new();
	struct problem p;
	struct actor who = {.authenticated = true, .role = ROLE_EDITOR, .arena = a};
	json_t *body = json_pack("{s:o}", "inputs", json_deep_copy(args->inputs)), *started = NULL;
	const char *id;
	int64_t seq = 0;
	int end = -1, rc = 1, cancelled = 0;

	problem_init(&p, a);
	who.workspace_id = args->workspace_id;
	if (!who.workspace_id && workflow_workspace(app->db, args->workflow_id, a, &who.workspace_id, &p) != ST_OK) {
		print_problem("cannot start", &p);
		goto out;
	}
	if (local_inputs(app, &who, args->workflow_id, json_object_get(body, "inputs"), &p) != ST_OK) {
		print_problem("cannot start", &p);
		goto out;
	}
	if (executions_start(app->db, app->workflows, &who, args->workflow_id, body, a, &started, &p) != ST_OK) {
		print_problem("cannot start", &p);
		goto out;
	}
	id = arena_strdup(a, jstr(started, "id"));
	printf("execution %s\n", id);
	fflush(stdout);
	if (claim_own_job(app, &who, id, &p) != ST_OK) {
		print_problem("cannot run it here", &p);
		goto out;
	}
	while (end < 0) {
		if (interrupted()) {
			if (cancelled++) {
				fprintf(stderr, "troupe: interrupted; execution %s is left to the workers\n", id);
				rc = 130;
				goto out;
			}
			cancel_local(app, &who, id);
		}
		struct timespec ts = {0, POLL_MS * 1000000L};
		end = follow_once(app, &who, id, &seq, &p);
		if (end < 0)
			nanosleep(&ts, NULL);
	}
	print_output(app, &who, id);
	rc = end == EXEC_SUCCEEDED ? 0 : cancelled ? 130 : 1;
out:
	json_decref(body);
	arena_free(&a);
	return rc;
}

/* ---------------------------------------------------------------- through a server */

static volatile sig_atomic_t remote_interrupts; /* written by the signal handler only */

static void on_interrupt(int sig)
{
	(void) sig;
	remote_interrupts++;
}

/* The events of the execution after *seq, printed; the final status once read (else -1; -2 on an error). */
static int remote_follow_once(const char *id, int64_t *seq)
{
	char raw[48], enc[72], *path;
	json_t *out = NULL, *e;
	long code = 0;
	size_t i;
	int end = -1;

	/* the events cursor is the last seq, as this server encodes it (http/page.c): one program, both sides */
	snprintf(raw, sizeof(raw), "k:%lld", (long long) *seq);
	b64url_encode(raw, strlen(raw), enc);
	path = xasprintf("/api/v1/executions/%s/events?limit=200%s%s", id, *seq ? "&cursor=" : "", *seq ? enc : "");
	if (cli_request("GET", path, NULL, &code, &out) < 0) {
		free(path);
		return -2;
	}
	free(path);
	if (code != 200) {
		cli_refused(code, out);
		json_decref(out);
		return -2;
	}
	json_array_foreach(json_object_get(out, "items"), i, e)
	{
		const char *type = jstr(e, "type");
		print_event(stdout, e);
		*seq = json_integer_value(json_object_get(e, "seq"));
		if (str_startswith(type, "execution.") && !str_eq(type, "execution.queued") &&
		    !str_eq(type, "execution.started") && !str_eq(type, "execution.resumed"))
			end = executions_status_parse(type + strlen("execution."));
	}
	json_decref(out);
	return end;
}

/* GET path into *out (200 only); else 1 after the refusal on stderr. */
static int remote_get(const char *path, json_t **out)
{
	long code = 0;

	*out = NULL;
	if (cli_request("GET", path, NULL, &code, out) < 0)
		return 1;
	if (code == 200)
		return 0;
	cli_refused(code, *out);
	json_decref(*out);
	*out = NULL;
	return 1;
}

/* local_inputs through the server: the workflow, then the published
 * version when it is not the current one. 0, or 1 after the problem. */
static int remote_inputs(const char *workflow_id, json_t *inputs)
{
	char *path = xasprintf("/api/v1/workflows/%s", workflow_id);
	json_t *wf = NULL, *pub = NULL;
	struct arena *a = arena_new();
	struct problem p;
	json_int_t v;
	int rc = remote_get(path, &wf);

	problem_init(&p, a);
	if (!rc && (v = other_published(wf))) {
		free(path);
		path = xasprintf("/api/v1/workflows/%s/versions/%lld", workflow_id, (long long) v);
		rc = remote_get(path, &pub);
	}
	if (!rc && inputs_typed(declared_inputs(wf, pub), inputs, &p) != ST_OK) {
		print_problem("cannot start", &p);
		rc = 1;
	}
	json_decref(wf);
	json_decref(pub);
	arena_free(&a);
	free(path);
	return rc;
}

/* The server's URL without a trailing slash, before an artifact's path. */
static char *server_base(void)
{
	const char *url = getenv("TROUPE_URL");
	char *b = xstrdup(url ? url : "");
	size_t n = strlen(b);

	while (n > 0 && b[n - 1] == '/')
		b[--n] = '\0';
	return b;
}

static int remote_output(const char *id)
{
	char *path = xasprintf("/api/v1/executions/%s", id), *base = server_base();
	json_t *x = NULL, *out;
	long code = 0;
	int rc = 1;

	if (cli_request("GET", path, NULL, &code, &x) < 0)
		goto done;
	if (code != 200) {
		cli_refused(code, x);
		goto done;
	}
	print_summary(stdout, x, base);
	if (json_is_string(out = json_object_get(x, "output"))) {
		printf("\n%s\n", json_string_value(out));
	} else if (out && !json_is_null(out)) {
		char *s = json_text(out, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		printf("\n%s\n", s ? s : "");
		free(s);
	}
	fflush(stdout);
	if (jstr(x, "error"))
		fprintf(stderr, "troupe: execution %s %s: %s\n", id, jstr(x, "status"), jstr(x, "error"));
	rc = str_eq(jstr(x, "status"), "succeeded") ? 0 : 1;
done:
	json_decref(x);
	free(path);
	free(base);
	return rc;
}

int cli_run_remote(const struct cli_run_args *args)
{
	json_t *body = json_pack("{s:o}", "inputs", json_deep_copy(args->inputs)), *out = NULL;
	char *text = NULL, *path = NULL, *id = NULL;
	struct sigaction sa = {.sa_handler = on_interrupt};
	long code = 0;
	int64_t seq = 0;
	int rc = 1, end = -1, asked = 0;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "troupe: libcurl cannot start\n");
		goto done;
	}
	if (args->workspace_id)
		setenv("TROUPE_WORKSPACE", args->workspace_id, 1);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (remote_inputs(args->workflow_id, json_object_get(body, "inputs")))
		goto done;
	text = json_text(body, JSON_COMPACT);
	path = xasprintf("/api/v1/workflows/%s/execute", args->workflow_id);
	if (cli_request("POST", path, text, &code, &out) < 0)
		goto done;
	if (code != 202 || !jstr(out, "id")) {
		rc = cli_refused(code, out);
		goto done;
	}
	id = xstrdup(jstr(out, "id"));
	printf("execution %s\n", id);
	fflush(stdout);
	while (end == -1) {
		struct timespec ts = {0, POLL_MS * 1000000L};
		if (remote_interrupts > asked) {
			if (asked++) {
				fprintf(stderr, "troupe: interrupted; execution %s goes on\n", id);
				rc = 130;
				goto done;
			}
			char *cp = xasprintf("/api/v1/executions/%s/cancel", id);
			json_t *cj = NULL;
			if (cli_request("POST", cp, "{}", &code, &cj) == 0 && code != 200 && code != 202)
				cli_refused(code, cj);
			else
				fprintf(stderr,
				        "troupe: cancelling execution %s (interrupt again to leave it running)\n", id);
			json_decref(cj);
			free(cp);
		}
		end = remote_follow_once(id, &seq);
		if (end == -1)
			nanosleep(&ts, NULL);
	}
	if (end >= 0) {
		rc = remote_output(id);
		if (rc && asked)
			rc = 130;
	}
done:
	curl_global_cleanup();
	json_decref(out);
	json_decref(body);
	free(text);
	free(path);
	free(id);
	return rc;
}
