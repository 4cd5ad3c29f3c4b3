// Cancel and resume: a queued execution is cancelled at once; a running one
// with calls in flight ends cancelled within a second, in `troupe serve` and
// (PostgreSQL) with a separate `troupe api` and `troupe worker`; resume runs
// only the failed task and its successors (the fake's log proves it), with
// attempt numbers continuing and earlier outputs reused as context.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { startServer, api, assertProblem, newUser, addMember } = require('./authlib');
const { startFakeLlm, pgDatabase, pgQuery } = require('./lib');

const BIN = process.env.TROUPE_BIN || path.join(__dirname, '..', '..', 'build', 'troupe');
const PG_URL = process.env.TROUPE_TEST_PG_URL || '';

async function waitFor(fn, ms, what) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ended = (s) => ['succeeded', 'failed', 'cancelled'].includes(s);

async function events(call, id) {
  const r = await call('GET', `/api/v1/executions/${id}/events?limit=200`);
  assert.equal(r.status, 200, r.text);
  return r.json.items;
}

// A user with a model at the fake (the workspace default) and one agent.
async function setup(srv, fake, tag) {
  const u = await newUser(srv, tag);
  const call = (m, p, body) => api(srv, m, p, { token: u.token, body });
  const m = await call('POST', '/api/v1/models', { name: 'fake', provider: 'openai_compatible', model: 'fake-model', base_url: `${fake.url}/v1`, api_key: 'k-123456789', default: true });
  assert.equal(m.status, 201, m.text);
  const ag = await call('POST', '/api/v1/agents', { name: 'Worker', role: 'Worker', goal: 'Work', backstory: 'Works.' });
  assert.equal(ag.status, 201, ag.text);
  const flow = async (name, tasks) => {
    const w = await call('POST', '/api/v1/workflows', { name, tasks: tasks.map(([key, description, extra]) => ({ key, description, expected_output: 'text', agent_id: ag.json.id, ...(extra || {}) })) });
    assert.equal(w.status, 201, w.text);
    return w.json.id;
  };
  return { u, call, flow };
}

// Starts an execution whose first call stalls, cancels it once the call is in
// flight, and answers how long the cancel took to show.
async function cancelInFlight(call, flow, marker) {
  const wf = await flow(`slow ${marker}`, [['slow', `${marker} never answers in time`], ['after', 'AFTER-CANCEL never runs']]);
  const r = await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: {} });
  assert.equal(r.status, 202, r.text);
  const id = r.json.id;
  await waitFor(async () => (await events(call, id)).some((e) => e.type === 'llm.started'), 10000, 'the call starts');
  const t0 = Date.now();
  const c = await call('POST', `/api/v1/executions/${id}/cancel`);
  assert.equal(c.status, 202, c.text);
  assert.equal(c.json.status, 'running');
  const ex = await waitFor(async () => {
    const g = await call('GET', `/api/v1/executions/${id}`);
    return ended(g.json.status) ? g.json : null;
  }, 5000, 'the cancel');
  const took = Date.now() - t0;
  assert.equal(ex.status, 'cancelled');
  assert.deepEqual(ex.tasks.map((x) => x.status), ['cancelled', 'pending']);
  const evs = await events(call, id);
  assert.equal(evs[evs.length - 1].type, 'execution.cancelled');
  assert.deepEqual(evs.map((e) => e.seq), evs.map((_, i) => i + 1));
  // the stored texts say it once: the task was cancelled by a user; the call names the provider and the cancel
  assert.equal(evs.find((e) => e.type === 'task.failed').data.error, 'cancelled by a user');
  assert.equal(evs.find((e) => e.type === 'llm.failed').data.message, 'openai_compatible: the call was cancelled');
  assertProblem(await call('POST', `/api/v1/executions/${id}/cancel`), 409);
  return { id, took };
}

