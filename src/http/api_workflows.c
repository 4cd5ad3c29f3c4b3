/* /api/v1/workflows: workflows, their versions, publish, validation, the
 * snapshot an execution stores, and crewAI import and export. Viewers
 * read; editors create, change, delete, import, restore and publish. The
 * request bodies' schemas are the workflows module's, shared with its
 * importer. */
#include "api.h"
#include "../app.h"
#include "../workflows/workflows.h"

#include <string.h>

/* ---- bodies beyond the module's create and update ---- */
static const char *const IMPORT_PROCESSES[] = {"sequential", "hierarchical", NULL};
static const struct field import_fields[] = {
    {"agents_yaml", JT_STRING, .required = true, .min = 1, .max = 1048576, .description = "crewAI's agents.yaml"},
    {"tasks_yaml", JT_STRING, .required = true, .min = 1, .max = 1048576, .description = "crewAI's tasks.yaml"},
    {"crew_yaml", JT_STRING, .max = 1048576, .nullable = true,
     .description = "troupe's crew.yaml: what a crew.py wires (docs/workflows.md)"},
    {"process", JT_STRING, .enums = IMPORT_PROCESSES, .description = "overrides crew_yaml's"},
    {"model_id", JT_STRING, .format = "uuid",
     .description = "a chat model configuration for every agent (and the manager); overrides llm"},
    {"name", JT_STRING, .min = 1, .max = 200, .description = "the workflow's name"},
    {0}};
static const struct schema import_schema = {"WorkflowImport", import_fields, false};
static const struct field restore_fields[] = {{"change_note", JT_STRING, .max = 500}, {0}};
static const struct schema restore_schema = {"WorkflowVersionRestore", restore_fields, false};
static const struct field publish_fields[] = {{"version", JT_INT, .required = true, .min = 1, .max = INT32_MAX,
                                               .description = "the version that runs by default"},
                                              {0}};
static const struct schema publish_schema = {"WorkflowPublish", publish_fields, false};
static const struct schema pins_schema = {"VersionPins", NULL, true};
static const struct field snapshot_fields[] = {
    {"version", JT_INT, .min = 1, .max = INT32_MAX, .description = "default: the published version, else the latest"},
    {"agents", JT_OBJECT, .object = &pins_schema, .description = "{agent id: version}; default: current"},
    {"tools", JT_OBJECT, .object = &pins_schema, .description = "{tool id: version}; default: current"},
    {0}};
static const struct schema snapshot_schema = {"WorkflowSnapshotRequest", snapshot_fields, false};

/* ---- answers ---- */
static const struct schema free_schema = {"FreeObject", NULL, true};
static const struct field input_out_fields[] = {
    {"name", JT_STRING, .required = true},   {"description", JT_STRING, .required = true, .nullable = true},
    {"type", JT_STRING, .required = true},   {"default", JT_ANY, .nullable = true},
    {"required", JT_BOOL, .required = true}, {0}};
static const struct schema input_out_schema = {"WorkflowInputOut", input_out_fields, false};
static const struct field output_out_fields[] = {
    {"format", JT_STRING, .required = true},
    {"schema", JT_OBJECT, .required = true, .nullable = true, .object = &free_schema},
    {0}};
static const struct schema output_out_schema = {"TaskOutputOut", output_out_fields, false};
static const struct field task_out_fields[] = {
    {"key", JT_STRING, .required = true},
    {"name", JT_STRING, .required = true, .nullable = true},
    {"description", JT_STRING, .required = true},
    {"expected_output", JT_STRING, .required = true},
    {"agent_id", JT_STRING, .required = true, .nullable = true, .format = "uuid"},
    {"context", JT_ARRAY, .required = true, .nullable = true, .items = JT_STRING,
     .description = "null: every earlier task's output"},
    {"async_execution", JT_BOOL, .required = true},
    {"depends_on", JT_ARRAY, .required = true, .items = JT_STRING},
    {"condition", JT_OBJECT, .required = true, .nullable = true, .object = &free_schema},
    {"tool_ids", JT_ARRAY, .required = true, .nullable = true, .items = JT_STRING},
    {"output", JT_OBJECT, .required = true, .object = &output_out_schema},
    {"guardrail", JT_OBJECT, .required = true, .nullable = true, .object = &free_schema},
    {"max_retries", JT_INT, .required = true},
    {"human_review", JT_BOOL, .required = true},
    {"output_file", JT_STRING, .required = true, .nullable = true},
    {0}};
