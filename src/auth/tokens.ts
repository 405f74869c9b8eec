import crypto from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Config } from '../config';
import { isUuid } from '../db/tenant-scope';
import { isSafeText } from '../graphql/input-safety';
import { SIGNING_ALGORITHM, type SigningKey } from './keys';
import type { Principal } from './principal';

export class InvalidTokenError extends Error {}

export interface MintOptions {
  orgId: string;
  subject: string;
  scopes: readonly string[];
  ttlSeconds?: number;
  tokenId?: string;
  /** For API-key tokens: the member the key answers to (claim `key_owner`); absent for org-wide keys. */
  keyOwner?: string | null;
}

interface TrustedIssuer {
  issuer: string;
  audience: string;
  algorithms: string[];
  keys: JWTVerifyGetKey;
}

/**
 * Signs the gateway's own tokens and verifies incoming ones. Verification is strict: the issuer must be
 * one we trust (our own, or the configured external identity provider), the algorithm is pinned per
 * issuer (never `none`, never HMAC), and `exp`, `iss`, `aud`, `sub` and `org` are required.
 */
export class TokenService {
  private readonly issuers = new Map<string, TrustedIssuer>();
  /**
   * Principals of the gateway's own tokens, by token string, until the token expires. Verifying an ES256
   * signature costs ~0.7 ms of main-thread CPU (WebCrypto's ECDSA job) and a client sends the same token with
   * every request, so each token is verified once (bench/README.md "Profile and levers"). Only the principal
   * (what the signed claims say) is kept: the organization, membership, API-key and revocation checks run
   * against the database in every request (context/open-request.ts), and nothing of a tenant's data is
   * cached. A hit is valid exactly as long as re-verifying would succeed: our key is fixed for the process,
   * and jose accepts the token until `exp` + the clock tolerance (`nbf` and the claims were checked when it
   * was stored). Tokens of the external identity provider are not kept: its keys rotate (remote JWKS) and a
   * withdrawn key must stop its tokens at once. Failures are never kept. Bounded by size, not count, since a
   * token's length is the client's choice (only tokens that verified are stored).
   */
  private readonly verified = new LRUCache<string, { principal: Principal; validUntilMs: number }>({
    maxSize: 8 * 1024 * 1024,
    sizeCalculation: (_value, token) => token.length + 512,
  });

  constructor(
    private readonly config: Config,
    readonly signingKey: SigningKey,
  ) {
    this.issuers.set(config.jwt.issuer, {
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      algorithms: [SIGNING_ALGORITHM],
      keys: createLocalJWKSet({ keys: [signingKey.publicJwk] }),
    });
    const idp = config.externalIdp;
    if (idp) {
      if (this.issuers.has(idp.issuer)) throw new Error('AUTH_ISSUER must differ from JWT_ISSUER');
      this.issuers.set(idp.issuer, {
        issuer: idp.issuer,
        audience: idp.audience,
        algorithms: idp.algorithms,
        keys: createRemoteJWKSet(new URL(idp.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 }),
      });
    }
  }

  get jwks(): { keys: object[] } {
    return { keys: [this.signingKey.publicJwk] };
  }

  async mint(options: MintOptions): Promise<{ token: string; expiresIn: number; tokenId: string }> {
    const expiresIn = options.ttlSeconds ?? this.config.jwt.defaultTtlSeconds;
    const tokenId = options.tokenId ?? crypto.randomUUID();
    const claims: Record<string, unknown> = { org: options.orgId, scope: options.scopes.join(' ') };
    if (options.keyOwner) claims.key_owner = options.keyOwner;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: this.signingKey.kid, typ: 'JWT' })
      .setIssuer(this.config.jwt.issuer)
      .setAudience(this.config.jwt.audience)
      .setSubject(options.subject)
      .setJti(tokenId)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
      .sign(this.signingKey.privateKey);
    return { token, expiresIn, tokenId };
  }

  /** Returns the principal, or throws InvalidTokenError with a reason safe to show the caller. */
  async verify(token: string): Promise<Principal> {
    const hit = this.verified.get(token);
    if (hit) {
      if (Date.now() < hit.validUntilMs) return hit.principal;
      this.verified.delete(token);
    }
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw new InvalidTokenError('malformed token');
    }
    const trusted = typeof unverified.iss === 'string' ? this.issuers.get(unverified.iss) : undefined;
    if (!trusted) throw new InvalidTokenError('token issuer is not trusted');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, trusted.keys, {
        issuer: trusted.issuer,
        audience: trusted.audience,
        algorithms: trusted.algorithms,
        clockTolerance: this.config.jwt.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub', 'org'],
      }));
    } catch (error) {
      throw new InvalidTokenError(describeJoseError(error));
    }
    const claims = checkClaims(payload);
    const subject = claims.sub;
    // Only the gateway's own tokens can speak for an API key (it mints them at POST /auth/token); an
    // external identity provider's subjects are always users.
    const ownIssuer = trusted.issuer === this.config.jwt.issuer;
    const kind = ownIssuer && subject.startsWith('apikey:') ? 'api_key' : 'user';
    if (kind === 'api_key' && !isUuid(subject.slice('apikey:'.length)))
      throw new InvalidTokenError('token "sub" claim is invalid');
    const principal: Principal = Object.freeze({
      orgId: claims.org,
      subject,
      kind,
      keyOwner: kind === 'api_key' ? claims.keyOwner : null,
      scopes: new Set(claims.scopes),
      tokenId: claims.jti,
      issuer: trusted.issuer,
    });
    // jose: expired once exp <= now - tolerance (whole seconds), i.e. valid while now < (exp + tolerance) s.
    const validUntilMs = ((payload.exp as number) + this.config.jwt.clockToleranceSeconds) * 1000;
    if (ownIssuer && validUntilMs > Date.now()) this.verified.set(token, { principal, validUntilMs });
    return principal;
  }
}

