import { AsyncLocalStorage } from 'node:async_hooks';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { ValidationError } from 'class-validator';
import { unwrapResolverError } from '@apollo/server/errors';
import { ScopeRefusal } from '../db/tenant-scope';
import { isTransientFailure } from '../db/tenant-scope';

/**
 * The stable error codes clients see in `extensions.code`. Anything else is an internal error: its
 * message is replaced (it may hold SQL or internals) and the detail goes to the log under the request id.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  RATE_LIMITED: 'RATE_LIMITED',
  ORG_SUSPENDED: 'ORG_SUSPENDED',
  ORG_ARCHIVED: 'ORG_ARCHIVED',
  /** A query limit refused the document before execution: `extensions.limit` names it (tokens, depth, aliases, directives, nodes). */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** `subscription` operations are not served (no Subscription type, no streaming transport). */
  SUBSCRIPTIONS_NOT_SUPPORTED: 'SUBSCRIPTIONS_NOT_SUPPORTED',
  /** The HTTP request itself is malformed (body, content type, parameters); see src/graphql/http.ts. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The database is unreachable, restarting, or the connection pool is exhausted: HTTP 503, Retry-After. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** A statement ran into DB_STATEMENT_TIMEOUT_MS or the request ran past REQUEST_TIMEOUT_MS: HTTP 503, Retry-After. */
  TIMEOUT: 'TIMEOUT',
  /** A mutation kept colliding with concurrent changes (deadlock or serialization failure after retries). */
  CONFLICT: 'CONFLICT',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

const CLIENT_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  // Raised by Apollo Server / graphql-js / graphql-armor before any resolver runs.
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

export interface FieldError {
  field: string;
  message: string;
}

/** The protection space of every 401 this gateway sends (RFC 6750 §3). */
export const REALM = 'manifest-gateway';

/**
 * The `WWW-Authenticate` value of a 401 (RFC 6750 §3): the bare challenge when no credential was sent
 * (§3.1: no error code then), `error="invalid_token"` with a description when one was. The description
 * is our own message (never the token) reduced to the characters §3 allows in it.
 */
export function bearerChallenge(invalidToken?: { description: string }): string {
  if (!invalidToken) return `Bearer realm="${REALM}"`;
  const description = invalidToken.description.replace(/"/g, "'").replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '');
  return `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"`;
}

/**
 * UNAUTHENTICATED, HTTP 401 with its `WWW-Authenticate` challenge. `tokenSent`: a credential was
 * presented and refused (bad token, unknown organization, non-member, revoked key).
 */
export function unauthenticated(message = 'Authentication required: send Authorization: Bearer <token>', options: { tokenSent?: boolean } = {}): GraphQLError {
  const challenge = bearerChallenge(options.tokenSent ? { description: message } : undefined);
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401, headers: new Map([['www-authenticate', challenge]]) } },
  });
}

export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.FORBIDDEN } });
}

/** The same answer for "does not exist" and "belongs to another organization". */
export function notFound(kind: string, id: string): GraphQLError {
  return new GraphQLError(`${kind} ${id} not found`, { extensions: { code: ErrorCode.NOT_FOUND } });
}

export function badInput(fields: FieldError[]): GraphQLError {
  const names = [...new Set(fields.map((f) => f.field))].join(', ');
  return new GraphQLError(`Invalid input: ${names}`, { extensions: { code: ErrorCode.BAD_USER_INPUT, fields } });
}

export function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * The request being served (set by the HTTP layer for the whole request), so that every error formatted
 * for it, also the ones Apollo raises before any plugin runs (bad HTTP parameters, a refused token), carries
 * `extensions.requestId`.
 */
export const requestScope = new AsyncLocalStorage<{ requestId: string; legacyJson?: boolean }>();

/**
 * Codes a validation rule may give its error. Apollo files every validation error under
 * GRAPHQL_VALIDATION_FAILED (its ValidationError overwrites `extensions.code` but keeps the rule's error as
 * `originalError`); these more precise ones are restored.
 */
const VALIDATION_CODES = new Set<string>([ErrorCode.QUERY_TOO_COMPLEX, ErrorCode.SUBSCRIPTIONS_NOT_SUPPORTED]);
/**
 * graphql-js's own token limit (Apollo's `parseOptions.maxTokens`) is a syntax error; we answer it as the
 * limit it is. Finding: graphql 16 spells the message "more that N tokens".
 */
