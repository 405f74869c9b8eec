import { ForbiddenError, NotFoundError } from '../errors';
import type { RequestContext } from '../context/request-context';
import { CROSS_WORKSPACE_ORG_ROLES, type OrgRole, WorkspaceRole, atLeast, strongest } from './roles';

/** What the database says about the caller, loaded once per request with the organization row. */
export interface Access {
  kind: 'user' | 'api_key';
  /** The user, or the member an API key answers to (null: org-wide key). */
  userId: string | null;
  orgRole: OrgRole | null;
  allWorkspacesRole: WorkspaceRole | null;
}

/**
 * The role the caller holds in EVERY workspace of the organization, as the caller row (read in the
 * request's opening, same transaction) says: org-wide keys (platform-made) and org owners/admins
 * administer all of them; a member with an all-workspaces role holds at least that one everywhere. These
 * are exactly the callers row-level security lets see every workspace (`app_sees_all_workspaces()`).
 * null: the role depends on the workspace (its membership row).
 */
function everyWorkspaceRole(access: Access): WorkspaceRole | null {
  if (access.kind === 'api_key' && !access.userId) return WorkspaceRole.ADMIN; // org-wide key (platform-made)
  if (access.orgRole && CROSS_WORKSPACE_ORG_ROLES.includes(access.orgRole)) return WorkspaceRole.ADMIN;
  return access.allWorkspacesRole;
}

/**
 * The caller's role in a workspace: org owners/admins (and org-wide platform keys) administer all of them;
 * a key that answers to a member has exactly that member's roles.
 */
export async function workspaceRoleOf(ctx: RequestContext, workspaceId: string): Promise<WorkspaceRole | null> {
  const everywhere = everyWorkspaceRole(ctx.access);
  if (everywhere === WorkspaceRole.ADMIN) return everywhere;
  return strongest(everywhere, await ctx.loaders.workspace.callerRole.load(workspaceId));
}

export interface WorkspaceRoleCheck {
  /**
   * The change that follows the check refuses a workspace that does not exist in the organization by
   * itself, as NOT_FOUND Workspace: its INSERT's foreign key (org_id, workspace_id) → workspaces, which the
   * service maps to `NotFoundError('Workspace', id)`. Then a caller whose role is decided by the caller row
   * (see everyWorkspaceRole) needs no statement here at all (issue 11, W3: one round trip less): such a
   * caller sees every workspace of the organization, so "not visible" can only mean "not there", which the
   * foreign key says just as well (it checks the same organization's rows; RLS WITH CHECK pins org_id).
   */
  writeProvesWorkspace?: boolean;
}

/**
 * Whether the caller row alone gives the caller at least `needed` in every workspace (org-wide keys, org
 * owners/admins, an all-workspaces role): then no membership row is read. The known-document path's planned
 * writes (src/graphql/sql-plan) take only such callers; `requireWorkspaceRole` decides the same way.
 */
export function roleDecidedByCaller(access: Access, needed: WorkspaceRole): boolean {
  return atLeast(everyWorkspaceRole(access), needed);
}

/**
 * Workspace-level authorization for changes. A workspace the caller cannot see is NOT_FOUND (row-level
 * security hides it); one they can see but lack the role for is FORBIDDEN. The visibility read and the
 * membership read (plain members only) go out in the same tick, so they share one round trip.
 */
export async function requireWorkspaceRole(
  ctx: RequestContext,
  workspaceId: string,
  needed: WorkspaceRole,
  check: WorkspaceRoleCheck = {},
): Promise<void> {
  const everywhere = everyWorkspaceRole(ctx.access);
  const decided = roleDecidedByCaller(ctx.access, needed);
  if (decided && check.writeProvesWorkspace) return;
  const [workspace, role] = await Promise.all([
    ctx.loaders.workspace.byId.load(workspaceId),
    decided ? everywhere : workspaceRoleOf(ctx, workspaceId),
  ]);
  if (!workspace) throw new NotFoundError('Workspace', workspaceId);
  if (!atLeast(role, needed)) {
    throw new ForbiddenError(`This needs the ${needed} role in workspace ${workspaceId}; you have ${role ?? 'none'}`);
  }
}
