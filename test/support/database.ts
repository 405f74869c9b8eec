import crypto from 'node:crypto';
import { Pool } from 'pg';

export interface TestDatabase {
  /** Connection string for the gateway (owner role, runs the migrations). */
  url: string;
  /** A superuser pool on the same database, for inspecting what the API must (not) have changed. */
  admin: Pool;
  drop(): Promise<void>;
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
    url: url.toString(),
    admin,
    async drop() {
      await admin.end();
      const s = new Pool({ connectionString: adminUrl, max: 1 });
      await s.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await s.end();
    },
  };
}

/** Every row of every tenant table, in a stable order: compare before/after a refused request. */
export async function snapshot(admin: Pool): Promise<Record<string, unknown[]>> {
  const tables = [
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
