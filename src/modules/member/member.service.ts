import { entities } from '../../db/sql';
import type { EntityManager } from 'typeorm';
import { requireWorkspaceRole } from '../../auth/access';
import { OrgRole, WorkspaceRole } from '../../auth/roles';
import { queryRows } from '../../db/writes';
import type { RequestContext } from '../../context/request-context';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors';
import { pgErrorCode, PgError } from '../../db/pg-errors';
import { keyset, toConnection, type Connection, type Page } from '../../pagination';
import { checkId } from '../../errors';
import { OrgMember, WorkspaceMember } from './member.entity';
import type { AddMemberInput, UpdateMemberInput } from './member.inputs';

async function memberOf(manager: EntityManager, rows: Record<string, unknown>[]): Promise<OrgMember | null> {
  return (await entities(manager, OrgMember, rows))[0] ?? null;
}

/**
 * Only owners may make someone an owner or change/remove an owner. `owners` is the locked, current list
 * (not the role read at the start of the request, which a concurrent change may have made stale).
 */
function requireOwnerFor(ctx: RequestContext, touchesOwner: boolean, owners: string[]): void {
  if (!touchesOwner) return;
  // Never through an API key: whoever could create a key with members:write could otherwise crown themselves.
  if (ctx.access.kind !== 'user') throw new ForbiddenError('Owner changes need an owner signed in, not an API key');
  if (!owners.includes(ctx.access.userId ?? ''))
    throw new ForbiddenError('Only an owner can grant, change or remove the owner role');
}

/**
 * Membership changes of one organization run one at a time: a transaction-scoped advisory lock keyed by
 * the organization, taken first in every membership mutation. Row locks alone were not enough: 20
 * parallel demotions/removals among owners deadlocked (2–13 of 20), because a row updated by one
 * transaction moves in the heap, so the next scan of `role = 'owner' FOR UPDATE` met the owner rows in
 * another order than a transaction that had queued on the old row version; removing a member also
 * cascades into workspace_members, which setWorkspaceMember locks in the opposite order. One lock per
 * organization has no order to get wrong, needs no UPDATE privilege on organizations (the serving role
 * has only column grants there, and FOR UPDATE on that row would also block every insert's foreign-key
 * check), is released by COMMIT/ROLLBACK (safe behind a transaction-mode pooler) and never blocks other
 * organizations (a hash collision only serializes two organizations' membership changes).
 */
const MEMBERSHIP_LOCK_CLASS = 0x6d656d62; // 'memb'
async function lockMembership(manager: EntityManager, orgId: string): Promise<void> {
  await manager.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [MEMBERSHIP_LOCK_CLASS, orgId]);
}

/**
 * The organization's owners, their rows locked (in user-id order) for the rest of the transaction, so
 * that a demotion cannot race a change made outside the membership lock (e.g. the platform path).
 */
async function ownersLocked(manager: EntityManager, orgId: string): Promise<string[]> {
  await lockMembership(manager, orgId);
  const rows = await manager.query(
    `SELECT user_id FROM org_members WHERE org_id = $1 AND role = 'owner' ORDER BY user_id FOR UPDATE`,
    [orgId],
  );
  return rows.map((r: { user_id: string }) => r.user_id);
}