test('cancel and resume in troupe serve', async (t) => {
  const fake = await startFakeLlm();
  const srv = await startServer();
  t.after(async () => { fake.stop(); await srv.stop(); });
  const { u, call, flow } = await setup(srv, fake, 'control');

  await t.test('cancel with a call in flight ends cancelled within one second', async () => {
    await fake.script([{ match: 'MARK-SLOW', replies: [{ delay_ms: 20000, text: 'too late' }] }]);
    const { id, took } = await cancelInFlight(call, flow, 'MARK-SLOW');
    assert.ok(took < 1000, `cancel took ${took} ms`);
    const reqs = await fake.requests();
    assert.ok(!reqs.some((q) => JSON.stringify(q.body.messages || []).includes('AFTER-CANCEL')), 'the next task never ran');
    // a cancelled execution resumes: the cancelled task runs again as attempt 2
    await fake.script([{ match: 'MARK-SLOW', replies: [{ text: 'now fast' }] }]);
    await fake.reset();
    await fake.script([{ match: 'MARK-SLOW', replies: [{ text: 'now fast' }] }]);
    const r = await call('POST', `/api/v1/executions/${id}/resume`);
    assert.equal(r.status, 202, r.text);
    const ex = await waitFor(async () => {
      const g = await call('GET', `/api/v1/executions/${id}`);
      return ended(g.json.status) ? g.json : null;
    }, 10000, 'the resumed run');
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.deepEqual(ex.tasks.map((x) => [x.key, x.status, x.attempts]), [['slow', 'succeeded', 2], ['after', 'succeeded', 1]]);
  });

  await t.test('resume runs only the failed task and its successors', async () => {
    await fake.reset();
    await fake.script([
      { match: 'MARK-R1', replies: [{ text: 'OUT-R1' }] },
      { match: 'MARK-R2', replies: [{ status: 400, body: { error: { message: 'refused once', type: 'invalid_request_error' } } }, { text: 'OUT-R2' }] },
      { match: 'MARK-R3', replies: [{ text: 'OUT-R3' }] },
    ]);
    const wf = await flow('resume me', [['r1', 'MARK-R1 first'], ['r2', 'MARK-R2 second'], ['r3', 'MARK-R3 third']]);
    const r = await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: {} });
    const id = r.json.id;
    const get = async () => (await call('GET', `/api/v1/executions/${id}`)).json;
    let ex = await waitFor(async () => { const g = await get(); return ended(g.status) ? g : null; }, 10000, 'the first run');
    assert.equal(ex.status, 'failed');
    assert.match(ex.error, /^task "r2"/);
    assert.deepEqual(ex.tasks.map((x) => [x.key, x.status, x.attempts]), [['r1', 'succeeded', 1], ['r2', 'failed', 1], ['r3', 'pending', 0]]);

    const res = await call('POST', `/api/v1/executions/${id}/resume`);
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.json, { id, status: 'queued' });
    ex = await waitFor(async () => { const g = await get(); return ended(g.status) ? g : null; }, 10000, 'the resumed run');
    assert.equal(ex.status, 'succeeded', JSON.stringify(ex.error));
    assert.equal(ex.output, 'OUT-R3');
    assert.equal(ex.error, null);
    assert.deepEqual(ex.tasks.map((x) => [x.key, x.status, x.attempts, x.output]),
      [['r1', 'succeeded', 1, 'OUT-R1'], ['r2', 'succeeded', 2, 'OUT-R2'], ['r3', 'succeeded', 1, 'OUT-R3']]);
    const reqs = await fake.requests();
    const count = (m) => reqs.filter((q) => JSON.stringify(q.body.messages || []).includes(m)).length;
    assert.equal(count('MARK-R1'), 1, 'the succeeded task did not run again');
    assert.equal(count('MARK-R2'), 2);
    assert.equal(count('MARK-R3'), 1);
    const r3 = reqs.find((q) => JSON.stringify(q.body.messages).includes('MARK-R3'));
    assert.match(JSON.stringify(r3.body.messages), /OUT-R1.*OUT-R2/, 'the stored output is context again');
    const evs = await events(call, id);
    assert.deepEqual(evs.map((e) => e.seq), evs.map((_, i) => i + 1));
    const types = evs.map((e) => e.type);
    assert.equal(types.filter((x) => x === 'execution.started').length, 2);
    const resumed = types.indexOf('execution.resumed');
    assert.ok(resumed > types.indexOf('execution.failed'));
    assert.deepEqual(evs.slice(resumed).filter((e) => e.type === 'task.started').map((e) => [e.task_key, e.attempt]), [['r2', 2], ['r3', 1]]);
    // usage counts every attempt, the failed one too
    assert.ok(ex.usage.by_task.r1.prompt_tokens > 0);
    assertProblem(await call('POST', `/api/v1/executions/${id}/resume`), 409);
    assertProblem(await call('POST', `/api/v1/executions/${id}/cancel`), 409);
  });

  await t.test("the workflow's timeout_s ends the execution failed, its call stopped", async () => {
    await fake.script([{ match: 'MARK-TIMEOUT', replies: [{ delay_ms: 20000, text: 'too late' }] }]);
    const ag = (await call('GET', '/api/v1/agents')).json.items[0].id;
    const w = await call('POST', '/api/v1/workflows', { name: 'bounded', timeout_s: 1, tasks: [{ key: 'slow', description: 'MARK-TIMEOUT', expected_output: 'x', agent_id: ag }] });
    assert.equal(w.status, 201, w.text);
    const t0 = Date.now();
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: {} });
    const ex = await waitFor(async () => {
      const g = await call('GET', `/api/v1/executions/${r.json.id}`);
      return ended(g.json.status) ? g.json : null;
    }, 10000, 'the timeout');
    const took = Date.now() - t0;
    assert.equal(ex.status, 'failed');
    assert.equal(ex.error, "the execution ran past the workflow's timeout_s (1 s)");
    assert.ok(took >= 1000 && took < 3000, `ended after ${took} ms`);
    assert.deepEqual(ex.tasks.map((x) => x.status), ['cancelled']);
  });

  await t.test('roles: a viewer can neither cancel nor resume', async () => {
    const v = await newUser(srv, 'control-viewer');
    await addMember(srv, u.token, u.ws, v.email, 'viewer');
    const list = await call('GET', '/api/v1/executions');
    const id = list.json.items[0].id;
    assertProblem(await api(srv, 'POST', `/api/v1/executions/${id}/cancel`, { token: v.token, workspace: u.ws }), 403);
    assertProblem(await api(srv, 'POST', `/api/v1/executions/${id}/resume`, { token: v.token, workspace: u.ws }), 403);
  });
});

