// Header values per RFC 9110 5.5: the whitespace around a field value is not
// part of it. Every header troupe reads (Authorization, X-Workspace-Id,
// Idempotency-Key, Content-Type, Origin, X-Forwarded-For, X-Request-Id) is
// sent with a trailing space, a trailing tab and leading whitespace, over a
// raw socket (fetch would trim them before sending), and must mean what it
// means without them. Each header also gets a case that shows the value is
// really read, so a header ignored altogether would fail.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer, api, newUser, newWorkspace, newKey, randomId, assertProblem } = require('./authlib');

// One request on its own connection; headers is a list of [name, value],
// sent byte for byte.
function raw(port, method, path, headers, body = '') {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks = [];
    let head = `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`;
    for (const [k, v] of headers) head += `${k}:${v}\r\n`;
    if (body) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const at = text.indexOf('\r\n\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      const hdrs = {};
      for (const line of text.slice(0, at).split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        hdrs[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      const rest = text.slice(at + 4);
      let json = null;
      try { json = JSON.parse(rest); } catch (e) { /* not JSON */ }
      resolve({ status: m ? Number(m[1]) : 0, headers: hdrs, text: rest, json });
    });
    s.setTimeout(10000, () => s.destroy());
    s.end(head + '\r\n' + body);
  });
}

// What a client may put around a value: trailing space, trailing tab,
// leading space, leading tab, both.
const WRAP = [
  ['a trailing space', (v) => ` ${v} `],
  ['a trailing tab', (v) => ` ${v}\t`],
  ['leading whitespace', (v) => `  ${v}`],
  ['a leading tab', (v) => `\t${v}`],
  ['whitespace on both sides', (v) => ` \t${v} \t `],
];

