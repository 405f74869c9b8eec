import crypto from 'node:crypto';
import os from 'node:os';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { asPlatformAdmin } from '../db/platform';
import { queryRows } from '../db/writes';
import { errorForLog } from '../graphql/errors';

/** Daily partitions kept ready ahead of today (UTC), so inserts never land in the default partition. */
const DAYS_AHEAD = 3;
/** A run's lease; renewed after every batch, so a replica that died mid-run frees it within this. */
const LEASE_SECONDS = 120;

export interface RetentionConfig {
  retentionIntervalMs: number;
  retentionBatchSize: number;
}

export interface RetentionResult {
  deleted: number;
  batches: number;
  droppedPartitions: string[];
  createdPartitions: string[];
}

const DAY_MS = 86400000;
const dayName = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
const dayStart = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
const PARTITION = /^traces_p(\d{4})(\d{2})(\d{2})$/;

/**
 * Trace retention (README "Tracing"), inside the gateway: at start and every TRACE_RETENTION_INTERVAL_MS
 * (10 minutes by default) on every replica, but a run only happens on the replica that takes the lease in
 * `trace_retention_state` (an UPDATE … WHERE lease_until < now(): one winner; a crashed holder's lease
 * expires). A lease row rather than `pg_try_advisory_lock`: a session advisory lock is not safe behind a
 * transaction-mode pooler (README "Behind PgBouncer"), and a transaction-scoped one would hold one
 * transaction open for the whole run. A run:
 * 1. creates the daily partitions up to DAYS_AHEAD days ahead and drops whole partitions older than the
 *    longest retention of any organization (cheap: a DROP, no dead rows);
 * 2. deletes each organization's traces older than ITS `trace_retention_days`, in batches of
 *    TRACE_RETENTION_BATCH_SIZE rows, each batch its own short transaction (locks and WAL bounded).
 * Nothing is remembered in memory: what is expired is computed from the rows and the organizations'
 * current settings each run, so a shortened retention applies at the next run and a run cut short by a
 * restart is simply finished by the next one.
 */
export class TraceRetention {
  private timer?: NodeJS.Timeout;
  private running?: Promise<RetentionResult | null>;
  private stopped = false;
  private readonly holder = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;

  constructor(
    private readonly owner: DataSource,
    private readonly log: Logger,
    private readonly config: RetentionConfig,
  ) {}

