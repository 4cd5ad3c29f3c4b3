// Administration pages in a real browser: members and roles, API keys shown
// once, the audit log with filters and pages, users (instance admins), and
// what a viewer sees; axe on each, screenshots light and dark.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkA11y, helperOf, launch, lib, noConsoleErrors, open, shot, signIn, until } from './browser.js';

let srv;
let browser;

before(async () => {
  [srv, browser] = await Promise.all([lib.startServer({ sqlite: true }), launch()]);
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

async function personalWorkspace(token) {
  const wss = await lib.api(srv, 'GET', '/api/v1/workspaces', { token });
  return wss.json.items.find((w) => w.personal);
}

test('members: a field error beside Email, add, change the role, remove', async () => {
  const admin = await lib.login(srv);
  const ws = await personalWorkspace(admin);
  const alice = await lib.newUser(srv, 'alice');
  const bob = await lib.newUser(srv, 'bob');
  const page = await open(browser, 'light');
  await signIn(page, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD, '/admin');
  await page.waitForURL(/\/admin\/members$/);
  await page.getByText('only member').waitFor();

  const email = page.getByLabel('Email');
  await email.fill('not-an-email');
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.locator('input[name=email][aria-invalid=true]').waitFor();
  assert.match(await helperOf(page, email), /email/i);
  await checkA11y(page, 'members with a field error');
  await shot(page, 'admin-members-error-light');

  // An unknown email: the 404 shows beside the field too.
  await email.fill('nobody-here@example.test');
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.getByText('no user with this email').waitFor();

  for (const u of [alice, bob]) {
    await email.fill(u.email);
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByText(`${u.email} added as viewer.`).waitFor();
  }
  await page.getByRole('row', { name: new RegExp(bob.email) }).waitFor();

  await page.getByLabel(`Role of ${alice.email}`).selectOption('editor');
  // The row's select holds every role's name, so its text cannot tell when
  // the change is saved: the API can (read until it says so, or 10 s).
  let members;
  for (let i = 0; i < 200; i++) {
    members = await lib.api(srv, 'GET', `/api/v1/workspaces/${ws.id}/members`, { token: admin });
    if (members.json.items.find((m) => m.email === alice.email).role === 'editor') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(members.json.items.find((m) => m.email === alice.email).role, 'editor');

  await page.getByRole('button', { name: `Remove ${bob.email}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('row', { name: new RegExp(bob.email) }).waitFor({ state: 'detached' });
  members = await lib.api(srv, 'GET', `/api/v1/workspaces/${ws.id}/members`, { token: admin });
  assert.deepEqual(members.json.items.map((m) => m.email).sort(), [alice.email, lib.ADMIN_EMAIL].sort());
  await checkA11y(page, 'members');
  await shot(page, 'admin-members-light');
  noConsoleErrors(page);
  await page.context().close();
});

test('API keys: a past expiry beside its field, the key shown once and copied, listed by its first and last characters, revoked', async () => {
  const page = await open(browser, 'light');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
  await signIn(page, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD, '/admin/api-keys');
  await page.getByText('No API keys yet').waitFor();
  await checkA11y(page, 'API keys, empty');

  await page.getByLabel('Name').fill('CI pipeline');
  const expires = page.getByLabel('Expires');
  await expires.fill('2020-01-01');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.locator('input[name=expires_at][aria-invalid=true]').waitFor();
  assert.match(await helperOf(page, expires), /future/);
  await checkA11y(page, 'API key form with a field error');
  await shot(page, 'admin-api-keys-error-light');

  await expires.fill(`${new Date().getFullYear() + 1}-06-30`);
  await page.getByLabel('Role').click();
  await page.getByRole('option', { name: 'editor' }).click();
  await page.getByRole('button', { name: 'Create key' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('it is shown this once').waitFor();
  const key = await dialog.getByLabel('The new API key').inputValue();
  assert.match(key, /^trp_[A-Za-z0-9_-]{40,}$/);
  await dialog.getByRole('button', { name: 'Copy key' }).click();
  await dialog.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  await checkA11y(page, 'the new key, shown once');
  await shot(page, 'admin-api-key-created-light');
  await dialog.getByRole('button', { name: 'I have copied it' }).click();

  // The key works, as an editor; the list never holds it.
  const ok = await lib.api(srv, 'GET', '/api/v1/models', { token: key });
  assert.equal(ok.status, 200, ok.text);
  const row = page.getByRole('row', { name: /CI pipeline/ });
  await row.getByText(`${key.slice(0, 12)}…${key.slice(-4)}`, { exact: true }).waitFor();
  await row.getByText('editor').waitFor();
  assert.ok(!(await page.content()).includes(key));
  await checkA11y(page, 'API keys');
  await shot(page, 'admin-api-keys-light');

  await row.getByRole('button', { name: 'Revoke CI pipeline' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await page.getByText('No API keys yet').waitFor();
  assert.equal((await lib.api(srv, 'GET', '/api/v1/models', { token: key })).status, 401);
  noConsoleErrors(page);
  await page.context().close();
});

test('audit log: filtered by action, paged older and newer', async () => {
  // Enough events for two pages: each login writes login.success.
  for (let i = 0; i < 26; i++) await lib.login(srv);
  const page = await open(browser, 'light');
  await signIn(page, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD, '/admin/audit');
  const table = page.getByRole('table', { name: 'Audit events' });
  await table.waitFor();
  const rows = table.locator('tbody tr');
  assert.equal(await rows.count(), 25);
  const first = await rows.first().textContent();
  await page.getByRole('button', { name: 'Older' }).click();
  await until(page, (t) => document.querySelector('tbody tr')?.textContent !== t, first);
  await page.getByRole('button', { name: 'Newer' }).click();
  await until(page, (t) => document.querySelector('tbody tr')?.textContent === t, first);

  await page.getByLabel('Action').fill('api_key.revoked');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await until(page, () => document.querySelectorAll('tbody tr').length === 1);
  assert.match(await rows.first().textContent(), /api_key\.revoked/);
  await page.getByLabel('Action').fill('member.added');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await until(page, () => document.querySelectorAll('tbody tr').length === 2);
  await checkA11y(page, 'audit log, filtered');
  await shot(page, 'admin-audit-light');

  await page.getByLabel('Action').fill('no.such.action');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByText('No events match').waitFor();
  noConsoleErrors(page);
  await page.context().close();
});

test('users: an instance admin disables and enables an account and makes an admin', async () => {
  const carol = await lib.newUser(srv, 'carol');
  const page = await open(browser, 'light');
  await signIn(page, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD, '/admin/users');
  const row = page.getByRole('row', { name: new RegExp(carol.email) });
  await row.getByText('active').waitFor();
  await row.getByRole('button', { name: `Disable ${carol.email}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
  await row.getByText('disabled').waitFor();
  const refused = await lib.api(srv, 'POST', '/api/v1/auth/login', { body: { email: carol.email, password: carol.password } });
  assert.notEqual(refused.status, 200);
  await checkA11y(page, 'users');
  await shot(page, 'admin-users-light');
  await row.getByRole('button', { name: `Enable ${carol.email}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Enable' }).click();
  await row.getByText('active').waitFor();
  await row.getByRole('button', { name: `Make instance admin ${carol.email}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Make admin' }).click();
  await row.getByText('instance admin').waitFor();
  const me = await lib.api(srv, 'GET', '/api/v1/users/me', { token: await lib.login(srv, carol.email, carol.password) });
  assert.equal(me.json.is_admin, true);
  noConsoleErrors(page);
  await page.context().close();
});

test('dark theme: every administration page holding data passes axe', async () => {
  const admin = await lib.login(srv);
  await lib.api(srv, 'POST', '/api/v1/api-keys', { token: admin, body: { name: 'deploy bot', role: 'viewer' } });
  const page = await open(browser, 'dark');
  await signIn(page, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD, '/admin/members');
  for (const [tab, ready] of [
    ['Members', 'table[aria-label=Members]'],
    ['API keys', 'table[aria-label="API keys"]'],
    ['Audit log', 'table[aria-label="Audit events"]'],
    ['Users', 'table[aria-label=Users]'],
  ]) {
    await page.getByRole('tab', { name: tab }).click();
    await page.locator(ready).waitFor();
    await checkA11y(page, `${tab} (dark)`);
    await shot(page, `admin-${tab.toLowerCase().replace(' ', '-')}-dark`);
  }
  noConsoleErrors(page);
  await page.context().close();
});

test('a viewer sees the members but no edit controls nor admin tabs, and the API refuses them anyway', async () => {
  const admin = await lib.login(srv);
  const ws = await personalWorkspace(admin);
  const viewer = await lib.newUser(srv, 'viewer');
  const add = await lib.api(srv, 'POST', `/api/v1/workspaces/${ws.id}/members`, {
    token: admin,
    body: { email: viewer.email, role: 'viewer' },
  });
  assert.equal(add.status, 201, add.text);
  const page = await open(browser, 'light');
  await signIn(page, srv.url, viewer.email, viewer.password);
  await page.getByLabel('Workspace').click();
  await page.getByRole('option', { name: ws.name }).click();
  await page.getByRole('link', { name: 'Administration' }).click();
  await page.getByRole('row', { name: new RegExp(lib.ADMIN_EMAIL) }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Add member' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /^Remove/ }).count(), 0);
  assert.deepEqual(await page.getByRole('tab').allTextContents(), ['Members']);
  await checkA11y(page, 'members as a viewer');
  await shot(page, 'admin-members-viewer-light');

  const key = await lib.api(srv, 'POST', '/api/v1/api-keys', {
    token: viewer.token,
    workspace: ws.id,
    body: { name: 'x', role: 'viewer' },
  });
  assert.equal(key.status, 403, key.text);
  const audit = await lib.api(srv, 'GET', '/api/v1/audit-events', { token: viewer.token, workspace: ws.id });
  assert.equal(audit.status, 403, audit.text);
  noConsoleErrors(page);
  await page.context().close();
});
