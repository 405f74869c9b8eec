import crypto from 'node:crypto';
import http from 'node:http';
import express from 'express';
import { RouteTemplates } from '../src/http-observability';
import { startGateway } from './support/gateway';
import { ok } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * Metrics and the access log (issue 13 point 6, README "Metrics and access log"): label cardinality stays
 * bounded whatever clients send, routes are labelled by template, pool gauges and rate-limit refusals are
 * exported, and every request leaves exactly one access-log line that never holds a credential or secret.
 */
const PLATFORM_TOKEN = `platform-${crypto.randomBytes(24).toString('hex')}`;
const MAX_NAMES = 20;
const { gw, db, org, tokenFor } = useGateway({
  orgs: ['obs'],
  servingLogin: true,
  env: {
    PLATFORM_ADMIN_TOKEN: PLATFORM_TOKEN,
    METRICS_MAX_OPERATION_NAMES: String(MAX_NAMES),
    DB_POOL_SIZE: '7',
    // The rate-limit test sends its exchanges from an X-Forwarded-For address of its own.
    TRUST_PROXY_HOPS: '1',
    AUTH_RATE_LIMIT_PER_ADDRESS: '3',
  },
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text exposition of /metrics, one sample per line. */
async function scrape(): Promise<Sample[]> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

const series = (samples: Sample[], name: string) => samples.filter((s) => s.name === name);
const distinct = (samples: Sample[], name: string, label: string) =>
  new Set(series(samples, name).map((s) => s.labels[label]));

/** A request with its path sent byte for byte (fetch and URL would normalise dot segments and encoding). */
function raw(method: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs `work` for each item, `width` at a time. */
async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}

/** The access-log lines written so far (pino writes asynchronously: give them a moment to arrive). */
async function accessLines(): Promise<Array<Record<string, any>>> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  return gw.logs
    .filter((line) => line.includes('"msg":"request"'))
    .map((line) => JSON.parse(line) as Record<string, any>);
}

const rand = (n = 6) => crypto.randomBytes(n).toString('hex');

describe('HTTP metrics by route template', () => {
  test('GraphQL is /graphql (never "/"), parameterised routes are their template, unknown paths one label', async () => {
    const token = tokenFor(org);
    ok(await gw.graphql(`{ organization { id } }`, {}, token));
    const patched = await fetch(`${gw.url}/platform/v1/organizations/${org.slug}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${PLATFORM_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ supportTier: 'premium' }),
    });
    expect(patched.status).toBe(200);
    expect((await fetch(`${gw.url}/no/such/${rand()}`)).status).toBe(404);
    expect((await fetch(`${gw.url}/platform/v1/${rand()}`)).status).toBe(401); // the router's own check
    const samples = await scrape();
    const routes = distinct(samples, 'gateway_http_requests_total', 'route');
    expect(routes).toContain('/graphql');
    expect(routes).toContain('/platform/v1/organizations/:org');
    expect(routes).toContain('<unmatched>');
    expect(routes).toContain('/platform/v1');
    expect(routes).not.toContain('/');
    expect(routes).not.toContain(`/platform/v1/organizations/${org.slug}`);
    const graphql = series(samples, 'gateway_http_requests_total').find(
      (s) => s.labels.route === '/graphql' && s.labels.method === 'POST' && s.labels.status === '200',
    );
    expect(graphql?.value).toBeGreaterThanOrEqual(1);
    const histogram = series(samples, 'gateway_http_request_duration_seconds_count').find(
      (s) => s.labels.route === '/platform/v1/organizations/:org' && s.labels.method === 'PATCH',
    );
    expect(histogram).toMatchObject({ labels: { status_class: '2xx' }, value: 1 });
  });

  test('1,000 random paths (percent-encoded, very long, dot segments, odd methods) add no series', async () => {
    const pieces = [
      () => rand(),
      () => `%${rand(1)}%2F%00%ff`,
      () => '..',
      () => '.',
      () => 'graphql',
      () => 'x'.repeat(4000),
      () => encodeURIComponent(`é${rand(2)}✓`),
      () => `:${rand(2)}`,
      () => 'platform',
      () => 'v1',
    ];
    const paths = Array.from({ length: 1000 }, (_, i) => {
      const segments = Array.from({ length: 1 + (i % 5) }, () => pieces[crypto.randomInt(pieces.length)]());
      return `/${segments.join('/')}${i % 7 === 0 ? `?q=${rand()}` : ''}`;
    });
    const methods = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'PURGE'];
    const before = await scrape();
    const seriesBefore = series(before, 'gateway_http_requests_total').length;
    await inBatches(paths, 25, (path) => raw(methods[crypto.randomInt(methods.length)], path));
    const after = await scrape();
    const routes = distinct(after, 'gateway_http_requests_total', 'route');
    // Only templates from the code: nothing a client sent became a label.
    for (const route of routes) expect(route).toMatch(/^(<unmatched>|\/[a-z0-9/:._-]*)$/i);
    expect([...routes].filter((r) => /[0-9a-f]{8}|%|\.\.|x{100}/.test(r))).toEqual([]);
    expect(routes.size).toBeLessThanOrEqual(12);
    const total = series(after, 'gateway_http_requests_total');
    expect(total.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThanOrEqual(1000);
    // Bounded by routes × 8 methods × the few statuses, not by the 1,000 paths.
    expect(total.length - seriesBefore).toBeLessThan(80);
    expect(distinct(after, 'gateway_http_requests_total', 'method')).not.toContain('PROPFIND');
  });
});

describe('GraphQL operation names', () => {
  const NAMES = 'gateway_graphql_operation_seconds_count';
  test('1,000 random names: at most METRICS_MAX_OPERATION_NAMES labels, then __other__', async () => {
    const token = tokenFor(org);
    const query = (name: string) => `query ${name} { organization { id } }`;
    // Names in documents that fail to parse or validate, and new names from callers without a token, never
    // take a slot (sent first, while every slot is still free).
    const invalid = Array.from({ length: 50 }, () => `Invalid_${rand()}`);
    await inBatches(invalid, 10, (name, i = Math.random()) =>
      gw.graphql(i < 0.5 ? `query ${name} { organization { id ` : `query ${name} { noSuchField }`, {}, token),
    );
    const anonymousCaller = Array.from({ length: 50 }, () => `NoToken_${rand()}`);
    await inBatches(anonymousCaller, 10, (name) => gw.graphql(`query ${name} { __typename }`));
    const names = Array.from({ length: 1000 }, (_, i) => `Op_${i}_${rand()}`);
    names.push(`Long_${'x'.repeat(200)}`);
    await inBatches(names, 25, (name) => gw.graphql(query(name), {}, token));
    ok(await gw.graphql(`{ organization { id } }`, {}, token));

    const labels = distinct(await scrape(), NAMES, 'operation');
    const named = [...labels].filter((l) => !l.startsWith('__'));
    expect(named.length).toBeLessThanOrEqual(MAX_NAMES);
    expect(named.length).toBe(MAX_NAMES); // 1,000 verified callers' names: the cap is filled, never passed
    for (const name of named) expect(name).toMatch(/^Op_\d+_[0-9a-f]{12}$/);
    expect(labels).toEqual(new Set([...named, '__other__', '__anonymous__', '__invalid__']));
    // A name that already has its label keeps it, for everyone.
    const known = named[0];
    const before = series(await scrape(), NAMES).find((s) => s.labels.operation === known)!.value;
    ok(await gw.graphql(query(known), {}, token));
    await gw.graphql(`query ${known} { __typename }`);
    const after = series(await scrape(), NAMES).filter((s) => s.labels.operation === known);
    expect(after.reduce((sum, s) => sum + s.value, 0)).toBe(before + 2);
  });
});

test('pool gauges: the serving and owner pools, read at each scrape', async () => {
  ok(await gw.graphql(`{ organization { id } }`, {}, tokenFor(org)));
  const samples = await scrape();
  const value = (name: string, pool: string) => series(samples, name).find((s) => s.labels.pool === pool)?.value;
  for (const pool of ['serving', 'owner']) {
    const total = value('gateway_db_pool_connections', pool)!;
    const idle = value('gateway_db_pool_idle_connections', pool)!;
    const waiting = value('gateway_db_pool_waiting_requests', pool)!;
    const max = value('gateway_db_pool_max_connections', pool)!;
    expect({ pool, total, idle, waiting }).toEqual({
      pool,
      total: expect.any(Number),
      idle: expect.any(Number),
      waiting: 0,
    });
    expect(idle).toBeLessThanOrEqual(total);
    expect(total).toBeLessThanOrEqual(max);
  }
  expect(value('gateway_db_pool_max_connections', 'serving')).toBe(7); // DB_POOL_SIZE
  expect(value('gateway_db_pool_connections', 'serving')).toBeGreaterThanOrEqual(1); // the query above used one
});

test('rate-limit refusals are counted by limiter', async () => {
  const refusals = async () =>
    series(await scrape(), 'gateway_rate_limit_refusals_total').find((s) => s.labels.limiter === 'address')?.value ?? 0;
  const before = await refusals();
  const address = `203.0.113.${crypto.randomInt(1, 254)}`;
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const response = await fetch(`${gw.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
      body: JSON.stringify({ api_key: 'fl_guess' }),
    });
    statuses.push(response.status);
  }
  expect(statuses).toEqual([400, 400, 400, 429, 429]); // AUTH_RATE_LIMIT_PER_ADDRESS = 3
  expect((await refusals()) - before).toBe(2);
  const routes = distinct(await scrape(), 'gateway_http_requests_total', 'route');
  expect(routes).toContain('/auth/token');
});

describe('access log', () => {
  test('one JSON line per request, with its route template, caller, operation and counts', async () => {
    const token = tokenFor(org);
    const ids = Array.from({ length: 4 }, () => `obs-${rand()}`);
    const post = (id: string, body: unknown, bearer?: string) =>
      fetch(`${gw.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': id,
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: JSON.stringify(body),
      });
    const named = await post(ids[0], { query: 'query OrgName { organization { name } }' }, token);
    expect(named.status).toBe(200);
    const bodyBytes = (await named.arrayBuffer()).byteLength;
    await (await post(ids[1], { query: '{ __typename }' })).arrayBuffer();
    await (await fetch(`${gw.url}/livez`, { headers: { 'x-request-id': ids[2] } })).arrayBuffer();
    await (await fetch(`${gw.url}/nope/${rand()}`, { headers: { 'x-request-id': ids[3] } })).arrayBuffer();

    const lines = await accessLines();
    for (const id of ids) expect(lines.filter((l) => l.requestId === id)).toHaveLength(1);
    const [first, anonymous, live, missing] = ids.map((id) => lines.find((l) => l.requestId === id)!);
    const traceparent = named.headers.get('traceparent');
    expect(first).toEqual({
      level: 30,
      time: expect.any(Number),
      service: 'manifest-gateway',
      msg: 'request',
      requestId: ids[0],
      // Read from the response's W3C traceparent header, which request tracing sets (null without it).
      traceId: traceparent ? traceparent.split('-')[1] : null,
      method: 'POST',
      route: '/graphql',
      status: 200,
      aborted: false,
      durationMs: expect.any(Number),
      orgId: org.id,
      principalKind: 'user',
      principalId: 'user-1',
      operationType: 'query',
      operationName: 'OrgName',
      sqlStatements: expect.any(Number),
      bytesOut: bodyBytes,
    });
    expect(first.sqlStatements).toBeGreaterThanOrEqual(1);
    expect(first.durationMs).toBeGreaterThan(0);
    expect(anonymous).toMatchObject({
      route: '/graphql',
      status: 200,
      orgId: null,
      principalKind: null,
      operationType: 'query',
      operationName: null,
      sqlStatements: null,
    });
    expect(live).toMatchObject({ method: 'GET', route: '/livez', status: 200, operationType: null });
    expect(missing).toMatchObject({ route: '<unmatched>', status: 404 });
  });

  test('REST requests: route template, caller, operation id and SQL count in the line', async () => {
    const id = `obs-rest-${rand()}`;
    const response = await fetch(`${gw.url}/api/v1/orgs/${org.id}/workspaces?limit=1`, {
      headers: { authorization: `Bearer ${tokenFor(org)}`, 'x-request-id': id },
    });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    const line = (await accessLines()).find((l) => l.requestId === id)!;
    expect(line).toMatchObject({
      method: 'GET',
      route: '/api/v1/orgs/:org_id/workspaces',
      status: 200,
      orgId: org.id,
      principalKind: 'user',
      operationType: 'rest',
      operationName: 'listWorkspaces',
    });
    expect(line.sqlStatements).toBeGreaterThanOrEqual(2);
  });

  test('a request the client abandons is logged once, as aborted', async () => {
    const id = `obs-gone-${rand()}`;
    const { hostname, port } = new URL(gw.url);
    // Headers promise a body that never comes; the client then goes away.
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: hostname,
        port,
        method: 'POST',
        path: '/graphql',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': '100', 'x-request-id': id },
      });
      req.on('error', () => resolve());
      req.write('{"query":');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    let line: Record<string, any> | undefined;
    for (let i = 0; i < 20 && !line; i++) line = (await accessLines()).find((l) => l.requestId === id);
    // `status`: what the gateway answered, if anything (here body-parser's 400 for the cut body, written to a
    // closed socket); `aborted`: the answer never reached the client in full.
    expect(line).toMatchObject({ route: '/graphql', aborted: true, bytesOut: null });
    expect((await accessLines()).filter((l) => l.requestId === id)).toHaveLength(1);
  });

  test('tokens, API keys, exchanged tokens, secrets, query text and variables never reach the log', async () => {
    const token = tokenFor(org);
    const needles: string[] = [token, PLATFORM_TOKEN];
    const marker = `marker-${rand()}`;
    const variableMarker = `var-${rand()}`;
    needles.push(marker, variableMarker);
    // An API key, exchanged for a token, which is then used.
    const created = ok<any>(
      await gw.graphql(
        `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }`,
        { i: { name: `key-${rand()}`, scopes: ['org:read', 'workspaces:read'] } },
        token,
      ),
    ).createApiKey.key as string;
    needles.push(created, created.split('_')[2].slice(0, 32));
    const exchanged = await gw.exchangeApiKey(created);
    needles.push(exchanged);
    ok(await gw.graphql(`query ViaKey { organization { id } }`, {}, exchanged));
    // Environment credentials (secret-bearing mutations), with the query text and a variable marked.
    const ws = ok<any>(
      await gw.graphql(
        `mutation { createWorkspace(input: { name: "${marker}" }) { id } }`, // literal in the query text
        {},
        token,
      ),
    ).createWorkspace.id as string;
    const env = ok<any>(
      await gw.graphql(
        `mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`,
        { i: { workspaceId: ws, name: variableMarker, slug: `aws-${rand(3)}`, tier: 'PROD', deploymentHost: 'AWS' } },
        token,
      ),
    ).createEnvironment.id as string;
    const secretAccessKey = rand(20); // 40 characters, as AWS's are
    needles.push(secretAccessKey);
    ok(
      await gw.graphql(
        `mutation($id: ID!, $i: EnvironmentCredentialsInput!) { setEnvironmentCredentials(environmentId: $id, input: $i) { id } }`,
        { id: env, i: { aws: { accessKeyId: `AKIA${rand(8).toUpperCase()}`, secretAccessKey, region: 'eu-west-1' } } },
        token,
      ),
    );
    // A bad token and a bad key are refused, and are not logged either.
    const badToken = `${token.slice(0, -8)}AAAAAAAA`;
    needles.push(badToken);
    expect((await gw.graphql(`{ organization { id } }`, {}, badToken)).status).toBe(401);

    const lines = await accessLines();
    const exchange = lines.filter((l) => l.route === '/auth/token' && l.status === 200).at(-1);
    expect(exchange).toMatchObject({ principalKind: 'api_key', orgId: org.id, principalId: expect.any(String) });
    expect(lines.find((l) => l.operationName === 'ViaKey')).toMatchObject({
      principalKind: 'api_key',
      principalId: exchange!.principalId,
      orgId: org.id,
    });
    const everything = gw.logs.join('\n');
    for (const needle of needles) expect(everything.includes(needle) ? needle : 'absent').toBe('absent');
  });

  test('ACCESS_LOG=off writes no access-log line (metrics are still counted)', async () => {
    const quiet = await startGateway({ databaseUrl: db.url, env: { ACCESS_LOG: 'off' } });
    try {
      for (let i = 0; i < 3; i++) await (await fetch(`${quiet.url}/livez`)).arrayBuffer();
      const metrics = await (await fetch(`${quiet.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_http_requests_total\{route="\/livez",method="GET",status="200"\} 3/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(quiet.logs.filter((line) => line.includes('"msg":"request"'))).toEqual([]);
    } finally {
      await quiet.stop();
    }
  });
});

describe('route templates of routes added under routers (in-process express app, no gateway)', () => {
  // What the REST API and anything after it will look like: routers under routers, parameterised mounts,
  // a router-level credential check, errors, 404s. The same RouteTemplates the gateway uses labels them.
  test('parameterised routes and mounts are templated; everything else is <unmatched>', async () => {
    const app = express();
    const routes = new RouteTemplates(app);
    const seen: string[] = [];
    app.use((req, res, next) => {
      res.once('close', () => seen.push(`${req.method} ${req.originalUrl} → ${routes.of(req)}`));
      next();
    });
    const workspaces = express.Router({ mergeParams: true });
    workspaces.use((req, res, next) => (req.params.org_id === 'closed' ? void res.status(403).json({}) : next()));
    workspaces.get('/workspaces/:workspace_id', (_req, res) => void res.json({}));
    workspaces.get('/fail', (_req, _res, next) => next(new Error('boom')));
    const api = express.Router();
    api.use((req, res, next) => (req.header('authorization') ? next() : void res.status(401).json({})));
    api.use('/orgs/:org_id', workspaces);
    api.get('/health', (_req, res) => void res.json({}));
    app.use('/api/v1', api);
    app.use('/graphql', (_req, res) => void res.json({}));
    app.use((_req, res) => void res.status(404).json({}));
    app.use((_error: Error, _req: unknown, res: any, _next: unknown) => void res.status(500).json({}));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const auth = { authorization: 'Bearer x' };
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['/api/v1/orgs/o1/workspaces/w1', auth, 200, '/api/v1/orgs/:org_id/workspaces/:workspace_id'],
      ['/API/V1/orgs/o2/workspaces/w2', auth, 200, '/api/v1/orgs/:org_id/workspaces/:workspace_id'],
      ['/api/v1/health', auth, 200, '/api/v1/health'],
      ['/api/v1/orgs/o3/workspaces/w3', {}, 401, '/api/v1'], // answered by the router's own check
      ['/api/v1/orgs/o4/fail', auth, 500, '/api/v1/orgs/:org_id/fail'], // the route matched, then failed
      ['/api/v1/orgs/closed/workspaces/w6', auth, 403, '/api/v1/orgs/:org_id'], // a parameterised mount's check
      ['/api/v1/orgs/o5/nothing', auth, 404, '<unmatched>'],
      ['/graphql/../x', {}, 200, '/graphql'],
      ['/elsewhere/%2e%2e/x', {}, 404, '<unmatched>'],
    ];
    try {
      for (const [path, headers, status] of cases) {
        const response = await raw0(base, path, headers);
        expect({ path, status: response }).toEqual({ path, status });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(seen).toEqual(cases.map(([path, , , template]) => `GET ${path} → ${template}`));
    } finally {
      server.close();
    }
  });
});

/** GET `path` byte for byte against `base`: the status. */
function raw0(base: string, path: string, headers: Record<string, string>): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method: 'GET', path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
