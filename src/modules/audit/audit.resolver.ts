import { Args, Ctx, Directive, FieldResolver, Resolver, Root } from 'type-graphql';
import { hydrate } from '../../db/tenant-loaders';
import { tenantOf, type GatewayContext } from '../../graphql/context';
import { PageArgs, toConnection, toPage, type Connection } from '../../graphql/pagination';
import { Organization } from '../organization/organization.entity';
import { AuditEntry, AuditEntryConnection } from './audit.entity';

@Resolver(() => Organization)
export class AuditResolver {
  @FieldResolver(() => AuditEntryConnection, { description: 'Changes, newest first.' })
  @Directive('@requiresScopes(scopes: [["audit:read"]])')
  async auditLog(@Root() _org: Organization, @Args(() => PageArgs) args: PageArgs, @Ctx() ctx: GatewayContext): Promise<Connection<AuditEntry>> {
    const { scope } = tenantOf(ctx);
    const page = toPage(args);
    const rows = await scope.query(
      `SELECT * FROM audit_log WHERE org_id = $1 AND ($2::uuid IS NULL OR id < $2::uuid) ORDER BY id DESC LIMIT $3`,
      [scope.orgId, page.afterId, page.first + 1],
    );
    const manager = await scope.manager();
    return toConnection(hydrate<AuditEntry>(manager.connection.getMetadata(AuditEntry), rows), page, async () => {
      const [{ count }] = await scope.query<{ count: string }>(`SELECT count(*) FROM audit_log WHERE org_id = $1`, [scope.orgId]);
      return Number(count);
    });
  }
}
