/* agents: what the module's files share; nothing here is public. */
#ifndef TROUPE_AGENTS_INT_H
#define TROUPE_AGENTS_INT_H

#include "agents.h"
#include "../auth/auth.h"
#include "../core/json_diff.h"

struct agents {
	struct db *db;
	struct models *models;
	const struct net_policy *net_policy; /* the outbound guard's allowlist; NULL: none */
	agents_usage_fn usage;               /* set once at start, before any request */
};

/* A kind of versioned object: its tables and its words. */
struct vkind {
	const char *kind;   /* "agent" | "tool": the audit target type */
	const char *table;  /* current rows */
	const char *vtable; /* versions */
	const char *fk;     /* the versions' column naming the row */
	const char *noun;   /* for messages: "no agent with this id" */
};
extern const struct vkind agents_vk_agent, agents_vk_tool;
const struct vkind *agents_vkind(const char *kind);

/* A current row, read whole into the arena. */
struct vrow {
	const char *id;
	int64_t version;
	json_t *def; /* the definition (arena-owned reference) */
	const char *sealed;
	bool archived;
	int64_t created_at, updated_at;
};

/* Loads the row of id in ws; archived rows answer ST_NOT_FOUND unless
 * archived_ok. c may be NULL (a reader connection from the pool). */
enum status vs_load(struct agents *m, struct db_conn *c, const struct vkind *k, const char *ws, const char *id,
                    bool archived_ok, struct arena *a, struct vrow *out, struct problem *p);
/* Loads version n of id in ws (the row may be archived). */
enum status vs_load_version(struct agents *m, struct db_conn *c, const struct vkind *k, const char *ws, const char *id,
                            int64_t n, struct arena *a, json_t **def, const char **sealed, struct problem *p);
/* Appends version n with def (and sealed secrets, tools) by who. */
enum status vs_insert_version(struct db_conn *c, const struct vkind *k, const char *ws, const char *id, int64_t n,
                              json_t *def, const char *sealed, const struct actor *who, const char *note,
                              struct arena *a, struct problem *p);
/* The stale-version problem: ST_CONFLICT naming base_version and the current. */
enum status vs_stale(struct problem *p, const struct vkind *k, int64_t base, int64_t current);

/* JSON text of j (sorted keys, compact) in the arena. */
char *agents_dump(json_t *j, struct arena *a);
/* j joins the arena's cleanup; returns j. */
json_t *agents_own(struct arena *a, json_t *j);
const char *agents_jstr(json_t *o, const char *k);
/* "%" and "_" escaped with "\" for LIKE ... ESCAPE '\', lowercased, in %...%. */
char *agents_like(const char *q, struct arena *a);

/* Whether a tool id can be listed by an agent in ws (built-in or live). */
enum status tools_exists(struct agents *m, struct db_conn *c, const char *ws, const char *id, bool *yes,
                         struct problem *p);
/* Built-in tools as they answer (id, name, description, builtin, parameters,
 * version 1); NULL when id is not one. A new reference. */
json_t *tools_builtin_json(const char *id);
/* Restoring a tool version (tools.c). */
enum status tools_restore(struct agents *m, const struct actor *who, const char *id, int64_t n, const char *note,
                          struct arena *a, json_t **out, struct problem *p);
enum status agents_restore(struct agents *m, const struct actor *who, const char *id, int64_t n, const char *note,
                           struct arena *a, json_t **out, struct problem *p);

/* RFC 9110 section 5.6.2 token, and not a framing header (Host, Content-Length,
 * Transfer-Encoding, Connection, TE, Upgrade). */
bool tools_header_name_ok(const char *n);
/* web_fetch: readable text of an HTML document, at most max bytes. */
char *agents_html_text(const char *html, size_t len, size_t max, struct arena *a);
/* The built-ins that need no network (calculator, current_datetime,
 * json_query): their answer in the test shape. */
enum status tools_run_pure(const char *name, json_t *args, struct arena *a, json_t **out, struct problem *p);

#endif
