import { type GraphQLResponse } from './support/gateway';
import { createOrg, gid, raw, uuidOf, ok } from './support/fixtures';
import { ALL_SCOPES } from './support/scopes';
import { expectRefusedUnchanged, useGateway } from './support/harness';

/** SQL as the database owner, with the API's global ids turned into stored UUIDs. */
const adminQuery = (text: string, params?: unknown[]) => db.admin.query(text, raw(params));

/**
 * Deployment rings and promotions: the pipeline rules (enter at ring 0, one ring at a time, only the
 * version that is in the ring before), who may do what, the append-only history, consistency under
 * concurrent promotions, and isolation between organizations.
 */
const { gw, db, org } = useGateway({ orgs: ['deploy'] });
let token: string;

const UNKNOWN = gid('Component', '01900000-0000-7000-8000-000000000000'); // well-formed, never existed (type checked per argument: any NOT_FOUND)

beforeAll(async () => {
  token = gw.token(org.id);
});

const CREATE_RING = `mutation($i: CreateDeploymentRingInput!) { createDeploymentRing(input: $i) { id name position workspaceId environmentId environment { id slug } } }`;
const UPDATE_RING = `mutation($id: ID!, $i: UpdateDeploymentRingInput!) { updateDeploymentRing(id: $id, input: $i) { id name position environment { id } } }`;
const DELETE_RING = `mutation($id: ID!) { deleteDeploymentRing(id: $id) }`;
const DEPLOY = `mutation($i: DeployComponentInput!) { deployComponent(input: $i) { id version componentId fromRingId toRingId promotedBy requestId createdAt fromRing { id } toRing { id position } component { id } } }`;
const PROMOTE = `mutation($i: PromoteComponentInput!) { promoteComponent(input: $i) { id version componentId fromRingId toRingId promotedBy requestId fromRing { id position } toRing { id position } } }`;
const RINGS = `query($id: ID!) { workspace(id: $id) { deploymentRings { id name position environment { id } } } }`;
const DEPLOYMENTS = `query($id: ID!) { component(id: $id) { deployments { ringId componentId version deployedAt ring { id position } component { id } promotion { id version } } } }`;

/** Runs a request that must be refused and proves the database is exactly as before. */
const refused = (
  query: string,
  variables: Record<string, unknown>,
  code: string,
  fields?: string[],
  as = token,
): Promise<GraphQLResponse> => expectRefusedUnchanged(() => gw.graphql(query, variables, as), { code, fields }, db);

interface Pipeline {
  workspace: string;
  environments: string[];
  rings: string[];
  components: string[];
}

async function newWorkspace(as = token, name = 'Pipeline'): Promise<string> {
  return ok<any>(
    await gw.graphql(`mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }`, { i: { name } }, as),
  ).createWorkspace.id;
}

async function newEnvironment(workspaceId: string, slug: string, as = token): Promise<string> {
  return ok<any>(
    await gw.graphql(
      `mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`,
      { i: { workspaceId, name: slug, slug, tier: 'DEV' } },
      as,
    ),
  ).createEnvironment.id;
}

async function newComponent(workspaceId: string, name = 'Bot', as = token): Promise<string> {
  return ok<any>(
    await gw.graphql(
      `mutation($i: CreateComponentInput!) { createComponent(input: $i) { id } }`,
      { i: { workspaceId, name, type: 'AGENT' } },
      as,
    ),
  ).createComponent.id;
}

async function newRing(workspaceId: string, name: string, environmentId: string, as = token): Promise<string> {
  return ok<any>(await gw.graphql(CREATE_RING, { i: { workspaceId, name, environmentId } }, as)).createDeploymentRing
    .id;
}

/** A workspace with three environments, rings canary → early → general on them, and components. */
async function pipeline(as = token, components = 1): Promise<Pipeline> {
  const workspace = await newWorkspace(as);
  const environments = [
    await newEnvironment(workspace, 'dev', as),
    await newEnvironment(workspace, 'stage', as),
    await newEnvironment(workspace, 'prod', as),
  ];
  const rings = [];
  for (const [i, name] of ['canary', 'early', 'general'].entries())
    rings.push(await newRing(workspace, name, environments[i], as));
  const ids = [];
  for (let c = 0; c < components; c++) ids.push(await newComponent(workspace, `Component ${c}`, as));
  return { workspace, environments, rings, components: ids };
}

async function deploy(p: Pipeline, version: string, component = p.components[0], as = token) {
  return ok<any>(await gw.graphql(DEPLOY, { i: { componentId: component, ringId: p.rings[0], version } }, as))
    .deployComponent;
}

async function promote(p: Pipeline, from: number, version: string, component = p.components[0], as = token) {
  return ok<any>(
    await gw.graphql(
      PROMOTE,
      { i: { componentId: component, fromRingId: p.rings[from], toRingId: p.rings[from + 1], version } },
      as,
    ),
  ).promoteComponent;
}

