/*
 * schema: the shape of a JSON document as data (fields, types, required,
 * bounds, enums, formats, nested objects and arrays), and its validator.
 * The gateway checks request bodies with it and writes the OpenAPI
 * document from it; the crewAI YAML importer and the workflow validator
 * check documents with it, so every error names its field by the same
 * path: "tasks[2].context[0]", "params.extra_headers".
 */
#ifndef TROUPE_CORE_SCHEMA_H
#define TROUPE_CORE_SCHEMA_H

#include "core.h"

#include <jansson.h>

enum jtype { JT_ANY, JT_STRING, JT_INT, JT_NUMBER, JT_BOOL, JT_OBJECT, JT_ARRAY };

struct schema;
struct field {
	const char *name;
	enum jtype type;
	bool required; /* bodies: must be given; responses: always present */
	bool nullable;
	int64_t min, max;            /* string: length in characters; int/number: value; array: items. 0,0: none */
	const char *const *enums;    /* NULL-terminated allowed strings */
	const struct schema *object; /* JT_OBJECT, or the items of a JT_ARRAY of objects */
	enum jtype items;            /* JT_ARRAY: type of the items */
	const char *format;          /* "email", "uuid", "date-time", "uri": checked */
	const char *description;
	bool write_only; /* documented as writeOnly (secrets) */
};
struct schema {
	const char *name;           /* OpenAPI component name (unique across the API) */
	const struct field *fields; /* terminated by a field with name NULL; NULL: no fixed fields */
	bool open;                  /* unknown keys allowed (free-form maps) */
};

/* Validates the object doc against s; every problem becomes a field error
 * of p named by its path ("tasks[2].context[0]"). Returns ST_OK or
 * ST_BAD_INPUT (with p's detail counting the invalid fields). */
enum status schema_validate(const struct schema *s, json_t *doc, struct problem *p);
/* The same for a document found at path prefix of a larger one (the
 * importer's "agents.researcher"): errors are named prefix.field. */
enum status schema_validate_at(const struct schema *s, json_t *doc, const char *prefix, struct problem *p);

#endif
