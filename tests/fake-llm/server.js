#!/usr/bin/env node
// A fake LLM provider for tests and benchmarks: OpenAI Chat Completions,
// Azure OpenAI, Anthropic Messages, embeddings (OpenAI and Ollama shapes),
// with scripted replies, faults and a record of what clients sent.
// Never part of the product; no dependencies beyond Node 18+.
'use strict';

const http = require('http');
const crypto = require('crypto');
const { URL } = require('url');

const opts = { port: 0, host: '127.0.0.1', latencyMs: 0, embedDim: 8, recordMax: 10000 };
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i];
	const v = process.argv[i + 1];
	if (a === '--port') { opts.port = Number(v); i++; }
	else if (a === '--host') { opts.host = v; i++; }
	else if (a === '--latency-ms') { opts.latencyMs = Number(v); i++; }
	else if (a === '--embed-dim') { opts.embedDim = Number(v); i++; }
	else if (a === '--record-max') { opts.recordMax = Number(v); i++; }
	else if (a === '--help' || a === '-h') {
		process.stdout.write('usage: server.js [--port N] [--host H] [--latency-ms N] [--embed-dim N] [--record-max N]\n');
		process.exit(0);
	} else {
		process.stderr.write(`unknown option ${a}\n`);
		process.exit(2);
	}
}

// ---- state: scripts, the request record (a ring), per-second counts ----
let rules = [];
let record = new Array(opts.recordMax);
let recordHead = 0;
let recordLen = 0;
let stats = new Map(); // unix second -> {count, paths: {path: n}}
let seq = 0;

function resetState() {
	rules = [];
	record = new Array(opts.recordMax);
	recordHead = 0;
	recordLen = 0;
	stats = new Map();
}

function remember(entry) {
	record[(recordHead + recordLen) % opts.recordMax] = entry;
	if (recordLen < opts.recordMax) recordLen++;
	else recordHead = (recordHead + 1) % opts.recordMax;
	const sec = Math.floor(entry.time / 1000);
	let s = stats.get(sec);
	if (!s) {
		s = { count: 0, paths: {} };
		stats.set(sec, s);
		if (stats.size > 3600) stats.delete(stats.keys().next().value);
	}
	s.count++;
	s.paths[entry.path] = (s.paths[entry.path] || 0) + 1;
}

function recorded() {
	const out = [];
	for (let i = 0; i < recordLen; i++) out.push(record[(recordHead + i) % opts.recordMax]);
	return out;
}

const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- helpers ----
function sendJson(res, status, obj, extra) {
	const body = JSON.stringify(obj);
	const h = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
	if (extra) Object.assign(h, extra);
	res.writeHead(status, h);
	res.end(body);
}

function keyOf(req) {
	const auth = req.headers['authorization'];
	if (auth && auth.startsWith('Bearer ')) return auth.slice(7);
	return req.headers['api-key'] || req.headers['x-api-key'] || null;
}

function contentText(c) {
	if (c == null) return '';
	if (typeof c === 'string') return c;
	if (Array.isArray(c)) return c.map((p) => (p && (p.text || contentText(p.content))) || '').join('\n');
	return '';
}

// All message text of a chat request: what script markers are matched against.
function promptText(body) {
	let parts = [];
	if (body.system) parts.push(contentText(body.system));
	for (const m of body.messages || []) parts.push(contentText(m.content));
	if (body.input != null) parts.push(Array.isArray(body.input) ? body.input.join('\n') : String(body.input));
	if (body.prompt != null) parts.push(String(body.prompt));
	return parts.join('\n');
}

function lastUserText(body) {
	const msgs = body.messages || [];
	for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i].role === 'user') return contentText(msgs[i].content);
	return '';
}

function pickReply(text) {
	for (const r of rules) {
		if (text.includes(r.match)) {
			const reply = r.replies[Math.min(r.next, r.replies.length - 1)];
			r.next++;
			return reply || {};
		}
	}
	return null;
}

const tokens = (s) => Math.max(1, Math.ceil(s.length / 4));

// Deterministic unit vectors from SHA-256 of the text (counter mode for long dims).
function embedVector(text, dim) {
	const v = new Array(dim);
	let block = null;
	for (let i = 0; i < dim; i++) {
		if (i % 16 === 0) block = crypto.createHash('sha256').update(`${i / 16}:${text}`).digest();
		const u = block.readUInt16BE((i % 16) * 2);
		v[i] = u / 32767.5 - 1;
	}
	const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0)) || 1;
	return v.map((x) => Math.round((x / n) * 1e6) / 1e6);
}

