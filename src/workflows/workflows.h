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

#endif