const TOKEN_LIMIT = /Document contains more tha[nt] (\d+) tokens/;
/** Every "Did you mean …?" graphql-js appends: fields, types, arguments, input fields, enum values (also in variables). */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * Maps whatever a resolver threw to what a client may see: errors with a client code keep their message
 * and extensions (input validation already produced BAD_USER_INPUT with one entry per bad field, see
 * graphql/validation.ts); unknown errors become a bare INTERNAL_SERVER_ERROR. Every error gets the request
 * id. With `hideSuggestions` (production), no message suggests a name: graphql-armor's
 * blockFieldSuggestion only masks some of them, and enum suggestions from variable coercion
 * (graphql-js coerceInputValue) would let anyone enumerate the schema with introspection off.
 */
export function createFormatError(options: { hideSuggestions: boolean }) {
  return function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    const requestId = requestScope.getStore()?.requestId;
    const outage = outageOf(unwrapResolverError(error));
    if (outage) {
      return {
        message: outage.message,
        path: formatted.path,
        locations: formatted.locations,
        extensions: { code: outage.code, ...(requestId ? { requestId } : {}) },
      };
    }
    let code = formatted.extensions?.code as string | undefined;
    let { message } = formatted;
    if (isTransientFailure(error) || isTransientFailure((error as { originalError?: unknown })?.originalError)) {
      // TenantScope.mutation already retried it: tell the client it may retry, and that nothing was changed.
      return {
        message: 'This change collided with concurrent changes and was not made: retry it',
        path: formatted.path,
        locations: formatted.locations,
        extensions: { code: ErrorCode.CONFLICT, ...(requestId ? { requestId } : {}) },
      };
    }
    const { stacktrace: _stack, exception: _exception, ...extensions } = formatted.extensions ?? {};
    if (code === 'GRAPHQL_VALIDATION_FAILED') {
      const own = ((error as GraphQLError | undefined)?.originalError as GraphQLError | undefined)?.extensions?.code;
      if (typeof own === 'string' && VALIDATION_CODES.has(own)) code = own;
    }
    const tokens = code === 'GRAPHQL_PARSE_FAILED' ? TOKEN_LIMIT.exec(message) : null;
    if (tokens) {
      code = ErrorCode.QUERY_TOO_COMPLEX;
      message = `Token limit of ${tokens[1]} exceeded.`;
      Object.assign(extensions, { limit: 'tokens', maximum: Number(tokens[1]) });
    }
    if (code && CLIENT_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      if (options.hideSuggestions) message = message.replace(SUGGESTION, '');
      return { ...formatted, message, extensions: { ...extensions, code, ...(requestId ? { requestId } : {}) } };
    }
    return {
      message: 'Internal server error',
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, ...(requestId ? { requestId } : {}) },
    };
  };
}

/** The PostgreSQL error codes services translate into client errors, and the ones that mean an outage. */
export const PgError = {
  UNIQUE_VIOLATION: '23505',
  FOREIGN_KEY_VIOLATION: '23503',
  CHECK_VIOLATION: '23514',
  /** statement_timeout (or a cancel request). */
  QUERY_CANCELED: '57014',
  ADMIN_SHUTDOWN: '57P01',
  CRASH_SHUTDOWN: '57P02',
  /** The server is starting up, shutting down or in recovery. */
  CANNOT_CONNECT_NOW: '57P03',
  DATABASE_DROPPED: '57P04',
  TOO_MANY_CONNECTIONS: '53300',
  IDLE_IN_TRANSACTION_TIMEOUT: '25P03',
} as const;

export type OutageCode = typeof ErrorCode.SERVICE_UNAVAILABLE | typeof ErrorCode.TIMEOUT;

/** The codes answered with HTTP 503 and Retry-After. */
export const OUTAGE_CODES: ReadonlySet<string> = new Set([ErrorCode.SERVICE_UNAVAILABLE, ErrorCode.TIMEOUT]);

/** Seconds a client should wait before retrying after an outage answer. */
export const RETRY_AFTER_SECONDS = 1;

