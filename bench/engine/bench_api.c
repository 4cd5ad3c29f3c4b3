/*
 * bench_api: the peers' workload end to end through the API (issue 10 point
 * 6). It execs `troupe serve` on a data directory that bench/engine/run
 * migrated and furnished (an API key, a model on the fast fake, three
 * agents, the workflow), then:
 *   - first crew: ms from the exec to the first crew done (its execute
 *     retried until the server listens, then polled every millisecond);
 *   - for each in-flight level K: keeps K executions in flight (POST
 *     …/execute, then its event stream until the final event, or with
 *     --wait poll GET /api/v1/executions/{id} until it ends, paced reads),
 *     executions per second, and the server's CPU per
 *     agent step from /proc/PID/stat (utime + stime over the phase, divided
 *     by 3 steps per execution; the GETs that waited are counted in it and
 *     reported apart, measured alone at the end);
 *   - VmHWM (peak RSS) of the server after the largest level.
 * usage: bench_api --bin TROUPE --data DIR --key KEY --workflow ID
 *                  [--levels 1,200,1000] [--seconds S] [--wait stream|poll] [--log FILE]
 *                  [-- extra serve args]
 * --wait stream (the default) waits for each execution on its event stream
 * (GET …/events/stream, closed after the final event); poll reads its
 * status (GET /executions/{id}) until it ends.
 * The server's log goes to FILE (default /dev/null); it logs every request.
 * The database is the data directory's SQLite file, or TROUPE_DATABASE_URL.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64 /* concurrent HTTP requests of the client */
/* Status reads cost the server CPU and database round trips, and a read
 * late by d adds d to what is measured, so they are paced: with one
 * execution in flight every POLL_ONE_MS; with more, the first read after
 * half the average execute-to-ended time of the last executions, then
 * waits doubling from POLL_MIN_MS up to a quarter of that average (at least
 * POLL_CAP_MS). The average cannot run away: a read is late by at most a
 * quarter of it. */
#define POLL_ONE_MS 1.0
#define POLL_MIN_MS 2.0
#define POLL_CAP_MS 50.0
#define LEVELS_MAX  8

struct ex {
	char id[64];
	double started, next, delay;
	int polls;
};

enum { KIND_REQ, KIND_STREAM };

struct req {
	int kind; /* KIND_REQ */
	CURL *h;
	struct ex *ex; /* NULL: an execute */
	char body[4096];
	size_t len;
	bool over;
};

/* An execution waited for on its event stream (GET …/events/stream):
 * the server closes it after the final event, whose type is kept. */
struct stream {
	int kind; /* KIND_STREAM */
	CURL *h;
	struct ex *ex;
	char tail[64]; /* the end of the last chunk: a type may straddle two */
	size_t tlen;
	char final[16]; /* succeeded, failed, cancelled; "" before */
};

struct bench {
	const char *base, *key, *workflow, *log;
	bool stream;  /* wait on the event stream, not by status reads */
	long streams; /* open */
	pid_t pid;
	CURLM *m;
	struct curl_slist *hdrs;
	struct req *free_reqs[MAX_CONNS];
	int nfree;
	/* executions waiting for their next poll: a min-heap on next */
	struct ex **heap;
	int nheap, cap;
	/* the phase */
	long target, started, done, failed, polls;
	double latency_ms; /* moving average of execute-to-ended, paces the status reads */
	int inflight, active;
	double deadline;
	char first_error[512];
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);
	if (!p) {
		fprintf(stderr, "bench_api: out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- the server process ---- */

/* utime + stime of pid in seconds (/proc/PID/stat fields 14 and 15). */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}

/* A field of /proc/PID/status in kB (VmHWM, VmRSS, Threads). */
static long proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	size_t fl = strlen(field);
	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			v = atol(line + fl + 1);
			break;
		}
	fclose(f);
	return v;
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (s >= 0 && bind(s, (struct sockaddr *) &a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *) &a, &len) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct req *r = ud;
	size_t k = sz * n;
	if (r->len + k >= sizeof(r->body)) {
		r->over = true;
		return k;
	}
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->body[r->len] = '\0';
	return k;
}

static void req_start(struct bench *b, struct ex *ex)
{
	struct req *r = b->free_reqs[--b->nfree];
	char url[512];
	r->ex = ex;
	r->len = 0;
	r->over = false;
	r->body[0] = '\0';
	curl_easy_reset(r->h);
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, b->hdrs);
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
	if (ex) {
		snprintf(url, sizeof(url), "%s/api/v1/executions/%s", b->base, ex->id);
		curl_easy_setopt(r->h, CURLOPT_HTTPGET, 1L);
		ex->polls++;
		b->polls++;
	} else {
		snprintf(url, sizeof(url), "%s/api/v1/workflows/%s/execute", b->base, b->workflow);
		curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, "{\"inputs\":{\"topic\":\"AI agents\"}}");
		b->started++;
	}
	curl_easy_setopt(r->h, CURLOPT_URL, url);
	curl_multi_add_handle(b->m, r->h);
	b->active++;
}

