import { one, orgListPage, type AskedColumns } from '../../db/sql';
import { v7 as uuidv7 } from 'uuid';
import { deleteById, updateReturning } from '../../db/writes';
import type { RequestContext } from '../../context/request-context';
import { requireWorkspaceRole } from '../../auth/access';
import { WorkspaceRole } from '../../auth/roles';
import { NotFoundError } from '../../errors';
import type { Connection, Page } from '../../pagination';
import { checkId } from '../../errors';
import { Workspace } from './workspace.entity';
import type { CreateWorkspaceInput, UpdateWorkspaceInput } from './workspace.inputs';

/**
 * Workspace lists read only the asked columns (db/sql.ts AskedColumns); its field resolvers read only its
 * key (workspace.id). A field resolver missing here makes a list that selects it read every column.
 */
const WORKSPACE_RESOLVED_FIELDS: AskedColumns = {
  environments: [],
  components: [],
  connectors: [],
  members: [],
  deploymentRings: [],
  llmSettings: [],
};

export const workspaceService = {
  async get(ctx: RequestContext, id: string): Promise<Workspace> {
    const workspace = await ctx.loaders.workspace.byId.load(checkId(id));
    if (!workspace) throw new NotFoundError('Workspace', id);
    return workspace;
  },

  page(ctx: RequestContext, page: Page): Promise<Connection<Workspace>> {
    return orgListPage(ctx.scope, Workspace, page, { askedColumns: WORKSPACE_RESOLVED_FIELDS });
  },

  /** The creating user becomes the workspace's admin (org owners/admins see it anyway). */
  create(ctx: RequestContext, input: CreateWorkspaceInput): Promise<Workspace> {
    const { access } = ctx;
    return ctx.scope.mutation(async (manager) => {
      const id = uuidv7();
      // No RETURNING: the row becomes visible to a plain member only once their membership exists.
      await manager.query(`INSERT INTO workspaces (org_id, id, name, description) VALUES ($1, $2, $3, $4)`, [
        ctx.orgId,
        id,
        input.name.trim(),
        input.description ?? null,
      ]);
      if (access.userId) {
        await manager.query(
          `INSERT INTO workspace_members (org_id, workspace_id, user_id, role) VALUES ($1, $2, $3, 'admin')`,
          [ctx.orgId, id, access.userId],
        );
      }
      return (await one(manager, Workspace, `SELECT * FROM workspaces WHERE org_id = $1 AND id = $2`, [
        ctx.orgId,
        id,
      ]))!;
    });
  },

  async update(ctx: RequestContext, id: string, input: UpdateWorkspaceInput): Promise<Workspace> {
    id = checkId(id);
    await requireWorkspaceRole(ctx, id, WorkspaceRole.ADMIN);
    return ctx.scope.mutation(async (manager) => {
      const values: Partial<Workspace> = {};
      if (input.name !== undefined) values.name = input.name.trim();
      if (input.description !== undefined) values.description = input.description;
      const updated = await updateReturning(manager, Workspace, { orgId: ctx.orgId, id }, values);
      if (!updated) throw new NotFoundError('Workspace', id);
      return updated;
    });
  },

  /** Deletes the workspace with its environments and components (foreign keys cascade). */
  async delete(ctx: RequestContext, id: string): Promise<string> {
    id = checkId(id);
    await requireWorkspaceRole(ctx, id, WorkspaceRole.ADMIN);
    return ctx.scope.mutation(async (manager) => {
      if (!(await deleteById(manager, Workspace, ctx.orgId, id))) throw new NotFoundError('Workspace', id);
      return id;
    });
  },
};
