/* eslint-disable @typescript-eslint/no-require-imports */
import type * as OtelApi from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';

/**
 * OpenTelemetry export for operators (README "Tracing"), with the OpenTelemetry JS SDK and its maintained
 * instrumentations (http, graphql, pg), on when the standard variables ask for it:
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set and `OTEL_SDK_DISABLED` not
 * `true`. The other `OTEL_*` variables (headers, timeout, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, OTEL_BSP_*)
 * are read by the SDK itself. The exporter is OTLP/HTTP with JSON bodies.
 *
 * The instrumentations patch `http`, `graphql` and `pg` as they are loaded, so this runs first: main.ts's
 * first import is ./otel-bootstrap. Off, nothing of the SDK is even loaded (the requires are inside).
 *
 * What is exported: the http instrumentation's server span is the request's root (its ids are the trace's:
 * server.ts takes the trace id and root span id from it, so the `traceparent` response header, the stored
 * per-organization trace and the exported spans share one trace id), with graphql's parse / validate /
 * execute / resolve spans and pg's statement spans below it. Never values: graphql's `allowValues` is off, pg's
 * `enhancedDatabaseReporting` (parameter values) is off, and statements sent as one batch with their values
 * inlined (TenantScope) have their literals replaced by `?` before export.
 */
let enabled = false;
let shutdownHook: (() => Promise<void>) | undefined;

export function otelRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) &&
    (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() !== 'true'
  );
}

/** String and numeric literals out of a statement's text (for statements sent with their values inlined). */
export function withoutLiterals(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'/g, '?').replace(/\b\d+(?:\.\d+)?\b/g, '?');
}

export function startOtel(): boolean {
  if (enabled || !otelRequested()) return enabled;
  const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } = require('@opentelemetry/resources');
  const { registerInstrumentations } = require('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
  const { GraphQLInstrumentation } = require('@opentelemetry/instrumentation-graphql');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg');
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME || 'manifest-gateway' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  const QUIET = new Set(['/livez', '/readyz', '/metrics']);
  registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: { url?: string }) => QUIET.has((req.url ?? '').split('?')[0]),
        // The gateway makes no outgoing HTTP calls of its own worth a trace (the exporter's are ignored).
        ignoreOutgoingRequestHook: () => true,
      }),
      new GraphQLInstrumentation({ allowValues: false, ignoreTrivialResolveSpans: true, mergeItems: true }),
      new PgInstrumentation({
        enhancedDatabaseReporting: false,
        requestHook: (span: Span, info: { query: { text: string; values?: unknown[] } }) => {
          // No values apart = simple protocol: the opening round trip and batches carry their values inline.
          if (!info.query.values || info.query.values.length === 0) {
            const text = withoutLiterals(info.query.text);
            span.setAttribute('db.query.text', text);
            span.setAttribute('db.statement', text);
          }
        },
      }),
    ],
  });
  enabled = true;
  shutdownHook = () => provider.shutdown();
  return true;
}

/** Flushes and stops the exporter (shutdown). */
export async function stopOtel(): Promise<void> {
  await shutdownHook?.().catch(() => undefined);
}

/** The active OpenTelemetry span's ids (the http server span of the request), when export is on. */
export function activeOtelIds(): { traceId: string; spanId: string; parentSpanId: string | null } | undefined {
  if (!enabled) return undefined;
  const { trace } = require('@opentelemetry/api') as typeof OtelApi;
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const context = span.spanContext();
  const parent = (span as unknown as { parentSpanContext?: { spanId?: string } }).parentSpanContext;
  return { traceId: context.traceId, spanId: context.spanId, parentSpanId: parent?.spanId ?? null };
}
