/* The OpenAPI 3.1 document, written from the route table and its schemas:
 * dispatch and documentation cannot disagree. */
#include "http.h"

#include <string.h>

static json_t *schema_json(const struct schema *s, json_t *components);

static const char *jtype_openapi(enum jtype t)
{
	switch (t) {
	case JT_STRING:
		return "string";
	case JT_INT:
		return "integer";
	case JT_NUMBER:
		return "number";
	case JT_BOOL:
		return "boolean";
	case JT_OBJECT:
		return "object";
	case JT_ARRAY:
		return "array";
	case JT_ANY:
		break;
	}
	return NULL;
}

static json_t *type_json(enum jtype t, bool nullable)
{
	const char *name = jtype_openapi(t);
	if (!name)
		return NULL;
	if (nullable)
		return json_pack("[s,s]", name, "null");
	return json_string(name);
}

static void bounds_json(const struct field *f, json_t *j)
{
	if (f->min == 0 && f->max == 0)
		return;
	const char *lo = NULL, *hi = NULL;
	switch (f->type) {
	case JT_STRING:
		lo = "minLength", hi = "maxLength";
		break;
	case JT_INT:
	case JT_NUMBER:
		lo = "minimum", hi = "maximum";
		break;
	case JT_ARRAY:
		lo = "minItems", hi = "maxItems";
		break;
	default:
		return;
	}
	if (f->min)
		json_object_set_new(j, lo, json_integer(f->min));
	if (f->max)
		json_object_set_new(j, hi, json_integer(f->max));
}

static json_t *ref_to(const struct schema *s, json_t *components)
{
	if (!json_object_get(components, s->name)) {
		json_object_set_new(components, s->name, json_object()); /* breaks cycles */
		json_object_set_new(components, s->name, schema_json(s, components));
	}
	char ref[160];
	snprintf(ref, sizeof(ref), "#/components/schemas/%s", s->name);
	return json_pack("{s:s}", "$ref", ref);
}

static json_t *field_json(const struct field *f, json_t *components)
{
	json_t *j;
	if (f->type == JT_OBJECT && f->object) {
		j = ref_to(f->object, components);
		if (f->nullable)
			j = json_pack("{s:[o,{s:s}]}", "anyOf", j, "type", "null");
	} else {
		j = json_object();
		json_t *t = type_json(f->type, f->nullable);
		if (t)
			json_object_set_new(j, "type", t);
		bounds_json(f, j);
		if (f->format)
			json_object_set_new(j, "format", json_string(f->format));
		if (f->enums) {
			json_t *e = json_array();
			for (const char *const *x = f->enums; *x; x++)
				json_array_append_new(e, json_string(*x));
			json_object_set_new(j, "enum", e);
		}
		if (f->type == JT_ARRAY) {
			json_t *items;
			if (f->items == JT_OBJECT && f->object)
				items = ref_to(f->object, components);
			else {
				items = json_object();
				json_t *it = type_json(f->items, false);
				if (it)
					json_object_set_new(items, "type", it);
			}
			json_object_set_new(j, "items", items);
		}
	}
	if (f->description && json_is_object(j) && !json_object_get(j, "$ref"))
		json_object_set_new(j, "description", json_string(f->description));
	if (f->write_only && json_is_object(j) && !json_object_get(j, "$ref"))
		json_object_set_new(j, "writeOnly", json_true());
	return j;
}

static json_t *schema_json(const struct schema *s, json_t *components)
{
	json_t *props = json_object(), *req = json_array();
	for (const struct field *f = s->fields; f && f->name; f++) {
		json_object_set_new(props, f->name, field_json(f, components));
		if (f->required)
			json_array_append_new(req, json_string(f->name));
	}
	json_t *j =
	    json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props, "additionalProperties", s->open);
	if (json_array_size(req))
		json_object_set_new(j, "required", req);
	else
		json_decref(req);
	return j;
}

static json_t *problem_schema(void)
{
	return json_pack("{s:s, s:[s,s,s,s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
	                 "s:{s:s, s:{s:s, s:{s:{s:s}, s:{s:s}}}}}}",
	                 "type", "object", "required", "type", "title", "status", "detail", "properties", "type",
	                 "type", "string", "title", "type", "string", "status", "type", "integer", "detail", "type",
	                 "string", "instance", "type", "string", "hint", "type", "string", "errors", "type", "array",
	                 "items", "type", "object", "properties", "field", "type", "string", "message", "type",
	                 "string");
}

static json_t *error_response(const char *desc)
{
	return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", desc, "content", "application/problem+json", "schema",
	                 "$ref", "#/components/schemas/Problem");
}

int route_success_code(const struct route *r)
{
	if (r->flags & ROUTE_CREATES)
		return 201;
	if (r->flags & ROUTE_ACCEPTS)
		return 202;
	return r->response || r->produces ? 200 : 204;
}

