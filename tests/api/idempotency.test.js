// Idempotency-Key: the same key and body replay the first answer without
// doing the work again; another body is 422; concurrent twins create one.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, assertProblem, newUser } = require('./authlib');

test('idempotency keys', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'idem');
  const count = async (name) => (await api(srv, 'GET', '/api/v1/workspaces?limit=200', { token: u.token })).json.items.filter((w) => w.name === name).length;

  await t.test('two concurrent POSTs with one key and body create one object', async () => {
    const headers = { 'idempotency-key': 'ws-create-1' };
    const [r1, r2] = await Promise.all([
      api(srv, 'POST', '/api/v1/workspaces', { token: u.token, headers, body: { name: 'twin' } }),
      api(srv, 'POST', '/api/v1/workspaces', { token: u.token, headers, body: { name: 'twin' } }),
    ]);
    assert.equal(r1.status, 201, r1.text);
    assert.equal(r2.status, 201, r2.text);
    assert.equal(r1.json.id, r2.json.id);
    assert.equal(await count('twin'), 1);
    const r3 = await api(srv, 'POST', '/api/v1/workspaces', { token: u.token, headers, body: { name: 'twin' } });
    assert.equal(r3.status, 201);
    assert.equal(r3.json.id, r1.json.id);
    assert.equal(r3.headers.get('idempotent-replayed'), 'true');
    assert.equal(await count('twin'), 1);
  });

  await t.test('the same key with another body is 422', async () => {
    const headers = { 'idempotency-key': 'ws-create-2' };
    assert.equal((await api(srv, 'POST', '/api/v1/workspaces', { token: u.token, headers, body: { name: 'first' } })).status, 201);
    assertProblem(await api(srv, 'POST', '/api/v1/workspaces', { token: u.token, headers, body: { name: 'second' } }), 422);
    assert.equal(await count('second'), 0);
  });

  await t.test('keys are per user: another user\'s same key is independent', async () => {
    const v = await newUser(srv, 'idem2');
    const headers = { 'idempotency-key': 'ws-create-1' };
    const r = await api(srv, 'POST', '/api/v1/workspaces', { token: v.token, headers, body: { name: 'twin' } });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('idempotent-replayed'), null);
  });

  await t.test('a failed request does not pin the key', async () => {
    const headers = { 'idempotency-key': 'member-1' };
    const path = `/api/v1/workspaces/${u.ws}/members`;
    assertProblem(await api(srv, 'POST', path, { token: u.token, headers, body: { email: 'nobody@example.test', role: 'viewer' } }), 404);
    const w = await newUser(srv, 'idem3');
    const body = { email: w.email, role: 'viewer' };
    const h2 = { 'idempotency-key': 'member-2' };
    assert.equal((await api(srv, 'POST', path, { token: u.token, headers: h2, body })).status, 201);
    const again = await api(srv, 'POST', path, { token: u.token, headers: h2, body });
    assert.equal(again.status, 201, 'replayed, not 409 already a member');
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
  });

  await t.test('an API key creation replays without the key (shown once)', async () => {
    const headers = { 'idempotency-key': 'key-1' };
    const r1 = await api(srv, 'POST', '/api/v1/api-keys', { token: u.token, headers, body: { name: 'once', role: 'viewer' } });
    assert.equal(r1.status, 201);
    assert.match(r1.json.key, /^trp_/);
    const r2 = await api(srv, 'POST', '/api/v1/api-keys', { token: u.token, headers, body: { name: 'once', role: 'viewer' } });
    assert.equal(r2.status, 201);
    assert.equal(r2.json.id, r1.json.id);
    assert.equal(r2.json.key, null);
    const l = await api(srv, 'GET', '/api/v1/api-keys', { token: u.token });
    assert.equal(l.json.items.filter((k) => k.name === 'once').length, 1);
  });

  await t.test('a malformed key is 400', async () => {
    assertProblem(await api(srv, 'POST', '/api/v1/workspaces', { token: u.token, headers: { 'idempotency-key': 'x'.repeat(201) }, body: { name: 'n' } }), 400);
  });
});
