import { v7 as uuidv7 } from 'uuid';
import type { Connection, Page } from '../../pagination';
import type { RequestContext } from '../../context/request-context';
import { requireWorkspaceRole } from '../../auth/access';
import { WorkspaceRole } from '../../auth/roles';
import { deleteById, insertReturning, updateReturning } from '../../db/writes';
import { NotFoundError } from '../../errors';
import { pgErrorCode, PgError } from '../../db/pg-errors';
import { checkId } from '../../errors';
import { Component } from './component.entity';
import type { CreateComponentInput, UpdateComponentInput } from './component.inputs';

/** The workspace role createComponent needs (in the component's workspace). */
export const CREATE_COMPONENT_ROLE = WorkspaceRole.DEVELOPER;

/**
 * The row createComponent inserts for a validated input (ids decoded): the service's and the planned write's
 * (src/graphql/sql-plan/writes.ts) one definition. Throws BadInputError for a workspace id that is no uuid.
 */
export function newComponentRow(orgId: string, input: CreateComponentInput) {
  return {
    orgId,
    id: uuidv7(),
    workspaceId: checkId(input.workspaceId, 'workspaceId'),
    type: input.type,
    name: input.name.trim(),
    configuration: input.configuration ?? {},
  } satisfies Partial<Component>;
}

export const componentService = {
  async get(ctx: RequestContext, id: string): Promise<Component> {
    const component = await ctx.loaders.component.byId.load(checkId(id));
    if (!component) throw new NotFoundError('Component', id);
    return component;
  },

  /** A workspace's components, oldest first; `type` (a stored value) filters them, totalCount included. */
  page(
    ctx: RequestContext,
    workspaceId: string,
    page: Page,
    type: string | null = null,
  ): Promise<Connection<Component>> {
    return ctx.loaders.component.connection(workspaceId, page, type);
  },

  async create(ctx: RequestContext, input: CreateComponentInput): Promise<Component> {
    const row = newComponentRow(ctx.orgId, input);
    const workspaceId = row.workspaceId;
    // The INSERT's foreign key answers NOT_FOUND for a workspace that is not there (below).
    await requireWorkspaceRole(ctx, workspaceId, CREATE_COMPONENT_ROLE, { writeProvesWorkspace: true });
    return ctx.scope.mutation((manager) =>
      insertReturning(manager, Component, row).catch((error) => {
        // The foreign key includes org_id: another organization's workspace is simply not there.
        if (pgErrorCode(error) === PgError.FOREIGN_KEY_VIOLATION) throw new NotFoundError('Workspace', workspaceId);
        throw error;
      }),
    );
  },

  async update(ctx: RequestContext, id: string, input: UpdateComponentInput): Promise<Component> {
    const existing = await componentService.get(ctx, id);
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.DEVELOPER);
    id = existing.id;
    return ctx.scope.mutation(async (manager) => {
      const values: Partial<Component> = {};
      if (input.name !== undefined) values.name = input.name.trim();
      if (input.configuration !== undefined) values.configuration = input.configuration;
      const updated = await updateReturning(manager, Component, { orgId: ctx.orgId, id }, values);
      if (!updated) throw new NotFoundError('Component', id);
      return updated;
    });
  },

  async delete(ctx: RequestContext, id: string): Promise<string> {
    const existing = await componentService.get(ctx, id);
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.DEVELOPER);
    id = existing.id;
    return ctx.scope.mutation(async (manager) => {
      if (!(await deleteById(manager, Component, ctx.orgId, id))) throw new NotFoundError('Component', id);
      return id;
    });
  },
};
