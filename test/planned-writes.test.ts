import crypto from 'node:crypto';
import { openGatewayTransactions, snapshot } from './support/database';
import { cli, startGateway, type RunningGateway } from './support/gateway';
import { createOrg, gid, uuidOf } from './support/fixtures';
import { useGateway } from './support/harness';
import { post, send, type Answer, type Sent } from './support/answers';

/**
 * Planned writes on the known-document path (src/graphql/sql-plan/writes.ts, README "Known-document path"):
 * a known createComponent text is answered without Apollo, its INSERT and audit row in the opening round
 * trip (`WITH created AS (INSERT …), audit AS (INSERT …) SELECT <payload>`), its COMMIT in a second one,
 * once every check of the resolver's path has passed. Every test compares with a gateway on the same
 * database with GRAPHQL_SQL_PLAN=off: the same status, headers and body (ids aside: they are new), the same
 * rows written (component and audit row), and for every refusal the same answer with nothing written.
 */
const { gw, db, orgA, orgB } = useGateway({
  orgs: ['writes-a', 'writes-b'],
  env: { GRAPHQL_SQL_PLAN: 'on', TRACE_RETENTION_INTERVAL_MS: '0' },
});
let off: RunningGateway;

const rand = () => crypto.randomBytes(4).toString('hex');
const CREATE = `mutation PlannedCreate($i: CreateComponentInput!) { createComponent(input: $i) { id name type workspaceId } }`;

const tokens: Record<string, string> = {};
const ws: Record<string, string> = {};

/** An org-wide API key of organization A (made by the platform CLI) with the component scopes, and its token. */
async function componentKey(name: string): Promise<{ id: string; token: string }> {
  const key = await cli(
    ['apikey', 'create', '--org', orgA.slug, '--name', name, '--scopes', 'components:write,components:read', '--json'],
    { DATABASE_URL: db.url },
  );
  expect(key.code).toBe(0);
  return { id: key.json.id, token: await gw.exchangeApiKey(key.json.key) };
}

beforeAll(async () => {
  off = await startGateway({ databaseUrl: db.url, key: gw.key, env: { GRAPHQL_SQL_PLAN: 'off' } });
  for (const [name, org] of [
    ['a', orgA],
    ['a2', orgA],
    ['b', orgB],
  ] as const) {
    const { rows } = await db.admin.query(`INSERT INTO workspaces (org_id, name) VALUES ($1, $2) RETURNING id`, [
      org.id,
      `planned ${name}`,
    ]);
    ws[name] = gid('Workspace', rows[0].id);
  }
  // Plain members: a developer of workspace a (not of a2), a viewer of a, one with an all-workspaces role,
  // and a billing member (whose role's scopes lack components:write).
  await db.admin.query(
    `INSERT INTO org_members (org_id, user_id, email, role, all_workspaces_role) VALUES
       ($1, 'dev-1', 'd@a.test', 'member', NULL), ($1, 'viewer-1', 'v@a.test', 'member', NULL),
       ($1, 'all-dev-1', 'ad@a.test', 'member', 'developer'), ($1, 'billing-1', 'b@a.test', 'billing', NULL)`,
    [orgA.id],
  );
  await db.admin.query(
    `INSERT INTO workspace_members (org_id, workspace_id, user_id, role) VALUES ($1, $2, 'dev-1', 'developer'), ($1, $2, 'viewer-1', 'viewer')`,
    [orgA.id, uuidOf(ws.a)],
  );
  tokens.a = gw.token(orgA.id);
  tokens.b = gw.token(orgB.id);
  tokens.dev = gw.token(orgA.id, undefined, { sub: 'dev-1' });
  tokens.viewer = gw.token(orgA.id, undefined, { sub: 'viewer-1' });
  tokens.allDev = gw.token(orgA.id, undefined, { sub: 'all-dev-1' });
  tokens.billing = gw.token(orgA.id, undefined, { sub: 'billing-1' });
  tokens.readOnly = gw.token(orgA.id, ['org:read', 'workspaces:read', 'components:read']);
  tokens.apiKey = (await componentKey('writer')).token;
}, 120000);

