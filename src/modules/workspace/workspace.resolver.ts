import { Arg, Args, Ctx, Directive, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { tenantOf, type GatewayContext } from '../../graphql/context';
import { PageArgs, toConnection, toPage, type Connection } from '../../graphql/pagination';
import { Workspace } from './workspace.entity';
import { CreateWorkspaceInput, UpdateWorkspaceInput } from './workspace.inputs';
import { workspaceService } from './workspace.service';
import { Environment, EnvironmentConnection } from '../environment/environment.entity';
import { Component, ComponentConnection } from '../component/component.entity';

@Resolver(() => Workspace)
export class WorkspaceResolver {
  @Query(() => Workspace, { nullable: true, description: 'A workspace of the caller\'s organization; NOT_FOUND otherwise.' })
  @Directive('@requiresScopes(scopes: [["workspaces:read"]])')
  workspace(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Workspace> {
    return workspaceService.get(tenantOf(ctx).loaders, id);
  }

  @FieldResolver(() => EnvironmentConnection)
  @Directive('@requiresScopes(scopes: [["workspaces:read"]])')
  async environments(@Root() workspace: Workspace, @Args(() => PageArgs) args: PageArgs, @Ctx() ctx: GatewayContext): Promise<Connection<Environment>> {
    const { loaders } = tenantOf(ctx);
    const page = toPage(args);
    const rows = await loaders.environmentsOfWorkspace(page).load(workspace.id);
    return toConnection(rows, page, () => loaders.environmentCount.load(workspace.id));
  }

  @FieldResolver(() => ComponentConnection)
  @Directive('@requiresScopes(scopes: [["components:read"]])')
  async components(@Root() workspace: Workspace, @Args(() => PageArgs) args: PageArgs, @Ctx() ctx: GatewayContext): Promise<Connection<Component>> {
    const { loaders } = tenantOf(ctx);
    const page = toPage(args);
    const rows = await loaders.componentsOfWorkspace(page).load(workspace.id);
    return toConnection(rows, page, () => loaders.componentCount.load(workspace.id));
  }

  @Mutation(() => Workspace, { nullable: true })
  @Directive('@requiresScopes(scopes: [["workspaces:write"]])')
  createWorkspace(@Arg('input', () => CreateWorkspaceInput) input: CreateWorkspaceInput, @Ctx() ctx: GatewayContext): Promise<Workspace> {
    return workspaceService.create(tenantOf(ctx), input);
  }

  @Mutation(() => Workspace, { nullable: true })
  @Directive('@requiresScopes(scopes: [["workspaces:write"]])')
  updateWorkspace(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateWorkspaceInput) input: UpdateWorkspaceInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Workspace> {
    return workspaceService.update(tenantOf(ctx), id, input);
  }

  @Mutation(() => ID, { nullable: true, description: 'Deletes the workspace with its environments and components; returns its id.' })
  @Directive('@requiresScopes(scopes: [["workspaces:write"]])')
  deleteWorkspace(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<string> {
    return workspaceService.delete(tenantOf(ctx), id);
  }
}
