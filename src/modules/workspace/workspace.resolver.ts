import { Arg, Args, FieldResolver, ID, Mutation, Query, Resolver, Root, Info } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { environmentService } from '../environment/environment.service';
import { componentService } from '../component/component.service';
import { Workspace } from './workspace.entity';
import { CreateWorkspaceInput, UpdateWorkspaceInput } from './workspace.inputs';
import { workspaceService } from './workspace.service';
import { Environment, EnvironmentConnection, EnvironmentTier } from '../environment/environment.entity';
import { Component, ComponentConnection, ComponentType } from '../component/component.entity';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => Workspace)
export class WorkspaceResolver {
  @Query(() => Workspace, {
    nullable: true,
    description: "A workspace of the caller's organization; NOT_FOUND otherwise.",
  })
  @RequiresScopes('workspaces:read')
  workspace(
    @Arg('id', () => ID, { description: 'Global id of a Workspace.' }) id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Workspace> {
    return workspaceService.get(ctx, id);
  }

  @FieldResolver(() => EnvironmentConnection, {
    description: "The workspace's environments, oldest first; `tier` filters them.",
  })
  @RequiresScopes('workspaces:read')
  environments(
    @Root() workspace: Workspace,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('tier', () => EnvironmentTier, {
      nullable: true,
      description: 'Only environments of this tier (totalCount counts them only). Omitted: all tiers.',
    })
    tier: EnvironmentTier | null | undefined,
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Connection<Environment>> {
    return environmentService.page(ctx, workspace.id, toPage(args, undefined, info), tier ?? null);
  }

  @FieldResolver(() => ComponentConnection, {
    description: "The workspace's components, oldest first; `type` filters them.",
  })
  @RequiresScopes('components:read')
  components(
    @Root() workspace: Workspace,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('type', () => ComponentType, {
      nullable: true,
      description:
        "Only components of this type, as the platform's `/components/{type}` paths (totalCount counts them only). Omitted: all types.",
    })
    type: ComponentType | null | undefined,
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Connection<Component>> {
    return componentService.page(ctx, workspace.id, toPage(args, undefined, info), type ?? null);
  }

  @Mutation(() => Workspace, {
    description: 'Creates a workspace; the creating user becomes its admin. null (with an error) when refused.',
    nullable: true,
  })
  @RequiresScopes('workspaces:write')
  createWorkspace(
    @Arg('input', () => CreateWorkspaceInput, { description: 'Name and description of the new workspace.' })
    input: CreateWorkspaceInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Workspace> {
    return workspaceService.create(ctx, input);
  }

  @Mutation(() => Workspace, {
    description: 'Renames or re-describes a workspace (workspace admins). null (with an error) when refused.',
    nullable: true,
  })
  @RequiresScopes('workspaces:write')
  updateWorkspace(
    @Arg('id', () => ID, { description: 'Global id of the Workspace.' }) id: string,
    @Arg('input', () => UpdateWorkspaceInput, { description: 'The fields to change; omitted fields are kept.' })
    input: UpdateWorkspaceInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Workspace> {
    return workspaceService.update(ctx, id, input);
  }

  @Mutation(() => ID, {
    nullable: true,
    description: 'Deletes the workspace with its environments and components; returns its id.',
  })
  @RequiresScopes('workspaces:write')
  deleteWorkspace(
    @Arg('id', () => ID, { description: 'Global id of the Workspace to delete, with everything in it.' }) id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<string> {
    return workspaceService.delete(ctx, id);
  }
}
