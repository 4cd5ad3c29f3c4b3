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

#endif
