import { Args, FieldResolver, Resolver, Root, Info } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { auditService } from './audit.service';
import { Organization } from '../organization/organization.entity';
import { AuditEntry, AuditEntryConnection } from './audit.entity';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => Organization)
export class AuditResolver {
  @FieldResolver(() => AuditEntryConnection, {
    description:
      'Every successful change in the organization (who, what, when, request id), newest first. Owners and admins (audit:read).',
  })
  @RequiresScopes('audit:read')
  auditLog(
    @Root() _org: Organization,
    @Args(() => PageArgs) args: PageArgs,
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Connection<AuditEntry>> {
    return auditService.page(ctx, toPage(args, undefined, info));
  }
}