/** `sub` and `key_owner`: a user id (or apikey:<uuid>), stored as text and compared with membership rows. */
const MAX_SUBJECT_LENGTH = 200;
// C0 and C1 control characters, DEL, and the line/paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/;
const MAX_SCOPES = 100;

function isSubject(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_SUBJECT_LENGTH &&
    !CONTROL.test(value) &&
    isSafeText(value)
  );
}

function finiteOrAbsent(value: unknown): boolean {
  return value === undefined || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * The claims we act on, checked strictly by type and shape after the signature and the registered
 * claims were verified: a signed token is still input (an external identity provider controls `sub`),
 * and a claim of the wrong type must be a 401, never reach SQL or a string method. Shapes:
 * `sub` a non-empty string of at most 200 characters without control characters; `org` a UUID string;
 * `scope` absent or a string of space-separated RFC 6749 scope tokens (`scp`, which some identity
 * providers send, the same or an array of such tokens); `key_owner` absent or a subject; `jti` absent or
 * a string; `exp`/`nbf`/`iat` finite numbers (jose checks the type, not that 1e999 is not Infinity).
 */
function checkClaims(payload: JWTPayload): {
  sub: string;
  org: string;
  scopes: string[];
  keyOwner: string | null;
  jti?: string;
} {
  if (!isSubject(payload.sub)) throw new InvalidTokenError('token "sub" claim is invalid');
  if (!isUuid(payload.org)) throw new InvalidTokenError('token "org" claim is not an organization id');
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    if (!finiteOrAbsent(payload[claim])) throw new InvalidTokenError(`token claim "${claim}" is missing or invalid`);
  }
  const scopes =
    payload.scope !== undefined
      ? typeof payload.scope === 'string'
        ? parseScopes(payload.scope)
        : null
      : parseScopes(payload.scp);
  if (!scopes) throw new InvalidTokenError('token "scope" claim is invalid');
  const keyOwner = payload.key_owner;
  if (keyOwner !== undefined && keyOwner !== null && !isSubject(keyOwner))
    throw new InvalidTokenError('token "key_owner" claim is invalid');
  const jti = payload.jti;
  if (jti !== undefined && (typeof jti !== 'string' || jti.length > MAX_SUBJECT_LENGTH || !isSafeText(jti))) {
    throw new InvalidTokenError('token "jti" claim is invalid');
  }
  return {
    sub: payload.sub,
    org: payload.org.toLowerCase(),
    scopes,
    keyOwner: (keyOwner as string | undefined) ?? null,
    jti,
  };
}

/** The scope claim as a list, or null when it is malformed. Absent = no scopes. */
function parseScopes(claim: unknown): string[] | null {
  if (claim === undefined) return [];
  const tokens = typeof claim === 'string' ? claim.split(' ').filter(Boolean) : Array.isArray(claim) ? claim : null;
  if (!tokens || tokens.length > MAX_SCOPES) return null;
  return tokens.every((t) => typeof t === 'string' && SCOPE_TOKEN.test(t)) ? (tokens as string[]) : null;
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token is not yet valid';
    return `token claim "${error.claim}" is missing or invalid`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm is not allowed';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'token was not signed by a known key';
  if (
    error instanceof joseErrors.JWKSTimeout ||
    (error instanceof joseErrors.JOSEError && error.code === 'ERR_JWKS_INVALID')
  ) {
    return 'identity provider keys are unavailable';
  }
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'malformed token';
  return 'token could not be verified';
}
