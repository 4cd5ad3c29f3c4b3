// Login timing does not tell unknown emails from wrong passwords. A timing
// test: tests/run runs it alone, after the parallel suites, so other tests'
// load does not skew one side.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, newUser } = require('./authlib');

test('login timing does not tell unknown emails from wrong passwords', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'timing');
  const time = async (email) => {
    const t0 = process.hrtime.bigint();
    const r = await api(srv, 'POST', '/api/v1/auth/login', { body: { email, password: 'wrong-password-xyz' } });
    assert.equal(r.status, 401);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  for (let i = 0; i < 3; i++) { await time(u.email); await time('warmup@example.test'); }
  const known = [];
  const unknown = [];
  for (let i = 0; i < 50; i++) {
    // Interleaved, and the order flips each pair, so drift hits both sides.
    if (i % 2) {
      known.push(await time(u.email));
      unknown.push(await time(`nobody-${i}@example.test`));
    } else {
      unknown.push(await time(`nobody-${i}@example.test`));
      known.push(await time(u.email));
    }
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  const a = median(known);
  const b = median(unknown);
  const diff = Math.abs(a - b) / Math.max(a, b);
  t.diagnostic(`login median: wrong password ${a.toFixed(1)} ms, unknown email ${b.toFixed(1)} ms, diff ${(diff * 100).toFixed(1)}%`);
  assert.ok(diff < 0.10, `differ by ${(diff * 100).toFixed(1)}%`);
});
