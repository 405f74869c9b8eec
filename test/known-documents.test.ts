import crypto from 'node:crypto';
import { openGatewayTransactions, snapshot } from './support/database';
import { cli, startGateway, type RunningGateway } from './support/gateway';
import { createOrg, gid, type Org } from './support/fixtures';
import { useGateway } from './support/harness';
import { claimsFor, generateKeyPair, signEs256, signHs256 } from './support/tokens';
import { post, send, type Answer, type Sent } from './support/answers';

/**
 * The known-document path (src/graphql/known-documents.ts, README "Compiled read path"): a POST of a query
 * text Apollo has already validated and the compiled read path plans is answered before Apollo's pipeline,
 * in one round trip. Every test sends a text once (Apollo's pipeline makes it known) and then again, and
 * checks that the second answer really came from the known path (`extensions.sql.statements` is 1 there:
 * `BEGIN READ ONLY … plan; COMMIT` in one message; Apollo's planned path takes 2, its normal path more) and
 * that it is what the normal path records and answers: trace, access log, metrics, connections, outages,
 * tenants; and that everything the known path must leave to Apollo is answered exactly as by a gateway with
 * GRAPHQL_SQL_PLAN=off (status, body, headers), with the data unchanged.
 */
const { gw, db, orgA, orgB } = useGateway({
  orgs: ['known-a', 'known-b'],
  env: { GRAPHQL_SQL_PLAN: 'on', TRACE_RETENTION_INTERVAL_MS: '0' },
});
/** The same database and signing key, without the compiled read path (so without the known path). */
let off: RunningGateway;

const rand = () => crypto.randomBytes(4).toString('hex');
const hex = (bytes: number) => crypto.randomBytes(bytes).toString('hex');

/** Sends the same request to the planned gateway and the plan-off one: the answers must be the same. */
async function same(sent: Sent, target: RunningGateway = gw): Promise<{ planned: Answer; normal: Answer }> {
  const normal = await send(off, sent);
  const planned = await send(target, sent);
  expect({ status: planned.status, text: planned.text, headers: planned.headers }).toEqual({
    status: normal.status,
    text: normal.text,
    headers: normal.headers,
  });
  return { planned, normal };
}

/**
 * Makes a text known (its first request goes through Apollo, the planned executor: 2 statements) and checks
 * that the next one takes the known path (1 statement) and answers as the plan-off gateway. Returns that answer.
 */
async function known(query: string, variables: unknown, token: string, target: RunningGateway = gw): Promise<Answer> {
  const first = await send(target, post(query, variables, token));
  expect(first.status).toBe(200);
  const { planned } = await same(post(query, variables, token), target);
  expect(planned.statements).toBe(1);
  return planned;
}

const tokens: Record<string, string> = {};
const ws: Record<'a' | 'b', string[]> = { a: [], b: [] };
let apiKeyId: string;

async function seed(org: Org, tag: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { rows } = await db.admin.query(
      `INSERT INTO workspaces (org_id, name, description) VALUES ($1, $2, $3) RETURNING id`,
      [org.id, `${tag} workspace ${i}`, i % 2 ? null : `about ${tag} ${i}`],
    );
    ids.push(rows[0].id);
  }
  return ids;
}

beforeAll(async () => {
  off = await startGateway({ databaseUrl: db.url, key: gw.key, env: { GRAPHQL_SQL_PLAN: 'off' } });
  ws.a = await seed(orgA, 'alpha', 5);
  ws.b = await seed(orgB, 'beta', 3);
  // A member who sees two of A's five workspaces, and a billing member (whose role lacks workspaces:read).
  await db.admin.query(
    `INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, 'member-1', 'm1@a.test', 'member'), ($1, 'billing-1', 'b1@a.test', 'billing')`,
    [orgA.id],
  );
  await db.admin.query(
    `INSERT INTO workspace_members (org_id, workspace_id, user_id, role) VALUES ($1, $2, 'member-1', 'developer'), ($1, $3, 'member-1', 'viewer')`,
    [orgA.id, ws.a[1], ws.a[3]],
  );
  const key = await cli(
    ['apikey', 'create', '--org', orgA.slug, '--name', 'known', '--scopes', 'org:read,workspaces:read', '--json'],
    { DATABASE_URL: db.url },
  );
  expect(key.code).toBe(0);
  apiKeyId = key.json.id;
  tokens.a = gw.token(orgA.id);
  tokens.b = gw.token(orgB.id);
  tokens.member = gw.token(orgA.id, undefined, { sub: 'member-1' });
  tokens.billing = gw.token(orgA.id, undefined, { sub: 'billing-1' });
  tokens.apiKey = await gw.exchangeApiKey(key.json.key);
}, 120000);

