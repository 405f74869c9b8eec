import { otelRequested } from './tracing/otel';
import path from 'node:path';
import { parseKeySet, type KeySet } from './secrets/keyring';

/**
 * Every setting the gateway reads, in one place: environment → typed config.
 * A bad value stops the process at start with a message naming the variable,
 * never later in the middle of a request.
 */
export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  host: string;
  /** Where development state lives: embedded PostgreSQL, generated signing and encryption keys. */
  dataDir: string;
  /** External PostgreSQL (owner role: runs migrations). Unset: embedded PostgreSQL under dataDir. */
  databaseUrl?: string;
  /** Optional separate login used for serving; defaults to databaseUrl. Every request still switches to the tenant role. */
  appDatabaseUrl?: string;
  embeddedPgPort: number;
  dbPoolSize: number;
  /**
   * DB_PREPARED_STATEMENTS (on by default): the compiled read path's statements become per-connection prepared
   * statements (src/db/prepared-plans.ts). `off` behind a transaction-mode pooler (PgBouncer), which keeps no
   * session state, as Hasura's HASURA_GRAPHQL_USE_PREPARED_STATEMENTS.
   */
  dbPreparedStatements: boolean;
  statementTimeoutMs: number;
  /** DB_POOL_WAIT_MS: how long a request waits for a free pooled connection before SERVICE_UNAVAILABLE (503). */
  dbPoolWaitMs: number;
  /** DB_STARTUP_TIMEOUT_MS: how long start-up waits (with a logged back-off) for an unreachable database. */
  dbStartupTimeoutMs: number;
  /** REQUEST_TIMEOUT_MS: a request's deadline (no statement starts after it) and Node's requestTimeout. */
  requestTimeoutMs: number;
  http: {
    /** HTTP_HEADERS_TIMEOUT_MS: time allowed to receive a request's headers. */
    headersTimeoutMs: number;
    /** HTTP_KEEP_ALIVE_TIMEOUT_MS: how long an idle keep-alive connection is kept open. */
    keepAliveTimeoutMs: number;
    /** HTTP_MAX_CONNECTIONS: open connections beyond this are refused (0: no cap). */
    maxConnections: number;
  };
  jwt: {
    issuer: string;
    audience: string;
    /** PEM (PKCS#8) or JWK JSON of the gateway's ES256 signing key. Unset in development: generated under dataDir. */
    privateKey?: string;
    clockToleranceSeconds: number;
    defaultTtlSeconds: number;
  };
  /** An external identity provider whose tokens the gateway also accepts. */
  externalIdp?: { jwksUrl: string; issuer: string; audience: string; algorithms: string[] };
  graphql: {
    introspection: boolean;
    maxDepth: number;
    maxAliases: number;
    maxNodes: number;
    maxTokens: number;
    /**
     * GRAPHQL_EXECUTOR: jit (graphql-jit, compiled per document; src/graphql/executor.ts; the default) or
     * graphql-js (the default when OTLP export is on).
     */
    executor: 'graphql-js' | 'jit';
    /**
     * GRAPHQL_SQL_PLAN: the compiled read path (src/graphql/sql-plan; on by default, `off` disables): a
     * plannable query is answered by one SQL statement riding in the opening round trip. It needs the jit
     * gateway's executor hook, so it is active only with GRAPHQL_EXECUTOR=jit.
     */
    sqlPlan: boolean;
  };
  /** Adds extensions.sql.statements to each GraphQL response: a test and benchmark aid, refused in production. */
  exposeSqlStatementCount: boolean;
  /** Serve GraphiQL at /graphiql (GRAPHIQL): on by default, off in production unless GRAPHIQL=on. */
  graphiql: boolean;
  apiKeyExchange: {
    /** Lifetime of tokens exchanged from API keys (never beyond the key's own expiry). */
    tokenTtlSeconds: number;
    windowSeconds: number;
    perAddress: number;
    perKey: number;
  };
  /** Express `trust proxy`: how many proxies in front of the gateway may set X-Forwarded-For. */
  trustProxy: number;
  /** Credential of the platform-admin HTTP API (/platform/v1); unset: that API is off. */
  platformAdminToken?: string;
  logLevel: string;
  /** ACCESS_LOG: one JSON line per request at info level (on by default). */
  accessLog: boolean;
  /**
   * CORS_ALLOWED_ORIGINS: which browser origins may call the API cross-origin (src/cors.ts). `*` (the
   * default): any; a list: exactly those; `none`: no CORS headers at all (same-origin pages only).
   */
  corsOrigins: '*' | string[] | null;
  metrics: {
    /** METRICS_MAX_OPERATION_NAMES: distinct GraphQL operation names with a label of their own. */
    maxOperationNames: number;
  };
  /** How long a SIGTERM/SIGINT drain may take before open connections are destroyed (exit code 1 then). */
  shutdownGraceMs: number;
  /** Per-organization tracing (README "Tracing"): the retention job and the trace writer. */
  tracing: {
    /** How often the retention job runs (and once at start); 0 turns it off (tests drive it). */
    retentionIntervalMs: number;
    /** Rows deleted per retention statement (each in its own short transaction). */
    retentionBatchSize: number;
    /** Captured traces waiting to be written beyond this are dropped (and counted). */
    writeQueueMax: number;
  };
  /**
   * Keys that encrypt secrets at rest (ENCRYPTION_KEYS + ENCRYPTION_KEY_CURRENT). Unset in development:
   * generated under dataDir/keys. Required in production.
   */
  encryption?: KeySet;
}