static void stream_scan(struct stream *st, const char *p, size_t n)
{
	static const char *const finals[] = {"succeeded", "failed", "cancelled"};
	const char *key = "event: execution.";
	size_t kl = strlen(key);
	for (size_t i = 0; i + kl <= n; i++) {
		if (p[i] != 'e' || memcmp(p + i, key, kl))
			continue;
		for (size_t f = 0; f < 3; f++) {
			size_t fl = strlen(finals[f]);
			if (i + kl + fl <= n && !memcmp(p + i + kl, finals[f], fl))
				snprintf(st->final, sizeof(st->final), "%s", finals[f]);
		}
	}
}

static size_t on_stream(char *p, size_t sz, size_t n, void *ud)
{
	struct stream *st = ud;
	size_t k = sz * n, head = k < 64 ? k : 64;
	char joint[128];
	memcpy(joint, st->tail, st->tlen);
	memcpy(joint + st->tlen, p, head);
	stream_scan(st, joint, st->tlen + head);
	stream_scan(st, p, k);
	st->tlen = k < sizeof(st->tail) ? k : sizeof(st->tail);
	memcpy(st->tail, p + k - st->tlen, st->tlen);
	return k;
}

static void stream_start(struct bench *b, struct ex *ex)
{
	struct stream *st = xcalloc(1, sizeof(*st));
	char url[512];
	st->kind = KIND_STREAM;
	st->ex = ex;
	st->h = curl_easy_init();
	snprintf(url, sizeof(url), "%s/api/v1/executions/%s/events/stream", b->base, ex->id);
	curl_easy_setopt(st->h, CURLOPT_URL, url);
	curl_easy_setopt(st->h, CURLOPT_HTTPHEADER, b->hdrs);
	curl_easy_setopt(st->h, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(st->h, CURLOPT_WRITEDATA, st);
	curl_easy_setopt(st->h, CURLOPT_PRIVATE, st);
	curl_easy_setopt(st->h, CURLOPT_NOSIGNAL, 1L);
	curl_multi_add_handle(b->m, st->h);
	b->streams++;
}

static void heap_push(struct bench *b, struct ex *e)
{
	if (b->nheap == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 1024;
		struct ex **h = realloc(b->heap, (size_t) b->cap * sizeof(*h));
		if (!h) {
			fprintf(stderr, "bench_api: out of memory\n");
			exit(1);
		}
		b->heap = h;
	}
	int i = b->nheap++;
	while (i > 0 && b->heap[(i - 1) / 2]->next > e->next) {
		b->heap[i] = b->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	b->heap[i] = e;
}

static struct ex *heap_pop(struct bench *b)
{
	struct ex *top = b->heap[0], *last = b->heap[--b->nheap];
	int i = 0;
	for (;;) {
		int c = 2 * i + 1;
		if (c >= b->nheap)
			break;
		if (c + 1 < b->nheap && b->heap[c + 1]->next < b->heap[c]->next)
			c++;
		if (b->heap[c]->next >= last->next)
			break;
		b->heap[i] = b->heap[c];
		i = c;
	}
	if (b->nheap > 0)
		b->heap[i] = last;
	return top;
}

static void note_failure(struct bench *b, const char *what, const struct req *r)
{
	if (!b->failed++)
		snprintf(b->first_error, sizeof(b->first_error), "%s: %.400s", what, r->body);
}

/* A status read: done when the execution has ended, else polled again. */
static void on_poll(struct bench *b, struct req *r, long code)
{
	struct ex *ex = r->ex;
	json_t *j = code == 200 ? json_loads(r->body, 0, NULL) : NULL;
	const char *st = json_string_value(json_object_get(j, "status"));
	if (!st) {
		note_failure(b, "status read", r);
		free(ex);
		b->done++;
	} else if (!strcmp(st, "succeeded") || !strcmp(st, "failed") || !strcmp(st, "cancelled")) {
		if (strcmp(st, "succeeded"))
			note_failure(b, st, r);
		b->latency_ms = 0.9 * b->latency_ms + 0.1 * (now_ms() - ex->started);
		free(ex);
		b->done++;
	} else {
		double cap = b->latency_ms / 4 > POLL_CAP_MS ? b->latency_ms / 4 : POLL_CAP_MS;
		ex->delay = b->inflight == 1 ? POLL_ONE_MS : ex->delay * 2 < cap ? ex->delay * 2 : cap;
		ex->next = now_ms() + ex->delay;
		heap_push(b, ex);
	}
	json_decref(j);
}

static void on_execute(struct bench *b, struct req *r, long code)
{
	json_t *j = code == 202 ? json_loads(r->body, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(j, "id"));
	if (!id || strlen(id) >= sizeof(((struct ex *) 0)->id)) {
		note_failure(b, "execute", r);
		b->done++;
	} else {
		struct ex *ex = xcalloc(1, sizeof(*ex));
		snprintf(ex->id, sizeof(ex->id), "%s", id);
		ex->started = now_ms();
		ex->delay = b->inflight == 1                  ? POLL_ONE_MS
		            : b->latency_ms / 2 > POLL_MIN_MS ? b->latency_ms / 2
		                                              : POLL_MIN_MS;
		ex->next = ex->started + ex->delay;
		if (b->stream)
			stream_start(b, ex);
		else
			heap_push(b, ex);
	}
	json_decref(j);
}

static void stream_end(struct bench *b, struct stream *st, long code)
{
	if (code != 200 || strcmp(st->final, "succeeded")) {
		if (!b->failed++)
			snprintf(b->first_error, sizeof(b->first_error), "stream of %s: HTTP %ld, final event %s",
			         st->ex->id, code, st->final[0] ? st->final : "none");
	}
	b->latency_ms = 0.9 * b->latency_ms + 0.1 * (now_ms() - st->ex->started);
	b->done++;
	b->streams--;
	curl_easy_cleanup(st->h);
	free(st->ex);
	free(st);
}

static void reap(struct bench *b)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(b->m, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct req *r;
		long code = 0;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		curl_multi_remove_handle(b->m, msg->easy_handle);
		if (r->kind == KIND_STREAM) {
			stream_end(b, (struct stream *) r, msg->data.result == CURLE_OK ? code : 0);
			continue;
		}
		b->active--;
		b->free_reqs[b->nfree++] = r;
		if (msg->data.result != CURLE_OK)
			snprintf(r->body, sizeof(r->body), "%s", curl_easy_strerror(msg->data.result));
		if (r->ex)
			on_poll(b, r, msg->data.result == CURLE_OK ? code : 0);
		else
			on_execute(b, r, msg->data.result == CURLE_OK ? code : 0);
	}
}

/* Starts what is due: polls first, then new executions up to the level. */
static void schedule(struct bench *b)
{
	double t = now_ms();
	while (b->nfree > 0 && b->nheap > 0 && b->heap[0]->next <= t)
		req_start(b, heap_pop(b));
	while (b->nfree > 0 && b->started - b->done < b->inflight && b->started < b->target && t < b->deadline)
		req_start(b, NULL);
}

struct phase {
	int inflight;
	long done, failed, polls;
	double wall_s, cpu_s;
};

static void run_phase(struct bench *b, int inflight, long target, double seconds, struct phase *out)
{
	b->target = target;
	b->inflight = inflight;
	b->started = b->done = b->failed = b->polls = 0;
	b->first_error[0] = '\0';
	double c0 = proc_cpu_s(b->pid), t0 = now_ms();
	b->deadline = t0 + seconds * 1e3;
	for (;;) {
		schedule(b);
		if (b->done == b->started && (b->started >= b->target || now_ms() >= b->deadline))
			break;
		int running;
		curl_multi_perform(b->m, &running);
		reap(b);
		schedule(b);
		int wait_ms = 1;
		if (b->active == 0 && b->nheap > 0) {
			double d = b->heap[0]->next - now_ms();
			wait_ms = d < 0 ? 0 : (int) d + 1;
		} else if (b->nheap == 0 && b->streams > 0) {
			wait_ms = 10; /* only streams: their data wakes the poll */
		}
		curl_multi_poll(b->m, NULL, 0, wait_ms, NULL);
	}
	*out = (struct phase){.inflight = inflight,
	                      .done = b->done,
	                      .failed = b->failed,
	                      .polls = b->polls,
	                      .wall_s = (now_ms() - t0) / 1e3,
	                      .cpu_s = proc_cpu_s(b->pid) - c0};
	if (b->failed)
		fprintf(stderr, "  %d in flight: %ld failed; the first: %s\n", inflight, b->failed, b->first_error);
}

/* One blocking request; returns the HTTP code (0: no connection). */
static long simple(struct bench *b, const char *method, const char *path, const char *body, struct req *r)
{
	char url[512];
	snprintf(url, sizeof(url), "%s%s", b->base, path);
	r->len = 0;
	r->over = false;
	r->body[0] = '\0';
	curl_easy_reset(r->h);
	curl_easy_setopt(r->h, CURLOPT_URL, url);
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, b->hdrs);
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
	if (!strcmp(method, "POST"))
		curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, body);
	long code = 0;
	if (curl_easy_perform(r->h) == CURLE_OK)
		curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

