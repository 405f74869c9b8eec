import crypto from 'node:crypto';
import zlib from 'node:zlib';

/**
 * API key format, after GitHub's tokens: `fl_<keyId>_<secret><checksum>`
 *   keyId     16 base62 characters, public (shown in listings as the prefix `fl_<keyId>`)
 *   secret    32 base62 characters (≈ 190 bits of randomness)
 *   checksum  6 base62 characters: CRC32 of everything before it, so a mistyped, truncated or scanned key
 *             is rejected without touching the database (and secret scanners can validate matches).
 * Only SHA-256(secret) is stored. The `fl_` prefix makes leaked keys easy to grep for.
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PATTERN = /^fl_([0-9A-Za-z]{16})_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;

function randomBase62(length: number): string {
  // Rejection sampling: no modulo bias.
  let out = '';
  while (out.length < length) {
    for (const byte of crypto.randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = zlib.crc32(body);
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export interface GeneratedKey {
  value: string;
  keyId: string;
  secretHash: Buffer;
}

export function generateApiKey(): GeneratedKey {
  const keyId = randomBase62(16);
  const secret = randomBase62(32);
  const body = `fl_${keyId}_${secret}`;
  return { value: body + checksum(body), keyId, secretHash: hashSecret(secret) };
}

export type ParsedKey = { ok: true; keyId: string; secret: string } | { ok: false; reason: 'malformed' | 'checksum' };

export function parseApiKey(value: unknown): ParsedKey {
  if (typeof value !== 'string') return { ok: false, reason: 'malformed' };
  const match = KEY_PATTERN.exec(value.trim());
  if (!match) return { ok: false, reason: 'malformed' };
  const [, keyId, secret, sum] = match;
  if (checksum(`fl_${keyId}_${secret}`) !== sum) return { ok: false, reason: 'checksum' };
  return { ok: true, keyId, secret };
}

export function hashSecret(secret: string): Buffer {
  return crypto.createHash('sha256').update(secret).digest();
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const presented = hashSecret(secret);
  return storedHash.length === presented.length && crypto.timingSafeEqual(presented, storedHash);
}