/** An organization member with the given workspace role (none: a member of the organization only). */
async function member(
  userId: string,
  workspaceId: string,
  role: 'admin' | 'developer' | 'viewer' | null,
  orgRole = 'member',
): Promise<string> {
  ok(
    await gw.graphql(
      `mutation($i: AddMemberInput!) { addMember(input: $i) { userId } }`,
      { i: { userId, email: `${userId}@example.test`, role: orgRole.toUpperCase() } },
      token,
    ),
  );
  if (role) {
    ok(
      await gw.graphql(
        `mutation($w: ID!, $u: ID!, $r: WorkspaceRole!) { setWorkspaceMember(workspaceId: $w, userId: $u, role: $r) { role } }`,
        { w: workspaceId, u: userId, r: role.toUpperCase() },
        token,
      ),
    );
  }
  return gw.token(org.id, ALL_SCOPES, { sub: userId });
}

describe('rings', () => {
  test('rings are appended in order, listed by position with their environment, and bound to the workspace', async () => {
    const p = await pipeline();
    const rings = ok<any>(await gw.graphql(RINGS, { id: p.workspace }, token)).workspace.deploymentRings;
    expect(rings).toEqual([
      { id: p.rings[0], name: 'canary', position: 0, environment: { id: p.environments[0] } },
      { id: p.rings[1], name: 'early', position: 1, environment: { id: p.environments[1] } },
      { id: p.rings[2], name: 'general', position: 2, environment: { id: p.environments[2] } },
    ]);
    const row = await adminQuery(`SELECT org_id, workspace_id FROM deployment_rings WHERE id = $1`, [p.rings[0]]);
    expect(row.rows[0]).toEqual(raw({ org_id: org.id, workspace_id: p.workspace }));
  });

  test('a ring created at a position moves the rings from there one down', async () => {
    const p = await pipeline();
    const created = ok<any>(
      await gw.graphql(
        CREATE_RING,
        { i: { workspaceId: p.workspace, name: ' internal ', environmentId: p.environments[0], position: 1 } },
        token,
      ),
    ).createDeploymentRing;
    expect(created).toMatchObject({
      name: 'internal',
      position: 1,
      workspaceId: p.workspace,
      environment: { id: p.environments[0], slug: 'dev' },
    });
    const rings = ok<any>(await gw.graphql(RINGS, { id: p.workspace }, token)).workspace.deploymentRings;
    expect(rings.map((r: any) => [r.name, r.position])).toEqual([
      ['canary', 0],
      ['internal', 1],
      ['early', 2],
      ['general', 3],
    ]);
    const first = ok<any>(
      await gw.graphql(
        CREATE_RING,
        { i: { workspaceId: p.workspace, name: 'dogfood', environmentId: p.environments[0], position: 0 } },
        token,
      ),
    ).createDeploymentRing;
    expect(first.position).toBe(0);
    const after = ok<any>(await gw.graphql(RINGS, { id: p.workspace }, token)).workspace.deploymentRings;
    expect(after.map((r: any) => r.position)).toEqual([0, 1, 2, 3, 4]);
    expect(after.map((r: any) => r.name)).toEqual(['dogfood', 'canary', 'internal', 'early', 'general']);
  });

  test('updateDeploymentRing renames and re-targets; deleteDeploymentRing closes the gap', async () => {
    const p = await pipeline();
    const updated = ok<any>(
      await gw.graphql(UPDATE_RING, { id: p.rings[1], i: { name: 'beta', environmentId: p.environments[2] } }, token),
    ).updateDeploymentRing;
    expect(updated).toEqual({ id: p.rings[1], name: 'beta', position: 1, environment: { id: p.environments[2] } });
    const renamed = ok<any>(
      await gw.graphql(UPDATE_RING, { id: p.rings[1], i: { name: 'early' } }, token),
    ).updateDeploymentRing;
    expect(renamed).toMatchObject({ name: 'early', environment: { id: p.environments[2] } });

    expect(ok<any>(await gw.graphql(DELETE_RING, { id: p.rings[1] }, token)).deleteDeploymentRing).toBe(p.rings[1]);
    const rings = ok<any>(await gw.graphql(RINGS, { id: p.workspace }, token)).workspace.deploymentRings;
    expect(rings.map((r: any) => [r.id, r.position])).toEqual([
      [p.rings[0], 0],
      [p.rings[2], 1],
    ]);
  });

  test('bad ring input is refused, naming each field, and changes nothing', async () => {
    const p = await pipeline();
    const other = await pipeline();
    await refused(
      CREATE_RING,
      { i: { workspaceId: p.workspace, name: '  ', environmentId: p.environments[0], position: -1 } },
      'BAD_USER_INPUT',
      ['name', 'position'],
    );
    await refused(
      CREATE_RING,
      { i: { workspaceId: p.workspace, name: 'x'.repeat(101), environmentId: p.environments[0] } },
      'BAD_USER_INPUT',
      ['name'],
    );
    // Ids that are not ids of this API answer like ids that never existed.
    await refused(CREATE_RING, { i: { workspaceId: p.workspace, name: 'x', environmentId: 'env' } }, 'NOT_FOUND');
    await refused(
      CREATE_RING,
      { i: { workspaceId: 'nope', name: 'x', environmentId: p.environments[0] } },
      'NOT_FOUND',
    );
    // Another workspace's environment: the schema would refuse it too (composite foreign key).
    await refused(
      CREATE_RING,
      { i: { workspaceId: p.workspace, name: 'x', environmentId: other.environments[0] } },
      'BAD_USER_INPUT',
      ['environmentId'],
    );
    await refused(CREATE_RING, { i: { workspaceId: p.workspace, name: 'x', environmentId: UNKNOWN } }, 'NOT_FOUND');
    await refused(
      CREATE_RING,
      { i: { workspaceId: UNKNOWN, name: 'x', environmentId: p.environments[0] } },
      'NOT_FOUND',
    );
    await refused(
      CREATE_RING,
      { i: { workspaceId: p.workspace, name: 'canary', environmentId: p.environments[0] } },
      'BAD_USER_INPUT',
      ['name'],
    );
    await refused(
      CREATE_RING,
      { i: { workspaceId: p.workspace, name: 'far', environmentId: p.environments[0], position: 4 } },
      'BAD_USER_INPUT',
      ['position'],
    );
    await refused(UPDATE_RING, { id: p.rings[0], i: { name: null } }, 'BAD_USER_INPUT', ['name']);
    await refused(UPDATE_RING, { id: p.rings[0], i: { name: 'early' } }, 'BAD_USER_INPUT', ['name']);
    await refused(UPDATE_RING, { id: p.rings[0], i: { environmentId: other.environments[1] } }, 'BAD_USER_INPUT', [
      'environmentId',
    ]);
    await refused(UPDATE_RING, { id: UNKNOWN, i: { name: 'x' } }, 'NOT_FOUND');
    await refused(DELETE_RING, { id: UNKNOWN }, 'NOT_FOUND');
    await refused(DELETE_RING, { id: 'not-an-id' }, 'NOT_FOUND');
  });

  test("the schema refuses a ring on another workspace's environment even when the service is bypassed", async () => {
    const p = await pipeline();
    const other = await pipeline();
    await expect(
      adminQuery(
        `INSERT INTO deployment_rings (org_id, id, workspace_id, name, position, environment_id) VALUES ($1, gen_random_uuid(), $2, 'smuggled', 3, $3)`,
        [org.id, p.workspace, other.environments[0]],
      ),
    ).rejects.toMatchObject({ code: '23503' });
  });

  test('a workspace has at most 20 rings', async () => {
    const ws = await newWorkspace();
    const env = await newEnvironment(ws, 'dev');
    for (let i = 0; i < 20; i++) await newRing(ws, `ring-${i}`, env);
    await refused(CREATE_RING, { i: { workspaceId: ws, name: 'one-too-many', environmentId: env } }, 'BAD_USER_INPUT', [
      'workspaceId',
    ]);
  });

  test('an environment a ring deploys to cannot be deleted', async () => {
    const p = await pipeline();
    await refused(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: p.environments[0] }, 'BAD_USER_INPUT', [
      'id',
    ]);
    ok(await gw.graphql(UPDATE_RING, { id: p.rings[0], i: { environmentId: p.environments[1] } }, token));
    expect(
      ok<any>(await gw.graphql(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: p.environments[0] }, token))
        .deleteEnvironment,
    ).toBe(p.environments[0]);
  });

  test('deleting the workspace removes its rings, history and current state', async () => {
    const p = await pipeline();
    await deploy(p, '1.0.0');
    await promote(p, 0, '1.0.0');
    ok(await gw.graphql(`mutation($id: ID!) { deleteWorkspace(id: $id) }`, { id: p.workspace }, token));
    const left = await adminQuery(
      `SELECT (SELECT count(*) FROM deployment_rings WHERE workspace_id = $1) + (SELECT count(*) FROM deployment_promotions WHERE workspace_id = $1)
            + (SELECT count(*) FROM ring_deployments WHERE workspace_id = $1) AS n`,
      [p.workspace],
    );
    expect(Number(left.rows[0].n)).toBe(0);
  });
});

