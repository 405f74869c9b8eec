import fs from 'node:fs';
import path from 'node:path';
import { getIntrospectionQuery, type IntrospectionQuery, type IntrospectionType } from 'graphql';
import { expectError } from './support/expect';
import { createOrg, gid, ok, uuidOf } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * The conventions client authors expect (issue 8, point 6), checked on the live schema by introspection:
 * SCREAMING_SNAKE_CASE enum values, @specifiedBy on custom scalars, the Relay Node interface with
 * node/nodes, backward pagination, list filters, and a description on everything.
 */
const { gw, db, org } = useGateway({ orgs: ['conventions'], timeout: 60000 });
let token: string;
let schema: IntrospectionQuery['__schema'];
let workspace: string;
const components: string[] = [];

beforeAll(async () => {
  token = gw.token(org.id);
  schema = ok<IntrospectionQuery>(
    await gw.graphql(getIntrospectionQuery({ specifiedByUrl: true, inputValueDeprecation: true }), {}, token),
  ).__schema;
  workspace = ok<any>(
    await gw.graphql(`mutation { createWorkspace(input: { name: "Conventions" }) { id } }`, {}, token),
  ).createWorkspace.id;
  for (const [i, type] of ['AGENT', 'WORKFLOW', 'CODE_BLOCK', 'AGENT', 'HOSTED_SERVICE'].entries()) {
    const created = ok<any>(
      await gw.graphql(
        `mutation($i: CreateComponentInput!) { createComponent(input: $i) { id } }`,
        { i: { workspaceId: workspace, name: `c${i}`, type } },
        token,
      ),
    );
    components.push(created.createComponent.id);
  }
  for (const [slug, tier] of [
    ['dev', 'DEV'],
    ['prod', 'PROD'],
  ]) {
    ok(
      await gw.graphql(
        `mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`,
        { i: { workspaceId: workspace, name: slug, slug, tier } },
        token,
      ),
    );
  }
}, 60000);

const userTypes = () => schema.types.filter((t) => !t.name.startsWith('__'));

