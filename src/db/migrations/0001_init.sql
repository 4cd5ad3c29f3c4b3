-- 0001: instance-wide settings. Later migrations add each module's tables.
CREATE TABLE instance_settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
