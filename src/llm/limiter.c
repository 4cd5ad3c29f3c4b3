/*
 * The per-model limiter every client of the process shares. Requests per
 * minute are paced by GCRA (a call may start T = 60 s / rpm after the one
 * before, or up to `burst` back to back), tokens per minute by a bucket
 * refilled continuously and corrected with the usage the provider reports,
 * and concurrency by a count. A call that may not start is told how long to
 * wait; the engine waits for it in its multi loop, never by sleeping.
 */
#include "llm/llm_int.h"

#include <pthread.h>
#include <string.h>

/* How often a call blocked only by max_concurrency asks again: slots come
 * back from other threads, which have no way to wake this one. */
#define CONCURRENCY_RETRY_US 2000

struct llm_limit_state {
	struct llm_limit_state *next;
	char *key;
	struct llm_limit lim;
	double tat_us; /* GCRA: the theoretical arrival time of the next request */
	double tokens; /* tpm bucket */
	int64_t tokens_at_us;
	int inflight;
};

struct llm_limiter {
	pthread_mutex_t mu; /* guards the list and every state's fields */
	struct llm_limit_state *head;
};

struct llm_limiter *llm_limiter_new(void)
{
	struct llm_limiter *l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	return l;
}

void llm_limiter_free(struct llm_limiter **lp)
{
	struct llm_limiter *l = lp ? *lp : NULL;
	if (!l)
		return;
	for (struct llm_limit_state *s = l->head, *n; s; s = n) {
		n = s->next;
		free(s->key);
		free(s);
	}
	pthread_mutex_destroy(&l->mu);
	free(l);
	*lp = NULL;
}

static struct llm_limit_state *find_locked(struct llm_limiter *l, const char *key)
{
	for (struct llm_limit_state *s = l->head; s; s = s->next)
		if (str_eq(s->key, key))
			return s;
	return NULL;
}

void llm_limiter_set(struct llm_limiter *l, const char *key, const struct llm_limit *lim)
{
	pthread_mutex_lock(&l->mu);
	struct llm_limit_state *s = find_locked(l, key);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->key = xstrdup(key);
		s->next = l->head;
		l->head = s;
	}
	s->lim = *lim;
	s->tokens = lim->tpm;
	s->tokens_at_us = time_mono_us();
	pthread_mutex_unlock(&l->mu);
}

struct llm_limit_state *llm_limiter_find(struct llm_limiter *l, const char *key)
{
	struct llm_limit_state *s;

	if (!l || !key)
		return NULL;
	pthread_mutex_lock(&l->mu);
	s = find_locked(l, key);
	pthread_mutex_unlock(&l->mu);
	return s;
}

int64_t llm_limiter_take(struct llm_limiter *l, struct llm_limit_state *s, int64_t tokens, int64_t now_us)
{
	double wait = 0, interval = 0;

	pthread_mutex_lock(&l->mu);
	const struct llm_limit *lim = &s->lim;
	if (lim->max_concurrency > 0 && s->inflight >= lim->max_concurrency)
		wait = CONCURRENCY_RETRY_US;
	if (lim->tpm > 0) {
		double rate = lim->tpm / 60e6; /* tokens per microsecond */
		if (now_us > s->tokens_at_us)
			s->tokens += (double) (now_us - s->tokens_at_us) * rate;
		if (s->tokens > lim->tpm)
			s->tokens = lim->tpm;
		if (now_us > s->tokens_at_us)
			s->tokens_at_us = now_us;
		/* a request bigger than a minute's worth waits for a full bucket, not forever */
		double need = tokens < lim->tpm ? (double) tokens : lim->tpm;
		if (s->tokens < need && (need - s->tokens) / rate > wait)
			wait = (need - s->tokens) / rate;
	}
	if (lim->rpm > 0) {
		/* 5% headroom: calls that leave evenly spaced can arrive
		 * bunched (network and scheduling jitter), and the provider
		 * counts arrivals. */
		interval = 60e6 / lim->rpm * 1.05;
		int burst = lim->burst > 1 ? lim->burst : 1;
		double allow_at = s->tat_us - (burst - 1) * interval;
		if ((double) now_us < allow_at && allow_at - (double) now_us > wait)
			wait = allow_at - (double) now_us;
	}
	if (wait <= 0) {
		s->inflight++;
		if (lim->tpm > 0)
			s->tokens -= (double) tokens;
		if (lim->rpm > 0)
			s->tat_us = (s->tat_us > (double) now_us ? s->tat_us : (double) now_us) + interval;
	}
	pthread_mutex_unlock(&l->mu);
	return wait <= 0 ? 0 : (int64_t) wait + 1;
}

void llm_limiter_done(struct llm_limiter *l, struct llm_limit_state *s, int64_t estimated, int64_t used)
{
	pthread_mutex_lock(&l->mu);
	if (s->inflight > 0)
		s->inflight--;
	if (s->lim.tpm > 0) {
		s->tokens -= (double) (used - estimated);
		if (s->tokens > s->lim.tpm)
			s->tokens = s->lim.tpm;
	}
	pthread_mutex_unlock(&l->mu);
}

int64_t llm_estimate_tokens(size_t body_len, int max_tokens)
{
	/* ~4 bytes a token for the prompt (JSON framing makes it an overestimate), plus the answer's cap */
	return (int64_t) (body_len / 4) + (max_tokens > 0 ? max_tokens : 256);
}
