import type { TenantScope } from '../../db/tenant-scope';
import { WorkspaceChildLoaders } from '../../db/tenant-loaders';
import { Environment } from './environment.entity';

/** Per-request loaders of the environment module: by id, a workspace's page (filtered by `tier`), counts. */
export class EnvironmentLoaders extends WorkspaceChildLoaders<Environment> {
  constructor(scope: TenantScope) {
    super(scope, Environment, 'tier');
  }
}
