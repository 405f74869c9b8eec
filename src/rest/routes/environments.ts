import { Field, ObjectType } from 'type-graphql';
import type { RequestContext } from '../../context/request-context';
import { Environment, EnvironmentTier } from '../../modules/environment/environment.entity';
import { CreateEnvironmentInput, UpdateEnvironmentInput } from '../../modules/environment/environment.inputs';
import { environmentService } from '../../modules/environment/environment.service';
import { EnvironmentCredentialsInput } from '../../modules/environment/credentials.inputs';
import { credentialsBinding, credentialsService } from '../../modules/environment/credentials.service';
import { SecretStatus, secretStatus } from '../../secrets/secret-status';
import { inWorkspace, route, WORKSPACE, type RestRequest, type Route } from '../route';

/**
 * An environment as REST shows it: its fields and the status of its cloud credentials, which are
 * write-only (PUT …/credentials sets them, DELETE clears them; no read ever returns them, only whether
 * they are set, when, and a fingerprint — GraphQL's `Environment.credentials`). Never reachable from the
 * GraphQL schema (no `implements`), so type-graphql does not emit it there.
 */
@ObjectType('EnvironmentWithCredentials', {
  description: 'An environment; `credentials` says whether cloud credentials are set, never their value.',
})
export class EnvironmentWithCredentials extends Environment {
  @Field(() => SecretStatus, { description: 'Whether cloud credentials are set (write-only: never the value).' })
  credentials: SecretStatus;
}

function withCredentials(ctx: RequestContext, environment: Environment): EnvironmentWithCredentials {
  const credentials = secretStatus(
    ctx.keyring,
    ctx.log,
    environment.credentialsSealed,
    credentialsBinding(environment),
    {
      provider: environment.credentialsProvider,
      updatedAt: environment.credentialsUpdatedAt,
    },
  );
  return Object.assign(Object.create(EnvironmentWithCredentials.prototype) as EnvironmentWithCredentials, environment, {
    credentials,
  });
}

const ENVIRONMENTS = `${WORKSPACE}/environments`;
const ENVIRONMENT = `${ENVIRONMENTS}/{environment_id}`;
/** The environment of the path, in the workspace of the path (otherwise the one 404). */
const load = async (ctx: RequestContext, req: RestRequest) =>
  withCredentials(ctx, inWorkspace(req, await environmentService.get(ctx, req.params.environment_id)));
const current = { type: EnvironmentWithCredentials, load };
const tag = 'environments';

/** `…/workspaces/{workspace_id}/environments[/{environment_id}[/credentials]]`. */
export const environmentRoutes: Route[] = [
  route({
    method: 'get',
    path: ENVIRONMENTS,
    operationId: 'listEnvironments',
    summary: "List a workspace's environments, oldest first",
    tag,
    scopes: ['workspaces:read'],
    query: {
      tier: { description: 'Only environments of this tier.', enum: Object.values(EnvironmentTier) },
    },
    result: { kind: 'list', type: EnvironmentWithCredentials },
    handle: async (ctx, req) => {
      const page = await environmentService.page(ctx, req.params.workspace_id, req.page, req.query.tier ?? null);
      // Never spread a Connection: its totalCount is a lazy getter that runs a statement.
      return {
        pageInfo: page.pageInfo,
        edges: page.edges.map((e) => ({ ...e, node: withCredentials(ctx, e.node) })),
        get totalCount() {
          return page.totalCount;
        },
      };
    },
  }),
  route<CreateEnvironmentInput, EnvironmentWithCredentials>({
    method: 'post',
    path: ENVIRONMENTS,
    operationId: 'createEnvironment',
    summary: 'Create an environment (workspace developers and up)',
    tag,
    scopes: ['workspaces:write', 'workspaces:read'],
    body: {
      input: CreateEnvironmentInput,
      set: { workspaceId: (p) => p.workspace_id },
      schemaName: 'CreateEnvironment',
    },
    result: { kind: 'object', type: EnvironmentWithCredentials },
    audit: { operation: 'createEnvironment', targetType: 'Environment' },
    location: (e, req) => `/orgs/${req.params.org_id}/workspaces/${req.params.workspace_id}/environments/${e.id}`,
    handle: async (ctx, req) => withCredentials(ctx, await environmentService.create(ctx, req.body)),
  }),
  route({
    method: 'get',
    path: ENVIRONMENT,
    operationId: 'getEnvironment',
    summary: 'Read an environment (credentials: status only)',
    tag,
    scopes: ['workspaces:read'],
    result: { kind: 'object', type: EnvironmentWithCredentials },
    handle: load,
  }),
  route<UpdateEnvironmentInput, EnvironmentWithCredentials>({
    method: 'patch',
    path: ENVIRONMENT,
    operationId: 'updateEnvironment',
    summary: 'Change an environment (workspace developers and up)',
    tag,
    scopes: ['workspaces:write', 'workspaces:read'],
    body: { input: UpdateEnvironmentInput, partial: true },
    result: { kind: 'object', type: EnvironmentWithCredentials },
    audit: { operation: 'updateEnvironment', targetType: 'Environment' },
    current,
    handle: async (ctx, req) => {
      await load(ctx, req);
      return withCredentials(ctx, await environmentService.update(ctx, req.params.environment_id, req.body));
    },
  }),
  route({
    method: 'delete',
    path: ENVIRONMENT,
    operationId: 'deleteEnvironment',
    summary: 'Delete an environment (refused while a deployment ring uses it)',
    tag,
    scopes: ['workspaces:write'],
    result: { kind: 'none' },
    audit: { operation: 'deleteEnvironment', targetType: null },
    current,
    handle: async (ctx, req) => {
      await load(ctx, req);
      return environmentService.delete(ctx, req.params.environment_id);
    },
  }),
  route<EnvironmentCredentialsInput, EnvironmentWithCredentials>({
    method: 'put',
    path: `${ENVIRONMENT}/credentials`,
    operationId: 'setEnvironmentCredentials',
    summary: "Set (replace) the environment's cloud credentials (workspace admins); write-only",
    description:
      "Exactly one of `cloudrun` or `aws`, matching the environment's deployment_host. The answer is the environment, whose `credentials` shows only whether they are set, when, and a fingerprint.",
    tag,
    scopes: ['workspaces:write', 'workspaces:read'],
    body: { input: EnvironmentCredentialsInput },
    result: { kind: 'object', type: EnvironmentWithCredentials },
    audit: {
      operation: 'setEnvironmentCredentials',
      targetType: 'Environment',
      targetId: (_e, req) => req.params.environment_id,
    },
    current,
    handle: async (ctx, req) => {
      await load(ctx, req);
      return withCredentials(ctx, await credentialsService.set(ctx, req.params.environment_id, req.body));
    },
  }),
  route({
    method: 'delete',
    path: `${ENVIRONMENT}/credentials`,
    operationId: 'clearEnvironmentCredentials',
    summary: "Remove the environment's cloud credentials (workspace admins)",
    tag,
    scopes: ['workspaces:write', 'workspaces:read'],
    result: { kind: 'none' },
    audit: {
      operation: 'clearEnvironmentCredentials',
      targetType: 'Environment',
      targetId: (_e, req) => req.params.environment_id,
    },
    current,
    handle: async (ctx, req) => {
      await load(ctx, req);
      return credentialsService.clear(ctx, req.params.environment_id);
    },
  }),
];
