/* Allocation that never returns NULL, and the arena. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>

static void oom(size_t n)
{
	/* One line, then abort: durable state lives in the database. */
	fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"bytes\":%zu}\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		oom(n * m);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert(n >= 0);
	char *p = xmalloc((size_t) n + 1);
	vsnprintf(p, (size_t) n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

/* ---- arena ---- */

#define ARENA_BLOCK 4096
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_defer {
	struct arena_defer *next;
	void (*fn)(void *);
	void *p;
};

struct arena {
	struct arena_block *head;
	struct arena_defer *defers;
	size_t total;
};

struct arena *arena_new(void)
{
	return xcalloc(1, sizeof(struct arena));
}

void *arena_alloc(struct arena *a, size_t n)
{
	assert(a);
	n = (n + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1);
	if (n == 0)
		n = ARENA_ALIGN;
	struct arena_block *b = a->head;
	if (!b || b->size - b->used < n) {
		size_t size = n > ARENA_BLOCK / 2 ? n : ARENA_BLOCK;
		struct arena_block *nb = xmalloc(sizeof(*nb) + size);
		nb->size = size;
		nb->used = 0;
		/* A big one-off allocation goes behind the current block so
		 * the remaining space of the current block stays usable. */
		if (b && size == n && b->size - b->used > 256) {
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += n;
	a->total += n;
	return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);
	memset(p, 0, n);
	return p;
}

char *arena_memdup(struct arena *a, const void *p, size_t n)
{
	char *q = arena_alloc(a, n + 1);
	if (n)
		memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	return arena_memdup(a, s, n);
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_memdup(a, s, strlen(s)) : NULL;
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	assert(n >= 0);
	char *p = arena_alloc(a, (size_t) n + 1);
	vsnprintf(p, (size_t) n + 1, fmt, ap);
	return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

void arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
	struct arena_defer *d = arena_alloc(a, sizeof(*d));
	d->fn = fn;
	d->p = p;
	d->next = a->defers;
	a->defers = d;
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}

void arena_free(struct arena **ap)
{
	struct arena *a = *ap;
	if (!a)
		return;
	/* Defers first: they may read memory that lives in the blocks. */
	for (struct arena_defer *d = a->defers; d; d = d->next)
		d->fn(d->p);
	struct arena_block *b = a->head;
	while (b) {
		struct arena_block *n = b->next;
		free(b);
		b = n;
	}
	free(a);
	*ap = NULL;
}

/* ---- buf ---- */

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->max && (n > b->max || b->len > b->max - n))
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t) n < sizeof(small))
		return buf_append(b, small, (size_t) n);
	char *big = xmalloc((size_t) n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t) n + 1, fmt, ap);
	va_end(ap);
	int rc = buf_append(b, big, (size_t) n);
	free(big);
	return rc;
}

char *buf_steal(struct buf *b)
{
	if (!b->data)
		buf_append(b, "", 0);
	char *p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
