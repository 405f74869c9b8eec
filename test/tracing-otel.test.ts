import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { useGateway } from './support/harness';
import { startGateway } from './support/gateway';

/**
 * OpenTelemetry export (README "Tracing"): with OTEL_EXPORTER_OTLP_ENDPOINT set, the gateway exports its
 * spans over OTLP/HTTP (JSON) through the OpenTelemetry SDK and the http, graphql and pg instrumentations.
 * A small OTLP receiver on loopback collects them; the spans must continue the caller's traceparent, link
 * parent to child up to the http server span, carry no parameter values, and share the trace id and root
 * span with the traceparent response header and the stored per-organization trace.
 */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

const received: OtlpSpan[] = [];
const bodies: string[] = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    bodies.push(body);
    try {
      const parsed = JSON.parse(body);
      for (const rs of parsed.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) received.push(span);
    } catch {
      // not JSON: counted as nothing
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
let endpoint = '';
const ready = new Promise<void>((resolve) =>
  receiver.listen(0, '127.0.0.1', () => {
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    resolve();
  }),
);
afterAll(() => new Promise((resolve) => receiver.close(resolve)));

const { gw, db, orgA, tokenFor } = useGateway({
  orgs: ['otel-a'],
  env: { TRACE_RETENTION_INTERVAL_MS: '0' },
});

beforeAll(() => ready);

test('spans arrive over OTLP with the caller trace id and correct parent/child links, and match the stored trace', async () => {
  // A second gateway on the same database, with the receiver's endpoint (the harness's has none).
  const otelGw = await startGateway({
    databaseUrl: db.url,
    key: gw.key,
    env: {
      TRACE_RETENTION_INTERVAL_MS: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_SERVICE_NAME: 'gateway-under-test',
    },
  });
  try {
    await db.admin.query(`UPDATE organizations SET trace_mode = 'all' WHERE id = $1`, [orgA.id]);
    const traceId = crypto.randomBytes(16).toString('hex');
    const parent = crypto.randomBytes(8).toString('hex');
    const response = await fetch(`${otelGw.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${tokenFor(orgA)}`,
        traceparent: `00-${traceId}-${parent}-01`,
      },
      body: JSON.stringify({
        query: 'query Exported($n: Int) { organization { name workspaces(first: $n) { totalCount } } }',
        variables: { n: 7 },
      }),
    });
    expect(response.status).toBe(200);
    const header = response.headers.get('traceparent')!;
    expect(header.slice(3, 35)).toBe(traceId);
    const rootSpanId = header.slice(36, 52);

    let spans: OtlpSpan[] = [];
    for (let i = 0; i < 200; i++) {
      spans = received.filter((s) => s.traceId === traceId);
      if (spans.some((s) => s.name.startsWith('pg')) && spans.some((s) => s.parentSpanId === parent)) {
        if (spans.length >= 5) break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const server = spans.find((s) => s.parentSpanId === parent);
    expect(server).toBeDefined();
    expect(server!.spanId).toBe(rootSpanId);
    // Every other span of the request chains up to the server span.
    for (const span of spans.filter((s) => s !== server)) {
      let at: OtlpSpan | undefined = span;
      const seen = new Set<string>();
      while (at && at !== server && !seen.has(at.spanId)) {
        seen.add(at.spanId);
        at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined;
      }
      expect({ span: span.name, reachesServer: at === server }).toEqual({ span: span.name, reachesServer: true });
    }
    const names = spans.map((s) => s.name);
    expect(names.some((n) => n.startsWith('graphql.parse'))).toBe(true);
    expect(names.some((n) => n.startsWith('graphql.validate'))).toBe(true);
    expect(names.some((n) => n.startsWith('graphql.execute') || n.startsWith('query'))).toBe(true);
    expect(names.filter((n) => n.startsWith('pg.query')).length).toBeGreaterThan(0);
    // No parameter values in what is exported: not the org id (inlined in the opening), not the variable.
    const exported = bodies.join('\n');
    const ofTrace = JSON.stringify(spans);
    expect(ofTrace).not.toContain(orgA.id);
    expect(exported).not.toContain(tokenFor(orgA).split('.')[2]);

    // The stored per-organization trace has the same trace id and root span.
    let stored: any[] = [];
    for (let i = 0; i < 100 && stored.length === 0; i++) {
      stored = (await db.admin.query(`SELECT spans FROM traces WHERE trace_id = $1`, [traceId])).rows;
      if (!stored.length) await new Promise((r) => setTimeout(r, 50));
    }
    expect(stored).toHaveLength(1);
    const root = stored[0].spans.find((s: any) => s.kind === 'request');
    expect(root).toMatchObject({ id: rootSpanId, parentId: parent });
  } finally {
    await otelGw.stop();
  }
});

test('without an endpoint nothing is exported and nothing of the SDK runs', async () => {
  const before = received.length;
  const response = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(orgA)}` },
    body: JSON.stringify({ query: '{ organization { name } }' }),
  });
  expect(response.status).toBe(200);
  await new Promise((r) => setTimeout(r, 300));
  expect(received.length).toBe(before);
});