// ---- provider error shapes ----
const errors = {
	openai: {
		// Echoes the key it was given, as some providers and proxies do: the client must redact it.
		auth: (key) => [401, { error: { message: `Incorrect API key provided: ${key || 'bad-key'}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }],
		unsupported: (param) => [400, { error: { message: param === 'max_tokens' ? "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead." : `Unsupported parameter: '${param}' is not supported with this model.`, type: 'invalid_request_error', param, code: 'unsupported_parameter' } }],
		notFound: (m) => [404, { error: { message: `The model \`${m}\` does not exist`, type: 'invalid_request_error', code: 'model_not_found' } }],
		status: (s) => s === 429
			? [429, { error: { message: 'Rate limit reached for requests. Please try again later.', type: 'requests', param: null, code: 'rate_limit_exceeded' } }]
			: s >= 500
				? [s, { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } }]
				: [s, { error: { message: `scripted error ${s}`, type: 'invalid_request_error', param: null, code: null } }],
		bad: (msg) => [400, { error: { message: msg, type: 'invalid_request_error', param: null, code: null } }],
	},
	azure: {
		auth: () => [401, { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.' } }],
		notFound: () => [404, { error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.' } }],
		status: (s) => s === 429
			? [429, { error: { code: '429', message: 'Requests to the ChatCompletions_Create Operation have exceeded call rate limit. Please retry after 1 second.' } }]
			: [s, { error: { code: String(s), message: s >= 500 ? 'The server had an error while processing your request.' : `scripted error ${s}` } }],
		bad: (msg) => [400, { error: { code: 'BadRequest', message: msg } }],
	},
	anthropic: {
		auth: () => [401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }],
		notFound: (m) => [404, { type: 'error', error: { type: 'not_found_error', message: `model: ${m}` } }],
		status: (s) => s === 429
			? [429, { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } }]
			: s === 529
				? [529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]
				: s >= 500
					? [s, { type: 'error', error: { type: 'api_error', message: 'Internal server error' } }]
					: [s, { type: 'error', error: { type: 'invalid_request_error', message: `scripted error ${s}` } }],
		bad: (msg) => [400, { type: 'error', error: { type: 'invalid_request_error', message: msg } }],
	},
	ollama: {
		notFound: (m) => [404, { error: `model "${m}" not found, try pulling it first` }],
		status: (s) => [s, { error: `scripted error ${s}` }],
		bad: (msg) => [400, { error: msg }],
	},
};

function sendError(res, flavor, pair, retryAfter) {
	const extra = {};
	if (retryAfter != null) extra['retry-after'] = String(retryAfter);
	if (flavor === 'anthropic') extra['request-id'] = `req_fake${seq}`;
	else extra['x-request-id'] = `req_fake${seq}`;
	sendJson(res, pair[0], pair[1], extra);
}

// ---- the reply a chat request gets: {text} or {toolCalls} plus usage ----
function planReply(body, flavor, reply) {
	const r = reply || {};
	let text = null;
	let toolCalls = null;
	if (r.tool_calls) {
		toolCalls = r.tool_calls.map((t) => ({
			id: flavor === 'anthropic' ? `toolu_fake${++seq}` : `call_fake${++seq}`,
			name: t.name,
			arguments: t.arguments || {},
		}));
	} else if (r.json !== undefined) {
		// Anthropic clients emulate JSON output with a forced tool: answer with that tool.
		const tc = body.tool_choice;
		if (flavor === 'anthropic' && tc && tc.type === 'tool') {
			toolCalls = [{ id: `toolu_fake${++seq}`, name: tc.name, arguments: r.json }];
		} else {
			text = JSON.stringify(r.json);
		}
	} else if (r.text !== undefined) {
		text = r.text;
	} else if (r.raw !== undefined) {
		text = null;
	} else {
		text = `echo: ${lastUserText(body)}`;
		const tc = body.tool_choice;
		if (flavor === 'anthropic' && tc && tc.type === 'tool') {
			toolCalls = [{ id: `toolu_fake${++seq}`, name: tc.name, arguments: {} }];
			text = null;
		}
	}
	const outLen = (text || '').length + (toolCalls ? JSON.stringify(toolCalls).length : 0);
	const usage = {
		prompt_tokens: tokens(promptText(body)),
		completion_tokens: tokens('x'.repeat(outLen)),
		cached_tokens: 0,
	};
	if (r.usage) Object.assign(usage, r.usage);
	return { text, toolCalls, usage, raw: r.raw };
}

function splitText(s) {
	// Pieces of a few characters so clients see many deltas.
	const out = [];
	for (let i = 0; i < s.length; i += 4) out.push(s.slice(i, i + 4));
	return out;
}

// ---- OpenAI shape (OpenAI, Azure, Ollama's /v1, OpenAI-compatible) ----
function openaiJson(model, plan) {
	const msg = { role: 'assistant', content: plan.text };
	if (plan.toolCalls) {
		msg.tool_calls = plan.toolCalls.map((t) => ({
			id: t.id, type: 'function', function: { name: t.name, arguments: JSON.stringify(t.arguments) },
		}));
	}
	return {
		id: `chatcmpl-fake${++seq}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
		choices: [{ index: 0, message: msg, logprobs: null, finish_reason: plan.toolCalls ? 'tool_calls' : 'stop' }],
		usage: {
			prompt_tokens: plan.usage.prompt_tokens, completion_tokens: plan.usage.completion_tokens,
			total_tokens: plan.usage.prompt_tokens + plan.usage.completion_tokens,
			prompt_tokens_details: { cached_tokens: plan.usage.cached_tokens || 0 },
		},
		system_fingerprint: 'fp_fake',
	};
}

function openaiEvents(body, model, plan) {
	const id = `chatcmpl-fake${++seq}`;
	const created = Math.floor(Date.now() / 1000);
	const chunk = (delta, finish, extra) => Object.assign({
		id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake',
		choices: [{ index: 0, delta, logprobs: null, finish_reason: finish || null }],
	}, extra || {});
	const ev = [];
	ev.push(chunk({ role: 'assistant', content: '' }));
	if (plan.text) for (const p of splitText(plan.text)) ev.push(chunk({ content: p }));
	if (plan.toolCalls) {
		plan.toolCalls.forEach((t, i) => {
			ev.push(chunk({ tool_calls: [{ index: i, id: t.id, type: 'function', function: { name: t.name, arguments: '' } }] }));
			for (const p of splitText(JSON.stringify(t.arguments))) ev.push(chunk({ tool_calls: [{ index: i, function: { arguments: p } }] }));
		});
	}
	ev.push(chunk({}, plan.toolCalls ? 'tool_calls' : 'stop'));
	if (body.stream_options && body.stream_options.include_usage) {
		ev.push({
			id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices: [],
			usage: {
				prompt_tokens: plan.usage.prompt_tokens, completion_tokens: plan.usage.completion_tokens,
				total_tokens: plan.usage.prompt_tokens + plan.usage.completion_tokens,
				prompt_tokens_details: { cached_tokens: plan.usage.cached_tokens || 0 },
			},
		});
	}
	return ev.map((e) => `data: ${JSON.stringify(e)}\n\n`).concat(['data: [DONE]\n\n']);
}

// ---- Anthropic shape ----
function anthropicJson(model, plan) {
	const content = [];
	if (plan.text != null) content.push({ type: 'text', text: plan.text });
	for (const t of plan.toolCalls || []) content.push({ type: 'tool_use', id: t.id, name: t.name, input: t.arguments });
	return {
		id: `msg_fake${++seq}`, type: 'message', role: 'assistant', model, content,
		stop_reason: plan.toolCalls ? 'tool_use' : 'end_turn', stop_sequence: null,
		usage: {
			input_tokens: plan.usage.prompt_tokens, output_tokens: plan.usage.completion_tokens,
			cache_read_input_tokens: plan.usage.cached_tokens || 0, cache_creation_input_tokens: 0,
		},
	};
}

function anthropicEvents(model, plan) {
	const ev = [];
	const e = (name, data) => ev.push(`event: ${name}\ndata: ${JSON.stringify(Object.assign({ type: name }, data))}\n\n`);
	e('message_start', {
		message: {
			id: `msg_fake${++seq}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null,
			stop_sequence: null, usage: { input_tokens: plan.usage.prompt_tokens, output_tokens: 1, cache_read_input_tokens: plan.usage.cached_tokens || 0 },
		},
	});
	let idx = 0;
	if (plan.text != null) {
		e('content_block_start', { index: idx, content_block: { type: 'text', text: '' } });
		ev.push('event: ping\ndata: {"type": "ping"}\n\n');
		for (const p of splitText(plan.text)) e('content_block_delta', { index: idx, delta: { type: 'text_delta', text: p } });
		e('content_block_stop', { index: idx });
		idx++;
	}
	for (const t of plan.toolCalls || []) {
		e('content_block_start', { index: idx, content_block: { type: 'tool_use', id: t.id, name: t.name, input: {} } });
		for (const p of splitText(JSON.stringify(t.arguments))) e('content_block_delta', { index: idx, delta: { type: 'input_json_delta', partial_json: p } });
		e('content_block_stop', { index: idx });
		idx++;
	}
	e('message_delta', { delta: { stop_reason: plan.toolCalls ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: plan.usage.completion_tokens } });
	e('message_stop', {});
	return ev;
}

