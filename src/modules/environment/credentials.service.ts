import type { RequestContext } from '../../context/request-context';
import { requireWorkspaceRole } from '../../auth/access';
import { WorkspaceRole } from '../../auth/roles';
import { updateReturning } from '../../db/writes';
import { BadInputError, NotFoundError, type FieldError } from '../../errors';
import { pgConstraint, pgErrorCode, PgError } from '../../db/pg-errors';
import type { SecretBinding } from '../../secrets/keyring';
import { DeploymentHost, Environment } from './environment.entity';
import type { EnvironmentCredentialsInput } from './credentials.inputs';
import { environmentService } from './environment.service';
import { checkId } from '../../errors';

const PROVIDERS = [DeploymentHost.CLOUDRUN, DeploymentHost.AWS] as const;

/** The sealed credentials open only on their own environment row. */
export function credentialsBinding(environment: Pick<Environment, 'orgId' | 'id'>): SecretBinding {
  return { table: 'environments', orgId: environment.orgId, rowId: environment.id, field: 'credentials' };
}

/** Exactly one provider's credentials, the one of the environment's deployment host. */
function chooseCredentials(host: DeploymentHost, input: EnvironmentCredentialsInput): Record<string, unknown> {
  const given = PROVIDERS.filter((p) => input[p] !== undefined && input[p] !== null);
  if (host === DeploymentHost.LOCALHOST) {
    const fields = given.length ? given : ['input'];
    throw new BadInputError(
      fields.map((field) => ({
        field,
        message: 'this environment deploys to localhost, which takes no cloud credentials',
      })),
    );
  }
  const errors: FieldError[] = given
    .filter((p) => p !== host)
    // Messages name the host as GraphQL spells it (CLOUDRUN); fields are the input's field names (cloudrun).
    .map((field) => ({
      field,
      message: `${field} credentials do not fit this environment: its deploymentHost is ${host.toUpperCase()}; give ${host} only`,
    }));
  if (!given.includes(host as (typeof PROVIDERS)[number])) {
    errors.push({
      field: host,
      message: `${host} credentials are required: the environment's deploymentHost is ${host.toUpperCase()}`,
    });
  }
  if (errors.length) throw new BadInputError(errors);
  const credentials = input[host as (typeof PROVIDERS)[number]]!;
  // Only the declared fields, in a fixed order (an optional one omitted when absent).
  return Object.fromEntries(Object.entries({ ...credentials }).filter(([, v]) => v !== undefined && v !== null));
}

/**
 * Cloud credentials of an environment: write-only. Changing them needs the workspace's admin role; the
 * value is sealed before it reaches SQL, and only a SecretStatus is ever read back.
 */
export const credentialsService = {
  async set(ctx: RequestContext, environmentId: string, input: EnvironmentCredentialsInput): Promise<Environment> {
    const existing = await environmentService.get(ctx, checkId(environmentId, 'environmentId'));
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.ADMIN);
    const credentials = chooseCredentials(existing.deploymentHost, input);
    const sealed = ctx.keyring.seal(JSON.stringify(credentials), credentialsBinding(existing));
    return ctx.scope.mutation(async (manager) => {
      const updated = await updateReturning(
        manager,
        Environment,
        { orgId: ctx.orgId, id: existing.id },
        {
          credentialsProvider: existing.deploymentHost,
          credentialsSealed: sealed,
          credentialsUpdatedAt: (() => 'now()') as never,
        },
      ).catch((error) => {
        // The deployment host changed concurrently: the row's CHECK refuses mismatched credentials.
        if (
          pgErrorCode(error) === PgError.CHECK_VIOLATION &&
          pgConstraint(error) === 'environments_credentials_match_host'
        ) {
          throw new BadInputError([
            {
              field: existing.deploymentHost,
              message: "the environment's deploymentHost changed meanwhile; read it again",
            },
          ]);
        }
        throw error;
      });
      if (!updated) throw new NotFoundError('Environment', existing.id);
      return updated;
    });
  },

  async clear(ctx: RequestContext, environmentId: string): Promise<Environment> {
    const existing = await environmentService.get(ctx, checkId(environmentId, 'environmentId'));
    await requireWorkspaceRole(ctx, existing.workspaceId, WorkspaceRole.ADMIN);
    return ctx.scope.mutation(async (manager) => {
      const updated = await updateReturning(
        manager,
        Environment,
        { orgId: ctx.orgId, id: existing.id },
        {
          credentialsProvider: null,
          credentialsSealed: null,
          credentialsUpdatedAt: null,
        },
      );
      if (!updated) throw new NotFoundError('Environment', existing.id);
      return updated;
    });
  },
};
