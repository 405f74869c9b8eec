import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { authenticate } from '../auth/authenticate';
import type { TokenService } from '../auth/tokens';
import { openRequest } from '../context/open-request';
import { RequestLifecycle } from '../context/request-lifecycle';
import type { Metrics } from '../metrics';
import { withFacts, type RequestFacts } from '../request-scope';
import type { Keyring } from '../secrets/keyring';
import type { RequestTrace } from '../tracing/request-trace';
import { roleDecidedByCaller } from '../auth/access';
import { ScopeRefusal } from '../db/tenant-scope';
import { answeredByPostgres } from '../db/pg-errors';
import { errorForLog, outageOf } from './errors';
import { APOLLO_CONTENT_TYPES } from './http';
import { plannedData, type SqlPlanner } from './sql-plan/planner';

/** How many distinct (query text, operation name) pairs are remembered; least recently used go first. */
const MAX_KNOWN = 500;
/**
 * And how much query text (UTF-16 code units of the keys) they may hold together. A query text can be up to
 * the body limit (1 MB) and still valid and plannable (comments, whitespace and commas are no tokens for the
 * parser's token limit): 500 of them kept ~240 MB more RSS for 300 distinct 800 kB texts than the plan-off
 * gateway (measured; each key is a copy of its text). Apollo's own document cache is bounded the same way
 * (30 MiB). A text larger than this bound is simply never remembered (lru-cache's maxEntrySize = maxSize).
 */
const MAX_KNOWN_TEXT = 16 * 1024 * 1024;

interface Known {
  document: DocumentNode;
  operation: OperationDefinitionNode;
}

/**
 * Documents that Apollo's full pipeline has parsed and validated (every validation rule: armor's limits, the
 * node limit, no subscriptions) and that the planner could plan — queries, and mutations that are one planned
 * write (src/graphql/sql-plan/writes.ts): recorded by the tenant plugin (`remember`), keyed by the exact text
 * and operation name. Only the DOCUMENT is
 * remembered, never a caller, a variable or a row: the document is the same for every tenant, and whether
 * it may be answered is decided again on every request (below). Bounded (LRU).
 */
export class KnownDocuments {
  private readonly known = new LRUCache<string, Known>({
    max: MAX_KNOWN,
    maxSize: MAX_KNOWN_TEXT,
    sizeCalculation: (_known, key) => key.length,
  });

  remember(query: string, operationName: string | null, document: DocumentNode, operation: OperationDefinitionNode) {
    const key = keyOf(query, operationName);
    if (!this.known.has(key)) this.known.set(key, { document, operation });
  }

  lookup(query: string, operationName: string | null): Known | undefined {
    return this.known.get(keyOf(query, operationName));
  }
}

const keyOf = (query: string, operationName: string | null) => `${operationName ?? ''}\u0000${query}`;

/** A GraphQL Name (spec §2.1.9): what `operationName` must be to select an operation. Never holds `\u0000`. */
const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** A known-path attempt that passed the request on to Apollo (`res.locals.knownAttempt`, GatewayContext). */
export interface KnownAttempt {
  /** Its round trips, counted into the request's (extensions.sql, access log, metrics, trace). */
  statements: number;
  /** The outage it met, which Apollo's path reports instead of waiting for it again. */
  outage?: unknown;
}

export interface KnownDocumentOptions {
  known: KnownDocuments;
  planner: SqlPlanner;
  dataSource: DataSource;
  tokens: TokenService;
  keyring: Keyring;
  log: Logger;
  metrics: Metrics;
  exposeSqlStatementCount: boolean;
  requestTimeoutMs: number;
  settleTimeoutMs: number;
}

