// Tenant isolation: two workspaces with objects in each; every read,
// update, delete and list of the other's objects by id answers 404, and
// lists never contain them. As object types arrive, they join OBJECTS; a
// kind whose route is missing fails the test. And on every route of the
// route table (read from the OpenAPI document), a foreign X-Workspace-Id
// answers 404 and a malformed one 400 naming the header; public routes
// ignore it.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, assertProblem, newUser, newKey, addMember, randomId, adminToken } = require('./authlib');

// Each: create(srv, user) -> id, and the routes of one object by id.
const OBJECTS = {
  'api-key': {
    create: async (srv, u) => (await newKey(srv, u.token, { role: 'viewer', name: 'tenant' })).id,
    list: '/api/v1/api-keys',
    byId: [['DELETE', '/api/v1/api-keys/{id}']],
  },
  member: {
    create: async (srv, u) => {
      const m = await newUser(srv, 'tenant-member');
      await addMember(srv, u.token, u.ws, m.email, 'viewer');
      return m.id;
    },
    list: null, // members are listed under the workspace, checked below
    byId: [['PATCH', '/api/v1/workspaces/{ws}/members/{id}', { role: 'editor' }], ['DELETE', '/api/v1/workspaces/{ws}/members/{id}']],
  },
  model: {
    route: 'POST /api/v1/models',
    create: async (srv, u) => {
      const r = await api(srv, 'POST', '/api/v1/models', { token: u.token, body: { name: `m-${randomId().slice(0, 8)}`, provider: 'ollama', model: 'llama3', base_url: 'http://127.0.0.1:11434' } });
      assert.equal(r.status, 201, r.text);
      return r.json.id;
    },
    list: '/api/v1/models',
    byId: [['GET', '/api/v1/models/{id}'], ['PATCH', '/api/v1/models/{id}', { name: 'stolen' }],
      ['POST', '/api/v1/models/{id}/test'], ['DELETE', '/api/v1/models/{id}']],
  },
  agent: {
    route: 'POST /api/v1/agents',
    create: async (srv, u) => {
      const r = await api(srv, 'POST', '/api/v1/agents', { token: u.token, body: { name: 'a', role: 'r', goal: 'g', backstory: 'b' } });
      assert.equal(r.status, 201, r.text);
      return r.json.id;
    },
    list: '/api/v1/agents',
    byId: [['GET', '/api/v1/agents/{id}'], ['PATCH', '/api/v1/agents/{id}', { goal: 'stolen' }],
      ['GET', '/api/v1/agents/{id}/versions'], ['GET', '/api/v1/agents/{id}/versions/1'],
      ['GET', '/api/v1/agents/{id}/versions/1/diff/1'], ['POST', '/api/v1/agents/{id}/versions/1/restore', {}],
      ['DELETE', '/api/v1/agents/{id}']],
  },
  tool: {
    route: 'POST /api/v1/tools',
    create: async (srv, u) => {
      const r = await api(srv, 'POST', '/api/v1/tools', { token: u.token, body: { name: `t-${randomId().slice(0, 8)}`, url_template: 'https://example.com/' } });
      assert.equal(r.status, 201, r.text);
      return r.json.id;
    },
    list: '/api/v1/tools',
    byId: [['GET', '/api/v1/tools/{id}'], ['PATCH', '/api/v1/tools/{id}', { description: 'stolen' }],
      ['POST', '/api/v1/tools/{id}/test', { arguments: {} }], ['GET', '/api/v1/tools/{id}/versions'],
      ['GET', '/api/v1/tools/{id}/versions/1'], ['GET', '/api/v1/tools/{id}/versions/1/diff/1'],
      ['POST', '/api/v1/tools/{id}/versions/1/restore', {}], ['DELETE', '/api/v1/tools/{id}']],
  },
  workflow: {
    route: 'POST /api/v1/workflows',
    create: async (srv, u) => {
      const ag = await api(srv, 'POST', '/api/v1/agents', { token: u.token, body: { name: 'a', role: 'r', goal: 'g', backstory: 'b' } });
      assert.equal(ag.status, 201, ag.text);
      const r = await api(srv, 'POST', '/api/v1/workflows', { token: u.token, body: { name: 'w', tasks: [{ key: 't', description: 'd', expected_output: 'e', agent_id: ag.json.id }] } });
      assert.equal(r.status, 201, r.text);
      return r.json.id;
    },
    list: '/api/v1/workflows',
    byId: [['GET', '/api/v1/workflows/{id}'], ['PATCH', '/api/v1/workflows/{id}', { name: 'stolen' }],
      ['POST', '/api/v1/workflows/{id}/validate'], ['POST', '/api/v1/workflows/{id}/publish', { version: 1 }],
      ['POST', '/api/v1/workflows/{id}/snapshot', {}], ['GET', '/api/v1/workflows/{id}/export'],
      ['GET', '/api/v1/workflows/{id}/versions'], ['GET', '/api/v1/workflows/{id}/versions/1'],
      ['GET', '/api/v1/workflows/{id}/versions/1/diff/1'], ['POST', '/api/v1/workflows/{id}/versions/1/restore', {}],
      ['POST', '/api/v1/workflows/{id}/execute', { inputs: {} }], ['DELETE', '/api/v1/workflows/{id}']],
  },
  execution: {
    route: 'POST /api/v1/workflows/{id}/execute',
    create: async (srv, u) => {
      const ag = await api(srv, 'POST', '/api/v1/agents', { token: u.token, body: { name: 'a', role: 'r', goal: 'g', backstory: 'b' } });
      assert.equal(ag.status, 201, ag.text);
      const w = await api(srv, 'POST', '/api/v1/workflows', { token: u.token, body: { name: 'w', tasks: [{ key: 't', description: 'd', expected_output: 'e', agent_id: ag.json.id }] } });
      assert.equal(w.status, 201, w.text);
      const r = await api(srv, 'POST', `/api/v1/workflows/${w.json.id}/execute`, { token: u.token, body: { inputs: {} } });
      assert.equal(r.status, 202, r.text);
      return r.json.id;
    },
    list: '/api/v1/executions',
    byId: [['GET', '/api/v1/executions/{id}'], ['GET', '/api/v1/executions/{id}/events'],
      ['GET', '/api/v1/executions/{id}/events/stream'], ['POST', '/api/v1/executions/{id}/stream-token'],
      ['POST', '/api/v1/executions/{id}/cancel'], ['POST', '/api/v1/executions/{id}/resume'],
      ['GET', '/api/v1/executions/{id}/artifacts/report.md']],
  },
};

