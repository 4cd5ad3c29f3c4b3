/*
 * A text/event-stream parser after the WHATWG rules: lines end in CRLF, LF
 * or CR (a CRLF may be split across two reads), ":" starts a comment, data
 * lines join with LF, and a blank line dispatches the event.
 */
#include "llm/llm_int.h"

#include <string.h>

#define SSE_LINE_MAX (16u << 20)

void llm_sse_init(struct llm_sse *s, llm_sse_fn fn, void *ud)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->line, SSE_LINE_MAX);
	buf_init(&s->data, SSE_LINE_MAX);
	s->fn = fn;
	s->ud = ud;
}

void llm_sse_reset(struct llm_sse *s)
{
	s->line.len = 0;
	s->data.len = 0;
	s->event[0] = '\0';
	s->has_data = false;
	s->after_cr = false;
}

void llm_sse_free(struct llm_sse *s)
{
	buf_free(&s->line);
	buf_free(&s->data);
}

static int sse_dispatch(struct llm_sse *s)
{
	int rc = 0;

	if (s->has_data) {
		if (buf_append(&s->data, "", 1) < 0) /* NUL for the callback's convenience */
			return -1;
		rc = s->fn(s->ud, s->event[0] ? s->event : "message", s->data.data, s->data.len - 1);
	}
	s->data.len = 0;
	s->has_data = false;
	s->event[0] = '\0';
	return rc;
}

static int sse_line(struct llm_sse *s, const char *p, size_t n)
{
	const char *colon;
	size_t flen, vlen;
	const char *v;

	if (n == 0)
		return sse_dispatch(s);
	if (p[0] == ':')
		return 0;
	colon = memchr(p, ':', n);
	flen = colon ? (size_t) (colon - p) : n;
	v = colon ? colon + 1 : p + n;
	vlen = colon ? n - flen - 1 : 0;
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (flen == 4 && memcmp(p, "data", 4) == 0) {
		if (s->has_data && buf_append(&s->data, "\n", 1) < 0)
			return -1;
		if (buf_append(&s->data, v, vlen) < 0)
			return -1;
		s->has_data = true;
	} else if (flen == 5 && memcmp(p, "event", 5) == 0) {
		if (vlen >= sizeof(s->event))
			vlen = sizeof(s->event) - 1;
		memcpy(s->event, v, vlen);
		s->event[vlen] = '\0';
	}
	/* id and retry mean nothing to a one-shot POST stream */
	return 0;
}

int llm_sse_feed(struct llm_sse *s, const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end) {
		if (s->after_cr) {
			s->after_cr = false;
			if (*p == '\n') {
				p++;
				continue;
			}
		}
		const char *q = p;
		while (q < end && *q != '\n' && *q != '\r')
			q++;
		if (q == end) {
			/* no line end yet: keep the piece for the next read */
			return buf_append(&s->line, p, (size_t) (q - p));
		}
		int rc;
		if (s->line.len) {
			if (buf_append(&s->line, p, (size_t) (q - p)) < 0)
				return -1;
			rc = sse_line(s, s->line.data, s->line.len);
			s->line.len = 0;
		} else {
			rc = sse_line(s, p, (size_t) (q - p));
		}
		if (rc < 0)
			return -1;
		s->after_cr = *q == '\r';
		p = q + 1;
	}
	return 0;
}
