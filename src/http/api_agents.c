/* /api/v1/agents: agent definitions and their versions. Viewers read;
 * editors create, change, delete and restore. */
#include "api.h"
#include "../app.h"
#include "../agents/agents.h"

#include <string.h>

static const struct field restore_fields[] = {{"change_note", JT_STRING, .max = 500}, {0}};
static const struct schema restore_schema = {"VersionRestore", restore_fields, false};

/* ---- answers ---- */
static const struct field agent_out_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"version", JT_INT, .required = true, .description = "the current version"},
    {"name", JT_STRING, .required = true},
    {"role", JT_STRING, .required = true},
    {"goal", JT_STRING, .required = true},
    {"backstory", JT_STRING, .required = true},
    {"model_id", JT_STRING, .required = true, .nullable = true, .format = "uuid"},
    {"tool_ids", JT_ARRAY, .required = true, .items = JT_STRING},
    {"max_iter", JT_INT, .required = true},
    {"max_rpm", JT_INT, .required = true, .nullable = true},
    {"max_execution_time_s", JT_INT, .required = true, .nullable = true},
    {"max_retry_limit", JT_INT, .required = true},
    {"allow_delegation", JT_BOOL, .required = true},
    {"respect_context_window", JT_BOOL, .required = true},
    {"temperature", JT_NUMBER, .required = true, .nullable = true},
    {"system_prompt_extra", JT_STRING, .required = true, .nullable = true},
    {"metadata", JT_OBJECT, .required = true, .object = &(const struct schema){"AgentMetadataOut", NULL, true}},
    {"created_at", JT_STRING, .required = true, .format = "date-time"},
    {"updated_at", JT_STRING, .required = true, .format = "date-time"},
    {0}};
static const struct schema agent_schema = {"Agent", agent_out_fields, false};

static const struct field version_out_fields[] = {
    {"version", JT_INT, .required = true},
    {"author_id", JT_STRING, .required = true, .nullable = true, .description = "the user who made it"},
    {"change_note", JT_STRING, .required = true, .nullable = true},
    {"created_at", JT_STRING, .required = true, .format = "date-time"},
    {0}};
static const struct schema version_schema = {"AgentVersionSummary", version_out_fields, false};

static const struct field version_full_fields[] = {{"id", JT_STRING, .required = true, .format = "uuid"},
                                                   {"version", JT_INT, .required = true},
                                                   {"author_id", JT_STRING, .required = true, .nullable = true},
                                                   {"change_note", JT_STRING, .required = true, .nullable = true},
                                                   {"created_at", JT_STRING, .required = true, .format = "date-time"},
                                                   {"definition", JT_OBJECT, .required = true,
                                                    .object = &(const struct schema){"AgentDefinition", NULL, true},
                                                    .description = "the agent's fields as they were at this version"},
                                                   {0}};
static const struct schema version_full_schema = {"AgentVersion", version_full_fields, false};

static const struct field diff_entry_fields[] = {
    {"path", JT_STRING, .required = true, .description = "dotted field path, e.g. metadata.team"},
    {"value", JT_ANY, .nullable = true, .description = "added or removed: the value"},
    {"from", JT_ANY, .nullable = true, .description = "changed: the old value"},
    {"to", JT_ANY, .nullable = true, .description = "changed: the new value"},
    {0}};
static const struct schema diff_entry_schema = {"DiffEntry", diff_entry_fields, false};
static const struct field diff_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"from", JT_INT, .required = true},
    {"to", JT_INT, .required = true},
    {"added", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &diff_entry_schema},
    {"removed", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &diff_entry_schema},
    {"changed", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &diff_entry_schema},
    {0}};
static const struct schema diff_schema = {"VersionDiff", diff_fields, false};

static struct agents *mod(struct req *rq)
{
	return rq->app->agents;
}

/* A path's version number: 1 and up. */
static enum status h_list(struct req *rq, struct res *rs)
{
	int limit;
	const char *after, *last = NULL;
	json_t *items = NULL;
	const char *q = req_query(rq, "q");
	enum status st = http_page(rq, &limit, &after);
	if (st != ST_OK)
		return st;
	if (q && strlen(q) > 200)
		return problem_field(&rq->problem, "query.q", "must be at most 200 characters");
	st = agents_list(mod(rq), req_actor(rq), q, limit, after, rq->arena, &items, &last, &rq->problem);
	return api_list_reply(rq, rs, st, items, limit, last);
}

