/* Logging: one JSON object per line on stderr, written with one write(2)
 * so lines from many threads never interleave. */
#include "core.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Set once at start, before threads; read-only afterwards. */
static enum log_level min_level = LOG_INFO;
static bool json_lines = true;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
	min_level = lvl;
}

void log_set_json(bool json)
{
	json_lines = json;
}

void log_raw(const char *line, size_t len)
{
	struct buf b;
	buf_init(&b, 0);
	buf_append(&b, line, len);
	buf_append(&b, "\n", 1);
	ssize_t rc = write(STDERR_FILENO, b.data, b.len);
	(void) rc;
	buf_free(&b);
}

static void json_escape(struct buf *b, const char *s)
{
	buf_append(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;
		switch (c) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		default:
			if (c < 0x20)
				buf_printf(b, "\\u%04x", c);
			else
				buf_append(b, s, 1);
		}
	}
	buf_append(b, "\"", 1);
}

static void log_emit(enum log_level lvl, const char *msg, va_list *kv)
{
	struct buf b;
	char ts[40];
	buf_init(&b, 0);
	time_iso8601(time_now_ms(), ts, sizeof(ts));
	if (json_lines) {
		buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[lvl]);
		json_escape(&b, msg);
		if (kv) {
			const char *k;
			while ((k = va_arg(*kv, const char *))) {
				const char *v = va_arg(*kv, const char *);
				buf_append(&b, ",", 1);
				json_escape(&b, k);
				buf_append(&b, ":", 1);
				json_escape(&b, v ? v : "");
			}
		}
		buf_append(&b, "}", 1);
	} else {
		buf_printf(&b, "%s %-5s %s", ts, level_names[lvl], msg);
		if (kv) {
			const char *k;
			while ((k = va_arg(*kv, const char *))) {
				const char *v = va_arg(*kv, const char *);
				buf_printf(&b, " %s=%s", k, v ? v : "");
			}
		}
	}
	log_raw(b.data, b.len);
	buf_free(&b);
}

void log_kv(enum log_level lvl, const char *msg, ...)
{
	if (lvl < min_level)
		return;
	va_list ap;
	va_start(ap, msg);
	log_emit(lvl, msg, &ap);
	va_end(ap);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	if (lvl < min_level)
		return;
	char small[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	log_emit(lvl, small, NULL);
}
