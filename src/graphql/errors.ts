import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { ValidationError } from 'class-validator';
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

export function unauthenticated(message = 'Authentication required: send Authorization: Bearer <token>'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
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
 * Maps whatever a resolver threw to what a client may see: errors with a client code keep their message
 * and extensions (input validation already produced BAD_USER_INPUT with one entry per bad field, see
 * graphql/validation.ts); unknown errors become a bare INTERNAL_SERVER_ERROR.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (isTransientFailure(error) || isTransientFailure((error as { originalError?: unknown })?.originalError)) {
    // TenantScope.mutation already retried it: tell the client it may retry, and that nothing was changed.
    return {
      message: 'This change collided with concurrent changes and was not made: retry it',
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: ErrorCode.CONFLICT },
    };
  }
  const code = formatted.extensions?.code as string | undefined;
  if (code && CLIENT_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
    const { stacktrace: _stack, exception: _exception, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  return {
    message: 'Internal server error',
    path: formatted.path,
    locations: formatted.locations,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}

/** The PostgreSQL error codes services translate into client errors. */
export const PgError = {
  UNIQUE_VIOLATION: '23505',
  FOREIGN_KEY_VIOLATION: '23503',
  CHECK_VIOLATION: '23514',
} as const;

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
