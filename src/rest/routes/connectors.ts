import { Field, ObjectType } from 'type-graphql';
import type { RequestContext } from '../../context/request-context';
import { Connector, ConnectorKind } from '../../modules/connector/connector.entity';
import { CreateConnectorInput, UpdateConnectorInput } from '../../modules/connector/connector.inputs';
import { connectorSecretBinding, connectorService } from '../../modules/connector/connector.service';
import { SecretStatus, secretStatus } from '../../secrets/secret-status';
import { inWorkspace, route, WORKSPACE, type RestRequest, type Route } from '../route';

/**
 * A connector as REST shows it: its fields and the status of its secret (write-only: set with POST/PATCH
 * `secret`, removed with DELETE …/secret; never returned — GraphQL's `Connector.secret`). Not reachable
 * from the GraphQL schema, so type-graphql does not emit it there.
 */
@ObjectType('ConnectorWithSecret', {
  description: 'A connector; `secret` says whether a credential is set, never its value.',
})
export class ConnectorWithSecret extends Connector {
  @Field(() => SecretStatus, { description: 'Whether a secret is set (write-only: never the value).' })
  secret: SecretStatus;
}

function withSecret(ctx: RequestContext, connector: Connector): ConnectorWithSecret {
  const secret = secretStatus(ctx.keyring, ctx.log, connector.secretSealed, connectorSecretBinding(connector), {
    updatedAt: connector.secretUpdatedAt,
  });
  return Object.assign(Object.create(ConnectorWithSecret.prototype) as ConnectorWithSecret, connector, { secret });
}

const CONNECTORS = `${WORKSPACE}/connectors`;
const CONNECTOR = `${CONNECTORS}/{connector_id}`;
/** The connector of the path, in the workspace of the path (otherwise the one 404). */
const get = async (ctx: RequestContext, req: RestRequest) =>
  inWorkspace(req, await connectorService.get(ctx, req.params.connector_id));
const load = async (ctx: RequestContext, req: RestRequest) => withSecret(ctx, await get(ctx, req));
const current = { type: ConnectorWithSecret, load };
const tag = 'connectors';
const result = { kind: 'object' as const, type: ConnectorWithSecret };

/** `…/workspaces/{workspace_id}/connectors[/{connector_id}[/secret]]` (GraphQL: connector mutations, Workspace.connectors). */
export const connectorRoutes: Route[] = [
  route({
    method: 'get',
    path: CONNECTORS,
    operationId: 'listConnectors',
    summary: "List a workspace's connectors, oldest first",
    tag,
    scopes: ['workspaces:read'],
    query: { kind: { description: 'Only connectors of this kind.', enum: Object.values(ConnectorKind) } },
    result: { kind: 'list', type: ConnectorWithSecret },
    handle: async (ctx, req) => {
      const page = await connectorService.page(ctx, req.params.workspace_id, req.page, req.query.kind ?? null);
      // Not `{...page}`: spreading reads the lazy `totalCount` getter, which starts a count statement that
      // nobody awaits; it fails once the request has ended, and the unhandled rejection kills the process.
      return {
        pageInfo: page.pageInfo,
        edges: page.edges.map((e) => ({ ...e, node: withSecret(ctx, e.node) })),
        get totalCount() {
          return page.totalCount;
        },
      };
    },
  }),
  route<CreateConnectorInput, ConnectorWithSecret>({
    method: 'post',
    path: CONNECTORS,
    operationId: 'createConnector',
    summary: 'Create a connector; its secret is sealed and never returned (workspace developers and admins)',
    tag,
    scopes: ['connectors:write', 'workspaces:read'],
    body: {
      input: CreateConnectorInput,
      set: { workspaceId: (p) => p.workspace_id },
      schemaName: 'CreateConnector',
    },
    result,
    audit: { operation: 'createConnector', targetType: 'Connector' },
    location: (c, req) => `/orgs/${req.params.org_id}/workspaces/${req.params.workspace_id}/connectors/${c.id}`,
    handle: async (ctx, req) => withSecret(ctx, await connectorService.create(ctx, req.body)),
  }),
  route({
    method: 'get',
    path: CONNECTOR,
    operationId: 'getConnector',
    summary: 'Read a connector (never its secret)',
    tag,
    scopes: ['workspaces:read'],
    result,
    handle: load,
  }),
  route<UpdateConnectorInput, ConnectorWithSecret>({
    method: 'patch',
    path: CONNECTOR,
    operationId: 'updateConnector',
    summary: 'Rename it, replace its config or its secret (workspace developers and admins)',
    tag,
    scopes: ['connectors:write', 'workspaces:read'],
    body: { input: UpdateConnectorInput, partial: true },
    result,
    audit: { operation: 'updateConnector', targetType: 'Connector' },
    current,
    handle: async (ctx, req) => {
      await get(ctx, req);
      return withSecret(ctx, await connectorService.update(ctx, req.params.connector_id, req.body));
    },
  }),
  route({
    method: 'delete',
    path: `${CONNECTOR}/secret`,
    operationId: 'clearConnectorSecret',
    summary: "Remove the connector's secret (workspace developers and admins)",
    tag,
    scopes: ['connectors:write'],
    result: { kind: 'none' },
    audit: { operation: 'clearConnectorSecret', targetType: 'Connector' },
    current,
    handle: async (ctx, req) => {
      await get(ctx, req);
      await connectorService.clearSecret(ctx, req.params.connector_id);
    },
  }),
  route({
    method: 'delete',
    path: CONNECTOR,
    operationId: 'deleteConnector',
    summary: 'Delete a connector (workspace developers and admins)',
    tag,
    scopes: ['connectors:write'],
    result: { kind: 'none' },
    audit: { operation: 'deleteConnector', targetType: null },
    current,
    handle: async (ctx, req) => {
      await get(ctx, req);
      return connectorService.delete(ctx, req.params.connector_id);
    },
  }),
];
