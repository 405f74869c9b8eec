import crypto from 'node:crypto';
import { useGateway } from './support/harness';

/**
 * Trace retention (README "Tracing"): the job inside the gateway deletes each organization's traces older
 * than ITS trace_retention_days, exactly those, in bounded batches; a shortened retention applies at the
 * next run; whole daily partitions older than every organization's retention are dropped; partitions are
 * created ahead; the run's lease lives in the database.
 */
const { db, orgA, orgB } = useGateway({
  orgs: ['keep-a', 'keep-b'],
  // A run at start and every 400 ms; batches of 7 rows, so several batches are needed.
  env: { TRACE_RETENTION_INTERVAL_MS: '400', TRACE_RETENTION_BATCH_SIZE: '7' },
});

const DAY = 86400000;

async function insertTraces(orgId: string, daysAgo: number[]): Promise<void> {
  for (const days of daysAgo) {
    await db.admin.query(
      `INSERT INTO traces (org_id, started_at, trace_id, principal_kind, duration_ms, outcome, http_status,
                           sql_statements, sql_ms, span_count, spans)
       VALUES ($1, now() - make_interval(secs => $2), $3, 'user', 1, 'ok', 200, 1, 1, 0, '[]')`,
      [orgId, days * 86400, crypto.randomBytes(16).toString('hex')],
    );
  }
}

async function ages(orgId: string): Promise<number[]> {
  const { rows } = await db.admin.query(
    `SELECT round(extract(epoch FROM now() - started_at) / 86400)::int AS days FROM traces WHERE org_id = $1 ORDER BY 1`,
    [orgId],
  );
  return rows.map((r) => r.days);
}

/** Waits for a retention run that started after now and finished. */
async function nextRun(): Promise<{ last_deleted: string }> {
  const since = (await db.admin.query(`SELECT now() AS t`)).rows[0].t as Date;
  for (let i = 0; i < 400; i++) {
    const { rows } = await db.admin.query(
      `SELECT last_started_at, last_finished_at, last_deleted, holder FROM trace_retention_state WHERE id = 1`,
    );
    const state = rows[0];
    if (state.last_started_at > since && state.last_finished_at >= state.last_started_at && state.holder === null)
      return state;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no retention run finished');
}

test('each organization loses exactly its traces older than its own retention; a shorter retention applies next run', async () => {
  await db.admin.query(`UPDATE organizations SET trace_retention_days = 7 WHERE id = $1`, [orgA.id]);
  await db.admin.query(`UPDATE organizations SET trace_retention_days = 30 WHERE id = $1`, [orgB.id]);
  // 20 rows per age so that batches of 7 are needed; ages straddle both retentions (6.9 / 7.1 days).
  const spread = [1, 6.9, 7.1, 10, 29.9, 30.1, 45].flatMap((d) => Array.from({ length: 3 }, () => d));
  await insertTraces(orgA.id, spread);
  await insertTraces(orgB.id, spread);
  await nextRun();
  await nextRun(); // a run that started before the inserts may have missed some
  expect(await ages(orgA.id)).toEqual([1, 1, 1, 7, 7, 7]); // 6.9 rounds to 7
  expect(await ages(orgB.id)).toEqual([1, 1, 1, 7, 7, 7, 7, 7, 7, 10, 10, 10, 30, 30, 30]);
  // Shorten B's retention: the next run applies it.
  await db.admin.query(`UPDATE organizations SET trace_retention_days = 5 WHERE id = $1`, [orgB.id]);
  await nextRun();
  expect(await ages(orgB.id)).toEqual([1, 1, 1]);
  expect(await ages(orgA.id)).toEqual([1, 1, 1, 7, 7, 7]);
});

test('daily partitions exist ahead of today; a partition older than every retention is dropped whole', async () => {
  const old = new Date(Date.now() - 400 * DAY);
  const day = old.toISOString().slice(0, 10);
  const name = `traces_p${day.replace(/-/g, '')}`;
  await db.admin.query(
    `CREATE TABLE ${name} PARTITION OF traces FOR VALUES FROM ('${day}T00:00:00Z') TO ('${day}T00:00:00Z'::timestamptz + interval '1 day')`,
  );
  await nextRun();
  const partitions = (
    await db.admin.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'traces'::regclass ORDER BY 1`,
    )
  ).rows.map((r) => r.relname);
  expect(partitions).not.toContain(name);
  for (let d = 0; d <= 3; d++) {
    const ahead = new Date(Date.now() + d * DAY).toISOString().slice(0, 10).replace(/-/g, '');
    expect(partitions).toContain(`traces_p${ahead}`);
  }
  // The serving role reaches traces only through the parent (under RLS), never a partition directly.
  for (const partition of partitions) {
    const { rows } = await db.admin.query(`SELECT has_table_privilege('manifest_app', $1, 'SELECT') AS can`, [
      partition,
    ]);
    expect({ partition, can: rows[0].can }).toEqual({ partition, can: false });
  }
});

test('the lease is in the database: a run never starts while another holds it', async () => {
  await db.admin.query(
    `UPDATE trace_retention_state SET holder = 'someone-else', lease_until = now() + interval '1 hour' WHERE id = 1`,
  );
  await insertTraces(orgA.id, [100]);
  const before = (await db.admin.query(`SELECT last_started_at FROM trace_retention_state`)).rows[0].last_started_at;
  await new Promise((r) => setTimeout(r, 1500)); // several intervals
  const after = (await db.admin.query(`SELECT last_started_at FROM trace_retention_state`)).rows[0].last_started_at;
  expect(after).toEqual(before);
  expect(await ages(orgA.id)).toContain(100);
  // The lease expires (a holder that died): the next run takes over.
  await db.admin.query(`UPDATE trace_retention_state SET lease_until = now() - interval '1 second' WHERE id = 1`);
  await nextRun();
  expect(await ages(orgA.id)).not.toContain(100);
});
