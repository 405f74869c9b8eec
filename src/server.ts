import http from 'node:http';
import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from './config';
import { authenticate } from './auth/authenticate';
import type { TokenService } from './auth/tokens';
import type { GatewayContext } from './graphql/context';
import { RequestLifecycle } from './context/request-lifecycle';
import { createFormatError, errorForLog, outageOf, RETRY_AFTER_SECONDS } from './graphql/errors';
import {
  BODY_ERRORS,
  graphqlHttp,
  httpStatusPlugin,
  installGraphQLRequestIds,
  limitRejection,
  noSubscriptionsRule,
} from './graphql/http';
import { buildGatewaySchema } from './graphql/schema';
import { jitGateway } from './graphql/executor';
import { SqlPlanner } from './graphql/sql-plan/planner';
import { KnownDocuments, knownDocumentFront, knownDocumentHandler, type KnownAttempt } from './graphql/known-documents';
import { setPreparedStatements } from './db/prepared-plans';
import { tenantPlugin } from './graphql/tenant-plugin';
import { graphiqlRouter } from './graphql/graphiql';
import { nodeLimitRule } from './graphql/node-limit';
import { createMetrics, observePools } from './metrics';
import { requestObserver } from './http-observability';
import { noteCallerIn, type RequestFacts } from './request-scope';
import { platformApi } from './platform-api';
import { apiKeyExchange } from './auth/api-key-exchange';
import type { Keyring } from './secrets/keyring';
import { HttpDrain } from './http-drain';
import { API_PREFIX, etagOf, restApi } from './rest/router';
import { restRoutes } from './rest/routes';
import type { RequestTrace } from './tracing/request-trace';
import { TraceWriter, traceMiddleware } from './tracing/trace-writer';
import { tracePlugin } from './tracing/trace-plugin';
import { TraceRetention } from './tracing/retention';
import { corsMiddleware } from './cors';

export interface GatewayDeps {
  config: Config;
  log: Logger;
  /** Serving connection: every request runs in a TenantScope on it. */
  dataSource: DataSource;
  /** Owner connection: the platform-admin API only. */
  ownerDataSource: DataSource;
  tokens: TokenService;
  keyring: Keyring;
}

