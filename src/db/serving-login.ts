import type { DataSource } from 'typeorm';
import { escapeLiteral } from 'pg';
import { TENANT_ROLE } from './tenant-role';

/**
 * A LOGIN role for serving that holds no privileges of its own and is a member of the tenant role.
 * Connecting as it, the gateway can do nothing until a TenantScope switches to the tenant role (with
 * RLS) inside the request transaction: code that bypassed the scope would get "permission denied",
 * not another tenant's rows. The embedded default creates one automatically; for an external
 * PostgreSQL, `npm run cli -- db create-serving-login` does, and APP_DATABASE_URL points at it.
 */
export const DEFAULT_SERVING_LOGIN = 'manifest_gateway';

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function ensureServingLogin(owner: DataSource, name: string, password: string): Promise<void> {
  if (!ROLE_NAME.test(name)) throw new Error('login name must be lowercase letters, digits and underscores');
  const [{ exists }] = await owner.query(`SELECT count(*) > 0 AS exists FROM pg_roles WHERE rolname = $1`, [name]);
  // DDL takes no parameters: the password is quoted with pg's escapeLiteral.
  await owner.query(
    `${exists ? 'ALTER' : 'CREATE'} ROLE ${name} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${escapeLiteral(password)}`,
  );
  await owner.query(`GRANT ${TENANT_ROLE} TO ${name}`);
}
