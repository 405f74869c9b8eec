import type DataLoader from 'dataloader';
import { byIdLoader, childCountLoader, childPageLoader } from '../db/tenant-loaders';
import type { TenantScope } from '../db/tenant-scope';
import { Organization } from '../modules/organization/organization.entity';
import { Workspace } from '../modules/workspace/workspace.entity';
import { Environment } from '../modules/environment/environment.entity';
import { Component } from '../modules/component/component.entity';
import { pageKey, type Page } from './pagination';

/** The request's DataLoaders: created with the request's scope, dropped with it. Never module-level. */
export class Loaders {
  private readonly pages = new Map<string, DataLoader<string, unknown[]>>();

  readonly workspace: DataLoader<string, Workspace | null>;
  readonly environment: DataLoader<string, Environment | null>;
  readonly component: DataLoader<string, Component | null>;
  readonly environmentCount: DataLoader<string, number>;
  readonly componentCount: DataLoader<string, number>;

  constructor(private readonly scope: TenantScope) {
    this.workspace = byIdLoader(scope, Workspace);
    this.environment = byIdLoader(scope, Environment);
    this.component = byIdLoader(scope, Component);
    this.environmentCount = childCountLoader(scope, Environment, 'workspace_id');
    this.componentCount = childCountLoader(scope, Component, 'workspace_id');
  }

  /** The organization row is the tenant root; RLS shows exactly one (or none, if it was deleted). */
  private organizationRow?: Promise<Organization | null>;
  organization(): Promise<Organization | null> {
    this.organizationRow ??= this.scope
      .manager()
      .then((m) => m.findOne(Organization, { where: { id: this.scope.orgId } }));
    return this.organizationRow;
  }

  environmentsOfWorkspace(page: Page): DataLoader<string, Environment[]> {
    return this.pageLoader(`environments:${pageKey(page)}`, () => childPageLoader(this.scope, Environment, 'workspace_id', page));
  }

  componentsOfWorkspace(page: Page): DataLoader<string, Component[]> {
    return this.pageLoader(`components:${pageKey(page)}`, () => childPageLoader(this.scope, Component, 'workspace_id', page));
  }

  private pageLoader<E>(key: string, create: () => DataLoader<string, E[]>): DataLoader<string, E[]> {
    if (!this.pages.has(key)) this.pages.set(key, create() as DataLoader<string, unknown[]>);
    return this.pages.get(key) as DataLoader<string, E[]>;
  }
}
