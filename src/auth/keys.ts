import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { exportJWK, importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';

export const SIGNING_ALGORITHM = 'ES256';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * The gateway's own token-signing key (ES256). From JWT_PRIVATE_KEY (PKCS#8 PEM or a private JWK), or in
 * development generated once into `<dataDir>/keys/signing-key.json` (mode 0600) and reused on restart.
 * The key id is the RFC 7638 thumbprint, so the same key always has the same `kid`.
 */
export async function loadSigningKey(configured: string | undefined, dataDir: string): Promise<SigningKey> {
  let keyObject: crypto.KeyObject;
  if (configured) {
    const text = configured.trim();
    keyObject = text.startsWith('{')
      ? crypto.createPrivateKey({ key: JSON.parse(text), format: 'jwk' })
      : crypto.createPrivateKey(text.replace(/\\n/g, '\n'));
  } else {
    const file = path.join(dataDir, 'keys', 'signing-key.json');
    if (fs.existsSync(file)) {
      keyObject = crypto.createPrivateKey({ key: JSON.parse(fs.readFileSync(file, 'utf8')), format: 'jwk' });
    } else {
      keyObject = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, JSON.stringify(keyObject.export({ format: 'jwk' })), { mode: 0o600 });
    }
  }
  if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('JWT_PRIVATE_KEY must be an EC P-256 private key (ES256)');
  }
  const privateJwk = keyObject.export({ format: 'jwk' }) as JWK;
  const { d: _private, ...publicOnly } = privateJwk;
  const publicJwk: JWK = { ...publicOnly };
  const kid = crypto
    .createHash('sha256')
    .update(JSON.stringify({ crv: publicJwk.crv, kty: publicJwk.kty, x: publicJwk.x, y: publicJwk.y }))
    .digest('base64url');
  const privateKey = (await importJWK({ ...privateJwk, alg: SIGNING_ALGORITHM }, SIGNING_ALGORITHM)) as CryptoKey;
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: SIGNING_ALGORITHM, use: 'sig' } };
}

// Re-exported so callers that accept PEM strings elsewhere use the same library.
export { exportJWK, importPKCS8 };