static const struct schema task_out_schema = {"WorkflowTaskOut", task_out_fields, false};
static const struct field warning_fields[] = {
    {"field", JT_STRING, .required = true}, {"message", JT_STRING, .required = true}, {0}};
static const struct schema warning_schema = {"FieldMessage", warning_fields, false};

#define DEFINITION_OUT_FIELDS                                                                                          \
	{"name", JT_STRING, .required = true}, {"description", JT_STRING, .required = true},                           \
	    {"process", JT_STRING, .required = true},                                                                  \
	    {"manager_model_id", JT_STRING, .required = true, .nullable = true, .format = "uuid"},                     \
	    {"manager_agent_id", JT_STRING, .required = true, .nullable = true, .format = "uuid"},                     \
	    {"inputs", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &input_out_schema},                   \
	    {"tasks", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &task_out_schema},                     \
	    {"max_rpm", JT_INT, .required = true, .nullable = true},                                                   \
	    {"max_concurrency", JT_INT, .required = true, .nullable = true},                                           \
	    {"timeout_s", JT_INT, .required = true, .nullable = true},                                                 \
	{                                                                                                              \
		"tags", JT_ARRAY, .required = true, .items = JT_STRING                                                 \
	}

static const struct field workflow_out_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"version", JT_INT, .required = true, .description = "the latest version"},
    {"published_version", JT_INT, .required = true, .nullable = true,
     .description = "the version that runs by default; null: the latest"},
    DEFINITION_OUT_FIELDS,
    {"created_at", JT_STRING, .required = true, .format = "date-time"},
    {"updated_at", JT_STRING, .required = true, .format = "date-time"},
    {"warnings", JT_ARRAY, .items = JT_OBJECT, .object = &warning_schema,
     .description = "writes: what validation found worth saying but not refusing"},
    {0}};
static const struct schema workflow_schema = {"Workflow", workflow_out_fields, false};

static const struct field definition_fields[] = {DEFINITION_OUT_FIELDS, {0}};
static const struct schema definition_schema = {"WorkflowDefinition", definition_fields, false};

static const struct field version_out_fields[] = {{"version", JT_INT, .required = true},
                                                  {"author_id", JT_STRING, .required = true, .nullable = true},
                                                  {"change_note", JT_STRING, .required = true, .nullable = true},
                                                  {"created_at", JT_STRING, .required = true, .format = "date-time"},
                                                  {0}};
static const struct schema version_schema = {"WorkflowVersionSummary", version_out_fields, false};
static const struct field version_full_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"version", JT_INT, .required = true},
    {"author_id", JT_STRING, .required = true, .nullable = true},
    {"change_note", JT_STRING, .required = true, .nullable = true},
    {"created_at", JT_STRING, .required = true, .format = "date-time"},
    {"definition", JT_OBJECT, .required = true, .object = &definition_schema},
    {0}};
static const struct schema version_full_schema = {"WorkflowVersion", version_full_fields, false};

static const struct field diff_entry_fields[] = {
    {"path", JT_STRING, .required = true, .description = "dotted path; tasks by key: tasks.research.description"},
    {"value", JT_ANY, .nullable = true},
    {"from", JT_ANY, .nullable = true},
    {"to", JT_ANY, .nullable = true},
    {0}};
static const struct schema diff_entry_schema = {"WorkflowDiffEntry", diff_entry_fields, false};
static const struct field diff_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"from", JT_INT, .required = true},
    {"to", JT_INT, .required = true},
    {"added", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &diff_entry_schema},
    {"removed", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &diff_entry_schema},
    {"changed", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &diff_entry_schema},
    {0}};
static const struct schema diff_schema = {"WorkflowVersionDiff", diff_fields, false};

static const struct field validation_fields[] = {
    {"valid", JT_BOOL, .required = true},
    {"errors", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &warning_schema},
    {"warnings", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &warning_schema},
    {0}};
static const struct schema validation_schema = {"WorkflowValidation", validation_fields, false};

static const struct field snap_wf_fields[] = {{"id", JT_STRING, .required = true, .format = "uuid"},
                                              {"version", JT_INT, .required = true},
                                              {"definition", JT_OBJECT, .required = true, .object = &definition_schema},
                                              {0}};
static const struct schema snap_wf_schema = {"SnapshotWorkflow", snap_wf_fields, false};
static const struct field snapshot_out_fields[] = {
    {"workflow", JT_OBJECT, .required = true, .object = &snap_wf_schema},
    {"agents", JT_OBJECT, .required = true, .object = &free_schema, .description = "{id: agent at its version}"},
    {"tools", JT_OBJECT, .required = true, .object = &free_schema, .description = "{id: tool at its version}"},
    {0}};