// ---- sending a planned reply, with stalls and disconnects ----
async function sendStream(req, res, events, reply) {
	res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_fake${seq}` });
	if (reply.raw !== undefined) {
		res.end(`data: ${reply.raw}\n\n`);
		return;
	}
	if (reply.disconnect) {
		res.write(events[0]);
		setTimeout(() => req.socket.destroy(), 5);
		return;
	}
	if (reply.stall_ms) {
		res.write(events[0]);
		await sleep(reply.stall_ms);
		if (res.destroyed || req.socket.destroyed) return;
		res.end(events.slice(1).join(''));
		return;
	}
	res.end(events.join(''));
}

// A stream of exactly the scripted events: a string is sent as it is (it may
// carry its own "event:" line), anything else as one "data:" line of its
// JSON; each ends with a blank line. gap_ms between events; cut: true
// destroys the socket after the last instead of ending the answer.
async function sendScriptedStream(req, res, reply) {
	res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_fake${seq}` });
	for (const e of reply.sse) {
		if (res.destroyed || req.socket.destroyed) return;
		res.write(typeof e === 'string' ? `${e}\n\n` : `data: ${JSON.stringify(e)}\n\n`);
		if (reply.gap_ms) await sleep(reply.gap_ms);
	}
	if (reply.cut) {
		setTimeout(() => req.socket.destroy(), 20);
		return;
	}
	res.end();
}

