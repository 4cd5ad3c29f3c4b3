// The keyboard-only and 1280-pixel pass over the main pages, holding data:
// Tab walks each page from its top to its end (the focus must leave the page
// at the end: no trap), every stop is visible on screen with a visible focus
// mark, the page's primary actions are among the stops, and nothing reaches
// past the 1280 × 800 viewport's right edge (no horizontal scroll, no clipped
// control). Dialogs open with Enter, keep the focus inside, close with Escape
// and give it back; Enter in a dialog's field submits its form.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, lib, noConsoleErrors, open, shot, signIn } from './browser.js';

let srv;
let fake;
let browser;
let admin;
const ids = {};

async function call(method, p, body) {
  const r = await lib.api(srv, method, p, { token: admin, body });
  assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}

before(async () => {
  [srv, fake, browser] = await Promise.all([lib.startServer({ sqlite: true }), lib.startFakeLlm(), launch()]);
  admin = await lib.login(srv);
  await call('POST', '/api/v1/models', { name: 'fake gpt', provider: 'openai_compatible', model: 'gpt-4o-mini', base_url: `${fake.url}/v1`, api_key: 'kb-key-0123', default: true });
  await call('POST', '/api/v1/tools', { name: 'weather', description: 'The forecast of a city', url_template: 'https://example.com/weather/{city}', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } });
  const agent = await call('POST', '/api/v1/agents', { name: 'Writer', role: 'Writer of {topic}', goal: 'Write', backstory: 'Writes.' });
  ids.agent = agent.id;
  const wf = await call('POST', '/api/v1/workflows', {
    name: 'Two steps',
    inputs: [{ name: 'topic' }],
    tasks: [
      { key: 'draft', description: 'Draft on {topic}', expected_output: 'a draft', agent_id: agent.id },
      { key: 'edit', description: 'Edit it', expected_output: 'a text', agent_id: agent.id, context: ['draft'] },
    ],
  });
  ids.wf = wf.id;
  ids.exec = (await call('POST', `/api/v1/workflows/${wf.id}/execute`, { inputs: { topic: 'bees' } })).id;
  await call('POST', '/api/v1/api-keys', { name: 'ci deploy', role: 'viewer' });
});

after(async () => {
  if (browser) await browser.close();
  if (fake) fake.stop();
  if (srv) await srv.stop();
});

// One Tab stop as the test sees it: a name, whether it is on screen, and
// whether its focus shows (an outline or shadow on it, or MUI's focus class
// on it or a near ancestor: inputs mark their outlined root, buttons get
// Mui-focusVisible and a ripple).
function focusState() {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const r = el.getBoundingClientRect();
  const cs = getComputedStyle(el);
  let marked = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none';
  for (let a = el, n = 0; a && n < 4 && !marked; a = a.parentElement, n++)
    marked = a.classList.contains('Mui-focusVisible') || a.classList.contains('Mui-focused') || a.matches('.react-flow__node.selected, .react-flow__edge.selected');
  const by = el.getAttribute('aria-labelledby');
  const byText = by && document.getElementById(by.split(' ')[0])?.textContent;
  const label = el.getAttribute('aria-label') || byText || (el.labels && el.labels[0] && el.labels[0].textContent) || el.textContent || el.getAttribute('name') || el.tagName;
  return {
    name: label.replace(/[\s\u200b]+/g, ' ').replace(/ \*$/, '').trim().slice(0, 60),
    tag: el.tagName.toLowerCase(),
    onScreen: (r.width > 0 || r.height > 0) && r.right <= innerWidth + 1 && r.left >= -1 && r.bottom > 0 && r.top < innerHeight,
    marked,
  };
}

// Tab from the top of the page until the focus leaves it; at most max stops.
async function tabWalk(page, max = 160) {
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  const stops = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const s = await page.evaluate(focusState);
    if (!s) return { stops, left: true };
    stops.push(s);
  }
  return { stops, left: false };
}

// Nothing past the right edge at 1280 px: the page does not scroll sideways,
// and no visible element ends beyond the viewport unless a scrolling or
// clipping box inside the viewport holds it (a table's own scroller, the graph).
function overflowing() {
  const out = [];
  if (document.documentElement.scrollWidth > innerWidth) out.push(`page scrolls sideways: ${document.documentElement.scrollWidth} px`);
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || (r.right <= innerWidth + 1 && r.left >= -1)) continue;
    let clip = el.parentElement;
    while (clip && clip !== document.body && getComputedStyle(clip).overflowX === 'visible') clip = clip.parentElement;
    if (clip && clip !== document.body && clip.getBoundingClientRect().right <= innerWidth + 1) continue;
    out.push(`${el.tagName.toLowerCase()}.${String(el.className).split(' ')[0]} ends at ${Math.round(r.right)} px`);
  }
  return out.slice(0, 10);
}

// Text cut short at 1280 px: an element whose content is wider than its box
// while it hides the rest (an ellipsis or overflow: hidden), unless the
// element gives the whole text another way (a title).
function clippedText() {
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.children.length > 0 || !el.textContent.trim()) continue;
    const cs = getComputedStyle(el);
    if (cs.overflowX === 'visible' && cs.textOverflow !== 'ellipsis') continue;
    if (el.scrollWidth > el.clientWidth + 1 && !el.closest('[title]') && !el.closest('.react-flow')) out.push(`${el.tagName.toLowerCase()} “${el.textContent.trim().slice(0, 40)}”`);
  }
  return out;
}

