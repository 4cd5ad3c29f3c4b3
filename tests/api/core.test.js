// The gateway's contract (issue: core server): errors, limits, headers,
// health, metrics, OpenAPI, shutdown.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer, api, assertProblem, uniqueEmail } = require('./lib');

// A POST route with a JSON body schema, public, that every build has.
const BODY_ROUTE = '/api/v1/auth/register';

function rawRequest(port, head, { body, waitMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    const t0 = Date.now();
    let firstByteMs = null;
    s.on('data', (d) => { if (firstByteMs === null) firstByteMs = Date.now() - t0; data += d; });
    s.on('error', (e) => { if (!data) reject(e); });
    s.on('close', () => resolve({ data, firstByteMs }));
    s.write(head);
    if (body) s.write(body);
    setTimeout(() => s.destroy(), waitMs);
  });
}

test('core gateway', async (t) => {
  const srv = await startServer({ env: { TROUPE_CORS_ORIGINS: 'https://app.example.test' } });
  t.after(() => srv.stop());

  await t.test('healthz answers 200 with security headers and a request id', async () => {
    const r = await api(srv, 'GET', '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.ok(r.headers.get('content-security-policy'));
    assert.match(r.headers.get('x-request-id'), /^[A-Za-z0-9_-]{8,}$/);
  });

  await t.test('a given X-Request-Id is echoed; a hostile one is replaced', async () => {
    let r = await api(srv, 'GET', '/healthz', { headers: { 'x-request-id': 'abc-123.x' } });
    assert.equal(r.headers.get('x-request-id'), 'abc-123.x');
    r = await api(srv, 'GET', '/healthz', { headers: { 'x-request-id': 'bad"id<script>' } });
    assert.notEqual(r.headers.get('x-request-id'), 'bad"id<script>');
  });

  await t.test('unknown route is 404 problem+json', async () => {
    const r = await api(srv, 'GET', '/api/v1/nope');
    assertProblem(r, 404);
    assert.equal(r.json.instance, '/api/v1/nope');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  });

  await t.test('case variants and trailing slashes do not reach a route', async () => {
    assertProblem(await api(srv, 'GET', '/API/v1/version'), 404);
    assertProblem(await api(srv, 'GET', '/api/v1/version/'), 404);
    assertProblem(await api(srv, 'GET', '/api/v1//version'), 404);
  });

  await t.test('wrong method is 405 with Allow', async () => {
    const r = await api(srv, 'DELETE', '/healthz');
    assertProblem(r, 405);
    assert.equal(r.headers.get('allow'), 'GET');
    const r2 = await api(srv, 'PUT', BODY_ROUTE, { body: {} });
    assertProblem(r2, 405);
    assert.equal(r2.headers.get('allow'), 'POST');
  });

  await t.test('non-JSON content type is 415', async () => {
    const r = await api(srv, 'POST', BODY_ROUTE, { body: 'email=a', headers: { 'content-type': 'text/plain' } });
    assertProblem(r, 415);
  });

  await t.test('malformed JSON is 400 with the byte offset', async () => {
    const r = await api(srv, 'POST', BODY_ROUTE, { body: '{"email": "a@b.c",, }', headers: { 'content-type': 'application/json' } });
    assertProblem(r, 400);
    assert.match(r.json.detail, /byte \d+/);
  });

  await t.test('duplicate keys are 400 naming the key', async () => {
    const r = await api(srv, 'POST', BODY_ROUTE, {
      body: '{"email":"a@b.test","email":"c@d.test","password":"x","name":"n"}',
      headers: { 'content-type': 'application/json' },
    });
    assertProblem(r, 400, 'email');
  });

  await t.test('unknown fields are 400 naming the field', async () => {
    const r = await api(srv, 'POST', BODY_ROUTE, {
      body: { email: uniqueEmail(), password: 'long-enough-pass-1', name: 'N', bogus: 1 },
    });
    assertProblem(r, 400, 'bogus');
  });

  await t.test('wrong types are 400 naming the field', async () => {
    const r = await api(srv, 'POST', BODY_ROUTE, { body: { email: 5, password: 'long-enough-pass-1', name: 'N' } });
    assertProblem(r, 400, 'email');
    const r2 = await api(srv, 'POST', BODY_ROUTE, { body: [1, 2] });
    assertProblem(r2, 400);
  });

  await t.test('413 from Content-Length before the body is sent', async () => {
    const head = `POST ${BODY_ROUTE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n`;
    const { data, firstByteMs } = await rawRequest(srv.port, head, { waitMs: 3000 });
    assert.match(data, /^HTTP\/1\.1 413 /);
    assert.match(data, /application\/problem\+json/);
    // Answered without a byte of the 100 MiB body: well before the socket timeout.
    assert.ok(firstByteMs !== null && firstByteMs < 2000, `first byte after ${firstByteMs} ms`);
  });

  await t.test('413 when a chunked body crosses the limit', async () => {
    const chunk = 'x'.repeat(65536);
    let body = '';
    for (let i = 0; i < 20; i++) body += `${(65536).toString(16)}\r\n${chunk}\r\n`;
    body += '0\r\n\r\n';
    const head = `POST ${BODY_ROUTE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
    const { data } = await rawRequest(srv.port, head, { body, waitMs: 5000 });
    assert.match(data, /^HTTP\/1\.1 413 /);
  });

  await t.test('a body on a route that takes none is 400; an empty {} is let through', async () => {
    const head = 'GET /api/v1/version HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{"a":1}';
    const { data } = await rawRequest(srv.port, head, { waitMs: 2000 });
    assert.match(data, /^HTTP\/1\.1 400 /);
    assert.match(data, /takes no request body/);
    const empty = 'GET /api/v1/version HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}';
    assert.match((await rawRequest(srv.port, empty, { waitMs: 2000 })).data, /^HTTP\/1\.1 200 /);
  });

  await t.test('bad path ids are 400 naming the parameter', async () => {
    assertProblem(await api(srv, 'GET', '/api/v1/users/not-an-id'), 400, 'path.id');
    // Encoded slashes decode to dot segments, which no route has.
    assertProblem(await api(srv, 'GET', '/api/v1/users/..%2f..%2fetc'), 404);
  });

  await t.test('no CORS header for an unlisted Origin; exact match for a listed one', async () => {
    let r = await api(srv, 'GET', '/healthz', { headers: { origin: 'https://evil.example' } });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    r = await api(srv, 'GET', '/healthz', { headers: { origin: 'https://app.example.test' } });
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example.test');
    r = await api(srv, 'OPTIONS', '/api/v1/version', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    r = await api(srv, 'OPTIONS', '/api/v1/version', { headers: { origin: 'https://app.example.test', 'access-control-request-method': 'GET' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example.test');
  });

  await t.test('a burst of 300 new connections is answered in full', async () => {
    const one = () => new Promise((resolve) => {
      const sock = net.connect(srv.port, '127.0.0.1');
      let data = '';
      sock.on('connect', () => sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      sock.on('data', (d) => { data += d; });
      sock.on('close', () => resolve(data.startsWith('HTTP/1.1 200')));
      sock.on('error', () => resolve(false));
      sock.setTimeout(10000, () => sock.destroy());
    });
    const results = await Promise.all(Array.from({ length: 300 }, one));
    assert.equal(results.filter(Boolean).length, 300);
  });

  await t.test('readyz is 200 with the schema version', async () => {
    const r = await api(srv, 'GET', '/readyz');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'ready');
  });

  await t.test('/ says the server runs (no web app built) with the web page policy', async () => {
    const r = await api(srv, 'GET', '/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.match(r.headers.get('content-security-policy'), /default-src 'self'/);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assertProblem(await api(srv, 'GET', '/no/such/page'), 404);
    assertProblem(await api(srv, 'GET', '/../etc/passwd'), 404);
  });

  await t.test('version', async () => {
    const r = await api(srv, 'GET', '/api/v1/version');
    assert.equal(r.status, 200);
    assert.match(r.json.version, /^\d+\.\d+\.\d+/);
  });

  await t.test('metrics are Prometheus text with route, method and status labels', async () => {
    await api(srv, 'GET', '/healthz');
    const r = await api(srv, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    assert.match(r.text, /troupe_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+/);
    assert.match(r.text, /troupe_http_request_duration_seconds_bucket\{route="\/healthz",method="GET",le="\+Inf"\} \d+/);
    assert.match(r.text, /process_resident_memory_bytes \d+/);
    assert.match(r.text, /troupe_http_open_connections \d+/);
    assert.match(r.text, /troupe_db_pool_size \d+/);
    assert.match(r.text, /troupe_http_requests_total\{route="unmatched",method="any",status="404"\} \d+/);
    // the job queue: depth by state from the database, this process's workers' counters
    for (const st of ['queued', 'running', 'failed', 'dead']) {
      assert.match(r.text, new RegExp(`^troupe_jobs\\{state="${st}"\\} \\d+$`, 'm'));
    }
    for (const c of ['claims', 'lease_expiries', 'retries', 'dead_letters']) {
      assert.match(r.text, new RegExp(`^troupe_jobs_${c}_total \\d+$`, 'm'));
    }
  });

  await t.test('the access log is one JSON line per request without query strings', async () => {
    await api(srv, 'GET', '/api/v1/version?token=sekrit-canary-123');
    await new Promise((r) => setTimeout(r, 100));
    const lines = srv.stderr().split('\n').filter((l) => l.includes('"msg":"request"'));
    assert.ok(lines.length > 5);
    for (const l of lines) {
      const j = JSON.parse(l);
      for (const k of ['time', 'request_id', 'method', 'route', 'status', 'duration_ms', 'bytes']) assert.ok(k in j, k);
    }
    assert.doesNotMatch(srv.logs(), /sekrit-canary-123/);
  });
});

test('OpenAPI document is valid 3.1 and lists exactly the routes served', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const r = await api(srv, 'GET', '/api/v1/openapi.json');
  assert.equal(r.status, 200);
  const doc = r.json;
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(doc.info.title && doc.info.version);
  assert.ok(doc.paths['/healthz'].get);
  // Every $ref resolves.
  const refs = [];
  (function walk(o) {
    if (o && typeof o === 'object') {
      if (typeof o.$ref === 'string') refs.push(o.$ref);
      for (const v of Object.values(o)) walk(v);
    }
  })(doc);
  for (const ref of refs) {
    const parts = ref.replace(/^#\//, '').split('/');
    let cur = doc;
    for (const p of parts) cur = cur && cur[p];
    assert.ok(cur, `unresolved ${ref}`);
  }
  const methods = ['get', 'post', 'put', 'patch', 'delete'];
  const id = '01900000-0000-7000-8000-000000000000';
  // Another documented template that takes this concrete path and method
  // (e.g. PATCH /models/providers reaches PATCH /models/{id}).
  const templates = Object.entries(doc.paths).map(([p, item]) => ({ re: new RegExp('^' + p.replace(/\{[^}]+\}/g, '[^/]+') + '$'), item }));
  const servedElsewhere = (concrete, m) => templates.some((x) => x.item[m] && x.re.test(concrete));
  for (const [p, item] of Object.entries(doc.paths)) {
    assert.match(p, /^\//);
    const concrete = p.replace(/\{[^}]+\}/g, id);
    for (const m of methods) {
      const res = await fetch(srv.url + concrete, { method: m.toUpperCase(), headers: { 'content-type': 'application/json' }, body: m === 'get' || m === 'delete' ? undefined : '{}' });
      const body = await res.text();
      if (item[m]) {
        assert.ok(item[m].responses && item[m].operationId && item[m].summary, `${m} ${p} is incomplete`);
        // Served: the router knows it (whatever the auth or validation says).
        assert.ok(!(res.status === 404 && /no route matches/.test(body)) && res.status !== 405,
          `${m.toUpperCase()} ${p} is documented but not served: ${res.status} ${body}`);
      } else if (!servedElsewhere(concrete, m)) {
        assert.equal(res.status, 405, `${m.toUpperCase()} ${p} is served but not documented: ${res.status}`);
      }
    }
  }
});

test('SIGTERM lets a slow request finish, exits 0, and the data dir starts again', async () => {
  const srv = await startServer();
  const body = JSON.stringify({ email: uniqueEmail('slow'), password: 'a-long-enough-password-9', name: 'Slow' });
  const head = `POST ${BODY_ROUTE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  const done = new Promise((resolve) => {
    const s = net.connect(srv.port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('close', () => resolve(data));
    s.on('error', () => resolve(data));
    s.write(head + body.slice(0, 10));
    setTimeout(() => {
      srv.child.kill('SIGTERM'); // mid-request
      setTimeout(() => s.write(body.slice(10)), 500);
    }, 200);
  });
  const data = await done;
  assert.match(data, /^HTTP\/1\.1 (201|200|403) /, `the slow request was not answered: ${data}`);
  const st = await srv.exited;
  assert.equal(st.code, 0);
  const again = await startServer({ dataDir: srv.dataDir, db: srv.db });
  const r = await api(again, 'GET', '/readyz');
  assert.equal(r.status, 200);
  await again.stop();
  await srv.stop();
});

test('the web app is served from TROUPE_WEB_DIR, safely', async (t) => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const web = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-web-'));
  fs.mkdirSync(path.join(web, 'assets'));
  fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>app</title>');
  fs.writeFileSync(path.join(web, 'assets', 'app-1234.js'), 'console.log(1)');
  fs.writeFileSync(path.join(web, '.env'), 'SECRET=1');
  fs.symlinkSync('/etc/passwd', path.join(web, 'passwd'));
  const srv = await startServer({ env: { TROUPE_WEB_DIR: web } });
  t.after(async () => { await srv.stop(); fs.rmSync(web, { recursive: true, force: true }); });
  const idx = await api(srv, 'GET', '/');
  assert.equal(idx.status, 200);
  assert.match(idx.text, /<title>app<\/title>/);
  assert.match(idx.headers.get('content-security-policy'), /script-src 'self'/);
  const js = await api(srv, 'GET', '/assets/app-1234.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.match(js.headers.get('cache-control'), /immutable/);
  // Client-side routes (a page request: Accept names text/html) get the index
  // page; missing files with an extension and non-page requests do not.
  const html = { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } };
  assert.match((await api(srv, 'GET', '/agents/123', html)).text, /<title>app<\/title>/);
  assert.equal((await api(srv, 'GET', '/agents/123', { headers: { accept: 'application/json' } })).status, 404);
  assert.equal((await api(srv, 'GET', '/missing.js', html)).status, 404);
  // Dot files, symlinks and dot segments are never served.
  assert.equal((await api(srv, 'GET', '/.env')).status, 404);
  assert.doesNotMatch((await api(srv, 'GET', '/passwd')).text, /root:/);
  assert.doesNotMatch((await api(srv, 'GET', '/assets/..%2f.env')).text, /SECRET/);
  // /favicon.ico: the file when there is one, else 204 (no console 404).
  const noIcon = await api(srv, 'GET', '/favicon.ico', html);
  assert.equal(noIcon.status, 204);
  assert.equal(noIcon.text, '');
  assert.match(noIcon.headers.get('content-security-policy'), /default-src/);
  fs.writeFileSync(path.join(web, 'favicon.ico'), 'ICON');
  const icon = await api(srv, 'GET', '/favicon.ico');
  assert.equal(icon.status, 200);
  assert.equal(icon.text, 'ICON');
  assert.equal(icon.headers.get('content-type'), 'image/x-icon');
  // The API is never shadowed by the web app.
  assert.equal((await api(srv, 'GET', '/api/v1/nothing')).status, 404);
  assert.match((await api(srv, 'GET', '/api/v1/nothing')).headers.get('content-type'), /problem\+json/);
});

// Raw bytes of a GET (node:http, which leaves the encoding alone; fetch would
// decode it).
function rawGet(srv, p, headers) {
  const http = require('node:http');
  return new Promise((resolve, reject) => {
    http.get(srv.url + p, { headers }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
    }).on('error', reject);
  });
}

test('the embedded app is sent gzipped to clients that accept it (RFC 9110 12.5.3)', async (t) => {
  const zlib = require('node:zlib');
  const srv = await startServer();
  t.after(() => srv.stop());
  const plain = await rawGet(srv, '/', { 'accept-encoding': 'identity' });
  const entry = /src="(\/assets\/[^"]+\.js)"/.exec(plain.body.toString());
  if (!entry) return t.skip('this build embeds no web app');
  for (const p of ['/', entry[1]]) {
    const id = await rawGet(srv, p, { 'accept-encoding': 'identity' });
    const gz = await rawGet(srv, p, { 'accept-encoding': 'br;q=1.0, gzip;q=0.8, *;q=0.1' });
    const refused = await rawGet(srv, p, { 'accept-encoding': 'gzip;q=0, deflate' });
    const none = await rawGet(srv, p, {});
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip', p);
    // Minified JavaScript packs to about a third; the small index page less.
    assert.ok(gz.body.length < id.body.length / (p === '/' ? 1 : 2), `${p}: ${gz.body.length} gzipped of ${id.body.length}`);
    assert.deepEqual(zlib.gunzipSync(gz.body), id.body, `${p} gunzips to the identity form`);
    for (const r of [id, refused, none]) {
      assert.equal(r.headers['content-encoding'], undefined, p);
      assert.deepEqual(r.body, id.body);
    }
    // Both forms: Vary names Accept-Encoding; the CSP and cache headers stay.
    for (const r of [id, gz]) {
      assert.match(r.headers.vary || '', /Accept-Encoding/, p);
      assert.match(r.headers['content-security-policy'], /script-src 'self'/);
      assert.equal(r.headers['content-type'], id.headers['content-type']);
      assert.equal(r.headers['cache-control'], p === '/' ? 'no-cache' : 'public, max-age=31536000, immutable');
      assert.equal(Number(r.headers['content-length']), r.body.length);
    }
  }
});

test('the body limit holds at its edge: by Content-Length and chunked', async (t) => {
  const LIMIT = 1024; // the smallest TROUPE_BODY_LIMIT takes
  const srv = await startServer({ env: { TROUPE_BODY_LIMIT: String(LIMIT) } });
  t.after(() => srv.stop());
  // An empty JSON object of exactly n bytes, which the version route takes.
  const bodyOf = (n) => '{' + ' '.repeat(n - 2) + '}';
  const head = (extra) => `GET /api/v1/version HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}Connection: close\r\n\r\n`;
  const chunked = (body) => {
    let out = '';
    for (let i = 0; i < body.length; i += 100) {
      const c = body.slice(i, i + 100);
      out += `${c.length.toString(16)}\r\n${c}\r\n`;
    }
    return out + '0\r\n\r\n';
  };

  for (const n of [LIMIT - 1, LIMIT]) {
    await t.test(`${n} bytes (limit ${LIMIT}) are taken, by Content-Length and chunked`, async () => {
      let { data } = await rawRequest(srv.port, head(`Content-Length: ${n}\r\n`), { body: bodyOf(n) });
      assert.match(data, /^HTTP\/1\.1 200 /, data);
      ({ data } = await rawRequest(srv.port, head('Transfer-Encoding: chunked\r\n'), { body: chunked(bodyOf(n)) }));
      assert.match(data, /^HTTP\/1\.1 200 /, data);
    });
  }

  await t.test(`${LIMIT + 1} bytes by Content-Length are 413 before the body is sent`, async () => {
    // No body at all: the answer can only come from the declared length.
    const { data } = await rawRequest(srv.port, head(`Content-Length: ${LIMIT + 1}\r\n`), { waitMs: 5000 });
    assert.match(data, /^HTTP\/1\.1 413 /, `no 413 without the body: ${JSON.stringify(data)}`);
    assert.match(data, /application\/problem\+json/);
    const full = await rawRequest(srv.port, head(`Content-Length: ${LIMIT + 1}\r\n`), { body: bodyOf(LIMIT + 1) });
    assert.match(full.data, /^HTTP\/1\.1 413 /);
    const half = await rawRequest(srv.port, head(`Content-Length: ${LIMIT * 1.5}\r\n`), { body: bodyOf(LIMIT * 1.5) });
    assert.match(half.data, /^HTTP\/1\.1 413 /);
  });

  await t.test(`${LIMIT + 1} bytes chunked are 413`, async () => {
    const { data } = await rawRequest(srv.port, head('Transfer-Encoding: chunked\r\n'), { body: chunked(bodyOf(LIMIT + 1)) });
    assert.match(data, /^HTTP\/1\.1 413 /, data);
    assert.match(data, /application\/problem\+json/);
  });
});

test('readyz follows the schema version and the database (503, then 200 again)', async (t) => {
  const { execFileSync } = require('node:child_process');
  const path = require('node:path');
  const { PG_URL, pgQuery } = require('./lib');
  const srv = await startServer();
  t.after(() => srv.stop());
  const sql = (s) => (PG_URL ? pgQuery(srv.db.url, s)
    : execFileSync('sqlite3', [path.join(srv.dataDir, 'troupe.db')], { input: s, encoding: 'utf8' })).trim();
  const ready = async (status, detail) => {
    const r = await api(srv, 'GET', '/readyz');
    assert.equal(r.status, status, r.text);
    if (status === 200) assert.equal(r.json.status, 'ready');
    else {
      assertProblem(r, status);
      if (detail) assert.match(r.json.detail, detail);
      assert.doesNotMatch(r.text, /sqlite|malformed|syntax|postgres/i, 'driver text leaked');
    }
    return r;
  };
  const latest = (await ready(200)).json.schema;
  assert.equal(Number(sql('SELECT MAX(version) FROM schema_migrations')), latest);

  await t.test('a newer schema than the binary knows is 503, and 200 once it is gone', async () => {
    sql(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${latest + 1}, 'future', 0)`);
    await ready(503, new RegExp(`version ${latest + 1}; this binary needs ${latest}`));
    sql(`DELETE FROM schema_migrations WHERE version = ${latest + 1}`);
    await ready(200);
  });

  await t.test('an older schema (a migration not applied) is 503, and 200 once it is', async () => {
    const row = sql(`SELECT name || '|' || applied_at FROM schema_migrations WHERE version = ${latest}`).split('|');
    sql(`DELETE FROM schema_migrations WHERE version = ${latest}`);
    await ready(503, new RegExp(`version ${latest - 1}; this binary needs ${latest}`));
    sql(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${latest}, '${row[0]}', ${row[1]})`);
    await ready(200);
  });

  await t.test('a database that cannot be read is 503, and 200 once it can', { skip: PG_URL ? 'SQLite only (pg_recover.serial.test.js stops PostgreSQL)' : false }, async () => {
    // Corrupt the catalogue from another process: every query that reads a
    // table now fails in the server, as on a damaged file.
    const file = path.join(srv.dataDir, 'troupe.db');
    const orig = sql("SELECT sql FROM sqlite_master WHERE name = 'schema_migrations'");
    const sv = Number(sql('PRAGMA schema_version'));
    const setSql = (text, v) => execFileSync('sqlite3', [file], {
      input: `PRAGMA writable_schema=ON; UPDATE sqlite_master SET sql='${text.replace(/'/g, "''")}' WHERE name='schema_migrations'; PRAGMA schema_version=${v};`,
    });
    setSql('CREATE TABLE schema_migrations(', sv + 1);
    try {
      // Said as a database fault, not mistaken for an old schema (version 0).
      const r = await ready(503, /database|cannot be read/);
      assert.doesNotMatch(r.json.detail, /this binary needs/);
      assert.equal((await api(srv, 'GET', '/healthz')).status, 200, 'liveness does not depend on the database');
    } finally {
      setSql(orig, sv + 2);
    }
    await ready(200);
  });
});
