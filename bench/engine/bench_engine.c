/*
 * bench_engine: the peers' workload (3 agents, 3 sequential tasks, each task
 * passing its output on as context) run in-process through the engine's
 * sequential driver against a fake provider (bench/engine/run starts the C
 * fake), one loop thread, 1 and N crews in flight. Prints crews/s, agent
 * steps/s (one step = one model call and what the engine does around it) and
 * this process's CPU per agent step (issue 10 point 6: under 200 µs).
 * usage: bench_engine --base URL [--crews N] [--inflight K]
 */
#include "engine/engine.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define GOAL_CPU_US_PER_STEP 200.0

struct bench {
	struct engine_loop *loop;
	struct engine_crew_spec spec;
	long started, done, failed, total, events;
};

static void on_event(void *ud, const struct engine_event *ev)
{
	struct bench *b = ud;
	(void) ev;
	b->events++;
}

static void start_one(struct bench *b)
{
	b->started++;
	engine_crew_start(b->loop, &b->spec);
}

static void on_done(void *ud, const struct engine_result *res)
{
	struct bench *b = ud;
	b->done++;
	if (res->outcome != ENGINE_SUCCEEDED && !b->failed++)
		fprintf(stderr, "first failure: %s\n", res->error ? res->error : engine_outcome_name(res->outcome));
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

static void run(struct bench *b, long crews, int inflight, bool report)
{
	b->started = b->done = b->failed = b->events = 0;
	b->total = crews;
	double c0 = cpu_us();
	int64_t t0 = time_mono_us();
	for (int i = 0; i < inflight && b->started < crews; i++)
		start_one(b);
	while (b->done < crews)
		engine_loop_run(b->loop, 100);
	double wall = (double) (time_mono_us() - t0) / 1e6, cpu = cpu_us() - c0;
	double steps = (double) crews * 3;
	if (!report)
		return;
	printf("  %3d in flight: %7.0f crews/s  %8.0f agent steps/s  %6.1f us CPU per agent step (goal < %.0f: %.2fx)"
	       "  %ld failed, %.1f events/step\n",
	       inflight, (double) crews / wall, steps / wall, cpu / steps, GOAL_CPU_US_PER_STEP,
	       cpu / steps / GOAL_CPU_US_PER_STEP, b->failed, (double) b->events / steps);
}

int main(int argc, char **argv)
{
	const char *base = NULL;
	long crews = 2000;
	int inflight = 200;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--base"))
			base = argv[i + 1];
		else if (!strcmp(argv[i], "--crews"))
			crews = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--inflight"))
			inflight = atoi(argv[i + 1]);
	}
	if (!base) {
		fprintf(stderr, "usage: bench_engine --base URL [--crews N] [--inflight K]\n");
		return 2;
	}
	core_init();
	llm_init();
	static struct engine_agent agents[3];
	static const char *const roles[] = {"Researcher of {topic}", "Writer", "Editor"};
	for (int i = 0; i < 3; i++)
		agents[i] = (struct engine_agent){
		    .role = roles[i],
		    .goal = "Do the part of the job that falls to you about {topic}",
		    .backstory = "A careful professional.",
		    .llm = {.provider = LLM_OPENAI_COMPATIBLE,
		            .base_url = base,
		            .api_key = "sk-bench",
		            .model = "gpt-4o-mini"},
		};
	const struct engine_agent *ap[] = {&agents[0], &agents[1], &agents[2]};
	static const struct engine_task tasks[] = {
	    {.key = "research", .description = "Research {topic}.", .expected_output = "Ten bullet points."},
	    {.key = "write", .description = "Write an article from the research.", .expected_output = "An article."},
	    {.key = "edit", .description = "Edit the article.", .expected_output = "The edited article."},
	};
	json_t *inputs = json_pack("{s:s}", "topic", "AI agents");
	struct bench b = {.loop = engine_loop_new(NULL)};
	b.spec = (struct engine_crew_spec){.agents = ap,
	                                   .tasks = tasks,
	                                   .ntasks = 3,
	                                   .inputs = inputs,
	                                   .on_event = on_event,
	                                   .on_done = on_done,
	                                   .ud = &b};
	printf("bench_engine: %ld crews of 3 sequential tasks (3 agent steps each), one loop thread, streamed calls\n",
	       crews);
	run(&b, 200, 50, false); /* warm-up: connections */
	run(&b, crews / 10 > 0 ? crews / 10 : 1, 1, true);
	run(&b, crews, inflight, true);
	engine_loop_free(&b.loop);
	json_decref(inputs);
	return b.failed ? 1 : 0;
}
