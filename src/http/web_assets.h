/* The built web app, compiled into the binary (scripts/embed_web.py writes
 * the table from web/dist at build time; docs/web.md). Text files (HTML,
 * JavaScript, CSS, JSON, SVG) carry a gzip form too, which the server sends
 * with Content-Encoding: gzip when Accept-Encoding admits it. */
#ifndef TROUPE_HTTP_WEB_ASSETS_H
#define TROUPE_HTTP_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *path; /* "/index.html", "/assets/index-3f2a.js": below the app's root */
	const char *data; /* the file's bytes (len of them; a NUL follows) */
	size_t len;
	const char *gz; /* the same file gzipped at build time (RFC 1952), or NULL when that is not smaller */
	size_t gz_len;
};

/* Sorted by path; ends with an entry whose path is NULL. Empty when the app
 * was not built: then "/" says so. */
extern const struct web_asset web_assets[];

#endif
