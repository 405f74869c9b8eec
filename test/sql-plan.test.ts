import { createOrg, gid, ok, type Org } from './support/fixtures';
import { useGateway } from './support/harness';
import { cli, startGateway, type RunningGateway } from './support/gateway';
import { PGBOUNCER_PORT } from './support/database';
import { createDataSource } from '../src/db/data-source';
import { TenantScope } from '../src/db/tenant-scope';
import { planOpenings, setPreparedStatements } from '../src/db/prepared-plans';
import { W1_QUERY } from './support/queries';

/**
 * The compiled read path (src/graphql/sql-plan, README "Compiled read path"): a gateway with
 * GRAPHQL_SQL_PLAN=on and one with it off, on the same database and signing key, must give the same
 * answer byte for byte (raw JSON text, so key order too; only the request ids of errors and the dev-mode
 * statement count differ), for every caller kind. The planned queries must really take the plan (the
 * first request of a document 2 statements: the opening with the plan, COMMIT; from then on 1, on the
 * known-document path), so the test fails if the planner declines everything.
 * `gw` sends the plan as a per-connection prepared statement (DB_PREPARED_STATEMENTS=on, the default; off in
 * the PgBouncer run), `inline` with literals (DB_PREPARED_STATEMENTS=off): both must equal the normal path.
 */
const { gw, db, orgA, orgB } = useGateway({ orgs: ['plan-a', 'plan-b'], env: { GRAPHQL_SQL_PLAN: 'on' } });
let off: RunningGateway;
let inline: RunningGateway;

/** gateway_sql_plan_openings_total of a gateway, by `how`. */
async function openings(target: RunningGateway): Promise<Record<string, number>> {
  const text = await (await fetch(`${target.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^gateway_sql_plan_openings_total\{how="(\w+)"\} (\d+)$/gm))
    counts[match[1]] = Number(match[2]);
  return counts;
}

interface Raw {
  status: number;
  text: string;
  statements: number | undefined;
  /** The response's headers but the per-request ones, compared too. */
  headers: string;
}

async function post(
  target: RunningGateway,
  query: string,
  variables: unknown,
  token: string,
  accept?: string,
): Promise<Raw> {
  const response = await fetch(`${target.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...(accept === undefined ? {} : { accept }),
    },
    body: JSON.stringify({ query, variables }),
  });
  // Every header but the per-request ones (the body's length differs with the request ids of errors).
  const perRequest = new Set(['date', 'x-request-id', 'traceparent', 'content-length']);
  const headers = [...response.headers]
    .filter(([name]) => !perRequest.has(name))
    .map(([name, value]) => `${name}: ${value}`)
    .sort()
    .join('\n');
  const body = JSON.parse(await response.text());
  const statements = body.extensions?.sql?.statements;
  // What legitimately differs between the two gateways: the request ids and the statement count.
  if (body.extensions) delete body.extensions.sql;
  if (body.extensions && Object.keys(body.extensions).length === 0) delete body.extensions;
  for (const error of body.errors ?? []) delete error.extensions?.requestId;
  return { status: response.status, text: JSON.stringify(body), statements, headers };
}

/**
 * Runs the query on the three gateways; the answers must be identical. The planned gateways get it twice: a
 * document's first request goes through Apollo (the planned executor), which makes it known; from the second
 * on the known-document path answers it (src/graphql/known-documents.ts). Returns the planned side's second.
 */
async function same(query: string, variables: unknown, token: string): Promise<Raw & { body: any }> {
  const normal = await post(off, query, variables, token);
  const planned = await post(gw, query, variables, token);
  const known = await post(gw, query, variables, token);
  await post(inline, query, variables, token);
  const literal = await post(inline, query, variables, token);
  for (const answer of [planned, known, literal]) {
    expect(answer.text).toBe(normal.text);
    expect(answer.status).toBe(normal.status);
    expect(answer.headers).toBe(normal.headers);
  }
  expect(literal.statements).toBe(known.statements);
  return { ...known, body: JSON.parse(known.text) };
}

const W1 = W1_QUERY;

const W2 = `query($id: ID!) { workspace(id: $id) { id name description } }`;

interface Ids {
  workspaces: string[];
  environments: string[];
  components: string[];
}
const ids: Record<string, Ids> = {};
const tokens: Record<string, string> = {};

