import type { TenantScope } from '../../db/tenant-scope';
import type { AskedColumns } from '../../db/sql';
import { WorkspaceChildLoaders } from '../../db/tenant-loaders';
import { Environment } from './environment.entity';

/**
 * Environment pages read only the asked columns (db/sql.ts AskedColumns): its field resolvers and the columns
 * they read beyond the key.
 */
const ENVIRONMENT_RESOLVED_FIELDS: AskedColumns = {
  // Environment.workspace reads workspace_id (always read: the parent key); Environment.credentials is
  // not listed (it reads the credentials columns), so a page that selects it reads every column.
  workspace: ['workspace_id'],
};

/** Per-request loaders of the environment module: by id, a workspace's page (filtered by `tier`), counts. */
export class EnvironmentLoaders extends WorkspaceChildLoaders<Environment> {
  constructor(scope: TenantScope) {
    super(scope, Environment, 'tier', ENVIRONMENT_RESOLVED_FIELDS);
  }
}
