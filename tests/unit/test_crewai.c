/* crewAI import/export: every crew under tests/fixtures/crewai/ imports to
 * its committed expected.json summary and round-trips through export; then
 * one case per line for the rules and the errors.
 * TROUPE_WRITE_EXPECTED=1 rewrites the summaries (review the diff). */
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <unistd.h>

#include "t.h"
#include "../../src/core/core.h"
#include "../../src/workflows/workflows.h"

static char root[1024];

/* The source tree: TROUPE_SOURCE_ROOT, else two levels above this program
 * (build/tests/test_crewai). */
static void find_root(void)
{
	const char *env = getenv("TROUPE_SOURCE_ROOT");
	char exe[PATH_MAX];
	ssize_t n;

	if (env) {
		snprintf(root, sizeof(root), "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	snprintf(root, sizeof(root), "%s/../..", dirname(exe));
}

static char *read_text(const char *dir, const char *name)
{
	char path[4096];
	struct buf b;
	char chunk[4096];
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_steal(&b);
}

/* What a reader checks of an import: tasks with agent and context, agents,
 * inputs, warnings. */
static json_t *summary(const json_t *r)
{
	json_t *w = json_object_get(r, "workflow"), *s = json_object(), *tasks = json_array(), *agents = json_array();
	json_t *inputs = json_array(), *warnings = json_array(), *e;
	size_t i;

	json_object_set(s, "process", json_object_get(w, "process"));
	json_array_foreach(json_object_get(w, "tasks"), i, e)
	{
		json_t *t = json_pack("{s:O}", "key", json_object_get(e, "key"));
		json_t *out = json_object_get(e, "output");
		if (json_object_get(e, "agent_key"))
			json_object_set(t, "agent", json_object_get(e, "agent_key"));
		if (json_object_get(e, "context"))
			json_object_set(t, "context", json_object_get(e, "context"));
		json_object_set(t, "output", json_object_get(out, "format"));
		if (json_object_get(out, "schema"))
			json_object_set(t, "schema_title", json_object_get(json_object_get(out, "schema"), "title"));
		if (json_object_get(e, "tool_names"))
			json_object_set(t, "tools", json_object_get(e, "tool_names"));
		if (json_object_get(e, "output_file"))
			json_object_set(t, "output_file", json_object_get(e, "output_file"));
		json_array_append_new(tasks, t);
	}
	json_array_foreach(json_object_get(r, "agents"), i, e)
	{
		json_t *a =
		    json_pack("{s:O,s:O}", "key", json_object_get(e, "key"), "tools", json_object_get(e, "tool_names"));
		if (json_object_get(e, "llm"))
			json_object_set(a, "llm", json_object_get(e, "llm"));
		json_array_append_new(agents, a);
	}
	json_array_foreach(json_object_get(w, "inputs"), i, e) json_array_append(inputs, json_object_get(e, "name"));
	json_array_foreach(json_object_get(r, "warnings"), i, e)
	{
		char *line = xasprintf("%s: %s", json_string_value(json_object_get(e, "field")),
		                       json_string_value(json_object_get(e, "message")));
		json_array_append_new(warnings, json_string(line));
		free(line);
	}
	json_object_set_new(s, "tasks", tasks);
	json_object_set_new(s, "agents", agents);
	json_object_set_new(s, "inputs", inputs);
	json_object_set_new(s, "warnings", warnings);
	return s;
}

static json_t *import3(const char *agents, const char *tasks, const char *crew, struct problem *p)
{
	json_t *in = json_pack("{s:s,s:s}", "agents_yaml", agents, "tasks_yaml", tasks), *out = NULL;
	if (crew)
		json_object_set_new(in, "crew_yaml", json_string(crew));
	workflows_crewai_import(in, &out, p);
	json_decref(in);
	return out;
}

/* import -> export -> import gives the same workflow and agents. */
static void round_trip(const char *name, const json_t *first)
{
	struct arena *a = arena_new();
	struct problem p;
	json_t *def = json_pack("{s:O,s:O}", "workflow", json_object_get(first, "workflow"), "agents",
	                        json_object_get(first, "agents"));
	json_t *ex = NULL, *again = NULL;

	problem_init(&p, a);
	enum status st = workflows_crewai_export(def, &ex, &p);
	T_EQ_INT(st, ST_OK, "%s: export (%s)", name, p.detail ? p.detail : "-");
	if (ex)
		again = import3(json_string_value(json_object_get(ex, "agents_yaml")),
		                json_string_value(json_object_get(ex, "tasks_yaml")),
		                json_string_value(json_object_get(ex, "crew_yaml")), &p);
	bool same = again && json_equal(json_object_get(again, "workflow"), json_object_get(first, "workflow")) &&
	            json_equal(json_object_get(again, "agents"), json_object_get(first, "agents"));
	T_OK(same, "%s: import of the export equals the import", name);
	if (!same) {
		char *x = json_dumps(again ? again : ex, JSON_INDENT(1));
		printf("#   %s\n#   %s: %s\n", x, p.nfields ? p.fields[0].field : "",
		       p.nfields ? p.fields[0].message : "");
		free(x);
	}
	json_decref(def);
	json_decref(ex);
	json_decref(again);
	arena_free(&a);
}

static int fixture(const char *name)
{
	char dir[2048];
	struct arena *a = arena_new();
	struct problem p;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fixtures/crewai/%s", root, name);
	char *ay = read_text(dir, "agents.yaml"), *ty = read_text(dir, "tasks.yaml"), *cy = read_text(dir, "crew.yaml");
	char *src = read_text(dir, "SOURCE"), *want_text = read_text(dir, "expected.json");
	problem_init(&p, a);
	json_t *r = ay && ty ? import3(ay, ty, cy, &p) : NULL;
	T_OK(r != NULL, "%s: imports (%s %s)", name, p.nfields ? p.fields[0].field : "",
	     p.nfields ? p.fields[0].message : "");
	T_OK(src && strstr(src, "repository:") && strstr(src, "commit:"), "%s: SOURCE names repository and commit",
	     name);
	if (r) {
		json_t *s = summary(r);
		if (getenv("TROUPE_WRITE_EXPECTED")) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/expected.json", dir);
			json_dump_file(s, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		} else {
			json_t *want = want_text ? json_loads(want_text, 0, NULL) : NULL;
			T_OK(want && json_equal(s, want), "%s: the import matches expected.json", name);
			if (!(want && json_equal(s, want))) {
				char *gs = json_dumps(s, JSON_INDENT(2));
				printf("#   got:\n%s\n", gs);
				free(gs);
			}
			json_decref(want);
		}
		json_decref(s);
		round_trip(name, r);
		n = 1;
	}
	json_decref(r);
	free(ay);
	free(ty);
	free(cy);
	free(src);
	free(want_text);
	arena_free(&a);
	return n;
}

static void test_fixtures(void)
{
	char dir[2048];
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fixtures/crewai", root);
	DIR *d = opendir(dir);
	T_OK(d != NULL, "fixtures at %s", dir);
	for (struct dirent *e; d && (e = readdir(d));)
		if (e->d_name[0] != '.' && e->d_type == DT_DIR)
			n += fixture(e->d_name);
	if (d)
		closedir(d);
	T_OK(n >= 9, "the template and at least eight real crews import (%d)", n);
}

#define TPL_AGENTS                                                                                                     \
	"researcher:\n  role: >\n    {topic} Senior Data Researcher\n  goal: Uncover {topic}\n  backstory: "           \
	"Seasoned.\n"                                                                                                  \
	"writer:\n  role: Writer\n  goal: Write\n  backstory: Writes.\n"
#define TPL_TASKS                                                                                                      \
	"research_task:\n  description: Research {topic} in {current_year}\n  expected_output: Ten bullets\n"          \
	"  agent: researcher\n"                                                                                        \
	"report_task:\n  description: Report\n  expected_output: A report\n  agent: writer\n"

/* One case per line: agents.yaml, tasks.yaml, crew.yaml, and either the
 * error (field, words of the message) or a check on the result (a JSON
 * path into it with the JSON it must hold). */
static const struct {
	const char *agents, *tasks, *crew, *field, *msg, *path, *want;
} cases[] = {
    {TPL_AGENTS, TPL_TASKS, NULL, NULL, NULL, "workflow.inputs",
     "[{\"name\":\"topic\",\"type\":\"string\",\"required\":true},{\"name\":\"current_year\",\"type\":\"string\","
     "\"required\":true}]"},
    {TPL_AGENTS, TPL_TASKS, NULL, NULL, NULL, "workflow.process", "\"sequential\""},
    {TPL_AGENTS, TPL_TASKS, NULL, NULL, NULL, "agents.0.role", "\"{topic} Senior Data Researcher\\n\""},
    {TPL_AGENTS, TPL_TASKS, NULL, NULL, NULL, "workflow.tasks.1",
     "{\"key\":\"report_task\",\"description\":\"Report\",\"expected_output\":\"A report\",\"agent_key\":\"writer\","
     "\"async_execution\":false,\"output\":{\"format\":\"text\"},\"human_review\":false}"},
    {TPL_AGENTS,
     "t:\n  description: D {x} {{lit}} {1bad}\n  expected_output: ''\n  agent: writer\n  human_input: true\n"
     "  async_execution: true\n  context: []\n  guardrail: Must cite sources\n  guardrail_max_retries: 2\n"
     "  tools: [calculator]\n  markdown: true\n  output_file: out/{x}.md\n  verbose: true\n  callback: f\n",
     NULL, NULL, NULL, "workflow.tasks.0",
     "{\"key\":\"t\",\"description\":\"D {x} {{lit}} {1bad}\",\"expected_output\":\"\",\"agent_key\":\"writer\","
     "\"context\":[],\"async_execution\":true,\"tool_names\":[\"calculator\"],\"output\":{\"format\":\"markdown\"},"
     "\"guardrail\":{\"type\":\"llm\",\"criteria\":\"Must cite sources\"},\"max_retries\":2,\"human_review\":true,"
     "\"output_file\":\"out/{x}.md\"}"},
    {TPL_AGENTS, "t:\n  description: D\n  expected_output: ''\n  agent: writer\n  verbose: true\n", NULL, NULL, NULL,
     "warnings",
     "[{\"field\":\"tasks_yaml: t.verbose\",\"message\":\"has no meaning in troupe; "
     "ignored\"},{\"field\":\"tasks_yaml: "
     "t.expected_output\",\"message\":\"empty: the agent is not told what a finished answer looks like\"},{\"field\":"
     "\"agents_yaml: researcher\",\"message\":\"no task uses this agent; imported anyway\"}]"},
    {"a:\n  role: R\n  goal: G\n  backstory: B\n  llm: openai/gpt-4o\n  tools: [web_fetch]\n  max_iter: 5\n"
     "  max_rpm: 10\n  max_execution_time: 60\n  max_retry_limit: 0\n  allow_delegation: true\n"
     "  respect_context_window: false\n  memory: true\n  cache: false\n",
     "t:\n  description: D\n  expected_output: E\n  agent: a\n", NULL, NULL, NULL, "agents.0",
     "{\"key\":\"a\",\"name\":\"a\",\"role\":\"R\",\"goal\":\"G\",\"backstory\":\"B\",\"llm\":\"openai/gpt-4o\","
     "\"tool_names\":[\"web_fetch\"],\"max_iter\":5,\"max_rpm\":10,\"max_execution_time_s\":60,\"max_retry_limit\":0,"
     "\"allow_delegation\":true,\"respect_context_window\":false}"},
    {TPL_AGENTS, TPL_TASKS,
     "process: hierarchical\nmanager_llm: gpt-4o\nagents:\n  writer:\n    llm: claude\n    tools: [calculator]\n"
     "    temperature: 0.2\ntasks:\n  report_task:\n    context: [research_task]\n    output_json: {type: object}\n",
     NULL, NULL, "workflow.manager_llm", "\"gpt-4o\""},
    {TPL_AGENTS, TPL_TASKS, "tasks:\n  report_task:\n    output_json: {type: object}\n", NULL, NULL,
     "workflow.tasks.1.output", "{\"format\":\"json\",\"schema\":{\"type\":\"object\"}}"},
    {TPL_AGENTS, TPL_TASKS, "agents:\n  writer:\n    llm: claude\n    tools: [calculator]\n", NULL, NULL,
     "agents.1.tool_names", "[\"calculator\"]"},
    {TPL_AGENTS, "t:\n  description: D\n  expected_output: E\n", "process: hierarchical\nmanager_agent: writer\n", NULL,
     NULL, "workflow.manager_agent_key", "\"writer\""},
    {TPL_AGENTS, TPL_TASKS,
     "inputs:\n  - {name: topic, type: string, required: false, default: AI}\n  - {name: n, type: number, required: "
     "true}\n",
     NULL, NULL, "workflow.inputs.0", "{\"name\":\"topic\",\"type\":\"string\",\"required\":false,\"default\":\"AI\"}"},
    {TPL_AGENTS, TPL_TASKS,
     "inputs:\n  - {name: current_year, type: number, required: true}\n  - {name: extra, type: json, required: "
     "false, default: {a: 1}}\n",
     NULL, NULL, "workflow.inputs",
     "[{\"name\":\"current_year\",\"type\":\"number\",\"required\":true},{\"name\":\"extra\",\"type\":\"json\","
     "\"required\":false,\"default\":{\"a\":1}},{\"name\":\"topic\",\"type\":\"string\",\"required\":true}]"},
    {"a: &base\n  role: R\n  goal: G\n  backstory: B\nb:\n  <<: *base\n  role: R2\n",
     "t:\n  description: D\n  expected_output: E\n  agent: b\n", NULL, NULL, NULL, "agents.1.role", "\"R2\""},
    /* errors */
    {TPL_AGENTS, "t:\n  description: D\n  expected_output: E\n  agent: reseacher\n", NULL, "tasks_yaml: t.agent",
     "no agent with key \"reseacher\" in agents_yaml; did you mean \"researcher\"?"},
    {TPL_AGENTS, "t:\n  description: D\n  expected_output: E\n  agent: nobody_at_all\n", NULL, "tasks_yaml: t.agent",
     "no agent with key \"nobody_at_all\" in agents_yaml"},
    {TPL_AGENTS, "t:\n  description: D\n  agent: writer\n  context: [resarch]\n", NULL, "tasks_yaml: t.context[0]",
     "no task with key \"resarch\""},
    {TPL_AGENTS, "t:\n  description: D\n  expected_output: E\n", NULL, "tasks_yaml: t.agent",
     "required in a sequential process"},
    {TPL_AGENTS, "t:\n  description: D\n  expected_output: E\n", "process: hierarchical\n", "process",
     "needs a manager"},
    {TPL_AGENTS, "t:\n  description: [D]\n  agent: writer\n", NULL, "tasks_yaml: t.description", "must be text"},
    {TPL_AGENTS, "t:\n  expected_output: E\n  agent: writer\n", NULL, "tasks_yaml: t.description", "required"},
    {"a:\n  role: R\n  goal: ''\n", TPL_TASKS, NULL, "agents_yaml: a.backstory", "required"},
    {"a:\n  role: R\n  goal: G\n  backstory: B\n  max_iter: many\n", TPL_TASKS, NULL, "agents_yaml: a.max_iter",
     "must be a whole number"},
    {"a:\n  role: R\n  goal: G\n  backstory: B\n  max_iter: 0\n", TPL_TASKS, NULL, "agents_yaml: a.max_iter",
     "at least 1"},
    {"a:\n  role: R\n  goal: G\n  backstory: B\n  allow_delegation: 'yes'\n", TPL_TASKS, NULL,
     "agents_yaml: a.allow_delegation", "true or false"},
    {"a:\n  role: R\n  goal: G\n  backstory: B\n  tools: web_fetch\n", TPL_TASKS, NULL, "agents_yaml: a.tools",
     "list of names"},
    {"9lives:\n  role: R\n  goal: G\n  backstory: B\n", TPL_TASKS, NULL, "agents_yaml: 9lives", "identifier"},
    {"a: just text\n", TPL_TASKS, NULL, "agents_yaml: a", "must be a mapping"},
    {"researcher:\n  role: R\n  goal: G\n  backstory: B\n  role: again\n", TPL_TASKS, NULL, "agents_yaml",
     "line 5, column 3: the key \"role\" appears twice"},
    {TPL_AGENTS, "research_task:\n  description: >\n    Research\n  agent: [researcher\n", NULL, "tasks_yaml",
     "line 5, column 1:"},
    {"", TPL_TASKS, NULL, "agents_yaml", "must be a mapping of agents"},
    {"- a\n- b\n", TPL_TASKS, NULL, "agents_yaml", "got a list"},
    {TPL_AGENTS, TPL_TASKS, "procss: sequential\n", "crew_yaml: procss", "unknown key"},
    {TPL_AGENTS, TPL_TASKS, "process: parallel\n", "crew_yaml: process", "sequential or hierarchical"},
    {TPL_AGENTS, TPL_TASKS, "agents:\n  writr:\n    llm: x\n", "crew_yaml: agents.writr", "did you mean \"writer\""},
    {TPL_AGENTS, TPL_TASKS, "tasks:\n  report_task:\n    output_json: yes please\n",
     "crew_yaml: tasks.report_task.output_json", "JSON Schema"},
    {TPL_AGENTS, TPL_TASKS, "tasks:\n  report_task:\n    outputjson: {}\n", "crew_yaml: tasks.report_task.outputjson",
     "unknown key"},
    {TPL_AGENTS, TPL_TASKS, "manager_agent: boss\nprocess: hierarchical\n", "crew_yaml: manager_agent",
     "no agent with key \"boss\""},
    {TPL_AGENTS, TPL_TASKS, "inputs:\n  - {name: '1x', type: string, required: true}\n", "crew_yaml: inputs[0]",
     "an identifier"},
    {TPL_AGENTS, TPL_TASKS,
     "inputs:\n  - {name: topic, type: string, required: true}\n  - {name: topic, type: number, required: true}\n",
     "crew_yaml: inputs[1]", "declared twice"},
    {TPL_AGENTS, TPL_TASKS, "inputs:\n  - {name: topic, type: string, required: true, secret: 1}\n",
     "crew_yaml: inputs[0]", "must be {name"},
    {TPL_AGENTS, TPL_TASKS, "a: &a [*a]\n", "crew_yaml", "line 1, column 8: the alias *a refers to a node"},
};

static const json_t *get_path(const json_t *v, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10)) : json_object_get(v, tok);
	return v;
}