async function seed(org: Org, workspaces: number): Promise<Ids> {
  const q = (sql: string, params: unknown[]) => db.admin.query(sql, params);
  const result: Ids = { workspaces: [], environments: [], components: [] };
  for (let w = 0; w < workspaces; w++) {
    const ws = await q(
      `INSERT INTO workspaces (org_id, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
      [
        org.id,
        `Workspace ${w} "quoted" \\ ü ${String.fromCodePoint(0x1f600)}`,
        w % 2 ? null : `Line one\nline two\t${w}`,
        // Microseconds that test the millisecond truncation: .291 (1000 * 0.291 < 291 in floating point), .999999.
        [
          '2026-01-02 03:04:05.291+00',
          '2026-05-06 07:08:09.999999+00',
          '2026-11-27 13:45:00+00',
          '2026-03-03 00:00:00.000001+00',
        ][w % 4],
      ],
    );
    const workspaceId = ws.rows[0].id as string;
    result.workspaces.push(workspaceId);
    for (let e = 0; e < 4; e++) {
      const env = await q(
        `INSERT INTO environments (org_id, workspace_id, name, slug, tier, deployment_host, execution_backend)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
        [
          org.id,
          workspaceId,
          `Env ${e}`,
          `env-${e}`,
          ['dev', 'stage', 'prod'][e % 3],
          ['localhost', 'cloudrun', 'aws'][(e + w) % 3],
          JSON.stringify(
            e % 2
              ? {
                  kind: 'k8s',
                  replicas: 3,
                  ratio: 0.1,
                  big: 12345678901234567000,
                  nested: { a: [1, 'two', null, true] },
                  é: 'ü',
                }
              : {},
          ),
        ],
      );
      result.environments.push(env.rows[0].id);
    }
    for (let c = 0; c < 3; c++) {
      const component = await q(
        `INSERT INTO components (org_id, workspace_id, type, name, configuration) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [
          org.id,
          workspaceId,
          ['agent', 'workflow', 'code_block', 'hosted_service'][(c + w) % 4],
          `Component ${c}`,
          JSON.stringify({ model: 'x', temperature: 1.5e-7, list: [], obj: { z: 1, a: 2 } }),
        ],
      );
      result.components.push(component.rows[0].id);
    }
  }
  return result;
}

beforeAll(async () => {
  off = await startGateway({ databaseUrl: db.url, key: gw.key, env: { GRAPHQL_SQL_PLAN: 'off' } });
  inline = await startGateway({
    databaseUrl: db.url,
    key: gw.key,
    env: { GRAPHQL_SQL_PLAN: 'on', DB_PREPARED_STATEMENTS: 'off' },
  });
  await db.admin.query(
    `UPDATE organizations SET primary_domain = 'a.example', industry = NULL, contact_email = 'ops@a.example' WHERE id = $1`,
    [orgA.id],
  );
  ids.a = await seed(orgA, 5);
  ids.b = await seed(orgB, 2);
  // A plain member who belongs to 2 of the 5 workspaces, and a viewer of 1.
  await db.admin.query(
    `INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, 'member-1', 'm1@a.test', 'member'), ($1, 'viewer-1', 'v1@a.test', 'viewer')`,
    [orgA.id],
  );
  await db.admin.query(
    `INSERT INTO workspace_members (org_id, workspace_id, user_id, role) VALUES ($1, $2, 'member-1', 'developer'), ($1, $3, 'member-1', 'viewer'), ($1, $3, 'viewer-1', 'viewer')`,
    [orgA.id, ids.a.workspaces[1], ids.a.workspaces[3]],
  );
  const key = await cli(
    [
      'apikey',
      'create',
      '--org',
      orgA.slug,
      '--name',
      'plan',
      '--scopes',
      'org:read,workspaces:read,components:read',
      '--json',
    ],
    { DATABASE_URL: db.url },
  );
  expect(key.code).toBe(0);
  tokens.owner = gw.token(orgA.id);
  tokens.member = gw.token(orgA.id, undefined, { sub: 'member-1' });
  tokens.viewer = gw.token(orgA.id, undefined, { sub: 'viewer-1' });
  tokens.apiKey = await gw.exchangeApiKey(key.json.key);
  tokens.ownerB = gw.token(orgB.id);
}, 120000);

afterAll(async () => {
  await off?.stop();
  await inline?.stop();
});

const CALLERS = ['owner', 'member', 'viewer', 'apiKey'] as const;

interface Case {
  name: string;
  query: string;
  variables?: () => Record<string, unknown>;
  /** Whether the owner's request takes the plan (1 statement on the known-document path). */
  planned: boolean;
}

const ws = (i: number) => gid('Workspace', ids.a.workspaces[i]);
const env = (i: number) => gid('Environment', ids.a.environments[i]);
const comp = (i: number) => gid('Component', ids.a.components[i]);

const CASES: Case[] = [
  { name: 'W1', query: W1, planned: true },
  { name: 'W2', query: W2, variables: () => ({ id: ws(0) }), planned: true },
  { name: 'W2 with a null description', query: W2, variables: () => ({ id: ws(1) }), planned: true },
  {
    name: 'every organization column',
    query: `{ organization { __typename id name slug status primaryDomain industry contactEmail billingEmail supportTier createdAt updatedAt } }`,
    planned: true,
  },
  {
    name: 'every workspace, environment and component column',
    query: `{ organization { workspaces { edges { node { __typename id name description createdAt updatedAt
      environments { edges { node { __typename id workspaceId name slug tier deploymentHost executionBackend createdAt updatedAt } } }
      components { edges { node { __typename id workspaceId type name configuration createdAt updatedAt } } } } } } } }`,
    planned: true,
  },
  {
    name: 'aliases, repeated fields and __typename at every level',
    query: `{ __typename org: organization { __typename first: workspaces(first: 2) { __typename n: totalCount
      list: edges { __typename c: cursor n: node { i: id id name } } } again: workspaces(first: 1) { totalCount } } }`,
    planned: true,
  },
  {
    name: 'named fragments with type conditions (object and interface)',
    query: `query { organization { ...Org } }
      fragment Org on Organization { id workspaces(first: 3) { edges { node { ...W ...N } } } }
      fragment W on Workspace { name }
      fragment N on Node { id }`,
    planned: true,
  },
  {
    name: 'inline fragments, with and without a type condition',
    query: `{ organization { ... on Organization { name } ... { slug } workspaces { edges { node { ... on Node { id } ... on Workspace { name } } } } } }`,
    planned: true,
  },
  {
    name: 'fields merged from a fragment and the selection, in first-seen order',
    query: `{ organization { workspaces(first: 2) { edges { node { name ...X id } } } } } fragment X on Workspace { description name }`,
    planned: true,
  },
  {
    name: '@skip and @include with variables (true)',
    query: `query($s: Boolean!, $i: Boolean!) { organization { name @skip(if: $s) slug @include(if: $i)
      workspaces(first: 2) @include(if: $i) { totalCount @skip(if: $s) edges { node { id } } } } }`,
    variables: () => ({ s: true, i: true }),
    planned: true,
  },
  {
    name: '@skip and @include with variables (false)',
    query: `query($s: Boolean!, $i: Boolean!) { organization { name @skip(if: $s) slug @include(if: $i)
      workspaces(first: 2) @include(if: $i) { totalCount @skip(if: $s) edges { node { id } } } } }`,
    variables: () => ({ s: false, i: false }),
    planned: true,
  },
  {
    name: '@skip/@include literals on fragments',
    query: `{ organization { ... on Organization @skip(if: true) { name } ...F @include(if: true) } } fragment F on Organization { slug }`,
    planned: true,
  },
  {
    name: 'pageInfo and cursors, first page',
    query: `{ organization { workspaces(first: 2) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename } edges { cursor node { id } } } } }`,
    planned: true,
  },
  {
    name: 'pageInfo of an exact-size page (no next page)',
    query: `{ organization { workspaces(first: 5) { pageInfo { hasNextPage endCursor } } } }`,
    planned: true,
  },
  {
    name: 'pageInfo of a nested page, first: 1',
    query: `{ organization { workspaces(first: 3) { edges { node { environments(first: 1) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor } } components(first: 3) { pageInfo { hasNextPage endCursor } } } } } } }`,
    planned: true,
  },
  {
    name: 'default page size (no first)',
    query: `{ organization { workspaces { totalCount edges { node { id } } } } }`,
    planned: true,
  },
  {
    name: 'first as a variable',
    query: `query($n: Int) { organization { workspaces(first: $n) { edges { node { id } } } } }`,
    variables: () => ({ n: 3 }),
    planned: true,
  },
  {
    name: 'first as an absent variable',
    query: `query($n: Int) { organization { workspaces(first: $n) { edges { node { id } } } } }`,
    variables: () => ({}),
    planned: true,
  },
  {
    name: 'after: null',
    query: `{ organization { workspaces(first: 2, after: null) { edges { cursor } } } }`,
    planned: true,
  },
  {
    name: 'environment(id:) with every field',
    query: `query($id: ID!) { environment(id: $id) { id workspaceId name slug tier deploymentHost executionBackend createdAt updatedAt __typename } }`,
    variables: () => ({ id: env(1) }),
    planned: true,
  },
  {
    name: 'component(id:) with every field',
    query: `query($id: ID!) { component(id: $id) { id workspaceId type name configuration createdAt updatedAt } }`,
    variables: () => ({ id: comp(2) }),
    planned: true,
  },
  {
    name: 'several roots with aliases',
    query: `query($w: ID!, $e: ID!, $c: ID!) { a: workspace(id: $w) { name } b: environment(id: $e) { slug } c: component(id: $c) { type } organization { slug } }`,
    variables: () => ({ w: ws(3), e: env(13), c: comp(10) }),
    planned: true,
  },
  {
    name: 'workspace(id:) with nested connections',
    query: `query($id: ID!) { workspace(id: $id) { id environments(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { slug } } } components { totalCount edges { cursor node { name type } } } } }`,
    variables: () => ({ id: ws(3) }),
    planned: true,
  },
  {
    name: 'an id literal in the document',
    query: '', // filled in below
    planned: true,
  },
  { name: 'totalCount only', query: `{ organization { workspaces { totalCount } } }`, planned: true },
  {
    name: 'an empty page after the last item',
    query: `query($after: String) { organization { workspaces(first: 3, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } } }`,
    variables: () => ({ after: Buffer.from(`v1:${[...ids.a.workspaces].sort().at(-1)}`).toString('base64url') }),
    planned: true,
  },
  {
    name: 'the same connection selected in two fragments (merged)',
    query: `{ organization { workspaces(first: 3) { edges { node { ...A ...B } } } } }
      fragment A on Workspace { environments(first: 2) { edges { node { slug } } } }
      fragment B on Workspace { environments(first: 2) { totalCount edges { node { tier slug } } } }`,
    planned: true,
  },
  // Not plannable: the normal path, same answers.
  {
    name: 'a field resolver (Environment.workspace)',
    query: `{ organization { workspaces(first: 1) { edges { node { environments(first: 1) { edges { node { workspace { id } } } } } } } } }`,
    planned: false,
  },
  {
    name: 'a filter argument',
    query: `{ organization { workspaces(first: 2) { edges { node { environments(tier: PROD) { totalCount } } } } } }`,
    planned: false,
  },
  {
    name: 'last/before',
    query: `{ organization { workspaces(last: 2) { edges { cursor } pageInfo { hasPreviousPage } } } }`,
    planned: false,
  },
  { name: 'another root (viewer)', query: `{ viewer { subject } organization { name } }`, planned: false },
  {
    name: 'node(id:)',
    query: `query($id: ID!) { node(id: $id) { id } }`,
    variables: () => ({ id: ws(0) }),
    planned: false,
  },
];

test('the planned answer is the normal answer, byte for byte, for every caller', async () => {
  CASES.find((c) => c.name === 'an id literal in the document')!.query = `{ workspace(id: "${ws(0)}") { name } }`;
  expect(CASES.length).toBeGreaterThanOrEqual(30);
  for (const c of CASES) {
    for (const caller of CALLERS) {
      const answer = await same(c.query, c.variables?.() ?? {}, tokens[caller]);
      if (caller === 'owner') {
        // The owner sees everything: a planned case must have taken the plan, and answered without errors.
        expect({ name: c.name, errors: answer.body.errors }).toEqual({ name: c.name, errors: undefined });
        if (c.planned) expect({ name: c.name, statements: answer.statements }).toEqual({ name: c.name, statements: 1 });
      }
    }
  }
  // The plans really were prepared and then EXECUTEd on the prepared gateway (not in the PgBouncer run, where
  // preparing is off), and sent with literals on the other; none fell back.
  const prepared = await openings(gw);
  if (PGBOUNCER_PORT) expect(prepared).toMatchObject({ prepare: 0, execute: 0, fallback: 0 });
  else {
    expect(prepared.prepare).toBeGreaterThan(0);
    expect(prepared.execute).toBeGreaterThan(prepared.prepare);
    expect(prepared).toMatchObject({ inline: 0, fallback: 0 });
  }
  const literal = await openings(inline);
  expect(literal).toMatchObject({ prepare: 0, execute: 0, fallback: 0 });
  expect(literal.inline).toBeGreaterThan(0);
});

test("a plan prepared for one organization's request, executed (generic plan) for another's on the same connection, shows only that one's rows", async () => {
  // One pooled connection, and every EXECUTE on the generic plan (built once, without the parameters' values):
  // row-level security and the org filter must come from the executing request's settings.
  if (PGBOUNCER_PORT) return; // preparing is off behind a transaction-mode pooler
  const url = new URL(db.url);
  url.searchParams.set('options', '-c plan_cache_mode=force_generic_plan');
  const single = await startGateway({
    databaseUrl: url.toString(),
    key: gw.key,
    env: { GRAPHQL_SQL_PLAN: 'on', DB_POOL_SIZE: '1' },
  });
  try {
    const rounds: Array<[string, Ids]> = [
      [tokens.owner, ids.a],
      [tokens.ownerB, ids.b],
      [tokens.owner, ids.a],
      [tokens.ownerB, ids.b],
    ];
    for (const [i, [token, own]] of rounds.entries()) {
      const answer = await post(single, W1, {}, token);
      // The first through Apollo (the opening with the plan, COMMIT), then the known-document path's one.
      expect(answer.statements).toBe(i === 0 ? 2 : 1);
      expect(answer.text).toBe((await post(off, W1, {}, token)).text);
      const workspaces = JSON.parse(answer.text).data.organization.workspaces;
      expect(workspaces.edges.map((e: any) => e.node.id).sort()).toEqual(
        own.workspaces.map((id) => gid('Workspace', id)).sort(),
      );
      const environments = workspaces.edges.flatMap((e: any) => e.node.environments.edges.map((n: any) => n.node.id));
      expect(environments.sort()).toEqual(own.environments.map((id) => gid('Environment', id)).sort());
    }
    // W2 for B with an id of A's: not found (the normal path's answer), never A's row.
    expect((await post(single, W2, { id: ws(0) }, tokens.ownerB)).text).toBe(
      (await post(off, W2, { id: ws(0) }, tokens.ownerB)).text,
    );
    expect(await openings(single)).toMatchObject({ prepare: 2, execute: 3, fallback: 0 });
  } finally {
    await single.stop();
  }
});

test('PREPARE outlives a rolled-back transaction; a vanished statement falls back, and the connection heals', async () => {
  // PostgreSQL 18's behaviour the tracking relies on (src/db/prepared-plans.ts): PREPARE is not transactional.
  const client = await db.admin.connect();
  try {
    await client.query('BEGIN; PREPARE outlives AS SELECT 1 AS one; ROLLBACK');
    expect((await client.query('EXECUTE outlives')).rows).toEqual([{ one: 1 }]);
    await client.query('DEALLOCATE outlives');
  } finally {
    client.release();
  }
  if (PGBOUNCER_PORT) return;
  // The TenantScope opening with a prepared speculative read, on a pool of one connection (in process).
  const dataSource = createDataSource({ url: db.url, poolSize: 1 });
  await dataSource.initialize();
  try {
    const statement = {
      name: 'mg_test_vanish',
      prepare: 'PREPARE mg_test_vanish(uuid) AS SELECT count(*)::int AS n FROM workspaces WHERE org_id = $1',
      execute: `EXECUTE mg_test_vanish('${orgA.id}'::uuid)`,
    };
    const open = async () => {
      const scope = new TenantScope(dataSource, { orgId: orgA.id, userId: 'user-1', kind: 'user' }, true);
      scope.speculate({
        sql: `SELECT count(*)::int AS n FROM workspaces WHERE org_id = '${orgA.id}'`,
        traced: 'traced',
        prepared: statement,
      });
      const caller = await scope.openWith<{ one: number }>('SELECT 1 AS one');
      const speculative = scope.takeSpeculative();
      const statements = scope.statements;
      await scope.end(true);
      return { caller, rows: speculative?.rows, statements };
    };
    const before = { ...planOpenings };
    expect(await open()).toEqual({ caller: [{ one: 1 }], rows: [{ n: 5 }], statements: 1 });
    expect(await open()).toEqual({ caller: [{ one: 1 }], rows: [{ n: 5 }], statements: 1 });
    expect(planOpenings.prepare - before.prepare).toBe(1);
    expect(planOpenings.execute - before.execute).toBe(1);
    // Someone discards the session's prepared statements (DISCARD ALL, a session pooler's reset): 26000.
    await dataSource.query('DISCARD ALL');
    const fallback = await open();
    expect(fallback).toEqual({ caller: [{ one: 1 }], rows: undefined, statements: 3 });
    expect(planOpenings.fallback - before.fallback).toBe(1);
    // Forgotten: the next opening prepares again, and then executes.
    expect(await open()).toEqual({ caller: [{ one: 1 }], rows: [{ n: 5 }], statements: 1 });
    expect(await open()).toEqual({ caller: [{ one: 1 }], rows: [{ n: 5 }], statements: 1 });
    expect(planOpenings.prepare - before.prepare).toBe(2);
    expect(planOpenings.execute - before.execute).toBe(2);
    // A PREPARE that succeeded in a failing message (the EXECUTE failed) is deallocated by the fallback.
    const failing = { ...statement, execute: `EXECUTE mg_test_vanish('not-a-uuid')` };
    const scope = new TenantScope(dataSource, { orgId: orgA.id, userId: 'user-1', kind: 'user' }, true);
    await dataSource.query('DEALLOCATE ALL');
    scope.speculate({ sql: 'SELECT 1', traced: 'traced', prepared: failing });
    expect(await scope.openWith('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(scope.takeSpeculative()).toBeUndefined();
    await scope.end(true);
    expect((await dataSource.query('SELECT count(*)::int AS n FROM pg_prepared_statements'))[0].n).toBe(0);
  } finally {
    await dataSource.destroy();
  }
});

test('the caller row as a prepared statement: prepared once, then executed; vanished, it falls back inline', async () => {
  if (PGBOUNCER_PORT) return;
  const dataSource = createDataSource({ url: db.url, poolSize: 1 });
  await dataSource.initialize();
  // In this process, earlier tests made statements vanish: start the count afresh (3 switch preparing off).
  setPreparedStatements(true);
  try {
    const caller = {
      name: 'mg_test_caller',
      prepare: 'PREPARE mg_test_caller(uuid) AS SELECT slug FROM organizations WHERE id = $1',
      execute: `EXECUTE mg_test_caller('${orgA.id}'::uuid)`,
    };
    const inline = `SELECT slug FROM organizations WHERE id = '${orgA.id}'::uuid`;
    const identity = { orgId: orgA.id, userId: 'user-1', kind: 'user' as const };
    const open = async (readOnly = true) => {
      const scope = new TenantScope(dataSource, identity, readOnly);
      const rows = await scope.openWith(inline, caller);
      const statements = scope.statements;
      await scope.end(true);
      return { rows, statements };
    };
    const held = async () =>
      (await dataSource.query(`SELECT name FROM pg_prepared_statements ORDER BY name`)).map((r: any) => r.name);
    const expected = { rows: [{ slug: orgA.slug }], statements: 1 };
    expect(await open()).toEqual(expected); // PREPARE …; EXECUTE …
    expect(await held()).toContain('mg_test_caller');
    expect(await open(false)).toEqual(expected); // EXECUTE …
    // Someone discards the session's statements: 26000, rolled back with DEALLOCATE ALL, opened again inline.
    await dataSource.query('DISCARD ALL');
    expect(await open()).toEqual({ ...expected, statements: 3 });
    expect(await open()).toEqual(expected);
    expect(await held()).toContain('mg_test_caller');
    // A planned write's opening is never sent again in its scope: the request is handed back whole (rejected
    // here, rolled back by end), and the connection's next PREPARE starts with DEALLOCATE ALL.
    await dataSource.query('DISCARD ALL');
    const write = new TenantScope(dataSource, identity, false);
    write.speculate({
      sql: 'SELECT 1 AS x',
      traced: 'SELECT 1 AS x',
      prepared: {
        name: 'mg_test_write',
        prepare: 'PREPARE mg_test_write AS SELECT 1 AS x',
        execute: 'EXECUTE mg_test_write',
      },
    });
    await expect(write.openWith(inline, caller)).rejects.toMatchObject({ driverError: { code: '26000' } });
    await write.end(false);
    expect(await open()).toEqual(expected);
    expect(await held()).toEqual(['mg_test_caller']);
    expect(
      (
        await dataSource.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND datname = current_database()`,
        )
      )[0].n,
    ).toBe(0);
  } finally {
    await dataSource.destroy();
  }
});

