// The auth matrix: every route of the route table (read from the OpenAPI
// document the table writes) as every kind of caller, with the exact status
// each must get. A route without a row here fails the suite.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {
  startServer, api, pgQuery, PG_URL, ADMIN_EMAIL, ADMIN_PASSWORD, login, newUser, newWorkspace, addMember, newKey, randomId,
} = require('./authlib');

// role: the route's declared minimum; ok: the status for a caller with
// enough rights (bodies sent are invalid on purpose: 400 proves the
// request got past authentication and authorization without changing
// anything). Routes that change state run last, in the order below.
const ROUTES = {
  'GET /healthz': { role: 'public', ok: 200 },
  'GET /readyz': { role: 'public', ok: 200 },
  'GET /metrics': { role: 'public', ok: 200 },
  'GET /api/v1/openapi.json': { role: 'public', ok: 200 },
  'GET /api/v1/version': { role: 'public', ok: 200 },
  'POST /api/v1/auth/register': { role: 'public', ok: 400 },
  'POST /api/v1/auth/login': { role: 'public', ok: 400 },
  'POST /api/v1/auth/refresh': { role: 'public', ok: 400 },
  'GET /api/v1/users/me': { role: 'user', ok: 200 },
  'PATCH /api/v1/users/me': { role: 'user', ok: 400, noKey: true },
  'GET /api/v1/users': { role: 'instance_admin', ok: 200 },
  'GET /api/v1/users/{id}': { role: 'instance_admin', ok: 404 },
  'PATCH /api/v1/users/{id}': { role: 'instance_admin', ok: 400 },
  'GET /api/v1/workspaces': { role: 'user', ok: 200 },
  'POST /api/v1/workspaces': { role: 'user', ok: 400, noKey: true },
  'GET /api/v1/workspaces/{id}': { role: 'viewer', ok: 200 },
  'PATCH /api/v1/workspaces/{id}': { role: 'admin', ok: 400 },
  'GET /api/v1/workspaces/{id}/members': { role: 'viewer', ok: 200 },
  'POST /api/v1/workspaces/{id}/members': { role: 'admin', ok: 400 },
  'PATCH /api/v1/workspaces/{id}/members/{user_id}': { role: 'admin', ok: 400 },
  'DELETE /api/v1/workspaces/{id}/members/{user_id}': { role: 'admin', ok: 404 },
  'GET /api/v1/api-keys': { role: 'admin', ok: 200 },
  'POST /api/v1/api-keys': { role: 'admin', ok: 400, noKey: true },
  'DELETE /api/v1/api-keys/{id}': { role: 'admin', ok: 404 },
  'GET /api/v1/audit-events': { role: 'admin', ok: 200 },
  'GET /api/v1/models': { role: 'viewer', ok: 200 },
  'POST /api/v1/models': { role: 'admin', ok: 400 },
  'GET /api/v1/models/providers': { role: 'user', ok: 200 },
  'GET /api/v1/models/{id}': { role: 'viewer', ok: 404 },
  'PATCH /api/v1/models/{id}': { role: 'admin', ok: 400 },
  'DELETE /api/v1/models/{id}': { role: 'admin', ok: 404 },
  'POST /api/v1/models/{id}/test': { role: 'editor', ok: 404 },
  'GET /api/v1/agents': { role: 'viewer', ok: 200 },
  'POST /api/v1/agents': { role: 'editor', ok: 400 },
  'GET /api/v1/agents/{id}': { role: 'viewer', ok: 404 },
  'PATCH /api/v1/agents/{id}': { role: 'editor', ok: 400 },
  'DELETE /api/v1/agents/{id}': { role: 'editor', ok: 404 },
  'GET /api/v1/agents/{id}/versions': { role: 'viewer', ok: 404 },
  'GET /api/v1/agents/{id}/versions/{version}': { role: 'viewer', ok: 400 },
  'GET /api/v1/agents/{id}/versions/{version}/diff/{to}': { role: 'viewer', ok: 400 },
  'POST /api/v1/agents/{id}/versions/{version}/restore': { role: 'editor', ok: 400 },
  'GET /api/v1/tools': { role: 'viewer', ok: 200 },
  'POST /api/v1/tools': { role: 'editor', ok: 400 },
  'GET /api/v1/tools/{id}': { role: 'viewer', ok: 404 },
  'PATCH /api/v1/tools/{id}': { role: 'editor', ok: 400 },
  'DELETE /api/v1/tools/{id}': { role: 'editor', ok: 404 },
  'POST /api/v1/tools/{id}/test': { role: 'editor', ok: 400 },
  'GET /api/v1/tools/{id}/versions': { role: 'viewer', ok: 404 },
  'GET /api/v1/tools/{id}/versions/{version}': { role: 'viewer', ok: 400 },
  'GET /api/v1/tools/{id}/versions/{version}/diff/{to}': { role: 'viewer', ok: 400 },
  'POST /api/v1/tools/{id}/versions/{version}/restore': { role: 'editor', ok: 400 },
  'GET /api/v1/workflows': { role: 'viewer', ok: 200 },
  'POST /api/v1/workflows': { role: 'editor', ok: 400 },
  'POST /api/v1/workflows/import': { role: 'editor', ok: 400 },
  'GET /api/v1/workflows/{id}': { role: 'viewer', ok: 404 },
  'PATCH /api/v1/workflows/{id}': { role: 'editor', ok: 400 },
  'DELETE /api/v1/workflows/{id}': { role: 'editor', ok: 404 },
  'POST /api/v1/workflows/{id}/validate': { role: 'viewer', ok: 404 },
  'POST /api/v1/workflows/{id}/publish': { role: 'editor', ok: 400 },
  'POST /api/v1/workflows/{id}/snapshot': { role: 'viewer', ok: 400 },
  'GET /api/v1/workflows/{id}/export': { role: 'viewer', ok: 404 },
  'GET /api/v1/workflows/{id}/versions': { role: 'viewer', ok: 404 },
  'GET /api/v1/workflows/{id}/versions/{version}': { role: 'viewer', ok: 400 },
  'GET /api/v1/workflows/{id}/versions/{version}/diff/{to}': { role: 'viewer', ok: 400 },
  'POST /api/v1/workflows/{id}/versions/{version}/restore': { role: 'editor', ok: 400 },
  'POST /api/v1/workflows/{id}/execute': { role: 'editor', ok: 400 },
  'GET /api/v1/executions': { role: 'viewer', ok: 200 },
  'GET /api/v1/executions/{id}': { role: 'viewer', ok: 404 },
  'GET /api/v1/executions/{id}/events': { role: 'viewer', ok: 404 },
  'GET /api/v1/executions/{id}/events/stream': { role: 'viewer', ok: 404 },
  'POST /api/v1/executions/{id}/stream-token': { role: 'viewer', ok: 404 },
  'POST /api/v1/executions/{id}/cancel': { role: 'editor', ok: 404 },
  'POST /api/v1/executions/{id}/resume': { role: 'editor', ok: 404 },
  'GET /api/v1/executions/{id}/artifacts/{name}': { role: 'viewer', ok: 404 },
  // State-changing, last: the owner deletes the shared workspace, then
  // everyone logs out.
  'DELETE /api/v1/workspaces/{id}': { role: 'owner', ok: 204, last: 1 },
  // key: the key's own answer when it differs (its workspace is gone by now, and the key with it).
  'POST /api/v1/auth/logout': { role: 'user', ok: 204, last: 2, key: 401 },
};

