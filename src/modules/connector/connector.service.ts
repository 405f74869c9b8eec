import { v7 as uuidv7 } from 'uuid';
import type { RequestContext } from '../../context/request-context';
import { requireWorkspaceRole } from '../../auth/access';
import { WorkspaceRole } from '../../auth/roles';
import { deleteById, insertReturning, updateReturning } from '../../db/writes';
import { BadInputError, NotFoundError } from '../../errors';
import { pgErrorCode, PgError } from '../../db/pg-errors';
import type { Connection, Page } from '../../pagination';
import { checkId } from '../../errors';
import type { SecretBinding } from '../../secrets/keyring';
import { Connector } from './connector.entity';
import type { CreateConnectorInput, UpdateConnectorInput } from './connector.inputs';

/** A connector's secret opens only on its own row. */
export function connectorSecretBinding(connector: Pick<Connector, 'orgId' | 'id'>): SecretBinding {
  return { table: 'connectors', orgId: connector.orgId, rowId: connector.id, field: 'secret' };
}

function explain(error: unknown, workspaceId: string | undefined, name: string | undefined): never {
  const code = pgErrorCode(error);
  if (code === PgError.UNIQUE_VIOLATION)
    throw new BadInputError([
      { field: 'name', message: `name "${name}" is already used by a connector in this workspace` },
    ]);
  if (code === PgError.FOREIGN_KEY_VIOLATION && workspaceId) throw new NotFoundError('Workspace', workspaceId);
  throw error;
}

/**
 * Connector instances of a workspace. Reads need workspace visibility; changes need the developer role
 * in the connector's workspace. Secrets are sealed before they reach SQL and never read back.
 */
export const connectorService = {
  async get(ctx: RequestContext, id: string): Promise<Connector> {
    const connector = await ctx.loaders.connector.byId.load(checkId(id));
    if (!connector) throw new NotFoundError('Connector', id);
    return connector;
  },

  async page(
    ctx: RequestContext,
    workspaceId: string,
    page: Page,
    kind: string | null = null,
  ): Promise<Connection<Connector>> {
    return ctx.loaders.connector.connection(workspaceId, page, kind);
  },

  async create(ctx: RequestContext, input: CreateConnectorInput): Promise<Connector> {
    const workspaceId = checkId(input.workspaceId, 'workspaceId');
    await requireWorkspaceRole(ctx, workspaceId, WorkspaceRole.DEVELOPER);
    const id = uuidv7();
    const hasSecret = input.secret !== undefined && input.secret !== null;
    const name = input.name.trim();
    return ctx.scope.mutation((manager) =>
      insertReturning(manager, Connector, {
        orgId: ctx.orgId,
        id,
        workspaceId,
        kind: input.kind,
        name,
        config: input.config ?? {},
        secretSealed: hasSecret
          ? ctx.keyring.seal(input.secret!, connectorSecretBinding({ orgId: ctx.orgId, id }))
          : null,
        secretUpdatedAt: hasSecret ? ((() => 'now()') as never) : null,
      }).catch((error) => explain(error, workspaceId, name)),
    );
  },

  async update(ctx: RequestContext, id: string, input: UpdateConnectorInput): Promise<Connector> {
    const existing = await connectorService.get(ctx, id);
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.DEVELOPER);
    const values: Partial<Connector> = {};
    if (input.name !== undefined) values.name = input.name.trim();
    if (input.config !== undefined) values.config = input.config;
    if (input.secret !== undefined) {
      values.secretSealed = ctx.keyring.seal(input.secret, connectorSecretBinding(existing));
      values.secretUpdatedAt = (() => 'now()') as never;
    }
    return ctx.scope.mutation(async (manager) => {
      if (Object.keys(values).length === 0) return existing;
      const updated = await updateReturning(manager, Connector, { orgId: ctx.orgId, id: existing.id }, values).catch(
        (error) => explain(error, undefined, values.name),
      );
      if (!updated) throw new NotFoundError('Connector', existing.id);
      return updated;
    });
  },

  async clearSecret(ctx: RequestContext, id: string): Promise<Connector> {
    const existing = await connectorService.get(ctx, id);
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.DEVELOPER);
    return ctx.scope.mutation(async (manager) => {
      const updated = await updateReturning(
        manager,
        Connector,
        { orgId: ctx.orgId, id: existing.id },
        { secretSealed: null, secretUpdatedAt: null },
      );
      if (!updated) throw new NotFoundError('Connector', existing.id);
      return updated;
    });
  },

  async delete(ctx: RequestContext, id: string): Promise<string> {
    const existing = await connectorService.get(ctx, id);
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.DEVELOPER);
    return ctx.scope.mutation(async (manager) => {
      if (!(await deleteById(manager, Connector, ctx.orgId, existing.id)))
        throw new NotFoundError('Connector', existing.id);
      return existing.id;
    });
  },
};