describe('introspection', () => {
  test('every enum value is SCREAMING_SNAKE_CASE; stored values stay lower-case', async () => {
    const enums = userTypes().filter((t): t is Extract<IntrospectionType, { kind: 'ENUM' }> => t.kind === 'ENUM');
    expect(enums.length).toBeGreaterThanOrEqual(15);
    const offending = enums.flatMap((e) =>
      e.enumValues.filter((v) => !/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(v.name)).map((v) => `${e.name}.${v.name}`),
    );
    expect(offending).toEqual([]);
    const { rows } = await db.admin.query(`SELECT type FROM components WHERE id = $1`, [uuidOf(components[2])]);
    expect(rows).toEqual([{ type: 'code_block' }]);
  });

  test('every custom scalar names its specification with @specifiedBy, in introspection and in schema.graphql', () => {
    const builtIn = new Set(['String', 'Int', 'Float', 'Boolean', 'ID']);
    const custom = userTypes().filter((t) => t.kind === 'SCALAR' && !builtIn.has(t.name)) as Array<{
      name: string;
      specifiedByURL?: string | null;
    }>;
    expect(custom.map((s) => s.name).sort()).toEqual(['DateTimeISO', 'JSONObject', 'LocalDate', 'SafeInt']);
    for (const scalar of custom)
      expect({ scalar: scalar.name, url: scalar.specifiedByURL }).toEqual({
        scalar: scalar.name,
        url: expect.stringMatching(/^https?:\/\//),
      });
    const printed = fs.readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8');
    for (const scalar of custom)
      expect(printed).toContain(`scalar ${scalar.name} @specifiedBy(url: "${scalar.specifiedByURL}")`);
  });

  test('the specified directives are there beside the auth directives', () => {
    expect(schema.directives.map((d) => d.name).sort()).toEqual([
      'authenticated',
      'deprecated',
      'include',
      'oneOf',
      'requiresScopes',
      'skip',
      'specifiedBy',
    ]);
  });

  test('Node is implemented by every object with a global identity', () => {
    const node = schema.types.find((t) => t.name === 'Node') as any;
    expect(node.kind).toBe('INTERFACE');
    expect(node.possibleTypes.map((t: any) => t.name).sort()).toEqual([
      'ApiKey',
      'AuditEntry',
      'Component',
      'Connector',
      'CreditLedgerEntry',
      'DeploymentPromotion',
      'DeploymentRing',
      'Environment',
      'Organization',
      'ProductSubscription',
      'Workspace',
    ]);
  });

  test('every type, field, argument, enum value, input field and scalar has a description', () => {
    const missing: string[] = [];
    const described = (text: string | null | undefined) => typeof text === 'string' && text.trim().length >= 8;
    for (const type of userTypes() as any[]) {
      if (!described(type.description)) missing.push(type.name);
      for (const field of type.fields ?? []) {
        if (!described(field.description)) missing.push(`${type.name}.${field.name}`);
        for (const arg of field.args ?? [])
          if (!described(arg.description)) missing.push(`${type.name}.${field.name}(${arg.name}:)`);
      }
      for (const field of type.inputFields ?? [])
        if (!described(field.description)) missing.push(`${type.name}.${field.name}`);
      for (const value of type.enumValues ?? [])
        if (!described(value.description)) missing.push(`${type.name}.${value.name}`);
    }
    expect(missing).toEqual([]);
  });
});

describe('node and nodes', () => {
  const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on Component { name type } ... on Workspace { name } } }`;

  test('node answers any object by its global id; ids are opaque base64url of Type:uuid', async () => {
    expect(ok<any>(await gw.graphql(NODE, { id: components[0] }, token)).node).toEqual({
      __typename: 'Component',
      id: components[0],
      name: 'c0',
      type: 'AGENT',
    });
    expect(ok<any>(await gw.graphql(NODE, { id: workspace }, token)).node).toEqual({
      __typename: 'Workspace',
      id: workspace,
      name: 'Conventions',
    });
    expect(ok<any>(await gw.graphql(NODE, { id: gid('Organization', org.id) }, token)).node).toEqual({
      __typename: 'Organization',
      id: gid('Organization', org.id),
    });
    expect(components[0]).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(components[0], 'base64url').toString()).toMatch(/^Component:[0-9a-f-]{36}$/);
  });

  test("another organization's id, a deleted one and a malformed one are all null", async () => {
    const other = await createOrg(db, 'other');
    const otherToken = gw.token(other.id);
    const theirs = ok<any>(
      await gw.graphql(`mutation { createWorkspace(input: { name: "Theirs" }) { id } }`, {}, otherToken),
    ).createWorkspace.id;
    const deleted = ok<any>(await gw.graphql(`mutation { createWorkspace(input: { name: "Gone" }) { id } }`, {}, token))
      .createWorkspace.id;
    ok(await gw.graphql(`mutation($id: ID!) { deleteWorkspace(id: $id) }`, { id: deleted }, token));
    for (const id of [theirs, deleted, gid('Organization', other.id), 'bm9wZQ', '', uuidOf(workspace)]) {
      const response = await gw.graphql(NODE, { id }, token);
      expect({ id, errors: response.body.errors, node: response.body.data?.node }).toEqual({
        id,
        errors: undefined,
        node: null,
      });
    }
  });

  test('NOT_FOUND names the id as the client sent it, never the stored UUID', async () => {
    const uuid = '01900000-0000-7000-8000-00000000abcd';
    const response = await gw.graphql(
      `query($id: ID!) { workspace(id: $id) { id } }`,
      { id: gid('Workspace', uuid) },
      token,
    );
    expectError(response, 'NOT_FOUND');
    expect(response.body.errors![0].message).toBe(`Workspace ${gid('Workspace', uuid)} not found`);
  });

  test('node does not bypass scopes: the read scope of the type the id names is required', async () => {
    const noComponents = gw.token(org.id, ['org:read', 'workspaces:read']);
    expectError(
      await gw.graphql(`query($id: ID!) { node(id: $id) { __typename } }`, { id: components[0] }, noComponents),
      'FORBIDDEN',
    );
    // The same answer whether or not the component exists: the scope is checked before the lookup.
    expectError(
      await gw.graphql(
        `query($id: ID!) { node(id: $id) { __typename } }`,
        { id: gid('Component', '01900000-0000-7000-8000-000000000000') },
        noComponents,
      ),
      'FORBIDDEN',
    );
    expect(
      ok<any>(await gw.graphql(`query($id: ID!) { node(id: $id) { __typename } }`, { id: workspace }, noComponents))
        .node,
    ).toEqual({ __typename: 'Workspace' });
    const anonymous = await gw.graphql(`query($id: ID!) { node(id: $id) { __typename } }`, { id: workspace });
    expect(anonymous.body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('nodes answers in order, null for the invisible, and is batched: statements do not grow with the ids', async () => {
    const query = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`;
    const small = await gw.graphql(query, { ids: [components[0], workspace] }, token);
    const large = await gw.graphql(query, { ids: [...components, workspace, 'nope'] }, token);
    expect(ok<any>(large).nodes).toEqual([...components.map((id) => ({ id })), { id: workspace }, null]);
    expect(large.body.extensions.sql.statements).toBe(small.body.extensions.sql.statements);
    const noComponents = gw.token(org.id, ['org:read', 'workspaces:read']);
    const mixed = await gw.graphql(query, { ids: [workspace, components[0]] }, noComponents);
    expect(mixed.body.data?.nodes).toEqual([{ id: workspace }, null]);
    expect(mixed.body.errors?.map((e) => [e.extensions.code, e.path])).toEqual([['FORBIDDEN', ['nodes', 1]]]);
    expectError(
      await gw.graphql(query, { ids: Array.from({ length: 101 }, () => workspace) }, token),
      'BAD_USER_INPUT',
      ['ids'],
    );
  });
});

