import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { TENANT_ROLE } from '../db/tenant-role';
import { transactionTimeouts } from '../db/data-source';
import { errorForLog } from '../graphql/errors';
import type { NextFunction, Request, Response } from 'express';
import { RequestTrace, type TraceRow } from './request-trace';
import { activeOtelIds } from './otel';

/**
 * Express middleware, after the request id: every response carries a `traceparent` (the caller's trace
 * continued when its header is valid, a new one otherwise; the OpenTelemetry server span's ids when OTLP export
 * is on). The request's RequestTrace is `res.locals.trace` (its id `res.locals.traceId`); what is kept is
 * decided once the organization is known (context/open-request.ts), and written after the answer.
 */
export function traceMiddleware(writer: TraceWriter) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const trace = new RequestTrace(req.headers.traceparent, activeOtelIds());
    res.locals.trace = trace;
    res.locals.traceId = trace.traceId;
    res.setHeader('traceparent', trace.traceparent());
    res.on('finish', () => {
      const row = trace.finish(res.statusCode);
      if (row) {
        row.requestId = (res.locals.requestId as string | undefined) ?? null;
        writer.enqueue(row);
      }
    });
    next();
  };
}

/** Traces per INSERT transaction at most (a flush with more writes several). */
const WRITE_BATCH = 200;
/** A flush starts this long after the first trace of a batch arrives (or at once when a batch is full). */
const FLUSH_DELAY_MS = 50;

/**
 * Writes captured traces off the latency path: after the response is written, a trace joins a queue that is
 * flushed within 50 ms, in ONE short transaction per flush through the serving pool, as the tenant role with
 * `app.org_id` set per organization (RLS's WITH CHECK applies to every row), one multi-row INSERT per
 * organization. A failure is logged and counted and never reaches a response; a full queue
 * (TRACE_WRITE_QUEUE_MAX) drops new traces and counts them (`gateway_traces_total{result="dropped"}`).
 */
export class TraceWriter {
  private queue: TraceRow[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly counter: Counter<'result'>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly log: Logger,
    private readonly maxQueue: number,
    registry: Registry,
  ) {
    this.counter = new Counter({
      name: 'gateway_traces_total',
      help: 'Per-organization request traces: captured (written), dropped (queue full) or failed (write error)',
      labelNames: ['result'] as const,
      registers: [registry],
    });
  }

  enqueue(row: TraceRow): void {
    if (this.queue.length >= this.maxQueue) {
      this.counter.inc({ result: 'dropped' });
      return;
    }
    this.queue.push(row);
    if (this.queue.length >= WRITE_BATCH) this.schedule(0);
    else this.schedule(FLUSH_DELAY_MS);
  }

  private schedule(delay: number): void {
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
    this.timer.unref();
  }

  /** Writes everything queued so far (one flush at a time). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    const rows = this.queue.splice(0, WRITE_BATCH);
    this.flushing = this.write(rows).finally(() => (this.flushing = undefined));
    await this.flushing;
    if (this.queue.length > 0) this.schedule(0);
  }

  /** Flushes until the queue is empty (shutdown). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 || this.flushing) await this.flush();
  }

  private async write(rows: TraceRow[]): Promise<void> {
    const byOrg = new Map<string, TraceRow[]>();
    for (const row of rows) {
      const list = byOrg.get(row.orgId) ?? [];
      list.push(row);
      byOrg.set(row.orgId, list);
    }
    const runner = this.dataSource.createQueryRunner('master');
    try {
      await runner.connect();
      await runner.query(`BEGIN; SET LOCAL ROLE ${TENANT_ROLE}; SELECT ${transactionTimeouts(this.dataSource)}`);
      for (const [orgId, list] of byOrg) {
        await runner.query(`SELECT set_config('app.org_id', $1, true)`, [orgId]);
        await runner.query(
          `INSERT INTO traces (org_id, trace_id, started_at, request_id, operation_type, operation_name, principal_kind,
                               user_id, api_key_id, duration_ms, outcome, error_codes, http_status, sql_statements,
                               sql_ms, span_count, spans)
           SELECT $1::uuid, t.trace_id, t.started_at, t.request_id, t.operation_type, t.operation_name, t.principal_kind,
                  t.user_id, t.api_key_id, t.duration_ms, t.outcome, t.error_codes, t.http_status, t.sql_statements,
                  t.sql_ms, jsonb_array_length(t.spans), t.spans
             FROM jsonb_to_recordset($2::jsonb) AS t(trace_id text, started_at timestamptz, request_id text,
                  operation_type text, operation_name text, principal_kind text, user_id text, api_key_id uuid,
                  duration_ms double precision, outcome text, error_codes text[], http_status smallint,
                  sql_statements integer, sql_ms double precision, spans jsonb)
           ON CONFLICT DO NOTHING`,
          [
            orgId,
            JSON.stringify(
              list.map((r) => ({
                trace_id: r.traceId,
                started_at: r.startedAt,
                request_id: r.requestId,
                operation_type: r.operationType,
                operation_name: r.operationName,
                principal_kind: r.principalKind,
                user_id: r.userId,
                api_key_id: r.apiKeyId,
                duration_ms: r.durationMs,
                outcome: r.outcome,
                error_codes: r.errorCodes,
                http_status: r.httpStatus,
                sql_statements: r.sqlStatements,
                sql_ms: r.sqlMs,
                spans: r.spans,
              })),
            ),
          ],
        );
      }
      await runner.query('COMMIT');
      this.counter.inc({ result: 'captured' }, rows.length);
    } catch (error) {
      this.counter.inc({ result: 'failed' }, rows.length);
      this.log.warn({ err: errorForLog(error), traces: rows.length }, 'traces could not be written');
      await runner.query('ROLLBACK').catch(() => undefined);
    } finally {
      await runner.release().catch(() => undefined);
    }
  }
}