test('W1 and W2 take 1 round trip once their document is known, 2 the first time, 4 and 3 without the plan', async () => {
  for (const [query, variables, normal] of [
    [W1, {}, 4],
    [W2, { id: ws(0) }, 3],
  ] as const) {
    const text = `${query} # round trips`; // a text this gateway has not seen yet
    // First: Apollo's pipeline and the planned executor (the opening with the plan, then COMMIT).
    expect((await post(gw, text, variables, tokens.owner)).statements).toBe(2);
    // From then on the known-document path: BEGIN READ ONLY … plan; COMMIT in one message.
    expect((await post(gw, text, variables, tokens.owner)).statements).toBe(1);
    expect((await post(gw, text, variables, tokens.owner)).statements).toBe(1);
    expect((await post(off, text, variables, tokens.owner)).statements).toBe(normal);
  }
});

test('W1 returns the data the database holds, and the member sees only their workspaces', async () => {
  const owner = await same(W1, {}, tokens.owner);
  expect(owner.body.data.organization.workspaces.totalCount).toBe(5);
  expect(owner.body.data.organization.workspaces.edges.map((e: any) => e.node.id)).toEqual(
    [...ids.a.workspaces].sort().map((id) => gid('Workspace', id)),
  );
  const member = await same(W1, {}, tokens.member);
  expect(member.statements).toBe(1);
  expect(member.body.data.organization.workspaces.totalCount).toBe(2);
  expect(member.body.data.organization.workspaces.edges.map((e: any) => e.node.id).sort()).toEqual(
    [ids.a.workspaces[1], ids.a.workspaces[3]].map((id) => gid('Workspace', id)).sort(),
  );
});

