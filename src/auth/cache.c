/* A small TTL cache (chained hash table behind one mutex) and the token
 * bucket arithmetic of the gateway's rate limits. */
#include "auth.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct centry {
	struct centry *next;
	uint64_t hash;
	int64_t stored_us;
	char *key;
	unsigned char value[]; /* value_size bytes */
};

struct auth_cache {
	pthread_mutex_t lock; /* guards everything below */
	struct centry **slots;
	size_t nslots; /* a power of two */
	size_t count;
	size_t max;
	size_t vsize;
	int64_t ttl_us;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char) *s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct auth_cache *auth_cache_new(size_t value_size, int64_t ttl_us, size_t max_entries)
{
	struct auth_cache *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->nslots = 256;
	c->slots = xcalloc(c->nslots, sizeof(*c->slots));
	c->vsize = value_size;
	c->ttl_us = ttl_us;
	c->max = max_entries ? max_entries : 100000;
	return c;
}

static void entry_free(struct centry *e)
{
	free(e->key);
	free(e);
}

void auth_cache_free(struct auth_cache **cp)
{
	struct auth_cache *c = *cp;
	if (!c)
		return;
	for (size_t i = 0; i < c->nslots; i++) {
		struct centry *e = c->slots[i];
		while (e) {
			struct centry *n = e->next;
			entry_free(e);
			e = n;
		}
	}
	free(c->slots);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
}

/* Finds key; removes it (returning NULL) when stale. Lock held. */
static struct centry **find(struct auth_cache *c, const char *key, uint64_t h, int64_t now_us)
{
	struct centry **pp = &c->slots[h & (c->nslots - 1)];
	for (; *pp; pp = &(*pp)->next) {
		struct centry *e = *pp;
		if (e->hash != h || !str_eq(e->key, key))
			continue;
		if (now_us >= 0 && now_us - e->stored_us >= c->ttl_us) {
			*pp = e->next;
			entry_free(e);
			c->count--;
			return NULL;
		}
		return pp;
	}
	return NULL;
}

static void grow(struct auth_cache *c)
{
	size_t n = c->nslots * 2;
	struct centry **slots = xcalloc(n, sizeof(*slots));
	for (size_t i = 0; i < c->nslots; i++) {
		struct centry *e = c->slots[i];
		while (e) {
			struct centry *next = e->next;
			e->next = slots[e->hash & (n - 1)];
			slots[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = n;
}

/* Makes room: drops stale entries, and everything when that is not
 * enough (a cache may always forget). Lock held. */
static void sweep(struct auth_cache *c, int64_t now_us)
{
	for (int pass = 0; pass < 2 && c->count >= c->max; pass++) {
		for (size_t i = 0; i < c->nslots; i++) {
			struct centry **pp = &c->slots[i];
			while (*pp) {
				struct centry *e = *pp;
				if (pass == 1 || now_us - e->stored_us >= c->ttl_us) {
					*pp = e->next;
					entry_free(e);
					c->count--;
				} else {
					pp = &e->next;
				}
			}
		}
	}
}

static struct centry *insert(struct auth_cache *c, const char *key, uint64_t h, int64_t now_us)
{
	if (c->count >= c->max)
		sweep(c, now_us);
	if (c->count >= c->nslots * 2)
		grow(c);
	struct centry *e = xcalloc(1, sizeof(*e) + c->vsize);
	e->key = xstrdup(key);
	e->hash = h;
	e->stored_us = now_us;
	e->next = c->slots[h & (c->nslots - 1)];
	c->slots[h & (c->nslots - 1)] = e;
	c->count++;
	return e;
}

bool auth_cache_get(struct auth_cache *c, const char *key, void *value, int64_t now_us)
{
	uint64_t h = fnv1a(key);
	pthread_mutex_lock(&c->lock);
	struct centry **pp = find(c, key, h, now_us);
	if (pp)
		memcpy(value, (*pp)->value, c->vsize);
	pthread_mutex_unlock(&c->lock);
	return pp != NULL;
}

void auth_cache_put(struct auth_cache *c, const char *key, const void *value, int64_t now_us)
{
	uint64_t h = fnv1a(key);
	pthread_mutex_lock(&c->lock);
	struct centry **pp = find(c, key, h, -1);
	struct centry *e = pp ? *pp : insert(c, key, h, now_us);
	e->stored_us = now_us;
	memcpy(e->value, value, c->vsize);
	pthread_mutex_unlock(&c->lock);
}

void auth_cache_del(struct auth_cache *c, const char *key)
{
	uint64_t h = fnv1a(key);
	pthread_mutex_lock(&c->lock);
	struct centry **pp = find(c, key, h, -1);
	if (pp) {
		struct centry *e = *pp;
		*pp = e->next;
		entry_free(e);
		c->count--;
	}
	pthread_mutex_unlock(&c->lock);
}

size_t auth_cache_del_if(struct auth_cache *c, bool (*match)(const char *key, const void *value, void *ctx), void *ctx)
{
	size_t n = 0;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nslots; i++) {
		struct centry **pp = &c->slots[i];
		while (*pp) {
			struct centry *e = *pp;
			if (match(e->key, e->value, ctx)) {
				*pp = e->next;
				entry_free(e);
				c->count--;
				n++;
			} else {
				pp = &e->next;
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

int auth_cache_update(struct auth_cache *c, const char *key, int (*fn)(void *value, void *ctx), void *ctx,
                      int64_t now_us)
{
	uint64_t h = fnv1a(key);
	pthread_mutex_lock(&c->lock);
	struct centry **pp = find(c, key, h, now_us);
	struct centry *e = pp ? *pp : insert(c, key, h, now_us);
	e->stored_us = now_us;
	int rc = fn(e->value, ctx);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

size_t auth_cache_count(struct auth_cache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}

bool auth_bucket_take(struct auth_bucket *b, double rate_per_s, double burst, int64_t now_us, int *retry_after_s)
{
	if (!b->init) {
		b->init = true;
		b->tokens = burst;
		b->last_us = now_us;
	}
	if (now_us > b->last_us) {
		b->tokens += (double) (now_us - b->last_us) / 1e6 * rate_per_s;
		if (b->tokens > burst)
			b->tokens = burst;
		b->last_us = now_us;
	}
	if (b->tokens >= 1.0 - 1e-9) { /* rounding: 6 s at 10/min is one token */
		b->tokens -= 1.0;
		return true;
	}
	if (retry_after_s) {
		double wait = rate_per_s > 0 ? (1.0 - b->tokens) / rate_per_s : 3600;
		int s = (int) ceil(wait);
		*retry_after_s = s < 1 ? 1 : s;
	}
	return false;
}

int auth_rate_parse(const char *s, double *per_s, double *burst)
{
	if (!s || !*s)
		return -1;
	char *end = NULL;
	double n = strtod(s, &end);
	if (end == s || !(n > 0) || n > 1e9 || *end != '/')
		return -1;
	const char *unit = end + 1;
	double secs;
	if (str_eq(unit, "s") || str_eq(unit, "sec") || str_eq(unit, "second"))
		secs = 1;
	else if (str_eq(unit, "m") || str_eq(unit, "min") || str_eq(unit, "minute"))
		secs = 60;
	else if (str_eq(unit, "h") || str_eq(unit, "hour"))
		secs = 3600;
	else
		return -1;
	*per_s = n / secs;
	/* The burst is the count per period: "10/min" allows 10 at once,
	 * then one every 6 seconds. */
	*burst = n;
	return 0;
}
