// Idempotency-Key: the same key and body replay the first answer without
// doing the work again; another body is 422; concurrent twins, released together
// over raw sockets so they overlap in the handler, create one.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startServer, api, assertProblem, newUser, PG_URL, pgQuery } = require('./authlib');

// Makes every insert into workspaces take a while (on), or not (off), from
// outside the server: a trigger that counts to 300,000 on SQLite, that
// sleeps 0.3 s on PostgreSQL.
function slowInserts(srv, on) {
  if (PG_URL) {
    pgQuery(srv.db.url, on
      ? 'CREATE OR REPLACE FUNCTION test_slow() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$ LANGUAGE plpgsql; ' +
        'CREATE TRIGGER test_slow BEFORE INSERT ON workspaces FOR EACH ROW EXECUTE FUNCTION test_slow()'
      : 'DROP TRIGGER IF EXISTS test_slow ON workspaces');
    return;
  }
  execFileSync('sqlite3', [path.join(srv.dataDir, 'troupe.db')], {
    input: on
      ? 'CREATE TRIGGER test_slow BEFORE INSERT ON workspaces BEGIN SELECT count(*) FROM (WITH RECURSIVE c(x) AS ' +
        '(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT x FROM c); END;'
      : 'DROP TRIGGER IF EXISTS test_slow;',
  });
}

// Opens a connection and sends the request but its last byte. Resolves once
// connected with release() (sends the last byte) and done (the answer).
function holdRequest(port, bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks = [];
    const done = new Promise((res) => {
      s.on('close', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const at = text.indexOf('\r\n\r\n');
        const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
        let json = null;
        try { json = JSON.parse(text.slice(at + 4)); } catch (e) { /* not JSON */ }
        res({ status: m ? Number(m[1]) : 0, head: text.slice(0, at + 2), text, json });
      });
    });
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.setTimeout(30000, () => s.destroy());
    s.on('connect', () => {
      s.write(bytes.slice(0, -1));
      resolve({ release: () => s.write(bytes.slice(-1)), done });
    });
  });
}

test('idempotency keys', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'idem');
  const count = async (name) => (await api(srv, 'GET', '/api/v1/workspaces?limit=200', { token: u.token })).json.items.filter((w) => w.name === name).length;

  await t.test('concurrent POSTs with one key and body, released together, create one object', async () => {
    // Each request is sent whole but for its last byte, so the server holds
    // it before the idempotency hook; the last bytes then go out in one
    // tick, so the requests reach the hook together. A trigger makes each
    // workspace insert slow, so the one that runs is still inside the
    // handler when the others ask for the key: they overlap for certain.
    // Six at once on each of five keys.
    const KEYS = 5;
    const PER_KEY = 6;
    const held = [];
    let answers;
    slowInserts(srv, true);
    try {
      for (let k = 0; k < KEYS; k++) {
        const body = JSON.stringify({ name: `twin-${k}` });
        const head = `POST /api/v1/workspaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.token}\r\n` +
          `Content-Type: application/json\r\nIdempotency-Key: ws-twin-${k}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
        for (let i = 0; i < PER_KEY; i++) held.push({ k, ...(await holdRequest(srv.port, head + body)) });
      }
      // Every connection is open and its head has been read: let them go.
      await new Promise((r) => setTimeout(r, 300));
      for (const h of held) h.release();
      answers = await Promise.all(held.map((h) => h.done));
    } finally {
      slowInserts(srv, false);
    }
    for (let k = 0; k < KEYS; k++) {
      const mine = answers.filter((a, i) => held[i].k === k);
      for (const a of mine) assert.equal(a.status, 201, a.text);
      assert.equal(new Set(mine.map((a) => a.json.id)).size, 1, `key ${k}: one id for all`);
      assert.equal(mine.filter((a) => !/\r\nidempotent-replayed: true\r\n/i.test(a.head)).length, 1,
        `key ${k}: exactly one ran, the others were replayed`);
      assert.equal(await count(`twin-${k}`), 1, `key ${k}: one workspace`);
    }
    const again = await api(srv, 'POST', '/api/v1/workspaces', { token: u.token, headers: { 'idempotency-key': 'ws-twin-0' }, body: { name: 'twin-0' } });
    assert.equal(again.status, 201);
    assert.equal(again.json.id, answers[0].json.id);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(await count('twin-0'), 1);
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
