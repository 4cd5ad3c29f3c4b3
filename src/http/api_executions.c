/* /api/v1/executions and POST /api/v1/workflows/{id}/execute: starting a
 * run of a workflow and watching it (src/executions, docs/executions.md).
 * Viewers read; editors start. */
#include "api.h"
#include "http_int.h"
#include "../app.h"
#include "../engine/engine.h"
#include "../executions/executions.h"
#include "../jobs/jobs.h"

#include <stdio.h>
#include <string.h>

static const struct schema free_schema = {"FreeObject", NULL, true};

static const struct field execute_fields[] = {
    {"inputs", JT_OBJECT, .object = &free_schema,
     .description = "{name: value} for the workflow's declared inputs; defaults fill the missing optional ones"},
    {"version", JT_INT, .min = 1, .max = INT32_MAX, .description = "default: the published version, else the latest"},
    {0}};
static const struct schema execute_schema = {"ExecutionStart", execute_fields, false};

static const struct field started_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"}, {"status", JT_STRING, .required = true}, {0}};
static const struct schema started_schema = {"ExecutionStarted", started_fields, false};

#define SUMMARY_FIELDS                                                                                                 \
	{"id", JT_STRING, .required = true, .format = "uuid"},                                                         \
	    {"workflow_id", JT_STRING, .required = true, .format = "uuid"},                                            \
	    {"workflow_version", JT_INT, .required = true},                                                            \
	    {"status", JT_STRING, .required = true, .description = "queued|running|succeeded|failed|cancelled"},       \
	    {"error", JT_ANY, .required = true, .nullable = true},                                                     \
	    {"created_at", JT_STRING, .required = true, .format = "date-time"},                                        \
	    {"started_at", JT_STRING, .required = true, .nullable = true, .format = "date-time"},                      \
	{                                                                                                              \
		"ended_at", JT_STRING, .required = true, .nullable = true, .format = "date-time"                       \
	}

static const struct field summary_fields[] = {SUMMARY_FIELDS, {0}};
static const struct schema summary_schema = {"ExecutionSummary", summary_fields, false};

static const struct field agent_ref_fields[] = {{"id", JT_STRING, .required = true, .format = "uuid"},
                                                {"name", JT_STRING, .required = true},
                                                {"version", JT_INT, .required = true},
                                                {0}};
static const struct schema agent_ref_schema = {"ExecutionAgent", agent_ref_fields, false};
static const struct field task_fields[] = {
    {"key", JT_STRING, .required = true},
    {"agent", JT_OBJECT, .required = true, .nullable = true, .object = &agent_ref_schema},
    {"status", JT_STRING, .required = true, .description = "pending|running|succeeded|failed|cancelled"},
    {"output", JT_ANY, .required = true, .nullable = true, .description = "text, or JSON for output.format json"},
    {"attempts", JT_INT, .required = true},
    {"started_at", JT_STRING, .required = true, .nullable = true, .format = "date-time"},
    {"ended_at", JT_STRING, .required = true, .nullable = true, .format = "date-time"},
    {"usage", JT_OBJECT, .required = true, .nullable = true, .object = &free_schema},
    {0}};
static const struct schema task_schema = {"ExecutionTask", task_fields, false};
static const struct field usage_fields[] = {
    {"prompt_tokens", JT_INT, .required = true},
    {"completion_tokens", JT_INT, .required = true},
    {"cached_tokens", JT_INT, .required = true},
    {"cost", JT_NUMBER, .required = true, .nullable = true, .description = "null: a model without a price"},
    {"currency", JT_STRING, .required = true, .nullable = true},
    {"by_agent", JT_OBJECT, .required = true, .object = &free_schema},
    {"by_model", JT_OBJECT, .required = true, .object = &free_schema},
    {"by_task", JT_OBJECT, .required = true, .object = &free_schema},
    {0}};
static const struct schema usage_schema = {"ExecutionUsage", usage_fields, false};
static const struct field artifact_fields[] = {{"name", JT_STRING, .required = true},
                                               {"size", JT_INT, .required = true},
                                               {"url", JT_STRING, .required = true},
                                               {0}};
