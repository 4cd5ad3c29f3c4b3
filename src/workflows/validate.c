/* The rules a workflow definition must pass on every save
 * (docs/workflows.md, "Validation"): every error collected with its path,
 * none stopping the check early, so one answer lists them all. The body's
 * shape (types, enums, bounds) was checked before, by core/schema. */
#include "workflows_int.h"
#include "core/jsonschema.h"
#include "core/template.h"

#include <string.h>

#define KEY_MAX 64

struct vc {
	struct workflows *m;
	struct db_conn *c;
	const struct actor *who;
	const json_t *def;
	struct arena *a;
	json_t *warnings;
	struct problem *p;
	json_t *agents; /* {id: agent | null (missing)} */
	json_t *keys;   /* {task key: index} */
	json_t *inputs; /* {declared name: used?} */
	json_t *told;   /* agent ids whose texts were checked */
	const char *process;
	enum status fail; /* a lookup that failed for another reason than absence */
};

static void warn(struct vc *v, const char *field, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void warn(struct vc *v, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = arena_vprintf(v->a, fmt, ap);
	va_end(ap);
	json_array_append_new(v->warnings, json_pack("{s:s, s:s}", "field", field, "message", msg));
}

static const char *at(struct vc *v, const char *fmt, ...) PRINTF_LIKE(2, 3);
static const char *at(struct vc *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = arena_vprintf(v->a, fmt, ap);
	va_end(ap);
	return s;
}

/* ---- keys and "did you mean" ---- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[KEY_MAX + 2];
	if (la > KEY_MAX || lb > KEY_MAX)
		return (size_t) -1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *wf_closest_key(const json_t *keys, const char *name)
{
	const char *k, *best = NULL;
	size_t best_d = (size_t) -1, limit = strlen(name) / 3 > 2 ? strlen(name) / 3 : 2;
	json_t *x;
	json_object_foreach((json_t *) keys, k, x)
	{
		size_t d = edit_distance(name, k);
		if (d < best_d)
			best_d = d, best = k;
	}
	return best_d <= limit ? best : NULL;
}

static bool is_identifier(const char *s)
{
	if (!s || !*s || strlen(s) > KEY_MAX || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* The index of the task named by key, or -1 with an error at field. */
static int ref(struct vc *v, const char *field, const char *key)
{
	json_t *i = json_object_get(v->keys, key ? key : "");
	if (i)
		return (int) json_integer_value(i);
	const char *near = key ? wf_closest_key(v->keys, key) : NULL;
	if (near)
		problem_field(v->p, field, "no task with key \"%.*s\"; did you mean \"%s\"?", KEY_MAX, key, near);
	else
		problem_field(v->p, field, "no task with key \"%.*s\"", KEY_MAX, key ? key : "");
	return -1;
}

static void check_keys(struct vc *v)
{
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(v->def, "tasks"), i, t)
	{
		const char *key = wf_str(t, "key");
		json_t *prev = json_object_get(v->keys, key ? key : "");
		if (!is_identifier(key))
			problem_field(v->p, at(v, "tasks[%zu].key", i),
			              "must be an identifier: a letter or _, then letters, digits or _, at most %d",
			              KEY_MAX);
		else if (prev)
			problem_field(v->p, at(v, "tasks[%zu].key", i), "repeats tasks[%lld].key \"%s\"",
			              (long long) json_integer_value(prev), key);
		else
			json_object_set_new(v->keys, key, json_integer((json_int_t) i));
	}
	if (json_array_size(json_object_get(v->def, "tasks")) == 0)
		problem_field(v->p, "tasks", "a workflow needs at least one task");
}

/* ---- references: context, depends_on, condition; then cycles ---- */