test('paging through with first and after gives every item once, as the normal path does', async () => {
  const query = `query($after: String) { organization { workspaces(first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } } }`;
  const seen: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 5; page++) {
    const answer = await same(query, { after }, tokens.owner);
    expect(answer.statements).toBe(1);
    const connection = answer.body.data.organization.workspaces;
    seen.push(...connection.edges.map((e: any) => e.node.id));
    if (!connection.pageInfo.hasNextPage) break;
    after = connection.pageInfo.endCursor;
  }
  expect(seen).toEqual([...ids.a.workspaces].sort().map((id) => gid('Workspace', id)));
  // Nested: the environments of one workspace, one at a time.
  const nested = `query($id: ID!, $after: String) { workspace(id: $id) { environments(first: 1, after: $after) { pageInfo { hasNextPage endCursor } edges { node { slug } } } } }`;
  const slugs: string[] = [];
  after = null;
  for (let page = 0; page < 6; page++) {
    const answer = await same(nested, { id: ws(2), after }, tokens.owner);
    const connection = answer.body.data.workspace.environments;
    slugs.push(...connection.edges.map((e: any) => e.node.slug));
    if (!connection.pageInfo.hasNextPage) break;
    after = connection.pageInfo.endCursor;
  }
  expect(slugs.sort()).toEqual(['env-0', 'env-1', 'env-2', 'env-3']);
});