static enum status answer_mismatch(const struct route *r, struct problem *p, const char *what)
{
	return problem_set(p, ST_INTERNAL, "%s %s: the answer does not match its documentation: %s", r->method,
	                   r->pattern, what);
}

enum status http_answer_check(const struct route *r, enum status st, const struct res *rs, struct problem *p)
{
	if (!status_ok(st))
		return ST_OK;
	int want = route_success_code(r), got = status_http_code(st);
	if (got != want)
		return answer_mismatch(r, p, arena_printf(p->arena, "status %d, documented %d", got, want));
	if (want == 204 || r->produces)
		return ST_OK;
	if (!rs->json)
		return answer_mismatch(r, p, "no JSON body");
	struct problem fp;
	problem_init(&fp, p->arena);
	if (r->flags & ROUTE_LIST) {
		json_t *items = json_object_get(rs->json, "items"), *next = json_object_get(rs->json, "next_cursor");
		if (!json_is_array(items) || !(json_is_null(next) || json_is_string(next)) ||
		    json_object_size(rs->json) != 2)
			return answer_mismatch(r, p, "not a page {items, next_cursor}");
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
		{
			if (schema_validate_at(r->response, it, arena_printf(p->arena, "items[%zu]", i), &fp) != ST_OK)
				break;
		}
	} else {
		schema_validate(r->response, rs->json, &fp);
	}
	if (fp.nfields || fp.st != ST_OK)
		return answer_mismatch(r, p,
		                       fp.nfields
		                           ? arena_printf(p->arena, "%s %s", fp.fields[0].field, fp.fields[0].message)
		                           : (fp.detail ? fp.detail : "invalid"));
	return ST_OK;
}

/* A list route's answer: the page around its item schema. */
static json_t *page_ref(const struct schema *item, json_t *components)
{
	char name[128], ref[160];
	snprintf(name, sizeof(name), "%sPage", item->name);
	if (!json_object_get(components, name))
		json_object_set_new(
		    components, name,
		    json_pack("{s:s, s:[s,s], s:{s:{s:s, s:o}, s:{s:[s,s], s:s}}, s:b}", "type", "object", "required",
		              "items", "next_cursor", "properties", "items", "type", "array", "items",
		              ref_to(item, components), "next_cursor", "type", "string", "null", "description",
		              "pass as ?cursor= for the next page; null on the last", "additionalProperties", 0));
	snprintf(ref, sizeof(ref), "#/components/schemas/%s", name);
	return json_pack("{s:s}", "$ref", ref);
}

static json_t *success_response(const struct route *r, json_t *components)
{
	if (r->produces)
		return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", "success", "content", r->produces, "schema",
		                 "type", "string");
	if (!r->response)
		return json_pack("{s:s}", "description", "no content");
	json_t *schema = r->flags & ROUTE_LIST ? page_ref(r->response, components) : ref_to(r->response, components);
	return json_pack("{s:s, s:{s:{s:o}}}", "description", "success", "content", "application/json", "schema",
	                 schema);
}

/* What X-Workspace-Id means on a route: the gateway checks it on every
 * authenticated route (api_auth.c, check_ws_header), needed or not. */
static const char *ws_header_text(const struct route *r)
{
	if (r->flags & ROUTE_WS_FROM_PATH)
		return "optional; when given it must be the path's workspace id (else 404)";
	if (r->role <= ROLE_USER || r->role == ROLE_INSTANCE || (r->flags & ROUTE_NO_WORKSPACE))
		return "optional; this route needs no workspace, but one given must be a workspace the caller is in "
		       "(else 404; malformed: 400)";
	return "the workspace to act in (default: the caller's personal workspace; an API key's own); one the "
	       "caller is not in is 404, a malformed one 400";
}

/* The description of a status a route lists in .also. */
static const char *also_text(int code)
{
	switch (code) {
	case 401:
		return "the credentials or the token are not valid";
	case 403:
		return "not allowed here";
	case 409:
		return "conflicts with an existing object";
	case 422:
		return "well formed but refused";
	default:
		return "error";
	}
}