static void check_context(struct vc *v, size_t i, const json_t *t)
{
	json_t *ctx = json_object_get(t, "context"), *e;
	bool ordered = !str_eq(v->process, "graph");
	size_t j;
	json_array_foreach(ctx, j, e)
	{
		const char *f = at(v, "tasks[%zu].context[%zu]", i, j);
		int k = ref(v, f, json_string_value(e));
		if (k < 0)
			continue;
		if ((size_t) k == i)
			problem_field(v->p, f, "a task cannot be its own context");
		else if (ordered && (size_t) k > i)
			problem_field(v->p, f,
			              "points forward: task \"%s\" runs after this one in a %s workflow, so its output "
			              "is not there yet",
			              json_string_value(e), v->process);
	}
	json_t *deps = json_object_get(t, "depends_on");
	if (json_array_size(deps) && ordered)
		problem_field(v->p, at(v, "tasks[%zu].depends_on", i),
		              "only a graph workflow has depends_on; a %s one runs tasks in order (use context)",
		              v->process);
	json_array_foreach(deps, j, e)
	{
		const char *f = at(v, "tasks[%zu].depends_on[%zu]", i, j);
		int k = ref(v, f, json_string_value(e));
		if (k >= 0 && (size_t) k == i)
			problem_field(v->p, f, "a task cannot depend on itself");
	}
}

static bool lists(const json_t *arr, const char *key)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) if (str_eq(json_string_value(e), key)) return true;
	return false;
}

static void check_condition(struct vc *v, size_t i, const json_t *t)
{
	json_t *c = json_object_get(t, "condition");
	if (!json_is_object(c))
		return;
	if (!str_eq(v->process, "graph")) {
		problem_field(v->p, at(v, "tasks[%zu].condition", i), "only a graph workflow has conditions");
		return;
	}
	const char *task = wf_str(c, "task"), *op = wf_str(c, "op");
	const char *f = at(v, "tasks[%zu].condition.task", i);
	int k = ref(v, f, task);
	if (k >= 0 && !lists(json_object_get(t, "depends_on"), task) && !lists(json_object_get(t, "context"), task))
		problem_field(v->p, f, "task \"%s\" must be one this task depends on (in depends_on or context)", task);
	const char *path = wf_str(c, "path");
	if (path) {
		/* parsed whole before it is run: a null document tells syntax apart */
		json_t *none = json_null(), *res = NULL;
		struct problem q;
		problem_init(&q, v->a);
		if (agents_jsonpath_query(path, none, &res, &q) != ST_OK)
			problem_field(v->p, at(v, "tasks[%zu].condition.path", i),
			              "is not an RFC 9535 JSONPath query: %s",
			              q.nfields ? q.fields[0].message : (q.detail ? q.detail : "a syntax error"));
		json_decref(res);
	}
	json_t *val = json_object_get(c, "value");
	f = at(v, "tasks[%zu].condition.value", i);
	if (!str_eq(op, "exists") && (!val || json_is_null(val)))
		problem_field(v->p, f, "required with op %s", op ? op : "");
	else if ((str_eq(op, "gt") || str_eq(op, "lt")) && !json_is_number(val))
		problem_field(v->p, f, "must be a number with op %s", op);
	else if (str_eq(op, "matches")) {
		regex_t re;
		if (!json_is_string(val) || jsonschema_regcomp(&re, json_string_value(val)) < 0)
			problem_field(v->p, f, "must be a POSIX extended regular expression with op matches");
		else
			regfree(&re);
	}
}

/* Depth-first over "needs" edges (context and depends_on); the first back
 * edge found names the cycle's keys in order. */
struct dfs {
	struct vc *v;
	const json_t *tasks;
	unsigned char *color; /* 0 white, 1 on the stack, 2 done */
	size_t *stack, depth;
	bool found;
};

static void report_cycle(struct dfs *d, size_t to)
{
	struct buf b;
	buf_init(&b, 4096);
	size_t from = 0;
	while (d->stack[from] != to)
		from++;
	for (size_t s = from; s < d->depth; s++)
		buf_printf(&b, "%s → ", wf_str(json_array_get(d->tasks, d->stack[s]), "key"));
	buf_puts(&b, wf_str(json_array_get(d->tasks, to), "key"));
	char *text = buf_steal(&b);
	problem_field(d->v->p, at(d->v, "tasks[%zu]", to), "cycle: %s (each task needs the next one's output)",
	              text ? text : "");
	free(text);
	d->found = true;
}

