/* Time, randomness, ids, encodings and small string helpers. */
#include "core.h"

#include <sodium.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <time.h>

int core_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

int64_t time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void time_iso8601(int64_t ms, char *out, size_t outlen)
{
	time_t secs = (time_t) (ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}

static int parse_digits(const char **s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char) **s))
			return -1;
		v = v * 10 + (**s - '0');
		(*s)++;
	}
	*out = v;
	return 0;
}

int time_parse_iso8601(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0, fracdigits = 0;
	if (parse_digits(&s, 4, &y) || *s++ != '-' || parse_digits(&s, 2, &mo) || *s++ != '-' ||
	    parse_digits(&s, 2, &d))
		return -1;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (parse_digits(&s, 2, &h) || *s++ != ':' || parse_digits(&s, 2, &mi) || *s++ != ':' ||
	    parse_digits(&s, 2, &sec))
		return -1;
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char) *s)) {
			if (fracdigits < 3) {
				frac = frac * 10 + (*s - '0');
				fracdigits++;
			}
			s++;
		}
		if (fracdigits == 0)
			return -1;
		while (fracdigits < 3) {
			frac *= 10;
			fracdigits++;
		}
	}
	int offset_min = 0;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1, oh, om;
		s++;
		if (parse_digits(&s, 2, &oh) || *s++ != ':' || parse_digits(&s, 2, &om))
			return -1;
		offset_min = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
	time_t t = timegm(&tm);
	*ms = ((int64_t) t - offset_min * 60) * 1000 + frac;
	return 0;
}

void rand_bytes(void *buf, size_t n)
{
	randombytes_buf(buf, n);
}

uint32_t rand_uniform(uint32_t upper)
{
	return randombytes_uniform(upper);
}

double cost_round(double usd)
{
	return round(usd * 1e9) / 1e9; /* 1e9: 10^COST_DECIMALS */
}

void id_new(char out[37])
{
	unsigned char b[16];
	uint64_t ms = (uint64_t) time_now_ms();
	rand_bytes(b, sizeof(b));
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char) (ms >> (40 - 8 * i));
	b[6] = (unsigned char) ((b[6] & 0x0f) | 0x70); /* version 7 */
	b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	static const char hx[] = "0123456789abcdef";
	int o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hx[b[i] >> 4];
		out[o++] = hx[b[i] & 15];
	}
	out[o] = '\0';
}

bool id_valid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

const char *id_lower(struct arena *a, const char *s)
{
	if (id_valid(s))
		return s;
	if (!s || strlen(s) != 36)
		return NULL;
	char low[37];
	for (int i = 0; i < 36; i++)
		low[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char) (s[i] - 'A' + 'a') : s[i];
	low[36] = '\0';
	return id_valid(low) ? arena_strdup(a, low) : NULL;
}

void hex_encode(const void *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}

void b64url_encode(const void *p, size_t n, char *out)
{
	sodium_bin2base64(out, sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), p, n,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

long b64url_decode(const char *s, size_t slen, void *out, size_t outmax)
{
	size_t len = 0;
	if (sodium_base642bin(out, outmax, s, slen, NULL, &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	return (long) len;
}

bool str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

bool str_startswith(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_eq_nocase(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

bool str_ct_eq(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

int str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (!s || !*s || isspace((unsigned char) *s))
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

bool str_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s, *e = p + n;
	while (p < e) {
		unsigned c = *p;
		size_t len;
		unsigned min;
		if (c == 0)
			return false;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		if ((size_t) (e - p) < len)
			return false;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		p += len;
	}
	return true;
}

size_t str_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char) *s & 0xc0) != 0x80)
			n++;
	return n;
}