async function pass(page, path, ready, primary) {
  await page.goto(srv.url + path);
  await ready();
  const { stops, left } = await tabWalk(page);
  const names = stops.map((s) => s.name);
  assert.ok(left, `${path}: the focus stays inside the page after ${stops.length} Tabs (a trap?): ${names.slice(-5).join(' | ')}`);
  for (const p of primary) assert.ok(names.includes(p), `${path}: Tab never reaches “${p}”; it reaches: ${names.join(' | ')}`);
  const hidden = stops.filter((s) => !s.onScreen).map((s) => s.name);
  assert.deepEqual(hidden, [], `${path}: focused but not on screen`);
  const unmarked = stops.filter((s) => !s.marked).map((s) => `${s.tag} ${s.name}`);
  assert.deepEqual(unmarked, [], `${path}: focused without a visible focus mark`);
  await page.evaluate(() => window.scrollTo(0, 0));
  assert.deepEqual(await page.evaluate(overflowing), [], `${path}: past the right edge at 1280 px`);
  assert.deepEqual(await page.evaluate(clippedText), [], `${path}: text cut short at 1280 px`);
  return stops;
}

test('every main page: Tab reaches the primary actions with a visible focus, no trap, nothing past 1280 px', async () => {
  const page = await open(browser, 'light');
  await signIn(page, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD);
  const row = (name) => () => page.getByRole('row', { name }).first().waitFor();
  const nav = ['Skip to content', 'Models', 'Tools', 'Agents', 'Workflows', 'Executions', 'Administration', 'Account'];
  await pass(page, '/models', row(/fake gpt/), [...nav, 'Add model', 'Test connection of fake gpt']);
  await pass(page, '/tools', row(/weather/), ['Search tools', 'New HTTP tool', 'Edit weather', 'Try calculator']);
  await pass(page, '/tools/new', () => page.getByLabel(/^Name/).waitFor(), ['Create tool']);
  await pass(page, '/agents', row(/Writer/), ['Search agents', 'New agent', 'Edit Writer', 'Versions of Writer']);
  await pass(page, `/agents/${ids.agent}`, () => page.getByLabel(/^Role/).waitFor(), ['Save']);
  await pass(page, '/workflows', row(/Two steps/), ['Search workflows', 'Import crewAI YAML', 'Create workflow']);
  await pass(page, `/workflows/${ids.wf}`, () => page.locator('.react-flow__edge').first().waitFor({ state: 'attached' }), ['Run', 'Save', 'Context from', 'To task', 'Add context edge']);
  await page.getByRole('button', { name: 'Save', exact: true }).focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab'); // the edge, then the first task
  await shot(page, 'keyboard-graph-focus-light');
  await pass(page, '/executions', row(/Two steps/), ['Apply filters']);
  await pass(page, `/executions/${ids.exec}`, () => page.getByText('draft').first().waitFor(), []);
  await pass(page, '/admin/members', row(/admin@example.test/), ['Members', 'Add member']);
  // The tabs are one Tab stop (WAI-ARIA's tabs pattern): the arrow keys move
  // along them and Enter opens one.
  await page.getByRole('tab', { name: 'Members' }).focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'API keys');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/admin\/api-keys$/);
  await pass(page, '/admin/api-keys', row(/ci deploy/), ['Create key', 'Revoke ci deploy']);
  await pass(page, '/profile', () => page.getByLabel(/^Current password/).waitFor(), ['Save name', 'Change password']);
  noConsoleErrors(page);
  await page.context().close();
});

test('dialogs by keyboard: Enter opens, the focus stays inside, Escape closes and gives it back, Enter submits', async () => {
  const page = await open(browser, 'dark');
  await signIn(page, srv.url, lib.ADMIN_EMAIL, lib.ADMIN_PASSWORD, `/workflows/${ids.wf}`);
  const run = page.getByRole('button', { name: 'Run', exact: true });
  await run.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(/^topic/).waitFor();
  const inside = () => page.evaluate(() => !!document.activeElement?.closest('.MuiDialog-root'));
  assert.ok(await inside(), 'the focus moves into the dialog');
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await inside(), `Tab ${i + 1} stays in the dialog`);
  }
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.ok(await run.evaluate((e) => e === document.activeElement), 'Escape gives the focus back to Run');

  await page.keyboard.press('Enter');
  await dialog.getByLabel(/^topic/).focus();
  await page.keyboard.type('wasps');
  await shot(page, 'keyboard-run-dialog-dark');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/executions\/[0-9a-f-]{36}$/);

  // The model dialog: Enter on Add model, Escape out.
  await page.goto(srv.url + '/models');
  const add = page.getByRole('button', { name: 'Add model' });
  await add.focus();
  await page.keyboard.press('Enter');
  await dialog.waitFor();
  assert.ok(await inside());
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.ok(await add.evaluate((e) => e === document.activeElement), 'Escape gives the focus back to Add model');
  noConsoleErrors(page);
  await page.context().close();
});
