// GET /api/v1/executions/{id}/events/stream: Server-Sent Events. Every
// stored event after Last-Event-ID (or ?after=) exactly once and in order,
// across a disconnect; closed after the final event; a finished execution
// replays and closes; keep-alive comments when idle; 200 clients at once
// without a new thread; the resume point and the scope checked.
//
// Events are written here the way another process's worker writes them:
// by a second database client (sqlite3 or psql) in one transaction that
// bumps executions.last_seq and inserts the rows, as executions_event_tx
// does. The server never hears of them but through its poll of the
// database (sse_poll_ms), which is the cross-process path; the worker's
// in-process notify is covered by the hub's unit test.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { execFileSync, spawn } = require('node:child_process');
const {
  startServer, api, assertProblem, newUser, addMember, randomId, pgQuery, startFakeLlm, pgDatabase, BIN, PG_URL,
} = require('./authlib');

const AGENT = { name: 'Researcher', role: 'Senior {topic} researcher', goal: 'Find news', backstory: 'Seasoned.' };

// Runs SQL on the server's database from another process.
function sql(srv, text) {
  if (srv.db) return pgQuery(srv.db.url, `BEGIN; ${text}; COMMIT;`);
  return execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(srv.dataDir, 'troupe.db'), `BEGIN IMMEDIATE; ${text}; COMMIT;`],
    { encoding: 'utf8' });
}