test('cancel a queued execution: cancelled at once; the worker that claims its job later runs nothing', async (t) => {
  const fake = await startFakeLlm();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-api-'));
  const db = PG_URL ? pgDatabase() : null;
  let srv = await startServer({ env: { TROUPE_WORKERS: '0' }, dataDir, db });
  t.after(async () => {
    fake.stop();
    await srv.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (db) try { pgQuery(PG_URL, `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`); } catch (e) { /* best effort */ }
  });
  const { u, call, flow } = await setup(srv, fake, 'control-q');
  const token = () => u.token;
  const wf = await flow('queued', [['q', 'MARK-Q']]);
  const r = await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: {} });
  const c = await call('POST', `/api/v1/executions/${r.json.id}/cancel`);
  assert.equal(c.status, 202, c.text);
  assert.deepEqual(c.json, { id: r.json.id, status: 'cancelled' });
  const g = await call('GET', `/api/v1/executions/${r.json.id}`);
  assert.equal(g.json.status, 'cancelled');
  assert.ok(g.json.ended_at);
  assert.deepEqual((await events(call, r.json.id)).map((e) => e.type), ['execution.queued', 'execution.cancelled']);
  // the same data with workers: the job is claimed and ends without a call
  await srv.stop();
  srv = await startServer({ dataDir, db });
  const metric = async () => (await (await fetch(`${srv.url}/metrics`)).text()).match(/troupe_jobs\{state="queued"\} (\d+)/);
  await waitFor(async () => { const m = await metric(); return m && m[1] === '0'; }, 10000, 'the job is claimed and ended');
  const call2 = (m, p, body) => api(srv, m, p, { token: token(), body });
  assert.equal((await call2('GET', `/api/v1/executions/${r.json.id}`)).json.status, 'cancelled');
  assert.deepEqual((await events(call2, r.json.id)).map((e) => e.type), ['execution.queued', 'execution.cancelled']);
  assert.equal((await fake.requests()).length, 0);
});

