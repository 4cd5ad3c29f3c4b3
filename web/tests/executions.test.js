// Executions in a real browser against troupe serve's worker and the fake
// provider at 300 ms a call: events appear while the run goes on, through
// the stream only (no reload, no polling), the final output as sanitised
// Markdown, cost per agent ("no price" for an unpriced model), cancel and
// resume, and a viewer without those buttons; axe and screenshots.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkA11y, launch, lib, noConsoleErrors, open, shot, signIn, until } from './browser.js';

const FINAL_MD = [
  '# Report on bees',
  '',
  'Bees **pollinate**; see [the source](https://example.com/bees).',
  '',
  '<img src="x" onerror="window.__xss = 1"> <script>window.__xss = 2</script>',
  '',
  '- one',
  '- two',
  '',
  '| Species | Hives |',
  '| --- | ---: |',
  '| honey bee | 12 |',
  '| bumblebee | 3 |',
  '',
  'Not ~~wasps~~ at all; more at www.example.org/hives.',
  '',
  '- [x] count the hives',
  '- [ ] weigh the honey',
].join('\n');

let srv;
let fake;
let browser;
let admin;
const ids = {};

async function call(method, p, body, token = admin) {
  const r = await lib.api(srv, method, p, { token, body });
  assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}

before(async () => {
  [srv, fake, browser] = await Promise.all([
    lib.startServer({ sqlite: true }),
    lib.startFakeLlm(['--latency-ms', '300']),
    launch(),
  ]);
  admin = await lib.login(srv);
  const model = (body) =>
    call('POST', '/api/v1/models', { provider: 'openai_compatible', base_url: `${fake.url}/v1`, api_key: 'exec-key-0123', ...body });
  const unpriced = await model({ name: 'fake', model: 'fake-model', default: true });
  const priced = await model({ name: 'mini', model: 'gpt-4o-mini' });
  const agent = (name, extra = {}) =>
    call('POST', '/api/v1/agents', { name, role: `${name} of {topic}`, goal: `Goal of ${name}`, backstory: `${name}.`, ...extra });
  ids.alpha = (await agent('Alpha', { model_id: unpriced.id })).id;
  ids.beta = (await agent('Beta', { model_id: priced.id })).id;
  await fake.script([
    { match: 'MARK-ONE', replies: [{ text: 'First findings on bees.', delay_ms: 700 }] },
    { match: 'MARK-TWO', replies: [{ text: 'Second: more on bees.', delay_ms: 700 }] },
    { match: 'MARK-THREE', replies: [{ text: FINAL_MD, delay_ms: 700 }] },
    { match: 'MARK-SLOW', replies: [{ text: 'slow answer', delay_ms: 30000 }, { text: 'quick answer after the resume' }] },
  ]);
  const wf = (name, tasks) => call('POST', '/api/v1/workflows', { name, inputs: [{ name: 'topic' }], tasks });
  ids.crew = (
    await wf('bee report', [
      { key: 'research', description: 'MARK-ONE research {topic}', expected_output: 'notes', agent_id: ids.alpha },
      { key: 'analyse', description: 'MARK-TWO analyse', expected_output: 'text', agent_id: ids.beta },
      { key: 'report', description: 'MARK-THREE report', expected_output: 'markdown', agent_id: ids.alpha },
    ])
  ).id;
  ids.slow = (
    await wf('slow crew', [
      { key: 'warmup', description: 'MARK-ONE warm up {topic}', expected_output: 'notes', agent_id: ids.alpha },
      { key: 'slow', description: 'MARK-SLOW take long', expected_output: 'text', agent_id: ids.alpha },
    ])
  ).id;
});

after(async () => {
  if (browser) await browser.close();
  if (fake) fake.stop();
  if (srv) await srv.stop();
});

// The execution routes the page requested, as "METHOD path".
function recordApi(page) {
  const seen = [];
  page.on('request', (r) => {
    const p = new URL(r.url()).pathname;
    if (p.startsWith('/api/v1/executions')) seen.push(`${r.method()} ${p}`);
  });
  return seen;
}

