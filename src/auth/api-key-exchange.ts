import express, { type Request, type Response, type Router } from 'express';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { LRUCache } from 'lru-cache';
import { OwnerStatements, platformStatement } from '../db/platform';
import { parseApiKey, secretMatches } from './api-key-format';
import type { TokenService } from './tokens';
import { ORG_ROLE_SCOPES, type OrgRole } from './roles';
import { bearerChallenge, outageOf, RETRY_AFTER_SECONDS } from '../graphql/errors';
import type { Metrics } from '../metrics';
import { noteCallerIn, type RequestFacts } from '../request-scope';

interface KeyRow {
  org_id: string;
  id: string;
  scopes: string[];
  secret_hash: Buffer;
  expires_at: Date | null;
  revoked_at: Date | null;
  org_status: string;
  owner_user_id: string | null;
  owner_role: OrgRole | null;
}

class ExchangeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/**
 * POST /auth/token {"api_key": "fl_…"} → {"access_token", "token_type": "Bearer", "expires_in", "scope"}.
 *
 * Order of checks, cheapest first: rate limit per client address (a malformed key counts too; for a
 * well-formed one the limit's statement shares its round trip with the lookup, issue 11 W4); format and
 * checksum (no database); lookup by key id on the platform path (the one cross-tenant read) and a constant-time hash comparison
 * (a miss counts against the (address, key id) pair); rate limit per key, for holders of the real
 * secret only; revoked / expired; organization status; the member the key answers to. Refusals are JSON
 * `{error, error_description}` with a 4xx status (OAuth 2.0 style). Counters live in PostgreSQL
 * (rate-limiter-flexible's Postgres store), so limits hold across every replica.
 * `last_used_at` is written after the response, at most once a minute per key.
 */