static bool json_status_is(const char *text, const char *want, char *id, size_t idsz)
{
	json_t *j = json_loads(text, 0, NULL);
	const char *s = json_string_value(json_object_get(j, "status"));
	bool ok = s && !strcmp(s, want);
	if (id && json_string_value(json_object_get(j, "id")))
		snprintf(id, idsz, "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	return ok;
}

/* exec to the first crew done; -1 on failure. id gets the execution's id. */
static double first_crew(struct bench *b, char **serve_argv, char *id, size_t idsz)
{
	struct req r = {.h = curl_easy_init()};
	char path[256];
	double t0 = now_ms(), done = -1;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(serve_argv[0], serve_argv);
		_exit(127);
	}
	b->pid = pid;
	if (pid < 0)
		goto out;
	snprintf(path, sizeof(path), "/api/v1/workflows/%s/execute", b->workflow);
	long code;
	while ((code = simple(b, "POST", path, "{\"inputs\":{\"topic\":\"AI agents\"}}", &r)) != 202) {
		if (code != 0 || now_ms() - t0 > 20000 || waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "bench_api: execute answered %ld: %s\n", code, r.body);
			goto out;
		}
		usleep(500);
	}
	json_status_is(r.body, "queued", id, idsz);
	snprintf(path, sizeof(path), "/api/v1/executions/%s", id);
	while (now_ms() - t0 < 20000) {
		if (simple(b, "GET", path, NULL, &r) == 200 && (json_status_is(r.body, "succeeded", NULL, 0))) {
			done = now_ms() - t0;
			break;
		}
		if (json_status_is(r.body, "failed", NULL, 0)) {
			fprintf(stderr, "bench_api: the first crew failed: %s\n", r.body);
			break;
		}
		usleep(1000);
	}