static const struct schema snapshot_out_schema = {"WorkflowSnapshot", snapshot_out_fields, false};

static const struct field import_out_fields[] = {
    {"workflow", JT_OBJECT, .required = true, .object = &workflow_schema},
    {"agents", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &free_schema,
     .description = "the agents created, each with its YAML key"},
    {"warnings", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &warning_schema},
    {0}};
static const struct schema import_out_schema = {"WorkflowImportResult", import_out_fields, false};

static const struct field export_fields[] = {{"agents_yaml", JT_STRING, .required = true},
                                             {"tasks_yaml", JT_STRING, .required = true},
                                             {"crew_yaml", JT_STRING, .required = true},
                                             {0}};
static const struct schema export_schema = {"WorkflowExport", export_fields, false};

static struct workflows *mod(struct req *rq)
{
	return rq->app->workflows;
}

/* The module's answers belong to the arena; a reply takes its own. */
static enum status reply(struct res *rs, enum status st, json_t *out)
{
	return api_reply(rs, st, st == ST_OK || st == ST_CREATED ? json_incref(out) : NULL);
}

static enum status h_list(struct req *rq, struct res *rs)
{
	int limit;
	const char *after, *last = NULL;
	json_t *items = NULL;
	const char *q = req_query(rq, "q"), *tag = req_query(rq, "tag");
	enum status st = http_page(rq, &limit, &after);
	if (st != ST_OK)
		return st;
	if (q && strlen(q) > 200)
		return problem_field(&rq->problem, "query.q", "must be at most 200 characters");
	if (tag && strlen(tag) > 200)
		return problem_field(&rq->problem, "query.tag", "must be at most 200 characters");
	st = workflows_list(mod(rq), req_actor(rq), q, tag, limit, after, rq->arena, &items, &last, &rq->problem);
	return api_list_reply(rq, rs, st, st == ST_OK ? json_incref(items) : NULL, limit, last);
}

