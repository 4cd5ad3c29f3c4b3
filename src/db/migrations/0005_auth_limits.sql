-- 0005: the counters behind the login and registration limits, in the
-- database so that every troupe process on it shares them. One row per
-- (scope, subject) and fixed window: the first counted attempt opens the
-- window, and its row is pruned once the window has ended.
-- The subject (an email or a client address) is stored only as a keyed
-- hash: emails that have no account are not kept.
CREATE TABLE auth_limit_counters (
	scope TEXT NOT NULL,
	subject_hash TEXT NOT NULL,
	hits BIGINT NOT NULL,
	window_end BIGINT NOT NULL,
	PRIMARY KEY (scope, subject_hash)
);
CREATE INDEX auth_limit_counters_window_end ON auth_limit_counters (window_end);
