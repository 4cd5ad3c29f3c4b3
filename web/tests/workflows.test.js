// Browser tests of the workflows pages: the list, crewAI import (upload and
// paste, warnings, a YAML error beside its file), the editor's React Flow
// graph (nodes and context edges counted in the DOM; a drawn edge saved
// through the API; the context edited in the form moving the edges), a
// validation error on its field and node, the 409 of a concurrent edit,
// versions (diff, restore, publish), the Run dialog (a form from the inputs,
// the client's required check and the server's 422 beside the input) landing
// on the execution page, and a viewer with no edit or run control. axe on
// every page; full-page screenshots light and dark into WEB_RESULTS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
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
const TEMPLATE = path.resolve(here, '..', '..', 'tests', 'fixtures', 'crewai', 'template');

let srv;
let fake;
let browser;
let token;
let ws;
let wfId;

before(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  [srv, fake] = await Promise.all([lib.startServer({ sqlite: true }), lib.startFakeLlm()]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  token = await lib.login(srv);
  ws = (await lib.api(srv, 'GET', '/api/v1/workspaces', { token })).json.items.find((w) => w.personal);
  // A default chat model on the fake, for the imported agents.
  const m = await lib.api(srv, 'POST', '/api/v1/models', {
    token,
    body: { name: 'fake gpt', provider: 'openai_compatible', model: 'gpt-4o-mini', base_url: `${fake.url}/v1`, default: true },
  });
  assert.equal(m.status, 201, m.text);
});