  start(): void {
    if (this.config.retentionIntervalMs <= 0 || this.timer) return;
    const tick = () => {
      if (this.stopped || this.running) return;
      this.running = this.run()
        .catch((error) => {
          this.log.warn({ err: errorForLog(error) }, 'trace retention run failed');
          return null;
        })
        .finally(() => (this.running = undefined));
    };
    setImmediate(tick);
    this.timer = setInterval(tick, this.config.retentionIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One run, if this replica gets the lease (null otherwise). */
  async run(): Promise<RetentionResult | null> {
    const claimed = await this.owner.query(
      `UPDATE trace_retention_state SET holder = $1, lease_until = now() + make_interval(secs => $2), last_started_at = now()
        WHERE id = 1 AND lease_until < now() RETURNING id`,
      [this.holder, LEASE_SECONDS],
    );
    if (!Array.isArray(claimed[0]) || claimed[0].length === 0) return null;
    const result: RetentionResult = { deleted: 0, batches: 0, droppedPartitions: [], createdPartitions: [] };
    try {
      Object.assign(result, await this.maintainPartitions());
      const batch = this.config.retentionBatchSize;
      const [{ days: shortest }] = await asPlatformAdmin(this.owner, (m) =>
        queryRows<{ days: number | null }>(m, `SELECT min(trace_retention_days)::int AS days FROM organizations`),
      );
      if (shortest !== null) {
        // Partition by partition (oldest first): inside one partition a row's ctid is unique, so a batch is
        // the classic `ctid = ANY(ARRAY(… LIMIT n))` (a TID scan), and the rows are found per organization by
        // the partition's primary key (org_id, started_at, …) up to that organization's own cutoff. A partition
        // that starts after the shortest retention's cutoff holds nothing expired and is skipped. The owner
        // reads the partition directly (RLS is on the parent; this job is the platform's, like app.platform_admin).
        const cutoff = Date.now() - shortest * DAY_MS;
        for (const name of await this.partitions()) {
          const match = PARTITION.exec(name);
          if (match && Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) >= cutoff) continue;
          for (;;) {
            if (this.stopped) break;
            const rows = await asPlatformAdmin(this.owner, (manager) =>
              queryRows(
                manager,
                `DELETE FROM "${name}" WHERE ctid = ANY (ARRAY(
                   SELECT x.ctid FROM organizations o
                    CROSS JOIN LATERAL (
                      SELECT ctid FROM "${name}"
                       WHERE org_id = o.id AND started_at < now() - make_interval(days => o.trace_retention_days)
                       LIMIT $1) x
                    LIMIT $1))
                 RETURNING 1 AS deleted`,
                [batch],
              ),
            );
            result.batches++;
            result.deleted += rows.length;
            await this.owner.query(
              `UPDATE trace_retention_state SET lease_until = now() + make_interval(secs => $2) WHERE id = 1 AND holder = $1`,
              [this.holder, LEASE_SECONDS],
            );
            if (rows.length < batch) break;
          }
        }
      }
      if (result.deleted || result.droppedPartitions.length)
        this.log.info(
          { deleted: result.deleted, batches: result.batches, droppedPartitions: result.droppedPartitions },
          'trace retention',
        );
      return result;
    } finally {
      await this.owner.query(
        `UPDATE trace_retention_state
            SET holder = NULL, lease_until = '-infinity', last_finished_at = now(), last_deleted = $2,
                last_dropped_partitions = $3
          WHERE id = 1 AND holder = $1`,
        [this.holder, result.deleted, result.droppedPartitions.length],
      );
    }
  }

  /**
   * Creates today's and the next DAYS_AHEAD days' partitions and drops the ones wholly older than the longest
   * retention of any organization. DDL waits at most 2 s for its lock (it takes the parent's lock briefly):
   * a busy moment is retried at the next run, days ahead of need. Replicas racing to create the same
   * partition: the loser's error is ignored.
   */
  async maintainPartitions(): Promise<Pick<RetentionResult, 'createdPartitions' | 'droppedPartitions'>> {
    const createdPartitions: string[] = [];
    const droppedPartitions: string[] = [];
    const existing = new Set<string>(await this.partitions());
    const today = dayStart(Date.now());
    for (let d = 0; d <= DAYS_AHEAD; d++) {
      const from = today + d * DAY_MS;
      const name = `traces_p${dayName(from)}`;
      if (existing.has(name)) continue;
      try {
        await this.ddl(
          `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF traces FOR VALUES FROM ('${new Date(from).toISOString()}') TO ('${new Date(from + DAY_MS).toISOString()}')`,
        );
        createdPartitions.push(name);
      } catch (error) {
        this.log.debug({ err: errorForLog(error), partition: name }, 'trace partition not created (retried next run)');
      }
    }
    const [{ days }] = await asPlatformAdmin(this.owner, (m) =>
      queryRows<{ days: number }>(m, `SELECT coalesce(max(trace_retention_days), 0)::int AS days FROM organizations`),
    );
    const keepFrom = Date.now() - days * DAY_MS;
    for (const name of existing) {
      const match = PARTITION.exec(name);
      if (!match) continue;
      const end = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) + DAY_MS;
      if (end > keepFrom) continue;
      try {
        await this.ddl(`DROP TABLE IF EXISTS ${name}`);
        droppedPartitions.push(name);
      } catch (error) {
        this.log.debug({ err: errorForLog(error), partition: name }, 'trace partition not dropped (retried next run)');
      }
    }
    return { createdPartitions, droppedPartitions };
  }

  /** The partitions of `traces`, oldest day first, the default partition last. */
  private async partitions(): Promise<string[]> {
    const rows = (await this.owner.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'traces'::regclass`,
    )) as Array<{ relname: string }>;
    return rows
      .map((r) => r.relname)
      .filter((name) => /^traces_[a-z0-9_]+$/.test(name))
      .sort((a, b) => (a === 'traces_default' ? 1 : b === 'traces_default' ? -1 : a.localeCompare(b)));
  }

  private async ddl(sql: string): Promise<void> {
    await this.owner.transaction(async (manager) => {
      await manager.query(`SET LOCAL lock_timeout = '2s'`);
      await manager.query(sql);
    });
  }
}
