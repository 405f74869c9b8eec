import crypto from 'node:crypto';
import {
  createTestDatabase,
  PGBOUNCER_POOL_SIZE,
  PGBOUNCER_PORT,
  pgBouncerShow,
  type TestDatabase,
} from './support/database';
import { cli, startGateway, type RunningGateway } from './support/gateway';
import { createOrg, createTree, ok, gid, raw, uuidOf, type Org, type Tree } from './support/fixtures';
import { expectError } from './support/expect';
import { generateKeyPair } from './support/tokens';

/**
 * Two gateway replicas on one database, each serving through its own pool of the serving login. In
 * `npm run test:pgbouncer` both reach PostgreSQL through PgBouncer in transaction mode (owner and serving
 * connections alike) with two server connections per (database, user): eight gateway connections then
 * share two server backends, so requests of both organizations, from both replicas, run one after the other
 * on the same PostgreSQL sessions. Nothing of one request may survive into the next.
 */
let db: TestDatabase;
let replicas: RunningGateway[];
let servingLogin: string;
let orgA: Org;
let orgB: Org;
let treeA: Tree;
let treeB: Tree;

const PER_REPLICA_POOL = 4;

beforeAll(async () => {
  db = await createTestDatabase();
  servingLogin = `gw_replica_${crypto.randomBytes(3).toString('hex')}`;
  const login = await cli(['db', 'create-serving-login', '--name', servingLogin, '--json'], { DATABASE_URL: db.url });
  expect({ code: login.code, stderr: login.stderr }).toMatchObject({ code: 0 });
  const env = { APP_DATABASE_URL: login.json.app_database_url, DB_POOL_SIZE: String(PER_REPLICA_POOL) };
  // Replicas share the signing key, as they would share JWT_PRIVATE_KEY in production.
  const key = generateKeyPair();
  replicas = await Promise.all([
    startGateway({ databaseUrl: db.url, env, key }),
    startGateway({ databaseUrl: db.url, env, key }),
  ]);
  orgA = await createOrg(db, 'replica-a');
  orgB = await createOrg(db, 'replica-b');
  treeA = await createTree(replicas[0], replicas[0].token(orgA.id), { workspaces: 2, environments: 2, components: 1 });
  treeB = await createTree(replicas[1], replicas[1].token(orgB.id), { workspaces: 3, environments: 1, components: 1 });
});
afterAll(async () => {
  await Promise.all((replicas ?? []).map((gw) => gw.stop()));
  await db?.drop();
});

async function exchange(base: string, apiKey: string) {
  const response = await fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api_key: apiKey }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

