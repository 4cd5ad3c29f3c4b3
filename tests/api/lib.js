// Shared helpers for the API tests: start a real `troupe serve` on a free
// loopback port with its own data directory (and, when TROUPE_TEST_PG_URL is
// set, its own PostgreSQL database), and talk HTTP to it.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const assert = require('node:assert/strict');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.TROUPE_BIN || path.join(ROOT, 'build', 'troupe');
const PG_URL = process.env.TROUPE_TEST_PG_URL || '';
const ADMIN_EMAIL = 'admin@example.test';
const ADMIN_PASSWORD = 'admin-Pa55word-for-tests';

function pgDatabase() {
  const name = 't_' + crypto.randomBytes(6).toString('hex');
  execFileSync('psql', [PG_URL, '-qAtc', `CREATE DATABASE ${name}`], { stdio: 'pipe' });
  const u = new URL(PG_URL);
  u.pathname = '/' + name;
  return { name, url: u.toString() };
}

function pgQuery(url, sql) {
  return execFileSync('psql', [url, '-qAtc', sql], { encoding: 'utf8' });
}

// Starts troupe; resolves when it logs "listening" with its port.
async function startServer(opts = {}) {
  const dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-api-'));
  const env = {
    PATH: process.env.PATH,
    ASAN_OPTIONS: process.env.ASAN_OPTIONS || '',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || '',
    LSAN_OPTIONS: process.env.LSAN_OPTIONS || '',
    TROUPE_ADMIN_EMAIL: ADMIN_EMAIL,
    TROUPE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    TROUPE_RATE_LIMIT_DEFAULT: '100000/min',
    // every answer is checked against its route's documented status and schema
    TROUPE_CHECK_RESPONSES: '1',
    ...(opts.env || {}),
  };
  let db = null;
  if (PG_URL && !opts.sqlite && !env.TROUPE_DATABASE_URL) {
    db = opts.db || pgDatabase();
    env.TROUPE_DATABASE_URL = db.url;
    env.TROUPE_SECRET_KEY = env.TROUPE_SECRET_KEY || 'test-secret-key-0123456789-abcdefghijkl';
  }
  const args = [opts.role || 'serve', '--listen', '127.0.0.1:0', '--data', dataDir, ...(opts.args || [])];
  const child = spawn(opts.bin || BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('troupe did not start in 20 s:\n' + err)), 20000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/"msg":"listening".*?"port":"(\d+)"/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`troupe exited ${code}:\n${err}`)); });
  });
  const url = `http://127.0.0.1:${port}`;
  let stopped = null;
  const server = {
    url, port, dataDir, db, child, exited,
    logs: () => out + err,
    stdout: () => out,
    stderr: () => err,
    // SIGTERM, then wait; a non-zero exit or a sanitizer report fails the test.
    async stop({ keepData = false } = {}) {
      if (!stopped) {
        child.kill('SIGTERM');
        stopped = await exited;
        if (!keepData && !opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
        if (db && !keepData && !opts.db) {
          try { pgQuery(PG_URL, `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`); } catch (e) { /* best effort */ }
        }
      }
      assert.equal(stopped.code, 0, `troupe exited with ${stopped.code} (${stopped.signal}):\n${err.slice(-4000)}`);
      assert.doesNotMatch(err, /(AddressSanitizer|LeakSanitizer|runtime error:)/, 'sanitizer report:\n' + err.slice(-4000));
      return stopped;
    },
  };
  return server;
}

// One HTTP call. body: object (sent as JSON) or string/Buffer (sent as is).
async function api(server, method, p, { body, token, headers = {}, workspace } = {}) {
  const h = { ...headers };
  let payload;
  if (body !== undefined) {
    if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
    else { payload = JSON.stringify(body); h['content-type'] = h['content-type'] || 'application/json'; }
  }
  if (token) h.authorization = `Bearer ${token}`;
  if (workspace) h['x-workspace-id'] = workspace;
  const res = await fetch(server.url + p, { method, headers: h, body: payload });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

// Asserts a problem+json answer with the given status (and field, if named).
function assertProblem(r, status, field) {
  assert.equal(r.status, status, `want ${status}, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^application\/problem\+json/);
  assert.equal(r.json.status, status);
  for (const k of ['type', 'title', 'status', 'detail']) assert.ok(k in r.json, `problem lacks ${k}`);
  assert.ok(Array.isArray(r.json.errors), 'problem.errors is an array');
  if (field) {
    assert.ok(r.json.errors.some((e) => e.field === field),
      `no error names the field ${field}: ${JSON.stringify(r.json.errors)}`);
  }
}

// The scripted fake provider (tests/fake-llm/server.js) on a free port.
async function startFakeLlm(args = []) {
  const child = spawn(process.execPath, [path.join(ROOT, 'tests', 'fake-llm', 'server.js'), '--port', '0', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('fake LLM did not start')), 10000);
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); resolve(JSON.parse(buf.slice(0, nl)).port); }
    });
    child.on('exit', (c) => { clearTimeout(timer); reject(new Error('fake LLM exited ' + c)); });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url, port,
    async script(rules) {
      const r = await fetch(url + '/_script', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
      assert.equal(r.status, 200);
    },
    async requests() { return (await (await fetch(url + '/_requests')).json()).requests; },
    async reset() { await fetch(url + '/_reset', { method: 'POST' }); },
    stop() { child.kill('SIGTERM'); },
  };
}

// Logs in (as the first admin by default) and returns the access token.
async function login(server, email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
  const r = await api(server, 'POST', '/api/v1/auth/login', { body: { email, password } });
  assert.equal(r.status, 200, r.text);
  return r.json.access_token;
}

// Registers a fresh user and logs in: {email, password, token}.
async function newUser(server, tag = 'user') {
  const email = uniqueEmail(tag);
  const password = `a-long-enough-password-${tag}`;
  const r = await api(server, 'POST', '/api/v1/auth/register', { body: { email, password, name: tag } });
  assert.ok([200, 201].includes(r.status), r.text);
  return { email, password, token: await login(server, email, password) };
}

let userSeq = 0;
function uniqueEmail(tag = 'user') {
  userSeq += 1;
  return `${tag}-${process.pid}-${userSeq}-${crypto.randomBytes(3).toString('hex')}@example.test`;
}

module.exports = {
  ROOT, BIN, PG_URL, ADMIN_EMAIL, ADMIN_PASSWORD,
  startServer, api, assertProblem, uniqueEmail, pgDatabase, pgQuery, startFakeLlm, login, newUser,
};
