/* Running a tool once: arguments checked against the tool's parameters,
 * then the built-in's own code or one guarded HTTP request (src/net) for
 * http_request, web_fetch and custom tools. No tool runs code a model or a
 * user wrote: templates are filled, never evaluated. */
#include "agents_int.h"
#include "core/json_text.h"
#include "../core/jsonschema.h"
#include "../core/template.h"
#include "../models/models.h"
#include "../net/net.h"

#include <sodium.h>
#include <string.h>

#define SECRET_MASK "****"

/* The length of the longest prefix of s that is valid UTF-8 without NUL
 * (a cap may cut a character; a binary body stops at its first invalid
 * byte). One pass: RFC 3629 section 4's byte ranges. */
static size_t utf8_prefix(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t i = 0;
	while (i < n) {
		unsigned char c = u[i];
		size_t len = c >= 0x01 && c <= 0x7f   ? 1
		             : c >= 0xc2 && c <= 0xdf ? 2
		             : c >= 0xe0 && c <= 0xef ? 3
		             : c >= 0xf0 && c <= 0xf4 ? 4
		                                      : 0;
		if (!len || i + len > n)
			break;
		unsigned char lo = 0x80, hi = 0xbf;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (len > 1 && (u[i + 1] < lo || u[i + 1] > hi))
			break;
		size_t k = 2;
		while (k < len && u[i + k] >= 0x80 && u[i + k] <= 0xbf)
			k++;
		if (len > 1 && k < len)
			break;
		i += len;
	}
	return i;
}

/* Every occurrence of each secret replaced by SECRET_MASK (secrets of 4
 * characters or more: shorter ones would mask ordinary text). */
static char *mask(const char *s, size_t n, json_t *secrets, struct arena *a)
{
	struct buf b;
	buf_init(&b, 0);
	buf_append(&b, s, n);
	const char *k;
	json_t *v;
	json_object_foreach(secrets, k, v)
	{
		const char *sec = json_string_value(v);
		size_t sl = sec ? strlen(sec) : 0;
		if (sl < 4)
			continue;
		struct buf o;
		buf_init(&o, 0);
		const char *p = b.data, *hit;
		while (p && (hit = strstr(p, sec))) {
			buf_append(&o, p, (size_t) (hit - p));
			buf_puts(&o, SECRET_MASK);
			p = hit + sl;
		}
		buf_puts(&o, p ? p : "");
		buf_free(&b);
		b = o;
	}
	char *r = arena_strdup(a, b.data ? b.data : "");
	buf_free(&b);
	return r;
}

/* The answer of a completed request. */
static json_t *answer(const struct net_response *r, const char *body, size_t len, json_t *secrets, struct arena *a)
{
	json_t *hdrs = json_object();
	for (int i = 0; i < r->nheaders; i++) {
		const char *v = r->headers[i].value ? r->headers[i].value : "";
		json_t *s = json_string(mask(v, utf8_prefix(v, strlen(v)), secrets, a));
		if (s)
			json_object_set_new(hdrs, r->headers[i].name, s);
	}
	json_t *jb = json_string(mask(body, utf8_prefix(body, len), secrets, a));
	return json_pack("{s:I, s:o, s:o, s:b, s:I}", "status", (json_int_t) r->status, "headers", hdrs, "body",
	                 jb ? jb : json_string(""), "truncated", r->truncated, "duration_ms",
	                 (json_int_t) r->duration_ms);
}

struct call {
	const char *method, *url;
	struct net_header *headers;
	int nheaders;
	const char *body;
	size_t max_bytes;
	int timeout_ms;
	json_t *secrets; /* {name: value}: masked in the answer */
	bool readable;   /* web_fetch: the body as readable text */
};

/* The call's time limit (0: net's default) within cap_ms (0: none). */
static int within(int timeout_ms, int cap_ms)
{
	int t = timeout_ms > 0 ? timeout_ms : NET_DEFAULT_TIMEOUT_MS;
	return cap_ms > 0 && cap_ms < t ? cap_ms : t;
}

