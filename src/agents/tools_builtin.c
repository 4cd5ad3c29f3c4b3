/*
 * The table of pure built-in tools: names, descriptions for the model,
 * and parameters as JSON Schema (checked against core/jsonschema.h's
 * subset by tests/unit/test_tools_builtin.c). docs/tools.md shows them.
 */
#include "agents.h"

#include <string.h>

/* The same text as the tools module publishes (src/agents/tools.c). */
static const char calculator_parameters[] =
    "{\"type\":\"object\",\"properties\":{\"expression\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":"
    "1000,\"description\":\"e.g. (2 + 3) * sqrt(16)\"}},\"required\":[\"expression\"],"
    "\"additionalProperties\":false}";

static const char current_datetime_parameters[] =
    "{\"type\":\"object\",\"properties\":{\"timezone\":{\"type\":\"string\",\"maxLength\":64,\"default\":"
    "\"UTC\",\"description\":\"an IANA time zone name, e.g. Europe/Paris\"}},\"additionalProperties\":false}";

static const char json_query_parameters[] =
    "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1000,"
    "\"description\":\"e.g. $.store.book[?@.price < 10].title\"},\"document\":{\"description\":\"the JSON "
    "value to query\"}},\"required\":[\"query\",\"document\"],\"additionalProperties\":false}";

const struct agents_builtin_tool agents_builtin_tools[] = {
    {"calculator",
     "Evaluates an arithmetic expression (+ - * / % ^, parentheses, sqrt, abs, round, floor, ceil, min, max, log, "
     "ln, exp, sin, cos, tan, pi, e). Never runs code.",
     calculator_parameters, agents_tool_calculator},
    {"current_datetime", "The current date and time in an IANA time zone, ISO 8601 with its offset.",
     current_datetime_parameters, agents_tool_current_datetime},
    {"json_query",
     "Selects values from a JSON document with an RFC 9535 JSONPath query; answers the list of values found.",
     json_query_parameters, agents_tool_json_query},
    {0},
};

const struct agents_builtin_tool *agents_builtin_find(const char *name)
{
	for (const struct agents_builtin_tool *t = agents_builtin_tools; name && t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}
