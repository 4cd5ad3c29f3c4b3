// Running executions end to end against the fake provider: the worker takes
// the execution's job, runs its tasks in order with crewAI's context rules,
// stores every task's output, events and usage (per task, agent and model;
// cost null for a model without a price), and the crewAI template crew runs
// and writes its artifact.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, api, newUser } = require('./authlib');
const { startFakeLlm } = require('./lib');

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'crewai');
const DIVIDER = '\n\n----------\n\n';

// Polls until the execution has ended (or ms pass).
async function waitEnd(call, id, ms = 15000) {
  const until = Date.now() + ms;
  for (;;) {
    const g = await call('GET', `/api/v1/executions/${id}`);
    assert.equal(g.status, 200, g.text);
    if (['succeeded', 'failed', 'cancelled'].includes(g.json.status)) return g.json;
    if (Date.now() > until) assert.fail(`execution ${id} still ${g.json.status} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function allEvents(call, id) {
  const out = [];
  let cursor = '';
  for (;;) {
    const r = await call('GET', `/api/v1/executions/${id}/events?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.items);
    if (!r.json.next_cursor) return out;
    cursor = r.json.next_cursor;
  }
}

// The user message of the fake's recorded call whose prompt holds marker.
function userOf(reqs, marker) {
  const hits = reqs.filter((r) => JSON.stringify(r.body.messages || []).includes(marker));
  assert.equal(hits.length, 1, `want one call with ${marker}, got ${hits.length}`);
  const msgs = hits[0].body.messages;
  return { system: msgs.find((m) => m.role === 'system').content, user: msgs.filter((m) => m.role === 'user').map((m) => m.content).join('\n') };
}

