import { DataSource, type Logger as TypeOrmLogger, type QueryRunner } from 'typeorm';
import type { Logger } from 'pino';
import { ENTITIES } from './entities';
import { TenantCore1764000000000 } from './migrations/1764000000000-TenantCore';
import { Membership1764000000001 } from './migrations/1764000000001-Membership';
import { OrganizationSettings1764000000002 } from './migrations/1764000000002-OrganizationSettings';
import { AuditLog1764000000006 } from './migrations/1764000000006-AuditLog';
import { ApiKeys1764000000007 } from './migrations/1764000000007-ApiKeys';
import { InlineWorkspaceVisibility1764000000008 } from './migrations/1764000000008-InlineWorkspaceVisibility';
import { ApiKeyOwners1764000000009 } from './migrations/1764000000009-ApiKeyOwners';
import { UsageIdempotency1764000000010 } from './migrations/1764000000010-UsageIdempotency';
import { Secrets1764000000005 } from './migrations/1764000000005-Secrets';
import { Billing1764000000003 } from './migrations/1764000000003-Billing';
import { Deployments1764000000004 } from './migrations/1764000000004-Deployments';
import { Traces1764000000011 } from './migrations/1764000000011-Traces';

export const MIGRATIONS = [
  TenantCore1764000000000,
  Membership1764000000001,
  OrganizationSettings1764000000002,
  Billing1764000000003,
  Deployments1764000000004,
  Secrets1764000000005,
  AuditLog1764000000006,
  ApiKeys1764000000007,
  InlineWorkspaceVisibility1764000000008,
  ApiKeyOwners1764000000009,
  UsageIdempotency1764000000010,
  Traces1764000000011,
];

/** Per-query-runner bookkeeping, kept in TypeORM's `queryRunner.data`. */
export interface QueryRunnerData {
  statements?: number;
  /** Statements that failed and were not undone by rolling back to a savepoint (see TenantScope). */
  failedStatements?: number;
}

/**
 * TypeORM calls logQuery for every statement a query runner sends, with that runner: we count statements
 * per request transaction (exposed for tests and benchmarks) and send SQL to the debug log only.
 * Parameters are never logged: they can hold secrets.
 */
class GatewayTypeOrmLogger implements TypeOrmLogger {
  constructor(private readonly pinoLog?: Logger) {}
  logQuery(query: string, _parameters?: unknown[], queryRunner?: QueryRunner): void {
    const data = queryRunner?.data as QueryRunnerData | undefined;
    if (data && data.statements !== undefined) data.statements++;
    this.pinoLog?.trace({ sql: query }, 'sql');
  }
  logQueryError(error: string | Error, query: string, _parameters?: unknown[], queryRunner?: QueryRunner): void {
    const data = queryRunner?.data as QueryRunnerData | undefined;
    if (data && data.failedStatements !== undefined) data.failedStatements++;
    this.pinoLog?.debug(
      { err: { message: typeof error === 'string' ? error : error.message }, sql: query },
      'sql error',
    );
  }
  logQuerySlow(time: number, query: string): void {
    this.pinoLog?.warn({ ms: time, sql: query }, 'slow sql');
  }
  logSchemaBuild(message: string): void {
    this.pinoLog?.info(message); // the TypeORM CLI reports migration:show through this
  }
  logMigration(message: string): void {
    this.pinoLog?.info(message);
  }
  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.pinoLog?.warn({ typeorm: message }, 'typeorm');
    else this.pinoLog?.info(String(message));
  }
}

export interface DataSourceOptions {
  url: string;
  poolSize?: number;
  statementTimeoutMs?: number;
  /** How long a caller waits for a free pooled connection (and for a new connection to open). */
  poolWaitMs?: number;
  log?: Logger;
  applicationName?: string;
}

const TIMEOUTS = new WeakMap<DataSource, { statementMs: number; idleInTransactionMs: number }>();

/**
 * The statement and idle-in-transaction timeouts of a data source as `set_config(…, true)` calls, for the
 * first statement of every transaction the gateway opens (TenantScope, the platform-admin path).
 *
 * Why not connection startup parameters (pg's `statement_timeout` option): a transaction-mode pooler shares
 * server sessions between clients, so only transaction-local settings are safe, and PgBouncer refuses the
 * connection outright for any startup parameter it does not track ("unsupported startup parameter:
 * statement_timeout"; Debian 12's PgBouncer 1.18 tracks only client_encoding, DateStyle, TimeZone,
 * standard_conforming_strings and application_name). Setting them per transaction works the same behind
 * PgBouncer and directly, with no pooler configuration. PostgREST and Hasura do the same.
 */
export function transactionTimeouts(dataSource: DataSource): string {
  const timeouts = TIMEOUTS.get(dataSource);
  if (!timeouts)
    return `set_config('statement_timeout', '15000', true), set_config('idle_in_transaction_session_timeout', '30000', true)`;
  return (
    `set_config('statement_timeout', '${Math.trunc(timeouts.statementMs)}', true), ` +
    `set_config('idle_in_transaction_session_timeout', '${Math.trunc(timeouts.idleInTransactionMs)}', true)`
  );
}

export function createDataSource(options: DataSourceOptions): DataSource {
  const statementMs = options.statementTimeoutMs ?? 15000;
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'all',
    synchronize: false,
    logger: new GatewayTypeOrmLogger(options.log),
    maxQueryExecutionTime: 1000,
    poolSize: options.poolSize ?? 10,
    extra: {
      application_name: options.applicationName ?? 'manifest-gateway',
      // pg-pool applies this both to waiting for a free client and to opening a new one; either way the
      // caller gets an error that graphql/errors.ts names SERVICE_UNAVAILABLE (503), never a 10 s hang.
      connectionTimeoutMillis: options.poolWaitMs ?? 10000,
    },
  });
  // Backstops: no statement runs forever, and a transaction left open by a bug is ended by the server.
  // Applied per transaction, never as startup parameters: see transactionTimeouts().
  TIMEOUTS.set(dataSource, { statementMs, idleInTransactionMs: Math.max(30000, statementMs * 2) });
  return dataSource;
}
