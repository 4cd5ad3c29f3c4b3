/* The route table, as the ordered list of route groups: one group per
 * service, each in its own src/http/api_<module>.c with its schemas and
 * static handlers. Dispatch, auth requirements, body and response schemas
 * and the OpenAPI document all come from here. The order of groups is the
 * order of the OpenAPI document; it does not decide dispatch (literal
 * segments win over {param} whatever the order). A route must declare its
 * role. Adding a module: one line here. */
#include "api.h"

/* One group a line, so adding a module is one line. */
/* clang-format off */
const struct route_group http_route_groups[] = {
	{"system", api_system_routes},
	{"auth", api_auth_routes},
	{"users", api_users_routes},
	{"workspaces", api_workspaces_routes},
	{"api-keys", api_keys_routes},
	{"audit", api_audit_routes},
	{"models", api_models_routes},
	{"agents", api_agents_routes},
	{"tools", api_tools_routes},
	{"workflows", api_workflows_routes},
	{"executions", api_executions_routes},
	{0},
};
/* clang-format on */
