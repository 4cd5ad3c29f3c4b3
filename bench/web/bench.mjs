// bench/web (see run): FCP of the sign-in page (a cold context each run),
// when its form is on screen and what its scripts weigh on the wire; FCP of
// /executions/:id (assets cached, the session resumed by its cookie); and the
// time until the detail page of an execution holding 5,000 events shows them
// all in its timeline, from navigation start and from the stream's first
// byte, with the number of renders it took (the page marks each). The
// execution is a real run of a 3-task crew against the fake provider, then
// grown to 5,000+ events in the database (tool calls of its first task, the
// final event moved to the end): a generated execution, read by the page
// exactly as a real one (the stream replays stored events).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'web', 'package.json'));
const lib = require('../tests/api/lib.js');
const { chromium } = require('playwright-core');
const RUNS = Number(process.env.BENCH_RUNS || 7);
const EVENTS = 5000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, ${xs.length} runs)`;

async function call(srv, token, method, p, body) {
  const r = await lib.api(srv, method, p, { token, body });
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}

async function crewRun(srv, fake, token) {
  await call(srv, token, 'POST', '/api/v1/models', {
    name: 'fake', provider: 'openai_compatible', model: 'fake-model', base_url: `${fake.url}/v1`, api_key: 'bench-key-0123', default: true,
  });
  const agent = await call(srv, token, 'POST', '/api/v1/agents', { name: 'Bencher', role: 'r', goal: 'g', backstory: 'b' });
  const wf = await call(srv, token, 'POST', '/api/v1/workflows', {
    name: 'bench crew',
    tasks: ['research', 'analyse', 'report'].map((key) => ({ key, description: `${key} it`, expected_output: 'text', agent_id: agent.id })),
  });
  const ex = await call(srv, token, 'POST', `/api/v1/workflows/${wf.id}/execute`, { inputs: {} });
  for (;;) {
    const g = await call(srv, token, 'GET', `/api/v1/executions/${ex.id}`);
    if (g.status === 'succeeded') return ex.id;
    if (g.status === 'failed' || g.status === 'cancelled') throw new Error(`bench run ${g.status}: ${JSON.stringify(g.error)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Grows the finished execution to EVENTS+ events: tool call pairs of its
// first task before the final event, which moves to the end.
function grow(dataDir, id, n) {
  const q = `'${id}'`;
  const sql = `
.timeout 10000
BEGIN IMMEDIATE;
CREATE TEMP TABLE fin AS SELECT * FROM execution_events WHERE execution_id = ${q}
  AND seq = (SELECT MAX(seq) FROM execution_events WHERE execution_id = ${q});
DELETE FROM execution_events WHERE execution_id = ${q} AND seq = (SELECT seq FROM fin);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${n - 1})
INSERT INTO execution_events (execution_id, seq, workspace_id, type, at, task_key, attempt, data)
  SELECT fin.execution_id, fin.seq + i, fin.workspace_id,
    CASE i % 2 WHEN 0 THEN 'tool.started' ELSE 'tool.completed' END, fin.at, 'research', 1,
    json_object('call_id', 'c' || (i / 2), 'name', 'search', 'arguments', json_object('q', 'bees ' || (i / 2)),
      'result', CASE i % 2 WHEN 1 THEN 'result ' || (i / 2) END, 'duration_ms', 3)
  FROM n, fin;
INSERT INTO execution_events SELECT execution_id, seq + ${n}, workspace_id, type, at, task_key, attempt, data FROM fin;
UPDATE executions SET last_seq = last_seq + ${n} WHERE id = ${q};
COMMIT;
SELECT COUNT(*) FROM execution_events WHERE execution_id = ${q};`;
  return Number(execFileSync('sqlite3', [path.join(dataDir, 'troupe.db')], { input: sql }).toString().trim().split('\n').pop());
}

async function fcp(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const seen = performance.getEntriesByName('first-contentful-paint')[0];
        if (seen) return resolve(seen.startTime);
        new PerformanceObserver((l) => {
          const e = l.getEntriesByName('first-contentful-paint')[0];
          if (e) resolve(e.startTime);
        }).observe({ type: 'paint', buffered: true });
      }),
  );
}

