#!/usr/bin/env node
/**
 * The trace retention job on a large generated table (issue 13 point 4, README "Tracing"): ROWS traces
 * (default 2 million) generated set-based in SQL over 40 daily partitions for 10 organizations with
 * retentions of 7, 14 and 30 days, then one gateway start (the job runs at start) and its run measured from
 * trace_retention_state and its log line: rows deleted, batches, partitions dropped, duration.
 * Usage (after `npm run build`): node bench/tracing-retention.mjs   (TRACE_BENCH_ROWS, TRACE_BENCH_BATCH)
 */
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const pg = require('pg');
const ROWS = Number(process.env.TRACE_BENCH_ROWS ?? 2000000);
const BATCH = process.env.TRACE_BENCH_BATCH ?? '5000';
const log = (m) => process.stderr.write(`[retention-bench] ${m}\n`);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-retention-'));
const env = {
  ...process.env,
  NODE_ENV: 'test',
  LOG_LEVEL: 'info',
  PORT: '0',
  HOST: '127.0.0.1',
  DATA_DIR: dataDir,
  EMBEDDED_PG_PORT: String(55000 + Math.floor(Math.random() * 4000)),
  TRACE_RETENTION_BATCH_SIZE: BATCH,
};

function start(extra) {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  return new Promise((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr])
      readline.createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (line.includes('"listening"')) resolve({ child, lines });
      });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${lines.join('\n')}`)));
  });
}
const stop = (g) => new Promise((r) => (g.child.once('exit', r), g.child.kill('SIGTERM')));
const cli = (args) =>
  JSON.parse(
    execFileSync(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), ...args, '--json'], { env }).toString(),
  );

let gw = await start({ TRACE_RETENTION_INTERVAL_MS: '0' });
const urls = cli(['db', 'url']);
const retentions = [7, 7, 7, 14, 14, 14, 30, 30, 30, 30];
const orgs = [];
for (const days of retentions) {
  const org = cli([
    'org',
    'create',
    '--name',
    'R',
    '--slug',
    `r-${crypto.randomBytes(3).toString('hex')}`,
    '--owner-email',
    'o@x.test',
  ]);
  orgs.push({ id: org.id, days });
}
const admin = new pg.Client({ connectionString: urls.database_url });
await admin.connect();
const asAdmin = async (sql, params) => {
  await admin.query(`BEGIN`);
  await admin.query(`SELECT set_config('app.platform_admin', 'on', true)`);
  const result = await admin.query(sql, params);
  await admin.query('COMMIT');
  return result;
};
for (const { id, days } of orgs)
  await asAdmin(`UPDATE organizations SET trace_retention_days = $2 WHERE id = $1`, [id, days]);
// The 40 past days' partitions, named and bounded as the job names them.
for (let d = 1; d <= 40; d++) {
  const day = new Date(Date.now() - d * 86400000).toISOString().slice(0, 10);
  await admin.query(
    `CREATE TABLE IF NOT EXISTS traces_p${day.replace(/-/g, '')} PARTITION OF traces FOR VALUES FROM ('${day}T00:00:00Z') TO ('${day}T00:00:00Z'::timestamptz + interval '1 day')`,
  );
}
const spans = JSON.stringify(
  Array.from({ length: 12 }, (_, i) => ({
    id: `abcdef01${String(i).padStart(8, '0')}`,
    parentId: i ? 'abcdef0100000000' : null,
    name: i % 2 ? 'sql' : 'Workspace.environments',
    kind: i % 2 ? 'sql' : 'resolver',
    start: i,
    durationMs: 0.5,
    attributes: { 'db.statement': 'SELECT * FROM environments WHERE org_id = $1 AND workspace_id = ANY($2)' },
  })),
);
const t0 = Date.now();
await asAdmin(
  `INSERT INTO traces (org_id, started_at, trace_id, principal_kind, user_id, operation_type, operation_name, duration_ms,
                       outcome, http_status, sql_statements, sql_ms, span_count, spans)
   SELECT ($1::uuid[])[1 + (g % 10)], now() - random() * interval '40 days', md5(g::text || random()::text), 'user', 'user-1',
          'query', 'Op' || (g % 20), random() * 50, CASE WHEN g % 17 = 0 THEN 'error' ELSE 'ok' END, 200, 4, 2, 12, $2::jsonb
     FROM generate_series(1, $3::int) g`,
  [orgs.map((o) => o.id), spans, ROWS],
);
const generateSeconds = (Date.now() - t0) / 1000;
await admin.query('ANALYZE traces');
const sizeBefore = (
  await admin.query(
    `SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) AS s FROM pg_inherits WHERE inhparent = 'traces'::regclass`,
  )
).rows[0].s;
const expected = Number(
  (
    await asAdmin(
      `SELECT count(*) AS n FROM traces t JOIN organizations o ON o.id = t.org_id WHERE t.started_at < now() - make_interval(days => o.trace_retention_days)`,
    )
  ).rows[0].n,
);
log(`generated ${ROWS} rows in ${generateSeconds} s (${sizeBefore}); ${expected} expired`);
await stop(gw);
// The job runs at start (and every 10 minutes): one run.
gw = await start({ TRACE_RETENTION_INTERVAL_MS: '600000' });
let state;
for (;;) {
  state = (await admin.query(`SELECT * FROM trace_retention_state`)).rows[0];
  if (state.last_finished_at && state.holder === null) break;
  await new Promise((r) => setTimeout(r, 200));
}
const remainingExpired = Number(
  (
    await asAdmin(
      `SELECT count(*) AS n FROM traces t JOIN organizations o ON o.id = t.org_id WHERE t.started_at < now() - make_interval(days => o.trace_retention_days)`,
    )
  ).rows[0].n,
);
const remaining = Number((await asAdmin(`SELECT count(*) AS n FROM traces`)).rows[0].n);
const runLine = gw.lines
  .map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      return {};
    }
  })
  .find((l) => l.msg === 'trace retention');
const seconds = (state.last_finished_at - state.last_started_at) / 1000;
console.log(
  JSON.stringify(
    {
      rows: ROWS,
      generateSeconds,
      sizeBefore,
      expired: expected,
      batchSize: Number(BATCH),
      run: {
        seconds,
        deleted: Number(state.last_deleted),
        batches: runLine?.batches,
        droppedPartitions: state.last_dropped_partitions,
      },
      deletedPerSecond: Math.round((Number(state.last_deleted) + 0) / seconds),
      removedTotal: ROWS - remaining,
      remaining,
      remainingExpired,
    },
    null,
    2,
  ),
);
await admin.end();
await stop(gw);
