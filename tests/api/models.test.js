// /api/v1/models: configurations per provider, keys sealed at rest and never
// shown, roles, workspace scoping.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startServer, api, assertProblem, pgQuery, login, newUser } = require('./lib');

// Every DB text column, for the canary checks.
function dbDump(srv) {
  if (srv.db) return pgQuery(srv.db.url, 'SELECT row_to_json(m)::text FROM model_configs m');
  return execFileSync('sqlite3', [path.join(srv.dataDir, 'troupe.db'), 'SELECT * FROM model_configs'], { encoding: 'utf8' });
}

const KEY = 'sk-canary-' + 'Zx9'.repeat(8) + 'LAST';

const configs = {
  openai: { name: 'gpt', provider: 'openai', model: 'gpt-4o-mini', api_key: KEY },
  azure_openai: { name: 'azure', provider: 'azure_openai', model: 'gpt-4o', api_key: KEY, base_url: 'https://r.openai.azure.com', deployment: 'dep1', api_version: '2024-10-21' },
  anthropic: { name: 'claude', provider: 'anthropic', model: 'claude-3-5-haiku-latest', api_key: KEY },
  ollama: { name: 'local', provider: 'ollama', model: 'llama3.1', base_url: 'http://127.0.0.1:11434' },
  openai_compatible: { name: 'vllm', provider: 'openai_compatible', model: 'qwen2.5-7b', base_url: 'http://127.0.0.1:8000/v1', api_key: KEY, params: { extra_headers: { 'X-Team': 'header-canary-value' } } },
};

