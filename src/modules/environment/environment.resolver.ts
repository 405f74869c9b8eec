import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { tenantOf, type GatewayContext } from '../../graphql/context';
import { Environment } from './environment.entity';
import { CreateEnvironmentInput, UpdateEnvironmentInput } from './environment.inputs';
import { environmentService } from './environment.service';
import { Workspace } from '../workspace/workspace.entity';
import { workspaceService } from '../workspace/workspace.service';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => Environment)
export class EnvironmentResolver {
  @Query(() => Environment, { description: 'An environment of the caller\'s organization in a workspace they can see; NOT_FOUND otherwise.', nullable: true })
  @RequiresScopes('workspaces:read')
  environment(@Arg('id', () => ID, { description: 'Global id of an Environment.' }) id: string, @Ctx() ctx: GatewayContext): Promise<Environment> {
    return environmentService.get(tenantOf(ctx).loaders, id);
  }

  @FieldResolver(() => Workspace, { description: 'The workspace the environment belongs to.' })
  workspace(@Root() environment: Environment, @Ctx() ctx: GatewayContext): Promise<Workspace> {
    return workspaceService.get(tenantOf(ctx).loaders, environment.workspaceId);
  }

  @Mutation(() => Environment, { description: 'Creates an environment in a workspace (workspace developers and up). null (with an error) when refused.', nullable: true })
  @RequiresScopes('workspaces:write')
  createEnvironment(@Arg('input', () => CreateEnvironmentInput, { description: 'The new environment; slug must be unique in the workspace.' }) input: CreateEnvironmentInput, @Ctx() ctx: GatewayContext): Promise<Environment> {
    return environmentService.create(tenantOf(ctx), input);
  }

  @Mutation(() => Environment, { description: 'Changes an environment (workspace developers and up). null (with an error) when refused.', nullable: true })
  @RequiresScopes('workspaces:write')
  updateEnvironment(
    @Arg('id', () => ID, { description: 'Global id of the Environment.' }) id: string,
    @Arg('input', () => UpdateEnvironmentInput, { description: 'The fields to change; omitted fields are kept.' }) input: UpdateEnvironmentInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Environment> {
    return environmentService.update(tenantOf(ctx), id, input);
  }

  @Mutation(() => ID, { nullable: true, description: 'Returns the id of the deleted environment.' })
  @RequiresScopes('workspaces:write')
  deleteEnvironment(@Arg('id', () => ID, { description: 'Global id of the Environment to delete (refused while a deployment ring uses it).' }) id: string, @Ctx() ctx: GatewayContext): Promise<string> {
    return environmentService.delete(tenantOf(ctx), id);
  }
}
