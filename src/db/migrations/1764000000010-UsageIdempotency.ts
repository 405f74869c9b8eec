import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotent usage: a client that retries `recordUsage` after a timeout sends the same idempotency key,
 * and the unique index makes sure the credits are taken once (Stripe's Idempotency-Key, per organization).
 */
export class UsageIdempotency1764000000010 implements MigrationInterface {
  name = 'UsageIdempotency1764000000010';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE credit_ledger ADD COLUMN idempotency_key text CHECK (char_length(idempotency_key) BETWEEN 1 AND 200)`);
    await q.query(`CREATE UNIQUE INDEX credit_ledger_idempotency_key ON credit_ledger (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE credit_ledger DROP COLUMN idempotency_key`);
  }
}
