// /api/v1/workflows/{id}/execute and /api/v1/executions: starting a run
// (inputs checked against the declared ones, unsupported features refused
// naming the field, nothing written on a refusal), the stored snapshot, the
// execution.queued event and the job in the same transaction, lists with
// filters and cursor pages, events by seq, roles.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { startServer, api, assertProblem, newUser, addMember, randomId, pgQuery } = require('./authlib');

const AGENT = { name: 'Researcher', role: 'Senior {topic} researcher', goal: 'Find news', backstory: 'Seasoned.' };
// Runs SQL on the server's database from another process; rows as text lines.
function sql(srv, text) {
  if (srv.db) return pgQuery(srv.db.url, text).trim();
  return execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(srv.dataDir, 'troupe.db'), text], { encoding: 'utf8' }).trim();
}
const task = (key, agentId, extra = {}) => ({ key, description: `Do ${key} about {topic}`, expected_output: 'A list', agent_id: agentId, ...extra });

test('executions', async (t) => {
  // no job workers: executions stay queued, as this file reads them (runs.test.js runs them)
  const srv = await startServer({ env: { TROUPE_WORKERS: '0' } });
  t.after(() => srv.stop());
  const u = await newUser(srv, 'executions');
  const call = (m, p, body, token = u.token) => api(srv, m, p, { token, body });
  const ag = await call('POST', '/api/v1/agents', AGENT);
  assert.equal(ag.status, 201, ag.text);
  const a1 = ag.json.id;
  const wr = await call('POST', '/api/v1/workflows', {
    name: 'Research crew',
    inputs: [{ name: 'topic' }, { name: 'year', type: 'number', default: 2026 }, { name: 'deep', type: 'boolean', required: false }],
    tasks: [task('research', a1), task('report', a1, { context: ['research'] })],
  });
  assert.equal(wr.status, 201, wr.text);
  const wf = wr.json.id;
  const count = async () => (await call('GET', '/api/v1/executions?limit=200')).json.items.length;

  let id;
  await t.test('execute: 202 queued, the snapshot and inputs with defaults stored, execution.queued is seq 1', async () => {
    const r = await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: { topic: 'AI agents' } });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.status, 'queued');
    id = r.json.id;
    const g = await call('GET', `/api/v1/executions/${id}`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.workflow_id, wf);
    assert.equal(g.json.workflow_version, 1);
    assert.equal(g.json.status, 'queued');
    assert.deepEqual(g.json.inputs, { topic: 'AI agents', year: 2026 });
    assert.deepEqual(g.json.tasks.map((x) => [x.key, x.status, x.attempts, x.agent.id, x.agent.name, x.agent.version]),
      [['research', 'pending', 0, a1, 'Researcher', 1], ['report', 'pending', 0, a1, 'Researcher', 1]]);
    assert.equal(g.json.usage.cost, null, 'no price: cost is null, never 0');
    assert.deepEqual(g.json.artifacts, []);
    const e = await call('GET', `/api/v1/executions/${id}/events`);
    assert.equal(e.status, 200, e.text);
    assert.equal(e.json.items.length, 1);
    assert.equal(e.json.items[0].seq, 1);
    assert.equal(e.json.items[0].type, 'execution.queued');
    assert.deepEqual(e.json.items[0].data, { workflow_id: wf, workflow_version: 1 });
  });

  await t.test('a later edit does not change what a queued execution runs', async () => {
    const p = await call('PATCH', `/api/v1/workflows/${wf}`, { tasks: [task('only', a1)] });
    assert.equal(p.status, 200, p.text);
    const g = await call('GET', `/api/v1/executions/${id}`);
    assert.deepEqual(g.json.tasks.map((x) => x.key), ['research', 'report']);
    const v1 = await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: { topic: 'x' }, version: 1 });
    assert.equal(v1.status, 202, v1.text);
    assert.deepEqual((await call('GET', `/api/v1/executions/${v1.json.id}`)).json.tasks.map((x) => x.key), ['research', 'report']);
    const v2 = await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: { topic: 'x' } });
    assert.equal(v2.status, 202, v2.text);
    const g2 = await call('GET', `/api/v1/executions/${v2.json.id}`);
    assert.equal(g2.json.workflow_version, 2);
    assert.deepEqual(g2.json.tasks.map((x) => x.key), ['only']);
  });

  await t.test('inputs: missing, extra and mistyped are 422 naming each, and nothing is written', async () => {
    const before = await count();
    const r = await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: { year: 'soon', deep: 1, colour: 'red' } });
    assertProblem(r, 422, 'inputs.topic');
    for (const f of ['inputs.year', 'inputs.deep', 'inputs.colour']) assertProblem(r, 422, f);
    assertProblem(await call('POST', `/api/v1/workflows/${wf}/execute`, {}), 422, 'inputs.topic');
    assertProblem(await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: 'x' }), 400, 'inputs');
    assertProblem(await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: { topic: 'x' }, version: 9 }), 422, 'version');
    assertProblem(await call('POST', `/api/v1/workflows/${randomId()}/execute`, { inputs: {} }), 404);
    assert.equal(await count(), before);
  });

  await t.test('what this engine does not run yet is 422 naming the field', async () => {
    const before = await count();
    const graph = { process: 'graph', tasks: [task('a', a1), task('b', a1, { depends_on: ['a'], condition: { task: 'a', op: 'exists' } })] };
    const cases = [
      [{ process: 'hierarchical', manager_agent_id: a1 }, ['process']],
      [graph, ['process', 'tasks[1].depends_on', 'tasks[1].condition']],
      [{ tasks: [task('a', a1, { human_review: true })] }, ['tasks[0].human_review']],
      [{ tasks: [task('a', a1, { guardrail: { type: 'regex', pattern: '^x' } })] }, ['tasks[0].guardrail']],
    ];
    for (const [patch, fields] of cases) {
      const w = await call('POST', '/api/v1/workflows', { name: `w ${fields[0]}`, inputs: [{ name: 'topic' }], tasks: [task('a', a1)], ...patch });
      assert.equal(w.status, 201, w.text);
      const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: { topic: 'x' } });
      for (const f of fields) assertProblem(r, 422, f);
    }
    assert.equal(await count(), before);
  });

  await t.test('list: filters and cursor pages; events page by seq', async () => {
    const all = (await call('GET', '/api/v1/executions?limit=200')).json.items;
    assert.equal(all.length, 3);
    const byWf = await call('GET', `/api/v1/executions?workflow_id=${wf}&status=queued`);
    assert.equal(byWf.json.items.length, 3);
    assert.equal((await call('GET', `/api/v1/executions?workflow_id=${randomId()}`)).json.items.length, 0);
    assert.equal((await call('GET', '/api/v1/executions?status=succeeded')).json.items.length, 0);
    assert.equal((await call('GET', '/api/v1/executions?since=2999-01-01T00:00:00Z')).json.items.length, 0);
    assert.equal((await call('GET', '/api/v1/executions?until=2000-01-01T00:00:00Z')).json.items.length, 0);
    assert.equal((await call('GET', '/api/v1/executions?since=2000-01-01T00:00:00Z')).json.items.length, 3);
    assertProblem(await call('GET', '/api/v1/executions?status=done'), 400, 'query.status');
    assertProblem(await call('GET', '/api/v1/executions?since=yesterday'), 400, 'query.since');
    assertProblem(await call('GET', '/api/v1/executions?workflow_id=nope'), 400, 'query.workflow_id');
    const p1 = await call('GET', '/api/v1/executions?limit=2');
    assert.equal(p1.json.items.length, 2);
    assert.ok(p1.json.next_cursor);
    const p2 = await call('GET', `/api/v1/executions?limit=2&cursor=${p1.json.next_cursor}`);
    assert.equal(p2.json.items.length, 1);
    assert.deepEqual([...p1.json.items, ...p2.json.items].map((x) => x.id).sort(), all.map((x) => x.id).sort());
    const ev = await call('GET', `/api/v1/executions/${id}/events?limit=1`);
    assert.equal(ev.json.items.length, 1);
    const ev2 = await call('GET', `/api/v1/executions/${id}/events?cursor=${ev.json.next_cursor}`);
    assert.equal(ev2.status, 200, ev2.text);
    assert.equal(ev2.json.items.length, 0, 'nothing after seq 1 yet');
    assertProblem(await call('GET', `/api/v1/executions/${randomId()}`), 404);
    assertProblem(await call('GET', `/api/v1/executions/${randomId()}/events`), 404);
  });

  await t.test('one snapshot row per content; an edit made by another process is seen by the next execute', async () => {
    const run = async () => {
      const r = await call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: { topic: 'x' } });
      assert.equal(r.status, 202, r.text);
      return r.json.id;
    };
    const snapOf = (id) => sql(srv, `SELECT snapshot_id FROM executions WHERE id = '${id}'`);
    const x1 = await run();
    const x2 = await run();
    assert.match(snapOf(x1), /^[0-9a-f]{64}$/);
    assert.equal(snapOf(x2), snapOf(x1), 'the same versions share one snapshot');
    assert.equal(sql(srv, `SELECT COUNT(*) FROM execution_snapshots WHERE id = '${snapOf(x1)}'`), '1');
    const before = (await call('GET', `/api/v1/executions/${x2}`)).json.tasks[0].agent;
    assert.equal(before.name, 'Researcher');
    // another process (a database client here) writes a new version of the agent, as agents_update would
    const def = JSON.parse(sql(srv, `SELECT definition FROM agents WHERE id = '${a1}'`));
    def.name = 'Analyst';
    const text = JSON.stringify(def).replace(/'/g, "''");
    const v = before.version + 1;
    sql(srv, `UPDATE agents SET version = ${v}, name = 'Analyst', definition = '${text}' WHERE id = '${a1}'; ` +
      `INSERT INTO agent_versions (agent_id, version, workspace_id, definition, created_at) SELECT id, ${v}, workspace_id, '${text}', 0 FROM agents WHERE id = '${a1}'`);
    const x3 = await run();
    assert.notEqual(snapOf(x3), snapOf(x1));
    const after = (await call('GET', `/api/v1/executions/${x3}`)).json.tasks[0].agent;
    assert.deepEqual([after.name, after.version], ['Analyst', v]);
    assert.equal((await call('GET', `/api/v1/executions/${x2}`)).json.tasks[0].agent.name, 'Researcher', 'x2 keeps its snapshot');
  });

  await t.test('executes at once are stored together (group commit): each its own execution, job and execution.queued', async () => {
    const rs = await Promise.all(Array.from({ length: 16 }, (_, i) =>
      call('POST', `/api/v1/workflows/${wf}/execute`, { inputs: { topic: `t${i}` } })));
    for (const r of rs) assert.equal(r.status, 202, r.text);
    const ids = rs.map((r) => r.json.id);
    assert.equal(new Set(ids).size, 16, 'sixteen distinct executions');
    for (const [i, id] of ids.entries()) {
      const g = await call('GET', `/api/v1/executions/${id}`);
      assert.deepEqual([g.status, g.json.status, g.json.inputs.topic], [200, 'queued', `t${i}`]);
      const e = await call('GET', `/api/v1/executions/${id}/events`);
      assert.deepEqual(e.json.items.map((x) => [x.seq, x.type]), [[1, 'execution.queued']]);
    }
    const jobs = sql(srv, `SELECT COUNT(*) FROM jobs WHERE kind = 'execution' AND payload LIKE '%${ids[0]}%'`);
    assert.equal(jobs, '1', 'one job per execution');
    assert.equal(sql(srv, `SELECT COUNT(DISTINCT job_id) FROM executions WHERE id IN (${ids.map((x) => `'${x}'`).join(',')})`), '16');
  });

  await t.test('Idempotency-Key: the same key and body start one execution', async () => {
    const before = await count();
    const headers = { 'idempotency-key': 'exec-once-1' };
    const body = { inputs: { topic: 'once' } };
    const r1 = await api(srv, 'POST', `/api/v1/workflows/${wf}/execute`, { token: u.token, headers, body });
    const r2 = await api(srv, 'POST', `/api/v1/workflows/${wf}/execute`, { token: u.token, headers, body });
    assert.equal(r1.status, 202, r1.text);
    assert.equal(r2.status, 202, r2.text);
    assert.equal(r2.json.id, r1.json.id);
    assert.equal(await count(), before + 1);
  });

  await t.test('roles: a viewer reads but cannot start', async () => {
    const v = await newUser(srv, 'exec-viewer');
    await addMember(srv, u.token, u.ws, v.email, 'viewer');
    const r = await api(srv, 'POST', `/api/v1/workflows/${wf}/execute`, { token: v.token, workspace: u.ws, body: { inputs: { topic: 'x' } } });
    assertProblem(r, 403);
    assert.equal((await api(srv, 'GET', `/api/v1/executions/${id}`, { token: v.token, workspace: u.ws })).status, 200);
  });
});

