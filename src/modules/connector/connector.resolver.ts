import { Arg, Args, Ctx, Directive, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { tenantOf, type GatewayContext } from '../../graphql/context';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { SecretStatus, secretStatus } from '../../secrets/secret-status';
import { Workspace } from '../workspace/workspace.entity';
import { workspaceService } from '../workspace/workspace.service';
import { Connector, ConnectorConnection } from './connector.entity';
import { CreateConnectorInput, UpdateConnectorInput } from './connector.inputs';
import { connectorSecretBinding, connectorService } from './connector.service';

@Resolver(() => Connector)
export class ConnectorResolver {
  @Query(() => Connector, { nullable: true, description: "A connector of a workspace the caller sees; NOT_FOUND otherwise." })
  @Directive('@requiresScopes(scopes: [["workspaces:read"]])')
  connector(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Connector> {
    return connectorService.get(tenantOf(ctx).loaders, id);
  }

  @FieldResolver(() => Workspace)
  workspace(@Root() connector: Connector, @Ctx() ctx: GatewayContext): Promise<Workspace> {
    return workspaceService.get(tenantOf(ctx).loaders, connector.workspaceId);
  }

  @FieldResolver(() => SecretStatus, { description: 'Whether a secret is set (write-only: never the value).' })
  secret(@Root() connector: Connector, @Ctx() ctx: GatewayContext): SecretStatus {
    return secretStatus(ctx.keyring, ctx.log, connector.secretSealed, connectorSecretBinding(connector), { updatedAt: connector.secretUpdatedAt });
  }

  @Mutation(() => Connector, { nullable: true, description: 'Workspace developers and admins.' })
  @Directive('@requiresScopes(scopes: [["connectors:write"]])')
  createConnector(@Arg('input', () => CreateConnectorInput) input: CreateConnectorInput, @Ctx() ctx: GatewayContext): Promise<Connector> {
    return connectorService.create(tenantOf(ctx), ctx.keyring, input);
  }

  @Mutation(() => Connector, { nullable: true, description: 'Workspace developers and admins.' })
  @Directive('@requiresScopes(scopes: [["connectors:write"]])')
  updateConnector(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateConnectorInput) input: UpdateConnectorInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Connector> {
    return connectorService.update(tenantOf(ctx), ctx.keyring, id, input);
  }

  @Mutation(() => Connector, { nullable: true, description: "Removes the connector's secret. Workspace developers and admins." })
  @Directive('@requiresScopes(scopes: [["connectors:write"]])')
  clearConnectorSecret(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Connector> {
    return connectorService.clearSecret(tenantOf(ctx), id);
  }

  @Mutation(() => ID, { nullable: true, description: 'Returns the id of the deleted connector. Workspace developers and admins.' })
  @Directive('@requiresScopes(scopes: [["connectors:write"]])')
  deleteConnector(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<string> {
    return connectorService.delete(tenantOf(ctx), id);
  }
}

@Resolver(() => Workspace)
export class WorkspaceConnectorsResolver {
  @FieldResolver(() => ConnectorConnection)
  @Directive('@requiresScopes(scopes: [["workspaces:read"]])')
  connectors(@Root() workspace: Workspace, @Args(() => PageArgs) args: PageArgs, @Ctx() ctx: GatewayContext): Promise<Connection<Connector>> {
    return connectorService.page(tenantOf(ctx).loaders, workspace.id, toPage(args));
  }
}