/**
 * The known-document path (issue 11, W2 and W3; README "Compiled read path"): a POST of a known document
 * whose whole answer the planner builds is answered here, between the JSON body parser and Apollo, without
 * Apollo's request pipeline, the GraphQL context or the executor — what PostGraphile's grafserv does for its
 * planned operations. A read's one round trip is the whole transaction:
 * `BEGIN READ ONLY; … settings; caller row; planned statement; COMMIT`; a planned write's opening carries its
 * statement, and its COMMIT follows once the same checks as the resolver's passed (README "Planned writes").
 *
 * It answers only when everything Apollo's path would do is known to end in a plain 200 with `data`: a
 * known document, the body's fields of the types Apollo accepts, a verified token, a plan for this caller's
 * token scopes and variables, every caller check of `openRequest` passed (the same function as the normal
 * path), every field rule passed against the effective scopes and every by-id root found (`plannedData`,
 * the same function the executor uses). In EVERY other case — no token, a refused token, variables the
 * planner declines, an unknown or suspended organization, a refused scope, a missing node, an outage, a
 * planner defect — it hands the request to Apollo unchanged (`next()`), which answers it exactly as without
 * this path; the scope opened here has already ended (its COMMIT was in the opening: read only, nothing
 * changed) and the normal path runs its own transaction, so the answer still comes from one transaction.
 * What the normal path records is recorded here too: the access-log facts, the operation and SQL metrics,
 * the trace, the statement count (EXPOSE_SQL_STATEMENT_COUNT), `cache-control: no-store`, the negotiated
 * content type, and the same body text (`test/sql-plan.test.ts` compares them byte for byte).
 */
export function knownDocumentHandler(options: KnownDocumentOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    // The front (below) read this body already: its parse error goes to the usual handler; a body it tried
    // and passed on is not tried again.
    if (res.locals.bodyError) return next(res.locals.bodyError);
    if (res.locals.knownTried) return next();
    answerOr(options, req, res, next);
  };
}

/** `answer`, or `pass` (to Apollo) when it does not answer; a defect of the path too, which must never fail a request. */
function answerOr(options: KnownDocumentOptions, req: Request, res: Response, pass: () => void): void {
  void answer(options, req, res).then(
    (answered) => {
      if (!answered) pass();
    },
    (error: unknown) => {
      options.log.error({ requestId: res.locals.requestId, err: errorForLog(error) }, 'known-document path failed');
      if (!res.headersSent) pass();
    },
  );
}

