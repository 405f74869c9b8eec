import DataLoader from 'dataloader';
import type { TenantScope } from '../../db/tenant-scope';
import { rows } from '../../db/sql';
import { WorkspaceMember } from './member.entity';

/** Per-request loaders of the member module. */
export class MemberLoaders {
  constructor(private readonly scope: TenantScope) {}

  /** Everyone's memberships of the given workspaces (visible workspaces only: RLS on workspaces). */
  readonly ofWorkspace = new DataLoader<string, WorkspaceMember[]>(async (workspaceIds) => {
    const members = await rows(
      this.scope,
      WorkspaceMember,
      `SELECT wm.* FROM workspace_members wm JOIN workspaces w ON w.org_id = wm.org_id AND w.id = wm.workspace_id
        WHERE wm.org_id = $1 AND wm.workspace_id = ANY($2::uuid[]) ORDER BY wm.user_id`,
      [this.scope.orgId, workspaceIds],
    );
    return workspaceIds.map((id) => members.filter((m) => m.workspaceId === id));
  });
}
