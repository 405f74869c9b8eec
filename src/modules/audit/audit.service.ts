import type { RequestContext } from '../../context/request-context';
import { orgListPage } from '../../db/sql';
import type { Connection, Page } from '../../pagination';
import { AuditEntry } from './audit.entity';
import { v7 as uuidv7 } from 'uuid';

/** What one successful change is recorded as (names and ids only, never input values). */
export interface AuditRecord {
  /** The operation's name: the GraphQL mutation's, for REST too (`createWorkspace`), so the log reads the same. */
  operation: string;
  targetType: string | null;
  targetId: string | null;
}

/** audit_log's columns in the order every change writes them (record, and the planned writes of src/graphql/sql-plan). */
export const AUDIT_COLUMNS = 'org_id, id, actor, actor_kind, operation, target_type, target_id, request_id';

export const auditService = {
  /**
   * Appends one audit row through the request's scope. Every transport calls it inside the savepoint of
   * the change it records (GraphQL: audit.transform.ts around every mutation; REST: src/rest/router.ts
   * around every mutating route), so the change and its record commit or vanish together.
   *
   * The row is queued (`TenantScope.queueWrite`, issue 11: one round trip less per mutation): it goes in
   * the COMMIT message (`INSERT …; COMMIT`), or earlier in front of a statement the request sends outside
   * every mutation, in the same transaction. A failed mutation drops it; if it fails, the request fails and
   * nothing commits (README "Audit log": a failing audit row now fails the whole request, not one mutation).
   */
  async record(ctx: Pick<RequestContext, 'scope' | 'principal' | 'requestId'>, entry: AuditRecord): Promise<void> {
    await ctx.scope.queueWrite(
      `INSERT INTO audit_log (${AUDIT_COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        ctx.scope.orgId,
        uuidv7(),
        ctx.principal.subject,
        ctx.principal.kind,
        entry.operation,
        entry.targetType,
        entry.targetId,
        ctx.requestId,
      ],
    );
  },

  /** Every successful change in the organization, newest first. */
  page(ctx: RequestContext, page: Page): Promise<Connection<AuditEntry>> {
    return orgListPage(ctx.scope, AuditEntry, page, { newestFirst: true });
  },
};
