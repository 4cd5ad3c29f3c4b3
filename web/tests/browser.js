// Shared pieces of the browser tests that start their own server: Debian's
// chromium driven by playwright-core, a page per context with every console
// error collected, axe-core in the page, full-page screenshots into
// WEB_RESULTS.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const lib = require('../../tests/api/lib.js');
const { chromium } = require('playwright-core');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const here = path.dirname(fileURLToPath(import.meta.url));
export const RESULTS = process.env.WEB_RESULTS || path.resolve(here, '..', 'results');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  fs.mkdirSync(RESULTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

// A page in its own context (memory-only session) and colour scheme.
export async function open(browser, mode) {
  const ctx = await browser.newContext({ colorScheme: mode, viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(m.text());
  });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  // HTTP refusals the app expects and handles (a 401 on the session's resume
  // by cookie, a field error's 400) are logged by the browser as console
  // errors; they are kept apart with their URL.
  page.refusals = [];
  page.on('response', (r) => {
    if (r.status() >= 400) page.refusals.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  return page;
}

// axe-core in the page: no serious or critical violation.
export async function checkA11y(page, what) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `axe on ${what}`,
  );
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(RESULTS, `${name}.png`), fullPage: true });
}

export async function signIn(page, url, email, password, start = '/models') {
  await page.goto(url + start);
  await page.waitForURL(/\/signin\?next=/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
}

// No console error (a CSP refusal is one) but the browser's own line for an
// HTTP refusal, which page.refusals lists.
export function noConsoleErrors(page) {
  const errors = page.errors.filter((e) => !/^Failed to load resource: the server responded with a status of 4\d\d/.test(e));
  assert.deepEqual(errors, [], 'console errors');
}

// The text of the helper line a field's aria-describedby names.
export async function helperOf(page, field) {
  const id = await field.getAttribute('aria-describedby');
  return page.locator(`[id="${id}"]`).textContent();
}

// page.waitForFunction evaluates a string in the page, which the app's CSP
// (no unsafe-eval) refuses: this polls page.evaluate instead.
export async function until(page, fn, arg, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await page.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() > end) throw new Error(`until: timed out: ${fn.toString().slice(0, 120)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
