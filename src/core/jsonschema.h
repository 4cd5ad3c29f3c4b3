/*
 * jsonschema: a stated subset of JSON Schema (draft 2020-12 keywords, and
 * the draft-07 forms of items and definitions), for tool parameters, task
 * output schemas and json_schema guardrails. The subset, exactly, is in
 * docs/core.md ("JSON Schema"); anything else is refused by
 * jsonschema_check, each unsupported keyword named, rather than ignored.
 *
 * Paths in errors. Schema paths are dotted from the caller's prefix
 * ("tasks[2].output.schema" + ".properties.name.maxLength"); instance paths
 * start at the caller's prefix ("$" by default: "$.items[3].name"). A
 * name that is not [A-Za-z_$][A-Za-z0-9_$]* is written ["as JSON"].
 *
 * Bounds. Validation descends at most JSONSCHEMA_MAX_DEPTH schemas deep and
 * evaluates at most JSONSCHEMA_MAX_STEPS schemas per call; a $ref that
 * leads back to itself without descending into the value is refused by
 * jsonschema_check, and caught again at validation. Patterns are at most
 * JSONSCHEMA_MAX_PATTERN bytes.
 *
 * Thread safety: no global state but one C.UTF-8 locale object created
 * once (pthread_once) and used per thread with uselocale(3).
 */
#ifndef TROUPE_JSONSCHEMA_H
#define TROUPE_JSONSCHEMA_H

#include "core/core.h"

#include <jansson.h>
#include <regex.h>

#define JSONSCHEMA_MAX_DEPTH   128
#define JSONSCHEMA_MAX_STEPS   200000
#define JSONSCHEMA_MAX_PATTERN 1024

/* Checks that schema is a well-formed schema of the subset: every keyword
 * supported, every value of the right shape, every pattern compiles,
 * every $ref resolves to a schema in this document and no $ref loops.
 * Adds one field error to p (NULL: just answer) per problem, named
 * prefix + path (prefix NULL or "": "schema"); sets no detail, so the
 * caller writes its own. Returns ST_OK or ST_UNPROCESSABLE. */
enum status jsonschema_check(const json_t *schema, const char *prefix, struct problem *p);

/* Validates instance against schema, which must have passed
 * jsonschema_check. Adds one field error per violation, named by the
 * instance path (prefix NULL or "": "$"), up to the problem's cap; sets no
 * detail. Returns ST_OK or ST_UNPROCESSABLE (also when the depth or step
 * bound is reached: one error says which). */
enum status jsonschema_validate(const json_t *schema, const json_t *instance, const char *prefix, struct problem *p);

/* JSON Schema equality (enum, const, uniqueItems): numbers by value
 * (1 equals 1.0), objects by members regardless of order, arrays by
 * element. Bounded at JSONSCHEMA_MAX_DEPTH (deeper values are unequal). */
bool jsonschema_equal(const json_t *a, const json_t *b);

/* Appends to b the path segment for name: ".name" when it is an
 * identifier, else "[\"...\"]" (JSON-escaped). Returns 0, or -1 when b's
 * cap is reached. Shared by everything that reports JSON paths. */
int jsonschema_path_name(struct buf *b, const char *name);

/* POSIX extended expressions compiled and searched in a per-thread
 * C.UTF-8 locale ("." is one character; the process's locale is left
 * alone): the patterns here and json_query's match() and search().
 * jsonschema_regcomp returns 0 or -1 (then re needs no regfree); it
 * refuses, before glibc's regcomp sees them, expressions that would take it
 * unbounded time or memory: a quantifier right after another (exponential;
 * neither ECMA-262 nor I-Regexp, RFC 9485 section 4, allows one) and
 * repetitions whose copies, multiplied through nested groups, pass 1000. */
int jsonschema_regcomp(regex_t *re, const char *ere);
bool jsonschema_regsearch(const regex_t *re, const char *s, size_t n);

#endif
