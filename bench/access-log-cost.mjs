/**
 * What the access log costs (issue 13 point 6): CPU ms per W2 request (`workspace(id)`) of the production
 * gateway with ACCESS_LOG=on vs off, two processes on the same database, alternated round by round.
 * CPU = user + system time of the server process from /proc/<pid>/stat (bench/README.md "Profile and levers"),
 * so the figure does not depend on how busy the shared machine is, only on the work the process did.
 *
 *   npm run -s build && node bench/access-log-cost.mjs          # ACCESS_COST_REQUESTS=3000 ACCESS_COST_ROUNDS=3
 *
 * Needs only the root node_modules (not the bench peers).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SignJWT } from 'jose';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import { spawn, spawnSync } from 'node:child_process';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (file) => require(path.join(ROOT, 'dist', file));
const { ALL_SCOPES } = dist('test/support/scopes.js');
const REQUESTS = Number(process.env.ACCESS_COST_REQUESTS || 3000);
const ROUNDS = Number(process.env.ACCESS_COST_ROUNDS || 3);
const CONNECTIONS = 4;
const SERVER_CPU = os.availableParallelism() > 1 ? '1' : '';
const log = (message) => process.stderr.write(`[access-log-cost] ${message}\n`);

const TICKS = 100; // USER_HZ on Linux
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS; // utime + stime (fields 14 and 15)
}

const HAS_TASKSET = spawnSync('taskset', ['-V']).status === 0;

/** The production gateway as bench/lib/servers.mjs starts it (that module needs the bench peers), pinned to `cpu`. */
async function startGateway(db, keys, cpu, accessLog) {
  const args = [path.join(ROOT, 'dist/src/main.js')];
  const [command, argv] =
    HAS_TASKSET && cpu ? ['taskset', ['-c', cpu, process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(command, argv, {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ACCESS_LOG: accessLog,
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'access-log-gw-')),
      DATABASE_URL: db.ownerUrl,
      APP_DATABASE_URL: db.servingUrl,
      DB_POOL_SIZE: '10',
      JWT_PRIVATE_KEY: keys.privatePem,
      ENCRYPTION_KEYS: JSON.stringify({ 1: keys.encryptionKey }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let last = '';
  let lines = 0;
  const url = await new Promise((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        if (line.includes('"msg":"request"')) {
          last = line;
          lines++;
        }
        if (line.includes('"msg":"listening"')) resolve(`http://127.0.0.1:${JSON.parse(line).port}`);
      });
    }
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    accessLines: () => ({ lines, last }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

function post(url, agent, body, token) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}/graphql`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode !== 200 || text.includes('"errors"')) reject(new Error(`bad answer: ${text}`));
          else resolve();
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function run(url, count, body, token) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await post(url, agent, body, token);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  agent.destroy();
}

/**
 * An embedded PostgreSQL of its own (bench/lib/data.mjs needs the bench peers), a fresh database migrated by the
 * CLI, the serving login, one organization owned by user-1 with 20 workspaces.
 */
async function createDatabase() {
  const quiet = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };
  quiet.child = () => quiet;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'access-log-cost-'));
  const port = await new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  const cluster = await dist('src/db/embedded.js').startEmbeddedPostgres(dir, port, quiet);
  process.env.GATEWAY_TEST_ADMIN_URL = cluster.url;
  const db = await dist('test/support/database.js').createTestDatabase();
  const cli = async (args) => {
    const result = await dist('test/support/gateway.js').cli([...args, '--json'], {
      DATABASE_URL: db.url,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
    });
    if (result.code !== 0) throw new Error(`cli ${args.join(' ')} failed: ${result.stderr}`);
    return result.json;
  };
  await cli(['migrate']);
  const login = await cli([
    'db',
    'create-serving-login',
    '--name',
    'manifest_bench',
    '--password',
    crypto.randomBytes(18).toString('base64url'),
  ]);
  return {
    ownerUrl: db.url,
    servingUrl: login.app_database_url,
    admin: db.admin,
    async close() {
      await db.drop().catch(() => undefined);
      await cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const db = await createDatabase();
const servers = [];
try {
  const {
    rows: [org],
  } = await db.admin.query(
    `WITH o AS (INSERT INTO organizations (id, name, slug) VALUES (gen_random_uuid(), 'Access', 'access') RETURNING id),
          m AS (INSERT INTO org_members (org_id, user_id, email, role) SELECT id, 'user-1', 'owner@example.test', 'owner' FROM o)
     SELECT id FROM o`,
  );
  const {
    rows: [{ id: workspaceId }],
  } = await db.admin.query(
    `INSERT INTO workspaces (org_id, id, name, description)
     SELECT $1, gen_random_uuid(), 'Workspace ' || g, 'Bench workspace ' || g FROM generate_series(1, 20) g
     RETURNING id`,
    [org.id],
  );
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys = {
    privateKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    encryptionKey: crypto.randomBytes(32).toString('base64'),
  };
  const token = await new SignJWT({ org: org.id, scope: ALL_SCOPES.join(' ') })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setIssuer('manifest-gateway')
    .setAudience('manifest-gateway')
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  const body = JSON.stringify({
    query: `query($id: ID!) { workspace(id: $id) { id name description } }`,
    variables: { id: Buffer.from(`Workspace:${workspaceId}`, 'utf8').toString('base64url') },
  });
  for (const mode of ['on', 'off'])
    servers.push({ mode, server: await startGateway(db, keys, SERVER_CPU, mode), cpu: [] });
  if (HAS_TASKSET && SERVER_CPU) spawnSync('taskset', ['-a', '-pc', '0', String(process.pid)]); // the load: core 0
  for (const { server } of servers) await run(server.url, 500, body, token); // warm-up (JIT, pools)
  for (let round = 1; round <= ROUNDS; round++) {
    for (const entry of round % 2 ? servers : [...servers].reverse()) {
      const before = cpuMs(entry.server.pid);
      await run(entry.server.url, REQUESTS, body, token);
      const perRequest = (cpuMs(entry.server.pid) - before) / REQUESTS;
      entry.cpu.push(perRequest);
      log(`round ${round} ACCESS_LOG=${entry.mode}: ${perRequest.toFixed(3)} CPU ms per request`);
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const [on, off] = servers.map((entry) => median(entry.cpu));
  log(`median: on ${on.toFixed(3)} ms, off ${off.toFixed(3)} ms, difference ${(on - off).toFixed(3)} ms per request`);
  const { lines, last } = servers[0].server.accessLines();
  log(
    `${lines} access-log lines (off: ${servers[1].server.accessLines().lines}); the last: ${last} (${Buffer.byteLength(last)} bytes)`,
  );
} finally {
  for (const { server } of servers) await server.stop();
  await db.close();
}
