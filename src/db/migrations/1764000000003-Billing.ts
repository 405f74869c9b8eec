import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SAME_ORG, TENANT_ROLE, protectTenantTable } from './rls.v1';

/**
 * Billing: subscriptions, a credit balance and an append-only credit ledger per organization.
 *
 * - `subscriptions` are managed only on the platform path (the billing system / platform admin, via the
 *   CLI); tenants may read them. At most one live (active, trial, suspended) subscription per product.
 * - `credit_balances` holds one row per organization; `balance >= 0` is a CHECK, so no interleaving of
 *   writes can ever leave it negative. Tenants may only change `balance`/`updated_at` (spending).
 * - `credit_ledger` records every change with the balance after it. For the tenant role it is
 *   append-only (SELECT, INSERT; no UPDATE/DELETE), and the sum of an organization's entries always
 *   equals its balance: every write changes the balance row and appends its entry in one transaction.
 *   A deleted workspace does not delete its usage entries (that would break the sum): the reference is
 *   set to NULL instead.
 */
export class Billing1764000000003 implements MigrationInterface {
  name = 'Billing1764000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE subscriptions (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        product_name text NOT NULL CHECK (char_length(product_name) BETWEEN 1 AND 200 AND product_name ~ '\\S'),
        status text NOT NULL CHECK (status IN ('active', 'trial', 'suspended', 'cancelled', 'expired')),
        billing_cycle text NOT NULL CHECK (billing_cycle IN ('monthly', 'annual', 'custom')),
        auto_renew boolean NOT NULL DEFAULT false,
        trial_end_date date,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, id),
        CONSTRAINT subscriptions_trial_end_date_check CHECK (status <> 'trial' OR trial_end_date IS NOT NULL)
      )`);
    // One live subscription per product (cancelled and expired ones are history).
    await q.query(`
      CREATE UNIQUE INDEX subscriptions_live_product_key ON subscriptions (org_id, lower(product_name))
        WHERE status IN ('active', 'trial', 'suspended')`);

    await q.query(`
      CREATE TABLE credit_balances (
        org_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
        balance bigint NOT NULL DEFAULT 0 CHECK (balance >= 0 AND balance <= 9007199254740991),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE credit_ledger (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('grant', 'consumption', 'adjustment')),
        amount bigint NOT NULL CHECK (amount <> 0),
        balance_after bigint NOT NULL CHECK (balance_after >= 0),
        reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500 AND reason ~ '\\S'),
        actor text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 200),
        workspace_id uuid,
        request_id text CHECK (char_length(request_id) <= 64),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, id),
        CONSTRAINT credit_ledger_sign_check CHECK (
          (kind = 'grant' AND amount > 0) OR (kind = 'consumption' AND amount < 0) OR kind = 'adjustment'),
        CONSTRAINT credit_ledger_workspace_fkey FOREIGN KEY (org_id, workspace_id)
          REFERENCES workspaces (org_id, id) ON DELETE SET NULL (workspace_id)
      )`);
    await q.query(`CREATE INDEX credit_ledger_workspace_idx ON credit_ledger (org_id, workspace_id) WHERE workspace_id IS NOT NULL`);

    await q.query(`GRANT SELECT ON subscriptions TO ${TENANT_ROLE}`);
    await q.query(`GRANT SELECT, UPDATE (balance, updated_at) ON credit_balances TO ${TENANT_ROLE}`);
    await q.query(`GRANT SELECT, INSERT ON credit_ledger TO ${TENANT_ROLE}`);

    for (const table of ['subscriptions', 'credit_balances', 'credit_ledger']) {
      // Usage may name only a workspace the caller can see (the service checks it first; this is the second wall).
      const check = table === 'credit_ledger' ? `${SAME_ORG} AND (workspace_id IS NULL OR app_sees_workspace(workspace_id))` : SAME_ORG;
      await protectTenantTable(q, table, SAME_ORG, check);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE credit_ledger, credit_balances, subscriptions`);
  }
}
