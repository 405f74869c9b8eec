import { createOrg, ok, seedTreeSql } from './support/fixtures';
import { useGateway } from './support/harness';
import { startGateway, type RunningGateway } from './support/gateway';
import { TENANT_ROLE } from '../src/db/tenant-role';
import { W1_QUERY } from './support/queries';

/**
 * Issue 11: the workspace, environment and component lists read only the columns of the fields a query
 * asks for (GraphQL lookahead, src/graphql/pagination.ts connectionLookahead; src/db/sql.ts selectList).
 * Proved with PostgreSQL's own column privileges, not by reading our SQL: while the tenant role may read
 * only the keys and the asked columns of the three tables, the W1 query still answers, and the same
 * answer as with every privilege; a field whose column is withheld fails, which shows the restriction bites.
 */
// graphql-armor counts fragment spreads and inline fragments as depth: room for W1_FRAGMENTS.
// The loaders' path (GRAPHQL_SQL_PLAN=off); `planned` is a second gateway with the compiled read path
// (src/graphql/sql-plan) on, which must read only the asked columns too.
const { gw, db } = useGateway({ env: { GRAPHQL_MAX_DEPTH: '20', GRAPHQL_SQL_PLAN: 'off' } });
let planned: RunningGateway;
beforeAll(async () => {
  planned = await startGateway({
    databaseUrl: db.url,
    key: gw.key,
    env: { GRAPHQL_MAX_DEPTH: '20', GRAPHQL_SQL_PLAN: 'on' },
  });
});
afterAll(async () => {
  await planned?.stop();
});

const W1 = W1_QUERY;

/** The same fields through aliases, fragment spreads and inline fragments at every level. */
const W1_FRAGMENTS = `
query {
  organization { ws: workspaces(first: 100) { ...Count edges { ...WorkspaceEdge } } }
}
fragment Count on WorkspaceConnection { totalCount }
fragment WorkspaceEdge on WorkspaceEdge { node { id label: name ...Children } }
fragment Children on Workspace {
  envs: environments(first: 100) { totalCount edges { node { ...Env } } }
  components(first: 100) { edges { node { __typename type ... on Component { name id } } } totalCount }
}
fragment Env on Environment { id slug tier }`;

/** Only the keys and the columns W1 reads (the count, the RLS policies and the parent keys need the rest of these). */
const RESTRICT = `
  REVOKE SELECT ON workspaces, environments, components FROM ${TENANT_ROLE};
  GRANT SELECT (org_id, id, name) ON workspaces TO ${TENANT_ROLE};
  GRANT SELECT (org_id, id, workspace_id, slug, tier) ON environments TO ${TENANT_ROLE};
  GRANT SELECT (org_id, id, workspace_id, name, type) ON components TO ${TENANT_ROLE};`;
const RESTORE = `
  REVOKE SELECT ON workspaces, environments, components FROM ${TENANT_ROLE};
  GRANT SELECT ON workspaces, environments, components TO ${TENANT_ROLE};`;

async function restricted<T>(run: () => Promise<T>): Promise<T> {
  await db.admin.query(RESTRICT);
  try {
    return await run();
  } finally {
    await db.admin.query(RESTORE);
  }
}

/** The W1 answer with its aliases put back to the field names. */
function normalised(data: any) {
  const ws = data.organization.ws ?? data.organization.workspaces;
  return {
    totalCount: ws.totalCount,
    workspaces: ws.edges.map(({ node }: any) => ({
      id: node.id,
      name: node.label ?? node.name,
      environments: (node.envs ?? node.environments).edges.map((e: any) => e.node),
      environmentCount: (node.envs ?? node.environments).totalCount,
      components: node.components.edges.map(({ node: c }: any) => ({ id: c.id, name: c.name, type: c.type })),
      componentCount: node.components.totalCount,
    })),
  };
}

test('W1 reads only the keys and the asked columns of workspaces, environments and components', async () => {
  const org = await createOrg(db, 'columns');
  await seedTreeSql(db.admin, org.id, { workspaces: 3, environments: 4, components: 2 });
  const token = gw.token(org.id);
  const full = await gw.graphql(W1, {}, token);
  const expected = normalised(ok(full));
  expect(expected.totalCount).toBe(3);
  expect(expected.workspaces[0].environments).toHaveLength(4);

  await restricted(async () => {
    const response = await gw.graphql(W1, {}, token);
    expect(normalised(ok(response))).toEqual(expected);
    // Still the same round trips: the lookahead changes the select lists, not the statements.
    expect(response.body.extensions.sql.statements).toBe(full.body.extensions.sql.statements);
    expect(normalised(ok(await gw.graphql(W1_FRAGMENTS, {}, token)))).toEqual(expected);

    // The restriction is real: each field below reads a column withheld from the tenant role.
    for (const query of [
      '{ organization { workspaces { edges { node { id createdAt } } } } }',
      '{ organization { workspaces { edges { node { description } } } } }',
      '{ organization { workspaces { edges { node { environments { edges { node { id executionBackend } } } } } } } }',
      '{ organization { workspaces { edges { node { components { edges { node { updatedAt } } } } } } } }',
      // A field resolver the list does not know (Environment.credentials) makes it read every column.
      '{ organization { workspaces { edges { node { environments { edges { node { id credentials { isSet } } } } } } } } }',
    ]) {
      const refused = await gw.graphql(query, {}, token);
      expect(refused.body.errors?.length).toBeGreaterThan(0);
      // The planned statement fails on the withheld column too: the request falls back to the normal path
      // (the opening is rolled back and sent again without the plan) and answers exactly as it does.
      const plannedRefusal = await planned.graphql(query, {}, token);
      for (const error of [...(refused.body.errors ?? []), ...(plannedRefusal.body.errors ?? [])])
        delete error.extensions.requestId;
      expect({ data: plannedRefusal.body.data, errors: plannedRefusal.body.errors }).toEqual({
        data: refused.body.data,
        errors: refused.body.errors,
      });
    }
    // The compiled read path reads only the asked columns as well: W1 planned (2 round trips), same answer.
    const plannedW1 = await planned.graphql(W1, {}, token);
    expect(normalised(ok(plannedW1))).toEqual(expected);
    expect(plannedW1.body.extensions.sql.statements).toBe(2);
    expect(normalised(ok(await planned.graphql(W1_FRAGMENTS, {}, token)))).toEqual(expected);
  });
});