export const memberService = {
  async page(ctx: RequestContext, page: Page): Promise<Connection<OrgMember & { id: string }>> {
    // Members are paged by user id (their natural key); the cursor encodes it like any other id.
    const { where, order } = keyset(page, 'user_id', '$2::text');
    const rows = await ctx.scope.query(
      `SELECT *, user_id AS id FROM org_members WHERE org_id = $1 AND ${where} ${order} LIMIT $3`,
      [ctx.orgId, page.cursor, page.limit + 1],
    );
    const members = (await entities(ctx.scope, OrgMember, rows)).map((m) => Object.assign(m, { id: m.userId }));
    return toConnection(members, page, async () => {
      const [{ count }] = await ctx.scope.query<{ count: string }>(
        `SELECT count(*) FROM org_members WHERE org_id = $1`,
        [ctx.orgId],
      );
      return Number(count);
    });
  },

  async add(ctx: RequestContext, input: AddMemberInput): Promise<OrgMember> {
    return ctx.scope.mutation(async (manager) => {
      requireOwnerFor(ctx, input.role === OrgRole.OWNER, await ownersLocked(manager, ctx.orgId));
      try {
        const rows = await manager.query(
          `INSERT INTO org_members (org_id, user_id, email, display_name, role, all_workspaces_role)
           VALUES ($1, $2, lower($3), $4, $5, $6) RETURNING *`,
          [
            ctx.orgId,
            input.userId,
            input.email,
            input.displayName ?? null,
            input.role,
            input.allWorkspacesRole ?? null,
          ],
        );
        return (await memberOf(manager, rows))!;
      } catch (error) {
        if (pgErrorCode(error) === PgError.UNIQUE_VIOLATION) {
          throw new BadInputError([
            { field: 'userId', message: 'this user or e-mail is already a member of the organization' },
          ]);
        }
        throw error;
      }
    });
  },

  async update(ctx: RequestContext, userId: string, input: UpdateMemberInput): Promise<OrgMember> {
    return ctx.scope.mutation(async (manager) => {
      const owners = await ownersLocked(manager, ctx.orgId);
      const [current] = await manager.query(`SELECT * FROM org_members WHERE org_id = $1 AND user_id = $2`, [
        ctx.orgId,
        userId,
      ]);
      if (!current) throw new NotFoundError('Member', userId);
      const demotesOwner = current.role === OrgRole.OWNER && input.role !== undefined && input.role !== OrgRole.OWNER;
      requireOwnerFor(ctx, current.role === OrgRole.OWNER || input.role === OrgRole.OWNER, owners);
      if (demotesOwner && owners.length <= 1) {
        throw new BadInputError([
          { field: 'role', message: 'the last owner cannot be demoted: make someone else owner first' },
        ]);
      }
      const rows = await queryRows(
        manager,
        `UPDATE org_members SET
           role = coalesce($3, role),
           all_workspaces_role = CASE WHEN $4 THEN $5 ELSE all_workspaces_role END,
           display_name = CASE WHEN $6 THEN $7 ELSE display_name END,
           updated_at = now()
         WHERE org_id = $1 AND user_id = $2 RETURNING *`,
        [
          ctx.orgId,
          userId,
          input.role ?? null,
          input.allWorkspacesRole !== undefined,
          input.allWorkspacesRole ?? null,
          input.displayName !== undefined,
          input.displayName ?? null,
        ],
      );
      return (await memberOf(manager, rows))!;
    });
  },

  async remove(ctx: RequestContext, userId: string): Promise<string> {
    return ctx.scope.mutation(async (manager) => {
      const owners = await ownersLocked(manager, ctx.orgId);
      const [current] = await manager.query(`SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2`, [
        ctx.orgId,
        userId,
      ]);
      if (!current) throw new NotFoundError('Member', userId);
      requireOwnerFor(ctx, current.role === OrgRole.OWNER, owners);
      if (current.role === OrgRole.OWNER && owners.length <= 1) {
        throw new BadInputError([{ field: 'userId', message: 'the last owner cannot be removed' }]);
      }
      await manager.query(`DELETE FROM org_members WHERE org_id = $1 AND user_id = $2`, [ctx.orgId, userId]);
      return userId;
    });
  },

  async workspaceMembers(ctx: RequestContext, workspaceId: string): Promise<WorkspaceMember[]> {
    return ctx.loaders.member.ofWorkspace.load(workspaceId);
  },

  async setWorkspaceMember(
    ctx: RequestContext,
    workspaceId: string,
    userId: string,
    role: WorkspaceRole,
  ): Promise<WorkspaceMember> {
    workspaceId = checkId(workspaceId, 'workspaceId');
    await requireWorkspaceRole(ctx, workspaceId, WorkspaceRole.ADMIN);
    return ctx.scope.mutation(async (manager) => {
      await lockMembership(manager, ctx.orgId);
      const [member] = await manager.query(`SELECT 1 FROM org_members WHERE org_id = $1 AND user_id = $2`, [
        ctx.orgId,
        userId,
      ]);
      if (!member) throw new NotFoundError('Member', userId);
      const rows = await manager.query(
        `INSERT INTO workspace_members (org_id, workspace_id, user_id, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role RETURNING *`,
        [ctx.orgId, workspaceId, userId, role],
      );
      return (await entities(manager, WorkspaceMember, rows))[0];
    });
  },

  async removeWorkspaceMember(ctx: RequestContext, workspaceId: string, userId: string): Promise<string> {
    workspaceId = checkId(workspaceId, 'workspaceId');
    await requireWorkspaceRole(ctx, workspaceId, WorkspaceRole.ADMIN);
    return ctx.scope.mutation(async (manager) => {
      await lockMembership(manager, ctx.orgId);
      const rows = await queryRows(
        manager,
        `DELETE FROM workspace_members WHERE org_id = $1 AND workspace_id = $2 AND user_id = $3 RETURNING user_id`,
        [ctx.orgId, workspaceId, userId],
      );
      if (rows.length === 0) throw new NotFoundError('Workspace member', userId);
      return userId;
    });
  },
};
