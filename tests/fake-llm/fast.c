/*
 * fake_llm_fast: the benchmarks' provider. It speaks OpenAI Chat
 * Completions (plain and streamed) and embeddings with canned answers, at
 * a few microseconds of CPU per call, so that a benchmark on two cores
 * measures the client rather than the fake. Nothing is scripted or
 * recorded: tests use the scripted Node fake (server.js). Never part of
 * the product.
 *
 * usage: fake_llm_fast [--port N] [--threads N]   prints {"port":N}
 */
#include <microhttpd.h>

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct upload {
	char body[8192];
	size_t len;
};

static const char plain[] =
    "{\"id\":\"chatcmpl-fast\",\"object\":\"chat.completion\",\"created\":1767225600,\"model\":\"fast-model\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13}}";

static const char stream[] =
    "data: {\"id\":\"chatcmpl-fast\",\"object\":\"chat.completion.chunk\",\"model\":\"fast-model\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-fast\",\"object\":\"chat.completion.chunk\",\"model\":\"fast-model\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"content\":\"o\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-fast\",\"object\":\"chat.completion.chunk\",\"model\":\"fast-model\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"content\":\"k\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-fast\",\"object\":\"chat.completion.chunk\",\"model\":\"fast-model\",\"choices\":"
    "[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"id\":\"chatcmpl-fast\",\"object\":\"chat.completion.chunk\",\"model\":\"fast-model\",\"choices\":[],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":2,\"total_tokens\":14}}\n\n"
    "data: [DONE]\n\n";

static const char embedding[] =
    "{\"object\":\"list\",\"model\":\"fast-embed\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":"
    "[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]}],\"usage\":{\"prompt_tokens\":1,\"total_tokens\":1}}";

static const char notfound[] = "{\"error\":{\"message\":\"no such path\",\"type\":\"invalid_request_error\"}}";

static struct MHD_Response *r_plain, *r_stream, *r_embed, *r_404;

static struct MHD_Response *canned(const char *body, size_t len, const char *ctype)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *) body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", ctype);
	return r;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **con_cls)
{
	(void) cls;
	(void) version;
	struct upload *u = *con_cls;
	if (!u) {
		/* Answer on a later call: an answer queued on the first closes
		 * the connection. */
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*size) {
		size_t room = sizeof(u->body) - 1 - u->len;
		size_t n = *size < room ? *size : room;
		memcpy(u->body + u->len, data, n);
		u->len += n;
		*size = 0;
		return MHD_YES;
	}
	u->body[u->len] = '\0';
	struct MHD_Response *r = r_404;
	unsigned code = 404;
	if (strcmp(method, "POST") == 0 && ends_with(url, "/chat/completions")) {
		/* The one field that changes the answer: a cheap look, not a parse. */
		bool streamed = strstr(u->body, "\"stream\":true") != NULL;
		r = streamed ? r_stream : r_plain;
		code = 200;
	} else if (strcmp(method, "POST") == 0 && ends_with(url, "/embeddings")) {
		r = r_embed;
		code = 200;
	}
	return MHD_queue_response(c, code, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	(void) cls;
	(void) c;
	(void) t;
	free(*con_cls);
	*con_cls = NULL;
}

int main(int argc, char **argv)
{
	unsigned port = 0, threads = 2;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = (unsigned) atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = (unsigned) atoi(argv[i + 1]);
	}
	r_plain = canned(plain, sizeof(plain) - 1, "application/json");
	r_stream = canned(stream, sizeof(stream) - 1, "text/event-stream");
	r_embed = canned(embedding, sizeof(embedding) - 1, "application/json");
	r_404 = canned(notfound, sizeof(notfound) - 1, "application/json");
	struct MHD_Daemon *d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t) port, NULL, NULL, on_request, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "fake_llm_fast: cannot listen\n");
		return 1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("{\"port\":%u}\n", di ? di->port : port);
	fflush(stdout);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
