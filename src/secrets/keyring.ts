import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

/**
 * Secrets at rest: AES-256-GCM under versioned keys.
 *
 * A sealed value is one text: `v1.<keyVersion>.<nonce>.<ciphertext>.<tag>` (base64url parts; a 12-byte
 * random nonce, a 16-byte tag). The associated data binds it to its row — table, org_id, row id, field —
 * and to the key version, so a ciphertext copied to another row, another organization or another field
 * fails to decrypt instead of turning into someone else's secret.
 *
 * Keys come from ENCRYPTION_KEYS (`{"<version>": "<base64 32 bytes>", …}`) with ENCRYPTION_KEY_CURRENT
 * naming the one to encrypt with, or in development from `<DATA_DIR>/keys/encryption-keys.json` (mode
 * 0600, generated on first use). Every listed version stays decryptable; `keys rotate` adds a version and
 * `keys reencrypt` moves every sealed value to the current one.
 */
export const SEALED_FORMAT = 'v1';
export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_VERSION_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const FINGERPRINT_INFO = 'manifest-gateway secret fingerprint v1';

/** Where a sealed value lives; the ciphertext only opens at exactly this place. */
export interface SecretBinding {
  table: string;
  orgId: string;
  rowId: string;
  field: string;
}

/** A sealed value that cannot be opened here: tampered, moved to another row, or under a key we lack. */
export class SecretUnreadableError extends Error {
  constructor(
    readonly reason: 'malformed' | 'unknown_key_version' | 'authentication_failed',
    readonly keyVersion: string | null,
  ) {
    super(
      reason === 'unknown_key_version'
        ? `sealed secret uses key version ${keyVersion}, which is not configured`
        : reason === 'malformed'
          ? 'sealed secret is malformed'
          : 'sealed secret failed authentication (tampered, or copied from another row)',
    );
    this.name = 'SecretUnreadableError';
  }
}

export interface KeySet {
  current: string;
  keys: Record<string, string>; // version → base64 key
}

/** Parses and checks a key set; messages never echo key material. */
export function parseKeySet(keySet: KeySet, source: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  if (!keySet || typeof keySet.keys !== 'object' || keySet.keys === null || Array.isArray(keySet.keys)) {
    throw new Error(`${source}: expected a JSON object {"<version>": "<base64 32-byte key>", …}`);
  }
  for (const [version, encoded] of Object.entries(keySet.keys)) {
    if (!KEY_VERSION_PATTERN.test(version)) {
      throw new Error(`${source}: key version "${version}" must be 1-32 letters, digits, _ or -`);
    }
    const key = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
    if (key.length !== KEY_BYTES)
      throw new Error(`${source}: key version ${version} must be ${KEY_BYTES} bytes, base64-encoded`);
    keys.set(version, key);
  }
  if (keys.size === 0) throw new Error(`${source}: no keys`);
  if (!keys.has(keySet.current))
    throw new Error(`${source}: the current key version "${keySet.current}" is not among the keys`);
  return keys;
}

export function generateKey(): string {
  return crypto.randomBytes(KEY_BYTES).toString('base64');
}

/** The next version after the given ones: one more than the largest numeric version. */
export function nextVersion(versions: string[]): string {
  const numeric = versions.map((v) => (/^\d{1,9}$/.test(v) ? Number(v) : 0));
  return String(Math.max(0, ...numeric) + 1);
}

export function keyFilePath(dataDir: string): string {
  return path.join(dataDir, 'keys', 'encryption-keys.json');
}