async function handleChat(req, res, body, flavor, model) {
	const reply = pickReply(promptText(body)) || {};
	if (reply.delay_ms) await sleep(reply.delay_ms);
	if (res.destroyed) return;
	if (reply.body !== undefined) {
		// a body as given, with its status (default 200): an error object in a 200, a quota error…
		const extra = reply.retry_after != null ? { 'retry-after': String(reply.retry_after) } : {};
		return sendJson(res, reply.status || 200, reply.body, extra);
	}
	if (reply.sse !== undefined) return sendScriptedStream(req, res, reply);
	if (reply.status) {
		const shape = errors[flavor === 'ollama' ? 'openai' : flavor];
		return sendError(res, flavor, shape.status(reply.status), reply.retry_after);
	}
	if (reply.disconnect && !body.stream) {
		req.socket.destroy();
		return;
	}
	const plan = planReply(body, flavor, reply);
	if (body.stream) {
		const events = flavor === 'anthropic' ? anthropicEvents(model, plan) : openaiEvents(body, model, plan);
		return sendStream(req, res, events, reply);
	}
	if (reply.raw !== undefined) {
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end(String(reply.raw));
		return;
	}
	const obj = flavor === 'anthropic' ? anthropicJson(model, plan) : openaiJson(model, plan);
	if (reply.stall_ms) {
		res.writeHead(200, { 'content-type': 'application/json' });
		await sleep(reply.stall_ms);
		if (!res.destroyed) res.end(JSON.stringify(obj));
		return;
	}
	sendJson(res, 200, obj, { 'x-request-id': `req_fake${seq}` });
}

async function handleEmbeddings(req, res, body, flavor) {
	const inputs = Array.isArray(body.input) ? body.input : [body.input];
	const reply = pickReply(inputs.join('\n')) || {};
	if (reply.delay_ms) await sleep(reply.delay_ms);
	if (reply.status) {
		const shape = errors[flavor];
		return sendError(res, flavor, shape.status(reply.status), reply.retry_after);
	}
	const dim = Number(body.dimensions) || opts.embedDim;
	const vecs = inputs.map((t) => embedVector(String(t), dim));
	const promptTokens = inputs.reduce((a, t) => a + tokens(String(t)), 0);
	if (flavor === 'ollama') {
		return sendJson(res, 200, { model: body.model, embeddings: vecs, total_duration: 1000, load_duration: 10, prompt_eval_count: promptTokens });
	}
	sendJson(res, 200, {
		object: 'list', model: body.model,
		data: vecs.map((v, i) => ({ object: 'embedding', index: i, embedding: v })),
		usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
	});
}

