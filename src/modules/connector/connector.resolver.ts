import { Arg, Args, FieldResolver, ID, Mutation, Query, Resolver, Root, Info } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { SecretStatus, secretStatus } from '../../secrets/secret-status';
import { Workspace } from '../workspace/workspace.entity';
import { workspaceService } from '../workspace/workspace.service';
import { Connector, ConnectorConnection, ConnectorKind } from './connector.entity';
import { CreateConnectorInput, UpdateConnectorInput } from './connector.inputs';
import { connectorSecretBinding, connectorService } from './connector.service';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => Connector)
export class ConnectorResolver {
  @Query(() => Connector, {
    nullable: true,
    description: 'A connector of a workspace the caller sees; NOT_FOUND otherwise.',
  })
  @RequiresScopes('workspaces:read')
  connector(
    @Arg('id', () => ID, { description: 'Global id of a Connector.' }) id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Connector> {
    return connectorService.get(ctx, id);
  }

  @FieldResolver(() => Workspace, { description: 'The workspace the connector belongs to.' })
  workspace(@Root() connector: Connector, @RequestCtx() ctx: RequestContext): Promise<Workspace> {
    return workspaceService.get(ctx, connector.workspaceId);
  }

  @FieldResolver(() => SecretStatus, { description: 'Whether a secret is set (write-only: never the value).' })
  secret(@Root() connector: Connector, @RequestCtx() ctx: RequestContext): SecretStatus {
    return secretStatus(ctx.keyring, ctx.log, connector.secretSealed, connectorSecretBinding(connector), {
      updatedAt: connector.secretUpdatedAt,
    });
  }

  @Mutation(() => Connector, { nullable: true, description: 'Workspace developers and admins.' })
  @RequiresScopes('connectors:write')
  createConnector(
    @Arg('input', () => CreateConnectorInput, {
      description: 'The new connector; its secret is sealed and never returned.',
    })
    input: CreateConnectorInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Connector> {
    return connectorService.create(ctx, input);
  }

  @Mutation(() => Connector, { nullable: true, description: 'Workspace developers and admins.' })
  @RequiresScopes('connectors:write')
  updateConnector(
    @Arg('id', () => ID, { description: 'Global id of the Connector.' }) id: string,
    @Arg('input', () => UpdateConnectorInput, { description: 'The fields to change; omitted fields are kept.' })
    input: UpdateConnectorInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Connector> {
    return connectorService.update(ctx, id, input);
  }

  @Mutation(() => Connector, {
    nullable: true,
    description: "Removes the connector's secret. Workspace developers and admins.",
  })
  @RequiresScopes('connectors:write')
  clearConnectorSecret(
    @Arg('id', () => ID, { description: 'Global id of the Connector.' }) id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Connector> {
    return connectorService.clearSecret(ctx, id);
  }

  @Mutation(() => ID, {
    nullable: true,
    description: 'Returns the id of the deleted connector. Workspace developers and admins.',
  })
  @RequiresScopes('connectors:write')
  deleteConnector(
    @Arg('id', () => ID, { description: 'Global id of the Connector to delete.' }) id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<string> {
    return connectorService.delete(ctx, id);
  }
}

@Resolver(() => Workspace)
export class WorkspaceConnectorsResolver {
  @FieldResolver(() => ConnectorConnection, {
    description: "The workspace's connectors, oldest first; `kind` filters them.",
  })
  @RequiresScopes('workspaces:read')
  connectors(
    @Root() workspace: Workspace,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('kind', () => ConnectorKind, {
      nullable: true,
      description: 'Only connectors of this kind (totalCount counts them only). Omitted: all kinds.',
    })
    kind: ConnectorKind | null | undefined,
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Connection<Connector>> {
    return connectorService.page(ctx, workspace.id, toPage(args, undefined, info), kind ?? null);
  }
}