test('header values are read without surrounding whitespace (RFC 9110 5.5)', async (t) => {
  const srv = await startServer({ env: { TROUPE_CORS_ORIGINS: 'https://app.example.test', TROUPE_TRUST_PROXY: 'true' } });
  t.after(() => srv.stop());
  const u = await newUser(srv, 'hdr');
  const other = await newUser(srv, 'hdr-other');
  const ws2 = await newWorkspace(srv, u.token, 'hdr-second');
  const key = await newKey(srv, u.token, { role: 'viewer', name: 'hdr-key' });
  const keyInWs2 = await newKey(srv, u.token, { role: 'viewer', name: 'hdr-key-ws2', workspace: ws2 });

  await t.test('Authorization: Bearer <JWT or API key> with whitespace is 200', async () => {
    for (const tok of [u.token, key.key]) {
      // Control: the credential is checked.
      assert.equal((await raw(srv.port, 'GET', '/api/v1/users/me', [['Authorization', ` Bearer ${tok}x`]])).status, 401);
      assert.equal((await raw(srv.port, 'GET', '/api/v1/users/me', [['Authorization', ` Bearer ${tok}`]])).status, 200);
      for (const [what, wrap] of WRAP) {
        const r = await raw(srv.port, 'GET', '/api/v1/users/me', [['Authorization', wrap(`Bearer ${tok}`)]]);
        assert.equal(r.status, 200, `${what}: ${r.text}`);
        assert.equal(r.json.email, u.email);
      }
    }
  });

  await t.test('X-Workspace-Id with whitespace names that workspace', async () => {
    const auth = ['Authorization', ` Bearer ${u.token}`];
    for (const [what, wrap] of WRAP) {
      const r = await raw(srv.port, 'GET', '/api/v1/api-keys', [auth, ['X-Workspace-Id', wrap(ws2)]]);
      assert.equal(r.status, 200, `${what}: ${r.text}`);
      // Only the second workspace's key: the header was read, not ignored.
      assert.deepEqual(r.json.items.map((k) => k.id), [keyInWs2.id], what);
      const foreign = await raw(srv.port, 'GET', '/api/v1/api-keys', [auth, ['X-Workspace-Id', wrap(other.ws)]]);
      assert.equal(foreign.status, 404, `${what}: another's workspace: ${foreign.text}`);
      const unknown = await raw(srv.port, 'GET', '/api/v1/api-keys', [auth, ['X-Workspace-Id', wrap(randomId())]]);
      assert.equal(unknown.status, 404, what);
      const bad = await raw(srv.port, 'GET', '/api/v1/api-keys', [auth, ['X-Workspace-Id', wrap('not-an-id')]]);
      assert.equal(bad.status, 400, what);
    }
  });

  await t.test('Idempotency-Key with whitespace is the same key', async () => {
    const body = JSON.stringify({ name: 'hdr-idem' });
    const h = (k) => [['Authorization', ` Bearer ${u.token}`], ['Content-Type', ' application/json'], ['Idempotency-Key', k]];
    const first = await raw(srv.port, 'POST', '/api/v1/workspaces', h(' hdr-idem-1'), body);
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    for (const [what, wrap] of WRAP) {
      const again = await raw(srv.port, 'POST', '/api/v1/workspaces', h(wrap('hdr-idem-1')), body);
      assert.equal(again.status, 201, `${what}: ${again.text}`);
      assert.equal(again.json.id, first.json.id, what);
      assert.equal(again.headers['idempotent-replayed'], 'true', what);
    }
    const list = await api(srv, 'GET', '/api/v1/workspaces?limit=200', { token: u.token });
    assert.equal(list.json.items.filter((w) => w.name === 'hdr-idem').length, 1);
  });

  await t.test('Content-Type with whitespace is still JSON', async () => {
    const auth = ['Authorization', ` Bearer ${u.token}`];
    const body = JSON.stringify({ name: 'hdr-ct' });
    // Control: another type is 415.
    assert.equal((await raw(srv.port, 'POST', '/api/v1/workspaces', [auth, ['Content-Type', ' text/plain']], body)).status, 415);
    for (const [what, wrap] of [...WRAP, ['a parameter after whitespace', (v) => ` ${v}\t; charset=utf-8 `]]) {
      const r = await raw(srv.port, 'POST', '/api/v1/workspaces', [auth, ['Content-Type', wrap('application/json')]], body);
      assert.equal(r.status, 201, `${what}: ${r.text}`);
    }
  });

  await t.test('Origin with whitespace matches the allowlist exactly', async () => {
    // Control: an unlisted origin gets no CORS header.
    const no = await raw(srv.port, 'GET', '/healthz', [['Origin', ' https://evil.example ']]);
    assert.equal(no.headers['access-control-allow-origin'], undefined);
    for (const [what, wrap] of WRAP) {
      const r = await raw(srv.port, 'GET', '/healthz', [['Origin', wrap('https://app.example.test')]]);
      assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.test', what);
    }
  });

  await t.test('X-Forwarded-For with whitespace gives the client address (trusted proxy)', async () => {
    const cases = [...WRAP.map(([what, wrap], i) => [what, wrap(`203.0.113.${10 + i}`), `203.0.113.${10 + i}`]),
      ['a list with a tab before the comma', ' 203.0.113.30\t, 10.0.0.1', '203.0.113.30']];
    for (const [i, [what, value, want]] of cases.entries()) {
      const rid = `xff-case-${i}`;
      const r = await raw(srv.port, 'GET', '/api/v1/version', [['X-Forwarded-For', value], ['X-Request-Id', rid]]);
      assert.equal(r.status, 200);
      let line;
      for (let n = 0; n < 50 && !line; n++) {
        line = srv.stderr().split('\n').find((l) => l.includes(`"request_id":"${rid}"`));
        if (!line) await new Promise((res) => setTimeout(res, 20));
      }
      assert.ok(line, `no access log line for ${rid}`);
      assert.equal(JSON.parse(line).client, want, what);
    }
  });

  await t.test('X-Request-Id with whitespace is echoed without it', async () => {
    for (const [what, wrap] of WRAP) {
      const r = await raw(srv.port, 'GET', '/healthz', [['X-Request-Id', wrap('hdr-rid-1')]]);
      assert.equal(r.headers['x-request-id'], 'hdr-rid-1', what);
    }
  });
});