static enum status h_create(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = agents_create(mod(rq), req_actor(rq), rq->body, rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status h_get(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = agents_get(mod(rq), req_actor(rq), req_param(rq, "id"), rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status h_update(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st =
	    agents_update(mod(rq), req_actor(rq), req_param(rq, "id"), rq->body, rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status h_delete(struct req *rq, struct res *rs)
{
	(void) rs;
	enum status st = agents_delete(mod(rq), req_actor(rq), req_param(rq, "id"), rq->arena, &rq->problem);
	return st == ST_OK ? ST_NO_CONTENT : st;
}

static enum status h_versions(struct req *rq, struct res *rs)
{
	int limit;
	const char *after, *last = NULL;
	json_t *items = NULL;
	enum status st = http_page(rq, &limit, &after);
	if (st != ST_OK)
		return st;
	st = agents_versions_list(mod(rq), req_actor(rq), "agent", req_param(rq, "id"), limit, after, rq->arena, &items,
	                          &last, &rq->problem);
	return api_list_reply(rq, rs, st, items, limit, last);
}

static enum status h_version(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	int64_t n;
	enum status st = api_version_param(rq, "version", &n);
	if (st != ST_OK)
		return st;
	st = agents_version_get(mod(rq), req_actor(rq), "agent", req_param(rq, "id"), n, rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
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
	st = agents_version_diff(mod(rq), req_actor(rq), "agent", req_param(rq, "id"), from, to, rq->arena, &out,
	                         &rq->problem);
	return api_reply(rs, st, out);
}

static enum status h_restore(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	int64_t n;
	enum status st = api_version_param(rq, "version", &n);
	if (st != ST_OK)
		return st;
	st = agents_version_restore(mod(rq), req_actor(rq), "agent", req_param(rq, "id"), n, rq->body, rq->arena, &out,
	                            &rq->problem);
	return api_reply(rs, st, out);
}

static const struct route_query list_query[] = {
    {"q", "string", "part of the name or role, case-insensitive (% and _ are plain characters); at most 200"},
    {0},
};

const struct route api_agents_routes[] = {
    {"GET", "/api/v1/agents", h_list, ROLE_VIEWER, .response = &agent_schema, .flags = ROUTE_LIST, .query = list_query,
     .summary = "List agents, in the order they were created (q: part of the name or role)"},
    {"POST", "/api/v1/agents", h_create, ROLE_EDITOR, .body = &agents_create_schema, .response = &agent_schema,
     .flags = ROUTE_IDEMPOTENT | ROUTE_CREATES, .summary = "Create an agent (version 1)"},
    {"GET", "/api/v1/agents/{id}", h_get, ROLE_VIEWER, .response = &agent_schema,
     .summary = "Get an agent at its current version"},
    {"PATCH", "/api/v1/agents/{id}", h_update, ROLE_EDITOR, .body = &agents_update_schema, .response = &agent_schema,
     .summary = "Change an agent: a new version (base_version: 409 when stale)"},
    {"DELETE", "/api/v1/agents/{id}", h_delete, ROLE_EDITOR,
     .summary = "Archive an agent (its versions still resolve; 409 when a workflow uses it)"},
    {"GET", "/api/v1/agents/{id}/versions", h_versions, ROLE_VIEWER, .response = &version_schema, .flags = ROUTE_LIST,
     .summary = "An agent's versions, oldest first"},
    {"GET", "/api/v1/agents/{id}/versions/{version}", h_version, ROLE_VIEWER, .response = &version_full_schema,
     .summary = "One version of an agent, with its definition"},
    {"GET", "/api/v1/agents/{id}/versions/{version}/diff/{to}", h_diff, ROLE_VIEWER, .response = &diff_schema,
     .summary = "What changed from one version to another: fields added, removed, changed"},
    {"POST", "/api/v1/agents/{id}/versions/{version}/restore", h_restore, ROLE_EDITOR, .body = &restore_schema,
     .response = &agent_schema, .summary = "Write a new version equal to this one"},
    {0},
};