describe('deploys and promotions', () => {
  test('a version enters at the first ring and is promoted one ring at a time; history and state follow', async () => {
    const p = await pipeline();
    const response = await gw.graphql(
      DEPLOY,
      { i: { componentId: p.components[0], ringId: p.rings[0], version: '1.0.0' } },
      token,
    );
    const deployed = ok<any>(response).deployComponent;
    expect(deployed).toMatchObject({
      version: '1.0.0',
      componentId: p.components[0],
      fromRingId: null,
      toRingId: p.rings[0],
      fromRing: null,
      toRing: { id: p.rings[0], position: 0 },
      component: { id: p.components[0] },
      promotedBy: 'user-1',
    });
    expect(deployed.requestId).toBe(response.headers.get('x-request-id'));

    const toEarly = await promote(p, 0, '1.0.0');
    expect(toEarly).toMatchObject({
      fromRing: { id: p.rings[0], position: 0 },
      toRing: { id: p.rings[1], position: 1 },
      version: '1.0.0',
    });
    await deploy(p, '1.1.0');
    await promote(p, 1, '1.0.0');
    await promote(p, 0, '1.1.0');

    const deployments = ok<any>(await gw.graphql(DEPLOYMENTS, { id: p.components[0] }, token)).component.deployments;
    expect(deployments.map((d: any) => [d.ring.position, d.version])).toEqual([
      [0, '1.1.0'],
      [1, '1.1.0'],
      [2, '1.0.0'],
    ]);
    for (const d of deployments)
      expect(d).toMatchObject({
        componentId: p.components[0],
        component: { id: p.components[0] },
        promotion: { version: d.version },
      });

    // The request id is the one the client sent (x-request-id), so a promotion can be traced to its request.
    const traced = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'x-request-id': 'release-2024-42',
      },
      body: JSON.stringify({
        query: DEPLOY,
        variables: { i: { componentId: p.components[0], ringId: p.rings[0], version: '1.2.0' } },
      }),
    });
    expect(((await traced.json()) as any).data.deployComponent.requestId).toBe('release-2024-42');
  });

  test('DeploymentRing.promotions pages the versions that entered the ring, newest first', async () => {
    const p = await pipeline();
    for (const v of ['1', '2', '3']) await deploy(p, v);
    await promote(p, 0, '3');
    const PAGE = `query($id: ID!, $after: String) { workspace(id: $id) { deploymentRings { name promotions(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { version fromRingId toRing { name } } } } } } }`;
    const first = ok<any>(await gw.graphql(PAGE, { id: p.workspace }, token)).workspace.deploymentRings;
    expect(first[0].promotions.totalCount).toBe(3);
    expect(first[0].promotions.edges.map((e: any) => e.node.version)).toEqual(['3', '2']);
    expect(first[0].promotions.pageInfo.hasNextPage).toBe(true);
    expect(first[1].promotions.edges.map((e: any) => [e.node.version, e.node.fromRingId, e.node.toRing.name])).toEqual([
      ['3', p.rings[0], 'early'],
    ]);
    expect(first[2].promotions).toMatchObject({ totalCount: 0, edges: [] });
    const next = ok<any>(
      await gw.graphql(PAGE, { id: p.workspace, after: first[0].promotions.pageInfo.endCursor }, token),
    ).workspace.deploymentRings;
    expect(next[0].promotions.edges.map((e: any) => e.node.version)).toEqual(['1']);
    expect(next[0].promotions.pageInfo.hasNextPage).toBe(false);
  });

  test('rings and history are read with a fixed number of statements, however many rings and components', async () => {
    const p = await pipeline(token, 4);
    for (const c of p.components) await deploy(p, '1.0.0', c);
    const QUERY = `query($id: ID!) { workspace(id: $id) { deploymentRings { id environment { id } promotions { edges { node { id component { id } toRing { id } } } } } components { edges { node { deployments { version ring { id } promotion { id } } } } } } }`;
    const response = await gw.graphql(QUERY, { id: p.workspace }, token);
    ok(response);
    const statements = response.body.extensions.sql.statements;
    // BEGIN + tenant setup + organization (one round trip), then one round trip per level of the query
    // (the statements of sibling loaders in the same tick share one), COMMIT.
    expect(statements).toBe(6);
    await deploy(p, '1.0.0', await newComponent(p.workspace, 'Fifth'));
    ok(
      await gw.graphql(
        CREATE_RING,
        { i: { workspaceId: p.workspace, name: 'fourth', environmentId: p.environments[0] } },
        token,
      ),
    );
    const again = await gw.graphql(QUERY, { id: p.workspace }, token);
    ok(again);
    expect(again.body.extensions.sql.statements).toBe(statements);
  });

  test('skipping a ring, going backwards or staying put is refused, naming toRingId', async () => {
    const p = await pipeline();
    await deploy(p, '1.0.0');
    const input = (from: number, to: number) => ({
      i: { componentId: p.components[0], fromRingId: p.rings[from], toRingId: p.rings[to], version: '1.0.0' },
    });
    const skip = await refused(PROMOTE, input(0, 2), 'BAD_USER_INPUT', ['toRingId']);
    expect(skip.body.errors![0].extensions.fields[0].message).toMatch(/immediately after ring "canary" \(position 1\)/);
    await promote(p, 0, '1.0.0');
    await refused(PROMOTE, input(1, 0), 'BAD_USER_INPUT', ['toRingId']);
    await refused(PROMOTE, input(1, 1), 'BAD_USER_INPUT', ['toRingId']);
  });

  test('only the version that is in the ring before can be promoted', async () => {
    const p = await pipeline();
    const input = (from: number, version: string) => ({
      i: { componentId: p.components[0], fromRingId: p.rings[from], toRingId: p.rings[from + 1], version },
    });
    const none = await refused(PROMOTE, input(0, '1.0.0'), 'BAD_USER_INPUT', ['version']);
    expect(none.body.errors![0].extensions.fields[0].message).toContain('no version of this component');
    await deploy(p, '1.0.0');
    await deploy(p, '2.0.0');
    const replaced = await refused(PROMOTE, input(0, '1.0.0'), 'BAD_USER_INPUT', ['version']);
    expect(replaced.body.errors![0].extensions.fields[0].message).toContain('it has 2.0.0');
    await refused(PROMOTE, input(1, '2.0.0'), 'BAD_USER_INPUT', ['version']);
  });

  test('a version enters only at the first ring', async () => {
    const p = await pipeline();
    await refused(
      DEPLOY,
      { i: { componentId: p.components[0], ringId: p.rings[1], version: '1.0.0' } },
      'BAD_USER_INPUT',
      ['ringId'],
    );
  });

  test('rings and components of different workspaces do not mix', async () => {
    const p = await pipeline();
    const other = await pipeline();
    await deploy(p, '1.0.0');
    await deploy(other, '1.0.0');
    // A ring of another workspace of the same organization.
    await refused(
      DEPLOY,
      { i: { componentId: p.components[0], ringId: other.rings[0], version: '1.0.0' } },
      'BAD_USER_INPUT',
      ['ringId'],
    );
    await refused(
      PROMOTE,
      { i: { componentId: p.components[0], fromRingId: p.rings[0], toRingId: other.rings[1], version: '1.0.0' } },
      'BAD_USER_INPUT',
      ['toRingId'],
    );
    await refused(
      PROMOTE,
      { i: { componentId: p.components[0], fromRingId: other.rings[0], toRingId: other.rings[1], version: '1.0.0' } },
      'BAD_USER_INPUT',
      ['fromRingId', 'toRingId'],
    );
    // The component of another workspace in this pipeline.
    await refused(
      PROMOTE,
      { i: { componentId: other.components[0], fromRingId: p.rings[0], toRingId: p.rings[1], version: '1.0.0' } },
      'BAD_USER_INPUT',
      ['fromRingId', 'toRingId'],
    );
    // And the schema refuses it even if the service were bypassed.
    await expect(
      adminQuery(
        `INSERT INTO deployment_promotions (org_id, id, workspace_id, component_id, to_ring_id, version, promoted_by, request_id)
         VALUES ($1, gen_random_uuid(), $2, $3, $4, '1', 'x', 'x')`,
        [org.id, p.workspace, p.components[0], other.rings[0]],
      ),
    ).rejects.toMatchObject({ code: '23503' });
  });

  test('bad versions, ids and unknown objects are refused', async () => {
    const p = await pipeline();
    for (const version of ['', ' 1.0', '1.0 beta', 'x'.repeat(101), '-1', 'v1/evil']) {
      await refused(DEPLOY, { i: { componentId: p.components[0], ringId: p.rings[0], version } }, 'BAD_USER_INPUT', [
        'version',
      ]);
    }
    await refused(DEPLOY, { i: { componentId: 'c', ringId: 'r', version: '1' } }, 'NOT_FOUND');
    await refused(
      PROMOTE,
      { i: { componentId: p.components[0], fromRingId: 'x', toRingId: 'y', version: '1' } },
      'NOT_FOUND',
    );
    await refused(DEPLOY, { i: { componentId: UNKNOWN, ringId: p.rings[0], version: '1' } }, 'NOT_FOUND');
    await refused(DEPLOY, { i: { componentId: p.components[0], ringId: UNKNOWN, version: '1' } }, 'NOT_FOUND');
    await refused(
      PROMOTE,
      { i: { componentId: p.components[0], fromRingId: p.rings[0], toRingId: UNKNOWN, version: '1' } },
      'NOT_FOUND',
    );
    // Versions as build systems write them are accepted.
    for (const version of ['1.2.3-rc.1+build.5', '2024.06.01', 'a1b2c3d', 'release_7']) await deploy(p, version);
  });

  test('a ring with promotion history cannot be deleted; an unused one can', async () => {
    const p = await pipeline();
    await deploy(p, '1.0.0');
    await promote(p, 0, '1.0.0');
    const response = await refused(DELETE_RING, { id: p.rings[0] }, 'BAD_USER_INPUT', ['id']);
    expect(response.body.errors![0].extensions.fields[0].message).toContain('promotion history');
    await refused(DELETE_RING, { id: p.rings[1] }, 'BAD_USER_INPUT', ['id']);
    expect(ok<any>(await gw.graphql(DELETE_RING, { id: p.rings[2] }, token)).deleteDeploymentRing).toBe(p.rings[2]);
  });

  test('deleting a component removes its deployments and history', async () => {
    const p = await pipeline(token, 2);
    await deploy(p, '1.0.0', p.components[0]);
    await deploy(p, '1.0.0', p.components[1]);
    ok(await gw.graphql(`mutation($id: ID!) { deleteComponent(id: $id) }`, { id: p.components[0] }, token));
    const left = await adminQuery(`SELECT component_id FROM deployment_promotions WHERE workspace_id = $1`, [
      p.workspace,
    ]);
    expect(left.rows).toEqual(raw([{ component_id: p.components[1] }]));
  });
});

