/*
 * engine: runs task attempts (issue 10). One task attempt is the agent loop
 * of crewAI's native-tool-calling executor as an event-driven state machine
 * over the non-blocking LLM client: build the messages, call the model
 * (streamed), run the tools it asks for through a tool runner, return their
 * results, loop until a final answer. Many attempts share one engine_loop
 * (one per worker thread, one llm_client inside): no thread per call.
 *
 * Prompts are crewAI's (lib/crewai/src/crewai/translations/en.json,
 * utilities/prompts.py, task.py prompt(), agent/utils.py; crewAI 1.15.17),
 * see engine_prompt_build and docs/engine.md.
 *
 * Threads: everything here runs on the loop's thread, callbacks included;
 * an engine_loop and its attempts are never touched from another thread.
 *
 * Secrets: the agent's llm.api_key goes only into the LLM request; no event,
 * error or result carries it. Tool secrets stay inside the tool runner.
 */
#ifndef TROUPE_ENGINE_H
#define TROUPE_ENGINE_H

#include "core/core.h"
#include "llm/llm.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* crewAI's default max_iter (base_agent.py). */
#define ENGINE_DEFAULT_MAX_ITER 25
/* crewAI's default max_retry_limit (base_agent.py): new attempts of a task after a retryable failure. */
#define ENGINE_DEFAULT_MAX_RETRY_LIMIT 2
/* A tool result longer than this (bytes) is cut, with a note saying so. */
#define ENGINE_TOOL_RESULT_MAX (16 * 1024)
/* Messages sent and text received, as carried in llm.* events: each string cut at this many bytes. */
#define ENGINE_EVENT_TEXT_MAX (8 * 1024)

/* A tool the agent may call. */
struct engine_tool {
	const char *name;
	const char *description;
	json_t *parameters; /* JSON Schema that passed jsonschema_check; borrowed */
	const void *ud;     /* the tool runner's: which tool this is (engine_tool_job_tool) */
};

/*
 * A sliding one-minute window of LLM requests (crewAI's max_rpm), shared by
 * whoever must count together: one per agent, one per workflow. Owner: the
 * caller (an execution); used on the loop thread only.
 */
struct engine_rpm {
	int max;        /* requests per minute; 0: no limit */
	int n, head;    /* ring of the last max request times */
	int64_t *at_us; /* monotonic µs; allocated on first use, up to max entries */
};
void engine_rpm_free(struct engine_rpm *r);

/* What an agent brings to an attempt. Strings are templates: {inputs} are interpolated. */
struct engine_agent {
	const char *role, *goal, *backstory;
	/* provider, base_url, api_key, model, prices, timeouts, temperature ...;
	 * messages, tools, format and stream are set by the engine. */
	struct llm_request llm;
	bool priced; /* false: the model has no price, events carry cost null (never 0) */
	const char *currency;
	const struct engine_tool *tools;
	int ntools;
	int max_iter;             /* 0: ENGINE_DEFAULT_MAX_ITER */
	int max_execution_time_s; /* 0: none */
	/* crewAI's max_retry_limit: how many new attempts a task of this agent gets
	 * after an attempt ends ENGINE_RETRY (0: none; the crew's max_attempts,
	 * when set, wins). */
	int max_retry_limit;
	struct engine_rpm *rpm; /* agent's max_rpm window, or NULL */
	struct engine_rpm *workflow_rpm;
};

enum engine_output_format { ENGINE_OUTPUT_TEXT = 0, ENGINE_OUTPUT_JSON };

struct engine_task {
	const char *key;
	const char *description, *expected_output; /* templates */
	enum engine_output_format format;
	json_t *schema; /* ENGINE_OUTPUT_JSON: JSON Schema (checked) or NULL for any JSON; borrowed */
	/* crewAI's context: context_set false: every earlier task's output;
	 * true: the outputs of the tasks named (none when ncontext is 0). */
	bool context_set;
	const char *const *context;
	int ncontext;
};

/* ---- prompts ---- */

/*
 * crewAI's separator between the outputs given as context
 * (utilities/formatter.py, DIVIDERS).
 */
#define ENGINE_CONTEXT_DIVIDER "\n\n----------\n\n"

/*
 * The system and user messages crewAI's executor sends for task run by
 * agent (use_system_prompt, native tool calling when the agent has tools):
 *   system = role_playing (+ no_tools, "" when the agent has no tools), rstripped;
 *   user   = native_task (agent with tools) or task_no_tools (without), whose
 *            {input} is task.prompt() (description + "\n" + expected_output
 *            slice), + "\n" + formatted_task_instructions for a JSON output
 *            with a schema, wrapped in task_with_context when context is not
 *            empty; rstripped.
 * Role, goal, backstory, description and expected output are interpolated
 * with inputs first (core/template.h). context: the earlier outputs joined
 * with ENGINE_CONTEXT_DIVIDER, or NULL/"" for none.
 * Errors: template_interpolate's (ST_BAD_INPUT naming "inputs.<name>").
 */
