/* libFuzzer: providers' answers as they come off the network, through the
 * non-streamed parsers (the fast scanner and the jansson path, which must
 * agree), the SSE reader and the stream assembler, embeddings and error
 * bodies. Must never crash, leak, or let the two chat parsers differ. */
#include "core/core.h"
#include "llm/llm_int.h"

#include <stdlib.h>
#include <string.h>

static const enum llm_provider providers[] = {LLM_OPENAI, LLM_AZURE_OPENAI, LLM_ANTHROPIC, LLM_OLLAMA,
                                              LLM_OPENAI_COMPATIBLE};

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void chat_both_ways(enum llm_provider p, const char *body, size_t len)
{
	struct llm_response fast = {0}, slow = {0};
	char e1[256], e2[256];
	llm_wire_slow_only = false;
	int r1 = llm_wire_parse_chat(p, body, len, false, &fast, e1, sizeof(e1));
	llm_wire_slow_only = true;
	int r2 = llm_wire_parse_chat(p, body, len, false, &slow, e2, sizeof(e2));
	llm_wire_slow_only = false;
	if (r1 != r2 ||
	    (r1 == 0 && (!same(fast.text, slow.text) || !same(fast.finish_reason, slow.finish_reason) ||
	                 fast.ntool_calls != slow.ntool_calls || fast.rec.prompt_tokens != slow.rec.prompt_tokens ||
	                 fast.rec.completion_tokens != slow.rec.completion_tokens)))
		abort(); /* the fast scanner and jansson disagree */
	llm_response_free(&fast);
	llm_response_free(&slow);
}

static void stream(enum llm_provider p, const char *body, size_t len, size_t cut)
{
	struct llm_stream st;
	struct llm_sse sse;
	struct llm_response resp = {0};
	char err[256];
	llm_stream_init(&st, p, false, NULL, NULL);
	llm_sse_init(&sse, llm_stream_event, &st);
	if (llm_sse_feed(&sse, body, cut) == 0)
		llm_sse_feed(&sse, body + cut, len - cut);
	llm_stream_finish(&st, &resp, err, sizeof(err));
	llm_response_free(&resp);
	llm_stream_free(&st);
	llm_sse_free(&sse);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 2 || size > 65536)
		return 0;
	enum llm_provider p = providers[data[0] % ARRAY_LEN(providers)];
	size_t cut = data[1] % (size - 1);
	const char *body = (const char *) data + 2;
	size_t len = size - 2;
	cut = cut < len ? cut : len;
	chat_both_ways(p, body, len);
	stream(p, body, len, cut);
	float *vec = NULL;
	int dim = 0;
	int64_t tokens = 0;
	char err[256];
	llm_wire_parse_embed(p, body, len, 1 + data[1] % 4, &vec, &dim, &tokens, err, sizeof(err));
	free(vec);
	free(llm_wire_error_text(body, len));
	return 0;
}
