import { formatTraceparent, newIds, parseTraceparent, sampledBy } from './trace-context';

export type TraceMode = 'all' | 'errors_only' | 'sampled' | 'none';

/** One span as stored (in the trace row's `spans` jsonb array) and as read back through GraphQL. */
export interface SpanRecord {
  /** 16 hex digits, unique within the trace. */
  id: string;
  /** The parent span's id; null only for the request's root span. */
  parentId: string | null;
  name: string;
  kind: 'request' | 'graphql' | 'resolver' | 'sql';
  /** Milliseconds from the start of the request. */
  start: number;
  durationMs: number;
  error?: boolean;
  /** Names and numbers only: never values, variables, tokens or secrets. */
  attributes?: Record<string, string | number | boolean>;
}

/** The row the writer inserts (src/tracing/trace-writer.ts). */
export interface TraceRow {
  orgId: string;
  traceId: string;
  startedAt: string;
  requestId: string | null;
  operationType: string | null;
  operationName: string | null;
  principalKind: 'user' | 'api_key';
  userId: string | null;
  apiKeyId: string | null;
  durationMs: number;
  outcome: 'ok' | 'error';
  errorCodes: string[];
  httpStatus: number;
  sqlStatements: number;
  sqlMs: number;
  spans: SpanRecord[];
}

/** Spans kept per trace; beyond it they are counted (attribute `spansDropped` on the root span). */
export const MAX_SPANS = 2000;

/** The opening statement of every request, described (its literal values are never recorded). */
const OPENING_SQL =
  'BEGIN; SET LOCAL ROLE manifest_app; SELECT set_config(app.org_id, app.user_id, app.principal_kind, timeouts); SELECT organization and caller row';

export interface TraceOrganization {
  id: string;
  traceMode: string;
  traceSampleRate: string | number;
}

export interface TracePrincipal {
  kind: 'user' | 'api_key';
  userId: string | null;
  apiKeyId: string | null;
}

/**
 * One request's trace, from the moment it arrives (server.ts) to the moment its answer is written. Until the
 * organization is known it holds a trace id and a few timestamps (numbers, no span objects); the tenant
 * scope's opening round trip reads the organization's trace configuration with the caller's row
 * (context/open-request.ts → `decide`), and from then on:
 * - `none` (or `sampled` and not this trace id): nothing more is recorded, nothing is kept;
 * - `all`, `sampled` and chosen: spans are recorded and the trace is kept;
 * - `errors_only`: spans are recorded in memory and the trace is kept only if the request ends in an error.
 */
/** A GraphQL response path (graphql-js's `info.path`), without importing graphql here. */
export interface ResponsePath {
  readonly prev: ResponsePath | undefined;
  readonly key: string | number;
}

function pathKey(path: ResponsePath | undefined): string {
  let key = '';
  for (let p = path; p; p = p.prev) key = `${p.key}.${key}`;
  return key;
}

export class RequestTrace {
  readonly traceId: string;
  /** Our root span (the request): returned to the caller as the parent in `traceparent`. */
  readonly rootSpanId: string;
  /** The caller's span, from its `traceparent`, or null. */
  readonly parentSpanId: string | null;
  readonly startedAt: number;
  private readonly t0: bigint;
  /** Set by `decide`: spans are being recorded (all, sampled in, errors_only). */
  recording = false;
  private keepOnlyOnError = false;
  private orgId?: string;
  private principal?: TracePrincipal;
  spans?: SpanRecord[];
  private spanCounter = 0;
  private spansDropped = 0;
  operationType: string | null = null;
  operationName: string | null = null;