static void visit(struct dfs *d, size_t i)
{
	d->color[i] = 1;
	d->stack[d->depth++] = i;
	const json_t *t = json_array_get(d->tasks, i);
	const char *lists_[] = {"context", "depends_on"};
	for (size_t l = 0; l < 2 && !d->found; l++) {
		size_t j;
		json_t *e;
		json_array_foreach(json_object_get(t, lists_[l]), j, e)
		{
			json_t *k = json_object_get(d->v->keys, json_string_value(e) ? json_string_value(e) : "");
			if (!k || d->found)
				continue;
			size_t n = (size_t) json_integer_value(k);
			if (n == i)
				continue; /* reported as a self reference */
			if (d->color[n] == 1)
				report_cycle(d, n);
			else if (d->color[n] == 0)
				visit(d, n);
		}
	}
	d->depth--;
	d->color[i] = 2;
}

static void check_cycles(struct vc *v)
{
	const json_t *tasks = json_object_get(v->def, "tasks");
	size_t n = json_array_size(tasks);
	if (!n || json_object_size(v->keys) != n)
		return; /* keys are wrong: the cycle would not name them right */
	struct dfs d = {
	    .v = v, .tasks = tasks, .color = arena_alloc(v->a, n), .stack = arena_alloc(v->a, n * sizeof(size_t))};
	memset(d.color, 0, n);
	for (size_t i = 0; i < n && !d.found; i++)
		if (!d.color[i])
			visit(&d, i);
}

/* ---- agents, tools, models ---- */

static json_t *agent(struct vc *v, const char *id)
{
	json_t *got = json_object_get(v->agents, id);
	if (got)
		return json_is_null(got) ? NULL : got;
	json_t *out = NULL;
	struct problem q;
	problem_init(&q, v->a);
	enum status st = agents_get(v->m->agents, v->who, id, v->a, &out, &q);
	if (st == ST_OK) {
		json_object_set_new(v->agents, id, out);
		return out;
	}
	if (st != ST_NOT_FOUND)
		v->fail = st;
	json_object_set_new(v->agents, id, json_null());
	return NULL;
}

static void check_tools(struct vc *v, const json_t *ids, const char *field)
{
	size_t j;
	json_t *e;
	json_array_foreach(ids, j, e)
	{
		const char *f = at(v, "%s[%zu]", field, j), *id = json_string_value(e);
		json_t *out = NULL;
		struct problem q;
		problem_init(&q, v->a);
		for (size_t k = 0; k < j; k++)
			if (json_equal(json_array_get(ids, k), e)) {
				problem_field(v->p, f, "repeats %s[%zu]", field, k);
				break;
			}
		enum status st = tools_get(v->m->agents, v->who, id, v->a, &out, &q);
		json_decref(out);
		if (st == ST_NOT_FOUND)
			problem_field(v->p, f, "no tool with this id in the workspace");
		else if (st != ST_OK)
			v->fail = st;
	}
}

static void check_model(struct vc *v, const char *id, const char *field)
{
	struct db_res *r;
	struct problem q;
	problem_init(&q, v->a);
	if (!id)
		return;
	const char *sql = "SELECT kind FROM model_configs WHERE workspace_id = ? AND id = ?";
	enum status st =
	    v->c ? db_query(v->c, v->a, &r, sql, DB_ARGS(db_text(v->who->workspace_id), db_text(id)), &q)
	         : db_exec1(v->m->db, DB_READ, v->a, &r, sql, DB_ARGS(db_text(v->who->workspace_id), db_text(id)), &q);
	if (st != ST_OK)
		v->fail = st;
	else if (db_res_rows(r) == 0)
		problem_field(v->p, field, "no model configuration with this id in the workspace");
	else if (!str_eq(db_res_text(r, 0, 0), "chat"))
		problem_field(v->p, field, "is an %s model; this needs a chat model", db_res_text(r, 0, 0));
}

/* ---- placeholders ---- */

