import { Arg, Args, FieldResolver, ID, Int, Mutation, Resolver, Root, Info } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { Organization } from '../organization/organization.entity';
import { ApiKey, ApiKeyConnection, CreatedApiKey } from './api-key.entity';
import { CreateApiKeyInput } from './api-key.inputs';
import { apiKeyService } from './api-key.service';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Mutation(() => CreatedApiKey, {
    nullable: true,
    description: 'The value is in the result, once. Exchange it at POST /auth/token.',
  })
  @RequiresScopes('api_keys:manage')
  createApiKey(
    @Arg('input', () => CreateApiKeyInput, { description: 'Name, scopes and optional expiry of the new key.' })
    input: CreateApiKeyInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<CreatedApiKey> {
    return apiKeyService.create(ctx, input);
  }

  @Mutation(() => ApiKey, {
    nullable: true,
    description: 'Immediate: tokens already exchanged from the key stop working too.',
  })
  @RequiresScopes('api_keys:manage')
  revokeApiKey(
    @Arg('id', () => ID, { description: 'Global id of the ApiKey to revoke.' }) id: string,
    @RequestCtx() ctx: RequestContext,
  ): Promise<ApiKey> {
    return apiKeyService.revoke(ctx, id);
  }

  @Mutation(() => CreatedApiKey, {
    nullable: true,
    description: 'A new value with the same grant; the old one keeps working for the grace period (0 = revoked now).',
  })
  @RequiresScopes('api_keys:manage')
  rotateApiKey(
    @Arg('id', () => ID, { description: 'Global id of the ApiKey to rotate.' }) id: string,
    @Arg('gracePeriodSeconds', () => Int, {
      description: 'Seconds the old value keeps working after rotation (0: stops at once).',
      defaultValue: 0,
    })
    gracePeriodSeconds: number,
    @RequestCtx() ctx: RequestContext,
  ): Promise<CreatedApiKey> {
    return apiKeyService.rotate(ctx, id, gracePeriodSeconds);
  }
}

@Resolver(() => Organization)
export class OrganizationApiKeysResolver {
  @FieldResolver(() => ApiKeyConnection, {
    description: "The organization's API keys (never their values), oldest first.",
  })
  @RequiresScopes('api_keys:manage')
  apiKeys(
    @Root() _org: Organization,
    @Args(() => PageArgs) args: PageArgs,
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Connection<ApiKey>> {
    return apiKeyService.page(ctx, toPage(args, undefined, info));
  }
}
