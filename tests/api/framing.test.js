// Request framing (RFC 9112 2.2, 3.2, 5.1, 5.2, 6.1, 6.3): a request whose
// length two parsers could read differently is answered 400 and its
// connection closed, so a request hidden behind it is never served. Each
// case sends the ambiguous request and, on the same connection, a probe
// request; it asserts the first answer, that the server closed the
// connection, and that no second answer came. A control case shows the
// probe is answered when the first request is well formed, so the check
// can fail.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer } = require('./lib');

// The probe: its answer is the only one that says "ok".
const PROBE = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
// A route that takes GET with an empty {} body (every build has it).
const ROUTE = '/api/v1/version';
const J = 'Content-Type: application/json\r\n';

// Sends bytes on one connection; resolves with what came back and whether
// the server closed the connection, after waitMs or as soon as what came
// back matches until.
function exchange(port, bytes, waitMs = 3000, until = null) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks = [];
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    s.on('data', (d) => {
      chunks.push(d);
      if (until && until.test(Buffer.concat(chunks).toString('latin1'))) finish(false);
    });
    s.on('error', (e) => { if (!chunks.length) reject(e); else finish(true); });
    s.on('close', () => finish(true));
    s.write(Buffer.from(bytes, 'latin1'));
  });
}

function probeAnswered(data) {
  return /HTTP\/1\.[01] 200 /.test(data) || /"status":"ok"/.test(data);
}

// Ours: problem+json naming the field. libmicrohttpd's own refusals (it
// parses Content-Length and chunk sizes before troupe sees the request)
// are HTML: field is null for those.
const CASES = [
  // Content-Length and Transfer-Encoding together.
  ['Content-Length with Transfer-Encoding: chunked',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, 'header.Transfer-Encoding'],
  ['Transfer-Encoding with a space before the colon, and Content-Length',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 2\r\nTransfer-Encoding : chunked\r\n\r\n{}`, 400, 'header.Transfer-Encoding'],
  ['Transfer-Encoding with a tab before the colon, and Content-Length',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 2\r\nTransfer-Encoding\t: chunked\r\n\r\n{}`, 400, 'header.Transfer-Encoding'],
  ['Transfer-Encoding with a space before the colon, alone',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, 400, 'header.Transfer-Encoding'],
  // Content-Length given twice, or as a list.
  ['two different Content-Length headers',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} `, 400, 'header.Content-Length'],
  ['two identical Content-Length headers (refused, as RFC 9110 8.6 permits)',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}`, 400, 'header.Content-Length'],
  ['Content-Length: 5, 6', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 5, 6\r\n\r\n{}`, 400, null],
  ['Content-Length: 2, 2', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 2, 2\r\n\r\n{}`, 400, null],
  // Content-Length that is not one decimal number.
  ['Content-Length: +2', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: +2\r\n\r\n{}`, 400, null],
  ['Content-Length: -2', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: -2\r\n\r\n{}`, 400, null],
  ['Content-Length: 1 1', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 1 1\r\n\r\n{}`, 400, null],
  ['Content-Length: 0x2', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 0x2\r\n\r\n{}`, 400, null],
  ['an empty Content-Length', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: \r\n\r\n{}`, 400, null],
  ['a Content-Length past 64 bits', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 99999999999999999999999\r\n\r\n{}`, 413, null],
  // Transfer codings other than chunked alone.
  ['Transfer-Encoding: gzip', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: gzip\r\n\r\n{}`, 400, 'header.Transfer-Encoding'],
  ['Transfer-Encoding: chunked, gzip (chunked not last)',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, 400, 'header.Transfer-Encoding'],
  ['Transfer-Encoding: gzip, chunked', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, 400, 'header.Transfer-Encoding'],
  ['Transfer-Encoding: identity with Content-Length',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: identity\r\nContent-Length: 2\r\n\r\n{}`, 400, 'header.Transfer-Encoding'],
  ['Transfer-Encoding: identity alone', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: identity\r\n\r\n{}`, 400, 'header.Transfer-Encoding'],
  ['two Transfer-Encoding headers (chunked, then gzip)',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n`, 400, 'header.Transfer-Encoding'],
  ['Transfer-Encoding: chunked twice', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, 'header.Transfer-Encoding'],
  // RFC 9110 5.5 drops the space, but libmicrohttpd would not read the body as chunked.
  ['Transfer-Encoding: chunked with a trailing space',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: chunked \r\n\r\n2\r\n{}\r\n0\r\n\r\n`, 400, 'header.Transfer-Encoding'],
  ['Transfer-Encoding: xchunked', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, 400, 'header.Transfer-Encoding'],
  ['Transfer-Encoding on HTTP/1.0 (RFC 9112 6.1)',
    `GET ${ROUTE} HTTP/1.0\r\nHost: x\r\n${J}Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n0\r\n\r\n`, 400, 'header.Transfer-Encoding'],
  // Chunked bodies libmicrohttpd refuses itself.
  ['a chunk size past 64 bits', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n{}\r\n0\r\n\r\n`, 413, null],
  ['a chunk size that is not hexadecimal', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, 400, null],
  ['a signed chunk size', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: chunked\r\n\r\n+2\r\n{}\r\n0\r\n\r\n`, 400, null],
  // Line structure.
  ['obsolete line folding', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n b\r\n\r\n`, 400, 'header'],
  ['obsolete line folding of Transfer-Encoding',
    `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding:\r\n chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, 400, 'header'],
  ['obsolete line folding of Content-Length', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length:\r\n 2\r\n\r\n{}`, 400, 'header'],
  ['a bare LF between header lines', `GET ${ROUTE} HTTP/1.1\r\nHost: x\nX-Note: a\r\n\r\n`, 400, 'header'],
  ['a bare LF hiding Transfer-Encoding', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}X-Note: a\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, 'header'],
  ['bare LFs only', `GET ${ROUTE} HTTP/1.1\nHost: x\nX-Note: a\n\n`, 400, 'header'],
  ['a bare LF ending the request line', `GET ${ROUTE} HTTP/1.1\nHost: x\r\n\r\n`, 400, 'header'],
  ['a bare LF ending the header section', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n\n`, 400, 'header'],
  ['whitespace before the first header line (RFC 9112 2.2)', `GET ${ROUTE} HTTP/1.1\r\n Host: x\r\n\r\n`, 400, 'header'],
  ['a header line without a colon', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\nX-Note\r\n\r\n`, 400, null],
  ['a space inside a header name', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\nX Note: a\r\n\r\n`, 400, 'header'],
  ['a NUL in a header value', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\n\r\n`, 400, 'header'],
  ['a NUL in the last header value', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\nX-Note: a\0Transfer-Encoding: chunked\r\n\r\n`, 400, 'header'],
  ['a NUL in a header name', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\nX-No\0te: a\r\n\r\n`, 400, null],
  ['a bare CR in a header value', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n`, 400, 'header.X-Note'],
  ['a control character in a header value', `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n`, 400, 'header.X-Note'],
  // Host (RFC 9112 3.2).
  ['no Host on HTTP/1.1', `GET ${ROUTE} HTTP/1.1\r\n\r\n`, 400, 'header.Host'],
  ['two Host headers', `GET ${ROUTE} HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, 400, 'header.Host'],
];