afterAll(async () => {
  await off?.stop();
});

/** The answer with the new component's id and timestamps (new on every write) replaced by markers. */
function withoutNewIds(answer: Answer): string {
  return answer.text
    .replace(/"(id|newId)":"[A-Za-z0-9_-]+"/g, '"$1":"<new>"')
    .replace(/"(createdAt|updatedAt)":"[0-9T:.Z-]+"/g, '"$1":"<time>"');
}

interface Written {
  component: Record<string, unknown> | null;
  audit: Array<Record<string, unknown>>;
}

/** What a request wrote: the component (found by the id it answered) and the audit rows of its request id. */
async function written(answer: Answer, requestId: string): Promise<Written> {
  const created = answer.body?.data?.createComponent;
  const id = created?.id ? uuidOf(created.id) : null;
  const component = id
    ? ((
        await db.admin.query(
          `SELECT org_id, workspace_id, type, name, configuration, created_at = updated_at AS fresh FROM components WHERE id = $1`,
          [id],
        )
      ).rows[0] ?? null)
    : null;
  const audit = (
    await db.admin.query(
      `SELECT org_id, actor, actor_kind, operation, target_type, target_id = $2 AS targets_it FROM audit_log WHERE request_id = $1`,
      [requestId, id],
    )
  ).rows;
  return { component, audit };
}

const requestIds = () => {
  const tag = rand();
  return [`pw-off-${tag}`, `pw-on-${tag}`];
};

/**
 * Sends `sent` to the plan-off gateway and then to the planned one (whose text is known by then) with request
 * ids of our own: the answers must match, ids aside, and each must have written the same rows.
 */
async function sameWrite(sent: Sent): Promise<{ planned: Answer; normal: Answer; rows: Written }> {
  const [offId, onId] = requestIds();
  const normal = await send(off, { ...sent, headers: { ...sent.headers, 'x-request-id': offId } });
  const planned = await send(gw, { ...sent, headers: { ...sent.headers, 'x-request-id': onId } });
  expect({ status: planned.status, text: withoutNewIds(planned), headers: planned.headers }).toEqual({
    status: normal.status,
    text: withoutNewIds(normal),
    headers: normal.headers,
  });
  const [rowsOff, rowsOn] = [await written(normal, offId), await written(planned, onId)];
  expect(rowsOn).toEqual(rowsOff);
  return { planned, normal, rows: rowsOn };
}

/** Sends the text once through Apollo (which remembers it); the next one takes the known path. */
async function makeKnown(query: string, variables: unknown, token: string): Promise<void> {
  const first = await send(gw, post(query, variables, token));
  expect(first.status).toBe(200);
}

