/**
 * Benchmark: the nested organization → workspaces → environments + components query, through the real
 * gateway over HTTP, with row-level security ON (as shipped) against a peer database where the
 * benchmark switched RLS OFF on the tenant tables. Everything else is identical: same code, same
 * tenant transaction, same data (20 workspaces × 10 environments × 10 components). Runs alternate
 * (on, off, on, off, …) so machine noise hits both. Reports throughput, latency and the on/off ratio.
 *
 *   npm run bench:rls                  # embedded PostgreSQL under .bench-data/
 *   BENCH_SECONDS=10 BENCH_ROUNDS=5 npm run bench:rls
 *   TEST_DATABASE_URL=postgres://… npm run bench:rls
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../test/support/database';
import { startGateway, type RunningGateway } from '../test/support/gateway';
import { createOrg, seedTreeSql } from '../test/support/fixtures';
import { startEmbeddedPostgres } from '../src/db/embedded';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const QUERY = `{ organization { workspaces(first: 100) { totalCount edges { node { id name
  environments(first: 100) { totalCount edges { node { id slug tier } } }
  components(first: 100) { totalCount edges { node { id name type } } } } } } } }`;

const quiet = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } as never;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Side {
  label: string;
  gw: RunningGateway;
  db: TestDatabase;
  token: string;
  latencies: number[];
  requests: number;
  seconds: number;
  statements?: number;
}

async function prepare(label: string, rls: boolean): Promise<Side> {
  const db = await createTestDatabase();
  const gw = await startGateway({ databaseUrl: db.url, env: { LOG_LEVEL: 'info', DB_POOL_SIZE: '10' } });
  const org = await createOrg(db, `bench-${label}`);
  await seedTreeSql(db.admin, org.id, { workspaces: 20, environments: 10, components: 10 });
  if (!rls) {
    for (const table of ['organizations', 'workspaces', 'environments', 'components']) {
      await db.admin.query(`ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY`);
    }
  }
  return { label, gw, db, token: gw.token(org.id), latencies: [], requests: 0, seconds: 0 };
}

async function load(side: Side): Promise<void> {
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const response = await side.gw.graphql(QUERY, {}, side.token);
      if (response.body.errors) throw new Error(JSON.stringify(response.body.errors));
      side.latencies.push(performance.now() - t0);
      side.statements = response.body.extensions?.sql?.statements;
      side.requests++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  side.seconds += (performance.now() - started) / 1000;
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * p)];

async function main(): Promise<void> {
  let stopCluster = async () => undefined as void;
  if (!process.env.TEST_DATABASE_URL) {
    const dir = path.resolve('.bench-data');
    fs.rmSync(dir, { recursive: true, force: true });
    const cluster = await startEmbeddedPostgres(dir, await freePort(), quiet);
    process.env.GATEWAY_TEST_ADMIN_URL = cluster.url;
    stopCluster = cluster.stop;
  } else {
    process.env.GATEWAY_TEST_ADMIN_URL = process.env.TEST_DATABASE_URL;
  }
  const on = await prepare('rls-on', true);
  const off = await prepare('rls-off', false);
  try {
    await load({ ...on, latencies: [], requests: 0, seconds: 0 }); // warm-up, discarded
    await load({ ...off, latencies: [], requests: 0, seconds: 0 });
    for (let round = 0; round < ROUNDS; round++) {
      await load(on);
      await load(off);
    }
    const report = (side: Side) => ({
      side: side.label,
      requests: side.requests,
      'req/s': Number((side.requests / side.seconds).toFixed(1)),
      'p50 ms': Number(percentile(side.latencies, 0.5).toFixed(2)),
      'p95 ms': Number(percentile(side.latencies, 0.95).toFixed(2)),
      'sql statements/request': side.statements,
    });
    console.log(
      `nested query, 20 workspaces × (10 environments + 10 components), concurrency ${CONCURRENCY}, ${ROUNDS} × ${SECONDS}s each, alternating`,
    );
    console.table([report(on), report(off)]);
    const ratio = on.requests / on.seconds / (off.requests / off.seconds);
    console.log(
      `throughput ratio RLS on / off: ${ratio.toFixed(3)}  (p50 latency ratio ${(percentile(on.latencies, 0.5) / percentile(off.latencies, 0.5)).toFixed(3)})`,
    );
  } finally {
    await on.gw.stop();
    await off.gw.stop();
    await on.db.drop();
    await off.db.drop();
    await stopCluster();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
