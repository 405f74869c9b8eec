import type { TenantScope } from '../../db/tenant-scope';
import { WorkspaceChildLoaders } from '../../db/tenant-loaders';
import { Component } from './component.entity';

/** Per-request loaders of the component module: by id, a workspace's page (filtered by `type`), counts. */
export class ComponentLoaders extends WorkspaceChildLoaders<Component> {
  constructor(scope: TenantScope) {
    super(scope, Component, 'type');
  }
}
