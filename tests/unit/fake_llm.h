/*
 * The scripted fake provider (tests/fake-llm/server.js) for the live unit
 * tests: start it, script it, read what the client sent. A suite that cannot
 * start its fake fails: it never passes by skipping.
 */
#ifndef TROUPE_TEST_FAKE_LLM_H
#define TROUPE_TEST_FAKE_LLM_H

#include "core/core.h"
#include "t.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t fake_pid;
static int fake_port;
static char base[64];    /* http://127.0.0.1:N */
static char base_v1[80]; /* …/v1 */

/* ---- the fake server ---- */

static inline int fake_try_start(void)
{
	const char *root = getenv("TROUPE_SOURCE_ROOT");
	char script[4096], line[256];
	int fds[2];
	FILE *f;

	snprintf(script, sizeof(script), "%s/tests/fake-llm/server.js", root && *root ? root : ".");
	if (access(script, R_OK) != 0 || pipe(fds) != 0)
		return -1;
	fake_pid = fork();
	if (fake_pid < 0)
		return -1;
	if (fake_pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execlp("node", "node", script, "--port", "0", (char *) NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof(line), f))
		return -1;
	fclose(f);
	json_t *j = json_loads(line, 0, NULL);
	fake_port = (int) json_integer_value(json_object_get(j, "port"));
	json_decref(j);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", fake_port);
	snprintf(base_v1, sizeof(base_v1), "%s/v1", base);
	return fake_port > 0 ? 0 : -1;
}

static inline void fake_stop(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
	}
}

static inline size_t collect(char *p, size_t s, size_t n, void *ud)
{
	buf_append(ud, p, s * n);
	return s * n;
}

/* A control request to the fake (plain blocking curl: not the code under test). */
static inline json_t *fake_http(const char *path, const char *body)
{
	char url[256];
	struct buf b;
	CURL *e = curl_easy_init();
	json_t *j = NULL;

	snprintf(url, sizeof(url), "%s%s", base, path);
	buf_init(&b, 0);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	if (body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(e) == CURLE_OK)
		j = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
	curl_easy_cleanup(e);
	buf_free(&b);
	return j;
}

static inline void fake_script(const char *rules)
{
	json_decref(fake_http("/_script", rules));
}

/* The body of the last recorded request to path. */
static inline json_t *last_request(const char *path)
{
	json_t *all = fake_http("/_requests", NULL), *found = NULL;
	json_t *reqs = json_object_get(all, "requests");
	for (size_t i = json_array_size(reqs); i-- > 0;) {
		json_t *r = json_array_get(reqs, i);
		if (str_eq(json_string_value(json_object_get(r, "path")), path)) {
			found = json_incref(r);
			break;
		}
	}
	json_decref(all);
	return found;
}

/* Starts the fake or ends the program as a failure (TAP "Bail out!", exit 1). */
static inline void fake_start(void)
{
	if (fake_try_start() == 0)
		return;
	printf("not ok 1 - start node tests/fake-llm/server.js (node on PATH? TROUPE_SOURCE_ROOT set?)\n");
	printf("Bail out! no fake provider, so nothing here can be tested\n");
	fake_stop();
	exit(1);
}

/* Like fake_script, with ' written for " so scripts read as JSON. */
static inline void fake_scriptq(const char *rules)
{
	char *s = xstrdup(rules);
	for (char *c = s; *c; c++)
		if (*c == '\'')
			*c = '"';
	fake_script(s);
	free(s);
}

/* The recorded provider requests whose body mentions marker, oldest first (a new reference). */
static inline json_t *fake_requests_with(const char *marker)
{
	json_t *all = fake_http("/_requests", NULL), *out = json_array();
	json_t *reqs = json_object_get(all, "requests");
	for (size_t i = 0; i < json_array_size(reqs); i++) {
		json_t *r = json_array_get(reqs, i);
		char *b = json_dumps(json_object_get(r, "body"), JSON_COMPACT | JSON_ENCODE_ANY);
		if (b && strstr(b, marker))
			json_array_append(out, r);
		free(b);
	}
	json_decref(all);
	return out;
}

#endif