export function apiKeyExchange(
  owner: DataSource,
  tokens: TokenService,
  config: Config,
  log: Logger,
  metrics?: Metrics,
): Router {
  const limits = config.apiKeyExchange;
  // rate-limiter-flexible 11 names its prepared statements ("auth_rate_limits:rlflx-upsert"), and node-postgres
  // then parses each once per connection and afterwards sends only Bind with the name. Behind a
  // transaction-mode pooler the next use lands on another server session: "prepared statement … does not
  // exist" (PgBouncer before 1.21, or without max_prepared_statements). This store hands its queries to the
  // owner pool as unnamed statements, like every other query of the gateway.
  // It is also what lets the per-address limit share its round trip with the key lookup (OwnerStatements).
  const unnamedStatements = new OwnerStatements(owner);
  const limiter = (keyPrefix: string, points: number) =>
    new RateLimiterPostgres({
      storeClient: unnamedStatements,
      storeType: 'pool',
      tableName: 'auth_rate_limits',
      tableCreated: true,
      keyPrefix,
      points,
      duration: limits.windowSeconds,
    });
  const perAddress = limiter('exchange-ip', limits.perAddress);
  const perKey = limiter('exchange-key', limits.perKey);
  const failures = limiter('exchange-failures', limits.perKey);

  // `limiter`: the label of gateway_rate_limit_refusals_total (address, key, failed_attempts).
  const consume = async (rateLimiter: RateLimiterPostgres, key: string, what: string, limiter: string) => {
    try {
      await rateLimiter.consume(key);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        metrics?.rateLimitRefusals.inc({ limiter });
        throw new ExchangeError(
          429,
          'rate_limited',
          `too many token requests for this ${what}; retry later`,
          Math.ceil(rejection.msBeforeNext / 1000),
        );
      }
      throw rejection;
    }
  };

  // Keys whose last_used_at this process wrote in the last minute (bounded: a flood of distinct keys only
  // costs the writes it would have cost anyway).
  const recentlyRecorded = new LRUCache<string, true>({ max: 10_000, ttl: 60_000 });

  const router = express.Router();
  router.post(
    '/token',
    express.json({ limit: '4kb' }),
    express.urlencoded({ extended: false, limit: '4kb' }),
    async (req: Request, res: Response) => {
      res.set('cache-control', 'no-store');
      try {
        const parsed = parseApiKey((req.body as Record<string, unknown> | undefined)?.api_key);
        if (!parsed.ok) {
          // Malformed or not, every attempt counts against the address first.
          await consume(perAddress, req.ip ?? 'unknown', 'client address', 'address');
          throw new ExchangeError(
            400,
            'invalid_request',
            parsed.reason === 'checksum'
              ? 'api_key checksum does not match: the key is mistyped or truncated'
              : 'api_key must be an fl_… key',
          );
        }
        // The per-address limit and the key lookup in ONE round trip (issue 11, W4; it was one each, and
        // asPlatformAdmin's four for the lookup before that): the limiter's upsert first, committed on its
        // own, then the lookup in a platform transaction of its own (OwnerStatements). The rules are as
        // before: over the limit → 429 whatever the lookup found (its rows are not looked at), and the
        // lookup never counts for anything; only its round trip is shared.
        const lookup = unnamedStatements.platform<KeyRow>(
          `SELECT k.org_id, k.id, k.scopes, k.secret_hash, k.expires_at, k.revoked_at, o.status AS org_status,
                  k.owner_user_id, m.role AS owner_role
             FROM api_keys k JOIN organizations o ON o.id = k.org_id
             LEFT JOIN org_members m ON m.org_id = k.org_id AND m.user_id = k.owner_user_id
            WHERE k.key_id = $1`,
          [parsed.keyId],
        );
        lookup.catch(() => undefined); // awaited below, unless the limit refuses first (then moot)
        await consume(perAddress, req.ip ?? 'unknown', 'client address', 'address');
        const candidates = await lookup;
        const key = candidates.find((row) => secretMatches(parsed.secret, row.secret_hash));
        if (!key) {
          // Failed guesses count against (address, key id), never against the key itself: knowing a key's
          // public id must not be enough to lock its holder out.
          await consume(failures, `${req.ip ?? 'unknown'}:${parsed.keyId}`, 'key from this address', 'failed_attempts');
          throw new ExchangeError(401, 'invalid_client', 'unknown API key');
        }
        await consume(perKey, parsed.keyId, 'key', 'key');
        // The access log names the key (its id) and its organization; never the secret.
        noteCallerIn(res.locals.facts as RequestFacts | undefined, {
          kind: 'api_key',
          subject: `apikey:${key.id}`,
          orgId: key.org_id,
        });
        if (key.revoked_at) throw new ExchangeError(401, 'invalid_client', 'this API key has been revoked');
        const now = Date.now();
        if (key.expires_at && key.expires_at.getTime() <= now)
          throw new ExchangeError(401, 'invalid_client', 'this API key has expired');
        if (key.org_status === 'suspended')
          throw new ExchangeError(403, 'org_suspended', 'the organization is suspended');
        if (key.org_status === 'archived') throw new ExchangeError(403, 'org_archived', 'the organization is archived');
        if (key.owner_user_id && !key.owner_role)
          throw new ExchangeError(
            401,
            'invalid_client',
            'the member this API key answers to has left the organization',
          );
        // Never more than the owner's current role allows.
        const allowed = key.owner_role ? new Set<string>(ORG_ROLE_SCOPES[key.owner_role]) : null;
        const scopes = allowed ? key.scopes.filter((s) => allowed.has(s)) : key.scopes;

        const untilKeyExpiry = key.expires_at ? Math.floor((key.expires_at.getTime() - now) / 1000) : Infinity;
        const minted = await tokens.mint({
          orgId: key.org_id,
          subject: `apikey:${key.id}`,
          scopes,
          keyOwner: key.owner_user_id,
          ttlSeconds: Math.max(1, Math.min(limits.tokenTtlSeconds, untilKeyExpiry)),
        });
        res.json({
          access_token: minted.token,
          token_type: 'Bearer',
          expires_in: minted.expiresIn,
          scope: scopes.join(' '),
          // Not an OAuth field, but what a REST script needs next: the `{org_id}` of /api/v1/orgs/{org_id}/…
          // (otherwise it would have to decode the token). Extra members are allowed by RFC 6749 §5.1.
          org_id: key.org_id,
        });
        // After the response: never on the hot path, and at most one write a minute per key. The WHERE
        // clause keeps that across replicas; `recentlyRecorded` spares this replica the round trip when it
        // recorded the key itself less than a minute ago (it used to send the UPDATE, in a four-round-trip
        // transaction, on every exchange). A failed write is forgotten, so the next exchange tries again.
        const used = `${key.org_id}:${key.id}`;
        if (!recentlyRecorded.has(used)) {
          recentlyRecorded.set(used, true);
          void platformStatement(
            owner,
            `UPDATE api_keys SET last_used_at = now() WHERE org_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
            [key.org_id, key.id],
          ).catch((error) => {
            recentlyRecorded.delete(used);
            log.warn({ err: { message: (error as Error).message } }, 'could not record API key use');
          });
        }
      } catch (error) {
        if (error instanceof ExchangeError) {
          if (error.retryAfterSeconds !== undefined) res.set('retry-after', String(error.retryAfterSeconds));
          // RFC 6750 §3 (and RFC 6749 §5.2 for invalid_client): every 401 names its scheme; a key was presented.
          if (error.status === 401) res.set('www-authenticate', bearerChallenge({ description: error.message }));
          res.status(error.status).json({ error: error.code, error_description: error.message });
          return;
        }
        const outage = outageOf(error);
        if (outage) {
          // The same classification as GraphQL (graphql/errors.ts): 503, Retry-After, and the same code.
          // `temporarily_unavailable` is OAuth 2.0's registered error for this (RFC 6749 §4.1.2.1).
          log.warn(
            {
              err: { code: (error as { code?: string }).code, message: (error as Error).message },
              code: outage.code,
              requestId: res.locals.requestId,
            },
            'token exchange: database outage',
          );
          res.set('retry-after', String(RETRY_AFTER_SECONDS));
          res.status(503).json({
            error: 'temporarily_unavailable',
            code: outage.code,
            error_description: outage.message,
            requestId: res.locals.requestId,
          });
          return;
        }
        log.error(
          { err: { message: (error as Error).message }, requestId: res.locals.requestId },
          'token exchange failed',
        );
        res
          .status(500)
          .json({ error: 'server_error', error_description: 'Internal server error', requestId: res.locals.requestId });
      }
    },
  );
  return router;
}
