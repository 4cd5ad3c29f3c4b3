// Users, sessions, refresh rotation, logout, password change, disabling,
// API keys, members, login timing and limits, audit (issue: auth).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {
  startServer, api, assertProblem, uniqueEmail, ADMIN_EMAIL, ADMIN_PASSWORD, login, newUser, adminToken,
  newWorkspace, addMember, newKey, strongPassword,
} = require('./authlib');

const me = (srv, token) => api(srv, 'GET', '/api/v1/users/me', { token });

test('users and sessions', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());

  await t.test('register, login, me', async () => {
    const email = uniqueEmail('reg');
    const password = 'correct horse battery staple';
    const r = await api(srv, 'POST', '/api/v1/auth/register', { body: { email: email.toUpperCase(), password, name: 'Reg' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.email, email, 'emails are stored in lower case');
    assert.ok(r.json.personal_workspace_id);
    assert.equal(r.json.password, undefined);
    const tok = await login(srv, email, password);
    assert.equal(tok.token_type, 'Bearer');
    assert.equal(tok.expires_in, 900);
    assert.match(tok.refresh_token, /^trr_[A-Za-z0-9_-]{43}$/);
    const [h, p] = tok.access_token.split('.').slice(0, 2).map((s) => JSON.parse(Buffer.from(s, 'base64url')));
    assert.equal(h.alg, 'HS256');
    assert.equal(p.typ, 'access');
    assert.equal(p.aud, 'troupe');
    assert.equal(p.sub, r.json.id);
    assert.ok(p.sid && p.iat && p.exp - p.iat === 900);
    const m = await me(srv, tok.access_token);
    assert.equal(m.status, 200);
    assert.equal(m.json.id, r.json.id);
    const ws = await api(srv, 'GET', '/api/v1/workspaces', { token: tok.access_token });
    assert.deepEqual(ws.json.items.map((w) => [w.id, w.role, w.personal]), [[r.json.personal_workspace_id, 'owner', true]]);
    assertProblem(await api(srv, 'POST', '/api/v1/auth/register', { body: { email, password, name: 'Again' } }), 409);
  });

  await t.test('password policy', async () => {
    const reg = (password) => api(srv, 'POST', '/api/v1/auth/register', { body: { email: uniqueEmail('pp'), password, name: 'P' } });
    assertProblem(await reg('short'), 400, 'password');
    assertProblem(await reg('password123'), 400, 'password');
    assertProblem(await reg('QWERTYUIOP'), 400, 'password');
    assertProblem(await reg('x'.repeat(257)), 400, 'password');
    assert.equal((await reg('x'.repeat(128) + 'yz')).status, 201, '130 characters are fine');
    assert.equal((await reg('пароль—密码—🔑🔑')).status, 201, 'any Unicode');
  });

  await t.test('bad credentials: same answer for unknown email and wrong password', async () => {
    const u = await newUser(srv, 'badcred');
    const a = await api(srv, 'POST', '/api/v1/auth/login', { body: { email: u.email, password: 'wrong-password-1' } });
    const b = await api(srv, 'POST', '/api/v1/auth/login', { body: { email: uniqueEmail('nobody'), password: 'wrong-password-1' } });
    assertProblem(a, 401);
    assertProblem(b, 401);
    assert.equal(a.json.detail, b.json.detail);
    assert.equal(a.json.type, b.json.type);
  });

  await t.test('refresh rotates; reuse ends the whole family', async () => {
    const u = await newUser(srv, 'rot');
    const r1 = await api(srv, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refresh } });
    assert.equal(r1.status, 200, r1.text);
    assert.notEqual(r1.json.refresh_token, u.refresh);
    const r2 = await api(srv, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: r1.json.refresh_token } });
    assert.equal(r2.status, 200);
    assert.equal((await me(srv, r2.json.access_token)).status, 200);
    // The first token again: reuse.
    assertProblem(await api(srv, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refresh } }), 401);
    // The newest token of the family and every access token of it stop at once.
    assertProblem(await api(srv, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: r2.json.refresh_token } }), 401);
    assertProblem(await me(srv, r2.json.access_token), 401);
    assertProblem(await me(srv, u.token), 401);
    // Another login of the same user is another family: unaffected.
    const other = await login(srv, u.email, u.password);
    assert.equal((await me(srv, other.access_token)).status, 200);
    assertProblem(await api(srv, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: 'trr_nonsense' } }), 401);
    assertProblem(await api(srv, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: u.token } }), 401);
  });

  await t.test('logout ends the session on the next request', async () => {
    const u = await newUser(srv, 'logout');
    assert.equal((await api(srv, 'POST', '/api/v1/auth/logout', { token: u.token })).status, 204);
    assertProblem(await me(srv, u.token), 401);
    assertProblem(await api(srv, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refresh } }), 401);
  });

  await t.test('password change needs the current password and ends other sessions', async () => {
    const u = await newUser(srv, 'pwchange');
    const second = await login(srv, u.email, u.password);
    const np = strongPassword('new');
    assertProblem(await api(srv, 'PATCH', '/api/v1/users/me', { token: u.token, body: { password: np } }), 400, 'current_password');
    assertProblem(await api(srv, 'PATCH', '/api/v1/users/me', { token: u.token, body: { password: np, current_password: 'not-it-at-all' } }), 400, 'current_password');
    assertProblem(await api(srv, 'PATCH', '/api/v1/users/me', { token: u.token, body: { password: 'password', current_password: u.password } }), 400, 'password');
    const r = await api(srv, 'PATCH', '/api/v1/users/me', { token: u.token, body: { password: np, current_password: u.password, name: 'Renamed' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, 'Renamed');
    assert.equal((await me(srv, u.token)).status, 200, 'the session that changed it stays');
    assertProblem(await me(srv, second.access_token), 401);
    assertProblem(await api(srv, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: second.refresh_token } }), 401);
    assertProblem(await api(srv, 'POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } }), 401);
    await login(srv, u.email, np);
  });

  await t.test('mass assignment is refused with 400', async () => {
    const u = await newUser(srv, 'mass');
    for (const extra of [{ id: 'x' }, { is_admin: true }, { role: 'owner' }, { created_at: '2020-01-01T00:00:00Z' }]) {
      assertProblem(await api(srv, 'PATCH', '/api/v1/users/me', { token: u.token, body: { name: 'n', ...extra } }), 400, Object.keys(extra)[0]);
      assertProblem(await api(srv, 'POST', '/api/v1/auth/register', { body: { email: uniqueEmail('m'), password: strongPassword(), name: 'n', ...extra } }), 400, Object.keys(extra)[0]);
    }
    for (const extra of [{ id: 'x' }, { workspace_id: u.ws }, { created_at: 'x' }, { owner: u.id }]) {
      assertProblem(await api(srv, 'POST', '/api/v1/workspaces', { token: u.token, body: { name: 'w', ...extra } }), 400, Object.keys(extra)[0]);
      assertProblem(await api(srv, 'POST', '/api/v1/api-keys', { token: u.token, body: { name: 'k', role: 'viewer', ...extra } }), 400, Object.keys(extra)[0]);
    }
  });

  await t.test('instance administrators disable users: sessions and keys stop at once', async () => {
    const admin = await adminToken(srv);
    const u = await newUser(srv, 'disable');
    const key = await newKey(srv, u.token, { role: 'admin' });
    assert.equal((await me(srv, key.key)).status, 200);
    assertProblem(await api(srv, 'GET', '/api/v1/users', { token: u.token }), 403);
    const d = await api(srv, 'PATCH', `/api/v1/users/${u.id}`, { token: admin, body: { disabled: true } });
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json.disabled, true);
    assertProblem(await me(srv, u.token), 401);
    assertProblem(await me(srv, key.key), 401);
    assertProblem(await api(srv, 'POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } }), 401);
    assertProblem(await api(srv, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refresh } }), 401);
    assert.equal((await api(srv, 'PATCH', `/api/v1/users/${u.id}`, { token: admin, body: { disabled: false, is_admin: true } })).status, 200);
    const again = await login(srv, u.email, u.password);
    assert.equal((await api(srv, 'GET', '/api/v1/users?limit=1', { token: again.access_token })).status, 200, 'now an admin');
    const list = await api(srv, 'GET', '/api/v1/users?limit=200', { token: admin });
    assert.ok(list.json.items.some((x) => x.id === u.id));
    assert.ok(list.json.items.every((x) => !('password_hash' in x)));
    const self = (await me(srv, admin)).json.id;
    assertProblem(await api(srv, 'PATCH', `/api/v1/users/${self}`, { token: admin, body: { disabled: true } }), 409);
  });

  await t.test('API keys: once, hashed, role-capped, workspace-bound, revocable', async () => {
    const u = await newUser(srv, 'keys');
    const k = await newKey(srv, u.token, { role: 'viewer', name: 'ci' });
    assert.match(k.key, /^trp_[A-Za-z0-9_-]{43}$/);
    assert.equal(k.prefix, k.key.slice(0, 12));
    assert.equal(k.last4, k.key.slice(-4));
    const l = await api(srv, 'GET', '/api/v1/api-keys', { token: u.token });
    const row = l.json.items.find((x) => x.id === k.id);
    assert.deepEqual(Object.keys(row).sort(), ['created_at', 'created_by', 'expires_at', 'id', 'last4', 'last_used_at', 'name', 'prefix', 'role']);
    assert.equal(row.last4, k.key.slice(-4), 'the list tells keys apart by their end too');
    assert.ok(!l.text.includes(k.key));
    assert.equal((await me(srv, k.key)).status, 200);
    assertProblem(await api(srv, 'GET', '/api/v1/api-keys', { token: k.key }), 403, undefined);
    const other = await newWorkspace(srv, u.token, 'other');
    assertProblem(await api(srv, 'GET', '/api/v1/audit-events', { token: k.key, workspace: other }), 404);
    assertProblem(await api(srv, 'POST', '/api/v1/workspaces', { token: k.key, body: { name: 'no' } }), 403);
    // A key of an editor cannot be an admin key.
    const owner = await newUser(srv, 'keyowner');
    const ed = await newUser(srv, 'keyeditor');
    await addMember(srv, owner.token, owner.ws, ed.email, 'editor');
    assertProblem(await api(srv, 'POST', '/api/v1/api-keys', { token: ed.token, workspace: owner.ws, body: { name: 'x', role: 'admin' } }), 403);
    const adm = await newUser(srv, 'keyadmin');
    await addMember(srv, owner.token, owner.ws, adm.email, 'admin');
    const ak = await newKey(srv, adm.token, { role: 'admin', workspace: owner.ws });
    assert.equal((await api(srv, 'GET', '/api/v1/api-keys', { token: ak.key })).status, 200);
    // Demoting the creator caps the key at once.
    await api(srv, 'PATCH', `/api/v1/workspaces/${owner.ws}/members/${adm.id}`, { token: owner.token, body: { role: 'viewer' } });
    assertProblem(await api(srv, 'GET', '/api/v1/api-keys', { token: ak.key }), 403);
    assertProblem(await api(srv, 'POST', '/api/v1/api-keys', { token: owner.token, body: { name: 'past', role: 'viewer', expires_at: '2001-01-01T00:00:00Z' } }), 400, 'expires_at');
    assert.equal((await api(srv, 'DELETE', `/api/v1/api-keys/${k.id}`, { token: u.token })).status, 204);
    assertProblem(await me(srv, k.key), 401);
    assertProblem(await api(srv, 'DELETE', `/api/v1/api-keys/${k.id}`, { token: u.token }), 404);
    assertProblem(await me(srv, 'trp_' + 'A'.repeat(43)), 401);
  });

  // OWASP: a key is a delegated credential. It reads and works in its
  // workspace, but never changes its user's account nor mints credentials
  // that would outlive its own revocation (privilege persistence).
  await t.test('an API key cannot change its user\'s account nor create API keys or workspaces: 403', async () => {
    const u = await newUser(srv, 'keyself');
    const k = await newKey(srv, u.token, { role: 'admin', name: 'self' });
    const keysBefore = (await api(srv, 'GET', '/api/v1/api-keys', { token: u.token })).json.items.length;
    for (const body of [{ name: 'renamed-by-key' }, { password: strongPassword('nk'), current_password: u.password }]) {
      const r = await api(srv, 'PATCH', '/api/v1/users/me', { token: k.key, body });
      assertProblem(r, 403);
      assert.match(r.json.detail, /API key/);
    }
    const mk = await api(srv, 'POST', '/api/v1/api-keys', { token: k.key, body: { name: 'minted', role: 'viewer' } });
    assertProblem(mk, 403);
    assert.match(mk.json.detail, /sign in as the user/);
    assertProblem(await api(srv, 'POST', '/api/v1/workspaces', { token: k.key, body: { name: 'by-key' } }), 403);
    // Nothing changed: the name, the password, the keys.
    const m = await me(srv, u.token);
    assert.equal(m.json.name, 'keyself');
    await login(srv, u.email, u.password);
    assert.equal((await api(srv, 'GET', '/api/v1/api-keys', { token: u.token })).json.items.length, keysBefore);
    // What the key may do it still does, and the user's session does the rest.
    assert.equal((await me(srv, k.key)).status, 200);
    assert.equal((await api(srv, 'GET', '/api/v1/api-keys', { token: k.key })).status, 200);
    assert.equal((await api(srv, 'PATCH', '/api/v1/users/me', { token: u.token, body: { name: 'renamed' } })).status, 200);
    // The OpenAPI document says which operations a key cannot call.
    const doc = (await api(srv, 'GET', '/api/v1/openapi.json')).json;
    assert.equal(doc.paths['/api/v1/users/me'].patch['x-troupe-api-key'], false);
    assert.equal(doc.paths['/api/v1/api-keys'].post['x-troupe-api-key'], false);
    assert.equal(doc.paths['/api/v1/api-keys'].get['x-troupe-api-key'], undefined);
  });

  await t.test('members: roles, owners, the last owner', async () => {
    const o = await newUser(srv, 'own');
    const a = await newUser(srv, 'adm');
    const v = await newUser(srv, 'view');
    const ws = await newWorkspace(srv, o.token, 'team');
    await addMember(srv, o.token, ws, a.email, 'admin');
    assertProblem(await api(srv, 'POST', `/api/v1/workspaces/${ws}/members`, { token: a.token, body: { email: v.email, role: 'owner' } }), 400, 'role');
    await addMember(srv, a.token, ws, v.email, 'viewer');
    assertProblem(await api(srv, 'POST', `/api/v1/workspaces/${ws}/members`, { token: a.token, body: { email: v.email, role: 'viewer' } }), 409);
    assertProblem(await api(srv, 'POST', `/api/v1/workspaces/${ws}/members`, { token: a.token, body: { email: uniqueEmail('ghost'), role: 'viewer' } }), 404);
    assertProblem(await api(srv, 'PATCH', `/api/v1/workspaces/${ws}/members/${o.id}`, { token: a.token, body: { role: 'viewer' } }), 403);
    assertProblem(await api(srv, 'DELETE', `/api/v1/workspaces/${ws}/members/${o.id}`, { token: a.token }), 403);
    assertProblem(await api(srv, 'PATCH', `/api/v1/workspaces/${ws}/members/${o.id}`, { token: o.token, body: { role: 'admin' } }), 409);
    assertProblem(await api(srv, 'DELETE', `/api/v1/workspaces/${ws}/members/${o.id}`, { token: o.token }), 409);
    assertProblem(await api(srv, 'GET', '/api/v1/api-keys', { token: v.token, workspace: ws }), 403);
    assert.equal((await api(srv, 'GET', `/api/v1/workspaces/${ws}`, { token: v.token })).json.role, 'viewer');
    // Promote the viewer to owner: now the first owner may step down.
    assert.equal((await api(srv, 'PATCH', `/api/v1/workspaces/${ws}/members/${v.id}`, { token: o.token, body: { role: 'owner' } })).status, 200);
    assert.equal((await api(srv, 'DELETE', `/api/v1/workspaces/${ws}/members/${o.id}`, { token: o.token })).status, 204);
    assertProblem(await api(srv, 'GET', `/api/v1/workspaces/${ws}`, { token: o.token }), 404);
    assertProblem(await api(srv, 'DELETE', `/api/v1/workspaces/${v.ws}`, { token: v.token }), 409, undefined);
    assertProblem(await api(srv, 'DELETE', `/api/v1/workspaces/${ws}`, { token: a.token }), 403);
    assert.equal((await api(srv, 'DELETE', `/api/v1/workspaces/${ws}`, { token: v.token })).status, 204);
    assertProblem(await api(srv, 'GET', `/api/v1/workspaces/${ws}`, { token: v.token }), 404);
    assertProblem(await api(srv, 'GET', '/api/v1/api-keys', { token: v.token, headers: { 'x-workspace-id': 'nope' } }), 400, 'header.X-Workspace-Id');
  });

  await t.test('audit log: security events, filters, no secrets, workspace scope', async () => {
    const admin = await adminToken(srv);
    const all = await api(srv, 'GET', '/api/v1/audit-events?limit=200', { token: admin });
    assert.equal(all.status, 200);
    const actions = new Set(all.json.items.map((e) => e.action));
    for (const a of ['login.success', 'login.failure', 'token.reuse_detected', 'logout', 'user.password_changed',
      'user.disabled', 'member.added', 'member.role_changed', 'member.removed', 'api_key.created', 'api_key.revoked',
      'workspace.created', 'workspace.deleted']) {
      assert.ok(actions.has(a), `audit has ${a}`);
    }
    const f = await api(srv, 'GET', '/api/v1/audit-events?action=login.failure', { token: admin });
    assert.ok(f.json.items.length > 0 && f.json.items.every((e) => e.action === 'login.failure'));
    const future = await api(srv, 'GET', '/api/v1/audit-events?since=2999-01-01T00:00:00Z', { token: admin });
    assert.equal(future.json.items.length, 0);
    assertProblem(await api(srv, 'GET', '/api/v1/audit-events?since=yesterday', { token: admin }), 400, 'query.since');
    const p1 = await api(srv, 'GET', '/api/v1/audit-events?limit=2', { token: admin });
    const p2 = await api(srv, 'GET', `/api/v1/audit-events?limit=2&cursor=${p1.json.next_cursor}`, { token: admin });
    assert.ok(p2.json.items[0].id < p1.json.items[1].id, 'newest first, pages do not overlap');
    const u = await newUser(srv, 'auditscope');
    const key = await newKey(srv, u.token, { name: 'audit-scope', role: 'viewer' });
    // Other workspaces have events, so a list that ignored the scope would show some.
    assert.ok(all.json.items.some((e) => e.workspace_id && e.workspace_id !== u.ws), 'events of other workspaces exist');
    const mine = await api(srv, 'GET', '/api/v1/audit-events?limit=200', { token: u.token });
    assert.equal(mine.status, 200);
    assert.ok(mine.json.items.some((e) => e.action === 'api_key.created' && e.target_id === key.id),
      `the workspace's own event is listed: ${mine.text}`);
    assert.ok(mine.json.items.every((e) => e.workspace_id === u.ws), 'a workspace admin sees that workspace only');
  });

  await t.test('OpenAPI declares a role for every operation', async () => {
    const doc = (await api(srv, 'GET', '/api/v1/openapi.json')).json;
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(item)) assert.ok(op['x-troupe-role'] && op['x-troupe-role'] !== 'unset', `${m} ${p}`);
    }
  });
});

