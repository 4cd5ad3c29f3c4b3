// /api/v1/tools: the built-ins (fixed ids, JSON Schema parameters, not
// changeable), custom HTTP tools (validation, secret headers sealed and
// shown by their last four characters, versions), roles.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, assertProblem, newUser, addMember, newWorkspace, randomId } = require('./authlib');

const BUILTINS = {
  calculator: '00000000-0000-7000-8000-000000000001',
  current_datetime: '00000000-0000-7000-8000-000000000002',
  json_query: '00000000-0000-7000-8000-000000000003',
  http_request: '00000000-0000-7000-8000-000000000004',
  web_fetch: '00000000-0000-7000-8000-000000000005',
};
const SECRET = 'tok-Canary-' + Date.now().toString(36) + '-S3CR';
const WEATHER = {
  name: 'weather',
  description: 'The weather of a city',
  method: 'POST',
  url_template: 'https://api.example.com/v1/weather/{city}?units={units}',
  headers: [{ name: 'Authorization', value: 'Bearer ' + SECRET, secret: true }, { name: 'X-Units', value: '{units}' }],
  body_template: '{"city": {city}, "days": {days}}',
  parameters: { type: 'object', properties: { city: { type: 'string' }, units: { enum: ['metric', 'imperial'] }, days: { type: 'integer' } }, required: ['city'] },
};

