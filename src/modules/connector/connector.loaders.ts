import type { TenantScope } from '../../db/tenant-scope';
import { WorkspaceChildLoaders } from '../../db/tenant-loaders';
import { Connector } from './connector.entity';

/** Per-request loaders of the connector module: by id, a workspace's page (filtered by `kind`), counts. */
export class ConnectorLoaders extends WorkspaceChildLoaders<Connector> {
  constructor(scope: TenantScope) {
    super(scope, Connector, 'kind');
  }
}
