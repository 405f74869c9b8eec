/**
 * The run's signing and encryption keys, and user tokens as the gateway's own issuer makes them: one place for
 * the harness and the A/B tool (bench/ab-builds.mjs).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SignJWT, exportJWK } from 'jose';
import { ROOT } from './data.mjs';

const require = createRequire(import.meta.url);
const { ALL_SCOPES } = require(path.join(ROOT, 'dist/test/support/scopes.js'));

export async function makeKeys() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicJwk: await exportJWK(publicKey),
    encryptionKey: crypto.randomBytes(32).toString('base64'),
  };
}

/** A user token as the gateway's own issuer makes them (sub user-1 = each organization's owner, every scope). */
export function userToken(keys, orgId, subject = 'user-1') {
  return new SignJWT({ org: orgId, scope: ALL_SCOPES.join(' ') })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setIssuer('manifest-gateway')
    .setAudience('manifest-gateway')
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(keys.privateKey);
}
