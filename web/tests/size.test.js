// The JavaScript the first page (sign in) loads, gzipped, stays under
// 300 KB (issue 11: code-split by route). The browser tells which scripts
// the page really fetched: the entry, its static imports and the sign-in
// page's own chunk; the bytes are the served ones, gzipped here at level 9.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { launch, lib, noConsoleErrors, open } from './browser.js';

const LIMIT = 300 * 1024;
let srv;
let browser;

before(async () => {
  [srv, browser] = await Promise.all([lib.startServer({ sqlite: true }), launch()]);
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test('the sign-in page loads under 300 KB of gzipped JavaScript, and the other pages are separate chunks', async () => {
  const page = await open(browser, 'light');
  const scripts = new Map();
  page.on('response', async (r) => {
    if (r.request().resourceType() === 'script') scripts.set(new URL(r.url()).pathname, r.body());
  });
  await page.goto(srv.url + '/signin');
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.waitForLoadState('networkidle');
  let total = 0;
  let raw = 0;
  const lines = [];
  for (const [p, body] of scripts) {
    const buf = await body;
    const gz = zlib.gzipSync(buf, { level: 9 }).length;
    total += gz;
    raw += buf.length;
    lines.push(`  ${p}: ${(buf.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped`);
  }
  console.log(`sign-in page JavaScript: ${scripts.size} files, ${(raw / 1024).toFixed(1)} KB, ` +
    `${(total / 1024).toFixed(1)} KB gzipped (limit ${LIMIT / 1024} KB)\n${lines.join('\n')}`);
  assert.ok(scripts.size >= 2, `the entry and the sign-in chunk: ${[...scripts.keys()]}`);
  assert.ok(total < LIMIT, `${total} bytes gzipped`);

  // Code split: the build holds more chunks than the sign-in page loaded
  // (every other page is one of them), and none of them was fetched here.
  const html = await (await fetch(srv.url + '/')).text();
  assert.match(html, /<script type="module"[^>]*src="\/assets\/index-[^"]+\.js"/);
  const admin = await page.evaluate(async () => {
    const entry = document.querySelector('script[type=module]').src;
    const text = await (await fetch(entry)).text();
    return [...text.matchAll(/assets\/[A-Za-z0-9_-]+\.js/g)].map((m) => `/${m[0]}`);
  });
  const lazy = admin.filter((p) => !scripts.has(p));
  assert.ok(lazy.length >= 3, `chunks the sign-in page did not load: ${lazy}`);
  noConsoleErrors(page);
  await page.context().close();
});