afterAll(async () => {
  await off?.stop();
});

const POINT = `query KnownPoint($id: ID!) { workspace(id: $id) { id name description } }`;
const LIST = `query KnownList($n: Int) { organization { id workspaces(first: $n) { totalCount edges { node { id name } } } } }`;
const wsId = (org: 'a' | 'b', i: number) => gid('Workspace', ws[org][i]);

describe('what the normal path records, the known path records', () => {
  async function storedTrace(orgId: string, traceId: string): Promise<any> {
    for (let i = 0; i < 200; i++) {
      const { rows } = await db.admin.query(`SELECT * FROM traces WHERE org_id = $1 AND trace_id = $2`, [
        orgId,
        traceId,
      ]);
      if (rows.length) return rows[0];
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`trace ${traceId} was never stored`);
  }

  test('a recording organization gets a trace of the same shape, and the recording traceparent', async () => {
    await db.admin.query(`UPDATE organizations SET trace_mode = 'all', trace_sample_rate = 1 WHERE id = $1`, [orgA.id]);
    try {
      const query = `query KnownTrace($id: ID!) { workspace(id: $id) { id name } }`;
      const traced = async (id = wsId('a', 0)) => {
        const traceId = hex(16);
        const parent = hex(8);
        const response = await fetch(`${gw.url}/graphql`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${tokens.a}`,
            traceparent: `00-${traceId}-${parent}-01`,
          },
          body: JSON.stringify({ query, variables: { id } }),
        });
        const body: any = await response.json();
        expect(response.status).toBe(200); // NOT_FOUND too: data { workspace: null }
        return { traceId, parent, traceparent: response.headers.get('traceparent')!, body };
      };
      const normal = await traced(); // Apollo's pipeline (the planned executor): makes the text known
      const fast = await traced();
      expect(normal.body.extensions.sql.statements).toBe(2);
      expect(fast.body.extensions.sql.statements).toBe(1);
      expect(fast.body.data).toEqual(normal.body.data);

      const rows = [await storedTrace(orgA.id, normal.traceId), await storedTrace(orgA.id, fast.traceId)];
      for (const [sent, row] of [
        [normal, rows[0]],
        [fast, rows[1]],
      ] as const) {
        // The response's traceparent: this trace, our root span, sampled (recorded).
        const [, traceId, rootSpan, flags] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/.exec(sent.traceparent)!;
        expect({ traceId, flags }).toEqual({ traceId: sent.traceId, flags: '01' });
        expect(row).toMatchObject({
          operation_type: 'query',
          operation_name: 'KnownTrace',
          principal_kind: 'user',
          user_id: 'user-1',
          api_key_id: null,
          outcome: 'ok',
          error_codes: [],
          http_status: 200,
          sql_statements: sent.body.extensions.sql.statements,
        });
        const spans = row.spans as any[];
        const ids = new Set(spans.map((s) => s.id));
        expect(ids.size).toBe(spans.length);
        const root = spans.find((s) => s.kind === 'request');
        expect(root).toMatchObject({ id: rootSpan, parentId: sent.parent, name: 'query KnownTrace' });
        for (const span of spans.filter((s) => s !== root)) expect(ids.has(span.parentId)).toBe(true);
        expect(spans.filter((s) => s.name === 'graphql.execute')).toHaveLength(1);
        const sql = spans.filter((s) => s.kind === 'sql');
        // The opening span, once; the planned statement, parameterised, once, in the opening round trip.
        expect(sql.filter((s) => /^BEGIN; SET LOCAL ROLE/.test(s.attributes['db.statement']))).toHaveLength(1);
        const plan = sql.filter((s) => /json_build_object/.test(s.attributes['db.statement']));
        expect(plan).toHaveLength(1);
        expect(plan[0]).toMatchObject({ attributes: { batched: 2 } });
        expect(plan[0].attributes['db.statement']).not.toContain(orgA.id);
        expect(plan[0].attributes['db.statement']).not.toContain(ws.a[0]);
        expect(spans.filter((s) => s.kind === 'resolver')).toEqual([]);
      }
      // The known path's answer has no parse/validate phase (nothing was parsed) and no separate COMMIT span
      // (its COMMIT was in the opening message): every other span name is the normal path's.
      const names = (row: any) => (row.spans as any[]).map((s) => `${s.kind}:${s.name}`).sort();
      const commit = (rows[0].spans as any[]).filter((s) => s.attributes?.['db.statement'] === 'COMMIT');
      expect(commit).toHaveLength(1);
      const normalNames = names(rows[0]).filter(
        (n) => n !== 'graphql:graphql.parse' && n !== 'graphql:graphql.validate',
      );
      normalNames.splice(normalNames.indexOf('sql:sql'), 1); // the COMMIT
      expect(names(rows[1])).toEqual(normalNames);

      // errors_only: a plain answer is not kept, on either path; a known text whose answer is an error
      // (another organization's id: the known path leaves it to Apollo) is. (errors_only never says
      // "sampled" in the traceparent: the decision to keep comes after the answer.)
      await db.admin.query(`UPDATE organizations SET trace_mode = 'errors_only' WHERE id = $1`, [orgA.id]);
      const flags = (sent: { traceparent: string }) => sent.traceparent.slice(-2);
      const plain = [await traced(), await traced()];
      expect(plain.map((sent) => [flags(sent), sent.body.extensions.sql.statements])).toEqual([
        ['00', 1],
        ['00', 1],
      ]);
      const failed = await traced(wsId('b', 0));
      expect(failed.body.errors[0].extensions.code).toBe('NOT_FOUND');
      expect(flags(failed)).toBe('00');
      expect(await storedTrace(orgA.id, failed.traceId)).toMatchObject({
        operation_name: 'KnownTrace',
        outcome: 'error',
        error_codes: ['NOT_FOUND'],
      });
      // The writer stores in the order requests finished: the plain ones before it would be there by now.
      const { rows: kept } = await db.admin.query(`SELECT trace_id FROM traces WHERE trace_id = ANY($1)`, [
        plain.map((sent) => sent.traceId),
      ]);
      expect(kept).toEqual([]);
    } finally {
      await db.admin.query(`UPDATE organizations SET trace_mode = 'none' WHERE id = $1`, [orgA.id]);
    }
  });

  test('its access-log line names the operation, the caller and one SQL statement', async () => {
    const accessLine = async (id: string) => {
      for (let i = 0; i < 40; i++) {
        const lines = gw.logs.filter((l) => l.includes('"msg":"request"') && l.includes(id)).map((l) => JSON.parse(l));
        if (lines.length) {
          expect(lines).toHaveLength(1);
          return lines[0];
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no access-log line for ${id}`);
    };
    const query = `query KnownLog($id: ID!) { workspace(id: $id) { name } }`;
    for (const [token, kind, principalId] of [
      [tokens.a, 'user', 'user-1'],
      [tokens.apiKey, 'api_key', apiKeyId],
    ] as const) {
      const ids = [`known-${rand()}`, `known-${rand()}`];
      const answers: Array<{ status: number; bytes: number; statements: number; traceparent: string | null }> = [];
      for (const id of ids) {
        const response = await fetch(`${gw.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': id },
          body: JSON.stringify({ query: `${query} # ${kind}`, variables: { id: wsId('a', 1) } }),
        });
        const bytes = await response.arrayBuffer();
        answers.push({
          status: response.status,
          bytes: bytes.byteLength,
          statements: JSON.parse(Buffer.from(bytes).toString()).extensions.sql.statements,
          traceparent: response.headers.get('traceparent'),
        });
      }
      expect(answers.map((a) => [a.status, a.statements])).toEqual([
        [200, 2],
        [200, 1],
      ]);
      const [normal, fast] = [await accessLine(ids[0]), await accessLine(ids[1])];
      expect(fast).toEqual({
        level: 30,
        time: expect.any(Number),
        service: 'manifest-gateway',
        msg: 'request',
        requestId: ids[1],
        traceId: answers[1].traceparent!.split('-')[1],
        method: 'POST',
        route: '/graphql',
        status: 200,
        aborted: false,
        durationMs: expect.any(Number),
        orgId: orgA.id,
        principalKind: kind,
        principalId,
        operationType: 'query',
        operationName: 'KnownLog',
        sqlStatements: 1,
        bytesOut: answers[1].bytes,
      });
      // The same fields as the normal path's line, with the same values where they do not depend on the path.
      const { requestId: _a, time: _b, durationMs: _c, traceId: _d, sqlStatements, bytesOut: _e, ...rest } = normal;
      expect(sqlStatements).toBe(2);
      expect(fast).toMatchObject(rest);
      expect(Object.keys(fast).sort()).toEqual(Object.keys(normal).sort());
    }
  });

  test('metrics count a known-path request once, as the normal path counts its own', async () => {
    const scrape = async () => (await (await fetch(`${gw.url}/metrics`)).text()).split('\n');
    const value = (lines: string[], prefix: string) => {
      const line = lines.find((l) => l.startsWith(`${prefix} `));
      return line ? Number(line.slice(prefix.length + 1)) : 0;
    };
    const read = async () => {
      const lines = await scrape();
      return {
        operations: value(
          lines,
          'gateway_graphql_operation_seconds_count{operation="KnownMetrics",type="query",outcome="ok"}',
        ),
        statementsCount: value(lines, 'gateway_sql_statements_per_request_count'),
        statementsSum: value(lines, 'gateway_sql_statements_per_request_sum'),
        statementsLe2: value(lines, 'gateway_sql_statements_per_request_bucket{le="2"}'),
        http: value(lines, 'gateway_http_requests_total{route="/graphql",method="POST",status="200"}'),
      };
    };
    const query = `query KnownMetrics { organization { name } }`;
    const before = await read();
    const first = await send(gw, post(query, {}, tokens.a));
    expect(first.statements).toBe(2);
    const middle = await read();
    expect(middle).toEqual({
      operations: before.operations + 1,
      statementsCount: before.statementsCount + 1,
      statementsSum: before.statementsSum + 2,
      statementsLe2: before.statementsLe2 + 1,
      http: before.http + 1,
    });
    for (let i = 0; i < 3; i++) expect((await send(gw, post(query, {}, tokens.a))).statements).toBe(1);
    expect(await read()).toEqual({
      operations: middle.operations + 3,
      statementsCount: middle.statementsCount + 3,
      statementsSum: middle.statementsSum + 3,
      statementsLe2: middle.statementsLe2 + 3,
      http: middle.http + 3,
    });
    // A known text the known path leaves to Apollo (another organization's id): counted once, as an error,
    // by Apollo's path alone (not also by the known path's attempt).
    const errorsBefore = value(
      await scrape(),
      'gateway_graphql_operation_seconds_count{operation="KnownMetrics",type="query",outcome="error"}',
    );
    const end = await read();
    const refused = await send(
      gw,
      post(`query KnownMetrics($id: ID!) { workspace(id: $id) { name } }`, { id: wsId('b', 0) }, tokens.a),
    );
    expect(refused.body.errors[0].extensions.code).toBe('NOT_FOUND');
    const refusedAgain = await send(
      gw,
      post(`query KnownMetrics($id: ID!) { workspace(id: $id) { name } }`, { id: wsId('b', 0) }, tokens.a),
    );
    expect(refusedAgain.body.errors[0].extensions.code).toBe('NOT_FOUND');
    const lines = await scrape();
    expect(
      value(lines, 'gateway_graphql_operation_seconds_count{operation="KnownMetrics",type="query",outcome="error"}'),
    ).toBe(errorsBefore + 2);
    expect(value(lines, 'gateway_sql_statements_per_request_count')).toBe(end.statementsCount + 2);
    expect(value(lines, 'gateway_http_requests_total{route="/graphql",method="POST",status="200"}')).toBe(end.http + 2);
  });
});

