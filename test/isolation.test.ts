import { createTree, gid, ok, type Tree } from './support/fixtures';
import { expectRefusedUnchanged, useGateway } from './support/harness';

const { gw, db, orgA, orgB } = useGateway({ orgs: ['alpha', 'bravo'] });
let treeA: Tree;
let treeB: Tree;
let tokenB: string;

beforeAll(async () => {
  treeA = await createTree(gw, gw.token(orgA.id), { workspaces: 2, environments: 2, components: 2 });
  treeB = await createTree(gw, gw.token(orgB.id), { workspaces: 2, environments: 2, components: 2 });
  tokenB = gw.token(orgB.id);
});

const idsOf = (tree: Tree) => ({
  workspaces: tree.workspaces.map((w) => w.id),
  environments: tree.workspaces.flatMap((w) => w.environments),
  components: tree.workspaces.flatMap((w) => w.components),
});

async function refusedAsNotFound(query: string, variables: Record<string, unknown>) {
  const response = await expectRefusedUnchanged(() => gw.graphql(query, variables, tokenB), { code: 'NOT_FOUND' }, db);
  expect(JSON.stringify(response.body.data ?? {})).not.toMatch(/Workspace \d|Env \d|Component \d/);
}

describe("org B's token on org A's objects: NOT_FOUND, exactly as if they did not exist, and nothing changes", () => {
  test('by-id queries', async () => {
    const a = idsOf(treeA);
    for (const id of a.workspaces)
      await refusedAsNotFound(`query($id: ID!) { workspace(id: $id) { id name } }`, { id });
    for (const id of a.environments)
      await refusedAsNotFound(`query($id: ID!) { environment(id: $id) { id name } }`, { id });
    for (const id of a.components)
      await refusedAsNotFound(`query($id: ID!) { component(id: $id) { id name } }`, { id });
  });

  test('the error is the same as for an id that never existed', async () => {
    const never = gid('Workspace', '01900000-0000-7000-8000-000000000000');
    const foreign = await gw.graphql(
      `query($id: ID!) { workspace(id: $id) { id } }`,
      { id: treeA.workspaces[0].id },
      tokenB,
    );
    const missing = await gw.graphql(`query($id: ID!) { workspace(id: $id) { id } }`, { id: never }, tokenB);
    const malformed = await gw.graphql(`query($id: ID!) { workspace(id: $id) { id } }`, { id: 'not-an-id' }, tokenB);
    // The message names the id that was sent; apart from it, the answers are identical.
    const strip = (r: typeof foreign, id: string) =>
      r.body.errors!.map((e) => ({
        ...e,
        message: e.message.replace(id, '<id>'),
        extensions: { ...e.extensions, requestId: '' },
      }));
    expect(strip(foreign, treeA.workspaces[0].id)).toEqual(strip(missing, never));
    expect(strip(malformed, 'not-an-id')).toEqual(strip(missing, never));
    expect(foreign.status).toBe(missing.status);
    expect(malformed.status).toBe(missing.status);
  });

  test('updates and deletes', async () => {
    const a = idsOf(treeA);
    await refusedAsNotFound(`mutation($id: ID!) { updateWorkspace(id: $id, input: { name: "pwned" }) { id } }`, {
      id: a.workspaces[0],
    });
    await refusedAsNotFound(`mutation($id: ID!) { deleteWorkspace(id: $id) }`, { id: a.workspaces[0] });
    await refusedAsNotFound(`mutation($id: ID!) { updateEnvironment(id: $id, input: { name: "pwned" }) { id } }`, {
      id: a.environments[0],
    });
    await refusedAsNotFound(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: a.environments[0] });
    await refusedAsNotFound(`mutation($id: ID!) { updateComponent(id: $id, input: { name: "pwned" }) { id } }`, {
      id: a.components[0],
    });
    await refusedAsNotFound(`mutation($id: ID!) { deleteComponent(id: $id) }`, { id: a.components[0] });
  });

  test("creating children under org A's workspace", async () => {
    const workspaceId = treeA.workspaces[0].id;
    await refusedAsNotFound(
      `mutation($w: ID!) { createEnvironment(input: { workspaceId: $w, name: "x", slug: "x", tier: DEV }) { id } }`,
      { w: workspaceId },
    );
    await refusedAsNotFound(
      `mutation($w: ID!) { createComponent(input: { workspaceId: $w, name: "x", type: AGENT }) { id } }`,
      { w: workspaceId },
    );
  });
});

test("nested lists contain only the caller's rows", async () => {
  const data = ok<any>(
    await gw.graphql(
      `{ organization { id workspaces(first: 100) { totalCount edges { node { id environments(first: 100) { totalCount edges { node { id workspace { id } } } } components(first: 100) { totalCount edges { node { id } } } } } } } }`,
      {},
      tokenB,
    ),
  );
  const b = idsOf(treeB);
  expect(data.organization.id).toBe(gid('Organization', orgB.id));
  expect(data.organization.workspaces.totalCount).toBe(2);
  const seen = data.organization.workspaces.edges.map((e: any) => e.node);
  expect(seen.map((w: any) => w.id).sort()).toEqual([...b.workspaces].sort());
  expect(seen.flatMap((w: any) => w.environments.edges.map((e: any) => e.node.id)).sort()).toEqual(
    [...b.environments].sort(),
  );
  expect(seen.flatMap((w: any) => w.components.edges.map((e: any) => e.node.id)).sort()).toEqual(
    [...b.components].sort(),
  );
});

test('two organizations asking concurrently for the same ids each get only their own rows', async () => {
  const all = [...idsOf(treeA).workspaces, ...idsOf(treeB).workspaces];
  const query = `query(${all.map((_, i) => `$w${i}: ID!`).join(', ')}) { ${all.map((_, i) => `w${i}: workspace(id: $w${i}) { id }`).join(' ')} }`;
  const variables = Object.fromEntries(all.map((id, i) => [`w${i}`, id]));
  const tokens = { [orgA.id]: gw.token(orgA.id), [orgB.id]: tokenB };
  const own = { [orgA.id]: idsOf(treeA).workspaces, [orgB.id]: idsOf(treeB).workspaces };
  const rounds = await Promise.all(
    Array.from({ length: 60 }, (_, i) => {
      const orgId = i % 2 === 0 ? orgA.id : orgB.id;
      return gw.graphql(query, variables, tokens[orgId]).then((r) => ({ orgId, r }));
    }),
  );
  for (const { orgId, r } of rounds) {
    const visible = Object.values(r.body.data ?? {})
      .filter(Boolean)
      .map((w: any) => w.id)
      .sort();
    expect(visible).toEqual([...own[orgId]].sort());
    expect(r.body.errors?.every((e) => e.extensions.code === 'NOT_FOUND')).toBe(true);
  }
});
