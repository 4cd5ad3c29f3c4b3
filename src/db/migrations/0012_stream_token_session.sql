-- 0012: the session a stream token was minted with (src/executions/tokens.c,
-- docs/executions.md). Spending the token checks that the credential that
-- minted it is still good: the API key (api_key_id) or, for a signed-in
-- user, this session (not ended by logout, a password change or an
-- administrator). NULL for tokens minted before this migration and for API
-- keys.
ALTER TABLE stream_tokens ADD COLUMN session_id TEXT;
