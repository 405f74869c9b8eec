import { createOrg, gid, ok, seedTreeSql } from './support/fixtures';
import { useGateway } from './support/harness';

const { gw, db } = useGateway();

const NESTED = `{
  organization {
    workspaces(first: 100) {
      totalCount
      edges { node {
        id name
        environments(first: 100) { totalCount edges { node { id slug tier } } }
        components(first: 100) { totalCount edges { node { id name type } } }
      } }
    }
  }
}`;

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
  expect(a.statements).toBe(8);
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
