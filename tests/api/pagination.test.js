// The pagination convention on every list route of the OpenAPI document:
// a cursor that does not decode to a key this server could have issued is
// 400 naming query.cursor, never a silent first page. libmicrohttpd
// percent-decodes the query, so ?cursor=%00%ff reached the handler as an
// empty C string and was read as no cursor at all.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, newUser, adminToken, randomId, assertProblem } = require('./authlib');

const b64 = (s) => Buffer.from(s, 'latin1').toString('base64url');

const BAD = [
  ['%00%ff', 'a NUL byte then a non-UTF-8 byte'],
  ['%00', 'a NUL byte alone'],
  ['abc%00', 'text then a NUL byte'],
  ['%ff', 'a byte that is not UTF-8'],
  ['abc', 'not base64 of a key'],
  [b64('k:\u0000x'), 'a key holding a NUL byte'],
  [b64('k:a\u0001b'), 'a key holding a control character'],
  [b64('k:\u00ff\u00fe'), 'a key that is not UTF-8'],
  [b64('x:abc'), 'not a key'],
];

test('a cursor that is not a key is 400 naming query.cursor on every list route', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'page');
  const admin = await adminToken(srv);
  const doc = (await api(srv, 'GET', '/api/v1/openapi.json')).json;
  const lists = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    const get = ops.get;
    if (get && (get.parameters || []).some((p) => p.in === 'query' && p.name === 'cursor')) lists.push(path);
  }
  // The routes known to page today: the document must list them all.
  for (const p of ['/api/v1/agents', '/api/v1/tools', '/api/v1/models', '/api/v1/api-keys', '/api/v1/workspaces',
    '/api/v1/audit-events', '/api/v1/workflows', '/api/v1/workspaces/{id}/members']) {
    assert.ok(lists.includes(p), `${p} is not a list route in the OpenAPI document: ${lists.join(' ')}`);
  }
  for (const route of lists) {
    const path = route.replace('/workspaces/{id}', `/workspaces/${u.ws}`).replace(/\{[^}]+\}/g, () => randomId());
    // Control: without a cursor the route answers (200, or 404 for a parent that does not exist);
    // instance routes (403 to a user) are asked by the administrator.
    let token = u.token, workspace = u.ws;
    let ok = await api(srv, 'GET', path, { token, workspace });
    if (ok.status === 403) {
      token = admin;
      workspace = undefined;
      ok = await api(srv, 'GET', path, { token });
    }
    assert.ok(ok.status === 200 || ok.status === 404, `${route}: ${ok.status} ${ok.text}`);
    for (const [cursor, what] of BAD) {
      const r = await api(srv, 'GET', `${path}?cursor=${cursor}`, { token, workspace });
      if (r.status !== 400) assert.fail(`${route} cursor ${cursor} (${what}): ${r.status} ${r.text}`);
      assertProblem(r, 400, 'query.cursor');
    }
  }
});

test('any query parameter holding a NUL byte or non-UTF-8 is 400 naming it', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'page-q');
  for (const q of ['q=%00', 'q=ab%00cd', 'q=%c3', 'limit=1%00']) {
    const name = q.split('=')[0];
    assertProblem(await api(srv, 'GET', `/api/v1/agents?${q}`, { token: u.token, workspace: u.ws }), 400, `query.${name}`);
  }
  // Controls: the same parameters, valid, are served.
  for (const q of ['q=%c3%a9', 'limit=1', 'cursor=']) {
    const r = await api(srv, 'GET', `/api/v1/agents?${q}`, { token: u.token, workspace: u.ws });
    assert.equal(r.status, 200, `${q}: ${r.text}`);
  }
});
