import crypto from 'node:crypto';

/**
 * Test-side token factory, written with node:crypto rather than the gateway's own library, so tokens
 * the gateway must refuse (alg none, wrong key, bad claims) can be made exactly as an attacker would.
 */
export interface KeyPair {
  privateKey: crypto.KeyObject;
  privatePem: string;
}

export function generateKeyPair(): KeyPair {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export interface Claims {
  iss?: string;
  aud?: string;
  sub?: string;
  org?: string;
  scope?: string;
  exp?: number;
  nbf?: number;
  iat?: number;
  [claim: string]: unknown;
}

export const ISSUER = 'manifest-gateway';
export const AUDIENCE = 'manifest-gateway';
export const now = () => Math.floor(Date.now() / 1000);

export function claimsFor(orgId: string, scopes: string[], extra: Claims = {}): Claims {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    org: orgId,
    scope: scopes.join(' '),
    iat: now(),
    exp: now() + 600,
    ...extra,
  };
}

export function signEs256(key: crypto.KeyObject, claims: Claims, header: Record<string, unknown> = {}): string {
  const head = b64({ alg: 'ES256', typ: 'JWT', ...header });
  const body = b64(claims);
  const signature = crypto.sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${head}.${body}.${signature.toString('base64url')}`;
}

export function signRs256(key: crypto.KeyObject, claims: Claims, header: Record<string, unknown> = {}): string {
  const head = b64({ alg: 'RS256', typ: 'JWT', ...header });
  const body = b64(claims);
  const signature = crypto.sign('sha256', Buffer.from(`${head}.${body}`), key);
  return `${head}.${body}.${signature.toString('base64url')}`;
}

export function unsigned(claims: Claims): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

export function signHs256(secret: string | Buffer, claims: Claims): string {
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64(claims);
  const mac = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${mac}`;
}