  /** The operation the trace is named after (its name cut to 200 characters). */
  setOperation(type: string | null, name: string | null | undefined): void {
    this.operationType = type;
    this.operationName = name ? name.slice(0, 200) : null;
  }
  /** Phases before the decision, as [start, end] in ms since the start (cheap: numbers only). */
  parse?: [number, number];
  validate?: [number, number];
  execute?: [number, number];
  executeSpanId?: string;
  sqlStatements = 0;
  sqlMs = 0;
  private finished = false;
  /** The GraphQL answer and the tenant scope, read when the trace finishes (trace-plugin.ts). */
  answer?: {
    body?: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> };
    scope?: { statements: number };
  };

  constructor(
    traceparentHeader: string | string[] | undefined,
    /** The active OpenTelemetry server span's ids, when OTLP export is on (src/tracing/otel.ts). */
    otel?: { traceId: string; spanId: string; parentSpanId: string | null },
  ) {
    if (otel) {
      this.traceId = otel.traceId;
      this.rootSpanId = otel.spanId;
      this.parentSpanId = otel.parentSpanId;
    } else {
      const incoming = parseTraceparent(traceparentHeader);
      const ids = newIds();
      this.traceId = incoming?.traceId ?? ids.traceId;
      this.rootSpanId = ids.spanId;
      this.parentSpanId = incoming?.parentSpanId ?? null;
    }
    this.startedAt = Date.now();
    this.t0 = process.hrtime.bigint();
  }

  /** Milliseconds since the request started (high resolution). */
  now(): number {
    return Number(process.hrtime.bigint() - this.t0) / 1e6;
  }

  /** Milliseconds since the request started, of a process.hrtime.bigint() reading. */
  at(ns: bigint): number {
    return Number(ns - this.t0) / 1e6;
  }

  /** The `traceparent` response header: our root span as the parent, sampled flag = recorded. */
  traceparent(): string {
    return formatTraceparent(this.traceId, this.rootSpanId, this.recording && !this.keepOnlyOnError);
  }

  /**
   * The organization's configuration decides, once (the first statement's row). Returns whether spans are
   * recorded from now on.
   */
  decide(org: TraceOrganization, principal: TracePrincipal): boolean {
    if (this.orgId) return this.recording;
    this.orgId = org.id;
    this.principal = principal;
    const mode = org.traceMode as TraceMode;
    this.recording =
      mode === 'all' || mode === 'errors_only' || (mode === 'sampled' && sampledBy(this.traceId, org.traceSampleRate));
    this.keepOnlyOnError = mode === 'errors_only';
    if (this.recording) this.spans = [];
    return this.recording;
  }

  newSpanId(): string {
    // Unique within the trace: the root's first 8 hex digits and a counter (spans need no randomness of their own).
    return `${this.rootSpanId.slice(0, 8)}${(++this.spanCounter).toString(16).padStart(8, '0')}`;
  }

  /** Adds a finished span (only while recording). */
  add(span: SpanRecord): void {
    if (!this.spans) return;
    if (this.spans.length >= MAX_SPANS) {
      this.spansDropped++;
      return;
    }
    this.spans.push(span);
  }

  /** Resolver spans by response path (`a.0.b.`), to find a resolver's nearest recorded ancestor. */
  private resolverSpans?: Map<string, string>;

  /**
   * Whether a resolver starting now is recorded: only while this request's execution is being recorded
   * (one property read for every other request).
   */
  get recordsResolvers(): boolean {
    return this.recording && this.execute !== undefined && this.execute[1] === 0;
  }

  /**
   * A resolver that did I/O (returned a promise) or failed: one span under its nearest recorded ancestor
   * resolver (list indexes skipped), or under graphql.execute.
   */
  resolver(path: ResponsePath, typeName: string, fieldName: string, start: number, failed: boolean): void {
    this.resolverSpans ??= new Map();
    let parentId = this.executeSpanId!;
    for (let p = path.prev; p; p = p.prev) {
      if (typeof p.key === 'number') continue;
      const found = this.resolverSpans.get(pathKey(p));
      if (found) {
        parentId = found;
        break;
      }
    }
    const id = this.newSpanId();
    const key = pathKey(path);
    this.resolverSpans.set(key, id);
    this.add({
      id,
      parentId,
      name: `${typeName}.${fieldName}`,
      kind: 'resolver',
      start,
      durationMs: this.now() - start,
      ...(failed ? { error: true } : {}),
      attributes: { 'graphql.field.path': key.slice(0, -1) },
    });
  }

  /** One SQL statement (its parameterised text, never values); batched statements share one round trip. */
  statement(sql: string, startNs: bigint, endNs: bigint, failed: boolean, batched?: number): void {
    const start = this.at(startNs);
    const durationMs = Number(endNs - startNs) / 1e6;
    this.sqlMs += batched ? durationMs / batched : durationMs;
    this.add({
      id: this.newSpanId(),
      parentId: this.execute && start >= this.execute[0] && !this.execute[1] ? this.executeSpanId! : this.rootSpanId,
      name: 'sql',
      kind: 'sql',
      start,
      durationMs,
      ...(failed ? { error: true } : {}),
      attributes: {
        'db.statement': sql.length > 4000 ? `${sql.slice(0, 4000)}…` : sql,
        ...(batched ? { batched } : {}),
      },
    });
  }

  /** The opening round trip (before the decision, so it is added once recording starts). */
  opening(startNs: bigint, endNs: bigint): void {
    this.statement(OPENING_SQL, startNs, endNs, false);
  }

  /**
   * The request is over (its answer written): the row to store, or null when nothing is kept. Called once.
   */
  finish(httpStatus: number): TraceRow | null {
    if (this.finished || !this.orgId || !this.recording || !this.spans || !this.principal) return null;
    this.finished = true;
    const errorCodes = new Set<string>();
    for (const error of this.answer?.body?.errors ?? []) {
      const code = error.extensions?.code;
      errorCodes.add(typeof code === 'string' ? code.slice(0, 64) : 'INTERNAL_SERVER_ERROR');
    }
    if (this.answer?.scope) this.sqlStatements = this.answer.scope.statements;
    const outcome = errorCodes.size > 0 || httpStatus >= 400 ? 'error' : 'ok';
    if (this.keepOnlyOnError && outcome === 'ok') return null;
    const durationMs = this.now();
    const phases: SpanRecord[] = [];
    const phase = (name: string, at: [number, number] | undefined, id = this.newSpanId()) => {
      if (at)
        phases.push({
          id,
          parentId: this.rootSpanId,
          name,
          kind: 'graphql',
          start: at[0],
          durationMs: (at[1] || durationMs) - at[0],
        });
    };
    phase('graphql.parse', this.parse);
    phase('graphql.validate', this.validate);
    phase('graphql.execute', this.execute, this.executeSpanId);
    const root: SpanRecord = {
      id: this.rootSpanId,
      parentId: this.parentSpanId,
      name: `${this.operationType ?? 'request'} ${this.operationName ?? ''}`.trim(),
      kind: 'request',
      start: 0,
      durationMs,
      ...(outcome === 'error' ? { error: true } : {}),
      attributes: {
        'http.status_code': httpStatus,
        ...(this.spansDropped ? { spansDropped: this.spansDropped } : {}),
      },
    };
    const spans = [root, ...phases, ...this.spans].sort((a, b) => a.start - b.start);
    return {
      orgId: this.orgId,
      traceId: this.traceId,
      startedAt: new Date(this.startedAt).toISOString(),
      requestId: null,
      operationType: this.operationType,
      operationName: this.operationName,
      principalKind: this.principal.kind,
      userId: this.principal.userId,
      apiKeyId: this.principal.apiKeyId,
      durationMs,
      outcome,
      errorCodes: [...errorCodes].sort(),
      httpStatus,
      sqlStatements: this.sqlStatements,
      sqlMs: this.sqlMs,
      spans,
    };
  }
}
