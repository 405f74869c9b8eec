import { Arg, Args, Field, FieldResolver, ObjectType, Mutation, Query, Resolver, Root, Info } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { Organization } from './organization.entity';
import { UpdateOrganizationInput } from './organization.inputs';
import { organizationService } from './organization.service';
import { workspaceService } from '../workspace/workspace.service';
import { WorkspaceConnection } from '../workspace/workspace.entity';
import type { Workspace } from '../workspace/workspace.entity';
import { RequiresScopes, Authenticated } from '../../auth/decorators';

@ObjectType({ description: 'The caller, as the verified token describes them.' })
class Viewer {
  @Field(() => String, { description: 'The token subject: a user id, or apikey:<id>.' })
  subject: string;

  @Field(() => [String], {
    description: "The effective scopes: the token's scopes narrowed to what the member's role allows, sorted.",
  })
  scopes: string[];

  @Field(() => Organization, { description: 'The organization the token was issued for.' })
  organization: Organization;
}

@Resolver(() => Organization)
export class OrganizationResolver {
  @Query(() => Viewer, {
    description: 'The caller as the verified token describes them: subject, effective scopes, organization.',
  })
  @Authenticated()
  async viewer(@RequestCtx() ctx: RequestContext): Promise<Viewer> {
    return {
      subject: ctx.principal.subject,
      scopes: [...ctx.scopes].sort(),
      organization: await organizationService.current(ctx),
    };
  }

  @Query(() => Organization, { description: "The caller's organization (from the token's org claim)." })
  @RequiresScopes('org:read')
  organization(@RequestCtx() ctx: RequestContext): Promise<Organization> {
    return organizationService.current(ctx);
  }

  @FieldResolver(() => WorkspaceConnection, {
    description:
      'The workspaces the caller can see (all of them for owners, admins and cross-workspace grants), oldest first.',
  })
  @RequiresScopes('workspaces:read')
  workspaces(
    @Root() _org: Organization,
    @Args(() => PageArgs) args: PageArgs,
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Connection<Workspace>> {
    return workspaceService.page(ctx, toPage(args, undefined, info));
  }

  @Mutation(() => Organization, { nullable: true, description: "Change the caller's organization's general settings." })
  @RequiresScopes('org:write')
  updateOrganization(
    @Arg('input', () => UpdateOrganizationInput, { description: 'The settings to change; omitted fields are kept.' })
    input: UpdateOrganizationInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<Organization> {
    return organizationService.update(ctx, input);
  }
}