test('runs', async (t) => {
  const fake = await startFakeLlm();
  const srv = await startServer();
  t.after(async () => { fake.stop(); await srv.stop(); });
  const u = await newUser(srv, 'runs');
  const call = (m, p, body) => api(srv, m, p, { token: u.token, body });
  const model = async (body) => {
    const r = await call('POST', '/api/v1/models', { provider: 'openai_compatible', base_url: `${fake.url}/v1`, api_key: 'run-key-secret-0123', ...body });
    assert.equal(r.status, 201, r.text);
    return r.json.id;
  };
  const unpriced = await model({ name: 'fake', model: 'fake-model', default: true });
  const priced = await model({ name: 'mini', model: 'gpt-4o-mini' });
  const agent = async (name, extra = {}) => {
    const r = await call('POST', '/api/v1/agents', { name, role: `${name} of {topic}`, goal: `Goal of ${name}`, backstory: `Backstory of ${name}.`, ...extra });
    assert.equal(r.status, 201, r.text);
    return r.json.id;
  };
  const a1 = await agent('Alpha');
  const a2 = await agent('Beta', { model_id: priced });
  const a3 = await agent('Gamma');

  await t.test('a 3-agent sequential crew: each output, with crewAI context (absent, [], a list)', async () => {
    await fake.script([
      { match: 'MARK-ONE', replies: [{ text: 'OUT-1 first findings' }] },
      { match: 'MARK-TWO', replies: [{ text: 'OUT-2 second' }] },
      { match: 'MARK-THREE', replies: [{ text: 'OUT-3 third' }] },
      { match: 'MARK-FOUR', replies: [{ text: 'OUT-4 final report' }] },
    ]);
    const w = await call('POST', '/api/v1/workflows', {
      name: 'three agents', inputs: [{ name: 'topic' }],
      tasks: [
        { key: 'one', description: 'MARK-ONE research {topic}', expected_output: 'notes', agent_id: a1 },
        { key: 'two', description: 'MARK-TWO alone', expected_output: 'text', agent_id: a2, context: [] },
        { key: 'three', description: 'MARK-THREE uses one', expected_output: 'text', agent_id: a3, context: ['one'] },
        { key: 'four', description: 'MARK-FOUR uses all', expected_output: 'report', agent_id: a1 },
      ],
    });
    assert.equal(w.status, 201, w.text);
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: { topic: 'bees' } });
    assert.equal(r.status, 202, r.text);
    const ex = await waitEnd(call, r.json.id);
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.equal(ex.output, 'OUT-4 final report');
    assert.equal(ex.error, null);
    assert.deepEqual(ex.tasks.map((x) => [x.key, x.status, x.output, x.attempts]),
      [['one', 'succeeded', 'OUT-1 first findings', 1], ['two', 'succeeded', 'OUT-2 second', 1],
        ['three', 'succeeded', 'OUT-3 third', 1], ['four', 'succeeded', 'OUT-4 final report', 1]]);
    assert.ok(ex.started_at && ex.ended_at);

    const reqs = await fake.requests();
    const one = userOf(reqs, 'MARK-ONE');
    assert.match(one.system, /^You are Alpha of bees\. Backstory of Alpha\.\nYour personal goal is: Goal of Alpha/);
    assert.match(one.user, /MARK-ONE research bees/);
    assert.doesNotMatch(one.user, /context you're working with/);
    const two = userOf(reqs, 'MARK-TWO');
    assert.doesNotMatch(two.user, /OUT-1/, 'context: [] gives no context');
    const three = userOf(reqs, 'MARK-THREE');
    assert.match(three.user, /This is the context you're working with:\nOUT-1 first findings\n/);
    assert.doesNotMatch(three.user, /OUT-2/, 'context: [one] gives one only');
    const four = userOf(reqs, 'MARK-FOUR');
    assert.ok(four.user.includes(['OUT-1 first findings', 'OUT-2 second', 'OUT-3 third'].join(DIVIDER)), four.user);
    // each agent's model: Beta's own, the others the workspace default
    assert.equal(reqs.find((q) => JSON.stringify(q.body.messages).includes('MARK-TWO')).body.model, 'gpt-4o-mini');
    assert.equal(reqs.find((q) => JSON.stringify(q.body.messages).includes('MARK-ONE')).body.model, 'fake-model');

    // usage per task, agent and model; no price, no cost (null, never 0)
    const us = ex.usage;
    assert.ok(us.prompt_tokens > 0 && us.completion_tokens > 0, JSON.stringify(us));
    assert.deepEqual(Object.keys(us.by_task).sort(), ['four', 'one', 'three', 'two']);
    assert.deepEqual(Object.keys(us.by_agent).sort(), [a1, a2, a3].sort());
    assert.deepEqual(Object.keys(us.by_model).sort(), ['fake-model', 'gpt-4o-mini']);
    assert.equal(us.cost, null, 'a model without a price: the total cost is null');
    assert.equal(us.by_model['fake-model'].cost, null);
    assert.equal(us.by_agent[a1].cost, null);
    assert.ok(us.by_model['gpt-4o-mini'].cost > 0, JSON.stringify(us.by_model));
    assert.equal(us.by_model['gpt-4o-mini'].currency, 'USD');
    assert.equal(us.by_task.two.prompt_tokens + us.by_task.one.prompt_tokens + us.by_task.three.prompt_tokens +
      us.by_task.four.prompt_tokens, us.prompt_tokens);
    for (const x of ex.tasks) assert.ok(x.usage.prompt_tokens > 0);

    // events: seq without gaps, in order, no output.delta stored, no key
    const evs = await allEvents(call, r.json.id);
    assert.deepEqual(evs.map((e) => e.seq), evs.map((_, i) => i + 1));
    const types = evs.map((e) => e.type);
    assert.equal(types[0], 'execution.queued');
    assert.equal(types[1], 'execution.started');
    assert.equal(types[types.length - 1], 'execution.succeeded');
    assert.ok(!types.includes('output.delta'));
    assert.deepEqual(evs.filter((e) => e.type === 'task.succeeded').map((e) => e.task_key), ['one', 'two', 'three', 'four']);
    assert.equal(evs.filter((e) => e.type === 'llm.completed').length, 4);
    const s = evs.find((e) => e.type === 'task.started');
    assert.equal(s.attempt, 1);
    assert.equal(evs[evs.length - 1].data.output, 'OUT-4 final report');
    const text = JSON.stringify(evs) + JSON.stringify(ex);
    assert.doesNotMatch(text, /run-key-secret-0123/);
    assert.doesNotMatch(srv.logs(), /run-key-secret-0123/);
  });

  await t.test('the crewAI template crew runs end to end', async () => {
    const dir = path.join(FIXTURES, 'template');
    const body = {
      agents_yaml: fs.readFileSync(path.join(dir, 'agents.yaml'), 'utf8'),
      tasks_yaml: fs.readFileSync(path.join(dir, 'tasks.yaml'), 'utf8'),
      crew_yaml: fs.readFileSync(path.join(dir, 'crew.yaml'), 'utf8'),
    };
    const imp = await call('POST', '/api/v1/workflows/import', body);
    assert.equal(imp.status, 201, imp.text);
    await fake.script([{ match: 'Conduct a thorough research', replies: [{ text: '1. Bees dance.\n2. Bees vote.' }] },
      { match: 'expand each topic', replies: [{ text: '# Report\n\n## Bees dance\nThey do.' }] }]);
    const r = await call('POST', `/api/v1/workflows/${imp.json.workflow.id}/execute`, { inputs: { topic: 'Bees', current_year: '2026' } });
    assert.equal(r.status, 202, r.text);
    const ex = await waitEnd(call, r.json.id);
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.equal(ex.output, '# Report\n\n## Bees dance\nThey do.');
    const reqs = await fake.requests();
    const rep = userOf(reqs, 'expand each topic');
    assert.match(rep.user, /This is the context you're working with:\n1\. Bees dance\.\n2\. Bees vote\./);
    assert.match(rep.system, /^You are Bees Reporting Analyst\n\./);
    // its report.md artifact (crew.yaml's output_file) downloads
    const report = '# Report\n\n## Bees dance\nThey do.';
    assert.deepEqual(ex.artifacts, [{ name: 'report.md', size: Buffer.byteLength(report), url: `/api/v1/executions/${r.json.id}/artifacts/report.md` }]);
    const dl = await call('GET', ex.artifacts[0].url);
    assert.equal(dl.status, 200, dl.text);
    assert.equal(dl.text, report);
    assert.equal(dl.headers.get('content-disposition'), 'attachment; filename="report.md"');
    assert.equal(dl.headers.get('x-content-type-options'), 'nosniff');
    assert.match(dl.headers.get('content-type'), /^text\/markdown/);
    assert.equal((await call('GET', `/api/v1/executions/${r.json.id}/artifacts/other.md`)).status, 404);
    assert.equal((await call('GET', `/api/v1/executions/${r.json.id}/artifacts/..%2Freport.md`)).status, 404);
    const other = await newUser(srv, 'runs-other');
    assert.equal((await api(srv, 'GET', ex.artifacts[0].url, { token: other.token })).status, 404, 'another workspace sees nothing');
  });

  await t.test('an output_file name is one safe path segment, placeholders filled', async () => {
    await fake.script([{ match: 'MARK-FILE', replies: [{ text: '<script>alert(1)</script>' }] }]);
    const w = await call('POST', '/api/v1/workflows', { name: 'file', inputs: [{ name: 'topic' }], tasks: [{ key: 'f', description: 'MARK-FILE', expected_output: 'x', agent_id: a1, output_file: '../../etc/.{topic} notes?.html' }] });
    assert.equal(w.status, 201, w.text);
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: { topic: 'bees' } });
    const ex = await waitEnd(call, r.json.id);
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.deepEqual(ex.artifacts.map((x) => x.name), ['bees_notes_.html']);
    const dl = await call('GET', ex.artifacts[0].url);
    assert.equal(dl.status, 200);
    assert.match(dl.headers.get('content-type'), /^text\/plain/, 'never served as HTML');
    assert.equal(dl.text, '<script>alert(1)</script>');
  });

  await t.test('an agent with a built-in tool: the tool runs and the model sees its result', async () => {
    const calc = '00000000-0000-7000-8000-000000000001';
    const ag = await agent('Counter', { tool_ids: [calc] });
    await fake.script([{ match: 'MARK-CALC', replies: [{ tool_calls: [{ name: 'calculator', arguments: { expression: '6*7' } }] }, { text: 'It is 42.' }] }]);
    const w = await call('POST', '/api/v1/workflows', { name: 'calc', inputs: [{ name: 'topic' }], tasks: [{ key: 'c', description: 'MARK-CALC six times seven', expected_output: 'a number', agent_id: ag }] });
    assert.equal(w.status, 201, w.text);
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: { topic: 'x' } });
    const ex = await waitEnd(call, r.json.id);
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.equal(ex.output, 'It is 42.');
    const evs = await allEvents(call, r.json.id);
    const done = evs.find((e) => e.type === 'tool.completed');
    assert.ok(done, evs.map((e) => e.type).join());
    assert.equal(done.data.name, 'calculator');
    const calls = (await fake.requests()).filter((q) => JSON.stringify(q.body.messages || []).includes('MARK-CALC'));
    assert.equal(calls.length, 2);
    const toolMsg = calls[1].body.messages.find((m) => m.role === 'tool');
    assert.match(toolMsg.content, /42/);
    assert.equal(ex.usage.by_task.c.tool_calls, 1);
  });

  await t.test('a model that no longer exists fails the execution with its error visible', async () => {
    const gone = await model({ name: 'gone', model: 'fake-model' });
    const ag = await agent('Delta', { model_id: gone });
    const w = await call('POST', '/api/v1/workflows', { name: 'gone model', inputs: [{ name: 'topic' }], tasks: [{ key: 'x', description: 'MARK-GONE', expected_output: 'y', agent_id: ag }] });
    assert.equal(w.status, 201, w.text);
    assert.equal((await call('DELETE', `/api/v1/models/${gone}`)).status, 204);
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: { topic: 'x' } });
    assert.equal(r.status, 202, r.text);
    const ex = await waitEnd(call, r.json.id);
    assert.equal(ex.status, 'failed');
    assert.match(ex.error, /Delta.*model configuration no longer exists/);
    const types = (await allEvents(call, r.json.id)).map((e) => e.type);
    assert.deepEqual(types, ['execution.queued', 'execution.started', 'execution.failed']);
  });

  await t.test('a provider error the engine gives up on fails the execution naming the task', async () => {
    await fake.script([{ match: 'MARK-BROKEN', replies: [{ status: 400, body: { error: { message: 'bad thing', type: 'invalid_request_error' } } }] }]);
    const w = await call('POST', '/api/v1/workflows', { name: 'broken', inputs: [{ name: 'topic' }], tasks: [{ key: 'ok', description: 'fine', expected_output: 'y', agent_id: a1 }, { key: 'bad', description: 'MARK-BROKEN', expected_output: 'y', agent_id: a3 }] });
    assert.equal(w.status, 201, w.text);
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: { topic: 'x' } });
    const ex = await waitEnd(call, r.json.id);
    assert.equal(ex.status, 'failed');
    assert.match(ex.error, /^task "bad": /);
    assert.deepEqual(ex.tasks.map((x) => x.status), ['succeeded', 'failed']);
    assert.equal(ex.output, null);
  });

  await t.test('the error names the task the crew ended on, not an earlier one that was retried', async () => {
    await fake.script([
      { match: 'MARK-CUT', replies: [{ sse: [{ choices: [{ index: 0, delta: { role: 'assistant', content: 'partial' } }] }], cut: true }, { text: 'whole' }] },
      { match: 'MARK-FAIL2', replies: [{ status: 400, body: { error: { message: 'no', type: 'invalid_request_error' } } }] },
    ]);
    const w = await call('POST', '/api/v1/workflows', { name: 'retried', inputs: [{ name: 'topic' }], tasks: [{ key: 'cut', description: 'MARK-CUT', expected_output: 'y', agent_id: a1 }, { key: 'second', description: 'MARK-FAIL2', expected_output: 'y', agent_id: a3 }] });
    assert.equal(w.status, 201, w.text);
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: { topic: 'x' } });
    const ex = await waitEnd(call, r.json.id);
    assert.equal(ex.status, 'failed');
    assert.deepEqual(ex.tasks.map((x) => [x.key, x.status, x.attempts, x.output]), [['cut', 'succeeded', 2, 'whole'], ['second', 'failed', 1, null]]);
    assert.match(ex.error, /^task "second": /);
  });
});
