import crypto from 'node:crypto';
import { startGateway, type RunningGateway } from './support/gateway';
import { createTree, ok } from './support/fixtures';
import { useGateway } from './support/harness';
import { expectError } from './support/expect';

/**
 * Per-organization request tracing (issue 13, README "Tracing"): the organization's trace configuration
 * governs what is captured (none, all, errors_only, sampled — deterministic from the trace id, the same on
 * two replicas), the W3C traceparent, what a trace holds (and never holds), reading traces, and bad input.
 */
const { gw, db, orgA, orgB, tokenFor } = useGateway({
  orgs: ['trace-a', 'trace-b'],
  env: { TRACE_RETENTION_INTERVAL_MS: '0' },
});

const hex = (bytes: number) => crypto.randomBytes(bytes).toString('hex');

interface Sent {
  status: number;
  traceparent: string | null;
  body: any;
}

async function send(
  query: string,
  options: { token?: string; traceparent?: string; variables?: Record<string, unknown>; url?: string } = {},
): Promise<Sent> {
  const response = await fetch(`${options.url ?? gw.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.traceparent ? { traceparent: options.traceparent } : {}),
    },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return { status: response.status, traceparent: response.headers.get('traceparent'), body: await response.json() };
}

async function setMode(orgId: string, mode: string, rate = 1, retention?: number) {
  await db.admin.query(
    `UPDATE organizations SET trace_mode = $2, trace_sample_rate = $3, trace_retention_days = coalesce($4, trace_retention_days) WHERE id = $1`,
    [orgId, mode, rate, retention ?? null],
  );
}

async function storedTraceIds(orgId: string): Promise<string[]> {
  const { rows } = await db.admin.query(`SELECT trace_id FROM traces WHERE org_id = $1 ORDER BY started_at`, [orgId]);
  return rows.map((r) => r.trace_id);
}

/**
 * Waits until a marker request (traced under `all`) is stored: the writer keeps the order of finished
 * requests, so every request answered before the marker has been written (or dropped) by then.
 */
async function settle(orgId: string, mode: string, rate = 1): Promise<void> {
  await setMode(orgId, 'all');
  const marker = hex(16);
  await send('query Marker { organization { name } }', {
    token: tokenFor({ id: orgId, slug: '' } as any),
    traceparent: `00-${marker}-${hex(8)}-01`,
  });
  for (let i = 0; i < 200; i++) {
    const { rows } = await db.admin.query(`SELECT 1 FROM traces WHERE org_id = $1 AND trace_id = $2`, [orgId, marker]);
    if (rows.length) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await db.admin.query(`DELETE FROM traces WHERE org_id = $1 AND trace_id = $2`, [orgId, marker]);
  await setMode(orgId, mode, rate);
}

async function clearTraces() {
  await db.admin.query(`DELETE FROM traces`);
}

/** The same rule as the gateway's, written again here: the trace id's last 56 bits below rate × 2^56. */
function expectedSampled(traceId: string, rate: number): boolean {
  return BigInt(`0x${traceId.slice(18)}`) * 100n < BigInt(Math.round(rate * 100)) * (1n << 56n);
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

beforeEach(clearTraces);

describe('traceparent', () => {
  test('a valid caller traceparent is continued: same trace id, our own span id, returned on the response', async () => {
    await setMode(orgA.id, 'none');
    const traceId = hex(16);
    const parent = hex(8);
    const sent = await send('{ organization { name } }', {
      token: tokenFor(orgA),
      traceparent: `00-${traceId}-${parent}-01`,
    });
    expect(sent.status).toBe(200);
    const [, id, span] = TRACEPARENT.exec(sent.traceparent ?? '') ?? [];
    expect(id).toBe(traceId);
    expect(span).not.toBe(parent);
  });

  test.each([
    ['garbage', 'not-a-traceparent'],
    ['upper-case hex', `00-${hex(16).toUpperCase()}-${hex(8)}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${hex(8)}-01`],
    ['all-zero parent id', `00-${hex(16)}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${hex(16)}-${hex(8)}-01`],
    ['version 00 with extra fields', `00-${hex(16)}-${hex(8)}-01-extra`],
    ['short trace id', `00-${hex(15)}-${hex(8)}-01`],
  ])('an invalid traceparent (%s) is ignored: a new trace, the request answered as usual', async (_, header) => {
    const sent = await send('{ organization { name } }', { token: tokenFor(orgA), traceparent: header });
    expect(sent.status).toBe(200);
    expect(sent.body.data.organization.name).toBeDefined();
    const [, id] = TRACEPARENT.exec(sent.traceparent ?? '') ?? [];
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(header).not.toContain(id);
  });

  test('every response carries one: unauthenticated, refused token, other routes', async () => {
    const anonymous = await send('{ organization { name } }');
    expect(anonymous.traceparent).toMatch(TRACEPARENT);
    const refused = await send('{ organization { name } }', { token: 'not.a.jwt' });
    expect(refused.status).toBe(401);
    expect(refused.traceparent).toMatch(TRACEPARENT);
    const livez = await fetch(`${gw.url}/livez`);
    expect(livez.headers.get('traceparent')).toMatch(TRACEPARENT);
    const missing = await fetch(`${gw.url}/nowhere`, {
      headers: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` },
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('traceparent')).toMatch(new RegExp(`^00-${'a'.repeat(32)}-`));
  });
});

