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
 * without a price), currency, by_agent, by_model, by_task}, artifacts:
 * [{name, size, url}] (by name; url: the download route),
 * created_at, started_at, ended_at}. */
enum status executions_get(struct db *db, const struct actor *who, const char *id, struct arena *a, json_t **out,
                           struct problem *p);

struct executions_filter {
	const char *workflow_id; /* NULL: any */
	int status;              /* -1: any */
	int64_t since_ms;        /* created at or after; 0: no bound */
	int64_t until_ms;        /* created before; 0: no bound */
	const char *tag;         /* executions of the workflows whose current definition carries it; NULL: any */
};
/* At most this many workflows may carry a tag used as a filter (they are bound one parameter each). */
#define EXECUTIONS_TAG_MAX_WORKFLOWS 1000
/* Items {id, workflow_id, workflow_version, status, error, created_at,
 * started_at, ended_at}, newest first (created_at descending, then id
 * descending); after: the key *last returned for the page before
 * ("created_at:id"; another text is ST_BAD_INPUT naming "query.cursor").
 * f->tag: the workflow's tags as they are now, archived workflows too (the
 * way Dify's tags label an app and its logs: docs/executions.md); more
 * than EXECUTIONS_TAG_MAX_WORKFLOWS such workflows is ST_UNPROCESSABLE
 * naming "query.tag". */
enum status executions_list(struct db *db, const struct actor *who, const struct executions_filter *f, int limit,
                            const char *after, struct arena *a, json_t **items, const char **last, struct problem *p);

/* Items {seq, type, at, task_key?, attempt?, data} with seq > after_seq,
 * in order. */
enum status executions_events(struct db *db, const struct actor *who, const char *id, int64_t after_seq, int limit,
                              struct arena *a, json_t **items, int64_t *last_seq, struct problem *p);

/* ---- streams (the SSE route) ---- */

/* Is this the type of an event that ends an execution (succeeded, failed,
 * cancelled)? A resume writes events after one. */
bool executions_event_final(const char *type);
/* A stream's start: the execution's status (enum executions_status) and
 * its last seq. ST_NOT_FOUND for an id not in the actor's workspace. */
enum status executions_stream_open(struct db *db, const struct actor *who, const char *id, int *status,
                                   int64_t *last_seq, struct problem *p);
/* Up to limit events with seq > after_seq of an execution that
 * executions_stream_open found in ws (no second existence check: the
 * stream reads often). Items as executions_events; *last_seq the last
 * item's seq, after_seq when none. */
enum status executions_stream_read(struct db *db, const char *ws, const char *id, int64_t after_seq, int limit,
                                   struct arena *a, json_t **items, int64_t *last_seq, struct problem *p);

/* ---- stream tokens (tokens.c; migration 0010) ----
 * For clients that cannot send Authorization (a browser's EventSource):
 * read-only, for one execution's event stream, valid ttl_s seconds, spent
 * by its first use (in any API process: the database decides). */

/* *out {token: "tst_...", expires_at (RFC 3339)}; only the token's SHA-256
 * is stored. ST_NOT_FOUND for an execution not in the actor's workspace.
 * The token acts for who (its user, its API key if any) with at most the
 * viewer role. */
enum status executions_stream_token_new(struct db *db, const struct actor *who, const char *id, int ttl_s,
                                        struct arena *a, json_t **out, struct problem *p);
struct executions_token_grant {
	const char *user_id;      /* who minted it */
	const char *workspace_id; /* the execution's workspace */
	const char *api_key_id;   /* the key it was minted with, or NULL */
};
/* Spends token on execution id: ST_OK with *out filled (strings in a);
 * ST_UNAUTHENTICATED for a token unknown, expired, already used or minted
 * for another execution (not spent then). */
enum status executions_stream_token_use(struct db *db, const char *token, const char *id, struct arena *a,
                                        struct executions_token_grant *out, struct problem *p);

/* Appends one event in the caller's transaction: seq is the execution's
 * next (the row is locked by the bump, so writers never share a seq).
 * task_key NULL and attempt 0 for execution-wide events; data NULL: {}.
 * *seq_out (may be NULL) gets the seq written. */
enum status executions_event_tx(struct db_conn *c, const char *ws, const char *id, const char *type,
                                const char *task_key, int attempt, const json_t *data, int64_t *seq_out,
                                struct problem *p);

/* One event of a batch: the fields as executions_event_tx takes them; seq
 * is filled in. */
struct executions_event {
	const char *type;
	const char *task_key; /* NULL: execution-wide */
	int attempt;          /* 0: none */
	const json_t *data;   /* NULL: {} */
	int64_t seq;          /* out */
};
#define EXECUTIONS_EVENTS_CHUNK 32 /* rows of one multi-row INSERT */