test('cross-tenant ids answer as the normal path does (NOT_FOUND), and change nothing', async () => {
  const foreign = [
    [W2, { id: gid('Workspace', ids.b.workspaces[0]) }],
    [`query($id: ID!) { environment(id: $id) { id slug } }`, { id: gid('Environment', ids.b.environments[0]) }],
    [`query($id: ID!) { component(id: $id) { id name } }`, { id: gid('Component', ids.b.components[0]) }],
  ] as const;
  for (const [query, variables] of foreign) {
    const answer = await same(query, variables, tokens.owner);
    expect(answer.body.data).toEqual({ [Object.keys(answer.body.data)[0]]: null });
    expect(answer.body.errors[0].extensions.code).toBe('NOT_FOUND');
  }
  // A's ids with B's organization token, and B's W1 never shows A's rows.
  const b = await same(W2, { id: ws(0) }, tokens.ownerB);
  expect(b.body.errors[0].extensions.code).toBe('NOT_FOUND');
  const w1 = await same(W1, {}, tokens.ownerB);
  expect(w1.statements).toBe(1);
  expect(w1.body.data.organization.workspaces.edges.map((e: any) => e.node.id).sort()).toEqual(
    ids.b.workspaces.map((id) => gid('Workspace', id)).sort(),
  );
  // The member cannot see workspace 0: the plan's null goes the normal path (NOT_FOUND), identical.
  const hidden = await same(W2, { id: ws(0) }, tokens.member);
  expect(hidden.body.errors[0].extensions.code).toBe('NOT_FOUND');
  // An id of another type, a malformed id.
  for (const id of [env(0), 'not-an-id', gid('Workspace', '00000000-0000-0000-0000-000000000000')])
    expect((await same(W2, { id }, tokens.owner)).body.errors[0].extensions.code).toBe('NOT_FOUND');
});