describe('who may do what', () => {
  let p: Pipeline;
  let developer: string;
  let viewer: string;
  let admin: string;
  let outsider: string;
  let orgViewer: string;
  beforeAll(async () => {
    p = await pipeline(token, 1);
    await deploy(p, '1.0.0');
    developer = await member('dev-1', p.workspace, 'developer');
    viewer = await member('viewer-1', p.workspace, 'viewer');
    admin = await member('admin-1', p.workspace, 'admin');
    outsider = await member('outsider-1', p.workspace, null);
    orgViewer = await member('org-viewer-1', p.workspace, 'admin', 'viewer');
  });

  const promoteInput = () => ({
    i: { componentId: p.components[0], fromRingId: p.rings[0], toRingId: p.rings[1], version: '1.0.0' },
  });

  test('a workspace developer deploys and promotes, recorded under their id; rings are for workspace admins', async () => {
    expect((await deploy(p, '1.0.0', p.components[0], developer)).promotedBy).toBe('dev-1');
    expect(ok<any>(await gw.graphql(PROMOTE, promoteInput(), developer)).promoteComponent.promotedBy).toBe('dev-1');
    await refused(
      CREATE_RING,
      { i: { workspaceId: p.workspace, name: 'dev-ring', environmentId: p.environments[0] } },
      'FORBIDDEN',
      undefined,
      developer,
    );
    await refused(UPDATE_RING, { id: p.rings[0], i: { name: 'renamed' } }, 'FORBIDDEN', undefined, developer);
    await refused(DELETE_RING, { id: p.rings[2] }, 'FORBIDDEN', undefined, developer);
    const id = ok<any>(
      await gw.graphql(
        CREATE_RING,
        { i: { workspaceId: p.workspace, name: 'admin-ring', environmentId: p.environments[0] } },
        admin,
      ),
    ).createDeploymentRing.id;
    ok(await gw.graphql(DELETE_RING, { id }, admin));
  });

  test('a workspace viewer reads the pipeline but cannot deploy or promote', async () => {
    const rings = ok<any>(await gw.graphql(RINGS, { id: p.workspace }, viewer)).workspace.deploymentRings;
    expect(rings).toHaveLength(3);
    expect(
      ok<any>(await gw.graphql(DEPLOYMENTS, { id: p.components[0] }, viewer)).component.deployments.length,
    ).toBeGreaterThan(0);
    await refused(PROMOTE, promoteInput(), 'FORBIDDEN', undefined, viewer);
    await refused(
      DEPLOY,
      { i: { componentId: p.components[0], ringId: p.rings[0], version: '9' } },
      'FORBIDDEN',
      undefined,
      viewer,
    );
    await refused(
      CREATE_RING,
      { i: { workspaceId: p.workspace, name: 'v', environmentId: p.environments[0] } },
      'FORBIDDEN',
      undefined,
      viewer,
    );
  });

  test('an organization member outside the workspace finds nothing (NOT_FOUND)', async () => {
    await refused(PROMOTE, promoteInput(), 'NOT_FOUND', undefined, outsider);
    await refused(
      DEPLOY,
      { i: { componentId: p.components[0], ringId: p.rings[0], version: '9' } },
      'NOT_FOUND',
      undefined,
      outsider,
    );
    await refused(
      CREATE_RING,
      { i: { workspaceId: p.workspace, name: 'o', environmentId: p.environments[0] } },
      'NOT_FOUND',
      undefined,
      outsider,
    );
    await refused(UPDATE_RING, { id: p.rings[0], i: { name: 'o' } }, 'NOT_FOUND', undefined, outsider);
    await refused(DELETE_RING, { id: p.rings[2] }, 'NOT_FOUND', undefined, outsider);
    await refused(RINGS, { id: p.workspace }, 'NOT_FOUND', undefined, outsider);
    await refused(DEPLOYMENTS, { id: p.components[0] }, 'NOT_FOUND', undefined, outsider);
  });

  test('without deployments:write (org viewer role, or a token that lacks it) every change is FORBIDDEN', async () => {
    await refused(PROMOTE, promoteInput(), 'FORBIDDEN', undefined, orgViewer);
    const narrow = gw.token(
      org.id,
      ALL_SCOPES.filter((s) => s !== 'deployments:write'),
    );
    await refused(PROMOTE, promoteInput(), 'FORBIDDEN', undefined, narrow);
    await refused(
      DEPLOY,
      { i: { componentId: p.components[0], ringId: p.rings[0], version: '9' } },
      'FORBIDDEN',
      undefined,
      narrow,
    );
    await refused(
      CREATE_RING,
      { i: { workspaceId: p.workspace, name: 'n', environmentId: p.environments[0] } },
      'FORBIDDEN',
      undefined,
      narrow,
    );
    // Reading the pipeline needs workspaces:read only.
    const readOnly = gw.token(org.id, ['workspaces:read']);
    expect(ok<any>(await gw.graphql(RINGS, { id: p.workspace }, readOnly)).workspace.deploymentRings).toHaveLength(3);
  });

  test('API-key principals act org-wide and are recorded by their subject', async () => {
    const created = ok<any>(
      await gw.graphql(
        `mutation { createApiKey(input: { name: "deployer", scopes: ["deployments:write", "workspaces:read", "components:read"] }) { key apiKey { id } } }`,
        {},
        gw.token(org.id),
      ),
    ).createApiKey;
    const accessToken = await gw.exchangeApiKey(created.key);
    expect((await deploy(p, '5.0.0', p.components[0], accessToken)).promotedBy).toBe(
      `apikey:${uuidOf(created.apiKey.id)}`,
    );
  });
});

