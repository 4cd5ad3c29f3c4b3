// The default request limit is per principal: each user and each API key
// has its own bucket (and each address twice as much). A dedicated server
// with a low --rate-limit-default; addresses set with X-Forwarded-For.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, assertProblem, uniqueEmail } = require('./lib');

const LIMIT = 5;

async function user(srv, tag, addr) {
  const email = uniqueEmail(tag);
  const password = `a-long-enough-password-${tag}`;
  const headers = { 'x-forwarded-for': addr };
  assert.equal((await api(srv, 'POST', '/api/v1/auth/register', { body: { email, password, name: tag }, headers })).status, 201);
  const r = await api(srv, 'POST', '/api/v1/auth/login', { body: { email, password }, headers });
  assert.equal(r.status, 200, r.text);
  return r.json.access_token;
}

const me = (srv, token, addr) => api(srv, 'GET', '/api/v1/users/me', { token, headers: { 'x-forwarded-for': addr } });

function assertLimited(r) {
  assertProblem(r, 429);
  const retry = Number(r.headers.get('retry-after'));
  // 5/min refills one every 12 s.
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 12, `Retry-After: ${r.headers.get('retry-after')}`);
}

test('the default limit holds each user and each API key to its own rate', async (t) => {
  const srv = await startServer({ args: ['--rate-limit-default', `${LIMIT}/min`], env: { TROUPE_TRUST_PROXY: 'true' } });
  t.after(() => srv.stop());
  // Logins and registrations are another class: none of this is counted.
  const a = await user(srv, 'ratea', '10.9.0.1');
  const b = await user(srv, 'rateb', '10.9.0.1');
  const c = await user(srv, 'ratec', '10.9.0.2');

  // A user: LIMIT requests, then 429, while its address (2 x LIMIT) has room.
  for (let i = 0; i < LIMIT; i++) assert.equal((await me(srv, a, '10.9.0.1')).status, 200, `request ${i + 1}`);
  assertLimited(await me(srv, a, '10.9.0.1'));
  // Another user on the same address is not limited.
  assert.equal((await me(srv, b, '10.9.0.1')).status, 200);

  // An API key: its own bucket, not its creator's.
  const k = await api(srv, 'POST', '/api/v1/api-keys', { token: c, body: { name: 'limited', role: 'viewer' }, headers: { 'x-forwarded-for': '10.9.0.2' } });
  assert.equal(k.status, 201, k.text);
  for (let i = 0; i < LIMIT; i++) assert.equal((await me(srv, k.json.key, '10.9.0.3')).status, 200, `key request ${i + 1}`);
  assertLimited(await me(srv, k.json.key, '10.9.0.3'));
  // Its creator, from the same address, still gets through.
  assert.equal((await me(srv, c, '10.9.0.3')).status, 200);
});
