/*
 * agents: agent definitions and tools (built-in and custom HTTP tools),
 * each with immutable versions.
 *
 * Every change to an agent or a custom tool writes a new version (number,
 * author, time, change_note) in the same transaction as the row; a version
 * never changes afterwards, so an execution that recorded "agent X at
 * version 3" resolves the same definition forever. Deleting archives: the
 * object leaves lists and id lookups (404) but its versions still resolve.
 *
 * Every function takes the actor (auth.h) it acts for, scopes every query
 * to who->workspace_id (another workspace's id answers ST_NOT_FOUND, as a
 * missing one does), fills a struct problem, and writes its own audit entry
 * for changes. Roles are the gateway's business (viewers read, editors
 * write); these functions trust the actor's workspace.
 *
 * Definitions (the JSON a version holds):
 *   agent: {name, role, goal, backstory, model_id|null, tool_ids[], max_iter,
 *           max_rpm|null, max_execution_time_s|null, max_retry_limit,
 *           allow_delegation, respect_context_window, temperature|null,
 *           system_prompt_extra|null, metadata{}}  (crewAI's Agent fields)
 *   tool:   {name, description, method, url_template, headers[], body_template|null,
 *           parameters (JSON Schema), timeout_s, max_response_bytes}; a secret
 *           header shows {name, secret: true, value_last4}, never its value.
 */
#ifndef TROUPE_AGENTS_H
#define TROUPE_AGENTS_H

#include "../core/core.h"
#include "../core/schema.h"
#include "../db/db.h"

#include <jansson.h>

struct agents;
struct actor;
struct models;

/* Which workflows use an agent (the workflows module provides it): a JSON
 * array of {id, name} in *out (a new reference), empty when none. Called
 * inside the delete's transaction, on its connection. */
typedef enum status (*agents_usage_fn)(struct db_conn *c, const char *ws, const char *agent_id, struct arena *a,
                                       json_t **out, struct problem *p);

/* models seals custom tools' secret headers (the model keys' scheme); pol
 * is the outbound guard's allowlist (NULL: none). Both borrowed, owned by
 * main. */
struct net_policy;
enum status agents_new(struct db *db, struct models *models, const struct net_policy *pol, struct agents **out,
                       struct problem *p);
void agents_free(struct agents **m);
/* Until the workflows module sets it, deleting an agent checks no usage. */
void agents_set_usage_hook(struct agents *m, agents_usage_fn fn);

/* ---- agents ---- */
/* Defaults (crewAI's): max_iter 25, max_retry_limit 2, allow_delegation
 * false, respect_context_window true, metadata {}. model_id and tool_ids[i]
 * must name a chat model and tools of the workspace: ST_UNPROCESSABLE with
 * the field ("tool_ids[1]"). Body fields beyond a definition: change_note
 * (create, update), base_version (update: stale is ST_CONFLICT naming the
 * current version). */
/* The bodies agents_create and agents_update take (crewAI's Agent fields,
 * with troupe's bounds: name 1..200, role 1..1000, goal 1..8000 and
 * backstory 1..32000 characters, tool_ids at most 64, max_iter 1..200,
 * max_rpm 1..100000, max_execution_time_s 1..86400 s, max_retry_limit
 * 0..20, temperature 0..2, system_prompt_extra at most 32000 characters,
 * change_note at most 500). Both functions check their body against these
 * themselves (ST_BAD_INPUT naming the field), so every caller (the gateway,
 * the workflows importer, the CLI) gets the same bounds; the gateway
 * documents them in OpenAPI as AgentCreate and AgentUpdate. */
extern const struct schema agents_create_schema;
extern const struct schema agents_update_schema;
enum status agents_list(struct agents *m, const struct actor *who, const char *q, int limit, const char *after,
                        struct arena *a, json_t **items, const char **last, struct problem *p);
enum status agents_create(struct agents *m, const struct actor *who, json_t *in, struct arena *a, json_t **out,
                          struct problem *p);
/* agents_create inside the caller's transaction on c (the workflows
 * importer creates agents and a workflow in one): *out as agents_get's. */
enum status agents_create_tx(struct agents *m, struct db_conn *c, const struct actor *who, json_t *in, struct arena *a,
                             json_t **out, struct problem *p);
enum status agents_get(struct agents *m, const struct actor *who, const char *id, struct arena *a, json_t **out,
                       struct problem *p);
enum status agents_update(struct agents *m, const struct actor *who, const char *id, json_t *patch, struct arena *a,
                          json_t **out, struct problem *p);
