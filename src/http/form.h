/*
 * form: multipart/form-data bodies (RFC 7578, with RFC 2046 section 5.1.1's
 * framing) read as the JSON object a route's body schema checks, so a route
 * flagged ROUTE_FORM takes uploaded files and JSON alike: each part is one
 * text field, named by its Content-Disposition name, its content the
 * field's string (UTF-8). The gateway's own; server.c calls it.
 */
#ifndef TROUPE_HTTP_FORM_H
#define TROUPE_HTTP_FORM_H

#include "../core/core.h"

#include <jansson.h>

#define FORM_MAX_PARTS 16

/* Whether ct is multipart/form-data (any parameters). */
bool form_content_type(const char *ct);
/* body (len bytes) under the Content-Type ct -> *out, a new object of
 * strings. Errors: ST_BAD_INPUT naming "header.Content-Type" (no or a bad
 * boundary), "body" (framing) or the part's name (repeated, not UTF-8);
 * *out is NULL then. */
enum status form_to_json(const char *ct, const char *body, size_t len, json_t **out, struct problem *p);

#endif
