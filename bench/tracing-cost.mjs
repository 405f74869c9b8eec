#!/usr/bin/env node
/**
 * What per-organization tracing costs (issue 13 point 7, README "Tracing"): CPU ms per request of a W2-like
 * point read (`workspace(id:) { id name description }`), measured from /proc/<pid>/stat (user + system) of
 * the gateway process, in alternated rounds on one embedded PostgreSQL:
 *   base — the gateway before tracing (a build of BASE_DIR, e.g. a `git archive` of the previous commit),
 *   none — this gateway, the organization's trace_mode = none,
 *   all  — this gateway, trace_mode = all (spans recorded, traces written to the table).
 * Usage (after `npm run build`): node bench/tracing-cost.mjs [BASE_DIR]
 *   TRACE_BENCH_ROUNDS (5), TRACE_BENCH_REQUESTS (1500), TRACE_BENCH_CONCURRENCY (4),
 *   TRACE_BENCH_WORKLOAD (W2; W1 = the bench's nested read over 20 workspaces × (10 environments + 10
 *   components), where per-field costs show: ~1,700 fields per answer).
 * Small on purpose (a few seconds per round): not `npm run bench`, which the shared machine cannot afford.
 */
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { generateKeyPair, claimsFor, signEs256 } = require(path.join(ROOT, 'dist/test/support/tokens.js'));
const pg = require('pg');

const BASE_DIR = process.argv[2];
const ROUNDS = Number(process.env.TRACE_BENCH_ROUNDS ?? 5);
const REQUESTS = Number(process.env.TRACE_BENCH_REQUESTS ?? 1500);
const CONCURRENCY = Number(process.env.TRACE_BENCH_CONCURRENCY ?? 4);
const log = (m) => process.stderr.write(`[trace-bench] ${m}\n`);

const key = generateKeyPair();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-bench-'));
const pgPort = String(55000 + Math.floor(Math.random() * 4000));
const encryption = JSON.stringify({ 1: crypto.randomBytes(32).toString('base64') });
const baseEnv = {
  ...process.env,
  NODE_ENV: 'production',
  LOG_LEVEL: 'info',
  PORT: '0',
  HOST: '127.0.0.1',
  DATA_DIR: dataDir,
  EMBEDDED_PG_PORT: pgPort,
  JWT_PRIVATE_KEY: key.privatePem,
  ENCRYPTION_KEYS: encryption,
  TRACE_RETENTION_INTERVAL_MS: '0',
};

function start(root, env) {
  const child = spawn(process.execPath, [path.join(root, 'dist/src/main.js')], {
    env: { ...baseEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway did not start')), 60000);
    for (const stream of [child.stdout, child.stderr])
      readline.createInterface({ input: stream }).on('line', (line) => {
        try {
          const entry = JSON.parse(line);
          if (entry.msg === 'listening') {
            clearTimeout(timer);
            resolve({ child, url: `http://127.0.0.1:${entry.port}` });
          }
        } catch {
          if (process.env.TRACE_BENCH_LOGS) log(line);
        }
      });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
  });
}

const cli = (args) =>
  JSON.parse(
    execFileSync(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), ...args, '--json'], {
      env: baseEnv,
    }).toString(),
  );

function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function gql(url, token, query, variables) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const current = await start(ROOT, {});
const urls = cli(['db', 'url']);
const org = cli([
  'org',
  'create',
  '--name',
  'Bench',
  '--slug',
  `bench-${crypto.randomBytes(3).toString('hex')}`,
  '--owner-email',
  'o@x.test',
  '--owner-id',
  'user-1',
]);
const token = signEs256(
  key.privateKey,
  claimsFor(
    org.id,
    ['org:read', 'org:write', 'workspaces:read', 'workspaces:write', 'components:read', 'components:write'],
    {
      exp: Math.floor(Date.now() / 1000) + 3600,
    },
  ),
);
const servers = { none: current, all: current };
if (BASE_DIR)
  servers.base = await start(BASE_DIR, { DATABASE_URL: urls.database_url, APP_DATABASE_URL: urls.app_database_url });
