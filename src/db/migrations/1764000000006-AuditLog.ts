import type { MigrationInterface, QueryRunner } from 'typeorm';
import { TENANT_ROLE } from '../tenant-role';

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
    await q.query(`ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE audit_log FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY tenant_isolation ON audit_log USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())`);
    await q.query(`
      DO $$ BEGIN
        EXECUTE format('CREATE POLICY platform_admin ON audit_log TO %I
                          USING (current_setting(''app.platform_admin'', true) = ''on'')
                          WITH CHECK (current_setting(''app.platform_admin'', true) = ''on'')', current_user);
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log`);
  }
}