after(async () => {
  if (browser) await browser.close();
  if (fake) fake.stop();
  if (srv) await srv.stop();
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
  page.failed = [];
  page.on('response', (r) => {
    if (r.status() >= 400) page.failed.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
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

async function signIn(page, email, password, where = '/workflows') {
  await page.goto(srv.url + where);
  await page.waitForURL(/\/signin\?next=/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === where);
}

// Console errors: none but the browser's own line for each answer of 400 or
// more, and those exactly the ones the test provoked (the refresh without a
// cookie at sign-in first); a CSP refusal fails.
function noConsoleErrors(page, provoked) {
  const other = page.errors.filter((e) => !/^Failed to load resource: the server responded with a status of \d+/.test(e));
  assert.deepEqual(other, [], 'console errors');
  const id = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  assert.deepEqual(page.failed.map((f) => f.replace(id, '{id}')), ['401 POST /api/v1/auth/refresh', ...provoked], 'failed requests');
}

async function getWf(id = wfId) {
  const r = await lib.api(srv, 'GET', `/api/v1/workflows/${id}`, { token });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

// The text of the helper line a field's aria-describedby names.
async function helperOf(page, field) {
  return page.locator(`[id="${await field.getAttribute('aria-describedby')}"]`).textContent();
}

const edgeIds = (page) => page.locator('.react-flow__edge').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')).sort());
// React Flow draws edges only once it has measured their nodes, a frame or
// more after a save re-renders the graph: wait for the edges to settle on
// what is expected (10 s), then assert, so the failure shows the difference.
async function expectEdges(page, want) {
  const end = Date.now() + 10000;
  let got = await edgeIds(page);
  while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    got = await edgeIds(page);
  }
  assert.deepEqual(got, want);
}

// A MUI select: open it, pick the options, close it.
async function pick(page, combo, names) {
  await combo.click();
  for (const n of names) await page.getByRole('option', { name: n, exact: true }).click();
  await page.keyboard.press('Escape');
  await page.getByRole('listbox').waitFor({ state: 'detached' });
}

async function dragEdge(page, from, to) {
  const src = page.locator(`[data-testid="rf__node-${from}"] .react-flow__handle.source`);
  const dst = page.locator(`[data-testid="rf__node-${to}"] .react-flow__handle.target`);
  const a = await src.boundingBox();
  const b = await dst.boundingBox();
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 12 });
  await page.mouse.up();
}

test('import the crewAI template, edit its graph and form, versions, run (light)', async () => {
  const page = await open('light');
  await signIn(page, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD);
  await page.getByText('No workflows yet: import a crewAI crew or create one.').waitFor();
  await checkA11y(page, 'workflows, empty');
  await shot(page, 'workflows-empty-light');

  // Import: the three files uploaded (multipart).
  await page.getByRole('link', { name: 'Import crewAI YAML' }).click();
  await page.waitForURL(/\/workflows\/import$/);
  await page.getByRole('button', { name: 'Import' }).click();
  await page.locator('#file-agents_yaml[aria-invalid=true]').waitFor({ state: 'attached' });
  // Each file is a labelled button, keyboard-usable, that shows the file chosen.
  const chooseAgents = page.getByRole('button', { name: 'agents.yaml * Choose a file…' });
  // Enter on it clicks the file input (which opens the chooser; held back here).
  await page.locator('#file-agents_yaml').evaluate((el) =>
    el.addEventListener('click', (e) => {
      e.preventDefault();
      window.__chooser = el.id;
    }),
  );
  await chooseAgents.focus();
  await page.keyboard.press('Enter');
  for (let i = 0; i < 100 && !(await page.evaluate(() => window.__chooser)); i++) await page.waitForTimeout(20);
  assert.equal(await page.evaluate(() => window.__chooser), 'file-agents_yaml');
  await page.locator('#file-agents_yaml').setInputFiles(path.join(TEMPLATE, 'agents.yaml'));
  await page.getByRole('button', { name: 'agents.yaml * agents.yaml' }).waitFor();
  assert.equal(await page.locator('#file-agents_yaml').getAttribute('aria-invalid'), 'false');
  assert.equal(await page.getByText('No file chosen').count(), 0);
  await page.locator('#file-tasks_yaml').setInputFiles(path.join(TEMPLATE, 'tasks.yaml'));
  await page.locator('#file-crew_yaml').setInputFiles(path.join(TEMPLATE, 'crew.yaml'));
  await page.getByLabel('Workflow name').fill('Research crew');
  await checkA11y(page, 'import');
  await shot(page, 'workflow-import-light');
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByText('Imported “Research crew”').waitFor();
  await page.getByText('2 task(s) and 2 agent(s) created.').waitFor();
  assert.equal(await page.getByText(/warning\(s\): imported anyway/).count(), 0);
  await page.getByRole('link', { name: 'Open the workflow' }).click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
  wfId = page.url().split('/').pop();

  // The graph: two tasks, one (implicit: every earlier task) context edge.
  await page.locator('.react-flow__node').nth(1).waitFor();
  assert.equal(await page.locator('.react-flow__node').count(), 2);
  await expectEdges(page, ['research_task->reporting_task']);
  assert.equal((await getWf()).tasks[1].context, null);

  // Drawing the edge makes the context explicit, saved through the API at once.
  await dragEdge(page, 'research_task', 'reporting_task');
  await page.getByText('Saved as version 2.').waitFor();
  assert.deepEqual((await getWf()).tasks[1].context, ['research_task']);

  // A third task from the form; its context edited there moves its edges.
  await page.getByRole('button', { name: 'Add task' }).click();
  const card = page.locator('#task-2');
  await card.locator('[name="tasks[2].description"]').fill('Summarise the report in one line');
  await card.locator('[name="tasks[2].expected_output"]').fill('One line');
  await pick(page, card.getByRole('combobox', { name: /^Agent/ }), ['researcher']);
  await page.locator('[data-testid="rf__node-task_3"]').waitFor();
  await expectEdges(page, ['reporting_task->task_3', 'research_task->reporting_task', 'research_task->task_3']);
  await card.getByLabel(/Context: every earlier/).uncheck();
  await pick(page, card.getByRole('combobox', { name: /^Context/ }), ['research_task']);
  await expectEdges(page, ['reporting_task->task_3', 'research_task->reporting_task']);
  await page.getByLabel('Change note').fill('a summary task');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved as version 3.').waitFor();
  let wf = await getWf();
  assert.deepEqual(wf.tasks.map((t) => t.key), ['research_task', 'reporting_task', 'task_3']);
  assert.deepEqual(wf.tasks[2].context, ['reporting_task']);

  // Without a pointer: Add context edge, by keyboard alone. The same task
  // twice is refused beside the field; a real edge is saved at once and drawn.
  const from = page.getByRole('combobox', { name: 'Context from' });
  const toTask = page.getByRole('combobox', { name: 'To task' });
  await from.focus();
  await page.keyboard.press('Enter'); // opens the list on its first task
  await page.getByRole('option', { name: 'research_task' }).waitFor();
  await page.keyboard.press('Enter');
  await page.getByRole('listbox').waitFor({ state: 'detached' });
  await page.keyboard.press('Tab');
  assert.equal(await toTask.evaluate((e) => e === document.activeElement), true, 'Tab goes from one select to the other');
  await page.keyboard.press('Enter');
  await page.getByRole('option', { name: 'research_task' }).waitFor();
  await page.keyboard.press('Enter');
  await page.getByRole('listbox').waitFor({ state: 'detached' });
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  assert.equal(await helperOf(page, toTask), 'A task cannot be its own context');
  await toTask.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('option', { name: 'research_task' }).waitFor();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.getByRole('listbox').waitFor({ state: 'detached' });
  assert.equal(await toTask.textContent(), 'task_3');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Add context edge');
  await page.keyboard.press('Enter');
  await page.getByText('Saved as version 4.').waitFor();
  assert.deepEqual((await getWf()).tasks[2].context, ['reporting_task', 'research_task']);
  await expectEdges(page, ['reporting_task->task_3', 'research_task->reporting_task', 'research_task->task_3']);

  // Nodes drag to arrange the view; where one is put stays through saves.
  const nodeAt = (key) => page.locator(`[data-testid="rf__node-${key}"]`).evaluate((e) => e.style.transform);
  const before = await nodeAt('task_3');
  const box = await page.locator('[data-testid="rf__node-task_3"]').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + 12);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 40, box.y + 72, { steps: 10 });
  await page.mouse.up();
  const moved = await nodeAt('task_3');
  assert.notEqual(moved, before, 'the node moved');

  // Deleting an edge removes the entry.
  await page.locator('[data-testid="rf__edge-research_task->task_3"]').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Delete');
  await page.getByText('Saved as version 5.').waitFor();
  assert.deepEqual((await getWf()).tasks[2].context, ['reporting_task']);
  await expectEdges(page, ['reporting_task->task_3', 'research_task->reporting_task']);
  assert.equal(await nodeAt('task_3'), moved, 'the moved node stays where it was put');
  await checkA11y(page, 'editor with graph');
  await shot(page, 'workflow-editor-light');
  // What the engine does not run yet is said beside its field.
  const guard = page.locator('[name="tasks[0].guardrail.type"]').locator('xpath=ancestor::div[contains(@class,"MuiFormControl-root")][1]');
  assert.match(await guard.textContent(), /not run yet: a run with a guardrail is refused/);
  const human = page.getByRole('checkbox', { name: 'Human review' }).first();
  const note = await page.locator(`[id="${await human.getAttribute('aria-describedby')}"]`).textContent();
  assert.equal(note, 'Not run yet: a run with human review is refused');

  // A context that points forward: the server's 422 names tasks[1].context[1];
  // it shows on that field and on the reporting task's node.
  const rep = page.locator('#task-1');
  await pick(page, rep.getByRole('combobox', { name: /^Context/ }), ['task_3']);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await rep.locator('[name="tasks[1].context"]').locator('..').locator('[aria-invalid=true]').waitFor();
  const ctxHelp = await rep.locator('p.Mui-error').first().textContent();
  assert.match(ctxHelp, /forward/);
  const node = page.locator('[data-task=reporting_task]');
  assert.equal(await node.getAttribute('data-invalid'), 'true');
  assert.match(await node.textContent(), /problems?: .*context\[1\]: .*forward/);
  assert.equal(await page.locator('[data-task=research_task]').getAttribute('data-invalid'), 'false');
  assert.equal((await getWf()).version, 5, 'nothing written');
  await checkA11y(page, 'editor with a validation error');
  await shot(page, 'workflow-editor-error-light');
  await pick(page, rep.getByRole('combobox', { name: /^Context/ }), ['task_3']);

  // Someone else saves meanwhile: the 409 is explained, and loading theirs works.
  const other = await lib.api(srv, 'PATCH', `/api/v1/workflows/${wfId}`, { token, body: { description: 'changed elsewhere', base_version: 5 } });
  assert.equal(other.status, 200, other.text);
  await page.getByLabel('Tags').fill('news');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Someone else saved this workflow while you were editing').waitFor();
  await page.getByText(/You edited version 5; it is now at version 6/).waitFor();
  await page.getByRole('button', { name: 'Load version 6' }).click();
  assert.equal(await page.locator('[name=description]').inputValue(), 'changed elsewhere');

  // current_year becomes a number input, for the run dialog.
  await pick(page, page.getByRole('combobox', { name: 'Type' }).nth(1), ['number']);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved as version 7.').waitFor();

  // Run: a form from the inputs; the required check here, the server's type
  // error beside its input, then the execution page.
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('The latest version takes these inputs:').waitFor();
  // The versions come in their own request: wait for the latest's label.
  await dialog.getByRole('combobox', { name: 'Version' }).filter({ hasText: 'Version 7 (latest)' }).waitFor();
  assert.equal(await dialog.getByRole('combobox', { name: 'Version' }).textContent(), 'Version 7 (latest)');
  const yearHelpOf = async () =>
    page.locator(`[id="${await dialog.locator('[name="inputs.current_year"]').getAttribute('aria-describedby')}"]`).textContent();
  assert.match(await yearHelpOf(), /^number, required/);
  await dialog.getByRole('button', { name: 'Start run' }).click();
  await dialog.locator('[name="inputs.topic"][aria-invalid=true]').waitFor();
  await dialog.getByLabel(/^current_year/).fill('twenty');
  await dialog.getByLabel(/^topic/).fill('AI agents');
  await dialog.getByRole('button', { name: 'Start run' }).click();
  const year = dialog.locator('[name="inputs.current_year"]');
  await dialog.locator('[name="inputs.current_year"][aria-invalid=true]').waitFor();
  const yearHelp = await page.locator(`[id="${await year.getAttribute('aria-describedby')}"]`).textContent();
  assert.match(yearHelp, /must be of type number/);
  assert.equal(await dialog.locator('[name="inputs.topic"][aria-invalid=true]').count(), 0);
  await checkA11y(page, 'run dialog with a field error');
  await shot(page, 'workflow-run-dialog-error-light');
  await year.fill('2026');
  await dialog.getByRole('button', { name: 'Start run' }).click();
  await page.waitForURL(/\/executions\/[0-9a-f-]{36}$/);
  const execId = page.url().split('/').pop();
  const ex = await lib.api(srv, 'GET', `/api/v1/executions/${execId}`, { token });
  assert.equal(ex.status, 200, ex.text);
  assert.equal(ex.json.workflow_id, wfId);
  assert.equal(ex.json.workflow_version, 7);
  assert.deepEqual(ex.json.inputs, { topic: 'AI agents', current_year: 2026 });

  // An older version picked: the form is that version's (current_year a
  // string there), and the run takes it.
  await page.goto(srv.url + `/workflows/${wfId}`);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await dialog.getByRole('combobox', { name: 'Version' }).click();
  await page.getByRole('option', { name: 'Version 2 · context: research_task → reporting_task', exact: true }).click();
  await dialog.getByText('Version 2 takes these inputs:').waitFor();
  assert.match(await yearHelpOf(), /^string, required/);
  assert.equal(await dialog.getByLabel(/^topic/).inputValue(), '', 'the form is new for the version');
  await dialog.getByLabel(/^topic/).fill('old agents');
  await dialog.getByLabel(/^current_year/).fill('MMXXVI');
  await checkA11y(page, 'run dialog, an older version');
  await shot(page, 'workflow-run-dialog-version-light');
  await dialog.getByRole('button', { name: 'Start run' }).click();
  await page.waitForURL((u) => u.pathname.startsWith('/executions/') && !u.pathname.endsWith(execId));
  const ex2 = await lib.api(srv, 'GET', `/api/v1/executions/${page.url().split('/').pop()}`, { token });
  assert.equal(ex2.json.workflow_version, 2);
  assert.deepEqual(ex2.json.inputs, { topic: 'old agents', current_year: 'MMXXVI' });

  // Versions: a diff between two, restore, publish.
  await page.goto(srv.url + `/workflows/${wfId}/versions`);
  await page.getByRole('table', { name: 'Versions' }).waitFor();
  await pick(page, page.getByRole('combobox', { name: 'From' }), ['Version 1']);
  await pick(page, page.getByRole('combobox', { name: 'To' }), ['Version 7']);
  await page.getByRole('button', { name: 'Show changes' }).click();
  const diff = page.getByRole('table', { name: 'Changes from version 1 to 7' });
  await diff.getByRole('cell', { name: 'tasks.task_3', exact: true }).waitFor();
  await diff.getByRole('cell', { name: 'tasks.reporting_task.context', exact: true }).waitFor();
  await diff.getByRole('cell', { name: 'description', exact: true }).waitFor();
  await checkA11y(page, 'versions with a diff');
  await shot(page, 'workflow-versions-light');
  await page.getByRole('button', { name: 'Restore version 1' }).click();
  await page.getByText('Version 1 restored as version 8.').waitFor();
  wf = await getWf();
  assert.equal(wf.version, 8);
  assert.deepEqual(wf.tasks.map((t) => t.key), ['research_task', 'reporting_task']);
  await page.getByRole('button', { name: 'Publish version 8' }).click();
  await page.getByText('Version 8 is published').waitFor();
  assert.equal((await getWf()).published_version, 8);
  await page.getByRole('row', { name: /^8 latest published/ }).waitFor();

  // The list with data, and its search.
  await page.getByRole('link', { name: 'Workflows' }).click();
  await page.getByRole('link', { name: 'Research crew' }).waitFor();
  await page.getByLabel('Search workflows').fill('nothing like it');
  await page.getByText('No workflow\'s name contains “nothing like it”.').waitFor();
  await page.getByLabel('Search workflows').fill('');
  await page.getByRole('link', { name: 'Research crew' }).waitFor();
  await checkA11y(page, 'workflows list');
  await shot(page, 'workflows-light');
  noConsoleErrors(page, [
    '422 PATCH /api/v1/workflows/{id}',
    '409 PATCH /api/v1/workflows/{id}',
    '422 POST /api/v1/workflows/{id}/execute',
  ]);
  await page.context().close();
});

