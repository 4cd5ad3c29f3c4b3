/*
 * json_text: JSON text as the server writes it (responses, stored events,
 * event streams, provider requests, the CLI's output).
 *
 * jansson prints every real with 17 significant digits by default, so a
 * price of 0.15 reads back as 0.14999999999999999. json_text prints each
 * document with the fewest digits, 15 to 17, with which every real in it
 * reads back as the same double (IEEE 754 binary64: 15 decimal digits always
 * survive a round trip through a double, 17 always identify one; C11
 * 5.2.4.2.2 DBL_DIG and DBL_DECIMAL_DIG). So 0.15 prints as 0.15, and a
 * computed 0.1 + 0.2 still prints as 0.30000000000000004: nothing is lost.
 *
 * The precision is chosen per document, not per number (jansson takes one),
 * so one real that needs 17 digits prints its neighbours with 17 as well.
 */
#ifndef TROUPE_CORE_JSON_TEXT_H
#define TROUPE_CORE_JSON_TEXT_H

#include <jansson.h>

/* The significant digits json_text uses for j: 15, 16 or 17. */
int json_text_precision(const json_t *j);

/* json_dumps(j, flags) with that precision (a JSON_REAL_PRECISION in flags
 * is replaced). The caller frees the text; NULL as json_dumps gives it. */
char *json_text(const json_t *j, size_t flags);

#endif
