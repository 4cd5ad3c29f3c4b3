/*
 * json_diff: a structured difference between two JSON documents, for the
 * versions of agents, tools and workflows ("what changed between version 2
 * and version 4").
 *
 * Objects are compared key by key, recursively (at most JSON_DIFF_DEPTH
 * levels; deeper objects are compared whole). Arrays and scalars are
 * compared whole: a list that differs is one "changed" entry (callers that
 * know a list's identity, such as workflow tasks by key, diff it themselves
 * and merge the entries). Numbers compare by value (1 equals 1.0).
 *
 * The answer, with entries sorted by path:
 *   {"added":   [{"path": "metadata.team", "value": ...}],
 *    "removed": [{"path": "max_rpm", "value": ...}],
 *    "changed": [{"path": "goal", "from": ..., "to": ...}]}
 * A path joins object keys with "."; a key that is not an identifier
 * ([A-Za-z_][A-Za-z0-9_-]*) is written as ["key"] with JSON escaping, so
 * every path reads back unambiguously. The empty path "" is the root, when
 * a or b is not an object.
 */
#ifndef TROUPE_CORE_JSON_DIFF_H
#define TROUPE_CORE_JSON_DIFF_H

#include <jansson.h>

#define JSON_DIFF_DEPTH 32

/* A new reference (the caller decrefs); a and b are borrowed and may be NULL
 * (absent: every key of the other is added or removed). */
json_t *json_diff(json_t *a, json_t *b);

/* Whether a diff lists nothing. */
int json_diff_empty(json_t *diff);

#endif
