/* core/config: precedence, validation, the secret. */
#include "core/config.h"
#include "t.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int load(struct config *c, enum role_kind run, int argc, char **argv, char *err)
{
	return config_load(c, run, argc, argv, err, 256);
}

static void test_defaults_and_flags(void)
{
	struct config c;
	char err[256] = "";
	T_EQ_INT(load(&c, RUN_SERVE, 0, NULL, err), 0, "defaults load");
	T_EQ_STR(c.listen, "127.0.0.1:8080", "default listen");
	T_EQ_STR(c.listen_host, "127.0.0.1", "listen host");
	T_EQ_INT(c.listen_port, 8080, "listen port");
	T_EQ_STR(c.data_dir, "./data", "default data dir");
	T_EQ_INT(c.body_limit, 1048576, "default body limit");
	T_OK(c.allow_registration, "registration on by default");
	config_free(&c);

	char *argv[] = {"--listen", "[::1]:9000", "--data=/tmp/x", "--trust-proxy", "--body-limit", "4096"};
	T_EQ_INT(load(&c, RUN_SERVE, 6, argv, err), 0, "flags load: %s", err);
	T_EQ_STR(c.listen_host, "::1", "IPv6 host without brackets");
	T_EQ_INT(c.listen_port, 9000, "port");
	T_EQ_STR(c.data_dir, "/tmp/x", "--key=value form");
	T_OK(c.trust_proxy, "a bare boolean flag is true");
	T_EQ_INT(c.body_limit, 4096, "integer flag");
	config_free(&c);
}

static void test_errors(void)
{
	static const struct {
		const char *flag, *value, *want;
	} cases[] = {
	    {"--listen", "nowhere", "invalid listen"},
	    {"--listen", "1.2.3.4:70000", "invalid listen"},
	    {"--body-limit", "12", "invalid body_limit"},
	    {"--body-limit", "lots", "invalid body_limit"},
	    {"--log-level", "loud", "invalid log_level"},
	    {"--log-format", "xml", "invalid log_format"},
	    {"--database-url", "mysql://x", "invalid database_url"},
	    {"--allow-registration=perhaps", NULL, "invalid allow_registration"},
	    {"--bogus", "1", "unknown option --bogus"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct config c;
		char err[256] = "";
		char *argv[] = {(char *) cases[i].flag, (char *) cases[i].value};
		const char *v = cases[i].value ? cases[i].value : "";
		T_EQ_INT(load(&c, RUN_SERVE, cases[i].value ? 2 : 1, argv, err), -1, "%s %s is refused", cases[i].flag,
		         v);
		T_OK(strstr(err, cases[i].want) != NULL, "%s %s: \"%s\" names the setting", cases[i].flag, v, err);
		config_free(&c);
	}
	struct config c;
	char err[256] = "";
	char *argv[] = {"--listen", "x:1"};
	T_EQ_INT(load(&c, RUN_WORKER, 2, argv, err), -1, "worker takes no --listen");
	config_free(&c);
	char *help[] = {"--help"};
	T_EQ_INT(load(&c, RUN_SERVE, 1, help, err), 1, "--help asks for help");
	config_free(&c);
}

static void test_precedence(void)
{
	char dir[] = "/tmp/troupe-config-XXXXXX";
	T_OK(mkdtemp(dir) != NULL, "temp dir");
	char *file = xasprintf("%s/troupe.conf", dir);
	FILE *f = fopen(file, "w");
	fprintf(f, "# a comment\n\nlisten = 127.0.0.1:1111\nbody_limit = \"2048\"\nworkers = 7\n"
	           "outbound_allow = \"wiki.corp.example, 10.20.0.0/16\"\n");
	fclose(f);
	setenv("TROUPE_CONFIG_FILE", file, 1);
	setenv("TROUPE_BODY_LIMIT", "3072", 1);
	struct config c;
	char err[256] = "";
	char *argv[] = {"--listen", "127.0.0.1:3333"};
	T_EQ_INT(load(&c, RUN_SERVE, 2, argv, err), 0, "file, environment and flags load: %s", err);
	T_EQ_INT(c.listen_port, 3333, "the flag beats the environment and the file");
	T_EQ_INT(c.body_limit, 3072, "the environment beats the file");
	T_EQ_INT(c.workers, 7, "the file beats the default");
	T_EQ_STR(c.outbound_allow, "wiki.corp.example, 10.20.0.0/16", "outbound_allow from the file");
	config_free(&c);
	unsetenv("TROUPE_BODY_LIMIT");

	f = fopen(file, "w");
	fprintf(f, "colour = blue\n");
	fclose(f);
	T_EQ_INT(load(&c, RUN_SERVE, 0, NULL, err), -1, "an unknown key in the file is refused");
	T_OK(strstr(err, "unknown setting \"colour\"") != NULL, "and named: %s", err);
	config_free(&c);
	f = fopen(file, "w");
	fprintf(f, "just words\n");
	fclose(f);
	T_EQ_INT(load(&c, RUN_SERVE, 0, NULL, err), -1, "a line without = is refused");
	T_OK(strstr(err, "line 1") != NULL, "with its line number: %s", err);
	config_free(&c);
	unsetenv("TROUPE_CONFIG_FILE");
	unlink(file);
	free(file);
	rmdir(dir);
}

static void test_secret(void)
{
	char dir[] = "/tmp/troupe-secret-XXXXXX";
	T_OK(mkdtemp(dir) != NULL, "temp dir");
	struct config c;
	char err[256] = "";
	char *data = xasprintf("--data=%s", dir);
	char *argv[] = {data};
	load(&c, RUN_API, 1, argv, err);
	T_EQ_INT(config_resolve_secret(&c, err, sizeof(err)), -1, "api without a secret is refused");
	T_OK(strstr(err, "secret_key") != NULL, "naming secret_key: %s", err);
	config_free(&c);

	load(&c, RUN_SERVE, 1, argv, err);
	T_EQ_INT(config_resolve_secret(&c, err, sizeof(err)), 0, "serve generates one: %s", err);
	T_OK(strlen(c.secret_key) >= 43, "32 random bytes, encoded");
	char *saved = xstrdup(c.secret_key);
	struct stat st;
	T_OK(stat(c.secret_file, &st) == 0 && (st.st_mode & 0777) == 0600, "written with mode 0600");
	config_free(&c);

	load(&c, RUN_API, 1, argv, err);
	T_EQ_INT(config_resolve_secret(&c, err, sizeof(err)), 0, "api then reads the same file");
	T_EQ_STR(c.secret_key, saved, "the same secret");
	config_free(&c);

	setenv("TROUPE_SECRET_KEY", "short", 1);
	load(&c, RUN_SERVE, 1, argv, err);
	T_EQ_INT(config_resolve_secret(&c, err, sizeof(err)), -1, "a short secret is refused");
	T_OK(strstr(err, "at least 32") != NULL, "saying why: %s", err);
	config_free(&c);
	unsetenv("TROUPE_SECRET_KEY");

	char *key = xasprintf("%s/secret.key", dir);
	unlink(key);
	rmdir(dir);
	free(key);
	free(saved);
	free(data);
}

int main(void)
{
	core_init();
	unsetenv("TROUPE_CONFIG_FILE");
	test_defaults_and_flags();
	test_errors();
	test_precedence();
	test_secret();
	return t_done();
}
