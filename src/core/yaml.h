/*
 * yaml: YAML text in and out as jansson values, for documents users bring
 * (crewAI's agents.yaml and tasks.yaml) and the ones we write back.
 *
 * Reading (libyaml's event parser) is safe on hostile input:
 *   - one document per text (an empty text is JSON null); mapping keys are
 *     scalars, and a key given twice in one mapping is an error (PyYAML
 *     takes the last one silently; a duplicated task key is a mistake);
 *   - aliases are expanded into copies, and every node counts against
 *     YAML_MAX_WEIGHT (16 bytes per node plus the bytes of each scalar), so
 *     nested aliases ("billion laughs") stop at the cap, not at memory's end;
 *     an alias to an anchor whose node is still open (a recursive structure)
 *     is an error;
 *   - nesting is bounded by YAML_MAX_DEPTH and the text by YAML_MAX_INPUT;
 *   - merge keys ("<<: *base", YAML 1.1, which PyYAML and so crewAI accept)
 *     copy the base mapping's keys that the mapping does not set itself;
 *   - tags: only the standard ones (!!str, !!int, !!float, !!bool, !!null,
 *     !!map, !!seq); any other tag (!python/object ...) is refused.
 * Plain scalars are typed by the YAML 1.2 core schema (YAML 1.2.2 section
 * 10.3.2): null, ~ and empty are null; true/false (3 spellings) booleans;
 * decimal, 0o octal and 0x hex integers (within int64; beyond it a real);
 * decimals and exponents reals. .inf and .nan have no JSON form and stay
 * strings. Quoted and block scalars are always strings. Text passes through
 * byte for byte: comments are dropped, emoji, box drawing, folded and
 * literal scalars arrive as YAML defines them.
 *
 * Errors give 1-based line and column and libyaml's problem text (or ours,
 * for duplicate keys, aliases and limits).
 *
 * Writing (libyaml's emitter) gives block style, strings with a line break
 * as literal block scalars (|), strings that would read back as another type
 * (or as a YAML 1.1 boolean such as "yes") quoted, UTF-8 unescaped, and
 * object keys in their insertion order. yaml_json_load(yaml_json_dump(v))
 * equals v for every value without reals that are whole numbers' twins
 * (1.0 is written 1.0 and reads back as a real).
 */
#ifndef TROUPE_CORE_YAML_H
#define TROUPE_CORE_YAML_H

#include <jansson.h>
#include <stddef.h>

#define YAML_MAX_INPUT  (1 << 20)  /* bytes of YAML text */
#define YAML_MAX_DEPTH  64         /* nested collections */
#define YAML_MAX_WEIGHT (16 << 20) /* bytes, see above, after alias expansion */

struct yaml_error {
	int line;   /* 1-based; 0 when the error has no position */
	int column; /* 1-based */
	char message[256];
};

/* A new reference, or NULL with err filled. text need not be NUL-terminated. */
json_t *yaml_json_load(const char *text, size_t len, struct yaml_error *err);

/* YAML text (malloc'd, NUL-terminated; the caller frees it), or NULL if v
 * holds a value YAML cannot carry here (none today) or the emitter fails. */
char *yaml_json_dump(json_t *v);

#endif
