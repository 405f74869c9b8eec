import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DataSource } from 'typeorm';
import { planOpenings } from './db/prepared-plans';

/** The label of requests that no route or mount of the gateway answered (404s, whatever the path). */
export const UNMATCHED_ROUTE = '<unmatched>';
/** Operation-name labels that are not names. */
export const OPERATION_LABELS = {
  anonymous: '__anonymous__',
  other: '__other__',
  /** The request never got a valid operation (syntax or validation error, unknown operationName). */
  invalid: '__invalid__',
} as const;
/** Longer operation names are never a label of their own (a GraphQL Name has no length limit). */
export const MAX_OPERATION_NAME_LENGTH = 100;

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** `method` label: the usual methods as they are, any other (Node's parser accepts ~30) as `OTHER`. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'OTHER';
}

/**
 * Which operation names get a label of their own: the first `max` distinct names seen, for the life of the
 * process; later ones share `__other__` (as OpenTelemetry's cardinality limit folds overflow into one
 * series). The gateway asks only once the operation parsed and validated against the schema, and lets
 * only a verified caller take a free slot: otherwise anyone could fill the cap with made-up names
 * (a syntax error costs nothing, and `query Junk1 { __typename }` validates without a token). An
 * anonymous request may still use a name that already has its slot.
 */
export class OperationNames {
  private readonly admitted = new Set<string>();
  constructor(readonly max: number) {}

  label(name: string | null | undefined, mayAdmit: boolean): string {
    if (!name) return OPERATION_LABELS.anonymous;
    if (name.length > MAX_OPERATION_NAME_LENGTH) return OPERATION_LABELS.other;
    if (this.admitted.has(name)) return name;
    if (mayAdmit && this.admitted.size < this.max) {
      this.admitted.add(name);
      return name;
    }
    return OPERATION_LABELS.other;
  }
}

/** Prometheus metrics served at /metrics. One registry per gateway instance (tests start several). */
export function createMetrics(options: { maxOperationNames: number } = { maxOperationNames: 100 }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    operationNames: new OperationNames(options.maxOperationNames),
    httpRequests: new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests by route template, method and status code ("aborted": the client left before the answer)',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'HTTP request duration by route template, method and status class (2xx … 5xx, or aborted)',
      labelNames: ['route', 'method', 'status_class'] as const,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    graphqlOperations: new Histogram({
      name: 'gateway_graphql_operation_seconds',
      help: 'GraphQL operation duration by operation name (bounded: see METRICS_MAX_OPERATION_NAMES), type and outcome',
      labelNames: ['operation', 'type', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    sqlStatements: new Histogram({
      name: 'gateway_sql_statements_per_request',
      help: 'SQL statements sent per authenticated GraphQL request (BEGIN/COMMIT included)',
      buckets: [2, 4, 6, 8, 12, 16, 24, 32, 64],
      registers: [registry],
    }),
    sqlPlanOpenings: new Counter({
      name: 'gateway_sql_plan_openings_total',
      help:
        'Openings that carried a compiled read plan, by how: prepare (PREPARE + EXECUTE), execute (already prepared ' +
        'on the connection), inline (literals; DB_PREPARED_STATEMENTS=off), fallback (the plan failed; reopened without it)',
      labelNames: ['how'] as const,
      registers: [registry],
      // Counted by src/db/prepared-plans.ts (the process's one serving path), read when /metrics is scraped.
      collect() {
        this.reset();
        for (const how of ['prepare', 'execute', 'inline', 'fallback'] as const) this.inc({ how }, planOpenings[how]);
      },
    }),
    rateLimitRefusals: new Counter({
      name: 'gateway_rate_limit_refusals_total',
      help: 'Requests refused by a rate limiter (429), by limiter',
      labelNames: ['limiter'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What pg-pool exposes about itself (pg's Pool). */
interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options?: { max?: number };
}

/**
 * Connection-pool gauges, read from each pg.Pool when /metrics is scraped (nothing runs between scrapes).
 * `pools`: label → data source; one data source listed twice (no separate serving login) is reported once.
 */
export function observePools(metrics: Metrics, pools: Record<string, DataSource>): void {
  const seen = new Set<DataSource>();
  const entries = Object.entries(pools).filter(([, dataSource]) => !seen.has(dataSource) && seen.add(dataSource));
  const poolOf = (dataSource: DataSource) =>
    dataSource.isInitialized ? ((dataSource.driver as unknown as { master?: PgPool }).master ?? undefined) : undefined;
  const gauge = (name: string, help: string, read: (pool: PgPool) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool'] as const,
      registers: [metrics.registry],
      collect() {
        for (const [label, dataSource] of entries) {
          const pool = poolOf(dataSource);
          const value = pool ? read(pool) : undefined;
          if (value !== undefined) this.set({ pool: label }, value);
        }
      },
    });
  gauge('gateway_db_pool_connections', 'Open connections of the pool (in use + idle)', (p) => p.totalCount);
  gauge('gateway_db_pool_idle_connections', 'Idle connections of the pool', (p) => p.idleCount);
  gauge('gateway_db_pool_waiting_requests', 'Callers waiting for a connection of the pool', (p) => p.waitingCount);
  gauge('gateway_db_pool_max_connections', 'Configured size of the pool', (p) => p.options?.max);
}
