/*
 * workflows: crews of tasks run by agents (issue 9). This header is the
 * module's whole face.
 */
#ifndef TROUPE_WORKFLOWS_H
#define TROUPE_WORKFLOWS_H

#include <jansson.h>

#include "core/core.h"

/* ---- crewAI import/export (crewai.c; docs/workflows.md, "crewAI") ----
 *
 * Documents only: no database. The import turns a crewAI project's
 * agents.yaml and tasks.yaml (and troupe's optional crew.yaml, which holds
 * what crewAI keeps in crew.py) into a workflow definition whose agents are
 * named by their YAML key; the caller maps keys, tool names and model names
 * to ids and saves. The export is the reverse, from the same shape.
 *
 * The definition, as both functions use it:
 *   {"workflow": {"name", "description", "process": "sequential"|"hierarchical",
 *                 "manager_llm"? | "manager_agent_key"? | "manager_model_id"?,
 *                 "max_rpm"?, "timeout_s"?, "tags"?,
 *                 "inputs": [{"name", "type", "required", "description"?, "default"?}],
 *                 "tasks": [{"key", "name"?, "description", "expected_output",
 *                            "agent_key"?, "context"?: [task keys], "async_execution",
 *                            "tool_names"?: [names], "output": {"format", "schema"?},
 *                            "guardrail"?, "max_retries"?, "human_review", "output_file"?}]},
 *    "agents": [{"key", "name", "role", "goal", "backstory", "llm"? | "model_id"?,
 *                "tool_names": [names], "max_iter"?, "max_rpm"?, "max_execution_time_s"?,
 *                "max_retry_limit"?, "allow_delegation"?, "respect_context_window"?,
 *                "temperature"?, "system_prompt_extra"?}]}
 * Fields the YAML does not set are absent (the module applies defaults);
 * "context" absent means every earlier task's output, as in crewAI.
 */

#define CREWAI_MAX_AGENTS 100
#define CREWAI_MAX_TASKS  200

/* in: {"agents_yaml", "tasks_yaml", "crew_yaml"?, "process"?, "model_id"?,
 * "name"?} (the YAML as text). The body's process and model_id override
 * crew.yaml; model_id (a configuration id) replaces every agent's llm and
 * is the manager's model in a hierarchical process without a manager agent.
 * On success *out is a new {"workflow", "agents", "warnings": [{"field",
 * "message"}]}: keys with no meaning here (verbose, memory, cache, ...),
 * an empty expected_output and agents no task uses are warnings.
 * Errors: ST_BAD_INPUT with field errors named by document and path
 * ("tasks_yaml: research_task.agent"); a YAML syntax error's message starts
 * with its 1-based line and column ("line 3, column 5: ..."). *out is NULL
 * on error. */
enum status workflows_crewai_import(const json_t *in, json_t **out, struct problem *p);

/* def: {"workflow", "agents"} as above (agents by key; model ids the caller
 * could not name are left out). *out: a new {"agents_yaml", "tasks_yaml",
 * "crew_yaml"} of YAML texts that import back to an equivalent definition.
 * Errors: ST_UNPROCESSABLE for a graph process (crewAI has none) or a task
 * naming an agent key that def does not hold; ST_BAD_INPUT for a def that
 * is not of the shape above. */
enum status workflows_crewai_export(const json_t *def, json_t **out, struct problem *p);

/* ---- the module: workflows with immutable versions (workflows.c,
 * validate.c, import.c; docs/workflows.md) ----
 *
 * Every change writes a new version (number, author, time, change_note) in
 * the transaction that changes the row, after the whole definition passed
 * validation: an error writes nothing. Deleting archives: the workflow
 * leaves lists and lookups (404) but its versions still resolve. Every
 * function takes the actor it acts for, scopes every query to
 * who->workspace_id (another workspace's id is ST_NOT_FOUND), and writes
 * its own audit entry for changes; roles are the gateway's business.
 *
 * The definition (what a version holds), every field present:
 *   {name, description, process: sequential|hierarchical|graph,
 *    manager_model_id|null, manager_agent_id|null,
 *    inputs: [{name, description|null, type: string|number|boolean|json,
 *              default?, required}],
 *    tasks: [{key, name|null, description, expected_output, agent_id|null,
 *             context|null (null: every earlier task, as crewAI's absent
 *             context), async_execution, depends_on[], condition|null,
 *             tool_ids|null (null: the agent's), output {format, schema|null},
 *             guardrail|null, max_retries, human_review, output_file|null}],
 *    max_rpm|null, max_concurrency|null, timeout_s|null, tags[]}
 * Answers (*out, *items) belong to the arena a: callers that keep one incref
 * it. An answer is {id, version, published_version|null, ...definition,
 * created_at, updated_at}; writes add "warnings": [{field, message}].
 */

struct workflows;
struct agents;
struct actor;
struct db;
struct db_conn;
struct schema;

/* The request body of a create (WorkflowCreate) and of a patch: shared by
 * the gateway and the importer, so both name fields alike. */
extern const struct schema workflows_create_schema, workflows_update_schema;

