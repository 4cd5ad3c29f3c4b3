-- 0006: the durable job queue (src/jobs, docs/jobs.md). A job is claimed
-- under a lease: lease_owner names the worker, lease_expires_at ends the
-- lease unless renewed, and lease_epoch, bumped by every claim and every
-- release, fences every write a worker makes for the job.
-- workspace_id is NULL for instance-wide jobs; a deleted workspace takes
-- its jobs with it (a worker holding one then finds its lease lost).
CREATE TABLE jobs (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
	payload TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
	attempts INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL,
	run_after BIGINT NOT NULL,
	lease_owner TEXT,
	lease_epoch BIGINT NOT NULL DEFAULT 0,
	lease_expires_at BIGINT,
	last_error TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	finished_at BIGINT
);
-- What a claim looks for: queued jobs that are due, running jobs whose
-- lease expired. Partial indexes: they hold only the live jobs, not the
-- ended ones that pile up, so a claim reads the first entry of a small
-- index whatever the planner knows of the table.
CREATE INDEX jobs_due ON jobs (run_after) WHERE state = 'queued';
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
-- The dead letters and permanent failures, newest first, for their owners
-- and for /metrics, without reading the jobs that succeeded.
CREATE INDEX jobs_dead ON jobs (finished_at) WHERE state = 'dead';
CREATE INDEX jobs_failed ON jobs (finished_at) WHERE state = 'failed';
CREATE INDEX jobs_workspace ON jobs (workspace_id, created_at);
