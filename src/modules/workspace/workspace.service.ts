import { v7 as uuidv7 } from 'uuid';
import { hydrate } from '../../db/tenant-loaders';
import { deleteById, updateReturning } from '../../db/writes';
import type { RequestContext } from '../../context/request-context';
import { requireWorkspaceRole } from '../../auth/access';
import { WorkspaceRole } from '../../auth/roles';
import { NotFoundError } from '../../errors';
import { keyset, toConnection, type Connection, type Page } from '../../pagination';
import { checkId } from '../../errors';
import { Workspace } from './workspace.entity';
import type { CreateWorkspaceInput, UpdateWorkspaceInput } from './workspace.inputs';

export const workspaceService = {
  async get(ctx: RequestContext, id: string): Promise<Workspace> {
    const workspace = await ctx.loaders.workspace.load(checkId(id));
    if (!workspace) throw new NotFoundError('Workspace', id);
    return workspace;
  },

  async page(ctx: RequestContext, page: Page): Promise<Connection<Workspace>> {
    const { scope } = ctx;
    const { where, order } = keyset(page, 'id', '$2::uuid');
    const rows = await scope.query(`SELECT * FROM workspaces WHERE org_id = $1 AND ${where} ${order} LIMIT $3`, [scope.orgId, page.cursor, page.limit + 1]);
    const metadata = (await scope.manager()).connection.getMetadata(Workspace);
    return toConnection(hydrate<Workspace>(metadata, rows), page, async () => {
      const [{ count }] = await scope.query<{ count: string }>(`SELECT count(*) FROM workspaces WHERE org_id = $1`, [scope.orgId]);
      return Number(count);
    });
  },

  /** The creating user becomes the workspace's admin (org owners/admins see it anyway). */
  create(ctx: RequestContext, input: CreateWorkspaceInput): Promise<Workspace> {
    const { scope, access } = ctx;
    return scope.mutation(async (manager) => {
      const id = uuidv7();
      // No RETURNING: the row becomes visible to a plain member only once their membership exists.
      await manager.query(`INSERT INTO workspaces (org_id, id, name, description) VALUES ($1, $2, $3, $4)`, [
        scope.orgId,
        id,
        input.name.trim(),
        input.description ?? null,
      ]);
      if (access.userId) {
        await manager.query(`INSERT INTO workspace_members (org_id, workspace_id, user_id, role) VALUES ($1, $2, $3, 'admin')`, [
          scope.orgId,
          id,
          access.userId,
        ]);
      }
      const [row] = await manager.query(`SELECT * FROM workspaces WHERE org_id = $1 AND id = $2`, [scope.orgId, id]);
      return hydrate<Workspace>(manager.connection.getMetadata(Workspace), [row])[0];
    });
  },

  async update(ctx: RequestContext, id: string, input: UpdateWorkspaceInput): Promise<Workspace> {
    const { scope } = ctx;
    id = checkId(id);
    await requireWorkspaceRole(ctx, id, WorkspaceRole.ADMIN);
    return scope.mutation(async (manager) => {
      const values: Partial<Workspace> = {};
      if (input.name !== undefined) values.name = input.name.trim();
      if (input.description !== undefined) values.description = input.description;
      const updated = await updateReturning(manager, Workspace, { orgId: scope.orgId, id }, values);
      if (!updated) throw new NotFoundError('Workspace', id);
      return updated;
    });
  },

  /** Deletes the workspace with its environments and components (foreign keys cascade). */
  async delete(ctx: RequestContext, id: string): Promise<string> {
    const { scope } = ctx;
    id = checkId(id);
    await requireWorkspaceRole(ctx, id, WorkspaceRole.ADMIN);
    return scope.mutation(async (manager) => {
      if (!(await deleteById(manager, Workspace, scope.orgId, id))) throw new NotFoundError('Workspace', id);
      return id;
    });
  },
};
