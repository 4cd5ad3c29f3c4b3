// /api/v1/agents: CRUD with crewAI's defaults, validation (every error at
// once, with its path, nothing written), references in the workspace,
// versions (list, get, diff, restore), base_version conflicts, archive on
// delete, roles and the audit log.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, assertProblem, newUser, addMember, newWorkspace, randomId } = require('./authlib');

const BASE = { name: 'Researcher', role: 'Senior data researcher', goal: 'Find {topic} news', backstory: 'Seasoned.' };

test('agents', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'agents');
  const call = (m, p, body, token = u.token) => api(srv, m, p, { token, body });
  const count = async () => (await call('GET', '/api/v1/agents?limit=200')).json.items.length;

  let id;
  await t.test('create: 201 with the defaults, version 1', async () => {
    const r = await call('POST', '/api/v1/agents', { ...BASE, change_note: 'first' });
    assert.equal(r.status, 201, r.text);
    id = r.json.id;
    assert.equal(r.json.version, 1);
    assert.equal(r.json.max_iter, 25);
    assert.equal(r.json.max_retry_limit, 2);
    assert.equal(r.json.allow_delegation, false);
    assert.equal(r.json.respect_context_window, true);
    assert.equal(r.json.model_id, null);
    assert.deepEqual(r.json.tool_ids, []);
    assert.deepEqual(r.json.metadata, {});
    assert.equal(r.json.goal, BASE.goal);
    const g = await call('GET', `/api/v1/agents/${id}`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.json, r.json);
  });

  await t.test('validation: every error at once with its path, nothing written', async () => {
    const before = await count();
    const r = await call('POST', '/api/v1/agents', { name: 'x', role: '', goal: 5, max_iter: 0, temperature: 3, tool_ids: 'calculator' });
    assertProblem(r, 400);
    const fields = r.json.errors.map((e) => e.field).sort();
    for (const f of ['backstory', 'goal', 'max_iter', 'role', 'temperature', 'tool_ids']) assert.ok(fields.includes(f), `${f} in ${fields}`);
    assertProblem(await call('POST', '/api/v1/agents', { ...BASE, role: '   ' }), 400, 'role');
    assertProblem(await call('POST', '/api/v1/agents', { ...BASE, backstory: 'x'.repeat(32001) }), 400, 'backstory');
    assertProblem(await call('POST', '/api/v1/agents', { ...BASE, surprise: 1 }), 400, 'surprise');
    assertProblem(await call('POST', '/api/v1/agents', { ...BASE, version: 7 }), 400, 'version');
    assert.equal(await count(), before);
  });

  await t.test('references: model and tools of the workspace, 422 naming the field', async () => {
    const before = await count();
    const calc = '00000000-0000-7000-8000-000000000001';
    const r = await call('POST', '/api/v1/agents', { ...BASE, model_id: randomId(), tool_ids: [calc, randomId()] });
    assertProblem(r, 422, 'tool_ids[1]');
    assert.ok(r.json.errors.some((e) => e.field === 'model_id'));
    assert.ok(!r.json.errors.some((e) => e.field === 'tool_ids[0]'), 'a built-in is a tool of every workspace');
    assertProblem(await call('POST', '/api/v1/agents', { ...BASE, tool_ids: [calc, calc] }), 400, 'tool_ids[1]');
    // Another workspace's model is as absent as a missing one.
    const other = await newUser(srv, 'agents-other');
    const m = await api(srv, 'POST', '/api/v1/models', { token: other.token, body: { name: 'm', provider: 'ollama', model: 'llama3', base_url: 'http://127.0.0.1:11434' } });
    assert.equal(m.status, 201, m.text);
    assertProblem(await call('POST', '/api/v1/agents', { ...BASE, model_id: m.json.id }), 422, 'model_id');
    const emb = await call('POST', '/api/v1/models', { name: 'e', provider: 'ollama', model: 'nomic-embed-text', kind: 'embedding', base_url: 'http://127.0.0.1:11434' });
    assert.equal(emb.status, 201, emb.text);
    assertProblem(await call('POST', '/api/v1/agents', { ...BASE, model_id: emb.json.id }), 422, 'model_id');
    const chat = await call('POST', '/api/v1/models', { name: 'c', provider: 'ollama', model: 'llama3', base_url: 'http://127.0.0.1:11434' });
    assert.equal(await count(), before);
    const ok = await call('POST', '/api/v1/agents', { ...BASE, name: 'with refs', model_id: chat.json.id, tool_ids: [calc] });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.model_id, chat.json.id);
  });

  await t.test('versions: 3 edits give 1..4; diff lists the changed fields; restore makes 5 equal to 2', async () => {
    const edits = [{ goal: 'Find {topic} papers', change_note: 'papers' }, { max_iter: 10, metadata: { team: 'a' } }, { role: 'Analyst', base_version: 3 }];
    for (const e of edits) {
      const r = await call('PATCH', `/api/v1/agents/${id}`, e);
      assert.equal(r.status, 200, r.text);
    }
    const list = await call('GET', `/api/v1/agents/${id}/versions`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.items.map((v) => v.version), [1, 2, 3, 4]);
    assert.equal(list.json.items[0].change_note, 'first');
    assert.equal(list.json.items[1].change_note, 'papers');
    assert.ok(list.json.items.every((v) => v.author_id && v.created_at));
    const page = await call('GET', `/api/v1/agents/${id}/versions?limit=3`);
    assert.equal(page.json.items.length, 3);
    const rest = await call('GET', `/api/v1/agents/${id}/versions?cursor=${encodeURIComponent(page.json.next_cursor)}`);
    assert.deepEqual(rest.json.items.map((v) => v.version), [4]);

    const v2 = await call('GET', `/api/v1/agents/${id}/versions/2`);
    assert.equal(v2.status, 200);
    assert.equal(v2.json.definition.goal, 'Find {topic} papers');
    assert.equal(v2.json.definition.role, BASE.role);

    const d = await call('GET', `/api/v1/agents/${id}/versions/1/diff/4`);
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.json.changed.map((c) => c.path), ['goal', 'max_iter', 'role']);
    assert.deepEqual(d.json.added, [{ path: 'metadata.team', value: 'a' }]);
    assert.deepEqual(d.json.removed, []);
    assert.deepEqual(d.json.changed[0], { path: 'goal', from: BASE.goal, to: 'Find {topic} papers' });

    const r = await call('POST', `/api/v1/agents/${id}/versions/2/restore`, {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 5);
    const v5 = await call('GET', `/api/v1/agents/${id}/versions/5`);
    assert.deepEqual(v5.json.definition, v2.json.definition);
    assert.equal(v5.json.change_note, 'restored from version 2');
    const same = await call('GET', `/api/v1/agents/${id}/versions/2/diff/5`);
    assert.deepEqual([same.json.added, same.json.removed, same.json.changed], [[], [], []]);

    assertProblem(await call('GET', `/api/v1/agents/${id}/versions/9`), 404);
    assertProblem(await call('GET', `/api/v1/agents/${id}/versions/0`), 400, 'path.version');
    assertProblem(await call('GET', `/api/v1/agents/${id}/versions/x/diff/2`), 400, 'path.version');
    assertProblem(await call('POST', `/api/v1/agents/${id}/versions/7/restore`, {}), 404);
  });

  await t.test('a stale base_version is 409 naming the current version; nothing written', async () => {
    const r = await call('PATCH', `/api/v1/agents/${id}`, { goal: 'late', base_version: 3 });
    assertProblem(r, 409, 'base_version');
    assert.match(r.json.detail, /version 5/);
    const g = await call('GET', `/api/v1/agents/${id}`);
    assert.equal(g.json.version, 5);
    assert.notEqual(g.json.goal, 'late');
    const ok = await call('PATCH', `/api/v1/agents/${id}`, { goal: 'on time', base_version: 5 });
    assert.equal(ok.json.version, 6);
    const noop = await call('PATCH', `/api/v1/agents/${id}`, { goal: 'on time' });
    assert.equal(noop.json.version, 6, 'a change that changes nothing writes no version');
    assertProblem(await call('PATCH', `/api/v1/agents/${id}`, { role: null }), 400, 'role');
    assertProblem(await call('PATCH', `/api/v1/agents/${id}`, { tool_ids: [randomId()] }), 422, 'tool_ids[0]');
    assert.equal((await call('GET', `/api/v1/agents/${id}`)).json.version, 6);
  });

  await t.test('list: q matches name or role; cursor pages', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await call('POST', '/api/v1/agents', { ...BASE, name: `Writer 100% #${i}`, role: 'Reporting_analyst' })).status, 201);
    const q = await call('GET', '/api/v1/agents?q=writer');
    assert.equal(q.json.items.length, 4);
    assert.equal((await call('GET', '/api/v1/agents?q=REPORTING_')).json.items.length, 4);
    assert.equal((await call('GET', '/api/v1/agents?q=100%25')).json.items.length, 4);
    assert.equal((await call('GET', '/api/v1/agents?q=0%25')).json.items.length, 4);
    assert.equal((await call('GET', '/api/v1/agents?q=1_0')).json.items.length, 0, '_ is a character, not a wildcard');
    const byRole = await call('GET', '/api/v1/agents?q=data%20RESEARCHER');
    assert.deepEqual(byRole.json.items.map((a) => a.name).sort(), ['Researcher', 'with refs'], 'the role matches too');
    // The OpenAPI document lists q for both searchable lists (typed clients see it).
    const doc = (await api(srv, 'GET', '/api/v1/openapi.json')).json;
    for (const p of ['/api/v1/agents', '/api/v1/tools']) {
      const qp = doc.paths[p].get.parameters.find((x) => x.name === 'q');
      assert.ok(qp && qp.in === 'query' && qp.schema.type === 'string' && qp.description, `${p} documents ?q=`);
    }
    const seen = new Set();
    let cursor = '';
    for (let i = 0; i < 10; i++) {
      const p = await call('GET', `/api/v1/agents?limit=2${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
      assert.equal(p.status, 200);
      for (const a of p.json.items) { assert.ok(!seen.has(a.id)); seen.add(a.id); }
      if (!p.json.next_cursor) break;
      cursor = p.json.next_cursor;
    }
    assert.equal(seen.size, await count());
  });

  await t.test('roles: viewers read, editors write', async () => {
    const ws = await newWorkspace(srv, u.token, 'team');
    const viewer = await newUser(srv, 'agents-viewer');
    const editor = await newUser(srv, 'agents-editor');
    await addMember(srv, u.token, ws, viewer.email, 'viewer');
    await addMember(srv, u.token, ws, editor.email, 'editor');
    const as = (who, m, p, body) => api(srv, m, p, { token: who.token, workspace: ws, body });
    const c = await as(editor, 'POST', '/api/v1/agents', BASE);
    assert.equal(c.status, 201, c.text);
    assert.equal((await as(viewer, 'GET', `/api/v1/agents/${c.json.id}`)).status, 200);
    assert.equal((await as(viewer, 'GET', `/api/v1/agents/${c.json.id}/versions`)).status, 200);
    assertProblem(await as(viewer, 'POST', '/api/v1/agents', BASE), 403);
    assertProblem(await as(viewer, 'PATCH', `/api/v1/agents/${c.json.id}`, { goal: 'x' }), 403);
    assertProblem(await as(viewer, 'POST', `/api/v1/agents/${c.json.id}/versions/1/restore`, {}), 403);
    assertProblem(await as(viewer, 'DELETE', `/api/v1/agents/${c.json.id}`), 403);
    assert.equal((await as(editor, 'PATCH', `/api/v1/agents/${c.json.id}`, { goal: 'y' })).status, 200);
    assert.equal((await as(editor, 'DELETE', `/api/v1/agents/${c.json.id}`)).status, 204);
    const audit = await as(u, 'GET', '/api/v1/audit-events?limit=200');
    assert.equal(audit.status, 200, audit.text);
    const mine = audit.json.items.filter((e) => e.target_id === c.json.id).map((e) => e.action).sort();
    assert.deepEqual(mine, ['agent.create', 'agent.delete', 'agent.update']);
  });

  await t.test('delete archives: gone from lists and ids, 404 again after', async () => {
    assert.equal((await call('DELETE', `/api/v1/agents/${id}`)).status, 204);
    assertProblem(await call('GET', `/api/v1/agents/${id}`), 404);
    assertProblem(await call('PATCH', `/api/v1/agents/${id}`, { goal: 'x' }), 404);
    assertProblem(await call('GET', `/api/v1/agents/${id}/versions`), 404);
    assertProblem(await call('DELETE', `/api/v1/agents/${id}`), 404);
    const l = await call('GET', '/api/v1/agents?limit=200');
    assert.ok(!l.text.includes(id));
  });
});
