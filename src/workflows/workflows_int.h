/* workflows: what the module's files share; nothing here is public. */
#ifndef TROUPE_WORKFLOWS_INT_H
#define TROUPE_WORKFLOWS_INT_H

#include "workflows/workflows.h"
#include "agents/agents.h"
#include "auth/auth.h"
#include "db/db.h"

struct workflows {
	struct db *db;
	struct agents *agents;
};

/* The current row of a workflow. */
struct wrow {
	const char *id;
	int64_t version, published; /* published: 0 when none */
	json_t *def;                /* arena-owned */
	int64_t created_at, updated_at;
};

/* Loads the row of id in ws (c NULL: a reader); archived rows answer
 * ST_NOT_FOUND unless archived_ok. */
enum status wf_load(struct workflows *m, struct db_conn *c, const char *ws, const char *id, bool archived_ok,
                    struct arena *a, struct wrow *out, struct problem *p);
/* Version n of id in ws (the row may be archived). */
enum status wf_load_version(struct workflows *m, const char *ws, const char *id, int64_t n, struct arena *a,
                            json_t **def, struct problem *p);

/* For "did you mean": the key of the object keys closest to name by
 * Levenshtein distance when it is close enough to be a typo (at most a
 * third of name's length, and at least 2, edits away), else NULL. Names
 * longer than 64 bytes (a key's bound) match nothing. */
const char *wf_closest_key(const json_t *keys, const char *name);

/* base (a stored definition or NULL) with the body's definition fields
 * applied and every default filled in: a new reference. */
json_t *wf_apply(const json_t *base, const json_t *body);

/* The rules of docs/workflows.md ("Validation") over a complete definition:
 * every error a field error of p (ST_UNPROCESSABLE, nothing else set but
 * the detail), every warning appended to warnings as {field, message}.
 * c: the connection to read models on (NULL: a reader). known: agents
 * already resolved ({id: agent}), e.g. created in the same transaction;
 * may be NULL. */
enum status wf_validate(struct workflows *m, struct db_conn *c, const struct actor *who, const json_t *def,
                        json_t *known, struct arena *a, json_t *warnings, struct problem *p);

/* Writes a workflow inside the caller's transaction: a new one when id is
 * NULL (then *id_out is its id), else a new version of id (base: 0 or the
 * version the change was made on). Validates first; nothing is written on
 * an error. action: the audit action. *version: the version written (the
 * current one when nothing changed). */
struct wf_write {
	const struct actor *who;
	const char *id;     /* NULL: create */
	json_t *def;        /* complete (wf_apply'd); NULL: patch applied to the row read in the transaction */
	json_t *patch;      /* update: the body's fields */
	int64_t base;       /* 0: none */
	const char *note;   /* change_note */
	const char *action; /* "workflow.create", ... */
	bool force;         /* write a version even when nothing changed (restore) */
	json_t *known;      /* see wf_validate */
	json_t *warnings;   /* out: appended */
	const char *id_out; /* out */
	int64_t version;    /* out */
};
enum status wf_write_tx(struct workflows *m, struct db_conn *c, struct wf_write *w, struct arena *a, struct problem *p);

json_t *wf_own(struct arena *a, json_t *j);
const char *wf_str(const json_t *o, const char *k);
char *wf_dump(const json_t *j, struct arena *a);

#endif
