import { createOrg, ok, seedTreeSql } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * GRAPHQL_EXECUTOR=jit (src/graphql/executor.ts): the behaviours where graphql-jit differs from graphql-js's
 * `execute`, each handled there. The broader proof is the existing files run with GRAPHQL_EXECUTOR=jit in the
 * environment (bench/README.md, issue-11 status: graphql-api, isolation-sweep, tracing, read-path and more).
 */
const { gw, db } = useGateway({ env: { GRAPHQL_EXECUTOR: 'jit', GRAPHQL_MAX_DEPTH: '20' } });

test('the nested read answers lazy totalCounts (promises) and keeps its 4 round trips under fragments and @skip', async () => {
  const org = await createOrg(db, 'jit');
  await seedTreeSql(db.admin, org.id, { workspaces: 3, environments: 4, components: 2 });
  const token = gw.token(org.id);
  const response = await gw.graphql(
    `query($skip: Boolean!) { organization { workspaces(first: 100) { ...Count edges { node { id
        environments(first: 100) { totalCount edges { node { id tier @skip(if: $skip) } } }
        ... on Workspace { components(first: 100) { totalCount edges { node { __typename id } } } } } } } } }
     fragment Count on WorkspaceConnection { totalCount }`,
    { skip: true },
    token,
  );
  const workspaces = ok<any>(response).organization.workspaces;
  expect(workspaces.totalCount).toBe(3);
  for (const { node } of workspaces.edges) {
    expect(node.environments.totalCount).toBe(4);
    expect(node.environments.edges[0].node).not.toHaveProperty('tier');
    expect(node.components.totalCount).toBe(2);
    expect(node.components.edges[0].node.__typename).toBe('Component');
  }
  expect(response.body.extensions.sql.statements).toBeLessThanOrEqual(4);

  // node(id:) resolves its abstract type at run time.
  const id = workspaces.edges[0].node.id;
  const node = ok<any>(await gw.graphql(`query($id: ID!) { node(id: $id) { __typename id } }`, { id }, token));
  expect(node.node).toEqual({ __typename: 'Workspace', id });
});

test('a variable of the wrong type is BAD_USER_INPUT with HTTP 400, not a masked 500', async () => {
  const org = await createOrg(db, 'jitvars');
  const response = await gw.graphql(
    `query($first: Int) { organization { workspaces(first: $first) { totalCount } } }`,
    { first: 'many' },
    gw.token(org.id),
  );
  expect(response.status).toBe(400);
  expect((response.body.errors ?? []).map((e: any) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
});
