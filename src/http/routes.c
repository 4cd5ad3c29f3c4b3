/* The one route table: dispatch, auth requirements, body schemas and the
 * OpenAPI document all come from here. A route must declare its role. */
#include "api.h"

const struct route http_routes[] = {
    {"GET", "/healthz", api_healthz, ROLE_PUBLIC, .limit = LIMIT_NONE, .flags = ROUTE_NO_WORKSPACE,
     .summary = "Liveness: 200 while the process runs", .tag = "system"},
    {"GET", "/readyz", api_readyz, ROLE_PUBLIC, .limit = LIMIT_NONE, .flags = ROUTE_NO_WORKSPACE,
     .summary = "Readiness: 200 when the database answers and migrations are current", .tag = "system"},
    {"GET", "/metrics", api_metrics, ROLE_PUBLIC, .limit = LIMIT_NONE, .flags = ROUTE_NO_WORKSPACE,
     .summary = "Prometheus metrics", .tag = "system"},
    {"GET", "/api/v1/openapi.json", api_openapi, ROLE_PUBLIC, .flags = ROUTE_NO_WORKSPACE,
     .summary = "This API's OpenAPI 3.1 document", .tag = "system"},
    {"GET", "/api/v1/version", api_version, ROLE_PUBLIC, .flags = ROUTE_NO_WORKSPACE,
     .summary = "Server and schema version", .tag = "system"},
    {0},
};