async function timelineCount(page) {
  const label = await page.getByRole('list', { name: /^Timeline: \d+$/ }).getAttribute('aria-label');
  return Number(label.split(': ')[1]);
}

// The timeline rows that show cut by the viewport's edge (none should), and
// the text of the first row wholly in view.
function timelineView(page) {
  return page.evaluate(() => {
    const region = document.querySelector('[role=region][aria-label=Timeline]');
    const r = region.getBoundingClientRect();
    const top = r.top + region.clientTop;
    const bottom = top + region.clientHeight;
    const cut = [];
    let first = null;
    for (const li of region.querySelectorAll('[role=listitem]')) {
      const b = li.getBoundingClientRect();
      if (b.bottom <= top + 0.5 || b.top >= bottom - 0.5) continue;
      if (b.top < top - 0.5 || b.bottom > bottom + 0.5) cut.push(li.textContent);
      else if (first === null || b.top < first.top) first = { top: b.top, text: li.textContent };
    }
    return { cut, first: first?.text ?? null };
  });
}

test('a run streams in: three events before the end, no reload, no polling; the output and the cost per agent', async () => {
  const page = await open(browser, 'light');
  await signIn(page, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD, '/executions');
  await page.getByText('No executions yet').waitFor();
  await checkA11y(page, 'executions, empty');
  const seen = recordApi(page);

  const ex = await call('POST', `/api/v1/workflows/${ids.crew}/execute`, { inputs: { topic: 'bees' } });
  ids.run = ex.id;
  await page.goto(`${srv.url}/executions/${ex.id}`);
  // A mark in the page's memory: a reload would lose it.
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  // Three events while the run is still going (3 calls at 300 ms each).
  const tl = page.getByRole('list', { name: /^Timeline: \d+$/ });
  await tl.waitFor();
  for (;;) {
    if ((await timelineCount(page)) >= 3) break;
    await page.waitForTimeout(20);
  }
  const mid = await call('GET', `/api/v1/executions/${ex.id}`);
  assert.ok(['queued', 'running'].includes(mid.status), `the run had ended already: ${mid.status}`);
  const midCount = await timelineCount(page);

  await page.locator('h1 + [data-status=succeeded]').waitFor({ timeout: 20000 });
  assert.ok((await timelineCount(page)) > midCount, 'more events came on the same page');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  const stored = await lib.api(srv, 'GET', `/api/v1/executions/${ex.id}/events?limit=200`, { token: admin });
  await until(page, (n) => document.querySelector('[aria-label^="Timeline: "]')?.getAttribute('aria-label') === `Timeline: ${n}`, stored.json.items.length);

  // The stream once; the execution read at open and once at the end; no
  // polling of the events or the list.
  const path = `/api/v1/executions/${ex.id}`;
  assert.equal(seen.filter((s) => s === `GET ${path}/events/stream`).length, 1, seen.join('\n'));
  assert.ok(seen.filter((s) => s === `GET ${path}`).length <= 2, seen.join('\n'));
  assert.deepEqual(seen.filter((s) => s === `GET ${path}/events` || s === 'GET /api/v1/executions'), [], seen.join('\n'));

  // The final output: Markdown, sanitised, links with rel=noopener.
  const out = page.locator('section[aria-labelledby=output-title]');
  await out.getByRole('heading', { name: 'Report on bees' }).waitFor();
  const link = out.getByRole('link', { name: 'the source' });
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
  assert.equal(await out.locator('img, script').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  // GitHub-flavoured Markdown: a table, strikethrough, an autolink and a
  // task list, still sanitised (no checkbox control, links noopener).
  const table = out.getByRole('table');
  assert.deepEqual(await table.locator('thead th').allTextContents(), ['Species', 'Hives']);
  assert.deepEqual(await table.locator('tbody tr').first().locator('td').allTextContents(), ['honey bee', '12']);
  assert.equal(await out.locator('del').textContent(), 'wasps');
  assert.equal(await out.getByRole('link', { name: 'www.example.org/hives' }).getAttribute('href'), 'http://www.example.org/hives');
  assert.equal(await out.getByRole('img', { name: 'done', exact: true }).count(), 1);
  assert.equal(await out.getByRole('img', { name: 'not done' }).count(), 1);
  assert.equal(await out.locator('input').count(), 0);

  // The header names the workflow (linked) and its version, when the run
  // started and for how long; the inputs given are in a table.
  const wfLink = page.getByRole('link', { name: 'bee report', exact: true });
  assert.equal(await wfLink.getAttribute('href'), `/workflows/${ids.crew}`);
  const head = await wfLink.locator('xpath=..').textContent();
  assert.match(head, /version 1 · started .+ · ran \d/);
  const inputs = page.getByRole('table', { name: 'Inputs' });
  assert.deepEqual(await inputs.locator('tbody tr').first().locator('td').allTextContents(), ['topic', 'bees']);

  // Cost per agent and model: Alpha's model has no price, Beta's has one.
  const byAgent = page.getByRole('table', { name: 'Usage by agent' });
  // A null cost is a dash named "no price set for this model"; a price reads
  // trimmed (0.000087 USD, not 0.000087000 or 0.000000).
  const noPrice = { name: 'no price set for this model' };
  await byAgent.getByRole('row', { name: /Alpha/ }).getByRole('img', noPrice).waitFor();
  assert.match(await byAgent.getByRole('row', { name: /Alpha/ }).textContent(), /—$/);
  assert.match(await byAgent.getByRole('row', { name: /Beta/ }).textContent(), /[^\d.]0\.0*[1-9]\d{0,5}( USD)?$/);
  const byModel = page.getByRole('table', { name: 'Usage by model' });
  await byModel.getByRole('row', { name: /fake-model/ }).getByRole('img', noPrice).waitFor();
  await page.getByRole('button', { name: 'Task report, succeeded' }).waitFor();
  // Watched live, the timeline followed the run to its last event, no row cut.
  const live = await timelineView(page);
  assert.deepEqual(live.cut, [], 'a timeline row is cut');
  const end = await page.evaluate(() => {
    const el = document.querySelector('[role=region][aria-label=Timeline]');
    return el.scrollHeight - el.scrollTop - el.clientHeight;
  });
  assert.equal(end, 0, 'the timeline is scrolled to its last event');

  // A task's calls: the messages sent and the answer.
  await page.getByRole('button', { name: 'Task research, succeeded' }).click();
  await page.getByLabel('Answer of call 1').getByText('First findings on bees.').waitFor();
  await checkA11y(page, 'a finished execution');
  await shot(page, 'execution-detail-light');
  noConsoleErrors(page);
  await page.context().close();
});

test('the list with filters and live status; both pages in dark', async () => {
  const page = await open(browser, 'light');
  await signIn(page, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD, '/executions');
  const row = page.getByRole('row', { name: /bee report/ });
  await row.locator('[data-status=succeeded]').waitFor();
  await checkA11y(page, 'executions list');
  await shot(page, 'executions-light');
  await page.getByLabel('Status').click();
  await page.getByRole('option', { name: 'failed' }).click();
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByText('No execution matches').waitFor();
  await page.getByLabel('Status').click();
  await page.getByRole('option', { name: 'succeeded' }).click();
  await page.getByLabel('Workflow').click();
  await page.getByRole('option', { name: 'bee report' }).click();
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await row.waitFor();
  noConsoleErrors(page);
  await page.context().close();

  const dark = await open(browser, 'dark');
  await signIn(dark, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD, '/executions');
  await dark.getByRole('row', { name: /bee report/ }).waitFor();
  await checkA11y(dark, 'executions list (dark)');
  await shot(dark, 'executions-dark');
  await dark.getByRole('link', { name: `…${ids.run.slice(-8)}` }).click();
  await dark.locator('h1 + [data-status=succeeded]').waitFor();
  await dark.getByRole('heading', { name: 'Report on bees' }).waitFor();
  // A finished execution's timeline opens at its first event, no row cut.
  const tl = await timelineView(dark);
  assert.deepEqual(tl.cut, [], 'a timeline row is cut');
  assert.match(tl.first ?? '', /^1\d.*execution\.queued/);
  await checkA11y(dark, 'a finished execution (dark)');
  await shot(dark, 'execution-detail-dark');
  noConsoleErrors(dark);
  await dark.context().close();
});

test('cancel a running execution, a viewer sees no cancel or resume, then resume it', async () => {
  const ex = await call('POST', `/api/v1/workflows/${ids.slow}/execute`, { inputs: { topic: 'wasps' } });
  const page = await open(browser, 'light');
  await signIn(page, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD, `/executions/${ex.id}`);
  await page.getByRole('button', { name: 'Task slow, running' }).waitFor({ timeout: 15000 });
  // The running time ticks while the run goes on.
  const ran = page.getByTestId('running-time');
  const ran1 = await ran.textContent();
  await until(page, (t) => document.querySelector('[data-testid=running-time]')?.textContent !== t, ran1, 2500);

  // A viewer of the same workspace, watching the running execution.
  const ws = (await call('GET', '/api/v1/workspaces')).items.find((w) => w.personal);
  const viewer = await lib.newUser(srv, 'execviewer');
  await call('POST', `/api/v1/workspaces/${ws.id}/members`, { email: viewer.email, role: 'viewer' });
  const vp = await open(browser, 'light');
  await signIn(vp, srv.url, viewer.email, viewer.password);
  await vp.getByLabel('Workspace').click();
  await vp.getByRole('option', { name: ws.name }).click();
  // Within the app (a reload would forget the chosen workspace).
  await vp.getByRole('link', { name: 'Executions' }).click();
  await vp.getByRole('link', { name: `…${ex.id.slice(-8)}` }).click();
  await vp.getByRole('button', { name: 'Task slow, running' }).waitFor({ timeout: 20000 });
  assert.equal(await vp.getByRole('button', { name: /^(Cancel|Resume)$/ }).count(), 0);
  const refused = await lib.api(srv, 'POST', `/api/v1/executions/${ex.id}/cancel`, { token: viewer.token, workspace: ws.id });
  assert.equal(refused.status, 403, refused.text);

  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('h1 + [data-status=cancelled]').waitFor({ timeout: 5000 });
  assert.equal((await call('GET', `/api/v1/executions/${ex.id}`)).status, 'cancelled');
  await vp.locator('h1 + [data-status=cancelled]').waitFor({ timeout: 5000 });
  assert.equal(await vp.getByRole('button', { name: /^(Cancel|Resume)$/ }).count(), 0);
  await checkA11y(vp, 'a cancelled execution as a viewer');
  await shot(vp, 'execution-cancelled-viewer-light');
  noConsoleErrors(vp);
  await vp.context().close();

  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('h1 + [data-status=succeeded]').waitFor({ timeout: 15000 });
  await page.getByRole('button', { name: 'Task slow, succeeded' }).click();
  await page.getByText('quick answer after the resume').first().waitFor();
  // Two runs; the running time leaves out the time it stood cancelled.
  assert.match(await ran.textContent(), /^ran .+ in 2 runs, the last since /);
  const evs = (await call('GET', `/api/v1/executions/${ex.id}/events?limit=200`)).items;
  const at = (type) => Date.parse(evs.find((e) => e.type === type).at);
  const done = await call('GET', `/api/v1/executions/${ex.id}`);
  const idle = at('execution.resumed') - at('execution.cancelled');
  assert.ok(idle > 300, `idle ${idle} ms`);
  const shown = Number(await ran.getAttribute('data-ms'));
  assert.ok(shown > 0 && shown <= Date.parse(done.ended_at) - Date.parse(done.started_at) - idle, `ran ${shown} ms`);
  await checkA11y(page, 'a resumed execution');
  await shot(page, 'execution-resumed-light');
  noConsoleErrors(page);
  await page.context().close();
});