export interface Outage {
  code: OutageCode;
  /** Safe for clients: names the kind of trouble, never SQL, hosts or parameters. */
  message: string;
}

const UNAVAILABLE_PG_CODES = new Set<string>([
  PgError.ADMIN_SHUTDOWN,
  PgError.CRASH_SHUTDOWN,
  PgError.CANNOT_CONNECT_NOW,
  PgError.DATABASE_DROPPED,
  PgError.TOO_MANY_CONNECTIONS,
  PgError.IDLE_IN_TRANSACTION_TIMEOUT,
  '53000', // insufficient_resources
  '53100', // disk_full
  '53200', // out_of_memory
]);
/** Socket-level failures (Node errno codes) reaching the database. */
const UNREACHABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

const UNAVAILABLE: Outage = { code: ErrorCode.SERVICE_UNAVAILABLE, message: 'The database is unavailable; retry later' };
const POOL_EXHAUSTED: Outage = { code: ErrorCode.SERVICE_UNAVAILABLE, message: 'All database connections are busy (DB_POOL_WAIT_MS elapsed); retry later' };
const STATEMENT_TIMEOUT: Outage = { code: ErrorCode.TIMEOUT, message: 'A database statement ran past its time limit; retry later' };
const REQUEST_DEADLINE: Outage = { code: ErrorCode.TIMEOUT, message: 'The request ran past its time limit; retry later' };

/**
 * The one table from database trouble to what clients see: an unreachable or restarting database, a
 * broken connection and an exhausted pool are SERVICE_UNAVAILABLE; a statement timeout and the request
 * deadline are TIMEOUT; anything else is not an outage (undefined). Reads pg's error codes (SQLSTATE and
 * errno) through TypeORM's QueryFailedError (`driverError`), `cause` chains and AggregateErrors (Node's
 * happy-eyeballs connect), and pg / pg-pool's messages for the conditions that carry no code.
 */
export function outageOf(error: unknown, depth = 0): Outage | undefined {
  if (!error || typeof error !== 'object' || depth > 5) return undefined;
  if (error instanceof ScopeRefusal) {
    if (error.reason === 'deadline') return REQUEST_DEADLINE;
    if (error.reason === 'connection_lost') return UNAVAILABLE;
    return undefined;
  }
  const e = error as { code?: unknown; message?: unknown; driverError?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown; name?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code === PgError.QUERY_CANCELED) return STATEMENT_TIMEOUT;
  if (code && (UNAVAILABLE_PG_CODES.has(code) || code.startsWith('08') || UNREACHABLE_ERRNO.has(code))) return UNAVAILABLE;
  const message = typeof e.message === 'string' ? e.message : '';
  // pg-pool: waiting for a free client exceeded connectionTimeoutMillis (DB_POOL_WAIT_MS).
  if (message === 'timeout exceeded when trying to connect') return POOL_EXHAUSTED;
  if (
    /^Connection terminated/.test(message) || // pg: the server went away (also "… due to connection timeout")
    message === 'Client has encountered a connection error and is not queryable' ||
    message === 'Client was closed and is not queryable' ||
    message === 'Cannot use a pool after calling end on the pool' ||
    e.name === 'QueryRunnerAlreadyReleasedError' // TypeORM: the driver dropped the broken connection under us
  ) {
    return UNAVAILABLE;
  }
  for (const inner of [e.driverError, e.originalError, e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const outage = outageOf(inner, depth + 1);
    if (outage) return outage;
  }
  return undefined;
}

/** PostgreSQL error code of a TypeORM QueryFailedError (or undefined). */
export function pgErrorCode(error: unknown): string | undefined {
  const driverError = (error as { driverError?: { code?: string } })?.driverError;
  return driverError?.code;
}

export function pgConstraint(error: unknown): string | undefined {
  return (error as { driverError?: { constraint?: string } })?.driverError?.constraint;
}

/** A loggable summary of an error: never query parameters (they may carry secrets). */
export function errorForLog(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const driverError = (error as { driverError?: { code?: string; message?: string; constraint?: string } }).driverError;
  return {
    type: error.constructor?.name ?? error.name,
    message: driverError?.message ?? error.message,
    pgCode: driverError?.code,
    constraint: driverError?.constraint,
    stack: error.stack,
  };
}