static enum status fetch(struct agents *m, struct call *c, struct arena *a, json_t **out, struct problem *p)
{
	struct net_multi *nm = net_multi_new(m->net_policy);
	struct net_request req = {.method = c->method,
	                          .url = c->url,
	                          .headers = c->headers,
	                          .nheaders = c->nheaders,
	                          .body = c->body,
	                          .body_len = c->body ? strlen(c->body) : 0,
	                          .max_response_bytes = c->max_bytes,
	                          .timeout_ms = c->timeout_ms,
	                          .truncate_ok = true};
	struct net_response r = {0};
	enum status st = net_fetch(nm, &req, &r, p);
	if (st == ST_OK) {
		const char *ctype = net_response_header(&r, "content-type");
		/* readable text of HTML; other types (text, JSON) as they came */
		if (c->readable && (!ctype || strcasestr(ctype, "html"))) {
			char *t = agents_html_text(r.body ? r.body : "", r.body_len, c->max_bytes, a);
			*out = answer(&r, t, strlen(t), c->secrets, a);
		} else {
			*out = answer(&r, r.body ? r.body : "", r.body_len, c->secrets, a);
		}
	}
	net_response_free(&r);
	net_multi_free(&nm);
	return st;
}

/* ---- the built-ins over HTTP ---- */

/* http_request's and web_fetch's arguments carry net's names (url, method,
 * headers): a refusal names the argument it came from. */
static enum status builtin_fetch(struct agents *m, struct call *c, struct arena *a, json_t **out, struct problem *p)
{
	enum status st = fetch(m, c, a, out, p);
	for (int i = 0; st == ST_UNPROCESSABLE && i < p->nfields; i++)
		if (!str_startswith(p->fields[i].field, "arguments"))
			p->fields[i].field = arena_printf(p->arena, "arguments.%s", p->fields[i].field);
	return st;
}

static enum status run_http_request(struct agents *m, json_t *args, int cap_ms, struct arena *a, json_t **out,
                                    struct problem *p)
{
	json_t *h = json_object_get(args, "headers");
	struct call c = {.method = agents_jstr(args, "method") ? agents_jstr(args, "method") : "GET",
	                 .url = agents_jstr(args, "url"),
	                 .body = agents_jstr(args, "body"),
	                 .headers = arena_zalloc(a, sizeof(struct net_header) * (json_object_size(h) + 1)),
	                 .timeout_ms = within(0, cap_ms),
	                 .secrets = agents_own(a, json_object())};
	const char *k;
	json_t *v;
	json_object_foreach(h, k, v)
	{
		if (!tools_header_name_ok(k))
			return problem_field(p, arena_printf(a, "arguments.headers.%s", k),
			                     "is not a header name (an RFC 9110 token, not a framing header)");
		if (strpbrk(json_string_value(v), "\r\n"))
			return problem_field(p, arena_printf(a, "arguments.headers.%s", k),
			                     "must not contain CR or LF");
		c.headers[c.nheaders++] = (struct net_header){.name = k, .value = json_string_value(v)};
	}
	return builtin_fetch(m, &c, a, out, p);
}

static enum status run_web_fetch(struct agents *m, json_t *args, int cap_ms, struct arena *a, json_t **out,
                                 struct problem *p)
{
	struct net_header accept = {.name = "Accept", .value = "text/html, text/plain;q=0.9, */*;q=0.5"};
	struct call c = {.method = "GET",
	                 .url = agents_jstr(args, "url"),
	                 .headers = &accept,
	                 .nheaders = 1,
	                 .readable = true,
	                 .timeout_ms = within(0, cap_ms),
	                 .secrets = agents_own(a, json_object())};
	return builtin_fetch(m, &c, a, out, p);
}

/* ---- custom tools: templates filled, never evaluated ---- */

/* RFC 3986 section 2.3: everything but the unreserved characters encoded. */
static char *pct_encode(const char *s, struct arena *a)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = arena_alloc(a, strlen(s) * 3 + 1), *w = o;
	for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		    strchr("-._~", *c))
			*w++ = (char) *c;
		else {
			*w++ = '%';
			*w++ = hex[*c >> 4];
			*w++ = hex[*c & 15];
		}
	}
	*w = '\0';
	return o;
}