/* Archives; ST_CONFLICT listing the workflows that use the agent. */
enum status agents_delete(struct agents *m, const struct actor *who, const char *id, struct arena *a,
                          struct problem *p);

/* ---- versions (agents and tools alike; kind "agent" or "tool") ---- */
/* Items {version, author_id, change_note, created_at}, oldest first;
 * after: a version number as text. */
enum status agents_versions_list(struct agents *m, const struct actor *who, const char *kind, const char *id, int limit,
                                 const char *after, struct arena *a, json_t **items, const char **last,
                                 struct problem *p);
/* {id, version, author_id, change_note, created_at, definition}. */
enum status agents_version_get(struct agents *m, const struct actor *who, const char *kind, const char *id,
                               int64_t version, struct arena *a, json_t **out, struct problem *p);
/* {id, from, to, added, removed, changed} (json_diff of the definitions). */
enum status agents_version_diff(struct agents *m, const struct actor *who, const char *kind, const char *id,
                                int64_t from, int64_t to, struct arena *a, json_t **out, struct problem *p);
/* A new version equal to version n (references checked again);
 * body {change_note?}. Answers the object as agents_get/tools_get do. */
enum status agents_version_restore(struct agents *m, const struct actor *who, const char *kind, const char *id,
                                   int64_t version, json_t *body, struct arena *a, json_t **out, struct problem *p);

/* ---- resolving, for workflows and the engine (no audit, no role) ---- */
/* The definition of an agent or tool at a version (0: the current one) as
 * {id, version, ...definition}; archived objects still resolve. A built-in
 * tool resolves at version 1 with builtin: true. ws scopes the lookup. */
enum status agents_resolve(struct agents *m, const char *ws, const char *id, int64_t version, struct arena *a,
                           json_t **out, struct problem *p);
enum status tools_resolve(struct agents *m, const char *ws, const char *id, int64_t version, struct arena *a,
                          json_t **out, struct problem *p);

/* ---- tools ---- */
/* Built-ins first (fixed ids, builtin: true), then the workspace's custom
 * tools by id; q matches name or description. */
enum status tools_list(struct agents *m, const struct actor *who, const char *q, int limit, const char *after,
                       struct arena *a, json_t **items, const char **last, struct problem *p);
enum status tools_create(struct agents *m, const struct actor *who, json_t *in, struct arena *a, json_t **out,
                         struct problem *p);
enum status tools_get(struct agents *m, const struct actor *who, const char *id, struct arena *a, json_t **out,
                      struct problem *p);
/* Built-ins answer ST_FORBIDDEN to update and delete. Deleting a tool that a
 * live agent lists is ST_CONFLICT naming the agents. */
enum status tools_update(struct agents *m, const struct actor *who, const char *id, json_t *patch, struct arena *a,
                         json_t **out, struct problem *p);
enum status tools_delete(struct agents *m, const struct actor *who, const char *id, struct arena *a, struct problem *p);

/* Runs a tool once at a version (0: current) with arguments checked against
 * its parameters first (ST_UNPROCESSABLE naming "arguments.<name>"). HTTP
 * tools go through the guarded client (src/net): a refused URL is
 * ST_UNPROCESSABLE naming "url" with the reason. Answers {status, headers,
 * body, truncated, duration_ms}; secret header values are masked ("****")
 * wherever the answer would echo them. For the engine and the test route. */
enum status tools_run(struct agents *m, const char *ws, const char *id, int64_t version, json_t *args, struct arena *a,
                      json_t **out, struct problem *p);
/* tools_run with the HTTP request's time limit cut to cap_ms (0: none): the
 * engine's tool runner gives a call what is left of its timeout, so a tool
 * thread is free when the engine stops waiting. */
enum status tools_run_within(struct agents *m, const char *ws, const char *id, int64_t version, json_t *args,
                             int cap_ms, struct arena *a, json_t **out, struct problem *p);
/* POST /tools/{id}/test: body {arguments}; the tool must be live in the
 * actor's workspace (or a built-in). */
enum status tools_test(struct agents *m, const struct actor *who, const char *id, json_t *body, struct arena *a,
                       json_t **out, struct problem *p);

/* Re-seals every custom tool's secret headers (current rows and versions)
 * from the old server secret to the new one, in one transaction; *count:
 * the sealed values re-sealed. `troupe secrets rotate` runs it before the
 * model keys' rotation and runs it back if that one fails. */
enum status agents_rotate_secret(struct db *db, const char *old_secret, const char *new_secret, int *count,
                                 struct problem *p);

