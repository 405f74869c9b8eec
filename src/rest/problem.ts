import type { Response } from 'express';
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
import { bearerChallenge, outageOf, RETRY_AFTER_SECONDS } from '../graphql/errors';
import { isTransientFailure } from '../db/tenant-scope';
import { snake } from './schema';

/**
 * RFC 9457 problem details (`application/problem+json`) for every REST refusal, with the same codes as
 * GraphQL's `extensions.code` and the request id:
 *
 *   {"type": "https://manifest-gateway.dev/problems/not-found", "title": "Not Found", "status": 404,
 *    "detail": "…", "code": "NOT_FOUND", "request_id": "…"}
 *
 * BAD_USER_INPUT adds `errors: [{field, message}]` (every bad field, snake_case paths). `type` is a stable
 * URI per code (RFC 9457 §3.1.1: it need not resolve; it identifies the problem type).
 *
 * NOT_FOUND never names the id: an object of another organization, a malformed id, an id that never
 * existed and another organization's id in the path all answer the one same body (only `request_id`
 * differs), so a 404 tells nothing about other tenants.
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

export const PROBLEM_TYPE_BASE = 'https://manifest-gateway.dev/problems/';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The one 404 of the REST API (see above). */
export const NOT_FOUND_DETAIL = 'No such resource, or not one of your organization';
export function notFound(): HttpProblem {
  return new HttpProblem(404, ErrorCode.NOT_FOUND, NOT_FOUND_DETAIL);
}

export function badRequest(fields: FieldError[]): HttpProblem {
  const bad = new BadInputError(fields);
  return new HttpProblem(400, bad.code, bad.message, { errors: fields });
}

/** Anything thrown while serving a REST request → its problem (unknown errors: a bare 500). */
export function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof NotFoundError) return notFound();
  if (error instanceof BadInputError) {
    const errors = error.fields.map((f) => ({ field: f.field.split('.').map(snake).join('.'), message: f.message }));
    return new HttpProblem(400, error.code, `Invalid input: ${[...new Set(errors.map((e) => e.field))].join(', ')}`, {
      errors,
    });
  }
  if (error instanceof UnauthenticatedError) {
    return new HttpProblem(
      401,
      error.code,
      error.message,
      {},
      {
        'www-authenticate': bearerChallenge(error.tokenSent ? { description: error.message } : undefined),
      },
    );
  }
  if (error instanceof OrgArchivedError || error instanceof OrgSuspendedError || error instanceof ForbiddenError)
    return new HttpProblem(403, error.code, error.message);
  if (error instanceof DomainError) {
    // Domain errors without an HTTP meaning of their own (e.g. CONFLICT from a service): 409 for CONFLICT,
    // 400 otherwise; the code is what clients branch on.
    return new HttpProblem(error.code === ErrorCode.CONFLICT ? 409 : 400, error.code, error.message);
  }
  const outage = outageOf(error);
  if (outage)
    return new HttpProblem(503, outage.code, outage.message, {}, { 'retry-after': String(RETRY_AFTER_SECONDS) });
  if (isTransientFailure(error))
    return new HttpProblem(
      409,
      ErrorCode.CONFLICT,
      'This change collided with concurrent changes and was not made: retry it',
    );
  return new HttpProblem(500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
}

export function sendProblem(res: Response, problem: HttpProblem): void {
  const requestId = res.locals.requestId as string | undefined;
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.setHeader('cache-control', 'no-store');
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: PROBLEM_TYPE_BASE + problem.code.toLowerCase().replace(/_/g, '-'),
        title: TITLES[problem.status] ?? 'Error',
        status: problem.status,
        detail: problem.detail,
        code: problem.code,
        ...problem.extra,
        request_id: requestId,
      }),
    );
}

/** The problem document's JSON Schema (OpenAPI components). */
export const PROBLEM_SCHEMA = {
  type: 'object',
  description: 'RFC 9457 problem details; `code` is the same code GraphQL puts in `extensions.code`.',
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: {
      type: 'string',
      enum: [
        ErrorCode.BAD_USER_INPUT,
        ErrorCode.BAD_REQUEST,
        ErrorCode.UNAUTHENTICATED,
        ErrorCode.FORBIDDEN,
        ErrorCode.NOT_FOUND,
        ErrorCode.ORG_SUSPENDED,
        ErrorCode.ORG_ARCHIVED,
        ErrorCode.CONFLICT,
        'PRECONDITION_FAILED',
        ErrorCode.RATE_LIMITED,
        ErrorCode.SERVICE_UNAVAILABLE,
        ErrorCode.TIMEOUT,
        ErrorCode.INTERNAL_SERVER_ERROR,
      ],
    },
    errors: {
      type: 'array',
      description: 'BAD_USER_INPUT: every bad field (snake_case path) and what is wrong with it.',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, message: { type: 'string' } },
        required: ['field', 'message'],
      },
    },
    request_id: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'detail', 'code', 'request_id'],
};
