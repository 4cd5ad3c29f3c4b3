-- 0009: what the worker that runs an execution keeps (src/engine/runner.c,
-- docs/executions.md). models: the model every agent resolved to when the
-- execution first started ({agent_id: {id, name, provider, model,
-- input_per_mtok, output_per_mtok, priced}}, no secret), so later edits of
-- a configuration never change which model a resumed run calls or its
-- prices. cancel_requested_at: set by POST /executions/{id}/cancel while
-- it runs; the worker holding it polls for it (another process) or is
-- told directly (the same one).
ALTER TABLE executions ADD COLUMN models TEXT;
ALTER TABLE executions ADD COLUMN cancel_requested_at BIGINT;
CREATE INDEX executions_cancel ON executions (cancel_requested_at) WHERE cancel_requested_at IS NOT NULL;

-- A task's output_file, stored when the task succeeds: one row per
-- (execution, name), the name sanitised (one path segment), the content
-- bounded (EXECUTIONS_ARTIFACT_MAX).
CREATE TABLE execution_artifacts (
	execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	workspace_id TEXT NOT NULL,
	task_key TEXT NOT NULL,
	content BLOB NOT NULL,
	size BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (execution_id, name)
);
