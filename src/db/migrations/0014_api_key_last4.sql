-- 0014: an API key's last 4 characters (src/auth/workspaces.c), listed beside
-- its prefix so a user can tell keys apart by either end, as the key is seen
-- where it is pasted. Never the key: 4 of its 43 random characters. Keys made
-- before this migration have none (NULL).
ALTER TABLE api_keys ADD COLUMN last4 TEXT;
