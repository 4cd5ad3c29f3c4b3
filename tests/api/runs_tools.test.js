// Tools and structured output in running executions (issue 10, acceptance 2),
// against the fake provider and a small counting HTTP server in the test
// (reached by custom tools, allowed through TROUPE_OUTBOUND_ALLOW): two tools
// asked at once both run; bad arguments and a failing tool are results the
// model sees; a repeated identical call is not run twice; max_iter forces a
// final answer and an event says so; a JSON output with a schema is passed to
// the provider, stored as JSON when valid and fails the task when not.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startServer, api, newUser } = require('./authlib');
const { startFakeLlm } = require('./lib');

const CALCULATOR = '00000000-0000-7000-8000-000000000001';

async function waitEnd(call, id, ms = 20000) {
  const until = Date.now() + ms;
  for (;;) {
    const g = await call('GET', `/api/v1/executions/${id}`);
    assert.equal(g.status, 200, g.text);
    if (['succeeded', 'failed', 'cancelled'].includes(g.json.status)) return g.json;
    if (Date.now() > until) assert.fail(`execution ${id} still ${g.json.status} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function events(call, id) {
  const r = await call('GET', `/api/v1/executions/${id}/events?limit=200`);
  assert.equal(r.status, 200, r.text);
  return r.json.items;
}

// Counts each q it is asked; /fail answers 500.
async function startCounter() {
  const counts = {};
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const q = u.searchParams.get('q') || '';
    counts[q] = (counts[q] || 0) + 1;
    if (u.pathname === '/fail') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('counter is out of order');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`counted ${q} ${counts[q]} time(s)`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, counts, stop: () => server.close() };
}

// The tool messages of the fake's recorded calls whose prompt holds marker, per call.
function toolMessages(reqs, marker) {
  return reqs.filter((r) => JSON.stringify(r.body.messages || []).includes(marker))
    .map((r) => r.body.messages.filter((m) => m.role === 'tool').map((m) => m.content));
}

test('runs: tools and structured output', async (t) => {
  const fake = await startFakeLlm();
  const counter = await startCounter();
  const srv = await startServer({ env: { TROUPE_OUTBOUND_ALLOW: '127.0.0.1/32' } });
  t.after(async () => { fake.stop(); counter.stop(); await srv.stop(); });
  const u = await newUser(srv, 'runs-tools');
  const call = (m, p, body) => api(srv, m, p, { token: u.token, body });
  const m = await call('POST', '/api/v1/models', { name: 'fake', provider: 'openai_compatible', base_url: `${fake.url}/v1`, api_key: 'tools-key-0123', model: 'fake-model', default: true });
  assert.equal(m.status, 201, m.text);
  const tool = async (name, path) => {
    const r = await call('POST', '/api/v1/tools', {
      name, description: `The ${name} tool.`, method: 'GET', url_template: `http://127.0.0.1:${counter.port}${path}?q={q}`,
      parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
    });
    assert.equal(r.status, 201, r.text);
    return r.json.id;
  };
  const countId = await tool('count', '/count');
  const failId = await tool('flaky', '/fail');
  const agent = async (name, extra = {}) => {
    const r = await call('POST', '/api/v1/agents', { name, role: 'Tool user', goal: 'Use the tools', backstory: 'Handy.', tool_ids: [CALCULATOR, countId, failId], ...extra });
    assert.equal(r.status, 201, r.text);
    return r.json.id;
  };
  const a1 = await agent('Handy');
  const run = async (marker, taskExtra = {}, agentId = a1) => {
    const w = await call('POST', '/api/v1/workflows', {
      name: `tools ${marker}`,
      tasks: [{ key: 'work', description: `Do ${marker}`, expected_output: 'An answer', agent_id: agentId, ...taskExtra }],
    });
    assert.equal(w.status, 201, w.text);
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: {} });
    assert.equal(r.status, 202, r.text);
    const ex = await waitEnd(call, r.json.id);
    return { ex, ev: await events(call, r.json.id) };
  };
  const ofType = (ev, type) => ev.filter((e) => e.type === type);

  await t.test('two tools asked at once both run, and the model gets both results', async () => {
    await fake.script([{ match: 'MARK-TWO', replies: [
      { tool_calls: [{ name: 'calculator', arguments: { expression: '6*7' } }, { name: 'count', arguments: { q: 'two' } }] },
      { text: 'Both done.' }] }]);
    const { ex, ev } = await run('MARK-TWO');
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.equal(ex.output, 'Both done.');
    assert.equal(counter.counts.two, 1, 'the custom tool ran once');
    assert.deepEqual(ofType(ev, 'tool.started').map((e) => e.data.name).sort(), ['calculator', 'count']);
    assert.deepEqual(ofType(ev, 'tool.completed').map((e) => e.data.name).sort(), ['calculator', 'count']);
    const calls = toolMessages(await fake.requests(), 'MARK-TWO');
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[0], [], 'the first call has no tool results yet');
    assert.equal(calls[1].length, 2);
    assert.match(calls[1][0], /"result":42/);
    assert.equal(calls[1][1], 'counted two 1 time(s)');
    assert.equal(ex.usage.by_task.work.tool_calls, 2);
  });

  await t.test('bad arguments and a failing tool are results the model sees', async () => {
    await fake.script([{ match: 'MARK-BAD', replies: [
      { tool_calls: [{ name: 'count', arguments: { query: 'bad' } }, { name: 'flaky', arguments: { q: 'flaky' } },
        { name: 'calculator', arguments: { expression: '1/0' } }, { name: 'nope', arguments: {} }] },
      { text: 'Coped.' }] }]);
    const { ex, ev } = await run('MARK-BAD');
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.equal(ex.output, 'Coped.');
    assert.equal(counter.counts.bad, undefined, 'arguments that do not match the schema never reach the tool');
    assert.equal(counter.counts.flaky, 1, 'the failing tool was called');
    const results = toolMessages(await fake.requests(), 'MARK-BAD')[1];
    assert.equal(results.length, 4);
    assert.match(results[0], /\$\.q|required/, 'the validation error');
    assert.match(results[0], /accepts these inputs/);
    assert.match(results[1], /HTTP 500: counter is out of order/);
    assert.match(results[2], /division by zero/);
    assert.match(results[3], /doesn't exist/);
    assert.equal(ofType(ev, 'tool.failed').length, 4);
  });

  await t.test('a repeated identical call is answered from the first result, not run again', async () => {
    await fake.script([{ match: 'MARK-REPEAT', replies: [
      { tool_calls: [{ name: 'count', arguments: { q: 'again' } }] },
      { tool_calls: [{ name: 'count', arguments: { q: 'again' } }] },
      { text: 'Counted.' }] }]);
    const { ex, ev } = await run('MARK-REPEAT');
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.equal(counter.counts.again, 1, 'the counting tool ran once');
    const done = ofType(ev, 'tool.completed');
    assert.deepEqual(done.map((e) => e.data.cached), [false, true]);
    const calls = toolMessages(await fake.requests(), 'MARK-REPEAT');
    assert.deepEqual(calls[2], ['counted again 1 time(s)', 'counted again 1 time(s)'], 'the model saw the same result twice');
  });

  await t.test('max_iter forces a final answer, and an event says so', async () => {
    const a2 = await agent('Capped', { max_iter: 2 });
    await fake.script([{ match: 'MARK-ITER', replies: [
      { tool_calls: [{ name: 'calculator', arguments: { expression: '1+1' } }] },
      { tool_calls: [{ name: 'calculator', arguments: { expression: '2+2' } }] },
      { text: 'Forced answer.' }] }]);
    const { ex, ev } = await run('MARK-ITER', {}, a2);
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.equal(ex.output, 'Forced answer.');
    const started = ofType(ev, 'llm.started');
    assert.deepEqual(started.map((e) => e.data.forced_final_answer), [false, false, true]);
    const reqs = (await fake.requests()).filter((r) => JSON.stringify(r.body.messages || []).includes('MARK-ITER'));
    assert.equal(reqs.length, 3);
    assert.equal(reqs[2].body.tool_choice, 'none', 'the forced call refuses tools');
    assert.match(JSON.stringify(reqs[2].body.messages), /absolute BEST Final answer/);
  });

  const schema = { type: 'object', properties: { score: { type: 'integer' }, why: { type: 'string' } }, required: ['score', 'why'] };
  const jsonTask = { output: { format: 'json', schema } };

  await t.test('structured output: a valid answer is stored as JSON, and the schema went to the provider', async () => {
    await fake.script([{ match: 'MARK-JSON-OK', replies: [{ json: { score: 7, why: 'solid' } }] }]);
    const { ex } = await run('MARK-JSON-OK', jsonTask);
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.deepEqual(ex.output, { score: 7, why: 'solid' });
    assert.deepEqual(ex.tasks[0].output, { score: 7, why: 'solid' });
    const req = (await fake.requests()).find((r) => JSON.stringify(r.body.messages || []).includes('MARK-JSON-OK'));
    assert.equal(req.body.response_format.type, 'json_schema');
    assert.deepEqual(req.body.response_format.json_schema.schema.properties, schema.properties);
  });

  await t.test('structured output: an invalid answer fails the task with the validation error', async () => {
    await fake.script([{ match: 'MARK-JSON-BAD', replies: [{ json: { score: 'high' } }] }]);
    const { ex, ev } = await run('MARK-JSON-BAD', jsonTask);
    assert.equal(ex.status, 'failed');
    assert.match(ex.error, /task "work"/);
    assert.match(ex.error, /score/);
    assert.equal(ex.tasks[0].status, 'failed');
    assert.equal(ex.output, null, 'no silent fallback to text');
    assert.equal(ofType(ev, 'task.failed').length, 1);
  });
});
