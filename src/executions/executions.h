/*
 * executions: runs of a workflow (issue 10; docs/executions.md). An
 * execution stores the snapshot it runs (workflows_snapshot: the workflow,
 * agents and tools each at a version), its inputs, its status, its output
 * and usage; its task attempts (unique (execution, task, attempt)); and its
 * events, numbered by seq from 1, increasing per execution.
 *
 * Status: queued -> running -> succeeded | failed | cancelled (queued ->
 * cancelled too). Every function scopes every query to the actor's
 * workspace: another workspace's execution is ST_NOT_FOUND. Answers belong
 * to the arena passed in. Roles are the gateway's business.
 */
#ifndef TROUPE_EXECUTIONS_H
#define TROUPE_EXECUTIONS_H

#include <jansson.h>

#include "../core/core.h"

struct actor;
struct db;
struct db_conn;
struct workflows;

#define EXECUTIONS_JOB_KIND       "execution" /* the job kind a worker runs an execution under; payload {execution_id} */
#define EXECUTIONS_EVENT_TYPE_MAX 64          /* bytes of an event type */

/* The process values this engine runs; the rest are refused at start. */
enum executions_status { EXEC_QUEUED, EXEC_RUNNING, EXEC_SUCCEEDED, EXEC_FAILED, EXEC_CANCELLED };
const char *executions_status_name(enum executions_status s);
/* -1 for a name that is none of them. */
int executions_status_parse(const char *name);

/* body {inputs: {name: value}, version?}: checks the inputs against the
 * workflow's declared ones (missing required, extra and mistyped are
 * ST_UNPROCESSABLE with one field error "inputs.<name>" each), refuses what
 * this engine does not run (a hierarchical or graph process, depends_on,
 * conditions, guardrails, human review: ST_UNPROCESSABLE naming the field,
 * "process" or "tasks[i].condition"), then, in one transaction, stores the
 * execution with its snapshot and the inputs with defaults applied, writes
 * its execution.queued event (seq 1) and enqueues its job.
 * *out {id, status: "queued"}. A version that does not exist is
 * ST_UNPROCESSABLE naming "version"; an unknown workflow ST_NOT_FOUND. */
enum status executions_start(struct db *db, struct workflows *wf, const struct actor *who, const char *workflow_id,
                             const json_t *body, struct arena *a, json_t **out, struct problem *p);

/* {id, workflow_id, workflow_version, status, inputs, tasks: [{key, agent:
 * {id, name, version}|null, status (pending until its first attempt),
 * output, attempts, started_at, ended_at, usage}], output, error, usage:
 * {prompt_tokens, completion_tokens, cached_tokens, cost (null: a model
 * without a price), currency, by_agent, by_model, by_task}, artifacts: [],
 * created_at, started_at, ended_at}. */
enum status executions_get(struct db *db, const struct actor *who, const char *id, struct arena *a, json_t **out,
                           struct problem *p);

struct executions_filter {
	const char *workflow_id; /* NULL: any */
	int status;              /* -1: any */
	int64_t since_ms;        /* created at or after; 0: no bound */
	int64_t until_ms;        /* created before; 0: no bound */
};
/* Items {id, workflow_id, workflow_version, status, error, created_at,
 * started_at, ended_at}, by id; after: the last id of the page before. */
enum status executions_list(struct db *db, const struct actor *who, const struct executions_filter *f, int limit,
                            const char *after, struct arena *a, json_t **items, const char **last, struct problem *p);

/* Items {seq, type, at, task_key?, attempt?, data} with seq > after_seq,
 * in order. */
enum status executions_events(struct db *db, const struct actor *who, const char *id, int64_t after_seq, int limit,
                              struct arena *a, json_t **items, int64_t *last_seq, struct problem *p);

/* Appends one event in the caller's transaction: seq is the execution's
 * next (the row is locked by the bump, so writers never share a seq).
 * task_key NULL and attempt 0 for execution-wide events; data NULL: {}.
 * *seq_out (may be NULL) gets the seq written. */
enum status executions_event_tx(struct db_conn *c, const char *ws, const char *id, const char *type,
                                const char *task_key, int attempt, const json_t *data, int64_t *seq_out,
                                struct problem *p);

#endif
