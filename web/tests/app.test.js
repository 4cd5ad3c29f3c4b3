// Browser tests: Debian's chromium, headless, driven by playwright-core (no
// browser download), against a real `troupe serve` on SQLite (the binary
// embeds this app) and the scripted fake provider (tests/fake-llm).
// Screenshots of every page, light and dark, go to WEB_RESULTS (tests/run
// names it; default web/results); axe-core runs on every page.
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

let srv;
let fake;
let browser;

before(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  [srv, fake] = await Promise.all([lib.startServer({ sqlite: true }), lib.startFakeLlm()]);
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
});

// A page in its own context (memory-only session) and colour scheme; every
// console error (a CSP refusal among them) is collected for the test to check.
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

// axe-core in the page: no serious or critical violation.
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

async function signIn(page, email, password) {
  await page.goto(srv.url + '/models');
  await page.waitForURL(/\/signin\?next=%2Fmodels$/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/models$/);
}

function noCspErrors(page) {
  assert.deepEqual(page.errors.filter((e) => /Content Security Policy/i.test(e)), [], 'CSP refusals');
}

test('the binary serves the app: index no-cache, hashed assets immutable, client routes fall back', async () => {
  const index = await fetch(srv.url + '/');
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.doesNotMatch(index.headers.get('content-security-policy'), /unsafe-inline/);
  const html = await index.text();
  const asset = html.match(/src="(\/assets\/[^"]+\.js)"/);
  assert.ok(asset, html);
  const js = await fetch(srv.url + asset[1]);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const deep = await fetch(srv.url + '/models/some/client/route', { headers: { accept: 'text/html' } });
  assert.equal(deep.status, 200);
  assert.equal(await deep.text(), html);
  // Not a page request, or under /api/: no fallback.
  assert.equal((await fetch(srv.url + '/models/x', { headers: { accept: 'application/json' } })).status, 404);
  assert.equal((await fetch(srv.url + '/api/v1/nope', { headers: { accept: 'text/html' } })).status, 404);
  // The app's icon is embedded and linked; /favicon.ico answers 204, not 404.
  assert.match(html, /<link rel="icon" href="\/favicon.svg" type="image\/svg\+xml"/);
  const icon = await fetch(srv.url + '/favicon.svg');
  assert.equal(icon.status, 200);
  assert.equal(icon.headers.get('content-type'), 'image/svg+xml');
  assert.match(await icon.text(), /^<svg /);
  assert.equal((await fetch(srv.url + '/favicon.ico', { headers: { accept: 'image/*' } })).status, 204);
});

