/* The request bodies of workflows, as data (core/schema.h): the gateway
 * checks creates and patches with them and documents them, and the
 * importer's result passes the same check. Rules across fields (keys,
 * references, cycles, placeholders) are validate.c's. */
#include "workflows_int.h"
#include "core/schema.h"

static const char *const PROCESSES[] = {"sequential", "hierarchical", "graph", NULL};
static const char *const INPUT_TYPES[] = {"string", "number", "boolean", "json", NULL};
static const char *const FORMATS[] = {"text", "markdown", "json", NULL};
static const char *const OPS[] = {"equals", "not_equals", "contains", "matches", "gt", "lt", "exists", NULL};
static const char *const GUARDS[] = {"json_schema", "regex", "llm", NULL};

static const struct field input_fields[] = {
    {"name", JT_STRING, .required = true, .min = 1, .max = 64,
     .description = "a placeholder name: a letter or _, then letters, digits, _ or -"},
    {"description", JT_STRING, .max = 2000, .nullable = true},
    {"type", JT_STRING, .enums = INPUT_TYPES, .description = "default string"},
    {"default", JT_ANY, .nullable = true, .description = "of the input's type"},
    {"required", JT_BOOL, .description = "default: true unless a default is given"},
    {0}};
static const struct schema input_schema = {"WorkflowInput", input_fields, false};

static const struct field condition_fields[] = {
    {"task", JT_STRING, .required = true, .min = 1, .max = 64, .description = "a task this one depends on"},
    {"path", JT_STRING, .max = 1000, .nullable = true, .description = "RFC 9535 JSONPath into that task's output"},
    {"op", JT_STRING, .required = true, .enums = OPS},
    {"value", JT_ANY, .nullable = true, .description = "required but for exists"},
    {0}};
static const struct schema condition_schema = {"TaskCondition", condition_fields, false};

static const struct field output_fields[] = {
    {"format", JT_STRING, .enums = FORMATS, .description = "default text"},
    {"schema", JT_OBJECT, .nullable = true, .object = &(const struct schema){"OutputJsonSchema", NULL, true},
     .description = "format json: a JSON Schema of the supported subset (docs/core.md)"},
    {0}};
static const struct schema output_schema = {"TaskOutput", output_fields, false};

static const struct field guardrail_fields[] = {
    {"type", JT_STRING, .required = true, .enums = GUARDS},
    {"schema", JT_OBJECT, .object = &(const struct schema){"GuardrailJsonSchema", NULL, true},
     .description = "json_schema: the schema the output must satisfy"},
    {"pattern", JT_STRING, .min = 1, .max = 1024, .description = "regex: a POSIX extended expression"},
    {"must_match", JT_BOOL, .description = "regex: default true"},
    {"criteria", JT_STRING, .min = 1, .max = 8000, .description = "llm: what a good output is"},
    {"model_id", JT_STRING, .format = "uuid", .nullable = true, .description = "llm: the judge's model"},
    {0}};
static const struct schema guardrail_schema = {"TaskGuardrail", guardrail_fields, false};

static const struct field task_fields[] = {
    {"key", JT_STRING, .required = true, .min = 1, .max = 64, .description = "an identifier, unique in the workflow"},
    {"name", JT_STRING, .max = 200, .nullable = true},
    {"description", JT_STRING, .required = true, .min = 1, .max = 32000},
    {"expected_output", JT_STRING, .required = true, .max = 32000},
    {"agent_id", JT_STRING, .format = "uuid", .nullable = true, .description = "optional in a hierarchical process"},
    {"context", JT_ARRAY, .items = JT_STRING, .max = 200, .nullable = true,
     .description = "task keys; null: every earlier task; []: none"},
    {"async_execution", JT_BOOL, .description = "default false"},
    {"depends_on", JT_ARRAY, .items = JT_STRING, .max = 200, .description = "graph: task keys"},
    {"condition", JT_OBJECT, .nullable = true, .object = &condition_schema, .description = "graph"},
    {"tool_ids", JT_ARRAY, .items = JT_STRING, .max = 64, .nullable = true,
     .description = "replace the agent's tools for this task; null: the agent's"},
    {"output", JT_OBJECT, .object = &output_schema},
    {"guardrail", JT_OBJECT, .nullable = true, .object = &guardrail_schema},
    {"max_retries", JT_INT, .min = 0, .max = 20, .description = "default 3"},
    {"human_review", JT_BOOL, .description = "default false"},
    {"output_file", JT_STRING, .min = 1, .max = 255, .nullable = true, .description = "an artifact name"},
    {0}};
static const struct schema task_schema = {"WorkflowTask", task_fields, false};