test('dark: import pasted with warnings and a YAML error beside its file; list, editor, versions, run dialog', async () => {
  assert.ok(wfId, 'the light test imported the workflow');
  const page = await open('dark');
  await signIn(page, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD);
  await page.getByRole('link', { name: 'Research crew' }).waitFor();

  await page.getByRole('link', { name: 'Import crewAI YAML' }).click();
  await page.getByRole('tab', { name: 'Paste YAML' }).click();
  const agents = fs.readFileSync(path.join(TEMPLATE, 'agents.yaml'), 'utf8').replace(/^researcher:\n/m, 'researcher:\n  verbose: true\n');
  await page.getByLabel(/^agents\.yaml/).fill(agents);
  await page.getByLabel(/^tasks\.yaml/).fill('research_task: [unclosed\n');
  await page.getByRole('button', { name: 'Import' }).click();
  const tasksField = page.getByLabel(/^tasks\.yaml/);
  await page.locator('textarea[name=tasks_yaml][aria-invalid=true]').waitFor();
  const help = await page.locator(`[id="${await tasksField.getAttribute('aria-describedby')}"]`).textContent();
  assert.match(help, /line \d+, column \d+/);
  await checkA11y(page, 'import with a field error (dark)');
  await shot(page, 'workflow-import-error-dark');
  await tasksField.fill(fs.readFileSync(path.join(TEMPLATE, 'tasks.yaml'), 'utf8'));
  await page.getByLabel('Workflow name').fill('Warned crew');
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByText('Imported “Warned crew”').waitFor();
  await page.getByText(/1 warning\(s\): imported anyway/).waitFor();
  await page.getByText(/verbose/).first().waitFor();
  await checkA11y(page, 'import with warnings (dark)');
  await shot(page, 'workflow-import-dark');

  await page.getByRole('link', { name: 'Workflows' }).click();
  await page.getByRole('link', { name: 'Warned crew' }).waitFor();
  await checkA11y(page, 'workflows list (dark)');
  await shot(page, 'workflows-dark');
  await page.getByRole('link', { name: 'Research crew' }).click();
  await page.locator('.react-flow__node').nth(1).waitFor();
  await checkA11y(page, 'editor (dark)');
  await shot(page, 'workflow-editor-dark');

  await page.getByRole('button', { name: 'Export crewAI YAML' }).click();
  const exp = page.getByRole('dialog');
  await exp.getByText('research_task:').first().waitFor();
  const download = page.waitForEvent('download');
  await exp.getByRole('link', { name: 'Download tasks.yaml' }).click();
  const file = await (await download).path();
  assert.match(fs.readFileSync(file, 'utf8'), /reporting_task:/);
  await checkA11y(page, 'export (dark)');
  await exp.getByRole('button', { name: 'Close' }).click();

  await page.getByRole('button', { name: 'Run', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('The latest version, the published one, takes these inputs:').waitFor();
  // The versions come in their own request: wait for the latest's label.
  await dialog.getByRole('combobox', { name: 'Version' }).filter({ hasText: 'Version 8 (latest, published) · restore version 1' }).waitFor();
  assert.equal(await dialog.getByRole('combobox', { name: 'Version' }).textContent(), 'Version 8 (latest, published) · restore version 1');
  await dialog.getByLabel(/^topic/).fill('AI agents');
  await checkA11y(page, 'run dialog (dark)');
  await shot(page, 'workflow-run-dialog-dark');
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  await page.getByRole('link', { name: 'Versions' }).click();
  await page.getByRole('button', { name: 'Show changes' }).click();
  await page.getByRole('table', { name: /^Changes from version 7 to 8/ }).waitFor();
  await checkA11y(page, 'versions (dark)');
  await shot(page, 'workflow-versions-dark');
  noConsoleErrors(page, ['400 POST /api/v1/workflows/import']);
  await page.context().close();
});

test('a viewer sees no edit or run controls, and the API refuses them', async () => {
  assert.ok(wfId, 'the light test imported the workflow');
  const viewer = await lib.newUser(srv, 'wfviewer');
  const add = await lib.api(srv, 'POST', `/api/v1/workspaces/${ws.id}/members`, { token, body: { email: viewer.email, role: 'viewer' } });
  assert.equal(add.status, 201, add.text);
  const page = await open('light');
  await signIn(page, viewer.email, viewer.password);
  await page.getByLabel('Workspace').click();
  await page.getByRole('option', { name: ws.name }).click();
  await page.getByRole('link', { name: 'Research crew' }).click();
  await page.getByText('You can view this workflow; editing and running it needs the editor role.').waitFor();
  await page.locator('.react-flow__node').nth(1).waitFor();
  for (const name of ['Save', 'Run', 'Add task', 'Add input'])
    assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
  assert.ok(await page.locator('[name="tasks[0].description"]').isDisabled());
  assert.equal(await page.locator('.react-flow__handle.connectable').count(), 0);
  await checkA11y(page, 'editor as a viewer');
  await shot(page, 'workflow-editor-viewer-light');
  await page.getByRole('link', { name: 'Versions' }).click();
  await page.getByRole('table', { name: 'Versions' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /^(Restore|Publish) version/ }).count(), 0);
  await page.getByRole('link', { name: 'Workflows' }).click();
  await page.getByRole('link', { name: 'Research crew' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Import crewAI YAML' }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Create workflow' }).count(), 0);

  const as = (m, p, body) => lib.api(srv, m, p, { token: viewer.token, workspace: ws.id, body });
  assert.equal((await as('PATCH', `/api/v1/workflows/${wfId}`, { name: 'x' })).status, 403);
  assert.equal((await as('POST', `/api/v1/workflows/${wfId}/execute`, { inputs: { topic: 't', current_year: '2026' } })).status, 403);
  assert.equal((await as('POST', `/api/v1/workflows/${wfId}/publish`, { version: 1 })).status, 403);
  assert.equal((await as('GET', `/api/v1/workflows/${wfId}`)).status, 200);
  noConsoleErrors(page, []);
  await page.context().close();
});