test('request framing', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());

  await t.test('control: well-formed requests keep the connection, and the probe is answered', async () => {
    const ok = [
      `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 2\r\n\r\n{}`,
      `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Content-Length: 02\r\n\r\n{}`,
      `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\n${J}Transfer-Encoding: Chunked\r\n\r\n2;ext=1\r\n{}\r\n0\r\n\r\n`,
      `GET ${ROUTE} HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Spaces:   a b  \r\nX-Obs: caf\xe9\r\n\r\n`,
    ];
    for (const first of ok) {
      // The probe answered on the same connection: it was kept open.
      const { data } = await exchange(srv.port, first + PROBE, 10000, /"status":"ok"/);
      assert.match(data, /^HTTP\/1\.1 200 /, `${JSON.stringify(first)}: ${data}`);
      assert.match(data, /"version"/, `the first answer is the version route's: ${data}`);
      assert.ok(/"status":"ok"/.test(data), `the probe after ${JSON.stringify(first)} was not answered: ${data}`);
    }
  });

  for (const [name, bytes, status, field] of CASES) {
    await t.test(`${name}: ${status}, the connection closed, the request after it not served`, async () => {
      const { data, closed } = await exchange(srv.port, bytes + PROBE);
      assert.match(data, new RegExp(`^HTTP/1\\.1 ${status} `), `first answer: ${JSON.stringify(data)}`);
      assert.ok(closed, `the server kept the connection open: ${JSON.stringify(data)}`);
      assert.ok(!probeAnswered(data), `the request after it was served: ${JSON.stringify(data)}`);
      assert.match(data, /\r\nConnection: close\r\n/i);
      if (field) {
        assert.match(data, /\r\nContent-Type: application\/problem\+json\r\n/i);
        const j = JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4));
        assert.equal(j.status, status);
        assert.equal(j.type, '/problems/malformed-request');
        assert.ok(j.errors.some((e) => e.field === field), `no error names ${field}: ${JSON.stringify(j.errors)}`);
      }
    });
  }

  // A body refused before it is read (413 from Content-Length, 415, 401,
  // 404, 405, a bad path id) must not be read as the next request either:
  // here the body is the probe itself.
  const EARLY = [
    ['413 from Content-Length', 'POST /api/v1/workspaces', 'application/json', 2000000, 413],
    ['415', 'POST /api/v1/workspaces', 'text/plain', PROBE.length, 415],
    ['401', 'POST /api/v1/workspaces', 'application/json', PROBE.length, 401],
    ['404', 'POST /api/v1/nothing', 'application/json', PROBE.length, 404],
    ['405', 'PUT /healthz', 'application/json', PROBE.length, 405],
    ['400 for a path id', 'POST /api/v1/workspaces/not-an-id/members', 'application/json', PROBE.length, 400],
  ];
  for (const [name, line, type, length, status] of EARLY) {
    await t.test(`a body refused unread (${name}) is not read as a request`, async () => {
      const head = `${line} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n`;
      const { data, closed } = await exchange(srv.port, head + PROBE);
      assert.match(data, new RegExp(`^HTTP/1\\.1 ${status} `), data);
      assert.ok(closed, `the server kept the connection open: ${JSON.stringify(data)}`);
      assert.ok(!probeAnswered(data), `the body was served as a request: ${JSON.stringify(data)}`);
    });
  }

  await t.test('the server still answers after all of them', async () => {
    const { data } = await exchange(srv.port, PROBE.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
    assert.ok(probeAnswered(data), data);
  });
});