/* The value of each argument as a slot of one kind: "url" (percent-encoded
 * text), "json" (JSON text) or "text" (as template_interpolate renders it).
 * Absent optional arguments fill as empty text (null in JSON). */
static json_t *slot_values(json_t *args, json_t *props, const char *kind, struct arena *a)
{
	json_t *vals = agents_own(a, json_object());
	const char *k;
	json_t *v;
	json_object_foreach(props, k, v)
	{
		json_t *arg = json_object_get(args, k);
		struct buf b;
		buf_init(&b, 0);
		if (str_eq(kind, "json")) {
			char *j = json_text(arg ? arg : json_null(), JSON_ENCODE_ANY | JSON_COMPACT);
			buf_puts(&b, j ? j : "null");
			free(j);
		} else if (json_is_string(arg)) {
			buf_puts(&b, json_string_value(arg));
		} else if (arg) {
			template_render_json(&b, arg); /* numbers, booleans, lists as JSON text */
		}
		const char *text = b.data ? b.data : "";
		json_object_set_new(vals, k, json_string(str_eq(kind, "url") ? pct_encode(text, a) : text));
		buf_free(&b);
	}
	return vals;
}

static enum status fill(const char *tmpl, json_t *vals, struct arena *a, char **out, struct problem *p)
{
	return template_interpolate(tmpl, vals, 0, a, out, p);
}

static enum status run_custom(struct agents *m, const char *id, json_t *def, const char *sealed, json_t *args,
                              int cap_ms, struct arena *a, json_t **out, struct problem *p)
{
	json_t *props = json_object_get(json_object_get(def, "parameters"), "properties");
	json_t *secrets = NULL;
	if (sealed) {
		char *plain = models_open(m->models, id, sealed, a);
		secrets = plain ? agents_own(a, json_loads(plain, 0, NULL)) : NULL;
		if (plain)
			sodium_memzero(plain, strlen(plain));
		if (!secrets) {
			log_kv(LOG_ERROR, "a tool's sealed headers do not open", "tool_id", id, NULL);
			return problem_set(p, ST_INTERNAL, "the tool's secret headers cannot be decrypted");
		}
	} else {
		secrets = agents_own(a, json_object());
	}
	/* header slots refuse CR and LF: a value cannot add a header */
	const char *k;
	json_t *v;
	json_t *text = slot_values(args, props, "text", a);
	json_object_foreach(text, k, v) if (strpbrk(json_string_value(v), "\r\n"))
	{
		json_t *hdrs = json_object_get(def, "headers");
		for (size_t i = 0; i < json_array_size(hdrs); i++) {
			const char *hv = agents_jstr(json_array_get(hdrs, i), "value");
			char *slot = arena_printf(a, "{%s}", k);
			if (hv && strstr(hv, slot))
				return problem_field(p, arena_printf(a, "arguments.%s", k),
				                     "fills a header: it must not contain CR or LF");
		}
	}
	struct call c = {.method = agents_jstr(def, "method"),
	                 .max_bytes = (size_t) json_integer_value(json_object_get(def, "max_response_bytes")),
	                 .timeout_ms =
	                     within(1000 * (int) json_integer_value(json_object_get(def, "timeout_s")), cap_ms),
	                 .secrets = secrets};
	char *url, *body = NULL;
	enum status st = fill(agents_jstr(def, "url_template"), slot_values(args, props, "url", a), a, &url, p);
	if (st == ST_OK && agents_jstr(def, "body_template"))
		st = fill(agents_jstr(def, "body_template"), slot_values(args, props, "json", a), a, &body, p);
	if (st != ST_OK)
		return st;
	c.url = url;
	c.body = body;
	json_t *hdrs = json_object_get(def, "headers");
	c.headers = arena_zalloc(a, sizeof(struct net_header) * (json_array_size(hdrs) + 1));
	for (size_t i = 0; i < json_array_size(hdrs); i++) {
		json_t *h = json_array_get(hdrs, i);
		const char *hn = agents_jstr(h, "name");
		char *hv;
		bool secret = json_is_true(json_object_get(h, "secret"));
		if (secret)
			hv = arena_strdup(a, agents_jstr(secrets, hn) ? agents_jstr(secrets, hn) : "");
		else if ((st = fill(agents_jstr(h, "value"), text, a, &hv, p)) != ST_OK)
			return st;
		c.headers[c.nheaders++] = (struct net_header){.name = hn, .value = hv, .secret = secret};
	}
	st = fetch(m, &c, a, out, p);
	for (int i = 0; i < c.nheaders; i++)
		if (c.headers[i].secret)
			sodium_memzero((char *) c.headers[i].value, strlen(c.headers[i].value));
	const char *sk;
	json_t *sv;
	json_object_foreach(secrets, sk, sv) sodium_memzero((char *) json_string_value(sv), json_string_length(sv));
	return st;
}

