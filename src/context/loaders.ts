import DataLoader from 'dataloader';
import { byIdLoader, childCountLoader, childPageLoader, hydrate } from '../db/tenant-loaders';
import type { OrgRole, WorkspaceRole } from '../auth/roles';
import type { TenantScope } from '../db/tenant-scope';
import { Organization } from '../modules/organization/organization.entity';
import { Workspace } from '../modules/workspace/workspace.entity';
import { Environment } from '../modules/environment/environment.entity';
import { Component } from '../modules/component/component.entity';
import { WorkspaceMember } from '../modules/member/member.entity';
import { Connector } from '../modules/connector/connector.entity';
import { pageKey, type Page } from '../pagination';
import { DeploymentLoaders } from '../modules/deployment/deployment.loaders';
import { LlmLoaders } from '../modules/llm/llm.service';

export interface Caller {
  organization: Organization | null;
  orgRole: OrgRole | null;
  allWorkspacesRole: WorkspaceRole | null;
  /** For API-key principals: the key exists, is not revoked and has not expired (checked every request). */
  apiKeyActive: boolean;
}

/** The request's DataLoaders: created with the request's scope, dropped with it. Never module-level. */
export class Loaders {
  private readonly pages = new Map<string, DataLoader<string, unknown[]>>();

  readonly workspace: DataLoader<string, Workspace | null>;
  readonly environment: DataLoader<string, Environment | null>;
  readonly component: DataLoader<string, Component | null>;
  readonly environmentCount: DataLoader<string, number>;
  readonly componentCount: DataLoader<string, number>;
  readonly connector: DataLoader<string, Connector | null>;
  readonly connectorCount: DataLoader<string, number>;
  readonly deployments: DeploymentLoaders;
  readonly llm: LlmLoaders;

  constructor(private readonly scope: TenantScope) {
    this.workspace = byIdLoader(scope, Workspace);
    this.environment = byIdLoader(scope, Environment);
    this.component = byIdLoader(scope, Component);
    this.environmentCount = childCountLoader(scope, Environment, 'workspace_id');
    this.componentCount = childCountLoader(scope, Component, 'workspace_id');
    this.connector = byIdLoader(scope, Connector);
    this.connectorCount = childCountLoader(scope, Connector, 'workspace_id');
    this.deployments = new DeploymentLoaders(scope);
    this.llm = new LlmLoaders(scope);
  }

  /**
   * The organization row (the tenant root; RLS shows exactly one, or none) together with the caller's
   * membership, in one statement at the start of every request.
   */
  private callerRow?: Promise<Caller>;
  caller(): Promise<Caller> {
    this.callerRow ??= (async () => {
      const manager = await this.scope.manager();
      const { userId, kind, apiKeyId } = this.scope.identity;
      const rows =
        kind === 'api_key'
          ? await this.scope.query(
              // The key must be live, answer to the member the token names, and that member must still be one;
              // their roles are the key's roles (org role caps its scopes; workspace visibility is theirs).
              `SELECT o.*, km.role AS member_role, km.all_workspaces_role AS member_all_workspaces_role,
                      (k.id IS NOT NULL AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
                       AND k.owner_user_id IS NOT DISTINCT FROM $3::text
                       AND (k.owner_user_id IS NULL OR km.user_id IS NOT NULL)) AS key_active
                 FROM organizations o
                 LEFT JOIN api_keys k ON k.org_id = o.id AND k.id = $2::uuid
                 LEFT JOIN org_members km ON km.org_id = o.id AND km.user_id = k.owner_user_id
                WHERE o.id = $1`,
              [this.scope.orgId, apiKeyId, userId],
            )
          : await this.scope.query(
              `SELECT o.*, m.role AS member_role, m.all_workspaces_role AS member_all_workspaces_role
                 FROM organizations o LEFT JOIN org_members m ON m.org_id = o.id AND m.user_id = $2
                WHERE o.id = $1`,
              [this.scope.orgId, userId ?? ''],
            );
      if (rows.length === 0) return { organization: null, orgRole: null, allWorkspacesRole: null, apiKeyActive: false };
      const [organization] = hydrate<Organization>(manager.connection.getMetadata(Organization), rows);
      return {
        organization,
        orgRole: (rows[0].member_role as OrgRole | null) ?? null,
        allWorkspacesRole: (rows[0].member_all_workspaces_role as WorkspaceRole | null) ?? null,
        apiKeyActive: rows[0].key_active === true,
      };
    })();
    return this.callerRow;
  }

