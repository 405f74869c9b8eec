import type { TenantScope } from '../../db/tenant-scope';
import type { AskedColumns } from '../../db/sql';
import { WorkspaceChildLoaders } from '../../db/tenant-loaders';
import { Component } from './component.entity';

/**
 * Component pages read only the asked columns (db/sql.ts AskedColumns): its field resolvers and the columns
 * they read beyond the key.
 */
const COMPONENT_RESOLVED_FIELDS: AskedColumns = {
  workspace: ['workspace_id'],
  deployments: [],
};

/** Per-request loaders of the component module: by id, a workspace's page (filtered by `type`), counts. */
export class ComponentLoaders extends WorkspaceChildLoaders<Component> {
  constructor(scope: TenantScope) {
    super(scope, Component, 'type', COMPONENT_RESOLVED_FIELDS);
  }
}