// ?tag=: executions of the workflows whose definition carries the tag now
// (Dify's tags label an app and its logs), exact names only, one workspace.
test('executions: the tag filter', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'exec-tags');
  const call = (m, p, body, token = u.token) => api(srv, m, p, { token, body });
  const ag = await call('POST', '/api/v1/agents', AGENT);
  assert.equal(ag.status, 201, ag.text);
  const make = async (name, tags, key = 'work') => {
    const w = await call('POST', '/api/v1/workflows', { name, tags, inputs: [{ name: 'topic' }], tasks: [task(key, ag.json.id)] });
    assert.equal(w.status, 201, w.text);
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: { topic: 't' } });
    assert.equal(r.status, 202, r.text);
    return { wf: w.json.id, ex: r.json.id };
  };
  const news = await make('News crew', ['news', 'daily']);
  const sports = await make('Sports crew', ['sports']);
  const lookalike = await make('Task named news', ['newsletter'], 'news'); // "news" in its text, not in its tags
  const ids = async (q) => {
    const r = await call('GET', `/api/v1/executions?${q}`);
    assert.equal(r.status, 200, r.text);
    return r.json.items.map((x) => x.id).sort();
  };
  assert.deepEqual(await ids('tag=news'), [news.ex]);
  assert.deepEqual(await ids('tag=daily'), [news.ex]);
  assert.deepEqual(await ids('tag=newsletter'), [lookalike.ex]);
  assert.deepEqual(await ids('tag=nothing'), []);
  assert.deepEqual(await ids(`tag=news&workflow_id=${sports.wf}`), [], 'filters combine');
  // the workflow's tags as they are now: tagging a workflow brings its earlier executions
  const p = await call('PATCH', `/api/v1/workflows/${sports.wf}`, { tags: ['sports', 'news'] });
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(await ids('tag=news'), [news.ex, sports.ex].sort());
  // another workspace's tagged workflow is not seen
  const o = await newUser(srv, 'exec-tags-other');
  const oag = await call('POST', '/api/v1/agents', AGENT, o.token);
  const ow = await call('POST', '/api/v1/workflows', { name: 'Other news', tags: ['news'], inputs: [{ name: 'topic' }], tasks: [task('x', oag.json.id)] }, o.token);
  assert.equal((await call('POST', `/api/v1/workflows/${ow.json.id}/execute`, { inputs: { topic: 't' } }, o.token)).status, 202);
  assert.deepEqual(await ids('tag=news'), [news.ex, sports.ex].sort());
  assertProblem(await call('GET', '/api/v1/executions?tag='), 400, 'query.tag');
});