export class ConfigError extends Error {}

/**
 * CORS_ALLOWED_ORIGINS: `*` (default), `none`, or a comma-separated list of origins, each exactly as a
 * browser sends it (`https://app.example.com`, `http://localhost:5173`: scheme, host, optional port, no path).
 */
function corsOrigins(env: Env): '*' | string[] | null {
  const raw = (env.CORS_ALLOWED_ORIGINS ?? '*').trim();
  if (raw === '*') return '*';
  if (raw === 'none' || raw === '') return null;
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(
        `CORS_ALLOWED_ORIGINS must be *, none, or origins like https://app.example.com (scheme://host[:port], no path or trailing slash), got "${origin}"`,
      );
    }
  }
  return origins;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** on/off (or true/false, 1/0, yes/no). */
function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['on', '1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['off', '0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be on or off, got "${raw}"`);
}

function url(env: Env, name: string, protocols?: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    // The value may hold a password: name the variable, never echo it.
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (protocols && !protocols.includes(parsed.protocol)) {
    // `localhost:5432/db` parses as a URL with the scheme "localhost:": refuse it here, not at connect time.
    throw new ConfigError(`${name} must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL`);
  }
  return raw;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw))
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
const POSTGRES_URL = ['postgres:', 'postgresql:'];

/** ENCRYPTION_KEYS (JSON {version: base64 key}) and ENCRYPTION_KEY_CURRENT; messages never echo a key. */
function encryptionKeys(env: Env, production: boolean): KeySet | undefined {
  const raw = env.ENCRYPTION_KEYS;
  if (raw === undefined || raw.trim() === '') {
    if (production) {
      throw new ConfigError(
        'ENCRYPTION_KEYS is required when NODE_ENV=production: a JSON object {"<version>": "<base64 32-byte key>"} ' +
          '(generated development keys are for development only; `npm run cli -- keys rotate` prints one)',
      );
    }
    if (env.ENCRYPTION_KEY_CURRENT) throw new ConfigError('ENCRYPTION_KEY_CURRENT is set but ENCRYPTION_KEYS is not');
    return undefined;
  }
  let keys: unknown;
  try {
    keys = JSON.parse(raw);
  } catch {
    throw new ConfigError('ENCRYPTION_KEYS is not valid JSON: expected {"<version>": "<base64 32-byte key>", …}');
  }
  if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) {
    throw new ConfigError('ENCRYPTION_KEYS must be a JSON object {"<version>": "<base64 32-byte key>", …}');
  }
  const versions = Object.keys(keys);
  let current = env.ENCRYPTION_KEY_CURRENT || undefined;
  if (!current) {
    if (versions.length !== 1)
      throw new ConfigError(
        'ENCRYPTION_KEY_CURRENT must name the key version to encrypt with (ENCRYPTION_KEYS has several)',
      );
    current = versions[0];
  }
  const keySet: KeySet = { current, keys: keys as Record<string, string> };
  try {
    parseKeySet(keySet, 'ENCRYPTION_KEYS');
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return keySet;
}

export function loadConfig(env: Env = process.env): Config {
  // An unknown NODE_ENV (say "prod") is refused rather than silently run as development (generated keys,
  // introspection on).
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const production = nodeEnv === 'production';
  const privateKey = env.JWT_PRIVATE_KEY || undefined;
  if (production && !privateKey) {
    throw new ConfigError(
      'JWT_PRIVATE_KEY is required when NODE_ENV=production (generated keys are for development only)',
    );
  }
  const jwksUrl = url(env, 'AUTH_JWKS_URL', ['https:', 'http:']);
  let externalIdp: Config['externalIdp'];
  if (jwksUrl) {
    if (!env.AUTH_ISSUER || !env.AUTH_AUDIENCE) {
      throw new ConfigError('AUTH_JWKS_URL needs AUTH_ISSUER and AUTH_AUDIENCE as well');
    }
    const algorithms = (env.AUTH_ALGORITHMS || 'RS256')
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    if (algorithms.length === 0 || algorithms.some((a) => !ASYMMETRIC_ALGORITHMS.includes(a))) {
      throw new ConfigError(
        `AUTH_ALGORITHMS may list only asymmetric algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')}), got "${env.AUTH_ALGORITHMS}"`,
      );
    }
    externalIdp = { jwksUrl, issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, algorithms };
  } else {
    for (const name of ['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_ALGORITHMS']) {
      if (env[name])
        throw new ConfigError(
          `${name} is set but AUTH_JWKS_URL is not (the external identity provider needs all of them)`,
        );
    }
  }
  const exposeSqlStatementCount = bool(env, 'EXPOSE_SQL_STATEMENT_COUNT', false);
  if (production && exposeSqlStatementCount) {
    throw new ConfigError('EXPOSE_SQL_STATEMENT_COUNT is a development aid and is refused when NODE_ENV=production');
  }
  const platformAdminToken = env.PLATFORM_ADMIN_TOKEN || undefined;
  if (platformAdminToken && platformAdminToken.length < 32) {
    throw new ConfigError('PLATFORM_ADMIN_TOKEN must be at least 32 characters (e.g. openssl rand -base64 32)');
  }
  const statementTimeoutMs = int(env, 'DB_STATEMENT_TIMEOUT_MS', 15000, 100, 600000);
  const requestTimeoutMs = int(env, 'REQUEST_TIMEOUT_MS', 30000, 1000, 600000);
  // 10 s was the hard-coded wait before it was configurable: the default keeps what passed under load passing
  // (now answered 503 instead of 500 when it runs out); lower it to shed load sooner.
  const dbPoolWaitMs = int(env, 'DB_POOL_WAIT_MS', 10000, 100, 600000);
  if (dbPoolWaitMs >= requestTimeoutMs) {
    throw new ConfigError(
      `DB_POOL_WAIT_MS (${dbPoolWaitMs}) must be less than REQUEST_TIMEOUT_MS (${requestTimeoutMs}): the pool wait is part of the request's deadline`,
    );
  }
  if (statementTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      `DB_STATEMENT_TIMEOUT_MS (${statementTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
    );
  }
  const headersTimeoutMs = int(env, 'HTTP_HEADERS_TIMEOUT_MS', 10000, 1000, 600000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      `HTTP_HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
    );
  }
  return {
    env: nodeEnv,
    platformAdminToken,
    apiKeyExchange: {
      tokenTtlSeconds: int(env, 'API_KEY_TOKEN_TTL_SECONDS', 900, 30, 86400),
      windowSeconds: int(env, 'AUTH_RATE_LIMIT_WINDOW_SECONDS', 60, 1, 3600),
      perAddress: int(env, 'AUTH_RATE_LIMIT_PER_ADDRESS', 60, 1, 100000),
      perKey: int(env, 'AUTH_RATE_LIMIT_PER_KEY', 30, 1, 100000),
    },
    trustProxy: int(env, 'TRUST_PROXY_HOPS', 0, 0, 10),
    port: int(env, 'PORT', 4000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    dataDir: path.resolve(env.DATA_DIR || '.data'),
    databaseUrl: url(env, 'DATABASE_URL', POSTGRES_URL),
    appDatabaseUrl: url(env, 'APP_DATABASE_URL', POSTGRES_URL),
    embeddedPgPort: int(env, 'EMBEDDED_PG_PORT', 54329, 1024, 65535),
    dbPoolSize: int(env, 'DB_POOL_SIZE', 10, 1, 500),
    dbPreparedStatements: onOff(env, 'DB_PREPARED_STATEMENTS', true),
    statementTimeoutMs,
    dbPoolWaitMs,
    dbStartupTimeoutMs: int(env, 'DB_STARTUP_TIMEOUT_MS', 30000, 0, 3600000),
    requestTimeoutMs,
    http: {
      headersTimeoutMs,
      keepAliveTimeoutMs: int(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 5000, 100, 600000),
      maxConnections: int(env, 'HTTP_MAX_CONNECTIONS', 1000, 0, 1000000),
    },
    jwt: {
      issuer: env.JWT_ISSUER || 'manifest-gateway',
      audience: env.JWT_AUDIENCE || 'manifest-gateway',
      privateKey,
      clockToleranceSeconds: int(env, 'JWT_CLOCK_TOLERANCE_SECONDS', 5, 0, 300),
      defaultTtlSeconds: int(env, 'JWT_TTL_SECONDS', 900, 30, 86400),
    },
    externalIdp,
    graphql: {
      introspection: bool(env, 'GRAPHQL_INTROSPECTION', !production),
      maxDepth: int(env, 'GRAPHQL_MAX_DEPTH', 10, 2, 100),
      maxAliases: int(env, 'GRAPHQL_MAX_ALIASES', 15, 0, 1000),
      maxNodes: int(env, 'GRAPHQL_MAX_NODES', 50000, 100, 10000000),
      maxTokens: int(env, 'GRAPHQL_MAX_TOKENS', 2000, 50, 100000),
      // jit by default (issue 11: W1 −22 % CPU per request, bench/README.md), except when OpenTelemetry export
      // is on: @opentelemetry/instrumentation-graphql hooks graphql-js's `execute`, so operators who export
      // spans keep the graphql.execute span. Either can be chosen explicitly.
      executor: oneOf(
        env,
        'GRAPHQL_EXECUTOR',
        ['graphql-js', 'jit'] as const,
        otelRequested(env as NodeJS.ProcessEnv) ? 'graphql-js' : 'jit',
      ),
      sqlPlan: onOff(env, 'GRAPHQL_SQL_PLAN', true),
    },
    exposeSqlStatementCount,
    graphiql: onOff(env, 'GRAPHIQL', !production),
    encryption: encryptionKeys(env, production),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'warn' : 'info'),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10000, 0, 600000),
    // On by default: operators expect one line per request (nginx, Envoy, Apollo Router's and Hasura's
    // request logs); it costs a few microseconds of a request's ~2 ms (README "Metrics and access log").
    accessLog: onOff(env, 'ACCESS_LOG', true),
    corsOrigins: corsOrigins(env),
    metrics: { maxOperationNames: int(env, 'METRICS_MAX_OPERATION_NAMES', 100, 0, 10000) },
    tracing: {
      retentionIntervalMs: int(env, 'TRACE_RETENTION_INTERVAL_MS', 600000, 0, 86400000),
      retentionBatchSize: int(env, 'TRACE_RETENTION_BATCH_SIZE', 5000, 1, 1000000),
      writeQueueMax: int(env, 'TRACE_WRITE_QUEUE_MAX', 10000, 1, 1000000),
    },
  };
}
