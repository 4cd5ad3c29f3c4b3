/* Router: the route table matched segment by segment. Patterns are exact
 * (case-sensitive, no trailing slash), so a case variant of a path can
 * never reach a handler by another way than its declared one. */
#include "http.h"

#include <string.h>

static const char *const role_names[] = {
    [ROLE_UNSET] = "unset",   [ROLE_PUBLIC] = "public", [ROLE_USER] = "user",   [ROLE_VIEWER] = "viewer",
    [ROLE_EDITOR] = "editor", [ROLE_ADMIN] = "admin",   [ROLE_OWNER] = "owner", [ROLE_INSTANCE] = "instance_admin",
};

const char *role_name(enum role r)
{
	if ((unsigned) r >= ARRAY_LEN(role_names))
		return "unknown";
	return role_names[r];
}

enum role role_parse(const char *s)
{
	for (enum role r = ROLE_VIEWER; r <= ROLE_OWNER; r++)
		if (str_eq(s, role_names[r]))
			return r;
	return ROLE_UNSET;
}

size_t http_route_count(void)
{
	size_t n = 0;
	while (http_routes[n].method)
		n++;
	return n;
}

/* Matches one pattern against a path; fills names/values on success. */
static bool match_pattern(const char *pat, const char *path, struct arena *a, struct route_match *m)
{
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
			if (sl == 0 || np >= ROUTE_MAX_PARAMS)
				return false;
			m->names[np] = arena_strndup(a, pat + 1, pl - 2);
			m->values[np] = arena_strndup(a, path, sl);
			np++;
		} else if (pl != sl || memcmp(pat, path, pl) != 0) {
			return false;
		}
		pat += pl;
		path += sl;
	}
	if (*pat || *path)
		return false;
	m->nparams = np;
	return true;
}

int router_match(const char *method, const char *path, struct arena *a, struct route_match *m)
{
	memset(m, 0, sizeof(*m));
	if (!path || path[0] != '/')
		return -1;
	size_t alen = 0;
	for (const struct route *r = http_routes; r->method; r++) {
		struct route_match tmp = {0};
		if (!match_pattern(r->pattern, path, a, &tmp))
			continue;
		if (str_eq(r->method, method)) {
			m->route = r;
			m->nparams = tmp.nparams;
			memcpy(m->names, tmp.names, sizeof(tmp.names));
			memcpy(m->values, tmp.values, sizeof(tmp.values));
			m->path_matched = true;
			return 0;
		}
		m->path_matched = true;
		size_t ml = strlen(r->method);
		if (strstr(m->allow, r->method) == NULL && alen + ml + 3 < sizeof(m->allow)) {
			if (alen) {
				memcpy(m->allow + alen, ", ", 2);
				alen += 2;
			}
			memcpy(m->allow + alen, r->method, ml);
			alen += ml;
			m->allow[alen] = '\0';
		}
	}
	return -1;
}
