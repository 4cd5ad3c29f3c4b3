// Login and registration limits that stop attackers, not teams (OWASP's
// authentication guidance): failed logins counted per account and per
// address in the database, successes not counted and resetting the
// account, registrations on their own count, refreshes outside them all.
// Most tests run on the defaults; the ones that need a small limit say so.
// Addresses are told apart with X-Forwarded-For behind trust_proxy.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const lib = require('./lib');

const { api, assertProblem, uniqueEmail, ADMIN_EMAIL, ADMIN_PASSWORD, BIN, PG_URL } = lib;

let addrSeq = 0;
// A fresh client address per use, so tests in one server do not share one.
function newAddr() {
  addrSeq += 1;
  return `10.${(addrSeq >> 16) & 255}.${(addrSeq >> 8) & 255}.${addrSeq & 255}`;
}

// Every server here trusts X-Forwarded-For and keeps the default limits
// unless the test sets one.
function startServer(env = {}, opts = {}) {
  return lib.startServer({ ...opts, env: { TROUPE_TRUST_PROXY: 'true', ...env } });
}

function login(srv, email, password, addr) {
  return api(srv, 'POST', '/api/v1/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': addr } });
}

async function register(srv, addr, tag = 'lim') {
  const email = uniqueEmail(tag);
  const password = `a-long-enough-password-${tag}`;
  const r = await api(srv, 'POST', '/api/v1/auth/register', { body: { email, password, name: tag }, headers: { 'x-forwarded-for': addr } });
  return { r, email, password };
}

// A user made from its own address, so the registration counts nowhere else.
async function newUser(srv, tag) {
  const u = await register(srv, newAddr(), tag);
  assert.equal(u.r.status, 201, u.r.text);
  return u;
}

