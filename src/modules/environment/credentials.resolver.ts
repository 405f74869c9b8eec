import { Arg, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { SecretStatus, secretStatus } from '../../secrets/secret-status';
import { Environment } from './environment.entity';
import { EnvironmentCredentialsInput } from './credentials.inputs';
import { credentialsBinding, credentialsService } from './credentials.service';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => Environment)
export class EnvironmentCredentialsResolver {
  @FieldResolver(() => SecretStatus, {
    description: 'Whether cloud credentials are set (write-only: never the value).',
  })
  credentials(@Root() environment: Environment, @RequestCtx() ctx: RequestContext): SecretStatus {
    return secretStatus(ctx.keyring, ctx.log, environment.credentialsSealed, credentialsBinding(environment), {
      provider: environment.credentialsProvider,
      updatedAt: environment.credentialsUpdatedAt,
    });
  }

  @Mutation(() => Environment, {
    nullable: true,
    description:
      "Sets (replaces) the environment's cloud credentials: exactly one of cloudrun or aws, matching its deploymentHost. Workspace admins only.",
  })
  @RequiresScopes('workspaces:write')
  setEnvironmentCredentials(
    @Arg('environmentId', () => ID, { description: 'Global id of the Environment.' }) environmentId: string,
    @Arg('input', () => EnvironmentCredentialsInput, {
      description: "Credentials for exactly the provider of the environment's deploymentHost.",
    })
    input: EnvironmentCredentialsInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Environment> {
    return credentialsService.set(ctx, environmentId, input);
  }

  @Mutation(() => Environment, {
    nullable: true,
    description: "Removes the environment's cloud credentials. Workspace admins only.",
  })
  @RequiresScopes('workspaces:write')
  clearEnvironmentCredentials(
    @Arg('environmentId', () => ID, { description: 'Global id of the Environment.' }) environmentId: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Environment> {
    return credentialsService.clear(ctx, environmentId);
  }
}
