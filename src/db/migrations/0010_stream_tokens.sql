-- 0010: stream tokens (src/executions/stream.c, docs/executions.md). A
-- browser's EventSource cannot send Authorization, so POST
-- /executions/{id}/stream-token hands out a short-lived token for ?token= on
-- that execution's event stream. Only its hash is stored; used_at makes it
-- single-use across API processes (the UPDATE that spends it matches a row
-- once).
CREATE TABLE stream_tokens (
	token_hash TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL,
	api_key_id TEXT,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT
);
CREATE INDEX stream_tokens_expiry ON stream_tokens (expires_at);