const LEVEL = { viewer: 1, editor: 2, admin: 3, owner: 4 };
const BAD = ['none', 'malformed', 'alg_none', 'expired', 'refresh_as_access', 'disabled_user', 'revoked_key'];
const ROLES = ['viewer', 'editor', 'admin', 'owner'];
// key_admin: an API key with the admin role in the shared workspace. A key
// never changes its user's account nor mints keys or workspaces (noKey:
// 403, OWASP: no privilege persistence through a delegated credential).
const CALLERS = [...BAD, ...ROLES, 'instance_admin', 'key_admin'];

function expected(route, caller) {
  if (route.role === 'public') return route.ok;
  if (BAD.includes(caller)) return 401;
  if (caller === 'key_admin') {
    if (route.key) return route.key;
    if (route.role === 'instance_admin' || route.noKey) return 403;
    if (route.role === 'user') return route.ok;
    return LEVEL.admin >= LEVEL[route.role] ? route.ok : 403;
  }
  if (caller === 'instance_admin') {
    if (route.role === 'user' || route.role === 'instance_admin') return route.ok;
    return 404; // not a member of the shared workspace: it does not exist for them
  }
  if (route.role === 'user') return route.ok;
  if (route.role === 'instance_admin') return 403;
  return LEVEL[caller] >= LEVEL[route.role] ? route.ok : 403;
}

function b64(o) { return Buffer.from(JSON.stringify(o)).toString('base64url'); }