// RFC 9110 5.3: a field that is not a list must not be repeated. Reading the
// first of two would let one request mean two things; each header troupe
// reads as one value is refused when repeated, own value first and a
// foreign or different one second, and the same pair sent once each is
// served (so the refusal is for the repeat, not for a value).
test('a header troupe reads as one value, repeated, is 400 naming it (RFC 9110 5.3)', async (t) => {
  const srv = await startServer({ env: { TROUPE_CORS_ORIGINS: 'https://app.example.test', TROUPE_TRUST_PROXY: 'true' } });
  t.after(() => srv.stop());
  const u = await newUser(srv, 'rep');
  const other = await newUser(srv, 'rep-other');
  const auth = ['Authorization', `Bearer ${u.token}`];
  const cases = [
    ['X-Workspace-Id', 'GET', '/api/v1/api-keys', [auth, ['X-Workspace-Id', u.ws]], ['X-Workspace-Id', other.ws]],
    ['Authorization', 'GET', '/api/v1/users/me', [auth], ['Authorization', `Bearer ${other.token}`]],
    ['Idempotency-Key', 'POST', '/api/v1/workspaces', [auth, ['Content-Type', 'application/json'], ['Idempotency-Key', 'rep-k1']],
      ['Idempotency-Key', 'rep-k2'], '{"name":"rep-ws"}'],
    ['Content-Type', 'POST', '/api/v1/workspaces', [auth, ['Content-Type', 'application/json']],
      ['Content-Type', 'text/plain'], '{"name":"rep-ws2"}'],
    ['Origin', 'GET', '/api/v1/version', [['Origin', 'https://app.example.test']], ['Origin', 'https://evil.example.test']],
    ['X-Request-Id', 'GET', '/api/v1/version', [['X-Request-Id', 'rep-a']], ['X-Request-Id', 'rep-b']],
    ['Last-Event-ID', 'GET', '/api/v1/version', [['Last-Event-ID', '1']], ['Last-Event-ID', '2']],
  ];
  for (const [name, method, path, once, again, body] of cases) {
    const ok = await raw(srv.port, method, path, once, body);
    assert.ok(ok.status === 200 || ok.status === 201, `${name} once: ${ok.status} ${ok.text}`);
    for (const spelled of [name, name.toLowerCase()]) {
      const r = await raw(srv.port, method, path, [...once, [spelled, again[1]]], body);
      assert.equal(r.status, 400, `${name} twice (${spelled}): ${r.text}`);
      assert.match(r.headers['content-type'], /application\/problem\+json/);
      assert.deepEqual(r.json.errors.map((e) => e.field), [`header.${name}`], r.text);
    }
  }
  // The same value twice is still a repeat: a proxy cannot be trusted to agree.
  const r = await raw(srv.port, 'GET', '/api/v1/users/me', [auth, auth]);
  assert.equal(r.status, 400, r.text);

  await t.test('X-Forwarded-For is a list: its lines combine, the first element is the client', async () => {
    const rid = 'rep-xff-1';
    const q = await raw(srv.port, 'GET', '/api/v1/version',
      [['X-Forwarded-For', '203.0.113.9'], ['X-Forwarded-For', '198.51.100.1'], ['X-Request-Id', rid]]);
    assert.equal(q.status, 200, q.text);
    let line;
    for (let n = 0; n < 50 && !line; n++) {
      line = srv.stderr().split('\n').find((l) => l.includes(`"request_id":"${rid}"`));
      if (!line) await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(line, 'no access log line');
    assert.equal(JSON.parse(line).client, '203.0.113.9');
  });
});

// RFC 9562 section 4: UUIDs are case-insensitive on input. Ids are stored
// lowercase, so one given in capitals (path or X-Workspace-Id) names the
// same object, and another workspace's in capitals is still 404.
test('UUIDs in capitals in X-Workspace-Id and path ids name the same objects', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'uuid');
  const other = await newUser(srv, 'uuid-other');
  const ws2 = await newWorkspace(srv, u.token, 'uuid-second');
  const key = await newKey(srv, u.token, { role: 'viewer', name: 'uuid-key', workspace: ws2 });
  const UP = (s) => s.toUpperCase();

  const keys = await api(srv, 'GET', '/api/v1/api-keys', { token: u.token, workspace: UP(ws2) });
  assert.equal(keys.status, 200, keys.text);
  assert.deepEqual(keys.json.items.map((k) => k.id), [key.id]);
  const mixed = ws2.replace(/[a-f]/, (c) => c.toUpperCase());
  assert.equal((await api(srv, 'GET', '/api/v1/api-keys', { token: u.token, workspace: mixed })).status, 200);
  assertProblem(await api(srv, 'GET', '/api/v1/api-keys', { token: u.token, workspace: UP(other.ws) }), 404);
  assertProblem(await api(srv, 'GET', '/api/v1/api-keys', { token: u.token, workspace: `${UP(ws2)}G`.slice(1) }), 400,
    'header.X-Workspace-Id');

  const got = await api(srv, 'GET', `/api/v1/workspaces/${UP(ws2)}`, { token: u.token, workspace: UP(ws2) });
  assert.equal(got.status, 200, got.text);
  assert.equal(got.json.id, ws2);
  const members = await api(srv, 'GET', `/api/v1/workspaces/${UP(ws2)}/members`, { token: u.token, workspace: ws2 });
  assert.equal(members.status, 200, members.text);
  assertProblem(await api(srv, 'GET', `/api/v1/workspaces/${UP(other.ws)}`, { token: u.token }), 404);
  const del = await api(srv, 'DELETE', `/api/v1/api-keys/${UP(key.id)}`, { token: u.token, workspace: ws2 });
  assert.equal(del.status, 204, del.text);
  assert.equal((await api(srv, 'GET', '/api/v1/users/me', { token: key.key })).status, 401);
});