static void check_text(struct vc *v, const char *text, const char *field, const char *what)
{
	json_t *names = template_placeholders(text), *e;
	size_t i;
	json_array_foreach(names, i, e)
	{
		const char *n = json_string_value(e);
		if (json_object_get(v->inputs, n))
			json_object_set_new(v->inputs, n, json_true());
		else
			problem_field(v->p, field, "%s uses {%s}, which is not a declared input", what, n);
	}
	json_decref(names);
}

static void check_agent_texts(struct vc *v, const char *id, const json_t *ag, const char *field)
{
	if (json_object_get(v->told, id))
		return;
	json_object_set_new(v->told, id, json_true());
	const char *texts[] = {"role", "goal", "backstory"};
	for (size_t k = 0; k < 3; k++)
		check_text(v, wf_str(ag, texts[k]), field, at(v, "the agent's %s", texts[k]));
}

static void check_inputs(struct vc *v)
{
	json_t *in;
	size_t i;
	json_array_foreach(json_object_get(v->def, "inputs"), i, in)
	{
		const char *name = wf_str(in, "name"), *type = wf_str(in, "type");
		json_t *dflt = json_object_get(in, "default");
		if (!name || !template_name_valid(name))
			problem_field(v->p, at(v, "inputs[%zu].name", i),
			              "must be a placeholder name: a letter or _, then letters, digits, _ or -");
		else if (json_object_get(v->inputs, name))
			problem_field(v->p, at(v, "inputs[%zu].name", i), "repeats the input \"%s\"", name);
		else
			json_object_set_new(v->inputs, name, json_false());
		if (dflt && !json_is_null(dflt) &&
		    ((str_eq(type, "string") && !json_is_string(dflt)) ||
		     (str_eq(type, "number") && !json_is_number(dflt)) ||
		     (str_eq(type, "boolean") && !json_is_boolean(dflt))))
			problem_field(v->p, at(v, "inputs[%zu].default", i), "must be a %s, as the input's type says",
			              type);
	}
}

static void check_unused_inputs(struct vc *v)
{
	json_t *in;
	size_t i;
	json_array_foreach(json_object_get(v->def, "inputs"), i, in)
	{
		const char *name = wf_str(in, "name");
		if (name && json_is_false(json_object_get(v->inputs, name)))
			warn(v, at(v, "inputs[%zu]", i), "declared but no task or agent text uses {%s}", name);
	}
}

/* ---- a task ---- */

static void check_output(struct vc *v, size_t i, const json_t *t)
{
	json_t *out = json_object_get(t, "output"), *schema = json_object_get(out, "schema");
	const char *f = at(v, "tasks[%zu].output.schema", i);
	if (json_is_object(schema)) {
		if (!str_eq(wf_str(out, "format"), "json"))
			problem_field(v->p, f, "only a json output has a schema; set output.format to json");
		jsonschema_check(schema, f, v->p);
	}
	json_t *g = json_object_get(t, "guardrail");
	if (!json_is_object(g))
		return;
	const char *type = wf_str(g, "type");
	if (str_eq(type, "json_schema")) {
		if (!json_is_object(json_object_get(g, "schema")))
			problem_field(v->p, at(v, "tasks[%zu].guardrail.schema", i),
			              "required for a json_schema guardrail");
		else
			jsonschema_check(json_object_get(g, "schema"), at(v, "tasks[%zu].guardrail.schema", i), v->p);
	} else if (str_eq(type, "regex")) {
		regex_t re;
		const char *pat = wf_str(g, "pattern");
		if (!pat)
			problem_field(v->p, at(v, "tasks[%zu].guardrail.pattern", i), "required for a regex guardrail");
		else if (jsonschema_regcomp(&re, pat) < 0)
			problem_field(v->p, at(v, "tasks[%zu].guardrail.pattern", i),
			              "is not a POSIX extended regular expression");
		else
			regfree(&re);
	} else if (str_eq(type, "llm")) {
		if (!wf_str(g, "criteria"))
			problem_field(v->p, at(v, "tasks[%zu].guardrail.criteria", i), "required for an llm guardrail");
		check_model(v, wf_str(g, "model_id"), at(v, "tasks[%zu].guardrail.model_id", i));
	}
}

