/* engine's private parts, shared by its files only. */
#ifndef TROUPE_ENGINE_INT_H
#define TROUPE_ENGINE_INT_H

#include "engine/engine.h"

struct engine_hook {
	engine_hook_fn fn;
	void *ud;
};

struct engine_loop {
	struct llm_client *llm;
	int wakefd; /* eventfd: engine_loop_wake from any thread; watched by llm's wait and by poll */
	struct engine_hook hooks[ENGINE_LOOP_HOOKS_MAX];
	int nhooks;
	struct engine_attempt *all;                     /* every live attempt, linked by next/prev */
	struct engine_attempt *ready_head, *ready_tail; /* attempts with a step to take */
	int n;
};

/* Takes a request slot in r (NULL or max 0: always). false: *wake_us is when one frees. */
bool engine_rpm_take(struct engine_rpm *r, int64_t now_us, int64_t *wake_us);
/* True when r would give a slot now; else *wake_us. */
bool engine_rpm_free_at(const struct engine_rpm *r, int64_t now_us, int64_t *wake_us);

/* Appends s cut to max bytes on a UTF-8 boundary; true when it was cut. */
bool engine_cut(struct buf *b, const char *s, size_t max);
/* A new JSON string of s cut to max bytes (on a UTF-8 boundary), or null for NULL. */
json_t *engine_json_cut(const char *s, size_t max);

#endif