describe('what the known path must leave to Apollo is answered as without it', () => {
  const expired = () =>
    signEs256(gw.key.privateKey, claimsFor(orgA.id, ['org:read'], { exp: Math.floor(Date.now() / 1000) - 60 }));
  const foreign = () => signEs256(generateKeyPair().privateKey, claimsFor(orgA.id, ['org:read', 'workspaces:read']));

  test('every request that differs from a plain known POST in a way Apollo would notice', async () => {
    // Known texts: a point read, a paged list, and one document with two operations (the first made known).
    const point = () => ({ id: wsId('a', 0) });
    await known(POINT, point(), tokens.a);
    await known(LIST, { n: 2 }, tokens.a);
    const TWO = `query KnownFirst { organization { name } } query KnownSecond { organization { slug } }`;
    await (async () => {
      expect((await send(gw, { body: { query: TWO, operationName: 'KnownFirst' }, token: tokens.a })).statements).toBe(
        2,
      );
      const { planned } = await same({ body: { query: TWO, operationName: 'KnownFirst' }, token: tokens.a });
      expect(planned.statements).toBe(1);
    })();
    const hash = crypto.createHash('sha256').update(POINT).digest('hex');
    const cases: Array<[string, () => Sent, number?]> = [
      // [name, request, status the plan-off gateway answers (checked so the case is what it claims)]
      [
        'an extensions field',
        () => ({ body: { query: POINT, variables: point(), extensions: {} }, token: tokens.a }),
        200,
      ],
      [
        'an APQ extension with the right hash',
        () => ({
          body: { query: POINT, variables: point(), extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
          token: tokens.a,
        }),
        200,
      ],
      [
        'an APQ extension with a wrong hash',
        () => ({
          body: {
            query: POINT,
            variables: point(),
            extensions: { persistedQuery: { version: 1, sha256Hash: hex(32) } },
          },
          token: tokens.a,
        }),
      ],
      [
        'an operationName naming no operation',
        () => ({ body: { query: POINT, variables: point(), operationName: 'Nope' }, token: tokens.a }),
      ],
      [
        'an operationName that is no GraphQL name',
        () => ({ body: { query: POINT, variables: point(), operationName: 'KnownPoint\u0000' }, token: tokens.a }),
      ],
      [
        'an empty operationName',
        () => ({ body: { query: POINT, variables: point(), operationName: '' }, token: tokens.a }),
      ],
      [
        'a wrongly typed operationName',
        () => ({ body: { query: POINT, variables: point(), operationName: 7 }, token: tokens.a }),
        400,
      ],
      [
        'the other operation of the document',
        () => ({ body: { query: TWO, operationName: 'KnownSecond' }, token: tokens.a }),
        200,
      ],
      ['no operationName for a two-operation document', () => ({ body: { query: TWO }, token: tokens.a })],
      ['variables as an array', () => ({ body: { query: POINT, variables: [point()] }, token: tokens.a }), 400],
      [
        'variables as a string',
        () => ({ body: { query: POINT, variables: JSON.stringify(point()) }, token: tokens.a }),
        400,
      ],
      ['variables: null where one is required', () => ({ body: { query: POINT, variables: null }, token: tokens.a })],
      [
        'variables: null where none is required',
        () => ({ body: { query: LIST, variables: null }, token: tokens.a }),
        200,
      ],
      ['a variable of the wrong type', () => post(POINT, { id: 42 }, tokens.a)],
      ['a batch (JSON array)', () => ({ body: [{ query: POINT, variables: point() }], token: tokens.a }), 400],
      [
        'Accept: application/json; callbackSpec=1.0',
        () => post(POINT, point(), tokens.a, { headers: { accept: 'application/json; callbackSpec=1.0' } }),
      ],
      [
        'Accept: application/graphql-response+json',
        () => post(POINT, point(), tokens.a, { headers: { accept: 'application/graphql-response+json' } }),
        200,
      ],
      ['Accept: text/html', () => post(POINT, point(), tokens.a, { headers: { accept: 'text/html' } }), 406],
      // Accept headers whose negotiation could differ between express (`req.accepts`, parameterless types) and
      // Apollo (its types carry `charset=utf-8`, and it offers the callbackSpec type too).
      ...[
        'application/json; callbackSpec=1.0, application/json',
        'application/graphql-response+json; charset=utf-8, application/json',
        'application/graphql-response+json; charset=utf-8, application/json;q=0.9',
        'application/json; charset=utf-8',
        'application/json;q=0.5, application/graphql-response+json;q=0.5',
        'application/graphql-response+json, application/json;q=0.9',
        'application/*',
        '*/*',
      ].map((accept): [string, () => Sent] => [
        `Accept: ${accept}`,
        () => post(POINT, point(), tokens.a, { headers: { accept } }),
      ]),
      ['no Authorization header', () => post(POINT, point(), null)],
      ['a malformed token', () => post(POINT, point(), 'not.a.token'), 401],
      ['an expired token', () => post(POINT, point(), expired()), 401],
      ['a token signed by another key', () => post(POINT, point(), foreign()), 401],
      ['an HS256 token', () => post(POINT, point(), signHs256('secret', claimsFor(orgA.id, ['org:read']))), 401],
      [
        'a GET of the same query',
        () => ({
          method: 'GET',
          search: `?query=${encodeURIComponent(POINT)}&variables=${encodeURIComponent(JSON.stringify(point()))}`,
          token: tokens.a,
          headers: { 'apollo-require-preflight': 'true' },
        }),
        200,
      ],
      [
        'Content-Type: text/plain',
        () => ({
          raw: JSON.stringify({ query: POINT, variables: point() }),
          token: tokens.a,
          headers: { 'content-type': 'text/plain' },
        }),
        415,
      ],
      ['malformed JSON', () => ({ raw: `{"query": ${JSON.stringify(POINT)}, "variables": {`, token: tokens.a }), 400],
      ["another organization's workspace id", () => post(POINT, { id: wsId('b', 0) }, tokens.a), 200],
      [
        'an id that names nothing',
        () => post(POINT, { id: gid('Workspace', '00000000-0000-0000-0000-000000000000') }, tokens.a),
        200,
      ],
      ['a malformed id', () => post(POINT, { id: 'not-an-id' }, tokens.a), 200],
      ['first: 101', () => post(LIST, { n: 101 }, tokens.a)],
      ['first: -1', () => post(LIST, { n: -1 }, tokens.a)],
      // Variable values at the edges of coercion: the planner coerces with graphql-js, the executor with
      // graphql-jit; the known path must agree with the plan-off gateway on every one.
      ...[
        { n: '5' },
        { n: 5.0 },
        { n: 5.5 },
        { n: 1e2 },
        { n: 2147483648 },
        { n: true },
        { n: null },
        { n: [5] },
        { n: { value: 5 } },
        {},
        { n: 3, extra: 'ignored' },
      ].map((variables): [string, () => Sent] => [
        `LIST variables ${JSON.stringify(variables)}`,
        () => post(LIST, variables, tokens.a),
      ]),
      ...[{ id: ['x'] }, { id: null }, { id: true }, { id: 1.5 }, { id: {} }].map((variables): [string, () => Sent] => [
        `POINT variables ${JSON.stringify(variables)}`,
        () => post(POINT, variables, tokens.a),
      ]),
      ['a token without workspaces:read', () => post(LIST, { n: 2 }, gw.token(orgA.id, ['org:read']))],
      ['a member whose role lacks workspaces:read', () => post(LIST, { n: 2 }, tokens.billing)],
      ['a caller who is not a member', () => post(LIST, { n: 2 }, gw.token(orgA.id, undefined, { sub: 'stranger' }))],
      ['an organization that does not exist', () => post(LIST, { n: 2 }, gw.token(crypto.randomUUID()))],
    ];
    const before = await snapshot(db.admin);
    const failures: string[] = [];
    for (const [name, request, status] of cases) {
      // Twice: whatever the first made known, the second must still answer as the plan-off gateway.
      for (let round = 0; round < 2; round++) {
        try {
          const { planned, normal } = await same(request());
          if (status !== undefined) expect(normal.status).toBe(status);
          // Never answered by the known path (whose answer has no errors and 1 statement), except where the
          // plan-off gateway answers data without errors, and then with the same body anyway.
          if (normal.body?.errors) expect(planned.statements).not.toBe(1);
          expect(planned.status).not.toBe(500);
        } catch (error) {
          failures.push(
            `${name} (round ${round + 1}): ${(error as Error).message.split('\n').slice(0, 12).join('\n')}`,
          );
        }
      }
    }
    expect(failures).toEqual([]);
    expect(await snapshot(db.admin)).toEqual(before);
    // And the known path still answers the plain request.
    expect((await same(post(POINT, point(), tokens.a))).planned.statements).toBe(1);
  });

  test('a known request whose caller the database refuses (archived, suspended, revoked key) is answered as the normal path', async () => {
    const query = `query KnownRefused { organization { workspaces(first: 3) { totalCount } } }`;
    const other = await createOrg(db, 'known-c');
    const token = gw.token(other.id);
    await known(query, {}, token);
    await db.admin.query(`UPDATE organizations SET status = 'suspended' WHERE id = $1`, [other.id]);
    expect((await same(post(query, {}, token))).planned.statements).toBe(1); // a suspended organization reads
    await db.admin.query(`UPDATE organizations SET status = 'archived' WHERE id = $1`, [other.id]);
    const archived = await same(post(query, {}, token));
    expect(archived.planned.body.errors?.[0]?.extensions?.code).toBeTruthy();
    expect(archived.planned.statements).not.toBe(1);
    // A revoked API key (its token still verifies; the caller row says the key is gone).
    const keyQuery = `query KnownKey { organization { workspaces(first: 3) { totalCount } } }`;
    const key = await cli(
      ['apikey', 'create', '--org', orgA.slug, '--name', 'revoked', '--scopes', 'org:read,workspaces:read', '--json'],
      {
        DATABASE_URL: db.url,
      },
    );
    const keyToken = await gw.exchangeApiKey(key.json.key);
    await known(keyQuery, {}, keyToken);
    await db.admin.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [key.json.id]);
    const revoked = await same(post(keyQuery, {}, keyToken));
    expect(revoked.planned.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('a mutation text is never answered by the known path: it runs every time', async () => {
    const mutation = `mutation KnownCreate($n: String!) { createWorkspace(input: { name: $n }) { name } }`;
    const name = `known-mutation-${rand()}`;
    for (let i = 0; i < 3; i++) {
      const answer = await send(gw, post(mutation, { n: name }, tokens.b));
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ data: { createWorkspace: { name } } });
      expect(answer.statements).toBeGreaterThan(1);
    }
    const { rows } = await db.admin.query(`SELECT count(*)::int AS n FROM workspaces WHERE org_id = $1 AND name = $2`, [
      orgB.id,
      name,
    ]);
    expect(rows[0].n).toBe(3);
    // A document with a query and a mutation: its query known, its mutation still runs every time.
    const both = `query KnownBothQuery { organization { name } } ${mutation.replace('KnownCreate', 'KnownBothCreate')}`;
    await send(gw, { body: { query: both, operationName: 'KnownBothQuery' }, token: tokens.b });
    expect(
      (await send(gw, { body: { query: both, operationName: 'KnownBothQuery' }, token: tokens.b })).statements,
    ).toBe(1);
    const other = `known-both-${rand()}`;
    for (let i = 0; i < 2; i++) {
      const answer = await send(gw, {
        body: { query: both, operationName: 'KnownBothCreate', variables: { n: other } },
        token: tokens.b,
      });
      expect([answer.status, answer.body]).toEqual([200, { data: { createWorkspace: { name: other } } }]);
    }
    const { rows: created } = await db.admin.query(
      `SELECT count(*)::int AS n FROM workspaces WHERE org_id = $1 AND name = $2`,
      [orgB.id, other],
    );
    expect(created[0].n).toBe(2);
    // A refused mutation, sent twice: the same refusal as without the plan, nothing written.
    const before = await snapshot(db.admin);
    for (let i = 0; i < 2; i++) {
      const { planned } = await same(post(mutation, { n: '' }, tokens.b));
      expect(planned.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }
    expect(await snapshot(db.admin)).toEqual(before);
  });
});

test('the store of known texts is bounded by their size: a padded text does not stay known forever', async () => {
  // Valid and plannable at ~0.9 MB each (a comment is no token for the parser's limit): 20 of them are more
  // text than the store holds (16 MiB), so the first is forgotten (its next request is Apollo's again, 2
  // statements) while the last is still known (1).
  const texts = Array.from(
    { length: 20 },
    (_, i) => `query KnownPadded { organization { name } } # ${i} ${'x'.repeat(900_000)}`,
  );
  for (const text of texts) {
    expect((await send(gw, post(text, {}, tokens.a))).statements).toBe(2);
    expect((await send(gw, post(text, {}, tokens.a))).statements).toBe(1);
  }
  expect((await send(gw, post(texts[19], {}, tokens.a))).statements).toBe(1);
  expect((await send(gw, post(texts[0], {}, tokens.a))).statements).toBe(2);
  // Small texts are still remembered.
  await known(`query KnownSmall { organization { slug } }`, {}, tokens.a);
});

describe('tenants, connections and outages', () => {
  test('one known text alternating between organizations and members: each sees exactly its own rows', async () => {
    const text = `${LIST} # isolation`;
    const expected: Record<string, string[]> = {
      a: ws.a.map((id) => gid('Workspace', id)).sort(),
      b: ws.b.map((id) => gid('Workspace', id)).sort(),
      member: [ws.a[1], ws.a[3]].map((id) => gid('Workspace', id)).sort(),
      apiKey: ws.a.map((id) => gid('Workspace', id)).sort(),
    };
    const org: Record<string, string> = { a: orgA.id, b: orgB.id, member: orgA.id, apiKey: orgA.id };
    // B's workspaces as of now (the mutation test may have added some).
    const { rows } = await db.admin.query(`SELECT id FROM workspaces WHERE org_id = $1`, [orgB.id]);
    expected.b = rows.map((r) => gid('Workspace', r.id)).sort();
    await send(gw, post(text, { n: 50 }, tokens.a)); // makes it known
    const callers = ['a', 'b', 'member', 'apiKey'] as const;
    for (let round = 0; round < 24; round++) {
      const caller = callers[round % callers.length];
      const answer = await send(gw, post(text, { n: 50 }, tokens[caller]));
      expect({
        round,
        caller,
        status: answer.status,
        statements: answer.statements,
        errors: answer.body.errors,
      }).toEqual({
        round,
        caller,
        status: 200,
        statements: 1,
        errors: undefined,
      });
      const connection = answer.body.data.organization.workspaces;
      expect(answer.body.data.organization.id).toBe(gid('Organization', org[caller]));
      expect(connection.edges.map((e: any) => e.node.id).sort()).toEqual(expected[caller]);
      expect(connection.totalCount).toBe(expected[caller].length);
    }
    // By id: each organization's own workspace on the known path, the other's NOT_FOUND as on the normal path.
    const point = `${POINT} # isolation`;
    await send(gw, post(point, { id: wsId('a', 2) }, tokens.a));
    for (let round = 0; round < 10; round++) {
      const mine = await send(gw, post(point, { id: wsId('b', 1) }, tokens.b));
      expect([mine.statements, mine.body.data.workspace.id]).toEqual([1, wsId('b', 1)]);
      const theirs = await same(post(point, { id: wsId('b', 1) }, tokens.a));
      expect(theirs.planned.body.errors[0].extensions.code).toBe('NOT_FOUND');
      const hidden = await same(post(point, { id: wsId('a', 0) }, tokens.member)); // not one of the member's
      expect(hidden.planned.body.errors[0].extensions.code).toBe('NOT_FOUND');
    }
  });

  test('a burst of known-path requests with clients that abort: no connection left in a transaction', async () => {
    const text = `${POINT} # burst`;
    await known(text, { id: wsId('a', 0) }, tokens.a);
    await known(text, { id: wsId('b', 0) }, tokens.b);
    const outcomes = await Promise.all(
      Array.from({ length: 90 }, async (_, i) => {
        const [org, token] = i % 2 ? (['b', tokens.b] as const) : (['a', tokens.a] as const);
        const id = wsId(org, i % ws[org].length);
        const controller = new AbortController();
        if (i % 3 === 0) setTimeout(() => controller.abort(), i % 7);
        try {
          const answer = await send(gw, { ...post(text, { id }, token), signal: controller.signal });
          return { aborted: false, ok: answer.status === 200 && answer.body.data?.workspace?.id === id, answer };
        } catch (error) {
          if ((error as Error).name !== 'AbortError') throw error;
          return { aborted: true, ok: true, answer: undefined };
        }
      }),
    );
    expect(outcomes.filter((o) => !o.ok).map((o) => o.answer)).toEqual([]);
    expect(outcomes.filter((o) => o.aborted).length).toBeGreaterThan(0);
    expect(await openGatewayTransactions(db.admin)).toEqual([]);
    // Every pooled connection still serves both organizations, on the known path.
    const after = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const [org, token] = i % 2 ? (['b', tokens.b] as const) : (['a', tokens.a] as const);
        return send(gw, post(text, { id: wsId(org, 0) }, token)).then((answer) => ({ org, answer }));
      }),
    );
    for (const { org, answer } of after) {
      expect([answer.status, answer.statements, answer.body.data.workspace.id]).toEqual([200, 1, wsId(org, 0)]);
    }
  });

  describe('an outage during a known-path request', () => {
    let outage: RunningGateway;
    beforeAll(async () => {
      outage = await startGateway({
        databaseUrl: db.url,
        key: gw.key,
        env: { GRAPHQL_SQL_PLAN: 'on', DB_POOL_SIZE: '1', DB_POOL_WAIT_MS: '300', DB_STATEMENT_TIMEOUT_MS: '2000' },
      });
    }, 60000);
    afterAll(async () => {
      await outage?.stop();
    });

    /** Holds an exclusive lock on the workspaces table (as the database owner) until the returned function is called. */
    async function lockWorkspaces(): Promise<() => Promise<void>> {
      const client = await db.admin.connect();
      await client.query('BEGIN; LOCK TABLE workspaces IN ACCESS EXCLUSIVE MODE');
      return async () => {
        await client.query('ROLLBACK');
        client.release();
      };
    }

    const expectOutage = (answer: Answer, code: string) => {
      expect({ status: answer.status, codes: (answer.body.errors ?? []).map((e: any) => e.extensions.code) }).toEqual({
        status: 503,
        codes: [code],
      });
      expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    };

    test('a statement timeout is 503 TIMEOUT, and the path answers again afterwards', async () => {
      const text = `${POINT} # timeout`;
      await known(text, { id: wsId('a', 0) }, tokens.a, outage);
      const release = await lockWorkspaces();
      try {
        // The statements that waited for the lock, seen while the request runs: the known attempt's opening
        // only. Apollo's path reports the attempt's timeout instead of waiting a second statement timeout.
        const waited = new Set<string>();
        let running = true;
        const watch = (async () => {
          while (running) {
            const { rows } = await db.admin.query(
              `SELECT pid, query_start FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'BEGIN%'`,
            );
            for (const row of rows) waited.add(`${row.pid} ${row.query_start.toISOString()}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
        expectOutage(await send(outage, post(text, { id: wsId('a', 0) }, tokens.a)), 'TIMEOUT');
        running = false;
        await watch;
        expect([...waited]).toHaveLength(1);
      } finally {
        await release();
      }
      expect((await send(outage, post(text, { id: wsId('a', 0) }, tokens.a))).statements).toBe(1);
    }, 60000);

    test('no connection to be had (a pool of one, held) is 503 SERVICE_UNAVAILABLE; the holder then answers', async () => {
      const text = `${POINT} # pool`;
      await known(text, { id: wsId('a', 0) }, tokens.a, outage);
      await known(text, { id: wsId('b', 0) }, tokens.b, outage);
      const release = await lockWorkspaces();
      let holder: Promise<Answer>;
      try {
        holder = send(outage, post(text, { id: wsId('a', 0) }, tokens.a)); // holds the only connection
        await new Promise((r) => setTimeout(r, 300));
        expectOutage(await send(outage, post(text, { id: wsId('b', 0) }, tokens.b)), 'SERVICE_UNAVAILABLE');
      } finally {
        await release();
      }
      const held = await holder!;
      expect([held.status, held.statements, held.body.data.workspace.id]).toEqual([200, 1, wsId('a', 0)]);
      expect((await send(outage, post(text, { id: wsId('b', 0) }, tokens.b))).statements).toBe(1);
      expect(outage.logs.filter((l) => l.includes('"level":50'))).toEqual([]);
    }, 60000);
  });
});
