/*
 * The messages of a task attempt, built as crewAI builds them. Each slice is
 * crewAI's text from lib/crewai/src/crewai/translations/en.json (crewAI
 * 1.15.17, commit f4731f5), assembled in the order of utilities/prompts.py
 * (Prompts.task_execution with use_system_prompt), task.py (Task.prompt),
 * agent/utils.py (build_task_prompt_with_schema, format_task_with_context)
 * and agents/crew_agent_executor.py (_setup_messages, format_message_for_llm's
 * rstrip).
 */
#include "engine/engine.h"
#include "core/json_text.h"

#include "core/template.h"

#include <string.h>

/* slices.role_playing: "You are {role}. {backstory}\nYour personal goal is: {goal}" */
#define SLICE_ROLE_PLAYING_1 "You are "
#define SLICE_ROLE_PLAYING_2 ". "
#define SLICE_ROLE_PLAYING_3 "\nYour personal goal is: "
/* slices.native_task: "\nCurrent Task: {input}" (agent with tools, native tool calling) */
#define SLICE_NATIVE_TASK "\nCurrent Task: "
/* slices.task_no_tools: "\nCurrent Task: {input}\n\nProvide your complete response:" */
#define SLICE_TASK_NO_TOOLS_1 "\nCurrent Task: "
#define SLICE_TASK_NO_TOOLS_2 "\n\nProvide your complete response:"
/* slices.expected_output */
#define SLICE_EXPECTED_1 "\nThis is the expected criteria for your final answer: "
#define SLICE_EXPECTED_2 "\nyou MUST return the actual complete content as the final answer, not a summary."
/* slices.task_with_context: "{task}\n\nThis is the context you're working with:\n{context}" */
#define SLICE_WITH_CONTEXT "\n\nThis is the context you're working with:\n"
/* slices.formatted_task_instructions, {output_format} between the two parts */
#define SLICE_FORMAT_1 "Format your final answer according to the following OpenAPI schema: "
#define SLICE_FORMAT_2                                                                                                 \
	"\n\nIMPORTANT: Preserve the original content exactly as-is. Do NOT rewrite, paraphrase, or modify the "       \
	"meaning of the content. Only structure it to match the schema format.\n\nDo not include the OpenAPI schema "  \
	"in the final output. Ensure the final output does not include any code block markers like ```json or "        \
	"```python."

/* The longest message the engine builds (inputs and context included). */
#define PROMPT_MAX (4 * 1024 * 1024)

/* format_message_for_llm: prompt.rstrip() (Python's whitespace: space, \t, \n, \v, \f, \r). */
static void rstrip(struct buf *b)
{
	while (b->len && strchr(" \t\n\v\f\r", b->data[b->len - 1]))
		b->len--;
}

static char *finish(struct buf *b, struct arena *a)
{
	char *s;

	rstrip(b);
	s = arena_strndup(a, b->data ? b->data : "", b->len);
	buf_free(b);
	return s;
}

static enum status interp(const char *text, const json_t *inputs, const char *field, struct arena *a, char **out,
                          struct problem *p)
{
	enum status st = template_interpolate(text ? text : "", inputs, PROMPT_MAX, a, out, p);
	if (st != ST_OK && !p->detail)
		problem_set(p, st, "%s: the inputs do not fill its placeholders", field);
	return st;
}

/* Python's json.dumps(schema, indent=2): what crewAI writes into formatted_task_instructions. */
static int put_schema(struct buf *b, const json_t *schema)
{
	char *s = json_text(schema, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	int rc = s ? buf_puts(b, s) : -1;
	free(s);
	return rc;
}

enum status engine_prompt_build(const struct engine_agent *agent, const struct engine_task *task, const json_t *inputs,
                                const char *context, struct arena *a, char **system, char **user, struct problem *p)
{
	char *role, *goal, *backstory, *desc, *expected;
	struct buf s, u;
	enum status st;
	int rc = 0;

	*system = *user = NULL;
	if ((st = interp(agent->role, inputs, "role", a, &role, p)) != ST_OK ||
	    (st = interp(agent->goal, inputs, "goal", a, &goal, p)) != ST_OK ||
	    (st = interp(agent->backstory, inputs, "backstory", a, &backstory, p)) != ST_OK ||
	    (st = interp(task->description, inputs, "description", a, &desc, p)) != ST_OK ||
	    (st = interp(task->expected_output, inputs, "expected_output", a, &expected, p)) != ST_OK)
		return st;

	buf_init(&s, PROMPT_MAX);
	buf_init(&u, PROMPT_MAX);
	/* system: role_playing + (no_tools: "" | native: nothing) */
	rc |= buf_puts(&s, SLICE_ROLE_PLAYING_1);
	rc |= buf_puts(&s, role);
	rc |= buf_puts(&s, SLICE_ROLE_PLAYING_2);
	rc |= buf_puts(&s, backstory);
	rc |= buf_puts(&s, SLICE_ROLE_PLAYING_3);
	rc |= buf_puts(&s, goal);

	/* user: the task slice around {input} = task.prompt() [+ schema] [+ context] */
	rc |= buf_puts(&u, agent->ntools > 0 ? SLICE_NATIVE_TASK : SLICE_TASK_NO_TOOLS_1);
	rc |= buf_puts(&u, desc);
	rc |= buf_puts(&u, "\n" SLICE_EXPECTED_1);
	rc |= buf_puts(&u, expected);
	rc |= buf_puts(&u, SLICE_EXPECTED_2);
	if (task->format == ENGINE_OUTPUT_JSON && task->schema) {
		rc |= buf_puts(&u, "\n" SLICE_FORMAT_1);
		rc |= put_schema(&u, task->schema);
		rc |= buf_puts(&u, SLICE_FORMAT_2);
	}
	if (context && *context) {
		rc |= buf_puts(&u, SLICE_WITH_CONTEXT);
		rc |= buf_puts(&u, context);
	}
	if (agent->ntools == 0)
		rc |= buf_puts(&u, SLICE_TASK_NO_TOOLS_2);
	if (rc) {
		buf_free(&s);
		buf_free(&u);
		return problem_set(p, ST_UNPROCESSABLE, "the prompt would exceed %d bytes", PROMPT_MAX);
	}
	*system = finish(&s, a);
	*user = finish(&u, a);
	return ST_OK;
}
