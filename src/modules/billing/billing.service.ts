import { v7 as uuidv7 } from 'uuid';
import type { RequestContext } from '../../context/request-context';
import { BadInputError, NotFoundError } from '../../errors';
import { pgErrorCode, PgError } from '../../db/pg-errors';
import { keyset, toConnection, type Connection, type Page } from '../../pagination';
import { checkId } from '../../errors';
import { CreditEntryKind, type CreditAccount, type CreditLedgerEntry, type ProductSubscription } from './billing.entity';
import type { RecordUsageInput } from './billing.inputs';
import { SUBSCRIPTION_COLUMNS, accountFrom, appendLedgerEntry, ledgerEntriesFrom, subscriptionsFrom } from './billing.sql';
import { queryRows } from '../../db/writes';

/** Who made a change: the token subject and the request, recorded on the ledger entry. */
export const billingService = {
  /** The organization's subscriptions, oldest first. */
  async subscriptions(ctx: RequestContext, page: Page): Promise<Connection<ProductSubscription>> {
    const { scope } = ctx;
    const { where, order } = keyset(page, 'id', '$2::uuid');
    const rows = await scope.query(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE org_id = $1 AND ${where} ${order} LIMIT $3`, [
      scope.orgId,
      page.cursor,
      page.limit + 1,
    ]);
    const manager = await scope.manager();
    return toConnection(subscriptionsFrom(manager, rows), page, async () => {
      const [{ count }] = await scope.query<{ count: string }>(`SELECT count(*) FROM subscriptions WHERE org_id = $1`, [scope.orgId]);
      return Number(count);
    });
  },

  async account(ctx: RequestContext): Promise<CreditAccount> {
    const { scope } = ctx;
    const [row] = await scope.query<{ balance: string; updated_at: Date }>(`SELECT balance, updated_at FROM credit_balances WHERE org_id = $1`, [
      scope.orgId,
    ]);
    return accountFrom(row);
  },

  /** The ledger, newest first (ids are UUIDv7, taken while the balance row is locked: id order is balance order). */
  async ledger(ctx: RequestContext, page: Page): Promise<Connection<CreditLedgerEntry>> {
    const { scope } = ctx;
    const { where, order } = keyset(page, 'id', '$2::uuid', true);
    const rows = await scope.query(`SELECT * FROM credit_ledger WHERE org_id = $1 AND ${where} ${order} LIMIT $3`, [scope.orgId, page.cursor, page.limit + 1]);
    const manager = await scope.manager();
    return toConnection(ledgerEntriesFrom(manager, rows), page, async () => {
      const [{ count }] = await scope.query<{ count: string }>(`SELECT count(*) FROM credit_ledger WHERE org_id = $1`, [scope.orgId]);
      return Number(count);
    });
  },

  /**
   * Consumes credits. The conditional UPDATE takes the balance row's lock for the rest of the request's
   * transaction and re-checks `balance >= amount` against the latest committed balance, so concurrent
   * consumers are serialized and the balance can never be overdrawn; the ledger entry is appended in the
   * same savepoint, so either both happen or neither does.
   */
  async recordUsage(ctx: RequestContext, input: RecordUsageInput): Promise<CreditLedgerEntry> {
    const { scope, loaders } = ctx;
    let workspaceId: string | null = null;
    if (input.workspaceId !== undefined && input.workspaceId !== null) {
      workspaceId = checkId(input.workspaceId, 'workspaceId');
      // RLS on workspaces: another organization's workspace, or one the caller is not a member of, is not there.
      if (!(await loaders.workspace.load(workspaceId))) throw new NotFoundError('Workspace', input.workspaceId);
    }
    const reason = input.reason.trim();
    const idempotencyKey = input.idempotencyKey ?? null;
    const replay = async (): Promise<CreditLedgerEntry | null> => {
      if (!idempotencyKey) return null;
      const rows = await scope.query(`SELECT * FROM credit_ledger WHERE org_id = $1 AND idempotency_key = $2`, [scope.orgId, idempotencyKey]);
      if (rows.length === 0) return null;
      const [first] = ledgerEntriesFrom(await scope.manager(), rows);
      // The same key for a different request is a client bug: refuse it rather than guess.
      if (first.amount !== -input.amount || first.reason !== reason || first.workspaceId !== workspaceId) {
        throw new BadInputError([{ field: 'idempotencyKey', message: 'idempotencyKey was already used for a different usage record' }]);
      }
      return first;
    };
    const earlier = await replay();
    if (earlier) return earlier;
    try {
      return await scope.mutation(async (manager) => {
        const [updated] = await queryRows(
          manager,
          `UPDATE credit_balances SET balance = balance - $2, updated_at = now() WHERE org_id = $1 AND balance >= $2 RETURNING balance`,
          [scope.orgId, input.amount],
        );
        if (!updated) {
          const [current] = await manager.query(`SELECT balance FROM credit_balances WHERE org_id = $1`, [scope.orgId]);
          throw new BadInputError([{ field: 'amount', message: `insufficient credits (balance ${current?.balance ?? 0})` }]);
        }
        return appendLedgerEntry(manager, {
          orgId: scope.orgId,
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