out:
	curl_easy_cleanup(r.h);
	return done;
}

/* Server CPU of one status read alone: n GETs of an ended execution. */
static double cpu_per_get_us(struct bench *b, const char *id, long n)
{
	struct ex *exs = xcalloc((size_t) n, sizeof(*exs));
	double c0 = proc_cpu_s(b->pid);
	long reads = 0;
	b->target = 0;
	b->started = b->done = b->failed = b->polls = 0;
	for (long i = 0; i < n; i++) {
		snprintf(exs[i].id, sizeof(exs[i].id), "%s", id);
		while (b->nfree == 0) {
			int running;
			curl_multi_perform(b->m, &running);
			CURLMsg *msg;
			int left;
			while ((msg = curl_multi_info_read(b->m, &left))) {
				struct req *r;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
				curl_multi_remove_handle(b->m, msg->easy_handle);
				b->active--;
				b->free_reqs[b->nfree++] = r;
				reads++;
			}
			if (b->nfree == 0)
				curl_multi_poll(b->m, NULL, 0, 1, NULL);
		}
		req_start(b, &exs[i]);
	}
	while (b->active > 0) {
		int running;
		curl_multi_perform(b->m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(b->m, &left))) {
			struct req *r;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
			curl_multi_remove_handle(b->m, msg->easy_handle);
			b->active--;
			b->free_reqs[b->nfree++] = r;
			reads++;
		}
		curl_multi_poll(b->m, NULL, 0, 1, NULL);
	}
	double cpu = proc_cpu_s(b->pid) - c0;
	free(exs);
	return reads ? cpu * 1e6 / (double) reads : 0;
}

