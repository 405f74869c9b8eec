import type { EntityManager } from 'typeorm';
import { hydrate } from '../../db/sql';
import { CreditLedgerEntry, ProductSubscription, type CreditAccount } from './billing.entity';

/**
 * SQL shared by the tenant service and the platform path. Dates are read as text (YYYY-MM-DD) and
 * bigints (pg returns strings) become numbers: the balance is capped at 2^53 - 1 by a CHECK.
 */
export const SUBSCRIPTION_COLUMNS = `org_id, id, product_name, status, billing_cycle, auto_renew,
  trial_end_date::text AS trial_end_date, created_at, updated_at`;

export function subscriptionsFrom(manager: EntityManager, rows: Record<string, unknown>[]): ProductSubscription[] {
  return hydrate<ProductSubscription>(manager.connection.getMetadata(ProductSubscription), rows);
}

/** pg returns bigints as strings: the ledger's amounts as numbers. */
export function numericLedgerEntry(entry: CreditLedgerEntry): CreditLedgerEntry {
  return Object.assign(entry, { amount: Number(entry.amount), balanceAfter: Number(entry.balanceAfter) });
}

export function ledgerEntriesFrom(manager: EntityManager, rows: Record<string, unknown>[]): CreditLedgerEntry[] {
  return hydrate<CreditLedgerEntry>(manager.connection.getMetadata(CreditLedgerEntry), rows).map(numericLedgerEntry);
}

export function accountFrom(row: { balance: string; updated_at: Date } | undefined): CreditAccount {
  return { balance: Number(row?.balance ?? 0), updatedAt: row?.updated_at ?? null };
}

export interface NewLedgerEntry {
  orgId: string;
  id: string;
  kind: CreditLedgerEntry['kind'];
  amount: number | string;
  balanceAfter: number | string;
  reason: string;
  actor: string;
  workspaceId: string | null;
  idempotencyKey?: string | null;
  requestId: string | null;
}

export async function appendLedgerEntry(manager: EntityManager, entry: NewLedgerEntry): Promise<CreditLedgerEntry> {
  const rows = await manager.query(
    `INSERT INTO credit_ledger (org_id, id, kind, amount, balance_after, reason, actor, workspace_id, request_id, idempotency_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [
      entry.orgId,
      entry.id,
      entry.kind,
      entry.amount,
      entry.balanceAfter,
      entry.reason,
      entry.actor,
      entry.workspaceId,
      entry.requestId,
      entry.idempotencyKey ?? null,
    ],
  );
  return ledgerEntriesFrom(manager, rows)[0];
}
