// No secret (password, access token, refresh token, API key) appears in the
// logs, the audit log, the database's text, or any answer but the one that
// issues it. The test uses canaries and greps everything for them.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { execFileSync } = require('node:child_process');
const { startServer, api, uniqueEmail, adminToken, PG_URL } = require('./authlib');
const { startFakeLlm } = require('./lib');

test('secrets never leak', async (t) => {
  const fake = await startFakeLlm();
  // a tool endpoint that echoes the request's headers back in its body (on 127.0.0.2, the one private address allowed)
  const echo = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(JSON.stringify(req.headers)); });
  await new Promise((r) => echo.listen(0, '127.0.0.2', r));
  const srv = await startServer({ env: { TROUPE_LOG_LEVEL: 'debug', TROUPE_OUTBOUND_ALLOW: '127.0.0.2/32' } });
  let stopped = false;
  t.after(async () => { fake.stop(); echo.close(); if (!stopped) await srv.stop(); });
  const canaries = [];
  const answers = []; // every answer's text, with the one that may hold the canary
  const call = async (method, p, opts, issues = []) => {
    const r = await api(srv, method, p, opts);
    answers.push({ what: `${method} ${p}`, text: r.text, issues });
    return r;
  };

  const email = uniqueEmail('canary');
  const pw1 = 'CanaryPw1-' + Date.now().toString(36);
  const pw2 = 'CanaryPw2-' + Date.now().toString(36);
  const wrong = 'CanaryWrong-' + Date.now().toString(36);
  canaries.push(pw1, pw2, wrong);
  assert.equal((await call('POST', '/api/v1/auth/register', { body: { email, password: pw1, name: 'Canary' } })).status, 201);
  await call('POST', '/api/v1/auth/login', { body: { email, password: wrong } });
  await call('POST', '/api/v1/auth/login', { body: { email: uniqueEmail('nobody'), password: wrong } });
  const l1 = await call('POST', '/api/v1/auth/login', { body: { email, password: pw1 } });
  canaries.push(l1.json.access_token, l1.json.refresh_token);
  l1.issues = answers[answers.length - 1].issues = [l1.json.access_token, l1.json.refresh_token];
  const r1 = await call('POST', '/api/v1/auth/refresh', { body: { refresh_token: l1.json.refresh_token } });
  canaries.push(r1.json.access_token, r1.json.refresh_token);
  answers[answers.length - 1].issues = [r1.json.access_token, r1.json.refresh_token];
  const token = r1.json.access_token;
  const k = await call('POST', '/api/v1/api-keys', { token, headers: { 'idempotency-key': 'canary-key' }, body: { name: 'canary', role: 'admin' } });
  canaries.push(k.json.key);
  answers[answers.length - 1].issues = [k.json.key];
  await call('POST', '/api/v1/api-keys', { token, headers: { 'idempotency-key': 'canary-key' }, body: { name: 'canary', role: 'admin' } });
  await call('GET', '/api/v1/users/me', { token: k.json.key });
  await call('GET', '/api/v1/api-keys', { token: k.json.key });
  await call('GET', '/api/v1/users/me?token=' + encodeURIComponent(token), { token });
  await call('PATCH', '/api/v1/users/me', { token, body: { password: pw2, current_password: pw1 } });
  await call('POST', '/api/v1/auth/refresh', { body: { refresh_token: l1.json.refresh_token } }); // reuse
  await call('GET', '/api/v1/users/me', { token: 'garbage' + token });
  const admin = await adminToken(srv);
  await call('GET', '/api/v1/audit-events?limit=200', { token: admin });
  await call('GET', '/api/v1/audit-events?limit=200', { token });
  await call('GET', '/api/v1/users?limit=200', { token: admin });
  await call('DELETE', `/api/v1/api-keys/${k.json.id}`, { token });
  // A provider key: sealed at rest, shown by its last four characters only.
  const providerKey = 'sk-CanaryProvider-' + Date.now().toString(36) + '-WXYZ';
  canaries.push(providerKey);
  const m = await call('POST', '/api/v1/models', { token: admin, body: { name: 'canary-model', provider: 'openai', model: 'gpt-4o-mini', api_key: providerKey, params: { extra_headers: { 'X-Canary': providerKey } } } });
  assert.equal(m.status, 201, m.text);
  assert.equal(m.json.api_key_last4, 'WXYZ');
  await call('PATCH', `/api/v1/models/${m.json.id}`, { token: admin, body: { api_key: providerKey + '2' } });
  canaries.push(providerKey + '2');
  await call('GET', `/api/v1/models/${m.json.id}`, { token: admin });
  await call('GET', '/api/v1/models', { token: admin });
  await call('GET', '/api/v1/audit-events?limit=200', { token: admin });
  // A provider that echoes the key it refuses back in its error (the fake does so for keys starting "bad-"):
  // the test's answer, the log and the database must still hold none of it.
  const echoed = 'bad-CanaryEcho-' + Date.now().toString(36) + '-QRST';
  canaries.push(echoed);
  const em = await call('POST', '/api/v1/models', { token: admin, body: { name: 'canary-echo', provider: 'openai_compatible', model: 'gpt-4o-mini', base_url: `${fake.url}/v1`, api_key: echoed } });
  assert.equal(em.status, 201, em.text);
  const probe = await call('POST', `/api/v1/models/${em.json.id}/test`, { token: admin });
  assert.equal(probe.status, 200, probe.text);
  assert.equal(probe.json.error.class, 'auth', probe.text);
  assert.match(probe.json.error.detail, /Incorrect API key provided: \[redacted\]/, 'the echoed key is there, redacted');
  const seen = (await fake.requests()).filter((r) => r.path === '/v1/chat/completions');
  assert.equal(seen.length, 1);
  assert.equal(seen[0].headers.authorization, `Bearer ${echoed}`, 'the fake was sent the canary key, so it echoed it');
  // A custom tool's secret header: sealed at rest, shown by its last four
  // characters, never in an answer, a log or the audit log, even when a run
  // is refused by the outbound guard.
  const toolSecret = 'Bearer CanaryTool-' + Date.now().toString(36) + '-T00L';
  canaries.push(toolSecret, toolSecret + '2');
  const tool = await call('POST', '/api/v1/tools', { token: admin, body: { name: 'canary-tool', url_template: 'http://127.0.0.1:9/{q}', headers: [{ name: 'Authorization', value: toolSecret, secret: true }], parameters: { type: 'object', properties: { q: { type: 'string' } } } } });
  assert.equal(tool.status, 201, tool.text);
  assert.equal(tool.json.headers[0].value_last4, 'T00L');
  await call('PATCH', `/api/v1/tools/${tool.json.id}`, { token: admin, body: { headers: [{ name: 'Authorization', value: toolSecret + '2', secret: true }] } });
  await call('GET', `/api/v1/tools/${tool.json.id}`, { token: admin });
  await call('GET', '/api/v1/tools', { token: admin });
  const refused = await call('POST', `/api/v1/tools/${tool.json.id}/test`, { token: admin, body: { arguments: { q: 'x' } } });
  assert.equal(refused.status, 422, refused.text);
  await call('GET', '/api/v1/audit-events?limit=200', { token: admin });
  // An execution whose agent calls a custom tool with a secret header, at an endpoint that echoes the header back:
  // the header reaches the tool, and no event, answer, log line or row holds it (the tool's answer is masked).
  const runSecret = 'Bearer CanaryRun-' + Date.now().toString(36) + '-RUN9';
  const runKey = 'sk-CanaryRunModel-' + Date.now().toString(36);
  canaries.push(runSecret, runKey);
  const rm = await call('POST', '/api/v1/models', { token: admin, body: { name: 'canary-run', provider: 'openai_compatible', model: 'fake-model', base_url: `${fake.url}/v1`, api_key: runKey, default: true } });
  assert.equal(rm.status, 201, rm.text);
  const et = await call('POST', '/api/v1/tools', { token: admin, body: { name: 'echo_headers', url_template: `http://127.0.0.2:${echo.address().port}/{q}`, headers: [{ name: 'Authorization', value: runSecret, secret: true }], parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } } });
  assert.equal(et.status, 201, et.text);
  const ra = await call('POST', '/api/v1/agents', { token: admin, body: { name: 'canary agent', role: 'r', goal: 'g', backstory: 'b', tool_ids: [et.json.id] } });
  const rw = await call('POST', '/api/v1/workflows', { token: admin, body: { name: 'canary run', tasks: [{ key: 'k', description: 'CANARY-RUN', expected_output: 'o', agent_id: ra.json.id }] } });
  assert.equal(rw.status, 201, rw.text);
  await fake.script([{ match: 'CANARY-RUN', replies: [{ tool_calls: [{ name: 'echo_headers', arguments: { q: 'x' } }] }, { text: 'done' }] }]);
  const rx = await call('POST', `/api/v1/workflows/${rw.json.id}/execute`, { token: admin, body: { inputs: {} } });
  assert.equal(rx.status, 202, rx.text);
  let ended = null;
  for (let i = 0; i < 500 && !ended; i++) {
    const g = await call('GET', `/api/v1/executions/${rx.json.id}`, { token: admin });
    if (['succeeded', 'failed', 'cancelled'].includes(g.json.status)) ended = g.json;
    else await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(ended && ended.status, 'succeeded', JSON.stringify(ended));
  const evs = await call('GET', `/api/v1/executions/${rx.json.id}/events?limit=200`, { token: admin });
  const toolDone = evs.json.items.find((e) => e.type === 'tool.completed');
  assert.ok(toolDone, evs.text);
  assert.match(toolDone.data.result, /"authorization":"\*\*\*\*"/, 'the tool was sent the secret and echoed it; the answer masks it');
  const sentBack = (await fake.requests()).filter((r) => JSON.stringify(r.body.messages || []).includes('CANARY-RUN'));
  assert.ok(!JSON.stringify(sentBack).includes(runSecret), 'the model was not sent the tool secret');

  for (const c of canaries) assert.ok(c && c.length >= 10, 'canary set');
  for (const a of answers) {
    for (const c of canaries) {
      if (a.issues.includes(c)) continue;
      assert.ok(!a.text.includes(c), `${a.what} answered a secret`);
    }
  }

  await srv.stop({ keepData: true });
  stopped = true;
  const logs = srv.logs();
  let dbText = '';
  if (srv.db) {
    dbText = execFileSync('pg_dump', ['--data-only', srv.db.url], { encoding: 'utf8', maxBuffer: 1 << 28 });
    try { execFileSync('psql', [PG_URL, '-qAtc', `DROP DATABASE IF EXISTS ${srv.db.name} WITH (FORCE)`]); } catch (e) { /* best effort */ }
  } else {
    for (const f of fs.readdirSync(srv.dataDir)) {
      if (f.startsWith('troupe.db')) dbText += fs.readFileSync(path.join(srv.dataDir, f)).toString('latin1');
    }
    assert.ok(dbText.includes(email), 'the database dump is readable (the email is there)');
  }
  fs.rmSync(srv.dataDir, { recursive: true, force: true });
  for (const c of canaries) {
    assert.ok(!logs.includes(c), 'a secret is in the log');
    assert.ok(!dbText.includes(c), 'a secret is in the database');
  }
});