int main(int argc, char **argv)
{
	const char *bin = NULL, *data = NULL, *levels_s = "1,200,1000";
	double seconds = 8;
	struct bench b = {.log = "/dev/null", .stream = true};
	int extra = argc;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			extra = i + 1;
			break;
		}
		if (i + 1 >= argc)
			break;
		if (!strcmp(argv[i], "--bin"))
			bin = argv[++i];
		else if (!strcmp(argv[i], "--data"))
			data = argv[++i];
		else if (!strcmp(argv[i], "--key"))
			b.key = argv[++i];
		else if (!strcmp(argv[i], "--workflow"))
			b.workflow = argv[++i];
		else if (!strcmp(argv[i], "--levels"))
			levels_s = argv[++i];
		else if (!strcmp(argv[i], "--wait"))
			b.stream = !strcmp(argv[++i], "stream");
		else if (!strcmp(argv[i], "--log"))
			b.log = argv[++i];
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
	}
	if (!bin || !data || !b.key || !b.workflow) {
		fprintf(stderr, "usage: bench_api --bin TROUPE --data DIR --key KEY --workflow ID [--levels 1,200,1000]"
		                " [--seconds S] [-- serve args]\n");
		return 2;
	}
	int levels[LEVELS_MAX], nlevels = 0;
	for (const char *p = levels_s; *p && nlevels < LEVELS_MAX;) {
		levels[nlevels++] = atoi(p);
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	int port = free_port();
	char listen[64], base[96], auth[512];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(base, sizeof(base), "http://%s", listen);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", b.key);
	b.base = base;
	char *sargv[64];
	int n = 0;
	sargv[n++] = (char *) bin;
	sargv[n++] = "serve";
	sargv[n++] = "--listen";
	sargv[n++] = listen;
	sargv[n++] = "--data";
	sargv[n++] = (char *) data;
	for (int i = extra; i < argc && n < 62; i++)
		sargv[n++] = argv[i];
	sargv[n] = NULL;

	/* the client is one address; the default per-principal limit would
	 * answer 429 long before the engine is the bound */
	setenv("TROUPE_RATE_LIMIT_DEFAULT", "100000000/min", 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	b.hdrs = curl_slist_append(NULL, auth);
	b.hdrs = curl_slist_append(b.hdrs, "Content-Type: application/json");
	b.m = curl_multi_init();
	curl_multi_setopt(b.m, CURLMOPT_MAXCONNECTS, (long) MAX_CONNS * 2);
	struct req *reqs = xcalloc(MAX_CONNS, sizeof(*reqs));
	for (int i = 0; i < MAX_CONNS; i++) {
		reqs[i].h = curl_easy_init();
		b.free_reqs[b.nfree++] = &reqs[i];
	}

	char first_id[64] = "";
	int rc = 1;
	double first = first_crew(&b, sargv, first_id, sizeof(first_id));
	if (first < 0)
		goto out;
	printf("first crew done %.1f ms after the exec of troupe serve\n", first);
	struct phase warm, ph[LEVELS_MAX];
	run_phase(&b, 50, 500, seconds, &warm); /* connections, caches, the page cache */
	long failed = warm.failed;
	for (int i = 0; i < nlevels; i++) {
		run_phase(&b, levels[i],
		          levels[i] == 1           ? 400
		          : 20L * levels[i] > 6000 ? 20L * levels[i]
		                                   : 6000,
		          seconds, &ph[i]);
		failed += ph[i].failed;
		printf(
		    "level %d: %ld executions in %.2f s = %.1f/s, server CPU %.3f s, %.1f status reads per execution\n",
		    ph[i].inflight, ph[i].done, ph[i].wall_s, (double) ph[i].done / ph[i].wall_s, ph[i].cpu_s,
		    (double) ph[i].polls / (double) (ph[i].done ? ph[i].done : 1));
	}
	long hwm = proc_status_kb(b.pid, "VmHWM"), threads = proc_status_kb(b.pid, "Threads");
	double get_us = cpu_per_get_us(&b, first_id, 2000);
	/* machine-readable lines for bench/engine/run */
	printf("RESULT first_ms=%.1f hwm_kb=%ld threads=%ld get_cpu_us=%.1f failed=%ld\n", first, hwm, threads, get_us,
	       failed);
	for (int i = 0; i < nlevels; i++) {
		double steps = 3.0 * (double) ph[i].done;
		double cpu_us = steps > 0 ? ph[i].cpu_s * 1e6 / steps : 0;
		double net = steps > 0 ? (ph[i].cpu_s * 1e6 - (double) ph[i].polls * get_us) / steps : 0;
		printf("RESULT level=%d done=%ld rate=%.1f cpu_us_step=%.1f cpu_us_step_net=%.1f reads=%.2f\n",
		       ph[i].inflight, ph[i].done, (double) ph[i].done / ph[i].wall_s, cpu_us, net,
		       (double) ph[i].polls / (double) (ph[i].done ? ph[i].done : 1));
	}
	rc = failed ? 1 : 0;
out:
	if (b.pid > 0) {
		kill(b.pid, SIGTERM);
		waitpid(b.pid, NULL, 0);
	}
	for (int i = 0; i < MAX_CONNS; i++)
		curl_easy_cleanup(reqs[i].h);
	free(reqs);
	free(b.heap);
	curl_multi_cleanup(b.m);
	curl_slist_free_all(b.hdrs);
	curl_global_cleanup();
	return rc;
}
