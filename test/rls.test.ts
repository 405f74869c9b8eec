import { Client } from 'pg';
import { PGBOUNCER_POOL_SIZE } from './support/database';
import { startGateway } from './support/gateway';
import { gid, uuidOf, createTree, ok, type Tree } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * Tenant isolation below the application: PostgreSQL row-level security, the roles the gateway serves
 * as, and the per-request transaction. The gateway here serves through its own LOGIN role (created by
 * the CLI, as an operator would) with a pool of ONE connection, so every request reuses it.
 */
const { gw, db, orgA, orgB, serving } = useGateway({
  orgs: ['rls-a', 'rls-b'],
  servingLogin: true,
  env: { DB_POOL_SIZE: '1' },
});
let treeA: Tree;
let treeB: Tree;

beforeAll(async () => {
  treeA = await createTree(gw, gw.token(orgA.id), { workspaces: 2, environments: 2, components: 2 });
  treeB = await createTree(gw, gw.token(orgB.id), { workspaces: 3, environments: 1, components: 1 });
});

/**
 * Indexes that deliberately do not lead with org_id, each with its reason. api_keys by key id: a token
 * exchange knows only the key (one fan-out lookup under Citus, on the platform path).
 */
const CROSS_TENANT_LOOKUP_INDEXES = ['api_keys_exchange_lookup_idx'];

async function tenantTables(): Promise<string[]> {
  const rows = await db.admin.query(
    // Partitions (the traces table's daily ones) are reached only through their parent, whose policies apply;
    // the tenant role has no privilege on a partition itself (checked below).
    `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'org_id'
        AND NOT (SELECT relispartition FROM pg_class WHERE oid = format('%I', table_name)::regclass) ORDER BY 1`,
  );
  return rows.rows.map((r) => r.table_name);
}

describe('catalogue', () => {
  test('every table with org_id (and organizations itself) has RLS enabled and forced, with a tenant policy', async () => {
    const tables = [...(await tenantTables()), 'organizations'];
    expect(tables).toEqual(expect.arrayContaining(['workspaces', 'environments', 'components', 'organizations']));
    const rows = await db.admin.query(
      `SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
              (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND pg_get_expr(p.polqual, p.polrelid) LIKE '%app_current_org()%') AS tenant_policies
         FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1)`,
      [tables],
    );
    expect(rows.rows).toHaveLength(tables.length);
    for (const row of rows.rows) {
      expect({
        table: row.relname,
        enabled: row.relrowsecurity,
        forced: row.relforcerowsecurity,
        policies: Number(row.tenant_policies),
      }).toEqual({
        table: row.relname,
        enabled: true,
        forced: true,
        policies: 1,
      });
    }
  });

  test('the roles the gateway serves as are not superuser, cannot bypass RLS, own nothing', async () => {
    const roles = await db.admin.query(
      `SELECT r.rolname, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb,
              (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) AS owned
         FROM pg_roles r WHERE r.rolname IN ('manifest_app', $1) ORDER BY r.rolname`,
      [serving.name],
    );
    expect(roles.rows).toHaveLength(2);
    for (const role of roles.rows) {
      expect(role).toMatchObject({
        rolsuper: false,
        rolbypassrls: false,
        rolcreaterole: false,
        rolcreatedb: false,
        owned: '0',
      });
    }
  });

  test('the serving login has no table privileges of its own: only the tenant role (under RLS) does', async () => {
    for (const table of await tenantTables()) {
      const { rows } = await db.admin.query(
        `SELECT has_any_column_privilege($1, $2, 'SELECT') AS login, has_any_column_privilege('manifest_app', $2, 'SELECT') AS tenant`,
        [serving.name, table],
      );
      expect({ table, ...rows[0] }).toEqual({ table, login: false, tenant: true });
    }
  });

  test('no view or materialized view skips RLS (every view is security_invoker)', async () => {
    const views = await db.admin.query(
      `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('v', 'm')
         AND NOT coalesce(reloptions @> ARRAY['security_invoker=true'], false)`,
    );
    expect(views.rows).toEqual([]);
  });

  test('Citus-ready keys: org_id is in every primary key, unique constraint and foreign key, and leads every index', async () => {
    for (const table of await tenantTables()) {
      const constraints = await db.admin.query(
        `SELECT conname, contype, (SELECT array_agg(a.attname::text) FROM unnest(conkey) k JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k) AS cols
           FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'f')`,
        [table],
      );
      expect(constraints.rows.some((c) => c.contype === 'p')).toBe(true);
      for (const c of constraints.rows)
        expect({ table, constraint: c.conname, hasOrg: c.cols.includes('org_id') }).toEqual({
          table,
          constraint: c.conname,
          hasOrg: true,
        });
      const indexes = await db.admin.query(
        `SELECT i.indexrelid::regclass::text AS name, a.attname AS lead FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = $1::regclass`,
        [table],
      );
      for (const index of indexes.rows.filter((i) => !CROSS_TENANT_LOOKUP_INDEXES.includes(i.name))) {
        expect({ index: index.name, lead: index.lead }).toEqual({ index: index.name, lead: 'org_id' });
      }
    }
  });
});

