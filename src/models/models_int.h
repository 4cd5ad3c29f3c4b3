/* models' private header. */
#ifndef TROUPE_MODELS_INT_H
#define TROUPE_MODELS_INT_H

#include "models.h"

struct model_known {
	const char *prefix;
	int64_t context_window;
	bool tools, json_mode, structured_output, streaming, vision;
	double input_per_mtok, output_per_mtok;
};
const struct model_known *models_known(const char *model);
const char *const *models_provider_names(void);
const char *models_default_base_url(const char *provider);
/* request.c: the configuration's base_url, normalised in place where that is
 * unambiguous (llm_base_url_normalise), else a field error naming the fix. */
void models_base_url_check(json_t *cfg, struct problem *p);

#endif
