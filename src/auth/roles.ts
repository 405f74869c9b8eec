import { SCOPES, type Scope } from './scopes';

/**
 * Roles, and what they open. Membership rows in the database decide the role on every request, so a
 * removed or demoted user is refused on their next request whatever their token says; the token's own
 * scopes can only narrow what the role allows (effective scopes = token scopes ∩ role scopes).
 */
export enum OrgRole {
  OWNER = 'owner',
  ADMIN = 'admin',
  MEMBER = 'member',
  VIEWER = 'viewer',
  BILLING = 'billing',
}

export enum WorkspaceRole {
  VIEWER = 'viewer',
  DEVELOPER = 'developer',
  ADMIN = 'admin',
}

// traces:read is not here: a trace names the operations, principals and SQL of every workspace of the
// organization, like the audit log, so it is for owners and admins (README "Tracing").
const READ: Scope[] = ['org:read', 'workspaces:read', 'components:read'];

export const ORG_ROLE_SCOPES: Record<OrgRole, readonly Scope[]> = {
  owner: SCOPES,
  admin: SCOPES,
  // Members work inside the workspaces they belong to; their workspace role decides what they may change there.
  member: [...READ, 'workspaces:write', 'components:write', 'deployments:write', 'connectors:write'],
  viewer: READ,
  billing: ['org:read', 'billing:read', 'billing:write'],
};

/** Org roles that see and administer every workspace. */
export const CROSS_WORKSPACE_ORG_ROLES: readonly OrgRole[] = [OrgRole.OWNER, OrgRole.ADMIN];

const RANK: Record<WorkspaceRole, number> = { viewer: 1, developer: 2, admin: 3 };

export function atLeast(role: WorkspaceRole | null | undefined, needed: WorkspaceRole): boolean {
  return role !== null && role !== undefined && RANK[role] >= RANK[needed];
}

export function strongest(...roles: Array<WorkspaceRole | null | undefined>): WorkspaceRole | null {
  return roles.reduce<WorkspaceRole | null>(
    (best, role) => (role && (!best || RANK[role] > RANK[best]) ? role : best),
    null,
  );
}
