-- 0011: an execution's snapshot stored once per content (src/executions/
-- snapshots.c, docs/executions.md). The id is the SHA-256 (hex) of the
-- workspace id, a NUL byte and the content, so an id names one content
-- forever and every execution of the same workflow, agent and tool versions
-- shares one row. executions.snapshot keeps the inline snapshot of the rows
-- written before this migration and is '' when snapshot_id is set.
CREATE TABLE execution_snapshots (
	id TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	content TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
ALTER TABLE executions ADD COLUMN snapshot_id TEXT REFERENCES execution_snapshots (id);
