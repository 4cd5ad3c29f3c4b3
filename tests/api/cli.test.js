// The binary's roles and configuration: flags over environment over file,
// validated at start with one line naming the setting; the server secret.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { BIN, startServer, api } = require('./lib');

function run(args, env = {}, input) {
  const r = spawnSync(BIN, args, {
    env: { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS || '', ...env },
    encoding: 'utf8', input, timeout: 20000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-cli-'));

test('version and help', () => {
  const v = run(['version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^troupe \d+\.\d+\.\d+/);
  const h = run(['--help']);
  assert.equal(h.code, 0);
  for (const c of ['serve', 'api', 'worker', 'migrate', 'version']) assert.match(h.out, new RegExp(`\\b${c}\\b`));
  for (const c of ['serve', 'api', 'worker', 'migrate']) {
    const s = run([c, '--help']);
    assert.equal(s.code, 0, c);
    assert.match(s.out, /--data/);
  }
  assert.match(run(['serve', '--help']).out, /--listen.*TROUPE_LISTEN/);
  assert.doesNotMatch(run(['worker', '--help']).out, /--listen/, 'worker takes no --listen');
  assert.equal(run(['bogus']).code, 2);
  // troupe run's help says what it does in both modes, not a server's settings
  const rh = run(['run', '--help']);
  assert.equal(rh.code, 0);
  for (const w of ['TROUPE_URL', 'TROUPE_API_KEY', '--input NAME=VALUE', 'boolean', '--data', '--tool-threads', 'Exit status']) assert.ok(rh.out.includes(w), `${w} in run --help:\n${rh.out}`);
  for (const w of ['--rate-limit', '--cors-origins', '--access-ttl']) assert.ok(!rh.out.includes(w), `${w} is a server's setting`);
});

// README.md matches the binary: a row of its settings table for each setting
// any command takes (one row each), and each command of troupe --help in its
// list of commands.
test('README lists every setting and every command', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `(--[a-z-]+)` \| `(TROUPE_[A-Z_]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`);
  const settings = new Set();
  for (const c of ['serve', 'api', 'worker', 'migrate']) {
    for (const m of run([c, '--help']).out.matchAll(/^ {2}(--[a-z-]+)\s+(?:PATH\s+)?\((TROUPE_[A-Z_]+)\)/gm)) settings.add(`${m[1]} ${m[2]}`);
  }
  settings.delete('--config-file TROUPE_CONFIG_FILE'); // said in the prose above the table
  assert.ok(settings.size > 25, [...settings].join(' '));
  assert.deepEqual([...rows].sort(), [...settings].sort(), 'one README row per setting');
  const running = readme.slice(readme.indexOf('## Running'), readme.indexOf('## Configuration'));
  const help = run(['--help']).out;
  for (const c of ['serve', 'api', 'worker', 'migrate', 'run', 'import crew', 'export crew', 'secrets rotate', 'version']) {
    assert.ok(help.includes(`  ${c} `), `${c} in troupe --help`);
    assert.ok(running.includes(`troupe ${c} `) || running.includes(`troupe ${c}\n`), `troupe ${c} in README's Running`);
  }
  assert.doesNotMatch(readme, /answer 404 until then/);
});

test('an invalid setting stops the process with one line naming it', () => {
  const cases = [
    [['serve', '--listen', 'nowhere'], {}, /listen/],
    [['serve', '--listen', '127.0.0.1:99999'], {}, /listen/],
    [['serve', '--body-limit', 'abc'], {}, /body_limit/],
    [['serve'], { TROUPE_BODY_LIMIT: '5' }, /body_limit.*TROUPE_BODY_LIMIT/],
    [['serve'], { TROUPE_LOG_LEVEL: 'loud' }, /log_level/],
    [['serve'], { TROUPE_DATABASE_URL: 'mysql://x' }, /database_url/],
    [['serve', '--no-such-flag'], {}, /no-such-flag/],
    [['serve'], { TROUPE_ALLOW_REGISTRATION: 'maybe' }, /allow_registration/],
    [['serve', '--rate-limit-auth', 'lots'], {}, /rate_limit_auth/],
    [['serve'], { TROUPE_RATE_LIMIT_DEFAULT: '5/fortnight' }, /rate_limit_default/],
    [['serve'], { TROUPE_OUTBOUND_ALLOW: 'intranet.example, 10.0.0.0/33' }, /outbound_allow.*10\.0\.0\.0\/33/],
    [['worker', '--outbound-allow', '127.1'], {}, /outbound_allow.*127\.1/],
    [['serve', '--rate-limit-login-account', '10/fortnight'], {}, /rate_limit_login_account/],
    [['serve'], { TROUPE_RATE_LIMIT_LOGIN_ADDRESS: '0/15min' }, /rate_limit_login_address/],
    [['serve'], { TROUPE_RATE_LIMIT_REGISTER: '30/8days' }, /rate_limit_register/],
  ];
  for (const [args, env, re] of cases) {
    const r = run([...args, '--data', tmp()], env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  }
});

test('flags win over the environment, which wins over the config file', async () => {
  const dir = tmp();
  const file = path.join(dir, 'troupe.conf');
  fs.writeFileSync(file, '# settings\nlisten = 127.0.0.1:1\nallow_registration = false\nbody_limit = "4096"\n');
  // listen: file < environment < flag (the helper passes --listen 127.0.0.1:0).
  // allow_registration: file false < environment true.
  const { uniqueEmail } = require('./lib');
  const srv = await startServer({ env: { TROUPE_CONFIG_FILE: file, TROUPE_LISTEN: '127.0.0.1:2', TROUPE_ALLOW_REGISTRATION: 'true' } });
  try {
    assert.notEqual(srv.port, 1);
    assert.notEqual(srv.port, 2);
    const reg = await api(srv, 'POST', '/api/v1/auth/register', { body: { email: uniqueEmail('cfg'), password: 'a-long-enough-password-1', name: 'c' } });
    assert.equal(reg.status, 201, 'the environment beat the file: ' + reg.text);
    const big = await api(srv, 'POST', '/api/v1/auth/login', { body: { email: 'a@b.test', password: 'x'.repeat(5000) } });
    assert.equal(big.status, 413, 'body_limit from the file applies');
  } finally {
    await srv.stop();
  }
  const bad = path.join(dir, 'bad.conf');
  fs.writeFileSync(bad, 'colour = blue\n');
  const r = run(['serve', '--data', dir], { TROUPE_CONFIG_FILE: bad });
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown setting "colour"/);
});

test('serve writes a strong secret (0600); api and worker need one of 32 bytes', async () => {
  const dir = tmp();
  // SQLite: with PostgreSQL the helper passes a secret, and none is written.
  const srv = await startServer({ dataDir: dir, sqlite: true });
  await srv.stop({ keepData: true });
  const key = path.join(dir, 'secret.key');
  const st = fs.statSync(key);
  assert.equal(st.mode & 0o777, 0o600);
  assert.ok(fs.readFileSync(key, 'utf8').trim().length >= 43, 'at least 32 random bytes');
  const other = tmp();
  for (const role of ['api', 'worker']) {
    const r = run([role, '--data', other]);
    assert.equal(r.code, 2, `${role} without a secret: ${r.err}`);
    assert.match(r.err, /secret_key/);
  }
  const short = run(['serve', '--data', tmp()], { TROUPE_SECRET_KEY: 'too-short' });
  assert.equal(short.code, 2);
  assert.match(short.err, /secret_key.*32/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('migrate applies the schema; api refuses an unmigrated database', () => {
  const dir = tmp();
  const env = { TROUPE_SECRET_KEY: 'a-secret-that-is-at-least-32-bytes-long' };
  const a = run(['api', '--data', dir, '--listen', '127.0.0.1:0'], env);
  assert.notEqual(a.code, 0);
  assert.match(a.err, /migrate/);
  const m = run(['migrate', '--data', dir], env);
  assert.equal(m.code, 0, m.err);
  assert.match(m.out, /schema version \d+/);
});

test('worker starts its job pool with --workers and --job-lease, and exits 0 on SIGTERM', async () => {
  const dir = tmp();
  const env = { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS || '',
    TROUPE_SECRET_KEY: 'a-secret-that-is-at-least-32-bytes-long', TROUPE_LOG_FORMAT: 'json' };
  const bad = run(['worker', '--data', dir, '--job-lease', '0'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /job_lease/);
  assert.equal(run(['migrate', '--data', dir], env).code, 0);
  const child = spawn(BIN, ['worker', '--data', dir, '--workers', '3', '--job-lease', '5'], { env });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 200 && !/worker started/.test(out); i++) await new Promise((r) => setTimeout(r, 25));
  assert.match(out, /"msg":"worker started".*"workers":"3"/);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
  assert.match(out, /worker shutting down/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('secrets rotate re-seals provider keys; API keys keep working; old tokens stop', async (t) => {
  const { startFakeLlm, login } = require('./lib');
  const fake = await startFakeLlm();
  t.after(() => fake.stop());
  const dir = tmp();
  const allow = { env: { TROUPE_OUTBOUND_ALLOW: 'localhost' } };
  let srv = await startServer({ dataDir: dir, sqlite: true, ...allow });
  const token = await login(srv);
  const key = (await api(srv, 'POST', '/api/v1/api-keys', { token, body: { name: 'ci', role: 'admin' } })).json.key;
  // a custom tool's secret header is re-sealed too: its test call still opens it
  const tool = await api(srv, 'POST', '/api/v1/tools', { token, body: { name: 'rot', url_template: `${fake.url.replace('127.0.0.1', 'localhost')}/v1/models`, headers: [{ name: 'Authorization', value: 'Bearer rotating-tool-secret', secret: true }] } });
  assert.equal(tool.status, 201, tool.text);
  assert.equal((await api(srv, 'POST', `/api/v1/tools/${tool.json.id}/test`, { token, body: { arguments: {} } })).status, 200);
  assert.match(key, /^trp_/);
  const model = await api(srv, 'POST', '/api/v1/models', { token, body: { name: 'm', provider: 'openai_compatible', model: 'gpt-4o-mini', base_url: `${fake.url}/v1`, api_key: 'rotating-key-123456' } });
  assert.equal(model.status, 201, model.text);
  assert.equal((await api(srv, 'POST', `/api/v1/models/${model.json.id}/test`, { token })).json.ok, true);
  await srv.stop({ keepData: true });

  const oldSecret = fs.readFileSync(path.join(dir, 'secret.key'), 'utf8').trim();
  const short = run(['secrets', 'rotate', '--data', dir], {}, 'short\n');
  assert.notEqual(short.code, 0);
  assert.equal(fs.readFileSync(path.join(dir, 'secret.key'), 'utf8').trim(), oldSecret, 'a refused rotation changes nothing');
  const newSecret = 'a-brand-new-server-secret-of-more-than-32-bytes';
  const r = run(['secrets', 'rotate', '--data', dir], {}, newSecret + '\n');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /re-encrypted 1 model configuration\(s\) and 2 tool secret/);
  assert.equal(fs.readFileSync(path.join(dir, 'secret.key'), 'utf8').trim(), newSecret);
  assert.equal(fs.statSync(path.join(dir, 'secret.key')).mode & 0o777, 0o600);
  assert.doesNotMatch(r.out + r.err, /a-brand-new-server-secret/, 'the secret is not echoed');

  srv = await startServer({ dataDir: dir, sqlite: true, ...allow });
  try {
    const run2 = await api(srv, 'POST', `/api/v1/tools/${tool.json.id}/test`, { token: key, body: { arguments: {} } });
    assert.equal(run2.status, 200, 'the tool secret opens under the new secret: ' + run2.text);
    assert.equal((await api(srv, 'GET', '/api/v1/users/me', { token })).status, 401, 'tokens signed with the old secret stop');
    assert.equal((await api(srv, 'GET', '/api/v1/users/me', { token: key })).status, 200, 'API keys survive');
    const probe = await api(srv, 'POST', `/api/v1/models/${model.json.id}/test`, { token: key });
    assert.equal(probe.json.ok, true, 'the provider key opens under the new secret: ' + probe.text);
  } finally {
    await srv.stop();
  }
});

test('scale out: migrate once, then two api processes share one database', async (t) => {
  const { pgDatabase, PG_URL, uniqueEmail } = require('./lib');
  const dir = tmp();
  const secret = 'a-shared-secret-for-every-process-0123456789';
  const db = PG_URL ? pgDatabase() : null;
  const env = { TROUPE_SECRET_KEY: secret, ...(db ? { TROUPE_DATABASE_URL: db.url } : {}) };
  const m = run(['migrate', '--data', dir], env);
  assert.equal(m.code, 0, m.err);
  const opts = { role: 'api', dataDir: dir, db: db || undefined, env };
  const a = await startServer(opts);
  const b = await startServer(opts);
  t.after(async () => { await a.stop({ keepData: true }); await b.stop({ keepData: true }); fs.rmSync(dir, { recursive: true, force: true }); });
  for (const s of [a, b]) assert.equal((await api(s, 'GET', '/readyz')).status, 200);
  const email = uniqueEmail('scale');
  const password = 'a-long-enough-password-scale';
  assert.equal((await api(a, 'POST', '/api/v1/auth/register', { body: { email, password, name: 's' } })).status, 201);
  const login = await api(b, 'POST', '/api/v1/auth/login', { body: { email, password } });
  assert.equal(login.status, 200, 'a user made through one process logs in through the other');
  const me = await api(a, 'GET', '/api/v1/users/me', { token: login.json.access_token });
  assert.equal(me.status, 200, 'a token from one process works on the other');
  assert.equal(me.json.email, email);
});

// troupe run: one execution started and run in the CLI's own process (the
// server next to it runs no jobs), its events printed as they are stored,
// then the output; --input values parsed as JSON when they parse.
test('troupe run starts an execution, runs it in-process and prints its events and output', async (t) => {
  const { newUser } = require('./authlib');
  const { startFakeLlm } = require('./lib');
  const fake = await startFakeLlm();
  const srv = await startServer({ env: { TROUPE_WORKERS: '0' } });
  t.after(async () => { fake.stop(); await srv.stop(); });
  const u = await newUser(srv, 'cli-run');
  const call = (m, p, body) => api(srv, m, p, { token: u.token, body });
  assert.equal((await call('POST', '/api/v1/models', { name: 'fake', provider: 'openai_compatible', base_url: `${fake.url}/v1`, api_key: 'cli-run-key-0123', model: 'fake-model', default: true })).status, 201);
  const ag = await call('POST', '/api/v1/agents', { name: 'Writer', role: 'Writer on {topic}', goal: 'Write', backstory: 'Writes.', tool_ids: ['00000000-0000-7000-8000-000000000001'] });
  assert.equal(ag.status, 201, ag.text);
  const workflow = async (name, extra = {}) => {
    const w = await call('POST', '/api/v1/workflows', {
      name, inputs: [{ name: 'topic' }, { name: 'n', type: 'number' }],
      tasks: [{ key: 'write', description: `${name}: write {n} lines on {topic}`, expected_output: 'Lines', agent_id: ag.json.id, ...extra }],
    });
    assert.equal(w.status, 201, w.text);
    return w.json.id;
  };
  const ok = await workflow('CLIRUN-OK');
  const bad = await workflow('CLIRUN-BAD', { output: { format: 'json', schema: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] } } });
  await fake.script([
    { match: 'CLIRUN-OK', replies: [{ tool_calls: [{ name: 'calculator', arguments: { expression: '2*21' } }] }, { text: 'Three lines on AI agents.' }] },
    { match: 'CLIRUN-BAD', replies: [{ text: 'not JSON at all' }] },
  ]);
  const env = { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS || '', TROUPE_LOG_LEVEL: 'warn' };
  const where = ['--data', srv.dataDir];
  if (srv.db) Object.assign(env, { TROUPE_DATABASE_URL: srv.db.url, TROUPE_SECRET_KEY: 'test-secret-key-0123456789-abcdefghijkl' });
  const troupeRun = (args) => new Promise((resolve) => {
    const c = spawn(BIN, ['run', ...args, ...where], { env });
    const timer = setTimeout(() => c.kill('SIGKILL'), 30000); // a run that never ends fails, it does not hang
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { err += d; });
    c.on('exit', (code) => {
      clearTimeout(timer);
      assert.doesNotMatch(err, /(AddressSanitizer|LeakSanitizer|runtime error:)/, 'sanitizer report:\n' + err);
      resolve({ code, out, err });
    });
  });

  // Another execution queued on the same database, for the workers it is shared with: troupe run leaves it alone.
  const others = await workflow('CLIRUN-OTHER');
  const queued = await call('POST', `/api/v1/workflows/${others}/execute`, { inputs: { topic: 'x', n: 1 } });
  assert.equal(queued.status, 202, queued.text);

  const r = await troupeRun(['--workers', '0', ok, '--input', 'topic=AI agents', '--input=n=3']); // still one worker
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.match(lines[0], /^execution [0-9a-f-]{36}$/);
  for (const type of ['execution.queued', 'execution.started', 'task.started', 'llm.completed', 'tool.completed', 'task.succeeded', 'execution.succeeded']) {
    assert.ok(lines.some((l) => l.includes(type)), `${type} printed:\n${r.out}`);
  }
  assert.ok(lines.some((l) => /tool\.completed\s+\[write#1\] calculator: .*42/.test(l)), r.out);
  assert.equal(lines[lines.length - 1], 'Three lines on AI agents.', 'the output comes last');
  const sent = (await fake.requests()).find((q) => JSON.stringify(q.body.messages || []).includes('CLIRUN-OK'));
  assert.match(JSON.stringify(sent.body.messages), /write 3 lines on AI agents/, 'n=3 went in as the number 3, topic as text');
  const id = lines[0].split(' ')[1];
  const g = await call('GET', `/api/v1/executions/${id}`);
  assert.equal(g.json.status, 'succeeded');
  assert.equal(g.json.output, 'Three lines on AI agents.');

  const f = await troupeRun([bad, '--input', 'topic=x', '--input', 'n=1']);
  assert.equal(f.code, 1, f.out + f.err);
  assert.match(f.out, /execution\.failed/);
  assert.match(f.err, /failed: task "write"/);

  const mistyped = await troupeRun([ok, '--input', 'topic=x', '--input', 'n=three']);
  assert.equal(mistyped.code, 1);
  assert.match(mistyped.err, /inputs\.n: is declared number: "three" is not a number/);

  // each --input is read as the type the workflow declares: a string stays the text as given
  const typed = await call('POST', '/api/v1/workflows', {
    name: 'CLIRUN-TYPED',
    inputs: [{ name: 'topic' }, { name: 'current_year' }, { name: 'n', type: 'number' }, { name: 'deep', type: 'boolean' }, { name: 'tags', type: 'json' }],
    tasks: [{ key: 'write', description: 'CLIRUN-TYPED {topic} in {current_year}', expected_output: 'Lines', agent_id: ag.json.id, output_file: 'typed-{current_year}.md' }],
  });
  assert.equal(typed.status, 201, typed.text);
  await fake.script([{ match: 'CLIRUN-TYPED', replies: [{ text: 'Typed lines.' }] }]);
  const ty = await troupeRun([typed.json.id, '--input', 'topic=true', '--input', 'current_year=2026', '--input', 'n=2.5', '--input', 'deep=false', '--input', 'tags=["a",1]']);
  assert.equal(ty.code, 0, ty.out + ty.err);
  const tid = ty.out.split('\n')[0].split(' ')[1];
  assert.deepEqual((await call('GET', `/api/v1/executions/${tid}`)).json.inputs, { topic: 'true', current_year: '2026', n: 2.5, deep: false, tags: ['a', 1] });
  // the end: usage, then each artifact with its download path, then the output last
  assert.match(ty.out, /\nusage: \d+ prompt tokens \(\d+ cached\), \d+ completion tokens; cost unknown \(a model without a price\)\n/);
  assert.ok(ty.out.includes(`\nartifact typed-2026.md (12 bytes): /api/v1/executions/${tid}/artifacts/typed-2026.md\n`), ty.out);
  assert.match(ty.out, /\n\nTyped lines\.\n$/);
  const wrong = await troupeRun([typed.json.id, '--input', 'topic=x', '--input', 'current_year=2026', '--input', 'n=1', '--input', 'deep=yes', '--input', 'tags=[oops']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /inputs\.deep: is declared boolean: "yes" is not true or false/);
  assert.match(wrong.err, /inputs\.tags: is declared json: "\[oops" is not JSON/);
  assert.doesNotMatch(wrong.out, /^execution /, 'nothing started');
  const unknown = await troupeRun(['00000000-0000-4000-8000-000000000000', '--input', 'topic=x']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /no workflow/);
  // Ctrl-C cancels the execution (its in-flight call stopped) and waits for its end
  const slow = await workflow('CLIRUN-SLOW');
  await fake.script([{ match: 'CLIRUN-SLOW', replies: [{ delay_ms: 10000, text: 'too late' }] }]);
  const c = spawn(BIN, ['run', slow, '--input', 'topic=x', '--input', 'n=1', ...where], { env });
  let cout = '';
  let cerr = '';
  c.stderr.on('data', (d) => { cerr += d; });
  const cexit = new Promise((resolve) => c.on('exit', (code) => resolve(code)));
  await new Promise((resolve) => c.stdout.on('data', (d) => { cout += d; if (/llm\.started/.test(cout)) resolve(); }));
  const t0 = Date.now();
  c.kill('SIGINT');
  assert.equal(await cexit, 130, cout + cerr);
  assert.ok(Date.now() - t0 < 5000, 'the call in flight was stopped, not waited for');
  assert.match(cout, /execution\.cancelled/);
  assert.match(cerr, /cancelling execution/);
  const cid = cout.split('\n')[0].split(' ')[1];
  assert.equal((await call('GET', `/api/v1/executions/${cid}`)).json.status, 'cancelled');

  // troupe run claimed its own executions' jobs only: the other one is still queued, never sent to the model
  assert.equal((await call('GET', `/api/v1/executions/${queued.json.id}`)).json.status, 'queued');
  assert.ok(!(await fake.requests()).some((q) => JSON.stringify(q.body.messages || []).includes('CLIRUN-OTHER')), 'the queued execution never ran');

  assert.equal((await troupeRun([])).code, 2, 'no WORKFLOW_ID');
  assert.equal((await troupeRun([ok, '--input', 'novalue'])).code, 2);
  assert.equal((await troupeRun([ok, '--input', 'n=1', '--input', 'n=2'])).code, 2);
});

// A new user's first mistakes with troupe run and the admin commands: one
// clear line each, naming what to set.
test('troupe run and secrets rotate: clear messages for a missing database, an unreachable server, a bad key', async (t) => {
  const empty = tmp();
  const id = '01a22fb4-63bd-74b3-b73c-5c31bea7f9af';
  let r = run(['run', id, '--data', empty]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /^troupe: no database in .*troupe serve.*TROUPE_DATABASE_URL.*TROUPE_URL and TROUPE_API_KEY/);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.deepEqual(fs.readdirSync(empty), [], 'nothing is created in the empty directory');
  r = run(['secrets', 'rotate', '--data', empty], {}, 'a-new-secret-that-is-long-enough-0123456789\n');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /no database in/);
  const h = run(['secrets', 'rotate', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /^Usage: troupe secrets rotate \[OPTIONS\] < new-secret/);
  assert.match(h.out, /stdin/);
  r = run(['run', id], { TROUPE_URL: 'http://127.0.0.1:1', TROUPE_API_KEY: 'trp_x' });
  assert.equal(r.code, 1);
  assert.match(r.err, /cannot reach http:\/\/127\.0\.0\.1:1 \(TROUPE_URL\)/);
  const srv = await startServer();
  t.after(() => srv.stop());
  r = run(['run', id], { TROUPE_URL: srv.url, TROUPE_API_KEY: 'trp_' + 'x'.repeat(40) });
  assert.equal(r.code, 1);
  assert.match(r.err, /answered 401: .*\(TROUPE_API_KEY\)/);
  // In-process, at the default log level: stdout and stderr carry the run, not the workers' start lines.
  const env = srv.db ? { TROUPE_DATABASE_URL: srv.db.url, TROUPE_SECRET_KEY: 'test-secret-key-0123456789-abcdefghijkl' } : {};
  r = run(['run', id, '--data', srv.dataDir], env);
  assert.equal(r.code, 1, r.err);
  assert.equal(r.err, `troupe: cannot start: no workflow ${id}\n`);
});

// troupe run with TROUPE_URL: the same through the server's API (the server's
// workers run it), events paged as they are stored, then the output.
test('troupe run through a server (TROUPE_URL, TROUPE_API_KEY)', async (t) => {
  const { newUser, newKey } = require('./authlib');
  const { startFakeLlm } = require('./lib');
  const fake = await startFakeLlm();
  const srv = await startServer();
  t.after(async () => { fake.stop(); await srv.stop(); });
  const u = await newUser(srv, 'cli-run-remote');
  const call = (m, p, body) => api(srv, m, p, { token: u.token, body });
  assert.equal((await call('POST', '/api/v1/models', { name: 'fake', provider: 'openai_compatible', base_url: `${fake.url}/v1`, api_key: 'cli-remote-key-0123', model: 'fake-model', default: true })).status, 201);
  const ag = await call('POST', '/api/v1/agents', { name: 'Writer', role: 'Writer', goal: 'Write', backstory: 'Writes.' });
  const w = await call('POST', '/api/v1/workflows', { name: 'remote', inputs: [{ name: 'topic' }, { name: 'n', type: 'number' }], tasks: [{ key: 'write', description: 'REMOTE-RUN {n} on {topic}', expected_output: 'Lines', agent_id: ag.json.id }] });
  assert.equal(w.status, 201, w.text);
  await fake.script([{ match: 'REMOTE-RUN', replies: [{ text: 'Remote lines.' }] }]);
  const key = await newKey(srv, u.token, {});
  const env = { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS || '', TROUPE_URL: srv.url, TROUPE_API_KEY: key.key };
  const r = spawnSync(BIN, ['run', w.json.id, '--input', 'topic=AI agents', '--input', 'n=2'], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^execution [0-9a-f-]{36}\n/);
  assert.match(r.stdout, /execution\.started/);
  assert.match(r.stdout, /task\.succeeded\s+\[write#1\]/);
  assert.match(r.stdout, /\n\nRemote lines\.\n$/);
  assert.doesNotMatch(r.stdout + r.stderr, new RegExp(env.TROUPE_API_KEY), 'the key is never printed');
  const sent = (await fake.requests()).find((q) => JSON.stringify(q.body.messages || []).includes('REMOTE-RUN'));
  assert.match(JSON.stringify(sent.body.messages), /REMOTE-RUN 2 on AI agents/);
  assert.match(r.stdout, /\nusage: \d+ prompt tokens \(\d+ cached\), \d+ completion tokens; cost unknown/);
  const bad = spawnSync(BIN, ['run', w.json.id, '--input', 'topic=x', '--input', 'n=two'], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /inputs\.n: is declared number: "two" is not a number/);
  // docs/executions.md's example: a string input given digits stays text; the published version's inputs count
  const yw = await call('POST', '/api/v1/workflows', { name: 'year', inputs: [{ name: 'topic' }, { name: 'year' }], tasks: [{ key: 'write', description: 'REMOTE-YEAR {topic} {year}', expected_output: 'Lines', agent_id: ag.json.id, output_file: 'year.md' }] });
  assert.equal(yw.status, 201, yw.text);
  assert.equal((await call('POST', `/api/v1/workflows/${yw.json.id}/publish`, { version: 1 })).status, 200);
  const v2 = await call('PATCH', `/api/v1/workflows/${yw.json.id}`, { inputs: [{ name: 'topic' }, { name: 'year', type: 'number' }] });
  assert.equal(v2.status, 200, v2.text);
  await fake.script([{ match: 'REMOTE-YEAR', replies: [{ text: 'Year lines.' }] }]);
  const y = spawnSync(BIN, ['run', yw.json.id, '--input', 'topic=AI agents', '--input', 'year=2026'], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(y.status, 0, y.stdout + y.stderr);
  const yid = y.stdout.split('\n')[0].split(' ')[1];
  const yx = await call('GET', `/api/v1/executions/${yid}`);
  assert.equal(yx.json.workflow_version, 1);
  assert.deepEqual(yx.json.inputs, { topic: 'AI agents', year: '2026' });
  assert.ok(y.stdout.includes(`\nartifact year.md (11 bytes): ${srv.url.replace(/\/$/, '')}/api/v1/executions/${yid}/artifacts/year.md\n`), y.stdout);
  // a priced model: the cost is rounded to 1e-9 USD where computed and summed (two calls of 0.1 + 0.2 per million)
  const pm = await call('POST', '/api/v1/models', { name: 'priced', provider: 'openai_compatible', base_url: `${fake.url}/v1`, api_key: 'cli-remote-key-0123', model: 'priced-model', pricing: { input_per_mtok: 0.1, output_per_mtok: 0.2 } });
  assert.equal(pm.status, 201, pm.text);
  const pag = await call('POST', '/api/v1/agents', { name: 'Priced', role: 'Writer', goal: 'Write', backstory: 'Writes.', model_id: pm.json.id });
  const pw = await call('POST', '/api/v1/workflows', { name: 'priced', inputs: [], tasks: ['one', 'two'].map((k) => ({ key: k, description: `REMOTE-PRICED ${k}`, expected_output: 'Lines', agent_id: pag.json.id })) });
  assert.equal(pw.status, 201, pw.text);
  await fake.script([{ match: 'REMOTE-PRICED', replies: [{ text: 'Priced.', usage: { prompt_tokens: 1, completion_tokens: 1, cached_tokens: 0 } }] }]);
  const pr = spawnSync(BIN, ['run', pw.json.id], { env, encoding: 'utf8', timeout: 20000 });
  assert.equal(pr.status, 0, pr.stdout + pr.stderr);
  assert.match(pr.stdout, /\nusage: 2 prompt tokens \(0 cached\), 2 completion tokens; cost 0\.0000006 USD\n/);
  const px = await call('GET', `/api/v1/executions/${pr.stdout.split('\n')[0].split(' ')[1]}`);
  assert.ok(px.text.includes('"cost":6e-7,'), `no float noise in the stored sums: ${px.text.slice(px.text.indexOf('"usage"'), px.text.indexOf('"usage"') + 200)}`);
  assert.ok(!/\d{12,}e-/.test(px.text), px.text);
  const nokey = spawnSync(BIN, ['run', w.json.id], { env: { ...env, TROUPE_API_KEY: '' }, encoding: 'utf8', timeout: 20000 });
  assert.equal(nokey.status, 1);
  assert.match(nokey.stderr, /TROUPE_API_KEY/);
});
