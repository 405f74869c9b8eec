import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-organization request traces (issue 13, README "Tracing"). One row per captured request, its spans
 * in a jsonb array (read only ever whole, with the trace). Range-partitioned by day on started_at so the
 * retention job drops whole partitions once every organization's retention has passed them, and deletes
 * per organization in bounded batches before that. The daily partitions are created ahead by the
 * gateway (src/tracing/retention.ts, owner connection); the DEFAULT partition only catches rows outside
 * them (a clock far off), so an insert never fails for want of a partition.
 *
 * Tenant table like every other: org_id leads the primary key and every index, RLS enabled and forced
 * with the same tenant_isolation / platform_admin policies (written out, as README "Migrations" asks).
 * The serving role may INSERT and SELECT through the parent only (no privilege on the partitions, no
 * UPDATE); deletions are the retention job's, as the owner under app.platform_admin.
 */
export class Traces1764000000011 implements MigrationInterface {
  name = 'Traces1764000000011';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE traces (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        started_at timestamptz NOT NULL,
        trace_id text NOT NULL CHECK (trace_id ~ '^[0-9a-f]{32}$'),
        request_id text,
        operation_type text,
        operation_name text,
        principal_kind text NOT NULL CHECK (principal_kind IN ('user', 'api_key')),
        user_id text,
        api_key_id uuid,
        duration_ms double precision NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('ok', 'error')),
        error_codes text[] NOT NULL DEFAULT '{}',
        http_status smallint NOT NULL,
        sql_statements integer NOT NULL,
        sql_ms double precision NOT NULL,
        span_count integer NOT NULL,
        spans jsonb NOT NULL,
        PRIMARY KEY (org_id, started_at, trace_id)
      ) PARTITION BY RANGE (started_at)`);
    await q.query(`CREATE INDEX traces_by_trace_id ON traces (org_id, trace_id)`);
    await q.query(`CREATE TABLE traces_default PARTITION OF traces DEFAULT`);
    await q.query(`GRANT SELECT, INSERT ON traces TO manifest_app`);
    await q.query(`ALTER TABLE traces ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE traces FORCE ROW LEVEL SECURITY`);
    await q.query(
      `CREATE POLICY tenant_isolation ON traces USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())`,
    );
    await q.query(`
      DO $$ BEGIN
        EXECUTE format('CREATE POLICY platform_admin ON traces TO %I
                          USING (current_setting(''app.platform_admin'', true) = ''on'')
                          WITH CHECK (current_setting(''app.platform_admin'', true) = ''on'')', current_user);
      END $$`);
    // The retention job's lease: one replica at a time, in the database (survives restarts, works behind
    // a transaction-mode pooler, unlike a session advisory lock). Platform state, not a tenant table.
    await q.query(`
      CREATE TABLE trace_retention_state (
        id smallint PRIMARY KEY CHECK (id = 1),
        holder text,
        lease_until timestamptz NOT NULL DEFAULT '-infinity',
        last_started_at timestamptz,
        last_finished_at timestamptz,
        last_deleted bigint NOT NULL DEFAULT 0,
        last_dropped_partitions integer NOT NULL DEFAULT 0
      )`);
    await q.query(`INSERT INTO trace_retention_state (id) VALUES (1)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE trace_retention_state`);
    await q.query(`DROP TABLE traces`);
  }
}
