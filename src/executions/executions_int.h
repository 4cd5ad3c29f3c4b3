/* executions' private parts: the snapshot store (snapshots.c) as
 * executions_start uses it. */
#ifndef TROUPE_EXECUTIONS_INT_H
#define TROUPE_EXECUTIONS_INT_H

#include "executions.h"

#define SNAPSHOT_ID_LEN 64 /* hex of a SHA-256 */

/* What an execute runs: the snapshot's id, its stored text and its parsed
 * document (shared read-only; the arena holds the reference). */
struct snapshot_ref {
	char id[SNAPSHOT_ID_LEN + 1];
	const char *text;
	json_t *doc;
	int64_t wf_version; /* the workflow version it resolved */
	bool stored;        /* this process already committed its row */
};

/* The snapshot of workflow_id at version asked (0: the published one, else
 * the latest) with every agent and tool at its current version, as
 * workflows_snapshot builds it; from the plan cache when one read finds the
 * same versions, else rebuilt. Errors: the workflow's (ST_NOT_FOUND for an
 * unknown or archived one), ST_UNPROCESSABLE naming "version" for a version
 * that does not exist. */
enum status executions_snapshot_resolve(struct db *db, struct workflows *wf, const struct actor *who,
                                        const char *workflow_id, int64_t asked, struct arena *a,
                                        struct snapshot_ref *out, struct problem *p);
/* Stores s's row unless s->stored (INSERT ... ON CONFLICT DO NOTHING). */
enum status executions_snapshot_store_tx(struct db_conn *c, const char *ws, const struct snapshot_ref *s,
                                         struct problem *p);
/* After the commit: the plan of (ws, workflow_id, asked) need not store
 * snapshot_id again. */
void executions_snapshot_stored(const char *ws, const char *workflow_id, int64_t asked, const char *snapshot_id);
/* Inside the transaction that stores an event (insert_events): keeps its
 * envelope for the execution's live streams, queued to them by
 * executions_notify once that transaction has committed (hub.c, "the
 * journal"). data_text: the stored data's JSON. Nothing while nobody
 * listens to the execution. */
void executions_journal_add(const char *execution_id, int64_t seq, const char *type, int64_t at_ms,
                            const char *task_key, int attempt, const char *data_text);

#endif
