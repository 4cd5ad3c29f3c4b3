/* Router: the route table matched segment by segment. Patterns are exact
 * (case-sensitive, no trailing slash), so a case variant of a path can
 * never reach a handler by another way than its declared one. */
#include "http.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The flattened table: written once under table_once, read-only after. */
static struct route table[HTTP_ROUTES_MAX + 1];
static size_t table_n;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_build(void)
{
	for (const struct route_group *g = http_route_groups; g->routes; g++) {
		for (const struct route *r = g->routes; r->method; r++) {
			if (table_n >= HTTP_ROUTES_MAX) {
				log_kv(LOG_ERROR, "too many routes: raise HTTP_ROUTES_MAX", "group", g->tag, NULL);
				abort();
			}
			table[table_n] = *r;
			if (!table[table_n].tag)
				table[table_n].tag = g->tag;
			table_n++;
		}
	}
}

const struct route *http_routes(void)
{
	pthread_once(&table_once, table_build);
	return table;
}

size_t http_route_count(void)
{
	pthread_once(&table_once, table_build);
	return table_n;
}

/* Does pat fit path? *score gets one bit per literal segment, the first
 * segment's the highest, so comparing scores compares the patterns at the
 * first segment where they differ: a literal beats a {param}. */
static bool pattern_fits(const char *pat, const char *path, uint64_t *score)
{
	uint64_t sc = 0, bit = UINT64_C(1) << 63;
	int np = 0;
	while (*pat && *path) {
		if (*pat != '/' || *path != '/')
			return false;
		pat++;
		path++;
		const char *pe = strchr(pat, '/'), *se = strchr(path, '/');
		size_t pl = pe ? (size_t) (pe - pat) : strlen(pat);
		size_t sl = se ? (size_t) (se - path) : strlen(path);
		if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
			if (sl == 0 || ++np > ROUTE_MAX_PARAMS)
				return false;
		} else if (pl != sl || memcmp(pat, path, pl) != 0) {
			return false;
		} else {
			sc |= bit;
		}
		bit >>= 1;
		pat += pl;
		path += sl;
	}
	if (*pat || *path)
		return false;
	*score = sc;
	return true;
}

/* Fills the parameters of a pattern known to fit path. */
static void capture(const char *pat, const char *path, struct arena *a, struct route_match *m)
{
	int np = 0;
	while (*pat && *path) {
		pat++;
		path++;
		const char *pe = strchr(pat, '/'), *se = strchr(path, '/');
		size_t pl = pe ? (size_t) (pe - pat) : strlen(pat);
		size_t sl = se ? (size_t) (se - path) : strlen(path);
		if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}' && np < ROUTE_MAX_PARAMS) {
			m->names[np] = arena_strndup(a, pat + 1, pl - 2);
			m->values[np] = arena_strndup(a, path, sl);
			np++;
		}
		pat += pl;
		path += sl;
	}
	m->nparams = np;
}

static void allow_add(struct route_match *m, size_t *alen, const char *method)
{
	size_t ml = strlen(method);
	if (strstr(m->allow, method) != NULL || *alen + ml + 3 >= sizeof(m->allow))
		return;
	if (*alen) {
		memcpy(m->allow + *alen, ", ", 2);
		*alen += 2;
	}
	memcpy(m->allow + *alen, method, ml);
	*alen += ml;
	m->allow[*alen] = '\0';
}

int router_match(const char *method, const char *path, struct arena *a, struct route_match *m)
{
	return router_match_in(http_routes(), method, path, a, m);
}

int router_match_in(const struct route *routes, const char *method, const char *path, struct arena *a,
                    struct route_match *m)
{
	memset(m, 0, sizeof(*m));
	if (!path || path[0] != '/')
		return -1;
	size_t alen = 0;
	const struct route *best = NULL;
	uint64_t best_score = 0;
	for (const struct route *r = routes; r->method; r++) {
		uint64_t score;
		if (!pattern_fits(r->pattern, path, &score))
			continue;
		m->path_matched = true;
		if (!str_eq(r->method, method)) {
			allow_add(m, &alen, r->method);
			continue;
		}
		if (!best || score > best_score) {
			best = r;
			best_score = score;
		}
	}
	if (!best)
		return -1;
	m->route = best;
	m->allow[0] = '\0';
	capture(best->pattern, path, a, m);
	return 0;
}
