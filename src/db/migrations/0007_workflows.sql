-- 0007: workflows (crews of tasks), each with immutable versions.
--
-- As for agents (0004): the row holds the current definition (the JSON a
-- version holds) and its number; every change appends a version row and
-- moves the number in one transaction; deleting archives the row, so an
-- execution's snapshot that names a version still resolves.
-- published_version is the version that runs when none is asked for (NULL:
-- the latest).
CREATE TABLE workflows (
	id TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	version INTEGER NOT NULL,
	published_version INTEGER,
	definition TEXT NOT NULL,
	archived_at BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX workflows_ws ON workflows (workspace_id, id);

CREATE TABLE workflow_versions (
	workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	workspace_id TEXT NOT NULL,
	definition TEXT NOT NULL,
	author_id TEXT,
	change_note TEXT,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (workflow_id, version)
);
