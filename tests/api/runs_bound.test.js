// max_active_runs: one engine loop runs at most that many executions at once;
// the rest wait queued in the database (their jobs unclaimed) and run as the
// first ones end. With one worker and a bound of 2, five executions whose call
// takes 600 ms are never more than 2 running, some are seen queued while 2
// run, and all five succeed.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, newUser } = require('./authlib');
const { startFakeLlm } = require('./lib');

test('max_active_runs bounds the executions one loop runs at once', async (t) => {
  const fake = await startFakeLlm();
  const srv = await startServer({ args: ['--workers', '1'], env: { TROUPE_MAX_ACTIVE_RUNS: '2' } });
  t.after(async () => { fake.stop(); await srv.stop(); });
  const u = await newUser(srv, 'bound');
  const call = (m, p, body) => api(srv, m, p, { token: u.token, body });
  const m = await call('POST', '/api/v1/models', { name: 'fake', provider: 'openai_compatible', model: 'fake-model', base_url: `${fake.url}/v1`, api_key: 'k-123456789', default: true });
  assert.equal(m.status, 201, m.text);
  const ag = await call('POST', '/api/v1/agents', { name: 'Worker', role: 'Worker', goal: 'Work', backstory: 'Works.' });
  assert.equal(ag.status, 201, ag.text);
  const w = await call('POST', '/api/v1/workflows', { name: 'bounded', tasks: [{ key: 'slow', description: 'MARK-BOUND slow', expected_output: 'text', agent_id: ag.json.id }] });
  assert.equal(w.status, 201, w.text);
  const n = 5;
  await fake.script([{ match: 'MARK-BOUND', replies: Array.from({ length: n }, () => ({ delay_ms: 600, text: 'done' })) }]);

  const ids = [];
  for (let i = 0; i < n; i++) {
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: {} });
    assert.equal(r.status, 202, r.text);
    ids.push(r.json.id);
  }
  let maxRunning = 0;
  let sawQueuedBehindTwo = false;
  const until = Date.now() + 20000;
  for (;;) {
    const st = await Promise.all(ids.map(async (id) => (await call('GET', `/api/v1/executions/${id}`)).json.status));
    const running = st.filter((s) => s === 'running').length;
    maxRunning = Math.max(maxRunning, running);
    if (running === 2 && st.includes('queued')) sawQueuedBehindTwo = true;
    if (st.every((s) => s === 'succeeded' || s === 'failed' || s === 'cancelled')) {
      assert.deepEqual(st, Array(n).fill('succeeded'));
      break;
    }
    if (Date.now() > until) assert.fail(`not all ended within 20 s: ${st.join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(maxRunning, 2, 'at most max_active_runs running at once, and that many');
  assert.ok(sawQueuedBehindTwo, 'the rest waited queued while two ran');
});
