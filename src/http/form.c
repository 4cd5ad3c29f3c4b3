/* multipart/form-data to a JSON object of text fields (form.h). */
#include "form.h"

#include <string.h>
#include <strings.h>

#define BOUNDARY_MAX 70 /* RFC 2046 section 5.1.1 */
#define NAME_MAX_LEN 100

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

bool form_content_type(const char *ct)
{
	size_t n = strlen("multipart/form-data");
	return ct && strncasecmp(ct, "multipart/form-data", n) == 0 && (ct[n] == '\0' || ct[n] == ';' || is_ows(ct[n]));
}

/* The value of parameter name in a header value's parameters ("; a=b;
 * c=\"d\""), copied into out (at most cap-1 bytes). Quoted strings may
 * hold \-escapes (RFC 9110 5.6.4). Returns the length, or -1. */
static int param(const char *h, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *s = strchr(h, ';'); s; s = strchr(s, ';')) {
		s++;
		while (is_ows(*s))
			s++;
		if (strncasecmp(s, name, nl) != 0 || s[nl] != '=')
			continue;
		s += nl + 1;
		size_t n = 0;
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1])
					s++;
				if (n + 1 >= cap)
					return -1;
				out[n++] = *s;
			}
			if (*s != '"')
				return -1;
		} else {
			for (; *s && *s != ';' && !is_ows(*s); s++) {
				if (n + 1 >= cap)
					return -1;
				out[n++] = *s;
			}
		}
		out[n] = '\0';
		return (int) n;
	}
	return -1;
}

/* The part's field name from its headers (hdr, hlen bytes, CRLF lines). */
static int part_name(const char *hdr, size_t hlen, char *name, size_t cap)
{
	const char *end = hdr + hlen;
	while (hdr < end) {
		const char *eol = memmem(hdr, (size_t) (end - hdr), "\r\n", 2);
		size_t n = eol ? (size_t) (eol - hdr) : (size_t) (end - hdr);
		const char *cd = "Content-Disposition:";
		if (n > strlen(cd) && n < 1024 && strncasecmp(hdr, cd, strlen(cd)) == 0) {
			char line[1024];
			memcpy(line, hdr, n);
			line[n] = '\0';
			const char *v = line + strlen(cd);
			while (is_ows(*v))
				v++;
			if (strncasecmp(v, "form-data", 9) != 0)
				return -1;
			return param(v, "name", name, cap);
		}
		hdr += n + 2;
	}
	return -1;
}

enum status form_to_json(const char *ct, const char *body, size_t len, json_t **out, struct problem *p)
{
	char boundary[BOUNDARY_MAX + 1], delim[BOUNDARY_MAX + 5];
	json_t *o = NULL;
	*out = NULL;
	int bl = ct ? param(ct, "boundary", boundary, sizeof(boundary)) : -1;
	if (bl < 1) {
		problem_field(p, "header.Content-Type", "multipart/form-data needs a boundary of 1 to %d characters",
		              BOUNDARY_MAX);
		return problem_set(p, ST_BAD_INPUT, "the multipart body has no usable boundary");
	}
	/* every delimiter but a leading one is CRLF "--" boundary */
	int dl = snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	const char *end = body + len, *s;
	if (len >= (size_t) dl - 2 && memcmp(body, delim + 2, (size_t) dl - 2) == 0)
		s = body + dl - 2;
	else if (!(s = memmem(body, len, delim, (size_t) dl)))
		goto framing;
	else
		s += dl;
	o = json_object();
	for (int parts = 0;; parts++) {
		/* after a delimiter: "--" ends the body, else OWS CRLF and a part */
		if (end - s >= 2 && s[0] == '-' && s[1] == '-')
			break;
		while (s < end && is_ows(*s))
			s++;
		if (end - s < 2 || s[0] != '\r' || s[1] != '\n' || parts >= FORM_MAX_PARTS)
			goto framing;
		s += 2;
		const char *hend = memmem(s, (size_t) (end - s), "\r\n\r\n", 4);
		const char *content = hend ? hend + 4 : NULL;
		/* a part without headers starts with the blank line at once */
		if (end - s >= 2 && s[0] == '\r' && s[1] == '\n')
			hend = s, content = s + 2;
		if (!hend)
			goto framing;
		const char *next = memmem(content, (size_t) (end - content), delim, (size_t) dl);
		if (!next)
			goto framing;
		char name[NAME_MAX_LEN + 1];
		if (part_name(s, (size_t) (hend - s), name, sizeof(name)) < 1) {
			problem_field(p, "body", "part %d has no Content-Disposition: form-data with a name",
			              parts + 1);
			goto fail;
		}
		if (json_object_get(o, name)) {
			problem_field(p, name, "is given twice");
			goto fail;
		}
		json_t *v = json_stringn(content, (size_t) (next - content));
		if (!v) {
			problem_field(p, name, "must be UTF-8 text");
			goto fail;
		}
		json_object_set_new(o, name, v);
		s = next + dl;
	}
	*out = o;
	return ST_OK;
framing:
	problem_field(p, "body", "is not multipart/form-data framed by its boundary (RFC 2046 section 5.1.1)");
fail:
	json_decref(o);
	return problem_set(p, ST_BAD_INPUT, "the multipart body cannot be read");
}
