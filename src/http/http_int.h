/* http's private header: metrics and shared helpers of the gateway. */
#ifndef TROUPE_HTTP_INT_H
#define TROUPE_HTTP_INT_H

#include "http.h"

#include <stdatomic.h>

#define METRICS_CODES   20
#define METRICS_BUCKETS 12

/* Per route (plus one for unmatched): counts per status code and a latency
 * histogram. Lock-free: every counter is an atomic. */
struct route_metrics {
	atomic_uint_fast64_t by_code[METRICS_CODES];
	atomic_uint_fast64_t buckets[METRICS_BUCKETS];
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_us;
};
struct http_metrics {
	size_t nroutes;
	struct route_metrics *routes; /* nroutes + 1; the last is unmatched */
};
void metrics_init(struct http_metrics *m, size_t nroutes);
void metrics_free(struct http_metrics *m);
void metrics_observe(struct http_metrics *m, int route_idx, int code, int64_t dur_us);
void metrics_render(struct http_metrics *m, struct buf *b);

/* GET /api/v1/executions/{id}/events/stream (sse.c): answers rq with the
 * execution's events as Server-Sent Events, resuming after Last-Event-ID
 * or ?after=. 404 for an execution not in the actor's workspace; 400
 * naming the field for a resume point that is not a seq of it. */
enum status sse_execution_stream(struct req *rq, struct res *rs, const char *id);

/* Whether a request's Accept-Encoding (RFC 9110 12.5.3) admits gzip: gzip or
 * x-gzip (8.4.1.3) listed with a q above 0, or, when neither is listed, "*"
 * with a q above 0. NULL (no header), a q of 0 and a malformed weight admit
 * none: the caller then sends the identity form. */
bool http_accepts_gzip(const char *accept_encoding);

#endif
