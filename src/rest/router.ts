import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { GraphQLError } from 'graphql';
import { authenticate } from '../auth/authenticate';
import type { TokenService } from '../auth/tokens';
import type { Principal } from '../auth/principal';
import { openRequest } from '../context/open-request';
import { RequestLifecycle } from '../context/request-lifecycle';
import type { RequestContext } from '../context/request-context';
import { isUuid } from '../db/tenant-scope';
import { ForbiddenError, UnauthenticatedError, type FieldError } from '../errors';
import { errorForLog } from '../graphql/errors';
import { BODY_ERRORS } from '../graphql/http';
import { isSafeText } from '../graphql/input-safety';
import { auditService } from '../modules/audit/audit.service';
import { DEFAULT_PAGE_SIZE, encodeCursor, MAX_PAGE_SIZE, type Connection, type Page } from '../pagination';
import type { Keyring } from '../secrets/keyring';
import type { RequestTrace } from '../tracing/request-trace';
import { withFacts, type RequestFacts } from '../request-scope';
import { badRequest, HttpProblem, notFound, sendProblem, toProblem } from './problem';
import type { RestRequest, Route } from './route';
import { parseInput, toJson } from './schema';
import { openApiDocument } from './openapi';
import { apiDocsRouter } from './docs';

export interface RestOptions {
  dataSource: DataSource;
  tokens: TokenService;
  keyring: Keyring;
  log: Logger;
  routes: Route[];
  requestTimeoutMs: number;
  settleTimeoutMs: number;
  /** The same limit as /graphql. */
  bodyLimit: string;
}

export const API_PREFIX = '/api/v1';

/** `/orgs/{org_id}` → `/orgs/:org_id` (express 5 / path-to-regexp 8). */
const expressPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');
const paramNames = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);

/** The media types a REST body may have: JSON, and RFC 7396's merge patch for PATCH. */
const BODY_TYPES = ['application/json', 'application/merge-patch+json'];

/**
 * The REST transport (mounted at /api/v1): the same RequestContext and services as GraphQL.
 *
 * One request, end to end:
 *   body checks (415 / 400 / 413 before anything) → authenticate (401) → path ids (404) → RequestLifecycle
 *   + openRequest (one transaction, READ ONLY for GET; org status) → scopes (403) → input (400) →
 *   [mutations: savepoint { If-Match (412) → service → audit row }] → JSON built → COMMIT → answer.
 * A refusal or failure rolls back; the client leaving first is handled by the lifecycle, as for GraphQL.
 */
export function restApi(options: RestOptions): Router {
  const router = express.Router({ strict: false });
  const document = () => openApiDocument(options.routes);
  let cached: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    cached ??= JSON.stringify(document());
    res.type('application/json').set('cache-control', 'no-cache').send(cached);
  });

  router.use('/docs', apiDocsRouter({ prefix: API_PREFIX }));

  const json = express.json({ limit: options.bodyLimit, type: BODY_TYPES, strict: false });
  const paths = new Map<string, Route[]>();
  // Literal segments before parameters (`/components/agents` before `/components/{component_id}`), so the
  // router never hands a literal path to a parameter route; otherwise the table's order.
  const ordered = [...options.routes].sort((a, b) => specificity(a.path, b.path));
  for (const route of ordered) {
    paths.set(route.path, [...(paths.get(route.path) ?? []), route]);
    router[route.method](expressPath(route.path), bodyCheck(route), json, (req: Request, res: Response) =>
      serve(options, route, req, res),
    );
  }
  // A known path with another method: 405 with Allow (RFC 9110 §15.5.6).
  for (const [path, routes] of paths) {
    router.all(expressPath(path), (_req, res) => {
      res.setHeader('allow', routes.map((r) => r.method.toUpperCase()).join(', '));
      sendProblem(res, new HttpProblem(405, 'BAD_REQUEST', 'This method is not allowed on this path'));
    });
  }
  // Anything else under /api/v1: the one 404.
  router.use((_req, res) => sendProblem(res, notFound()));
  // Body-parser failures (malformed JSON, too large, bad charset): a problem, never the parser's message.
  router.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (!error.status || error.status < 400 || error.status >= 500) return next(error);
    const detail = (error.type && BODY_ERRORS[error.type]) ?? 'The request body could not be read';
    sendProblem(
      res,
      new HttpProblem(error.status === 413 ? 413 : error.status === 415 ? 415 : 400, 'BAD_REQUEST', detail),
    );
  });
  return router;
}

