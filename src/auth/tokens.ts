import crypto from 'node:crypto';
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
    if (!isUuid(payload.org)) throw new InvalidTokenError('token "org" claim is not an organization id');
    const subject = payload.sub as string;
    if (subject.length === 0 || subject.length > 200) throw new InvalidTokenError('token "sub" claim is invalid');
    // Only the gateway's own tokens can speak for an API key (it mints them at POST /auth/token); an
    // external identity provider's subjects are always users.
    const ownIssuer = trusted.issuer === this.config.jwt.issuer;
    const kind = ownIssuer && subject.startsWith('apikey:') ? 'api_key' : 'user';
    if (kind === 'api_key' && !isUuid(subject.slice('apikey:'.length))) throw new InvalidTokenError('token "sub" claim is invalid');
    return {
      orgId: payload.org.toLowerCase(),
      subject,
      kind,
      keyOwner: kind === 'api_key' && typeof payload.key_owner === 'string' ? payload.key_owner : null,
      scopes: new Set(parseScopes(payload.scope ?? payload.scp)),
      tokenId: typeof payload.jti === 'string' ? payload.jti : undefined,
      issuer: trusted.issuer,
    };
  }
}

function parseScopes(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(' ').filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === 'string');
  return [];
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
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JOSEError && error.code === 'ERR_JWKS_INVALID') {
    return 'identity provider keys are unavailable';
  }
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'malformed token';
  return 'token could not be verified';
}