test('tenant isolation', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const doc = (await api(srv, 'GET', '/api/v1/openapi.json')).json;
  const has = (key) => { const [m, p] = key.split(' '); return !!(doc.paths[p] && doc.paths[p][m.toLowerCase()]); };

  const a = await newUser(srv, 'tenant-a');
  const b = await newUser(srv, 'tenant-b');
  const objs = {};
  for (const [kind, o] of Object.entries(OBJECTS)) {
    assert.ok(!o.route || has(o.route), `${kind}: the route table has no ${o.route}`);
    objs[kind] = { a: await o.create(srv, a), b: await o.create(srv, b) };
  }
  const bKey = await newKey(srv, b.token, { role: 'admin', name: 'b-admin' });
  const b2r = await api(srv, 'POST', '/api/v1/workspaces', { token: b.token, body: { name: 'b-second' } });
  assert.equal(b2r.status, 201, b2r.text);
  const b2 = b2r.json.id;

  await t.test('objects of the other workspace answer 404 by id, as if absent', async () => {
    for (const [kind, ids] of Object.entries(objs)) {
      for (const [method, tmpl, body] of OBJECTS[kind].byId) {
        for (const [who, mine, theirs] of [[b, b.ws, ids.a], [a, a.ws, ids.b]]) {
          const path = tmpl.replace('{ws}', mine).replace('{id}', theirs);
          assertProblem(await api(srv, method, path, { token: who.token, body }), 404);
          const ghost = tmpl.replace('{ws}', mine).replace('{id}', randomId());
          const g = await api(srv, method, ghost, { token: who.token, body });
          assert.equal(g.status, 404, `${kind} ${method}: a missing id answers the same`);
          // The other's workspace named explicitly: still 404.
          if (!tmpl.includes('{ws}')) {
            const other = who === b ? a.ws : b.ws;
            assertProblem(await api(srv, method, tmpl.replace('{id}', theirs), { token: who.token, workspace: other, body }), 404);
          }
        }
        // An API key of B, whatever it names.
        assertProblem(await api(srv, method, tmpl.replace('{ws}', a.ws).replace('{id}', ids.a), { token: bKey.key, body }), 404);
      }
    }
  });

  await t.test('lists never contain the other workspace\'s objects', async () => {
    for (const [kind, ids] of Object.entries(objs)) {
      const list = OBJECTS[kind].list;
      if (!list) continue;
      const rb = await api(srv, 'GET', `${list}?limit=200`, { token: b.token });
      assert.equal(rb.status, 200);
      assert.ok(!rb.text.includes(ids.a), `${kind}: B's list has A's object`);
      assert.ok(rb.json.items.some((x) => x.id === ids.b), `${kind}: B's list has B's own object`);
      assertProblem(await api(srv, 'GET', list, { token: b.token, workspace: a.ws }), 404);
    }
    const wl = await api(srv, 'GET', '/api/v1/workspaces', { token: b.token });
    assert.ok(!wl.text.includes(a.ws));
    const ml = await api(srv, 'GET', `/api/v1/workspaces/${b.ws}/members`, { token: b.token });
    assert.ok(!objs.member || !ml.text.includes(objs.member.a));
    const al = await api(srv, 'GET', '/api/v1/audit-events?limit=200', { token: b.token });
    assert.equal(al.status, 200);
    assert.ok(al.json.items.length > 0, 'B has audit events of its own');
    assert.ok(al.json.items.every((e) => e.workspace_id === b.ws), 'audit events of B only');
    assert.ok(!al.text.includes(a.ws) && !al.text.includes(a.id));
  });

  await t.test('every route refuses a foreign or malformed X-Workspace-Id; public routes ignore it', async () => {
    const admin = await adminToken(srv);
    const ops = [];
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(item)) ops.push({ method: m.toUpperCase(), path: p, op });
    }
    assert.ok(ops.length >= 40, `the route table has its routes (${ops.length})`);
    let checked = 0;
    for (const { method, path: tmpl, op } of ops) {
      const key = `${method} ${tmpl}`;
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      const instance = op['x-troupe-role'] === 'instance_admin';
      // B acts (the administrator on instance routes); A's workspace is
      // foreign to both. The workspace routes name the caller's own.
      const token = instance ? admin : b.token;
      const own = instance ? null : b.ws;
      const path = tmpl.replace(/\{id\}/, tmpl.startsWith('/api/v1/workspaces/{id}') && own ? own : randomId())
        .replace(/\{version\}|\{to\}/g, '1').replace(/\{[a-z_]+\}/g, () => randomId());
      const body = method === 'POST' || method === 'PATCH' ? {} : undefined;
      if (isPublic) {
        if (method !== 'GET') {
          // login, register, refresh: the body is judged, never the header
          const r = await api(srv, method, path, { workspace: 'not-a-uuid', body });
          assert.ok(r.status !== 404 && !(r.json?.errors || []).some((e) => e.field === 'header.X-Workspace-Id'),
            `${key}: a public route ignores X-Workspace-Id (${r.status} ${r.text})`);
        } else {
          const plain = await api(srv, method, path);
          for (const ws of [a.ws, 'not-a-uuid']) {
            const r = await api(srv, method, path, { workspace: ws });
            assert.equal(r.status, plain.status, `${key}: a public route ignores X-Workspace-Id ${ws}`);
          }
        }
        checked++;
        continue;
      }
      const foreign = await api(srv, method, path, { token, workspace: a.ws, body });
      assertProblem(foreign, 404);
      assert.match(foreign.json.detail, /workspace/, `${key}: the foreign workspace is what is not found`);
      const bad = await api(srv, method, path, { token, workspace: 'not-a-uuid', body });
      assertProblem(bad, 400);
      assert.ok(bad.json.errors.some((e) => e.field === 'header.X-Workspace-Id'), `${key}: 400 names the header`);
      if (tmpl.startsWith('/api/v1/workspaces/{id}')) {
        // the path names B's workspace; a header naming another workspace
        // of B's own is still not the path's
        const other = await api(srv, method, path, { token, workspace: b2, body });
        assertProblem(other, 404);
      }
      checked++;
    }
    assert.equal(checked, ops.length, 'every operation was checked');
  });

  await t.test('the other workspace itself is 404, never 403', async () => {
    for (const [m, p, body] of [['GET', ''], ['PATCH', '', { name: 'x' }], ['DELETE', ''], ['GET', '/members'],
      ['POST', '/members', { email: b.email, role: 'viewer' }]]) {
      assertProblem(await api(srv, m, `/api/v1/workspaces/${a.ws}${p}`, { token: b.token, body }), 404);
      assertProblem(await api(srv, m, `/api/v1/workspaces/${randomId()}${p}`, { token: b.token, body }), 404);
    }
    assertProblem(await api(srv, 'GET', '/api/v1/api-keys', { token: b.token, workspace: a.ws }), 404);
    assertProblem(await api(srv, 'GET', '/api/v1/api-keys', { token: b.token, workspace: randomId() }), 404);
  });
});

