import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics served at /metrics. One registry per gateway instance (tests start several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    graphqlOperations: new Histogram({
      name: 'gateway_graphql_operation_seconds',
      help: 'GraphQL operation duration by operation type and outcome',
      labelNames: ['type', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    sqlStatements: new Histogram({
      name: 'gateway_sql_statements_per_request',
      help: 'SQL statements sent per authenticated GraphQL request (BEGIN/COMMIT included)',
      buckets: [2, 4, 6, 8, 12, 16, 24, 32, 64],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