/* ---- one entry for every tool ---- */

/* The request reached the tool well formed; what the tool refuses in its
 * arguments is 422 (as the schema check answers), naming the argument, on
 * every path: a bare 400 from a helper (problem_field's default) becomes 422
 * and a problem without a field names "arguments". */
static enum status arguments_problem(enum status st, struct problem *p)
{
	if (st != ST_BAD_INPUT || !p)
		return st == ST_BAD_INPUT ? ST_UNPROCESSABLE : st;
	if (!p->nfields)
		problem_field(p, "arguments", "%s", p->detail ? p->detail : "were refused by the tool");
	p->st = ST_UNPROCESSABLE;
	if (!p->detail)
		problem_set(p, ST_UNPROCESSABLE, "the arguments were refused by the tool");
	return ST_UNPROCESSABLE;
}

static enum status tools_run_one(struct agents *m, const char *ws, const char *id, int64_t version, json_t *args,
                                 int cap_ms, struct arena *a, json_t **out, struct problem *p)
{
	json_t *def = NULL;
	const char *sealed = NULL;
	enum status st;
	*out = NULL;
	if (tools_is_builtin(id)) {
		def = agents_own(a, tools_builtin_json(id));
	} else {
		struct vrow row;
		st = vs_load(m, NULL, &agents_vk_tool, ws, id, true, a, &row, p);
		if (st != ST_OK)
			return st;
		def = row.def;
		sealed = row.sealed;
		if (version && version != row.version &&
		    (st = vs_load_version(m, NULL, &agents_vk_tool, ws, id, version, a, &def, &sealed, p)) != ST_OK)
			return st;
	}
	json_t *schema = json_object_get(def, "parameters");
	if (!json_is_object(args))
		return problem_field(p, "arguments", "must be an object");
	if ((st = jsonschema_validate(schema, args, "arguments", p)) != ST_OK)
		return problem_set(p, ST_UNPROCESSABLE, "the arguments do not match the tool's parameters");
	const char *name = agents_jstr(def, "name");
	if (!tools_is_builtin(id))
		return run_custom(m, id, def, sealed, args, cap_ms, a, out, p);
	if (str_eq(name, "http_request"))
		return run_http_request(m, args, cap_ms, a, out, p);
	if (str_eq(name, "web_fetch"))
		return run_web_fetch(m, args, cap_ms, a, out, p);
	return tools_run_pure(name, args, a, out, p);
}

enum status tools_run(struct agents *m, const char *ws, const char *id, int64_t version, json_t *args, struct arena *a,
                      json_t **out, struct problem *p)
{
	return arguments_problem(tools_run_one(m, ws, id, version, args, 0, a, out, p), p);
}

enum status tools_run_within(struct agents *m, const char *ws, const char *id, int64_t version, json_t *args,
                             int cap_ms, struct arena *a, json_t **out, struct problem *p)
{
	return arguments_problem(tools_run_one(m, ws, id, version, args, cap_ms, a, out, p), p);
}

enum status tools_test(struct agents *m, const struct actor *who, const char *id, json_t *body, struct arena *a,
                       json_t **out, struct problem *p)
{
	if (!tools_is_builtin(id)) {
		struct vrow row;
		enum status st = vs_load(m, NULL, &agents_vk_tool, who->workspace_id, id, false, a, &row, p);
		if (st != ST_OK)
			return st;
	}
	json_t *args = json_object_get(body, "arguments");
	return tools_run(m, who->workspace_id, id, 0, args ? args : agents_own(a, json_object()), a, out, p);
}
