/*
 * core: what every module stands on. Status codes, arenas, growable
 * buffers, problems (errors with detail and hint), logging, time, ids.
 * Nothing here knows HTTP, SQL or any other module.
 */
#ifndef TROUPE_CORE_H
#define TROUPE_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TROUPE_VERSION "0.1.0"

#define ARRAY_LEN(a)      (sizeof(a) / sizeof((a)[0]))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define UNUSED            __attribute__((unused))

/* ---- status: one enum for every module; http/problem.c maps it to HTTP ---- */
enum status {
	ST_OK = 0,
	ST_CREATED,
	ST_ACCEPTED,
	ST_NO_CONTENT,
	ST_BAD_INPUT,
	ST_UNAUTHENTICATED,
	ST_FORBIDDEN,
	ST_NOT_FOUND,
	ST_METHOD_NOT_ALLOWED,
	ST_CONFLICT,
	ST_GONE,
	ST_TOO_LARGE,
	ST_UNSUPPORTED_MEDIA,
	ST_UNPROCESSABLE,
	ST_RATE_LIMITED,
	ST_INTERNAL,
	ST_BAD_GATEWAY,
	ST_UNAVAILABLE,
	ST_TIMEOUT,
	ST__COUNT
};

const char *status_name(enum status st);
static inline bool status_ok(enum status st)
{
	return st <= ST_NO_CONTENT;
}

/* ---- memory: allocation failure aborts with one log line (state is in the DB) ---- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* ---- arena: one per request and per job, freed in one place ---- */
struct arena;
struct arena *arena_new(void);
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_memdup(struct arena *a, const void *p, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) PRINTF_LIKE(2, 3);
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);
/* Runs fn(p) when the arena is freed, last deferred first. */
void arena_defer(struct arena *a, void (*fn)(void *), void *p);
/* Bytes handed out so far: for tests and limits. */
size_t arena_used(const struct arena *a);
void arena_free(struct arena **a);

/* ---- buf: a growable byte buffer with a hard cap ---- */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0: no limit */
};
void buf_init(struct buf *b, size_t max);
/* Return -1 (and leave the buffer as it was) when max would be exceeded. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* NUL-terminates and hands the memory to the caller (free it). */
char *buf_steal(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* ---- problem: PostgreSQL's primary message + detail + hint, and field errors ---- */
#define PROBLEM_MAX_FIELDS 32
struct problem_field {
	char *field;
	char *message;
};
struct problem {
	enum status st;
	const char *type; /* e.g. "/problems/validation"; static string */
	char *detail;
	char *hint;
	int nfields;
	int nfields_dropped;
	struct problem_field fields[PROBLEM_MAX_FIELDS];
	struct arena *arena; /* where the strings live; owned by the caller */
};
void problem_init(struct problem *p, struct arena *a);
/* Sets status and detail (first call wins for detail); returns st. */
enum status problem_set(struct problem *p, enum status st, const char *fmt, ...) PRINTF_LIKE(3, 4);
void problem_hint(struct problem *p, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Adds a field error and sets st to ST_BAD_INPUT unless already set. */
enum status problem_field(struct problem *p, const char *field, const char *fmt, ...) PRINTF_LIKE(3, 4);
void problem_clear(struct problem *p);

/* ---- log: one JSON line per event on stderr ---- */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
void log_set_level(enum log_level lvl);
void log_set_json(bool json);
/* kv: pairs of const char* key, const char* value, terminated by NULL key. */
void log_kv(enum log_level lvl, const char *msg, ...);
void log_msg(enum log_level lvl, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Writes a preformatted line (the access log uses it); adds the newline. */
void log_raw(const char *line, size_t len);
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* ---- time ---- */
int64_t time_now_ms(void);  /* wall clock, ms since the epoch */
int64_t time_mono_us(void); /* monotonic, microseconds */
/* "2026-11-25T06:07:34.123Z" into out (at least 32 bytes). */
void time_iso8601(int64_t ms, char *out, size_t outlen);
/* Parses RFC 3339 UTC or with offset; -1 on error. */
int time_parse_iso8601(const char *s, int64_t *ms);

/* ---- randomness and ids (libsodium's CSPRNG) ---- */
int core_init(void); /* sodium_init; call once at start */
void rand_bytes(void *buf, size_t n);
uint32_t rand_uniform(uint32_t upper);
/* UUIDv7 text (time-ordered, 36 chars + NUL) into out[37]. */
void id_new(char out[37]);
/* An id as stored: a UUID in its 8-4-4-4-12 text form, lowercase hex. */
bool id_valid(const char *s);
/* A UUID given in any case (RFC 9562 section 4: case-insensitive on input)
 * as stored: s itself when already lowercase, else a lowercase copy in a;
 * NULL when s is not a UUID. */
const char *id_lower(struct arena *a, const char *s);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const void *p, size_t n, char *out);
/* base64url without padding; out needs ((n+2)/3)*4+1 bytes. */
void b64url_encode(const void *p, size_t n, char *out);
/* Returns decoded length or -1. */
long b64url_decode(const char *s, size_t slen, void *out, size_t outmax);

/* ---- strings ---- */
bool str_eq(const char *a, const char *b);
bool str_startswith(const char *s, const char *prefix);
bool str_eq_nocase(const char *a, const char *b);
/* Constant-time compare of equal-length secrets. */
bool str_ct_eq(const void *a, const void *b, size_t n);
/* A cost in USD rounded to COST_DECIMALS decimal places (1e-9 USD, a
 * thousandth of a micro-dollar: a token of the cheapest priced model costs
 * more than that). Prices per million tokens multiplied and summed in
 * binary floating point carry noise (a token at 0.1 and one at 0.2 per
 * million, (0.1 + 0.2) / 1e6, is 3.0000000000000004e-7); each cost is
 * rounded where it is computed and where it is summed, so JSON shows
 * 3e-7. */
#define COST_DECIMALS 9
double cost_round(double usd);
/* Parses a whole decimal integer within [min,max]; -1 if not. */
int str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Valid UTF-8 without NUL bytes. */
bool str_utf8_valid(const char *s, size_t n);
size_t str_utf8_len(const char *s);

#endif