test('registration can be turned off', async (t) => {
  const srv = await startServer({ env: { TROUPE_ALLOW_REGISTRATION: 'false' } });
  t.after(() => srv.stop());
  assertProblem(await api(srv, 'POST', '/api/v1/auth/register', { body: { email: uniqueEmail('off'), password: strongPassword(), name: 'n' } }), 403);
  await login(srv, ADMIN_EMAIL, ADMIN_PASSWORD);
});

test('first start prints a generated administrator password once', async (t) => {
  const srv = await startServer({ env: { TROUPE_ADMIN_PASSWORD: '', TROUPE_ADMIN_EMAIL: 'root@example.test' } });
  t.after(() => srv.stop());
  const m = srv.stdout().match(/first administrator created: root@example\.test \/ (\S+)/);
  assert.ok(m, srv.stdout());
  assert.match(srv.stdout(), /shown once; sign in and change it on the web app's Profile page \(\/profile\), or with PATCH \/api\/v1\/users\/me\n/, 'the web app first, the API second');
  assert.ok(!srv.stderr().includes(m[1]), 'the password is not in the log');
  await login(srv, 'root@example.test', m[1]);
});

test('the ceiling on attempts of any kind per address: 429 with Retry-After', async (t) => {
  const srv = await startServer({ env: { TROUPE_RATE_LIMIT_AUTH: '10/min' } });
  t.after(() => srv.stop());
  const codes = [];
  let last;
  for (let i = 0; i < 11; i++) {
    last = await api(srv, 'POST', '/api/v1/auth/login', { body: { email: `x${i}@example.test`, password: 'whatever-123' } });
    codes.push(last.status);
  }
  assert.deepEqual(codes, [...Array(10).fill(401), 429]);
  assertProblem(last, 429);
  assert.ok(Number(last.headers.get('retry-after')) >= 1);
  // Other routes have their own (default) class.
  assert.equal((await api(srv, 'GET', '/api/v1/version')).status, 200);
});

// The web app's session: the refresh token also rides in an HttpOnly,
// SameSite=Strict cookie scoped to /api/v1/auth (docs/web.md).
test('the refresh cookie: set on login, rotated by refresh, cleared by logout, required without a body token', async (t) => {
  const srv = await startServer();
  const proxied = await startServer({ env: { TROUPE_TRUST_PROXY: 'true' } });
  t.after(async () => { await srv.stop(); await proxied.stop(); });
  const cookieOf = (r) => {
    const sc = r.headers.get('set-cookie') || '';
    const m = sc.match(/^troupe_refresh=([^;]*)/);
    return { raw: sc, value: m ? m[1] : null };
  };
  const body = { email: ADMIN_EMAIL, password: ADMIN_PASSWORD };

  const l = await api(srv, 'POST', '/api/v1/auth/login', { body });
  assert.equal(l.status, 200, l.text);
  const c1 = cookieOf(l);
  assert.equal(c1.value, l.json.refresh_token, 'the cookie holds the refresh token');
  for (const attr of ['Path=/api/v1/auth', 'HttpOnly', 'SameSite=Strict', 'Max-Age=2592000'])
    assert.ok(c1.raw.split('; ').includes(attr), `${attr} in ${c1.raw}`);
  assert.ok(!/Secure/.test(c1.raw), 'no Secure over plain HTTP');

  // Behind a trusted proxy saying https: Secure. An untrusted header is ignored.
  const lp = await api(proxied, 'POST', '/api/v1/auth/login', { body, headers: { 'x-forwarded-proto': 'https' } });
  assert.ok(cookieOf(lp).raw.split('; ').includes('Secure'), cookieOf(lp).raw);
  const ln = await api(srv, 'POST', '/api/v1/auth/login', { body, headers: { 'x-forwarded-proto': 'https' } });
  assert.ok(!/Secure/.test(cookieOf(ln).raw), cookieOf(ln).raw);

  // Refresh by the cookie alone rotates it.
  const r1 = await api(srv, 'POST', '/api/v1/auth/refresh', { body: {}, headers: { cookie: `other=1; troupe_refresh=${c1.value}` } });
  assert.equal(r1.status, 200, r1.text);
  const c2 = cookieOf(r1);
  assert.ok(c2.value && c2.value !== c1.value, 'a new token in the cookie');
  assert.equal(c2.value, r1.json.refresh_token);
  assert.equal((await api(srv, 'GET', '/api/v1/users/me', { token: r1.json.access_token })).status, 200);

  // A reused (rotated) cookie is refused and cleared.
  const again = await api(srv, 'POST', '/api/v1/auth/refresh', { body: {}, headers: { cookie: `troupe_refresh=${c1.value}` } });
  assertProblem(again, 401);
  assert.match(cookieOf(again).raw, /^troupe_refresh=; .*Max-Age=0/);

  // A cross-site request carries no cookie (SameSite=Strict) and no token: 401.
  const none = await api(srv, 'POST', '/api/v1/auth/refresh', { body: {}, headers: { origin: 'https://evil.example' } });
  assertProblem(none, 401);
  assert.match(none.json.detail, /refresh token/);

  // Logout ends the session and clears the cookie.
  const l2 = await api(srv, 'POST', '/api/v1/auth/login', { body });
  const out = await api(srv, 'POST', '/api/v1/auth/logout', { token: l2.json.access_token });
  assert.equal(out.status, 204, out.text);
  assert.match(cookieOf(out).raw, /^troupe_refresh=; Path=\/api\/v1\/auth; Max-Age=0; HttpOnly; SameSite=Strict$/);
  const after = await api(srv, 'POST', '/api/v1/auth/refresh', { body: {}, headers: { cookie: `troupe_refresh=${cookieOf(l2).value}` } });
  assertProblem(after, 401);
});