function assertLocked(r, re) {
  assertProblem(r, 429);
  const retry = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After: ${r.headers.get('retry-after')}`);
  if (re) assert.match(r.json.detail, re);
  return retry;
}

async function adminToken(srv) {
  const r = await login(srv, ADMIN_EMAIL, ADMIN_PASSWORD, newAddr());
  assert.equal(r.status, 200, r.text);
  return r.json.access_token;
}

test('defaults: 20 users of one office address all log in, typos included', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const office = newAddr();
  const users = [];
  for (let i = 0; i < 20; i++) users.push(await newUser(srv, `team${i}`));
  const codes = [];
  for (const u of users) {
    // Each mistypes once, then gets it right: 20 failures and 20
    // successes from one address within a minute.
    codes.push((await login(srv, u.email, 'mistyped-password', office)).status);
    codes.push((await login(srv, u.email, u.password, office)).status);
  }
  assert.deepEqual(codes, Array(20).fill([401, 200]).flat());
});

test('defaults: the 11th wrong password for one account is 429 until the window ends; others log in', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const addr = newAddr();
  const victim = await newUser(srv, 'victim');
  const other = await newUser(srv, 'other');
  const codes = [];
  for (let i = 0; i < 10; i++) codes.push((await login(srv, victim.email, `wrong-${i}-password`, addr)).status);
  assert.deepEqual(codes, Array(10).fill(401));
  const retry = assertLocked(await login(srv, victim.email, 'wrong-10-password', addr), /this account/);
  assert.ok(retry > 14 * 60 && retry <= 15 * 60, `locked for the rest of 15 minutes: ${retry} s`);
  // Locked means locked: the right password waits too, from any address.
  assertLocked(await login(srv, victim.email, victim.password, newAddr()), /this account/);
  // The same address, another account: not locked (10 failures < 30).
  assert.equal((await login(srv, other.email, other.password, addr)).status, 200);
});

test('an email with no account locks exactly like one that has an account', async (t) => {
  const srv = await startServer({ TROUPE_RATE_LIMIT_LOGIN_ACCOUNT: '3/15min' });
  t.after(() => srv.stop());
  const known = await newUser(srv, 'known');
  const unknown = uniqueEmail('nobody');
  const answers = async (email) => {
    const out = [];
    for (let i = 0; i < 5; i++) {
      const r = await login(srv, email, 'not-the-password', newAddr());
      out.push([r.status, r.json.type, r.json.title, r.json.detail.replace(/\d+/g, 'N'), r.headers.has('retry-after')]);
    }
    return out;
  };
  const a = await answers(known.email);
  const b = await answers(unknown);
  assert.deepEqual(a.map((x) => x[0]), [401, 401, 401, 429, 429]);
  assert.deepEqual(a, b, 'the same answers, so they tell nothing');
});

test('wrong passwords spread over many accounts from one address are stopped at 30', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const admin = await adminToken(srv);
  const attacker = newAddr();
  const real = await newUser(srv, 'sprayed');
  const codes = [];
  // One guess each at 30 accounts (one real, the rest unknown), then a 31st.
  codes.push((await login(srv, real.email, 'Spring2026!', attacker)).status);
  for (let i = 1; i < 30; i++) codes.push((await login(srv, uniqueEmail('spray'), 'Spring2026!', attacker)).status);
  assert.deepEqual(codes, Array(30).fill(401));
  assertLocked(await login(srv, uniqueEmail('spray'), 'Spring2026!', attacker), /this address/);
  // The address is locked, not the accounts: the real user logs in from elsewhere.
  assertLocked(await login(srv, real.email, real.password, attacker), /this address/);
  assert.equal((await login(srv, real.email, real.password, newAddr())).status, 200);
  const ev = await api(srv, 'GET', '/api/v1/audit-events?action=login.locked', { token: admin });
  assert.equal(ev.status, 200, ev.text);
  const mine = ev.json.items.filter((e) => e.client_ip === attacker);
  assert.equal(mine.length, 1, JSON.stringify(ev.json.items));
  assert.equal(mine[0].target_type, 'address');
  assert.equal(mine[0].detail.scope, 'address');
  assert.equal(mine[0].detail.failures, 30);
});

test('defaults: a success resets the account count', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const u = await newUser(srv, 'reset');
  const codes = [];
  for (let i = 0; i < 9; i++) codes.push((await login(srv, u.email, 'wrong-password', newAddr())).status);
  codes.push((await login(srv, u.email, u.password, newAddr())).status);
  // Ten more failures fit again after the success; the eleventh does not.
  for (let i = 0; i < 10; i++) codes.push((await login(srv, u.email, 'wrong-password', newAddr())).status);
  assert.deepEqual(codes, [...Array(9).fill(401), 200, ...Array(10).fill(401)]);
  assertLocked(await login(srv, u.email, 'wrong-password', newAddr()), /this account/);
});

test('the lockout and its end are in the audit log, without the password', async (t) => {
  const srv = await startServer({ TROUPE_RATE_LIMIT_LOGIN_ACCOUNT: '3/15min' });
  t.after(() => srv.stop());
  const admin = await adminToken(srv);
  const u = await newUser(srv, 'audited');
  const t0 = Date.now();
  for (let i = 0; i < 3; i++) assert.equal((await login(srv, u.email, 'secret-guess-xyz', newAddr())).status, 401);
  assertLocked(await login(srv, u.email, 'secret-guess-xyz', newAddr()));
  const ev = await api(srv, 'GET', '/api/v1/audit-events?action=login.locked', { token: admin });
  assert.equal(ev.status, 200, ev.text);
  const mine = ev.json.items.filter((e) => e.detail.email === u.email);
  assert.equal(mine.length, 1, 'one event per lockout, not one per refused attempt: ' + JSON.stringify(ev.json.items));
  const e = mine[0];
  assert.equal(e.target_type, 'user');
  assert.ok(e.target_id, 'names the user');
  assert.equal(e.detail.scope, 'account');
  assert.equal(e.detail.failures, 3);
  const until = Date.parse(e.detail.locked_until);
  assert.ok(until >= t0 + 15 * 60 * 1000 - 2000 && until <= Date.now() + 15 * 60 * 1000, e.detail.locked_until);
  assert.doesNotMatch(ev.text, /secret-guess-xyz/);
});

test('a lockout ends with its window', async (t) => {
  const srv = await startServer({ TROUPE_RATE_LIMIT_LOGIN_ACCOUNT: '2/2s' });
  t.after(() => srv.stop());
  const u = await newUser(srv, 'ends');
  for (let i = 0; i < 2; i++) assert.equal((await login(srv, u.email, 'wrong-password', newAddr())).status, 401);
  const retry = assertLocked(await login(srv, u.email, u.password, newAddr()));
  assert.ok(retry <= 2, `Retry-After within the window: ${retry}`);
  await new Promise((r) => setTimeout(r, retry * 1000 + 100));
  assert.equal((await login(srv, u.email, u.password, newAddr())).status, 200);
});

test('registrations have their own limit, which logins do not share', async (t) => {
  const srv = await startServer({ TROUPE_RATE_LIMIT_REGISTER: '3/hour' });
  t.after(() => srv.stop());
  const addr = newAddr();
  const made = [];
  for (let i = 0; i < 3; i++) {
    const u = await register(srv, addr, `reg${i}`);
    assert.equal(u.r.status, 201, u.r.text);
    made.push(u);
  }
  const fourth = await register(srv, addr, 'reg3');
  const retry = assertLocked(fourth.r, /registrations/);
  assert.ok(retry > 59 * 60 && retry <= 3600, `the rest of the hour: ${retry}`);
  // Logins from that address go on; another address still registers.
  for (const u of made) assert.equal((await login(srv, u.email, u.password, addr)).status, 200);
  assert.equal((await register(srv, newAddr(), 'reg4')).r.status, 201);
  // And failed logins do not use up registrations.
  const addr2 = newAddr();
  for (let i = 0; i < 5; i++) assert.equal((await login(srv, made[0].email, 'wrong-password', addr2)).status, 401);
  assert.equal((await register(srv, addr2, 'reg5')).r.status, 201);
});

test('refreshes count against neither the login ceiling nor failed logins', async (t) => {
  const srv = await startServer({
    TROUPE_RATE_LIMIT_AUTH: '4/min', TROUPE_RATE_LIMIT_LOGIN_ADDRESS: '2/15min', TROUPE_RATE_LIMIT_LOGIN_ACCOUNT: '2/15min',
  });
  t.after(() => srv.stop());
  const addr = newAddr();
  const u = await newUser(srv, 'refresher');
  const first = await login(srv, u.email, u.password, addr);
  assert.equal(first.status, 200, first.text);
  let refresh = first.json.refresh_token;
  const refreshAt = (token) => api(srv, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: token }, headers: { 'x-forwarded-for': addr } });
  for (let i = 0; i < 8; i++) {
    const r = await refreshAt(refresh);
    assert.equal(r.status, 200, `refresh ${i}: ${r.text}`);
    refresh = r.json.refresh_token;
  }
  for (let i = 0; i < 4; i++) assert.equal((await refreshAt(`trr_${'A'.repeat(43)}`)).status, 401);
  // Ceiling: 1 login so far of 4; failures: none of 2.
  assert.equal((await login(srv, u.email, 'wrong-password', addr)).status, 401);
  assert.equal((await login(srv, u.email, u.password, addr)).status, 200);
});

test('two api processes on one database share the failure count', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-limits-'));
  const db = PG_URL ? lib.pgDatabase() : null;
  const env = {
    TROUPE_SECRET_KEY: 'a-shared-secret-for-every-process-0123456789', TROUPE_TRUST_PROXY: 'true',
    TROUPE_RATE_LIMIT_LOGIN_ACCOUNT: '4/15min', ...(db ? { TROUPE_DATABASE_URL: db.url } : {}),
  };
  const m = spawnSync(BIN, ['migrate', '--data', dir], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  assert.equal(m.status, 0, m.stderr);
  const opts = { role: 'api', dataDir: dir, db: db || undefined, env };
  const a = await lib.startServer(opts);
  const b = await lib.startServer(opts);
  t.after(async () => {
    await a.stop({ keepData: true });
    await b.stop({ keepData: true });
    fs.rmSync(dir, { recursive: true, force: true });
    if (db) { try { lib.pgQuery(PG_URL, `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`); } catch (e) { /* best effort */ } }
  });
  const u = await register(a, newAddr(), 'shared');
  assert.equal(u.r.status, 201, u.r.text);
  const codes = [];
  for (const s of [a, b, a, b]) codes.push((await login(s, u.email, 'wrong-password', newAddr())).status);
  assert.deepEqual(codes, [401, 401, 401, 401]);
  // Two failures went through each: only a shared count is at 4 now.
  assertLocked(await login(a, u.email, u.password, newAddr()), /this account/);
  assertLocked(await login(b, u.email, u.password, newAddr()), /this account/);
});

test('concurrent wrong passwords never get past the account limit', async (t) => {
  const srv = await startServer({ TROUPE_RATE_LIMIT_LOGIN_ACCOUNT: '5/15min' });
  t.after(() => srv.stop());
  const u = await newUser(srv, 'race');
  const rs = await Promise.all(Array.from({ length: 16 }, () => login(srv, u.email, 'wrong-password', newAddr())));
  const codes = rs.map((r) => r.status).sort();
  assert.deepEqual(codes, [...Array(5).fill(401), ...Array(11).fill(429)], 'exactly 5 verified');
});