/** The tree with stored UUIDs instead of the API's global ids, for raw SQL. */
const rawTree = (tree: Tree): Tree => ({
  workspaces: tree.workspaces.map((w) => ({
    id: uuidOf(w.id),
    environments: w.environments.map(uuidOf),
    components: w.components.map(uuidOf),
  })),
});

describe('raw SQL as the serving role', () => {
  let client: Client;
  beforeEach(async () => {
    client = new Client({ connectionString: serving.url });
    await client.connect();
  });
  afterEach(async () => {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  });

  test('without switching to the tenant role, the login cannot read tenant tables at all', async () => {
    await expect(client.query('SELECT * FROM workspaces')).rejects.toMatchObject({ code: '42501' });
  });

  test('with no tenant setting, or an empty one, an unscoped SELECT * returns zero rows', async () => {
    await client.query('BEGIN; SET LOCAL ROLE manifest_app');
    for (const table of ['organizations', 'workspaces', 'environments', 'components']) {
      expect((await client.query(`SELECT * FROM ${table}`)).rowCount).toBe(0);
    }
    await client.query(`SELECT set_config('app.org_id', '', true)`);
    expect((await client.query(`SELECT * FROM workspaces`)).rowCount).toBe(0);
  });

  const asOrgWide = (orgId: string) =>
    client.query(`SELECT set_config('app.org_id', $1, true), set_config('app.principal_kind', 'api_key', true)`, [
      orgId,
    ]);

  test("with org A's setting, org B's rows are invisible even to a deliberately unscoped SELECT *", async () => {
    await client.query('BEGIN; SET LOCAL ROLE manifest_app');
    await asOrgWide(orgA.id);
    const orgs = await client.query('SELECT id FROM organizations');
    expect(orgs.rows.map((r) => r.id)).toEqual([orgA.id]);
    const workspaces = await client.query('SELECT id, org_id FROM workspaces');
    expect(workspaces.rows.map((r) => r.id).sort()).toEqual(
      rawTree(treeA)
        .workspaces.map((w) => w.id)
        .sort(),
    );
    const foreign = await client.query('SELECT count(*) FROM environments WHERE org_id = $1', [orgB.id]);
    expect(foreign.rows[0].count).toBe('0');
    const updated = await client.query(`UPDATE components SET name = 'everyone'`);
    expect(updated.rowCount).toBe(rawTree(treeA).workspaces.flatMap((w) => w.components).length);
  });

  test("a row for org B cannot be written under org A's setting", async () => {
    await client.query('BEGIN; SET LOCAL ROLE manifest_app');
    await asOrgWide(orgA.id);
    await expect(
      client.query(`INSERT INTO workspaces (org_id, id, name) VALUES ($1, gen_random_uuid(), 'smuggled')`, [orgB.id]),
    ).rejects.toMatchObject({
      code: '42501',
    });
  });

  test('a user sees only the workspaces they are a member of, unless they hold a cross-workspace role', async () => {
    const [ws1, ws2] = rawTree(treeA).workspaces;
    await db.admin.query(
      `INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, 'dev-7', 'dev7@example.test', 'member')`,
      [orgA.id],
    );
    await db.admin.query(
      `INSERT INTO workspace_members (org_id, workspace_id, user_id, role) VALUES ($1, $2, 'dev-7', 'developer')`,
      [orgA.id, ws1.id],
    );
    await client.query('BEGIN; SET LOCAL ROLE manifest_app');
    await client.query(`SELECT set_config('app.org_id', $1, true), set_config('app.user_id', 'dev-7', true)`, [
      orgA.id,
    ]);
    expect((await client.query('SELECT id FROM workspaces')).rows.map((r) => r.id)).toEqual([ws1.id]);
    expect((await client.query('SELECT id FROM environments ORDER BY id')).rows.map((r) => r.id)).toEqual(
      [...ws1.environments].sort(),
    );
    expect(
      (await client.query('SELECT count(*) FROM components WHERE workspace_id = $1', [ws2.id])).rows[0].count,
    ).toBe('0');
    await expect(
      client.query(
        `INSERT INTO components (org_id, id, workspace_id, type, name) VALUES ($1, gen_random_uuid(), $2, 'agent', 'x')`,
        [orgA.id, ws2.id],
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await client.query('ROLLBACK');
    await db.admin.query(
      `UPDATE org_members SET all_workspaces_role = 'viewer' WHERE org_id = $1 AND user_id = 'dev-7'`,
      [orgA.id],
    );
    await client.query('BEGIN; SET LOCAL ROLE manifest_app');
    await client.query(`SELECT set_config('app.org_id', $1, true), set_config('app.user_id', 'dev-7', true)`, [
      orgA.id,
    ]);
    expect((await client.query('SELECT id FROM workspaces')).rows.map((r) => r.id).sort()).toEqual(
      [ws1.id, ws2.id].sort(),
    );
    await client.query('ROLLBACK');
    await db.admin.query(`DELETE FROM org_members WHERE org_id = $1 AND user_id = 'dev-7'`, [orgA.id]);
  });

  test('the setting is transaction-local: after COMMIT the same connection sees nothing again', async () => {
    await client.query('BEGIN; SET LOCAL ROLE manifest_app');
    await asOrgWide(orgA.id);
    expect((await client.query('SELECT * FROM workspaces')).rowCount).toBeGreaterThan(0);
    await client.query('COMMIT');
    await expect(client.query('SELECT * FROM workspaces')).rejects.toMatchObject({ code: '42501' });
    await client.query('BEGIN; SET LOCAL ROLE manifest_app');
    expect((await client.query('SELECT * FROM workspaces')).rowCount).toBe(0);
  });
});

describe('the request transaction and the pool', () => {
  const QUERY = `{ organization { id workspaces(first: 100) { edges { node { id environments { edges { node { id } } } } } } } }`;

  test('a thousand requests alternating between two orgs on ONE pooled connection never show the other org', async () => {
    const own = {
      [orgA.id]: new Set([...treeA.workspaces.map((w) => w.id), ...treeA.workspaces.flatMap((w) => w.environments)]),
      [orgB.id]: new Set([...treeB.workspaces.map((w) => w.id), ...treeB.workspaces.flatMap((w) => w.environments)]),
    };
    const tokens = { [orgA.id]: gw.token(orgA.id), [orgB.id]: gw.token(orgB.id) };
    let round = 0;
    const worker = async () => {
      while (round < 1000) {
        const orgId = round++ % 2 === 0 ? orgA.id : orgB.id;
        const data = ok<any>(await gw.graphql(QUERY, {}, tokens[orgId]));
        expect(data.organization.id).toBe(gid('Organization', orgId));
        const seen = data.organization.workspaces.edges.flatMap((e: any) => [
          e.node.id,
          ...e.node.environments.edges.map((x: any) => x.node.id),
        ]);
        expect(seen.length).toBe(own[orgId].size);
        for (const id of seen) expect(own[orgId].has(id)).toBe(true);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(round).toBeGreaterThanOrEqual(1000);
  }, 120000);

  test('errors and aborted requests give the connection back: the one-connection pool keeps serving', async () => {
    const token = gw.token(orgA.id);
    for (let i = 0; i < 20; i++) {
      await gw.graphql(
        `mutation { updateWorkspace(id: "01900000-0000-7000-8000-000000000000", input: { name: "x" }) { id } }`,
        {},
        token,
      );
      await gw.graphql(`{ workspace(id: "not-an-id") { id } }`, {}, token);
      const abort = new AbortController();
      const pending = fetch(`${gw.url}/graphql`, {
        method: 'POST',
        signal: abort.signal,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: QUERY }),
      }).catch(() => undefined);
      abort.abort();
      await pending;
    }
    expect(ok<any>(await gw.graphql(QUERY, {}, token)).organization.id).toBe(gid('Organization', orgA.id));
    const open = await db.admin.query(
      `SELECT count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS stuck, count(*) AS total FROM pg_stat_activity WHERE usename = $1`,
      [serving.name],
    );
    expect(open.rows[0].stuck).toBe('0');
    // One pooled connection: one session, or through PgBouncer (npm run test:pgbouncer) at most its pool.
    expect(Number(open.rows[0].total)).toBeLessThanOrEqual(Math.max(1, PGBOUNCER_POOL_SIZE));
  });
});

test('queries run in READ ONLY transactions as the tenant role; mutations in read-write ones', async () => {
  const traced = await startGateway({
    databaseUrl: db.url,
    env: { APP_DATABASE_URL: serving.url, LOG_LEVEL: 'trace' },
  });
  try {
    const token = traced.token(orgA.id);
    const sqlLines = () =>
      traced.logs
        .map((l) => JSON.parse(l))
        .filter((e) => e.msg === 'sql')
        .map((e) => e.sql as string);
    // pino writes asynchronously: give the lines of a finished request a moment to arrive.
    const settle = () => new Promise((r) => setTimeout(r, 200));
    ok(await traced.graphql(`{ organization { id } }`, {}, token));
    await settle();
    const afterQuery = sqlLines();
    // Timeouts too are transaction-local (never connection startup parameters: a transaction-mode pooler
    // refuses those, see transactionTimeouts in src/db/data-source.ts).
    const setup =
      `SET LOCAL ROLE manifest_app; SELECT set_config('app.org_id', '${orgA.id}', true), set_config('app.user_id', 'user-1', true), set_config('app.principal_kind', 'user', true), ` +
      `set_config('statement_timeout', '15000', true), set_config('idle_in_transaction_session_timeout', '30000', true)`;
    // One round trip opens the request: BEGIN, role, settings and the caller's row (issue 11).
    const opening = (lines: string[]) => lines.filter((l) => l.startsWith('BEGIN'));
    expect(opening(afterQuery)).toHaveLength(1);
    expect(opening(afterQuery)[0].startsWith(`BEGIN READ ONLY; ${setup}; SELECT o.*`)).toBe(true);
    ok(await traced.graphql(`mutation { createWorkspace(input: { name: "rw" }) { id } }`, {}, token));
    await settle();
    const mutationLines = sqlLines().slice(afterQuery.length);
    expect(opening(mutationLines)).toHaveLength(1);
    expect(opening(mutationLines)[0].startsWith(`BEGIN; ${setup}; SELECT o.*`)).toBe(true);
    expect(mutationLines.join('\n')).not.toContain('READ ONLY');
  } finally {
    await traced.stop();
  }
});
