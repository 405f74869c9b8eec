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
 * The caller's role in a workspace: org owners/admins (and org-wide platform keys) administer all of them;
 * a key that answers to a member has exactly that member's roles.
 */
export async function workspaceRoleOf(ctx: RequestContext, workspaceId: string): Promise<WorkspaceRole | null> {
  const { access, loaders } = ctx;
  if (access.kind === 'api_key' && !access.userId) return WorkspaceRole.ADMIN; // org-wide key (platform-made)
  if (access.orgRole && CROSS_WORKSPACE_ORG_ROLES.includes(access.orgRole)) return WorkspaceRole.ADMIN;
  return strongest(access.allWorkspacesRole, await loaders.workspace.callerRole.load(workspaceId));
}

/**
 * Workspace-level authorization for changes. A workspace the caller cannot see is NOT_FOUND (row-level
 * security hides it); one they can see but lack the role for is FORBIDDEN.
 */
export async function requireWorkspaceRole(
  ctx: RequestContext,
  workspaceId: string,
  needed: WorkspaceRole,
): Promise<void> {
  const workspace = await ctx.loaders.workspace.byId.load(workspaceId);
  if (!workspace) throw new NotFoundError('Workspace', workspaceId);
  const role = await workspaceRoleOf(ctx, workspaceId);
  if (!atLeast(role, needed)) {
    throw new ForbiddenError(`This needs the ${needed} role in workspace ${workspaceId}; you have ${role ?? 'none'}`);
  }
}