test('a key revoked on one replica is refused by the other at once: its tokens and the key itself', async () => {
  const [one, two] = replicas;
  const created = ok<any>(
    await one.graphql(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { id } } }`,
      { i: { name: 'replicated', scopes: ['org:read'] } },
      one.token(orgA.id),
    ),
  ).createApiKey;
  const exchanged = await exchange(two.url, created.key);
  expect(exchanged.status).toBe(200);
  const token = exchanged.body.access_token as string;
  // Both replicas accept the token (the signing key is shared, the key's state is in the database).
  for (const gw of replicas)
    expect(ok<any>(await gw.graphql(`{ organization { id } }`, {}, token)).organization.id).toBe(
      gid('Organization', orgA.id),
    );

  ok(
    await one.graphql(
      `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`,
      { id: created.apiKey.id },
      one.token(orgA.id),
    ),
  );

  const refused = await two.graphql(`{ organization { id } }`, {}, token);
  expect(refused.status).toBe(401);
  expectError(refused, 'UNAUTHENTICATED');
  expect(refused.body.errors?.[0].message).toMatch(/revoked/);
  expect(await exchange(two.url, created.key)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  expect(await exchange(one.url, created.key)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
});

test('a thousand interleaved reads and writes of two organizations over both replicas never cross organizations', async () => {
  const QUERY = `{ organization { id workspaces(first: 100) { edges { node { id name environments { edges { node { id } } } } } } } }`;
  const own: Record<string, Set<string>> = {
    [orgA.id]: new Set([...treeA.workspaces.map((w) => w.id), ...treeA.workspaces.flatMap((w) => w.environments)]),
    [orgB.id]: new Set([...treeB.workspaces.map((w) => w.id), ...treeB.workspaces.flatMap((w) => w.environments)]),
  };
  const statsBefore = PGBOUNCER_PORT ? await bouncerTransactions() : 0;
  const created: Record<string, string[]> = { [orgA.id]: [], [orgB.id]: [] };
  const tag: Record<string, string> = { [orgA.id]: 'org-a', [orgB.id]: 'org-b' };
  let round = 0;
  const ROUNDS = 1000;
  const worker = async (w: number) => {
    while (round < ROUNDS) {
      const n = round++;
      const orgId = n % 2 === 0 ? orgA.id : orgB.id;
      const gw = replicas[(n >> 1) % 2];
      const token = gw.token(orgId);
      if (n % 10 < 2) {
        // A write: it must land in the requesting organization, visible to that organization only. Its name
        // carries the organization: other workers may read it before this one has its id.
        const id = ok<any>(
          await gw.graphql(
            `mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }`,
            { i: { name: `${tag[orgId]}-w${w}-${n}` } },
            token,
          ),
        ).createWorkspace.id as string;
        created[orgId].push(id);
        continue;
      }
      const data = ok<any>(await gw.graphql(QUERY, {}, token));
      expect(uuidOf(data.organization.id)).toBe(orgId);
      for (const edge of data.organization.workspaces.edges) {
        if (!own[orgId].has(edge.node.id)) expect(edge.node.name).toMatch(new RegExp(`^${tag[orgId]}-w`));
        for (const env of edge.node.environments.edges) expect(own[orgId].has(env.node.id)).toBe(true);
      }
    }
  };
  await Promise.all(Array.from({ length: 2 * PER_REPLICA_POOL }, (_, w) => worker(w)));

  for (const orgId of [orgA.id, orgB.id]) {
    const rows = await db.admin.query(`SELECT id FROM workspaces WHERE org_id = $1 AND id = ANY($2::uuid[])`, [
      orgId,
      raw(created[orgId]),
    ]);
    expect(rows.rowCount).toBe(created[orgId].length);
  }
  // The serving login never leaves a session in a transaction, whoever used it last.
  const stuck = await db.admin.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state LIKE 'idle in transaction%'`,
    [servingLogin],
  );
  expect(stuck.rows[0].n).toBe(0);

  if (PGBOUNCER_PORT) {
    // The traffic really went through PgBouncer: it counted the transactions, and the serving login had more
    // client connections (the replicas' pools) than PostgreSQL sessions, so the sessions were shared.
    expect((await bouncerTransactions()) - statsBefore).toBeGreaterThanOrEqual(ROUNDS);
    const dbName = new URL(db.url).pathname.slice(1);
    const pools = (await pgBouncerShow('POOLS')).filter((p) => p.database === dbName && p.user === servingLogin);
    expect(pools).toHaveLength(1);
    const servers = ['sv_active', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login'].reduce(
      (sum, column) => sum + Number(pools[0][column]),
      0,
    );
    expect(servers).toBeLessThanOrEqual(PGBOUNCER_POOL_SIZE);
    const clients = (await pgBouncerShow('CLIENTS')).filter((c) => c.database === dbName && c.user === servingLogin);
    expect(clients.length).toBeGreaterThan(PGBOUNCER_POOL_SIZE);
    const sessions = await db.admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`, [
      servingLogin,
    ]);
    expect(sessions.rows[0].n).toBeLessThanOrEqual(PGBOUNCER_POOL_SIZE);
  }
}, 180000);

/** Transactions PgBouncer has carried for this file's database so far. */
async function bouncerTransactions(): Promise<number> {
  const dbName = new URL(db.url).pathname.slice(1);
  const stats = (await pgBouncerShow('STATS')).find((s) => s.database === dbName);
  return Number(stats?.total_xact_count ?? 0);
}