// Stores events for execution id, each as executions_event_tx would.
function writeEvents(srv, id, events) {
  const parts = [];
  for (const e of events) {
    const data = JSON.stringify(e.data || {}).replace(/'/g, "''");
    parts.push(`UPDATE executions SET last_seq = last_seq + 1 WHERE id = '${id}'`);
    parts.push(`INSERT INTO execution_events (execution_id, seq, workspace_id, type, at, task_key, attempt, data) ` +
      `SELECT id, last_seq, workspace_id, '${e.type}', ${Date.now()}, ${e.task_key ? `'${e.task_key}'` : 'NULL'}, ` +
      `${e.attempt || 'NULL'}, '${data}' FROM executions WHERE id = '${id}'`);
    if (e.status) parts.push(`UPDATE executions SET status = '${e.status}' WHERE id = '${id}'`);
  }
  sql(srv, parts.join('; '));
}

// An SSE client: parses the stream as the WHATWG algorithm does (blocks
// end at a blank line; "field: value"; ":" starts a comment).
function stream(srv, p, { token, headers = {} } = {}) {
  const events = [];
  const comments = [];
  let waiters = [];
  let ended = false;
  let status = 0;
  let resHeaders = null;
  let body = '';
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const req = http.get(srv.url + p, { headers: h, agent: false });
  const opened = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      status = res.statusCode;
      resHeaders = res.headers;
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (d) => {
        body += d;
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) { comments.push(line.slice(1).trim()); continue; }
            const c = line.indexOf(':');
            const k = line.slice(0, c);
            const v = line.slice(c + 1).replace(/^ /, '');
            ev[k] = k === 'data' && ev.data !== undefined ? ev.data + '\n' + v : v;
          }
          if (ev.data !== undefined) events.push({ id: ev.id, event: ev.event, data: JSON.parse(ev.data) });
        }
        waiters = waiters.filter((w) => !w());
      });
      res.on('end', () => { ended = true; waiters = waiters.filter((w) => !w()); });
      res.on('error', () => {});
      resolve();
    });
    req.on('error', (e) => { ended = true; if (e.code !== 'ECONNRESET') reject(e); });
  });
  const s = {
    events, comments, opened,
    get status() { return status; },
    get headers() { return resHeaders; },
    get ended() { return ended; },
    get body() { return body; },
    // Resolves when cond() holds (checked at each chunk), or fails after ms.
    until(cond, ms = 5000, what = 'condition') {
      if (cond()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(events.map((e) => e.id))} ended=${ended}`)), ms);
        waiters.push(() => { if (cond()) { clearTimeout(timer); resolve(); return true; } return false; });
      });
    },
    close() { req.destroy(); },
  };
  return s;
}

const seqs = (s) => s.events.map((e) => Number(e.id));

async function setup(srv) {
  const u = await newUser(srv, 'sse');
  const call = (m, p, body, token = u.token) => api(srv, m, p, { token, body });
  const ag = await call('POST', '/api/v1/agents', AGENT);
  assert.equal(ag.status, 201, ag.text);
  const wr = await call('POST', '/api/v1/workflows', {
    name: 'Streamed crew', inputs: [{ name: 'topic' }],
    tasks: [{ key: 'research', description: 'Research {topic}', expected_output: 'A list', agent_id: ag.json.id }],
  });
  assert.equal(wr.status, 201, wr.text);
  const execute = async () => {
    const r = await call('POST', `/api/v1/workflows/${wr.json.id}/execute`, { inputs: { topic: 'AI' } });
    assert.equal(r.status, 202, r.text);
    return r.json.id;
  };
  return { u, call, execute };
}

function threads(pid) {
  return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Threads:\s+(\d+)/m)[1]);
}

test('event stream', async (t) => {
  // No worker here: the events are this test's (see the top).
  const srv = await startServer({
    env: { TROUPE_WORKERS: '0', TROUPE_SSE_KEEPALIVE_MS: '300', TROUPE_SSE_POLL_MS: '50', TROUPE_STREAM_TOKEN_TTL: '1' },
  });
  t.after(() => srv.stop());
  const { u, call, execute } = await setup(srv);
  const url = (id, q = '') => `/api/v1/executions/${id}/events/stream${q}`;

  await t.test('reconnecting with Last-Event-ID gets every stored event once, in order, then the end', async () => {
    const id = await execute();
    const a = stream(srv, url(id), { token: u.token });
    await a.opened;
    assert.equal(a.status, 200);
    assert.match(a.headers['content-type'], /^text\/event-stream/);
    assert.equal(a.headers['cache-control'], 'no-store');
    await a.until(() => a.events.length >= 1, 5000, 'the replay');
    assert.deepEqual(a.events[0], {
      id: '1', event: 'execution.queued',
      data: { seq: 1, type: 'execution.queued', at: a.events[0].data.at, data: a.events[0].data.data },
    });
    writeEvents(srv, id, [
      { type: 'execution.started', status: 'running' },
      { type: 'task.started', task_key: 'research', attempt: 1 },
      { type: 'llm.started', task_key: 'research', attempt: 1, data: { model: 'm' } },
    ]);
    await a.until(() => a.events.length >= 4, 5000, 'events written by another process');
    assert.deepEqual(seqs(a), [1, 2, 3, 4]);
    assert.deepEqual(a.events[2].data, { ...a.events[2].data, seq: 3, type: 'task.started', task_key: 'research', attempt: 1 });
    assert.equal(a.events[3].event, 'llm.started');
    assert.deepEqual(a.events[3].data.data, { model: 'm' });
    a.close();

    // Written while nobody listens.
    writeEvents(srv, id, [
      { type: 'llm.completed', task_key: 'research', attempt: 1 },
      { type: 'task.succeeded', task_key: 'research', attempt: 1 },
    ]);
    const b = stream(srv, url(id), { token: u.token, headers: { 'last-event-id': '3' } });
    await b.until(() => b.events.length >= 3, 5000, 'the events after 3');
    writeEvents(srv, id, [{ type: 'execution.succeeded', status: 'succeeded', data: { output: 'done' } }]);
    await b.until(() => b.ended, 5000, 'the end after the final event');
    assert.deepEqual(seqs(b), [4, 5, 6, 7], 'after 3: each once, in order, and the stream closed after the final one');
    assert.equal(b.events[3].event, 'execution.succeeded');

    // The stored events equal what the paged route gives.
    const page = await call('GET', `/api/v1/executions/${id}/events?limit=200`);
    assert.deepEqual([...a.events.slice(0, 3), ...b.events].map((e) => e.data), page.json.items);
  });

  await t.test('a finished execution replays and closes; ?after= resumes; Last-Event-ID wins over it', async () => {
    const id = await execute();
    writeEvents(srv, id, [{ type: 'execution.started', status: 'running' }, { type: 'execution.failed', status: 'failed', data: { error: 'x' } }]);
    const all = stream(srv, url(id), { token: u.token });
    await all.until(() => all.ended, 5000, 'the end');
    assert.deepEqual(seqs(all), [1, 2, 3]);
    const after = stream(srv, url(id, '?after=1'), { token: u.token });
    await after.until(() => after.ended, 5000, 'the end');
    assert.deepEqual(seqs(after), [2, 3]);
    const both = stream(srv, url(id, '?after=1'), { token: u.token, headers: { 'last-event-id': '2' } });
    await both.until(() => both.ended, 5000, 'the end');
    assert.deepEqual(seqs(both), [3]);
    const none = stream(srv, url(id), { token: u.token, headers: { 'last-event-id': '3' } });
    await none.until(() => none.ended, 5000, 'the end');
    assert.equal(none.status, 200);
    assert.deepEqual(seqs(none), [], 'resumed after the final event: nothing, and closed');
  });

  await t.test('a resumed execution goes on past its first final event', async () => {
    const id = await execute();
    writeEvents(srv, id, [{ type: 'execution.failed', status: 'failed' }, { type: 'execution.resumed', status: 'queued' }]);
    const s = stream(srv, url(id), { token: u.token });
    await s.until(() => s.events.length >= 3, 5000, 'the replay');
    assert.equal(s.ended, false, 'a final event followed by more does not end the stream');
    writeEvents(srv, id, [{ type: 'execution.cancelled', status: 'cancelled' }]);
    await s.until(() => s.ended, 5000, 'the end');
    assert.deepEqual(seqs(s), [1, 2, 3, 4]);
  });

  await t.test('an event larger than a read of the stream (100 KB) arrives whole, between its neighbours', async () => {
    const id = await execute();
    const big = 'x'.repeat(100000) + 'END';
    writeEvents(srv, id, [{ type: 'execution.started', status: 'running' },
      { type: 'execution.succeeded', status: 'succeeded', data: { output: big } }]);
    const s = stream(srv, url(id), { token: u.token });
    await s.until(() => s.ended, 5000, 'the end');
    assert.deepEqual(seqs(s), [1, 2, 3]);
    assert.ok(JSON.stringify(s.events[2].data).includes(`"${big}"`), 'the 100 KB output whole');
    assert.equal(s.events[2].event, 'execution.succeeded');
  });

  await t.test('keep-alive comments while idle', async () => {
    const id = await execute();
    const s = stream(srv, url(id), { token: u.token });
    await s.until(() => s.comments.includes('keep-alive'), 3000, 'a keep-alive (300 ms here)');
    assert.deepEqual(seqs(s), [1]);
    s.close();
  });

  await t.test('bad resume points and scope: 400 naming the field, 404 for another workspace, 401 without credentials', async () => {
    const id = await execute();
    const get = (p, headers = {}, token = u.token) => api(srv, 'GET', p, { token, headers });
    assertProblem(await get(url(id), { 'last-event-id': 'abc' }), 400, 'header.Last-Event-ID');
    assertProblem(await get(url(id, '?after=-1')), 400, 'query.after');
    assertProblem(await get(url(id, '?after=x')), 400, 'query.after');
    assertProblem(await get(url(id, '?after=2')), 400, 'query.after');
    assertProblem(await get(url(id), { 'last-event-id': '9' }), 400, 'header.Last-Event-ID');
    assertProblem(await get(url(randomId())), 404);
    const other = await newUser(srv, 'sse-other');
    assertProblem(await get(url(id), {}, other.token), 404);
    assertProblem(await get(url(id), {}, null), 401);
    // A viewer of the workspace may watch.
    const viewer = await newUser(srv, 'sse-viewer');
    await addMember(srv, u.token, u.ws, viewer.email, 'viewer');
    const s = stream(srv, url(id), { token: viewer.token, headers: { 'x-workspace-id': u.ws } });
    await s.until(() => s.events.length >= 1, 5000, 'the viewer\'s replay');
    s.close();
  });

  const mint = async (id, token = u.token, headers = {}) => {
    const r = await api(srv, 'POST', `/api/v1/executions/${id}/stream-token`, { token, headers });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  const byToken = async (id, tok, headers = {}) => {
    const s = stream(srv, url(id, `?token=${encodeURIComponent(tok)}`), { headers });
    await s.opened;
    if (s.status === 200) await s.until(() => s.events.length >= 1, 5000, 'the replay by token');
    s.close();
    return s;
  };

  await t.test('a stream token: works once, for its execution only, only on the stream, and is never logged', async () => {
    const id = await execute();
    const other = await execute();
    const t0 = Date.now();
    const m = await mint(id);
    assert.match(m.token, /^tst_[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(m.expires_at) - t0;
    assert.ok(ttl > 0 && ttl <= 2000, `expires in the configured 1 s (${ttl} ms)`);
    // Another execution: refused, and the token is not spent by it.
    assert.equal((await byToken(other, m.token)).status, 401);
    // Another route: the token is no credential there.
    assertProblem(await api(srv, 'GET', `/api/v1/executions/${id}/events?token=${m.token}`), 401);
    assertProblem(await api(srv, 'GET', `/api/v1/executions/${id}?token=${m.token}`), 401);
    const first = await byToken(id, m.token);
    assert.equal(first.status, 200);
    assert.deepEqual(seqs(first), [1]);
    const again = await byToken(id, m.token);
    assert.equal(again.status, 401, 'the second use is refused');
    assert.equal((await byToken(id, 'tst_' + 'A'.repeat(43))).status, 401, 'a token never handed out');
    assert.equal((await byToken(id, 'nonsense')).status, 401);
    // Named with another workspace: not found; the one use is gone all the same.
    const m2 = await mint(id);
    const otherWs = await newUser(srv, 'sse-tok-other');
    assert.equal((await byToken(id, m2.token, { 'x-workspace-id': otherWs.ws })).status, 404);
    assert.equal((await byToken(id, m2.token)).status, 401);
    // Authorization wins over ?token= (which is then not spent).
    const m3 = await mint(id);
    const both = stream(srv, url(id, `?token=${m3.token}`), { token: u.token });
    await both.until(() => both.events.length >= 1, 5000, 'the replay');
    both.close();
    assert.equal((await byToken(id, m3.token)).status, 200);
    await new Promise((r) => setTimeout(r, 100)); // the access log line of the last request
    for (const k of [m.token, m2.token, m3.token]) assert.ok(!srv.logs().includes(k), 'a token never reaches the log');
    assert.ok(!srv.logs().includes('token='), 'nor the query that carried it');
  });

  await t.test('stream-token: scoped, read-only role enough, no body, and it expires', async () => {
    const id = await execute();
    assertProblem(await api(srv, 'POST', `/api/v1/executions/${randomId()}/stream-token`, { token: u.token }), 404);
    const stranger = await newUser(srv, 'sse-tok-stranger');
    assertProblem(await api(srv, 'POST', `/api/v1/executions/${id}/stream-token`, { token: stranger.token }), 404);
    assertProblem(await api(srv, 'POST', `/api/v1/executions/${id}/stream-token`, {}), 401);
    assertProblem(await api(srv, 'POST', `/api/v1/executions/${id}/stream-token`, { token: u.token, body: { execution_id: randomId() } }), 400);
    const viewer = await newUser(srv, 'sse-tok-viewer');
    await addMember(srv, u.token, u.ws, viewer.email, 'viewer');
    const vm = await mint(id, viewer.token, { 'x-workspace-id': u.ws });
    assert.equal((await byToken(id, vm.token)).status, 200, 'a viewer\'s token opens the stream');
    const m = await mint(id);
    await new Promise((r) => setTimeout(r, Date.parse(m.expires_at) - Date.now() + 50));
    assert.equal((await byToken(id, m.token)).status, 401, 'expired');
  });

  await t.test('a stream token is refused once the credential that minted it is not good any more', async () => {
    const id = await execute();
    // Minted with an API key, the key revoked within the token's life: refused.
    const r = await api(srv, 'POST', '/api/v1/api-keys', { token: u.token, body: { name: 'sse-key', role: 'viewer' } });
    assert.equal(r.status, 201, r.text);
    const key = r.json;
    const live = await mint(id, key.key);
    assert.equal((await byToken(id, live.token)).status, 200, 'the key\'s token works while the key does');
    const m = await mint(id, key.key);
    assert.equal((await api(srv, 'DELETE', `/api/v1/api-keys/${key.id}`, { token: u.token })).status, 204);
    const s = await byToken(id, m.token);
    assert.equal(s.status, 401, 'the key was revoked after minting');
    // Minted with the API key of a member who is then removed: refused (a key never acts above its creator).
    const keyOwner = await newUser(srv, 'sse-tok-keyowner');
    await addMember(srv, u.token, u.ws, keyOwner.email, 'admin');
    const ok2 = await api(srv, 'POST', '/api/v1/api-keys', { token: keyOwner.token, headers: { 'x-workspace-id': u.ws }, body: { name: 'sse-key2', role: 'viewer' } });
    assert.equal(ok2.status, 201, ok2.text);
    const km = await mint(id, ok2.json.key);
    assert.equal((await api(srv, 'DELETE', `/api/v1/workspaces/${u.ws}/members/${keyOwner.id}`, { token: u.token })).status, 204);
    assert.equal((await byToken(id, km.token)).status, 401, 'the key\'s creator left the workspace after minting');
    // Minted by a member who is then removed from the workspace: refused.
    const viewer = await newUser(srv, 'sse-tok-gone');
    await addMember(srv, u.token, u.ws, viewer.email, 'viewer');
    const vm = await mint(id, viewer.token, { 'x-workspace-id': u.ws });
    const del = await api(srv, 'DELETE', `/api/v1/workspaces/${u.ws}/members/${viewer.id}`, { token: u.token });
    assert.equal(del.status, 204, del.text);
    assert.equal((await byToken(id, vm.token)).status, 401, 'the member was removed after minting');
    // Minted in a session that then ends (logout): refused; the same user's other session's token still works.
    const sessionUser = await newUser(srv, 'sse-tok-logout');
    await addMember(srv, u.token, u.ws, sessionUser.email, 'viewer');
    const second = await api(srv, 'POST', '/api/v1/auth/login', { body: { email: sessionUser.email, password: sessionUser.password } });
    assert.equal(second.status, 200, second.text);
    const ended = await mint(id, sessionUser.token, { 'x-workspace-id': u.ws });
    const kept = await mint(id, second.json.access_token, { 'x-workspace-id': u.ws });
    assert.equal((await api(srv, 'POST', '/api/v1/auth/logout', { token: sessionUser.token })).status, 204);
    assert.equal((await byToken(id, ended.token)).status, 401, 'its session ended after minting');
    assert.equal((await byToken(id, kept.token)).status, 200, 'a token of the session still open works');
    // Minting is audited, naming the execution and never the token.
    const audit = await api(srv, 'GET', '/api/v1/audit-events?action=execution.stream_token&limit=200', { token: u.token });
    assert.equal(audit.status, 200, audit.text);
    const mine = audit.json.items.filter((e) => e.target_id === id);
    assert.ok(mine.length >= 3, `each minting is audited: ${audit.text}`);
    assert.ok(mine.some((e) => e.api_key_id === key.id || JSON.stringify(e).includes(key.id)), 'by the key that minted it');
    for (const k of [live.token, m.token, vm.token]) assert.ok(!audit.text.includes(k), 'no token in the audit log');
    assert.ok(!audit.text.includes(m.token.slice(4, 20)), 'nor a part of one');
  });

  await t.test('a token spent in one API process is refused by another', async () => {
    const id = await execute();
    const api2 = await startServer({ role: 'api', dataDir: srv.dataDir, db: srv.db || undefined, env: { TROUPE_WORKERS: '0' } });
    try {
      const there = { url: api2.url };
      const m = await mint(id);
      assert.equal((await byToken(id, m.token)).status, 200);
      const s2 = stream(there, url(id, `?token=${m.token}`));
      await s2.opened;
      s2.close();
      assert.equal(s2.status, 401, 'spent in the first process: refused in the second');
      const fresh = await mint(id);
      const s3 = stream(there, url(id, `?token=${fresh.token}`));
      await s3.until(() => s3.events.length >= 1, 5000, 'the replay in the second process');
      s3.close();
      assert.equal((await byToken(id, fresh.token)).status, 401, 'spent in the second: refused in the first');
    } finally {
      await api2.stop();
    }
  });

  await t.test('200 concurrent streams are served without a new thread', async () => {
    const id = await execute();
    // One stream first, so whatever a first stream starts is counted before.
    const warm = stream(srv, url(id), { token: u.token });
    await warm.until(() => warm.events.length >= 1, 5000, 'the first stream');
    const before = threads(srv.child.pid);
    const many = [];
    for (let i = 0; i < 200; i++) many.push(stream(srv, url(id), { token: u.token }));
    await Promise.all(many.map((s) => s.until(() => s.events.length >= 1, 20000, 'each replay')));
    const during = threads(srv.child.pid);
    writeEvents(srv, id, [{ type: 'execution.started', status: 'running' }]);
    await Promise.all(many.map((s) => s.until(() => s.events.length >= 2, 20000, 'the new event on each')));
    const after = threads(srv.child.pid);
    for (const s of many) assert.deepEqual(seqs(s), [1, 2]);
    assert.equal(during, before, `threads with 200 streams open: ${during}, before: ${before}`);
    assert.equal(after, before, `threads after an event to 200 streams: ${after}, before: ${before}`);
    const m = await api(srv, 'GET', '/metrics');
    assert.match(m.text, /troupe_http_open_connections (20[1-9]|2[1-9]\d)/, 'the 201 streams are open connections');
    const open = Number(m.text.match(/^troupe_sse_streams (\d+)$/m)[1]);
    assert.ok(open >= 201, `and at least these 201 streams in the hub (${open}: closed ones end at their next keep-alive)`);
    for (const s of many) s.close();
    warm.close();
    // Gone clients are noticed at the next keep-alive (300 ms here) and their streams end.
    let streams = -1;
    for (let i = 0; i < 60 && streams !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      streams = Number((await api(srv, 'GET', '/metrics')).text.match(/^troupe_sse_streams (\d+)$/m)[1]);
    }
    assert.equal(streams, 0, 'every closed stream ended on the server');
  });

  await t.test('the OpenAPI document describes the stream and the token', async () => {
    const doc = (await api(srv, 'GET', '/api/v1/openapi.json')).json;
    const get = doc.paths['/api/v1/executions/{id}/events/stream'].get;
    assert.ok(get.responses['200'].content['text/event-stream'], JSON.stringify(get.responses['200']));
    assert.deepEqual(get.parameters.filter((x) => x.in === 'query').map((x) => x.name).sort(), ['after', 'token']);
    const post = doc.paths['/api/v1/executions/{id}/stream-token'].post;
    const schema = JSON.stringify(post.responses['200'].content['application/json']);
    assert.match(schema, /StreamToken/);
    assert.deepEqual(doc.components.schemas.StreamToken.required.sort(), ['expires_at', 'token']);
  });
});

test('a stream open at shutdown ends, and the server exits cleanly', async () => {
  const srv = await startServer();
  const { u, execute } = await setup(srv);
  const id = await execute();
  const s = stream(srv, `/api/v1/executions/${id}/events/stream`, { token: u.token });
  await s.until(() => s.events.length >= 1, 5000, 'the replay');
  const t0 = Date.now();
  await srv.stop(); // exit status 0 and no sanitizer report, or it throws
  await s.until(() => s.ended, 5000, 'the end of the stream');
  assert.ok(Date.now() - t0 < 10000, 'the stream did not hold the shutdown until its timeout');
});

test('with the worker: live output.delta between the call\'s events, a reconnect or a stream attached mid-run misses nothing', async (t) => {
  const fake = await startFakeLlm();
  const srv = await startServer();
  t.after(async () => { fake.stop(); await srv.stop(); });
  const u = await newUser(srv, 'sse-run');
  const call = (m, p, body) => api(srv, m, p, { token: u.token, body });
  const mr = await call('POST', '/api/v1/models', { name: 'fake', provider: 'openai_compatible', model: 'fake-model', base_url: `${fake.url}/v1`, api_key: 'sse-key-secret-0123', default: true });
  assert.equal(mr.status, 201, mr.text);
  const ag = await call('POST', '/api/v1/agents', AGENT);
  const text1 = 'Agents plan, act and observe in loops.';
  // Slow enough that the streams are open before the text comes: the
  // fake waits, then sends the text four characters at a time.
  await fake.script([
    { match: 'MARK-A', replies: [{ text: text1, delay_ms: 300, gap_ms: 20 }] },
    { match: 'MARK-B', replies: [{ text: 'Report done.', delay_ms: 300, gap_ms: 20 }] },
  ]);
  const wr = await call('POST', '/api/v1/workflows', {
    name: 'live', inputs: [{ name: 'topic' }],
    tasks: [{ key: 'a', description: 'MARK-A {topic}', expected_output: 'x', agent_id: ag.json.id },
      { key: 'b', description: 'MARK-B', expected_output: 'y', agent_id: ag.json.id }],
  });
  assert.equal(wr.status, 201, wr.text);
  const ex = await call('POST', `/api/v1/workflows/${wr.json.id}/execute`, { inputs: { topic: 'AI' } });
  assert.equal(ex.status, 202, ex.text);
  const url = `/api/v1/executions/${ex.json.id}/events/stream`;
  const full = stream(srv, url, { token: u.token });
  const cut = stream(srv, url, { token: u.token });
  // The second client goes away after the first task's start and comes back.
  await cut.until(() => cut.events.some((e) => e.event === 'task.started'), 10000, 'task.started');
  cut.close();
  const lastSeen = cut.events.filter((e) => e.id).at(-1).id;
  const fromHub = async () => Number((await api(srv, 'GET', '/metrics')).text.match(/^troupe_sse_stored_from_hub_total (\d+)$/m)[1]);
  const hubBefore = await fromHub();
  // A third client attaches once task a's call has completed: the stored events from the database, then the rest live.
  await full.until(() => full.events.some((e) => e.event === 'llm.completed'), 10000, 'llm.completed');
  const mid = stream(srv, url, { token: u.token });
  await full.until(() => full.ended, 20000, 'the end of the execution');
  await mid.until(() => mid.ended, 10000, 'the end for the stream attached mid-run');
  assert.ok(await fromHub() > hubBefore, 'stored events reached the open streams from the hub, without a query');
  const back = stream(srv, url, { token: u.token, headers: { 'last-event-id': lastSeen } });
  await back.until(() => back.ended, 10000, 'the end after the reconnect');

  const stored = (await call('GET', `/api/v1/executions/${ex.json.id}/events?limit=200`)).json.items;
  assert.equal(stored.at(-1).type, 'execution.succeeded', JSON.stringify(stored.map((e) => e.type)));
  const ids = (s) => s.events.filter((e) => e.id).map((e) => e.data);
  assert.deepEqual(ids(full), stored, 'the whole stream: every stored event once, in order');
  assert.deepEqual([...ids(cut), ...ids(back)], stored, 'cut and resumed: every stored event once, in order');
  assert.deepEqual(ids(mid), stored, 'attached mid-run: every stored event once, in order');
  const midB = mid.events.filter((e) => e.event === 'output.delta' && e.data.task_key === 'b');
  assert.equal(midB.map((e) => e.data.data.text).join(''), 'Report done.', 'and task b\'s live text, whole');
  assert.equal(full.events.at(-1).event, 'execution.succeeded', 'the stream ends with the final event');

  // The deltas: no id, after their call's llm.started and before its llm.completed, the text whole and in order.
  const ev = full.events;
  const deltas = ev.filter((e) => e.event === 'output.delta');
  assert.ok(deltas.length >= 5, `live deltas seen: ${deltas.length}`);
  for (const d of deltas) assert.equal(d.id, undefined, 'a live event has no id');
  const started = ev.findIndex((e) => e.event === 'llm.started' && e.data.task_key === 'a');
  const completed = ev.findIndex((e) => e.event === 'llm.completed' && e.data.task_key === 'a');
  const ofA = ev.map((e, i) => [e, i]).filter(([e]) => e.event === 'output.delta' && e.data.task_key === 'a');
  assert.ok(ofA.length > 0 && ofA.every(([, i]) => i > started && i < completed), 'task a\'s deltas sit between its llm.started and llm.completed');
  assert.equal(ofA.map(([e]) => e.data.data.text).join(''), text1, 'the text, whole and in order');
  assert.ok(stored.every((e) => e.type !== 'output.delta'), 'output.delta is never stored');
});

// troupe api streams what a troupe worker (another process) writes: the
// API process hears of nothing but through its poll of the database.
test('troupe api streams a troupe worker\'s execution (PostgreSQL)', { skip: !PG_URL && 'no PostgreSQL (set TROUPE_TEST_PG_URL)' }, async (t) => {
  const fake = await startFakeLlm();
  const db = pgDatabase();
  const env = { PATH: process.env.PATH, TROUPE_DATABASE_URL: db.url, TROUPE_SECRET_KEY: 'test-secret-key-0123456789-abcdefghijkl', ASAN_OPTIONS: process.env.ASAN_OPTIONS || '', UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || '', LSAN_OPTIONS: process.env.LSAN_OPTIONS || '' };
  execFileSync(BIN, ['migrate'], { env, stdio: 'pipe' });
  const srv = await startServer({ role: 'api', db });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-sse-worker-'));
  const worker = spawn(BIN, ['worker', '--data', dataDir], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let werr = '';
  worker.stderr.on('data', (d) => { werr += d; });
  const wexit = new Promise((resolve) => worker.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    fake.stop();
    worker.kill('SIGTERM');
    const w = await wexit;
    await srv.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    try { pgQuery(PG_URL, `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`); } catch (e) { /* best effort */ }
    assert.equal(w.code, 0, `worker exited ${w.code} (${w.signal}):\n${werr.slice(-3000)}`);
  });
  const u = await newUser(srv, 'sse-pg');
  const call = (m, p, body) => api(srv, m, p, { token: u.token, body });
  assert.equal((await call('POST', '/api/v1/models', { name: 'fake', provider: 'openai_compatible', model: 'fake-model', base_url: `${fake.url}/v1`, api_key: 'sse-key-secret-0123', default: true })).status, 201);
  const ag = await call('POST', '/api/v1/agents', AGENT);
  await fake.script([{ match: 'MARK-P', replies: [{ text: 'one', delay_ms: 200 }] }, { match: 'MARK-Q', replies: [{ text: 'two', delay_ms: 200 }] }]);
  const wr = await call('POST', '/api/v1/workflows', {
    name: 'split', inputs: [{ name: 'topic' }],
    tasks: [{ key: 'p', description: 'MARK-P {topic}', expected_output: 'x', agent_id: ag.json.id },
      { key: 'q', description: 'MARK-Q', expected_output: 'y', agent_id: ag.json.id }],
  });
  const ex = await call('POST', `/api/v1/workflows/${wr.json.id}/execute`, { inputs: { topic: 'AI' } });
  assert.equal(ex.status, 202, ex.text);
  const s = stream(srv, `/api/v1/executions/${ex.json.id}/events/stream`, { token: u.token });
  await s.until(() => s.ended, 20000, 'the end of the worker\'s execution');
  const stored = (await call('GET', `/api/v1/executions/${ex.json.id}/events?limit=200`)).json.items;
  assert.equal(stored.at(-1).type, 'execution.succeeded', JSON.stringify(stored.map((e) => e.type)));
  assert.deepEqual(s.events.map((e) => e.data), stored, 'every stored event once, in order, from the other process');
});