async function answer(options: KnownDocumentOptions, req: Request, res: Response): Promise<boolean> {
  const started = process.hrtime.bigint();
  const body = req.body as Record<string, unknown> | undefined;
  if (req.method !== 'POST' || !body || typeof body !== 'object' || Array.isArray(body)) return false;
  const { query, variables, operationName } = body;
  if (typeof query !== 'string') return false;
  for (const key in body) if (key !== 'query' && key !== 'variables' && key !== 'operationName') return false;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables)))
    return false;
  // A name that can name no operation (`""`, anything not a GraphQL Name) is Apollo's to refuse: `""` would
  // otherwise find the document remembered without a name (the keys are `${name ?? ''}\0${query}`), and the
  // known path answered `operationName: ""` with data where the normal path answers an error.
  if (
    operationName !== undefined &&
    operationName !== null &&
    (typeof operationName !== 'string' || !NAME.test(operationName))
  )
    return false;
  const name = (operationName as string | null | undefined) ?? null;
  const known = options.known.lookup(query, name);
  if (!known) return false;
  // The content type Apollo would answer with, negotiated as Apollo and checkRequest do (APOLLO_CONTENT_TYPES);
  // none (406) and the callbackSpec type stay Apollo's to answer.
  const contentType = req.accepts(APOLLO_CONTENT_TYPES);
  if (contentType !== APOLLO_CONTENT_TYPES[0] && contentType !== APOLLO_CONTENT_TYPES[1]) return false;
  const principal = await authenticate(req.headers, options.tokens).catch(() => null);
  if (!principal) return false;
  const requestId = res.locals.requestId as string;
  const write = known.operation.operation === 'mutation';
  const plan = options.planner.plan(
    known.document,
    known.operation,
    name,
    (variables ?? undefined) as Record<string, unknown> | undefined,
    principal.scopes,
    principal.orgId,
    write ? { actor: principal.subject, actorKind: principal.kind, requestId } : undefined,
  );
  if (!plan) return false;

  const facts = res.locals.facts as RequestFacts;
  const trace = res.locals.trace as RequestTrace;
  const lifecycle = new RequestLifecycle();
  res.on('close', () => {
    void lifecycle.end(res.writableFinished ? 'closed' : 'client-gone').catch(() => undefined);
  });
  let data: Record<string, unknown> | null = null;
  let outage: unknown;
  try {
    const request = await withFacts(facts, () =>
      openRequest({
        dataSource: options.dataSource,
        lifecycle,
        principal,
        readOnly: !write,
        requestId,
        log: options.log,
        keyring: options.keyring,
        deadline: Date.now() + options.requestTimeoutMs,
        settleTimeoutMs: options.settleTimeoutMs,
        trace,
        // A read ends its transaction in the same message; a write commits only after the checks below.
        speculative: { sql: plan.sql, traced: plan.traced, prepared: plan.prepared, commit: !write },
      }),
    );
    data = plannedData(plan, request.scope.takeSpeculative()?.rows, request.scopes);
    // A planned write: the caller row alone must give the role the service requires (else the resolver decides).
    if (plan.write && !roleDecidedByCaller(request.access, plan.write.workspaceRole)) data = null;
  } catch (error) {
    // Refused or failed: the normal path answers (and logs) it. An outage it answers from this error rather
    // than meeting it again: a second pool wait or statement timeout would take the request past its deadline.
    if (outageOf(error)) outage = error;
  }
  const scope = lifecycle.scope;
  // A write that did not get here with data is rolled back: nothing of it remains, and the resolver runs it
  // afresh. Its COMMIT (end 'answered') can fail too:
  // - PostgreSQL refused it (its ErrorResponse: a deferred constraint, a serialization failure): the
  //   transaction was rolled back, so the resolver may run the request afresh and answer it;
  // - otherwise (the connection broke, the transaction's state is unknown) it may have committed: it must not
  //   run again. Apollo's path reports it as the outage it is (a lost connection: 503, SERVICE_UNAVAILABLE),
  //   as the tenant plugin answers a COMMIT that failed that way on the normal path.
  await lifecycle.end(data ? 'answered' : 'failed').catch((error: unknown) => {
    if (!write || !data) return;
    data = null;
    if (outageOf(error)) outage = error;
    else if (!answeredByPostgres(error))
      outage = new ScopeRefusal('connection_lost', 'the database connection was lost while the transaction committed');
  });
  // The client left: nobody to answer, and nothing for Apollo to run again (the access log says `aborted`).
  if (lifecycle.clientGone) return true;
  if (!data || !scope) {
    // What Apollo's request inherits (server.ts context → tenant plugin): the round trips already made count.
    const attempt: KnownAttempt = { statements: scope?.statements ?? 0, outage };
    res.locals.knownAttempt = attempt;
    return false;
  }

  // Answered: what the tenant, trace and status plugins and Apollo's HTTP layer do for a plain answer.
  const operation = known.operation.name?.value ?? null;
  const type = known.operation.operation;
  if (facts) facts.operation = { type, name: operation };
  const result: { data: Record<string, unknown>; errors?: []; extensions?: Record<string, unknown> } = { data };
  if (options.exposeSqlStatementCount)
    result.extensions = { sql: { statements: scope.statements, retries: scope.retries } };
  if (trace) {
    trace.setOperation(type, operation);
    if (trace.recording) {
      const now = trace.now();
      trace.execute = [now, now];
      trace.executeSpanId = trace.newSpanId();
    }
    trace.answer = { body: result, scope };
    if (trace.recording) res.setHeader('traceparent', trace.traceparent());
  }
  options.metrics.sqlStatements.observe(scope.statements);
  options.metrics.graphqlOperations.observe(
    { operation: options.metrics.operationNames.label(operation, true), type, outcome: 'ok' },
    Number(process.hrtime.bigint() - started) / 1e9,
  );
  // What Apollo's answer gets through express's res.send (a Buffer: express converts when an ETag function is
  // set, see server.ts), without its content-type and freshness work.
  const text = Buffer.from(`${JSON.stringify(result)}\n`);
  res.statusCode = 200;
  // The route the metrics and the access log name (before the front, express's router never set it).
  req.baseUrl = '/graphql';
  res.setHeader('cache-control', 'no-store');
  // Spelled as express's res.send spells them (node keeps the case it is given), so the header block is the same.
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', text.length);
  res.end(text);
  return true;
}

