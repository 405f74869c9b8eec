import { forbidden, notFound } from '../graphql/errors';
import type { Tenant } from '../graphql/context';
import { CROSS_WORKSPACE_ORG_ROLES, OrgRole, WorkspaceRole, atLeast, strongest } from './roles';

/** What the database says about the caller, loaded once per request with the organization row. */
export interface Access {
  kind: 'user' | 'api_key';
  userId: string | null;
  orgRole: OrgRole | null;
  allWorkspacesRole: WorkspaceRole | null;
}

/** The caller's role in a workspace: API keys and org owners/admins administer all of them. */
export async function workspaceRoleOf(tenant: Tenant, workspaceId: string): Promise<WorkspaceRole | null> {
  const { access, loaders } = tenant;
  if (access.kind === 'api_key') return WorkspaceRole.admin;
  if (access.orgRole && CROSS_WORKSPACE_ORG_ROLES.includes(access.orgRole)) return WorkspaceRole.admin;
  return strongest(access.allWorkspacesRole, await loaders.workspaceRole.load(workspaceId));
}

/**
 * Workspace-level authorization for changes. A workspace the caller cannot see is NOT_FOUND (row-level
 * security hides it); one they can see but lack the role for is FORBIDDEN.
 */
export async function requireWorkspaceRole(tenant: Tenant, workspaceId: string, needed: WorkspaceRole): Promise<void> {
  const workspace = await tenant.loaders.workspace.load(workspaceId);
  if (!workspace) throw notFound('Workspace', workspaceId);
  const role = await workspaceRoleOf(tenant, workspaceId);
  if (!atLeast(role, needed)) {
    throw forbidden(`This needs the ${needed} role in workspace ${workspaceId}; you have ${role ?? 'none'}`);
  }
}