static const struct schema artifact_schema = {"ExecutionArtifact", artifact_fields, false};
static const struct field execution_fields[] = {
    SUMMARY_FIELDS,
    {"inputs", JT_OBJECT, .required = true, .object = &free_schema},
    {"tasks", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &task_schema},
    {"output", JT_ANY, .required = true, .nullable = true},
    {"usage", JT_OBJECT, .required = true, .object = &usage_schema},
    {"artifacts", JT_ARRAY, .required = true, .items = JT_OBJECT, .object = &artifact_schema},
    {0}};
static const struct schema execution_schema = {"Execution", execution_fields, false};

static const struct field event_fields[] = {
    {"seq", JT_INT, .required = true, .description = "increasing per execution, from 1, without gaps"},
    {"type", JT_STRING, .required = true, .description = "execution.queued, task.started, llm.completed, ..."},
    {"at", JT_STRING, .required = true, .format = "date-time"},
    {"task_key", JT_STRING},
    {"attempt", JT_INT},
    {"data", JT_ANY, .required = true},
    {0}};
static const struct schema event_schema = {"ExecutionEvent", event_fields, false};

static enum status reply(struct res *rs, enum status st, json_t *out)
{
	return api_reply(rs, st, status_ok(st) ? json_incref(out) : NULL);
}

static enum status h_execute(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = executions_start(rq->app->db, rq->app->workflows, req_actor(rq), req_param(rq, "id"), rq->body,
	                                  rq->arena, &out, &rq->problem);
	if (st == ST_OK) {
		st = ST_ACCEPTED;
		/* committed: a worker of this process (serve) starts it now, not at its next poll (200 ms) */
		jobs_wake(rq->app->jobs);
	}
	return reply(rs, st, out);
}

static enum status h_cancel(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	bool running = false;
	const char *id = req_param(rq, "id");
	enum status st = executions_cancel(rq->app->db, req_actor(rq), id, &running, rq->arena, &out, &rq->problem);
	if (st == ST_OK && running)
		engine_runner_cancel(rq->app->runner, id); /* NULL (troupe api): the worker's poll finds the mark */
	if (st == ST_OK)
		st = ST_ACCEPTED;
	return reply(rs, st, out);
}

static enum status h_resume(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st =
	    executions_resume(rq->app->db, req_actor(rq), req_param(rq, "id"), rq->arena, &out, &rq->problem);
	if (st == ST_OK && rq->app->jobs)
		jobs_wake(rq->app->jobs);
	if (st == ST_OK)
		st = ST_ACCEPTED;
	return reply(rs, st, out);
}

/* The media type a download is served as: never HTML, so a page a model wrote never runs in the app's origin. */
static const char *artifact_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (dot && (str_eq(dot, ".md") || str_eq(dot, ".markdown")))
		return "text/markdown; charset=utf-8";
	if (dot && str_eq(dot, ".json"))
		return "application/json";
	if (dot && (str_eq(dot, ".txt") || str_eq(dot, ".csv") || str_eq(dot, ".log") || str_eq(dot, ".html") ||
	            str_eq(dot, ".htm") || str_eq(dot, ".yaml") || str_eq(dot, ".yml")))
		return "text/plain; charset=utf-8";
	return "application/octet-stream";
}

static enum status h_artifact(struct req *rq, struct res *rs)
{
	const char *content = NULL, *name = req_param(rq, "name");
	size_t len = 0;
	char clean[EXECUTIONS_ARTIFACT_NAME_MAX + 1];
	/* stored names are sanitised: any other name cannot exist */
	if (!executions_artifact_name(name, clean, sizeof(clean)) || !str_eq(clean, name))
		return problem_set(&rq->problem, ST_NOT_FOUND, "this execution has no artifact with this name");
	enum status st = executions_artifact_get(rq->app->db, req_actor(rq), req_param(rq, "id"), name, rq->arena,
	                                         &content, &len, &rq->problem);
	if (st != ST_OK)
		return st;
	res_body(rs, artifact_type(name), arena_memdup(rq->arena, content ? content : "", len), len);
	res_header(rs, "Content-Disposition", arena_printf(rq->arena, "attachment; filename=\"%s\"", name));
	return ST_OK;
}