describe('modes', () => {
  test('none records nothing', async () => {
    await setMode(orgA.id, 'none');
    for (let i = 0; i < 5; i++) await send('{ organization { name } }', { token: tokenFor(orgA) });
    await send('{ workspace(id: "nope") { id } }', { token: tokenFor(orgA) });
    await settle(orgA.id, 'none');
    expect(await storedTraceIds(orgA.id)).toEqual([]);
  });

  test('all records every request, with its span tree, SQL text without values, and the answer facts', async () => {
    await setMode(orgA.id, 'all');
    const token = tokenFor(orgA);
    await createTree(gw, token, { workspaces: 2, environments: 2, components: 2 });
    await settle(orgA.id, 'all');
    await clearTraces();
    const traceId = hex(16);
    const parent = hex(8);
    // `viewer` keeps this query off the compiled read path (src/graphql/sql-plan), whose answer has no
    // resolver spans (the next test traces a planned query).
    const sent = await send(
      `query Nested($n: Int) { viewer { subject } organization { name workspaces(first: $n) { totalCount edges { node { name
         environments { edges { node { slug } } } components { totalCount edges { node { name } } } } } } } }`,
      { token, traceparent: `00-${traceId}-${parent}-00`, variables: { n: 10 } },
    );
    expect(sent.status).toBe(200);
    const [, , rootSpan, flags] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/.exec(sent.traceparent!)!;
    expect(flags).toBe('01'); // recorded
    await settle(orgA.id, 'all');
    const { rows } = await db.admin.query(`SELECT * FROM traces WHERE org_id = $1`, [orgA.id]);
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row).toMatchObject({
      trace_id: traceId,
      operation_type: 'query',
      operation_name: 'Nested',
      principal_kind: 'user',
      user_id: 'user-1',
      api_key_id: null,
      outcome: 'ok',
      error_codes: [],
      http_status: 200,
      sql_statements: sent.body.extensions.sql.statements,
    });
    expect(row.duration_ms).toBeGreaterThan(0);
    expect(row.sql_ms).toBeGreaterThan(0);
    const spans = row.spans as any[];
    expect(row.span_count).toBe(spans.length);
    const ids = new Set(spans.map((s) => s.id));
    expect(ids.size).toBe(spans.length);
    const root = spans.find((s) => s.kind === 'request');
    expect(root).toMatchObject({ id: rootSpan, parentId: parent, name: 'query Nested' });
    // A tree: every other span's parent is in the trace.
    for (const span of spans.filter((s) => s !== root)) expect(ids.has(span.parentId)).toBe(true);
    const names = spans.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['graphql.parse', 'graphql.validate', 'graphql.execute']));
    const resolvers = spans.filter((s) => s.kind === 'resolver').map((s) => s.name);
    expect(resolvers).toEqual(
      expect.arrayContaining(['Query.organization', 'Organization.workspaces', 'Workspace.environments']),
    );
    // No per-field span for synchronous property reads.
    expect(resolvers).not.toContain('Workspace.name');
    const environments = spans.find((s) => s.name === 'Workspace.environments');
    const workspaces = spans.find((s) => s.name === 'Organization.workspaces');
    expect(environments.parentId).toBe(workspaces.id);
    const sql = spans.filter((s) => s.kind === 'sql').map((s) => s.attributes['db.statement'] as string);
    expect(sql.length).toBeGreaterThanOrEqual(4);
    expect(sql.some((s) => /\$1/.test(s))).toBe(true);
    expect(sql).toContain('COMMIT');
    // Parameter values never: not the organization id, not a workspace id, not the page size literal.
    for (const text of sql) expect(text).not.toContain(orgA.id);
    const batched = spans.filter((s) => s.kind === 'sql' && s.attributes.batched > 1);
    expect(batched.length).toBeGreaterThan(0);
  });

  test('a planned query (compiled read path) records its statement parameterised, in the opening round trip', async () => {
    await setMode(orgA.id, 'all');
    const token = tokenFor(orgA);
    await clearTraces();
    const traceId = hex(16);
    const workspace = ok<any>(
      await gw.graphql('{ organization { workspaces(first: 1) { edges { node { id } } } } }', {}, token),
    ).organization.workspaces.edges[0].node.id as string;
    await settle(orgA.id, 'all');
    await clearTraces();
    const sent = await send(
      `query Planned($id: ID!, $n: Int) { workspace(id: $id) { name environments(first: $n) { totalCount edges { node { slug } } } } }`,
      { token, traceparent: `00-${traceId}-${hex(8)}-01`, variables: { id: workspace, n: 7 } },
    );
    expect(sent.status).toBe(200);
    expect(sent.body.extensions.sql.statements).toBe(2); // the opening with the plan, COMMIT
    await settle(orgA.id, 'all');
    const { rows } = await db.admin.query(`SELECT * FROM traces WHERE org_id = $1 AND trace_id = $2`, [
      orgA.id,
      traceId,
    ]);
    expect(rows).toHaveLength(1);
    const spans = rows[0].spans as any[];
    const sql = spans.filter((s) => s.kind === 'sql');
    const plan = sql.find((s) => /json_build_object/.test(s.attributes['db.statement']));
    expect(plan).toMatchObject({ attributes: { batched: 2 } });
    expect(sql.map((s) => s.attributes['db.statement'])).toContain('COMMIT');
    // Parameterised: no organization id, no workspace id, no page size literal.
    const text = plan.attributes['db.statement'] as string;
    expect(text).toMatch(/\$1/);
    expect(text).not.toContain(orgA.id);
    expect(text).not.toContain(Buffer.from(workspace, 'base64url').toString().split(':')[1]);
    expect(text).not.toMatch(/LIMIT 8\b/);
    expect(spans.filter((s) => s.kind === 'resolver')).toEqual([]);
  });

  test('errors_only keeps exactly the requests that ended in an error', async () => {
    await setMode(orgA.id, 'errors_only');
    const token = tokenFor(orgA);
    const okId = hex(16);
    const failedId = hex(16);
    const okSent = await send('{ organization { name } }', { token, traceparent: `00-${okId}-${hex(8)}-01` });
    expect(okSent.status).toBe(200);
    const failed = await send('{ workspace(id: "V29ya3NwYWNlOm5vcGU") { id } }', {
      token,
      traceparent: `00-${failedId}-${hex(8)}-01`,
    });
    expect(failed.body.errors[0].extensions.code).toBe('NOT_FOUND');
    await settle(orgA.id, 'errors_only');
    const { rows } = await db.admin.query(`SELECT trace_id, outcome, error_codes FROM traces WHERE org_id = $1`, [
      orgA.id,
    ]);
    expect(rows).toEqual([{ trace_id: failedId, outcome: 'error', error_codes: ['NOT_FOUND'] }]);
  });

  test('sampled keeps exactly the trace ids the rule chooses, within tolerance of the rate, the same on two replicas', async () => {
    const rate = 0.25;
    await setMode(orgA.id, 'sampled', rate);
    const second: RunningGateway = await startGateway({
      databaseUrl: db.url,
      key: gw.key,
      env: { TRACE_RETENTION_INTERVAL_MS: '0' },
    });
    try {
      const token = tokenFor(orgA);
      const ids = Array.from({ length: 1000 }, () => hex(16));
      // Every trace id goes to both replicas (8 at a time): each must decide alike.
      const jobs = ids.flatMap((id) => [gw.url, second.url].map((url) => ({ id, url })));
      // Each replica's decision is visible in its answer's traceparent flags (01 = recorded).
      const decisions = new Map<string, string[]>();
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < jobs.length) {
            const { id, url } = jobs[next++];
            const sent = await send('{ viewer { scopes } }', { token, url, traceparent: `00-${id}-${hex(8)}-01` });
            expect(sent.status).toBe(200);
            decisions.set(id, [...(decisions.get(id) ?? []), sent.traceparent!.slice(-2)]);
          }
        }),
      );
      for (const id of ids) {
        const flag = expectedSampled(id, rate) ? '01' : '00';
        expect({ id, decisions: decisions.get(id) }).toEqual({ id, decisions: [flag, flag] });
      }
      await settle(orgA.id, 'sampled', rate);
      const { rows } = await db.admin.query(`SELECT DISTINCT trace_id FROM traces WHERE org_id = $1`, [orgA.id]);
      const expected = ids.filter((id) => expectedSampled(id, rate)).sort();
      expect(rows.map((r) => r.trace_id).sort()).toEqual(expected);
      // 2000 requests, 1000 ids at p = 0.25: mean 250, sd 13.7; 5 sd either side.
      expect(Math.abs(expected.length - 250)).toBeLessThan(69);
    } finally {
      await second.stop();
    }
  }, 300000); // 2000 requests and a second gateway: minutes on the loaded 2-core CI machine

  test('a configuration change applies from the next request', async () => {
    await setMode(orgA.id, 'none');
    const token = tokenFor(orgA);
    const change = await send('mutation { updateTraceConfig(input: { mode: ALL }) { traceConfig { mode } } }', {
      token,
      traceparent: `00-${hex(16)}-${hex(8)}-01`,
    });
    expect(change.body.errors).toBeUndefined();
    const nextId = hex(16);
    await send('query Next { organization { name } }', { token, traceparent: `00-${nextId}-${hex(8)}-01` });
    const off = await send('mutation { updateTraceConfig(input: { mode: NONE }) { traceConfig { mode } } }', { token });
    expect(off.body.errors).toBeUndefined();
    const afterId = hex(16);
    await send('query After { organization { name } }', { token, traceparent: `00-${afterId}-${hex(8)}-01` });
    await settle(orgA.id, 'none');
    const { rows } = await db.admin.query(
      `SELECT trace_id, operation_name FROM traces WHERE org_id = $1 ORDER BY started_at`,
      [orgA.id],
    );
    // The change itself ran under `none`; the next request under `all`; the one that turned it off under
    // `all` (decided by its own first statement); the one after, `none` again.
    expect(rows.map((r) => r.operation_name)).toEqual(['Next', null]);
    expect(rows[0].trace_id).toBe(nextId);
    expect(rows.map((r) => r.trace_id)).not.toContain(afterId);
  });

  test('an API-key request is stored with the key id, never the key or the token', async () => {
    await setMode(orgA.id, 'all');
    const created = ok<any>(
      await gw.graphql(
        'mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { id } } }',
        { i: { name: `k-${hex(3)}`, scopes: ['org:read'] } },
        tokenFor(orgA),
      ),
    ).createApiKey;
    const access = await gw.exchangeApiKey(created.key);
    const traceId = hex(16);
    await send('query ByKey { organization { name } }', { token: access, traceparent: `00-${traceId}-${hex(8)}-01` });
    await settle(orgA.id, 'all');
    const { rows } = await db.admin.query(
      `SELECT principal_kind, api_key_id, row_to_json(t)::text AS text FROM traces t WHERE trace_id = $1`,
      [traceId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].principal_kind).toBe('api_key');
    expect(rows[0].api_key_id).toMatch(/^[0-9a-f-]{36}$/);
    const all = (await db.admin.query(`SELECT row_to_json(t)::text AS text FROM traces t`)).rows
      .map((r) => r.text)
      .join('\n');
    expect(all).not.toContain(created.key);
    expect(all).not.toContain(access);
  });
});