test('model configurations', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const admin = await login(srv);
  const ids = {};

  await t.test('create one per provider; the key never comes back', async () => {
    for (const [prov, body] of Object.entries(configs)) {
      const r = await api(srv, 'POST', '/api/v1/models', { token: admin, body });
      assert.equal(r.status, 201, `${prov}: ${r.text}`);
      assert.equal(r.json.provider, prov);
      assert.doesNotMatch(r.text, /canary/);
      assert.equal(r.json.api_key, undefined);
      if (body.api_key) {
        assert.equal(r.json.api_key_set, true);
        assert.equal(r.json.api_key_last4, 'LAST');
      } else {
        assert.equal(r.json.api_key_set, false);
      }
      ids[prov] = r.json.id;
    }
    const vllm = await api(srv, 'GET', `/api/v1/models/${ids.openai_compatible}`, { token: admin });
    assert.deepEqual(vllm.json.params.extra_headers, ['X-Team']);
  });

  await t.test('known models get default capabilities and prices; overrides win', async () => {
    const r = await api(srv, 'GET', `/api/v1/models/${ids.openai}`, { token: admin });
    assert.equal(r.json.pricing.input_per_mtok, 0.15);
    assert.equal(r.json.capabilities.tools, true);
    assert.equal(r.json.capabilities.context_window, 128000);
    const u = await api(srv, 'PATCH', `/api/v1/models/${ids.openai}`, { token: admin, body: { pricing: { input_per_mtok: 1.5, output_per_mtok: 2 } } });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json.pricing.input_per_mtok, 1.5);
    assert.equal(u.json.api_key_last4, 'LAST', 'the key stays when not patched');
  });

  await t.test('provider rules: azure needs a deployment, openai_compatible a base_url', async () => {
    assertProblem(await api(srv, 'POST', '/api/v1/models', { token: admin, body: { name: 'az2', provider: 'azure_openai', model: 'gpt-4o', api_key: KEY, base_url: 'https://r.openai.azure.com' } }), 400, 'deployment');
    assertProblem(await api(srv, 'POST', '/api/v1/models', { token: admin, body: { name: 'c2', provider: 'openai_compatible', model: 'x' } }), 400, 'base_url');
    assertProblem(await api(srv, 'POST', '/api/v1/models', { token: admin, body: { name: 'o2', provider: 'openai', model: 'gpt-4o' } }), 400, 'api_key');
    assertProblem(await api(srv, 'POST', '/api/v1/models', { token: admin, body: { name: 'o3', provider: 'bogus', model: 'x' } }), 400, 'provider');
    assertProblem(await api(srv, 'POST', '/api/v1/models', { token: admin, body: { name: 'o4', provider: 'openai', model: 'x', api_key: KEY, params: { temperature: 3 } } }), 400, 'params.temperature');
    assertProblem(await api(srv, 'POST', '/api/v1/models', { token: admin, body: { name: 'o5', provider: 'openai', model: 'x', api_key: KEY, params: { extra_headers: { Authorization: 'Bearer x' } } } }), 400, 'params.extra_headers');
    assertProblem(await api(srv, 'POST', '/api/v1/models', { token: admin, body: { name: 'o6', provider: 'openai', model: 'x', api_key: KEY, id: 'x' } }), 400, 'id');
    assertProblem(await api(srv, 'POST', '/api/v1/models', { token: admin, body: { name: 'o7', provider: 'openai', model: 'x', api_key: KEY, base_url: 'file:///etc/passwd' } }), 400, 'base_url');
  });

  await t.test('names are unique per workspace: 409 naming the field', async () => {
    assertProblem(await api(srv, 'POST', '/api/v1/models', { token: admin, body: configs.ollama }), 409, 'name');
  });

  await t.test('list pages with a cursor', async () => {
    const p1 = await api(srv, 'GET', '/api/v1/models?limit=2', { token: admin });
    assert.equal(p1.status, 200);
    assert.equal(p1.json.items.length, 2);
    assert.ok(p1.json.next_cursor);
    const p2 = await api(srv, 'GET', `/api/v1/models?limit=2&cursor=${p1.json.next_cursor}`, { token: admin });
    const p3 = await api(srv, 'GET', `/api/v1/models?limit=2&cursor=${p2.json.next_cursor}`, { token: admin });
    const all = [...p1.json.items, ...p2.json.items, ...p3.json.items].map((m) => m.id);
    assert.equal(new Set(all).size, 5);
    assert.equal(p3.json.next_cursor, null);
    assertProblem(await api(srv, 'GET', '/api/v1/models?limit=0', { token: admin }), 400, 'query.limit');
    assertProblem(await api(srv, 'GET', '/api/v1/models?cursor=garbage!', { token: admin }), 400, 'query.cursor');
  });

  await t.test('the stored key is not the plaintext', async () => {
    const dump = dbDump(srv);
    assert.ok(dump.length > 0);
    assert.doesNotMatch(dump, /canary/);
  });

  await t.test('removing the key with null; delete answers 204 then 404', async () => {
    const r = await api(srv, 'PATCH', `/api/v1/models/${ids.openai_compatible}`, { token: admin, body: { api_key: null } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.api_key_set, false);
    assert.equal((await api(srv, 'DELETE', `/api/v1/models/${ids.ollama}`, { token: admin })).status, 204);
    assertProblem(await api(srv, 'DELETE', `/api/v1/models/${ids.ollama}`, { token: admin }), 404);
    assertProblem(await api(srv, 'GET', `/api/v1/models/${ids.ollama}`, { token: admin }), 404);
  });

  await t.test('another workspace sees none of it', async () => {
    const other = await newUser(srv, 'othermodels');
    assertProblem(await api(srv, 'GET', `/api/v1/models/${ids.openai}`, { token: other.token }), 404);
    assertProblem(await api(srv, 'PATCH', `/api/v1/models/${ids.openai}`, { token: other.token, body: { name: 'x' } }), 404);
    assertProblem(await api(srv, 'DELETE', `/api/v1/models/${ids.openai}`, { token: other.token }), 404);
    const l = await api(srv, 'GET', '/api/v1/models', { token: other.token });
    assert.equal(l.status, 200);
    assert.equal(l.json.items.length, 0);
  });

  await t.test('providers catalogue', async () => {
    const r = await api(srv, 'GET', '/api/v1/models/providers', { token: admin });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.items.map((p) => p.id).sort(), ['anthropic', 'azure_openai', 'ollama', 'openai', 'openai_compatible']);
  });

  await t.test('credential changes are in the audit log, without the key', async () => {
    const r = await api(srv, 'GET', '/api/v1/audit-events?limit=200', { token: admin });
    assert.equal(r.status, 200, r.text);
    const actions = r.json.items.map((e) => e.action);
    for (const a of ['model.create', 'model.key_change', 'model.update', 'model.delete']) assert.ok(actions.includes(a), `no ${a} in ${actions}`);
    const created = r.json.items.find((e) => e.action === 'model.create' && e.target_id === ids.openai);
    assert.ok(created, 'the create of the openai configuration is audited');
    assert.doesNotMatch(r.text, /canary/);
  });

  await t.test('the key is in no log', async () => {
    assert.doesNotMatch(srv.logs(), /canary/);
  });
});

