import http from 'node:http';
import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from './config';
import { authenticate } from './auth/authenticate';
import type { TokenService } from './auth/tokens';
import type { GatewayContext } from './graphql/context';
import { errorForLog, formatError } from './graphql/errors';
import { buildGatewaySchema } from './graphql/schema';
import { tenantPlugin } from './graphql/tenant-plugin';
import { graphiqlPage } from './graphql/graphiql';
import { nodeLimitRule } from './graphql/node-limit';
import { createMetrics } from './metrics';
import { platformApi } from './platform-api';
import { apiKeyExchange } from './auth/api-key-exchange';
import type { Keyring } from './secrets/keyring';

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
  stop(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * HTTP surface: /graphql (POST, and GET for queries), /graphiql, /livez, /readyz, /metrics and
 * /.well-known/jwks.json. Each request gets a request id (the caller's X-Request-Id if well-formed).
 */
export async function createGateway({ config, log, dataSource, ownerDataSource, tokens, keyring }: GatewayDeps): Promise<Gateway> {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  const httpServer = http.createServer(app);
  const metrics = createMetrics();
  const armor = new ApolloArmor({
    maxDepth: { n: config.graphql.maxDepth },
    maxAliases: { n: config.graphql.maxAliases },
    costLimit: { enabled: false }, // replaced by the node limit below, which understands page sizes
    // Finding: armor's Apollo max-tokens plugin re-parses the document in a parsingDidStart hook, so every
    // syntax error (not only the token limit) surfaced as an unexpected plugin error: HTTP 500. graphql-js
    // enforces the same limit itself through Apollo's parseOptions (below): HTTP 400 GRAPHQL_PARSE_FAILED.
    maxTokens: { enabled: false },
    maxDirectives: { n: 20 },
    blockFieldSuggestion: { enabled: config.env === 'production' },
  });
  const protection = armor.protect();

  const apollo = new ApolloServer<GatewayContext>({
    schema: await buildGatewaySchema(),
    introspection: config.graphql.introspection,
    formatError,
    includeStacktraceInErrorResponses: false,
    parseOptions: { maxTokens: config.graphql.maxTokens },
    validationRules: [...protection.validationRules, nodeLimitRule(config.graphql.maxNodes)],
    plugins: [
      ...protection.plugins,
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      tenantPlugin({ dataSource, metrics, exposeSqlStatementCount: config.exposeSqlStatementCount }),
    ],
  });
  await apollo.start();

  app.use((req: Request, res: Response, next: NextFunction) => {
    const incoming = req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    res.on('finish', () => metrics.httpRequests.inc({ route: req.route?.path ?? req.path.split('/').slice(0, 2).join('/'), status: res.statusCode }));
    next();
  });

  app.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await dataSource.query('SELECT 1');
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable', error: 'database unreachable' });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/.well-known/jwks.json', (_req, res) => {
    res.set('cache-control', 'public, max-age=300').json(tokens.jwks);
  });
  app.use('/platform/v1', platformApi(ownerDataSource, config.platformAdminToken));
  app.use('/auth', apiKeyExchange(ownerDataSource, tokens, config, log));
  app.get('/graphiql', (_req, res) => {
    res.type('html').send(graphiqlPage('/graphql'));
  });

  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req, res }): Promise<GatewayContext> => {
        const requestId = res.locals.requestId as string;
        const principal = await authenticate(req.headers, tokens).catch((error) => {
          if (error?.extensions) error.extensions.requestId = requestId;
          throw error;
        });
        const context: GatewayContext = { requestId, log, principal, keyring, lifecycle: {} };
        // Safety net: if the response ends without the plugin having ended the scope (a client abort
        // before the pipeline finished, an unexpected throw), roll back and release the connection.
        res.on('close', () => void context.lifecycle.scope?.end(false).catch(() => undefined));
        return context;
      },
    }),
  );

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', message: 'No such route' });
  });
  app.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) log.error({ err: errorForLog(error), requestId: res.locals.requestId }, 'http error');
    res.status(status).json({
      error: status === 500 ? 'internal_error' : (error.type ?? 'bad_request'),
      message: status === 500 ? 'Internal server error' : error.message,
      requestId: res.locals.requestId,
    });
  });

  return {
    httpServer,
    listen: () =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          const address = httpServer.address() as { port: number };
          const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
          resolve(`http://${host}:${address.port}`);
        });
      }),
    stop: async () => {
      await apollo.stop();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
