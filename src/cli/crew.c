/* troupe import crew / export crew: crewAI files to and from a server. */
#include "cli/cli.h"
#include "core/json_text.h"
#include "cli/cli_int.h"
#include "core/core.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAX   (1024 * 1024)      /* the import route's limit per document */
#define ANSWER_MAX (16 * 1024 * 1024) /* an export is three such documents */
#define TIMEOUT_S  120L

struct answer {
	struct buf body;
	bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
	struct answer *a = ud;
	if (buf_append(&a->body, ptr, size * n) < 0) {
		a->too_big = true;
		return 0;
	}
	return size * n;
}

int cli_request(const char *method, const char *path, const char *body, long *code, json_t **out)
{
	const char *base = getenv("TROUPE_URL"), *key = getenv("TROUPE_API_KEY"), *ws = getenv("TROUPE_WORKSPACE");
	int rc = -1;
	char *url = NULL, *auth = NULL, *wsh = NULL;
	struct curl_slist *h = NULL;
	struct answer a = {0};
	CURL *c = NULL;
	*out = NULL;
	*code = 0;
	if (!base || !*base)
		base = "http://127.0.0.1:8080";
	if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
		fprintf(stderr, "troupe: TROUPE_URL must start with http:// or https://\n");
		return -1;
	}
	if (!key || !*key) {
		fprintf(stderr, "troupe: set TROUPE_API_KEY to an API key of the workspace\n");
		return -1;
	}
	size_t n = strlen(base);
	url = xasprintf("%.*s%s", (int) (n && base[n - 1] == '/' ? n - 1 : n), base, path);
	auth = xasprintf("Authorization: Bearer %s", key);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Accept: application/json");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (ws && *ws) {
		wsh = xasprintf("X-Workspace-Id: %s", ws);
		h = curl_slist_append(h, wsh);
	}
	buf_init(&a.body, ANSWER_MAX);
	if (!(c = curl_easy_init()) || !h)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		/* curl's message names the host and the failure, never the key */
		fprintf(stderr, "troupe: %s %.*s%s: %s\n", a.too_big ? "the answer is too large from" : "cannot reach",
		        (int) (n && base[n - 1] == '/' ? n - 1 : n), base,
		        getenv("TROUPE_URL") && *getenv("TROUPE_URL") ? " (TROUPE_URL)" : " (TROUPE_URL is not set)",
		        curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	if (a.body.len)
		*out = json_loadb(a.body.data, a.body.len, 0, NULL);
	rc = 0;
out:
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(h);
	buf_free(&a.body);
	free(url);
	free(auth);
	free(wsh);
	return rc;
}

int cli_refused(long code, json_t *pb)
{
	const char *detail = json_string_value(json_object_get(pb, "detail"));
	fprintf(stderr, "troupe: the server answered %ld: %s%s\n", code, detail ? detail : "(no detail)",
	        code == 401   ? " (TROUPE_API_KEY)"
	        : code == 403 ? " (the API key's role or workspace)"
	                      : "");
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(pb, "errors"), i, e)
	    fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(e, "field")),
	            json_string_value(json_object_get(e, "message")));
	return 1;
}

/* dir/name read whole (at most FILE_MAX bytes); NULL when absent. */
static char *read_file(const char *dir, const char *name, bool *too_big)
{
	char *path = xasprintf("%s/%s", dir, name), *text = NULL;
	FILE *f = fopen(path, "rb");
	struct buf b;
	buf_init(&b, FILE_MAX);
	*too_big = false;
	if (f) {
		char chunk[8192];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			if (buf_append(&b, chunk, n) < 0) {
				*too_big = true;
				break;
			}
		if (!ferror(f) && !*too_big)
			text = buf_steal(&b);
		fclose(f);
	}
	buf_free(&b);
	free(path);
	return text;
}

