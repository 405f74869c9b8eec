import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An API key answers to a person: `owner_user_id` is the member who created it (or, for a key created
 * by another key, that key's owner; null only for keys the platform created from the CLI). A key is
 * usable only while its owner is still a member, and never with more than the owner's current role
 * allows, so demoting or removing someone also disarms the keys they made.
 */
export class ApiKeyOwners1764000000009 implements MigrationInterface {
  name = 'ApiKeyOwners1764000000009';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys ADD COLUMN owner_user_id text`);
    await q.query(`UPDATE api_keys SET owner_user_id = created_by WHERE created_by NOT LIKE 'apikey:%' AND created_by <> 'platform-admin'`);
    await q.query(`GRANT SELECT (owner_user_id) ON api_keys TO manifest_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP COLUMN owner_user_id`);
  }
}
