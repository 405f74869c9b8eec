import { v7 as uuidv7 } from 'uuid';
import type { Connection, Page } from '../../pagination';
import type { RequestContext } from '../../context/request-context';
import { requireWorkspaceRole } from '../../auth/access';
import { WorkspaceRole } from '../../auth/roles';
import { deleteById, insertReturning, updateReturning } from '../../db/writes';
import { BadInputError, NotFoundError } from '../../errors';
import { pgConstraint, pgErrorCode, PgError } from '../../db/pg-errors';
import { checkId } from '../../errors';
import { Environment } from './environment.entity';
import type { CreateEnvironmentInput, UpdateEnvironmentInput } from './environment.inputs';

/** Turns constraint violations into the answers a client can act on. */
function explain(error: unknown, workspaceId: string | undefined, slug: string | undefined): never {
  const code = pgErrorCode(error);
  if (code === PgError.CHECK_VIOLATION && pgConstraint(error) === 'environments_credentials_match_host') {
    throw new BadInputError([
      { field: 'deploymentHost', message: "clear the environment's credentials before changing deploymentHost" },
    ]);
  }
  if (code === PgError.UNIQUE_VIOLATION) {
    throw new BadInputError([{ field: 'slug', message: `slug "${slug}" is already used in this workspace` }]);
  }
  // The foreign key includes org_id: another organization's workspace is simply not there.
  if (code === PgError.FOREIGN_KEY_VIOLATION && workspaceId) throw new NotFoundError('Workspace', workspaceId);
  throw error;
}

export const environmentService = {
  async get(ctx: RequestContext, id: string): Promise<Environment> {
    const environment = await ctx.loaders.environment.byId.load(checkId(id));
    if (!environment) throw new NotFoundError('Environment', id);
    return environment;
  },

  /** A workspace's environments, oldest first; `tier` (a stored value) filters them, totalCount included. */
  page(
    ctx: RequestContext,
    workspaceId: string,
    page: Page,
    tier: string | null = null,
  ): Promise<Connection<Environment>> {
    return ctx.loaders.environment.connection(workspaceId, page, tier);
  },

  async create(ctx: RequestContext, input: CreateEnvironmentInput): Promise<Environment> {
    const workspaceId = checkId(input.workspaceId, 'workspaceId');
    await requireWorkspaceRole(ctx, workspaceId, WorkspaceRole.DEVELOPER, { writeProvesWorkspace: true });
    return ctx.scope.mutation((manager) =>
      insertReturning(manager, Environment, {
        orgId: ctx.orgId,
        id: uuidv7(),
        workspaceId,
        name: input.name.trim(),
        slug: input.slug,
        tier: input.tier,
        deploymentHost: input.deploymentHost,
        executionBackend: input.executionBackend ?? {},
      }).catch((error) => explain(error, workspaceId, input.slug)),
    );
  },

  async update(ctx: RequestContext, id: string, input: UpdateEnvironmentInput): Promise<Environment> {
    const existing = await environmentService.get(ctx, id);
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.DEVELOPER);
    id = existing.id;
    if (
      input.deploymentHost !== undefined &&
      input.deploymentHost !== existing.deploymentHost &&
      existing.credentialsProvider
    ) {
      // Credentials are provider-specific: never leave cloudrun credentials on an aws environment.
      throw new BadInputError([
        {
          field: 'deploymentHost',
          message: `this environment has ${existing.credentialsProvider} credentials: clear them (clearEnvironmentCredentials) before changing deploymentHost`,
        },
      ]);
    }
    return ctx.scope.mutation(async (manager) => {
      const values: Partial<Environment> = {};
      if (input.name !== undefined) values.name = input.name.trim();
      if (input.slug !== undefined) values.slug = input.slug;
      if (input.tier !== undefined) values.tier = input.tier;
      if (input.deploymentHost !== undefined) values.deploymentHost = input.deploymentHost;
      if (input.executionBackend !== undefined) values.executionBackend = input.executionBackend;
      const updated = await updateReturning(manager, Environment, { orgId: ctx.orgId, id }, values).catch((error) =>
        explain(error, undefined, input.slug),
      );
      if (!updated) throw new NotFoundError('Environment', id);
      return updated;
    });
  },

  async delete(ctx: RequestContext, id: string): Promise<string> {
    const existing = await environmentService.get(ctx, id);
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.DEVELOPER);
    id = existing.id;
    return ctx.scope.mutation(async (manager) => {
      const deleted = await deleteById(manager, Environment, ctx.orgId, id).catch((error) => {
        if (
          pgErrorCode(error) === PgError.FOREIGN_KEY_VIOLATION &&
          pgConstraint(error) === 'deployment_rings_environment_fkey'
        ) {
          throw new BadInputError([
            {
              field: 'id',
              message:
                'a deployment ring deploys to this environment: point the ring at another environment or delete it first',
            },
          ]);
        }
        throw error;
      });
      if (!deleted) throw new NotFoundError('Environment', id);
      return id;
    });
  },
};
