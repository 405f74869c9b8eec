import type { ValidationError } from 'class-validator';
import { isUuid } from './db/tenant-scope';

/**
 * Domain errors: what services throw. They know nothing of GraphQL or HTTP; each transport maps them to
 * its own shape (GraphQL: graphql/errors.ts `toGraphQLError`, the same `extensions.code`, message, `fields`
 * and HTTP status as always). The code of each is stable and is what clients see.
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

export interface FieldError {
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
}

/** No verified caller, or the token's caller is not (or no longer) one the organization accepts. */
export class UnauthenticatedError extends DomainError {
  readonly code = ErrorCode.UNAUTHENTICATED;
  /** A credential was presented and refused (bad token, unknown organization, non-member, revoked key). */
  readonly tokenSent: boolean;
  constructor(
    message = 'Authentication required: send Authorization: Bearer <token>',
    options: { tokenSent?: boolean } = {},
  ) {
    super(message);
    this.tokenSent = options.tokenSent ?? false;
  }
}

export class ForbiddenError extends DomainError {
  readonly code = ErrorCode.FORBIDDEN;
}

/** The same answer for "does not exist" and "belongs to another organization". */
export class NotFoundError extends DomainError {
  readonly code = ErrorCode.NOT_FOUND;
  constructor(kind: string, id: string) {
    super(`${kind} ${id} not found`);
  }
}

/** One entry per bad field; the message names them all. */
export class BadInputError extends DomainError {
  readonly code = ErrorCode.BAD_USER_INPUT;
  constructor(readonly fields: FieldError[]) {
    super(`Invalid input: ${[...new Set(fields.map((f) => f.field))].join(', ')}`);
  }
}

export class OrgArchivedError extends DomainError {
  readonly code = ErrorCode.ORG_ARCHIVED;
  constructor() {
    super('This organization is archived');
  }
}

export class OrgSuspendedError extends DomainError {
  readonly code = ErrorCode.ORG_SUSPENDED;
  constructor() {
    super('This organization is suspended: reads work, changes are refused');
  }
}

/** class-validator's nested errors → one entry per bad field (dotted paths). */
export function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** Ids are UUIDs; anything else is a client mistake, reported as such (not as a database error). */
export function checkId(id: string, field = 'id'): string {
  if (!isUuid(id)) throw new BadInputError([{ field, message: `${field} must be an id returned by this API` }]);
  return id.toLowerCase();
}