  async organization(): Promise<Organization | null> {
    return (await this.caller()).organization;
  }

  /** Everyone's memberships of the given workspaces (visible workspaces only: RLS on workspaces). */
  readonly workspaceMembers = new DataLoader<string, WorkspaceMember[]>(async (workspaceIds) => {
    const manager = await this.scope.manager();
    const rows = await this.scope.query(
      `SELECT wm.* FROM workspace_members wm JOIN workspaces w ON w.org_id = wm.org_id AND w.id = wm.workspace_id
        WHERE wm.org_id = $1 AND wm.workspace_id = ANY($2::uuid[]) ORDER BY wm.user_id`,
      [this.scope.orgId, workspaceIds],
    );
    const members = hydrate<WorkspaceMember>(manager.connection.getMetadata(WorkspaceMember), rows);
    return workspaceIds.map((id) => members.filter((m) => m.workspaceId === id));
  });

  /** The caller's own workspace memberships, by workspace id. */
  readonly workspaceRole = new DataLoader<string, WorkspaceRole | null>(async (workspaceIds) => {
    const rows = await this.scope.query<{ workspace_id: string; role: WorkspaceRole }>(
      `SELECT workspace_id, role FROM workspace_members WHERE org_id = $1 AND user_id = $2 AND workspace_id = ANY($3::uuid[])`,
      [this.scope.orgId, this.scope.identity.userId ?? '', workspaceIds],
    );
    const roles = new Map(rows.map((r) => [r.workspace_id, r.role]));
    return workspaceIds.map((id) => roles.get(id) ?? null);
  });

  /** `tier`, `type`, `kind`: the list filters (stored, lower-case values); null for the whole list. */
  environmentsOfWorkspace(page: Page, tier: string | null = null): DataLoader<string, Environment[]> {
    const filter = tier ? { column: 'tier', value: tier } : undefined;
    return this.pageLoader(`environments:${tier ?? ''}:${pageKey(page)}`, () => childPageLoader(this.scope, Environment, 'workspace_id', page, filter));
  }

  componentsOfWorkspace(page: Page, type: string | null = null): DataLoader<string, Component[]> {
    const filter = type ? { column: 'type', value: type } : undefined;
    return this.pageLoader(`components:${type ?? ''}:${pageKey(page)}`, () => childPageLoader(this.scope, Component, 'workspace_id', page, filter));
  }

  connectorsOfWorkspace(page: Page, kind: string | null = null): DataLoader<string, Connector[]> {
    const filter = kind ? { column: 'kind', value: kind } : undefined;
    return this.pageLoader(`connectors:${kind ?? ''}:${pageKey(page)}`, () => childPageLoader(this.scope, Connector, 'workspace_id', page, filter));
  }

  private readonly filteredCounts = new Map<string, DataLoader<string, number>>();
  /** Per-workspace counts of a filtered list (the unfiltered counts are environmentCount etc.). */
  filteredCount(entity: typeof Environment | typeof Component | typeof Connector, column: string, value: string): DataLoader<string, number> {
    const key = `${entity.name}:${column}:${value}`;
    let loader = this.filteredCounts.get(key);
    if (!loader) this.filteredCounts.set(key, (loader = childCountLoader(this.scope, entity, 'workspace_id', { column, value })));
    return loader;
  }

  private pageLoader<E>(key: string, create: () => DataLoader<string, E[]>): DataLoader<string, E[]> {
    if (!this.pages.has(key)) this.pages.set(key, create() as DataLoader<string, unknown[]>);
    return this.pages.get(key) as DataLoader<string, E[]>;
  }
}
