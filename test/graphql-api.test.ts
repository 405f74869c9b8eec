import { createOrg, gid, ok, uuidOf } from './support/fixtures';
import { expectError } from './support/expect';
import { expectRefusedUnchanged, useGateway } from './support/harness';

const { gw, db, org } = useGateway({ orgs: ['api'] });
let token: string;

beforeAll(async () => {
  token = gw.token(org.id);
});

const CREATE_WS = `mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id name description createdAt updatedAt } }`;
const CREATE_ENV = `mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id workspaceId name slug tier deploymentHost executionBackend } }`;
const CREATE_COMP = `mutation($i: CreateComponentInput!) { createComponent(input: $i) { id workspaceId type name configuration } }`;

async function newWorkspace(name = 'Payments'): Promise<string> {
  return ok<any>(await gw.graphql(CREATE_WS, { i: { name } }, token)).createWorkspace.id;
}

/** Runs a request that must be refused and proves the database is exactly as before. */
const refused = (query: string, variables: Record<string, unknown>, code: string, fields?: string[], as = token) =>
  expectRefusedUnchanged(() => gw.graphql(query, variables, as), { code, fields }, db);

describe('viewer and organization', () => {
  test('viewer describes the token and its organization', async () => {
    const data = ok<any>(
      await gw.graphql(`{ viewer { subject scopes organization { id slug } } }`, {}, gw.token(org.id, ['org:read'])),
    );
    expect(data.viewer).toEqual({
      subject: 'user-1',
      scopes: ['org:read'],
      organization: { id: gid('Organization', org.id), slug: org.slug },
    });
  });

  test('organization returns every documented field with defaults', async () => {
    const data = ok<any>(
      await gw.graphql(
        `{ organization { id name slug status primaryDomain industry contactEmail billingEmail supportTier createdAt updatedAt } }`,
        {},
        token,
      ),
    );
    expect(data.organization).toMatchObject({
      id: gid('Organization', org.id),
      slug: org.slug,
      status: 'ACTIVE',
      supportTier: 'COMMUNITY',
      industry: null,
    });
  });

  test('updateOrganization changes the general settings', async () => {
    const data = ok<any>(
      await gw.graphql(
        `mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { name industry contactEmail billingEmail primaryDomain slug } }`,
        {
          i: {
            name: '  Acme Corp ',
            industry: 'Retail',
            contactEmail: 'ops@acme.test',
            billingEmail: 'billing@acme.test',
            primaryDomain: 'Acme.Test',
          },
        },
        token,
      ),
    );
    expect(data.updateOrganization).toEqual({
      name: 'Acme Corp',
      industry: 'Retail',
      contactEmail: 'ops@acme.test',
      billingEmail: 'billing@acme.test',
      primaryDomain: 'acme.test',
      slug: org.slug,
    });
    const row = await db.admin.query('SELECT name, industry FROM organizations WHERE id = $1', [org.id]);
    expect(row.rows[0]).toEqual({ name: 'Acme Corp', industry: 'Retail' });
  });

  test('updateOrganization refuses bad e-mails, domain and a null name, naming each field', async () => {
    await refused(
      `mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { name } }`,
      { i: { name: null, contactEmail: 'not-an-email', billingEmail: 'x@', primaryDomain: 'no spaces allowed' } },
      'BAD_USER_INPUT',
      ['name', 'contactEmail', 'billingEmail', 'primaryDomain'],
    );
  });

  test('updateOrganization cannot change slug, status or support tier', async () => {
    const response = await gw.graphql(
      `mutation { updateOrganization(input: { status: ARCHIVED }) { name } }`,
      {},
      token,
    );
    expect(response.body.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('workspaces', () => {
  test('create, read, update and delete a workspace', async () => {
    const created = ok<any>(
      await gw.graphql(CREATE_WS, { i: { name: ' Billing ', description: 'Money things' } }, token),
    ).createWorkspace;
    expect(created).toMatchObject({ name: 'Billing', description: 'Money things' });
    const read = ok<any>(
      await gw.graphql(`query($id: ID!) { workspace(id: $id) { id name description } }`, { id: created.id }, token),
    );
    expect(read.workspace).toEqual({ id: created.id, name: 'Billing', description: 'Money things' });

    const updated = ok<any>(
      await gw.graphql(
        `mutation($id: ID!) { updateWorkspace(id: $id, input: { name: "Invoices", description: null }) { name description updatedAt } }`,
        { id: created.id },
        token,
      ),
    ).updateWorkspace;
    expect(updated).toMatchObject({ name: 'Invoices', description: null });
    expect(new Date(updated.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(created.updatedAt).getTime());

    expect(
      ok<any>(await gw.graphql(`mutation($id: ID!) { deleteWorkspace(id: $id) }`, { id: created.id }, token))
        .deleteWorkspace,
    ).toBe(created.id);
    expectError(
      await gw.graphql(`query($id: ID!) { workspace(id: $id) { id } }`, { id: created.id }, token),
      'NOT_FOUND',
    );
  });

  test('createWorkspace refuses a blank name and an overlong description, naming both', async () => {
    await refused(CREATE_WS, { i: { name: '   ', description: 'x'.repeat(2001) } }, 'BAD_USER_INPUT', [
      'name',
      'description',
    ]);
  });

  test('createWorkspace refuses a name over 200 characters', async () => {
    await refused(CREATE_WS, { i: { name: 'x'.repeat(201) } }, 'BAD_USER_INPUT', ['name']);
  });

  test('createWorkspace refuses a missing name (GraphQL type check)', async () => {
    await refused(CREATE_WS, { i: { description: 'no name' } }, 'BAD_USER_INPUT');
  });

  test('updateWorkspace refuses a null name and leaves the row alone', async () => {
    const id = await newWorkspace();
    await refused(
      `mutation($id: ID!) { updateWorkspace(id: $id, input: { name: null }) { id } }`,
      { id },
      'BAD_USER_INPUT',
      ['name'],
    );
  });

  test('unknown and malformed ids all answer NOT_FOUND, like an id that never existed', async () => {
    const unknown = gid('Workspace', '01900000-0000-7000-8000-000000000000');
    const wrongType = ok<any>(
      await gw.graphql(
        `mutation($i: CreateComponentInput!) { createComponent(input: $i) { id } }`,
        { i: { workspaceId: await newWorkspace(), name: 'c', type: 'AGENT' } },
        token,
      ),
    ).createComponent.id;
    for (const id of [
      unknown,
      'not-a-uuid',
      '01900000-0000-7000-8000-000000000000',
      wrongType,
      `${unknown}=`,
      "1' OR '1'='1",
    ]) {
      await refused(`query($id: ID!) { workspace(id: $id) { id } }`, { id }, 'NOT_FOUND');
      await refused(
        `mutation($id: ID!) { updateWorkspace(id: $id, input: { name: "x" }) { id } }`,
        { id },
        'NOT_FOUND',
      );
      await refused(`mutation($id: ID!) { deleteWorkspace(id: $id) }`, { id }, 'NOT_FOUND');
      // node(id:) takes any type: only the component id finds something there.
      expect(ok<any>(await gw.graphql(`query($id: ID!) { node(id: $id) { id } }`, { id }, token)).node).toEqual(
        id === wrongType ? { id } : null,
      );
    }
  });

  test('deleting a workspace deletes its environments and components', async () => {
    const id = await newWorkspace();
    ok(await gw.graphql(CREATE_ENV, { i: { workspaceId: id, name: 'Dev', slug: 'dev', tier: 'DEV' } }, token));
    ok(await gw.graphql(CREATE_COMP, { i: { workspaceId: id, name: 'Bot', type: 'AGENT' } }, token));
    ok(await gw.graphql(`mutation($id: ID!) { deleteWorkspace(id: $id) }`, { id }, token));
    const left = await db.admin.query(
      `SELECT (SELECT count(*) FROM environments WHERE workspace_id = $1) + (SELECT count(*) FROM components WHERE workspace_id = $1) AS n`,
      [uuidOf(id)],
    );
    expect(Number(left.rows[0].n)).toBe(0);
  });
});

describe('pagination', () => {
  let workspaceIds: string[];
  beforeAll(async () => {
    const other = await createOrg(db, 'pages');
    const t = gw.token(other.id);
    workspaceIds = [];
    for (let i = 0; i < 5; i++)
      workspaceIds.push(ok<any>(await gw.graphql(CREATE_WS, { i: { name: `W${i}` } }, t)).createWorkspace.id);
    token2 = t;
  });
  let token2: string;
  const PAGE = `query($first: Int, $after: String) { organization { workspaces(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } } }`;

  test('pages follow creation order, with cursors and totalCount', async () => {
    const first = ok<any>(await gw.graphql(PAGE, { first: 2 }, token2)).organization.workspaces;
    expect(first.totalCount).toBe(5);
    expect(first.edges.map((e: any) => e.node.id)).toEqual(workspaceIds.slice(0, 2));
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges[1].cursor });
    const second = ok<any>(await gw.graphql(PAGE, { first: 2, after: first.pageInfo.endCursor }, token2)).organization
      .workspaces;
    expect(second.edges.map((e: any) => e.node.id)).toEqual(workspaceIds.slice(2, 4));
    const last = ok<any>(await gw.graphql(PAGE, { first: 2, after: second.pageInfo.endCursor }, token2)).organization
      .workspaces;
    expect(last.edges.map((e: any) => e.node.id)).toEqual(workspaceIds.slice(4));
    expect(last.pageInfo.hasNextPage).toBe(false);
  });

  test('the default page size is 20 and the cap is 100', async () => {
    const data = ok<any>(await gw.graphql(`{ organization { workspaces { edges { node { id } } } } }`, {}, token2));
    expect(data.organization.workspaces.edges).toHaveLength(5);
    for (const first of [0, -1, 101]) {
      const response = await gw.graphql(PAGE, { first }, token2);
      expect(response.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(response.body.errors?.[0].extensions.fields.map((f: any) => f.field)).toEqual(['first']);
    }
  });

  test('a cursor that this API did not issue is refused', async () => {
    const response = await gw.graphql(PAGE, { first: 2, after: 'bm9wZQ' }, token2);
    expectError(response, 'BAD_USER_INPUT', ['after']);
  });
});

describe('environments', () => {
  let ws: string;
  beforeAll(async () => {
    ws = await newWorkspace('Env home');
  });

  test('create, read (with its workspace), update and delete an environment', async () => {
    const created = ok<any>(
      await gw.graphql(
        CREATE_ENV,
        {
          i: {
            workspaceId: ws,
            name: 'Production',
            slug: 'prod',
            tier: 'PROD',
            deploymentHost: 'AWS',
            executionBackend: { region: 'eu-west-1' },
          },
        },
        token,
      ),
    ).createEnvironment;
    expect(created).toMatchObject({
      workspaceId: ws,
      slug: 'prod',
      tier: 'PROD',
      deploymentHost: 'AWS',
      executionBackend: { region: 'eu-west-1' },
    });
    const read = ok<any>(
      await gw.graphql(`query($id: ID!) { environment(id: $id) { slug workspace { id } } }`, { id: created.id }, token),
    );
    expect(read.environment).toEqual({ slug: 'prod', workspace: { id: ws } });
    const updated = ok<any>(
      await gw.graphql(
        `mutation($id: ID!) { updateEnvironment(id: $id, input: { tier: STAGE, slug: "staging", executionBackend: {} }) { tier slug executionBackend deploymentHost } }`,
        { id: created.id },
        token,
      ),
    ).updateEnvironment;
    expect(updated).toEqual({ tier: 'STAGE', slug: 'staging', executionBackend: {}, deploymentHost: 'AWS' });
    ok(await gw.graphql(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: created.id }, token));
    expectError(
      await gw.graphql(`query($id: ID!) { environment(id: $id) { id } }`, { id: created.id }, token),
      'NOT_FOUND',
    );
  });

  test('deployment host defaults to localhost and execution backend to {}', async () => {
    const created = ok<any>(
      await gw.graphql(CREATE_ENV, { i: { workspaceId: ws, name: 'Dev', slug: 'dev-default', tier: 'DEV' } }, token),
    ).createEnvironment;
    expect(created).toMatchObject({ deploymentHost: 'LOCALHOST', executionBackend: {} });
  });

  test('createEnvironment names every bad field at once', async () => {
    await refused(
      CREATE_ENV,
      {
        i: {
          workspaceId: ws,
          name: ' ',
          slug: 'Not A Slug',
          tier: 'DEV',
          executionBackend: { big: 'x'.repeat(17000) },
        },
      },
      'BAD_USER_INPUT',
      ['name', 'slug', 'executionBackend'],
    );
  });

  test('createEnvironment refuses an unknown tier, a JSON array as backend and a malformed workspace id', async () => {
    await refused(CREATE_ENV, { i: { workspaceId: ws, name: 'X', slug: 'x', tier: 'qa' } }, 'BAD_USER_INPUT');
    await refused(
      CREATE_ENV,
      { i: { workspaceId: ws, name: 'X', slug: 'x', tier: 'DEV', executionBackend: [1, 2] } },
      'BAD_USER_INPUT',
    );
    await refused(CREATE_ENV, { i: { workspaceId: 'nope', name: 'X', slug: 'x', tier: 'DEV' } }, 'NOT_FOUND');
  });

  test('an environment slug is unique within its workspace, not across workspaces', async () => {
    ok(await gw.graphql(CREATE_ENV, { i: { workspaceId: ws, name: 'QA', slug: 'qa', tier: 'STAGE' } }, token));
    await refused(
      CREATE_ENV,
      { i: { workspaceId: ws, name: 'QA again', slug: 'qa', tier: 'STAGE' } },
      'BAD_USER_INPUT',
      ['slug'],
    );
    const otherWs = await newWorkspace('Other');
    ok(await gw.graphql(CREATE_ENV, { i: { workspaceId: otherWs, name: 'QA', slug: 'qa', tier: 'STAGE' } }, token));
  });

  test('updateEnvironment refuses a taken slug and a null tier', async () => {
    const a = ok<any>(
      await gw.graphql(CREATE_ENV, { i: { workspaceId: ws, name: 'A', slug: 'a', tier: 'DEV' } }, token),
    ).createEnvironment.id;
    ok(await gw.graphql(CREATE_ENV, { i: { workspaceId: ws, name: 'B', slug: 'b', tier: 'DEV' } }, token));
    await refused(
      `mutation($id: ID!) { updateEnvironment(id: $id, input: { slug: "b" }) { id } }`,
      { id: a },
      'BAD_USER_INPUT',
      ['slug'],
    );
    await refused(
      `mutation($id: ID!) { updateEnvironment(id: $id, input: { tier: null }) { id } }`,
      { id: a },
      'BAD_USER_INPUT',
      ['tier'],
    );
  });

  test('an environment in a workspace that does not exist is NOT_FOUND', async () => {
    await refused(
      CREATE_ENV,
      { i: { workspaceId: '01900000-0000-7000-8000-000000000001', name: 'X', slug: 'x', tier: 'DEV' } },
      'NOT_FOUND',
    );
  });

  test('workspace.environments lists them with totalCount', async () => {
    const home = await newWorkspace('Listed');
    for (const slug of ['one', 'two', 'three'])
      ok(await gw.graphql(CREATE_ENV, { i: { workspaceId: home, name: slug, slug, tier: 'DEV' } }, token));
    const data = ok<any>(
      await gw.graphql(
        `query($id: ID!) { workspace(id: $id) { environments(first: 2) { totalCount pageInfo { hasNextPage } edges { node { slug } } } } }`,
        { id: home },
        token,
      ),
    );
    expect(data.workspace.environments).toEqual({
      totalCount: 3,
      pageInfo: { hasNextPage: true },
      edges: [{ node: { slug: 'one' } }, { node: { slug: 'two' } }],
    });
  });
});

describe('components', () => {
  let ws: string;
  beforeAll(async () => {
    ws = await newWorkspace('Component home');
  });

  test('create, read, update and delete a component', async () => {
    const created = ok<any>(
      await gw.graphql(
        CREATE_COMP,
        { i: { workspaceId: ws, name: 'Router', type: 'WORKFLOW', configuration: { steps: 3 } } },
        token,
      ),
    ).createComponent;
    expect(created).toMatchObject({ workspaceId: ws, type: 'WORKFLOW', name: 'Router', configuration: { steps: 3 } });
    const read = ok<any>(
      await gw.graphql(`query($id: ID!) { component(id: $id) { name workspace { id } } }`, { id: created.id }, token),
    );
    expect(read.component).toEqual({ name: 'Router', workspace: { id: ws } });
    const updated = ok<any>(
      await gw.graphql(
        `mutation($id: ID!) { updateComponent(id: $id, input: { name: "Router 2", configuration: { steps: 4 } }) { name configuration type } }`,
        { id: created.id },
        token,
      ),
    );
    expect(updated.updateComponent).toEqual({ name: 'Router 2', configuration: { steps: 4 }, type: 'WORKFLOW' });
    ok(await gw.graphql(`mutation($id: ID!) { deleteComponent(id: $id) }`, { id: created.id }, token));
    expectError(
      await gw.graphql(`query($id: ID!) { component(id: $id) { id } }`, { id: created.id }, token),
      'NOT_FOUND',
    );
  });

  test('createComponent refuses a blank name and oversized configuration, naming both', async () => {
    await refused(
      CREATE_COMP,
      { i: { workspaceId: ws, name: '', type: 'AGENT', configuration: { blob: 'x'.repeat(70000) } } },
      'BAD_USER_INPUT',
      ['name', 'configuration'],
    );
  });

  test('createComponent refuses an unknown type and a workspace that does not exist', async () => {
    await refused(CREATE_COMP, { i: { workspaceId: ws, name: 'X', type: 'robot' } }, 'BAD_USER_INPUT');
    await refused(
      CREATE_COMP,
      { i: { workspaceId: '01900000-0000-7000-8000-000000000002', name: 'X', type: 'AGENT' } },
      'NOT_FOUND',
    );
  });

  test('updateComponent refuses a null configuration', async () => {
    const id = ok<any>(await gw.graphql(CREATE_COMP, { i: { workspaceId: ws, name: 'Keep', type: 'AGENT' } }, token))
      .createComponent.id;
    await refused(
      `mutation($id: ID!) { updateComponent(id: $id, input: { configuration: null }) { id } }`,
      { id },
      'BAD_USER_INPUT',
      ['configuration'],
    );
  });
});

describe('scopes', () => {
  test('a token without workspaces:write cannot create a workspace', async () => {
    await refused(
      CREATE_WS,
      { i: { name: 'Nope' } },
      'FORBIDDEN',
      undefined,
      gw.token(org.id, ['workspaces:read', 'org:read']),
    );
  });

  test('org:read alone reads the organization but not its workspaces', async () => {
    const response = await gw.graphql(
      `{ organization { slug workspaces { totalCount } } }`,
      {},
      gw.token(org.id, ['org:read']),
    );
    expect(response.body.errors?.map((e) => [e.extensions.code, e.path?.join('.')])).toEqual([
      ['FORBIDDEN', 'organization.workspaces'],
    ]);
  });

  test('components:read is needed for components, even nested under a readable workspace', async () => {
    const ws = await newWorkspace('Scoped');
    const response = await gw.graphql(
      `query($id: ID!) { workspace(id: $id) { name components { totalCount } } }`,
      { id: ws },
      gw.token(org.id, ['workspaces:read']),
    );
    expect(response.body.data?.workspace).toBeNull();
    expect(response.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });

  test('no token: UNAUTHENTICATED on every guarded field', async () => {
    for (const query of [
      `{ organization { id } }`,
      `{ viewer { subject } }`,
      `{ workspace(id: "01900000-0000-7000-8000-000000000000") { id } }`,
    ]) {
      const response = await gw.graphql(query);
      // 401 when nothing could be answered; a response with data (here {workspace: null}) is 200 by the
      // GraphQL-over-HTTP spec. Either way the Bearer challenge is there.
      expect(response.status).toBe(response.body.data === null ? 401 : 200);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="manifest-gateway"');
      expect(response.body.errors?.map((e) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
      expect(
        response.body.data?.organization ?? response.body.data?.viewer ?? response.body.data?.workspace ?? null,
      ).toBeNull();
    }
  });
});

describe('one request, one transaction', () => {
  test('a failed mutation is rolled back alone; the next mutation of the operation still applies', async () => {
    const before = await db.admin.query(`SELECT count(*) FROM workspaces WHERE org_id = $1`, [org.id]);
    const response = await gw.graphql(
      `mutation { bad: updateWorkspace(id: "01900000-0000-7000-8000-000000000009", input: { name: "x" }) { id } good: createWorkspace(input: { name: "After failure" }) { id } }`,
      {},
      token,
    );
    expect(response.body.errors?.map((e) => [e.extensions.code, e.path?.[0]])).toEqual([['NOT_FOUND', 'bad']]);
    expect(response.body.data?.good?.id).toEqual(expect.any(String));
    const after = await db.admin.query(`SELECT count(*) FROM workspaces WHERE org_id = $1`, [org.id]);
    expect(Number(after.rows[0].count)).toBe(Number(before.rows[0].count) + 1);
  });

  test('mutation results are nullable, so one failure does not void the others', async () => {
    const response = await gw.graphql(
      `mutation { a: deleteWorkspace(id: "01900000-0000-7000-8000-00000000000a") b: createWorkspace(input: { name: "B" }) { name } }`,
      {},
      token,
    );
    expect(response.body.data).toEqual({ a: null, b: { name: 'B' } });
  });
});

describe('query limits', () => {
  test('a query that could return more than 50 000 nodes is refused before it runs', async () => {
    const envs = Array.from({ length: 6 }, (_, i) => `e${i}: environments(first: 100) { edges { node { id } } }`).join(
      ' ',
    );
    const response = await gw.graphql(
      `{ organization { workspaces(first: 100) { edges { node { ${envs} } } } } }`,
      {},
      token,
    );
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(response.body.errors?.[0].message).toMatch(/60100 nodes; the limit is 50000/);
    expect(response.body.extensions?.sql).toBeUndefined(); // refused before any SQL
  });

  test('a query deeper than the depth limit is refused', async () => {
    const deep = `{ environment(id: "01900000-0000-7000-8000-000000000000") { workspace { environments { edges { node { workspace { environments { edges { node { workspace { id } } } } } } } } } } }`;
    const response = await gw.graphql(deep, {}, token);
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(response.body.errors?.[0].message).toMatch(/depth/i);
  });

  test('too many aliases are refused', async () => {
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: viewer { subject }`).join(' ');
    const response = await gw.graphql(`{ ${aliases} }`, {}, token);
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(response.body.errors?.[0].message).toMatch(/alias/i);
  });
});