/** A total order in which, segment by segment, a literal comes before a parameter. */
function specificity(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const px = x[i].startsWith('{');
    const py = y[i].startsWith('{');
    if (px !== py) return px ? 1 : -1;
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

/** A body is JSON (415 otherwise); a GET or DELETE carries none (a body there is a client mistake). */
function bodyCheck(route: Route) {
  return (req: Request, res: Response, next: NextFunction) => {
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (route.body) {
      const type = (req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
      if (!BODY_TYPES.includes(type)) {
        res.setHeader('accept-patch', 'application/merge-patch+json, application/json');
        return sendProblem(res, new HttpProblem(415, 'BAD_REQUEST', `The body must be ${BODY_TYPES.join(' or ')}`));
      }
    } else if (hasBody) {
      return sendProblem(res, new HttpProblem(400, 'BAD_REQUEST', 'This operation takes no request body'));
    }
    next();
  };
}

async function serve(options: RestOptions, route: Route, req: Request, res: Response): Promise<void> {
  const requestId = res.locals.requestId as string;
  const lifecycle = new RequestLifecycle();
  // The request's trace (src/tracing): REST requests are traced under the organization's configuration like
  // GraphQL ones, named by the OpenAPI operation id.
  const trace = res.locals.trace as RequestTrace | undefined;
  if (trace) {
    trace.setOperation('rest', route.operationId);
  }
  // The access log names the operation as it does GraphQL's (src/request-scope.ts).
  const facts = res.locals.facts as RequestFacts | undefined;
  if (facts) facts.operation = { type: 'rest', name: route.operationId };
  res.on('close', () => {
    void lifecycle.end(res.writableFinished ? 'closed' : 'client-gone').catch(() => undefined);
  });
  try {
    const principal = await authenticated(req, options.tokens);
    const params = pathParams(route, req, principal);
    const query = queryParams(route, req);
    const readOnly = route.method === 'get';
    // openRequest notes the caller and its scope in the facts (read before its first await).
    const ctx = await withFacts(facts, () =>
      openRequest({
        dataSource: options.dataSource,
        lifecycle,
        principal,
        readOnly,
        requestId,
        log: options.log,
        keyring: options.keyring,
        deadline: Date.now() + options.requestTimeoutMs,
        settleTimeoutMs: options.settleTimeoutMs,
        trace,
      }),
    );
    if (trace) trace.answer = { scope: ctx.scope };
    const missing = route.scopes.filter((s) => !ctx.scopes.has(s));
    if (missing.length) throw new ForbiddenError(`This needs the scope ${missing.join(' and ')}`);
    // Everything under /workspaces/{workspace_id} needs that workspace to be visible (row-level security):
    // otherwise a list under a foreign workspace would answer an empty 200 instead of the one 404. The
    // loader caches the row, so services that check the workspace again cost nothing more.
    if (params.workspace_id && !(await ctx.loaders.workspace.byId.load(params.workspace_id))) throw notFound();
    const set = Object.fromEntries(
      Object.entries(route.body?.set ?? {}).map(([field, value]) => [field, value(params)]),
    );
    const body = route.body
      ? await parseInput(route.body.input, req.body ?? null, { partial: route.body.partial, set })
      : undefined;
    const restReq: RestRequest = { params, body, page: query.page, query: query.own };
    const answer = readOnly ? await read(ctx, route, restReq, req) : await change(ctx, route, restReq, req);
    // Commit (or end the read-only transaction) before a single byte of the answer leaves.
    await lifecycle.end('answered');
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    // Tenant data: never in a shared cache. A GET with an ETag may be kept by the client, revalidated
    // each time (If-None-Match → 304); everything else is not stored at all.
    res.setHeader('cache-control', readOnly && answer.headers.etag ? 'private, no-cache' : 'no-store');
    res.setHeader('vary', 'Authorization');
    if (answer.status === 304 || answer.status === 204) {
      res.status(answer.status).end();
      return;
    }
    res.status(answer.status).type('application/json').send(answer.body);
  } catch (error) {
    await lifecycle.end('failed').catch(() => undefined);
    if (lifecycle.clientGone) return;
    const problem = toProblem(error instanceof GraphQLError && error.originalError ? error.originalError : error);
    if (trace) trace.answer = { ...trace.answer, body: { errors: [{ extensions: { code: problem.code } }] } };
    if (problem.status >= 500) {
      const log = problem.status === 503 ? options.log.warn.bind(options.log) : options.log.error.bind(options.log);
      log({ requestId, err: errorForLog(error), route: route.operationId }, 'rest error');
    }
    sendProblem(res, problem);
  }
}

async function authenticated(req: Request, tokens: TokenService): Promise<Principal> {
  let principal: Principal | null;
  try {
    principal = await authenticate(req.headers, tokens);
  } catch (error) {
    // authenticate speaks GraphQL (its refusal is a GraphQLError); its original error is the domain one.
    const original = (error as GraphQLError).originalError;
    throw original instanceof UnauthenticatedError ? original : error;
  }
  if (!principal) throw new UnauthenticatedError();
  return principal;
}

/**
 * Path ids are raw UUIDs (the platform documents `{org_id}`; GraphQL's global ids are for GraphQL). A
 * malformed id and an `{org_id}` other than the token's answer the same 404 as an id that never existed:
 * the path says nothing about other tenants.
 */
/** A text path parameter (rest-more): 1-200 visible characters (a user id's own rule, without spaces). */
const TEXT_PARAM = /^[\x21-\x7e\u00a1-\uffff]{1,200}$/;

function pathParams(route: Route, req: Request, principal: Principal): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of paramNames(route.path)) {
    const value = String((req.params as Record<string, string>)[name] ?? '');
    // rest-more: text parameters (user ids) are kept as sent; UUIDs are compared lower-case.
    if (route.textParams?.[name] !== undefined) {
      if (!TEXT_PARAM.test(value)) throw notFound();
      params[name] = value;
      continue;
    }
    if (!isUuid(value)) throw notFound();
    params[name] = value.toLowerCase();
  }
  if (params.org_id !== undefined && params.org_id !== principal.orgId.toLowerCase()) throw notFound();
  return params;
}

