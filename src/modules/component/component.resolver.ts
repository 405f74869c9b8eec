import { Arg, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { Component } from './component.entity';
import { CreateComponentInput, UpdateComponentInput } from './component.inputs';
import { componentService } from './component.service';
import { Workspace } from '../workspace/workspace.entity';
import { workspaceService } from '../workspace/workspace.service';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => Component)
export class ComponentResolver {
  @Query(() => Component, {
    description: "A component of the caller's organization in a workspace they can see; NOT_FOUND otherwise.",
    nullable: true,
  })
  @RequiresScopes('components:read')
  component(
    @Arg('id', () => ID, { description: 'Global id of a Component.' }) id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Component> {
    return componentService.get(ctx, id);
  }

  @FieldResolver(() => Workspace, { description: 'The workspace the component belongs to.' })
  workspace(@Root() component: Component, @RequestCtx() ctx: RequestContext): Promise<Workspace> {
    return workspaceService.get(ctx, component.workspaceId);
  }

  @Mutation(() => Component, {
    description: 'Creates a component in a workspace (workspace developers and up). null (with an error) when refused.',
    nullable: true,
  })
  @RequiresScopes('components:write')
  createComponent(
    @Arg('input', () => CreateComponentInput, { description: 'The new component.' }) input: CreateComponentInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Component> {
    return componentService.create(ctx, input);
  }

  @Mutation(() => Component, {
    description:
      "Changes a component's name or configuration (workspace developers and up). null (with an error) when refused.",
    nullable: true,
  })
  @RequiresScopes('components:write')
  updateComponent(
    @Arg('id', () => ID, { description: 'Global id of the Component.' }) id: string,
    @Arg('input', () => UpdateComponentInput, { description: 'The fields to change; omitted fields are kept.' })
    input: UpdateComponentInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Component> {
    return componentService.update(ctx, id, input);
  }

  @Mutation(() => ID, { nullable: true, description: 'Returns the id of the deleted component.' })
  @RequiresScopes('components:write')
  deleteComponent(
    @Arg('id', () => ID, { description: 'Global id of the Component to delete, with its deployments and history.' })
    id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<string> {
    return componentService.delete(ctx, id);
  }
}
