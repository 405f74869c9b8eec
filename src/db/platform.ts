import type { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { transactionTimeouts } from './data-source';
import { inlineParameters } from './tenant-scope';

/**
 * The explicit platform-admin path: work that must cross tenants (create an organization, change its
 * status or support tier, look an organization up by slug for the CLI). It runs on the owner connection,
 * in its own transaction, with `app.platform_admin` switched on for that transaction only; the
 * `platform_admin` policies admit the owning role only under that setting. Never reachable from GraphQL
 * resolvers, which only ever see a TenantScope.
 */
export async function asPlatformAdmin<T>(
  ownerDataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  return ownerDataSource.transaction(async (manager) => {
    await manager.query(`SELECT set_config('app.platform_admin', 'on', true), ${transactionTimeouts(ownerDataSource)}`);
    return work(manager);
  });
}

/**
 * One platform-admin statement in ONE round trip (issue 11, W4): `set_config('app.platform_admin', 'on',
 * true)` and the timeouts, then `sql`, as one simple-protocol message on the owner pool. PostgreSQL runs
 * the statements of one simple Query message as one implicit transaction, so the settings are
 * transaction-local exactly as in `asPlatformAdmin` (which costs START TRANSACTION, the settings, the
 * statement and COMMIT: four round trips), and a transaction-mode pooler sees one transaction. The
 * parameters are inlined as literals by `inlineParameters` (the tick batches' rules); a statement that
 * cannot be inlined goes through `asPlatformAdmin` instead.
 */
export async function platformStatement<T = Record<string, unknown>>(
  ownerDataSource: DataSource,
  sql: string,
  parameters: unknown[],
): Promise<T[]> {
  const inlined = inlineParameters(sql, parameters);
  if (inlined === null) return asPlatformAdmin(ownerDataSource, (manager) => manager.query(sql, parameters));
  const pool = (ownerDataSource.driver as PostgresDriver).master as {
    query(text: string): Promise<Array<{ rows: T[] }>>;
  };
  const results = await pool.query(
    `SELECT set_config('app.platform_admin', 'on', true), ${transactionTimeouts(ownerDataSource)}; ${inlined}`,
  );
  return results[1].rows;
}

interface PendingStatement {
  text: string;
  parameters: unknown[];
  /** A platformStatement (its own settings in front), or a plain statement of the owner pool. */
  platform: boolean;
  resolve(result: { rows: unknown[]; rowCount: number | null }): void;
  reject(error: unknown): void;
}

/**
 * Statements on the owner pool that are issued together share ONE message (issue 11, W4: the token
 * exchange's per-address rate limit and its key lookup, one round trip instead of two). Statements issued
 * before the event loop's check phase (`setImmediate`: everything reachable through promise jobs and
 * ticks, so a library's promise chain still joins) are sent as one simple-protocol message, each in a
 * transaction of its own, exactly as when they went one by one:
 * `<plain statement>; COMMIT; SELECT set_config('app.platform_admin', …); <platform statement>`.
 * PostgreSQL runs a multi-statement message as one implicit transaction unless it holds transaction
 * control: each COMMIT ends one, and the next statement opens the next (protocol docs, "Multiple
 * Statements in a Simple Query"), so the platform settings stay local to their own statement's
 * transaction. Plain statements go first (the rate limits are counted before the lookup, as before).
 * If a statement fails, the rest of the message is skipped and every statement of the message is
 * rejected with that error (what committed before it stays committed, as before; nothing after it ran).
 * A statement alone, or any statement that cannot be inlined (`inlineParameters`), is sent as before: a
 * plain one with its parameters apart, a platform one through `platformStatement`.
 */
export class OwnerStatements {
  private pending?: PendingStatement[];

  constructor(private readonly owner: DataSource) {}

  /** A plain statement (pg's `query({ text, values })`, what rate-limiter-flexible's store client calls). */
  readonly query = ({ text, values }: { text: string; values?: unknown[] }) =>
    this.enqueue({ text, parameters: values ?? [], platform: false });

  /** `platformStatement`, sharing the message of the statements issued with it. */
  async platform<T = Record<string, unknown>>(sql: string, parameters: unknown[]): Promise<T[]> {
    return (await this.enqueue({ text: sql, parameters, platform: true })).rows as T[];
  }

  private enqueue(statement: Omit<PendingStatement, 'resolve' | 'reject'>) {
    return new Promise<{ rows: unknown[]; rowCount: number | null }>((resolve, reject) => {
      if (!this.pending) {
        const batch: PendingStatement[] = (this.pending = []);
        setImmediate(() => {
          this.pending = undefined;
          void this.flush(batch);
        });
      }
      this.pending.push({ ...statement, resolve, reject });
    });
  }

  private pool() {
    return (this.owner.driver as PostgresDriver).master as {
      query(text: string, values?: unknown[]): Promise<unknown>;
    };
  }

  private async alone(statement: PendingStatement): Promise<void> {
    try {
      if (statement.platform) {
        statement.resolve({
          rows: await platformStatement(this.owner, statement.text, statement.parameters),
          rowCount: null,
        });
      } else {
        statement.resolve(
          (await this.pool().query(statement.text, statement.parameters)) as {
            rows: unknown[];
            rowCount: number | null;
          },
        );
      }
    } catch (error) {
      statement.reject(error);
    }
  }

  private async flush(batch: PendingStatement[]): Promise<void> {
    // rate-limiter-flexible ends its statements with `;` (and whitespace): not part of the statement.
    const inlined = batch.map((statement) =>
      inlineParameters(statement.text.replace(/;\s*$/, ''), statement.parameters),
    );
    if (batch.length === 1 || inlined.some((sql) => sql === null)) {
      await Promise.all(batch.map((statement) => this.alone(statement)));
      return;
    }
    const order = batch.map((statement, i) => ({ statement, sql: inlined[i]! }));
    order.sort((a, b) => Number(a.statement.platform) - Number(b.statement.platform)); // stable: plain ones first
    const settings = `SELECT set_config('app.platform_admin', 'on', true), ${transactionTimeouts(this.owner)}`;
    const parts: string[] = [];
    const at: number[] = []; // the index of each statement's own result
    let results = 0;
    for (const { statement, sql } of order) {
      if (parts.length > 0) {
        parts.push('COMMIT');
        results++;
      }
      if (statement.platform) {
        parts.push(settings);
        results++;
      }
      parts.push(sql);
      at.push(results++);
    }
    try {
      const sent = (await this.pool().query(parts.join('; '))) as Array<{ rows: unknown[]; rowCount: number | null }>;
      order.forEach(({ statement }, i) => statement.resolve(sent[at[i]]));
    } catch (error) {
      for (const { statement } of order) statement.reject(error);
    }
  }
}
