import { cli, type GraphQLResponse } from './support/gateway';
import { createOrg, ok, raw, type Org } from './support/fixtures';
import { ALL_SCOPES } from './support/scopes';
import { enumValues, type EnumLookup } from './support/enums';
import { useGateway } from './support/harness';

/**
 * Concurrency: many parallel changes of the same things (membership with the last-owner rule, credit
 * usage on one balance, deployments through one pipeline, rotations of one API key). Every answer is a
 * success or a domain error — never a deadlock, an internal error or an HTTP 5xx — and the invariants
 * hold afterwards. Services lock in a deterministic order, so no mutation even needs the deadlock retry
 * of TenantScope.mutation: `extensions.sql.retries` (exposed in tests) must stay 0, otherwise the retry
 * would hide a locking bug that this test is here to catch.
 */
const { gw, db } = useGateway({ env: { DB_POOL_SIZE: '20' } });
let E: EnumLookup;

beforeAll(async () => {
  const probe = await createOrg(db, 'probe');
  E = await enumValues(gw, gw.token(probe.id));
});

const DOMAIN_CODES = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED']);

interface Outcome {
  ok: boolean;
  codes: string[];
  retries: number;
  response: GraphQLResponse;
}

/** Classifies an answer; fails the test on anything but a success or a domain error. */
function outcome(response: GraphQLResponse): Outcome {
  const codes = (response.body.errors ?? []).map((e) => e.extensions?.code as string);
  expect({ status: response.status < 500, codes: codes.filter((c) => !DOMAIN_CODES.has(c)) }).toEqual({
    status: true,
    codes: [],
  });
  return { ok: codes.length === 0, codes, retries: response.body.extensions?.sql?.retries ?? 0, response };
}

