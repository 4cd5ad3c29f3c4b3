// Regenerates src/api/schema.d.ts (the typed API client's types) from the
// OpenAPI document of a troupe: TROUPE_URL if set, else a `troupe serve`
// started here from TROUPE_BIN (default ../build/troupe) on a temporary
// data directory and stopped afterwards.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, '..');
const out = path.join(web, 'src', 'api', 'schema.d.ts');

async function startServer(bin) {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-openapi-'));
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', data], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH },
  });
  let err = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('troupe did not start in 20 s:\n' + err)), 20000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/"msg":"listening".*?"port":"(\d+)"/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`troupe exited ${code}:\n${err}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop() {
      child.kill('SIGTERM');
      fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

const bin = process.env.TROUPE_BIN || path.resolve(web, '..', 'build', 'troupe');
const server = process.env.TROUPE_URL ? null : await startServer(bin);
try {
  const base = process.env.TROUPE_URL || server.url;
  const res = await fetch(`${base}/api/v1/openapi.json`);
  if (!res.ok) throw new Error(`GET /api/v1/openapi.json: ${res.status}`);
  const tmp = path.join(os.tmpdir(), `troupe-openapi-${process.pid}.json`);
  fs.writeFileSync(tmp, await res.text());
  execFileSync(path.join(web, 'node_modules', '.bin', 'openapi-typescript'), [tmp, '-o', out], {
    stdio: 'inherit',
  });
  fs.rmSync(tmp);
} finally {
  if (server) server.stop();
}
