import { ok, uuidOf } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * The write path's round trips (issue 11, W3) and what folding them must keep: a mutation's savepoint is
 * sent in front of its first statement, its release in front of the next one, and a failed mutation still
 * rolls back to its savepoint without touching the other mutations of the same operation.
 */
const { gw, db, org } = useGateway({ orgs: ['writes'] });

let workspaceId: string;
beforeAll(async () => {
  workspaceId = ok<any>(
    await gw.graphql(`mutation { createWorkspace(input: { name: "Writes" }) { id } }`, {}, gw.token(org.id)),
  ).createWorkspace.id;
});

/** Connections of the test database still inside a transaction (none may be left once a request answered). */
async function openTransactions(): Promise<string[]> {
  const { rows } = await db.admin.query(
    `SELECT state FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
        AND state LIKE 'idle in transaction%'`,
  );
  return rows.map((r) => r.state as string);
}

test('createComponent takes five round trips: opening, workspace check, INSERT, audit row, COMMIT', async () => {
  const response = await gw.graphql(
    `mutation($i: CreateComponentInput!) { createComponent(input: $i) { id name type workspaceId } }`,
    { i: { workspaceId, name: 'Five', type: 'AGENT', configuration: { quote: 'it\'s "quoted" \\ and $1' } } },
    gw.token(org.id),
  );
  const created = ok<any>(response).createComponent;
  // Before: 9 (the two savepoints and their releases each a round trip of their own).
  expect(response.body.extensions.sql.statements).toBe(5);
  const { rows } = await db.admin.query(`SELECT name, configuration FROM components WHERE id = $1`, [
    uuidOf(created.id),
  ]);
  expect(rows).toEqual([{ name: 'Five', configuration: { quote: 'it\'s "quoted" \\ and $1' } }]);
  const audit = await db.admin.query(
    `SELECT operation, request_id FROM audit_log WHERE org_id = $1 AND target_id = ANY($2)`,
    [org.id, [created.id, uuidOf(created.id)]],
  );
  expect(audit.rows).toEqual([{ operation: 'createComponent', request_id: response.headers.get('x-request-id') }]);
  expect(await openTransactions()).toEqual([]);
});

test('a mutation failing in SQL rolls back to its savepoint; the operation’s other mutations commit', async () => {
  const slug = `dup-${Date.now()}`;
  const env = (name: string) =>
    `createEnvironment(input: { workspaceId: $w, name: "${name}", slug: "${slug}", tier: DEV }) { id }`;
  const response = await gw.graphql(
    `mutation($w: ID!) { a: ${env('First')} b: ${env('Second')}
       c: createComponent(input: { workspaceId: $w, name: "After", type: AGENT }) { id } }`,
    { w: workspaceId },
    gw.token(org.id),
  );
  expect(response.status).toBe(200);
  expect(response.body.data.a.id).toEqual(expect.any(String));
  expect(response.body.data.b).toBeNull(); // the unique slug refused it, inside its own savepoint
  expect(response.body.errors).toHaveLength(1);
  expect(response.body.errors?.[0].path).toEqual(['b']);
  expect(response.body.data.c.id).toEqual(expect.any(String));

  const envs = await db.admin.query(`SELECT name FROM environments WHERE org_id = $1 AND slug = $2`, [org.id, slug]);
  expect(envs.rows).toEqual([{ name: 'First' }]);
  const component = await db.admin.query(`SELECT name FROM components WHERE id = $1`, [
    uuidOf(response.body.data.c.id),
  ]);
  expect(component.rows).toEqual([{ name: 'After' }]);
  // The refused mutation's audit row went with its savepoint; the two others are recorded.
  const audit = await db.admin.query(`SELECT operation FROM audit_log WHERE request_id = $1 ORDER BY occurred_at, id`, [
    response.headers.get('x-request-id'),
  ]);
  expect(audit.rows.map((r) => r.operation).sort()).toEqual(['createComponent', 'createEnvironment']);
  expect(await openTransactions()).toEqual([]);
});

test('a mutation refused before any SQL of its own leaves nothing, and the next one still commits', async () => {
  const missing = Buffer.from(`Workspace:${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`).toString('base64url');
  const response = await gw.graphql(
    `mutation($w: ID!, $missing: ID!) {
       a: createComponent(input: { workspaceId: $missing, name: "Nowhere", type: AGENT }) { id }
       b: createComponent(input: { workspaceId: $w, name: "Somewhere", type: AGENT }) { id } }`,
    { w: workspaceId, missing },
    gw.token(org.id),
  );
  expect(response.body.data.a).toBeNull();
  expect(response.body.errors?.map((e: any) => e.extensions.code)).toEqual(['NOT_FOUND']);
  const b = await db.admin.query(`SELECT name FROM components WHERE id = $1`, [uuidOf(response.body.data.b.id)]);
  expect(b.rows).toEqual([{ name: 'Somewhere' }]);
  const audit = await db.admin.query(`SELECT operation, target_id FROM audit_log WHERE request_id = $1`, [
    response.headers.get('x-request-id'),
  ]);
  expect(audit.rows).toHaveLength(1);
  expect(audit.rows[0].operation).toBe('createComponent');
  expect([response.body.data.b.id, uuidOf(response.body.data.b.id)]).toContain(audit.rows[0].target_id);
  expect(await openTransactions()).toEqual([]);
});