enum status engine_prompt_build(const struct engine_agent *agent, const struct engine_task *task, const json_t *inputs,
                                const char *context, struct arena *a, char **system, char **user, struct problem *p);

/* ---- tools: the runner interface ---- */

struct engine_tool_job;

/*
 * How the engine runs tools. start is called on the loop thread with
 * arguments already validated against the tool's schema; the runner must call
 * engine_tool_done(job, ...) exactly once, on the loop thread, from start
 * itself or later. cancel (may be NULL) asks it to end soon: it must still
 * call engine_tool_done. Several jobs of one attempt run at once when the
 * model asks for several calls in one turn.
 */
struct engine_tool_runner {
	void (*start)(void *ud, struct engine_tool_job *job, const char *name, const json_t *arguments);
	void (*cancel)(void *ud, struct engine_tool_job *job);
	void *ud;
};
/* ok false: result is the error the model sees as the tool's result. result is copied. */
void engine_tool_done(struct engine_tool_job *job, bool ok, const char *result);
/* The agent's tool the job calls (its ud says which one to the runner); valid in start and until done. */
const struct engine_tool *engine_tool_job_tool(const struct engine_tool_job *job);

/* ---- events ---- */

/*
 * One event: type (task.started|succeeded|failed|retrying,
 * llm.started|completed|failed, tool.started|completed|failed, output.delta),
 * the task's key, the attempt number and data (borrowed for the callback).
 * seq and at are assigned by whoever stores them. Data per type: docs/engine.md.
 */
struct engine_event {
	const char *type;
	const char *task_key;
	int attempt;
	json_t *data;
};
typedef void (*engine_event_fn)(void *ud, const struct engine_event *ev);

/* ---- one task attempt ---- */

enum engine_outcome {
	ENGINE_SUCCEEDED = 0,
	ENGINE_FAILED,    /* error says why; not worth another attempt */
	ENGINE_RETRY,     /* failed in a way a new attempt may fix: the model call failed after the
	                   * client's own retries (rate limited, server error, timeout, network) or
	                   * its answer made no sense, or a stream cut after text went out */
	ENGINE_CANCELLED, /* engine_attempt_cancel */
	ENGINE_TIMEOUT,   /* max_execution_time_s */
};
const char *engine_outcome_name(enum engine_outcome o);

struct engine_usage {
	int64_t prompt_tokens, completion_tokens, cached_tokens;
	double cost;
	bool cost_known; /* false when a call had no price: cost is then null, never 0 */
	int llm_calls, tool_calls;
};

struct engine_result {
	enum engine_outcome outcome;
	const char *output;  /* the final answer's text (SUCCEEDED) */
	json_t *output_json; /* ENGINE_OUTPUT_JSON: the parsed answer (borrowed) */
	const char *error;   /* otherwise: one sentence, no secret */
	struct engine_usage usage;
	int iterations; /* LLM calls made */
};

struct engine_attempt;
/* Called once per attempt when it has ended and nothing of it is in flight;
 * the attempt is freed right after it returns (res and its strings with it). */
typedef void (*engine_done_fn)(void *ud, struct engine_attempt *at, const struct engine_result *res);

struct engine_attempt_spec {
	const struct engine_agent *agent;
	const struct engine_task *task;
	const json_t *inputs;                   /* the execution's inputs (borrowed until the attempt starts) */
	const char *context;                    /* joined earlier outputs, or NULL */
	int attempt;                            /* 1, 2, ...: in every event */
	const struct engine_tool_runner *tools; /* NULL: the agent's tools fail as "no tool runner" */
	engine_event_fn on_event;
	engine_done_fn on_done;
	void *ud;
};

struct engine_loop;

/*
 * Starts an attempt on loop: task.started is emitted and the prompt built at
 * once; a prompt that cannot be built ends the attempt (failed) on the next
 * engine_loop_run. Returns the handle, valid until on_done returns.
 */
struct engine_attempt *engine_attempt_start(struct engine_loop *l, const struct engine_attempt_spec *spec);
/* Stops every in-flight call of the attempt (LLM and tools) at once; it
 * ends CANCELLED with why as its error ("cancelled by a user"; NULL:
 * "cancelled"), said once: the call's own llm.failed names only the call. */
void engine_attempt_cancel(struct engine_attempt *at, const char *why);

/* ---- the loop: one per worker thread ---- */

/* limiter may be NULL; it must outlive the loop. */
struct engine_loop *engine_loop_new(struct llm_limiter *limiter);
/* Cancels what is in flight, runs it to its end (callbacks run), frees. */
void engine_loop_free(struct engine_loop **l);
/* Drives LLM transfers, tool completions and timers for at most timeout_ms;
 * returns the attempts still in flight. */