static json_t *operation(const struct route *r, json_t *components)
{
	json_t *op = json_object();
	char opid[200];
	snprintf(opid, sizeof(opid), "%s %s", r->method, r->pattern);
	json_object_set_new(op, "operationId", json_string(opid));
	json_object_set_new(op, "summary", json_string(r->summary));
	if (r->tag)
		json_object_set_new(op, "tags", json_pack("[s]", r->tag));
	json_object_set_new(op, "x-troupe-role", json_string(role_name(r->role)));
	if (r->flags & ROUTE_NO_API_KEY)
		json_object_set_new(op, "x-troupe-api-key", json_false()); /* a user's session only: 403 to a key */

	json_t *params = json_array();
	for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
		const char *e = strchr(p, '}');
		if (!e)
			break;
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int) (e - p - 1), p + 1);
		json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in", "path",
		                                        "required", 1, "schema", "type", "string"));
	}
	if (r->flags & ROUTE_LIST) {
		json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s, s:i, s:i, s:i}}", "name", "limit", "in",
		                                        "query", "schema", "type", "integer", "minimum", 1, "maximum",
		                                        200, "default", 50));
		json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s}}", "name", "cursor", "in", "query",
		                                        "schema", "type", "string"));
	}
	for (const struct route_query *q = r->query; q && q->name; q++)
		json_array_append_new(params, json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", q->name, "in", "query",
		                                        "description", q->description, "schema", "type", q->type));
	if (r->role != ROLE_PUBLIC)
		json_array_append_new(params, json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "name", "X-Workspace-Id", "in",
		                                        "header", "description", ws_header_text(r), "schema", "type",
		                                        "string", "format", "uuid"));
	if (r->flags & ROUTE_IDEMPOTENT)
		json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s, s:i}}", "name", "Idempotency-Key", "in",
		                                        "header", "schema", "type", "string", "maxLength", 200));
	if (json_array_size(params))
		json_object_set_new(op, "parameters", params);
	else
		json_decref(params);

	if (r->body)
		json_object_set_new(op, "requestBody",
		                    json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content", "application/json",
		                              "schema", ref_to(r->body, components)));
	if (r->body && (r->flags & ROUTE_FORM))
		json_object_set_new(json_object_get(json_object_get(op, "requestBody"), "content"),
		                    "multipart/form-data", json_pack("{s:o}", "schema", ref_to(r->body, components)));
	else if (r->flags & ROUTE_RAW_BODY)
		json_object_set_new(op, "requestBody",
		                    json_pack("{s:b, s:{s:{s:{s:s, s:s}}}}", "required", 1, "content",
		                              "application/octet-stream", "schema", "type", "string", "format",
		                              "binary"));

	json_t *resp = json_object();
	char code[8];
	snprintf(code, sizeof(code), "%d", route_success_code(r));
	json_object_set_new(resp, code, success_response(r, components));
	/* The gateway checks X-Workspace-Id on every authenticated route (a
	 * malformed one is 400, a workspace the caller is not in 404), so every
	 * such route documents both, whatever its own body and path. */
	if (r->body || (r->flags & (ROUTE_LIST | ROUTE_RAW_BODY)) || strchr(r->pattern, '{') || r->role != ROLE_PUBLIC)
		json_object_set_new(resp, "400",
		                    error_response("invalid request (a field, a path id, a query "
		                                   "parameter or X-Workspace-Id)"));
	if (r->role != ROLE_PUBLIC) {
		json_object_set_new(resp, "401", error_response("not authenticated"));
		json_object_set_new(resp, "403", error_response("role too low"));
		json_object_set_new(resp, "404",
		                    error_response(strchr(r->pattern, '{')
		                                       ? "no such object in this workspace, or "
		                                         "X-Workspace-Id names a workspace the caller is not in"
		                                       : "X-Workspace-Id names a workspace the caller is not in"));
	} else if (strchr(r->pattern, '{')) {
		json_object_set_new(resp, "404", error_response("no such object"));
	}
	if (r->body || (r->flags & ROUTE_RAW_BODY)) {
		json_object_set_new(resp, "413", error_response("body too large"));
		json_object_set_new(resp, "415", error_response("not application/json"));
	}
	if (r->limit != LIMIT_NONE)
		json_object_set_new(resp, "429", error_response("rate limited; see Retry-After"));
	for (const int *c = r->also; c && *c; c++) {
		snprintf(code, sizeof(code), "%d", *c);
		json_object_set_new(resp, code, error_response(also_text(*c)));
	}
	json_object_set_new(resp, "default", error_response("error"));
	json_object_set_new(op, "responses", resp);
	if (r->role == ROLE_PUBLIC)
		json_object_set_new(op, "security", json_array());
	return op;
}

json_t *openapi_document(void)
{
	json_t *components = json_object();
	json_object_set_new(components, "Problem", problem_schema());
	json_t *paths = json_object();
	for (const struct route *r = http_routes(); r->method; r++) {
		json_t *item = json_object_get(paths, r->pattern);
		if (!item) {
			item = json_object();
			json_object_set_new(paths, r->pattern, item);
		}
		char m[16];
		size_t i;
		for (i = 0; r->method[i] && i < sizeof(m) - 1; i++)
			m[i] = (char) (r->method[i] | 0x20);
		m[i] = '\0';
		json_object_set_new(item, m, operation(r, components));
	}
	return json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:{s:o, s:{s:{s:s, s:s, s:s}}}, s:[{s:[]}]}",
	                 "openapi", "3.1.0", "info", "title", "troupe API", "version", TROUPE_VERSION, "description",
	                 "Define AI agents, compose them into crews, run them and watch every step.", "servers", "url",
	                 "/", "paths", paths, "components", "schemas", components, "securitySchemes", "bearerAuth",
	                 "type", "http", "scheme", "bearer", "bearerFormat", "JWT or trp_ API key", "security",
	                 "bearerAuth");
}
