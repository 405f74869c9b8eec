import { createOrg, gid, ok, seedTreeSql } from './support/fixtures';
import { useGateway } from './support/harness';
import { W1_QUERY } from './support/queries';

// The DataLoader path, which serves every query the compiled read path (src/graphql/sql-plan) does not plan:
// with the plan on, W1 would be answered by one planned statement (2 round trips; test/sql-plan.test.ts).
const { gw, db } = useGateway({ env: { GRAPHQL_SQL_PLAN: 'off' } });

const NESTED = W1_QUERY;

async function nested(orgId: string) {
  const response = await gw.graphql(NESTED, {}, gw.token(orgId));
  return { data: ok<any>(response), statements: response.body.extensions?.sql?.statements as number };
}

test('organization → workspaces → environments + components costs the same number of SQL statements at 10× the data', async () => {
  const small = await createOrg(db, 'small');
  const large = await createOrg(db, 'large');
  await seedTreeSql(db.admin, small.id, { workspaces: 2, environments: 3, components: 3 });
  await seedTreeSql(db.admin, large.id, { workspaces: 20, environments: 30, components: 30 });

  const a = await nested(small.id);
  const b = await nested(large.id);

  // The data really is 10× larger in every dimension…
  expect(a.data.organization.workspaces.totalCount).toBe(2);
  expect(b.data.organization.workspaces.totalCount).toBe(20);
  for (const edge of b.data.organization.workspaces.edges) {
    expect(edge.node.environments.edges).toHaveLength(30);
    expect(edge.node.components.totalCount).toBe(30);
  }
  // …and the statement count does not move. One round trip for BEGIN + role + tenant settings + the
  // organization/caller row, workspace page, workspace count, environment page, environment count,
  // component page, component count, COMMIT.
  expect(typeof a.statements).toBe('number');
  expect(b.statements).toBe(a.statements);
  expect(a.statements).toBe(4);
});

test('the batched loaders return each parent its own children, in order', async () => {
  const org = await createOrg(db, 'order');
  await seedTreeSql(db.admin, org.id, { workspaces: 3, environments: 2, components: 1 });
  const { data } = await nested(org.id);
  const rows = await db.admin.query(
    `SELECT workspace_id, id FROM environments WHERE org_id = $1 ORDER BY workspace_id, id`,
    [org.id],
  );
  for (const edge of data.organization.workspaces.edges) {
    const expected = rows.rows
      .filter((r) => gid('Workspace', r.workspace_id) === edge.node.id)
      .map((r) => gid('Environment', r.id));
    expect(edge.node.environments.edges.map((e: any) => e.node.id)).toEqual(expected);
  }
});

test('totalCount folded into the page statement counts the whole (filtered) list, past any cursor and for empty pages', async () => {
  const org = await createOrg(db, 'counts');
  await seedTreeSql(db.admin, org.id, { workspaces: 3, environments: 4, components: 0 });
  // One workspace's environments: 2 of the 4 become prod, so a tier filter counts 2.
  const [ws] = (await db.admin.query(`SELECT id FROM workspaces WHERE org_id = $1 ORDER BY id LIMIT 1`, [org.id])).rows;
  await db.admin.query(
    `UPDATE environments SET tier = 'prod' WHERE id IN (SELECT id FROM environments WHERE workspace_id = $1 ORDER BY id LIMIT 2)`,
    [ws.id],
  );
  const token = gw.token(org.id);
  const first = ok<any>(
    await gw.graphql(`{ organization { workspaces(first: 1) { pageInfo { endCursor } } } }`, {}, token),
  );
  const after = first.organization.workspaces.pageInfo.endCursor;
  const query = `query($after: String) { organization {
    workspaces(first: 1, after: $after) { totalCount edges { node { id } } }
    all: workspaces(first: 100) { totalCount edges { node { id
      prod: environments(tier: PROD, first: 1) { totalCount edges { node { tier } } }
      components(first: 5) { totalCount edges { node { id } } }
      envs: environments(last: 1) { totalCount edges { node { id } } }
    } } }
    beyond: workspaces(first: 5, after: $after) { totalCount edges { node { id } } }
  } }`;
  const response = await gw.graphql(query, { after }, token);
  const data = ok<any>(response).organization;
  // Past the cursor the page holds 1 row, but the list still has 3.
  expect(data.workspaces.edges).toHaveLength(1);
  expect(data.workspaces.totalCount).toBe(3);
  expect(data.beyond.edges).toHaveLength(2);
  expect(data.beyond.totalCount).toBe(3);
  for (const edge of data.all.edges) {
    const mine = edge.node.id === gid('Workspace', ws.id);
    expect(edge.node.prod.totalCount).toBe(mine ? 2 : 0);
    expect(edge.node.prod.edges).toHaveLength(mine ? 1 : 0);
    // No components at all: an empty page still brings its count (0).
    expect(edge.node.components).toEqual({ totalCount: 0, edges: [] });
    expect(edge.node.envs.totalCount).toBe(4);
    expect(edge.node.envs.edges).toHaveLength(1);
  }
  // The counts cost no statements of their own: the same query without any totalCount sends as many.
  const without = await gw.graphql(query.replace(/totalCount /g, ''), { after }, token);
  ok(without);
  expect(without.body.extensions.sql.statements).toBe(response.body.extensions.sql.statements);
});
