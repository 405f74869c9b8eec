import { ORG_ROLE_SCOPES, OrgRole, WorkspaceRole, atLeast } from '../src/auth/roles';
import { ALL_SCOPES } from './support/scopes';
import { cli } from './support/gateway';
import { snapshotDigest } from './support/database';
import { gid, ok, uuidOf } from './support/fixtures';
import { useGateway } from './support/harness';
import { rest } from './support/rest';
import {
  bodyFor,
  call,
  componentTypeOf,
  fillPath,
  operationsOf,
  pathIds,
  seedOrg,
  USERS,
  type Doc,
  type Operation,
  type Seed,
} from './support/rest-sweep';

/**
 * The role × route matrix, generated from the live OpenAPI document: every operation, called by each
 * organization role (owner, admin, member, viewer, billing) and by an API key, on the organization's own
 * objects with a valid body. The expected answer is derived, not listed: the operation's declared scopes
 * (`x-required-scopes`) against the principal's effective scopes (token scopes ∩ ORG_ROLE_SCOPES of the
 * role, src/auth/roles.ts), then the workspace role the change needs (the services' requireWorkspaceRole,
 * below) against the principal's role in the workspace. Refused → 403 FORBIDDEN and the database unchanged;
 * allowed → 2xx. A few equivalent GraphQL operations are asked too, and must agree.
 */
const { gw, db, orgA } = useGateway({ orgs: ['roles-a'], timeout: 60_000 });

interface Principal {
  name: string;
  role: OrgRole;
  /** The principal's role in the seeded workspace (owners and admins: every workspace, as admin). */
  workspaceRole: WorkspaceRole | null;
  scopes: readonly string[];
  token: string;
}

/** API-key scopes: some reads and one write, so both sides of the scope check are exercised. */
const KEY_SCOPES = ['org:read', 'workspaces:read', 'components:read', 'connectors:write'];

/**
 * The workspace role each change needs (the service's requireWorkspaceRole). The services decide this, so
 * the test states it: an unknown change under a workspace is inferred from its summary ("workspace admins",
 * "developers"), and an operation with neither fails the test until it is added here.
 */
const ADMIN_OPS = new Set([
  'updateWorkspace',
  'deleteWorkspace',
  'setWorkspaceLlmSettings',
  'clearWorkspaceLlmSettings',
  'setWorkspaceMember',
  'removeWorkspaceMember',
  'setEnvironmentCredentials',
  'clearEnvironmentCredentials',
  'createDeploymentRing',
  'updateDeploymentRing',
  'deleteDeploymentRing',
]);
const DEVELOPER_OPS = new Set([
  'createConnector',
  'updateConnector',
  'clearConnectorSecret',
  'deleteConnector',
  'createEnvironment',
  'updateEnvironment',
  'deleteEnvironment',
  'deployComponent',
  'promoteComponent',
]);
/** Changes that need no workspace role beyond their scopes. */
const NO_WORKSPACE_ROLE = new Set(['createWorkspace']);

function workspaceRoleNeeded(op: Operation): WorkspaceRole | null {
  if (op.method === 'get' || !op.params.includes('workspace_id') || NO_WORKSPACE_ROLE.has(op.operationId)) return null;
  if (ADMIN_OPS.has(op.operationId)) return WorkspaceRole.ADMIN;
  if (DEVELOPER_OPS.has(op.operationId) || /^(create|update|delete)[A-Z]/.test(op.operationId)) {
    // Components (any type path) are developer changes, like the other workspace contents.
    if (/component|agent|workflow|code.?block|hosted.?service/i.test(op.operationId + op.path))
      return WorkspaceRole.DEVELOPER;
  }
  if (DEVELOPER_OPS.has(op.operationId)) return WorkspaceRole.DEVELOPER;
  if (/workspace admins/i.test(op.summary)) return WorkspaceRole.ADMIN;
  if (/developers/i.test(op.summary)) return WorkspaceRole.DEVELOPER;
  throw new Error(`${op.operationId}: which workspace role does it need? Add it to ADMIN_OPS or DEVELOPER_OPS`);
}

/** Operations whose success depends on state a previous allowed call changed (a version promoted once). */
const STATEFUL = new Set(['promoteComponent']);

function expected(op: Operation, p: Principal): 'allowed' | 'forbidden' {
  const effective = new Set(p.scopes.filter((s) => (ORG_ROLE_SCOPES[p.role] as readonly string[]).includes(s)));
  if (!op.scopes.every((s) => effective.has(s))) return 'forbidden';
  const needed = workspaceRoleNeeded(op);
  if (needed && !atLeast(p.workspaceRole, needed)) return 'forbidden';
  return 'allowed';
}

let doc: Doc;
let operations: Operation[];
let seed: Seed;
let principals: Principal[];
const owner = () => seed.token;
const q = async (query: string, variables: Record<string, unknown> = {}) =>
  ok<any>(await gw.graphql(query, variables, owner()));
let n = 0;

