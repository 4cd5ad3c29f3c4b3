// Two owners demoting each other at the same instant: one wins, the other
// is refused, and the workspace never ends up without an owner.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, newUser } = require('./lib');

test('concurrent demotions never leave a workspace without an owner', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const a = await newUser(srv, 'ownera');
  const b = await newUser(srv, 'ownerb');
  const aId = (await api(srv, 'GET', '/api/v1/users/me', { token: a.token })).json.id;
  const bId = (await api(srv, 'GET', '/api/v1/users/me', { token: b.token })).json.id;
  const ws = await api(srv, 'POST', '/api/v1/workspaces', { token: a.token, body: { name: 'shared' } });
  assert.equal(ws.status, 201, ws.text);
  const wsId = ws.json.id;
  const add = await api(srv, 'POST', `/api/v1/workspaces/${wsId}/members`, { token: a.token, body: { email: b.email, role: 'admin' } });
  assert.equal(add.status, 201, add.text);
  for (let round = 0; round < 30; round++) {
    // Both owners again: whoever is owner now promotes the other.
    const members = (await api(srv, 'GET', `/api/v1/workspaces/${wsId}/members?limit=200`, { token: a.token, workspace: wsId })).json.items;
    const owner = members.find((m) => m.role === 'owner');
    const other = owner.user_id === aId ? bId : aId;
    const ownerToken = owner.user_id === aId ? a.token : b.token;
    const up = await api(srv, 'PATCH', `/api/v1/workspaces/${wsId}/members/${other}`, { token: ownerToken, body: { role: 'owner' } });
    assert.equal(up.status, 200, up.text);
    // Several requests from each side at once, to widen the window.
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2
      ? api(srv, 'PATCH', `/api/v1/workspaces/${wsId}/members/${bId}`, { token: a.token, body: { role: 'admin' } })
      : api(srv, 'PATCH', `/api/v1/workspaces/${wsId}/members/${aId}`, { token: b.token, body: { role: 'admin' } }))));
    for (const r of rs) assert.ok([200, 403, 409].includes(r.status), `round ${round}: ${r.status} ${r.text}`);
    const after = (await api(srv, 'GET', `/api/v1/workspaces/${wsId}/members?limit=200`, { token: a.token })).json.items;
    assert.equal(after.filter((m) => m.role === 'owner').length, 1, `round ${round}: exactly one owner left`);
  }
});
