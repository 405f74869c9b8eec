import type { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { transactionTimeouts } from './data-source';
import { inlineParameters } from './tenant-scope';

/**
 * The explicit platform-admin path: work that must cross tenants (create an organization, change its
 * status or support tier, look an organization up by slug for the CLI). It runs on the owner connection,
 * in its own transaction, with `app.platform_admin` switched on for that transaction only; the
 * `platform_admin` policies admit the owning role only under that setting. Never reachable from GraphQL
 * resolvers, which only ever see a TenantScope.
 */
export async function asPlatformAdmin<T>(
  ownerDataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  return ownerDataSource.transaction(async (manager) => {
    await manager.query(`SELECT set_config('app.platform_admin', 'on', true), ${transactionTimeouts(ownerDataSource)}`);
    return work(manager);
  });
}

/**
 * One platform-admin statement in ONE round trip (issue 11, W4): `set_config('app.platform_admin', 'on',
 * true)` and the timeouts, then `sql`, as one simple-protocol message on the owner pool. PostgreSQL runs
 * the statements of one simple Query message as one implicit transaction, so the settings are
 * transaction-local exactly as in `asPlatformAdmin` (which costs START TRANSACTION, the settings, the
 * statement and COMMIT: four round trips), and a transaction-mode pooler sees one transaction. The
 * parameters are inlined as literals by `inlineParameters` (the tick batches' rules); a statement that
 * cannot be inlined goes through `asPlatformAdmin` instead.
 */
export async function platformStatement<T = Record<string, unknown>>(
  ownerDataSource: DataSource,
  sql: string,
  parameters: unknown[],
): Promise<T[]> {
  const inlined = inlineParameters(sql, parameters);
  if (inlined === null) return asPlatformAdmin(ownerDataSource, (manager) => manager.query(sql, parameters));
  const pool = (ownerDataSource.driver as PostgresDriver).master as {
    query(text: string): Promise<Array<{ rows: T[] }>>;
  };
  const results = await pool.query(
    `SELECT set_config('app.platform_admin', 'on', true), ${transactionTimeouts(ownerDataSource)}; ${inlined}`,
  );
  return results[1].rows;
}