describe('reading traces', () => {
  const LIST = `query($first: Int, $after: String, $outcome: TraceOutcome, $op: String, $since: DateTimeISO, $until: DateTimeISO) {
    organization { traces(first: $first, after: $after, outcome: $outcome, operationName: $op, since: $since, until: $until) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { traceId operationName outcome errorCodes startedAt spanCount } } } } }`;
  let ids: string[] = [];

  beforeEach(async () => {
    await setMode(orgA.id, 'all');
    await setMode(orgB.id, 'all');
    ids = [];
    const token = tokenFor(orgA);
    for (let i = 0; i < 5; i++) {
      const id = hex(16);
      ids.push(id);
      if (i === 2)
        await send('query Broken { workspace(id: "x") { id } }', { token, traceparent: `00-${id}-${hex(8)}-01` });
      else await send(`query Op${i % 2} { organization { name } }`, { token, traceparent: `00-${id}-${hex(8)}-01` });
    }
    await send('query OfB { organization { name } }', { token: tokenFor(orgB) });
    await settle(orgB.id, 'none');
    await settle(orgA.id, 'none');
  });

  test('newest first, paged, filtered by outcome, operation name and time', async () => {
    const token = tokenFor(orgA);
    const all = ok<any>(await gw.graphql(LIST, { first: 3 }, token)).organization.traces;
    expect(all.totalCount).toBe(5);
    expect(all.edges.map((e: any) => e.node.traceId)).toEqual([ids[4], ids[3], ids[2]]);
    expect(all.pageInfo.hasNextPage).toBe(true);
    const rest = ok<any>(await gw.graphql(LIST, { first: 3, after: all.pageInfo.endCursor }, token)).organization
      .traces;
    expect(rest.edges.map((e: any) => e.node.traceId)).toEqual([ids[1], ids[0]]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    const errors = ok<any>(await gw.graphql(LIST, { outcome: 'ERROR' }, token)).organization.traces;
    expect(errors.edges.map((e: any) => [e.node.traceId, e.node.operationName, e.node.errorCodes])).toEqual([
      [ids[2], 'Broken', ['NOT_FOUND']],
    ]);
    const op1 = ok<any>(await gw.graphql(LIST, { op: 'Op1' }, token)).organization.traces;
    expect(op1.edges.map((e: any) => e.node.traceId)).toEqual([ids[3], ids[1]]);
    const since = all.edges[1].node.startedAt;
    const window = ok<any>(await gw.graphql(LIST, { since, until: all.edges[0].node.startedAt }, token)).organization
      .traces;
    expect(window.edges.map((e: any) => e.node.traceId)).toEqual([ids[3]]);
  });

  test("one trace with its spans; another organization's trace id answers like one that never existed", async () => {
    const ONE = `query($id: String!) { trace(traceId: $id) { traceId operationName spans { id parentId name kind startMs durationMs error attributes } } }`;
    const mine = ok<any>(await gw.graphql(ONE, { id: ids[0] }, tokenFor(orgA))).trace;
    expect(mine.traceId).toBe(ids[0]);
    expect(mine.spans[0].kind).toBe('request');
    expect(mine.spans.some((s: any) => s.kind === 'sql')).toBe(true);
    const foreign = await gw.graphql(ONE, { id: ids[0] }, tokenFor(orgB));
    const unknown = await gw.graphql(ONE, { id: hex(16) }, tokenFor(orgB));
    expectError(foreign, 'NOT_FOUND');
    expectError(unknown, 'NOT_FOUND');
    const strip = (r: any) =>
      JSON.stringify({
        ...r.body,
        errors: r.body.errors.map((e: any) => ({
          ...e,
          message: e.message.replace(/[0-9a-f]{32}/, 'ID'),
          extensions: { ...e.extensions, requestId: null },
        })),
      });
    expect(strip(foreign)).toBe(strip(unknown));
    expect(foreign.status).toBe(unknown.status);
    // Org B's list holds only its own.
    const listB = ok<any>(await gw.graphql(LIST, {}, tokenFor(orgB))).organization.traces;
    expect(listB.edges.map((e: any) => e.node.operationName)).toEqual(['OfB']);
  });

  test('traces:read is for owners and admins; a token without it is refused', async () => {
    const narrow = await gw.graphql(LIST, {}, tokenFor(orgA, ['org:read']));
    expectError(narrow, 'FORBIDDEN');
    const viewerRole = await gw.graphql(
      `query($id: String!) { trace(traceId: $id) { traceId } }`,
      { id: ids[0] },
      tokenFor(orgA, ['traces:read'], { sub: 'nobody' }),
    );
    expect(viewerRole.status).toBe(401); // not a member at all
  });

  test.each([
    ['a cursor that is not ours', { after: 'bm9wZQ' }, 'BAD_USER_INPUT'],
    ['until before since', { since: '2026-01-02T00:00:00.000Z', until: '2026-01-01T00:00:00.000Z' }, 'BAD_USER_INPUT'],
    ['first out of range', { first: 1000 }, 'BAD_USER_INPUT'],
    ['an operation name too long', { op: 'x'.repeat(201) }, 'BAD_USER_INPUT'],
    ['a date that is not one', { since: 'yesterday' }, 'BAD_USER_INPUT'],
  ])('bad filter: %s → %s, nothing changed', async (_, variables, code) => {
    const before = await db.admin.query(`SELECT count(*)::int AS n FROM traces`);
    const response = await gw.graphql(LIST, variables, tokenFor(orgA));
    expect(response.body.errors?.[0]?.extensions.code).toBe(code);
    expect(response.status).toBeLessThan(500);
    const after = await db.admin.query(
      `SELECT count(*)::int AS n FROM traces WHERE operation_name IS DISTINCT FROM 'x'`,
    );
    expect(after.rows[0].n).toBeGreaterThanOrEqual(before.rows[0].n);
  });

  test.each(['xyz', 'A'.repeat(32), '', `${hex(16)}00`])('a malformed trace id (%p) is NOT_FOUND', async (id) => {
    expectError(
      await gw.graphql(`query($id: String!) { trace(traceId: $id) { traceId } }`, { id }, tokenFor(orgA)),
      'NOT_FOUND',
    );
  });
});

describe('what is never stored', () => {
  test('credentials, connector secrets, API keys, tokens and variable values appear in no trace', async () => {
    await setMode(orgA.id, 'all');
    const token = tokenFor(orgA);
    const needles: string[] = [token];
    const rand = () => hex(12);
    const ws = ok<any>(
      await gw.graphql(
        `mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }`,
        { i: { name: `Secretive ${rand()}` } },
        token,
      ),
    ).createWorkspace.id;
    const env = ok<any>(
      await gw.graphql(
        `mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`,
        { i: { workspaceId: ws, name: 'aws', slug: `aws-${rand()}`, tier: 'PROD', deploymentHost: 'AWS' } },
        token,
      ),
    ).createEnvironment.id;
    const secretAccessKey = crypto
      .randomBytes(30)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, 'x')
      .slice(0, 40);
    const accessKeyId = `AKIA${rand().slice(0, 16).toUpperCase()}`;
    needles.push(secretAccessKey, accessKeyId);
    ok(
      await gw.graphql(
        `mutation($id: ID!, $i: EnvironmentCredentialsInput!) { setEnvironmentCredentials(environmentId: $id, input: $i) { id } }`,
        { id: env, i: { aws: { accessKeyId, secretAccessKey, region: 'eu-west-1' } } },
        token,
      ),
    );
    const connectorSecret = `pw-${rand()}`;
    needles.push(connectorSecret);
    ok(
      await gw.graphql(
        `mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }`,
        {
          i: {
            workspaceId: ws,
            kind: 'DATABASE',
            name: `db-${rand()}`,
            config: { host: 'db.internal' },
            secret: connectorSecret,
          },
        },
        token,
      ),
    );
    const created = ok<any>(
      await gw.graphql(
        'mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }',
        { i: { name: `k-${rand()}`, scopes: ['org:read'] } },
        token,
      ),
    ).createApiKey;
    needles.push(created.key);
    const access = await gw.exchangeApiKey(created.key);
    needles.push(access);
    await send('{ organization { name } }', { token: access });
    // A variable value in a failed request too.
    const variableValue = `needle-${rand()}`;
    needles.push(variableValue);
    await send('query($n: String!) { workspace(id: $n) { id } }', { token, variables: { n: variableValue } });
    await settle(orgA.id, 'all');
    const { rows } = await db.admin.query(`SELECT row_to_json(t)::text AS text FROM traces t`);
    expect(rows.length).toBeGreaterThanOrEqual(6);
    const stored = rows.map((r) => r.text).join('\n');
    for (const needle of needles) expect({ needle, found: stored.includes(needle) }).toEqual({ needle, found: false });
    // Not even a JWT's signature part or the key's secret part.
    for (const needle of [token.split('.')[2], created.key.slice(-16)]) expect(stored).not.toContain(needle);
  });
});
