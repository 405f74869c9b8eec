import DataLoader from 'dataloader';
import type { WorkspaceRole } from '../../auth/roles';
import type { TenantScope } from '../../db/tenant-scope';
import { byIdLoader } from '../../db/tenant-loaders';
import { Workspace } from './workspace.entity';

/** Per-request loaders of the workspace module. */
export class WorkspaceLoaders {
  /** Visible workspaces only (RLS on workspaces): null for one the caller cannot see. */
  readonly byId: DataLoader<string, Workspace | null>;

  constructor(private readonly scope: TenantScope) {
    this.byId = byIdLoader(scope, Workspace);
  }

  /** The caller's own workspace memberships, by workspace id. */
  readonly callerRole = new DataLoader<string, WorkspaceRole | null>(async (workspaceIds) => {
    const rows = await this.scope.query<{ workspace_id: string; role: WorkspaceRole }>(
      `SELECT workspace_id, role FROM workspace_members WHERE org_id = $1 AND user_id = $2 AND workspace_id = ANY($3::uuid[])`,
      [this.scope.orgId, this.scope.identity.userId ?? '', workspaceIds],
    );
    const roles = new Map(rows.map((r) => [r.workspace_id, r.role]));
    return workspaceIds.map((id) => roles.get(id) ?? null);
  });
}
