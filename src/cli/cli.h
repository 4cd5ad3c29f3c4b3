/*
 * cli: commands that talk to a running troupe server over its API, as any
 * client does (docs/workflows.md, "Through the API and the CLI").
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

/* argv[0] is "import" or "export", argv[1] "crew", then the arguments. */
int cli_crew(int argc, char **argv);

#endif
