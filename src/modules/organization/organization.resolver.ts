import { Arg, Args, Ctx, Field, FieldResolver, ObjectType, Mutation, Query, Resolver, Root } from 'type-graphql';
import { tenantOf, type GatewayContext } from '../../graphql/context';
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

  @Field(() => [String], { description: "The effective scopes: the token's scopes narrowed to what the member's role allows, sorted." })
  scopes: string[];

  @Field(() => Organization, { description: 'The organization the token was issued for.' })
  organization: Organization;
}

@Resolver(() => Organization)
export class OrganizationResolver {
  @Query(() => Viewer, { description: 'The caller as the verified token describes them: subject, effective scopes, organization.' })
  @Authenticated()
  async viewer(@Ctx() ctx: GatewayContext): Promise<Viewer> {
    const principal = ctx.principal!;
    return {
      subject: principal.subject,
      scopes: [...principal.scopes].sort(),
      organization: await organizationService.current(tenantOf(ctx).loaders),
    };
  }

  @Query(() => Organization, { description: "The caller's organization (from the token's org claim)." })
  @RequiresScopes('org:read')
  organization(@Ctx() ctx: GatewayContext): Promise<Organization> {
    return organizationService.current(tenantOf(ctx).loaders);
  }

  @FieldResolver(() => WorkspaceConnection, { description: 'The workspaces the caller can see (all of them for owners, admins and cross-workspace grants), oldest first.' })
  @RequiresScopes('workspaces:read')
  workspaces(@Root() _org: Organization, @Args(() => PageArgs) args: PageArgs, @Ctx() ctx: GatewayContext): Promise<Connection<Workspace>> {
    return workspaceService.page(tenantOf(ctx).scope, toPage(args));
  }

  @Mutation(() => Organization, { nullable: true, description: "Change the caller's organization's general settings." })
  @RequiresScopes('org:write')
  updateOrganization(@Arg('input', () => UpdateOrganizationInput, { description: 'The settings to change; omitted fields are kept.' }) input: UpdateOrganizationInput, @Ctx() ctx: GatewayContext): Promise<Organization> {
    return organizationService.update(tenantOf(ctx).scope, input);
  }
}
