import { v7 as uuidv7 } from 'uuid';
import type { DataSource, EntityManager } from 'typeorm';
import { asPlatformAdmin } from '../../db/platform';
import { isUuid } from '../../db/tenant-scope';
import { pgErrorCode, PgError } from '../../db/pg-errors';
import { PlatformError, auditPlatformOperation, organizationPlatform } from '../organization/organization.platform';
import {
  BillingCycle,
  CreditEntryKind,
  FINAL_SUBSCRIPTION_STATUSES,
  SubscriptionStatus,
  type CreditAccount,
  type CreditLedgerEntry,
  type ProductSubscription,
} from './billing.entity';
import { MAX_REASON_LENGTH } from './billing.inputs';
import { SUBSCRIPTION_COLUMNS, accountFrom, appendLedgerEntry, subscriptionsFrom } from './billing.sql';
import { queryRows } from '../../db/writes';

/**
 * Platform operations on billing (the billing system / platform admin; the CLI): managing subscriptions
 * and granting or adjusting credits. They run on the owner connection through `asPlatformAdmin`, never
 * from GraphQL. Every input is validated here, and every problem is reported at once.
 */
export const PLATFORM_ACTOR = 'platform';
export const MAX_GRANT_AMOUNT = 1_000_000_000_000;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export interface NewSubscription {
  org: string;
  productName: string;
  status: string;
  billingCycle: string;
  autoRenew?: boolean;
  /** YYYY-MM-DD; required for, and only for, status trial. */
  trialEndDate?: string;
}

export interface SubscriptionStatusChange {
  org: string;
  id: string;
  status: string;
  /** YYYY-MM-DD; needed when moving to trial unless the subscription already has one. */
  trialEndDate?: string;
}

export interface CreditChange {
  org: string;
  /** A whole number as text or number: positive for grants, non-zero for adjustments. */
  amount: string | number;
  reason: string;
  /** Traces the change like a gateway request id (generated when omitted). */
  requestId?: string;
}

export interface CreditChangeResult {
  entry: CreditLedgerEntry;
  balance: number;
}

function oneOf<T extends string>(values: Record<string, T>, value: string, what: string, problems: string[]): T {
  const allowed = Object.values(values);
  if (!allowed.includes(value as T))
    problems.push(`${what} must be one of ${allowed.join(', ')} (got "${value ?? ''}")`);
  return value as T;
}

/** A real calendar date, YYYY-MM-DD (2025-02-30 is refused). */
function checkDate(value: string, what: string, problems: string[]): void {
  const match = DATE.exec(value);
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : null;
  if (!date || date.toISOString().slice(0, 10) !== value)
    problems.push(`${what} must be a calendar date YYYY-MM-DD (got "${value}")`);
  else if (value < new Date().toISOString().slice(0, 10))
    problems.push(`${what} must not be in the past (got ${value})`);
}

function checkReason(reason: string | undefined, problems: string[]): string {
  const trimmed = (reason ?? '').trim();
  if (!trimmed || trimmed.length > MAX_REASON_LENGTH)
    problems.push(`reason must be 1 to ${MAX_REASON_LENGTH} characters`);
  return trimmed;
}

function checkAmount(amount: string | number, allowNegative: boolean, problems: string[]): number {
  const text = String(amount ?? '').trim();
  const value = /^[+-]?\d{1,15}$/.test(text) ? Number(text) : NaN;
  const ok =
    Number.isSafeInteger(value) && value !== 0 && Math.abs(value) <= MAX_GRANT_AMOUNT && (allowNegative || value > 0);
  if (!ok) {
    problems.push(
      allowNegative
        ? `amount must be a non-zero whole number from -${MAX_GRANT_AMOUNT} to ${MAX_GRANT_AMOUNT} (got "${text}")`
        : `amount must be a whole number from 1 to ${MAX_GRANT_AMOUNT} (got "${text}")`,
    );
  }
  return value;
}

function refuse(problems: string[]): void {
  if (problems.length) throw new PlatformError(problems.join('; '));
}