describe('a known createComponent is written in two round trips, as the resolver writes it', () => {
  test('the same answer, component row and audit row as without the plan; two statements', async () => {
    const input = (name: string) => ({ i: { workspaceId: ws.a, name, type: 'AGENT' } });
    await makeKnown(CREATE, input('first'), tokens.a);
    const { planned, normal, rows } = await sameWrite(post(CREATE, input('  Second  '), tokens.a));
    expect(normal.statements).toBe(3); // opening, INSERT, audit row + COMMIT
    expect(planned.statements).toBe(2); // opening with the write, COMMIT
    expect(planned.body.data.createComponent).toEqual({
      id: expect.any(String),
      name: 'Second', // trimmed, as the service does
      type: 'AGENT',
      workspaceId: ws.a,
    });
    expect(rows.component).toEqual({
      org_id: orgA.id,
      workspace_id: uuidOf(ws.a),
      type: 'agent',
      name: 'Second',
      configuration: {},
      fresh: true,
    });
    expect(rows.audit).toEqual([
      {
        org_id: orgA.id,
        actor: 'user-1',
        actor_kind: 'user',
        operation: 'createComponent',
        target_type: 'Component',
        targets_it: true,
      },
    ]);
    expect(await openGatewayTransactions(db.admin)).toEqual([]);
  });

  test('every payload field, aliases, fragments, __typename, literal inputs and configurations', async () => {
    const cases: Array<[string, unknown]> = [
      [
        `mutation PlannedAll($i: CreateComponentInput!) { createComponent(input: $i) { __typename id workspaceId type name configuration createdAt updatedAt } }`,
        {
          i: {
            workspaceId: ws.a,
            name: 'All fields',
            type: 'WORKFLOW',
            configuration: { a: [1, 'two', null], "it's": '"q" \\ $1' },
          },
        },
      ],
      [
        `mutation PlannedAlias($i: CreateComponentInput!) { made: createComponent(input: $i) { newId: id ...F } } fragment F on Component { name kind: type }`,
        { i: { workspaceId: ws.a, name: 'ünïcødé ✓ 𝄞', type: 'CODE_BLOCK', configuration: null } },
      ],
      [
        `mutation PlannedLiteral { createComponent(input: { workspaceId: "${ws.a}", name: "Literal", type: HOSTED_SERVICE, configuration: { deep: { er: [true] } } }) { id configuration } }`,
        {},
      ],
      [
        `mutation PlannedSkip($i: CreateComponentInput!, $no: Boolean!) { createComponent(input: $i) { id name @skip(if: $no) type @include(if: $no) } }`,
        { i: { workspaceId: ws.a, name: 'Skip', type: 'AGENT' }, no: true },
      ],
    ];
    for (const [query, variables] of cases) {
      await makeKnown(query, variables, tokens.a);
      const { planned } = await sameWrite(post(query, variables, tokens.a));
      expect(planned.status).toBe(200);
      expect(planned.body.errors).toBeUndefined();
      expect(planned.statements).toBe(2);
    }
    // createdAt/updatedAt are the row's own (its DEFAULTs), as DateTimeISO serialises them.
    const { planned } = await sameWrite(post(cases[0][0], cases[0][1], tokens.a));
    const made = planned.body.data.createComponent;
    const { rows } = await db.admin.query(`SELECT created_at, updated_at FROM components WHERE id = $1`, [
      uuidOf(made.id),
    ]);
    expect([made.createdAt, made.updatedAt]).toEqual([
      rows[0].created_at.toISOString(),
      rows[0].updated_at.toISOString(),
    ]);
  });

  test('callers whose role the caller row decides: owner, all-workspaces developer, API key of the platform', async () => {
    for (const token of [tokens.a, tokens.allDev, tokens.apiKey]) {
      const input = { i: { workspaceId: ws.a2, name: `by ${rand()}`, type: 'AGENT' } };
      await makeKnown(CREATE, input, token);
      const { planned, rows } = await sameWrite(post(CREATE, input, token));
      expect([planned.status, planned.statements]).toEqual([200, 2]);
      expect(rows.audit).toHaveLength(1);
    }
  });
});