static void test_cases(void)
{
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		json_t *r = import3(cases[i].agents, cases[i].tasks, cases[i].crew, &p);
		if (cases[i].field) {
			bool found = false;
			for (int j = 0; j < p.nfields; j++)
				found |= str_eq(p.fields[j].field, cases[i].field) &&
				         strstr(p.fields[j].message, cases[i].msg) != NULL;
			T_OK(!r && p.st == ST_BAD_INPUT && found, "case %zu: %s: %s", i, cases[i].field, cases[i].msg);
			for (int j = 0; !found && j < p.nfields; j++)
				printf("#   got %s: %s\n", p.fields[j].field, p.fields[j].message);
		} else {
			json_t *want = json_loads(cases[i].want, JSON_DECODE_ANY, NULL);
			const json_t *got = get_path(r, cases[i].path);
			T_OK(got && want && json_equal(got, want), "case %zu: %s is %s", i, cases[i].path,
			     cases[i].want);
			if (!(got && want && json_equal(got, want))) {
				char *gs = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
				printf("#   got %s (%s %s)\n", gs ? gs : "nothing", p.nfields ? p.fields[0].field : "",
				       p.nfields ? p.fields[0].message : "");
				free(gs);
			}
			json_decref(want);
			if (r)
				round_trip("case", r);
		}
		json_decref(r);
		arena_free(&a);
	}
}

