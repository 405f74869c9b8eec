import { Args, FieldResolver, Resolver, Root } from 'type-graphql';
import { hydrate } from '../../db/tenant-loaders';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { keyset, PageArgs, toConnection, toPage, type Connection } from '../../graphql/pagination';
import { Organization } from '../organization/organization.entity';
import { AuditEntry, AuditEntryConnection } from './audit.entity';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => Organization)
export class AuditResolver {
  @FieldResolver(() => AuditEntryConnection, { description: 'Every successful change in the organization (who, what, when, request id), newest first. Owners and admins (audit:read).' })
  @RequiresScopes('audit:read')
  async auditLog(@Root() _org: Organization, @Args(() => PageArgs) args: PageArgs, @RequestCtx() ctx: RequestContext): Promise<Connection<AuditEntry>> {
    const { scope } = ctx;
    const page = toPage(args);
    const { where, order } = keyset(page, 'id', '$2::uuid', true);
    const rows = await scope.query(`SELECT * FROM audit_log WHERE org_id = $1 AND ${where} ${order} LIMIT $3`, [scope.orgId, page.cursor, page.limit + 1]);
    const manager = await scope.manager();
    return toConnection(hydrate<AuditEntry>(manager.connection.getMetadata(AuditEntry), rows), page, async () => {
      const [{ count }] = await scope.query<{ count: string }>(`SELECT count(*) FROM audit_log WHERE org_id = $1`, [scope.orgId]);
      return Number(count);
    });
  }
}