async function subscriptionById(
  manager: EntityManager,
  orgId: string,
  id: string,
  lock: boolean,
): Promise<ProductSubscription | null> {
  const rows = await manager.query(
    `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE org_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [orgId, id],
  );
  return subscriptionsFrom(manager, rows)[0] ?? null;
}

/** Changes the balance by `amount` (never below 0) and appends the ledger entry, in one transaction. */
async function changeCredits(
  owner: DataSource,
  kind: CreditEntryKind,
  change: CreditChange,
  allowNegative: boolean,
): Promise<CreditChangeResult> {
  const problems: string[] = [];
  const amount = checkAmount(change.amount, allowNegative, problems);
  const reason = checkReason(change.reason, problems);
  refuse(problems);
  const organization = await organizationPlatform.find(owner, change.org);
  return asPlatformAdmin(owner, async (manager) => {
    await manager.query(
      `INSERT INTO credit_balances (org_id, balance) VALUES ($1, 0) ON CONFLICT (org_id) DO NOTHING`,
      [organization.id],
    );
    let updated: Record<string, unknown> | undefined;
    try {
      [updated] = await queryRows(
        manager,
        `UPDATE credit_balances SET balance = balance + $2, updated_at = now() WHERE org_id = $1 AND balance + $2 >= 0 RETURNING balance`,
        [organization.id, String(amount)],
      );
    } catch (error) {
      if (pgErrorCode(error) === PgError.CHECK_VIOLATION)
        throw new PlatformError(`the balance of ${organization.slug} would exceed ${Number.MAX_SAFE_INTEGER}`);
      throw error;
    }
    if (!updated) {
      const [current] = await manager.query(`SELECT balance FROM credit_balances WHERE org_id = $1`, [organization.id]);
      throw new PlatformError(
        `insufficient credits (balance ${current.balance}): ${organization.slug} cannot go below 0`,
      );
    }
    const entry = await appendLedgerEntry(manager, {
      orgId: organization.id,
      id: uuidv7(),
      kind,
      amount: String(amount),
      balanceAfter: updated.balance as string,
      reason,
      actor: PLATFORM_ACTOR,
      workspaceId: null,
      requestId: change.requestId ?? `cli-${uuidv7()}`,
    });
    await auditPlatformOperation(
      manager,
      organization.id,
      kind === CreditEntryKind.GRANT ? 'grantCredits' : 'adjustCredits',
      { type: 'CreditLedgerEntry', id: entry.id },
    );
    return { entry, balance: entry.balanceAfter };
  });
}

export const billingPlatform = {
  async subscribe(owner: DataSource, input: NewSubscription): Promise<ProductSubscription> {
    const problems: string[] = [];
    const productName = (input.productName ?? '').trim();
    if (!productName || productName.length > 200) problems.push('product name must be 1 to 200 characters');
    const status = oneOf(SubscriptionStatus, input.status, 'status', problems);
    const billingCycle = oneOf(BillingCycle, input.billingCycle, 'billing cycle', problems);
    if (input.trialEndDate !== undefined) {
      if (status !== SubscriptionStatus.TRIAL) problems.push('a trial end date applies only to status trial');
      else checkDate(input.trialEndDate, 'trial end date', problems);
    } else if (status === SubscriptionStatus.TRIAL) {
      problems.push('a trial subscription needs a trial end date (YYYY-MM-DD)');
    }
    if (FINAL_SUBSCRIPTION_STATUSES.includes(status)) problems.push(`a new subscription cannot start as ${status}`);
    refuse(problems);
    const organization = await organizationPlatform.find(owner, input.org);
    return asPlatformAdmin(owner, async (manager) => {
      try {
        const rows = await manager.query(
          `INSERT INTO subscriptions (org_id, id, product_name, status, billing_cycle, auto_renew, trial_end_date)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${SUBSCRIPTION_COLUMNS}`,
          [
            organization.id,
            uuidv7(),
            productName,
            status,
            billingCycle,
            input.autoRenew ?? false,
            input.trialEndDate ?? null,
          ],
        );
        const created = subscriptionsFrom(manager, rows)[0];
        await auditPlatformOperation(manager, organization.id, 'subscribe', {
          type: 'ProductSubscription',
          id: created.id,
        });
        return created;
      } catch (error) {
        if (pgErrorCode(error) === PgError.UNIQUE_VIOLATION) {
          throw new PlatformError(
            `${organization.slug} already has a live (active, trial or suspended) subscription to "${productName}"`,
          );
        }
        throw error;
      }
    });
  },

  /**
   * Moves a subscription to another status. cancelled and expired are final (subscribe again instead)
   * and switch auto-renewal off; trial needs a trial end date.
   */
  async setSubscriptionStatus(owner: DataSource, input: SubscriptionStatusChange): Promise<ProductSubscription> {
    const problems: string[] = [];
    if (!isUuid(input.id))
      problems.push(`subscription id must be an id printed by "billing subscribe" (got "${input.id ?? ''}")`);
    const status = oneOf(SubscriptionStatus, input.status, 'status', problems);
    if (input.trialEndDate !== undefined) {
      if (status !== SubscriptionStatus.TRIAL) problems.push('a trial end date applies only to status trial');
      else checkDate(input.trialEndDate, 'trial end date', problems);
    }
    refuse(problems);
    const organization = await organizationPlatform.find(owner, input.org);
    const id = input.id.toLowerCase();
    return asPlatformAdmin(owner, async (manager) => {
      const current = await subscriptionById(manager, organization.id, id, true);
      if (!current) throw new PlatformError(`no subscription ${id} in organization ${organization.slug}`);
      if (FINAL_SUBSCRIPTION_STATUSES.includes(current.status) && current.status !== status) {
        throw new PlatformError(`subscription ${id} is ${current.status}, which is final: subscribe again instead`);
      }
      // A trial end date belongs to trials only: leaving trial clears it; a trial needs a fresh, valid one
      // (an old date carried over from an earlier trial is checked like a new one).
      const trialEndDate = status === SubscriptionStatus.TRIAL ? (input.trialEndDate ?? current.trialEndDate) : null;
      if (status === SubscriptionStatus.TRIAL) {
        if (!trialEndDate)
          throw new PlatformError('a trial subscription needs a trial end date: pass --trial-end YYYY-MM-DD');
        const dateProblems: string[] = [];
        checkDate(trialEndDate, 'trial end date', dateProblems);
        refuse(dateProblems);
      }
      try {
        const [row] = await queryRows(
          manager,
          `UPDATE subscriptions SET status = $3, trial_end_date = $4,
                  auto_renew = auto_renew AND NOT ($3 = ANY($5::text[])), updated_at = now()
            WHERE org_id = $1 AND id = $2 RETURNING ${SUBSCRIPTION_COLUMNS}`,
          [organization.id, id, status, trialEndDate, FINAL_SUBSCRIPTION_STATUSES],
        );
        await auditPlatformOperation(manager, organization.id, `setSubscriptionStatus:${status}`, {
          type: 'ProductSubscription',
          id,
        });
        return subscriptionsFrom(manager, [row])[0];
      } catch (error) {
        if (pgErrorCode(error) === PgError.UNIQUE_VIOLATION) {
          throw new PlatformError(
            `${organization.slug} already has another live subscription to "${current.productName}"`,
          );
        }
        throw error;
      }
    });
  },

  /** Adds credits (actor 'platform'). */
  grant(owner: DataSource, change: CreditChange): Promise<CreditChangeResult> {
    return changeCredits(owner, CreditEntryKind.GRANT, change, false);
  },

  /** A correction in either direction (actor 'platform'); it cannot take the balance below 0. */
  adjust(owner: DataSource, change: CreditChange): Promise<CreditChangeResult> {
    return changeCredits(owner, CreditEntryKind.ADJUSTMENT, change, true);
  },

  /** Subscriptions and balance of one organization, for operators. */
  async show(
    owner: DataSource,
    org: string,
  ): Promise<{ subscriptions: ProductSubscription[]; credits: CreditAccount }> {
    const organization = await organizationPlatform.find(owner, org);
    return asPlatformAdmin(owner, async (manager) => {
      const rows = await manager.query(
        `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE org_id = $1 ORDER BY id`,
        [organization.id],
      );
      const [balance] = await manager.query(`SELECT balance, updated_at FROM credit_balances WHERE org_id = $1`, [
        organization.id,
      ]);
      return { subscriptions: subscriptionsFrom(manager, rows), credits: accountFrom(balance) };
    });
  },
};