// Writes that touch more than one row, each with a second workspace that
// must come out unchanged: a statement that lost its `workspace_id = ?`
// fails here.
test('writes that touch many rows stay in their workspace', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const a = await newUser(srv, 'multi-a');
  const b = await newUser(srv, 'multi-b');
  const model = async (u, ws, name, extra = {}) => {
    const r = await api(srv, 'POST', '/api/v1/models', { token: u.token, workspace: ws,
      body: { name, provider: 'ollama', model: 'llama3', base_url: 'http://127.0.0.1:11434', ...extra } });
    assert.equal(r.status, 201, r.text);
    return r.json.id;
  };
  const isDefault = async (u, ws, id) => {
    const r = await api(srv, 'GET', `/api/v1/models/${id}`, { token: u.token, workspace: ws });
    assert.equal(r.status, 200, r.text);
    return r.json.default;
  };

  await t.test('marking a default clears the previous default of that workspace only', async () => {
    const ma = await model(a, a.ws, 'a-default', { default: true });
    const mb = await model(b, b.ws, 'b-default', { default: true });
    assert.equal(await isDefault(a, a.ws, ma), true, 'B marking its default left A\'s');
    assert.equal(await isDefault(b, b.ws, mb), true);
    const mb2 = await model(b, b.ws, 'b-second');
    const r = await api(srv, 'PATCH', `/api/v1/models/${mb2}`, { token: b.token, body: { default: true } });
    assert.equal(r.status, 200, r.text);
    assert.equal(await isDefault(b, b.ws, mb), false, 'B\'s previous default cleared');
    assert.equal(await isDefault(a, a.ws, ma), true, 'a PATCH in B left A\'s default');
    const emb = await model(a, a.ws, 'a-embed', { kind: 'embedding', model: 'nomic-embed-text', default: true });
    assert.equal(await isDefault(a, a.ws, emb), true);
    assert.equal(await isDefault(a, a.ws, ma), true, 'an embedding default left the chat default');
  });

  await t.test('deleting a workspace deletes its keys, members and objects only', async () => {
    const w1 = (await api(srv, 'POST', '/api/v1/workspaces', { token: a.token, body: { name: 'doomed' } })).json.id;
    const w2 = (await api(srv, 'POST', '/api/v1/workspaces', { token: a.token, body: { name: 'kept' } })).json.id;
    const keys = {}; const models = {};
    for (const ws of [w1, w2]) {
      keys[ws] = await newKey(srv, a.token, { role: 'viewer', workspace: ws, name: 'k' });
      await addMember(srv, a.token, ws, b.email, 'viewer');
      models[ws] = await model(a, ws, 'm');
    }
    const del = await api(srv, 'DELETE', `/api/v1/models/${models[w1]}`, { token: a.token, workspace: w1 });
    assert.equal(del.status, 204, del.text);
    const r = await api(srv, 'DELETE', `/api/v1/workspaces/${w1}`, { token: a.token });
    assert.equal(r.status, 204, r.text);
    assert.equal((await api(srv, 'GET', '/api/v1/api-keys', { token: keys[w1].key })).status, 401, 'the deleted workspace\'s key is gone');
    const k2 = await api(srv, 'GET', '/api/v1/api-keys', { token: a.token, workspace: w2 });
    assert.equal(k2.status, 200, k2.text);
    assert.ok(k2.json.items.some((k) => k.id === keys[w2].id), 'the other workspace\'s key stays');
    assert.equal((await api(srv, 'GET', '/api/v1/workspaces/' + w2, { token: keys[w2].key })).status, 200, 'and still works');
    const m2 = await api(srv, 'GET', `/api/v1/workspaces/${w2}/members`, { token: a.token });
    assert.equal(m2.status, 200, m2.text);
    assert.ok(m2.json.items.some((m) => m.user_id === b.id), 'the other workspace\'s member stays');
    assert.equal((await api(srv, 'GET', `/api/v1/workspaces/${w2}`, { token: b.token })).status, 200, 'and is still in');
    assert.equal((await api(srv, 'GET', `/api/v1/models/${models[w2]}`, { token: a.token, workspace: w2 })).status, 200,
      'the other workspace\'s model stays');
  });

  await t.test('removing a member removes them from that workspace only', async () => {
    const w1 = (await api(srv, 'POST', '/api/v1/workspaces', { token: a.token, body: { name: 'one' } })).json.id;
    const w2 = (await api(srv, 'POST', '/api/v1/workspaces', { token: a.token, body: { name: 'two' } })).json.id;
    await addMember(srv, a.token, w1, b.email, 'editor');
    await addMember(srv, a.token, w2, b.email, 'editor');
    const r = await api(srv, 'DELETE', `/api/v1/workspaces/${w1}/members/${b.id}`, { token: a.token });
    assert.equal(r.status, 204, r.text);
    assertProblem(await api(srv, 'GET', `/api/v1/workspaces/${w1}`, { token: b.token }), 404);
    assert.equal((await api(srv, 'GET', `/api/v1/workspaces/${w2}`, { token: b.token })).status, 200);
    const m1 = await api(srv, 'GET', `/api/v1/workspaces/${w1}/members`, { token: a.token });
    assert.ok(m1.json.items.some((m) => m.user_id === a.id), 'the remover stays a member');
  });
});