test('bad inputs on planned shapes give the same errors as the normal path', async () => {
  const paged = `query($n: Int, $after: String) { organization { workspaces(first: $n, after: $after) { edges { node { id } } } } }`;
  const inputs: Array<[string, Record<string, unknown>]> = [
    [paged, { n: -1 }],
    [paged, { n: 0 }],
    [paged, { n: 101 }],
    [paged, { n: 1e12 }],
    [paged, { n: 'ten' }],
    [paged, { n: 2, after: 'not-a-cursor' }],
    [paged, { n: 2, after: Buffer.from('v1:not-a-uuid').toString('base64url') }],
    [paged, { n: 2, after: 17 }],
    [W2, { id: 42 }],
    [W2, {}],
    [`{ organization { workspaces(first: 101) { totalCount } } }`, {}],
    [`{ organization { workspaces(first: 2) { edges { node { environments(first: -5) { totalCount } } } } } }`, {}],
  ];
  for (const [query, variables] of inputs) {
    const answer = await same(query, variables, tokens.owner);
    expect(answer.body.errors?.length).toBeGreaterThan(0);
    expect(answer.body.errors[0].extensions.code).toMatch(/BAD_USER_INPUT|NOT_FOUND/);
  }
});

test('a caller the normal path refuses is refused identically: scopes, archived, suspended, revoked, removed', async () => {
  // Scopes: a token without components:read (W1's components) and one without workspaces:read.
  for (const scopes of [['org:read', 'workspaces:read'], ['org:read']]) {
    const answer = await same(W1, {}, gw.token(orgA.id, scopes));
    expect(answer.body.errors[0].extensions.code).toBe('FORBIDDEN');
  }
  // A member whose role caps components:read away does not exist; a billing member lacks workspaces:read.
  await db.admin.query(
    `INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, 'billing-1', 'b@a.test', 'billing')`,
    [orgA.id],
  );
  expect((await same(W1, {}, gw.token(orgA.id, undefined, { sub: 'billing-1' }))).body.errors[0].extensions.code).toBe(
    'FORBIDDEN',
  );
  // Not a member at all.
  expect((await same(W1, {}, gw.token(orgA.id, undefined, { sub: 'stranger' }))).body.errors[0].extensions.code).toBe(
    'UNAUTHENTICATED',
  );
  // A removed member.
  await db.admin.query(`DELETE FROM workspace_members WHERE org_id = $1 AND user_id = 'viewer-1'`, [orgA.id]);
  await db.admin.query(`DELETE FROM org_members WHERE org_id = $1 AND user_id = 'viewer-1'`, [orgA.id]);
  expect((await same(W1, {}, tokens.viewer)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  // A revoked API key.
  await db.admin.query(`UPDATE api_keys SET revoked_at = now() WHERE org_id = $1`, [orgA.id]);
  expect((await same(W1, {}, tokens.apiKey)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  // A suspended organization still reads (planned); an archived one refuses everything.
  await db.admin.query(`UPDATE organizations SET status = 'suspended' WHERE id = $1`, [orgB.id]);
  const suspended = await same(W1, {}, tokens.ownerB);
  expect(suspended.statements).toBe(1);
  expect(ok<any>(suspended).organization.workspaces.totalCount).toBe(2);
  expect(
    JSON.parse((await post(gw, `{ organization { status } }`, {}, tokens.ownerB)).text).data.organization.status,
  ).toBe('SUSPENDED');
  await db.admin.query(`UPDATE organizations SET status = 'archived' WHERE id = $1`, [orgB.id]);
  const archived = await same(W1, {}, tokens.ownerB);
  expect(archived.body.errors[0].extensions.code).toBe('ORG_ARCHIVED');
  expect(archived.body.data ?? null).toBeNull();
  // An organization that does not exist.
  const ghost = await same(W1, {}, gw.token('00000000-0000-4000-8000-000000000000'));
  expect(ghost.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  const orgC = await createOrg(db, 'plan-c'); // the cluster still serves new tenants afterwards
  // An empty list: totalCount from the (empty) first page's scan is 0, as the normal path's count.
  const empty = await same(
    `{ organization { workspaces(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } }`,
    {},
    gw.token(orgC.id),
  );
  expect(empty.statements).toBe(1);
  expect(empty.body.data.organization.workspaces.totalCount).toBe(0);
});

test('the front reads bodies as body-parser does: byte-order mark, blanks, charset, non-objects, bad JSON', async () => {
  const variables = { id: ws(0) };
  const text = JSON.stringify({ query: W2, variables });
  const raw = async (target: RunningGateway, body: Buffer | string, contentType = 'application/json') => {
    const response = await fetch(`${target.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${tokens.owner}` },
      body,
    });
    const answer = JSON.parse(await response.text());
    const statements = answer.extensions?.sql?.statements;
    if (answer.extensions) delete answer.extensions.sql;
    if (answer.extensions && Object.keys(answer.extensions).length === 0) delete answer.extensions;
    for (const error of answer.errors ?? []) delete error.extensions?.requestId;
    return { status: response.status, answer, statements, type: response.headers.get('content-type') };
  };
  await post(gw, W2, variables, tokens.owner); // known from now on
  const bodies: Array<[Buffer | string, string?]> = [
    [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])],
    [`\n\t  ${text}  \n`],
    [text, 'application/json; charset=utf-8'],
    [text, 'Application/JSON;charset="UTF-8"'],
    [`[${text}]`],
    ['"a string"'],
    ['42'],
    ['{"query": '],
    ['   '],
    [Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
  ];
  for (const [body, contentType] of bodies) {
    const known = await raw(gw, body, contentType);
    const normal = await raw(off, body, contentType);
    expect({ body: String(body).slice(0, 40), ...known, statements: undefined }).toEqual({
      body: String(body).slice(0, 40),
      ...normal,
      statements: undefined,
    });
  }
  // The well-formed ones were answered on the known path (1 round trip), the others by Apollo or body-parser.
  expect((await raw(gw, bodies[0][0])).statements).toBe(1);
  expect((await raw(gw, bodies[1][0])).statements).toBe(1);
  expect((await raw(gw, bodies[2][0], bodies[2][1])).statements).toBe(1);
  expect((await raw(gw, '{"query": ')).status).toBe(400);
});
