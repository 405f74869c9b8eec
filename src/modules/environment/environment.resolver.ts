import { Arg, Ctx, Directive, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { tenantOf, type GatewayContext } from '../../graphql/context';
import { Environment } from './environment.entity';
import { CreateEnvironmentInput, UpdateEnvironmentInput } from './environment.inputs';
import { environmentService } from './environment.service';
import { Workspace } from '../workspace/workspace.entity';
import { workspaceService } from '../workspace/workspace.service';

@Resolver(() => Environment)
export class EnvironmentResolver {
  @Query(() => Environment, { nullable: true })
  @Directive('@requiresScopes(scopes: [["workspaces:read"]])')
  environment(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Environment> {
    return environmentService.get(tenantOf(ctx).loaders, id);
  }

  @FieldResolver(() => Workspace)
  workspace(@Root() environment: Environment, @Ctx() ctx: GatewayContext): Promise<Workspace> {
    return workspaceService.get(tenantOf(ctx).loaders, environment.workspaceId);
  }

  @Mutation(() => Environment, { nullable: true })
  @Directive('@requiresScopes(scopes: [["workspaces:write"]])')
  createEnvironment(@Arg('input', () => CreateEnvironmentInput) input: CreateEnvironmentInput, @Ctx() ctx: GatewayContext): Promise<Environment> {
    return environmentService.create(tenantOf(ctx), input);
  }

  @Mutation(() => Environment, { nullable: true })
  @Directive('@requiresScopes(scopes: [["workspaces:write"]])')
  updateEnvironment(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateEnvironmentInput) input: UpdateEnvironmentInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Environment> {
    return environmentService.update(tenantOf(ctx), id, input);
  }

  @Mutation(() => ID, { nullable: true, description: 'Returns the id of the deleted environment.' })
  @Directive('@requiresScopes(scopes: [["workspaces:write"]])')
  deleteEnvironment(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<string> {
    return environmentService.delete(tenantOf(ctx), id);
  }
}