describe('promotion history is append-only for the application', () => {
  test('the tenant role may insert and read history, never update, delete or truncate it', async () => {
    const p = await pipeline();
    const { id } = await deploy(p, '1.0.0');
    const client = await db.admin.connect();
    try {
      const asTenant = async (sql: string, params: unknown[] = []) => {
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL ROLE manifest_app`);
          await client.query(
            `SELECT set_config('app.org_id', $1, true), set_config('app.principal_kind', 'api_key', true)`,
            [org.id],
          );
          return await client.query(sql, raw(params));
        } finally {
          await client.query('ROLLBACK');
        }
      };
      expect((await asTenant(`SELECT version FROM deployment_promotions WHERE id = $1`, [id])).rows).toEqual([
        { version: '1.0.0' },
      ]);
      await expect(
        asTenant(`UPDATE deployment_promotions SET version = 'forged' WHERE id = $1`, [id]),
      ).rejects.toMatchObject({ code: '42501' });
      await expect(asTenant(`DELETE FROM deployment_promotions WHERE id = $1`, [id])).rejects.toMatchObject({
        code: '42501',
      });
      await expect(asTenant(`TRUNCATE deployment_promotions`)).rejects.toMatchObject({ code: '42501' });
      await expect(asTenant(`DELETE FROM ring_deployments`)).rejects.toMatchObject({ code: '42501' });
      const inserted = await asTenant(
        `INSERT INTO deployment_promotions (org_id, id, workspace_id, component_id, to_ring_id, version, promoted_by, request_id)
         VALUES ($1, gen_random_uuid(), $2, $3, $4, '1.0.1', 'user-1', 'r') RETURNING version`,
        [org.id, p.workspace, p.components[0], p.rings[0]],
      );
      expect(inserted.rows).toEqual([{ version: '1.0.1' }]);
    } finally {
      client.release();
    }
    const row = await adminQuery(`SELECT version FROM deployment_promotions WHERE id = $1`, [uuidOf(id)]);
    expect(row.rows).toEqual([{ version: '1.0.0' }]);
  });
});

describe('concurrency', () => {
  test('concurrent deploys and promotions keep the current state equal to the latest history, and only promote what was there', async () => {
    const p = await pipeline(token, 2);
    await deploy(p, 'v0', p.components[0]);
    await deploy(p, 'v0', p.components[1]);
    const requests: Array<Promise<GraphQLResponse>> = [];
    for (let i = 1; i <= 12; i++) {
      for (const component of p.components) {
        requests.push(
          gw.graphql(DEPLOY, { i: { componentId: component, ringId: p.rings[0], version: `v${i}` } }, token),
        );
        for (const from of [0, 1]) {
          for (const version of [`v${i}`, `v${i - 1}`]) {
            requests.push(
              gw.graphql(
                PROMOTE,
                { i: { componentId: component, fromRingId: p.rings[from], toRingId: p.rings[from + 1], version } },
                token,
              ),
            );
          }
        }
      }
    }
    const responses = await Promise.all(requests);
    const codes = responses.flatMap((r) => (r.body.errors ?? []).map((e) => e.extensions.code));
    // Every refusal is a pipeline rule (version not in the ring before), never an internal error or deadlock.
    expect([...new Set(codes)].filter((c) => c !== 'BAD_USER_INPUT')).toEqual([]);
    const succeeded = responses.filter((r) => !r.body.errors).length;
    expect(succeeded).toBeGreaterThan(24);

    const history = (
      await adminQuery(
        `SELECT id, component_id, from_ring_id, to_ring_id, version FROM deployment_promotions WHERE workspace_id = $1 ORDER BY id`,
        [p.workspace],
      )
    ).rows;
    expect(history).toHaveLength(succeeded + 2);
    // Current state: one row per (ring, component) ever reached, naming the latest history row into it.
    const state = (
      await adminQuery(
        `SELECT ring_id, component_id, version, promotion_id FROM ring_deployments WHERE workspace_id = $1`,
        [p.workspace],
      )
    ).rows;
    for (const s of state) {
      const into = history.filter((h) => h.to_ring_id === s.ring_id && h.component_id === s.component_id);
      expect({ ring: s.ring_id, version: s.version, promotion: s.promotion_id }).toEqual({
        ring: s.ring_id,
        version: into.at(-1).version,
        promotion: into.at(-1).id,
      });
    }
    // Replaying the history in order: every promotion took the version that was in its source ring then.
    const current = new Map<string, string>();
    for (const h of history) {
      if (h.from_ring_id)
        expect({ promotion: h.id, was: current.get(`${h.from_ring_id}:${h.component_id}`) }).toEqual({
          promotion: h.id,
          was: h.version,
        });
      current.set(`${h.to_ring_id}:${h.component_id}`, h.version);
    }
  }, 60000);

  test('concurrent ring creation keeps positions unique and gap-free', async () => {
    const ws = await newWorkspace();
    const env = await newEnvironment(ws, 'dev');
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        gw.graphql(
          CREATE_RING,
          { i: { workspaceId: ws, name: `r${i}`, environmentId: env, ...(i % 3 === 0 ? { position: 0 } : {}) } },
          token,
        ),
      ),
    );
    for (const r of responses) ok(r);
    const rings = ok<any>(await gw.graphql(RINGS, { id: ws }, token)).workspace.deploymentRings;
    expect(rings.map((r: any) => r.position)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }, 60000);
});

describe('isolation between organizations', () => {
  test("org B's token reaches nothing of org A's rings, promotions and deployments, and changes nothing", async () => {
    const a = await pipeline();
    await deploy(a, '1.0.0');
    const orgB = await createOrg(db, 'deploy-b');
    const tokenB = gw.token(orgB.id);
    const b = await pipeline(tokenB);
    await deploy(b, '1.0.0', b.components[0], tokenB);

    await refused(RINGS, { id: a.workspace }, 'NOT_FOUND', undefined, tokenB);
    await refused(DEPLOYMENTS, { id: a.components[0] }, 'NOT_FOUND', undefined, tokenB);
    for (const ring of a.rings) {
      await refused(UPDATE_RING, { id: ring, i: { name: 'stolen' } }, 'NOT_FOUND', undefined, tokenB);
      await refused(DELETE_RING, { id: ring }, 'NOT_FOUND', undefined, tokenB);
      // B's own component into A's ring, and A's component into B's ring.
      await refused(
        DEPLOY,
        { i: { componentId: b.components[0], ringId: ring, version: '6.6.6' } },
        'NOT_FOUND',
        undefined,
        tokenB,
      );
    }
    // Every operation that joins two objects, with one of them A's: B's token gets NOT_FOUND for each.
    const crossed: Array<[string, Record<string, unknown>]> = [
      [DEPLOY, { i: { componentId: a.components[0], ringId: b.rings[0], version: '6.6.6' } }],
      [
        PROMOTE,
        { i: { componentId: b.components[0], fromRingId: a.rings[0], toRingId: a.rings[1], version: '1.0.0' } },
      ],
      [
        PROMOTE,
        { i: { componentId: a.components[0], fromRingId: b.rings[0], toRingId: b.rings[1], version: '1.0.0' } },
      ],
      [
        PROMOTE,
        { i: { componentId: b.components[0], fromRingId: b.rings[0], toRingId: a.rings[1], version: '1.0.0' } },
      ],
      [CREATE_RING, { i: { workspaceId: b.workspace, name: 'x', environmentId: a.environments[0] } }],
      [CREATE_RING, { i: { workspaceId: a.workspace, name: 'x', environmentId: b.environments[0] } }],
      [UPDATE_RING, { id: b.rings[0], i: { environmentId: a.environments[0] } }],
    ];
    for (const [operation, variables] of crossed) await refused(operation, variables, 'NOT_FOUND', undefined, tokenB);

    // B's own view contains only B's rings, promotions and deployments.
    const everything = ok<any>(
      await gw.graphql(
        `{ organization { workspaces(first: 100) { edges { node { deploymentRings { id environment { id } promotions { edges { node { id component { id } } } } }
            components { edges { node { deployments { ringId promotion { id } } } } } } } } } }`,
        {},
        tokenB,
      ),
    );
    const text = JSON.stringify(everything);
    for (const id of [a.workspace, ...a.rings, ...a.environments, ...a.components]) expect(text).not.toContain(id);
    expect(text).toContain(b.rings[0]);
  });
});
