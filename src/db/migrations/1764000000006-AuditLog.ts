import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SAME_ORG, TENANT_ROLE, protectTenantTable } from './rls.v1';

/**
 * The audit log: every successful mutation appends who, what, target, when and the request id.
 * Append-only for the serving role: it may INSERT and SELECT, never UPDATE or DELETE.
 */
export class AuditLog1764000000006 implements MigrationInterface {
  name = 'AuditLog1764000000006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        actor_kind text NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'platform')),
        operation text NOT NULL,
        target_type text,
        target_id text,
        request_id text,
        PRIMARY KEY (org_id, id)
      )`);
    await q.query(`GRANT SELECT, INSERT ON audit_log TO ${TENANT_ROLE}`);
    await protectTenantTable(q, 'audit_log', SAME_ORG);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log`);
  }
}
