import { ok, uuidOf } from './support/fixtures';
import { snapshot } from './support/database';
import { useGateway } from './support/harness';

/**
 * The write path's round trips (issue 11, W3) and what folding them must keep: a mutation's savepoint is
 * sent in front of its first statement, its release in front of the next one, the audit row of a change in
 * the COMMIT message; a failed mutation still rolls back to its savepoint (its audit row with it) without
 * touching the other mutations of the same operation, and a request whose COMMIT message fails commits
 * neither the change nor its audit row. LOG_LEVEL trace: the gateway logs every statement it sends.
 */
const { gw, db, org } = useGateway({ orgs: ['writes'], env: { LOG_LEVEL: 'trace' } });

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

/** A GraphQL request with our own x-request-id (the gateway keeps a well-formed one), as the owner. */
async function graphqlAs(requestId: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${gw.token(org.id)}`,
      'x-request-id': requestId,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

/**
 * The statements the gateway logged (trace level) for the request `requestId`: the SQL lines from its
 * opening (the last `BEGIN` before its access-log line, written once the answer went out) on. Lines of an
 * earlier request may still arrive after ours was sent (the child's stdout is buffered), never after it.
 */
async function loggedStatements(requestId: string): Promise<string[]> {
  const accessLine = () => gw.logs.findIndex((line) => line.includes(requestId) && !line.includes('"msg":"sql"'));
  for (let i = 0; i < 150 && accessLine() < 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(accessLine()).toBeGreaterThanOrEqual(0);
  const sql = gw.logs
    .slice(0, accessLine())
    .filter((line) => line.includes('"msg":"sql"'))
    .map((line) => JSON.parse(line).sql as string);
  return sql.slice(sql.findLastIndex((statement) => statement.startsWith('BEGIN')));
}

async function auditRows(requestId: string | null): Promise<Array<{ operation: string; target_id: string }>> {
  const { rows } = await db.admin.query(
    `SELECT operation, target_id FROM audit_log WHERE request_id = $1 ORDER BY occurred_at, id`,
    [requestId],
  );
  return rows;
}

const CREATE = `mutation($i: CreateComponentInput!) { createComponent(input: $i) { id name type workspaceId } }`;
/**
 * CREATE as a text never sent before: its request runs the resolvers (Apollo's path), as every first request
 * of a text does. A known text may be a planned write instead (test/planned-writes.test.ts covers that path).
 */
const unknownText = (query: string) => `${query} # ${Date.now()}-${Math.random()}`;

test('createComponent (W3, as the owner) takes three round trips: opening, INSERT, audit row + COMMIT', async () => {
  const response = await gw.graphql(
    CREATE,
    { i: { workspaceId, name: 'Three', type: 'AGENT', configuration: { quote: 'it\'s "quoted" \\ and $1' } } },
    gw.token(org.id),
  );
  const created = ok<any>(response).createComponent;
  // Before: 9 (the two savepoints and their releases each a round trip of their own), then 5 (the
  // workspace check and the audit row each a round trip). A regression in either fails here.
  expect(response.body.extensions.sql.statements).toBe(3);
  // What was sent, one line per message: the savepoints ride in front of the INSERT (the pg client level,
  // below the log), the audit row is in the COMMIT message. The log has the parameterised text only.
  const statements = await loggedStatements(response.headers.get('x-request-id')!);
  expect(statements).toHaveLength(3);
  expect(statements[0]).toMatch(/^BEGIN; SET LOCAL ROLE /);
  expect(statements[1]).toMatch(
    /^INSERT INTO "components" \("org_id", "id", "workspace_id", "type", "name", "configuration"\) VALUES \(\$1, /,
  );
  expect(statements[2]).toMatch(
    /^INSERT INTO audit_log \(org_id, [^;]*VALUES \(\$1, \$2, \$3, \$4, \$5, \$6, \$7, \$8\); COMMIT$/,
  );
  expect(statements[2]).not.toContain(org.id);
  const { rows } = await db.admin.query(`SELECT name, configuration FROM components WHERE id = $1`, [
    uuidOf(created.id),
  ]);
  expect(rows).toEqual([{ name: 'Three', configuration: { quote: 'it\'s "quoted" \\ and $1' } }]);
  const audit = await db.admin.query(
    `SELECT operation, request_id FROM audit_log WHERE org_id = $1 AND target_id = ANY($2)`,
    [org.id, [created.id, uuidOf(created.id)]],
  );
  expect(audit.rows).toEqual([{ operation: 'createComponent', request_id: response.headers.get('x-request-id') }]);
  expect(await openTransactions()).toEqual([]);
});

describe('the audit row in the COMMIT message', () => {
  // Deferred checks and a refusing trigger, made by the test as the database owner: real failures at the
  // places the queued audit row now travels through, provoked for chosen names / request ids only.
  beforeAll(async () => {
    await db.admin.query(`
      CREATE FUNCTION test_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.name = 'refused-at-commit' THEN RAISE EXCEPTION 'refused at commit' USING ERRCODE = '23514'; END IF;
        IF NEW.name = 'slow-commit' THEN PERFORM pg_sleep(5); END IF;
        RETURN NULL;
      END $$`);
    await db.admin.query(`
      CREATE CONSTRAINT TRIGGER test_refuse_at_commit AFTER INSERT ON components
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_refuse_at_commit()`);
    await db.admin.query(`
      CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.request_id LIKE 'refuse-audit-%' THEN RAISE EXCEPTION 'audit refused' USING ERRCODE = '23514'; END IF;
        RETURN NEW;
      END $$`);
    await db.admin.query(`
      CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()`);
  });
  afterAll(async () => {
    await db.admin.query(`DROP TRIGGER test_refuse_at_commit ON components; DROP FUNCTION test_refuse_at_commit();
                          DROP TRIGGER test_refuse_audit ON audit_log; DROP FUNCTION test_refuse_audit();`);
  });

  async function componentsNamed(name: string): Promise<number> {
    const { rows } = await db.admin.query(`SELECT count(*)::int AS n FROM components WHERE org_id = $1 AND name = $2`, [
      org.id,
      name,
    ]);
    return rows[0].n;
  }

  /** The next request on the same gateway still commits (no connection left broken or in a transaction). */
  async function stillWrites(): Promise<void> {
    const next = await gw.graphql(
      CREATE,
      { i: { workspaceId, name: `after-${Date.now()}`, type: 'AGENT' } },
      gw.token(org.id),
    );
    expect(ok<any>(next).createComponent.id).toEqual(expect.any(String));
    expect(await openTransactions()).toEqual([]);
  }

  test('a COMMIT that fails (a deferred constraint) leaves neither the change nor its audit row', async () => {
    const requestId = `commit-fails-${Date.now()}`;
    const response = await graphqlAs(requestId, unknownText(CREATE), {
      i: { workspaceId, name: 'refused-at-commit', type: 'AGENT' },
    });
    expect(response.body.data).toBeNull();
    expect(response.body.errors.map((e: any) => e.extensions.code)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(await componentsNamed('refused-at-commit')).toBe(0);
    expect(await auditRows(requestId)).toEqual([]);
    expect(gw.logs.some((l) => l.includes('"msg":"commit failed"') && l.includes(requestId))).toBe(true);
    await stillWrites();
  });

  test('an audit row that cannot be written fails the request: the change does not commit without it', async () => {
    const requestId = `refuse-audit-${Date.now()}`;
    const response = await graphqlAs(requestId, unknownText(CREATE), {
      i: { workspaceId, name: 'unaudited', type: 'AGENT' },
    });
    expect(response.body.data).toBeNull();
    expect(response.body.errors.map((e: any) => e.extensions.code)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(await componentsNamed('unaudited')).toBe(0);
    expect(await auditRows(requestId)).toEqual([]);
    await stillWrites();
  });

  test('the audit row rides in front of a later read of the same request, which then sees it', async () => {
    // createComponent's payload reads the component's workspace after the mutation: outside every mutation,
    // so the queued audit row goes in that read's message, and a refused audit row fails the request there.
    const read = `mutation($i: CreateComponentInput!) { createComponent(input: $i) { id workspace { id name } } }`;
    const requestId = `refuse-audit-read-${Date.now()}`;
    const refused = await graphqlAs(requestId, read, { i: { workspaceId, name: 'unaudited-read', type: 'AGENT' } });
    expect(refused.body.errors?.length).toBeGreaterThan(0);
    expect(await componentsNamed('unaudited-read')).toBe(0);
    expect(await auditRows(requestId)).toEqual([]);
    await stillWrites();

    const fine = await graphqlAs(`audit-read-${Date.now()}`, read, {
      i: { workspaceId, name: 'audited-read', type: 'AGENT' },
    });
    expect(ok<any>(fine).createComponent.workspace.id).toBe(workspaceId);
    expect(fine.body.extensions.sql.statements).toBe(4); // opening, INSERT, audit row + the read, COMMIT
    expect(await componentsNamed('audited-read')).toBe(1);
    expect(await auditRows(fine.headers.get('x-request-id'))).toHaveLength(1);
  });

  test('a mutation payload that reads the audit log sees its own entry (read-your-writes kept)', async () => {
    const response = await gw.graphql(
      `mutation { clearBanner { auditLog(first: 1) { edges { node { operation requestId } } } } }`,
      {},
      gw.token(org.id),
    );
    const [entry] = ok<any>(response).clearBanner.auditLog.edges;
    expect(entry.node).toEqual({ operation: 'clearBanner', requestId: response.headers.get('x-request-id') });
  });

  test('a backend killed during the COMMIT message: no change, no audit row, the request fails, the next one works', async () => {
    const requestId = `killed-${Date.now()}`;
    const pending = graphqlAs(requestId, unknownText(CREATE), {
      i: { workspaceId, name: 'slow-commit', type: 'AGENT' },
    });
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      const { rows } = await db.admin.query(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'
            AND query LIKE 'INSERT INTO audit_log%COMMIT' AND pid <> pg_backend_pid()`,
      );
      pid = rows[0]?.pid;
      if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(pid).toEqual(expect.any(Number)); // the COMMIT message was seen running, audit row in front
    await db.admin.query(`SELECT pg_terminate_backend($1)`, [pid]);
    const response = await pending;
    expect(response.body.data).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    expect(await componentsNamed('slow-commit')).toBe(0);
    expect(await auditRows(requestId)).toEqual([]);
    await stillWrites();
  });
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

test('mutations refused in SQL (missing workspace) or in their service leave nothing; the one that succeeds commits', async () => {
  // As the owner the workspace check costs no statement: the INSERT's foreign key says NOT_FOUND (a), and
  // rolls back to its savepoints; deleteComponent of a component that is not there is refused by its
  // service after a read (c). Only b's change and b's audit row commit.
  const missing = Buffer.from(`Workspace:${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`).toString('base64url');
  const missingComponent = Buffer.from(`Component:${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`).toString(
    'base64url',
  );
  const response = await gw.graphql(
    `mutation($w: ID!, $missing: ID!, $gone: ID!) {
       a: createComponent(input: { workspaceId: $missing, name: "Nowhere", type: AGENT }) { id }
       b: createComponent(input: { workspaceId: $w, name: "Somewhere", type: AGENT }) { id }
       c: deleteComponent(id: $gone) }`,
    { w: workspaceId, missing, gone: missingComponent },
    gw.token(org.id),
  );
  expect(response.body.data.a).toBeNull();
  expect(response.body.data.c).toBeNull();
  expect(response.body.errors?.map((e: any) => [e.path[0], e.extensions.code])).toEqual([
    ['a', 'NOT_FOUND'],
    ['c', 'NOT_FOUND'],
  ]);
  const nowhere = await db.admin.query(`SELECT 1 FROM components WHERE org_id = $1 AND name = 'Nowhere'`, [org.id]);
  expect(nowhere.rows).toEqual([]);
  const b = await db.admin.query(`SELECT name FROM components WHERE id = $1`, [uuidOf(response.body.data.b.id)]);
  expect(b.rows).toEqual([{ name: 'Somewhere' }]);
  const audit = await auditRows(response.headers.get('x-request-id'));
  expect(audit).toHaveLength(1);
  expect(audit[0].operation).toBe('createComponent');
  expect([response.body.data.b.id, uuidOf(response.body.data.b.id)]).toContain(audit[0].target_id);
  expect(await openTransactions()).toEqual([]);
});

test('createEnvironment as the owner: three round trips too, and a missing workspace is still NOT_FOUND with nothing written', async () => {
  const CREATE_ENV = `mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id slug workspaceId } }`;
  const input = (ws: string, slug: string) => ({
    workspaceId: ws,
    name: `Env ${slug}`,
    slug,
    tier: 'DEV',
    deploymentHost: 'AWS',
  });
  const created = await gw.graphql(CREATE_ENV, { i: input(workspaceId, 'three-trips') }, gw.token(org.id));
  expect(ok<any>(created).createEnvironment.workspaceId).toBe(workspaceId);
  expect(created.body.extensions.sql.statements).toBe(3); // opening, INSERT, audit row + COMMIT (was 4)
  const missing = Buffer.from(`Workspace:${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`).toString('base64url');
  const before = await snapshot(db.admin);
  const refused = await gw.graphql(CREATE_ENV, { i: input(missing, 'nowhere') }, gw.token(org.id));
  expect(refused.body.data).toEqual({ createEnvironment: null });
  expect(refused.body.errors?.map((e: any) => [e.extensions.code, e.message])).toEqual([
    ['NOT_FOUND', expect.stringContaining('Workspace')],
  ]);
  expect(await snapshot(db.admin)).toEqual(before);
  expect(await openTransactions()).toEqual([]);
});

test('a workspace check for a plain member still reads the workspace and the membership (one round trip)', async () => {
  // Not decided by the caller row: a member without a workspace role is FORBIDDEN there, and a workspace
  // they cannot see is NOT_FOUND, exactly as before.
  const memberId = `member-${Date.now()}`;
  ok(
    await gw.graphql(
      `mutation($u: String!) { addMember(input: { userId: $u, email: "m@example.com", role: MEMBER }) { userId } }`,
      { u: memberId },
      gw.token(org.id),
    ),
  );
  const token = gw.token(org.id, undefined, { sub: memberId });
  const refused = await gw.graphql(CREATE, { i: { workspaceId, name: 'member-try', type: 'AGENT' } }, token);
  expect(refused.body.errors?.map((e: any) => e.extensions.code)).toEqual(['NOT_FOUND']);
  ok(
    await gw.graphql(
      `mutation($w: ID!, $u: ID!) { setWorkspaceMember(workspaceId: $w, userId: $u, role: VIEWER) { role } }`,
      { w: workspaceId, u: memberId },
      gw.token(org.id),
    ),
  );
  const viewer = await gw.graphql(
    unknownText(CREATE),
    { i: { workspaceId, name: 'member-try', type: 'AGENT' } },
    token,
  );
  expect(viewer.body.errors?.map((e: any) => e.extensions.code)).toEqual(['FORBIDDEN']);
  // opening, the workspace and membership reads together (they went one after the other before: 5),
  // ROLLBACK TO the mutation's savepoint (it was sent with the reads), COMMIT (of nothing)
  expect(viewer.body.extensions.sql.statements).toBe(4);
  // The known text (a planned write): its attempt (opening with the write; ROLLBACK, since the caller row does
  // not decide a plain member's role) comes first, then the same resolver path.
  const again = await gw.graphql(CREATE, { i: { workspaceId, name: 'member-try', type: 'AGENT' } }, token);
  expect(again.body.errors?.map((e: any) => e.extensions.code)).toEqual(['FORBIDDEN']);
  expect(again.body.extensions.sql.statements).toBe(2 + 4);
  const { rows } = await db.admin.query(`SELECT 1 FROM components WHERE org_id = $1 AND name = 'member-try'`, [org.id]);
  expect(rows).toEqual([]);
});
