-- 0002: users, sessions (refresh-token families), workspaces and their
-- members, API keys, the audit log and idempotency records.
-- Secrets are never stored: passwords as Argon2id strings, refresh tokens
-- and API keys as keyed hashes (hex).
CREATE TABLE users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	is_admin INTEGER NOT NULL DEFAULT 0,
	disabled INTEGER NOT NULL DEFAULT 0,
	personal_workspace_id TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- One row per login: the family every rotated refresh token descends from.
-- Access tokens carry its id (sid); revoking it ends them all.
CREATE TABLE sessions (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT,
	revoked_reason TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE refresh_tokens (
	token_hash TEXT PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions(id),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE workspaces (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	personal INTEGER NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE workspace_members (
	workspace_id TEXT NOT NULL REFERENCES workspaces(id),
	user_id TEXT NOT NULL REFERENCES users(id),
	role TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members(user_id);

CREATE TABLE api_keys (
	id TEXT PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces(id),
	created_by TEXT NOT NULL REFERENCES users(id),
	name TEXT NOT NULL,
	prefix TEXT NOT NULL,
	key_hash TEXT NOT NULL UNIQUE,
	role TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT,
	last_used_at BIGINT,
	revoked_at BIGINT
);
CREATE INDEX api_keys_workspace ON api_keys(workspace_id, id);

-- Append-only: the code never updates or deletes a row.
CREATE TABLE audit_events (
	id TEXT PRIMARY KEY,
	at BIGINT NOT NULL,
	workspace_id TEXT,
	actor_user_id TEXT,
	actor_api_key_id TEXT,
	action TEXT NOT NULL,
	target_type TEXT,
	target_id TEXT,
	client_ip TEXT,
	request_id TEXT,
	detail TEXT
);
CREATE INDEX audit_events_workspace ON audit_events(workspace_id, id);
CREATE INDEX audit_events_action ON audit_events(action, id);

-- status 0: the first request is still running.
CREATE TABLE idempotency_keys (
	scope TEXT NOT NULL,
	idem_key TEXT NOT NULL,
	route TEXT NOT NULL,
	body_hash TEXT NOT NULL,
	status INTEGER NOT NULL,
	response TEXT,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (scope, idem_key)
);
