/*
 * A small TAP harness: each test file is a program; each check prints
 * "ok N - what" or "not ok N - what" with the case's input, and the
 * program ends with a plan line and exits non-zero on any failure.
 */
#ifndef TROUPE_T_H
#define TROUPE_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_n, t_failed;

/* Line-buffered output: a test that crashes keeps every line it printed, so
 * the log shows where it stopped (a file is fully buffered otherwise). */
__attribute__((constructor)) static void t_line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

#define T_OK(cond, ...)                                                                                                \
	do {                                                                                                           \
		int t_c_ = !!(cond);                                                                                   \
		t_n++;                                                                                                 \
		if (!t_c_)                                                                                             \
			t_failed++;                                                                                    \
		printf("%sok %d - ", t_c_ ? "" : "not ", t_n);                                                         \
		printf(__VA_ARGS__);                                                                                   \
		printf("\n");                                                                                          \
		if (!t_c_)                                                                                             \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                                \
	} while (0)

#define T_EQ_INT(a, b, ...)                                                                                            \
	do {                                                                                                           \
		long long t_a_ = (long long) (a), t_b_ = (long long) (b);                                              \
		T_OK(t_a_ == t_b_, __VA_ARGS__);                                                                       \
		if (t_a_ != t_b_)                                                                                      \
			printf("#   got %lld, want %lld\n", t_a_, t_b_);                                               \
	} while (0)

#define T_EQ_STR(a, b, ...)                                                                                            \
	do {                                                                                                           \
		const char *t_a_ = (a), *t_b_ = (b);                                                                   \
		int t_same_ = (t_a_ == NULL && t_b_ == NULL) || (t_a_ && t_b_ && strcmp(t_a_, t_b_) == 0);             \
		T_OK(t_same_, __VA_ARGS__);                                                                            \
		if (!t_same_)                                                                                          \
			printf("#   got \"%s\", want \"%s\"\n", t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");       \
	} while (0)

static inline int t_done(void)
{
	printf("1..%d\n", t_n);
	if (t_failed)
		printf("# %d of %d failed\n", t_failed, t_n);
	return t_failed ? 1 : 0;
}

#endif
