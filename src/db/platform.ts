import type { DataSource, EntityManager } from 'typeorm';
import { transactionTimeouts } from './data-source';

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
