/* The built web app, compiled into the binary (scripts/embed_web.py writes
 * the table from web/dist at build time; docs/web.md). */
#ifndef TROUPE_HTTP_WEB_ASSETS_H
#define TROUPE_HTTP_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *path; /* "/index.html", "/assets/index-3f2a.js": below the app's root */
	const char *data; /* the file's bytes (len of them; a NUL follows) */
	size_t len;
};

/* Sorted by path; ends with an entry whose path is NULL. Empty when the app
 * was not built: then "/" says so. */
extern const struct web_asset web_assets[];

#endif