describe('pagination in both directions', () => {
  const PAGE = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    workspace(id: $id) { components(first: $first, after: $after, last: $last, before: $before) {
      totalCount edges { node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
  const page = async (variables: Record<string, unknown>) =>
    ok<any>(await gw.graphql(PAGE, { id: workspace, ...variables }, token)).workspace.components;

  test('last/before walk back through the same list, in list order', async () => {
    const end = await page({ last: 2 });
    expect(end.edges.map((e: any) => e.node.id)).toEqual(components.slice(3));
    expect(end.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const middle = await page({ last: 2, before: end.pageInfo.startCursor });
    expect(middle.edges.map((e: any) => e.node.id)).toEqual(components.slice(1, 3));
    const start = await page({ last: 2, before: middle.pageInfo.startCursor });
    expect(start.edges.map((e: any) => e.node.id)).toEqual(components.slice(0, 1));
    expect(start.pageInfo).toMatchObject({
      hasPreviousPage: false,
      startCursor: start.edges[0].cursor ?? start.pageInfo.startCursor,
    });
    // Forward from the start meets the same items.
    const forward = await page({ first: 2, after: start.pageInfo.endCursor });
    expect(forward.edges.map((e: any) => e.node.id)).toEqual(components.slice(1, 3));
    expect(forward.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(forward.totalCount).toBe(5);
  });

  test('mixing directions or sizes out of range is BAD_USER_INPUT', async () => {
    const cursor = (await page({ first: 1 })).pageInfo.endCursor;
    expectError(await gw.graphql(PAGE, { id: workspace, first: 1, last: 1 }, token), 'BAD_USER_INPUT', ['last']);
    expectError(await gw.graphql(PAGE, { id: workspace, first: 1, before: cursor }, token), 'BAD_USER_INPUT', [
      'before',
    ]);
    expectError(await gw.graphql(PAGE, { id: workspace, last: 1, after: cursor }, token), 'BAD_USER_INPUT', ['after']);
    expectError(await gw.graphql(PAGE, { id: workspace, last: 101 }, token), 'BAD_USER_INPUT', ['last']);
    expectError(await gw.graphql(PAGE, { id: workspace, last: 1, before: 'bm9wZQ' }, token), 'BAD_USER_INPUT', [
      'before',
    ]);
  });

  test('the node limit counts last like first', async () => {
    const response = await gw.graphql(
      `{ organization { a: workspaces(last: 100) { ...W } b: workspaces(last: 100) { ...W } } } fragment W on WorkspaceConnection { edges { node { components(last: 100) { edges { node { id } } } environments(last: 100) { edges { node { id } } } connectors(last: 100) { edges { node { id } } } } } }`,
      {},
      token,
    );
    expect(response.body.data ?? null).toBeNull();
    expect(response.body.errors?.[0].message).toMatch(/up to 60200 nodes; the limit is/);
  });
});

describe('filters', () => {
  test('components(type:), environments(tier:) and connectors(kind:) filter the list and its totalCount', async () => {
    const data = ok<any>(
      await gw.graphql(
        `query($id: ID!) { workspace(id: $id) {
          agents: components(type: AGENT) { totalCount edges { node { id type } } }
          all: components { totalCount }
          prod: environments(tier: PROD) { totalCount edges { node { slug tier } } }
          apis: connectors(kind: API) { totalCount }
        } }`,
        { id: workspace },
        token,
      ),
    ).workspace;
    expect(data.agents.edges.map((e: any) => e.node)).toEqual([
      { id: components[0], type: 'AGENT' },
      { id: components[3], type: 'AGENT' },
    ]);
    expect([data.agents.totalCount, data.all.totalCount]).toEqual([2, 5]);
    expect(data.prod).toEqual({ totalCount: 1, edges: [{ node: { slug: 'prod', tier: 'PROD' } }] });
    expect(data.apis.totalCount).toBe(0);
  });
});