/* Appends n events of one execution in the caller's transaction, in order,
 * with the execution's next n seqs: one bump of last_seq by n (which locks
 * the row, as above) and one multi-row INSERT per EXECUTIONS_EVENTS_CHUNK,
 * so a writer that batches (the worker, one transaction per loop turn)
 * pays two statements for a turn's events instead of two per event.
 * n == 0 writes nothing. ST_NOT_FOUND for an unknown execution. */
enum status executions_events_tx(struct db_conn *c, const char *ws, const char *id, struct executions_event *evs,
                                 size_t n, struct problem *p);

/* A job's lease (jobs.h) that a worker's write is fenced on. */
struct executions_fence {
	const char *job_id;
	int64_t epoch;
};
/* executions_events_tx whose bump is also the fence (jobs_fence_sql): one
 * statement fewer than jobs_fence_tx before it. ST_NOT_FOUND when no row
 * changed: the execution is gone or the lease was lost (jobs_fence_tx
 * tells which). f NULL: executions_events_tx. */
enum status executions_events_fenced_tx(struct db_conn *c, const char *ws, const char *id,
                                        const struct executions_fence *f, struct executions_event *evs, size_t n,
                                        struct problem *p);

/* ---- the live hub (hub.c; docs/executions.md, "Live streams") ----
 *
 * An in-process fan-out from the writers of an execution's events to the
 * streams that watch it. One per process, static: every function here may
 * be called from any thread, before executions_hub_start and after
 * executions_hub_stop too (then nobody listens, or keep-alives and the poll
 * just do not run). Bounded: each subscriber holds at most queue_max live
 * events; past that they are dropped for that subscriber (counted), and a
 * writer never waits on a reader. Stored events are never queued: a
 * subscriber is told the highest seq written and reads the events from the
 * database itself, so a slow one loses nothing stored. Zero cost when nobody
 * listens: the writers' calls read one atomic counter and return. */

/* A writer, after the transaction that stored events up to last_seq has
 * committed: wakes the execution's subscribers (none: nothing is done). */
void executions_notify(const char *execution_id, int64_t last_seq);
/* A writer, for a live-only event (output.delta): never stored; queued to
 * each subscriber of the execution as the envelope {type, at, task_key?,
 * attempt?, data} (no seq), placed after the last notified seq. data NULL:
 * {}; not taken. */
void executions_live(const char *execution_id, const char *type, const char *task_key, int attempt, const json_t *data);

struct executions_hub_options {
	struct db *db;    /* the cross-process poll reads it; NULL: no poll */
	int poll_ms;      /* the poll's period (at most one query per period for up to 256 executions); 0: none */
	int keepalive_ms; /* a subscriber idle this long is woken with a keep-alive due; 0: 15000 */
	int queue_max;    /* live events held per subscriber; 0: 256 */
};
/* Starts the hub's one thread (keep-alives and the poll). It sleeps while
 * nobody listens. ST_CONFLICT when already started. */
enum status executions_hub_start(const struct executions_hub_options *o, struct problem *p);
/* Joins the thread; subscriptions stay valid (their owners end them). */
void executions_hub_stop(void);

struct executions_sub;
struct executions_live_msg;
/* Called with the hub's lock held, from a writer's thread or the hub's:
 * must not block or call back into the hub; set a flag and resume. */
typedef void (*executions_wake_fn)(void *ctx);
/* Subscribes to an execution the caller has checked is in workspace ws
 * (the poll's query names it). known_seq: the highest seq the caller knows
 * exists (it reads the events from the database itself). Never fails. */
struct executions_sub *executions_subscribe(const char *ws, const char *execution_id, int64_t known_seq,
                                            executions_wake_fn wake, void *ctx);
/* Ends it: after this returns, wake is never called for it again. NULLs *s. */
void executions_unsubscribe(struct executions_sub **s);
/* The highest seq notified for the execution; whether a keep-alive is due
 * and how many live events were dropped since the last call (both reset). */
void executions_sub_state(struct executions_sub *s, int64_t *notified_seq, bool *keepalive, int64_t *dropped);
/* The next live event, in the order written, or NULL; the caller releases it. */
struct executions_live_msg *executions_sub_next(struct executions_sub *s);
/* Stored events the writers of this process queued for s (executions_notify
 * after the commit that stored them), so a caught-up stream needs no query:
 * true when the queue holds every seq of after_seq+1 .. upto (at most max),
 * then they are taken into out[0, *n) in seq order (the caller releases
 * each); false, taking nothing, when one is missing (stored by another
 * process, before the subscription, or past a full queue): read those from
 * the database. Queued events at or below after_seq are dropped. */
