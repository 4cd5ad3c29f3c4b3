/* The pagination convention: ?limit= (default 50, 1..200) and an opaque
 * ?cursor= that encodes the key of the last item returned. */
#include "api.h"

#include <string.h>

#define PAGE_DEFAULT 50
#define PAGE_MAX     200

/* The keys a cursor carries are ids, names and numbers: UTF-8 text
 * without control characters (a NUL would cut the key short). */
static bool cursor_key_valid(const char *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) k[i] < 0x20 || k[i] == 0x7f)
			return false;
	return str_utf8_valid(k, n);
}

enum status http_page(struct req *rq, int *limit, const char **after)
{
	const char *l = req_query(rq, "limit"), *c = req_query(rq, "cursor");
	int64_t v = PAGE_DEFAULT;
	*after = NULL;
	if (l && str_to_i64(l, 1, PAGE_MAX, &v) < 0) {
		problem_field(&rq->problem, "query.limit", "must be a whole number from 1 to %d", PAGE_MAX);
		return problem_set(&rq->problem, ST_BAD_INPUT, "invalid limit");
	}
	*limit = (int) v;
	if (c && *c) {
		char raw[256];
		long n = strlen(c) < 340 ? b64url_decode(c, strlen(c), raw, sizeof(raw) - 1) : -1;
		if (n <= 2 || raw[0] != 'k' || raw[1] != ':' || !cursor_key_valid(raw + 2, (size_t) n - 2)) {
			problem_field(&rq->problem, "query.cursor", "is not a cursor this server issued");
			return problem_set(&rq->problem, ST_BAD_INPUT, "invalid cursor");
		}
		*after = arena_strndup(rq->arena, raw + 2, (size_t) n - 2);
	}
	return ST_OK;
}

json_t *http_page_result(struct req *rq, json_t *items, int limit, const char *last_key)
{
	json_t *j = json_object();
	size_t n = json_array_size(items);
	json_object_set_new(j, "items", items);
	if (last_key && (int) n >= limit && strlen(last_key) < 180) {
		char *raw = arena_printf(rq->arena, "k:%s", last_key);
		char *enc = arena_alloc(rq->arena, strlen(raw) * 4 / 3 + 8);
		b64url_encode(raw, strlen(raw), enc);
		json_object_set_new(j, "next_cursor", json_string(enc));
	} else {
		json_object_set_new(j, "next_cursor", json_null());
	}
	return j;
}

enum status api_reply(struct res *rs, enum status st, json_t *out)
{
	if (out)
		res_json(rs, out);
	return st;
}

enum status api_list_reply(struct req *rq, struct res *rs, enum status st, json_t *items, int limit,
                           const char *last_key)
{
	if (st != ST_OK) {
		json_decref(items);
		return st;
	}
	res_json(rs, http_page_result(rq, items, limit, last_key));
	return ST_OK;
}

enum status api_version_param(struct req *rq, const char *name, int64_t *out)
{
	if (str_to_i64(req_param(rq, name), 1, INT32_MAX, out) < 0) {
		problem_field(&rq->problem, arena_printf(rq->arena, "path.%s", name),
		              "must be a version number (1, 2, ...)");
		return problem_set(&rq->problem, ST_BAD_INPUT, "the path parameter %s is not a version number", name);
	}
	return ST_OK;
}