test('auth matrix over every route', async (t) => {
  // First a server whose access tokens live 30 s: a token from it, on the
  // same data directory and secret, is expired by the end of the setup.
  const first = await startServer({ env: { TROUPE_ACCESS_TTL: '30' } });
  const dataDir = first.dataDir;
  const expiredAt = Date.now() + 31000;
  const shortLived = (await login(first, ADMIN_EMAIL, ADMIN_PASSWORD)).access_token;
  await first.stop({ keepData: true });
  const srv = await startServer({ dataDir, db: first.db || undefined });
  t.after(async () => {
    await srv.stop();
    // The database outlives the first server on purpose; drop it here.
    if (first.db) { try { pgQuery(PG_URL, `DROP DATABASE IF EXISTS ${first.db.name} WITH (FORCE)`); } catch (e) { /* best effort */ } }
  });

  const owner = await newUser(srv, 'mx-owner');
  const ws = await newWorkspace(srv, owner.token, 'matrix');
  const users = { owner };
  for (const role of ['admin', 'editor', 'viewer']) {
    users[role] = await newUser(srv, `mx-${role}`);
    await addMember(srv, owner.token, ws, users[role].email, role);
  }
  const admin = await login(srv, ADMIN_EMAIL, ADMIN_PASSWORD);
  const disabled = await newUser(srv, 'mx-disabled');
  await addMember(srv, owner.token, ws, disabled.email, 'owner');
  assert.equal((await api(srv, 'PATCH', `/api/v1/users/${disabled.id}`, { token: admin.access_token, body: { disabled: true } })).status, 200);
  const keyAdmin = await newKey(srv, owner.token, { role: 'admin', workspace: ws, name: 'mx-key-admin' });
  const revoked = await newKey(srv, owner.token, { role: 'admin', workspace: ws });
  assert.equal((await api(srv, 'DELETE', `/api/v1/api-keys/${revoked.id}`, { token: owner.token, workspace: ws })).status, 204);
  const [h, p] = owner.token.split('.');
  const payload = JSON.parse(Buffer.from(p, 'base64url'));
  const algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
  assert.ok(h);

  const tokens = {
    none: null,
    malformed: 'not-a-token',
    alg_none: algNone,
    expired: shortLived,
    refresh_as_access: owner.refresh,
    disabled_user: disabled.token,
    revoked_key: revoked.key,
    viewer: users.viewer.token,
    editor: users.editor.token,
    admin: users.admin.token,
    owner: owner.token,
    instance_admin: admin.access_token,
    key_admin: keyAdmin.key,
  };

  const doc = (await api(srv, 'GET', '/api/v1/openapi.json')).json;
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(item)) ops.push({ key: `${m.toUpperCase()} ${path}`, method: m.toUpperCase(), path, op });
  }
  const missing = ops.filter((o) => !ROUTES[o.key]).map((o) => o.key);
  assert.deepEqual(missing, [], 'routes without a row in the auth matrix');
  for (const o of ops) {
    assert.equal(o.op['x-troupe-role'], ROUTES[o.key].role, `declared role of ${o.key}`);
    assert.equal(o.op['x-troupe-api-key'] === false, !!ROUTES[o.key].noKey, `x-troupe-api-key of ${o.key}`);
  }
  ops.sort((a, b) => (ROUTES[a.key].last || 0) - (ROUTES[b.key].last || 0));

  const wait = expiredAt - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));

  const failures = [];
  let checked = 0;
  for (const o of ops) {
    const route = ROUTES[o.key];
    const path = o.path
      .replace('/workspaces/{id}', `/workspaces/${ws}`)
      .replace('{user_id}', randomId())
      .replace('{id}', randomId());
    // Owner last on the routes that change state for good.
    const callers = route.last ? [...CALLERS.filter((c) => c !== 'owner'), 'owner'] : CALLERS;
    for (const caller of callers) {
      const opts = { token: tokens[caller] || undefined };
      // The routes that need no workspace get no header: one is never
      // ignored (tenant.test.js), and ws is deleted before the last rows.
      const needsWs = route.role !== 'user' && route.role !== 'public' && route.role !== 'instance_admin';
      if (caller !== 'instance_admin' && needsWs && !o.path.startsWith('/api/v1/workspaces/')) opts.workspace = ws;
      if (caller === 'instance_admin' && route.role !== 'user' && route.role !== 'instance_admin' && route.role !== 'public') opts.workspace = ws;
      if (o.op.requestBody) opts.body = { matrix_unknown_field: 1 };
      const r = await api(srv, o.method, path, opts);
      const want = expected(route, caller);
      checked += 1;
      if (r.status !== want) failures.push(`${o.key} as ${caller}: want ${want}, got ${r.status} ${r.text.slice(0, 160)}`);
    }
  }
  t.diagnostic(`${ops.length} routes x ${CALLERS.length} callers = ${checked} checks`);
  assert.deepEqual(failures, []);
});