test('tools', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'tools');
  const call = (m, p, body, token = u.token) => api(srv, m, p, { token, body });

  await t.test('the built-ins: fixed ids, builtin: true, JSON Schema parameters', async () => {
    const r = await call('GET', '/api/v1/tools?limit=200');
    assert.equal(r.status, 200);
    const byName = Object.fromEntries(r.json.items.map((x) => [x.name, x]));
    for (const [name, id] of Object.entries(BUILTINS)) {
      assert.equal(byName[name].id, id, name);
      assert.equal(byName[name].builtin, true);
      assert.equal(byName[name].parameters.type, 'object');
      const g = await call('GET', `/api/v1/tools/${id}`);
      assert.deepEqual(g.json, byName[name]);
    }
    assert.deepEqual(byName.web_fetch.parameters.required, ['url']);
    assert.ok(byName.current_datetime.parameters.properties.timezone);
  });

  await t.test('built-ins cannot be changed or deleted: 403', async () => {
    assertProblem(await call('PATCH', `/api/v1/tools/${BUILTINS.calculator}`, { description: 'x' }), 403);
    assertProblem(await call('DELETE', `/api/v1/tools/${BUILTINS.web_fetch}`), 403);
    assertProblem(await call('POST', '/api/v1/tools', { ...WEATHER, name: 'Calculator' }), 400, 'name');
  });

  let id;
  await t.test('create a custom tool: the secret is write-only, shown by its last 4', async () => {
    const r = await call('POST', '/api/v1/tools', WEATHER);
    assert.equal(r.status, 201, r.text);
    id = r.json.id;
    assert.doesNotMatch(r.text, /Canary/);
    assert.equal(r.json.builtin, false);
    assert.equal(r.json.version, 1);
    assert.equal(r.json.timeout_s, 30);
    assert.equal(r.json.max_response_bytes, 1048576);
    assert.deepEqual(r.json.headers, [{ name: 'Authorization', secret: true, value_last4: 'S3CR' }, { name: 'X-Units', value: '{units}', secret: false }]);
    const g = await call('GET', `/api/v1/tools/${id}`);
    assert.deepEqual(g.json, r.json);
    const l = await call('GET', '/api/v1/tools?q=weather');
    assert.deepEqual(l.json.items.map((x) => x.id), [id]);
    assert.doesNotMatch(l.text, /Canary/);
  });

  await t.test('validation: every error at once with its path, nothing written', async () => {
    const count = async () => (await call('GET', '/api/v1/tools?limit=200')).json.items.length;
    const before = await count();
    const r = await call('POST', '/api/v1/tools', {
      name: 'bad name!', url_template: 'ftp://x/{nope}', method: 'GET', body_template: 'x',
      headers: [{ name: 'X-A', value: 'a\r\nInjected: 1' }, { name: 'Content-Length', value: '1' }, { name: 'x-a', value: 'b' }],
      parameters: { type: 'object', properties: {} },
    });
    assertProblem(r, 400);
    const fields = r.json.errors.map((e) => e.field);
    for (const f of ['name', 'url_template', 'body_template', 'headers[0].value', 'headers[1].name', 'headers[2].name']) assert.ok(fields.includes(f), `${f} in ${fields}`);
    assertProblem(await call('POST', '/api/v1/tools', { ...WEATHER, name: 'w2', url_template: 'https://x/{town}' }), 400, 'url_template');
    assertProblem(await call('POST', '/api/v1/tools', { ...WEATHER, name: 'w3', parameters: { type: 'string' } }), 400, 'parameters');
    assertProblem(await call('POST', '/api/v1/tools', { ...WEATHER, name: 'w4', timeout_s: 0 }), 400, 'timeout_s');
    const bad = await call('POST', '/api/v1/tools', { ...WEATHER, name: 'w6', parameters: { ...WEATHER.parameters, properties: { ...WEATHER.parameters.properties, days: { type: 'integer', minimum: 'one' } }, unevaluatedProperties: false } });
    assertProblem(bad, 400);
    assert.ok(bad.json.errors.some((e) => e.field.startsWith('parameters.') && e.field.includes('days')), bad.text);
    assert.ok(bad.json.errors.some((e) => e.field.includes('unevaluatedProperties')), 'an unsupported keyword is named: ' + bad.text);
    assertProblem(await call('POST', '/api/v1/tools', { ...WEATHER, name: 'w5', headers: [{ name: 'A', secret: true }] }), 400, 'headers[0].value');
    // Every header the outbound client refuses is refused on save (net_header_allowed, docs/net.md).
    const refused = ['Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Upgrade', 'TE', 'Keep-Alive', 'Trailer', 'Proxy-Authorization', 'proxy-connection'];
    const rh = await call('POST', '/api/v1/tools', { ...WEATHER, name: 'w7', headers: refused.map((name) => ({ name, value: 'x' })) });
    assertProblem(rh, 400);
    const rf = rh.json.errors.map((e) => e.field);
    refused.forEach((n, i) => assert.ok(rf.includes(`headers[${i}].name`), `${n}: ${rf}`));
    assertProblem(await call('POST', '/api/v1/tools', WEATHER), 409, 'name');
    assert.equal(await count(), before);
  });

  await t.test('edits make versions; a secret header without a value keeps the stored one', async () => {
    const r = await call('PATCH', `/api/v1/tools/${id}`, { description: 'v2', headers: [{ name: 'Authorization', secret: true }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 2);
    assert.deepEqual(r.json.headers, [{ name: 'Authorization', secret: true, value_last4: 'S3CR' }]);
    const r3 = await call('PATCH', `/api/v1/tools/${id}`, { headers: [{ name: 'Authorization', secret: true, value: 'Bearer another-secret-ABCD' }], base_version: 2 });
    assert.equal(r3.json.version, 3);
    assert.equal(r3.json.headers[0].value_last4, 'ABCD');
    assertProblem(await call('PATCH', `/api/v1/tools/${id}`, { description: 'late', base_version: 2 }), 409, 'base_version');
    const same = await call('PATCH', `/api/v1/tools/${id}`, { description: 'v2' });
    assert.equal(same.json.version, 3, 'nothing changed, no version');
    const vs = await call('GET', `/api/v1/tools/${id}/versions`);
    assert.deepEqual(vs.json.items.map((v) => v.version), [1, 2, 3]);
    const d = await call('GET', `/api/v1/tools/${id}/versions/1/diff/3`);
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.json.changed.map((c) => c.path).sort(), ['description', 'headers']);
    assert.doesNotMatch(d.text, /Canary|another-secret/, 'a diff shows last 4 only');
    const v1 = await call('GET', `/api/v1/tools/${id}/versions/1`);
    assert.equal(v1.json.definition.headers[0].value_last4, 'S3CR');
    const back = await call('POST', `/api/v1/tools/${id}/versions/1/restore`, {});
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.version, 4);
    assert.equal(back.json.headers[0].value_last4, 'S3CR', 'the secret of version 1 comes back with it');
    assert.deepEqual(back.json.headers, v1.json.definition.headers);
    const bv = await call('GET', `/api/v1/tools/${BUILTINS.calculator}/versions`);
    assert.deepEqual(bv.json.items.map((v) => v.version), [1]);
    assert.equal((await call('GET', `/api/v1/tools/${BUILTINS.calculator}/versions/1`)).json.definition.name, 'calculator');
    assertProblem(await call('POST', `/api/v1/tools/${BUILTINS.calculator}/versions/1/restore`, {}), 403);
  });

  await t.test('deleting a tool an agent lists is 409 naming the agent; then archived', async () => {
    const a = await call('POST', '/api/v1/agents', { name: 'forecaster', role: 'r', goal: 'g', backstory: 'b', tool_ids: [id] });
    assert.equal(a.status, 201, a.text);
    const r = await call('DELETE', `/api/v1/tools/${id}`);
    assertProblem(r, 409, 'agents[0]');
    assert.match(r.json.errors[0].message, /forecaster/);
    assert.equal((await call('PATCH', `/api/v1/agents/${a.json.id}`, { tool_ids: [] })).status, 200);
    assert.equal((await call('DELETE', `/api/v1/tools/${id}`)).status, 204);
    assertProblem(await call('GET', `/api/v1/tools/${id}`), 404);
    assertProblem(await call('PATCH', `/api/v1/agents/${a.json.id}`, { tool_ids: [id] }), 422, 'tool_ids[0]');
    const again = await call('POST', '/api/v1/tools', WEATHER);
    assert.equal(again.status, 201, 'an archived tool frees its name');
  });

  await t.test('cursor pages walk the built-ins, then the custom tools, each once', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await call('POST', '/api/v1/tools', { ...WEATHER, name: `page-${i}` })).status, 201);
    const all = (await call('GET', '/api/v1/tools?limit=200')).json.items.map((x) => x.id);
    for (const limit of [1, 2, 4, 5, 6]) {
      const seen = [];
      let cursor = '';
      for (let i = 0; i < 50; i++) {
        const p = await call('GET', `/api/v1/tools?limit=${limit}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
        assert.equal(p.status, 200, p.text);
        assert.ok(p.json.items.length <= limit);
        seen.push(...p.json.items.map((x) => x.id));
        if (!p.json.next_cursor) break;
        cursor = p.json.next_cursor;
      }
      assert.deepEqual(seen, all, `limit ${limit}`);
    }
    assert.deepEqual(all.slice(0, 5), Object.values(BUILTINS));
    const q = await call('GET', '/api/v1/tools?q=page-');
    assert.equal(q.json.items.length, 3);
    assert.equal((await call('GET', '/api/v1/tools?q=JSONPath')).json.items[0].name, 'json_query', 'q matches a built-in description');
  });

  await t.test('roles: viewers read, editors write', async () => {
    const ws = await newWorkspace(srv, u.token, 'tools-team');
    const viewer = await newUser(srv, 'tools-viewer');
    const editor = await newUser(srv, 'tools-editor');
    await addMember(srv, u.token, ws, viewer.email, 'viewer');
    await addMember(srv, u.token, ws, editor.email, 'editor');
    const as = (who, m, p, body) => api(srv, m, p, { token: who.token, workspace: ws, body });
    const c = await as(editor, 'POST', '/api/v1/tools', { ...WEATHER, name: 'team-weather' });
    assert.equal(c.status, 201, c.text);
    assert.equal((await as(viewer, 'GET', `/api/v1/tools/${c.json.id}`)).status, 200);
    assertProblem(await as(viewer, 'POST', '/api/v1/tools', { ...WEATHER, name: 'v' }), 403);
    assertProblem(await as(viewer, 'PATCH', `/api/v1/tools/${c.json.id}`, { description: 'x' }), 403);
    assertProblem(await as(viewer, 'DELETE', `/api/v1/tools/${c.json.id}`), 403);
    assert.equal((await as(editor, 'DELETE', `/api/v1/tools/${c.json.id}`)).status, 204);
    const audit = await as(u, 'GET', '/api/v1/audit-events?limit=200');
    const mine = audit.json.items.filter((e) => e.target_id === c.json.id);
    assert.deepEqual(mine.map((e) => e.action).sort(), ['tool.create', 'tool.delete']);
    assert.doesNotMatch(audit.text, /Canary/);
    assert.ok(mine[0].detail && JSON.stringify(mine[0].detail).includes('Authorization'), 'header names are audited');
    assertProblem(await as(u, 'GET', `/api/v1/tools/${randomId()}`), 404);
  });
});