describe('everything the resolver would refuse or decide otherwise is its own to answer, with nothing written', () => {
  test('bad inputs, foreign and missing workspaces, scopes, roles and organizations', async () => {
    await makeKnown(CREATE, { i: { workspaceId: ws.a, name: 'warm', type: 'AGENT' } }, tokens.a);
    const environmentId = gid('Environment', uuidOf(ws.a));
    const missing = gid('Workspace', '00000000-0000-4000-8000-000000000000');
    const input = (over: Record<string, unknown>) => ({
      i: { workspaceId: ws.a, name: 'refused', type: 'AGENT', ...over },
    });
    const refusals: Array<[string, unknown, string, string]> = [
      ['blank name', input({ name: '   ' }), tokens.a, 'BAD_USER_INPUT'],
      ['long name', input({ name: 'x'.repeat(201) }), tokens.a, 'BAD_USER_INPUT'],
      ['NUL in name', input({ name: 'a\u0000b' }), tokens.a, 'BAD_USER_INPUT'],
      ['lone surrogate', input({ name: 'a\ud800b' }), tokens.a, 'BAD_USER_INPUT'],
      ['unknown type', input({ type: 'ROBOT' }), tokens.a, 'BAD_USER_INPUT'],
      ['configuration not an object', input({ configuration: [1, 2] }), tokens.a, 'BAD_USER_INPUT'],
      ['configuration too large', input({ configuration: { big: 'x'.repeat(70 * 1024) } }), tokens.a, 'BAD_USER_INPUT'],
      [
        'configuration too deep',
        input({ configuration: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) }),
        tokens.a,
        'BAD_USER_INPUT',
      ],
      ['NUL in configuration', input({ configuration: { k: 'a\u0000' } }), tokens.a, 'BAD_USER_INPUT'],
      ['extra input field', input({ slug: 'nope' }), tokens.a, 'BAD_USER_INPUT'],
      ['an environment id as workspace', input({ workspaceId: environmentId }), tokens.a, 'NOT_FOUND'],
      ['not a global id', input({ workspaceId: uuidOf(ws.a) }), tokens.a, 'NOT_FOUND'],
      ['a workspace that does not exist', input({ workspaceId: missing }), tokens.a, 'NOT_FOUND'],
      ["another organization's workspace", input({ workspaceId: ws.b }), tokens.a, 'NOT_FOUND'],
      ['a token without components:write', input({}), tokens.readOnly, 'FORBIDDEN'],
      ['a billing member (role without the scope)', input({}), tokens.billing, 'FORBIDDEN'],
      ['a viewer of the workspace', input({}), tokens.viewer, 'FORBIDDEN'],
      ['a developer of another workspace', input({ workspaceId: ws.a2 }), tokens.dev, 'NOT_FOUND'],
    ];
    const before = await snapshot(db.admin);
    const failures: string[] = [];
    for (const [what, variables, token, code] of refusals) {
      const sent = post(CREATE, variables, token);
      const normal = await send(off, sent);
      const planned = await send(gw, sent);
      const codes = (planned.body?.errors ?? []).map((e: any) => e.extensions?.code);
      if (
        planned.status !== normal.status ||
        planned.text !== normal.text ||
        JSON.stringify(planned.headers) !== JSON.stringify(normal.headers) ||
        !codes.includes(code)
      )
        failures.push(`${what}: ${planned.status} ${planned.text} / plan off: ${normal.status} ${normal.text}`);
    }
    expect(failures).toEqual([]);
    expect(await snapshot(db.admin)).toEqual(before);
    expect(await openGatewayTransactions(db.admin)).toEqual([]);
  });

  test('a plain developer of the workspace is answered by the resolver, which writes it (same rows)', async () => {
    const input = { i: { workspaceId: ws.a, name: `dev ${rand()}`, type: 'AGENT' } };
    const { planned } = await sameWrite(post(CREATE, input, tokens.dev));
    expect(planned.status).toBe(200);
    // The known attempt (opening with the write, ROLLBACK: the caller row does not decide a member's role)
    // and the resolver's path (opening; workspace and membership reads; INSERT; audit row + COMMIT).
    expect(planned.statements).toBe(2 + 4);
  });

  test('suspended and archived organizations, a revoked key: refused as without the plan', async () => {
    const other = await createOrg(db, 'writes-c');
    const { rows } = await db.admin.query(`INSERT INTO workspaces (org_id, name) VALUES ($1, 'c') RETURNING id`, [
      other.id,
    ]);
    const input = { i: { workspaceId: gid('Workspace', rows[0].id), name: 'c', type: 'AGENT' } };
    const token = gw.token(other.id);
    await makeKnown(CREATE, input, token);
    for (const status of ['suspended', 'archived']) {
      await db.admin.query(`UPDATE organizations SET status = $2 WHERE id = $1`, [other.id, status]);
      const before = await snapshot(db.admin);
      const normal = await send(off, post(CREATE, input, token));
      const planned = await send(gw, post(CREATE, input, token));
      expect([planned.status, planned.text, planned.headers]).toEqual([normal.status, normal.text, normal.headers]);
      expect(planned.body.errors[0].extensions.code).toBe(status === 'suspended' ? 'ORG_SUSPENDED' : 'ORG_ARCHIVED');
      expect(await snapshot(db.admin)).toEqual(before);
    }
    const key = await componentKey('revoked-writer');
    const keyToken = key.token;
    const keyInput = { i: { workspaceId: ws.a, name: 'by a revoked key', type: 'AGENT' } };
    await makeKnown(CREATE, keyInput, keyToken);
    await db.admin.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [key.id]);
    const before = await snapshot(db.admin);
    const normal = await send(off, post(CREATE, keyInput, keyToken));
    const planned = await send(gw, post(CREATE, keyInput, keyToken));
    expect([planned.status, planned.text]).toEqual([normal.status, normal.text]);
    expect(planned.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(await snapshot(db.admin)).toEqual(before);
  });

  test('documents that are not one planned write run their resolvers every time', async () => {
    const texts: Array<[string, unknown]> = [
      // Two changes in one operation: each its own savepoint, in order (not planned).
      [
        `mutation PlannedTwo($i: CreateComponentInput!, $j: CreateComponentInput!) { a: createComponent(input: $i) { id } b: createComponent(input: $j) { id } }`,
        {
          i: { workspaceId: ws.a, name: 'two a', type: 'AGENT' },
          j: { workspaceId: ws.a, name: 'two b', type: 'AGENT' },
        },
      ],
      // A payload that reads beyond the written row.
      [
        `mutation PlannedDeep($i: CreateComponentInput!) { createComponent(input: $i) { id workspace { name } } }`,
        { i: { workspaceId: ws.a, name: 'deep', type: 'AGENT' } },
      ],
    ];
    for (const [query, variables] of texts)
      for (let i = 0; i < 2; i++) {
        const answer = await send(gw, post(query, variables, tokens.a));
        expect(answer.status).toBe(200);
        expect(answer.body.errors).toBeUndefined();
        expect(answer.statements).toBeGreaterThan(2);
      }
  });
});

