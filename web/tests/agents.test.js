// Browser tests of the Tools and Agents pages: Debian's chromium, headless,
// driven by playwright-core against a real `troupe serve` on SQLite. A small
// HTTP server of the test's own, allowed through TROUPE_OUTBOUND_ALLOW,
// answers the custom tool's test call. axe runs on every page with data on
// it and on forms showing a field error; screenshots, light and dark, go to
// WEB_RESULTS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const lib = require('../../tests/api/lib.js');
const { chromium } = require('playwright-core');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const here = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = process.env.WEB_RESULTS || path.resolve(here, '..', 'results');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CALCULATOR = '00000000-0000-7000-8000-000000000001';
const SECRET = 'Bearer sk-test-secret-9876';

let srv;
let fake;
let browser;
let site;
let sitePort;
const seen = []; // the requests the tool's site received

before(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  // The custom tool's API: echoes what it was asked, never the secret.
  site = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const city = decodeURIComponent(req.url.split('/')[2] || '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ city, forecast: 'sunny', units: req.headers['x-units'] || null, request: JSON.parse(body || 'null') }));
    });
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  sitePort = site.address().port;
  [srv, fake] = await Promise.all([
    lib.startServer({ sqlite: true, env: { TROUPE_OUTBOUND_ALLOW: 'localhost' } }),
    lib.startFakeLlm(),
  ]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (fake) fake.stop();
  if (srv) await srv.stop();
  if (site) site.close();
});

async function open(mode) {
  const ctx = await browser.newContext({ colorScheme: mode, viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(m.text());
  });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  return page;
}

async function checkA11y(page, what) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `axe on ${what}`,
  );
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(RESULTS, `${name}.png`), fullPage: true });
}

async function signIn(page, where, email = lib.ADMIN_EMAIL, password = lib.ADMIN_PASSWORD) {
  await page.goto(srv.url + where);
  await page.waitForURL(/\/signin\?next=/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === where);
}

// Any console error fails, a CSP refusal among them; the browser's own line
// for an API answer of 4xx (a refusal the page shows) is not an app error.
function noConsoleErrors(page) {
  const errors = page.errors.filter((e) => !/^Failed to load resource: the server responded with a status of 4\d\d/.test(e));
  assert.deepEqual(errors, [], 'console errors');
}

// The helper text MUI ties to a field by aria-describedby.
async function helperOf(page, locator) {
  const id = await locator.getAttribute('aria-describedby');
  return page.locator(`[id="${id}"]`).textContent();
}

let adminToken;
let toolId;
let agentId;
let modelId;

