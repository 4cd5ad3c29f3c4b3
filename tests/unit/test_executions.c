/* executions (src/executions/executions.c): the artifact name rule, one
 * case a line. A task's output_file becomes one safe path segment: the last
 * one, leading dots dropped, anything but [A-Za-z0-9._-] replaced by '_',
 * at most EXECUTIONS_ARTIFACT_NAME_MAX bytes; nothing left is refused. */
#include "core/core.h"
#include "executions/executions.h"
#include "t.h"

#include <string.h>

static const struct {
	const char *in, *want; /* want NULL: refused */
} cases[] = {
    {"report.md", "report.md"},
    {"output/report.md", "report.md"},
    {"../../etc/passwd", "passwd"},
    {"/etc/shadow", "shadow"},
    {"..\\..\\windows\\win.ini", "win.ini"},
    {".hidden", "hidden"},
    {"...", NULL},
    {"..", NULL},
    {"dir/", NULL},
    {"", NULL},
    {NULL, NULL},
    {"my report (final).md", "my_report__final_.md"},
    {"a\"b;c\r\nd.txt", "a_b_c__d.txt"},
    {"naïve.md", "na__ve.md"},
    {"ok-name_1.2.json", "ok-name_1.2.json"},
};

int main(void)
{
	char out[EXECUTIONS_ARTIFACT_NAME_MAX + 1];
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		bool ok = executions_artifact_name(cases[i].in, out, sizeof(out));
		if (cases[i].want)
			T_OK(ok && strcmp(out, cases[i].want) == 0, "artifact name \"%s\" -> \"%s\" (got \"%s\")",
			     cases[i].in, cases[i].want, ok ? out : "refused");
		else
			T_OK(!ok, "artifact name \"%s\" is refused (got \"%s\")", cases[i].in ? cases[i].in : "(null)",
			     ok ? out : "");
	}
	/* a long name is cut at the bound, never past the buffer */
	char longname[400];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	T_OK(executions_artifact_name(longname, out, sizeof(out)) && strlen(out) == EXECUTIONS_ARTIFACT_NAME_MAX,
	     "a 399-byte name is cut to %d bytes", EXECUTIONS_ARTIFACT_NAME_MAX);
	char small[4];
	T_OK(executions_artifact_name("report.md", small, sizeof(small)) && strcmp(small, "rep") == 0,
	     "a small buffer gets what fits, terminated");
	return t_done();
}