/** A small deterministic generator, so a failing mix can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)];

const ADD = `mutation($i: AddMemberInput!) { addMember(input: $i) { userId } }`;
const UPDATE_MEMBER = `mutation($u: ID!, $i: UpdateMemberInput!) { updateMember(userId: $u, input: $i) { userId role displayName } }`;
const REMOVE_MEMBER = `mutation($u: ID!) { removeMember(userId: $u) }`;

async function owners(orgId: string): Promise<string[]> {
  const { rows } = await db.admin.query(
    `SELECT user_id FROM org_members WHERE org_id = $1 AND lower(role::text) = 'owner' ORDER BY user_id`,
    [orgId],
  );
  return rows.map((r) => r.user_id);
}

async function membersOrg(prefix: string, people: Record<string, string>): Promise<Org> {
  const org = await createOrg(db, prefix); // owner user-1
  for (const [userId, role] of Object.entries(people)) {
    ok(
      await gw.graphql(
        ADD,
        { i: { userId, email: `${userId}@example.test`, role: E.OrgRole(role) } },
        gw.token(org.id, ALL_SCOPES, { sub: 'user-1' }),
      ),
    );
  }
  return org;
}

describe('membership changes', () => {
  test('two owners demoting and removing each other 20 times in parallel: no deadlock, one owner left', async () => {
    const org = await membersOrg('two-owners', { 'owner-2': 'owner' });
    const as = (sub: string) => gw.token(org.id, ALL_SCOPES, { sub });
    const pair = ['user-1', 'owner-2'];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const [caller, target] = i % 2 ? pair : [...pair].reverse();
        return i % 4 < 2
          ? gw.graphql(UPDATE_MEMBER, { u: target, i: { role: E.OrgRole('admin') } }, as(caller))
          : gw.graphql(REMOVE_MEMBER, { u: target }, as(caller));
      }),
    );
    const outcomes = results.map(outcome);
    expect(outcomes.reduce((n, o) => n + o.retries, 0)).toBe(0);
    expect(outcomes.filter((o) => o.ok).length).toBeGreaterThanOrEqual(1);
    expect((await owners(org.id)).length).toBe(1);
  });

  test('50 parallel promotions, demotions and removals among owners, admins and members', async () => {
    const people: Record<string, string> = {
      'owner-2': 'owner',
      'owner-3': 'owner',
      'owner-4': 'owner',
      'admin-1': 'admin',
      'admin-2': 'admin',
      'admin-3': 'admin',
    };
    for (let m = 1; m <= 6; m++) people[`member-${m}`] = 'member';
    const org = await membersOrg('many', people);
    const as = (sub: string) => gw.token(org.id, ALL_SCOPES, { sub });
    const everyone = ['user-1', ...Object.keys(people)];
    const callers = ['user-1', 'owner-2', 'owner-3', 'owner-4', 'admin-1', 'admin-2'];
    const roles = ['owner', 'admin', 'member', 'viewer'];
    const rand = random(9);
    const ops = Array.from({ length: 50 }, () => {
      const caller = pick(rand, callers);
      const target = pick(rand, everyone);
      return rand() < 0.7
        ? {
            kind: 'updateMember',
            run: () => gw.graphql(UPDATE_MEMBER, { u: target, i: { role: E.OrgRole(pick(rand, roles)) } }, as(caller)),
          }
        : { kind: 'removeMember', run: () => gw.graphql(REMOVE_MEMBER, { u: target }, as(caller)) };
    });
    const outcomes = (await Promise.all(ops.map((op) => op.run()))).map(outcome);
    expect(outcomes.reduce((n, o) => n + o.retries, 0)).toBe(0);
    expect(outcomes.some((o) => o.ok)).toBe(true);
    expect((await owners(org.id)).length).toBeGreaterThanOrEqual(1);
    // Every success (and nothing else) left its audit record.
    const { rows } = await db.admin.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE org_id = $1 AND operation IN ('updateMember', 'removeMember')`,
      [org.id],
    );
    expect(rows[0].n).toBe(outcomes.filter((o) => o.ok).length);
  });

  test('workspace memberships changed while their members are removed: no deadlock', async () => {
    const org = await membersOrg('ws-members', { 'member-1': 'member', 'member-2': 'member', 'member-3': 'member' });
    const owner = gw.token(org.id, ALL_SCOPES, { sub: 'user-1' });
    const workspaces: string[] = [];
    for (let w = 0; w < 3; w++) {
      workspaces.push(
        ok<any>(
          await gw.graphql(
            `mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }`,
            { i: { name: `W${w}` } },
            owner,
          ),
        ).createWorkspace.id,
      );
    }
    const SET = `mutation($w: ID!, $u: ID!, $r: WorkspaceRole!) { setWorkspaceMember(workspaceId: $w, userId: $u, role: $r) { userId } }`;
    const rand = random(3);
    const users = ['member-1', 'member-2', 'member-3'];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 10 === 9
          ? gw.graphql(REMOVE_MEMBER, { u: pick(rand, users) }, owner)
          : gw.graphql(
              SET,
              {
                w: pick(rand, workspaces),
                u: pick(rand, users),
                r: E.WorkspaceRole(pick(rand, ['admin', 'developer', 'viewer'])),
              },
              owner,
            ),
      ),
    );
    const outcomes = results.map(outcome);
    expect(outcomes.reduce((n, o) => n + o.retries, 0)).toBe(0);
    const { rows } = await db.admin.query(
      `SELECT count(*)::int AS n FROM workspace_members w WHERE org_id = $1 AND NOT EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = w.org_id AND m.user_id = w.user_id)`,
      [org.id],
    );
    expect(rows[0].n).toBe(0);
  });
});

describe('the deadlock backstop', () => {
  test("a deadlock victim's mutation is rolled back to its savepoint and run again: it succeeds, once", async () => {
    const org = await membersOrg('victim', { 'member-1': 'member' });
    const owner = gw.token(org.id, ALL_SCOPES, { sub: 'user-1' });
    /**
     * One attempt at making the mutation a deadlock victim. PostgreSQL checks for a deadlock once per
     * wait, deadlock_timeout (1 s) after the wait began, and the checker aborts itself: the mutation is
     * the victim when the cycle closes within that second (true unless the machine is very busy, in which
     * case the other transaction is the victim and we try again).
     */
    const attempt = async (name: string): Promise<{ victim: boolean; response: GraphQLResponse }> => {
      const other = await db.admin.connect();
      try {
        // Another transaction (a stand-in for any other writer) holds member-1's row…
        await other.query('BEGIN');
        await other.query(`SELECT 1 FROM org_members WHERE org_id = $1 AND user_id = 'member-1' FOR UPDATE`, [org.id]);
        // …while the mutation, having locked the owner rows (user-1), waits for it.
        const pending = gw.graphql(UPDATE_MEMBER, { u: 'member-1', i: { displayName: name } }, owner);
        for (let i = 0; ; i++) {
          const { rows } = await db.admin.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE org_members%'`,
          );
          if (rows.length) break;
          if (i > 400) throw new Error('the mutation never waited for the row lock');
          await new Promise((r) => setTimeout(r, 25));
        }
        // Now the other transaction wants the owner row: a cycle.
        const victim = await other
          .query(`SELECT 1 FROM org_members WHERE org_id = $1 AND user_id = 'user-1' FOR UPDATE`, [org.id])
          .then(
            () => true, // granted: the mutation's savepoint was rolled back
            (error) => {
              if (error.code !== '40P01') throw error;
              return false;
            },
          );
        await other.query('ROLLBACK'); // lets the retry (or the waiting mutation) through
        return { victim, response: await pending };
      } finally {
        await other.query('ROLLBACK').catch(() => undefined);
        other.release();
      }
    };
    let attempts = 1;
    let result = await attempt('Renamed 1');
    while (!result.victim && attempts < 4) result = await attempt(`Renamed ${++attempts}`);
    expect(result.victim).toBe(true);
    const { response } = result;
    expect({ errors: response.body.errors ?? [], retries: response.body.extensions?.sql?.retries }).toEqual({
      errors: [],
      retries: 1,
    });
    const { rows } = await db.admin.query(
      `SELECT display_name FROM org_members WHERE org_id = $1 AND user_id = 'member-1'`,
      [org.id],
    );
    expect(rows[0].display_name).toBe(response.body.data.updateMember.displayName);
    // One audit row per answered mutation: the victim's first run took its audit row with its savepoint.
    const audit = await db.admin.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE org_id = $1 AND operation = 'updateMember'`,
      [org.id],
    );
    expect(audit.rows[0].n).toBe(attempts);
  });
});

describe('credit usage', () => {
  test('50 parallel usages (some retried with the same idempotency key) and platform grants on one balance', async () => {
    const org = await createOrg(db, 'usage');
    const grant = (amount: number) =>
      cli(['billing', 'grant', '--org', org.slug, '--amount', String(amount), '--reason', 'top-up', '--json'], {
        DATABASE_URL: db.url,
        NODE_ENV: 'test',
      });
    expect((await grant(1000)).code).toBe(0);
    const token = gw.token(org.id);
    const RECORD = `mutation($i: RecordUsageInput!) { recordUsage(input: $i) { id amount balanceAfter } }`;
    const rand = random(5);
    const inputs = Array.from({ length: 50 }, (_, i) => {
      // Pairs 0/1, 2/3, … 18/19 are the same usage sent twice (a client retry) with one idempotency key.
      if (i < 20)
        return {
          amount: 10 + Math.floor(i / 2),
          reason: `retried ${Math.floor(i / 2)}`,
          idempotencyKey: `key-${Math.floor(i / 2)}`,
        };
      return { amount: 1 + Math.floor(rand() * 60), reason: `usage ${i}` };
    });
    const [responses, grants] = await Promise.all([
      Promise.all(inputs.map((i) => gw.graphql(RECORD, { i }, token))),
      Promise.all([grant(100), grant(100)]),
    ]);
    expect(grants.map((g) => g.code)).toEqual([0, 0]);
    const outcomes = responses.map(outcome);
    expect(outcomes.reduce((n, o) => n + o.retries, 0)).toBe(0);
    for (const o of outcomes.filter((x) => !x.ok)) expect(o.codes).toEqual(['BAD_USER_INPUT']); // insufficient credits
    // Both sends of a retried usage got the same ledger entry (or both were refused).
    for (let p = 0; p < 10; p++) {
      const [a, b] = [outcomes[2 * p], outcomes[2 * p + 1]];
      if (a.ok && b.ok) expect(a.response.body.data.recordUsage.id).toBe(b.response.body.data.recordUsage.id);
    }
    const { rows: ledger } = await db.admin.query(
      `SELECT amount::bigint AS amount, balance_after::bigint AS after, idempotency_key FROM credit_ledger WHERE org_id = $1 ORDER BY id`,
      [org.id],
    );
    let running = 0;
    for (const entry of ledger) {
      running += Number(entry.amount);
      expect(Number(entry.after)).toBe(running);
      expect(running).toBeGreaterThanOrEqual(0);
    }
    const keys = ledger.map((e) => e.idempotency_key).filter(Boolean);
    expect(new Set(keys).size).toBe(keys.length);
    const {
      rows: [balance],
    } = await db.admin.query(`SELECT balance::bigint AS balance FROM credit_balances WHERE org_id = $1`, [org.id]);
    expect(Number(balance.balance)).toBe(running);
    const consumed = new Set(outcomes.filter((o) => o.ok).map((o) => o.response.body.data.recordUsage.id)).size;
    expect(ledger.filter((e) => Number(e.amount) < 0).length).toBe(consumed);
  });
});

describe('deployments', () => {
  test('50 parallel deploys, promotions, ring changes and component deletions in one pipeline', async () => {
    const org = await createOrg(db, 'pipeline');
    const token = gw.token(org.id);
    const gql = async (query: string, variables: Record<string, unknown>) =>
      ok<any>(await gw.graphql(query, variables, token));
    const workspace = (
      await gql(`mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }`, {
        i: { name: 'Pipeline' },
      })
    ).createWorkspace.id;
    const environments: string[] = [];
    for (const slug of ['dev', 'stage', 'prod']) {
      environments.push(
        (
          await gql(`mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`, {
            i: { workspaceId: workspace, name: slug, slug, tier: E.EnvironmentTier(slug) },
          })
        ).createEnvironment.id,
      );
    }
    const CREATE_RING = `mutation($i: CreateDeploymentRingInput!) { createDeploymentRing(input: $i) { id } }`;
    const rings: string[] = [];
    for (const [i, name] of ['canary', 'early', 'general'].entries())
      rings.push(
        (await gql(CREATE_RING, { i: { workspaceId: workspace, name, environmentId: environments[i] } }))
          .createDeploymentRing.id,
      );
    const components: string[] = [];
    for (let c = 0; c < 6; c++)
      components.push(
        (
          await gql(`mutation($i: CreateComponentInput!) { createComponent(input: $i) { id } }`, {
            i: { workspaceId: workspace, name: `C${c}`, type: E.ComponentType('agent') },
          })
        ).createComponent.id,
      );
    const DEPLOY = `mutation($i: DeployComponentInput!) { deployComponent(input: $i) { id } }`;
    const PROMOTE = `mutation($i: PromoteComponentInput!) { promoteComponent(input: $i) { id } }`;
    // Every component starts with 1.0.0 in every ring.
    for (const componentId of components) {
      await gql(DEPLOY, { i: { componentId, ringId: rings[0], version: '1.0.0' } });
      await gql(PROMOTE, { i: { componentId, fromRingId: rings[0], toRingId: rings[1], version: '1.0.0' } });
      await gql(PROMOTE, { i: { componentId, fromRingId: rings[1], toRingId: rings[2], version: '1.0.0' } });
    }
    const rand = random(11);
    const ops = Array.from({ length: 50 }, (_, i) => {
      const componentId = pick(rand, components);
      const r = rand();
      // Components 3-5 are deleted while versions of them are being deployed and promoted.
      if (i === 15 || i === 25 || i === 35)
        return () =>
          gw.graphql(`mutation($id: ID!) { deleteComponent(id: $id) }`, { id: components[(i - 5) / 10 + 2] }, token);
      if (r < 0.3)
        return () =>
          gw.graphql(
            DEPLOY,
            { i: { componentId, ringId: rings[0], version: pick(rand, ['1.0.0', '1.1.0', '2.0.0']) } },
            token,
          );
      if (r < 0.8) {
        const step = pick(rand, [0, 1]);
        return () =>
          gw.graphql(
            PROMOTE,
            {
              i: {
                componentId,
                fromRingId: rings[step],
                toRingId: rings[step + 1],
                version: pick(rand, ['1.0.0', '1.1.0']),
              },
            },
            token,
          );
      }
      if (r < 0.9)
        return () =>
          gw.graphql(
            CREATE_RING,
            { i: { workspaceId: workspace, name: `extra-${i}`, environmentId: pick(rand, environments) } },
            token,
          );
      return () =>
        gw.graphql(
          `mutation($id: ID!, $i: UpdateDeploymentRingInput!) { updateDeploymentRing(id: $id, input: $i) { id } }`,
          { id: pick(rand, rings), i: { name: `renamed-${i}` } },
          token,
        );
    });
    const outcomes = (await Promise.all(ops.map((op) => op()))).map(outcome);
    expect(outcomes.reduce((n, o) => n + o.retries, 0)).toBe(0);
    expect(outcomes.filter((o) => o.ok).length).toBeGreaterThan(10);
    // Positions stay 0..n-1.
    const { rows: positions } = await db.admin.query(
      `SELECT position FROM deployment_rings WHERE org_id = $1 AND workspace_id = $2 ORDER BY position`,
      [org.id, raw(workspace)],
    );
    expect(positions.map((p) => p.position)).toEqual(positions.map((_, i) => i));
    // Each ring's current version is the one of the latest step into it.
    const { rows: stale } = await db.admin.query(
      `SELECT d.ring_id FROM ring_deployments d
        WHERE d.org_id = $1 AND d.promotion_id <> (
          SELECT p.id FROM deployment_promotions p WHERE p.org_id = d.org_id AND p.to_ring_id = d.ring_id AND p.component_id = d.component_id ORDER BY p.id DESC LIMIT 1)`,
      [org.id],
    );
    expect(stale).toEqual([]);
    const { rows: orphans } = await db.admin.query(
      `SELECT 1 FROM ring_deployments WHERE org_id = $1 AND component_id = ANY($2::uuid[])`,
      [org.id, raw(components.slice(3))],
    );
    expect(orphans).toEqual([]);
  });
});

describe('API-key rotation', () => {
  test('50 parallel rotations, revocations and creations of one key: at most one rotation wins', async () => {
    const org = await createOrg(db, 'rotate');
    const token = gw.token(org.id);
    const CREATE = `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } } }`;
    const ROTATE = `mutation($id: ID!, $g: Int!) { rotateApiKey(id: $id, gracePeriodSeconds: $g) { apiKey { id } } }`;
    const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`;
    const first = ok<any>(await gw.graphql(CREATE, { i: { name: 'ci', scopes: ['org:read'] } }, token)).createApiKey
      .apiKey.id;
    const second = ok<any>(await gw.graphql(CREATE, { i: { name: 'deploy', scopes: ['org:read'] } }, token))
      .createApiKey.apiKey.id;
    const rand = random(17);
    const ops = Array.from({ length: 50 }, (_, i) => {
      const id = pick(rand, [first, second]);
      if (i % 10 === 0) return () => gw.graphql(REVOKE, { id: second }, token);
      if (i % 10 === 5) return () => gw.graphql(CREATE, { i: { name: `k${i}`, scopes: ['org:read'] } }, token);
      return () => gw.graphql(ROTATE, { id, g: pick(rand, [0, 60]) }, token);
    });
    const outcomes = (await Promise.all(ops.map((op) => op()))).map(outcome);
    expect(outcomes.reduce((n, o) => n + o.retries, 0)).toBe(0);
    const rotatedFirst = outcomes.filter((o) => o.ok && o.response.body.data.rotateApiKey);
    expect(rotatedFirst.length).toBeGreaterThanOrEqual(1);
    const { rows } = await db.admin.query(`SELECT id, rotated_to FROM api_keys WHERE org_id = $1`, [org.id]);
    const targets = rows.map((r) => r.rotated_to).filter(Boolean);
    // Every key was rotated at most once, into a key that exists, and every successful rotation is one of them.
    expect(new Set(targets).size).toBe(targets.length);
    for (const target of targets) expect(rows.some((r) => r.id === target)).toBe(true);
    expect(rotatedFirst.map((o) => raw(o.response.body.data.rotateApiKey.apiKey.id)).sort()).toEqual(
      [...targets].sort(),
    );
    expect(
      rows.filter((r) => (r.id === raw(first) || r.id === raw(second)) && r.rotated_to).length,
    ).toBeLessThanOrEqual(2);
  });
});