static enum status time_param(struct req *rq, const char *name, int64_t *out)
{
	const char *v = req_query(rq, name);
	*out = 0;
	if (v && time_parse_iso8601(v, out) < 0) {
		problem_field(&rq->problem, arena_printf(rq->arena, "query.%s", name), "must be an RFC 3339 date-time");
		return problem_set(&rq->problem, ST_BAD_INPUT, "invalid %s", name);
	}
	return ST_OK;
}

static enum status h_list(struct req *rq, struct res *rs)
{
	int limit;
	const char *after, *last = NULL, *status = req_query(rq, "status");
	json_t *items = NULL;
	struct executions_filter f = {
	    .workflow_id = req_query(rq, "workflow_id"), .status = -1, .tag = req_query(rq, "tag")};
	enum status st = http_page(rq, &limit, &after);
	if (st != ST_OK)
		return st;
	if (f.workflow_id && !id_valid(f.workflow_id))
		return problem_field(&rq->problem, "query.workflow_id", "must be an id (UUID)");
	if (status && (f.status = executions_status_parse(status)) < 0)
		return problem_field(&rq->problem, "query.status",
		                     "must be queued, running, succeeded, failed or cancelled");
	if (f.tag && (!*f.tag || strlen(f.tag) > 200))
		return problem_field(&rq->problem, "query.tag", "must be 1 to 200 characters");
	if (time_param(rq, "since", &f.since_ms) != ST_OK || time_param(rq, "until", &f.until_ms) != ST_OK)
		return ST_BAD_INPUT;
	st = executions_list(rq->app->db, req_actor(rq), &f, limit, after, rq->arena, &items, &last, &rq->problem);
	return api_list_reply(rq, rs, st, st == ST_OK ? json_incref(items) : NULL, limit, last);
}