/* The body's process and model_id win over crew.yaml. */
static void test_overrides(void)
{
	struct arena *a = arena_new();
	struct problem p;
	json_t *in = json_pack("{s:s,s:s,s:s,s:s,s:s}", "agents_yaml", TPL_AGENTS, "tasks_yaml", TPL_TASKS, "crew_yaml",
	                       "process: sequential\nagents:\n  writer:\n    llm: claude\n", "process", "hierarchical",
	                       "model_id", "0190b1c4-7d2e-7c3a-9f00-0123456789ab");
	json_t *out = NULL;

	problem_init(&p, a);
	T_EQ_INT(workflows_crewai_import(in, &out, &p), ST_OK, "import with body overrides");
	json_t *w = json_object_get(out, "workflow"), *writer = json_array_get(json_object_get(out, "agents"), 1);
	T_EQ_STR(json_string_value(json_object_get(w, "process")), "hierarchical", "the body's process wins");
	T_EQ_STR(json_string_value(json_object_get(w, "manager_model_id")), "0190b1c4-7d2e-7c3a-9f00-0123456789ab",
	         "model_id manages a hierarchical crew");
	T_OK(!json_object_get(writer, "llm"), "model_id replaces the agent's llm");
	T_EQ_STR(json_string_value(json_object_get(writer, "model_id")), "0190b1c4-7d2e-7c3a-9f00-0123456789ab",
	         "each agent gets model_id");
	json_decref(out);
	json_object_set_new(in, "model_id", json_string("gpt-4o"));
	problem_clear(&p);
	T_EQ_INT(workflows_crewai_import(in, &out, &p), ST_BAD_INPUT, "model_id must be an id");
	T_EQ_STR(p.nfields ? p.fields[0].field : NULL, "model_id", "the error names model_id");
	json_decref(in);
	arena_free(&a);
}

