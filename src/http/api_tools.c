/* /api/v1/tools: the built-in tools and the workspace's custom HTTP tools.
 * Viewers read; editors create, change, delete and test. Built-ins answer
 * 403 to changes. Secret header values are write-only. */
#include "api.h"
#include "../app.h"
#include "../agents/agents.h"

#include <string.h>

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", NULL};

static const struct field header_fields[] = {
    {"name", JT_STRING, .required = true, .min = 1, .max = 100},
    {"value", JT_STRING, .max = 4000, .write_only = true,
     .description = "may hold {param} slots (not in secret values); a secret one is sealed at rest and shown by "
                    "its last 4 characters; omitted on a secret header: keep the stored value"},
    {"secret", JT_BOOL},
    {0}};
static const struct schema header_schema = {"ToolHeader", header_fields, false};

#define TOOL_FIELDS(req)                                                                                               \
	{"name",   JT_STRING, .required = req,                                                                         \
	 .min = 1, .max = 64, .description = "^[A-Za-z0-9_-]{1,64}$, unique in the workspace, not a built-in's"},      \
	    {"description", JT_STRING, .max = 2000}, {"method", JT_STRING, .enums = methods},                          \
	    {"url_template", JT_STRING,   .required = req,                                                             \
	     .min = 1,       .max = 2000, .description = "http(s) URL with {param} slots, filled percent-encoded"},    \
	    {"headers", JT_ARRAY, .object = &header_schema, .items = JT_OBJECT, .max = 32},                            \
	    {"body_template", JT_STRING, .max = 65536, .nullable = true,                                               \
	     .description = "request body with {param} slots, filled JSON-encoded"},                                   \
	    {"parameters", JT_OBJECT, .object = &(const struct schema){"ToolParameters", NULL, true},                  \
	     .description = "JSON Schema (type object) of the arguments"},                                             \
	    {"timeout_s", JT_INT, .min = 1, .max = 120, .description = "default 30"},                                  \
	    {"max_response_bytes", JT_INT, .min = 1, .max = 10485760, .description = "default 1048576"},               \
	{                                                                                                              \
		"change_note", JT_STRING, .max = 500                                                                   \
	}

static const struct field create_fields[] = {TOOL_FIELDS(true), {0}};
static const struct schema tool_create_schema = {"ToolCreate", create_fields, false};
static const struct field update_fields[] = {
    TOOL_FIELDS(false), {"base_version", JT_INT, .min = 1, .max = INT32_MAX}, {0}};
static const struct schema tool_update_schema = {"ToolUpdate", update_fields, false};

/* ---- answers: built-ins carry the first fields only ---- */
static const struct field header_out_fields[] = {
    {"name", JT_STRING, .required = true},
    {"secret", JT_BOOL, .required = true},
    {"value", JT_STRING, .description = "public headers only"},
    {"value_last4", JT_STRING, .description = "secret headers: the value's last 4 characters (empty when short)"},
    {0}};
static const struct schema header_out_schema = {"ToolHeaderOut", header_out_fields, false};

static const struct field tool_out_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"name", JT_STRING, .required = true},
    {"description", JT_STRING, .required = true},
    {"builtin", JT_BOOL, .required = true},
    {"kind", JT_STRING, .required = true, .enums = (const char *const[]){"builtin", "http", NULL}},
    {"parameters", JT_OBJECT, .required = true, .object = &(const struct schema){"ToolParametersOut", NULL, true}},
    {"version", JT_INT, .required = true, .description = "built-ins: always 1"},
    {"method", JT_STRING},
    {"url_template", JT_STRING},
    {"headers", JT_ARRAY, .items = JT_OBJECT, .object = &header_out_schema},
    {"body_template", JT_STRING, .nullable = true},
    {"timeout_s", JT_INT},
    {"max_response_bytes", JT_INT},
    {"created_at", JT_STRING, .format = "date-time"},
    {"updated_at", JT_STRING, .format = "date-time"},
    {0}};
static const struct schema tool_schema = {"Tool", tool_out_fields, false};

static struct agents *mod(struct req *rq)
{
	return rq->app->agents;
}

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
	st = tools_list(mod(rq), req_actor(rq), q, limit, after, rq->arena, &items, &last, &rq->problem);
	return api_list_reply(rq, rs, st, items, limit, last);
}

