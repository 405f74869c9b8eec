import crypto from 'node:crypto';
import { Client, Pool } from 'pg';

export interface TestDatabase {
  /**
   * Connection string for the gateway and the CLI (owner role, runs the migrations): through PgBouncer in
   * `npm run test:pgbouncer`, straight to PostgreSQL otherwise.
   */
  url: string;
  /** A superuser pool on the same database, for inspecting what the API must (not) have changed. */
  admin: Pool;
  drop(): Promise<void>;
}

/** Port of the run's PgBouncer (transaction mode, see support/pgbouncer.mjs), when the run uses one. */
export const PGBOUNCER_PORT = process.env.GATEWAY_TEST_PGBOUNCER_PORT
  ? Number(process.env.GATEWAY_TEST_PGBOUNCER_PORT)
  : undefined;
/** Server connections PgBouncer keeps per (database, user) in that run (its default_pool_size). */
export const PGBOUNCER_POOL_SIZE = Number(process.env.GATEWAY_TEST_PGBOUNCER_POOL_SIZE ?? 0);

/** The same database and role, through the run's PgBouncer when there is one (the URL unchanged otherwise). */
export function throughPgBouncer(connectionString: string): string {
  if (!PGBOUNCER_PORT) return connectionString;
  const url = new URL(connectionString);
  url.hostname = '127.0.0.1';
  url.port = String(PGBOUNCER_PORT);
  return url.toString();
}

/**
 * PgBouncer's admin console (SHOW POOLS, SHOW STATS): connect to the virtual database `pgbouncer` as the
 * run's superuser. Only in a PgBouncer run.
 */
export async function pgBouncerShow(
  what: 'POOLS' | 'STATS' | 'SERVERS' | 'CLIENTS',
): Promise<Record<string, unknown>[]> {
  const adminUrl = process.env.GATEWAY_TEST_ADMIN_URL;
  if (!PGBOUNCER_PORT || !adminUrl) throw new Error('not a PgBouncer run');
  const url = new URL(throughPgBouncer(adminUrl));
  url.pathname = '/pgbouncer';
  const console = new Client({ connectionString: url.toString() });
  await console.connect();
  try {
    // The admin console speaks only the simple query protocol (no parameters: pg then sends it as a simple query).
    return (await console.query(`SHOW ${what}`)).rows;
  } finally {
    await console.end();
  }
}

/** A fresh database per test file on the run's PostgreSQL (embedded, or TEST_DATABASE_URL). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.GATEWAY_TEST_ADMIN_URL;
  if (!adminUrl) throw new Error('GATEWAY_TEST_ADMIN_URL is not set: run the tests with `npm test`');
  const name = `gw_test_${crypto.randomBytes(5).toString('hex')}`;
  const server = new Pool({ connectionString: adminUrl, max: 1 });
  await server.query(`CREATE DATABASE ${name}`);
  await server.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const admin = new Pool({ connectionString: url.toString(), max: 3 });
  return {
    url: throughPgBouncer(url.toString()),
    admin,
    async drop() {
      // Finding: pg's Pool.end() resolves before its idle clients' sockets are closed, so DROP … WITH
      // (FORCE) below can terminate a backend whose client is still closing; the pool then emits 'error'
      // (57P01), which without a listener surfaced as an unhandled error in whatever test ran next.
      admin.on('error', () => undefined);
      await admin.end();
      const s = new Pool({ connectionString: adminUrl, max: 1 });
      await s.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await s.end();
    },
  };
}

/** The tenant tables snapshot() and snapshotDigest() read. */
const SNAPSHOT_TABLES = [
  'organizations',
  'workspaces',
  'environments',
  'components',
  'org_members',
  'workspace_members',
  'audit_log',
  'api_keys',
  'connectors',
  'subscriptions',
  'credit_balances',
  'credit_ledger',
  'deployment_rings',
  'deployment_promotions',
  'ring_deployments',
  'workspace_llm_settings',
];

/**
 * The gateway's connections still inside a transaction once they settled: waits up to 5 s for rollbacks of
 * abandoned requests to finish, then returns those left (state and query), which a test expects to be none.
 */
export async function openGatewayTransactions(admin: Pool): Promise<Array<{ state: string; query: string }>> {
  const inTransaction = async () =>
    (
      await admin.query(
        `SELECT state, query FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'manifest-gateway' AND state LIKE 'idle in transaction%'`,
      )
    ).rows;
  for (let i = 0; i < 50 && (await inTransaction()).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  return inTransaction();
}

/** Every row of every tenant table, in a stable order: compare before/after a refused request. */
export async function snapshot(admin: Pool): Promise<Record<string, unknown[]>> {
  const tables = SNAPSHOT_TABLES;
  const result: Record<string, unknown[]> = {};
  for (const table of tables) {
    // Whole-row order: stable whatever the table's key.
    const rows = (await admin.query(`SELECT * FROM ${table} t ORDER BY t::text`)).rows;
    // api_keys.last_used_at is written in the background after a token exchange (off the hot path), so it
    // can land between two snapshots; it is bookkeeping of the exchange, not something a request changes.
    result[table] = table === 'api_keys' ? rows.map(({ last_used_at: _lastUsed, ...rest }) => rest) : rows;
  }
  return result;
}

/**
 * The same rows as snapshot(), as one hash per table in one statement: for tests that compare
 * before/after thousands of times (the hostile-input fuzz). Equal digests = equal snapshots.
 */
export async function snapshotDigest(admin: Pool): Promise<Record<string, string>> {
  const parts = SNAPSHOT_TABLES.map((table) => {
    const row = table === 'api_keys' ? `(to_jsonb(t) - 'last_used_at')::text` : 't::text';
    return `SELECT '${table}' AS name, md5(coalesce(string_agg(${row}, E'\\n' ORDER BY ${row}), '')) AS hash FROM ${table} t`;
  });
  const { rows } = await admin.query(parts.join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.name, r.hash]));
}
