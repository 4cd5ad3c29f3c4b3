// The typed client guards the UI: renaming a response field the UI reads in
// a copy of the generated types (src/api/schema.d.ts) makes the typecheck
// fail at the place that reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('a renamed response field (Model.api_key_last4) fails npm run typecheck', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-web-types-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(path.join(web, 'src'), path.join(dir, 'src'), { recursive: true });
  for (const f of ['tsconfig.json', 'vite.config.ts']) fs.copyFileSync(path.join(web, f), path.join(dir, f));
  fs.symlinkSync(path.join(web, 'node_modules'), path.join(dir, 'node_modules'));
  const tsc = path.join(web, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = () => spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });

  const before = run();
  assert.equal(before.status, 0, before.stdout + before.stderr);

  const schema = path.join(dir, 'src', 'api', 'schema.d.ts');
  const text = fs.readFileSync(schema, 'utf8');
  const at = text.indexOf('\n        Model: {');
  const field = text.indexOf('api_key_last4:', at);
  const renamed = at < 0 || field < 0 ? text : text.slice(0, field) + 'api_key_last_four:' + text.slice(field + 14);
  assert.notEqual(renamed, text, 'Model.api_key_last4 is in the generated types');
  fs.writeFileSync(schema, renamed);
  const after = run();
  assert.notEqual(after.status, 0, 'the typecheck fails');
  assert.match(after.stdout, /src\/pages\/Models\.tsx.*api_key_last4/);
});
