// Helpers of the auth tests on top of lib.js: users, sessions, workspaces,
// API keys. Each test makes its own users, so files run in parallel.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const lib = require('./lib');

const { api, uniqueEmail, ADMIN_EMAIL, ADMIN_PASSWORD } = lib;

// Every test but the limits' own runs from one address and makes many
// users and failed logins there, so the tests raise the limits
// (login_limits.test.js tests them, on their defaults too).
const OPEN_LIMITS = {
  TROUPE_RATE_LIMIT_AUTH: '100000/min', TROUPE_RATE_LIMIT_DEFAULT: '1000000/min',
  TROUPE_RATE_LIMIT_LOGIN_ACCOUNT: '100000/15min', TROUPE_RATE_LIMIT_LOGIN_ADDRESS: '100000/15min',
  TROUPE_RATE_LIMIT_REGISTER: '100000/hour',
};

function startServer(opts = {}) {
  return lib.startServer({ ...opts, env: { ...OPEN_LIMITS, ...(opts.env || {}) } });
}

function strongPassword(tag = 'pw') {
  return `${tag}-${crypto.randomBytes(9).toString('base64url')}`;
}

async function login(srv, email, password) {
  const r = await api(srv, 'POST', '/api/v1/auth/login', { body: { email, password } });
  assert.equal(r.status, 200, `login ${email}: ${r.text}`);
  return r.json;
}

// Registers and logs in a new user: {id, email, password, token, refresh, ws}.
async function newUser(srv, tag = 'user') {
  const email = uniqueEmail(tag);
  const password = strongPassword(tag);
  const r = await api(srv, 'POST', '/api/v1/auth/register', { body: { email, password, name: tag } });
  assert.equal(r.status, 201, `register: ${r.text}`);
  const t = await login(srv, email, password);
  return { id: r.json.id, email, password, token: t.access_token, refresh: t.refresh_token, ws: r.json.personal_workspace_id };
}

async function adminToken(srv) {
  return (await login(srv, ADMIN_EMAIL, ADMIN_PASSWORD)).access_token;
}

async function newWorkspace(srv, token, name = 'ws') {
  const r = await api(srv, 'POST', '/api/v1/workspaces', { token, body: { name } });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}

async function addMember(srv, token, ws, email, role) {
  const r = await api(srv, 'POST', `/api/v1/workspaces/${ws}/members`, { token, body: { email, role } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function newKey(srv, token, { role = 'editor', workspace, name = 'key', expires_at } = {}) {
  const body = { name, role };
  if (expires_at) body.expires_at = expires_at;
  const r = await api(srv, 'POST', '/api/v1/api-keys', { token, workspace, body });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

function randomId() {
  // A UUIDv7-shaped id that names nothing.
  const h = crypto.randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-7${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

module.exports = {
  ...lib, OPEN_LIMITS, startServer, strongPassword, login, newUser, adminToken, newWorkspace, addMember, newKey,
  randomId,
};