/* agents: borrowed, owned by main (resolving agents and tools). */
enum status workflows_new(struct db *db, struct agents *agents, struct workflows **out, struct problem *p);
void workflows_free(struct workflows **m);

/* q: part of the name (case-insensitive); tag: workflows with this tag. */
enum status workflows_list(struct workflows *m, const struct actor *who, const char *q, const char *tag, int limit,
                           const char *after, struct arena *a, json_t **items, const char **last, struct problem *p);
/* Validation errors: ST_UNPROCESSABLE with every error's path
 * ("tasks[2].context[0]"). Body fields beyond a definition: change_note;
 * base_version (update: stale is ST_CONFLICT naming the current version). */
enum status workflows_create(struct workflows *m, const struct actor *who, json_t *in, struct arena *a, json_t **out,
                             struct problem *p);
enum status workflows_get(struct workflows *m, const struct actor *who, const char *id, struct arena *a, json_t **out,
                          struct problem *p);
enum status workflows_update(struct workflows *m, const struct actor *who, const char *id, json_t *patch,
                             struct arena *a, json_t **out, struct problem *p);
enum status workflows_delete(struct workflows *m, const struct actor *who, const char *id, struct arena *a,
                             struct problem *p);
/* The current definition checked again now (agents may have gone):
 * {valid, errors: [{field, message}], warnings: [...]}. */
enum status workflows_validate(struct workflows *m, const struct actor *who, const char *id, struct arena *a,
                               json_t **out, struct problem *p);

/* ---- versions ---- */
/* Items {version, author_id, change_note, created_at}, oldest first. */
enum status workflows_versions_list(struct workflows *m, const struct actor *who, const char *id, int limit,
                                    const char *after, struct arena *a, json_t **items, const char **last,
                                    struct problem *p);
/* {id, version, author_id, change_note, created_at, definition}. */
enum status workflows_version_get(struct workflows *m, const struct actor *who, const char *id, int64_t version,
                                  struct arena *a, json_t **out, struct problem *p);
/* {id, from, to, added, removed, changed}: json_diff of the definitions,
 * tasks matched by key ("tasks.research.description"); a change of the
 * tasks' order is one "tasks" entry listing the keys. */
enum status workflows_version_diff(struct workflows *m, const struct actor *who, const char *id, int64_t from,
                                   int64_t to, struct arena *a, json_t **out, struct problem *p);
/* A new version equal to version n, validated again; body {change_note?}. */
enum status workflows_version_restore(struct workflows *m, const struct actor *who, const char *id, int64_t n,
                                      json_t *body, struct arena *a, json_t **out, struct problem *p);
/* body {version}: the version that runs when none is asked for. */
enum status workflows_publish(struct workflows *m, const struct actor *who, const char *id, json_t *body,
                              struct arena *a, json_t **out, struct problem *p);

/* ---- for the engine (no audit, no role) ----
 * What an execution runs, resolved once: the workflow at version (0: the
 * published one, else the latest) and every agent and tool it names, each
 * at the version pins give ({"agents": {id: n}, "tools": {id: n}}; an id
 * not pinned, or pins NULL: its current version). *out:
 *   {"workflow": {id, version, definition},
 *    "agents": {id: {id, version, ...definition}},
 *    "tools": {id: {id, version, ...definition}}}
 * For the same numbers the document is the same forever (versions are
 * immutable and archived objects still resolve); the tools an agent lists
 * are those of the agent's resolved version. A pinned version that does
 * not exist is ST_NOT_FOUND; a pin that is not {id: a number >= 1} is
 * ST_BAD_INPUT naming "agents.<id>" (or "tools.<id>"). */
enum status workflows_snapshot(struct workflows *m, const char *ws, const char *id, int64_t version, const json_t *pins,
                               struct arena *a, json_t **out, struct problem *p);

/* The agents module's usage hook (agents_set_usage_hook): the live
 * workflows whose current definition names agent_id (a task's agent or the
 * manager), as [{id, name}], read on c inside the agent delete's
 * transaction. */
enum status workflows_agent_usage(struct db_conn *c, const char *ws, const char *agent_id, struct arena *a,
                                  json_t **out, struct problem *p);

/* ---- crewAI through the module (import.c) ---- */
/* in: the body of POST /workflows/import (workflows_crewai_import's).
 * Creates the agents and the workflow in one transaction; tools are mapped
 * by name to built-ins or the workspace's custom tools (unknown: a
 * warning), llm by model name to a chat model configuration (else the
 * default, with a warning). *out {workflow, agents: [... with "key"],
 * warnings}. Errors as workflows_crewai_import's, then the validation's. */
enum status workflows_import(struct workflows *m, const struct actor *who, json_t *in, struct arena *a, json_t **out,
                             struct problem *p);
/* format: "crewai" (the only one). *out {agents_yaml, tasks_yaml, crew_yaml}. */
enum status workflows_export(struct workflows *m, const struct actor *who, const char *id, const char *format,
                             struct arena *a, json_t **out, struct problem *p);

#endif