static void check_task(struct vc *v, size_t i, const json_t *t)
{
	const char *agent_id = wf_str(t, "agent_id");
	const char *f = at(v, "tasks[%zu].agent_id", i);
	check_context(v, i, t);
	check_condition(v, i, t);
	if (agent_id) {
		json_t *ag = agent(v, agent_id);
		if (!ag)
			problem_field(v->p, f, "no agent with this id in the workspace");
		else
			check_agent_texts(v, agent_id, ag, f);
	} else if (!str_eq(v->process, "hierarchical")) {
		problem_field(v->p, f, "required in a %s workflow (only a hierarchical manager assigns tasks)",
		              v->process);
	}
	check_tools(v, json_object_get(t, "tool_ids"), at(v, "tasks[%zu].tool_ids", i));
	check_text(v, wf_str(t, "description"), at(v, "tasks[%zu].description", i), "the description");
	check_text(v, wf_str(t, "expected_output"), at(v, "tasks[%zu].expected_output", i), "the expected output");
	check_text(v, wf_str(t, "output_file"), at(v, "tasks[%zu].output_file", i), "the output file");
	const char *eo = wf_str(t, "expected_output");
	if (eo && !*eo)
		warn(v, at(v, "tasks[%zu].expected_output", i),
		     "empty: the agent is not told what a finished answer looks like");
	check_output(v, i, t);
}

static void check_manager(struct vc *v)
{
	const char *model = wf_str(v->def, "manager_model_id"), *mgr = wf_str(v->def, "manager_agent_id");
	if (!str_eq(v->process, "hierarchical")) {
		if (model || mgr)
			warn(v, model ? "manager_model_id" : "manager_agent_id",
			     "ignored: only a hierarchical workflow has a manager");
		return;
	}
	if (!model && !mgr)
		problem_field(v->p, "manager_model_id",
		              "a hierarchical workflow needs a manager: set manager_model_id or manager_agent_id");
	else if (model && mgr)
		problem_field(v->p, "manager_agent_id",
		              "give one manager: manager_model_id or manager_agent_id, not both");
	check_model(v, model, "manager_model_id");
	if (mgr) {
		json_t *ag = agent(v, mgr);
		if (!ag)
			problem_field(v->p, "manager_agent_id", "no agent with this id in the workspace");
		else
			check_agent_texts(v, mgr, ag, "manager_agent_id");
	}
}

enum status wf_validate(struct workflows *m, struct db_conn *c, const struct actor *who, const json_t *def,
                        json_t *known, struct arena *a, json_t *warnings, struct problem *p)
{
	struct vc v = {.m = m,
	               .c = c,
	               .who = who,
	               .def = def,
	               .a = a,
	               .warnings = warnings,
	               .p = p,
	               .agents = wf_own(a, known ? json_copy(known) : json_object()),
	               .keys = wf_own(a, json_object()),
	               .inputs = wf_own(a, json_object()),
	               .told = wf_own(a, json_object()),
	               .process = wf_str(def, "process")};
	if (!v.process)
		v.process = "sequential";
	int before = p->nfields;
	check_inputs(&v);
	check_keys(&v);
	check_manager(&v);
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(def, "tasks"), i, t) check_task(&v, i, t);
	check_cycles(&v);
	if (json_object_get(def, "max_concurrency") && !json_is_null(json_object_get(def, "max_concurrency")) &&
	    !str_eq(v.process, "graph"))
		warn(&v, "max_concurrency", "ignored: a %s workflow runs one task at a time", v.process);
	check_unused_inputs(&v);
	if (v.fail != ST_OK)
		return problem_set(p, v.fail, "the workflow's references could not be checked");
	int n = p->nfields - before + p->nfields_dropped;
	if (n > 0) {
		p->type = "/problems/validation";
		return problem_set(p, ST_UNPROCESSABLE, "the workflow has %d error%s", n, n == 1 ? "" : "s");
	}
	return ST_OK;
}