// The list is newest first (created_at, then id, descending), and its
// cursor pages through what existed at the first page without a gap or a
// repeat while new executions are started between pages.
test('executions: newest first, pages stable while new ones arrive', async (t) => {
  const srv = await startServer({ env: { TROUPE_WORKERS: '0' } });
  t.after(() => srv.stop());
  const u = await newUser(srv, 'exec-order');
  const call = (m, p, body) => api(srv, m, p, { token: u.token, body });
  const ag = await call('POST', '/api/v1/agents', AGENT);
  const w = await call('POST', '/api/v1/workflows', { name: 'Order', inputs: [{ name: 'topic' }], tasks: [task('a', ag.json.id)] });
  assert.equal(w.status, 201, w.text);
  const start = async (topic) => {
    const r = await call('POST', `/api/v1/workflows/${w.json.id}/execute`, { inputs: { topic } });
    assert.equal(r.status, 202, r.text);
    return r.json.id;
  };
  const started = [];
  for (let i = 0; i < 30; i++) started.push(await start(`t${i}`));
  const seen = [];
  let cursor = null, pages = 0, arrived = 0;
  do {
    const r = await call('GET', `/api/v1/executions?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    seen.push(...r.json.items);
    cursor = r.json.next_cursor;
    pages++;
    await start(`new${arrived++}`); // arrives between pages: before the first page, never on a later one
  } while (cursor);
  assert.equal(pages, 5);
  const ids = seen.map((x) => x.id);
  assert.equal(new Set(ids).size, ids.length, 'no repeats');
  assert.deepEqual([...ids].sort(), [...started].sort(), 'no gaps, and none of those started while paging');
  // created_at has milliseconds; executions started in the same one are ordered by id
  const key = (x) => `${x.created_at} ${x.id}`;
  for (let i = 1; i < seen.length; i++) assert.ok(key(seen[i - 1]) > key(seen[i]), `newest first at ${i}: ${key(seen[i - 1])} then ${key(seen[i])}`);
  const head = await call('GET', '/api/v1/executions?limit=1');
  assert.equal(head.json.items[0].id.length, 36);
  assert.ok(!started.includes(head.json.items[0].id), 'one started last heads the list');
  assertProblem(await call('GET', `/api/v1/executions?cursor=${Buffer.from(`k:${started[0]}`).toString('base64url')}`), 400, 'query.cursor');
});
