/*
 * cli: commands that talk to a running troupe server over its API, as any
 * client does (docs/workflows.md, "Through the API and the CLI"), and
 * `troupe run`, which works on the database itself.
 *
 *   troupe import crew DIR      POST /api/v1/workflows/import with DIR's
 *                               agents.yaml, tasks.yaml and, if present,
 *                               crew.yaml (a crewAI project's config folder)
 *   troupe export crew ID DIR   GET /api/v1/workflows/ID/export?format=crewai
 *                               and writes the three files into DIR
 *
 * The server is TROUPE_URL (http or https; default http://127.0.0.1:8080),
 * the credential TROUPE_API_KEY (sent as a Bearer token, never printed),
 * and TROUPE_WORKSPACE, when set, the X-Workspace-Id. Exit status: 0 done,
 * 1 the server refused or could not be reached (its problem's detail and
 * field errors on stderr), 2 a usage error.
 */
#ifndef TROUPE_CLI_H
#define TROUPE_CLI_H

#include <stdio.h>

/* argv[0] is "import" or "export", argv[1] "crew", then the arguments. */
int cli_crew(int argc, char **argv);

/*
 * troupe run WORKFLOW_ID [--input NAME=VALUE]... [--workspace ID] [OPTIONS]
 *
 * Starts an execution of the workflow (its published version, else its
 * latest) with the inputs and, unless TROUPE_URL names a server to ask
 * (cli_run_remote), runs it in this process with the worker's code
 * (main starts the job workers, the engine loops and the tool threads as
 * `troupe worker` does, on --data or TROUPE_DATABASE_URL, with the worker's
 * settings). It prints each event as a line on stdout as it is stored, then
 * the output (a string as it is, JSON indented); an error goes to stderr.
 * Each VALUE is read as the type the workflow declares for the input (a
 * string is the text as given; number, boolean and json are parsed), at
 * the version that runs; one that does not read as its type is refused
 * before the execute, naming "inputs.NAME". After the events, the usage
 * and each artifact's download path are printed, then the output. The workspace is the workflow's (--workspace checks
 * it). While it runs it is a worker like any other: with a database shared with servers it may take other queued jobs,
 * which it finishes or hands back when it stops. Ctrl-C cancels the execution and waits for its end; a second one
 * leaves at once. Exit status: 0 succeeded, 1 failed or refused (the problem on stderr), 2 a usage error, 130 cancelled
 * or interrupted.
 */
struct cli_run_args {
	const char *workflow_id;
	const char *workspace_id; /* NULL: the workflow's */
	struct json_t *inputs;    /* {name: value} */
};
/* Takes run's own arguments out of argv (argv[0] is the first after "run");
 * the settings stay in argv[0..*nrest) for config_load. 0, or 2 after a
 * usage line on stderr. */
int cli_run_args(int argc, char **argv, struct cli_run_args *out, int *nrest);
void cli_run_args_free(struct cli_run_args *a);
/* troupe run --help: both modes, the inputs' types, the settings that matter in-process. */
void cli_run_help(FILE *f);
struct app;
/* After main started the job workers; returns the exit status. */
int cli_run(struct app *app, const struct cli_run_args *args);
/* With TROUPE_URL set (and TROUPE_API_KEY): the same through the server's
 * API (POST .../execute, the events pages polled, GET the execution; Ctrl-C
 * posts .../cancel), nothing run here. */
int cli_run_remote(const struct cli_run_args *args);

#endif
