-- 0008: executions (src/executions, docs/executions.md). An execution is
-- one run of a workflow at a version: the snapshot (workflow, agents and
-- tools each at a version) is stored with it, so later edits never change
-- what it runs. Its job (0006) is enqueued in the transaction that inserts
-- it. Events are numbered by seq, increasing per execution from 1.
CREATE TABLE executions (
	id TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	workflow_id TEXT NOT NULL,
	workflow_version INTEGER NOT NULL,
	snapshot TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	inputs TEXT NOT NULL,
	output TEXT,
	error TEXT,
	usage TEXT,
	job_id TEXT,
	last_seq BIGINT NOT NULL DEFAULT 0,
	created_by TEXT,
	created_at BIGINT NOT NULL,
	started_at BIGINT,
	ended_at BIGINT
);
CREATE INDEX executions_ws ON executions (workspace_id, id);
CREATE INDEX executions_ws_workflow ON executions (workspace_id, workflow_id, id);

-- One row per attempt of a task; (execution, task, attempt) is the key a
-- worker's write is unique on.
CREATE TABLE execution_tasks (
	execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	task_key TEXT NOT NULL,
	attempt INTEGER NOT NULL,
	workspace_id TEXT NOT NULL,
	agent_id TEXT,
	status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
	output TEXT,
	error TEXT,
	usage TEXT,
	started_at BIGINT NOT NULL,
	ended_at BIGINT,
	PRIMARY KEY (execution_id, task_key, attempt)
);

CREATE TABLE execution_events (
	execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	seq BIGINT NOT NULL,
	workspace_id TEXT NOT NULL,
	type TEXT NOT NULL,
	at BIGINT NOT NULL,
	task_key TEXT,
	attempt INTEGER,
	data TEXT NOT NULL,
	PRIMARY KEY (execution_id, seq)
);