describe('isolation, records and failures', () => {
  test('one known text alternating between organizations: each write lands in its own organization', async () => {
    const tag = rand();
    // 12 alternations: past the 5 executions after which PostgreSQL may switch a prepared write to a generic plan.
    for (let i = 0; i < 12; i++) {
      const [org, token, workspace] = i % 2 ? [orgB, tokens.b, ws.b] : [orgA, tokens.a, ws.a];
      const answer = await send(
        gw,
        post(CREATE, { i: { workspaceId: workspace, name: `alt ${tag} ${i}`, type: 'AGENT' } }, token),
      );
      expect(answer.status).toBe(200);
      const id = uuidOf(answer.body.data.createComponent.id);
      const { rows } = await db.admin.query(`SELECT org_id, workspace_id FROM components WHERE id = $1`, [id]);
      expect(rows).toEqual([{ org_id: org.id, workspace_id: uuidOf(workspace) }]);
      const audit = await db.admin.query(`SELECT org_id FROM audit_log WHERE target_id = $1`, [id]);
      expect(audit.rows).toEqual([{ org_id: org.id }]);
    }
  });

  test('access log, metrics and trace record a planned write as the resolver path records it', async () => {
    await db.admin.query(`UPDATE organizations SET trace_mode = 'all', trace_sample_rate = 1 WHERE id = $1`, [orgA.id]);
    try {
      const query = `mutation PlannedRecords($i: CreateComponentInput!) { createComponent(input: $i) { id } }`;
      const input = () => ({ i: { workspaceId: ws.a, name: `rec ${rand()}`, type: 'AGENT' } });
      const ids = [`pw-rec-${rand()}`, `pw-rec-${rand()}`];
      const answers: Answer[] = [];
      for (const id of ids)
        answers.push(await send(gw, { ...post(query, input(), tokens.a), headers: { 'x-request-id': id } }));
      expect(answers.map((a) => [a.status, a.statements])).toEqual([
        [200, 3],
        [200, 2],
      ]);
      const line = async (id: string) => {
        for (let i = 0; i < 60; i++) {
          const found = gw.logs.find((l) => l.includes('"msg":"request"') && l.includes(id));
          if (found) return JSON.parse(found);
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`no access-log line for ${id}`);
      };
      const [normal, planned] = [await line(ids[0]), await line(ids[1])];
      expect(planned).toMatchObject({
        operationType: 'mutation',
        operationName: 'PlannedRecords',
        sqlStatements: 2,
        status: 200,
      });
      expect(Object.keys(planned).sort()).toEqual(Object.keys(normal).sort());
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toContain(
        'gateway_graphql_operation_seconds_count{operation="PlannedRecords",type="mutation",outcome="ok"} 2',
      );
      const traceOf = async (id: string) => {
        for (let i = 0; i < 200; i++) {
          const { rows } = await db.admin.query(`SELECT * FROM traces WHERE org_id = $1 AND request_id = $2`, [
            orgA.id,
            id,
          ]);
          if (rows.length) return rows[0];
          await new Promise((r) => setTimeout(r, 25));
        }
        throw new Error(`no trace for ${id}`);
      };
      const trace = await traceOf(ids[1]);
      expect(trace).toMatchObject({
        operation_type: 'mutation',
        operation_name: 'PlannedRecords',
        outcome: 'ok',
        sql_statements: 2,
      });
      const statements = (trace.spans as any[])
        .filter((s) => s.kind === 'sql')
        .map((s) => s.attributes['db.statement'] as string);
      expect(statements.some((s) => /^WITH t\d+ AS \(INSERT INTO "components"/.test(s))).toBe(true);
      expect(statements).toContain('COMMIT');
      // Parameterised: no value of the request in the trace.
      expect(statements.join('\n')).not.toContain(uuidOf(ws.a));
    } finally {
      await db.admin.query(`UPDATE organizations SET trace_mode = 'none' WHERE id = $1`, [orgA.id]);
    }
  });

  describe('a COMMIT that fails', () => {
    beforeAll(async () => {
      await db.admin.query(`
        CREATE FUNCTION test_planned_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.name = 'planned-refused-at-commit' THEN RAISE EXCEPTION 'refused at commit' USING ERRCODE = '23514'; END IF;
          IF NEW.name = 'planned-slow-commit' THEN PERFORM pg_sleep(5); END IF;
          RETURN NULL;
        END $$`);
      await db.admin.query(`
        CREATE CONSTRAINT TRIGGER test_planned_commit AFTER INSERT ON components
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_planned_commit()`);
    });
    afterAll(async () => {
      await db.admin.query(`DROP TRIGGER test_planned_commit ON components; DROP FUNCTION test_planned_commit();`);
    });

    test('refused by PostgreSQL (a deferred constraint): rolled back, so the resolver runs it afresh and answers', async () => {
      await makeKnown(CREATE, { i: { workspaceId: ws.a, name: 'warm', type: 'AGENT' } }, tokens.a);
      const before = await snapshot(db.admin);
      const sent = post(
        CREATE,
        { i: { workspaceId: ws.a, name: 'planned-refused-at-commit', type: 'AGENT' } },
        tokens.a,
      );
      const normal = await send(off, sent);
      const planned = await send(gw, sent);
      expect([planned.status, planned.text, planned.headers]).toEqual([normal.status, normal.text, normal.headers]);
      expect(planned.body.errors.map((e: any) => e.extensions.code)).toEqual(['INTERNAL_SERVER_ERROR']);
      // The known attempt (opening, failed COMMIT) and the resolver's path (opening, INSERT, audit + COMMIT).
      expect(planned.statements).toBe(2 + 3);
      expect(await snapshot(db.admin)).toEqual(before);
    });

    test('in doubt (the backend killed during COMMIT): 503, never run a second time, nothing written', async () => {
      await makeKnown(CREATE, { i: { workspaceId: ws.a, name: 'warm', type: 'AGENT' } }, tokens.a);
      const before = await snapshot(db.admin);
      const pending = send(
        gw,
        post(CREATE, { i: { workspaceId: ws.a, name: 'planned-slow-commit', type: 'AGENT' } }, tokens.a),
      );
      let pid: number | undefined;
      for (let i = 0; i < 200 && pid === undefined; i++) {
        const { rows } = await db.admin.query(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query = 'COMMIT'
              AND application_name = 'manifest-gateway'`,
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(pid).toEqual(expect.any(Number));
      await db.admin.query(`SELECT pg_terminate_backend($1)`, [pid]);
      const answer = await pending;
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toEqual(expect.any(String));
      expect(answer.body.errors.map((e: any) => e.extensions.code)).toEqual(['SERVICE_UNAVAILABLE']);
      // Not run again by the resolver: a second run would have met the same slow COMMIT and written the row.
      expect(await snapshot(db.admin)).toEqual(before);
      expect(await openGatewayTransactions(db.admin)).toEqual([]);
      // The next one is written as usual.
      const next = await send(
        gw,
        post(CREATE, { i: { workspaceId: ws.a, name: `after ${rand()}`, type: 'AGENT' } }, tokens.a),
      );
      expect([next.status, next.statements]).toEqual([200, 2]);
    });
  });

  test('a client that leaves while the opening with its write runs: rolled back, nothing written, nothing left open', async () => {
    await db.admin.query(`
      CREATE FUNCTION test_planned_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.name LIKE 'planned-slow-insert%' THEN PERFORM pg_sleep(0.4); END IF;
        RETURN NEW;
      END $$`);
    await db.admin.query(
      `CREATE TRIGGER test_planned_slow_insert BEFORE INSERT ON components FOR EACH ROW EXECUTE FUNCTION test_planned_slow_insert()`,
    );
    try {
      await makeKnown(CREATE, { i: { workspaceId: ws.a, name: 'warm', type: 'AGENT' } }, tokens.a);
      const before = await snapshot(db.admin);
      for (let i = 0; i < 3; i++) {
        const controller = new AbortController();
        const sent = send(gw, {
          ...post(CREATE, { i: { workspaceId: ws.a, name: `planned-slow-insert ${i}`, type: 'AGENT' } }, tokens.a),
          signal: controller.signal,
        }).catch((error: unknown) => error);
        // Abort once the opening is running (the trigger holds it for 0.4 s).
        for (let j = 0; j < 100; j++) {
          const { rows } = await db.admin.query(
            `SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%EXECUTE mg_%' AND application_name = 'manifest-gateway'`,
          );
          if (rows.length) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        controller.abort();
        expect(await sent).toMatchObject({ name: 'AbortError' });
      }
      expect(await openGatewayTransactions(db.admin)).toEqual([]);
      expect(await snapshot(db.admin)).toEqual(before);
    } finally {
      await db.admin.query(
        `DROP TRIGGER test_planned_slow_insert ON components; DROP FUNCTION test_planned_slow_insert();`,
      );
    }
  });

  test('clients that leave mid-write: no connection left in a transaction, each write whole or absent', async () => {
    const tag = rand();
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 40; i++) {
      const controller = new AbortController();
      const sent = send(gw, {
        ...post(CREATE, { i: { workspaceId: ws.a, name: `abort ${tag}`, type: 'AGENT' } }, tokens.a),
        signal: controller.signal,
      }).catch(() => undefined);
      setTimeout(() => controller.abort(), i % 5);
      sends.push(sent);
    }
    await Promise.all(sends);
    expect(await openGatewayTransactions(db.admin)).toEqual([]);
    // Every component written has its audit row, and no audit row without its component.
    const { rows } = await db.admin.query(
      `SELECT count(*)::int AS components, (SELECT count(*)::int FROM audit_log a WHERE a.target_id IN
         (SELECT id::text FROM components WHERE org_id = $1 AND name = $2)) AS audited
         FROM components WHERE org_id = $1 AND name = $2`,
      [orgA.id, `abort ${tag}`],
    );
    expect(rows[0].audited).toBe(rows[0].components);
  });
});
