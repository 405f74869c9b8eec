import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { escapeLiteral } from 'pg';
import { TENANT_ROLE } from './tenant-role';
import type { QueryRunnerData } from './data-source';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Attempts of one mutation when PostgreSQL reports a deadlock or serialization failure. */
export const TRANSIENT_ATTEMPTS = 4;

/** Deadlock victim (40P01) or serialization failure (40001): the same work may succeed when run again. */
export function isTransientFailure(error: unknown): boolean {
  const code = (error as { driverError?: { code?: string } })?.driverError?.code;
  return code === '40P01' || code === '40001';
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * One request's access to the database: one transaction, run as the tenant role, with `app.org_id` set
 * transaction-locally (safe behind a transaction-mode pooler), so row-level security shows this
 * organization's rows and nothing else. Every service and loader call of the request goes through it.
 *
 * The transaction opens on first use and is ended exactly once by `end()`, which the request lifecycle
 * always calls (see graphql/tenant-plugin.ts); the connection goes back to the pool in every case.
 */
/** Who the transaction acts for: RLS reads these (app.org_id, app.user_id, app.principal_kind). */
export interface ScopeIdentity {
  orgId: string;
  /**
   * The member whose workspace visibility applies: the user, or the member an API key answers to.
   * null only for org-wide keys (made by the platform), which see every workspace.
   */
  userId: string | null;
  kind: 'user' | 'api_key';
  /** For API-key principals: the key's id (from `sub` = apikey:<id>). */
  apiKeyId?: string | null;
}

export class TenantScope {
  private runner?: QueryRunner;
  private opening?: Promise<QueryRunner>;
  private ended = false;
  /** Savepoint levels of mutation() currently open (0: none); only the outermost level retries. */
  private mutationDepth = 0;
  /** Mutations re-run after a deadlock or serialization failure in this request (for tests and logs). */
  retries = 0;
  readonly orgId: string;

  constructor(
    private readonly dataSource: DataSource,
    readonly identity: ScopeIdentity,
    readonly readOnly: boolean,
  ) {
    if (!isUuid(identity.orgId)) throw new Error('TenantScope needs an organization id (uuid)');
    this.orgId = identity.orgId;
  }

  /** SQL statements this request has sent so far (BEGIN and COMMIT included). */
  get statements(): number {
    return (this.runner?.data as QueryRunnerData | undefined)?.statements ?? 0;
  }

  private open(): Promise<QueryRunner> {
    if (this.ended) return Promise.reject(new Error('tenant scope already ended'));
    this.opening ??= (async () => {
      const runner = this.dataSource.createQueryRunner('master');
      runner.data = { statements: 0, failedStatements: 0 } satisfies QueryRunnerData;
      this.runner = runner;
      await runner.connect();
      await runner.startTransaction();
      // One round trip, simple protocol (no parameters there): the org id is a checked uuid and the
      // user id is quoted by pg's escapeLiteral.
      const { orgId, userId, kind } = this.identity;
      await runner.query(
        `${this.readOnly ? 'SET TRANSACTION READ ONLY; ' : ''}SET LOCAL ROLE ${TENANT_ROLE}; ` +
          `SELECT set_config('app.org_id', '${orgId}', true), set_config('app.user_id', ${escapeLiteral(userId ?? '')}, true), ` +
          `set_config('app.principal_kind', '${kind === 'api_key' && !userId ? 'api_key' : 'user'}', true)`,
      );
      return runner;
    })();
    return this.opening;
  }

  async manager(): Promise<EntityManager> {
    return (await this.open()).manager;
  }

  async query<T = Record<string, unknown>>(sql: string, parameters: unknown[] = []): Promise<T[]> {
    return (await this.open()).query(sql, parameters) as Promise<T[]>;
  }

  /**
   * Runs one mutation inside a savepoint: a failed mutation leaves no trace and does not poison the
   * request's transaction, so the next mutation of the same operation still runs (GraphQL semantics).
   *
   * The outermost savepoint of a mutation is also its retry boundary: when PostgreSQL picks this
   * transaction as a deadlock victim (40P01) or reports a serialization failure (40001), the error
   * aborts only the savepoint's subtransaction, ROLLBACK TO SAVEPOINT undoes it and releases the locks
   * it took, and the whole mutation runs again (at most TRANSIENT_ATTEMPTS times, after a short random
   * pause so the contenders do not meet again in lockstep). Services lock in a deterministic order, so
   * this is a backstop, not the plan; if every attempt fails, the error reaches the client as CONFLICT
   * (graphql/errors.ts), never as an internal error.
   */
  async mutation<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.readOnly) throw new Error('mutation attempted in a read-only request');
    const runner = await this.open();
    const data = runner.data as QueryRunnerData;
    const outermost = this.mutationDepth === 0;
    for (let attempt = 1; ; attempt++) {
      const failedBefore = data.failedStatements ?? 0;
      await runner.startTransaction(); // nested: SAVEPOINT
      this.mutationDepth++;
      try {
        const result = await work(runner.manager);
        await runner.commitTransaction(); // RELEASE SAVEPOINT
        return result;
      } catch (error) {
        await runner.rollbackTransaction(); // ROLLBACK TO SAVEPOINT
        data.failedStatements = failedBefore; // whatever failed inside is undone with it
        if (!(outermost && attempt < TRANSIENT_ATTEMPTS && isTransientFailure(error))) throw error;
      } finally {
        this.mutationDepth--;
      }
      this.retries++;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }

  /**
   * Commit (or roll back) and release the connection. Idempotent. A read-write transaction in which a
   * statement failed outside a savepoint cannot commit (PostgreSQL would silently roll it back), so it
   * is rolled back and reported as an error, never as success. Rolling back unwinds every open
   * savepoint level, so the connection always goes back to the pool outside any transaction.
   */
  async end(commit: boolean): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (!this.opening) return;
    let runner: QueryRunner | undefined;
    try {
      runner = await this.opening;
    } catch {
      runner = this.runner;
    }
    if (!runner) return;
    try {
      const failed = ((runner.data as QueryRunnerData).failedStatements ?? 0) > 0;
      if (commit && !failed && runner.isTransactionActive) {
        await runner.commitTransaction();
      } else {
        while (runner.isTransactionActive) await runner.rollbackTransaction();
        if (commit && failed && !this.readOnly) throw new Error('a statement failed outside a savepoint: the request transaction was rolled back');
      }
    } finally {
      await runner.release().catch(() => undefined);
    }
  }
}
