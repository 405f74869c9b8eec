import type { RequestContext } from '../../context/request-context';
import { BadInputError, NotFoundError } from '../../errors';
import { encodeCursor, type Connection, type Page } from '../../pagination';
import type { SpanRecord } from '../../tracing/request-trace';
import { Trace, TraceSpan, type TraceOutcome } from './trace.types';

export interface TraceFilter {
  outcome?: TraceOutcome | null;
  operationName?: string | null;
  since?: Date | null;
  until?: Date | null;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const COLUMNS = `trace_id, request_id, started_at, duration_ms, operation_type, operation_name, principal_kind, user_id,
  api_key_id, outcome, error_codes, http_status, sql_statements, sql_ms, span_count`;

/** A page cursor's key: the row's position in (started_at, trace_id) order. */
export function isTraceCursorKey(key: string): boolean {
  const [at, id, ...rest] = key.split('|');
  return (
    rest.length === 0 && TRACE_ID.test(id ?? '') && !Number.isNaN(Date.parse(at)) && new Date(at).toISOString() === at
  );
}

function toTrace(row: Record<string, unknown>): Trace {
  const trace = new Trace();
  Object.assign(trace, {
    traceId: row.trace_id,
    requestId: row.request_id ?? null,
    startedAt: row.started_at,
    durationMs: Number(row.duration_ms),
    operationType: row.operation_type ?? null,
    operationName: row.operation_name ?? null,
    principalKind: row.principal_kind,
    userId: row.user_id ?? null,
    apiKeyId: row.api_key_id ?? null,
    outcome: row.outcome as TraceOutcome,
    errorCodes: (row.error_codes as string[]) ?? [],
    httpStatus: Number(row.http_status),
    sqlStatements: Number(row.sql_statements),
    sqlMs: Number(row.sql_ms),
    spanCount: Number(row.span_count),
  });
  if (row.spans !== undefined) trace.spansJson = row.spans;
  return trace;
}

function toSpans(json: unknown): TraceSpan[] {
  return ((json as SpanRecord[]) ?? []).map((s) =>
    Object.assign(new TraceSpan(), {
      id: s.id,
      parentId: s.parentId ?? null,
      name: s.name,
      kind: s.kind,
      startMs: s.start,
      durationMs: s.durationMs,
      error: s.error === true,
      attributes: s.attributes ?? null,
    }),
  );
}

export const traceService = {
  /**
   * The organization's traces, newest first (started_at, then trace id, descending), keyset-paged, with
   * optional filters. The primary key (org_id, started_at, trace_id) serves the order; the daily partitions
   * are read newest first and the scan stops at the page's end.
   */
  async page(ctx: RequestContext, page: Page, filter: TraceFilter, withSpans: boolean): Promise<Connection<Trace>> {
    const bad: Array<{ field: string; message: string }> = [];
    if (filter.since && filter.until && filter.since.getTime() >= filter.until.getTime())
      bad.push({ field: 'until', message: 'until must be later than since' });
    if (filter.operationName !== undefined && filter.operationName !== null && filter.operationName.length > 200)
      bad.push({ field: 'operationName', message: 'operationName is at most 200 characters' });
    if (bad.length) throw new BadInputError(bad);
    const [cursorAt, cursorId] = page.cursor ? page.cursor.split('|') : [null, null];
    // Newest first forward; backward pages read the other way and are reversed into list order.
    const older = !page.backward;
    const where = `org_id = $1 AND ($2::text IS NULL OR outcome = $2) AND ($3::text IS NULL OR operation_name = $3)
      AND ($4::timestamptz IS NULL OR started_at >= $4) AND ($5::timestamptz IS NULL OR started_at < $5)`;
    const params = [
      ctx.orgId,
      filter.outcome ?? null,
      filter.operationName ?? null,
      filter.since ?? null,
      filter.until ?? null,
    ];
    const rows = await ctx.scope.query(
      `SELECT ${COLUMNS}${withSpans ? ', spans' : ''} FROM traces
        WHERE ${where} AND ($6::timestamptz IS NULL OR (started_at, trace_id) ${older ? '<' : '>'} ($6, $7::text))
        ORDER BY started_at ${older ? 'DESC' : 'ASC'}, trace_id ${older ? 'DESC' : 'ASC'} LIMIT $8`,
      [...params, cursorAt, cursorId, page.limit + 1],
    );
    const more = rows.length > page.limit;
    const nodes = rows.slice(0, page.limit).map(toTrace);
    if (page.backward) nodes.reverse();
    const edges = nodes.map((node) => ({
      cursor: encodeCursor(`${node.startedAt.toISOString()}|${node.traceId}`),
      node,
    }));
    let counted: Promise<number> | undefined;
    return {
      edges,
      pageInfo: {
        hasNextPage: !page.backward && more,
        hasPreviousPage: page.backward && more,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      get totalCount() {
        counted ??= ctx.scope
          .query<{ n: string }>(`SELECT count(*) AS n FROM traces WHERE ${where}`, params)
          .then((r) => Number(r[0].n));
        return counted;
      },
    };
  },

  /**
   * One trace by its W3C trace id. Unknown, malformed and another organization's ids answer alike:
   * NOT_FOUND (row-level security shows this organization's rows only).
   */
  async get(ctx: RequestContext, traceId: string): Promise<Trace> {
    const id = typeof traceId === 'string' ? traceId : '';
    if (!TRACE_ID.test(id)) throw new NotFoundError('Trace', '(unknown)');
    const rows = await ctx.scope.query(
      `SELECT ${COLUMNS}, spans FROM traces WHERE org_id = $1 AND trace_id = $2 ORDER BY started_at DESC LIMIT 1`,
      [ctx.orgId, id],
    );
    if (rows.length === 0) throw new NotFoundError('Trace', id);
    return toTrace(rows[0]);
  },

  async spans(ctx: RequestContext, trace: Trace): Promise<TraceSpan[]> {
    if (trace.spansJson !== undefined) return toSpans(trace.spansJson);
    const rows = await ctx.scope.query<{ spans: unknown }>(
      `SELECT spans FROM traces WHERE org_id = $1 AND started_at = $2 AND trace_id = $3`,
      [ctx.orgId, trace.startedAt, trace.traceId],
    );
    return toSpans(rows[0]?.spans);
  },
};
