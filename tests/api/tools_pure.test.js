// The pure built-ins through POST /api/v1/tools/{id}/test: calculator,
// json_query and current_datetime answer {status: 200, body: their JSON};
// arguments the schema refuses are 422 naming them, and what the core
// refuses (1 / 0, a bad JSONPath, an unknown zone) is 422 naming the
// argument too.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, assertProblem, newUser } = require('./authlib');

const CALCULATOR = '00000000-0000-7000-8000-000000000001';
const CURRENT_DATETIME = '00000000-0000-7000-8000-000000000002';
const JSON_QUERY = '00000000-0000-7000-8000-000000000003';

test('pure built-in tools run', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'tools-pure');
  const run = (id, args) => api(srv, 'POST', `/api/v1/tools/${id}/test`, { token: u.token, body: { arguments: args } });

  await t.test('calculator', async () => {
    const r = await run(CALCULATOR, { expression: '(2 + 3) * sqrt(16) / 4 - 2 ^ 3' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 200);
    assert.equal(r.json.truncated, false);
    assert.deepEqual(JSON.parse(r.json.body), { expression: '(2 + 3) * sqrt(16) / 4 - 2 ^ 3', result: -3 });
    assertProblem(await run(CALCULATOR, { expression: '1 / 0' }), 422, 'arguments.expression');
    assertProblem(await run(CALCULATOR, { expression: "__import__('os').system('id')" }), 422, 'arguments.expression');
    assertProblem(await run(CALCULATOR, { expression: 7 }), 422, 'arguments.expression');
  });

  await t.test('json_query', async () => {
    const document = { store: { book: [{ title: 'A', price: 8.95 }, { title: 'B', price: 12.99 }] } };
    const r = await run(JSON_QUERY, { query: '$.store.book[?@.price < 10].title', document });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(JSON.parse(r.json.body), { count: 1, results: ['A'] });
    assertProblem(await run(JSON_QUERY, { query: '$.store[', document }), 422, 'arguments.query');
    assertProblem(await run(JSON_QUERY, { query: '$' }), 422, 'arguments.document');
  });

  await t.test('current_datetime', async () => {
    const r = await run(CURRENT_DATETIME, { timezone: 'Asia/Tokyo' });
    assert.equal(r.status, 200, r.text);
    const b = JSON.parse(r.json.body);
    assert.equal(b.timezone, 'Asia/Tokyo');
    assert.equal(b.utc_offset, '+09:00');
    assert.match(b.datetime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00$/);
    assert.ok(Math.abs(b.unix_time - Date.now() / 1000) < 60);
    const utc = JSON.parse((await run(CURRENT_DATETIME, {})).json.body);
    assert.equal(utc.utc_offset, '+00:00');
    assertProblem(await run(CURRENT_DATETIME, { timezone: '../../etc/passwd' }), 422, 'arguments.timezone');
    assertProblem(await run(CURRENT_DATETIME, { timezone: 'Mars/Olympus' }), 422, 'arguments.timezone');
  });
});
