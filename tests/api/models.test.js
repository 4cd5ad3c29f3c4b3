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
    // the raw text, not the parsed number: jansson's default 17 digits wrote 0.14999999999999999
    assert.match(r.text, /"input_per_mtok":0\.15[,}]/, r.text);
    const p = await api(srv, 'PATCH', `/api/v1/models/${ids.openai}`, { token: admin, body: { pricing: { input_per_mtok: 0.15, output_per_mtok: 0.6 } } });
    assert.match(p.text, /"input_per_mtok":0\.15[,}]/, p.text);
    assert.match(p.text, /"output_per_mtok":0\.6[,}]/, p.text);
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

  await t.test('a viewer reads models (the key\'s last 4 only) and changes nothing', async () => {
    const { addMember } = require('./authlib');
    const ws = (await api(srv, 'GET', '/api/v1/workspaces', { token: admin })).json.items[0].id;
    const v = await newUser(srv, 'modelviewer');
    await addMember(srv, admin, ws, v.email, 'viewer');
    const as = (m, p, body) => api(srv, m, p, { token: v.token, workspace: ws, body });
    const l = await as('GET', '/api/v1/models');
    assert.equal(l.status, 200, l.text);
    const gpt = l.json.items.find((x) => x.id === ids.openai);
    assert.deepEqual([gpt.name, gpt.provider, gpt.model, gpt.api_key_set, gpt.api_key_last4], ['gpt', 'openai', 'gpt-4o-mini', true, 'LAST']);
    const g = await as('GET', `/api/v1/models/${ids.openai}`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.api_key, undefined);
    assert.doesNotMatch(l.text + g.text, /canary/, 'never the key');
    assertProblem(await as('POST', '/api/v1/models', { name: 'v', provider: 'openai', model: 'gpt-4o' }), 403);
    assertProblem(await as('PATCH', `/api/v1/models/${ids.openai}`, { name: 'x' }), 403);
    assertProblem(await as('DELETE', `/api/v1/models/${ids.openai}`), 403);
    assertProblem(await as('POST', `/api/v1/models/${ids.openai}/test`, {}), 403);
    assert.equal((await api(srv, 'GET', `/api/v1/models/${ids.openai}`, { token: admin })).json.name, 'gpt');
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

// Configurations as users write them, tested against a fake that refuses what
// the real providers refuse: an Azure reasoning deployment (max_tokens and
// temperature answer 400 unsupported_parameter) and Ollama's OpenAI-compatible
// base URL ending in /v1.
test('POST /models/{id}/test passes for an Azure reasoning deployment and an Ollama base ending in /v1', async (t) => {
  const { startFakeLlm } = require('./lib');
  const fake = await startFakeLlm();
  const srv = await startServer();
  t.after(async () => { fake.stop(); await srv.stop(); });
  const admin = await login(srv);
  const create = async (body) => {
    const r = await api(srv, 'POST', '/api/v1/models', { token: admin, body });
    assert.equal(r.status, 201, r.text);
    return r.json;
  };
  const probe = async (id) => {
    const r = await api(srv, 'POST', `/api/v1/models/${id}/test`, { token: admin });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };

  const azure = await create({ name: 'az-o3', provider: 'azure_openai', model: 'o3-mini', deployment: 'o3-mini-prod', api_version: '2024-12-01-preview', base_url: fake.url, api_key: 'azure-key-123456', params: { max_tokens: 500, temperature: 0.3 } });
  const ok = await probe(azure.id);
  assert.equal(ok.ok, true, JSON.stringify(ok));
  const sent = (await fake.requests()).filter((r) => r.path === '/openai/deployments/o3-mini-prod/chat/completions');
  assert.equal(sent.length, 1);
  assert.equal(sent[0].body.max_completion_tokens, 16, JSON.stringify(sent[0].body));
  assert.equal(sent[0].body.max_tokens, undefined);
  assert.equal(sent[0].body.temperature, undefined);
  assert.equal(sent[0].query, '?api-version=2024-12-01-preview');

  // Saved as pasted, then normalised: the stored base_url is the one the client appends to.
  const ollama = await create({ name: 'ollama-v1', provider: 'ollama', model: 'llama3.2', base_url: `${fake.url}/v1/` });
  assert.equal(ollama.base_url, fake.url);
  const ok2 = await probe(ollama.id);
  assert.equal(ok2.ok, true, JSON.stringify(ok2));
  const paths = (await fake.requests()).map((r) => r.path);
  assert.ok(paths.includes('/v1/chat/completions'), paths.join(' '));
  assert.ok(!paths.some((p) => p.includes('/v1/v1')), paths.join(' '));

  // A doubled slash (http://h:P//v1) is a path written twice: normalised on save ...
  const dbl = await create({ name: 'ollama-dbl', provider: 'ollama', model: 'llama3.2', base_url: `${fake.url}//v1` });
  assert.equal(dbl.base_url, fake.url);
  assert.equal((await probe(dbl.id)).ok, true);
  // ... and the fake records the path as sent and answers it 404, as a real server does.
  const direct = await fetch(`${fake.url}//v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"llama3.2","messages":[]}' });
  assert.equal(direct.status, 404);
  const all = (await fake.requests()).map((r) => r.path);
  assert.ok(all.includes('//v1/chat/completions'), all.join(' '));
  assert.equal(all.filter((p) => p.includes('//')).length, 1, all.join(' '));
});

test('base URLs: normalised on save where unambiguous, refused with the fix where not', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const admin = await login(srv);
  const post = (body) => api(srv, 'POST', '/api/v1/models', { token: admin, body });
  const saved = async (body, want) => {
    const r = await post(body);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.base_url, want, body.base_url);
  };
  await saved({ name: 'b1', provider: 'openai_compatible', model: 'x', base_url: 'http://h:8000/v1/v1/' }, 'http://h:8000/v1');
  await saved({ name: 'b2', provider: 'openai_compatible', model: 'x', base_url: 'http://h:8000/v1/chat/completions' }, 'http://h:8000/v1');
  await saved({ name: 'b3', provider: 'anthropic', model: 'claude-3-5-haiku-latest', api_key: 'k-123456789', base_url: 'https://api.anthropic.com/v1/' }, 'https://api.anthropic.com');
  await saved({ name: 'b4', provider: 'azure_openai', model: 'gpt-4o', api_key: 'k-123456789', deployment: 'dep1', base_url: 'https://r.openai.azure.com/openai/deployments/dep1/chat/completions?api-version=2024-10-21' }, 'https://r.openai.azure.com');
  await saved({ name: 'b5', provider: 'openai', model: 'gpt-4o', api_key: 'k-123456789', base_url: 'https://api.openai.com' }, 'https://api.openai.com/v1');
  // Another deployment in the pasted URL than the configured one: which is meant cannot be guessed.
  const a = await post({ name: 'b6', provider: 'azure_openai', model: 'gpt-4o', api_key: 'k-123456789', deployment: 'dep1', base_url: 'https://r.openai.azure.com/openai/deployments/other/chat/completions?api-version=2024-10-21' });
  assertProblem(a, 400, 'base_url');
  assert.match(a.text, /set base_url to https:\/\/r\.openai\.azure\.com, deployment to other and api_version to 2024-10-21/);
  const q = await post({ name: 'b7', provider: 'openai_compatible', model: 'x', base_url: 'http://h:8000/v1?key=abc' });
  assertProblem(q, 400, 'base_url');
  assert.match(q.text, /query/);
  // Userinfo is a credential in the one field every answer echoes: refused, never echoed back.
  for (const base_url of ['http://user:pw-canary-77@h:8000/v1', 'http://user@h:8000/v1']) {
    const u = await post({ name: 'b8', provider: 'openai_compatible', model: 'x', base_url });
    assertProblem(u, 400, 'base_url');
    assert.match(u.text, /api_key/);
    assert.ok(!u.text.includes('pw-canary-77') && !u.text.includes('user@'), u.text);
  }
  // Not an absolute http(s) URL, as libcurl's parser reads it.
  for (const base_url of ['http://h:8000/v 1', 'http://h:8000/v1 ', 'http:///v1', 'ftp://h/v1', 'http://h:99999/v1', '/v1']) {
    assertProblem(await post({ name: 'b9', provider: 'openai_compatible', model: 'x', base_url }), 400, 'base_url');
  }
  await saved({ name: 'b10', provider: 'openai_compatible', model: 'x', base_url: 'http://h:8000//v1//' }, 'http://h:8000/v1');
  // A patch is checked the same way.
  const id = (await api(srv, 'GET', '/api/v1/models?limit=100', { token: admin })).json.items.find((m) => m.name === 'b1').id;
  const p = await api(srv, 'PATCH', `/api/v1/models/${id}`, { token: admin, body: { base_url: 'http://h:9000/v1/chat/completions' } });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.base_url, 'http://h:9000/v1');
  assertProblem(await api(srv, 'PATCH', `/api/v1/models/${id}`, { token: admin, body: { base_url: 'http://a:b@h:9000/v1' } }), 400, 'base_url');
});