export interface Gateway {
  httpServer: http.Server;
  listen(): Promise<string>;
  /**
   * Graceful stop: drain HTTP (see http-drain.ts) within `config.shutdownGraceMs`, then stop Apollo.
   * `forced`: connections were still open at the end of the grace period and were destroyed.
   */
  stop(): Promise<{ forced: boolean; inFlightAtStart: number }>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * HTTP surface: /graphql (POST, and GET for queries), /graphiql, /livez, /readyz, /metrics and
 * /.well-known/jwks.json. Each request gets a request id (the caller's X-Request-Id if well-formed).
 */
export async function createGateway({
  config,
  log,
  dataSource,
  ownerDataSource,
  tokens,
  keyring,
}: GatewayDeps): Promise<Gateway> {
  const app = express();
  app.disable('x-powered-by');
  // No generated ETags: express's default hashes every body it sends (SHA-1) for answers no client
  // revalidates (GraphQL POSTs, errors, /metrics, `no-store` answers; bench/README.md "Per-request overhead").
  // Responses that are revalidated set their own: REST resources (src/rest/router.ts), static assets
  // (src/static-assets.ts) and the JWKS below; res.send still answers 304 for those. A function that makes
  // none rather than `false`: with an ETag function express hands node the body as a Buffer, without one as
  // a string, and that changes how node writes the answer to a socket the client already closed (the access
  // log's `aborted` for a client that left mid-body, test/observability.test.ts): kept as it was.
  app.set('etag', () => undefined);
  // GraphQL errors carry the request id (src/graphql/http.ts).
  installGraphQLRequestIds(app);
  app.set('trust proxy', config.trustProxy);
  // Node's defaults (headers 60 s, request 300 s, no connection cap) let slow or idle clients hold sockets
  // for minutes. The timeouts are checked every `connectionsCheckingInterval`, so that is kept short.
  // Its request listener is added at the end: express, or the known-document front in front of it.
  const httpServer = http.createServer({
    headersTimeout: config.http.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, config.http.headersTimeoutMs),
  });
  httpServer.keepAliveTimeout = config.http.keepAliveTimeoutMs;
  if (config.http.maxConnections > 0) httpServer.maxConnections = config.http.maxConnections;
  const metrics = createMetrics({ maxOperationNames: config.metrics.maxOperationNames });
  observePools(metrics, { serving: dataSource, owner: ownerDataSource });
  const traceWriter = new TraceWriter(dataSource, log, config.tracing.writeQueueMax, metrics.registry);
  const retention = new TraceRetention(ownerDataSource, log, config.tracing);
  const limit = (n: number, name: string) => ({ n, propagateOnRejection: false, onReject: [limitRejection(name, n)] });
  const drain = new HttpDrain(httpServer, log);
  const armor = new ApolloArmor({
    maxDepth: limit(config.graphql.maxDepth, 'depth'),
    maxAliases: limit(config.graphql.maxAliases, 'aliases'),
    costLimit: { enabled: false }, // replaced by the node limit below, which understands page sizes
    // Finding: armor's Apollo token limit throws from parsingDidStart, which Apollo answers with HTTP 500.
    // graphql-js's own parser limit (parseOptions below) fails the parse instead: a 400, QUERY_TOO_COMPLEX.
    maxTokens: { enabled: false },
    maxDirectives: limit(20, 'directives'),
    // Suggestions are stripped from every message in formatError (armor's plugin misses enum values).
    blockFieldSuggestion: { enabled: false },
  });
  const protection = armor.protect();

  const schema = await buildGatewaySchema();
  // The compiled read path (src/graphql/sql-plan) answers through the jit gateway's executor hook only, and
  // documents it planned once are answered by the known-document path (src/graphql/known-documents.ts).
  if (config.graphql.sqlPlan) setPreparedStatements(config.dbPreparedStatements);
  const sqlPlanner =
    config.graphql.sqlPlan && config.graphql.executor === 'jit' ? new SqlPlanner(schema, dataSource) : undefined;
  const knownDocuments = new KnownDocuments();
  const apollo = new ApolloServer<GatewayContext>({
    // GRAPHQL_EXECUTOR=jit: graphql-jit through Apollo's only executor hook, the `gateway` option
    // (src/graphql/executor.ts); plugins, validation rules and formatError run the same either way.
    ...(config.graphql.executor === 'jit' ? { gateway: jitGateway(schema) } : { schema }),
    introspection: config.graphql.introspection,
    formatError: createFormatError({ hideSuggestions: config.env === 'production' }),
    includeStacktraceInErrorResponses: false,
    // The process owns shutdown (main.ts → stop()): Apollo's own SIGINT/SIGTERM handler would call
    // apollo.stop() concurrently with ours, and each waited on the other (10 s exits, pools never closed).
    stopOnTerminationSignals: false,
    parseOptions: { maxTokens: config.graphql.maxTokens },
    validationRules: [...protection.validationRules, nodeLimitRule(config.graphql.maxNodes), noSubscriptionsRule],
    plugins: [
      ...protection.plugins,
      httpStatusPlugin(),
      ApolloServerPluginLandingPageDisabled(),
      // Apollo's implicit per-request work, off explicitly (bench/README.md "Profile and levers"). The default
      // cache-control plugin has a willResolveField hook, which makes Apollo wrap every field resolver of the
      // schema and call the hook per field (a closure and a cache-policy object per field); we use no
      // @cacheControl hints, so all it did was answer `cache-control: no-store`, which httpStatusPlugin now
      // sets. Usage reporting (only with APOLLO_KEY), schema reporting (APOLLO_SCHEMA_REPORTING) and the inline
      // trace (subgraphs only) are not ours to switch on by an environment variable either.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      tenantPlugin({
        dataSource,
        metrics,
        exposeSqlStatementCount: config.exposeSqlStatementCount,
        requestTimeoutMs: config.requestTimeoutMs,
        settleTimeoutMs: config.statementTimeoutMs + 1000,
        // The compiled read path answers through the jit gateway's executor hook only.
        ...(sqlPlanner ? { sqlPlanner, knownDocuments } : {}),
      }),
      tracePlugin(),
    ],
  });
  await apollo.start();

  // HTTP metrics and the access log (README "Metrics and access log"), both written when the response ends.
  const observe = requestObserver({ app, metrics, log, accessLog: config.accessLog });
  const trace = traceMiddleware(traceWriter);
  const refuseWhileDraining = drain.middleware();
  // What every request gets first, once (the known-document front runs it before express sees the request).
  const prelude = (req: Request, res: Response, next: NextFunction) => {
    if (res.locals.requestId) return next();
    const incoming = req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    const facts: RequestFacts = {};
    observe(req, res, requestId, facts);
    // Every layer adds what the access log should know (src/request-scope.ts); every GraphQL error carries
    // the request id (src/graphql/http.ts, withRequestIds).
    res.locals.facts = facts;
    // Every response carries a traceparent; kept traces are written after the answer (README "Tracing").
    // Then, before any route: while shutting down, requests are refused before anything runs.
    trace(req, res, (error?: unknown) => (error ? next(error) : refuseWhileDraining(req, res, next)));
  };
  app.use(prelude);
  // Browser front ends on other origins (src/cors.ts): the API paths only, not the operator endpoints.
  const crossOrigin = corsMiddleware(config.corsOrigins);
  for (const path of ['/graphql', API_PREFIX, '/auth/token', '/.well-known/jwks.json']) app.use(path, crossOrigin);

  app.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await dataSource.query('SELECT 1');
      res.json({ status: 'ok' });
    } catch {
      res
        .status(503)
        .set('retry-after', String(RETRY_AFTER_SECONDS))
        .json({ status: 'unavailable', error: 'database unreachable' });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/.well-known/jwks.json', (_req, res) => {
    const body = JSON.stringify(tokens.jwks);
    res.set('cache-control', 'public, max-age=300').set('etag', etagOf(body)).type('json').send(body);
  });
  app.use('/platform/v1', platformApi(ownerDataSource, config.platformAdminToken));
  app.use('/auth', apiKeyExchange(ownerDataSource, tokens, config, log, metrics));
  // REST (src/rest): the same services, RequestContext and transaction rules as /graphql.
  app.use(
    API_PREFIX,
    restApi({
      dataSource,
      tokens,
      keyring,
      log,
      routes: restRoutes,
      requestTimeoutMs: config.requestTimeoutMs,
      settleTimeoutMs: config.statementTimeoutMs + 1000,
      bodyLimit: '1mb',
    }),
  );
  if (config.graphiql) app.use('/graphiql', graphiqlRouter({ endpoint: '/graphql', tokenEndpoint: '/auth/token' }));

  const knownDocumentOptions = sqlPlanner && {
    known: knownDocuments,
    planner: sqlPlanner,
    dataSource,
    tokens,
    keyring,
    log,
    metrics,
    exposeSqlStatementCount: config.exposeSqlStatementCount,
    requestTimeoutMs: config.requestTimeoutMs,
    settleTimeoutMs: config.statementTimeoutMs + 1000,
  };
  app.use(
    '/graphql',
    ...graphqlHttp(
      expressMiddleware(apollo, {
        context: async ({ req, res }): Promise<GatewayContext> => {
          const requestId = res.locals.requestId as string;
          const principal = await authenticate(req.headers, tokens);
          const facts = res.locals.facts as RequestFacts;
          if (principal) noteCallerIn(facts, principal);
          const lifecycle = new RequestLifecycle();
          const context: GatewayContext = {
            requestId,
            log,
            principal,
            keyring,
            lifecycle,
            trace: res.locals.trace as RequestTrace,
            facts,
            legacyJson: res.locals.legacyJson === true,
            knownAttempt: res.locals.knownAttempt as KnownAttempt | undefined,
          };
          // However the response ends, the lifecycle hears of it. Before the answer was written: the client
          // went away, the scope refuses further statements, waits for in-flight work and rolls back. After
          // a normal answer the plugin has already ended the scope and this is a no-op; if the pipeline ever
          // skipped the plugin's end, this is the safety net that still rolls back and releases the connection.
          res.on('close', () => {
            void lifecycle.end(res.writableFinished ? 'closed' : 'client-gone').catch(() => undefined);
          });
          return context;
        },
      }),
      {
        bodyLimit: '1mb',
        ...(knownDocumentOptions && { knownDocuments: knownDocumentHandler(knownDocumentOptions) }),
      },
    ),
  );

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', message: 'No such route' });
  });
  app.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const outage = outageOf(error);
    if (outage) {
      // The platform API and anything else outside GraphQL: the same 503 as GraphQL and /auth/token.
      log.warn({ err: errorForLog(error), code: outage.code, requestId: res.locals.requestId }, 'database outage');
      res.status(503).set('retry-after', String(RETRY_AFTER_SECONDS)).json({
        error: 'service_unavailable',
        code: outage.code,
        message: outage.message,
        requestId: res.locals.requestId,
      });
      return;
    }
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) log.error({ err: errorForLog(error), requestId: res.locals.requestId }, 'http error');
    res.status(status).json({
      error: status === 500 ? 'internal_error' : (error.type ?? 'bad_request'),
      // body-parser's message for a parse failure quotes the body (an API key, say): never echoed.
      message:
        status === 500
          ? 'Internal server error'
          : error.type
            ? (BODY_ERRORS[error.type] ?? 'Bad request')
            : error.message,
      requestId: res.locals.requestId,
    });
  });

  httpServer.on(
    'request',
    knownDocumentOptions ? knownDocumentFront(app, prelude, crossOrigin, knownDocumentOptions) : app,
  );

  return {
    httpServer,
    listen: async () => {
      // Today's and the next days' trace partitions exist before the first request (retention.ts); a failure
      // here is not fatal (rows would land in the default partition) and the job retries every run.
      await retention
        .maintainPartitions()
        .catch((error: unknown) =>
          log.warn({ err: errorForLog(error) }, 'trace partitions could not be prepared at start'),
        );
      retention.start();
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          const address = httpServer.address() as { port: number };
          const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
          resolve(`http://${host}:${address.port}`);
        });
      });
    },
    stop: async () => {
      const drained = await drain.drain(config.shutdownGraceMs);
      await apollo.stop(); // nothing in flight any more: returns at once
      await retention.stop();
      await traceWriter.close().catch(() => undefined);
      return drained;
    },
  };
}
