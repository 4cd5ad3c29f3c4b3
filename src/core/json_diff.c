/* json_diff: see json_diff.h. */
#include "json_diff.h"
#include "core.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct diff {
	json_t *added, *removed, *changed;
};

static bool is_ident(const char *k)
{
	if (!*k || !(isalpha((unsigned char) *k) || *k == '_'))
		return false;
	for (const char *c = k; *c; c++)
		if (!isalnum((unsigned char) *c) && *c != '_' && *c != '-')
			return false;
	return true;
}

/* prefix + key as a path, malloc'd. */
static char *join(const char *prefix, const char *key)
{
	if (is_ident(key))
		return *prefix ? xasprintf("%s.%s", prefix, key) : xstrdup(key);
	json_t *s = json_string(key);
	char *q = json_dumps(s, JSON_ENCODE_ANY);
	json_decref(s);
	char *r = xasprintf("%s[%s]", prefix, q ? q : "\"\"");
	free(q);
	return r;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *) x, *(const char *const *) y);
}

/* The union of both objects' keys, sorted; *n set. The strings are borrowed. */
static const char **keys_union(json_t *a, json_t *b, size_t *n)
{
	size_t cap = json_object_size(a) + json_object_size(b), k = 0;
	const char **keys = xcalloc(cap ? cap : 1, sizeof(*keys));
	const char *key;
	json_t *v;
	json_object_foreach(a, key, v) keys[k++] = key;
	json_object_foreach(b, key, v) if (!json_object_get(a, key)) keys[k++] = key;
	qsort(keys, k, sizeof(*keys), cmp_str);
	*n = k;
	return keys;
}

static void add(json_t *list, const char *path, const char *k1, json_t *v1, const char *k2, json_t *v2)
{
	json_t *e = json_pack("{s:s}", "path", path);
	json_object_set(e, k1, v1);
	if (k2)
		json_object_set(e, k2, v2);
	json_array_append_new(list, e);
}

/* json_equal, except that numbers compare by value (1 equals 1.0). */
static bool same(json_t *a, json_t *b, int depth)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (depth >= JSON_DIFF_DEPTH)
		return json_equal(a, b);
	if (json_is_array(a) && json_is_array(b)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!same(json_array_get(a, i), json_array_get(b, i), depth + 1))
				return false;
		return true;
	}
	if (json_is_object(a) && json_is_object(b)) {
		if (json_object_size(a) != json_object_size(b))
			return false;
		const char *k;
		json_t *v;
		json_object_foreach(a, k, v)
		{
			json_t *w = json_object_get(b, k);
			if (!w || !same(v, w, depth + 1))
				return false;
		}
		return true;
	}
	return json_equal(a, b);
}

static void walk(struct diff *d, const char *path, json_t *a, json_t *b, int depth)
{
	if (json_is_object(a) && json_is_object(b) && depth < JSON_DIFF_DEPTH) {
		size_t n;
		const char **keys = keys_union(a, b, &n);
		for (size_t i = 0; i < n; i++) {
			char *p = join(path, keys[i]);
			json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);
			if (!x)
				add(d->added, p, "value", y, NULL, NULL);
			else if (!y)
				add(d->removed, p, "value", x, NULL, NULL);
			else
				walk(d, p, x, y, depth + 1);
			free(p);
		}
		free(keys);
		return;
	}
	if (!same(a, b, depth))
		add(d->changed, path, "from", a, "to", b);
}

json_t *json_diff(json_t *a, json_t *b)
{
	struct diff d = {json_array(), json_array(), json_array()};
	json_t *ea = a ? a : json_object(), *eb = b ? b : json_object();
	walk(&d, "", ea, eb, 0);
	if (!a)
		json_decref(ea);
	if (!b)
		json_decref(eb);
	return json_pack("{s:o, s:o, s:o}", "added", d.added, "removed", d.removed, "changed", d.changed);
}

int json_diff_empty(json_t *diff)
{
	return !json_array_size(json_object_get(diff, "added")) && !json_array_size(json_object_get(diff, "removed")) &&
	       !json_array_size(json_object_get(diff, "changed"));
}
