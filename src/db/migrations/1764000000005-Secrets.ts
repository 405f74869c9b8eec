import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SAME_ORG, TENANT_ROLE, protectTenantTable } from './rls.v1';

/**
 * Secrets at rest (see src/secrets/keyring.ts): sealed texts `v1.<keyVersion>.<nonce>.<ct>.<tag>`, never
 * plaintext. Environment cloud credentials live on the environment row (one per environment, tied to its
 * deployment host); connector instances are a workspace-level table with non-secret `config` beside the
 * sealed `secret`. The CHECKs keep what the database stores shaped like a sealed value, so a bug that
 * tried to write plaintext there fails instead.
 */
const SEALED = `'^v1\\.[A-Za-z0-9_-]{1,32}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]+$'`;

export class Secrets1764000000005 implements MigrationInterface {
  name = 'Secrets1764000000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE environments
        ADD COLUMN credentials_provider text CHECK (credentials_provider IN ('cloudrun', 'aws')),
        ADD COLUMN credentials_sealed text CHECK (credentials_sealed ~ ${SEALED}),
        ADD COLUMN credentials_updated_at timestamptz,
        ADD CONSTRAINT environments_credentials_complete CHECK (
          (credentials_provider IS NULL AND credentials_sealed IS NULL AND credentials_updated_at IS NULL)
          OR (credentials_provider IS NOT NULL AND credentials_sealed IS NOT NULL AND credentials_updated_at IS NOT NULL)),
        ADD CONSTRAINT environments_credentials_match_host CHECK (credentials_provider IS NULL OR credentials_provider = deployment_host)`);

    await q.query(`
      CREATE TABLE connectors (
        org_id uuid NOT NULL,
        id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('database', 'api')),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        config jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
        secret_sealed text CHECK (secret_sealed ~ ${SEALED}),
        secret_updated_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, id),
        CONSTRAINT connectors_name_key UNIQUE (org_id, workspace_id, name),
        CONSTRAINT connectors_secret_complete CHECK ((secret_sealed IS NULL) = (secret_updated_at IS NULL)),
        FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX connectors_workspace_idx ON connectors (org_id, workspace_id, id)`);
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON connectors TO ${TENANT_ROLE}`);
    await protectTenantTable(q, 'connectors', `${SAME_ORG} AND app_sees_workspace(workspace_id)`);
    // Key rotation re-encrypts through the platform path: environments already has its platform_admin policy.
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE connectors`);
    await q.query(`
      ALTER TABLE environments
        DROP CONSTRAINT environments_credentials_match_host, DROP CONSTRAINT environments_credentials_complete,
        DROP COLUMN credentials_provider, DROP COLUMN credentials_sealed, DROP COLUMN credentials_updated_at`);
  }
}
