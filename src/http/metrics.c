/* Prometheus text for the gateway's own figures. */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int codes[METRICS_CODES] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
                                         409, 410, 413, 415, 422, 429, 500, 502, 503, 504};
static const double bucket_s[METRICS_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                 0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

static int code_slot(int code)
{
	for (int i = 0; i < METRICS_CODES; i++)
		if (codes[i] == code)
			return i;
	return code >= 500 ? 16 : 5; /* an unlisted code counts as 500 or 400 */
}

void metrics_init(struct http_metrics *m, size_t nroutes)
{
	m->nroutes = nroutes;
	m->routes = xcalloc(nroutes + 1, sizeof(struct route_metrics));
}

void metrics_free(struct http_metrics *m)
{
	free(m->routes);
	m->routes = NULL;
}

void metrics_observe(struct http_metrics *m, int route_idx, int code, int64_t dur_us)
{
	size_t i = route_idx < 0 || (size_t) route_idx >= m->nroutes ? m->nroutes : (size_t) route_idx;
	struct route_metrics *r = &m->routes[i];
	atomic_fetch_add_explicit(&r->by_code[code_slot(code)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->sum_us, (uint64_t) (dur_us > 0 ? dur_us : 0), memory_order_relaxed);
	double s = (double) dur_us / 1e6;
	for (int b = 0; b < METRICS_BUCKETS; b++)
		if (s <= bucket_s[b]) {
			atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
			break;
		}
}

static void route_label(struct http_metrics *m, size_t i, const char **route, const char **method)
{
	if (i == m->nroutes) {
		*route = "unmatched";
		*method = "any";
	} else {
		*route = http_routes()[i].pattern;
		*method = http_routes()[i].method;
	}
}

void metrics_render(struct http_metrics *m, struct buf *b)
{
	buf_puts(b, "# HELP troupe_http_requests_total HTTP requests by route pattern, method and status.\n"
	            "# TYPE troupe_http_requests_total counter\n");
	for (size_t i = 0; i <= m->nroutes; i++) {
		const char *route, *method;
		route_label(m, i, &route, &method);
		for (int c = 0; c < METRICS_CODES; c++) {
			uint64_t v = atomic_load(&m->routes[i].by_code[c]);
			if (v)
				buf_printf(
				    b, "troupe_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
				    route, method, codes[c], (unsigned long long) v);
		}
	}
	buf_puts(b, "# HELP troupe_http_request_duration_seconds Time from first byte to response, per route.\n"
	            "# TYPE troupe_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= m->nroutes; i++) {
		struct route_metrics *r = &m->routes[i];
		uint64_t count = atomic_load(&r->count);
		if (!count)
			continue;
		const char *route, *method;
		route_label(m, i, &route, &method);
		uint64_t cum = 0;
		for (int k = 0; k < METRICS_BUCKETS; k++) {
			cum += atomic_load(&r->buckets[k]);
			buf_printf(b,
			           "troupe_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%g\"} "
			           "%llu\n",
			           route, method, bucket_s[k], (unsigned long long) cum);
		}
		buf_printf(b,
		           "troupe_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} %llu\n"
		           "troupe_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n"
		           "troupe_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n",
		           route, method, (unsigned long long) count, route, method,
		           (double) atomic_load(&r->sum_us) / 1e6, route, method, (unsigned long long) count);
	}
}