test('POST /models/{id}/test tells a bad key, an unknown model and an unreachable host apart', async (t) => {
  const { startFakeLlm } = require('./lib');
  const fake = await startFakeLlm();
  const srv = await startServer();
  t.after(async () => { fake.stop(); await srv.stop(); });
  const admin = await login(srv);
  const net = require('node:net');
  const closedPort = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const mk = async (name, body) => {
    const r = await api(srv, 'POST', '/api/v1/models', { token: admin, body: { name, ...body } });
    assert.equal(r.status, 201, r.text);
    return r.json.id;
  };
  const base = `${fake.url}/v1`;
  const good = await mk('good', { provider: 'openai_compatible', model: 'gpt-4o-mini', base_url: base, api_key: 'good-key-123456' });
  const badKey = await mk('badkey', { provider: 'openai_compatible', model: 'gpt-4o-mini', base_url: base, api_key: 'bad-key' });
  const noModel = await mk('nomodel', { provider: 'openai_compatible', model: 'no-such-model', base_url: base, api_key: 'good-key-123456' });
  const down = await mk('down', { provider: 'openai_compatible', model: 'gpt-4o-mini', base_url: `http://127.0.0.1:${closedPort}/v1`, api_key: 'good-key-123456' });
  const anth = await mk('anth', { provider: 'anthropic', model: 'claude-3-5-haiku-latest', base_url: fake.url, api_key: 'good-key-123456' });
  const emb = await mk('emb', { provider: 'openai_compatible', kind: 'embedding', model: 'text-embedding-3-small', base_url: base, api_key: 'good-key-123456' });

  const probe = async (id) => {
    const r = await api(srv, 'POST', `/api/v1/models/${id}/test`, { token: admin });
    assert.equal(r.status, 200, r.text);
    assert.doesNotMatch(r.text, /good-key-123456/);
    return r.json;
  };
  for (const id of [good, anth, emb]) {
    const ok = await probe(id);
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.ok(ok.latency_ms >= 0);
  }
  const a = await probe(badKey);
  const b = await probe(noModel);
  const c = await probe(down);
  assert.equal(a.ok, false);
  assert.equal(a.error.class, 'auth');
  assert.match(a.error.message, /API key/);
  assert.equal(b.error.class, 'not_found');
  assert.match(b.error.message, /model/);
  assert.equal(c.error.class, 'network');
  assert.match(c.error.message, /reach/);
  assert.equal(new Set([a.error.message, b.error.message, c.error.message]).size, 3);
  // The fake saw the key in the header it belongs in, and troupe logged none.
  const reqs = await fake.requests();
  assert.ok(reqs.some((r) => (r.headers.authorization || '') === 'Bearer good-key-123456'));
  assert.doesNotMatch(srv.logs(), /good-key-123456/);
});
