// /readyz follows PostgreSQL going away and coming back, without a restart.
// Run alone (it stops the shared cluster): tests/run does that.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { startServer, api, ROOT } = require('./lib');

const PGDIR = process.env.TROUPE_TEST_PG_DIR;

test('readyz is 503 while PostgreSQL is stopped and 200 after it is back', { skip: !PGDIR && 'no PostgreSQL cluster' }, async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const pg = (cmd) => execFileSync(path.join(ROOT, 'tests', 'pg.sh'), [cmd, PGDIR], { stdio: 'pipe' });
  assert.equal((await api(srv, 'GET', '/readyz')).status, 200);
  pg('pause');
  try {
    const r = await api(srv, 'GET', '/readyz');
    assert.equal(r.status, 503, r.text);
    assert.match(r.headers.get('content-type'), /problem\+json/);
    assert.doesNotMatch(r.text, /connection|refused|5432|postgres/i, 'driver text leaked');
    assert.equal((await api(srv, 'GET', '/healthz')).status, 200, 'liveness does not depend on the DB');
  } finally {
    pg('resume');
  }
  let ok = false;
  for (let i = 0; i < 50 && !ok; i++) {
    ok = (await api(srv, 'GET', '/readyz')).status === 200;
    if (!ok) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(ok, 'readyz did not come back to 200');
});