static void test_export(void)
{
	struct arena *a = arena_new();
	struct problem p;
	json_t *out = NULL;
	json_t *def =
	    json_loads("{\"workflow\":{\"name\":\"W\",\"description\":\"\",\"process\":\"graph\",\"inputs\":[],"
	               "\"tasks\":[{\"key\":\"t\",\"description\":\"d\",\"agent_key\":\"ghost\"}]},\"agents\":[]}",
	               0, NULL);

	problem_init(&p, a);
	T_EQ_INT(workflows_crewai_export(def, &out, &p), ST_UNPROCESSABLE, "a graph and an unknown agent: refused");
	T_EQ_INT(p.nfields, 2, "both named");
	json_decref(def);
	/* the template reads like the files crewAI generates */
	def = json_loads(
	    "{\"workflow\":{\"name\":\"W\",\"description\":\"\",\"process\":\"sequential\",\"inputs\":[{"
	    "\"name\":\"topic\",\"type\":\"string\",\"required\":true}],\"tasks\":[{\"key\":\"research_task\","
	    "\"description\":\"Research {topic}\\nthoroughly.\\n\",\"expected_output\":\"Ten bullets\","
	    "\"agent_key\":\"researcher\",\"async_execution\":false,\"output\":{\"format\":\"text\"},"
	    "\"human_review\":false}]},\"agents\":[{\"key\":\"researcher\",\"name\":\"researcher\",\"role\":"
	    "\"{topic} Researcher\",\"goal\":\"Find 🚀\",\"backstory\":\"Seasoned.\",\"tool_names\":[]}]}",
	    0, NULL);
	problem_clear(&p);
	T_EQ_INT(workflows_crewai_export(def, &out, &p), ST_OK, "export");
	T_EQ_STR(json_string_value(json_object_get(out, "agents_yaml")),
	         "researcher:\n  role: '{topic} Researcher'\n  goal: Find 🚀\n  backstory: Seasoned.\n", "agents.yaml");
	T_EQ_STR(json_string_value(json_object_get(out, "tasks_yaml")),
	         "research_task:\n  description: |\n    Research {topic}\n    thoroughly.\n  expected_output: Ten "
	         "bullets\n  agent: researcher\n",
	         "tasks.yaml");
	T_EQ_STR(json_string_value(json_object_get(out, "crew_yaml")), "name: W\nprocess: sequential\n", "crew.yaml");
	json_decref(out);
	json_decref(def);
	arena_free(&a);
}

int main(void)
{
	find_root();
	test_fixtures();
	test_cases();
	test_overrides();
	test_export();
	return t_done();
}