/** The body the front reads itself: no larger (a larger one goes through express and body-parser's limit). */
const FRONT_BODY_LIMIT = 1024 * 1024;
/**
 * The Content-Type the front reads itself: what body-parser's type check (type-is, content-type 2: OWS is SP
 * and HTAB only, RFC 9110) takes for application/json with at most a UTF-8 charset. Not `\s`: a header is
 * Latin-1 and `\s` matches U+00A0, so `application/json\xa0` was read and answered here (200, data) where
 * body-parser does not parse it and Apollo answers 400 (test/known-front-attacks.test.ts).
 */
const JSON_TYPE = /^application\/json[ \t]*(;[ \t]*charset[ \t]*=[ \t]*"?utf-8"?[ \t]*)?$/i;

/**
 * The known-document path in front of express (issue 11, W2): express's router, body-parser and `res.send`
 * were ~11 % of a point read's CPU. A request that is plainly a JSON POST to /graphql with a body of a known
 * length gets express's own per-request set-up (application.js `handle`: its request and response
 * prototypes, `res.locals`), the same prelude middleware as every request (request id, metrics and access
 * log, trace, drain: `prelude`, which then does nothing when express routes the request again) and CORS,
 * its body read and parsed as body-parser's strict JSON parser would, and then `answer`. Everything else, and
 * every request `answer` passes on, is handed to express with what was read (`req.body`, or the parse error
 * in `res.locals.bodyError`, which the /graphql chain reports exactly as body-parser's, see
 * `knownDocumentHandler`): body-parser sees the finished stream and reads nothing more.
 */
export function knownDocumentFront(
  app: Express,
  prelude: RequestHandler,
  cors: RequestHandler,
  options: KnownDocumentOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (incoming, outgoing) => {
    const headers = incoming.headers;
    const length = Number(headers['content-length']);
    if (
      incoming.method !== 'POST' ||
      incoming.url !== '/graphql' ||
      !(length > 0 && length <= FRONT_BODY_LIMIT) ||
      headers['transfer-encoding'] !== undefined ||
      headers['content-encoding'] !== undefined ||
      headers.authorization === undefined ||
      !JSON_TYPE.test(headers['content-type'] ?? '')
    ) {
      app(incoming, outgoing);
      return;
    }
    const req = incoming as Request;
    const res = outgoing as Response;
    // express's per-request set-up (express/lib/application.js handle); express repeats it harmlessly.
    (req as { res?: Response }).res = res;
    (res as { req?: Request }).req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    res.locals ??= Object.create(null);
    const toExpress = () => app(req, res);
    prelude(req, res, (error?: unknown) => {
      if (error) return toExpress();
      cors(req, res, (corsError?: unknown) => {
        if (corsError) return toExpress();
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.once('end', () => {
          // As raw-body decodes it (iconv-lite: a leading byte-order mark is dropped).
          let text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
          const parsed = strictJson(text);
          res.locals.knownTried = true;
          if (parsed === PARSE_FAILED) {
            res.locals.bodyError = Object.assign(new Error('The request body is not valid JSON'), {
              status: 400,
              type: 'entity.parse.failed',
            });
            return toExpress();
          }
          req.body = parsed;
          answerOr(options, req, res, toExpress);
        });
        // A client that leaves mid-body: no 'end'; the response's close ends everything that was started.
      });
    });
  };
}

const PARSE_FAILED = Symbol('parse failed');

/** body-parser's JSON parser with its default `strict`: an object or an array, else a parse error. */
function strictJson(text: string): unknown {
  const first = /^[\x20\x09\x0a\x0d]*(.)/s.exec(text)?.[1];
  if (first !== '{' && first !== '[') return PARSE_FAILED;
  try {
    return JSON.parse(text);
  } catch {
    return PARSE_FAILED;
  }
}