const ws = (
  await gql(current.url, token, 'mutation { createWorkspace(input: { name: "W2", description: "bench" }) { id } }')
).createWorkspace.id;
const admin = new pg.Client({ connectionString: urls.database_url });
await admin.connect();
const setMode = (mode) =>
  admin.query(
    `BEGIN; SELECT set_config('app.platform_admin', 'on', true); UPDATE organizations SET trace_mode = '${mode}' WHERE id = '${org.id}'; COMMIT`,
  );
const W2 = 'query W2($id: ID!) { workspace(id: $id) { id name description } }';
const W1 = `query W1 { organization { workspaces(first: 100) { totalCount edges { node { id name
  environments(first: 100) { totalCount edges { node { id slug tier } } }
  components(first: 100) { totalCount edges { node { id name type } } } } } } } }`;
const WORKLOAD = process.env.TRACE_BENCH_WORKLOAD ?? 'W2';
if (WORKLOAD === 'W1') {
  for (let w = 0; w < 20; w++) {
    const id =
      w === 0
        ? ws
        : (await gql(current.url, token, `mutation { createWorkspace(input: { name: "W${w}" }) { id } }`))
            .createWorkspace.id;
    for (let i = 0; i < 10; i++) {
      await gql(
        current.url,
        token,
        `mutation($e: CreateEnvironmentInput!, $c: CreateComponentInput!) { createEnvironment(input: $e) { id } createComponent(input: $c) { id } }`,
        {
          e: {
            workspaceId: id,
            name: `E${i}`,
            slug: `e${i}`,
            tier: ['DEV', 'STAGE', 'PROD'][i % 3],
            deploymentHost: 'AWS',
          },
          c: { workspaceId: id, name: `C${i}`, type: 'AGENT' },
        },
      );
    }
  }
}

async function run(url, n) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) await gql(url, token, WORKLOAD === 'W1' ? W1 : W2, WORKLOAD === 'W1' ? {} : { id: ws });
    }),
  );
}

const results = { base: [], none: [], all: [] };
const variants = Object.keys(servers).sort(
  (a, b) => ['base', 'none', 'all'].indexOf(a) - ['base', 'none', 'all'].indexOf(b),
);
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of round % 2 ? [...variants].reverse() : variants) {
    const server = servers[variant];
    await setMode(variant === 'all' ? 'all' : 'none');
    await run(server.url, 200); // warm
    await new Promise((r) => setTimeout(r, 200)); // the writer's last flush
    const before = cpuMs(server.child.pid);
    const t0 = process.hrtime.bigint();
    await run(server.url, REQUESTS);
    await new Promise((r) => setTimeout(r, 200)); // count the trace writes of this run
    const cpu = cpuMs(server.child.pid) - before;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9 - 0.2;
    results[variant].push({ cpuPerRequest: cpu / REQUESTS, rps: REQUESTS / seconds });
    log(
      `round ${round} ${variant}: ${(cpu / REQUESTS).toFixed(3)} CPU ms/request, ${(REQUESTS / seconds).toFixed(0)} req/s`,
    );
  }
}
const traces = (
  await admin.query(
    `BEGIN; SELECT set_config('app.platform_admin', 'on', true); SELECT count(*)::int AS n FROM traces; COMMIT`,
  )
)[2].rows[0].n;
await admin.end();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = Object.fromEntries(
  Object.entries(results)
    .filter(([, r]) => r.length)
    .map(([k, r]) => [
      k,
      {
        cpuMsPerRequest: +median(r.map((x) => x.cpuPerRequest)).toFixed(3),
        reqPerSec: +median(r.map((x) => x.rps)).toFixed(0),
        rounds: r.map((x) => +x.cpuPerRequest.toFixed(3)),
      },
    ]),
);
console.log(
  JSON.stringify(
    { workload: WORKLOAD, requestsPerRound: REQUESTS, concurrency: CONCURRENCY, tracesWritten: traces, ...summary },
    null,
    2,
  ),
);
for (const s of Object.values(servers)) s.child.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 3000));
