/*
 * crewAI import/export: agents.yaml + tasks.yaml (+ troupe's crew.yaml)
 * <-> a workflow definition with agents by key. The field mapping is the
 * table in docs/workflows.md; crewAI's own field names and defaults are
 * from its Agent and Task models (lib/crewai/src/crewai/agent/core.py,
 * agents/agent_builder/base_agent.py,
 * task.py) and its project template.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/template.h"
#include "core/yaml.h"
#include "workflows/workflows.h"
#include "workflows/workflows_int.h"

#define KEY_MAX 64 /* an agent or task key: an identifier, as a crew.py method name is */

struct imp {
	struct problem *p;
	json_t *warnings;   /* [{field, message}] */
	json_t *agents_doc; /* the loaded YAML documents */
	json_t *tasks_doc;
	json_t *crew_doc;             /* NULL when not given or empty */
	const char *process;          /* sequential | hierarchical */
	json_t *used;                 /* agent keys in use: {key: true} */
	json_t *inputs, *input_names; /* the declared inputs, and a set of their names */
};

static void warn(struct imp *m, const char *field, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void warn(struct imp *m, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(m->warnings, json_pack("{s:s,s:s}", "field", field, "message", msg));
}

/* "tasks_yaml: research_task.agent": the document, then the path in it. */
static const char *at(char *buf, size_t n, const char *doc, const char *key, const char *field)
{
	if (field)
		snprintf(buf, n, "%s: %.*s.%s", doc, KEY_MAX + 8, key, field);
	else
		snprintf(buf, n, "%s: %.*s", doc, KEY_MAX + 8, key);
	return buf;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "text";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static void no_such_key(struct imp *m, const char *field, const char *what, const char *name, const json_t *doc,
                        const char *docname)
{
	const char *near = wf_closest_key(doc, name);

	if (near)
		problem_field(m->p, field, "no %s with key \"%.*s\" in %s; did you mean \"%s\"?", what, KEY_MAX, name,
		              docname, near);
	else
		problem_field(m->p, field, "no %s with key \"%.*s\" in %s", what, KEY_MAX, name, docname);
}

/* ------------------------------------------------------------ documents */

/* The YAML text in[name] loaded; NULL (with a field error unless optional
 * and absent) otherwise. */
static json_t *load_doc(struct imp *m, const json_t *in, const char *name, bool required)
{
	json_t *t = json_object_get(in, name);
	struct yaml_error err;
	json_t *doc;

	if (!t || json_is_null(t)) {
		if (required)
			problem_field(m->p, name, "required: the text of %s.yaml",
			              str_eq(name, "agents_yaml") ? "agents" : "tasks");
		return NULL;
	}
	if (!json_is_string(t)) {
		problem_field(m->p, name, "must be text (the YAML file's content), got %s", type_name(t));
		return NULL;
	}
	if (!(doc = yaml_json_load(json_string_value(t), json_string_length(t), &err))) {
		if (err.line)
			problem_field(m->p, name, "line %d, column %d: %s", err.line, err.column, err.message);
		else
			problem_field(m->p, name, "%s", err.message);
		return NULL;
	}
	if (json_is_null(doc) && !required)
		return doc;
	if (!json_is_object(doc) || !json_object_size(doc)) {
		problem_field(m->p, name, "must be a mapping of %s by key, got %s",
		              str_eq(name, "tasks_yaml")    ? "tasks"
		              : str_eq(name, "agents_yaml") ? "agents"
		                                            : "settings",
		              json_is_object(doc) ? "an empty one" : type_name(doc));
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static bool key_ok(struct imp *m, const char *doc, const char *key)
{
	char f[160];

	if (strlen(key) <= KEY_MAX && template_name_valid(key))
		return true;
	problem_field(m->p, at(f, sizeof(f), doc, key, NULL),
	              "a key must be an identifier of at most %d characters (letters, digits, _ and -, not starting "
	              "with a digit)",
	              KEY_MAX);
	return false;
}

/* ------------------------------------------------------------ typed fields */

static bool want_text(struct imp *m, const char *field, const json_t *v)
{
	if (json_is_string(v))
		return true;
	problem_field(m->p, field, "must be text, got %s", type_name(v));
	return false;
}

static bool want_int(struct imp *m, const char *field, const json_t *v, json_int_t min)
{
	if (json_is_integer(v) && json_integer_value(v) >= min)
		return true;
	if (json_is_integer(v))
		problem_field(m->p, field, "must be at least %" JSON_INTEGER_FORMAT ", got %" JSON_INTEGER_FORMAT, min,
		              json_integer_value(v));
	else
		problem_field(m->p, field, "must be a whole number, got %s", type_name(v));
	return false;
}

static bool want_bool(struct imp *m, const char *field, const json_t *v)
{
	if (json_is_boolean(v))
		return true;
	problem_field(m->p, field, "must be true or false, got %s", type_name(v));
	return false;
}

/* A list of names (tools, context): text items, each at most 200 bytes. */
static bool want_names(struct imp *m, const char *field, const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v)) {
		problem_field(m->p, field, "must be a list of names, got %s", type_name(v));
		return false;
	}
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) || !json_string_length(e) || json_string_length(e) > 200) {
			char f[200];
			snprintf(f, sizeof(f), "%s[%zu]", field, i);
			problem_field(m->p, f, "must be a name (1 to 200 characters of text), got %s", type_name(e));
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------ placeholders */

/* Adds text's placeholders not yet in seen to inputs, as required strings. */
static void placeholders_into(json_t *inputs, json_t *seen, const char *text)
{
	json_t *names = template_placeholders(text);
	size_t i;
	json_t *n;

	json_array_foreach(names, i, n)
	{
		const char *name = json_string_value(n);
		if (json_object_get(seen, name))
			continue;
		json_object_set_new(seen, name, json_true());
		json_array_append_new(inputs,
		                      json_pack("{s:s,s:s,s:b}", "name", name, "type", "string", "required", 1));
	}
	json_decref(names);
}

static void collect_inputs(struct imp *m, const char *text)
{
	placeholders_into(m->inputs, m->input_names, text);
}

/* ------------------------------------------------------------ agents */

static void agent_field(struct imp *m, json_t *a, const char *key, const char *k, json_t *v)
{
	char f[160];

	at(f, sizeof(f), "agents_yaml", key, k);
	if (str_eq(k, "role") || str_eq(k, "goal") || str_eq(k, "backstory")) {
		if (want_text(m, f, v) && !json_string_length(v))
			problem_field(m->p, f, "must not be empty");
		else if (json_is_string(v))
			json_object_set(a, k, v);
	} else if (str_eq(k, "llm")) {
		if (want_text(m, f, v))
			json_object_set(a, "llm", v);
	} else if (str_eq(k, "tools")) {
		if (want_names(m, f, v))
			json_object_set_new(a, "tool_names", json_deep_copy(v));
	} else if (str_eq(k, "max_iter") || str_eq(k, "max_rpm")) {
		if (want_int(m, f, v, 1))
			json_object_set(a, k, v);
	} else if (str_eq(k, "max_execution_time")) {
		if (want_int(m, f, v, 1))
			json_object_set(a, "max_execution_time_s", v);
	} else if (str_eq(k, "max_retry_limit")) {
		if (want_int(m, f, v, 0))
			json_object_set(a, k, v);
	} else if (str_eq(k, "allow_delegation") || str_eq(k, "respect_context_window")) {
		if (want_bool(m, f, v))
			json_object_set(a, k, v);
	} else if (str_eq(k, "allow_code_execution") && json_is_true(v)) {
		warn(m, f, "troupe never runs code that a model writes; ignored");
	} else {
		warn(m, f, "has no meaning in troupe; ignored");
	}
}

static json_t *import_agent(struct imp *m, const char *key, json_t *spec)
{
	static const char *const required[] = {"role", "goal", "backstory"};
	json_t *a = json_pack("{s:s,s:s}", "key", key, "name", key);
	char f[160];
	const char *k;
	json_t *v;

	if (!json_is_object(spec)) {
		problem_field(m->p, at(f, sizeof(f), "agents_yaml", key, NULL),
		              "must be a mapping (role, goal, backstory, ...), got %s", type_name(spec));
		return a;
	}
	for (size_t i = 0; i < ARRAY_LEN(required); i++)
		if (!json_object_get(spec, required[i]))
			problem_field(m->p, at(f, sizeof(f), "agents_yaml", key, required[i]), "required");
	/* the fixed fields first, so every agent reads in the same order */
	for (size_t i = 0; i < ARRAY_LEN(required); i++)
		if ((v = json_object_get(spec, required[i])))
			agent_field(m, a, key, required[i], v);
	json_object_foreach(spec, k, v)
	{
		if (!str_eq(k, "role") && !str_eq(k, "goal") && !str_eq(k, "backstory"))
			agent_field(m, a, key, k, v);
	}
	if (!json_object_get(a, "tool_names"))
		json_object_set_new(a, "tool_names", json_array());
	return a;
}

/* crew.yaml agents.<key>: {llm, tools, temperature, system_prompt_extra} */
static void crew_agent(struct imp *m, json_t *a, const char *key, json_t *spec)
{
	char f[200];
	const char *k;
	json_t *v;

	json_object_foreach(spec, k, v)
	{
		snprintf(f, sizeof(f), "crew_yaml: agents.%s.%s", key, k);
		if (str_eq(k, "llm") && want_text(m, f, v))
			json_object_set(a, "llm", v);
		else if (str_eq(k, "tools") && want_names(m, f, v))
			json_object_set_new(a, "tool_names", json_deep_copy(v));
		else if (str_eq(k, "temperature")) {
			if (json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) <= 2)
				json_object_set(a, k, v);
			else
				problem_field(m->p, f, "must be a number from 0 to 2");
		} else if (str_eq(k, "system_prompt_extra") && want_text(m, f, v))
			json_object_set(a, k, v);
		else if (!str_eq(k, "llm") && !str_eq(k, "tools") && !str_eq(k, "system_prompt_extra"))
			problem_field(m->p, f,
			              "unknown key; an agent here takes llm, tools, temperature, system_prompt_extra");
	}
}

static json_t *import_agents(struct imp *m)
{
	json_t *agents = json_array(), *crew_agents = m->crew_doc ? json_object_get(m->crew_doc, "agents") : NULL;
	const char *key;
	json_t *spec;
	char f[200];

	if (json_object_size(m->agents_doc) > CREWAI_MAX_AGENTS)
		problem_field(m->p, "agents_yaml", "holds %zu agents; at most %d", json_object_size(m->agents_doc),
		              CREWAI_MAX_AGENTS);
	json_object_foreach(m->agents_doc, key, spec)
	{
		if (!key_ok(m, "agents_yaml", key))
			continue;
		json_t *a = import_agent(m, key, spec);
		json_t *over = json_object_get(crew_agents, key);
		if (over)
			crew_agent(m, a, key, over);
		collect_inputs(m, json_string_value(json_object_get(a, "role")));
		collect_inputs(m, json_string_value(json_object_get(a, "goal")));
		collect_inputs(m, json_string_value(json_object_get(a, "backstory")));
		json_array_append_new(agents, a);
	}
	if (crew_agents && !json_is_object(crew_agents))
		problem_field(m->p, "crew_yaml: agents", "must be a mapping of agent keys, got %s",
		              type_name(crew_agents));
	json_object_foreach(json_is_object(crew_agents) ? crew_agents : NULL, key, spec)
	{
		snprintf(f, sizeof(f), "crew_yaml: agents.%.*s", KEY_MAX + 8, key);
		if (!json_object_get(m->agents_doc, key))
			no_such_key(m, f, "agent", key, m->agents_doc, "agents_yaml");
		else if (!json_is_object(spec))
			problem_field(m->p, f, "must be a mapping (llm, tools, ...), got %s", type_name(spec));
	}
	return agents;
}

/* ------------------------------------------------------------ tasks */

static void check_context(struct imp *m, const char *f, const json_t *ctx)
{
	size_t i;
	json_t *e;

	if (!want_names(m, f, ctx))
		return;
	json_array_foreach(ctx, i, e)
	{
		if (!json_object_get(m->tasks_doc, json_string_value(e))) {
			char g[200];
			snprintf(g, sizeof(g), "%s[%zu]", f, i);
			no_such_key(m, g, "task", json_string_value(e), m->tasks_doc, "tasks_yaml");
		}
	}
}

static void set_agent(struct imp *m, json_t *t, const char *f, json_t *v)
{
	if (!want_text(m, f, v))
		return;
	if (!json_object_get(m->agents_doc, json_string_value(v))) {
		no_such_key(m, f, "agent", json_string_value(v), m->agents_doc, "agents_yaml");
		return;
	}
	json_object_set(t, "agent_key", v);
	json_object_set_new(m->used, json_string_value(v), json_true());
}

static void set_guardrail(struct imp *m, json_t *t, const char *f, json_t *v, bool object_ok)
{
	if (json_is_string(v) && json_string_length(v))
		json_object_set_new(t, "guardrail", json_pack("{s:s,s:O}", "type", "llm", "criteria", v));
	else if (object_ok && json_is_object(v))
		json_object_set(t, "guardrail", v);
	else if (object_ok)
		problem_field(m->p, f,
		              "must be text (the criteria of a model-checked guardrail) or a guardrail object");
	else
		warn(m, f,
		     "only a guardrail written as text has a YAML form (a model checks the output against it); "
		     "ignored");
}

static void task_field(struct imp *m, json_t *t, const char *key, const char *k, json_t *v)
{
	char f[160];

	at(f, sizeof(f), "tasks_yaml", key, k);
	if (str_eq(k, "description") || str_eq(k, "expected_output")) {
		if (want_text(m, f, v))
			json_object_set(t, k, v);
	} else if (str_eq(k, "agent")) {
		set_agent(m, t, f, v);
	} else if (str_eq(k, "context")) {
		check_context(m, f, v);
		json_object_set_new(t, "context", json_deep_copy(v));
	} else if (str_eq(k, "tools")) {
		if (want_names(m, f, v))
			json_object_set_new(t, "tool_names", json_deep_copy(v));
	} else if (str_eq(k, "async_execution")) {
		if (want_bool(m, f, v))
			json_object_set(t, k, v);
	} else if (str_eq(k, "human_input")) {
		if (want_bool(m, f, v))
			json_object_set(t, "human_review", v);
	} else if (str_eq(k, "output_file") || str_eq(k, "name")) {
		if (want_text(m, f, v))
			json_object_set(t, k, v);
	} else if (str_eq(k, "markdown")) {
		if (want_bool(m, f, v) && json_is_true(v))
			json_object_set_new(t, "output", json_pack("{s:s}", "format", "markdown"));
	} else if (str_eq(k, "guardrail")) {
		set_guardrail(m, t, f, v, false);
	} else if (str_eq(k, "guardrail_max_retries") || str_eq(k, "max_retries")) {
		if (want_int(m, f, v, 0))
			json_object_set(t, "max_retries", v);
	} else {
		warn(m, f, "has no meaning in troupe; ignored");
	}
}

/* crew.yaml tasks.<key>: {agent, context, tools, output_json, output_file,
 * guardrail}; agent because most crew.py files pass agent=self.x() rather
 * than write it in tasks.yaml. */
static void crew_task(struct imp *m, json_t *t, const char *key, json_t *spec)
{
	char f[200];
	const char *k;
	json_t *v;

	json_object_foreach(spec, k, v)
	{
		snprintf(f, sizeof(f), "crew_yaml: tasks.%s.%s", key, k);
		if (str_eq(k, "agent")) {
			set_agent(m, t, f, v);
		} else if (str_eq(k, "context")) {
			check_context(m, f, v);
			json_object_set_new(t, "context", json_deep_copy(v));
		} else if (str_eq(k, "tools")) {
			if (want_names(m, f, v))
				json_object_set_new(t, "tool_names", json_deep_copy(v));
		} else if (str_eq(k, "output_json")) {
			/* the module checks the schema against the supported subset */
			if (json_is_object(v))
				json_object_set_new(t, "output", json_pack("{s:s,s:O}", "format", "json", "schema", v));
			else
				problem_field(m->p, f, "must be a JSON Schema (a mapping), got %s", type_name(v));
		} else if (str_eq(k, "output_file")) {
			if (want_text(m, f, v))
				json_object_set(t, k, v);
		} else if (str_eq(k, "guardrail")) {
			set_guardrail(m, t, f, v, true);
		} else {
			problem_field(m->p, f,
			              "unknown key; a task here takes agent, context, tools, output_json, output_file, "
			              "guardrail");
		}
	}
}

/* The task object in a fixed field order, whatever the YAML's order. */
static json_t *ordered_task(json_t *t)
{
	static const char *const order[] = {
	    "key",        "name",   "description", "expected_output", "agent_key",    "context",    "async_execution",
	    "tool_names", "output", "guardrail",   "max_retries",     "human_review", "output_file"};
	json_t *o = json_object(), *v;

	for (size_t i = 0; i < ARRAY_LEN(order); i++)
		if ((v = json_object_get(t, order[i])))
			json_object_set(o, order[i], v);
	json_decref(t);
	return o;
}

static json_t *import_task(struct imp *m, const char *key, json_t *spec, json_t *over)
{
	json_t *t = json_pack("{s:s,s:b,s:b,s:{s:s}}", "key", key, "async_execution", 0, "human_review", 0, "output",
	                      "format", "text");
	char f[160];
	const char *k;
	json_t *v;

	if (!json_is_object(spec)) {
		problem_field(m->p, at(f, sizeof(f), "tasks_yaml", key, NULL),
		              "must be a mapping (description, expected_output, agent, ...), got %s", type_name(spec));
		return t;
	}
	json_object_foreach(spec, k, v) task_field(m, t, key, k, v);
	if (json_is_object(over))
		crew_task(m, t, key, over);
	v = json_object_get(t, "description");
	if (!v)
		problem_field(m->p, at(f, sizeof(f), "tasks_yaml", key, "description"), "required");
	else if (!json_string_length(v))
		problem_field(m->p, at(f, sizeof(f), "tasks_yaml", key, "description"), "must not be empty");
	v = json_object_get(t, "expected_output");
	if (!json_is_string(v) || !json_string_length(v)) {
		if (!v || json_is_string(v))
			warn(m, at(f, sizeof(f), "tasks_yaml", key, "expected_output"),
			     "empty: the agent is not told what a finished answer looks like");
		json_object_set_new(t, "expected_output", json_string(""));
	}
	if (!json_object_get(t, "agent_key") && !json_object_get(spec, "agent") && !json_object_get(over, "agent") &&
	    str_eq(m->process, "sequential"))
		problem_field(m->p, at(f, sizeof(f), "tasks_yaml", key, "agent"),
		              "required in a sequential process (only a hierarchical crew's manager assigns tasks); "
		              "give it here or in crew_yaml under tasks.%.*s.agent",
		              KEY_MAX, key);
	collect_inputs(m, json_string_value(json_object_get(t, "description")));
	collect_inputs(m, json_string_value(json_object_get(t, "expected_output")));
	collect_inputs(m, json_string_value(json_object_get(t, "output_file")));
	return ordered_task(t);
}

static json_t *import_tasks(struct imp *m)
{
	json_t *tasks = json_array(), *crew_tasks = m->crew_doc ? json_object_get(m->crew_doc, "tasks") : NULL;
	const char *key;
	json_t *spec;
	char f[200];

	if (json_object_size(m->tasks_doc) > CREWAI_MAX_TASKS)
		problem_field(m->p, "tasks_yaml", "holds %zu tasks; at most %d", json_object_size(m->tasks_doc),
		              CREWAI_MAX_TASKS);
	if (crew_tasks && !json_is_object(crew_tasks)) {
		problem_field(m->p, "crew_yaml: tasks", "must be a mapping of task keys, got %s",
		              type_name(crew_tasks));
		crew_tasks = NULL;
	}
	json_object_foreach(m->tasks_doc, key, spec)
	{
		if (key_ok(m, "tasks_yaml", key))
			json_array_append_new(tasks, import_task(m, key, spec, json_object_get(crew_tasks, key)));
	}
	json_object_foreach(crew_tasks, key, spec)
	{
		snprintf(f, sizeof(f), "crew_yaml: tasks.%.*s", KEY_MAX + 8, key);
		if (!json_object_get(m->tasks_doc, key))
			no_such_key(m, f, "task", key, m->tasks_doc, "tasks_yaml");
		else if (!json_is_object(spec))
			problem_field(m->p, f, "must be a mapping (context, tools, output_json, ...), got %s",
			              type_name(spec));
	}
	return tasks;
}

/* ------------------------------------------------------------ crew */

static const char *const crew_keys[] = {"process",     "manager_llm", "manager_agent", "agents",    "tasks", "name",
                                        "description", "inputs",      "max_rpm",       "timeout_s", "tags"};

static bool process_ok(struct imp *m, const char *field, const json_t *v)
{
	if (json_is_string(v) &&
	    (str_eq(json_string_value(v), "sequential") || str_eq(json_string_value(v), "hierarchical")))
		return true;
	problem_field(m->p, field, "must be sequential or hierarchical (crewAI's processes)");
	return false;
}

static void check_crew_keys(struct imp *m)
{
	const char *k;
	json_t *v;
	char f[160];

	json_object_foreach(m->crew_doc, k, v)
	{
		bool known = false;
		for (size_t i = 0; i < ARRAY_LEN(crew_keys); i++)
			known |= str_eq(k, crew_keys[i]);
		if (!known)
			problem_field(
			    m->p, at(f, sizeof(f), "crew_yaml", k, NULL),
			    "unknown key; crew_yaml takes process, manager_llm, manager_agent, agents, tasks, name, "
			    "description, inputs, max_rpm, timeout_s, tags");
	}
}

static bool input_ok(const json_t *in)
{
	static const char *const types[] = {"string", "number", "boolean", "json"};
	static const char *const keys[] = {"name", "type", "required", "description", "default"};
	const char *name = json_string_value(json_object_get(in, "name"));
	const char *type = json_string_value(json_object_get(in, "type"));
	bool type_ok = false;
	const char *k;
	json_t *v;

	for (size_t j = 0; type && j < ARRAY_LEN(types); j++)
		type_ok |= str_eq(type, types[j]);
	if (!json_is_object(in) || !name || !template_name_valid(name) || !type_ok ||
	    !json_is_boolean(json_object_get(in, "required")))
		return false;
	if (json_object_get(in, "description") && !json_is_string(json_object_get(in, "description")))
		return false;
	json_object_foreach((json_t *) in, k, v)
	{
		bool known = false;
		for (size_t j = 0; j < ARRAY_LEN(keys); j++)
			known |= str_eq(k, keys[j]);
		if (!known)
			return false;
	}
	return true;
}

/* crew.yaml inputs: troupe's declared inputs, in their order (a type, a
 * default, a description, optional); placeholders they do not name follow
 * as required strings. */
static void crew_inputs(struct imp *m, json_t *list)
{
	json_t *declared = json_array(), *names = json_object(), *in;
	size_t i;
	char f[80];

	if (!json_is_array(list)) {
		problem_field(m->p, "crew_yaml: inputs", "must be a list of inputs, got %s", type_name(list));
		goto out;
	}
	json_array_foreach(list, i, in)
	{
		const char *name = json_string_value(json_object_get(in, "name"));
		snprintf(f, sizeof(f), "crew_yaml: inputs[%zu]", i);
		if (!input_ok(in)) {
			problem_field(m->p, f,
			              "must be {name (an identifier), type (string, number, boolean or json), "
			              "required (true or false), description?, default?}");
		} else if (json_object_get(names, name)) {
			problem_field(m->p, f, "the input \"%s\" is declared twice", name);
		} else {
			json_object_set_new(names, name, json_true());
			json_array_append(declared, in);
		}
	}
	json_array_foreach(m->inputs, i, in)
	{
		if (!json_object_get(names, json_string_value(json_object_get(in, "name"))))
			json_array_append(declared, in);
	}
	json_array_clear(m->inputs);
	json_array_extend(m->inputs, declared);
out:
	json_decref(declared);
	json_decref(names);
}

static void copy_if(json_t *dst, const char *dk, const json_t *src, const char *sk)
{
	json_t *v = json_object_get(src, sk);
	if (v)
		json_object_set(dst, dk, v);
}

/* name, description, process, manager, limits and tags of the workflow. */
static json_t *import_workflow(struct imp *m, const json_t *in)
{
	json_t *c = m->crew_doc, *v;
	json_t *w = json_object();
	const char *model_id = json_string_value(json_object_get(in, "model_id"));

	v = json_object_get(in, "name");
	if (!v)
		v = json_object_get(c, "name");
	if (v && (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 200))
		problem_field(m->p, json_object_get(in, "name") ? "name" : "crew_yaml: name",
		              "must be text of 1 to 200 characters");
	json_object_set_new(w, "name", v && json_is_string(v) ? json_incref(v) : json_string("Imported crewAI crew"));
	v = json_object_get(c, "description");
	if (v && !json_is_string(v))
		problem_field(m->p, "crew_yaml: description", "must be text, got %s", type_name(v));
	json_object_set_new(w, "description", json_string(json_is_string(v) ? json_string_value(v) : ""));
	json_object_set_new(w, "process", json_string(m->process));

	json_t *mllm = json_object_get(c, "manager_llm"), *magent = json_object_get(c, "manager_agent");
	if (mllm && magent)
		problem_field(m->p, "crew_yaml: manager_agent", "give manager_llm or manager_agent, not both");
	if (mllm && want_text(m, "crew_yaml: manager_llm", mllm) && !model_id)
		json_object_set(w, "manager_llm", mllm);
	if (magent && want_text(m, "crew_yaml: manager_agent", magent)) {
		if (!json_object_get(m->agents_doc, json_string_value(magent)))
			no_such_key(m, "crew_yaml: manager_agent", "agent", json_string_value(magent), m->agents_doc,
			            "agents_yaml");
		json_object_set(w, "manager_agent_key", magent);
		json_object_set_new(m->used, json_string_value(magent), json_true());
	}
	if (model_id && str_eq(m->process, "hierarchical") && !magent)
		json_object_set_new(w, "manager_model_id", json_string(model_id));
	if (str_eq(m->process, "hierarchical") && !mllm && !magent && !model_id)
		problem_field(m->p, "process",
		              "a hierarchical process needs a manager: manager_llm or manager_agent in crew_yaml, or "
		              "model_id");
	if ((v = json_object_get(c, "max_rpm")) && want_int(m, "crew_yaml: max_rpm", v, 1))
		json_object_set(w, "max_rpm", v);
	if ((v = json_object_get(c, "timeout_s")) && want_int(m, "crew_yaml: timeout_s", v, 1))
		json_object_set(w, "timeout_s", v);
	if ((v = json_object_get(c, "tags")) && want_names(m, "crew_yaml: tags", v))
		copy_if(w, "tags", c, "tags");
	return w;
}

static void warn_unused_agents(struct imp *m, json_t *agents)
{
	size_t i;
	json_t *a;
	char f[160];

	json_array_foreach(agents, i, a)
	{
		const char *key = json_string_value(json_object_get(a, "key"));
		if (!json_object_get(m->used, key))
			warn(m, at(f, sizeof(f), "agents_yaml", key, NULL), "no task uses this agent; imported anyway");
	}
}

static void apply_model_id(json_t *agents, const char *model_id)
{
	size_t i;
	json_t *a;

	json_array_foreach(agents, i, a)
	{
		json_object_del(a, "llm");
		json_object_set_new(a, "model_id", json_string(model_id));
	}
}

/* process: the body's, else crew.yaml's, else crewAI's default. */
static void pick_process(struct imp *m, const json_t *in)
{
	json_t *v = json_object_get(in, "process");
	const char *field = "process";

	if (!v && m->crew_doc)
		v = json_object_get(m->crew_doc, "process"), field = "crew_yaml: process";
	m->process = "sequential";
	if (v && process_ok(m, field, v))
		m->process = json_string_value(v);
}

enum status workflows_crewai_import(const json_t *in, json_t **out, struct problem *p)
{
	struct imp m = {.p = p,
	                .warnings = json_array(),
	                .used = json_object(),
	                .inputs = json_array(),
	                .input_names = json_object()};
	json_t *agents = NULL, *tasks = NULL, *w = NULL, *v;

	*out = NULL;
	if (!json_is_object(in)) {
		problem_field(p, "",
		              "must be an object {agents_yaml, tasks_yaml, crew_yaml?, process?, model_id?, name?}");
		goto out;
	}
	m.agents_doc = load_doc(&m, in, "agents_yaml", true);
	m.tasks_doc = load_doc(&m, in, "tasks_yaml", true);
	m.crew_doc = load_doc(&m, in, "crew_yaml", false);
	if (json_is_null(m.crew_doc)) {
		json_decref(m.crew_doc);
		m.crew_doc = NULL;
	}
	if ((v = json_object_get(in, "model_id")) && (!json_is_string(v) || !id_valid(json_string_value(v))))
		problem_field(p, "model_id", "must be a model configuration's id");
	if (!m.agents_doc || !m.tasks_doc || p->nfields)
		goto out;
	if (m.crew_doc)
		check_crew_keys(&m);
	pick_process(&m, in);
	agents = import_agents(&m);
	tasks = import_tasks(&m);
	w = import_workflow(&m, in);
	if (m.crew_doc && (v = json_object_get(m.crew_doc, "inputs")))
		crew_inputs(&m, v);
	if (p->nfields)
		goto out;
	warn_unused_agents(&m, agents);
	if (json_is_string(json_object_get(in, "model_id")))
		apply_model_id(agents, json_string_value(json_object_get(in, "model_id")));
	json_object_set(w, "inputs", m.inputs);
	json_object_set(w, "tasks", tasks);
	*out = json_pack("{s:O,s:O,s:O}", "workflow", w, "agents", agents, "warnings", m.warnings);
out:
	if (!*out && status_ok(p->st))
		problem_set(p, ST_BAD_INPUT, "the crewAI files cannot be imported");
	if (!*out && !p->detail)
		problem_set(p, ST_BAD_INPUT, "the crewAI files cannot be imported: %d problem%s", p->nfields,
		            p->nfields == 1 ? "" : "s");
	json_decref(w);
	json_decref(tasks);
	json_decref(agents);
	json_decref(m.agents_doc);
	json_decref(m.tasks_doc);
	json_decref(m.crew_doc);
	json_decref(m.warnings);
	json_decref(m.used);
	json_decref(m.inputs);
	json_decref(m.input_names);
	return *out ? ST_OK : p->st;
}

/* ------------------------------------------------------------ export */

static json_t *export_agent(const json_t *a, json_t *crew_agents)
{
	json_t *y = json_object(), *extra = json_object();
	const char *key = json_string_value(json_object_get(a, "key"));

	copy_if(y, "role", a, "role");
	copy_if(y, "goal", a, "goal");
	copy_if(y, "backstory", a, "backstory");
	copy_if(y, "llm", a, "llm");
	copy_if(y, "max_iter", a, "max_iter");
	copy_if(y, "max_rpm", a, "max_rpm");
	copy_if(y, "max_execution_time", a, "max_execution_time_s");
	copy_if(y, "max_retry_limit", a, "max_retry_limit");
	copy_if(y, "allow_delegation", a, "allow_delegation");
	copy_if(y, "respect_context_window", a, "respect_context_window");
	/* tools live in crew.yaml, as crewAI projects wire them in crew.py */
	if (json_array_size(json_object_get(a, "tool_names")))
		copy_if(extra, "tools", a, "tool_names");
	copy_if(extra, "temperature", a, "temperature");
	copy_if(extra, "system_prompt_extra", a, "system_prompt_extra");
	if (json_object_size(extra))
		json_object_set(crew_agents, key, extra);
	json_decref(extra);
	return y;
}

static json_t *export_task(const json_t *t, json_t *crew_tasks)
{
	json_t *y = json_object(), *extra = json_object(), *out = json_object_get(t, "output");
	json_t *g = json_object_get(t, "guardrail");
	const char *format = json_string_value(json_object_get(out, "format"));

	copy_if(y, "name", t, "name");
	copy_if(y, "description", t, "description");
	copy_if(y, "expected_output", t, "expected_output");
	copy_if(y, "agent", t, "agent_key");
	copy_if(y, "context", t, "context");
	if (json_is_true(json_object_get(t, "async_execution")))
		json_object_set_new(y, "async_execution", json_true());
	if (json_is_true(json_object_get(t, "human_review")))
		json_object_set_new(y, "human_input", json_true());
	if (str_eq(format, "markdown"))
		json_object_set_new(y, "markdown", json_true());
	copy_if(y, "output_file", t, "output_file");
	if (g && str_eq(json_string_value(json_object_get(g, "type")), "llm") && json_object_size(g) == 2 &&
	    json_is_string(json_object_get(g, "criteria")))
		copy_if(y, "guardrail", g, "criteria");
	else if (g)
		json_object_set(extra, "guardrail", g);
	copy_if(y, "guardrail_max_retries", t, "max_retries");
	copy_if(extra, "tools", t, "tool_names");
	if (str_eq(format, "json") && json_object_get(out, "schema"))
		copy_if(extra, "output_json", out, "schema");
	if (json_object_size(extra))
		json_object_set(crew_tasks, json_string_value(json_object_get(t, "key")), extra);
	json_decref(extra);
	return y;
}

/* The inputs go into crew.yaml only when the placeholders, read the way
 * the import reads them, would not give them back as they are. */
static bool inputs_derivable(const json_t *def)
{
	static const char *const agent_texts[] = {"role", "goal", "backstory"};
	static const char *const task_texts[] = {"description", "expected_output", "output_file"};
	const json_t *w = json_object_get(def, "workflow");
	json_t *derived = json_array(), *seen = json_object(), *e;
	size_t i;

	json_array_foreach(json_object_get(def, "agents"), i, e)
	{
		for (size_t j = 0; j < ARRAY_LEN(agent_texts); j++)
			placeholders_into(derived, seen, json_string_value(json_object_get(e, agent_texts[j])));
	}
	json_array_foreach(json_object_get(w, "tasks"), i, e)
	{
		for (size_t j = 0; j < ARRAY_LEN(task_texts); j++)
			placeholders_into(derived, seen, json_string_value(json_object_get(e, task_texts[j])));
	}
	bool same = json_equal(derived, json_object_get(w, "inputs"));
	json_decref(derived);
	json_decref(seen);
	return same;
}

static char *dump_or_empty(json_t *v)
{
	return json_object_size(v) ? yaml_json_dump(v) : xstrdup("");
}

static enum status export_check(const json_t *def, struct problem *p)
{
	const json_t *w = json_object_get(def, "workflow"), *agents = json_object_get(def, "agents"), *t;
	json_t *keys = json_object(), *a;
	const char *proc = json_string_value(json_object_get(w, "process"));
	size_t i;
	char f[80];

	if (!json_is_object(w) || !json_is_array(agents) || !json_is_array(json_object_get(w, "tasks")))
		return problem_set(p, ST_BAD_INPUT, "a definition is {workflow: {..., tasks: [...]}, agents: [...]}");
	if (proc && str_eq(proc, "graph"))
		problem_field(p, "workflow.process",
		              "a graph workflow has no crewAI form (crewAI has sequential and "
		              "hierarchical processes)");
	json_array_foreach(agents, i, a)
	{
		const char *k = json_string_value(json_object_get(a, "key"));
		snprintf(f, sizeof(f), "agents[%zu].key", i);
		if (!k || !template_name_valid(k) || json_object_get(keys, k))
			problem_field(p, f, "every agent needs a distinct key (an identifier)");
		else
			json_object_set_new(keys, k, json_true());
	}
	json_array_foreach(json_object_get(w, "tasks"), i, t)
	{
		const char *k = json_string_value(json_object_get(t, "key"));
		const char *ak = json_string_value(json_object_get(t, "agent_key"));
		snprintf(f, sizeof(f), "workflow.tasks[%zu]", i);
		if (!k || !template_name_valid(k))
			problem_field(p, f, "every task needs a key (an identifier)");
		if (ak && !json_object_get(keys, ak))
			problem_field(p, f, "names the agent key \"%.64s\", which agents does not hold", ak);
	}
	json_decref(keys);
	if (p->nfields)
		problem_set(p, ST_UNPROCESSABLE, "the workflow cannot be written as crewAI files");
	return p->nfields ? p->st : ST_OK;
}

enum status workflows_crewai_export(const json_t *def, json_t **out, struct problem *p)
{
	json_t *w = json_object_get(def, "workflow"), *ay = json_object(), *ty = json_object(), *cy = json_object();
	json_t *crew_agents = json_object(), *crew_tasks = json_object(), *e;
	char *a_text = NULL, *t_text = NULL, *c_text = NULL;
	enum status st;
	size_t i;

	*out = NULL;
	if ((st = export_check(def, p)) != ST_OK)
		goto out;
	json_array_foreach(json_object_get(def, "agents"), i, e)
	    json_object_set_new(ay, json_string_value(json_object_get(e, "key")), export_agent(e, crew_agents));
	json_array_foreach(json_object_get(w, "tasks"), i, e)
	    json_object_set_new(ty, json_string_value(json_object_get(e, "key")), export_task(e, crew_tasks));
	copy_if(cy, "name", w, "name");
	if (json_string_length(json_object_get(w, "description")))
		copy_if(cy, "description", w, "description");
	json_object_set_new(cy, "process",
	                    json_string(json_string_value(json_object_get(w, "process"))
	                                    ? json_string_value(json_object_get(w, "process"))
	                                    : "sequential"));
	copy_if(cy, "manager_llm", w, "manager_llm");
	copy_if(cy, "manager_agent", w, "manager_agent_key");
	copy_if(cy, "max_rpm", w, "max_rpm");
	copy_if(cy, "timeout_s", w, "timeout_s");
	if (json_array_size(json_object_get(w, "tags")))
		copy_if(cy, "tags", w, "tags");
	if (!inputs_derivable(def))
		copy_if(cy, "inputs", w, "inputs");
	if (json_object_size(crew_agents))
		json_object_set(cy, "agents", crew_agents);
	if (json_object_size(crew_tasks))
		json_object_set(cy, "tasks", crew_tasks);
	a_text = dump_or_empty(ay);
	t_text = dump_or_empty(ty);
	c_text = yaml_json_dump(cy);
	if (!a_text || !t_text || !c_text) {
		st = problem_set(p, ST_UNPROCESSABLE,
		                 "the workflow holds values too large or too deep to write as YAML");
		goto out;
	}
	*out = json_pack("{s:s,s:s,s:s}", "agents_yaml", a_text, "tasks_yaml", t_text, "crew_yaml", c_text);
	st = *out ? ST_OK : problem_set(p, ST_INTERNAL, "the YAML text is not valid UTF-8");
out:
	free(a_text);
	free(t_text);
	free(c_text);
	json_decref(ay);
	json_decref(ty);
	json_decref(cy);
	json_decref(crew_agents);
	json_decref(crew_tasks);
	return st;
}