/** `?limit=&cursor=` for lists, the route's own parameters; anything else is refused like an unknown field. */
function queryParams(route: Route, req: Request): { page: Page; own: Record<string, string | undefined> } {
  const errors: FieldError[] = [];
  const raw = req.query as Record<string, unknown>;
  const known = new Set([
    ...(route.result.kind === 'list' ? ['limit', 'cursor'] : []),
    ...Object.keys(route.query ?? {}),
  ]);
  const single = (name: string): string | undefined => {
    const value = raw[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !isSafeText(value)) {
      errors.push({ field: name, message: `${name} must be given once, as text` });
      return undefined;
    }
    return value;
  };
  for (const name of Object.keys(raw)) {
    if (!known.has(name)) errors.push({ field: name, message: `${name} is not a known query parameter` });
  }
  let limit = DEFAULT_PAGE_SIZE;
  let cursor: string | null = null;
  if (route.result.kind === 'list') {
    const l = single('limit');
    if (l !== undefined) {
      if (!/^\d{1,4}$/.test(l) || Number(l) < 1 || Number(l) > MAX_PAGE_SIZE)
        errors.push({ field: 'limit', message: `limit must be an integer from 1 to ${MAX_PAGE_SIZE}` });
      else limit = Number(l);
    }
    const c = single('cursor');
    if (c !== undefined) {
      const decoded = Buffer.from(c, 'base64url').toString('utf8');
      const id = decoded.startsWith('v1:') ? decoded.slice(3) : '';
      if (!isUuid(id) || encodeCursor(id) !== c)
        errors.push({ field: 'cursor', message: 'cursor is not a cursor returned by this API' });
      else cursor = id;
    }
  }
  const own: Record<string, string | undefined> = {};
  for (const [name, spec] of Object.entries(route.query ?? {})) {
    const value = single(name);
    if (value !== undefined && spec.enum && !spec.enum.includes(value))
      errors.push({ field: name, message: `${name} must be one of ${spec.enum.join(', ')}` });
    else own[name] = value;
  }
  if (errors.length) throw badRequest(errors);
  return { page: { limit, cursor, backward: false }, own };
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** A strong ETag over the resource's JSON representation (what GET shows, byte for byte). */
export function etagOf(json: string): string {
  return `"${crypto.createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
}

async function read(ctx: RequestContext, route: Route, restReq: RestRequest, req: Request): Promise<Answer> {
  const result = await route.handle(ctx, restReq);
  if (route.result.kind === 'list') {
    const connection = result as Connection<object>;
    const type = route.result.type;
    const next = connection.pageInfo.hasNextPage
      ? nextLink(req, connection.pageInfo.endCursor!, restReq.page.limit)
      : null;
    const body = JSON.stringify({
      items: connection.edges.map((e) => toJson(type, e.node)),
      next_cursor: next ? connection.pageInfo.endCursor : null,
      next,
    });
    return { status: 200, headers: next ? { link: `<${next}>; rel="next"` } : {}, body };
  }
  if (route.result.kind === 'array') {
    const type = route.result.type;
    return {
      status: 200,
      headers: {},
      body: JSON.stringify({ items: (result as object[]).map((v) => toJson(type, v)) }),
    };
  }
  const body = render(route, result);
  const etag = etagOf(body ?? '');
  if (ifNoneMatch(req.header('if-none-match'), etag)) return { status: 304, headers: { etag } };
  return { status: 200, headers: { etag }, body };
}

function render(route: Route, result: unknown): string | undefined {
  if (route.result.kind === 'none' || route.result.kind === 'array') return undefined;
  return JSON.stringify(toJson(route.result.type, result as object));
}

/** The next page's URL: the same path and parameters, the new cursor. Relative (no Host header trusted). */
function nextLink(req: Request, cursor: string, limit: number): string {
  const url = new URL(req.originalUrl, 'http://x');
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('cursor', cursor);
  return `${url.pathname}${url.search}`;
}

function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/**
 * A change, in one savepoint with its audit row. If-Match (optional, as GitHub's and Hasura's APIs:
 * clients that do not send it get last-writer-wins, as over GraphQL) is checked inside the same
 * transaction after a transaction-scoped advisory lock on the resource, so two REST writers holding the
 * same ETag cannot both pass: the second waits, then sees the first's change and gets 412.
 */
async function change(ctx: RequestContext, route: Route, restReq: RestRequest, req: Request): Promise<Answer> {
  const ifMatch = req.header('if-match');
  const result = await ctx.scope.mutation(async () => {
    if (ifMatch !== undefined && route.current) {
      // Keyed by the resource (its type and ids), not the URL: `/components/{id}` and its
      // `/hosted-services/{id}` alias are one resource.
      const resource = [route.current.type.name, ...Object.values(restReq.params)].join(':');
      await ctx.scope.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [resource]);
      const current = JSON.stringify(toJson(route.current.type, await route.current.load(ctx, restReq)));
      const etag = etagOf(current);
      const matches = ifMatch.trim() === '*' || ifMatch.split(',').some((t) => t.trim() === etag);
      if (!matches)
        throw new HttpProblem(
          412,
          'PRECONDITION_FAILED',
          'The resource changed since you read it (If-Match does not match its ETag)',
        );
    }
    const value = await route.handle(ctx, restReq);
    if (route.audit) {
      await auditService.record(ctx, {
        operation: route.audit.operation,
        targetType: route.audit.targetType,
        targetId: route.audit.targetId ? route.audit.targetId(value, restReq) : targetIdOf(value, restReq),
      });
    }
    return value;
  });
  if (route.result.kind === 'none') return { status: 204, headers: {} };
  const body = render(route, result)!;
  const headers: Record<string, string> = { etag: etagOf(body) };
  const status = route.status ?? (route.location ? 201 : 200);
  if (route.location) headers.location = `${API_PREFIX}${route.location(result, restReq)}`;
  return { status, headers, body };
}

function targetIdOf(value: unknown, req: RestRequest): string | null {
  if (value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string')
    return (value as { id: string }).id;
  if (typeof value === 'string') return value;
  const ids = Object.entries(req.params).filter(([name]) => name !== 'org_id');
  return ids.at(-1)?.[1] ?? null;
}
