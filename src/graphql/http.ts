import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode } from './errors';

/**
 * GraphQL over HTTP (graphql.github.io/graphql-over-http), around Apollo Server 5's own handling.
 *
 * Apollo already does most of it (GET/POST parameters and their types, 405 for mutations over GET,
 * application/graphql-response+json negotiation, 400 for parse/validation/variable errors). What this file
 * adds, kept small and in one place:
 * - before Apollo: 406 when Accept allows neither JSON media type (Apollo only notices *after* executing,
 *   so a mutation would have run), 415 for a POST that is not `application/json` (the express5 integration
 *   would answer 500 on a body it cannot read), and body-parser failures (malformed JSON, too large) in the
 *   GraphQL error shape with code BAD_REQUEST instead of express's `{"error":"entity.parse.failed"}`;
 * - after Apollo (a plugin): the status rules of the spec Apollo does not follow, see `httpStatusPlugin`;
 * - a validation rule refusing `subscription` operations with a code of their own.
 */

const MEDIA_TYPES = ['application/json', 'application/graphql-response+json'];

/** The handlers of /graphql: checks, JSON body, Apollo's middleware (its errors with the request id), body-parser errors. */
export function graphqlHttp(
  apollo: RequestHandler,
  options: { bodyLimit: string; knownDocuments?: RequestHandler },
): Array<RequestHandler | express.ErrorRequestHandler> {
  const known = options.knownDocuments ? [options.knownDocuments] : [];
  return [checkRequest, express.json({ limit: options.bodyLimit }), ...known, withRequestIds(apollo), bodyErrors];
}

/**
 * Every GraphQL error Apollo answers carries `extensions.requestId` (the response's `x-request-id`). Apollo
 * calls formatError without the request (also for errors raised before any plugin runs: a refused token in
 * the context function, bad HTTP parameters), so the id is added where the answer is sent: Apollo's express
 * integration answers with `res.send(string)`, and Apollo writes `errors` first (`orderExecutionResultFields`,
 * also in its error responses), so an answer without errors is told by its first bytes and passes untouched;
 * only an answer with errors is parsed and written again. (This replaced an AsyncLocalStorage, whose promise
 * hooks cost every request: bench/README.md "Per-request overhead".) `send` is replaced once on the app's
 * response prototype (`installGraphQLRequestIds`), not per response: an own property added to every
 * ServerResponse would change its shape on the hot path; the handler only marks the response as GraphQL's.
 */
function withRequestIds(apollo: RequestHandler): RequestHandler {
  return (req, res, next) => {
    res.locals.graphql = true;
    return apollo(req, res, next);
  };
}

const ERRORS_FIRST = '{"errors":';

/** Makes `res.send` of GraphQL answers add the request id to their errors (see withRequestIds). */
export function installGraphQLRequestIds(app: express.Express): void {
  const send = app.response.send;
  app.response.send = function sendWithRequestIds(this: Response, body?: unknown): Response {
    const requestId = this.locals.requestId as string | undefined;
    if (this.locals.graphql === true && typeof body === 'string' && requestId && body.startsWith(ERRORS_FIRST)) {
      try {
        const answer = JSON.parse(body) as { errors?: Array<{ extensions?: Record<string, unknown> }> };
        for (const error of answer.errors ?? []) error.extensions = { ...error.extensions, requestId };
        body = JSON.stringify(answer) + (body.endsWith('\n') ? '\n' : '');
      } catch {
        /* not JSON after all: sent as it is */
      }
    }
    return send.call(this, body);
  };
}

/**
 * Apollo Server's content types for a single result, in the order its negotiation offers them
 * (`chooseContentTypeForSingleResultResponse`: the same `negotiator` package as `req.accepts`). Negotiating
 * over them with their parameters is what makes `Accept: application/json; charset=utf-8` acceptable (a range
 * with a parameter matches only a type with that parameter) and answers
 * `application/graphql-response+json; charset=utf-8, application/json` as Apollo does.
 */
export const APOLLO_CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'application/graphql-response+json; charset=utf-8',
  'application/json; callbackSpec=1.0; charset=utf-8',
];

