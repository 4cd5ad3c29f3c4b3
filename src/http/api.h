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

/* models */
extern const struct schema api_model_create_schema, api_model_update_schema;
enum status api_models_list(struct req *rq, struct res *rs);
enum status api_models_create(struct req *rq, struct res *rs);
enum status api_models_get(struct req *rq, struct res *rs);
enum status api_models_update(struct req *rq, struct res *rs);
enum status api_models_delete(struct req *rq, struct res *rs);
enum status api_models_providers(struct req *rq, struct res *rs);

#endif
