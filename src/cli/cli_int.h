/* cli's private parts, shared by its files only. */
#ifndef TROUPE_CLI_INT_H
#define TROUPE_CLI_INT_H

#include <jansson.h>

/* One request to TROUPE_URL with TROUPE_API_KEY (and TROUPE_WORKSPACE as
 * X-Workspace-Id when set); *out the parsed answer (NULL when not JSON),
 * *code the HTTP status (0: no answer). Returns 0, or -1 with a line on
 * stderr. The caller has run curl_global_init. */
int cli_request(const char *method, const char *path, const char *body, long *code, json_t **out);
/* A refusal on stderr: the status, the problem's detail and every field error. Returns 1. */
int cli_refused(long code, json_t *problem);

#endif