function checkRequest(req: Request, res: Response, next: NextFunction): void {
  // Exactly what Apollo's own negotiation accepts (with `*/*` or no Accept, application/json).
  const mediaType = req.accepts(APOLLO_CONTENT_TYPES);
  if (!mediaType) {
    sendRequestError(
      req,
      res,
      406,
      'The Accept header must allow application/graphql-response+json or application/json',
    );
    return;
  }
  // Read by httpStatusPlugin through the GraphQL context (server.ts).
  res.locals.legacyJson = mediaType === APOLLO_CONTENT_TYPES[0] && namesApplicationJson(req.header('accept'));
  const contentType = (req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (req.method === 'POST' && contentType !== 'application/json') {
    sendRequestError(req, res, 415, 'A POST request must have Content-Type: application/json');
    return;
  }
  next();
}

/** True when the Accept header names application/json itself (not only through a wildcard), q > 0. */
function namesApplicationJson(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((range) => {
    const [type, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    return type === 'application/json' && !parameters.some((p) => /^q=0(\.0*)?$/.test(p.replace(/\s/g, '')));
  });
}

/** Fixed messages: body-parser's own message for a parse failure quotes part of the body (it could hold a secret). */
export const BODY_ERRORS: Record<string, string> = {
  'entity.parse.failed': 'The request body is not valid JSON',
  'entity.too.large': 'The request body is too large',
  'charset.unsupported': 'The request body must be UTF-8',
  'encoding.unsupported': 'Unsupported Content-Encoding',
  'request.aborted': 'The request was aborted',
};

function bodyErrors(
  error: Error & { status?: number; type?: string },
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  // Every 4xx of the body parser, typed or not: a corrupt compressed body is a zlib error wrapped in a 400
  // without `type` (it used to reach the generic handler: not the GraphQL shape, zlib's message echoed).
  if (!error.status || error.status < 400 || error.status >= 500) {
    next(error);
    return;
  }
  sendRequestError(
    req,
    res,
    error.status,
    (typeof error.type === 'string' ? BODY_ERRORS[error.type] : undefined) ?? 'The request body could not be read',
  );
}

/** A request refused before GraphQL: the GraphQL error shape, code BAD_REQUEST, in the negotiated media type. */
function sendRequestError(req: Request, res: Response, status: number, message: string): void {
  const mediaType = req.accepts(MEDIA_TYPES) || 'application/json';
  res
    .status(status)
    .set('content-type', `${mediaType}; charset=utf-8`)
    .send(
      JSON.stringify({
        errors: [{ message, extensions: { code: ErrorCode.BAD_REQUEST, requestId: res.locals.requestId } }],
      }),
    );
}

/**
 * The spec's status rules that Apollo does not apply by itself:
 * - a response with a non-null `data` entry is 2xx, whatever the media type (a MUST in both): a query
 *   whose guarded fields were refused still answers the rest with 200 (the errors say UNAUTHENTICATED or
 *   FORBIDDEN, and the `WWW-Authenticate` challenge stays). We apply it to 4xx only: should a field fail
 *   with a 5xx outage status, that status is what operators and load balancers need to see;
 * - a client that asks for `application/json` by name gets the legacy rule: a well-formed request whose
 *   GraphQL errors stopped it (parse, validation, limits, variable coercion) is 200, not 400. Clients that
 *   accept application/graphql-response+json, send `*` / `*` or no Accept keep Apollo's 400 — the statuses
 *   the spec asks for with the new media type, and the ones curl users and load balancers can see.
 * Refusals that are not about the GraphQL request (401, 403, 405, malformed HTTP requests: BAD_REQUEST)
 * keep their status.
 */
export function httpStatusPlugin<T extends { legacyJson?: boolean }>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart({ contextValue }) {
      return {
        async willSendResponse({ response }) {
          // Answers are per caller and tenant: never stored by a shared cache. (What Apollo's default
          // cache-control plugin answered for a schema without @cacheControl hints; it is off, see server.ts.)
          if (!response.http.headers.has('cache-control')) response.http.headers.set('cache-control', 'no-store');
          if (response.body.kind !== 'single' || !response.http.status || response.http.status < 400) return;
          const { data, errors } = response.body.singleResult;
          if (data !== undefined && data !== null) {
            // A client refusal only: a 5xx (an outage named by its code) stays visible to load balancers.
            if (response.http.status < 500) response.http.status = 200;
          } else if (
            contextValue.legacyJson &&
            response.http.status === 400 &&
            errors?.every((error) => error.extensions?.code !== ErrorCode.BAD_REQUEST)
          ) {
            response.http.status = 200;
          }
        },
      };
    },
  };
}

/**
 * `subscription` operations: the schema has no Subscription type and the gateway no streaming transport
 * (graphql-ws or SSE), so they are refused at validation, before any SQL, with their own code (graphql-js
 * would only fail at execution, which Apollo reported as an internal error with a stack in the log).
 */
export const noSubscriptionsRule: ValidationRule = (context: ValidationContext) => ({
  OperationDefinition(node) {
    if (node.operation !== 'subscription') return;
    context.reportError(
      new GraphQLError('Subscriptions are not supported: this gateway serves queries and mutations over HTTP', {
        nodes: [node],
        extensions: { code: ErrorCode.SUBSCRIPTIONS_NOT_SUPPORTED },
      }),
    );
  },
});

/**
 * graphql-armor's rejection handler for its validation rules: QUERY_TOO_COMPLEX naming the limit (armor's
 * default reports BAD_USER_INPUT, which Apollo then files as GRAPHQL_VALIDATION_FAILED, and prefixes the
 * message with "Syntax Error:" although the syntax is fine).
 */
export function limitRejection(limit: string, maximum: number) {
  return (context: ValidationContext | null, error: GraphQLError): void => {
    context?.reportError(
      new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
        extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, limit, maximum },
      }),
    );
  };
}