int engine_loop_run(struct engine_loop *l, int timeout_ms);
int engine_loop_pending(const struct engine_loop *l);

/*
 * Work done on other threads (the tool runner's pool) comes back through a
 * hook: fn runs on the loop thread in every engine_loop_run, before and after
 * it waits, and takes what was posted; it answers the monotonic µs at which it
 * wants to run again (a timeout; 0: none), which bounds the wait.
 * engine_loop_wake, callable from any thread, ends the wait of the
 * engine_loop_run in progress (or makes the next one not wait) so the hooks
 * run at once. Hooks are added and removed on the loop thread.
 */
#define ENGINE_LOOP_HOOKS_MAX 4
typedef int64_t (*engine_hook_fn)(void *ud, int64_t now_us);
void engine_loop_hook_add(struct engine_loop *l, engine_hook_fn fn, void *ud);
void engine_loop_hook_remove(struct engine_loop *l, engine_hook_fn fn, void *ud);
void engine_loop_wake(struct engine_loop *l);

/* ---- sequential process: a small driver over the loop ---- */

/*
 * Runs tasks in order, each with its agent (agents[i] runs tasks[i]), each
 * task's context per crewAI (ENGINE_CONTEXT_DIVIDER between outputs), up to
 * max_retry_limit + 1 attempts per task (its agent's) for ENGINE_RETRY
 * outcomes: each new one announced by task.retrying {reason, next_attempt}
 * and numbered on from the last. Emits every
 * attempt's events through on_event; on_task_done sees each task's final
 * result; on_done the crew's (the last task's output, or the failure).
 */
struct engine_crew_spec {
	const struct engine_agent *const *agents;
	const struct engine_task *tasks;
	int ntasks;
	const json_t *inputs;
	int max_attempts; /* attempts per task for ENGINE_RETRY; 0: the task's agent's max_retry_limit + 1 */
	/* Resume: start at task first_task (0: the first), with outputs[k]
	 * (k < first_task, borrowed until engine_crew_start returns) as the
	 * stored outputs of the tasks before it; task k's attempts are numbered
	 * from attempts_before[k] + 1 (NULL: from 1). */
	int first_task;
	const char *const *outputs;
	const int *attempts_before;
	const struct engine_tool_runner *tools;
	engine_event_fn on_event;
	void (*on_task_done)(void *ud, int task_index, const struct engine_result *res);
	void (*on_done)(void *ud, const struct engine_result *res);
	void *ud;
};
struct engine_crew;
/* The crew is freed after on_done returns. */
struct engine_crew *engine_crew_start(struct engine_loop *l, const struct engine_crew_spec *spec);
/* engine_attempt_cancel of the running task with why (copied), and no next task. */
void engine_crew_cancel(struct engine_crew *c, const char *why);

/* ---- the worker: runs executions (runner.c, docs/executions.md) ----
 *
 * A job handler for EXECUTIONS_JOB_KIND on the jobs pool: it loads the
 * execution and its snapshot, resolves each agent's model (the key opened
 * in memory only), detaches the job run and hands the execution to one of
 * `loops` engine-loop threads, each running many executions at once; the
 * loop marks it running (execution.started) under the job's lease before
 * its first call goes out. Every event
 * but output.delta, each attempt's row and each task's output are written
 * in one transaction per loop turn, fenced on the run's lease epoch; the
 * end (status, output, usage, execution.<status>) commits with
 * jobs_complete_tx. A lost lease drops the run's writes and cancels it;
 * jobs_run_stopping (SIGTERM) hands it back (a resume starts from the first
 * task without a stored output). Owner: main; every function but _new and
 * _free is thread-safe.
 */
struct engine_runner;
struct db;
struct models;
struct jobs;
struct llm_limiter;
struct engine_toolpool;
struct engine_runner_options {
	struct db *db;
	struct models *models;
	struct llm_limiter *limiter; /* may be NULL */
	struct engine_toolpool
	    *tools;             /* the process's tool threads (toolrun.h); NULL: tool calls fail, seen by the model */
	int loops;              /* engine-loop threads; 0: 1 */
	int64_t cancel_poll_ms; /* how often a loop reads cancel requests of other processes; 0: 250 */
};
/* Starts the loop threads and registers the job kind on j (before jobs_workers_start). */
enum status engine_runner_new(const struct engine_runner_options *o, struct jobs *j, struct engine_runner **out,
                              struct problem *p);
/* The in-process signal of POST /executions/{id}/cancel: the loop running
 * execution_id (if this process runs it) cancels it at once. */
void engine_runner_cancel(struct engine_runner *r, const char *execution_id);
/* After jobs_stop: cancels what is left (its jobs were handed back, so
 * nothing more is written), joins the threads, frees; NULLs *r. */
void engine_runner_free(struct engine_runner **r);

#endif