// The agent's max_retry_limit (crewAI's, default 2): an attempt whose model
// call failed in a way another try may fix (here the provider's answer is not
// JSON, which the client does not retry itself) runs again as a new attempt
// announced by task.retrying, up to the limit; then the task fails. A refused
// request (400) and a structured output that misses its schema are not retried.
test('an agent\'s max_retry_limit: new attempts after a retryable failure, then failed', async (t) => {
  const fake = await startFakeLlm();
  const srv = await startServer();
  t.after(async () => { fake.stop(); await srv.stop(); });
  const { call } = await setup(srv, fake, 'control-retry');
  const agent = async (name, limit) => {
    const body = { name, role: 'Worker', goal: 'Work', backstory: 'Works.' };
    if (limit !== undefined) body.max_retry_limit = limit;
    const r = await call('POST', '/api/v1/agents', body);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.max_retry_limit, limit === undefined ? 2 : limit);
    return r.json.id;
  };
  const run = async (agentId, description, extra = {}) => {
    const w = await call('POST', '/api/v1/workflows', { name: `retry ${description}`, tasks: [{ key: 'only', description, expected_output: 'text', agent_id: agentId, ...extra }] });
    assert.equal(w.status, 201, w.text);
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: {} });
    assert.equal(r.status, 202, r.text);
    const ex = await waitFor(async () => {
      const g = await call('GET', `/api/v1/executions/${r.json.id}`);
      return ended(g.json.status) ? g.json : null;
    }, 20000, description);
    const evs = await events(call, r.json.id);
    const sent = (await fake.requests()).filter((q) => JSON.stringify(q.body.messages || []).includes(description.split(' ')[0]));
    return { ex, evs, sent, kinds: evs.filter((e) => e.type.startsWith('task.')).map((e) => `${e.type}#${e.attempt}`) };
  };
  const broken = { raw: 'not { json' };
  const dflt = await agent('Default retries');

  // Default 2: two broken answers, the third attempt succeeds.
  await fake.script([{ match: 'MARK-RT2', replies: [broken, broken, { text: 'third time lucky' }] }]);
  let o = await run(dflt, 'MARK-RT2 flaky provider');
  assert.equal(o.ex.status, 'succeeded', JSON.stringify(o.ex.error));
  assert.deepEqual(o.kinds, ['task.started#1', 'task.failed#1', 'task.retrying#1', 'task.started#2', 'task.failed#2', 'task.retrying#2', 'task.started#3', 'task.succeeded#3']);
  const retrying = o.evs.filter((e) => e.type === 'task.retrying');
  assert.deepEqual(retrying.map((e) => e.data.next_attempt), [2, 3]);
  assert.match(retrying[0].data.reason, /^the model call failed: openai_compatible: .*parse/);
  assert.doesNotMatch(retrying[0].data.reason, /\(parse\).*\(parse\)/, 'the error named once');
  assert.equal(o.evs.find((e) => e.type === 'task.failed').data.outcome, 'retry');
  assert.deepEqual(o.ex.tasks.map((x) => [x.key, x.status, x.attempts]), [['only', 'succeeded', 3]]);
  assert.equal(o.sent.length, 3, 'one call per attempt');

  // Limit 1: two attempts, then the task and the execution fail.
  const one = await agent('One retry', 1);
  await fake.script([{ match: 'MARK-RT1', replies: [broken] }]);
  o = await run(one, 'MARK-RT1 always broken');
  assert.equal(o.ex.status, 'failed');
  assert.match(o.ex.error, /^task "only"/);
  assert.deepEqual(o.kinds, ['task.started#1', 'task.failed#1', 'task.retrying#1', 'task.started#2', 'task.failed#2']);
  assert.deepEqual(o.ex.tasks.map((x) => [x.status, x.attempts]), [['failed', 2]]);
  assert.equal(o.sent.length, 2);

  // Limit 0: no new attempt.
  const none = await agent('No retry', 0);
  await fake.script([{ match: 'MARK-RT0', replies: [broken] }]);
  o = await run(none, 'MARK-RT0 broken once');
  assert.deepEqual(o.kinds, ['task.started#1', 'task.failed#1']);
  assert.equal(o.sent.length, 1);

  // Not retried: a request the provider refuses, an answer that misses the output schema.
  await fake.script([{ match: 'MARK-RT400', replies: [{ status: 400, body: { error: { message: 'refused', type: 'invalid_request_error' } } }] }]);
  o = await run(dflt, 'MARK-RT400 refused');
  assert.deepEqual(o.kinds, ['task.started#1', 'task.failed#1']);
  await fake.script([{ match: 'MARK-RTJS', replies: [{ json: { wrong: true } }] }]);
  o = await run(dflt, 'MARK-RTJS schema', { output: { format: 'json', schema: { type: 'object', required: ['score'], properties: { score: { type: 'number' } } } } });
  assert.equal(o.ex.status, 'failed');
  assert.deepEqual(o.kinds, ['task.started#1', 'task.failed#1']);
  assert.equal(o.sent.length, 1);
});

