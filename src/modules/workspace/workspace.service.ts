import { v7 as uuidv7 } from 'uuid';
import type { TenantScope } from '../../db/tenant-scope';
import { hydrate } from '../../db/tenant-loaders';
import { deleteById, insertReturning, updateReturning } from '../../db/writes';
import { notFound } from '../../graphql/errors';
import type { Loaders } from '../../graphql/loaders';
import { toConnection, type Connection, type Page } from '../../graphql/pagination';
import { checkId } from '../../graphql/validation';
import { Workspace } from './workspace.entity';
import type { CreateWorkspaceInput, UpdateWorkspaceInput } from './workspace.inputs';

export const workspaceService = {
  async get(loaders: Loaders, id: string): Promise<Workspace> {
    const workspace = await loaders.workspace.load(checkId(id));
    if (!workspace) throw notFound('Workspace', id);
    return workspace;
  },

  async page(scope: TenantScope, page: Page): Promise<Connection<Workspace>> {
    const rows = await scope.query(
      `SELECT * FROM workspaces WHERE org_id = $1 AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $3`,
      [scope.orgId, page.afterId, page.first + 1],
    );
    const metadata = (await scope.manager()).connection.getMetadata(Workspace);
    return toConnection(hydrate<Workspace>(metadata, rows), page, async () => {
      const [{ count }] = await scope.query<{ count: string }>(`SELECT count(*) FROM workspaces WHERE org_id = $1`, [scope.orgId]);
      return Number(count);
    });
  },

  create(scope: TenantScope, input: CreateWorkspaceInput): Promise<Workspace> {
    return scope.mutation((manager) =>
      insertReturning(manager, Workspace, {
        orgId: scope.orgId,
        id: uuidv7(),
        name: input.name.trim(),
        description: input.description ?? null,
      }),
    );
  },

  update(scope: TenantScope, id: string, input: UpdateWorkspaceInput): Promise<Workspace> {
    id = checkId(id);
    return scope.mutation(async (manager) => {
      const values: Partial<Workspace> = {};
      if (input.name !== undefined) values.name = input.name.trim();
      if (input.description !== undefined) values.description = input.description;
      const updated = await updateReturning(manager, Workspace, { orgId: scope.orgId, id }, values);
      if (!updated) throw notFound('Workspace', id);
      return updated;
    });
  },

  /** Deletes the workspace with its environments and components (foreign keys cascade). */
  delete(scope: TenantScope, id: string): Promise<string> {
    id = checkId(id);
    return scope.mutation(async (manager) => {
      if (!(await deleteById(manager, Workspace, scope.orgId, id))) throw notFound('Workspace', id);
      return id;
    });
  },
};