// OpenAI's reasoning families (o1, o3, o4-mini, gpt-5 but gpt-5-chat) refuse these, on OpenAI and on Azure.
const REASONING_REFUSED = ['max_tokens', 'temperature', 'top_p'];
function isReasoning(model) {
	const name = String(model || '').split('/').pop();
	if (name.startsWith('gpt-5-chat')) return false;
	return /^(o1|o3|o4|gpt-5)([-.]|$)/.test(name);
}
function refusedParam(body, model) {
	if (!isReasoning(model)) return null;
	return REASONING_REFUSED.find((k) => body[k] !== undefined) || null;
}

// A key refused with 401: "bad-key", or any key that starts with "bad-".
const badKey = (key) => typeof key === 'string' && key.startsWith('bad-');

const MODELS = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'claude-3-5-haiku-latest', 'llama3.2'];

async function route(req, res, url, body) {
	const path = url.pathname;
	const key = keyOf(req);

	// ---- control endpoints ----
	if (path === '/_script' && req.method === 'POST') {
		const add = (body && body.rules) || [];
		if (!Array.isArray(add)) return sendJson(res, 400, { error: 'rules must be an array' });
		for (const r of add) rules.push({ match: String(r.match), replies: r.replies || [{}], next: 0 });
		return sendJson(res, 200, { rules: rules.length });
	}
	if (path === '/_reset' && req.method === 'POST') {
		resetState();
		return sendJson(res, 200, { ok: true });
	}
	if (path === '/_requests' && req.method === 'GET') return sendJson(res, 200, { requests: recorded() });
	if (path === '/_stats' && req.method === 'GET') {
		const windows = [];
		let max = 0;
		for (const [sec, s] of stats) {
			windows.push({ second: sec, count: s.count, paths: s.paths });
			if (s.count > max) max = s.count;
		}
		return sendJson(res, 200, { total: windows.reduce((a, w) => a + w.count, 0), max_per_second: max, windows });
	}

	// ---- models ----
	if (req.method === 'GET' && (path === '/v1/models' || path === '/api/tags')) {
		if (badKey(key)) return sendError(res, 'openai', errors.openai.auth(key));
		if (path === '/api/tags') return sendJson(res, 200, { models: MODELS.map((m) => ({ name: m, model: m, size: 1 })) });
		if (req.headers['anthropic-version']) {
			return sendJson(res, 200, { data: MODELS.map((m) => ({ type: 'model', id: m, display_name: m, created_at: '2025-01-01T00:00:00Z' })), has_more: false, first_id: MODELS[0], last_id: MODELS[MODELS.length - 1] });
		}
		return sendJson(res, 200, { object: 'list', data: MODELS.map((m) => ({ id: m, object: 'model', created: 1700000000, owned_by: 'fake' })) });
	}
	if (req.method !== 'POST') return sendJson(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error' } });
	if (body === undefined) return sendJson(res, 400, { error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: null } });

	// ---- OpenAI and OpenAI-compatible (Ollama serves /v1 too) ----
	// A path written twice (a base_url that already ended in /v1, or a whole endpoint pasted as a base): 404, as real servers answer.
	if (/\/v1\/v1\/|\/chat\/completions\/|\/\//.test(path)) {
		return sendJson(res, 404, { error: { message: `Invalid URL (${req.method} ${path})`, type: 'invalid_request_error', param: null, code: null } });
	}
	if (path === '/v1/chat/completions' || path === '/chat/completions') {
		if (badKey(key)) return sendError(res, 'openai', errors.openai.auth(key));
		if (!body.model) return sendError(res, 'openai', errors.openai.bad('you must provide a model parameter'));
		const refused = refusedParam(body, body.model);
		if (refused) return sendError(res, 'openai', errors.openai.unsupported(refused));
		if (!Array.isArray(body.messages) || body.messages.length === 0) return sendError(res, 'openai', errors.openai.bad("Missing required parameter: 'messages'."));
		if (body.model === 'no-such-model') return sendError(res, 'openai', errors.openai.notFound(body.model));
		return handleChat(req, res, body, 'openai', body.model);
	}
	let m = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(path);
	if (m) {
		if (!url.searchParams.get('api-version')) return sendJson(res, 404, { error: { code: '404', message: 'Resource not found' } });
		if (badKey(key) || !req.headers['api-key']) return sendError(res, 'azure', errors.azure.auth());
		const dep = decodeURIComponent(m[1]);
		if (dep === 'no-such-model') return sendError(res, 'azure', errors.azure.notFound());
		// Azure's reasoning deployments refuse what OpenAI's reasoning models refuse, in OpenAI's shape.
		const refused = m[2] === 'chat/completions' ? refusedParam(body, body.model || dep) : null;
		if (refused) return sendError(res, 'openai', errors.openai.unsupported(refused));
		if (m[2] === 'embeddings') return handleEmbeddings(req, res, body, 'openai');
		if (!Array.isArray(body.messages) || body.messages.length === 0) return sendError(res, 'azure', errors.azure.bad("Missing required parameter: 'messages'."));
		return handleChat(req, res, body, 'azure', body.model || dep);
	}
	if (path === '/v1/messages') {
		if (!req.headers['x-api-key'] || badKey(key)) return sendError(res, 'anthropic', errors.anthropic.auth());
		if (!req.headers['anthropic-version']) return sendError(res, 'anthropic', errors.anthropic.bad('anthropic-version: header is required'));
		if (!body.model) return sendError(res, 'anthropic', errors.anthropic.bad('model: Field required'));
		if (!body.max_tokens) return sendError(res, 'anthropic', errors.anthropic.bad('max_tokens: Field required'));
		if (!Array.isArray(body.messages) || body.messages.length === 0) return sendError(res, 'anthropic', errors.anthropic.bad('messages: Field required'));
		for (const msg of body.messages) {
			if (msg.role === 'system') return sendError(res, 'anthropic', errors.anthropic.bad('messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.'));
		}
		if (body.model === 'no-such-model') return sendError(res, 'anthropic', errors.anthropic.notFound(body.model));
		return handleChat(req, res, body, 'anthropic', body.model);
	}
	if (path === '/v1/embeddings' || path === '/embeddings') {
		if (badKey(key)) return sendError(res, 'openai', errors.openai.auth(key));
		if (body.model === 'no-such-model') return sendError(res, 'openai', errors.openai.notFound(body.model));
		if (body.input == null) return sendError(res, 'openai', errors.openai.bad("'input' is a required property"));
		return handleEmbeddings(req, res, body, 'openai');
	}
	if (path === '/api/embed') {
		if (body.model === 'no-such-model') return sendError(res, 'ollama', errors.ollama.notFound(body.model));
		if (body.input == null) return sendError(res, 'ollama', errors.ollama.bad('input is required'));
		return handleEmbeddings(req, res, body, 'ollama');
	}
	return sendJson(res, 404, { error: { message: `Invalid URL (${req.method} ${path})`, type: 'invalid_request_error', param: null, code: null } });
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', async () => {
		// The path as sent: new URL() reads "//v1/x" as a host named v1, so
		// the path is cut from the raw request target, and only the query
		// goes through URL.
		const at = req.url.search(/[?#]/);
		const parsed = new URL(at < 0 ? '/' : `/${req.url.slice(at)}`, 'http://fake');
		const url = { pathname: at < 0 ? req.url : req.url.slice(0, at), search: parsed.search, searchParams: parsed.searchParams };
		const raw = chunks.length ? Buffer.concat(chunks).toString('utf8') : '';
		let body = null;
		if (raw.length) {
			try { body = JSON.parse(raw); } catch (e) { body = undefined; }
		}
		const control = url.pathname.startsWith('/_');
		if (!control) {
			remember({ method: req.method, path: url.pathname, query: url.search, headers: req.headers, body: body === undefined ? raw : body, time: nowMs() });
		}
		try {
			if (opts.latencyMs > 0 && !control) await sleep(opts.latencyMs);
			await route(req, res, url, body);
		} catch (e) {
			if (!res.headersSent) sendJson(res, 500, { error: { message: `fake server bug: ${e.message}`, type: 'server_error' } });
			else res.destroy();
		}
	});
});
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
server.requestTimeout = 0;
server.maxHeadersCount = 200;
server.on('clientError', (err, socket) => socket.destroy());
server.listen(opts.port, opts.host, () => {
	process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