/** A fresh object for destructive calls (delete, revoke, rotate), so each principal acts on its own. */
const FRESH: Record<string, (op: Operation) => Promise<string>> = {
  async workspace_id() {
    const id = (await q(`mutation { createWorkspace(input: { name: "Fresh ${n++}" }) { id } }`)).createWorkspace.id;
    await q(
      `mutation($w: ID!) { a: setWorkspaceMember(workspaceId: $w, userId: "${USERS.member}", role: DEVELOPER) { role }
      b: setWorkspaceMember(workspaceId: $w, userId: "${USERS.viewer}", role: VIEWER) { role } }`,
      { w: id },
    );
    return uuidOf(id);
  },
  async environment_id() {
    const i = {
      workspaceId: gid('Workspace', seed.ids.workspace_id),
      name: `Fresh ${n}`,
      slug: `fresh-${n++}`,
      tier: 'DEV',
      deploymentHost: 'AWS',
    };
    return uuidOf(
      (await q(`mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`, { i }))
        .createEnvironment.id,
    );
  },
  async component_id(op) {
    const i = {
      workspaceId: gid('Workspace', seed.ids.workspace_id),
      name: `Fresh ${n++}`,
      type: componentTypeOf(op.path),
      configuration: {},
    };
    return uuidOf(
      (await q(`mutation($i: CreateComponentInput!) { createComponent(input: $i) { id } }`, { i })).createComponent.id,
    );
  },
  async ring_id() {
    const i = {
      workspaceId: gid('Workspace', seed.ids.workspace_id),
      name: `fresh-${n++}`,
      environmentId: gid('Environment', seed.ids.environment_id),
    };
    return uuidOf(
      (await q(`mutation($i: CreateDeploymentRingInput!) { createDeploymentRing(input: $i) { id } }`, { i }))
        .createDeploymentRing.id,
    );
  },
  async connector_id() {
    const i = {
      workspaceId: gid('Workspace', seed.ids.workspace_id),
      kind: 'API',
      name: `Fresh ${n++}`,
      secret: 'tok-123456',
    };
    return uuidOf(
      (await q(`mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }`, { i })).createConnector.id,
    );
  },
  async api_key_id() {
    return uuidOf(
      (await q(`mutation { createApiKey(input: { name: "Fresh ${n++}", scopes: ["org:read"] }) { apiKey { id } } }`))
        .createApiKey.apiKey.id,
    );
  },
  async user_id() {
    const user = `fresh-${n++}`;
    await db.admin.query(`INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, $2, $3, 'viewer')`, [
      orgA.id,
      user,
      `${user}@a.test`,
    ]);
    await q(`mutation($w: ID!) { setWorkspaceMember(workspaceId: $w, userId: "${user}", role: VIEWER) { role } }`, {
      w: gid('Workspace', seed.ids.workspace_id),
    });
    return user;
  },
};

const destructive = (op: Operation) =>
  op.method === 'delete' || ['revokeApiKey', 'rotateApiKey'].includes(op.operationId);

async function idsFor(op: Operation): Promise<Record<string, string>> {
  const ids = { ...pathIds(op, seed) };
  const last = op.params.at(-1);
  if (destructive(op) && last && last !== 'org_id') {
    const make = FRESH[last];
    if (!make) throw new Error(`${op.operationId}: no fresh ${last} factory`);
    ids[last] = await make(op);
  }
  return ids;
}

beforeAll(async () => {
  seed = await seedOrg(gw, db, orgA, 'target-a');
  doc = (await rest(gw, 'get', '/openapi.json')).body;
  operations = operationsOf(doc);
  const as = (sub: string) => gw.token(orgA.id, ALL_SCOPES, { sub });
  const created = await rest(gw, 'post', `/orgs/${orgA.id}/api-keys`, {
    token: owner(),
    body: { name: 'matrix', scopes: KEY_SCOPES },
  });
  expect(created.status).toBe(201);
  principals = [
    { name: 'owner', role: OrgRole.OWNER, workspaceRole: WorkspaceRole.ADMIN, scopes: ALL_SCOPES, token: owner() },
    {
      name: 'admin',
      role: OrgRole.ADMIN,
      workspaceRole: WorkspaceRole.ADMIN,
      scopes: ALL_SCOPES,
      token: as(USERS.admin),
    },
    {
      name: 'member (developer)',
      role: OrgRole.MEMBER,
      workspaceRole: WorkspaceRole.DEVELOPER,
      scopes: ALL_SCOPES,
      token: as(USERS.member),
    },
    {
      name: 'viewer',
      role: OrgRole.VIEWER,
      workspaceRole: WorkspaceRole.VIEWER,
      scopes: ALL_SCOPES,
      token: as(USERS.viewer),
    },
    { name: 'billing', role: OrgRole.BILLING, workspaceRole: null, scopes: ALL_SCOPES, token: as(USERS.billing) },
    // The owner's key: the owner's role, narrowed to the key's scopes.
    {
      name: 'api key',
      role: OrgRole.OWNER,
      workspaceRole: WorkspaceRole.ADMIN,
      scopes: KEY_SCOPES,
      token: await gw.exchangeApiKey(created.body.key),
    },
  ];
}, 60_000);