test('tools: built-ins with their parameters; a custom HTTP tool with a secret header, a field error, test calls', async () => {
  adminToken = await lib.login(srv);
  const page = await open('light');
  await signIn(page, '/tools');
  // The built-ins, their parameters read from their JSON Schema.
  const calc = page.getByRole('table', { name: 'Parameters of calculator' });
  await calc.getByRole('cell', { name: 'expression', exact: true }).waitFor();
  await page.getByRole('table', { name: 'Parameters of current_datetime' }).getByRole('cell', { name: 'timezone' }).waitFor();
  await page.getByText('No custom tools yet: add one').waitFor();

  await page.getByRole('link', { name: 'New HTTP tool' }).click();
  await page.waitForURL(/\/tools\/new$/);
  await page.getByLabel(/^Name/).fill('weather');
  await page.getByLabel('Description').fill('The forecast of a city');
  await page.getByLabel('Method').click();
  await page.getByRole('option', { name: 'POST' }).click();
  // A URL the server refuses: its error shows beside the URL field.
  const url = page.getByLabel('URL template');
  await url.fill('ftp://localhost/{city}');
  await page.getByRole('button', { name: 'Add header' }).click();
  await page.getByLabel('Header 1 name').fill('Authorization');
  await page.getByLabel('Header 1 value').fill(SECRET);
  await page.getByLabel('Header 1 is secret').check();
  await page.getByRole('button', { name: 'Add header' }).click();
  await page.getByLabel('Header 2 name').fill('X-Units');
  await page.getByLabel('Header 2 value').fill('{units}');
  await page.getByLabel('Body template').fill('{"city": {city}, "days": {days}}');
  await page.getByLabel('Parameters (JSON Schema)').fill(
    JSON.stringify({
      type: 'object',
      properties: {
        city: { type: 'string', description: 'The city' },
        units: { type: 'string', enum: ['metric', 'imperial'] },
        days: { type: 'integer', minimum: 1, maximum: 14 },
      },
      required: ['city'],
    }, null, 2),
  );
  // The readable preview follows the schema as it is typed.
  await page.getByRole('table', { name: 'Parameters preview' }).getByText('one of: metric, imperial').waitFor();
  await page.getByText('Slots used: {city}, {days}, {units}').waitFor();
  await page.getByRole('button', { name: 'Create tool' }).click();
  await page.locator('input[name=url_template][aria-invalid=true]').waitFor();
  assert.match(await helperOf(page, url), /http/, 'the URL field says what to fix');
  await checkA11y(page, 'tool editor with a field error');
  await shot(page, 'tool-editor-error-light');

  await url.fill(`http://localhost:${sitePort}/weather/{city}`);
  await page.getByRole('button', { name: 'Create tool' }).click();
  await page.waitForURL(/\/tools\/[0-9a-f-]{36}$/);
  toolId = page.url().split('/').pop();
  // The secret is write-only: its last 4 show, never the value.
  const secretValue = page.getByLabel('Header 1 value');
  assert.equal(await secretValue.inputValue(), '');
  assert.match(await helperOf(page, secretValue), /ends in 9876; leave empty to keep it/);
  assert.doesNotMatch(await page.content(), /sk-test-secret/);

  // A test call without the required city: the server's 422 beside the argument.
  await page.getByRole('button', { name: 'Test call' }).click();
  await page.locator('input[name="arguments.city"][aria-invalid=true]').waitFor();
  // Then a good one: the status and the body show; the site got the secret.
  await page.getByLabel('city *').fill('São Paulo');
  await page.getByLabel('units').fill('metric');
  await page.getByLabel('days').fill('3');
  await page.getByRole('button', { name: 'Test call' }).click();
  await page.getByText(/^HTTP 200 in \d+ ms/).waitFor();
  const body = await page.getByLabel('Response body').textContent();
  assert.match(body, /"city": "São Paulo"/);
  assert.match(body, /"days": 3/);
  const last = seen[seen.length - 1];
  assert.equal(last.method, 'POST');
  assert.equal(last.headers.authorization, SECRET);
  assert.equal(last.headers['x-units'], 'metric');
  await checkA11y(page, 'tool editor with a test call');
  await shot(page, 'tool-editor-light');

  // A tool whose URL the outbound guard refuses: the alert says what to fix.
  const lan = await lib.api(srv, 'POST', '/api/v1/tools', {
    token: adminToken,
    body: { name: 'intranet', url_template: 'http://10.0.0.5/status' },
  });
  assert.equal(lan.status, 201, lan.text);
  await page.goto(`${srv.url}/tools/${lan.json.id}`);
  await page.getByRole('button', { name: 'Test call' }).click();
  await page.getByRole('status').filter({ hasText: /URL template: refused: .*10\.0\.0\.5.*private/ }).waitFor();

  // Edit (version 2); a save over someone else's version 3 is explained and
  // reloads theirs; the versions page compares them and restores version 1.
  await page.goto(`${srv.url}/tools/${toolId}`);
  await page.getByLabel('Description').fill('The forecast of a city, by day');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved as version 2.').waitFor();
  const other = await lib.api(srv, 'PATCH', `/api/v1/tools/${toolId}`, { token: adminToken, body: { timeout_s: 10 } });
  assert.equal(other.json.version, 3, other.text);
  await page.getByLabel('Description').fill('Mine');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Someone else saved version 3 of this tool while you were editing version 2').waitFor();
  await page.getByRole('button', { name: 'Reload version 3' }).click();
  assert.equal(await page.getByLabel('Timeout (seconds)').inputValue(), '10');
  assert.equal(await page.getByLabel('Description').inputValue(), 'The forecast of a city, by day');
  await page.getByRole('link', { name: 'Versions' }).click();
  await page.waitForURL(/\/tools\/.*\/versions$/);
  const tdiff = page.getByRole('table', { name: 'Changes from version 2 to version 3' });
  await tdiff.getByRole('row', { name: /Timeout \(s\).*30.*10/ }).waitFor();
  await page.getByRole('button', { name: 'Restore version 1' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Restore' }).click();
  await page.getByText('Version 1 restored as version 4.').waitFor();
  const t4 = await lib.api(srv, 'GET', `/api/v1/tools/${toolId}`, { token: adminToken });
  assert.equal(t4.json.description, 'The forecast of a city');
  assert.equal(t4.json.headers[0].value_last4, '9876', 'the restored version keeps its secret');
  await checkA11y(page, 'tool versions');
  await shot(page, 'tool-versions-light');

  await page.getByRole('link', { name: 'All tools' }).click();
  await page.getByRole('row', { name: /weather/ }).waitFor();
  await checkA11y(page, 'tools list');
  await shot(page, 'tools-light');

  // The search box narrows both lists by the API's q: the description of a
  // custom tool, then a built-in's name; each empty list says so.
  const custom = page.getByRole('table', { name: 'Custom HTTP tools' });
  const search = page.getByLabel('Search tools');
  await search.fill('forecast');
  await page.getByText('No built-in tool’s name or description holds “forecast”.').waitFor();
  assert.deepEqual(await custom.locator('tbody tr td:first-child').allTextContents(), ['weather']);
  await checkA11y(page, 'tools list, searched');
  await shot(page, 'tools-search-light');
  await search.fill('calcul');
  await page.getByText('No custom tool’s name or definition holds “calcul”.').waitFor();
  assert.deepEqual(await page.locator('article h3').allTextContents(), ['calculator']);
  // A search the API refuses (over 200 bytes: 150 two-byte letters) is named beside the box.
  await search.fill('é'.repeat(150));
  await page.locator('input[type=search][aria-invalid=true]').waitFor();
  assert.equal(await helperOf(page, search), 'Search must be at most 200 characters');
  await checkA11y(page, 'tools search with a field error');
  await search.fill('');
  await page.getByRole('row', { name: /intranet/ }).waitFor();
  noConsoleErrors(page);
  await page.context().close();

  const dark = await open('dark');
  await signIn(dark, '/tools');
  await dark.getByRole('row', { name: /weather/ }).waitFor();
  await checkA11y(dark, 'tools list (dark)');
  await shot(dark, 'tools-dark');
  await dark.getByRole('link', { name: 'Edit weather' }).click();
  await dark.getByLabel('city *').fill('Oslo');
  await dark.getByRole('button', { name: 'Test call' }).click();
  await dark.getByText(/^HTTP 200 in \d+ ms/).waitFor();
  await checkA11y(dark, 'tool editor (dark)');
  await shot(dark, 'tool-editor-dark');
  noConsoleErrors(dark);
  await dark.context().close();
});

test('agents: create with a model and tools through the UI, a field error, edit, a stale save, versions, diff, restore', async () => {
  const m = await lib.api(srv, 'POST', '/api/v1/models', {
    token: adminToken,
    body: { name: 'fake gpt', provider: 'openai_compatible', model: 'gpt-4o-mini', base_url: `${fake.url}/v1` },
  });
  assert.equal(m.status, 201, m.text);
  modelId = m.json.id;

  const page = await open('light');
  await signIn(page, '/agents');
  await page.getByText('No agents yet: create one').waitFor();
  await checkA11y(page, 'agents list, empty');
  await shot(page, 'agents-empty-light');
  await page.getByRole('link', { name: 'New agent' }).click();
  await page.waitForURL(/\/agents\/new$/);
  await page.getByLabel(/^Name/).fill('Researcher');
  await page.getByLabel(/^Role/).fill('Senior data researcher');
  await page.getByLabel(/^Goal/).fill('Uncover developments in {topic} for {year}');
  await page.getByText('Filled from the run’s inputs: {topic}, {year}').waitFor();
  await page.getByLabel(/^Backstory/).fill('You are a seasoned researcher.');
  await page.getByLabel('Model', { exact: true }).click();
  await page.getByRole('option', { name: /fake gpt/ }).click();
  const tools = page.getByLabel('Tools', { exact: true });
  await tools.fill('weath');
  await page.getByRole('option', { name: /weather/ }).click();
  await tools.fill('calcul');
  await page.getByRole('option', { name: /calculator/ }).click();
  await page.keyboard.press('Escape');
  // Above the server's bound: its error shows beside the field.
  const maxIter = page.getByLabel('Max iterations');
  await maxIter.fill('500');
  await page.getByLabel('Max requests per minute').fill('30');
  await page.getByLabel('Allow delegation to other agents').check();
  await page.getByRole('button', { name: 'Create agent' }).click();
  await page.locator('input[name=max_iter][aria-invalid=true]').waitFor();
  assert.match(await helperOf(page, maxIter), /200/);
  await checkA11y(page, 'agent editor with a field error');
  await shot(page, 'agent-editor-error-light');

  await maxIter.fill('10');
  await page.getByRole('button', { name: 'Create agent' }).click();
  await page.waitForURL(/\/agents\/[0-9a-f-]{36}$/);
  agentId = page.url().split('/').pop();
  // Found through the API's search, as saved.
  const found = await lib.api(srv, 'GET', '/api/v1/agents?q=senior%20DATA', { token: adminToken });
  const a = found.json.items.find((x) => x.id === agentId);
  assert.ok(a, found.text);
  assert.equal(a.model_id, modelId);
  assert.deepEqual([...a.tool_ids].sort(), [toolId, CALCULATOR].sort());
  assert.equal(a.max_iter, 10);
  assert.equal(a.max_rpm, 30);
  assert.equal(a.allow_delegation, true);
  assert.equal(a.goal, 'Uncover developments in {topic} for {year}');

  // Edit: version 2.
  await page.getByLabel(/^Goal/).fill('Find the best sources on {topic}');
  await page.getByLabel('Change note').fill('sharper goal');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved as version 2.').waitFor();
  await checkA11y(page, 'agent editor');
  await shot(page, 'agent-editor-light');

  // Someone else saves version 3; this page's save is explained, then overwrites.
  const other = await lib.api(srv, 'PATCH', `/api/v1/agents/${agentId}`, { token: adminToken, body: { max_rpm: 60 } });
  assert.equal(other.json.version, 3, other.text);
  await page.getByLabel(/^Backstory/).fill('You are a meticulous researcher.');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Someone else saved version 3 of this agent while you were editing version 2').waitFor();
  await page.getByRole('button', { name: 'Overwrite with mine' }).click();
  await page.getByText('Saved as version 4.').waitFor();
  const v4 = await lib.api(srv, 'GET', `/api/v1/agents/${agentId}`, { token: adminToken });
  assert.equal(v4.json.backstory, 'You are a meticulous researcher.');

  // Versions: compare 1 with 2, field by field, then restore 1.
  await page.getByRole('link', { name: 'Versions' }).click();
  await page.waitForURL(/\/versions$/);
  await page.getByRole('row', { name: /sharper goal/ }).waitFor();
  await page.getByRole('button', { name: 'Compare version 1 with the current one' }).waitFor();
  await page.getByRole('combobox', { name: 'To version' }).click();
  await page.getByRole('option', { name: '2', exact: true }).click();
  await page.getByRole('combobox', { name: 'From version' }).click();
  await page.getByRole('option', { name: '1', exact: true }).click();
  const diff = page.getByRole('table', { name: 'Changes from version 1 to version 2' });
  const goalRow = diff.getByRole('row', { name: /Goal/ });
  await goalRow.getByText('Uncover developments in {topic} for {year}').waitFor();
  await goalRow.getByText('Find the best sources on {topic}').waitFor();
  await checkA11y(page, 'agent versions with a diff');
  await shot(page, 'agent-versions-light');

  await page.getByRole('button', { name: 'Restore version 1' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Restore' }).click();
  await page.getByText('Version 1 restored as version 5.').waitFor();
  const v5 = await lib.api(srv, 'GET', `/api/v1/agents/${agentId}`, { token: adminToken });
  assert.equal(v5.json.version, 5);
  assert.equal(v5.json.goal, 'Uncover developments in {topic} for {year}');
  assert.equal(v5.json.max_rpm, 30);

  // The list, searched by the API's q.
  for (const [name, role] of [['Writer', 'Tech content writer'], ['Editor', 'Chief editor']]) {
    const r = await lib.api(srv, 'POST', '/api/v1/agents', {
      token: adminToken,
      body: { name, role, goal: `Write about {topic}`, backstory: 'Experienced.', tool_ids: [CALCULATOR] },
    });
    assert.equal(r.status, 201, r.text);
  }
  await page.getByRole('link', { name: 'All agents' }).click();
  await page.getByRole('row', { name: /Chief editor/ }).waitFor();
  assert.equal(await page.getByRole('row').count(), 4, 'a header and three agents');
  await checkA11y(page, 'agents list');
  await shot(page, 'agents-light');
  const search = page.getByLabel('Search agents');
  await search.fill('nobody-has-this');
  await page.getByText('No agent’s name or role holds “nobody-has-this”.').waitFor();
  await search.fill('DATA res');
  await page.getByRole('row', { name: /Researcher.*fake gpt/ }).waitFor();
  await page.getByRole('row', { name: /Chief editor/ }).waitFor({ state: 'detached' });
  assert.equal(await page.getByRole('row').count(), 2, 'only the researcher matches');
  // A tool an agent lists cannot be deleted: the alert names the agent.
  await page.goto(`${srv.url}/tools/${toolId}`);
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('alert').filter({ hasText: /agents\[0\]: .*Researcher/ }).waitFor();
  noConsoleErrors(page);
  await page.context().close();

  const dark = await open('dark');
  await signIn(dark, '/agents');
  await dark.getByRole('row', { name: /Chief editor/ }).waitFor();
  await checkA11y(dark, 'agents list (dark)');
  await shot(dark, 'agents-dark');
  await dark.getByRole('link', { name: 'Edit Researcher' }).click();
  await dark.getByLabel(/^Name/).waitFor();
  await checkA11y(dark, 'agent editor (dark)');
  await shot(dark, 'agent-editor-dark');
  await dark.getByRole('link', { name: 'Versions' }).click();
  await dark.getByRole('table', { name: 'Changes from version 4 to version 5' }).waitFor();
  await checkA11y(dark, 'agent versions (dark)');
  await shot(dark, 'agent-versions-dark');
  noConsoleErrors(dark);
  await dark.context().close();
});

test('a viewer sees the tools and agents without edit buttons, and the API refuses edits anyway', async () => {
  const viewer = await lib.newUser(srv, 'agents-viewer');
  const wss = await lib.api(srv, 'GET', '/api/v1/workspaces', { token: adminToken });
  const ws = wss.json.items.find((w) => w.personal);
  const add = await lib.api(srv, 'POST', `/api/v1/workspaces/${ws.id}/members`, {
    token: adminToken,
    body: { email: viewer.email, role: 'viewer' },
  });
  assert.equal(add.status, 201, add.text);

  const page = await open('light');
  await signIn(page, '/agents', viewer.email, viewer.password);
  await page.getByLabel('Workspace').click();
  await page.getByRole('option', { name: ws.name }).click();
  await page.getByRole('row', { name: /Researcher/ }).waitFor();
  // Viewers read the models, so the agent's model is named.
  await page.getByRole('row', { name: /Researcher/ }).getByText('fake gpt').waitFor();
  assert.equal(await page.getByRole('link', { name: 'New agent' }).count(), 0);
  assert.equal(await page.getByRole('link', { name: /^Edit/ }).count(), 0);
  await page.getByRole('link', { name: 'Open Researcher' }).click();
  await page.getByLabel(/^Name/).waitFor();
  assert.equal(await page.getByLabel(/^Name/).isEditable(), false);
  assert.equal(await page.getByRole('button', { name: /^(Save|Delete)$/ }).count(), 0);
  await page.getByRole('link', { name: 'Versions' }).click();
  await page.getByRole('row', { name: /sharper goal/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: /^Restore/ }).count(), 0);

  await page.getByRole('link', { name: 'Tools' }).click();
  await page.getByRole('row', { name: /weather/ }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'New HTTP tool' }).count(), 0);
  assert.equal(await page.getByRole('link', { name: /^(Edit|Try)/ }).count(), 0);
  await page.getByRole('link', { name: 'Open weather' }).click();
  await page.getByLabel('URL template').waitFor();
  assert.equal(await page.getByRole('button', { name: /^(Save|Delete|Test call|Add header)$/ }).count(), 0);
  await checkA11y(page, 'tool as a viewer');
  await shot(page, 'tool-viewer-light');
  noConsoleErrors(page);
  await page.context().close();

  const asViewer = (method, p, body) => lib.api(srv, method, p, { token: viewer.token, workspace: ws.id, body });
  assert.equal((await asViewer('POST', '/api/v1/agents', { name: 'x', role: 'r', goal: 'g', backstory: 'b' })).status, 403);
  assert.equal((await asViewer('PATCH', `/api/v1/agents/${agentId}`, { name: 'x' })).status, 403);
  assert.equal((await asViewer('POST', `/api/v1/agents/${agentId}/versions/1/restore`, {})).status, 403);
  assert.equal((await asViewer('POST', `/api/v1/tools/${toolId}/test`, { arguments: { city: 'x' } })).status, 403);
});