/** Reads the development key file, creating it (one key, version 1) when absent. */
export function readOrCreateKeyFile(file: string): KeySet {
  if (!fs.existsSync(file)) {
    writeKeyFile(file, { current: '1', keys: { '1': generateKey() } });
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as KeySet;
}

/** Atomic replace (write beside, rename), mode 0600 in a 0700 directory. */
export function writeKeyFile(file: string, keySet: KeySet): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(keySet, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(temporary, file);
}

function associatedData(binding: SecretBinding, version: string): Buffer {
  // NUL-separated: none of the parts can contain NUL (identifiers, uuids, the version pattern).
  return Buffer.from(
    [
      'manifest-gateway/secret',
      SEALED_FORMAT,
      version,
      binding.table,
      binding.orgId.toLowerCase(),
      binding.rowId.toLowerCase(),
      binding.field,
    ].join('\0'),
  );
}

export class Keyring {
  private keys: Map<string, Buffer>;
  private currentVersion: string;
  private fingerprintKey: Buffer;
  private fileMtimeMs = 0;

  private constructor(
    keySet: KeySet,
    source: string,
    private readonly file?: string,
  ) {
    this.keys = parseKeySet(keySet, source);
    this.currentVersion = keySet.current;
    this.fingerprintKey = this.deriveFingerprintKey();
    if (file) this.fileMtimeMs = fs.statSync(file).mtimeMs;
  }

  /** From explicit keys (ENCRYPTION_KEYS), or the development key file under dataDir. */
  static load(configured: KeySet | undefined, dataDir: string): Keyring {
    if (configured) return new Keyring(configured, 'ENCRYPTION_KEYS');
    const file = keyFilePath(dataDir);
    return new Keyring(readOrCreateKeyFile(file), file, file);
  }

  static fromKeySet(keySet: KeySet): Keyring {
    return new Keyring(keySet, 'key set');
  }

  get current(): string {
    this.refresh();
    return this.currentVersion;
  }

  get versions(): string[] {
    return [...this.keys.keys()];
  }

  get fileBacked(): boolean {
    return this.file !== undefined;
  }

  /**
   * A development key file may be rotated by the CLI while the gateway runs: pick the change up (a stat
   * per call; no-op for ENCRYPTION_KEYS). A file that no longer parses keeps the keys already loaded.
   */
  private refresh(): void {
    if (!this.file) return;
    try {
      const mtime = fs.statSync(this.file).mtimeMs;
      if (mtime === this.fileMtimeMs) return;
      const keySet = JSON.parse(fs.readFileSync(this.file, 'utf8')) as KeySet;
      this.keys = parseKeySet(keySet, this.file);
      this.currentVersion = keySet.current;
      this.fingerprintKey = this.deriveFingerprintKey();
      this.fileMtimeMs = mtime;
    } catch {
      /* keep the loaded keys */
    }
  }

  private deriveFingerprintKey(): Buffer {
    const key = this.keys.get(this.currentVersion)!;
    return Buffer.from(crypto.hkdfSync('sha256', key, Buffer.alloc(0), FINGERPRINT_INFO, 32));
  }

  seal(plaintext: string, binding: SecretBinding): string {
    this.refresh();
    const version = this.currentVersion;
    const key = this.keys.get(version)!;
    const nonce = crypto.randomBytes(NONCE_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(binding, version));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      SEALED_FORMAT,
      version,
      nonce.toString('base64url'),
      ciphertext.toString('base64url'),
      tag.toString('base64url'),
    ].join('.');
  }

  /** The key version a sealed value was made with (without opening it); null when malformed. */
  static versionOf(sealed: string): string | null {
    const parts = sealed.split('.');
    return parts.length === 5 && parts[0] === SEALED_FORMAT && KEY_VERSION_PATTERN.test(parts[1]) ? parts[1] : null;
  }

  /** Opens a sealed value at its binding; throws SecretUnreadableError (never with any plaintext). */
  open(sealed: string, binding: SecretBinding): string {
    const version = Keyring.versionOf(sealed);
    if (version === null) throw new SecretUnreadableError('malformed', null);
    if (!this.keys.has(version)) this.refresh();
    const key = this.keys.get(version);
    if (!key) throw new SecretUnreadableError('unknown_key_version', version);
    const [, , nonceText, ciphertextText, tagText] = sealed.split('.');
    const nonce = Buffer.from(nonceText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) throw new SecretUnreadableError('malformed', version);
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(binding, version));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(ciphertextText, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new SecretUnreadableError('authentication_failed', version);
    }
  }

  /**
   * A short, non-reversible identifier of a secret for reads: the first 12 hex characters of
   * HMAC-SHA256 under a key derived (HKDF) from the current encryption key, over the secret's binding
   * (organization, table, row, field) and the plaintext. It changes when the value (or the key) changes;
   * it cannot be checked against guesses without the key, and — because the binding is in it — equal
   * secrets in two rows or two organizations do not show equal fingerprints (no cross-row guessing oracle).
   */
  fingerprint(plaintext: string, binding: SecretBinding): string {
    this.refresh();
    return crypto
      .createHmac('sha256', this.fingerprintKey)
      .update(associatedData(binding, 'fingerprint'))
      .update('\0')
      .update(plaintext, 'utf8')
      .digest('hex')
      .slice(0, 12);
  }
}
