// Running tools through POST /api/v1/tools/{id}/test: arguments checked
// against the parameters, http_request, web_fetch and custom tools through
// the guarded outbound client. Hostile URLs are refused (422 naming url)
// while a canary listener on loopback records no connection; an allowlisted
// loopback test server (TROUPE_OUTBOUND_ALLOW=localhost) is reached; secret
// header values never come back, even when the server echoes them.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const net = require('node:net');
const { startServer, api, assertProblem, newUser } = require('./authlib');

const HTTP_REQUEST = '00000000-0000-7000-8000-000000000004';
const WEB_FETCH = '00000000-0000-7000-8000-000000000005';
const SECRET = 'Bearer tool-canary-' + Date.now().toString(36) + '-Q9Z7';

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

test('tools run through the guarded client', async (t) => {
  // The canary: any connection to it is an SSRF that got through.
  const canaryHits = [];
  const canary = net.createServer((s) => { canaryHits.push(Date.now()); s.destroy(); });
  const cport = await listen(canary);
  // The allowlisted test server: a page, an echo, a redirect to the canary.
  const site = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.url === '/page') {
        res.setHeader('content-type', 'text/html');
        res.end('<html><head><title>Report</title><style>p{color:red}</style><script>var x = "hidden";</script></head>' +
          '<body><h1>Findings</h1><p>First   paragraph with <a href="/x">a link</a>.</p><ul><li>one</li><li>two</li></ul></body></html>');
      } else if (req.url === '/slow') {
        setTimeout(() => { if (!res.writableEnded) res.end('late'); }, 5000);
      } else if (req.url === '/binary') {
        res.setHeader('content-type', 'application/octet-stream');
        res.end(Buffer.concat([Buffer.from('PNG'), Buffer.from([0xff, 0x00, 0xc3]), Buffer.alloc(900000, 0x89)]));
      } else if (req.url === '/redirect') {
        res.statusCode = 302;
        res.setHeader('location', `http://127.0.0.1:${cport}/stolen`);
        res.end();
      } else {
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-echo-auth', req.headers.authorization || '');
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
      }
    });
  });
  const sport = await listen(site);
  const srv = await startServer({ env: { TROUPE_OUTBOUND_ALLOW: 'localhost' } });
  t.after(async () => { await srv.stop(); site.close(); canary.close(); });
  const u = await newUser(srv, 'tools-run');
  const run = (id, args) => api(srv, 'POST', `/api/v1/tools/${id}/test`, { token: u.token, body: { arguments: args } });
  const base = `http://localhost:${sport}`;

  const hostile = [
    `http://127.0.0.1:${cport}/`,
    `http://[::1]:${cport}/`,
    `http://2130706433:${cport}/`,
    `http://0x7f.1:${cport}/`,
    `http://0177.0.0.1:${cport}/`,
    `http://[::ffff:127.0.0.1]:${cport}/`,
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.5/',
    `http://user@127.0.0.1:${cport}/`,
    `${base}/redirect`,
  ];

  await t.test('http_request and web_fetch refuse hostile URLs: 422 naming arguments.url', async () => {
    for (const id of [HTTP_REQUEST, WEB_FETCH]) {
      for (const url of hostile) {
        const r = await run(id, { url });
        assertProblem(r, 422, 'arguments.url');
        assert.match(JSON.stringify(r.json.errors), /refused/, `${url}: ${r.text}`);
      }
    }
    assertProblem(await run(HTTP_REQUEST, { url: 'file:///etc/passwd' }), 422, 'arguments.url');
  });

  await t.test('a custom tool\'s test call refuses them too', async () => {
    for (const [i, url] of hostile.entries()) {
      const c = await api(srv, 'POST', '/api/v1/tools', { token: u.token, body: { name: `hostile-${i}`, url_template: url } });
      assert.equal(c.status, 201, c.text);
      assertProblem(await run(c.json.id, {}), 422, 'url');
    }
  });

  await t.test('the canary saw no connection', () => {
    assert.deepEqual(canaryHits, []);
  });

  await t.test('arguments are checked against the parameters first: 422 naming the argument', async () => {
    const r = await run(HTTP_REQUEST, { url: 5 });
    assertProblem(r, 422);
    assert.ok(r.json.errors.some((e) => e.field.startsWith('arguments') && e.field.includes('url')), r.text);
    assertProblem(await run(WEB_FETCH, {}), 422);
    assertProblem(await run(HTTP_REQUEST, { url: `${base}/x`, surprise: 1 }), 422);
  });

  await t.test('the pure built-ins run: calculator, current_datetime, json_query', async () => {
    const calc = await run('00000000-0000-7000-8000-000000000001', { expression: '(2 + 3) * sqrt(16)' });
    assert.equal(calc.status, 200, calc.text);
    assert.equal(calc.json.status, 200);
    assert.equal(JSON.parse(calc.json.body).result, 20);
    const zero = await run('00000000-0000-7000-8000-000000000001', { expression: '1/0' });
    assert.equal(zero.status, 422, zero.text);
    assert.ok(zero.json.errors.some((e) => e.field === 'arguments.expression'), zero.text);
    assertProblem(await run('00000000-0000-7000-8000-000000000001', { expression: 'import os' }), zero.status);
    const dt = await run('00000000-0000-7000-8000-000000000002', { timezone: 'Europe/Paris' });
    assert.equal(dt.status, 200, dt.text);
    assert.match(JSON.parse(dt.json.body).datetime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*[+-]0[12]:00$/);
    const bad = await run('00000000-0000-7000-8000-000000000002', { timezone: '../../etc/passwd' });
    assert.ok(bad.json.errors.some((e) => e.field === 'arguments.timezone'), bad.text);
    const jq = await run('00000000-0000-7000-8000-000000000003', { query: '$.a[?@.n > 1].n', document: { a: [{ n: 1 }, { n: 2 }, { n: 3 }] } });
    assert.equal(jq.status, 200, jq.text);
    assert.deepEqual(JSON.parse(jq.json.body).results, [2, 3]);
  });

  await t.test('web_fetch reaches the allowlisted server and answers readable text', async () => {
    const r = await run(WEB_FETCH, { url: `${base}/page` });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 200);
    assert.equal(r.json.truncated, false);
    assert.ok(Number.isInteger(r.json.duration_ms));
    assert.equal(r.json.body, 'Report\n\n# Findings\n\nFirst paragraph with a link.\none\ntwo');
    const json = await run(WEB_FETCH, { url: `${base}/data.json` });
    assert.equal(json.status, 200, json.text);
    assert.equal(JSON.parse(json.json.body).url, '/data.json', 'a JSON page comes as it is, not read as HTML');
  });

  await t.test('http_request sends method, headers and body', async () => {
    const r = await run(HTTP_REQUEST, { url: `${base}/echo?a=1`, method: 'PUT', headers: { 'X-Test': 'yes' }, body: 'hello' });
    assert.equal(r.status, 200, r.text);
    const echo = JSON.parse(r.json.body);
    assert.equal(echo.method, 'PUT');
    assert.equal(echo.url, '/echo?a=1');
    assert.equal(echo.headers['x-test'], 'yes');
    assert.equal(echo.body, 'hello');
    // Every argument problem is 422 naming the argument, whichever check finds it.
    assertProblem(await run(HTTP_REQUEST, { url: `${base}/echo`, headers: { 'X-Bad': 'a\r\nInjected: 1' } }), 422, 'arguments.headers.X-Bad');
    assertProblem(await run(HTTP_REQUEST, { url: `${base}/echo`, headers: { 'X-A\r\nInjected': '1' } }), 422);
    for (const name of ['Host', 'Keep-Alive', 'Trailer', 'Proxy-Authorization', 'Content-Length', 'Connection']) {
      assertProblem(await run(HTTP_REQUEST, { url: `${base}/echo`, headers: { [name]: 'x' } }), 422, `arguments.headers.${name}`);
    }
    assertProblem(await run(HTTP_REQUEST, { url: `${base}/echo`, method: 'GET\r\nX: 1' }), 422);
    // a binary body answers its valid UTF-8 prefix, quickly
    const bin = await run(HTTP_REQUEST, { url: `${base}/binary` });
    assert.equal(bin.status, 200, bin.text);
    assert.equal(bin.json.body, 'PNG');
  });

  await t.test('a custom tool\'s caps: max_response_bytes truncates, timeout_s ends the call', async () => {
    const small = await api(srv, 'POST', '/api/v1/tools', { token: u.token, body: { name: 'small', url_template: `${base}/page`, max_response_bytes: 10 } });
    const r = await run(small.json.id, {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.truncated, true);
    assert.equal(r.json.body.length, 10);
    const slow = await api(srv, 'POST', '/api/v1/tools', { token: u.token, body: { name: 'slow', url_template: `${base}/slow`, timeout_s: 1 } });
    const t0 = Date.now();
    const s2 = await run(slow.json.id, {});
    assertProblem(s2, 504);
    assert.ok(Date.now() - t0 < 4500, 'the call ended at its time cap');
  });

  await t.test('a custom tool fills its slots (URL percent-encoded, body JSON) and masks its secret', async () => {
    const c = await api(srv, 'POST', '/api/v1/tools', { token: u.token, body: {
      name: 'echo', method: 'POST', url_template: `${base}/echo/{city}?q={q}`,
      headers: [{ name: 'Authorization', value: SECRET, secret: true }, { name: 'X-City', value: 'city={city}' }],
      body_template: '{"city": {city}, "days": {days}}',
      parameters: { type: 'object', properties: { city: { type: 'string' }, q: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] },
    } });
    assert.equal(c.status, 201, c.text);
    const r = await run(c.json.id, { city: 'São Paulo/"x"', q: 'a&b=c', days: 3 });
    assert.equal(r.status, 200, r.text);
    assert.ok(!r.text.includes(SECRET), 'the secret is masked in the answer');
    assert.ok(!r.text.includes('Q9Z7'));
    const echo = JSON.parse(r.json.body);
    assert.equal(echo.url, '/echo/S%C3%A3o%20Paulo%2F%22x%22?q=a%26b%3Dc');
    assert.equal(echo.headers.authorization, '****');
    assert.equal(r.json.headers['x-echo-auth'], '****');
    // header bytes are UTF-8 as given; node reads them as latin1
    assert.equal(Buffer.from(echo.headers['x-city'], 'latin1').toString('utf8'), 'city=São Paulo/"x"');
    assert.deepEqual(JSON.parse(echo.body), { city: 'São Paulo/"x"', days: 3 });
    assertProblem(await run(c.json.id, { city: 'a\r\nX-Injected: 1' }), 422, 'arguments.city');
    // a new secret, then version 1 restored: the restored secret opens and is the one sent
    const p2 = await api(srv, 'PATCH', `/api/v1/tools/${c.json.id}`, { token: u.token, body: { headers: [{ name: 'Authorization', value: 'Bearer second-secret-value-2222', secret: true }] } });
    assert.equal(p2.status, 200, p2.text);
    const r2 = await run(c.json.id, { city: 'x' });
    assert.equal(JSON.parse(r2.json.body).headers.authorization, '****');
    assert.equal((await api(srv, 'POST', `/api/v1/tools/${c.json.id}/versions/1/restore`, { token: u.token, body: {} })).status, 200);
    const r3 = await run(c.json.id, { city: 'x' });
    assert.equal(r3.status, 200, r3.text);
    assert.equal(JSON.parse(r3.json.body).headers.authorization, '****', 'version 1\'s secret was sent (and masked)');
    assert.equal(JSON.parse(r3.json.body).headers['x-city'], 'city=x', 'version 1\'s headers');
    assertProblem(await run(c.json.id, { days: 2 }), 422);
  });
});
