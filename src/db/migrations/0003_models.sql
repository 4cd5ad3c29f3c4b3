-- 0003: model configurations. Secrets (the API key, extra header values)
-- are sealed with XChaCha20-Poly1305 under a key derived from the server
-- secret, with the row id as associated data: a sealed value copied to
-- another row does not open.
CREATE TABLE model_configs (
	id TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	provider TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	base_url TEXT,
	api_version TEXT,
	deployment TEXT,
	organization TEXT,
	api_key_sealed TEXT,
	api_key_last4 TEXT,
	headers_sealed TEXT,
	header_names TEXT NOT NULL,
	params TEXT NOT NULL,
	capabilities TEXT NOT NULL,
	limits TEXT NOT NULL,
	pricing TEXT NOT NULL,
	is_default INTEGER NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (workspace_id, name)
);
CREATE INDEX model_configs_ws ON model_configs (workspace_id, id);