// When an element matching sel is first on screen: ms since navigation
// start, taken in the frame after the one that added it (it is painted then).
async function shown(page, sel) {
  return page.evaluate(
    (q) =>
      new Promise((resolve) => {
        const done = () => {
          if (!document.querySelector(q)) return false;
          requestAnimationFrame(() => setTimeout(() => resolve(performance.now())));
          return true;
        };
        if (done()) return;
        const mo = new MutationObserver(() => {
          if (done()) mo.disconnect();
        });
        mo.observe(document.body, { subtree: true, childList: true });
      }),
    sel,
  );
}

// The scripts the page fetched: count, bytes on the wire and decoded.
async function scripts(page) {
  return page.evaluate(() => {
    const js = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.js'));
    return { n: js.length, wire: js.reduce((a, e) => a + e.encodedBodySize, 0), decoded: js.reduce((a, e) => a + e.decodedBodySize, 0) };
  });
}

// When the timeline reports want events: ms since navigation start, and
// since the stream's first byte.
async function rendered(page, want) {
  return page.evaluate(
    (n) =>
      new Promise((resolve) => {
        const done = () => {
          const el = document.querySelector('[aria-label^="Timeline: "]');
          if (!el || Number(el.getAttribute('aria-label').split(': ')[1]) < n) return false;
          const t = performance.now();
          const s = performance.getEntriesByName('troupe:stream-open').pop();
          const flushes = performance.getEntriesByName('troupe:flush').length;
          resolve({ total: t, open: s ? s.startTime : NaN, fromStream: s ? t - s.startTime : NaN, flushes });
          return true;
        };
        if (done()) return;
        const mo = new MutationObserver(() => {
          if (done()) mo.disconnect();
        });
        mo.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-label'] });
      }),
    want,
  );
}

const loadavg = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
const load0 = loadavg();
const [srv, fake] = await Promise.all([lib.startServer({ sqlite: true }), lib.startFakeLlm()]);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
try {
  const token = await lib.login(srv);
  const id = await crewRun(srv, fake, token);
  const total = grow(srv.dataDir, id, EVENTS);

  // The server's part: the whole stream read by Node, no browser.
  const server = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = await fetch(`${srv.url}/api/v1/executions/${id}/events/stream`, { headers: { authorization: `Bearer ${token}` } });
    await r.text();
    server.push(performance.now() - t0);
  }

  const signin = [];
  const form = [];
  let wire = null;
  for (let i = 0; i < RUNS; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(`${srv.url}/signin`, { waitUntil: 'commit' });
    signin.push(await fcp(page));
    form.push(await shown(page, 'input[name=password]'));
    wire ??= await scripts(page);
    await ctx.close();
  }

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  await page.goto(`${srv.url}/signin?next=${encodeURIComponent(`/executions/${id}`)}`);
  await page.getByLabel('Email').fill(lib.ADMIN_EMAIL);
  await page.getByLabel('Password').fill(lib.ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/executions\//);
  await rendered(page, total);
  const detail = [];
  const big = [];
  const bigOpen = [];
  const bigStream = [];
  const flushes = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${srv.url}/executions/${id}`, { waitUntil: 'commit' });
    const r = await rendered(page, total);
    detail.push(await fcp(page));
    big.push(r.total);
    bigOpen.push(r.open);
    bigStream.push(r.fromStream);
    flushes.push(r.flushes);
  }
  await ctx.close();

  const line = (what, xs, goal) => `${what}: ${fmt(xs)}; goal < ${goal} ms: ${median(xs) < goal ? 'met' : 'NOT met'} (ratio ${(median(xs) / goal).toFixed(2)})`;
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`bench/web on loopback, chromium headless, ${RUNS} runs each; load average at start ${load0}`);
  console.log(line('first contentful paint, sign in (cold)', signin, 500));
  console.log(line('  the sign-in form on screen (cold)', form, 500));
  console.log(`  its scripts: ${wire.n} files, ${kb(wire.wire)} on the wire (${kb(wire.decoded)} decoded)`);
  console.log(line('first contentful paint, execution detail (cached assets)', detail, 500));
  console.log(line(`execution with ${total} events, navigation start to all in the timeline`, big, 1000));
  console.log(`  the stream opened at: ${fmt(bigOpen)}`);
  console.log(`  from the stream's opening: ${fmt(bigStream)}, in a median of ${median(flushes)} renders`);
  console.log(`  the server alone sends that stream (read by Node, no browser) in: ${fmt(server)}`);
  console.log(`  load average when done: ${loadavg()} on ${os.cpus().length} CPUs`);
} finally {
  await browser.close();
  fake.stop();
  await srv.stop();
}
