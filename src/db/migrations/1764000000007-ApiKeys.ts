import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SAME_ORG, TENANT_ROLE, protectTenantTable } from './rls.v1';

/**
 * API keys (`fl_…`): only a SHA-256 hash of the secret is stored, and the serving role cannot even read
 * that column (column-level SELECT grant). Exchanges look keys up by their public key id on the
 * platform path (src/auth/api-key-exchange.ts), the one place that must cross tenants; everything else
 * goes through RLS like any tenant table. auth_rate_limits holds the shared exchange counters
 * (rate-limiter-flexible's table layout) so every replica sees the same limits.
 */
export class ApiKeys1764000000007 implements MigrationInterface {
  name = 'ApiKeys1764000000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        key_id text NOT NULL CHECK (key_id ~ '^[0-9A-Za-z]{16}$'),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
        description text CHECK (char_length(description) <= 1000),
        scopes text[] NOT NULL,
        secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz,
        revoked_by text,
        rotated_to uuid,
        PRIMARY KEY (org_id, id),
        CONSTRAINT api_keys_key_id_key UNIQUE (org_id, key_id)
      )`);
    // The exchange knows only the key id: the single cross-tenant lookup, used on the platform path only.
    await q.query(`CREATE INDEX api_keys_exchange_lookup_idx ON api_keys (key_id)`);
    await q.query(`
      GRANT SELECT (org_id, id, key_id, name, description, scopes, created_by, created_at, expires_at,
                    last_used_at, revoked_at, revoked_by, rotated_to),
            INSERT,
            UPDATE (expires_at, revoked_at, revoked_by, rotated_to)
         ON api_keys TO ${TENANT_ROLE}`);
    await protectTenantTable(q, 'api_keys', SAME_ORG);
    await q.query(`
      CREATE TABLE auth_rate_limits (
        key varchar(255) PRIMARY KEY,
        points integer NOT NULL DEFAULT 0,
        expire bigint
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE auth_rate_limits, api_keys`);
  }
}