static enum status h_create(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = tools_create(mod(rq), req_actor(rq), rq->body, rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status h_get(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = tools_get(mod(rq), req_actor(rq), req_param(rq, "id"), rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status h_update(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st =
	    tools_update(mod(rq), req_actor(rq), req_param(rq, "id"), rq->body, rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static enum status h_delete(struct req *rq, struct res *rs)
{
	(void) rs;
	enum status st = tools_delete(mod(rq), req_actor(rq), req_param(rq, "id"), rq->arena, &rq->problem);
	return st == ST_OK ? ST_NO_CONTENT : st;
}

static const struct field test_fields[] = {{"arguments", JT_OBJECT, .required = true,
                                            .object = &(const struct schema){"ToolArguments", NULL, true},
                                            .description = "checked against the tool's parameters first"},
                                           {0}};
static const struct schema test_schema = {"ToolTest", test_fields, false};

static const struct field test_out_fields[] = {
    {"status", JT_INT, .required = true, .description = "the HTTP status (200 for tools without HTTP)"},
    {"headers", JT_OBJECT, .required = true, .object = &(const struct schema){"ToolTestHeaders", NULL, true}},
    {"body", JT_STRING, .required = true, .description = "secret header values masked as ****"},
    {"truncated", JT_BOOL, .required = true},
    {"duration_ms", JT_INT, .required = true},
    {0}};
static const struct schema test_out_schema = {"ToolTestResult", test_out_fields, false};

/* ---- versions: the agents' shapes; built-ins have version 1 only, with no time ---- */
static const struct field version_out_fields[] = {
    {"version", JT_INT, .required = true},
    {"author_id", JT_STRING, .required = true, .nullable = true},
    {"change_note", JT_STRING, .required = true, .nullable = true},
    {"created_at", JT_STRING, .required = true, .nullable = true, .format = "date-time"},
    {0}};
static const struct schema version_schema = {"ToolVersionSummary", version_out_fields, false};
static const struct field version_full_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"version", JT_INT, .required = true},
    {"author_id", JT_STRING, .required = true, .nullable = true},
    {"change_note", JT_STRING, .required = true, .nullable = true},
    {"created_at", JT_STRING, .required = true, .nullable = true, .format = "date-time"},
    {"definition", JT_OBJECT, .required = true, .object = &(const struct schema){"ToolDefinition", NULL, true},
     .description = "the tool as it was at this version (secret values as their last 4)"},
    {0}};
static const struct schema version_full_schema = {"ToolVersion", version_full_fields, false};
static const struct field diff_entry_fields[] = {{"path", JT_STRING, .required = true},
                                                 {"value", JT_ANY, .nullable = true},
                                                 {"from", JT_ANY, .nullable = true},
                                                 {"to", JT_ANY, .nullable = true},
                                                 {0}};
static const struct schema diff_entry_schema = {"ToolDiffEntry", diff_entry_fields, false};
static const struct field diff_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"from", JT_INT, .required = true},
    {"to", JT_INT, .required = true},
    {"added", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &diff_entry_schema},
    {"removed", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &diff_entry_schema},
    {"changed", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &diff_entry_schema},
    {0}};
static const struct schema diff_schema = {"ToolVersionDiff", diff_fields, false};
static const struct field restore_fields[] = {{"change_note", JT_STRING, .max = 500}, {0}};
static const struct schema restore_schema = {"ToolVersionRestore", restore_fields, false};

static enum status h_versions(struct req *rq, struct res *rs)
{
	int limit;
	const char *after, *last = NULL;
	json_t *items = NULL;
	enum status st = http_page(rq, &limit, &after);
	if (st != ST_OK)
		return st;
	st = agents_versions_list(mod(rq), req_actor(rq), "tool", req_param(rq, "id"), limit, after, rq->arena, &items,
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
	st = agents_version_get(mod(rq), req_actor(rq), "tool", req_param(rq, "id"), n, rq->arena, &out, &rq->problem);
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
	st = agents_version_diff(mod(rq), req_actor(rq), "tool", req_param(rq, "id"), from, to, rq->arena, &out,
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
	st = agents_version_restore(mod(rq), req_actor(rq), "tool", req_param(rq, "id"), n, rq->body, rq->arena, &out,
	                            &rq->problem);
	return api_reply(rs, st, out);
}

static enum status h_test(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st =
	    tools_test(mod(rq), req_actor(rq), req_param(rq, "id"), rq->body, rq->arena, &out, &rq->problem);
	return api_reply(rs, st, out);
}

static const struct route_query list_query[] = {
    {"q", "string", "part of the name or definition, case-insensitive; at most 200"},
    {0},
};

const struct route api_tools_routes[] = {
    {"GET", "/api/v1/tools", h_list, ROLE_VIEWER, .response = &tool_schema, .flags = ROUTE_LIST, .query = list_query,
     .summary = "List tools: the built-ins, then the workspace's custom tools in the order they were created (q: part "
                "of the name)"},
    {"POST", "/api/v1/tools", h_create, ROLE_EDITOR, .body = &tool_create_schema, .response = &tool_schema,
     .flags = ROUTE_IDEMPOTENT | ROUTE_CREATES, .summary = "Create a custom HTTP tool"},
    {"GET", "/api/v1/tools/{id}", h_get, ROLE_VIEWER, .response = &tool_schema,
     .summary = "Get a tool (secret header values never shown)"},
    {"PATCH", "/api/v1/tools/{id}", h_update, ROLE_EDITOR, .body = &tool_update_schema, .response = &tool_schema,
     .summary = "Change a custom tool: a new version (built-ins: 403)"},
    {"DELETE", "/api/v1/tools/{id}", h_delete, ROLE_EDITOR,
     .summary = "Archive a custom tool (built-ins: 403; 409 when an agent uses it)"},
    {"GET", "/api/v1/tools/{id}/versions", h_versions, ROLE_VIEWER, .response = &version_schema, .flags = ROUTE_LIST,
     .summary = "A tool's versions, oldest first (built-ins: version 1)"},
    {"GET", "/api/v1/tools/{id}/versions/{version}", h_version, ROLE_VIEWER, .response = &version_full_schema,
     .summary = "One version of a tool, with its definition"},
    {"GET", "/api/v1/tools/{id}/versions/{version}/diff/{to}", h_diff, ROLE_VIEWER, .response = &diff_schema,
     .summary = "What changed from one version of a tool to another"},
    {"POST", "/api/v1/tools/{id}/versions/{version}/restore", h_restore, ROLE_EDITOR, .body = &restore_schema,
     .response = &tool_schema, .summary = "Write a new version of a custom tool equal to this one (built-ins: 403)"},
    {"POST", "/api/v1/tools/{id}/test", h_test, ROLE_EDITOR, .body = &test_schema, .response = &test_out_schema,
     .summary = "Run a tool once: {status, headers, body, truncated, duration_ms}; a refused URL is 422 naming url"},
    {0},
};
