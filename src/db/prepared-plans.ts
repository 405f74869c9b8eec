/**
 * Prepared plans for the compiled read path (issue 11, bench/README.md "Prepared plans and counts";
 * README "Compiled read path"). The planned statement rides in the request's opening simple-protocol message,
 * which takes no parameters; sent with literals, PostgreSQL parses, rewrites and plans it on every request
 * (~1.5–2 ms of W1). SQL-level `PREPARE name(types) AS …` + `EXECUTE name(literals)` work inside that same
 * message, so the connection keeps the statement and the opening stays one round trip:
 *
 *   first time on a connection:  BEGIN …; <caller row>; PREPARE mg_<hash>(uuid, int4, …) AS <statement>; EXECUTE mg_<hash>(…)
 *   afterwards:                  BEGIN …; <caller row>; EXECUTE mg_<hash>(…)
 *
 * Which statements a connection holds is tracked here per pg Client object (a WeakMap: a new or reconnected
 * connection starts empty, a destroyed one is forgotten), as an LRU of at most MAX_PER_CONNECTION names; the
 * evicted name is DEALLOCATEd in the same message. The name is a hash of the parameter types and the
 * parameterised text, so one name always means one text (on any connection, in any process of this build).
 *
 * What keeps this exact:
 * - PostgreSQL's PREPARE is not transactional: a statement prepared in a transaction that rolls back stays
 *   (test/sql-plan.test.ts proves it on the embedded PostgreSQL 18). A name is only recorded after its
 *   message succeeded; when the message fails, the opening's fallback rolls back and sends `DEALLOCATE ALL`
 *   in the same message (`forget`), so the connection and our record agree again: empty.
 * - A failure of EXECUTE/PREPARE itself (`26000` the statement vanished, e.g. someone ran DISCARD ALL;
 *   `42P05` it already exists) takes that same fallback: the request answers through the normal path.
 * - Row-level security: policies are part of the query tree, added by the rewriter at PREPARE (as the tenant
 *   role, after SET LOCAL ROLE) and re-applied by the plan cache if the role ever differs; the policies'
 *   `current_setting('app.org_id')` is evaluated at execution, so a generic plan (PostgreSQL switches to one
 *   after 5 executions when it is not costlier) filters by the executing request's organization. Tested: a
 *   plan prepared by org A's request and executed (generically) for org B's returns B's rows only.
 *
 * Poolers: a transaction-mode pooler (PgBouncer) does not keep session state, so DB_PREPARED_STATEMENTS=off
 * there (as Hasura's HASURA_GRAPHQL_USE_PREPARED_STATEMENTS). Left on by mistake behind one, answers stay
 * correct (a vanished or duplicate statement fails the opening, which falls back), only slower; and the
 * gateway notices: after VANISHED_LIMIT such failures it logs a warning and stops preparing for the rest of
 * the process's life (decision: detect and degrade, never refuse to serve).
 */
import { createHash } from 'node:crypto';

/** Prepared statements kept per connection (PostGraphile keeps 100 per connection by default; so do we). */
export const MAX_PER_CONNECTION = 100;
/** Vanished/duplicate statements after which preparing stops for this process (a transaction-mode pooler). */
export const VANISHED_LIMIT = 3;

export interface PreparedStatement {
  /** `mg_` + hash of the types and text. */
  name: string;
  /** `PREPARE name(types) AS <parameterised statement>`. */
  prepare: string;
  /** `EXECUTE name(<literals>)`. */
  execute: string;
}

/** The statement name of a parameterised text with its parameter types. */
export function statementName(types: readonly string[], text: string): string {
  return `mg_${createHash('sha256').update(types.join(',')).update('\u0000').update(text).digest('hex').slice(0, 24)}`;
}

/** Openings by how the planned statement was sent (gateway_sql_plan_openings_total). */
export const planOpenings = { prepare: 0, execute: 0, inline: 0, fallback: 0 };

const perConnection = new WeakMap<object, Map<string, true>>();
/**
 * Connections that may hold statements of ours we have no record of: an opening that carried PREPARE failed
 * with a condition of the database (a statement timeout, a lock wait) and was not rolled back with
 * `DEALLOCATE ALL` (`forgetUnsure`). Their next PREPARE message starts with `DEALLOCATE ALL`.
 */
const unsure = new WeakSet<object>();
let enabled = true;
let vanished = 0;

/** DB_PREPARED_STATEMENTS (config; server wiring). */
export function setPreparedStatements(on: boolean): void {
  enabled = on;
}

export function preparedStatementsEnabled(): boolean {
  return enabled;
}

/**
 * The SQL that carries `statement` on `client` in the opening message (after the caller row), how many
 * results it adds before the planned rows (PREPARE, DEALLOCATE), and what to record once the message
 * succeeded. `inline` is the statement with literals, for when preparing is off.
 */
export function carryPlanned(
  client: object,
  inline: string,
  statement: PreparedStatement | undefined,
): { sql: string; extra: number; prepared: boolean; succeeded(): void } {
  if (!statement || !enabled) {
    return { sql: inline, extra: 0, prepared: false, succeeded: () => planOpenings.inline++ };
  }
  let names = perConnection.get(client);
  if (!names) perConnection.set(client, (names = new Map()));
  const known = names;
  if (known.has(statement.name)) {
    return {
      sql: statement.execute,
      extra: 0,
      prepared: true,
      succeeded() {
        // LRU: most recently used last.
        known.delete(statement.name);
        known.set(statement.name, true);
        planOpenings.execute++;
      },
    };
  }
  const evicted = known.size >= MAX_PER_CONNECTION ? known.keys().next().value : undefined;
  const reset = unsure.has(client);
  const deallocate = reset ? 'DEALLOCATE ALL; ' : evicted ? `DEALLOCATE ${evicted}; ` : '';
  return {
    sql: `${deallocate}${statement.prepare}; ${statement.execute}`,
    extra: deallocate ? 2 : 1,
    prepared: true,
    succeeded() {
      if (reset) unsure.delete(client);
      if (evicted) known.delete(evicted);
      known.set(statement.name, true);
      planOpenings.prepare++;
    },
  };
}

/**
 * The opening that carried a prepared statement failed: the connection is about to be rolled back and sent
 * `DEALLOCATE ALL` (the caller's fallback message), so it holds none of ours any more. `sqlState` 26000
 * (vanished) or 42P05 (already there) means the connection's session state is not what we recorded: counted
 * towards VANISHED_LIMIT. Returns a warning to log when preparing was just switched off.
 */
/** An opening that carried PREPARE failed and its connection goes on without `DEALLOCATE ALL` (see `unsure`). */
export function forgetUnsure(client: object): void {
  perConnection.delete(client);
  unsure.add(client);
}

export function forget(client: object, sqlState: string): string | undefined {
  unsure.delete(client);
  perConnection.delete(client);
  if (sqlState !== '26000' && sqlState !== '42P05') return undefined;
  vanished++;
  if (!enabled || vanished < VANISHED_LIMIT) return undefined;
  enabled = false;
  return (
    `prepared statements of the compiled read path vanished or reappeared ${vanished} times: connections do not ` +
    'keep session state (a transaction-mode pooler such as PgBouncer?). Preparing is off for this process; ' +
    'set DB_PREPARED_STATEMENTS=off behind a transaction-mode pooler'
  );
}
