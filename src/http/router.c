/* Router: the route table matched segment by segment. Patterns are exact
 * (case-sensitive, no trailing slash), so a case variant of a path can
 * never reach a handler by another way than its declared one. */
#include "http.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A pattern or a path cut at its slashes, once: matching is then a count
 * and a few memcmp. */
#define ROUTE_MAX_SEGS 16
struct seg {
	const char *s;
	uint16_t len;
	bool param; /* patterns: "{name}" */
};
struct shape {
	int n;
	struct seg seg[ROUTE_MAX_SEGS];
};

/* Cuts s ("/a/{b}/c") into segments; false when it does not start with a
 * slash, has more than ROUTE_MAX_SEGS segments or one longer than 64 KiB. */
static bool shape_of(const char *s, bool pattern, struct shape *sh)
{
	sh->n = 0;
	if (!s || s[0] != '/')
		return false;
	while (*s == '/') {
		const char *b = s + 1, *e = strchr(b, '/');
		size_t len = e ? (size_t) (e - b) : strlen(b);
		if (sh->n >= ROUTE_MAX_SEGS || len > UINT16_MAX)
			return false;
		struct seg *g = &sh->seg[sh->n++];
		*g = (struct seg){.s = b, .len = (uint16_t) len};
		g->param = pattern && len >= 2 && b[0] == '{' && b[len - 1] == '}';
		s = b + len;
	}
	return true;
}

/* The flattened table and its shapes: written once under table_once,
 * read-only after. */
static struct route table[HTTP_ROUTES_MAX + 1];
static struct shape shapes[HTTP_ROUTES_MAX];
static size_t table_n;
/* The routes whose pattern has n segments, in table order: a path is only
 * ever compared with the patterns of its own length. */
static uint16_t by_len[ROUTE_MAX_SEGS + 1][HTTP_ROUTES_MAX];
static uint16_t by_len_n[ROUTE_MAX_SEGS + 1];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_add(const struct route_group *g, const struct route *r)
{
	struct shape *sh = &shapes[table_n];
	int params = 0;
	bool ok = table_n < HTTP_ROUTES_MAX && shape_of(r->pattern, true, sh);
	for (int i = 0; ok && i < sh->n; i++)
		params += sh->seg[i].param;
	if (!ok || params > ROUTE_MAX_PARAMS) {
		log_kv(LOG_ERROR, "route table: too many routes, or a pattern with too many segments or parameters",
		       "group", g->tag, "pattern", r->pattern, NULL);
		abort();
	}
	table[table_n] = *r;
	if (!table[table_n].tag)
		table[table_n].tag = g->tag;
	by_len[sh->n][by_len_n[sh->n]++] = (uint16_t) table_n;
	table_n++;
}

static void table_build(void)
{
	for (const struct route_group *g = http_route_groups; g->routes; g++)
		for (const struct route *r = g->routes; r->method; r++)
			table_add(g, r);
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
static bool fits(const struct shape *pat, const struct shape *path, uint64_t *score)
{
	if (pat->n != path->n)
		return false;
	uint64_t sc = 0;
	for (int i = 0; i < pat->n; i++) {
		const struct seg *p = &pat->seg[i], *s = &path->seg[i];
		if (p->param) {
			if (s->len == 0)
				return false;
			continue;
		}
		if (p->len != s->len || memcmp(p->s, s->s, p->len) != 0)
			return false;
		sc |= UINT64_C(1) << (63 - i);
	}
	*score = sc;
	return true;
}

static void capture(const struct shape *pat, const struct shape *path, struct arena *a, struct route_match *m)
{
	int np = 0;
	for (int i = 0; i < pat->n && np < ROUTE_MAX_PARAMS; i++) {
		if (!pat->seg[i].param)
			continue;
		m->names[np] = arena_strndup(a, pat->seg[i].s + 1, pat->seg[i].len - 2u);
		m->values[np] = arena_strndup(a, path->seg[i].s, path->seg[i].len);
		np++;
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

/* The candidates: the route table's patterns of the path's length
 * (precomputed), or every row of another table (tests). */
struct candidates {
	const struct route *routes;
	const struct shape *shapes; /* NULL: cut each pattern when needed */
	const uint16_t *idx;        /* NULL: every row */
	size_t n;
};

static const struct shape *cand_shape(const struct candidates *c, size_t k, const struct route **r, struct shape *tmp)
{
	size_t i = c->idx ? c->idx[k] : k;
	*r = &c->routes[i];
	if (c->shapes)
		return &c->shapes[i];
	if (!shape_of((*r)->pattern, true, tmp))
		tmp->n = -1;
	return tmp;
}

/* First the routes of the method, the most specific fitting pattern
 * winning; only when none fits, every method's patterns for 405's Allow. */
static int match(const struct candidates *c, const struct shape *ps, const char *method, struct arena *a,
                 struct route_match *m)
{
	const struct route *best = NULL, *r;
	struct shape tmp, best_shape;
	uint64_t best_score = 0, score;
	for (size_t k = 0; k < c->n; k++) {
		const struct shape *sh = cand_shape(c, k, &r, &tmp);
		if (!str_eq(r->method, method) || !fits(sh, ps, &score) || (best && score <= best_score))
			continue;
		best = r;
		best_score = score;
		best_shape = *sh;
	}
	if (best) {
		m->route = best;
		m->path_matched = true;
		capture(&best_shape, ps, a, m);
		return 0;
	}
	size_t alen = 0;
	for (size_t k = 0; k < c->n; k++) {
		const struct shape *sh = cand_shape(c, k, &r, &tmp);
		if (fits(sh, ps, &score)) {
			m->path_matched = true;
			allow_add(m, &alen, r->method);
		}
	}
	return -1;
}

int router_match(const char *method, const char *path, struct arena *a, struct route_match *m)
{
	pthread_once(&table_once, table_build);
	memset(m, 0, sizeof(*m));
	struct shape ps;
	if (!shape_of(path, false, &ps))
		return -1;
	struct candidates c = {.routes = table, .shapes = shapes, .idx = by_len[ps.n], .n = by_len_n[ps.n]};
	return match(&c, &ps, method, a, m);
}

int router_match_in(const struct route *routes, const char *method, const char *path, struct arena *a,
                    struct route_match *m)
{
	memset(m, 0, sizeof(*m));
	struct shape ps;
	if (!shape_of(path, false, &ps))
		return -1;
	size_t n = 0;
	while (routes[n].method)
		n++;
	struct candidates c = {.routes = routes, .n = n};
	return match(&c, &ps, method, a, m);
}