test('sign in, add a model pointing at the fake with a field error on the way, test it (light)', async () => {
  const page = await open('light');
  await page.goto(srv.url + '/models');
  await page.waitForURL(/\/signin\?next=%2Fmodels$/);
  await checkA11y(page, 'sign in');
  await shot(page, 'signin-light');

  // A wrong password: the server's problem shows, and no session starts.
  await page.getByLabel('Email').fill(lib.ADMIN_EMAIL);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('invalid email or password').waitFor();
  await checkA11y(page, 'sign in with an error');
  await shot(page, 'signin-error-light');

  await page.getByLabel('Password').fill(lib.ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/models$/);
  await page.getByText('No models yet: add one to run agents.').waitFor();
  await checkA11y(page, 'models, empty');
  await shot(page, 'models-empty-light');

  await page.getByRole('button', { name: 'Add model' }).click();
  const dialog = page.getByRole('dialog');
  // OpenAI requires a key (its /models/providers entry says so): marked, and
  // named beside the field on save; OpenAI-compatible and Ollama do not.
  const keyRequired = () => dialog.locator('input[name=api_key]').evaluate((e) => e.required);
  assert.equal(await keyRequired(), true);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByText('is required for OpenAI').waitFor();
  await dialog.locator('input[name=name][aria-invalid=true]').waitFor();
  await dialog.getByLabel('Provider').click();
  await page.getByRole('option', { name: 'Ollama' }).click();
  assert.equal(await dialog.locator('input[name=api_key]').count(), 0);
  await dialog.getByLabel('Provider').click();
  await page.getByRole('option', { name: 'OpenAI-compatible' }).click();
  assert.equal(await keyRequired(), false);
  // A name over the server's 100-character bound: the server's field error
  // shows beside the Name field.
  await dialog.getByLabel('Name').fill('n'.repeat(101));
  await dialog.getByLabel(/^Model/).fill('gpt-4o-mini');
  await dialog.getByLabel('Base URL').fill(`${fake.url}/v1`);
  await dialog.getByLabel('API key').fill('good-key-123456');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const nameField = dialog.getByLabel('Name');
  await dialog.getByText(/100/).waitFor();
  await dialog.locator('input[name=name][aria-invalid=true]').waitFor();
  const describedBy = await nameField.getAttribute('aria-describedby');
  const helper = await page.locator(`[id="${describedBy}"]`).textContent();
  assert.match(helper, /100/, `the Name field's helper text: ${helper}`);
  await checkA11y(page, 'model form with a field error');
  await shot(page, 'model-form-error-light');
  // The form grew with the error; its actions stay on an 800-pixel-high screen
  // (the dialog's content scrolls, not the whole dialog).
  const save = await dialog.getByRole('button', { name: 'Save' }).boundingBox();
  const vh = page.viewportSize().height;
  assert.ok(save && save.y + save.height <= vh, `Save ends at ${save && save.y + save.height} px of ${vh}`);

  await nameField.fill('fake gpt');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  const row = page.getByRole('row', { name: /fake gpt/ });
  await row.waitFor();
  // The key is write-only: its last 4 show, never the key.
  await row.getByText('•••• 3456').waitFor();
  assert.doesNotMatch(await page.content(), /good-key-123456/);

  await row.getByRole('button', { name: 'Test connection of fake gpt' }).click();
  await row.getByText(/Connected in \d+ ms/).waitFor();
  await checkA11y(page, 'models with a tested model');
  await shot(page, 'models-light');

  // A reload keeps the session through the HttpOnly refresh cookie, which no
  // script can read; nothing of the session is in localStorage.
  await page.reload();
  await page.getByRole('row', { name: /fake gpt/ }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/models');
  assert.equal(await page.evaluate(() => document.cookie), '');
  const stored = await page.evaluate(() => JSON.stringify(window.localStorage));
  assert.doesNotMatch(stored, /trr_|eyJ/);
  const cookies = await page.context().cookies();
  const rc = cookies.find((c) => c.name === 'troupe_refresh');
  assert.ok(rc && rc.httpOnly && rc.sameSite === 'Strict' && rc.path === '/api/v1/auth', JSON.stringify(cookies));

  // The fake received the call with the key.
  const reqs = await fake.requests();
  assert.ok(reqs.some((r) => (r.headers.authorization || '') === 'Bearer good-key-123456'));
  noCspErrors(page);
  await page.context().close();
});

test('dark theme: the same pages, holding data, pass axe', async () => {
  const page = await open('dark');
  await page.goto(srv.url + '/signin');
  await page.getByLabel('Email').waitFor();
  await checkA11y(page, 'sign in (dark)');
  await shot(page, 'signin-dark');
  await page.getByLabel('Email').fill(lib.ADMIN_EMAIL);
  await page.getByLabel('Password').fill(lib.ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/models$/);
  await page.getByRole('row', { name: /fake gpt/ }).waitFor();
  await checkA11y(page, 'models (dark)');
  await shot(page, 'models-dark');
  await page.getByRole('button', { name: 'Edit fake gpt' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Stored key ends in 3456; leave empty to keep it').waitFor();
  await checkA11y(page, 'model form (dark)');
  await shot(page, 'model-form-dark');
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // The first Tab stop skips the header to the page.
  await page.reload();
  await page.getByRole('row', { name: /fake gpt/ }).waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  // Profile is in the account menu, not among the pages.
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Profile' }).count(), 0);
  await page.getByRole('button', { name: 'Account' }).click();
  await page.getByRole('menuitem', { name: 'Profile' }).waitFor();
  await checkA11y(page, 'account menu (dark)');

  // Sign out ends the session; the app asks to sign in again.
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.waitForURL(/\/signin/);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.goto(srv.url + '/models');
  await page.waitForURL(/\/signin\?next=%2Fmodels$/);
  noCspErrors(page);
  await page.context().close();
});

test('a viewer sees no edit buttons, and the API refuses the edit anyway', async () => {
  const admin = await lib.login(srv);
  const viewer = await lib.newUser(srv, 'viewer');
  const wss = await lib.api(srv, 'GET', '/api/v1/workspaces', { token: admin });
  const ws = wss.json.items.find((w) => w.personal);
  const add = await lib.api(srv, 'POST', `/api/v1/workspaces/${ws.id}/members`, {
    token: admin,
    body: { email: viewer.email, role: 'viewer' },
  });
  assert.equal(add.status, 201, add.text);

  const page = await open('light');
  await signIn(page, viewer.email, viewer.password);
  // The switcher: from the viewer's own workspace to the admin's.
  await page.getByLabel('Workspace').click();
  await page.getByRole('option', { name: ws.name }).click();
  // Viewers read the models (never the key): listed read-only, with no add,
  // edit, test or default button and no actions column.
  await page.getByRole('row', { name: /fake gpt/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Add model' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /^(Edit|Test connection|Make) / }).count(), 0);
  assert.equal(await page.getByRole('columnheader', { name: 'Actions' }).count(), 0);
  await checkA11y(page, 'models as a viewer');
  await shot(page, 'models-viewer-light');

  const refused = await lib.api(srv, 'POST', '/api/v1/models', {
    token: viewer.token,
    workspace: ws.id,
    body: { name: 'x', provider: 'openai_compatible', model: 'm', base_url: `${fake.url}/v1` },
  });
  assert.equal(refused.status, 403, refused.text);
  noCspErrors(page);
  await page.context().close();
});

test('profile: name and password change, the wrong current password shown beside its field', async () => {
  const user = await lib.newUser(srv, 'profile');
  for (const mode of ['light', 'dark']) {
    const page = await open(mode);
    await signIn(page, user.email, user.password);
    await page.getByRole('button', { name: 'Account' }).click();
    await page.getByRole('menuitem', { name: 'Profile' }).click();
    await page.waitForURL(/\/profile$/);
    await page.getByText(`Signed in as ${user.email}`).waitFor();
    await checkA11y(page, `profile (${mode})`);
    await shot(page, `profile-${mode}`);
    if (mode === 'light') {
      await page.getByLabel('Name', { exact: true }).fill('Renamed');
      await page.getByRole('button', { name: 'Save name' }).click();
      await page.getByText('Name saved.').waitFor();
      const current = page.getByLabel('Current password');
      await current.fill('not-my-password');
      await page.getByLabel('New password').fill('another-long-password-1');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.locator('input[name=current_password][aria-invalid=true]').waitFor();
      const helper = await page.locator(`[id="${await current.getAttribute('aria-describedby')}"]`).textContent();
      assert.match(helper, /not the current password/);
      await checkA11y(page, 'profile with a field error');
      await shot(page, 'profile-error-light');
      await current.fill(user.password);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByText('Password changed.').waitFor();
      const me = await lib.api(srv, 'GET', '/api/v1/users/me', { token: await lib.login(srv, user.email, 'another-long-password-1') });
      assert.equal(me.json.name, 'Renamed');
      user.password = 'another-long-password-1';
    }
    noCspErrors(page);
    await page.context().close();
  }
});

test('register: a refused password shown beside its field, then the new account signed in', async () => {
  const email = lib.uniqueEmail('reg');
  for (const mode of ['light', 'dark']) {
    const page = await open(mode);
    await page.goto(srv.url + '/signin');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(/\/register$/);
    await checkA11y(page, `register (${mode})`);
    await shot(page, `register-${mode}`);
    if (mode === 'light') {
      await page.getByLabel('Your name').fill('Reg');
      await page.getByLabel('Email').fill(email);
      const pw = page.getByLabel('Password');
      await pw.fill('short');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.locator('input[name=password][aria-invalid=true]').waitFor();
      const helper = await page.locator(`[id="${await pw.getAttribute('aria-describedby')}"]`).textContent();
      assert.match(helper, /8/);
      await checkA11y(page, 'register with a field error');
      await shot(page, 'register-error-light');
      await pw.fill('a-long-enough-password-reg');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL(/\/models$/);
      await page.getByText('No models yet').waitFor();
    }
    noCspErrors(page);
    await page.context().close();
  }
});
