/*
 * Retry arithmetic: which answers deserve another attempt, how long to wait
 * (full jitter, after AWS's "Exponential Backoff and Jitter"), and what a
 * Retry-After header asks for.
 */
#include "llm/llm_int.h"

#include <ctype.h>
#include <stdlib.h>

int64_t llm_retry_after_ms(const char *value, int64_t now_s)
{
	const char *p = value;
	int64_t secs = 0;

	if (!p)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char) *p)) {
		/* delta-seconds; a fraction (some proxies send one) rounds up */
		while (isdigit((unsigned char) *p)) {
			if (secs > 86400)
				return -1;
			secs = secs * 10 + (*p++ - '0');
		}
		int64_t ms = secs * 1000;
		if (*p == '.') {
			p++;
			int64_t frac = 0, scale = 1000;
			while (isdigit((unsigned char) *p)) {
				if (scale > 1) {
					scale /= 10;
					frac += (*p - '0') * scale;
				}
				p++;
			}
			ms += frac;
		}
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		return *p ? -1 : ms;
	}
	/* an HTTP date: curl parses all three historic formats */
	time_t t = curl_getdate(p, NULL);
	if (t == (time_t) -1)
		return -1;
	return t <= now_s ? 0 : ((int64_t) t - now_s) * 1000;
}

int64_t llm_backoff_ms(int retry, int base_ms, int cap_ms)
{
	int64_t window = base_ms > 0 ? base_ms : 1;

	for (int i = 0; i < retry && window < cap_ms; i++)
		window *= 2;
	if (window > cap_ms)
		window = cap_ms;
	return (int64_t) rand_uniform((uint32_t) window + 1);
}

enum llm_error llm_error_of_status(long status)
{
	if (status >= 200 && status < 300)
		return LLM_ERR_NONE;
	if (status == 401 || status == 403)
		return LLM_ERR_AUTH;
	if (status == 404)
		return LLM_ERR_NOT_FOUND;
	if (status == 408)
		return LLM_ERR_TIMEOUT;
	if (status == 429)
		return LLM_ERR_RATE_LIMITED;
	if (status == 409 || status >= 500)
		return LLM_ERR_SERVER;
	return LLM_ERR_BAD_REQUEST;
}

bool llm_status_retryable(long status)
{
	/* 409: Azure and others answer it for a conflict that clears on its own */
	return status == 408 || status == 409 || status == 429 || status >= 500;
}