bool executions_sub_stored(struct executions_sub *s, int64_t after_seq, int64_t upto, struct executions_live_msg **out,
                           size_t max, size_t *n);
/* The subscriber sent something: the keep-alive clock starts again. */
void executions_sub_sent(struct executions_sub *s);
/* The envelope's JSON (NUL-terminated) and its length. */
const char *executions_live_text(const struct executions_live_msg *m, size_t *len);
/* The seq of the last stored event notified before this one was written:
 * it is sent after that event and before any later one. */
int64_t executions_live_after(const struct executions_live_msg *m);
/* A stored event's seq (its text is the envelope executions_stream_read
 * gives); 0 for a live-only one. */
int64_t executions_live_seq(const struct executions_live_msg *m);
const char *executions_live_type(const struct executions_live_msg *m);
void executions_live_release(struct executions_live_msg **m);

struct executions_hub_stats {
	int subscribers;
	int64_t live_sent;    /* live events queued, summed over subscribers */
	int64_t live_dropped; /* live events dropped for slow subscribers */
	int64_t stored_taken; /* stored events sent from the queue (executions_sub_stored), no query */
};
void executions_hub_stats(struct executions_hub_stats *out);

/* Cancel (editors): a queued execution is cancelled at once
 * (execution.cancelled); a running one is marked (cancel_requested_at) and
 * the worker running it ends it cancelled, its in-flight calls stopped:
 * *running is then true, and a caller in the worker's process signals it
 * (engine_runner_cancel), other workers read the mark within 250 ms.
 * ST_CONFLICT for an execution that has ended. *out {id, status}. */
enum status executions_cancel(struct db *db, const struct actor *who, const char *id, bool *running, struct arena *a,
                              json_t **out, struct problem *p);

/* A task's output_file as stored (executions_artifact_put_tx): *content
 * (in a) and *len. ST_NOT_FOUND for another workspace's execution or a
 * name it has not. */
enum status executions_artifact_get(struct db *db, const struct actor *who, const char *id, const char *name,
                                    struct arena *a, const char **content, size_t *len, struct problem *p);

/* Resume (editors): a failed or cancelled execution is queued again, same
 * id and snapshot, with execution.resumed and a new job; the worker starts
 * from the first task without a succeeded output (those outputs are reused)
 * and numbers attempts after the stored ones. ST_CONFLICT otherwise.
 * *out {id, status: "queued"}. Call jobs_wake after. */
enum status executions_resume(struct db *db, const struct actor *who, const char *id, struct arena *a, json_t **out,
                              struct problem *p);

/* ---- the worker (engine/runner.c): loading a run and its writes ----
 *
 * Every *_tx write runs in the caller's transaction, which the caller
 * fences on its job's lease epoch (jobs_fence_tx) before it: a worker that
 * lost its lease writes nothing. */

#define EXECUTIONS_ARTIFACT_MAX      (1024 * 1024) /* bytes of one artifact; longer outputs are cut */
#define EXECUTIONS_ARTIFACT_NAME_MAX 128           /* bytes of an artifact's name */

/* What a worker needs to run an execution. Not workspace-scoped: the id
 * comes from the execution's own job. tasks: the stored attempts
 * [{task_key, attempt, status, output, agent_id, usage}] by task and
 * attempt (not read on a first start: started_at is null, there are none);
 * interrupted: one of them is still running (a worker died in it). */
struct executions_run {
	const char *workspace_id;
	enum executions_status status;
	const char *snapshot_id; /* executions_snapshot_get's id; NULL for an execution stored before 0011 */
	json_t *snapshot;        /* shared read-only (executions_snapshot_get): never modify it */
	json_t *inputs;
	json_t *models; /* {agent_id: {id, name, provider, model, input_per_mtok, output_per_mtok, priced}} or NULL */
	json_t *tasks;
	bool cancel_requested;
	bool interrupted;
};
enum status executions_load_run(struct db *db, const char *id, struct arena *a, struct executions_run *out,
                                struct problem *p);

/* The parsed snapshot snapshot_id of ws (execution_snapshots, migration
 * 0011: the id is the SHA-256, hex, of the workspace id, a NUL and the
 * content, so an id names one content forever): a new reference
 * (json_decref it) to a document shared read-only across threads: never
 * modify it. From a bounded in-process cache keyed by id, else one read.
 * ST_NOT_FOUND: no such snapshot in ws. Thread-safe. */
