import type { RequestContext } from '../../context/request-context';
import { orgListPage } from '../../db/sql';
import type { Connection, Page } from '../../pagination';
import { AuditEntry } from './audit.entity';

export const auditService = {
  /** Every successful change in the organization, newest first. */
  page(ctx: RequestContext, page: Page): Promise<Connection<AuditEntry>> {
    return orgListPage(ctx.scope, AuditEntry, page, { newestFirst: true });
  },
};