// A job dead-lettered without a handler seeing it (buried by the claim that
// found its lease expired on the last attempt): the worker's sweep ends its
// execution failed with the job's error.
test('a dead-lettered job shows its error on the execution', async (t) => {
  const fake = await startFakeLlm();
  const srv = await startServer({ env: { TROUPE_WORKERS: '0' } });
  t.after(async () => { fake.stop(); await srv.stop(); });
  const { u, call, flow } = await setup(srv, fake, 'control-dead');
  const wf = await flow('doomed', [['d', 'MARK-DEAD']]);
  const r = await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: {} });
  assert.equal(r.status, 202, r.text);
  // A stream open on it ends with the sweep's execution.failed (the sweep wakes it in-process;
  // test_executions_hub proves the wake comes without the poll).
  const streamed = new Promise((resolve, reject) => {
    const req = http.get(`${srv.url}/api/v1/executions/${r.json.id}/events/stream`, { headers: { authorization: `Bearer ${u.token}` }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body, endedAt: Date.now() }));
    });
    req.on('error', reject);
  });
  const sql = `UPDATE jobs SET state = 'dead', attempts = 5, last_error = 'the lease expired on the last attempt', finished_at = ${Date.now()} WHERE payload LIKE '%${r.json.id}%'`;
  if (srv.db) pgQuery(srv.db.url, sql);
  else execFileSync('sqlite3', [path.join(srv.dataDir, 'troupe.db'), sql]);
  const ex = await waitFor(async () => {
    const g = await call('GET', `/api/v1/executions/${r.json.id}`);
    return ended(g.json.status) ? g.json : null;
  }, 5000, 'the sweep');
  assert.equal(ex.status, 'failed');
  assert.equal(ex.error, 'the job was dead-lettered after 5 attempts: the lease expired on the last attempt');
  const evs = await events(call, r.json.id);
  assert.deepEqual(evs.map((e) => e.type), ['execution.queued', 'execution.failed']);
  assert.equal((await fake.requests()).length, 0);
  const st = await streamed;
  assert.equal(st.status, 200);
  const types = [...st.body.matchAll(/^event: (.*)$/gm)].map((m) => m[1]);
  assert.deepEqual(types, ['execution.queued', 'execution.failed'], st.body);
  const lag = st.endedAt - Date.parse(evs[evs.length - 1].at);
  t.diagnostic(`the stream closed ${lag} ms after the final event was stored`);
  assert.ok(lag < 2000, `the stream closed ${lag} ms after the final event was stored`);
});

// troupe api and troupe worker as two processes on one PostgreSQL database:
// the API marks the cancel, the worker's poll (<= 250 ms) stops the call.
test('cancel across processes: troupe api + troupe worker on PostgreSQL', { skip: !PG_URL && 'no PostgreSQL (set TROUPE_TEST_PG_URL)' }, async (t) => {
  const fake = await startFakeLlm();
  const db = pgDatabase();
  const env = { PATH: process.env.PATH, TROUPE_DATABASE_URL: db.url, TROUPE_SECRET_KEY: 'test-secret-key-0123456789-abcdefghijkl', ASAN_OPTIONS: process.env.ASAN_OPTIONS || '', UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || '', LSAN_OPTIONS: process.env.LSAN_OPTIONS || '' };
  execFileSync(BIN, ['migrate'], { env, stdio: 'pipe' });
  const srv = await startServer({ role: 'api', db });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-worker-'));
  const worker = spawn(BIN, ['worker', '--data', dataDir], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let werr = '';
  worker.stderr.on('data', (d) => { werr += d; });
  const wexit = new Promise((resolve) => worker.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    fake.stop();
    worker.kill('SIGTERM');
    const w = await wexit;
    await srv.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    try { pgQuery(PG_URL, `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`); } catch (e) { /* best effort */ }
    assert.equal(w.code, 0, `worker exited ${w.code} (${w.signal}):\n${werr.slice(-3000)}`);
    assert.doesNotMatch(werr, /(AddressSanitizer|LeakSanitizer|runtime error:)/, werr.slice(-3000));
  });
  await waitFor(async () => /worker started/.test(werr), 10000, 'the worker starts');
  const { call, flow } = await setup(srv, fake, 'control-pg');
  await fake.script([{ match: 'MARK-PGSLOW', replies: [{ delay_ms: 20000, text: 'too late' }] }]);
  const { took } = await cancelInFlight(call, flow, 'MARK-PGSLOW');
  assert.ok(took < 1000, `cancel took ${took} ms`);
});
