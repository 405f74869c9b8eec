import { v7 as uuidv7 } from 'uuid';
import type { RequestContext } from '../../context/request-context';
import { BadInputError, NotFoundError } from '../../errors';
import { pgErrorCode, PgError } from '../../db/pg-errors';
import type { Connection, Page } from '../../pagination';
import { checkId } from '../../errors';
import { CreditEntryKind, CreditLedgerEntry, ProductSubscription, type CreditAccount } from './billing.entity';
import type { RecordUsageInput } from './billing.inputs';
import {
  SUBSCRIPTION_COLUMNS,
  accountFrom,
  appendLedgerEntry,
  ledgerEntriesFrom,
  numericLedgerEntry,
} from './billing.sql';
import { orgListPage } from '../../db/sql';
import { queryRows } from '../../db/writes';

/** Who made a change: the token subject and the request, recorded on the ledger entry. */
export const billingService = {
  /** The organization's subscriptions, oldest first. */
  subscriptions(ctx: RequestContext, page: Page): Promise<Connection<ProductSubscription>> {
    return orgListPage(ctx.scope, ProductSubscription, page, { columns: SUBSCRIPTION_COLUMNS });
  },

  async account(ctx: RequestContext): Promise<CreditAccount> {
    const [row] = await ctx.scope.query<{ balance: string; updated_at: Date }>(
      `SELECT balance, updated_at FROM credit_balances WHERE org_id = $1`,
      [ctx.orgId],
    );
    return accountFrom(row);
  },

  /** The ledger, newest first (ids are UUIDv7, taken while the balance row is locked: id order is balance order). */
  ledger(ctx: RequestContext, page: Page): Promise<Connection<CreditLedgerEntry>> {
    return orgListPage(ctx.scope, CreditLedgerEntry, page, { newestFirst: true, map: numericLedgerEntry });
  },

  /**
   * Consumes credits. The conditional UPDATE takes the balance row's lock for the rest of the request's
   * transaction and re-checks `balance >= amount` against the latest committed balance, so concurrent
   * consumers are serialized and the balance can never be overdrawn; the ledger entry is appended in the
   * same savepoint, so either both happen or neither does.
   */
  async recordUsage(ctx: RequestContext, input: RecordUsageInput): Promise<CreditLedgerEntry> {
    const { loaders } = ctx;
    let workspaceId: string | null = null;
    if (input.workspaceId !== undefined && input.workspaceId !== null) {
      workspaceId = checkId(input.workspaceId, 'workspaceId');
      // RLS on workspaces: another organization's workspace, or one the caller is not a member of, is not there.
      if (!(await loaders.workspace.byId.load(workspaceId))) throw new NotFoundError('Workspace', input.workspaceId);
    }
    const reason = input.reason.trim();
    const idempotencyKey = input.idempotencyKey ?? null;
    const replay = async (): Promise<CreditLedgerEntry | null> => {
      if (!idempotencyKey) return null;
      const rows = await ctx.scope.query(`SELECT * FROM credit_ledger WHERE org_id = $1 AND idempotency_key = $2`, [
        ctx.orgId,
        idempotencyKey,
      ]);
      if (rows.length === 0) return null;
      const [first] = ledgerEntriesFrom(await ctx.scope.manager(), rows);
      // The same key for a different request is a client bug: refuse it rather than guess.
      if (first.amount !== -input.amount || first.reason !== reason || first.workspaceId !== workspaceId) {
        throw new BadInputError([
          { field: 'idempotencyKey', message: 'idempotencyKey was already used for a different usage record' },
        ]);
      }
      return first;
    };
    const earlier = await replay();
    if (earlier) return earlier;
    try {
      return await ctx.scope.mutation(async (manager) => {
        const [updated] = await queryRows(
          manager,
          `UPDATE credit_balances SET balance = balance - $2, updated_at = now() WHERE org_id = $1 AND balance >= $2 RETURNING balance`,
          [ctx.orgId, input.amount],
        );
        if (!updated) {
          const [current] = await manager.query(`SELECT balance FROM credit_balances WHERE org_id = $1`, [ctx.orgId]);
          throw new BadInputError([
            { field: 'amount', message: `insufficient credits (balance ${current?.balance ?? 0})` },
          ]);
        }
        return appendLedgerEntry(manager, {
          orgId: ctx.orgId,
          id: uuidv7(), // after the lock: ledger order is the order in which the balance changed
          kind: CreditEntryKind.CONSUMPTION,
          amount: -input.amount,
          balanceAfter: updated.balance as string,
          reason,
          actor: ctx.actor.subject,
          workspaceId,
          requestId: ctx.actor.requestId,
          idempotencyKey,
        });
      });
    } catch (error) {
      // A concurrent retry with the same key won the race: our savepoint (balance change included) is
      // rolled back; answer with the entry it recorded.
      if (idempotencyKey && pgErrorCode(error) === PgError.UNIQUE_VIOLATION) {
        const winner = await replay();
        if (winner) return winner;
      }
      throw error;
    }
  },
};