static enum status h_get(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st = executions_get(rq->app->db, req_actor(rq), req_param(rq, "id"), rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

static enum status h_events(struct req *rq, struct res *rs)
{
	int limit;
	const char *after;
	int64_t from = 0, last = 0;
	json_t *items = NULL;
	char key[24];
	enum status st = http_page(rq, &limit, &after);
	if (st != ST_OK)
		return st;
	if (after && str_to_i64(after, 0, INT64_MAX, &from) < 0)
		return problem_field(&rq->problem, "query.cursor", "is not a cursor of this list");
	st = executions_events(rq->app->db, req_actor(rq), req_param(rq, "id"), from, limit, rq->arena, &items, &last,
	                       &rq->problem);
	snprintf(key, sizeof(key), "%lld", (long long) last);
	return api_list_reply(rq, rs, st, st == ST_OK ? json_incref(items) : NULL, limit, last > 0 ? key : NULL);
}

static enum status h_stream(struct req *rq, struct res *rs)
{
	return sse_execution_stream(rq, rs, req_param(rq, "id"));
}

static const struct route_query stream_query[] = {
    {"after", "integer",
     "resume after this seq (the header Last-Event-ID, which a reconnecting EventSource sends, wins)"},
    {"token", "string",
     "a stream token (POST .../stream-token) instead of Authorization, for EventSource; used only without "
     "Authorization, spent by this request"},
    {0}};

static const struct route_query list_query[] = {
    {"workflow_id", "string", "executions of this workflow"},
    {"status", "string", "queued, running, succeeded, failed or cancelled"},
    {"since", "string", "created at or after this RFC 3339 date-time"},
    {"until", "string", "created before this RFC 3339 date-time"},
    {"tag", "string", "executions of the workflows carrying this tag now (exact name, 1 to 200 characters)"},
    {0}};

/* The stream route's ?token=: spent here, read-only (viewer at most), for
 * the path's execution only. */
static enum status stream_token_auth(struct req *rq)
{
	struct executions_token_grant g;
	enum status st = executions_stream_token_use(rq->app->db, req_query(rq, "token"), req_param(rq, "id"),
	                                             rq->arena, &g, &rq->problem);
	if (st != ST_OK)
		return st;
	rq->who.authenticated = true;
	rq->who.user_id = g.user_id;
	rq->who.api_key_id = g.api_key_id;
	rq->who.workspace_id = g.workspace_id;
	rq->who.role = ROLE_VIEWER;
	return ST_OK;
}

static const struct field token_fields[] = {
    {"token", JT_STRING, .required = true,
     .description = "for ?token= on this execution's event stream only; spent by its first use"},
    {"expires_at", JT_STRING, .required = true, .format = "date-time"},
    {0}};
static const struct schema token_schema = {"StreamToken", token_fields, false};

static enum status h_stream_token(struct req *rq, struct res *rs)
{
	json_t *out = NULL;
	enum status st =
	    executions_stream_token_new(rq->app->db, req_actor(rq), req_param(rq, "id"),
	                                (int) rq->app->cfg->stream_token_ttl_s, rq->arena, &out, &rq->problem);
	return reply(rs, st, out);
}

const struct route api_executions_routes[] = {
    {"POST", "/api/v1/workflows/{id}/execute", h_execute, ROLE_EDITOR, .body = &execute_schema,
     .response = &started_schema, .flags = ROUTE_IDEMPOTENT | ROUTE_ACCEPTS, .tag = "executions",
     .summary = "Start an execution of the workflow (202 {id, status: queued}); 422 names bad inputs and what this "
                "engine does not run yet"},
    {"GET", "/api/v1/executions", h_list, ROLE_VIEWER, .response = &summary_schema, .flags = ROUTE_LIST,
     .query = list_query,
     .summary = "List executions, newest first (created_at, then id, descending; filters: workflow_id, status, since, "
                "until on created_at, tag: the workflow's "
                "current tags)"},
    {"GET", "/api/v1/executions/{id}", h_get, ROLE_VIEWER, .response = &execution_schema,
     .summary = "An execution with its tasks, output, error and usage"},
    {"POST", "/api/v1/executions/{id}/cancel", h_cancel, ROLE_EDITOR, .response = &started_schema,
     .flags = ROUTE_ACCEPTS,
     .summary = "Cancel: a queued execution at once (status cancelled); a running one within a second, its in-flight "
                "calls stopped (status running until the worker ends it); 409 once it has ended"},
    {"POST", "/api/v1/executions/{id}/resume", h_resume, ROLE_EDITOR, .response = &started_schema,
     .flags = ROUTE_ACCEPTS,
     .summary = "Resume a failed or cancelled execution: queued again with the same id and snapshot; succeeded "
                "tasks' outputs are reused, attempt numbers continue; 409 otherwise"},
    {"GET", "/api/v1/executions/{id}/artifacts/{name}", h_artifact, ROLE_VIEWER, .produces = "application/octet-stream",
     .summary = "Download a task's output_file (Content-Disposition: attachment; never served as HTML)"},
    {"GET", "/api/v1/executions/{id}/events", h_events, ROLE_VIEWER, .response = &event_schema, .flags = ROUTE_LIST,
     .summary = "An execution's events, by seq"},
    {"GET", "/api/v1/executions/{id}/events/stream", h_stream, ROLE_VIEWER, .produces = "text/event-stream",
     .query = stream_query, .query_token = stream_token_auth,
     .summary = "An execution's events as Server-Sent Events: id is the seq, event the type, data the event's JSON; "
                "stored events after Last-Event-ID (or ?after=) once each and in order, then live ones "
                "(output.delta, not stored, without id); a keep-alive comment when idle; closed after the "
                "execution's final event"},
    {"POST", "/api/v1/executions/{id}/stream-token", h_stream_token, ROLE_VIEWER, .response = &token_schema,
     .summary = "A token for ?token= on this execution's event stream (for EventSource, which cannot send "
                "Authorization): read-only, this execution only, valid stream_token_ttl seconds (60), works once"},
    {0},
};
