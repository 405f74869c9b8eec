import type { DataSource } from 'typeorm';
import { asPlatformAdmin } from '../db/platform';
import {
  Keyring,
  SecretUnreadableError,
  generateKey,
  keyFilePath,
  nextVersion,
  readOrCreateKeyFile,
  writeKeyFile,
  type KeySet,
} from './keyring';

/**
 * Every column that holds sealed values: table, the sealed column, and the binding's field name. The
 * re-encryption below and the tests use this list; a new secret column is added here.
 */
export const SEALED_COLUMNS = [
  { table: 'environments', column: 'credentials_sealed', field: 'credentials' },
  { table: 'connectors', column: 'secret_sealed', field: 'secret' },
] as const;

export interface RotateResult {
  source: 'development key file' | 'ENCRYPTION_KEYS';
  previousVersion: string;
  newVersion: string;
  versions: string[];
  /** Development: where the key set was written. */
  file?: string;
  /** ENCRYPTION_KEYS deployments: what the operator installs (then runs `keys reencrypt`). */
  install?: { ENCRYPTION_KEYS: string; ENCRYPTION_KEY_CURRENT: string };
}

/**
 * Adds a key version and makes it current. With a development key file the file is updated in place
 * (atomically, 0600); with ENCRYPTION_KEYS nothing here can change the deployment's configuration, so
 * the new key set is returned for the operator to install.
 */
export function rotateKeys(configured: KeySet | undefined, dataDir: string): RotateResult {
  if (configured) {
    const version = nextVersion(Object.keys(configured.keys));
    const keys = { ...configured.keys, [version]: generateKey() };
    return {
      source: 'ENCRYPTION_KEYS',
      previousVersion: configured.current,
      newVersion: version,
      versions: Object.keys(keys),
      install: { ENCRYPTION_KEYS: JSON.stringify(keys), ENCRYPTION_KEY_CURRENT: version },
    };
  }
  const file = keyFilePath(dataDir);
  const keySet = readOrCreateKeyFile(file);
  Keyring.fromKeySet(keySet); // refuse to rotate a key file that does not parse
  const version = nextVersion(Object.keys(keySet.keys));
  const next: KeySet = { current: version, keys: { ...keySet.keys, [version]: generateKey() } };
  writeKeyFile(file, next);
  return {
    source: 'development key file',
    previousVersion: keySet.current,
    newVersion: version,
    versions: Object.keys(next.keys),
    file,
  };
}

export interface ReencryptResult {
  currentVersion: string;
  tables: Record<string, { sealed: number; reencrypted: number; alreadyCurrent: number; unreadable: number }>;
  /** Rows whose sealed value does not open at its row (tampered, copied, or a removed key): left as they are. */
  unreadable: Array<{ table: string; orgId: string; id: string; reason: string }>;
}

const BATCH = 200;

/**
 * Re-seals every sealed value under the keyring's current version, through the platform-admin path (it
 * crosses tenants by nature). Batches of rows in their own transactions, locked while re-sealed, so the
 * gateway keeps serving; values already under the current version are only verified, so it can be re-run.
 */
export async function reencryptAll(owner: DataSource, keyring: Keyring): Promise<ReencryptResult> {
  const current = keyring.current;
  const result: ReencryptResult = { currentVersion: current, tables: {}, unreadable: [] };
  for (const { table, column, field } of SEALED_COLUMNS) {
    const counts = { sealed: 0, reencrypted: 0, alreadyCurrent: 0, unreadable: 0 };
    result.tables[table] = counts;
    let after: { orgId: string; id: string } | null = null;
    for (;;) {
      const cursor: { orgId: string; id: string } | null = after;
      const rows = await asPlatformAdmin(owner, async (manager) => {
        const batch: Array<{ org_id: string; id: string; sealed: string }> = await manager.query(
          `SELECT org_id, id, ${column} AS sealed FROM ${table}
            WHERE ${column} IS NOT NULL AND ($1::uuid IS NULL OR (org_id, id) > ($1::uuid, $2::uuid))
            ORDER BY org_id, id LIMIT ${BATCH} FOR UPDATE`,
          [cursor?.orgId ?? null, cursor?.id ?? null],
        );
        for (const row of batch) {
          counts.sealed++;
          const binding = { table, orgId: row.org_id, rowId: row.id, field };
          let plaintext: string;
          try {
            plaintext = keyring.open(row.sealed, binding);
          } catch (error) {
            if (!(error instanceof SecretUnreadableError)) throw error;
            counts.unreadable++;
            result.unreadable.push({ table, orgId: row.org_id, id: row.id, reason: error.reason });
            continue;
          }
          // Every value is opened, current ones too: the run doubles as an integrity check of every row.
          if (Keyring.versionOf(row.sealed) === current) {
            counts.alreadyCurrent++;
            continue;
          }
          // The value is unchanged: its *_updated_at stays as it is.
          await manager.query(`UPDATE ${table} SET ${column} = $3 WHERE org_id = $1 AND id = $2`, [
            row.org_id,
            row.id,
            keyring.seal(plaintext, binding),
          ]);
          counts.reencrypted++;
        }
        return batch;
      });
      if (rows.length < BATCH) break;
      after = { orgId: rows[rows.length - 1].org_id, id: rows[rows.length - 1].id };
    }
  }
  return result;
}