#define WORKFLOW_FIELDS(req)                                                                                           \
	{"name", JT_STRING, .required = req, .min = 1, .max = 200}, {"description", JT_STRING, .max = 8000},           \
	    {"process", JT_STRING, .enums = PROCESSES, .description = "default sequential"},                           \
	    {"manager_model_id", JT_STRING, .format = "uuid", .nullable = true, .description = "hierarchical"},        \
	    {"manager_agent_id", JT_STRING, .format = "uuid", .nullable = true, .description = "hierarchical"},        \
	    {"inputs", JT_ARRAY, .items = JT_OBJECT, .object = &input_schema, .max = 100},                             \
	    {"tasks", JT_ARRAY, .required = req, .items = JT_OBJECT, .object = &task_schema, .max = 200},              \
	    {"max_rpm", JT_INT, .min = 1, .max = 100000, .nullable = true},                                            \
	    {"max_concurrency", JT_INT, .min = 1, .max = 64, .nullable = true, .description = "graph"},                \
	    {"timeout_s", JT_INT, .min = 1, .max = 604800, .nullable = true},                                          \
	    {"tags", JT_ARRAY, .items = JT_STRING, .max = 32},                                                         \
	{                                                                                                              \
		"change_note", JT_STRING, .max = 500, .description = "recorded with the version this change writes"    \
	}

static const struct field create_fields[] = {WORKFLOW_FIELDS(true), {0}};
const struct schema workflows_create_schema = {"WorkflowCreate", create_fields, false};
static const struct field update_fields[] = {
    WORKFLOW_FIELDS(false),
    {"base_version", JT_INT, .min = 1, .max = INT32_MAX,
     .description = "the version the change was made on; a stale one answers 409 naming the current"},
    {0}};
const struct schema workflows_update_schema = {"WorkflowUpdate", update_fields, false};

/* ---- defaults ---- */

static void set_default(json_t *o, const char *k, json_t *v)
{
	if (!json_object_get(o, k))
		json_object_set_new(o, k, v);
	else
		json_decref(v);
}

static json_t *task_defaults(const json_t *in)
{
	json_t *t = json_deep_copy(in);
	set_default(t, "name", json_null());
	set_default(t, "agent_id", json_null());
	set_default(t, "context", json_null());
	set_default(t, "async_execution", json_false());
	set_default(t, "depends_on", json_array());
	set_default(t, "condition", json_null());
	set_default(t, "tool_ids", json_null());
	set_default(t, "output", json_object());
	json_t *out = json_object_get(t, "output");
	set_default(out, "format", json_string("text"));
	set_default(out, "schema", json_null());
	set_default(t, "guardrail", json_null());
	set_default(t, "max_retries", json_integer(3));
	set_default(t, "human_review", json_false());
	set_default(t, "output_file", json_null());
	json_t *g = json_object_get(t, "guardrail");
	if (str_eq(wf_str(g, "type"), "regex"))
		set_default(g, "must_match", json_true());
	return t;
}

static json_t *input_defaults(const json_t *in)
{
	json_t *i = json_deep_copy(in);
	set_default(i, "description", json_null());
	set_default(i, "type", json_string("string"));
	set_default(i, "required", json_boolean(!json_object_get(i, "default")));
	return i;
}

static const char *const DEF_KEYS[] = {"name",   "description", "process", "manager_model_id", "manager_agent_id",
                                       "inputs", "tasks",       "max_rpm", "max_concurrency",  "timeout_s",
                                       "tags",   NULL};

json_t *wf_apply(const json_t *base, const json_t *body)
{
	json_t *def = json_object();
	for (const char *const *k = DEF_KEYS; *k; k++) {
		json_t *v = json_object_get(body, *k);
		if (!v)
			v = json_object_get(base, *k);
		if (v)
			json_object_set(def, *k, v);
	}
	set_default(def, "description", json_string(""));
	if (json_is_null(json_object_get(def, "description")))
		json_object_set_new(def, "description", json_string(""));
	set_default(def, "process", json_string("sequential"));
	set_default(def, "manager_model_id", json_null());
	set_default(def, "manager_agent_id", json_null());
	set_default(def, "max_rpm", json_null());
	set_default(def, "max_concurrency", json_null());
	set_default(def, "timeout_s", json_null());
	set_default(def, "tags", json_array());
	json_t *inputs = json_array(), *tasks = json_array(), *e;
	size_t i;
	json_array_foreach(json_object_get(def, "inputs"), i, e) json_array_append_new(inputs, input_defaults(e));
	json_array_foreach(json_object_get(def, "tasks"), i, e) json_array_append_new(tasks, task_defaults(e));
	json_object_set_new(def, "inputs", inputs);
	json_object_set_new(def, "tasks", tasks);
	return def;
}
