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

/** DB_PREPARED_STATEMENTS (config; server wiring): also starts the count of vanished statements afresh. */
export function setPreparedStatements(on: boolean): void {
  enabled = on;
  vanished = 0;
}

export function preparedStatementsEnabled(): boolean {
  return enabled;
}

/** One statement of an opening message, sent with its literals or as a prepared statement of this connection. */
export interface CarriedStatement {
  /** The statement with its values as checked literals. */
  inline: string;
  /** The same as a named prepared statement, when it may be one. */
  statement?: PreparedStatement;
  /** Counted in `planOpenings` (the compiled read path's and planned writes' statement; not the caller row). */
  counted?: boolean;
}

/**
 * The statements of one opening message as this connection must receive them (see the top of this file):
 * `EXECUTE` for a name it holds, `[DEALLOCATE …;] PREPARE …; EXECUTE …` for one it does not, the literal
 * statement when preparing is off or the statement has no prepared form. `extra`: the results the message
 * carries in front of the statement's own (DEALLOCATE, PREPARE). A connection whose record is unsure gets one
 * `DEALLOCATE ALL` in front of its first PREPARE; an eviction never takes a name this message uses.
 * `succeeded()` records the message's statements once it ran (only then: PREPARE is not transactional, a
 * failed message is handled by `forget`/`forgetUnsure`).
 */
export function carryAll(
  client: object,
  statements: readonly CarriedStatement[],
): { parts: Array<{ sql: string; extra: number }>; prepared: boolean; succeeded(): void } {
  let known = perConnection.get(client);
  if (!known) perConnection.set(client, (known = new Map()));
  const names = known;
  const reset = unsure.has(client);
  let resetSent = false;
  const used = new Set(statements.flatMap((item) => (item.statement && enabled ? [item.statement.name] : [])));
  const evicted: string[] = [];
  let size = names.size;
  const counts: Array<keyof typeof planOpenings> = [];
  const parts = statements.map((item) => {
    const statement = item.statement;
    if (!statement || !enabled) {
      if (item.counted) counts.push('inline');
      return { sql: item.inline, extra: 0 };
    }
    if (names.has(statement.name)) {
      if (item.counted) counts.push('execute');
      return { sql: statement.execute, extra: 0 };
    }
    let deallocate = '';
    if (reset && !resetSent) {
      deallocate = 'DEALLOCATE ALL; ';
      resetSent = true;
    } else if (!reset && size >= MAX_PER_CONNECTION) {
      const victim = [...names.keys()].find((name) => !used.has(name) && !evicted.includes(name));
      if (victim) {
        deallocate = `DEALLOCATE ${victim}; `;
        evicted.push(victim);
        size--;
      }
    }
    size++;
    if (item.counted) counts.push('prepare');
    return { sql: `${deallocate}${statement.prepare}; ${statement.execute}`, extra: deallocate ? 2 : 1 };
  });
  return {
    parts,
    prepared: used.size > 0,
    succeeded() {
      if (reset) unsure.delete(client);
      for (const name of evicted) names.delete(name);
      // LRU: most recently used last.
      for (const name of used) {
        names.delete(name);
        names.set(name, true);
      }
      for (const count of counts) planOpenings[count]++;
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