/* Whether id names a built-in tool. */
bool tools_is_builtin(const char *id);

/* ---- built-in tools: the pure cores ----
 *
 * Each tool takes its arguments as a JSON object (already checked against
 * its parameters schema by the caller; the tools check again what they
 * rely on) and answers a JSON value in *out (a new reference; the caller
 * decrefs it). Errors: ST_BAD_INPUT or ST_UNPROCESSABLE with a field error
 * naming the argument ("expression", "query", "timezone", ...), never a
 * partial answer. No tool touches the network, the disk (but the time zone
 * database) or process-wide state. */

struct agents_builtin_tool {
	const char *name;        /* the tool's name as models see it: "calculator" */
	const char *description; /* for the model */
	const char *parameters;  /* JSON Schema text of the arguments (core/jsonschema.h's subset) */
	enum status (*run)(const json_t *args, json_t **out, struct problem *p);
};

/* The pure built-ins, in a fixed order, ended by an entry with name NULL.
 * (http_request and web_fetch use the network: they live with src/net.) */
extern const struct agents_builtin_tool agents_builtin_tools[];
/* The built-in named name, or NULL. */
const struct agents_builtin_tool *agents_builtin_find(const char *name);

/* calculator: an arithmetic expression, parsed and evaluated (never an
 * eval). Numbers (1, 2.5, .5, 1e-3), + - * / % (Python's modulo: the sign
 * of the divisor), ^ or ** (right-associative, above unary minus: -2^2 is
 * -4), parentheses, the constants pi and e, and the functions sqrt, abs,
 * round(x[, digits]) (half away from zero), floor, ceil, min(...),
 * max(...), log(x[, base]) (base 10 by default), ln, exp, sin, cos, tan
 * (radians). At most AGENTS_CALC_MAX_INPUT bytes and AGENTS_CALC_MAX_DEPTH
 * nested parentheses, calls or signs. Division by zero, a domain error
 * (sqrt(-1), ln(0)) or a result too large for a double are errors naming
 * "expression" with the position, never NaN or infinity. */
#define AGENTS_CALC_MAX_INPUT 1024
#define AGENTS_CALC_MAX_DEPTH 64
enum status agents_calc_eval(const char *expr, double *out, struct problem *p);
/* args {"expression": "..."} -> {"expression": "...", "result": number} */
enum status agents_tool_calculator(const json_t *args, json_t **out, struct problem *p);

/* json_query: RFC 9535 JSONPath. The query is parsed whole first (a
 * syntax or type error names "query" with the position); evaluation
 * visits at most AGENTS_JSONPATH_MAX_NODES nodes and answers at most
 * AGENTS_JSONPATH_MAX_RESULTS values, else ST_UNPROCESSABLE. *out is the
 * nodelist's values as a JSON array, in the RFC's order. */
#define AGENTS_JSONPATH_MAX_QUERY   4096
#define AGENTS_JSONPATH_MAX_DEPTH   64
#define AGENTS_JSONPATH_MAX_NODES   1000000
#define AGENTS_JSONPATH_MAX_RESULTS 10000
enum status agents_jsonpath_query(const char *query, const json_t *value, json_t **out, struct problem *p);
/* args {"query": "$...", "document": any JSON} -> {"results": [...], "count": n} */
enum status agents_tool_json_query(const json_t *args, json_t **out, struct problem *p);

/* current_datetime: the time in an IANA zone ("Europe/Paris"; default
 * "UTC"), read from the system's TZif files (TZDIR or
 * /usr/share/zoneinfo) by our own reader, never through the TZ variable
 * and localtime(3), which are process-wide and race other threads. */
struct agents_datetime {
	char iso8601[40];      /* "2026-03-08T03:00:00-04:00" */
	char utc_offset[8];    /* "-04:00" */
	char abbreviation[16]; /* "EDT" */
	int offset_s;          /* seconds east of UTC */
	bool dst;
	int weekday; /* 0 = Sunday */
};
/* The wall clock in zone tz at unix_s. ST_BAD_INPUT naming "timezone" for
 * a name that is not an IANA zone of this system. */
enum status agents_datetime_at(const char *tz, int64_t unix_s, struct agents_datetime *out, struct problem *p);
/* args {"timezone"?: "..."} -> {"datetime", "timezone", "utc_offset", "abbreviation", "dst", "weekday", "unix_time"} */
enum status agents_tool_current_datetime(const json_t *args, json_t **out, struct problem *p);

#endif
