// /api/v1/workflows: CRUD with defaults, validation (every error at once,
// with its path, nothing written; warnings in the answer), references in
// the workspace, versions (list, get, diff by task key, restore), publish,
// snapshots that stay the same, base_version conflicts, deleting an agent
// in use, roles and the audit log; crewAI import and export of every
// fixture under tests/fixtures/crewai against its expected summary.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, api, assertProblem, newUser, addMember, newWorkspace, randomId } = require('./authlib');

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'crewai');
const AGENT = { name: 'Researcher', role: 'Senior {topic} researcher', goal: 'Find news', backstory: 'Seasoned.' };

function task(key, agentId, extra = {}) {
  return { key, description: `Do ${key} about {topic}`, expected_output: 'A list', agent_id: agentId, ...extra };
}

test('workflows', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'workflows');
  const call = (m, p, body, token = u.token) => api(srv, m, p, { token, body });
  const count = async () => (await call('GET', '/api/v1/workflows?limit=200')).json.items.length;
  const newAgent = async (extra = {}) => {
    const r = await call('POST', '/api/v1/agents', { ...AGENT, ...extra });
    assert.equal(r.status, 201, r.text);
    return r.json.id;
  };
  const a1 = await newAgent();
  const a2 = await newAgent({ name: 'Writer', role: 'Writer', goal: 'Write about {topic} in {year}' });
  const BASE = {
    name: 'Research crew',
    inputs: [{ name: 'topic' }, { name: 'year', type: 'number', default: 2026 }],
    tasks: [task('research', a1), task('report', a2, { context: ['research'], output_file: 'report.md' })],
    tags: ['news'],
  };

  let id;
  await t.test('create: 201 with the defaults, version 1, warnings', async () => {
    const r = await call('POST', '/api/v1/workflows', { ...BASE, change_note: 'first' });
    assert.equal(r.status, 201, r.text);
    id = r.json.id;
    assert.equal(r.json.version, 1);
    assert.equal(r.json.published_version, null);
    assert.equal(r.json.process, 'sequential');
    assert.deepEqual(r.json.warnings, []);
    const t0 = r.json.tasks[0];
    assert.equal(t0.context, null, 'absent context stays "every earlier task"');
    assert.equal(t0.async_execution, false);
    assert.equal(t0.max_retries, 3);
    assert.equal(t0.human_review, false);
    assert.deepEqual(t0.output, { format: 'text', schema: null });
    assert.deepEqual(r.json.tasks[1].context, ['research']);
    assert.deepEqual(r.json.inputs[0], { name: 'topic', description: null, type: 'string', required: true });
    assert.equal(r.json.inputs[1].required, false, 'an input with a default is optional');
    const g = await call('GET', `/api/v1/workflows/${id}`);
    assert.equal(g.status, 200);
    delete r.json.warnings;
    assert.deepEqual(g.json, r.json);
    // declared but unused: a warning, saved anyway
    const w = await call('POST', '/api/v1/workflows', { ...BASE, name: 'unused', inputs: [...BASE.inputs, { name: 'spare' }] });
    assert.equal(w.status, 201, w.text);
    assert.deepEqual(w.json.warnings.map((x) => x.field), ['inputs[2]']);
    assert.match(w.json.warnings[0].message, /\{spare\}/);
    assert.equal((await call('DELETE', `/api/v1/workflows/${w.json.id}`)).status, 204);
  });

  await t.test('validation: every error at once with its path, nothing written', async () => {
    const before = await count();
    const other = await newUser(srv, 'workflows-other');
    const foreign = (await api(srv, 'POST', '/api/v1/agents', { token: other.token, body: AGENT })).json.id;
    const r = await call('POST', '/api/v1/workflows', {
      name: 'bad',
      inputs: [{ name: 'topic' }],
      tasks: [
        task('research', a1, { context: ['reserch'] }),
        task('write', foreign, { description: 'Write {undeclared}' }),
        task('edit', a1, { context: ['final'], output: { format: 'json', schema: { type: 'object', properties: { when: { if: { type: 'string' } } } } } }),
        task('final', randomId(), { context: [] }),
        task('research', a1),
      ],
    });
    assertProblem(r, 422);
    const byField = Object.fromEntries(r.json.errors.map((e) => [e.field, e.message]));
    assert.match(byField['tasks[0].context[0]'], /no task with key "reserch"; did you mean "research"\?/);
    assert.match(byField['tasks[1].agent_id'], /^no agent with this id in the workspace$/, 'another workspace\'s agent is as absent as a missing one');
    assert.match(byField['tasks[1].description'], /\{undeclared\}.*not a declared input/);
    assert.match(byField['tasks[2].context[0]'], /points forward/);
    assert.match(byField['tasks[2].output.schema.properties.when.if'], /unsupported/, 'the unsupported keyword is named');
    assert.match(byField['tasks[3].agent_id'], /no agent/);
    assert.match(byField['tasks[4].key'], /repeats tasks\[0\]/);
    assert.equal(r.json.errors.length, 7, JSON.stringify(r.json.errors));
    assert.equal(await count(), before);
  });

  await t.test('validation: cycles, conditions, managers, guardrails', async () => {
    const graph = {
      name: 'g', process: 'graph', inputs: [{ name: 'topic' }],
      tasks: [task('a', a1, { depends_on: ['c'] }), task('b', a1, { depends_on: ['a'] }), task('c', a1, { depends_on: ['b'] }),
        task('d', a1, { depends_on: ['a'], condition: { task: 'b', op: 'equals', path: '$.items[?' } })],
    };
    const r = await call('POST', '/api/v1/workflows', graph);
    assertProblem(r, 422);
    const cyc = r.json.errors.find((e) => /cycle/.test(e.message));
    assert.ok(cyc, JSON.stringify(r.json.errors));
    assert.match(cyc.message, /cycle: a → c → b → a/);
    assertProblem(r, 422, 'tasks[3].condition.task');
    assertProblem(r, 422, 'tasks[3].condition.value');
    assertProblem(r, 422, 'tasks[3].condition.path');
    graph.tasks[0].depends_on = [];
    graph.tasks[3].condition = { task: 'a', op: 'exists', path: '$.items[?@.score > 3].name' };
    const ok = await call('POST', '/api/v1/workflows', graph);
    assert.equal(ok.status, 201, ok.text);
    assert.equal((await call('DELETE', `/api/v1/workflows/${ok.json.id}`)).status, 204);

    const h = await call('POST', '/api/v1/workflows', { name: 'h', process: 'hierarchical', inputs: [{ name: 'topic' }], tasks: [task('a', null)] });
    assertProblem(h, 422, 'manager_model_id');
    const hm = await call('POST', '/api/v1/workflows', { name: 'h', process: 'hierarchical', manager_agent_id: a1, inputs: [{ name: 'topic' }], tasks: [task('a', null)] });
    assert.equal(hm.status, 201, hm.text);
    assert.equal((await call('DELETE', `/api/v1/workflows/${hm.json.id}`)).status, 204);
    assertProblem(await call('POST', '/api/v1/workflows', { name: 's', inputs: [{ name: 'topic' }], tasks: [task('a', null)] }), 422, 'tasks[0].agent_id');
    assertProblem(await call('POST', '/api/v1/workflows', { name: 's', inputs: [{ name: 'topic' }], tasks: [task('a', a1, { depends_on: ['a'] })] }), 422, 'tasks[0].depends_on');
    const g = await call('POST', '/api/v1/workflows', {
      name: 's', inputs: [{ name: 'topic' }],
      tasks: [task('a', a1, { guardrail: { type: 'regex', pattern: '(' } }), task('b', a1, { guardrail: { type: 'llm' } }),
        task('c', a1, { tool_ids: [randomId()], guardrail: { type: 'json_schema', schema: { type: 'nope' } } })],
    });
    for (const f of ['tasks[0].guardrail.pattern', 'tasks[1].guardrail.criteria', 'tasks[2].tool_ids[0]']) assertProblem(g, 422, f);
    assert.ok(g.json.errors.some((e) => e.field.startsWith('tasks[2].guardrail.schema')), JSON.stringify(g.json.errors));
    assertProblem(await call('POST', '/api/v1/workflows', { ...BASE, process: 'parallel' }), 400, 'process');
    assertProblem(await call('POST', '/api/v1/workflows', { ...BASE, tasks: [{ key: 'x' }] }), 400, 'tasks[0].description');
    assertProblem(await call('POST', '/api/v1/workflows', { ...BASE, version: 3 }), 400, 'version');
  });

  await t.test('versions: 3 edits give 1..4; diff by task key; restore makes 5 equal to 2', async () => {
    const edits = [
      { description: 'Weekly news', change_note: 'described' },
      { tasks: [task('research', a1, { expected_output: 'Ten bullets' }), BASE.tasks[1]] },
      { max_rpm: 10, base_version: 3 },
    ];
    for (const e of edits) {
      const r = await call('PATCH', `/api/v1/workflows/${id}`, e);
      assert.equal(r.status, 200, r.text);
    }
    const list = await call('GET', `/api/v1/workflows/${id}/versions`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.items.map((v) => v.version), [1, 2, 3, 4]);
    assert.deepEqual(list.json.items.map((v) => v.change_note).slice(0, 2), ['first', 'described']);
    assert.ok(list.json.items.every((v) => v.author_id === u.id && v.created_at));
    const page = await call('GET', `/api/v1/workflows/${id}/versions?limit=3`);
    const rest = await call('GET', `/api/v1/workflows/${id}/versions?cursor=${encodeURIComponent(page.json.next_cursor)}`);
    assert.deepEqual(rest.json.items.map((v) => v.version), [4]);

    const d = await call('GET', `/api/v1/workflows/${id}/versions/1/diff/4`);
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.json.changed.map((c) => c.path), ['description', 'max_rpm', 'tasks.research.expected_output']);
    assert.deepEqual(d.json.changed[2], { path: 'tasks.research.expected_output', from: 'A list', to: 'Ten bullets' });
    const v2 = await call('GET', `/api/v1/workflows/${id}/versions/2`);
    assert.equal(v2.json.definition.description, 'Weekly news');
    const r = await call('POST', `/api/v1/workflows/${id}/versions/2/restore`, {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 5);
    const v5 = await call('GET', `/api/v1/workflows/${id}/versions/5`);
    assert.deepEqual(v5.json.definition, v2.json.definition);
    assert.equal(v5.json.change_note, 'restored from version 2');
    const same = await call('GET', `/api/v1/workflows/${id}/versions/2/diff/5`);
    assert.deepEqual([same.json.added, same.json.removed, same.json.changed], [[], [], []]);
    // tasks added, removed and reordered, by key
    const p6 = await call('PATCH', `/api/v1/workflows/${id}`, { tasks: [task('summary', a2), task('research', a1)] });
    assert.equal(p6.status, 200, p6.text);
    const d6 = await call('GET', `/api/v1/workflows/${id}/versions/5/diff/6`);
    assert.deepEqual(d6.json.added.map((x) => x.path), ['tasks.summary']);
    assert.deepEqual(d6.json.removed.map((x) => x.path), ['tasks.report']);
    assert.deepEqual(d6.json.changed.find((c) => c.path === 'tasks'), { path: 'tasks', from: ['research', 'report'], to: ['summary', 'research'] });
    assertProblem(await call('GET', `/api/v1/workflows/${id}/versions/9`), 404);
    assertProblem(await call('GET', `/api/v1/workflows/${id}/versions/0`), 400, 'path.version');
    assertProblem(await call('POST', `/api/v1/workflows/${id}/versions/9/restore`, {}), 404);
  });

  await t.test('a stale base_version is 409 naming the current version; nothing written', async () => {
    const r = await call('PATCH', `/api/v1/workflows/${id}`, { name: 'late', base_version: 3 });
    assertProblem(r, 409, 'base_version');
    assert.match(r.json.detail, /version 6/);
    assert.equal((await call('GET', `/api/v1/workflows/${id}`)).json.name, BASE.name);
    const noop = await call('PATCH', `/api/v1/workflows/${id}`, { name: BASE.name, base_version: 6 });
    assert.equal(noop.json.version, 6, 'a change that changes nothing writes no version');
    assertProblem(await call('PATCH', `/api/v1/workflows/${id}`, { tasks: [task('x', randomId())] }), 422, 'tasks[0].agent_id');
    assert.equal((await call('GET', `/api/v1/workflows/${id}`)).json.version, 6);
  });

  await t.test('publish, validate and snapshot', async () => {
    assertProblem(await call('POST', `/api/v1/workflows/${id}/publish`, { version: 42 }), 422, 'version');
    const p = await call('POST', `/api/v1/workflows/${id}/publish`, { version: 5 });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.published_version, 5);
    const v = await call('POST', `/api/v1/workflows/${id}/validate`);
    assert.equal(v.status, 200, v.text);
    assert.deepEqual(v.json, { valid: true, errors: [], warnings: [] });

    const s1 = await call('POST', `/api/v1/workflows/${id}/snapshot`, {});
    assert.equal(s1.status, 200, s1.text);
    assert.equal(s1.json.workflow.version, 5, 'without a version: the published one');
    assert.deepEqual(Object.keys(s1.json.agents).sort(), [a1, a2].sort());
    assert.equal(s1.json.agents[a1].version, 1);
    const pins = { version: 5, agents: { [a1]: 1, [a2]: 1 } };
    const before = await call('POST', `/api/v1/workflows/${id}/snapshot`, pins);
    assert.deepEqual(before.json, s1.json);
    // later edits of the workflow and its agents
    assert.equal((await call('PATCH', `/api/v1/agents/${a1}`, { goal: 'Find papers', tool_ids: ['00000000-0000-7000-8000-000000000001'] })).status, 200);
    assert.equal((await call('PATCH', `/api/v1/workflows/${id}`, { name: 'renamed' })).status, 200);
    const after = await call('POST', `/api/v1/workflows/${id}/snapshot`, pins);
    assert.equal(JSON.stringify(after.json), JSON.stringify(before.json), 'the same numbers give the same document');
    const now = await call('POST', `/api/v1/workflows/${id}/snapshot`, { version: 7 });
    assert.equal(now.json.workflow.definition.name, 'renamed');
    assert.equal(now.json.agents[a1].version, 2);
    assert.ok(now.json.tools['00000000-0000-7000-8000-000000000001'], 'the tools of the agent\'s version');
    assertProblem(await call('POST', `/api/v1/workflows/${id}/snapshot`, { version: 5, agents: { [a1]: 9 } }), 404);
    assertProblem(await call('POST', `/api/v1/workflows/${id}/snapshot`, { version: 5, agents: { [a1]: 'latest' } }), 400, `agents.${a1}`);
    assertProblem(await call('POST', `/api/v1/workflows/${id}/snapshot`, { tools: { x: 1 } }), 400, 'tools');
  });

  await t.test('deleting an agent in use is 409 listing the workflows', async () => {
    const r = await call('DELETE', `/api/v1/agents/${a2}`);
    assertProblem(r, 409, 'workflows[0]');
    assert.ok(r.json.errors[0].message.includes(id), r.text);
    const lone = await newAgent({ name: 'unused' });
    assert.equal((await call('DELETE', `/api/v1/agents/${lone}`)).status, 204);
  });

  await t.test('list: q, tag and cursor pages', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await call('POST', '/api/v1/workflows', { ...BASE, name: `Batch 100% #${i}`, tags: i % 2 ? ['odd'] : ['even'] });
      assert.equal(r.status, 201, r.text);
    }
    assert.equal((await call('GET', '/api/v1/workflows?q=batch')).json.items.length, 4);
    assert.equal((await call('GET', '/api/v1/workflows?q=100%25')).json.items.length, 4);
    assert.equal((await call('GET', '/api/v1/workflows?q=1_0')).json.items.length, 0, '_ is a character, not a wildcard');
    const odd = await call('GET', '/api/v1/workflows?tag=odd&limit=1');
    assert.equal(odd.json.items.length, 1);
    const odd2 = await call('GET', `/api/v1/workflows?tag=odd&limit=1&cursor=${encodeURIComponent(odd.json.next_cursor)}`);
    assert.equal(odd2.json.items.length, 1);
    assert.notEqual(odd2.json.items[0].id, odd.json.items[0].id);
    assert.ok(odd2.json.items[0].tags.includes('odd'));
    const seen = new Set();
    let cursor = '';
    for (let i = 0; i < 10; i++) {
      const p = await call('GET', `/api/v1/workflows?limit=2${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
      for (const w of p.json.items) { assert.ok(!seen.has(w.id)); seen.add(w.id); }
      if (!p.json.next_cursor) break;
      cursor = p.json.next_cursor;
    }
    assert.equal(seen.size, await count());
  });

  await t.test('roles: viewers read, editors write; every change audited', async () => {
    const ws = await newWorkspace(srv, u.token, 'team');
    const viewer = await newUser(srv, 'wf-viewer');
    const editor = await newUser(srv, 'wf-editor');
    await addMember(srv, u.token, ws, viewer.email, 'viewer');
    await addMember(srv, u.token, ws, editor.email, 'editor');
    const as = (who, m, p, body) => api(srv, m, p, { token: who.token, workspace: ws, body });
    const ag = await as(editor, 'POST', '/api/v1/agents', AGENT);
    const body = { name: 'team', inputs: [{ name: 'topic' }], tasks: [task('a', ag.json.id)] };
    const c = await as(editor, 'POST', '/api/v1/workflows', body);
    assert.equal(c.status, 201, c.text);
    const wid = c.json.id;
    for (const [m, p] of [['GET', `/api/v1/workflows/${wid}`], ['GET', `/api/v1/workflows/${wid}/versions`], ['POST', `/api/v1/workflows/${wid}/validate`], ['GET', `/api/v1/workflows/${wid}/export?format=crewai`]]) {
      assert.equal((await as(viewer, m, p)).status, 200, `${m} ${p}`);
    }
    assertProblem(await as(viewer, 'POST', '/api/v1/workflows', body), 403);
    assertProblem(await as(viewer, 'PATCH', `/api/v1/workflows/${wid}`, { name: 'x' }), 403);
    assertProblem(await as(viewer, 'POST', `/api/v1/workflows/${wid}/publish`, { version: 1 }), 403);
    assertProblem(await as(viewer, 'POST', `/api/v1/workflows/${wid}/versions/1/restore`, {}), 403);
    assertProblem(await as(viewer, 'DELETE', `/api/v1/workflows/${wid}`), 403);
    assertProblem(await as(viewer, 'POST', '/api/v1/workflows/import', { agents_yaml: 'a: {}', tasks_yaml: 'b: {}' }), 403);
    assert.equal((await as(editor, 'PATCH', `/api/v1/workflows/${wid}`, { name: 'y' })).status, 200);
    assert.equal((await as(editor, 'POST', `/api/v1/workflows/${wid}/publish`, { version: 2 })).status, 200);
    assert.equal((await as(editor, 'POST', `/api/v1/workflows/${wid}/versions/1/restore`, {})).status, 200);
    assert.equal((await as(editor, 'DELETE', `/api/v1/workflows/${wid}`)).status, 204);
    assertProblem(await as(editor, 'GET', `/api/v1/workflows/${wid}`), 404);
    assert.ok(!(await as(editor, 'GET', '/api/v1/workflows')).text.includes(wid));
    const audit = await as(u, 'GET', '/api/v1/audit-events?limit=200');
    const mine = audit.json.items.filter((e) => e.target_id === wid).map((e) => e.action).sort();
    assert.deepEqual(mine, ['workflow.create', 'workflow.delete', 'workflow.publish', 'workflow.restore', 'workflow.update']);
  });
});

// What a reader checks of an import (the unit test's summary, from the
// API's answer): tasks with agent key and context, agents, inputs.
function summary(r) {
  const keyOf = Object.fromEntries(r.agents.map((a) => [a.id, a.key]));
  const w = r.workflow;
  return {
    process: w.process,
    tasks: w.tasks.map((t) => {
      const s = { key: t.key };
      if (t.agent_id) s.agent = keyOf[t.agent_id];
      if (t.context !== null) s.context = t.context;
      s.output = t.output.format;
      if (t.output.schema && t.output.schema.title) s.schema_title = t.output.schema.title;
      if (t.output_file) s.output_file = t.output_file;
      return s;
    }),
    agents: r.agents.map((a) => a.key),
    inputs: w.inputs.map((i) => i.name),
  };
}

function expectedSummary(e) {
  return {
    process: e.process,
    tasks: e.tasks.map((t) => { const s = { ...t }; delete s.tools; return s; }),
    agents: e.agents.map((a) => a.key),
    inputs: e.inputs,
  };
}

function readFixture(dir) {
  const read = (f) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : undefined);
  const body = { agents_yaml: read('agents.yaml'), tasks_yaml: read('tasks.yaml') };
  if (read('crew.yaml') !== undefined) body.crew_yaml = read('crew.yaml');
  return { body, expected: JSON.parse(read('expected.json')) };
}

test('crewAI import and export', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'crewai');
  const call = (m, p, body) => api(srv, m, p, { token: u.token, body });
  // a model configuration some fixtures name, so llm maps to it
  const model = await call('POST', '/api/v1/models', { name: 'local', provider: 'ollama', model: 'llama3.1', base_url: 'http://127.0.0.1:11434' });
  assert.equal(model.status, 201, model.text);

  const names = fs.readdirSync(FIXTURES).filter((n) => fs.existsSync(path.join(FIXTURES, n, 'expected.json')));
  assert.ok(names.length >= 9, `only ${names.length} fixtures`);
  for (const name of names) {
    await t.test(name, async () => {
      const { body, expected } = readFixture(path.join(FIXTURES, name));
      const r = await call('POST', '/api/v1/workflows/import', body);
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(summary(r.json), expectedSummary(expected));
      // the importer's warnings, then the mapping's (tools and models by name)
      const warnings = r.json.warnings.map((w) => `${w.field}: ${w.message}`);
      assert.deepEqual(warnings.slice(0, expected.warnings.length), expected.warnings);
      for (const w of warnings.slice(expected.warnings.length)) assert.match(w, /no tool named|no chat model configuration named|declared but no task/, w);
      // tools by name: the built-ins and nothing else
      for (const a of r.json.agents) {
        const want = expected.agents.find((e) => e.key === a.key);
        const builtin = want.tools.filter((n) => ['calculator', 'current_datetime', 'json_query', 'http_request', 'web_fetch'].includes(n));
        assert.equal(a.tool_ids.length, builtin.length, `${a.key}: ${JSON.stringify(a.tool_ids)}`);
        if (want.llm === 'llama3.1') assert.equal(a.model_id, model.json.id);
      }
      // export, then import the export: an equivalent workflow
      const x = await call('GET', `/api/v1/workflows/${r.json.workflow.id}/export?format=crewai`);
      assert.equal(x.status, 200, x.text);
      const again = await call('POST', '/api/v1/workflows/import', x.json);
      assert.equal(again.status, 201, again.text);
      // the export holds the agents the tasks use (an unused one has no
      // place in a workflow), in the order the tasks first name them
      const used = (res) => {
        const s = summary(res);
        const keys = new Set(s.tasks.map((tk) => tk.agent).filter(Boolean));
        return { ...s, agents: s.agents.filter((k) => keys.has(k)).sort() };
      };
      assert.deepEqual(used(again.json), used(r.json));
      const strip = (w) => { const c = { ...w }; for (const k of ['id', 'version', 'created_at', 'updated_at', 'warnings', 'published_version']) delete c[k]; c.tasks = c.tasks.map((tk) => ({ ...tk, agent_id: null, tool_ids: tk.tool_ids && tk.tool_ids.length })); return c; };
      assert.deepEqual(strip(again.json.workflow), strip(r.json.workflow));
      const agentDef = (a) => { const c = { ...a }; for (const k of ['id', 'created_at', 'updated_at']) delete c[k]; return c; };
      const byKey = (res) => Object.fromEntries(res.agents.filter((a) => used(res).agents.includes(a.key)).map((a) => [a.key, agentDef(a)]));
      assert.deepEqual(byKey(again.json), byKey(r.json));
    });
  }

  await t.test('multipart/form-data upload of the same files', async () => {
    const { body } = readFixture(path.join(FIXTURES, 'stock_analysis'));
    const post = async (form, headers = {}) => {
      const res = await fetch(`${srv.url}/api/v1/workflows/import`, { method: 'POST', headers: { authorization: `Bearer ${u.token}`, ...headers }, body: form });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : null };
    };
    const form = new FormData();
    form.append('agents_yaml', new Blob([body.agents_yaml], { type: 'application/yaml' }), 'agents.yaml');
    form.append('tasks_yaml', new Blob([body.tasks_yaml]), 'tasks.yaml');
    form.append('crew_yaml', new Blob([body.crew_yaml]), 'crew.yaml');
    form.append('name', 'Uploaded ✓');
    const up = await post(form);
    assert.equal(up.status, 201, up.text);
    assert.equal(up.json.workflow.name, 'Uploaded ✓');
    const js = await call('POST', '/api/v1/workflows/import', body);
    assert.deepEqual(summary(up.json), summary(js.json));

    const twice = new FormData();
    twice.append('agents_yaml', body.agents_yaml);
    twice.append('agents_yaml', body.agents_yaml);
    twice.append('tasks_yaml', body.tasks_yaml);
    assertProblem(await post(twice), 400, 'agents_yaml');
    const extra = new FormData();
    extra.append('agents_yaml', body.agents_yaml);
    extra.append('tasks_yaml', body.tasks_yaml);
    extra.append('owner', 'me');
    assertProblem(await post(extra), 400, 'owner');
    const missing = new FormData();
    missing.append('agents_yaml', body.agents_yaml);
    assertProblem(await post(missing), 400, 'tasks_yaml');
    assertProblem(await post('--x\r\n\r\nabc', { 'content-type': 'multipart/form-data' }), 400, 'header.Content-Type');
    assertProblem(await post('--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end', { 'content-type': 'multipart/form-data; boundary=x' }), 400, 'body');
    assertProblem(await post('--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--', { 'content-type': 'multipart/form-data; boundary=x' }), 400, 'body');
    const latin1 = Buffer.concat([Buffer.from('--"b"\r\nContent-Disposition: form-data; name="agents_yaml"\r\n\r\n'), Buffer.from([0xe9]), Buffer.from('\r\n--"b"--\r\n')]);
    assertProblem(await post(latin1, { 'content-type': 'multipart/form-data; boundary="\\"b\\""' }), 400, 'agents_yaml');
    // only the routes that say so take a form
    const r = await api(srv, 'POST', '/api/v1/workflows', { token: u.token, body: {}, headers: { 'content-type': 'multipart/form-data; boundary=x' } });
    assertProblem(r, 415);
  });

  await t.test('errors: YAML syntax with line and column, unknown agent key naming both, one transaction', async () => {
    const agentsBefore = (await call('GET', '/api/v1/agents?limit=200')).json.items.length;
    const bad = await call('POST', '/api/v1/workflows/import', { agents_yaml: 'a:\n  role: [x\n', tasks_yaml: 't: {}' });
    assertProblem(bad, 400, 'agents_yaml');
    assert.match(bad.json.errors[0].message, /line \d+, column \d+/);
    const tpl = readFixture(path.join(FIXTURES, 'template')).body;
    const unknown = await call('POST', '/api/v1/workflows/import', { ...tpl, tasks_yaml: tpl.tasks_yaml.replace('agent: researcher', 'agent: reseacher') });
    assertProblem(unknown, 400, 'tasks_yaml: research_task.agent');
    assert.match(unknown.json.errors[0].message, /reseacher.*researcher/);
    // the agents would be created, then the workflow fails: nothing stays
    const half = await call('POST', '/api/v1/workflows/import', { ...tpl, model_id: randomId() });
    assertProblem(half, 422, 'model_id');
    const hier = await call('POST', '/api/v1/workflows/import', { ...tpl, crew_yaml: 'process: hierarchical\nmanager_llm: nothing-like-it\n' });
    assertProblem(hier, 422, 'manager_model_id');
    assert.equal((await call('GET', '/api/v1/agents?limit=200')).json.items.length, agentsBefore, 'no agent left behind');
    assertProblem(await call('POST', '/api/v1/workflows/import', { tasks_yaml: 'x: {}' }), 400, 'agents_yaml');
    // an imported agent is held to AgentCreate's bounds
    const long = await call('POST', '/api/v1/workflows/import', { ...tpl, agents_yaml: tpl.agents_yaml.replace('role: >', `role: ${'r'.repeat(1001)}\n  role_was: >`) });
    assertProblem(long, 400);
    assert.ok(long.json.errors.some((e) => e.field === 'agents_yaml: researcher.role'), long.text);
    assert.equal((await call('GET', '/api/v1/agents?limit=200')).json.items.length, agentsBefore, 'no agent left behind');
    const ok = await call('POST', '/api/v1/workflows/import', tpl);
    assertProblem(await call('GET', `/api/v1/workflows/${ok.json.workflow.id}/export?format=yaml`), 400, 'query.format');
  });
});

test('CLI: troupe import crew DIR and troupe export crew ID DIR', async (t) => {
  const { spawnSync } = require('node:child_process');
  const os = require('node:os');
  const { BIN, newKey } = require('./authlib');
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'cli-crew');
  const key = (await newKey(srv, u.token, { role: 'editor', name: 'cli' })).key;
  const run = (args, env = {}) => {
    const r = spawnSync(BIN, args, {
      env: { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS || '', TROUPE_URL: srv.url, TROUPE_API_KEY: key, ...env },
      encoding: 'utf8', timeout: 30000,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const tpl = path.join(FIXTURES, 'template');
  const imp = run(['import', 'crew', tpl]);
  assert.equal(imp.code, 0, imp.err);
  const id = imp.out.trim();
  const w = await api(srv, 'GET', `/api/v1/workflows/${id}`, { token: u.token });
  assert.equal(w.status, 200, w.text);
  assert.deepEqual(w.json.tasks.map((x) => x.key), ['research_task', 'reporting_task']);
  assert.match(imp.err, /imported .*2 tasks, 2 agents/);
  assert.ok(!imp.err.includes(key) && !imp.out.includes(key), 'the key is never printed');

  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-crew-')), 'out');
  const exp = run(['export', 'crew', id, dir]);
  assert.equal(exp.code, 0, exp.err);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['agents.yaml', 'crew.yaml', 'tasks.yaml']);
  const x = await api(srv, 'GET', `/api/v1/workflows/${id}/export?format=crewai`, { token: u.token });
  assert.equal(fs.readFileSync(path.join(dir, 'tasks.yaml'), 'utf8'), x.json.tasks_yaml);
  const again = run(['import', 'crew', dir]);
  assert.equal(again.code, 0, again.err);

  const bad = run(['import', 'crew', tpl], { TROUPE_API_KEY: 'trp_not_a_key' });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /401/);
  const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-crew-'));
  fs.writeFileSync(path.join(broken, 'agents.yaml'), 'a:\n  role: [x\n');
  fs.writeFileSync(path.join(broken, 'tasks.yaml'), 't: {}\n');
  const syntax = run(['import', 'crew', broken]);
  assert.equal(syntax.code, 1);
  assert.match(syntax.err, /agents_yaml: .*line \d+, column \d+/);
  assert.equal(run(['import', 'crew', path.join(broken, 'nowhere')]).code, 1);
  assert.equal(run(['export', 'crew', randomId(), dir]).code, 1);
  assert.equal(run(['export', 'crew', '../x', dir]).code, 2);
  assert.equal(run(['import', 'crew']).code, 2);
  assert.equal(run(['import', 'crew', tpl], { TROUPE_API_KEY: '' }).code, 1);
});
