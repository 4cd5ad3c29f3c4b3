// Fields a client may not set (id, workspace_id, created_at, owner) are 400
// on every create and update route of the table, read from the OpenAPI
// document the table writes: a new route is covered the day it is added.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, assertProblem, login } = require('./lib');

test('every POST and PATCH with a body refuses server-owned fields', async (t) => {
  const srv = await startServer({ env: { TROUPE_RATE_LIMIT_AUTH: '1000/min' } });
  t.after(() => srv.stop());
  const token = await login(srv);
  const me = (await api(srv, 'GET', '/api/v1/users/me', { token })).json;
  const doc = (await api(srv, 'GET', '/api/v1/openapi.json')).json;
  const id = '01900000-0000-7000-8000-000000000000';
  let checked = 0;
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of ['post', 'patch']) {
      const op = item[m];
      if (!op || !op.requestBody || !op.requestBody.content['application/json']) continue;
      const concrete = p.replace('/workspaces/{id}', `/workspaces/${me.personal_workspace_id || id}`).replace(/\{[^}]+\}/g, id);
      for (const field of ['id', 'workspace_id', 'created_at', 'owner']) {
        const r = await api(srv, m.toUpperCase(), concrete, { token, body: { [field]: 'x' } });
        assertProblem(r, 400, field);
        checked++;
      }
    }
  }
  assert.ok(checked >= 40, `only ${checked} route/field pairs checked`);
});