test('every field of every list answers the stored values, as the by-id reads (every column) do', async () => {
  const org = await createOrg(db, 'allfields');
  await seedTreeSql(db.admin, org.id, { workspaces: 2, environments: 2, components: 2 });
  await db.admin.query(`UPDATE workspaces SET description = 'd-' || name WHERE org_id = $1`, [org.id]);
  await db.admin.query(`UPDATE components SET configuration = jsonb_build_object('n', name) WHERE org_id = $1`, [
    org.id,
  ]);
  await db.admin.query(
    `UPDATE environments SET execution_backend = jsonb_build_object('slug', slug) WHERE org_id = $1`,
    [org.id],
  );
  const token = gw.token(org.id);
  const WORKSPACE = 'id name description createdAt updatedAt';
  const ENVIRONMENT =
    'id name slug tier deploymentHost executionBackend createdAt updatedAt workspaceId workspace { id name } credentials { isSet provider }';
  const COMPONENT = 'id name type configuration createdAt updatedAt workspaceId workspace { id }';
  const listed = ok<any>(
    await gw.graphql(
      `{ organization { workspaces { edges { node { ${WORKSPACE}
          environments { edges { node { ${ENVIRONMENT} } } }
          components { edges { node { ${COMPONENT} } } } } } } } }`,
      {},
      token,
    ),
  ).organization.workspaces.edges.map((e: any) => e.node);
  expect(listed).toHaveLength(2);
  for (const workspace of listed) {
    expect(workspace.description).toBe(`d-${workspace.name}`);
    const { environments, components, ...own } = workspace;
    const byId = ok<any>(
      await gw.graphql(
        `query($w: ID!, $e: ID!, $c: ID!) {
          workspace(id: $w) { ${WORKSPACE} }
          environment(id: $e) { ${ENVIRONMENT} }
          component(id: $c) { ${COMPONENT} } }`,
        { w: workspace.id, e: environments.edges[0].node.id, c: components.edges[0].node.id },
        token,
      ),
    );
    expect(byId.workspace).toEqual(own);
    expect(byId.environment).toEqual(environments.edges[0].node);
    expect(byId.component).toEqual(components.edges[0].node);
    expect(byId.component.configuration).toEqual({ n: byId.component.name });
    expect(byId.environment.executionBackend).toEqual({ slug: byId.environment.slug });
    expect(byId.environment.workspace.id).toBe(workspace.id);
  }
});

test('a node read through node(id:) still resolves its concrete type (entities keep their prototype)', async () => {
  const org = await createOrg(db, 'nodes');
  await seedTreeSql(db.admin, org.id, { workspaces: 1, environments: 1, components: 1 });
  const token = gw.token(org.id);
  const tree = ok<any>(await gw.graphql(W1, {}, token)).organization.workspaces.edges[0].node;
  const ids = [tree.id, tree.environments.edges[0].node.id, tree.components.edges[0].node.id];
  const { nodes } = ok<any>(
    await gw.graphql(`query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`, { ids }, token),
  );
  expect(nodes).toEqual([
    { __typename: 'Workspace', id: ids[0] },
    { __typename: 'Environment', id: ids[1] },
    { __typename: 'Component', id: ids[2] },
  ]);
});

test('page arguments are validated in every field, also when the same arguments come again in the request', async () => {
  const org = await createOrg(db, 'validation');
  await seedTreeSql(db.admin, org.id, { workspaces: 1, environments: 1, components: 1 });
  const token = gw.token(org.id);
  const w = ok<any>(await gw.graphql(W1, {}, token)).organization.workspaces.edges[0].node.id;
  // workspace(id:) is nullable, so each refused field's error stays its own (no null bubbling to the root).
  const refusals = async (sizes: number[]) => {
    const fields = sizes.map((n, i) => `w${i}: workspace(id: $w) { environments(first: ${n}) { totalCount } }`);
    const response = await gw.graphql(`query($w: ID!) { ${fields.join(' ')} }`, { w }, token);
    return {
      data: response.body.data,
      refused: (response.body.errors ?? []).map((e: any) => `${e.extensions.code} ${e.path.join('.')}`).sort(),
    };
  };
  // The same valid size three times, then a different, invalid one: only that one is refused.
  const mixed = await refusals([5, 5, 5, 101]);
  expect(mixed.refused).toEqual(['BAD_USER_INPUT w3.environments']);
  expect(mixed.data).toMatchObject({
    w0: { environments: { totalCount: 1 } },
    w2: { environments: { totalCount: 1 } },
  });
  // The same invalid size three times: refused three times, each with its own error.
  expect((await refusals([0, 0, 0])).refused).toEqual([
    'BAD_USER_INPUT w0.environments',
    'BAD_USER_INPUT w1.environments',
    'BAD_USER_INPUT w2.environments',
  ]);
});