enum status executions_snapshot_get(struct db *db, const char *ws, const char *snapshot_id, json_t **out,
                                    struct problem *p);

/* queued|running -> running (a reclaim finds it running), fenced on f
 * (NULL: the caller fenced the transaction) in the same statement: stores the
 * resolved models, ends the attempts a dead worker left running as failed
 * ("interrupted"; only when the load saw one: interrupted), writes
 * execution.started (*seq_out, may be NULL: its seq) and after it the n
 * events evs (their seqs set; n may be 0): the seqs taken by the status
 * UPDATE, the events one multi-row INSERT, so two statements in all on a
 * first start. ST_CONFLICT when the execution is no longer queued or
 * running (cancelled meanwhile) or, with f, the lease was lost
 * (jobs_fence_tx tells which). */
enum status executions_begin_tx(struct db_conn *c, const char *ws, const char *id, const json_t *models,
                                int job_attempt, bool interrupted, const struct executions_fence *f,
                                struct executions_event *evs, size_t n, int64_t *seq_out, struct problem *p);

/* An attempt's row: inserted running, ended succeeded|failed|cancelled
 * with its output (JSON text: a string, or the object of a JSON output),
 * error and usage (JSON text). */
enum status executions_task_started_tx(struct db_conn *c, const char *ws, const char *id, const char *task_key,
                                       int attempt, const char *agent_id, struct problem *p);
enum status executions_task_ended_tx(struct db_conn *c, const char *ws, const char *id, const char *task_key,
                                     int attempt, const char *status, const char *output, const char *error,
                                     const char *usage, struct problem *p);
/* An attempt that started and ended within one write (one loop turn): its
 * row inserted ended, one statement where started + ended cost two. */
enum status executions_task_row_tx(struct db_conn *c, const char *ws, const char *id, const char *task_key, int attempt,
                                   const char *agent_id, const char *status, const char *output, const char *error,
                                   const char *usage, struct problem *p);

/* A task's output_file: name is the file name the task asked for (after
 * its placeholders were filled); only its last path segment is kept, with
 * anything but [A-Za-z0-9._-] replaced by '_' and leading dots dropped.
 * Content over EXECUTIONS_ARTIFACT_MAX is cut. A second write of a name
 * replaces the first (crewAI overwrites the file). ST_BAD_INPUT naming
 * output_file when nothing of the name is left. */
enum status executions_artifact_put_tx(struct db_conn *c, const char *ws, const char *id, const char *task_key,
                                       const char *name, const char *content, size_t len, struct problem *p);
/* The sanitised name (see above) in out; false when nothing is left. */
bool executions_artifact_name(const char *raw, char *out, size_t n);

/* running -> succeeded|failed|cancelled with the output (NULL: null) and
 * the error (NULL: null), usage summed from the attempts per task, agent
 * and model (models: the stored map, for the model names), ended_at, and
 * its execution.<status> event (*seq_out, may be NULL: its seq). */
enum status executions_finish_tx(struct db_conn *c, const char *ws, const char *id, enum executions_status st,
                                 const json_t *output, const char *error, int64_t *seq_out, struct problem *p);

/* executions_finish_tx for a writer that carries what it needs: usage as
 * stored (NULL: summed from the attempts' rows, two reads) and the n events
 * written before the end in the same turn (their seqs set), stored with
 * execution.<status> by one UPDATE (status, last_seq + n + 1) and one
 * multi-row INSERT. */
enum status executions_end_tx(struct db_conn *c, const char *ws, const char *id, enum executions_status st,
                              const json_t *output, const char *error, const json_t *usage,
                              struct executions_event *evs, size_t n, int64_t *seq_out, struct problem *p);

/* The usage object executions_finish_tx stores ({prompt_tokens,
 * completion_tokens, cached_tokens, cost, currency, by_task, by_agent,
 * by_model}) summed over rows [{task_key, agent_id, usage}] (rows whose
 * usage is not an object are skipped); models: the stored map, for the
 * model names. A new reference. */
json_t *executions_usage_sum(const json_t *rows, const json_t *models);

/* Dead letters: ends failed, with the job's last error, each queued or
 * running execution whose job went dead or failed at or after since_ms (a
 * job buried by the claim that found its lease expired on its last attempt
 * never reaches a handler). *n: how many were ended. */
enum status executions_fail_dead(struct db *db, int64_t since_ms, int *n, struct problem *p);

/* The ids of running executions whose cancel was asked (the poll of
 * workers in other processes than the API's), a new array in a. */
enum status executions_cancel_requests(struct db *db, struct arena *a, json_t **ids, struct problem *p);

#endif
