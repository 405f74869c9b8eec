import type { QueryRunner } from 'typeorm';

/**
 * FROZEN (version 1): the helpers migrations 1764000000000–1764000000008 were written with. A migration's
 * SQL never changes after it is written, so neither does this file: test/unit/migrations-frozen.test.ts pins
 * its SHA-256 with every migration's. A later migration that needs a different rule writes its SQL inline
 * (or adds rls.v2.ts); it never edits this file. See README "Migrations".
 */

/**
 * The serving role's name as the migrations create it. The live constant (src/db/tenant-role.ts) must stay
 * equal to it (test/unit/migrations-frozen.test.ts); renaming the role is a new migration, not an edit here.
 */
export const TENANT_ROLE = 'manifest_app';

/** The tenant rule most tables use. */
export const SAME_ORG = 'org_id = app_current_org()';

/**
 * Puts a tenant table under row-level security the way every tenant table is: enabled and forced (the
 * owner too), a `tenant_isolation` policy, and a `platform_admin` policy that admits the owning role only
 * while `app.platform_admin` is on (src/db/platform.ts). test/rls.test.ts checks the result in the catalogue.
 */
export async function protectTenantTable(q: QueryRunner, table: string, using: string, withCheck: string = using): Promise<void> {
  await q.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
  await q.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
  await q.query(`CREATE POLICY tenant_isolation ON ${table} USING (${using}) WITH CHECK (${withCheck})`);
  await q.query(`
    DO $$ BEGIN
      EXECUTE format('CREATE POLICY platform_admin ON ${table} TO %I
                        USING (current_setting(''app.platform_admin'', true) = ''on'')
                        WITH CHECK (current_setting(''app.platform_admin'', true) = ''on'')', current_user);
    END $$`);
}

/**
 * "The caller may see this row's workspace", written out for a policy (see migration 1764000000008 for why
 * it is not a function call): API keys and cross-workspace roles see all, members their own workspaces.
 */
export function workspaceVisibility(table: string, column: string): string {
  return `(coalesce(current_setting('app.principal_kind', true), '') = 'api_key'
    OR EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = app_current_org() AND m.user_id = app_current_user()
               AND (m.role IN ('owner', 'admin') OR m.all_workspaces_role IS NOT NULL))
    OR EXISTS (SELECT 1 FROM workspace_members w WHERE w.org_id = app_current_org()
               AND w.workspace_id = ${table}.${column} AND w.user_id = app_current_user()))`;
}

