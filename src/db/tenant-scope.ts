import { QueryFailedError, type DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { escapeLiteral } from 'pg';
import { TENANT_ROLE } from './tenant-role';
import { transactionTimeouts, type QueryRunnerData } from './data-source';
import {
  carryAll,
  forget,
  forgetUnsure,
  planOpenings,
  type CarriedStatement,
  type PreparedStatement,
} from './prepared-plans';

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

/**
 * Why a TenantScope refused a statement. `aborted`: the client went away; `ended`: the request is over
 * (work still running after the response must not reach a connection that is back in the pool);
 * `deadline`: the request ran past REQUEST_TIMEOUT_MS; `connection_lost`: the database connection broke
 * under the request. graphql/errors.ts maps these (with the driver's errors) to client codes.
 */
export class ScopeRefusal extends Error {
  constructor(
    readonly reason: 'aborted' | 'ended' | 'deadline' | 'connection_lost',
    message: string,
  ) {
    super(message);
    this.name = 'ScopeRefusal';
  }
}

export interface TenantScopeOptions {
  /** Epoch milliseconds after which no new statement starts (the request deadline). */
  deadline?: number;
  /**
   * How long `end()` waits for in-flight work to settle before it gives the connection up as in doubt
   * (destroyed, never pooled). In-flight statements are bounded by the statement timeout anyway.
   */
  settleTimeoutMs?: number;
  /** Round trips the request made before this scope (counted in `statements`). */
  priorStatements?: number;
}

/** A speculative read for the opening round trip (see `TenantScope.speculate`). */
export interface Speculative {
  sql: string;
  traced: string;
  prepared?: PreparedStatement;
  /** End the transaction in the same message (read-only scopes only). */
  commit?: boolean;
}

interface QueuedStatement {
  sql: string;
  parameters: unknown[];
  /** The statement with its parameters as literals. */
  inlined: string;
  resolve(rows: unknown[]): void;
  reject(error: unknown): void;
}

/**
 * `sql` with `$n` replaced by its parameter as a literal, for the simple protocol (which takes no
 * parameters), or null when that is not certainly safe and the same: then the statement goes alone, with
 * its parameters apart. Every value becomes a quoted literal of unknown type (`'…'`, by pg's
 * escapeLiteral) or NULL — what the extended protocol sends as untyped text parameters, so PostgreSQL
 * infers the same types — and arrays of strings or numbers an array literal (`'{"a","b"}'`).
 * Refused: SQL with string literals, comments, dollar quoting or `;` (a `$n` could hide in a literal), a
 * double-quoted identifier holding `$` or `"` (plain quoted identifiers are fine), strings
 * with NUL (the simple protocol's query is a C string), and any other type (dates, buffers, objects).
 */
export function inlineParameters(sql: string, parameters: unknown[]): string | null {
  const template = templateOf(sql);
  if (template === null) return null;
  const literals: string[] = [];
  for (const value of parameters) {
    const literal = literalOf(value);
    if (literal === null) return null;
    literals.push(literal);
  }
  // template: [text, n, text, n, …, text]
  let inlined = template[0] as string;
  for (let i = 1; i < template.length; i += 2) {
    const literal = literals[(template[i] as number) - 1];
    if (literal === undefined) return null;
    inlined += literal + (template[i + 1] as string);
  }
  return inlined;
}

/**
 * The checked, split form of a statement's text for inlineParameters (its text pieces and, between them,
 * the parameter numbers), or null when it may not be inlined. Statements come from the code, so the same
 * few texts recur on every request (issue 11, W3: the check's regular expressions were 1.3 % of a write):
 * the result is kept per text, in a map emptied whenever it reaches 1,000 texts.
 */
const TEMPLATES = new Map<string, Array<string | number> | null>();

function templateOf(sql: string): Array<string | number> | null {
  let template = TEMPLATES.get(sql);
  if (template !== undefined) return template;
  // Double-quoted identifiers (TypeORM quotes every column: `INSERT INTO "components"("org_id", …)`) are
  // allowed when they hold no `$` and no `"`: then every `$n` of the string is outside them.
  template = /['";]|--|\/\*|\$\$/.test(sql.includes('"') ? sql.replace(/"[^"$]*"/g, '') : sql)
    ? null
    : sql.split(/\$(\d+)/).map((piece, i) => (i % 2 === 1 ? Number(piece) : piece));
  if (TEMPLATES.size >= 1000) TEMPLATES.clear();
  TEMPLATES.set(sql, template);
  return template;
}

function textOf(value: unknown): string | null {
  if (typeof value === 'string') return value.includes('\0') ? null : value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return String(value);
  return null;
}

function literalOf(value: unknown): string | null {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (const item of value) {
      const text = item === null ? null : textOf(item);
      if (text === null) return null;
      items.push(`"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
    }
    return escapeLiteral(`{${items.join(',')}}`);
  }
  const text = textOf(value);
  return text === null ? null : escapeLiteral(text);
}

/** A write queued by `TenantScope.queueWrite`, waiting for a message to ride in. */
interface QueuedWrite {
  /** What is sent: the statement with its parameters inlined. */
  sql: string;
  /** The parameterised text: what logs and traces get (never the values). */
  text: string;
}

type RawQuery = (query: string, parameters?: unknown[], useStructuredResult?: boolean) => Promise<any>;

/** The pg client under a TypeORM PostgresQueryRunner (`connect()` returns it once connected). */
interface PgClient {
  getTransactionStatus?(): string | null;
  end(): Promise<void>;
  query(...args: unknown[]): unknown;
}

/** The savepoint statements TypeORM's nested startTransaction/commitTransaction/rollbackTransaction send. */
const SAVEPOINT_STATEMENT = /^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT) (typeorm_\d+)$/;

/**
 * One request's access to the database: one transaction, run as the tenant role, with `app.org_id` set
 * transaction-locally (safe behind a transaction-mode pooler), so row-level security shows this
 * organization's rows and nothing else. Every service and loader call of the request goes through it.
 *
 * Ownership (issue 9 point 2): the connection belongs to this request from `open()` to `end()` and to
 * nothing else.
 * - Every statement the request sends (the opening round trip, TypeORM's SAVEPOINT / ROLLBACK TO included)
 *   passes one guard installed on the query runner: it is counted as in-flight while it runs, and it is
 *   refused once the request was aborted, is ending or ended, or ran past its deadline.
 * - `end()` is one memoised operation, whoever calls it first (the tenant plugin before the response, or
 *   the HTTP close handler when the client went away) decides commit or rollback. It first stops new
 *   statements, then waits for in-flight statements and mutations to settle, and only then touches the
 *   connection: a plain COMMIT or ROLLBACK (never TypeORM's depth-counted commit/rollback), after which
 *   the driver must report the connection idle outside any transaction ('I').
 * - A connection whose state is in doubt (an error during COMMIT/ROLLBACK, a transaction status other
 *   than idle afterwards, work that did not settle) is destroyed, never returned to the pool.
 */
export class TenantScope {
  private runner?: QueryRunner;
  private client?: PgClient;
  /** The runner's query method without the guard: only `end()` uses it. */
  private rawQuery?: RawQuery;
  private opening?: Promise<QueryRunner>;
  private ending?: Promise<void>;
  /** Set when the client went away: statements are refused and the transaction is rolled back. */
  private aborted = false;
  /** Set when `end()` starts: from then on only `end()` itself talks to the connection. */
  private closing = false;
  /** Set by the guard when we released the runner (so a released runner we did not release = connection lost). */
  private releasedByUs = false;
  private inflight = 0;
  /** The first statement refused (a deadline, a lost connection): the reason a commit was impossible. */
  private firstRefusal?: ScopeRefusal;
  private openFailed = false;
  /** Statements of the current tick waiting to be sent together (see query()). */
  private batch?: QueuedStatement[];
  /** The rows of openWith()'s read, handed over once. */
  private firstReadRows?: Record<string, unknown>[];
  /**
   * A speculative read that rides in the opening round trip behind the first read (the compiled read path,
   * src/graphql/sql-plan): set by `speculate()` before the scope opens, its rows kept for `takeSpeculative()`.
   */
  private speculative?: Speculative;
  private speculativeRows?: Record<string, unknown>[];
  /**
   * The opening message ended with COMMIT (a speculative read with `commit`, the known-document path,
   * src/graphql/known-documents.ts): the request's one transaction is over. No statement may follow (it
   * would run outside any transaction, without the tenant role and settings), and `finish` sends nothing.
   */
  private committedInOpening = false;
  private idle?: { promise: Promise<void>; resolve: () => void };
  /**
   * Savepoint statements not sent yet (issue 11: W3's round trips). `SAVEPOINT` and `RELEASE SAVEPOINT`
   * are deferred and sent in front of the next statement of the request, in the same simple-protocol
   * message (see `carry`); a savepoint with no statement between it and its release or rollback is never
   * sent at all, and COMMIT/ROLLBACK drop what is left (they end every savepoint).
   */
  private deferred: string[] = [];
  /**
   * Writes queued by `queueWrite` (the audit row of a change), not sent yet: they ride in front of the
   * next statement sent OUTSIDE every mutation, or in the COMMIT message (`finish`). A mutation that fails
   * drops what it queued; ROLLBACK drops everything.
   */
  private queued: QueuedWrite[] = [];
  /** Savepoint levels of mutation() currently open (0: none); only the outermost level retries. */
  private mutationDepth = 0;
  /** Mutations re-run after a deadlock or serialization failure in this request (for tests and logs). */
  retries = 0;
  /**
   * Set once the request is traced (src/tracing, README "Tracing"): every statement is reported with its
   * ORIGINAL parameterised text (never the inlined literals of a batch, never parameter values) and its
   * timing. Unset (the `none` mode, untraced requests): nothing is timed beyond the opening.
   */
  statementSink?: (sql: string, startNs: bigint, endNs: bigint, failed: boolean, batched?: number) => void;
  /** When the opening round trip started and ended (process.hrtime.bigint): the trace adds it once decided. */
  openingNs?: [bigint, bigint];
  readonly orgId: string;

  constructor(
    private readonly dataSource: DataSource,
    readonly identity: ScopeIdentity,
    readonly readOnly: boolean,
    private readonly options: TenantScopeOptions = {},
  ) {
    if (!isUuid(identity.orgId)) throw new Error('TenantScope needs an organization id (uuid)');
    this.orgId = identity.orgId;
  }

  /** SQL statements this request has sent so far (BEGIN and COMMIT included). */
  get statements(): number {
    return (this.runner?.data as QueryRunnerData | undefined)?.statements ?? 0;
  }

  /** The client went away: refuse further statements and end (roll back) once in-flight work settled. */
  abort(): Promise<void> {
    this.aborted = true;
    return this.end(false);
  }

  private refusal(): ScopeRefusal | undefined {
    const refusal = this.whyRefused();
    this.firstRefusal ??= refusal;
    return refusal;
  }

  private whyRefused(): ScopeRefusal | undefined {
    if (this.aborted) return new ScopeRefusal('aborted', 'the client closed the request');
    if (this.closing || this.committedInOpening)
      return new ScopeRefusal('ended', 'the request has ended; its database connection is closed to it');
    if (this.runner?.isReleased && !this.releasedByUs)
      return new ScopeRefusal('connection_lost', 'the database connection was lost');
    if (this.options.deadline !== undefined && Date.now() > this.options.deadline) {
      return new ScopeRefusal('deadline', 'the request ran past its deadline (REQUEST_TIMEOUT_MS)');
    }
    return undefined;
  }

  /** Counts `work` as in-flight until it settles; `end()` waits for the count to reach zero. */
  private async track<T>(work: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await work();
    } finally {
      if (--this.inflight === 0 && this.idle) {
        this.idle.resolve();
        this.idle = undefined;
      }
    }
  }

  private settled(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    if (!this.idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.idle = { promise, resolve };
    }
    return this.idle.promise;
  }

  /**
   * Sends a multi-statement string (the opening, a tick's batch) on the runner's pg client, through the
   * same guard as every statement. TypeORM's runner.query would drop the results of a multi-statement
   * string (it reads `.rows` of one result), so the client is called directly; the string is still
   * counted and logged (one round trip) by the data source's logger, and a failure counts as a failed
   * statement, exactly as through runner.query.
   */
  private async sendMany(
    runner: QueryRunner,
    sql: string,
    logged: string = sql,
  ): Promise<Array<{ rows: Record<string, unknown>[] }>> {
    const refusal = this.refusal();
    if (refusal) throw refusal;
    const logger = this.dataSource.logger;
    logger.logQuery(logged, undefined, runner);
    try {
      const raw = await (this.client as unknown as { query(sql: string): Promise<unknown> }).query(sql);
      return (Array.isArray(raw) ? raw : [raw]) as Array<{ rows: Record<string, unknown>[] }>;
    } catch (error) {
      logger.logQueryError(error as Error, logged, undefined, runner);
      throw new QueryFailedError(logged, undefined, error as Error);
    }
  }

  /**
   * One more read for the opening round trip (the compiled read path, src/graphql/sql-plan): it is sent
   * after the first read (the caller row) in the same simple-protocol message, so it runs in the request's
   * transaction as the tenant role under row-level security like every statement of the request. `sql`
   * must be one parameterless statement whose values are checked literals; `traced` is its parameterised
   * text for traces (never values). `prepared`, when given, is the same statement as a named prepared
   * statement (src/db/prepared-plans.ts): the opening then carries `[PREPARE …;] EXECUTE …` instead of `sql`
   * when DB_PREPARED_STATEMENTS is on. Only before the scope opens; ignored otherwise. Its rows are only
   * handed out by `takeSpeculative()`: whoever reads them decides whether the caller checks passed.
   * `commit`: the message also ends the (read-only) transaction: for a caller that needs nothing after the
   * speculative read (the known-document path); the scope then refuses every further statement.
   */
  speculate(speculative: Speculative): void {
    if (!this.opening) this.speculative = speculative;
  }

  /** The parameterised text of the speculative read when it rode in the opening and succeeded (for traces). */
  get speculativeTraced(): string | undefined {
    return this.speculativeRows && this.speculative ? this.speculative.traced : undefined;
  }

  /** The speculative read's rows (once), or undefined when none rode in the opening or it was dropped. */
  takeSpeculative(): { rows: Record<string, unknown>[]; traced: string } | undefined {
    const rows = this.speculativeRows;
    this.speculativeRows = undefined;
    return rows && this.speculative ? { rows, traced: this.speculative.traced } : undefined;
  }

  /**
   * The request's first read, folded into the round trip that opens the transaction when the scope is
   * not open yet (the caller row: openRequest reads it before anything else). `sql` must be one
   * parameterless statement whose values are literals (uuids checked, text through escapeLiteral);
   * `prepared`, the same as a prepared statement of the connection (DB_PREPARED_STATEMENTS: parsed and
   * planned once per connection instead of on every request). On a scope already open it is an ordinary
   * statement.
   */
  async openWith<T = Record<string, unknown>>(sql: string, prepared?: PreparedStatement): Promise<T[]> {
    if (this.opening) return this.query<T>(sql);
    await this.open({ inline: sql, statement: prepared });
    const rows = this.firstReadRows ?? [];
    this.firstReadRows = undefined;
    return rows as T[];
  }

  private open(firstRead?: CarriedStatement): Promise<QueryRunner> {
    // Once open, every statement meets the guard itself; asking here would build a refusal (an Error, with
    // its stack) on every call after a committed opening (the caller row's hydration asks for the manager).
    if (this.opening) return this.opening;
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    this.opening = this.track(async () => {
      const runner = this.dataSource.createQueryRunner('master');
      runner.data = {
        statements: this.options.priorStatements ?? 0,
        failedStatements: 0,
      } satisfies QueryRunnerData;
      this.runner = runner;
      // The guard: every statement of this request, whoever sends it (TypeORM's transaction statements
      // included), is refused after abort/end/deadline and counted while it runs.
      const raw: RawQuery = runner.query.bind(runner);
      this.rawQuery = raw;
      runner.query = ((query: string, parameters?: unknown[], useStructuredResult?: boolean) => {
        const refusal = this.refusal();
        if (refusal) return Promise.reject(refusal);
        const savepoint = SAVEPOINT_STATEMENT.exec(query);
        if (savepoint && this.defer(savepoint[1], savepoint[2], query)) return Promise.resolve(undefined);
        const sink = this.statementSink;
        if (!sink) return this.track(() => raw(query, parameters, useStructuredResult));
        const started = process.hrtime.bigint();
        return this.track(() => raw(query, parameters, useStructuredResult)).then(
          (result: unknown) => {
            sink(query, started, process.hrtime.bigint(), false);
            return result;
          },
          (error: unknown) => {
            sink(query, started, process.hrtime.bigint(), true);
            throw error;
          },
        );
      }) as QueryRunner['query'];
      this.client = (await runner.connect()) as PgClient;
      this.carry(this.client);
      // The whole opening in ONE round trip (issue 11): BEGIN [READ ONLY], the tenant role, the app.*
      // settings and timeouts, and the request's first read (the caller row), as one simple-protocol
      // query string. The simple protocol takes no parameters, so every value is a literal: the org id is
      // a checked uuid and the other ids are quoted by pg's escapeLiteral. One string = one transaction
      // opened by the first statement, so PgBouncer in transaction mode sees nothing but a transaction.
      const { orgId, userId, kind } = this.identity;
      const opening =
        `BEGIN${this.readOnly ? ' READ ONLY' : ''}; SET LOCAL ROLE ${TENANT_ROLE}; ` +
        `SELECT set_config('app.org_id', '${orgId}', true), set_config('app.user_id', ${escapeLiteral(userId ?? '')}, true), ` +
        `set_config('app.principal_kind', '${kind === 'api_key' && !userId ? 'api_key' : 'user'}', true), ${transactionTimeouts(this.dataSource)}`;
      const speculative = firstRead ? this.speculative : undefined;
      const openingStarted = process.hrtime.bigint();
      let results: Array<{ rows: Record<string, unknown>[] }>;
      // The caller row and the planned statement with their literals, or as prepared statements of this
      // connection (DB_PREPARED_STATEMENTS, src/db/prepared-plans.ts). The log gets the caller row as sent
      // inline (ids, as always) and the planned statement's parameterised text, never its values.
      const carried = carryAll(this.client, [
        ...(firstRead ? [firstRead] : []),
        ...(speculative ? [{ inline: speculative.sql, statement: speculative.prepared, counted: true }] : []),
      ]);
      const [first, planned] = carried.parts; // a speculative statement rides only behind a first read
      const commit = speculative?.commit && this.readOnly ? '; COMMIT' : '';
      try {
        results = await this.sendMany(
          runner,
          `${opening}${first ? `; ${first.sql}` : ''}${speculative ? `; ${planned.sql}` : ''}${commit}`,
          `${opening}${firstRead ? `; ${firstRead.inline}` : ''}${speculative ? `; ${speculative.traced}` : ''}${commit}`,
        );
        if (commit) {
          results.pop();
          this.committedInOpening = true;
        }
        if (speculative) {
          this.speculativeRows = results.pop()?.rows ?? [];
          results.length -= planned.extra; // PREPARE (and DEALLOCATE of an evicted one) answer no rows
        }
        carried.succeeded();
      } catch (error) {
        // A statement of the message failed in SQL: the message's transaction is failed and its results lost.
        // - The planned statement (it should not: checked literals, only the asked columns; but e.g. a column
        //   privilege the normal path would report as a field error) of a read: roll back and open again
        //   without it, so the request answers exactly as it would have without the plan (this case only).
        // - A prepared caller row that vanished (26000, someone ran DISCARD ALL) or whose cached plan no longer
        //   fits (0A000 after a migration): the same, with the caller row inline.
        // - A planned write: never sent again here; its request is rolled back and handed to the resolvers
        //   whole (src/graphql/known-documents.ts).
        const data = runner.data as QueryRunnerData;
        const sqlState = (error as { driverError?: { code?: unknown } }).driverError?.code;
        // Only an error of a statement itself (SQLSTATE classes 42 syntax/privilege, 22 data, 26 statement
        // name, 0A unsupported), reported by PostgreSQL: the connection itself is fine. A condition of the
        // database (a statement timeout or lock wait, resources, a shutdown, a lost connection) is the
        // request's outage as on any statement: sending the opening again would only meet it a second time.
        // (pg rejects the query at the ErrorResponse, before the ReadyForQuery that sets the transaction
        // status: not checked here.)
        if (
          !(speculative || carried.prepared) ||
          (speculative && !this.readOnly) ||
          typeof sqlState !== 'string' ||
          !/^(42|22|26|0A)[0-9A-Z]{3}$/.test(sqlState) ||
          this.whyRefused()
        ) {
          // Whether a PREPARE ran before the failure is unknown: the connection's next PREPARE deallocates all.
          if (carried.prepared) forgetUnsure(this.client);
          throw error;
        }
        if (speculative) planOpenings.fallback++;
        // A message that carried PREPARE/EXECUTE may have prepared (PREPARE is not transactional) or found
        // the statement missing (26000, someone ran DISCARD ALL): DEALLOCATE ALL in the same round trip
        // makes the connection hold none of ours, as the record says once forgotten.
        if (carried.prepared) {
          const warning = forget(this.client, sqlState);
          if (warning) this.dataSource.logger.log('warn', warning);
        }
        await this.sendMany(runner, carried.prepared ? 'ROLLBACK; DEALLOCATE ALL' : 'ROLLBACK');
        if (data.failedStatements) data.failedStatements--;
        this.speculative = undefined;
        results = await this.sendMany(runner, `${opening}${firstRead ? `; ${firstRead.inline}` : ''}`);
      }
      this.openingNs = [openingStarted, process.hrtime.bigint()];
      // TypeORM's bookkeeping as if its startTransaction() had run: mutation() nests savepoints
      // (SAVEPOINT typeorm_1 …) on top, and finish() checks depth 1 before it commits.
      Object.assign(runner as unknown as { isTransactionActive: boolean; transactionDepth: number }, {
        isTransactionActive: true,
        transactionDepth: 1,
      });
      if (firstRead) this.firstReadRows = results.at(-1)?.rows ?? [];
      return runner;
    });
    return this.opening;
  }

  /**
   * A savepoint statement of mutation() (TypeORM's nested transaction calls): deferred or dropped (true),
   * or to be sent now (false: a ROLLBACK TO a savepoint that was sent). What this keeps exact:
   * - `SAVEPOINT n` is sent before any statement that follows it, in the same message, so every statement
   *   of the mutation runs inside it, and a failure in that message fails the statement that carried it
   *   (the mutation then rolls back to it as before);
   * - `RELEASE SAVEPOINT n` of a savepoint that was sent rides in front of the next statement (what runs
   *   after a release runs outside the savepoint either way), or is dropped by COMMIT, which ends it too;
   * - a savepoint not sent yet when its mutation ends (nothing ran inside it) is dropped with its release
   *   or rollback and everything deferred after it: there is nothing to release or undo;
   * - `ROLLBACK TO SAVEPOINT n` of a savepoint that was sent goes at once (the transaction may be failed,
   *   the next statement must not depend on a deferred repair): what is deferred after n is moot then, and
   *   dropped (a rollback to n ends every savepoint after n).
   */
  private defer(kind: string, name: string, sql: string): boolean {
    const at = this.deferred.indexOf(`SAVEPOINT ${name}`);
    if (kind === 'SAVEPOINT') {
      this.deferred.push(sql);
      return true;
    }
    if (at >= 0) {
      this.deferred.splice(at);
      return true;
    }
    if (kind === 'RELEASE SAVEPOINT') {
      this.deferred.push(sql);
      return true;
    }
    this.deferred = [];
    return false;
  }

  /**
   * A write of the request whose result nobody reads (the audit row of a change, src/modules/audit), sent
   * without a round trip of its own (issue 11, W3): in the COMMIT message (`INSERT …; COMMIT`, one
   * simple-protocol message), or earlier in front of the next statement the request sends outside every
   * mutation (a read after the mutations, so the request still reads its own write). Same transaction,
   * and the same place in it as far as anything of the request can tell. What stays exact:
   * - queued inside a mutation that fails, it goes with the mutation (`mutation` drops what it queued);
   *   ROLLBACK drops it;
   * - it never rides in a message of a mutation's statement: that message's failure would be taken for the
   *   mutation's own and undone by its savepoint rollback (and a rollback to a savepoint name reused by
   *   TypeORM could reach further back); so only where a failure fails the request: a statement outside
   *   every mutation (its failure counts, `finish` rolls back and reports) or COMMIT (a failed COMMIT
   *   message is reported and the connection destroyed, as a failed COMMIT always was).
   * Either way nothing commits without it. The one difference from a plain statement: it can no longer
   * fail alone inside its mutation's savepoint, so a failing audit write fails the whole request.
   * A statement whose parameters cannot be inlined (`inlineParameters`) is sent at once, as by `query`.
   * Refused, like any statement, once the request was aborted, is ending or ran past its deadline.
   */
  async queueWrite(sql: string, parameters: unknown[] = []): Promise<void> {
    if (this.readOnly) throw new Error('write queued in a read-only request');
    await this.open();
    const inlined = inlineParameters(sql, parameters);
    if (inlined === null) {
      await this.query(sql, parameters);
      return;
    }
    const refusal = this.refusal();
    if (refusal) throw refusal;
    this.queued.push({ sql: inlined, text: sql });
  }

  /**
   * Puts the deferred savepoint statements in front of the next statement the request's pg client sends,
   * as one simple-protocol message: a statement with parameters has them inlined (`inlineParameters`, as
   * the tick batches do); one that cannot be inlined goes as before, right after the deferred statements
   * sent alone (one more round trip, counted). The wrapper is the client's own property only while the
   * request owns the connection: `finish()` removes it before COMMIT/ROLLBACK and release.
   */
  private carry(client: PgClient): void {
    const send = client.query;
    client.query = (...args: unknown[]) => {
      const [text, values] = args;
      // Queued writes ride only outside every mutation (see queueWrite), after the savepoint statements.
      const writes = this.mutationDepth === 0 ? this.queued : [];
      if (this.deferred.length === 0 && writes.length === 0) return send.apply(client, args);
      if (writes.length > 0) this.queued = [];
      const prefix = [...this.deferred, ...writes.map((write) => write.sql)];
      this.deferred = [];
      const traced = this.traceQueued(writes, prefix.length + 1);
      // Only `query(text, values?)` as TypeORM calls it is folded; any other form (a config object, a stream,
      // a callback) still runs after the deferred statements, which then go alone first (below).
      const plain = typeof text === 'string' && typeof args.at(-1) !== 'function';
      const parameters = Array.isArray(values) ? values : [];
      const body = !plain ? null : parameters.length === 0 ? text : inlineParameters(text, parameters);
      if (body !== null) {
        return traced(
          (send.call(client, `${prefix.join('; ')}; ${body}`) as Promise<unknown[]>).then((results) => {
            const own = results.slice(prefix.length);
            return own.length === 1 ? own[0] : own;
          }),
        );
      }
      const data = this.runner?.data as QueryRunnerData | undefined;
      if (data?.statements !== undefined) data.statements++;
      const first = traced(send.call(client, prefix.join('; ')) as Promise<unknown>);
      const then = send.apply(client, args) as Promise<unknown>;
      if (!plain) {
        first.catch(() => undefined); // the call's own outcome (callback, stream) reports the failed transaction
        return then;
      }
      return first.then(
        () => then,
        (error: unknown) => {
          then.catch(() => undefined);
          throw error;
        },
      );
    };
  }

  /**
   * Reports queued writes to the trace (their parameterised text) once the message carrying them settles;
   * the statement they ride on reports itself.
   */
  private traceQueued(writes: QueuedWrite[], batched: number): <T>(sent: Promise<T>) => Promise<T> {
    const sink = this.statementSink;
    if (!sink || writes.length === 0) return (sent) => sent;
    const started = process.hrtime.bigint();
    const report = (failed: boolean) => {
      for (const write of writes) sink(write.text, started, process.hrtime.bigint(), failed, batched);
    };
    return (sent) =>
      sent.then(
        (result) => {
          report(false);
          return result;
        },
        (error: unknown) => {
          report(true);
          throw error;
        },
      );
  }

  /**
   * `finish`'s COMMIT with the queued writes in front, `INSERT …; COMMIT` as ONE simple-protocol message
   * (issue 11, W3), sent on the pg client itself (the carry wrapper is off by then), counted and logged as
   * one statement (the log gets the parameterised text, never the inlined values). PostgreSQL runs them in
   * order in this transaction: a failing write skips the rest (COMMIT included) and leaves the transaction
   * failed, a failing COMMIT rolled it back; either way the message fails, as a failed COMMIT always did.
   */
  private async sendCommit(runner: QueryRunner, client: PgClient, writes: QueuedWrite[]): Promise<void> {
    const logger = this.dataSource.logger;
    const logged = [...writes.map((write) => write.text), 'COMMIT'].join('; ');
    logger.logQuery(logged, undefined, runner);
    try {
      await (client as unknown as { query(sql: string): Promise<unknown> }).query(
        [...writes.map((write) => write.sql), 'COMMIT'].join('; '),
      );
    } catch (error) {
      logger.logQueryError(error as Error, logged, undefined, runner);
      throw new QueryFailedError(logged, undefined, error as Error);
    }
  }

  /** Takes the wrapper off the client (it goes back to the pool) and drops what was deferred. */
  private uncarry(): void {
    this.deferred = [];
    if (this.client && Object.prototype.hasOwnProperty.call(this.client, 'query'))
      delete (this.client as Partial<PgClient>).query;
  }

  async manager(): Promise<EntityManager> {
    return (await this.open()).manager;
  }

  /**
   * One statement of the request, in the request's transaction. Statements issued in the same tick (the
   * DataLoaders of sibling lists, e.g. a workspace page's environments and components) share ONE round
   * trip (issue 11): they are sent together as one simple-protocol string, their parameters inlined as
   * literals (`inlineParameters`); a statement alone in its tick, or one that cannot be inlined, is sent
   * as usual (extended protocol, parameters apart).
   */
  async query<T = Record<string, unknown>>(sql: string, parameters: unknown[] = []): Promise<T[]> {
    const runner = await this.open();
    const inlined = inlineParameters(sql, parameters);
    if (inlined === null) return runner.query(sql, parameters) as Promise<T[]>;
    return this.track(
      () =>
        new Promise<T[]>((resolve, reject) => {
          if (!this.batch) {
            const batch: QueuedStatement[] = (this.batch = []);
            // Loaders dispatch in process.nextTick and reach here through promise jobs only; a tick queued
            // from here runs once those jobs have drained, so every sibling statement has joined by then.
            process.nextTick(() => {
              this.batch = undefined;
              void this.flush(runner, batch);
            });
          }
          this.batch.push({ sql, parameters, inlined, resolve: resolve as (rows: unknown[]) => void, reject });
        }),
    );
  }

  private async flush(runner: QueryRunner, batch: QueuedStatement[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch;
      return runner.query(only.sql, only.parameters).then(only.resolve, only.reject);
    }
    const sink = this.statementSink;
    const started = sink ? process.hrtime.bigint() : 0n;
    try {
      const results = await this.sendMany(runner, batch.map((statement) => statement.inlined).join(';\n'));
      // Traced with each statement's original text: the inlined string holds the parameter values.
      if (sink)
        for (const statement of batch) sink(statement.sql, started, process.hrtime.bigint(), false, batch.length);
      batch.forEach((statement, i) => statement.resolve(results[i]?.rows ?? []));
    } catch (error) {
      if (sink)
        for (const statement of batch) sink(statement.sql, started, process.hrtime.bigint(), true, batch.length);
      for (const statement of batch) statement.reject(error);
    }
  }

  /**
   * Runs one mutation inside a savepoint: a failed mutation leaves no trace and does not poison the
   * request's transaction, so the next mutation of the same operation still runs (GraphQL semantics).
   * The whole mutation counts as in-flight work: `end()` waits for it (its statements are refused once
   * the request was aborted, so an abandoned mutation fails fast at its next statement).
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
    return this.track(async () => {
      const data = runner.data as QueryRunnerData;
      const outermost = this.mutationDepth === 0;
      for (let attempt = 1; ; attempt++) {
        const failedBefore = data.failedStatements ?? 0;
        // Queued writes are never sent while a mutation runs (see queueWrite): the queue only grows until
        // this mutation ends, so what it holds beyond this length was queued by this attempt.
        const queuedBefore = this.queued.length;
        await this.savepoint(runner, 'SAVEPOINT');
        this.mutationDepth++;
        try {
          const result = await work(runner.manager);
          await this.savepoint(runner, 'RELEASE SAVEPOINT');
          return result;
        } catch (error) {
          this.queued.length = queuedBefore; // what the failed attempt queued goes with it
          // ROLLBACK TO SAVEPOINT; refused (and pointless) once the request is aborted or ending: `end()`
          // rolls the whole transaction back with a plain ROLLBACK.
          let rolledBack = true;
          await this.savepoint(runner, 'ROLLBACK TO SAVEPOINT').catch((rollbackError) => {
            if (!(rollbackError instanceof ScopeRefusal)) throw rollbackError;
            rolledBack = false;
          });
          data.failedStatements = failedBefore; // whatever failed inside is undone with it
          if (!(rolledBack && outermost && attempt < TRANSIENT_ATTEMPTS && isTransientFailure(error))) throw error;
        } finally {
          this.mutationDepth--;
        }
        this.retries++;
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
      }
    });
  }

  /**
   * What TypeORM's nested startTransaction / commitTransaction / rollbackTransaction do on a runner whose
   * transaction is open (depth d ≥ 1): `SAVEPOINT typeorm_<d>` then depth d + 1; `RELEASE SAVEPOINT` or
   * `ROLLBACK TO SAVEPOINT typeorm_<d - 1>` then depth d − 1 (not when the statement fails), through the
   * same guarded `runner.query`, so the deferral above sees exactly the statements it saw. Without their
   * `Broadcaster` rounds (Before/After TransactionStart and Commit: four awaited broadcasts per mutation,
   * W3 has two mutations) for transaction subscribers this project does not have (the data source registers
   * none; should one ever be registered, TypeORM's own methods are used, events included): TypeORM's
   * broadcast machinery was in W3's profile (issue 11).
   */
  private async savepoint(
    runner: QueryRunner,
    kind: 'SAVEPOINT' | 'RELEASE SAVEPOINT' | 'ROLLBACK TO SAVEPOINT',
  ): Promise<void> {
    if (this.dataSource.subscribers.length > 0) {
      if (kind === 'SAVEPOINT') return runner.startTransaction();
      return kind === 'RELEASE SAVEPOINT' ? runner.commitTransaction() : runner.rollbackTransaction();
    }
    const bookkeeping = runner as unknown as { transactionDepth: number };
    const depth = bookkeeping.transactionDepth;
    if (kind === 'SAVEPOINT') {
      await runner.query(`SAVEPOINT typeorm_${depth}`);
      bookkeeping.transactionDepth = depth + 1;
      return;
    }
    await runner.query(`${kind} typeorm_${depth - 1}`);
    bookkeeping.transactionDepth = depth - 1;
  }

  /**
   * Commit (or roll back) and release the connection, once: later calls get the same promise. A
   * read-write transaction in which a statement failed outside a savepoint cannot commit (PostgreSQL
   * would silently roll it back), so it is rolled back and reported as an error, never as success; so is
   * a read-write request whose connection was lost. Only a commit that really happened resolves.
   */
  end(commit: boolean): Promise<void> {
    this.ending ??= this.finish(commit);
    return this.ending;
  }

  private async finish(commitRequested: boolean): Promise<void> {
    this.closing = true;
    if (!this.opening) return;
    let inDoubt: Error | undefined;
    const settleTimeoutMs = this.options.settleTimeoutMs ?? 60000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.settled().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), settleTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) inDoubt = new Error(`request work did not settle within ${settleTimeoutMs} ms`);
    await this.opening.catch(() => {
      this.openFailed = true; // already reported to the caller by the statement that needed it
    });
    // Deferred savepoint statements are moot: COMMIT and ROLLBACK end every savepoint. Queued writes go in
    // the COMMIT message (below); a ROLLBACK drops them.
    const queued = this.queued;
    this.queued = [];
    this.uncarry();
    const runner = this.runner;
    const client = this.client;
    if (!runner || !client || runner.isReleased) {
      // Never connected (pool wait failed, or refused before), or the driver already threw the broken
      // connection away: nothing to give back. A write that cannot have committed must not look like one.
      const lost = Boolean(runner?.isReleased && client);
      this.releasedByUs = true;
      if (runner && !runner.isReleased) await runner.release().catch(() => undefined);
      if (lost && commitRequested && !this.readOnly && !this.aborted && !this.openFailed) {
        throw new ScopeRefusal('connection_lost', 'the database connection was lost before the transaction committed');
      }
      return;
    }
    const data = runner.data as QueryRunnerData;
    const status = client.getTransactionStatus?.() ?? null;
    const depth = (runner as unknown as { transactionDepth?: number }).transactionDepth;
    const failed = (data.failedStatements ?? 0) > 0 || status === 'E';
    // Commit only a healthy top-level transaction: no failed or refused statement, no open savepoint
    // (TypeORM's depth 1), no abort, nothing in doubt. Anything else rolls back.
    // A statement refused for the deadline or a lost connection means the request's work is incomplete,
    // even if the code that met the refusal swallowed it.
    const refused = this.firstRefusal !== undefined && this.firstRefusal.reason !== 'ended';
    const commit = commitRequested && !this.aborted && !inDoubt && !failed && !refused && status === 'T' && depth === 1;
    let endError: Error | undefined;
    try {
      // Work that never settled may still own a statement on this connection: nothing more is sent on
      // it, it is destroyed below (the server rolls the transaction back when the connection closes).
      // The opening's own COMMIT ended the transaction already (`committedInOpening`): nothing to send; the
      // connection is pooled again only if the driver says idle outside any transaction, as after every end.
      if (!timedOut && !this.committedInOpening) {
        const sink = this.statementSink;
        const started = sink ? process.hrtime.bigint() : 0n;
        const writes = commit ? queued : [];
        const report = (failed: boolean) => {
          const batched = writes.length ? writes.length + 1 : undefined;
          for (const write of writes) sink?.(write.text, started, process.hrtime.bigint(), failed, batched);
          sink?.(commit ? 'COMMIT' : 'ROLLBACK', started, process.hrtime.bigint(), failed, batched);
        };
        await (
          writes.length ? this.sendCommit(runner, client, writes) : this.rawQuery!(commit ? 'COMMIT' : 'ROLLBACK')
        ).then(
          () => report(false),
          (error: unknown) => {
            if (writes.length) report(true);
            throw error;
          },
        );
      }
      const after = client.getTransactionStatus?.() ?? 'I';
      if (after !== 'I')
        inDoubt ??= new Error(`transaction status after ${commit ? 'COMMIT' : 'ROLLBACK'} is '${after}', not idle`);
    } catch (error) {
      endError = error as Error;
      inDoubt ??= endError;
    }
    // TypeORM's own bookkeeping no longer describes this connection: reset it before release.
    Object.assign(runner as unknown as { isTransactionActive: boolean; transactionDepth: number }, {
      isTransactionActive: false,
      transactionDepth: 0,
    });
    this.releasedByUs = true;
    if (inDoubt) {
      // Destroy, never pool: pg-pool removes a released client that is ending (client._ending).
      void client.end().catch(() => undefined);
    }
    await runner.release().catch(() => undefined);
    if (endError) throw endError;
    if (commitRequested && !this.readOnly && !this.aborted && !this.openFailed && !commit) {
      if (this.firstRefusal && this.firstRefusal.reason !== 'ended') throw this.firstRefusal;
      if (failed) throw new Error('a statement failed outside a savepoint: the request transaction was rolled back');
      throw inDoubt ?? new Error('the request transaction could not commit and was rolled back');
    }
  }
}
