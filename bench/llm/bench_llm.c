/*
 * bench_llm: calls per second and CPU per call through the llm client, one
 * thread, N calls in flight, against a fake provider (bench/llm/run starts
 * it). The CPU figure is this process's only: the client's cost, which is
 * what the client controls; the server's is reported by the run script.
 */
#include "llm/llm.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define GOAL_CALLS_PER_S 20000.0
#define GOAL_CPU_US      50.0

struct bench {
	struct llm_client *c;
	struct llm_request req;
	long started, done, failed, total;
	char first_error[512];
};

static void on_done(struct llm_call *call, struct llm_response *r, void *ud);

static void start_one(struct bench *b)
{
	b->started++;
	llm_call_start(b->c, &b->req, on_done, b);
}

static void on_done(struct llm_call *call, struct llm_response *r, void *ud)
{
	struct bench *b = ud;
	(void) call;
	b->done++;
	if (r->rec.error != LLM_ERR_NONE) {
		if (!b->failed++ && r->rec.error_message)
			snprintf(b->first_error, sizeof(b->first_error), "%s", r->rec.error_message);
	}
	if (b->started < b->total)
		start_one(b);
}

static double cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_utime.tv_sec * 1e6 + (double) ru.ru_utime.tv_usec + (double) ru.ru_stime.tv_sec * 1e6 +
	       (double) ru.ru_stime.tv_usec;
}

static void run(struct bench *b, long calls, int inflight)
{
	b->started = b->done = b->failed = 0;
	b->first_error[0] = '\0';
	b->total = calls;
	for (int i = 0; i < inflight && b->started < calls; i++)
		start_one(b);
	llm_client_perform_all(b->c);
}

int main(int argc, char **argv)
{
	const char *base = "http://127.0.0.1:8080/v1";
	long calls = 50000;
	int inflight = 256, stream = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (str_eq(argv[i], "--base"))
			base = argv[i + 1];
		else if (str_eq(argv[i], "--calls"))
			calls = atol(argv[i + 1]);
		else if (str_eq(argv[i], "--inflight"))
			inflight = atoi(argv[i + 1]);
		else if (str_eq(argv[i], "--stream"))
			stream = atoi(argv[i + 1]);
		else {
			fprintf(stderr, "usage: bench_llm [--base URL] [--calls N] [--inflight N] [--stream 0|1]\n");
			return 2;
		}
	}
	core_init();
	struct llm_message m = {.role = LLM_ROLE_USER, .content = "Say hello in one short sentence."};
	struct bench b = {
	    .c = llm_client_new(NULL),
	    .req =
	        {
	            .provider = LLM_OPENAI,
	            .base_url = base,
	            .api_key = "sk-bench",
	            .model = "gpt-4o-mini",
	            .messages = &m,
	            .nmessages = 1,
	            .stream = stream,
	            .max_attempts = 1,
	            .input_per_mtok = 0.15,
	            .output_per_mtok = 0.6,
	        },
	};

	run(&b, inflight * 4L, inflight); /* warm up: connections and the easy-handle pool */
	if (b.failed)
		fprintf(stderr, "bench_llm: warm-up: %ld of %ld calls failed; first: %s\n", b.failed, b.done,
		        b.first_error);
	double c0 = cpu_us();
	int64_t t0 = time_mono_us();
	run(&b, calls, inflight);
	double wall_s = (double) (time_mono_us() - t0) / 1e6;
	double cpu = cpu_us() - c0;

	double rate = (double) b.done / wall_s;
	double per = cpu / (double) b.done;
	printf("bench_llm: %ld calls, %d in flight, 1 thread, %s, %s\n", b.done, inflight,
	       stream ? "streaming" : "plain", base);
	printf("  failed            %ld%s%s\n", b.failed, b.failed ? "  first: " : "", b.first_error);
	printf("  wall              %.3f s\n", wall_s);
	printf("  calls/s           %.0f   (goal >= %.0f: ratio %.2f)\n", rate, GOAL_CALLS_PER_S,
	       rate / GOAL_CALLS_PER_S);
	printf("  client CPU/call   %.1f us (goal < %.0f: ratio %.2f, below 1 is better)\n", per, GOAL_CPU_US,
	       per / GOAL_CPU_US);
	printf("  client CPU util   %.0f%% of one core\n", cpu / (wall_s * 1e6) * 100);
	llm_client_free(&b.c);
	return b.failed ? 1 : 0;
}
