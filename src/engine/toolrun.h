/*
 * engine tool runner (issue 10): runs an execution's tools for the agent
 * loop, off the loop thread. Built-ins and custom HTTP tools run through
 * tools_run (src/agents), each at the version the execution's snapshot
 * pinned; HTTP goes through the guarded client (src/net).
 *
 * Three objects:
 *
 *   engine_toolpool  the process's tool threads (a fixed number: the
 *                    tool_threads setting, never a thread per call) and
 *                    their queue. Owner: main; created before the job
 *                    workers start, freed after they stop. Thread-safe.
 *   engine_toolport  one per engine_loop: where the pool posts finished
 *                    calls; an engine_loop hook takes them on the loop thread
 *                    and answers the engine (engine_tool_done), and ends the
 *                    calls past their timeout. Owner: the loop's thread;
 *                    created after engine_loop_new, freed after
 *                    engine_loop_free (which ends every attempt).
 *   engine_toolset   one per execution: its workspace and the agents' tools
 *                    (engine_toolset_agent_tools builds each agent's
 *                    engine_tool array from the snapshot); its runner goes in
 *                    engine_crew_spec.tools. Loop thread only; freed after
 *                    the crew's on_done.
 *
 * What the model sees as a tool's result: a pure built-in's answer as
 * compact JSON; http_request's {status, headers, body, truncated} as JSON;
 * web_fetch's and a custom tool's response body (an HTTP status of 400 or
 * more makes it a failure "HTTP <status>: <body>"); a refusal or an error
 * as its detail and field errors. The engine cuts results past
 * ENGINE_TOOL_RESULT_MAX with a note; the response caps (the tool's
 * max_response_bytes, net's default) bound what crosses threads.
 *
 * Timeout: a call that has not answered tool_timeout seconds after the
 * engine asked (queue wait included) fails with "the tool did not answer
 * within N s"; its HTTP request was itself limited to what was left of
 * that time plus a second, so its thread is free soon after, and the late
 * answer is dropped. Cancel answers the engine at once the same way; a call
 * still queued never runs.
 *
 * Secrets: a custom tool's secret header values are opened inside the tool
 * thread for the request only; tools_run masks them in answers, and errors
 * never carry header values, so no event, error or log line has them.
 */
#ifndef TROUPE_ENGINE_TOOLRUN_H
#define TROUPE_ENGINE_TOOLRUN_H

#include "engine/engine.h"

struct agents;
struct engine_toolpool;
struct engine_toolport;
struct engine_toolset;

#define ENGINE_TOOL_THREADS_DEFAULT   4
#define ENGINE_TOOL_TIMEOUT_S_DEFAULT 60

/* nthreads tool threads (1..64) running m's tools; timeout_s per call
 * (1..3600). m is borrowed and must outlive the pool. */
struct engine_toolpool *engine_toolpool_new(struct agents *m, int nthreads, int timeout_s);
/* Stops the threads (a call in progress finishes first); calls still queued
 * are dropped as failed. Every port should be freed first. */
void engine_toolpool_free(struct engine_toolpool **pool);

/* Registers a hook on l; call on l's thread. */
struct engine_toolport *engine_toolport_new(struct engine_toolpool *pool, struct engine_loop *l);
/* After engine_loop_free(l): nothing is in flight by then. Calls that the
 * pool still runs (timed out, cancelled) free themselves when they end. */
void engine_toolport_free(struct engine_toolport **port);

/* ws: the execution's workspace (copied). */
struct engine_toolset *engine_toolset_new(struct engine_toolport *port, const char *ws);
void engine_toolset_free(struct engine_toolset **set);
/* The runner for engine_crew_spec.tools / engine_attempt_spec.tools; valid
 * while the set lives. */
const struct engine_tool_runner *engine_toolset_runner(struct engine_toolset *set);
/*
 * The engine_tool array of an agent: tool_ids (the agent definition's
 * tool_ids) looked up in snapshot (workflows_snapshot's document: tools
 * {id: {id, version, name, description, parameters}}), each remembering its
 * id and pinned version for the runner. *tools lives as long as the set
 * (NULL and 0 for no tools). An id missing from the snapshot, or two tools
 * of one agent with one name, is ST_UNPROCESSABLE naming "tool_ids[i]".
 */
enum status engine_toolset_agent_tools(struct engine_toolset *set, const json_t *snapshot, const json_t *tool_ids,
                                       const struct engine_tool **tools, int *ntools, struct problem *p);

#endif
