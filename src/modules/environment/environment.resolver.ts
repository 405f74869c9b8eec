import { Arg, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { Environment } from './environment.entity';
import { CreateEnvironmentInput, UpdateEnvironmentInput } from './environment.inputs';
import { environmentService } from './environment.service';
import { Workspace } from '../workspace/workspace.entity';
import { workspaceService } from '../workspace/workspace.service';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => Environment)
export class EnvironmentResolver {
  @Query(() => Environment, {
    description: "An environment of the caller's organization in a workspace they can see; NOT_FOUND otherwise.",
    nullable: true,
  })
  @RequiresScopes('workspaces:read')
  environment(
    @Arg('id', () => ID, { description: 'Global id of an Environment.' }) id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Environment> {
    return environmentService.get(ctx, id);
  }

  @FieldResolver(() => Workspace, { description: 'The workspace the environment belongs to.' })
  workspace(@Root() environment: Environment, @RequestCtx() ctx: RequestContext): Promise<Workspace> {
    return workspaceService.get(ctx, environment.workspaceId);
  }

  @Mutation(() => Environment, {
    description:
      'Creates an environment in a workspace (workspace developers and up). null (with an error) when refused.',
    nullable: true,
  })
  @RequiresScopes('workspaces:write')
  createEnvironment(
    @Arg('input', () => CreateEnvironmentInput, {
      description: 'The new environment; slug must be unique in the workspace.',
    })
    input: CreateEnvironmentInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Environment> {
    return environmentService.create(ctx, input);
  }

  @Mutation(() => Environment, {
    description: 'Changes an environment (workspace developers and up). null (with an error) when refused.',
    nullable: true,
  })
  @RequiresScopes('workspaces:write')
  updateEnvironment(
    @Arg('id', () => ID, { description: 'Global id of the Environment.' }) id: string,
    @Arg('input', () => UpdateEnvironmentInput, { description: 'The fields to change; omitted fields are kept.' })
    input: UpdateEnvironmentInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Environment> {
    return environmentService.update(ctx, id, input);
  }

  @Mutation(() => ID, { nullable: true, description: 'Returns the id of the deleted environment.' })
  @RequiresScopes('workspaces:write')
  deleteEnvironment(
    @Arg('id', () => ID, {
      description: 'Global id of the Environment to delete (refused while a deployment ring uses it).',
    })
    id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<string> {
    return environmentService.delete(ctx, id);
  }
}
