import type { MigrationInterface, QueryRunner } from 'typeorm';
import { TENANT_ROLE, protectTenantTable } from './rls.v1';

/**
 * Organization → Workspace → Environment → Component, with tenancy built into the tables:
 * - every tenant table has `org_id NOT NULL`, and `org_id` leads its primary key, unique constraints,
 *   foreign keys and indexes (a child can never point at another org's parent; ready for Citus
 *   distribution by org_id);
 * - row-level security is enabled and forced, comparing org_id with the transaction-local setting
 *   `app.org_id`; a missing or empty setting matches nothing (fails closed);
 * - the serving role (TENANT_ROLE) owns nothing, is not superuser and cannot bypass RLS.
 */
export class TenantCore1764000000000 implements MigrationInterface {
  name = 'TenantCore1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION app_current_org() RETURNS uuid
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$`);

    await q.query(`
      CREATE TABLE organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        slug text NOT NULL CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'archived')),
        primary_domain text,
        industry text,
        contact_email text,
        billing_email text,
        support_tier text NOT NULL DEFAULT 'community'
          CHECK (support_tier IN ('community', 'standard', 'premium', 'enterprise')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT organizations_slug_key UNIQUE (slug)
      )`);

    await q.query(`
      CREATE TABLE workspaces (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        description text CHECK (char_length(description) <= 2000),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, id)
      )`);

    await q.query(`
      CREATE TABLE environments (
        org_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        workspace_id uuid NOT NULL,
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        slug text NOT NULL CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
        tier text NOT NULL CHECK (tier IN ('dev', 'stage', 'prod')),
        deployment_host text NOT NULL DEFAULT 'localhost' CHECK (deployment_host IN ('localhost', 'cloudrun', 'aws')),
        execution_backend jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(execution_backend) = 'object'),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, id),
        CONSTRAINT environments_slug_key UNIQUE (org_id, workspace_id, slug),
        FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
      )`);

    await q.query(`
      CREATE TABLE components (
        org_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        workspace_id uuid NOT NULL,
        type text NOT NULL CHECK (type IN ('agent', 'workflow', 'code_block', 'hosted_service')),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        configuration jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(configuration) = 'object'),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, id),
        FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
      )`);

    // Child lists are paged by (parent, id): these indexes serve the per-parent LATERAL page queries.
    await q.query(`CREATE INDEX environments_workspace_idx ON environments (org_id, workspace_id, id)`);
    await q.query(`CREATE INDEX components_workspace_idx ON components (org_id, workspace_id, id)`);

    // The serving role: owns nothing, cannot bypass RLS, can only do what these grants say.
    await q.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${TENANT_ROLE}') THEN
          BEGIN
            CREATE ROLE ${TENANT_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
          EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- roles are cluster-wide: another database's migration created it at the same moment
          END;
        END IF;
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           AND NOT pg_has_role(current_user, '${TENANT_ROLE}', 'MEMBER') THEN
          EXECUTE format('GRANT ${TENANT_ROLE} TO %I', current_user);
        END IF;
      END $$`);
    await q.query(`GRANT USAGE ON SCHEMA public TO ${TENANT_ROLE}`);
    await q.query(`GRANT EXECUTE ON FUNCTION app_current_org() TO ${TENANT_ROLE}`);
    // Organizations are created and re-statused only on the platform-admin path (owner connection).
    await q.query(`GRANT SELECT, UPDATE (name, industry, contact_email, billing_email, primary_domain, updated_at) ON organizations TO ${TENANT_ROLE}`);
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON workspaces, environments, components TO ${TENANT_ROLE}`);

    // Tenant policy for every role (the owner too, since RLS is forced); a second policy lets the owning
    // role cross tenants only when the platform-admin path says so explicitly (db/platform.ts).
    const tenantTables: Array<[string, string]> = [
      ['organizations', 'id'],
      ['workspaces', 'org_id'],
      ['environments', 'org_id'],
      ['components', 'org_id'],
    ];
    for (const [table, orgColumn] of tenantTables) {
      await protectTenantTable(q, table, `${orgColumn} = app_current_org()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE components, environments, workspaces, organizations`);
    await q.query(`DROP FUNCTION app_current_org()`);
    // The role is cluster-wide and may serve other databases: it is left in place.
  }
}
