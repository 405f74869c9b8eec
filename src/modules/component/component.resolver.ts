import { Arg, Ctx, Directive, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { tenantOf, type GatewayContext } from '../../graphql/context';
import { Component } from './component.entity';
import { CreateComponentInput, UpdateComponentInput } from './component.inputs';
import { componentService } from './component.service';
import { Workspace } from '../workspace/workspace.entity';
import { workspaceService } from '../workspace/workspace.service';

@Resolver(() => Component)
export class ComponentResolver {
  @Query(() => Component, { nullable: true })
  @Directive('@requiresScopes(scopes: [["components:read"]])')
  component(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Component> {
    return componentService.get(tenantOf(ctx).loaders, id);
  }

  @FieldResolver(() => Workspace)
  workspace(@Root() component: Component, @Ctx() ctx: GatewayContext): Promise<Workspace> {
    return workspaceService.get(tenantOf(ctx).loaders, component.workspaceId);
  }

  @Mutation(() => Component, { nullable: true })
  @Directive('@requiresScopes(scopes: [["components:write"]])')
  createComponent(@Arg('input', () => CreateComponentInput) input: CreateComponentInput, @Ctx() ctx: GatewayContext): Promise<Component> {
    return componentService.create(tenantOf(ctx), input);
  }

  @Mutation(() => Component, { nullable: true })
  @Directive('@requiresScopes(scopes: [["components:write"]])')
  updateComponent(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateComponentInput) input: UpdateComponentInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Component> {
    return componentService.update(tenantOf(ctx), id, input);
  }

  @Mutation(() => ID, { nullable: true, description: 'Returns the id of the deleted component.' })
  @Directive('@requiresScopes(scopes: [["components:write"]])')
  deleteComponent(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<string> {
    return componentService.delete(tenantOf(ctx), id);
  }
}