static enum status h_create(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = workflows_create(mod(rq), req_actor(rq), rq->body, rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

static enum status h_get(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = workflows_get(mod(rq), req_actor(rq), req_param(rq, "id"), rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

static enum status h_update(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st =
	    workflows_update(mod(rq), req_actor(rq), req_param(rq, "id"), rq->body, rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

static enum status h_delete(struct req *rq, struct res *rs)
{
	(void) rs;
	enum status st = workflows_delete(mod(rq), req_actor(rq), req_param(rq, "id"), rq->arena, &rq->problem);
	return st == ST_OK ? ST_NO_CONTENT : st;
}

static enum status h_validate(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = workflows_validate(mod(rq), req_actor(rq), req_param(rq, "id"), rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

static enum status h_versions(struct req *rq, struct res *rs)
{
	int limit;
	const char *after, *last = NULL;
	json_t *items = NULL;
	enum status st = http_page(rq, &limit, &after);
	if (st != ST_OK)
		return st;
	st = workflows_versions_list(mod(rq), req_actor(rq), req_param(rq, "id"), limit, after, rq->arena, &items,
	                             &last, &rq->problem);
	return api_list_reply(rq, rs, st, st == ST_OK ? json_incref(items) : NULL, limit, last);
}

static enum status h_version(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	int64_t n;
	enum status st = api_version_param(rq, "version", &n);
	if (st != ST_OK)
		return st;
	st = workflows_version_get(mod(rq), req_actor(rq), req_param(rq, "id"), n, rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

static enum status h_diff(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	int64_t from, to;
	enum status st = api_version_param(rq, "version", &from);
	if (st == ST_OK)
		st = api_version_param(rq, "to", &to);
	if (st != ST_OK)
		return st;
	st = workflows_version_diff(mod(rq), req_actor(rq), req_param(rq, "id"), from, to, rq->arena, &out,
	                            &rq->problem);
	return reply(rs, st, out);
}

static enum status h_restore(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	int64_t n;
	enum status st = api_version_param(rq, "version", &n);
	if (st != ST_OK)
		return st;
	st = workflows_version_restore(mod(rq), req_actor(rq), req_param(rq, "id"), n, rq->body, rq->arena, &out,
	                               &rq->problem);
	return reply(rs, st, out);
}

static enum status h_publish(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st =
	    workflows_publish(mod(rq), req_actor(rq), req_param(rq, "id"), rq->body, rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

static enum status h_snapshot(struct req *rq, struct res *rs)
{
	json_t *out = NULL, *v = json_object_get(rq->body, "version");
	const struct actor *who = req_actor(rq);
	const char *id = req_param(rq, "id");
	/* the snapshot reads archived workflows too (executions keep theirs);
	 * through the API, only a live one */
	enum status st = workflows_get(mod(rq), who, id, rq->arena, &out, &rq->problem);
	if (st == ST_OK)
		st = workflows_snapshot(mod(rq), who->workspace_id, id, json_is_integer(v) ? json_integer_value(v) : 0,
		                        rq->body, rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

static enum status h_import(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = workflows_import(mod(rq), req_actor(rq), rq->body, rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

static enum status h_export(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	const char *format = req_query(rq, "format");
	enum status st = workflows_export(mod(rq), req_actor(rq), req_param(rq, "id"), format ? format : "crewai",
	                                  rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

static const struct route_query list_query[] = {
    {"q", "string", "part of the name, case-insensitive; at most 200 characters"},
    {"tag", "string", "only workflows with this tag; at most 200 characters"},
    {0},
};

static const struct route_query export_query[] = {
    {"format", "string", "crewai (the default and, for now, the only one)"},
    {0},
};

const struct route api_workflows_routes[] = {
    {"GET", "/api/v1/workflows", h_list, ROLE_VIEWER, .response = &workflow_schema, .flags = ROUTE_LIST,
     .query = list_query,
     .summary = "List workflows, in the order they were created (q: part of the name; tag: with this tag)"},
    {"POST", "/api/v1/workflows", h_create, ROLE_EDITOR, .body = &workflows_create_schema, .response = &workflow_schema,
     .flags = ROUTE_IDEMPOTENT | ROUTE_CREATES,
     .summary = "Create a workflow (version 1); 422 lists every validation error"},
    {"GET", "/api/v1/workflows/{id}", h_get, ROLE_VIEWER, .response = &workflow_schema,
     .summary = "Get a workflow at its latest version"},
    {"PATCH", "/api/v1/workflows/{id}", h_update, ROLE_EDITOR, .body = &workflows_update_schema,
     .response = &workflow_schema, .summary = "Change a workflow: a new version (base_version: 409 when stale)"},
    {"DELETE", "/api/v1/workflows/{id}", h_delete, ROLE_EDITOR,
     .summary = "Archive a workflow (its versions still resolve)"},
    {"POST", "/api/v1/workflows/{id}/validate", h_validate, ROLE_VIEWER, .response = &validation_schema,
     .summary = "Check the latest version again now: {valid, errors, warnings}"},
    {"POST", "/api/v1/workflows/{id}/publish", h_publish, ROLE_EDITOR, .body = &publish_schema,
     .response = &workflow_schema, .summary = "Mark the version that runs when none is asked for"},
    {"POST", "/api/v1/workflows/{id}/snapshot", h_snapshot, ROLE_VIEWER, .body = &snapshot_schema,
     .response = &snapshot_out_schema,
     .summary = "The workflow with every agent and tool it names, each at a version: what an execution stores"},
    {"GET", "/api/v1/workflows/{id}/versions", h_versions, ROLE_VIEWER, .response = &version_schema,
     .flags = ROUTE_LIST, .summary = "A workflow's versions, oldest first"},
    {"GET", "/api/v1/workflows/{id}/versions/{version}", h_version, ROLE_VIEWER, .response = &version_full_schema,
     .summary = "One version of a workflow, with its definition"},
    {"GET", "/api/v1/workflows/{id}/versions/{version}/diff/{to}", h_diff, ROLE_VIEWER, .response = &diff_schema,
     .summary = "What changed from one version to another (tasks by key)"},
    {"POST", "/api/v1/workflows/{id}/versions/{version}/restore", h_restore, ROLE_EDITOR, .body = &restore_schema,
     .response = &workflow_schema, .summary = "Write a new version equal to this one"},
    {"POST", "/api/v1/workflows/import", h_import, ROLE_EDITOR, .body = &import_schema, .response = &import_out_schema,
     .flags = ROUTE_IDEMPOTENT | ROUTE_CREATES | ROUTE_FORM,
     .summary = "Create agents and a workflow from crewAI YAML (JSON or multipart/form-data), in one transaction"},
    {"GET", "/api/v1/workflows/{id}/export", h_export, ROLE_VIEWER, .response = &export_schema, .query = export_query,
     .summary = "The workflow as crewAI YAML (format=crewai): agents.yaml, tasks.yaml and troupe's crew.yaml"},
    {0},
};
