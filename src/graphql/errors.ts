import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import type { RequestTrace } from '../tracing/request-trace';
import {
  BadInputError,
  DomainError,
  ErrorCode,
  ForbiddenError,
  NotFoundError,
  OrgArchivedError,
  OrgSuspendedError,
  UnauthenticatedError,
  type FieldError,
} from '../errors';
import { PgError } from '../db/pg-errors';
import { unwrapResolverError } from '@apollo/server/errors';
import { ScopeRefusal } from '../db/tenant-scope';
import { isTransientFailure } from '../db/tenant-scope';

export { ErrorCode, flatten, type FieldError } from '../errors';

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
 * The one mapping from domain errors (src/errors.ts, thrown by services and auth) to what a GraphQL client
 * sees: the code in `extensions.code`, the field list for bad input, and the HTTP status where there is one
 * (401 with its `WWW-Authenticate` challenge, 403 for an archived or suspended organization).
 */
export function toGraphQLError(error: DomainError, path?: GraphQLError['path']): GraphQLError {
  const options = { path, originalError: error };
  if (error instanceof UnauthenticatedError) {
    const challenge = bearerChallenge(error.tokenSent ? { description: error.message } : undefined);
    return new GraphQLError(error.message, {
      ...options,
      extensions: { code: error.code, http: { status: 401, headers: new Map([['www-authenticate', challenge]]) } },
    });
  }
  if (error instanceof BadInputError)
    return new GraphQLError(error.message, { ...options, extensions: { code: error.code, fields: error.fields } });
  if (error instanceof OrgArchivedError || error instanceof OrgSuspendedError) {
    return new GraphQLError(error.message, { ...options, extensions: { code: error.code, http: { status: 403 } } });
  }
  return new GraphQLError(error.message, { ...options, extensions: { code: error.code } });
}

/** For the GraphQL transport's own refusals (plugin, directives, input validation). */
export function unauthenticated(message?: string, options: { tokenSent?: boolean } = {}): GraphQLError {
  return toGraphQLError(new UnauthenticatedError(message, options));
}

export function forbidden(message: string): GraphQLError {
  return toGraphQLError(new ForbiddenError(message));
}

export function notFound(kind: string, id: string): GraphQLError {
  return toGraphQLError(new NotFoundError(kind, id));
}

export function badInput(fields: FieldError[]): GraphQLError {
  return toGraphQLError(new BadInputError(fields));
}

/**
 * A schema-level wrapper: every field resolver's domain error becomes its GraphQL error here, once, so
 * services stay free of GraphQL and the errors keep their codes, statuses and field lists.
 */
export function mapDomainErrors(schema: GraphQLSchema): GraphQLSchema {
  const map = (error: unknown): never => {
    throw error instanceof DomainError ? toGraphQLError(error) : error;
  };
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig) => {
      const resolve = fieldConfig.resolve;
      if (!resolve) return fieldConfig;
      return {
        ...fieldConfig,
        resolve(source, args, context: { trace?: RequestTrace } | undefined, info) {
          const trace = context?.trace;
          if (trace?.recordsResolvers) return traced(trace, () => resolve(source, args, context, info), info);
          try {
            const result = resolve(source, args, context, info);
            return isPromise(result) ? result.then(undefined, map) : result;
          } catch (error) {
            return map(error);
          }
        },
      };
    },
  });
}

/**
 * A resolver of a request whose trace is recording (src/tracing): a span when it returned a promise (it did
 * I/O) or failed; synchronous answers are not spans (README "Tracing").
 */
function traced(trace: RequestTrace, run: () => unknown, info: GraphQLResolveInfo): unknown {
  const map = (error: unknown): never => {
    throw error instanceof DomainError ? toGraphQLError(error) : error;
  };
  const start = trace.now();
  const span = (failed: boolean) => trace.resolver(info.path, info.parentType.name, info.fieldName, start, failed);
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    span(true);
    return map(error);
  }
  if (!isPromise(result)) return result;
  return result.then(
    (value) => {
      span(false);
      return value;
    },
    (error: unknown) => {
      span(true);
      return map(error);
    },
  );
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | null)?.then === 'function';
}

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
 * id, added where the answer is sent (`withRequestIds`: Apollo calls formatError without the request). With `hideSuggestions` (production), no message suggests a name: graphql-armor's
 * blockFieldSuggestion only masks some of them, and enum suggestions from variable coercion
 * (graphql-js coerceInputValue) would let anyone enumerate the schema with introspection off.
 */
export function createFormatError(options: { hideSuggestions: boolean }) {
  return function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    const outage = outageOf(unwrapResolverError(error));
    if (outage) {
      return {
        message: outage.message,
        path: formatted.path,
        locations: formatted.locations,
        extensions: { code: outage.code },
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
        extensions: { code: ErrorCode.CONFLICT },
      };
    }
    const { stacktrace: _stack, exception: _exception, ...extensions } = formatted.extensions ?? {};
    if (code === 'GRAPHQL_VALIDATION_FAILED') {
      const own = ((error as GraphQLError | undefined)?.originalError as GraphQLError | undefined)?.extensions?.code;
      if (typeof own === 'string' && VALIDATION_CODES.has(own)) code = own;
    }
    if (code === 'GRAPHQL_VALIDATION_FAILED' && message === 'Validation aborted.') {
      // graphql-js 16.15's overlapping-fields rule stops at its own work budget (~1,000 copies of one field)
      // with this bare message: a limit refusal like ours, so it gets their code and says which limit.
      code = ErrorCode.QUERY_TOO_COMPLEX;
      message = 'The query repeats fields too often to validate; ask for each field once.';
      Object.assign(extensions, { limit: 'overlapping fields' });
    }
    const tokens = code === 'GRAPHQL_PARSE_FAILED' ? TOKEN_LIMIT.exec(message) : null;
    if (tokens) {
      code = ErrorCode.QUERY_TOO_COMPLEX;
      message = `Token limit of ${tokens[1]} exceeded.`;
      Object.assign(extensions, { limit: 'tokens', maximum: Number(tokens[1]) });
    }
    if (code && CLIENT_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      if (options.hideSuggestions) message = message.replace(SUGGESTION, '');
      return { ...formatted, message, extensions: { ...extensions, code } };
    }
    return {
      message: 'Internal server error',
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

export { PgError, pgConstraint, pgErrorCode } from '../db/pg-errors';

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
const UNREACHABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

const UNAVAILABLE: Outage = {
  code: ErrorCode.SERVICE_UNAVAILABLE,
  message: 'The database is unavailable; retry later',
};
const POOL_EXHAUSTED: Outage = {
  code: ErrorCode.SERVICE_UNAVAILABLE,
  message: 'All database connections are busy (DB_POOL_WAIT_MS elapsed); retry later',
};
const STATEMENT_TIMEOUT: Outage = {
  code: ErrorCode.TIMEOUT,
  message: 'A database statement ran past its time limit; retry later',
};
const REQUEST_DEADLINE: Outage = {
  code: ErrorCode.TIMEOUT,
  message: 'The request ran past its time limit; retry later',
};

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
  const e = error as {
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    originalError?: unknown;
    cause?: unknown;
    errors?: unknown;
    name?: unknown;
  };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code === PgError.QUERY_CANCELED) return STATEMENT_TIMEOUT;
  if (code && (UNAVAILABLE_PG_CODES.has(code) || code.startsWith('08') || UNREACHABLE_ERRNO.has(code)))
    return UNAVAILABLE;
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
