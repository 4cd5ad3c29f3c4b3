/* web_fetch's reader: HTML to readable text with libxml2's HTML parser
 * (Debian's libxml2; no network, no entities from outside, errors
 * recovered). Scripts, styles and other non-text elements are dropped;
 * headings keep a "#" prefix per level; paragraphs, list items, table rows
 * and other blocks become lines; links keep their text; whitespace runs
 * collapse to one space. */
#include "agents_int.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include <string.h>

#define HTML_DEPTH_MAX 256

struct out {
	struct buf b;
	bool space;   /* a space is pending before the next word */
	int newlines; /* newlines at the end of b (0, 1 or 2) */
	bool full;    /* the cap was reached: nothing more is written */
};

static bool is_named(const xmlNode *n, const char *const *names)
{
	for (; *names; names++)
		if (xmlStrcasecmp(n->name, (const xmlChar *) *names) == 0)
			return true;
	return false;
}

static const char *const SKIP[] = {"script", "style", "noscript", "template", "svg",  "iframe", "object",
                                   "canvas", "head",  "button",   "select",   "form", NULL};
static const char *const BLOCK[] = {"p",   "div",   "section", "article",    "header", "footer",     "main",
                                    "nav", "aside", "ul",      "ol",         "li",     "table",      "tr",
                                    "br",  "hr",    "pre",     "blockquote", "figure", "figcaption", "dl",
                                    "dt",  "dd",    "title",   "address",    NULL};

static void newline(struct out *o, int want)
{
	if (o->b.len == 0 || o->full)
		return;
	while (o->newlines < want) {
		if (buf_append(&o->b, "\n", 1) < 0) {
			o->full = true;
			return;
		}
		o->newlines++;
	}
	o->space = false;
}

/* The length of the valid UTF-8 character at s (RFC 3629 section 4), or 0:
 * a page in a broken encoding loses its invalid bytes, not the rest. */
static size_t utf8_char(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len = c >= 0x01 && c <= 0x7f   ? 1
	             : c >= 0xc2 && c <= 0xdf ? 2
	             : c >= 0xe0 && c <= 0xef ? 3
	             : c >= 0xf0 && c <= 0xf4 ? 4
	                                      : 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (len > 1 && (s[1] < lo || s[1] > hi))
		return 0;
	for (size_t k = 2; k < len; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return len;
}

static void text(struct out *o, const char *s)
{
	const unsigned char *u = (const unsigned char *) s;
	while (*u && !o->full) {
		size_t len = utf8_char(u);
		if (!len) {
			u++;
			continue;
		}
		if (*u == ' ' || *u == '\t' || *u == '\n' || *u == '\r' || *u == '\f' || *u == '\v') {
			o->space = true;
			u++;
			continue;
		}
		/* a space and the character after it, whole or not at all: a cap
		 * never cuts a character, and nothing follows the first refusal */
		bool sp = o->space && o->b.len && !o->newlines;
		if ((sp && buf_append(&o->b, " ", 1) < 0) || buf_append(&o->b, u, len) < 0) {
			o->full = true;
			return;
		}
		o->space = false;
		o->newlines = 0;
		u += len;
	}
}

static void walk(struct out *o, const xmlNode *n, int depth)
{
	for (; n; n = n->next) {
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
			if (n->content)
				text(o, (const char *) n->content);
			continue;
		}
		if (n->type != XML_ELEMENT_NODE || is_named(n, SKIP) || depth >= HTML_DEPTH_MAX)
			continue;
		int level = 0;
		if ((n->name[0] == 'h' || n->name[0] == 'H') && n->name[1] >= '1' && n->name[1] <= '6' && !n->name[2])
			level = n->name[1] - '0';
		bool block = level || is_named(n, BLOCK);
		if (block)
			newline(o, level ? 2 : 1);
		if (level) {
			char hashes[8] = "######";
			hashes[level] = '\0';
			text(o, hashes);
			o->space = true;
		}
		walk(o, n->children, depth + 1);
		if (block)
			newline(o, level ? 2 : 1);
	}
}

char *agents_html_text(const char *html, size_t len, size_t max, struct arena *a)
{
	struct out o = {.newlines = 0};
	buf_init(&o.b, max ? max : (1u << 20));
	htmlDocPtr doc = htmlReadMemory(html, (int) (len > INT32_MAX ? INT32_MAX : len), NULL, NULL,
	                                HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	                                    HTML_PARSE_NONET | HTML_PARSE_NOBLANKS);
	if (doc) {
		xmlNode *root = xmlDocGetRootElement(doc);
		/* the title first, then the body */
		for (xmlNode *h = root ? root->children : NULL; h; h = h->next)
			if (h->type == XML_ELEMENT_NODE && xmlStrcasecmp(h->name, (const xmlChar *) "head") == 0)
				for (xmlNode *t = h->children; t; t = t->next)
					if (t->type == XML_ELEMENT_NODE &&
					    xmlStrcasecmp(t->name, (const xmlChar *) "title") == 0)
						walk(&o, t->children, 1);
		newline(&o, 2);
		walk(&o, root, 0);
		xmlFreeDoc(doc);
	}
	while (o.b.len && (o.b.data[o.b.len - 1] == '\n' || o.b.data[o.b.len - 1] == ' '))
		o.b.len--;
	char *s = arena_strndup(a, o.b.data ? o.b.data : "", o.b.len);
	buf_free(&o.b);
	return s;
}