static int import_crew(const char *dir)
{
	static const char *const files[] = {"agents.yaml", "tasks.yaml", "crew.yaml"};
	static const char *const keys[] = {"agents_yaml", "tasks_yaml", "crew_yaml"};
	json_t *in = json_object(), *out = NULL;
	int rc = 1;
	long code;
	char *body = NULL;
	for (size_t i = 0; i < 3; i++) {
		bool big;
		char *t = read_file(dir, files[i], &big);
		if (!t && (i < 2 || big)) {
			fprintf(stderr, "troupe: %s/%s: %s\n", dir, files[i],
			        big ? "larger than 1 MiB"
			            : "cannot be read (a crewAI project's config folder holds it)");
			goto out;
		}
		if (t) {
			json_t *s = json_string(t);
			free(t);
			if (!s) {
				fprintf(stderr, "troupe: %s/%s: not UTF-8 text\n", dir, files[i]);
				goto out;
			}
			json_object_set_new(in, keys[i], s);
		}
	}
	body = json_text(in, JSON_COMPACT);
	if (!body || cli_request("POST", "/api/v1/workflows/import", body, &code, &out) < 0)
		goto out;
	if (code != 201) {
		rc = cli_refused(code, out);
		goto out;
	}
	json_t *w = json_object_get(out, "workflow"), *e;
	size_t i;
	printf("%s\n", json_string_value(json_object_get(w, "id")));
	fprintf(stderr, "troupe: imported \"%s\": %zu tasks, %zu agents\n",
	        json_string_value(json_object_get(w, "name")), json_array_size(json_object_get(w, "tasks")),
	        json_array_size(json_object_get(out, "agents")));
	json_array_foreach(json_object_get(out, "warnings"), i, e)
	    fprintf(stderr, "warning: %s: %s\n", json_string_value(json_object_get(e, "field")),
	            json_string_value(json_object_get(e, "message")));
	rc = 0;
out:
	free(body);
	json_decref(in);
	json_decref(out);
	return rc;
}

/* text written to dir/name through a temporary file and a rename. */
static int write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name), *tmp = xasprintf("%s/.%s.tmp", dir, name);
	int rc = -1, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text), done = 0;
	if (fd < 0)
		goto out;
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		done += (size_t) w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	rc = rename(tmp, path);
out:
	if (rc < 0)
		fprintf(stderr, "troupe: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(path);
	free(tmp);
	return rc;
}

static int export_crew(const char *id, const char *dir)
{
	static const char *const files[] = {"agents.yaml", "tasks.yaml", "crew.yaml"};
	static const char *const keys[] = {"agents_yaml", "tasks_yaml", "crew_yaml"};
	json_t *out = NULL;
	long code;
	int rc = 1;
	char *path = NULL;
	/* the id goes into the path: only the characters of a UUID */
	if (strlen(id) > 64 || strspn(id, "0123456789abcdefABCDEF-") != strlen(id)) {
		fprintf(stderr, "troupe: \"%s\" is not a workflow id\n", id);
		return 2;
	}
	path = xasprintf("/api/v1/workflows/%s/export?format=crewai", id);
	if (cli_request("GET", path, NULL, &code, &out) < 0)
		goto out;
	if (code != 200) {
		rc = cli_refused(code, out);
		goto out;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "troupe: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < 3; i++) {
		const char *t = json_string_value(json_object_get(out, keys[i]));
		if (!t) {
			fprintf(stderr, "troupe: the answer lacks %s\n", keys[i]);
			goto out;
		}
		if (write_file(dir, files[i], t) < 0)
			goto out;
	}
	fprintf(stderr, "troupe: wrote %s/agents.yaml, tasks.yaml and crew.yaml\n", dir);
	rc = 0;
out:
	free(path);
	json_decref(out);
	return rc;
}

int cli_crew(int argc, char **argv)
{
	bool import = argc >= 1 && str_eq(argv[0], "import");
	if (argc < 2 || !str_eq(argv[1], "crew") || (import && argc != 3) || (!import && argc != 4)) {
		fprintf(stderr, "troupe: usage: troupe import crew DIR | troupe export crew ID DIR\n"
		                "  (TROUPE_URL, TROUPE_API_KEY and optionally TROUPE_WORKSPACE name the server)\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "troupe: libcurl cannot start\n");
		return 1;
	}
	int rc = import ? import_crew(argv[2]) : export_crew(argv[2], argv[3]);
	curl_global_cleanup();
	return rc;
}