test('every operation × every principal: the derived answer (2xx, or 403 FORBIDDEN with nothing changed)', async () => {
  const failures: string[] = [];
  const tally = { allowed: 0, forbidden: 0 };
  for (const op of operations) {
    for (const p of principals) {
      const want = expected(op, p);
      const path = fillPath(op, await idsFor(op));
      const body = bodyFor(op, doc, seed);
      const before = want === 'forbidden' ? await snapshotDigest(db.admin) : undefined;
      const r = await call(gw, op, path, p.token, body);
      const label = `${p.name} ${op.method.toUpperCase()} ${op.path}`;
      if (want === 'forbidden') {
        if (r.status !== 403 || r.body?.code !== 'FORBIDDEN')
          failures.push(`${label}: want 403, got ${r.status} ${r.text.slice(0, 160)}`);
        else if (JSON.stringify(await snapshotDigest(db.admin)) !== JSON.stringify(before))
          failures.push(`${label}: refused but changed data`);
      } else if (
        STATEFUL.has(op.operationId) ? [401, 403, 404].includes(r.status) || r.status >= 500 : r.status >= 300
      ) {
        failures.push(`${label}: want 2xx, got ${r.status} ${r.text.slice(0, 160)}`);
      }
      tally[want]++;
    }
  }
  expect(failures).toEqual([]);
  // Both sides of the matrix are exercised (a matrix of only 2xx or only 403 would prove little).
  expect(tally.allowed).toBeGreaterThan(50);
  expect(tally.forbidden).toBeGreaterThan(50);
}, 180_000);

test('GraphQL answers the equivalent operations the same way', async () => {
  const w = gid('Workspace', seed.ids.workspace_id);
  const pairs: Array<{ rest: string; graphql: string; variables?: Record<string, unknown> }> = [
    { rest: 'listApiKeys', graphql: `{ organization { apiKeys(first: 1) { totalCount } } }` },
    { rest: 'createWorkspace', graphql: `mutation { createWorkspace(input: { name: "G" }) { id } }` },
    {
      rest: 'createConnector',
      graphql: `mutation($w: ID!) { createConnector(input: { workspaceId: $w, kind: API, name: "g#" }) { id } }`,
      variables: { w },
    },
    {
      rest: 'setWorkspaceLlmSettings',
      graphql: `mutation($w: ID!) { setWorkspaceLlmSettings(workspaceId: $w, input: { defaultProvider: OPENAI, defaultModel: "m" }) { defaultModel } }`,
      variables: { w },
    },
    { rest: 'recordUsage', graphql: `mutation { recordUsage(input: { amount: 1, reason: "g" }) { id } }` },
    { rest: 'listSubscriptions', graphql: `{ organization { subscriptions(first: 1) { totalCount } } }` },
  ];
  for (const pair of pairs) {
    const op = operations.find((o) => o.operationId === pair.rest)!;
    expect(op).toBeDefined();
    for (const p of principals) {
      const r = await gw.graphql(pair.graphql.replace('#', String(n++)), pair.variables ?? {}, p.token);
      const code = r.body.errors?.[0]?.extensions?.code ?? 'OK';
      expect({ op: pair.rest, principal: p.name, code }).toEqual({
        op: pair.rest,
        principal: p.name,
        code: expected(op, p) === 'allowed' ? 'OK' : 'FORBIDDEN',
      });
    }
  }
});

test('organization status, on every operation: suspended → reads work, changes 403 ORG_SUSPENDED; archived → all 403 ORG_ARCHIVED; nothing changed', async () => {
  const setStatus = async (status: string) =>
    expect(
      (
        await cli(['org', 'set-status', '--org', orgA.slug, '--status', status], {
          DATABASE_URL: db.url,
          NODE_ENV: 'test',
        })
      ).code,
    ).toBe(0);
  const failures: string[] = [];
  for (const status of ['suspended', 'archived']) {
    await setStatus(status);
    for (const op of operations) {
      const path = fillPath(op, pathIds(op, seed));
      const before = await snapshotDigest(db.admin);
      const r = await call(gw, op, path, owner(), bodyFor(op, doc, seed));
      const want =
        status === 'archived' ? [403, 'ORG_ARCHIVED'] : op.method === 'get' ? [200, undefined] : [403, 'ORG_SUSPENDED'];
      const got = [r.status, r.status === 200 ? undefined : r.body?.code];
      if (JSON.stringify(got) !== JSON.stringify(want))
        failures.push(`${status} ${op.method.toUpperCase()} ${op.path}: want ${want}, got ${got}`);
      if (op.method !== 'get' && JSON.stringify(await snapshotDigest(db.admin)) !== JSON.stringify(before))
        failures.push(`${status} ${op.method.toUpperCase()} ${op.path}: changed data`);
    }
  }
  await setStatus('active');
  expect(failures).toEqual([]);
}, 120_000);
