/* /api/v1/audit-events: workspace admins read their workspace's events;
 * instance administrators read every event (or one workspace's with
 * ?workspace_id=). Filters: action, actor, since, until. */
#include "api.h"
#include "../app.h"
#include "../auth/auth.h"

static enum status time_param(struct req *rq, const char *name, int64_t *out)
{
	const char *v = req_query(rq, name);
	*out = 0;
	if (!v)
		return ST_OK;
	if (time_parse_iso8601(v, out) < 0) {
		problem_field(&rq->problem, arena_printf(rq->arena, "query.%s", name), "must be an RFC 3339 date-time");
		return problem_set(&rq->problem, ST_BAD_INPUT, "invalid %s", name);
	}
	return ST_OK;
}

static enum status api_audit_list(struct req *rq, struct res *rs)
{
	const struct actor *c = req_actor(rq);
	struct auth_audit_filter f = {
	    .action = req_query(rq, "action"),
	    .actor = req_query(rq, "actor"),
	    .workspace_id = rq->who.workspace_id,
	};
	if (rq->who.instance_admin && !rq->who.api_key_id) {
		f.workspace_id = req_query(rq, "workspace_id");
		if (f.workspace_id && !id_valid(f.workspace_id)) {
			problem_field(&rq->problem, "query.workspace_id", "must be an id (UUID)");
			return problem_set(&rq->problem, ST_BAD_INPUT, "invalid workspace_id");
		}
	}
	if (time_param(rq, "since", &f.since_ms) != ST_OK || time_param(rq, "until", &f.until_ms) != ST_OK)
		return ST_BAD_INPUT;
	int limit;
	const char *after, *last = NULL;
	json_t *items = NULL;
	enum status st = http_page(rq, &limit, &after);
	if (st == ST_OK)
		st = auth_audit_list(rq->app->auth, c, &f, after, limit, &items, &last, &rq->problem);
	return api_list_reply(rq, rs, st, items, limit, last);
}

static const struct field event_fields[] = {
    {"id", JT_STRING, .required = true, .format = "uuid"},
    {"at", JT_STRING, .required = true, .format = "date-time"},
    {"workspace_id", JT_STRING, .required = true, .nullable = true, .format = "uuid"},
    {"actor_user_id", JT_STRING, .required = true, .nullable = true, .format = "uuid"},
    {"actor_api_key_id", JT_STRING, .required = true, .nullable = true, .format = "uuid"},
    {"action", JT_STRING, .required = true, .description = "login.success, model.key_change, ..."},
    {"target_type", JT_STRING, .required = true, .nullable = true},
    {"target_id", JT_STRING, .required = true, .nullable = true},
    {"client_ip", JT_STRING, .required = true, .nullable = true},
    {"request_id", JT_STRING, .required = true, .nullable = true},
    {"detail", JT_OBJECT, .required = true, .object = &(const struct schema){"AuditDetail", NULL, true},
     .description = "what changed; never a secret"},
    {0},
};
static const struct schema event_schema = {"AuditEvent", event_fields, false};

static const struct route_query list_query[] = {
    {"action", "string", "events with this action (exact: login.success, model.key_change, ...)"},
    {"actor", "string", "events by this user (a user id)"},
    {"since", "string", "events at or after this RFC 3339 date-time"},
    {"until", "string", "events before this RFC 3339 date-time"},
    {"workspace_id", "string",
     "instance administrators (a session, not an API key) only: one workspace's events (all of them without it); "
     "ignored for everyone else"},
    {0}};

const struct route api_audit_routes[] = {
    {"GET", "/api/v1/audit-events", api_audit_list, ROLE_ADMIN, .response = &event_schema, .flags = ROUTE_LIST,
     .query = list_query, .summary = "Security events, newest first (filters: action, actor, since, until)"},
    {0},
};
