-- 0013: executions are listed newest first, by (created_at, id) descending
-- (src/executions/executions.c executions_list, docs/executions.md). These
-- indexes serve that order for a workspace and for one workflow; they
-- replace the ones by id, which nothing else reads (an execution is read
-- by its primary key).
CREATE INDEX executions_ws_created ON executions (workspace_id, created_at, id);
CREATE INDEX executions_ws_workflow_created ON executions (workspace_id, workflow_id, created_at, id);
DROP INDEX executions_ws;
DROP INDEX executions_ws_workflow;
