-- 0004: agents and custom tools, each with immutable versions.
--
-- The row holds the current definition (a JSON document, the same shape a
-- version holds) and its version number; every change appends a version
-- row and moves the number, in one transaction. Deleting archives the row
-- (archived_at): versions that name it still resolve, so an execution's
-- snapshot taken before the delete stays whole.
--
-- Custom tools' secret header values are sealed (XChaCha20-Poly1305, the
-- model keys' scheme, the tool id as associated data) in headers_sealed; the
-- definition JSON holds header names, public values and the last four
-- characters of secret ones, never a secret. Built-in tools have fixed ids
-- and live in the binary, not here.
CREATE TABLE agents (
	id TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	version INTEGER NOT NULL,
	definition TEXT NOT NULL,
	archived_at BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX agents_ws ON agents (workspace_id, id);

CREATE TABLE agent_versions (
	agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	workspace_id TEXT NOT NULL,
	definition TEXT NOT NULL,
	author_id TEXT,
	change_note TEXT,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (agent_id, version)
);

CREATE TABLE tools (
	id TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	version INTEGER NOT NULL,
	definition TEXT NOT NULL,
	headers_sealed TEXT,
	archived_at BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX tools_ws ON tools (workspace_id, id);
-- Names are unique among a workspace's live tools; an archived tool frees
-- its name.
CREATE UNIQUE INDEX tools_ws_name ON tools (workspace_id, name) WHERE archived_at IS NULL;

CREATE TABLE tool_versions (
	tool_id TEXT NOT NULL REFERENCES tools (id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	workspace_id TEXT NOT NULL,
	definition TEXT NOT NULL,
	headers_sealed TEXT,
	author_id TEXT,
	change_note TEXT,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (tool_id, version)
);
