/* Handlers of the route table, one group per api_<group>.c file. Each is
 * thin: it reads the request, calls the owning module, writes the answer. */
#ifndef TROUPE_HTTP_API_H
#define TROUPE_HTTP_API_H

#include "http.h"

enum status api_healthz(struct req *rq, struct res *rs);
enum status api_readyz(struct req *rq, struct res *rs);
enum status api_metrics(struct req *rq, struct res *rs);
enum status api_openapi(struct req *rq, struct res *rs);
enum status api_version(struct req *rq, struct res *rs);

#endif
