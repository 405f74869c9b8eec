import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SAME_ORG, TENANT_ROLE, protectTenantTable } from './rls.v1';

/**
 * Users and roles. A user is the `sub` of their identity provider's tokens; membership is per
 * organization (org_members) and per workspace (workspace_members). Workspace visibility moves into
 * row-level security: a user sees a workspace, and every row under it, only as a member of it or with a
 * cross-workspace role (org owner/admin, or an explicit all-workspaces grant); API-key principals are
 * org-wide. The request sets `app.user_id` and `app.principal_kind` beside `app.org_id`.
 */
export class Membership1764000000001 implements MigrationInterface {
  name = 'Membership1764000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE org_members (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id text NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 200),
        email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
        display_name text CHECK (char_length(display_name) <= 200),
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer', 'billing')),
        all_workspaces_role text CHECK (all_workspaces_role IN ('admin', 'developer', 'viewer')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, user_id),
        CONSTRAINT org_members_email_key UNIQUE (org_id, email)
      )`);
    await q.query(`
      CREATE TABLE workspace_members (
        org_id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        user_id text NOT NULL,
        role text NOT NULL CHECK (role IN ('admin', 'developer', 'viewer')),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, workspace_id, user_id),
        FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE,
        FOREIGN KEY (org_id, user_id) REFERENCES org_members (org_id, user_id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX workspace_members_user_idx ON workspace_members (org_id, user_id, workspace_id)`);

    await q.query(`
      CREATE FUNCTION app_current_user() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT nullif(current_setting('app.user_id', true), '') $$`);
    // Uncorrelated: planned once per statement (an InitPlan), not once per row.
    await q.query(`
      CREATE FUNCTION app_sees_all_workspaces() RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT coalesce(current_setting('app.principal_kind', true), '') = 'api_key'
                  OR EXISTS (SELECT 1 FROM org_members m
                              WHERE m.org_id = app_current_org() AND m.user_id = app_current_user()
                                AND (m.role IN ('owner', 'admin') OR m.all_workspaces_role IS NOT NULL)) $$`);
    await q.query(`
      CREATE FUNCTION app_sees_workspace(workspace uuid) RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT app_sees_all_workspaces()
                  OR EXISTS (SELECT 1 FROM workspace_members w
                              WHERE w.org_id = app_current_org() AND w.workspace_id = workspace
                                AND w.user_id = app_current_user()) $$`);
    await q.query(`GRANT EXECUTE ON FUNCTION app_current_user(), app_sees_all_workspaces(), app_sees_workspace(uuid) TO ${TENANT_ROLE}`);
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON org_members, workspace_members TO ${TENANT_ROLE}`);

    for (const table of ['org_members', 'workspace_members']) {
      await protectTenantTable(q, table, SAME_ORG);
    }

    // Workspaces: creating one needs only the tenant (the creator becomes its admin in the same
    // transaction); reading, changing and deleting need visibility.
    await q.query(`DROP POLICY tenant_isolation ON workspaces`);
    await q.query(`CREATE POLICY tenant_insert ON workspaces FOR INSERT WITH CHECK (org_id = app_current_org())`);
    await q.query(`CREATE POLICY tenant_isolation ON workspaces USING (org_id = app_current_org() AND app_sees_workspace(id))`);
    for (const table of ['environments', 'components']) {
      await q.query(`DROP POLICY tenant_isolation ON ${table}`);
      await q.query(`CREATE POLICY tenant_isolation ON ${table}
                       USING (org_id = app_current_org() AND app_sees_workspace(workspace_id))
                       WITH CHECK (org_id = app_current_org() AND app_sees_workspace(workspace_id))`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['environments', 'components']) {
      await q.query(`DROP POLICY tenant_isolation ON ${table}`);
      await q.query(`CREATE POLICY tenant_isolation ON ${table} USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())`);
    }
    await q.query(`DROP POLICY tenant_isolation ON workspaces`);
    await q.query(`DROP POLICY tenant_insert ON workspaces`);
    await q.query(`CREATE POLICY tenant_isolation ON workspaces USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())`);
    await q.query(`DROP TABLE workspace_members, org_members`);
    await q.query(`DROP FUNCTION app_sees_workspace(uuid), app_sees_all_workspaces(), app_current_user()`);
  }
}
