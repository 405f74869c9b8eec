import { Client } from 'pg';
import { snapshot } from './support/database';
import { cli } from './support/gateway';
import { createOrg, gid, raw, uuidOf, createTree, ok, type Org, type Tree } from './support/fixtures';
import { ALL_SCOPES } from './support/scopes';
import { expectRefusedUnchanged, useGateway } from './support/harness';

/** SQL as the database owner, with the API's global ids turned into stored UUIDs. */
const adminQuery = (text: string, params?: unknown[]) => db.admin.query(text, raw(params));

/**
 * Billing: subscriptions (platform-managed, tenant-readable), the credit balance and its append-only
 * ledger, usage recorded through GraphQL. The gateway serves through a privilege-less login (as in
 * production), so the grants the migration gives the tenant role are what the API really runs with.
 */
const { gw, db, orgA, orgB, serving } = useGateway({ orgs: ['bill-a', 'bill-b'], servingLogin: true });
let treeA: Tree;
let tokenA: string;

const env = () => ({ DATABASE_URL: db.url, NODE_ENV: 'test' });
const billingCli = (args: string[]) => cli(['billing', ...args], env());

beforeAll(async () => {
  tokenA = gw.token(orgA.id);
  treeA = await createTree(gw, tokenA, { workspaces: 2, environments: 0, components: 0 });
  // Users of org A with each of the other org roles.
  for (const role of ['admin', 'member', 'viewer', 'billing']) {
    await adminQuery(`INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, $2, $3, $4)`, [
      orgA.id,
      `${role}-1`,
      `${role}@a.test`,
      role,
    ]);
  }
});

const tomorrow = () => new Date(Date.now() + 86400000).toISOString().slice(0, 10);
const as = (userId: string, scopes = ALL_SCOPES) => gw.token(orgA.id, scopes, { sub: userId });

const SUBSCRIPTIONS = `query($first: Int, $after: String) { organization { subscriptions(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id productName status billingCycle autoRenew trialEndDate createdAt updatedAt } } } } }`;
const CREDITS = `query($first: Int, $after: String) { organization { credits { balance updatedAt ledger(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id kind amount balanceAfter reason actor workspaceId requestId createdAt } } } } } }`;
const RECORD = `mutation($i: RecordUsageInput!) { recordUsage(input: $i) { id kind amount balanceAfter reason actor workspaceId requestId createdAt } }`;

async function balanceOf(orgId: string): Promise<number | null> {
  const { rows } = await adminQuery(`SELECT balance FROM credit_balances WHERE org_id = $1`, [orgId]);
  return rows[0] ? Number(rows[0].balance) : null;
}

async function ledgerSum(orgId: string): Promise<number> {
  const { rows } = await adminQuery(`SELECT coalesce(sum(amount), 0) AS sum FROM credit_ledger WHERE org_id = $1`, [
    orgId,
  ]);
  return Number(rows[0].sum);
}

async function grant(org: Org, amount: number, reason = 'top-up'): Promise<any> {
  const result = await billingCli([
    'grant',
    '--org',
    org.slug,
    '--amount',
    String(amount),
    '--reason',
    reason,
    '--json',
  ]);
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.json;
}

/** A GraphQL request that must be refused, leaving the database exactly as it was. */
const refused = (query: string, variables: Record<string, unknown>, code: string, fields?: string[], token = tokenA) =>
  expectRefusedUnchanged(() => gw.graphql(query, variables, token), { code, fields }, db);

/** A CLI command that must fail with `message`, leaving the database exactly as it was. */
async function cliRefused(args: string[], message: RegExp) {
  const before = await snapshot(db.admin);
  const result = await billingCli(args);
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(message) });
  expect(await snapshot(db.admin)).toEqual(before);
}

describe('subscriptions (platform CLI, read through GraphQL)', () => {
  let monthly: any;
  let trial: any;

  test('billing subscribe creates subscriptions; Organization.subscriptions lists them', async () => {
    const a = await billingCli([
      'subscribe',
      '--org',
      orgA.slug,
      '--product',
      ' Agents Pro ',
      '--status',
      'active',
      '--cycle',
      'monthly',
      '--auto-renew',
      '--json',
    ]);
    expect(a.code).toBe(0);
    monthly = a.json;
    expect(monthly).toMatchObject({
      productName: 'Agents Pro',
      status: 'active',
      billingCycle: 'monthly',
      autoRenew: true,
      trialEndDate: null,
    });
    const end = tomorrow();
    const t = await billingCli([
      'subscribe',
      '--org',
      orgA.slug,
      '--product',
      'Workflows',
      '--status',
      'trial',
      '--cycle',
      'annual',
      '--trial-end',
      end,
      '--json',
    ]);
    expect(t.code).toBe(0);
    trial = t.json;
    expect(trial).toMatchObject({ status: 'trial', billingCycle: 'annual', autoRenew: false, trialEndDate: end });
    const text = await billingCli([
      'subscribe',
      '--org',
      orgA.slug,
      '--product',
      'Gateway',
      '--status',
      'suspended',
      '--cycle',
      'custom',
    ]);
    expect(text.stdout).toMatch(/^subscribed: [0-9a-f-]{36}\tGateway\tsuspended\tcustom\tauto-renew off\n$/);

    const data = ok<any>(await gw.graphql(SUBSCRIPTIONS, { first: 2 }, tokenA)).organization.subscriptions;
    expect(data.totalCount).toBe(3);
    expect(data.pageInfo.hasNextPage).toBe(true);
    expect(data.edges.map((e: any) => e.node)).toEqual([
      {
        id: gid('ProductSubscription', monthly.id),
        productName: 'Agents Pro',
        status: 'ACTIVE',
        billingCycle: 'MONTHLY',
        autoRenew: true,
        trialEndDate: null,
        createdAt: monthly.createdAt,
        updatedAt: monthly.updatedAt,
      },
      {
        id: gid('ProductSubscription', trial.id),
        productName: 'Workflows',
        status: 'TRIAL',
        billingCycle: 'ANNUAL',
        autoRenew: false,
        trialEndDate: end,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
    ]);
    const rest = ok<any>(await gw.graphql(SUBSCRIPTIONS, { first: 2, after: data.pageInfo.endCursor }, tokenA))
      .organization.subscriptions;
    expect(rest.edges.map((e: any) => e.node.productName)).toEqual(['Gateway']);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    // The operator view agrees.
    const shown = await billingCli(['show', '--org', orgA.slug, '--json']);
    expect(shown.json.subscriptions.map((s: any) => s.productName)).toEqual(['Agents Pro', 'Workflows', 'Gateway']);
  });

  test('billing subscribe refuses every bad input with a clear message and changes nothing', async () => {
    const base = ['subscribe', '--org', orgA.slug, '--json'];
    await cliRefused(
      [...base, '--product', 'X', '--status', 'paused', '--cycle', 'weekly'],
      /status must be one of active, trial, suspended, cancelled, expired \(got "paused"\); billing cycle must be one of monthly, annual, custom \(got "weekly"\)/,
    );
    await cliRefused(
      [...base, '--product', '   ', '--status', 'active', '--cycle', 'monthly'],
      /product name must be 1 to 200 characters/,
    );
    await cliRefused(
      [...base, '--product', 'x'.repeat(201), '--status', 'active', '--cycle', 'monthly'],
      /product name must be 1 to 200 characters/,
    );
    await cliRefused(
      [...base, '--product', 'T', '--status', 'trial', '--cycle', 'monthly'],
      /a trial subscription needs a trial end date/,
    );
    await cliRefused(
      [...base, '--product', 'T', '--status', 'trial', '--cycle', 'monthly', '--trial-end', '2031-02-30'],
      /trial end date must be a calendar date YYYY-MM-DD \(got "2031-02-30"\)/,
    );
    await cliRefused(
      [...base, '--product', 'T', '--status', 'trial', '--cycle', 'monthly', '--trial-end', 'next week'],
      /must be a calendar date/,
    );
    await cliRefused(
      [...base, '--product', 'T', '--status', 'trial', '--cycle', 'monthly', '--trial-end', '2020-01-01'],
      /trial end date must not be in the past/,
    );
    await cliRefused(
      [...base, '--product', 'T', '--status', 'active', '--cycle', 'monthly', '--trial-end', tomorrow()],
      /a trial end date applies only to status trial/,
    );
    await cliRefused(
      [...base, '--product', 'T', '--status', 'cancelled', '--cycle', 'monthly'],
      /a new subscription cannot start as cancelled/,
    );
    await cliRefused(
      [...base, '--product', 'agents pro', '--status', 'active', '--cycle', 'annual'],
      /already has a live .* subscription to "agents pro"/,
    );
    await cliRefused(
      ['subscribe', '--org', 'no-such-org', '--product', 'T', '--status', 'active', '--cycle', 'monthly'],
      /no organization "no-such-org"/,
    );
    await cliRefused(
      ['subscribe', '--org', orgA.slug, '--product', 'T', '--status', 'active'],
      /required option '--cycle <cycle>' not specified/,
    );
  });

  test('billing set-subscription-status moves a subscription; cancelled is final and stops auto-renewal', async () => {
    const activated = await billingCli([
      'set-subscription-status',
      '--org',
      orgA.slug,
      '--id',
      trial.id,
      '--status',
      'active',
      '--json',
    ]);
    // Leaving trial clears the trial end date (it belongs to trials only).
    expect(trial.trialEndDate).not.toBeNull();
    expect(activated.json).toMatchObject({ id: trial.id, status: 'active', trialEndDate: null });
    const cancelled = await billingCli([
      'set-subscription-status',
      '--org',
      orgA.slug,
      '--id',
      monthly.id,
      '--status',
      'cancelled',
      '--json',
    ]);
    expect(cancelled.json).toMatchObject({ id: monthly.id, status: 'cancelled', autoRenew: false });
    expect(new Date(cancelled.json.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(monthly.updatedAt).getTime());
    // With the old one cancelled, the product can be subscribed again.
    const again = await billingCli([
      'subscribe',
      '--org',
      orgA.slug,
      '--product',
      'Agents Pro',
      '--status',
      'trial',
      '--cycle',
      'monthly',
      '--trial-end',
      tomorrow(),
      '--json',
    ]);
    expect(again.code).toBe(0);
    const nodes = ok<any>(await gw.graphql(SUBSCRIPTIONS, { first: 10 }, tokenA)).organization.subscriptions.edges.map(
      (e: any) => e.node,
    );
    expect(nodes.find((n: any) => n.id === gid('ProductSubscription', monthly.id))).toMatchObject({
      status: 'CANCELLED',
      autoRenew: false,
    });
  });

  test("billing set-subscription-status refuses bad inputs, final statuses and other organizations' subscriptions", async () => {
    const base = ['set-subscription-status', '--org', orgA.slug];
    await cliRefused(
      [...base, '--id', 'not-an-id', '--status', 'sleeping'],
      /subscription id must be an id printed by "billing subscribe" \(got "not-an-id"\); status must be one of/,
    );
    await cliRefused(
      [...base, '--id', '01900000-0000-7000-8000-000000000000', '--status', 'active'],
      /no subscription 01900000-0000-7000-8000-000000000000 in organization/,
    );
    await cliRefused(
      [...base, '--id', monthly.id, '--status', 'active'],
      /is cancelled, which is final: subscribe again instead/,
    );
    await cliRefused(
      [...base, '--id', trial.id, '--status', 'suspended', '--trial-end', tomorrow()],
      /a trial end date applies only to status trial/,
    );
    const gateway = await billingCli([
      'subscribe',
      '--org',
      orgA.slug,
      '--product',
      'Tracing',
      '--status',
      'active',
      '--cycle',
      'monthly',
      '--json',
    ]);
    await cliRefused(
      [...base, '--id', gateway.json.id, '--status', 'trial'],
      /a trial subscription needs a trial end date: pass --trial-end/,
    );
    // Org B's operator path cannot reach org A's subscription through B's slug.
    await cliRefused(
      ['set-subscription-status', '--org', orgB.slug, '--id', trial.id, '--status', 'expired'],
      /no subscription .* in organization bill-b/,
    );
  });
});

describe('credits', () => {
  test('billing grant adds credits with a ledger entry by the platform; Organization.credits shows balance and ledger', async () => {
    const before = ok<any>(await gw.graphql(CREDITS, {}, tokenA)).organization.credits;
    expect(before).toEqual({
      balance: 0,
      updatedAt: null,
      ledger: { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] },
    });
    const granted = await grant(orgA, 500, 'Welcome credits');
    expect(granted).toMatchObject({
      balance: 500,
      entry: {
        kind: 'grant',
        amount: 500,
        balanceAfter: 500,
        reason: 'Welcome credits',
        actor: 'platform',
        workspaceId: null,
      },
    });
    const text = await billingCli(['grant', '--org', orgA.slug, '--amount', '250', '--reason', 'Promo']);
    expect(text.stdout).toMatch(/^granted 250 credits; balance 750 \(entry [0-9a-f-]{36}\)\n$/);
    const after = ok<any>(await gw.graphql(CREDITS, {}, tokenA)).organization.credits;
    expect(after.balance).toBe(750);
    expect(after.updatedAt).toEqual(expect.any(String));
    expect(after.ledger.totalCount).toBe(2);
    expect(
      after.ledger.edges.map((e: any) => [
        e.node.kind,
        e.node.amount,
        e.node.balanceAfter,
        e.node.reason,
        e.node.actor,
      ]),
    ).toEqual([
      ['GRANT', 250, 750, 'Promo', 'platform'], // newest first
      ['GRANT', 500, 500, 'Welcome credits', 'platform'],
    ]);
  });

  test('recordUsage consumes credits and records who, why, where and which request', async () => {
    const [ws] = treeA.workspaces;
    const response = await gw.graphql(
      RECORD,
      { i: { amount: 40, reason: ' LLM tokens ', workspaceId: ws.id } },
      tokenA,
    );
    const entry = ok<any>(response).recordUsage;
    expect(entry).toEqual({
      id: expect.any(String),
      kind: 'CONSUMPTION',
      amount: -40,
      balanceAfter: 710,
      reason: 'LLM tokens',
      actor: 'user-1',
      workspaceId: ws.id,
      requestId: response.headers.get('x-request-id'),
      createdAt: expect.any(String),
    });
    const orgWide = ok<any>(
      await gw.graphql(RECORD, { i: { amount: 10, reason: 'Org-wide usage' } }, as('billing-1')),
    ).recordUsage;
    expect(orgWide).toMatchObject({ amount: -10, balanceAfter: 700, actor: 'billing-1', workspaceId: null });
    // An API-key principal is recorded by its subject.
    const key = ok<any>(
      await gw.graphql(
        `mutation { createApiKey(input: { name: "batch", scopes: ["billing:read", "billing:write"] }) { key apiKey { id } } }`,
        {},
        as('user-1'),
      ),
    ).createApiKey;
    const accessToken = await gw.exchangeApiKey(key.key);
    const byKey = ok<any>(await gw.graphql(RECORD, { i: { amount: 5, reason: 'Batch job' } }, accessToken));
    expect(byKey.recordUsage).toMatchObject({ actor: `apikey:${uuidOf(key.apiKey.id)}`, balanceAfter: 695 });
    expect(await balanceOf(orgA.id)).toBe(695);
    expect(await ledgerSum(orgA.id)).toBe(695);
  });

  test('the ledger pages newest first with cursors', async () => {
    const first = ok<any>(await gw.graphql(CREDITS, { first: 2 }, tokenA)).organization.credits.ledger;
    expect(first.totalCount).toBe(5);
    expect(first.edges.map((e: any) => e.node.balanceAfter)).toEqual([695, 700]);
    const second = ok<any>(await gw.graphql(CREDITS, { first: 10, after: first.pageInfo.endCursor }, tokenA))
      .organization.credits.ledger;
    expect(second.edges.map((e: any) => e.node.balanceAfter)).toEqual([710, 750, 500]);
    expect(second.pageInfo.hasNextPage).toBe(false);
    await refused(CREDITS, { first: 2, after: 'bm9wZQ' }, 'BAD_USER_INPUT', ['after']);
    await refused(CREDITS, { first: 101 }, 'BAD_USER_INPUT', ['first']);
  });

  test('recordUsage names every bad field at once and changes nothing', async () => {
    await refused(RECORD, { i: { amount: 0, reason: '   ' } }, 'BAD_USER_INPUT', ['amount', 'reason']);
    await refused(RECORD, { i: { amount: 1, reason: 'x', workspaceId: 'nope' } }, 'NOT_FOUND');
    await refused(RECORD, { i: { amount: -5, reason: 'x'.repeat(501) } }, 'BAD_USER_INPUT', ['amount', 'reason']);
    await refused(RECORD, { i: { amount: 1_000_000_001, reason: 'too much at once' } }, 'BAD_USER_INPUT', ['amount']);
    await refused(RECORD, { i: { amount: 1.5, reason: 'fraction' } }, 'BAD_USER_INPUT'); // GraphQL Int
    await refused(RECORD, { i: { reason: 'no amount' } }, 'BAD_USER_INPUT');
  });

  test('recordUsage refuses to overdraw: BAD_USER_INPUT on amount, with the balance', async () => {
    const response = await refused(RECORD, { i: { amount: 696, reason: 'one too many' } }, 'BAD_USER_INPUT', [
      'amount',
    ]);
    expect(response.body.errors?.[0].extensions.fields).toEqual([
      { field: 'amount', message: 'insufficient credits (balance 695)' },
    ]);
    // Exactly the balance is fine, and then nothing is left.
    const fresh = await createOrg(db, 'bill-exact');
    await grant(fresh, 30);
    expect(
      ok<any>(await gw.graphql(RECORD, { i: { amount: 30, reason: 'all of it' } }, gw.token(fresh.id))).recordUsage
        .balanceAfter,
    ).toBe(0);
    const empty = await refused(
      RECORD,
      { i: { amount: 1, reason: 'nothing left' } },
      'BAD_USER_INPUT',
      ['amount'],
      gw.token(fresh.id),
    );
    expect(empty.body.errors?.[0].extensions.fields[0].message).toBe('insufficient credits (balance 0)');
    // An organization that never had credits has none to spend.
    const never = await createOrg(db, 'bill-never');
    await refused(RECORD, { i: { amount: 1, reason: 'x' } }, 'BAD_USER_INPUT', ['amount'], gw.token(never.id));
  });

  test('recordUsage: a workspace the caller cannot see is NOT_FOUND', async () => {
    const [ws1, ws2] = treeA.workspaces;
    await refused(
      RECORD,
      { i: { amount: 1, reason: 'ghost', workspaceId: '01900000-0000-7000-8000-000000000000' } },
      'NOT_FOUND',
    );
    // The billing user is a member of neither workspace: they cannot name one...
    await refused(
      RECORD,
      { i: { amount: 1, reason: 'hidden', workspaceId: ws2.id } },
      'NOT_FOUND',
      undefined,
      as('billing-1'),
    );
    // ...until they are given a role in it.
    await adminQuery(
      `INSERT INTO workspace_members (org_id, workspace_id, user_id, role) VALUES ($1, $2, 'billing-1', 'viewer')`,
      [orgA.id, uuidOf(ws1.id)],
    );
    expect(
      ok<any>(await gw.graphql(RECORD, { i: { amount: 1, reason: 'seen', workspaceId: ws1.id } }, as('billing-1')))
        .recordUsage.workspaceId,
    ).toBe(ws1.id);
    await refused(
      RECORD,
      { i: { amount: 1, reason: 'hidden', workspaceId: ws2.id } },
      'NOT_FOUND',
      undefined,
      as('billing-1'),
    );
  });

  test('failed and successful usage in one operation: only the failure is rolled back', async () => {
    const before = (await balanceOf(orgA.id))!;
    const response = await gw.graphql(
      `mutation { bad: recordUsage(input: { amount: 1000000000, reason: "too much" }) { id } good: recordUsage(input: { amount: 3, reason: "fine" }) { balanceAfter } }`,
      {},
      tokenA,
    );
    expect(response.body.errors?.map((e) => [e.extensions.code, e.path?.[0]])).toEqual([['BAD_USER_INPUT', 'bad']]);
    expect(response.body.data).toEqual({ bad: null, good: { balanceAfter: before - 3 } });
    expect(await balanceOf(orgA.id)).toBe(before - 3);
    expect(await ledgerSum(orgA.id)).toBe(before - 3);
  });

  test('billing grant and adjust refuse bad inputs clearly and change nothing; adjust cannot go below 0', async () => {
    const base = ['grant', '--org', orgA.slug, '--reason', 'r'];
    for (const amount of ['0', '-5', 'abc', '1.5', '1000000000001', '1e3']) {
      await cliRefused(
        [...base, '--amount', amount],
        new RegExp(`amount must be a whole number from 1 to 1000000000000 \\(got "${amount.replace('.', '\\.')}"\\)`),
      );
    }
    await cliRefused(
      ['grant', '--org', orgA.slug, '--amount', '10', '--reason', '  '],
      /reason must be 1 to 500 characters/,
    );
    await cliRefused(
      ['grant', '--org', orgA.slug, '--amount', 'x', '--reason', ''],
      /amount must be .*; reason must be 1 to 500 characters/,
    );
    await cliRefused(['grant', '--org', 'nobody', '--amount', '10', '--reason', 'r'], /no organization "nobody"/);
    await cliRefused(
      ['grant', '--org', orgA.slug, '--amount', '10'],
      /required option '--reason <text>' not specified/,
    );
    const balance = (await balanceOf(orgA.id))!;
    await cliRefused(
      ['adjust', '--org', orgA.slug, '--amount', String(-(balance + 1)), '--reason', 'too far'],
      new RegExp(`insufficient credits \\(balance ${balance}\\)`),
    );
    await cliRefused(
      ['adjust', '--org', orgA.slug, '--amount', '0', '--reason', 'nothing'],
      /amount must be a non-zero whole number/,
    );
    const adjusted = await billingCli([
      'adjust',
      '--org',
      orgA.slug,
      '--amount',
      '-1',
      '--reason',
      'Rounding correction',
      '--json',
    ]);
    expect(adjusted.json).toMatchObject({
      balance: balance - 1,
      entry: { kind: 'adjustment', amount: -1, actor: 'platform' },
    });
    expect(await ledgerSum(orgA.id)).toBe(balance - 1);
  });

  test('deleting a workspace keeps its usage entries (the ledger still sums to the balance)', async () => {
    const ws = ok<any>(
      await gw.graphql(`mutation { createWorkspace(input: { name: "Short-lived" }) { id } }`, {}, tokenA),
    ).createWorkspace.id;
    const entry = ok<any>(
      await gw.graphql(RECORD, { i: { amount: 2, reason: 'before deletion', workspaceId: ws } }, tokenA),
    ).recordUsage;
    ok(await gw.graphql(`mutation($id: ID!) { deleteWorkspace(id: $id) }`, { id: ws }, tokenA));
    const { rows } = await adminQuery(`SELECT workspace_id, amount FROM credit_ledger WHERE id = $1`, [
      uuidOf(entry.id),
    ]);
    expect(rows).toEqual([{ workspace_id: null, amount: '-2' }]);
    expect(await ledgerSum(orgA.id)).toBe(await balanceOf(orgA.id));
  });
});

describe('who may do what', () => {
  const READ_BOTH = `{ organization { subscriptions { totalCount } credits { balance } } }`;
  /** Each billing field on its own: the codes, and whether any billing data came back. */
  async function billingReads(token: string): Promise<string[]> {
    const codes: string[] = [];
    for (const query of [
      `{ organization { subscriptions { totalCount } } }`,
      `{ organization { credits { balance ledger { totalCount } } } }`,
    ]) {
      const response = await gw.graphql(query, {}, token);
      expect(response.body.data?.organization ?? null).toBeNull();
      codes.push(...(response.body.errors ?? []).map((e) => `${e.extensions.code} ${e.path?.join('.')}`));
    }
    return codes;
  }
  const BOTH_FORBIDDEN = ['FORBIDDEN organization.subscriptions', 'FORBIDDEN organization.credits'];

  test('owner, admin and billing roles read subscriptions and credits', async () => {
    for (const user of ['user-1', 'admin-1', 'billing-1']) {
      const data = ok<any>(await gw.graphql(READ_BOTH, {}, as(user))).organization;
      expect(data.subscriptions.totalCount).toBeGreaterThan(0);
      expect(data.credits.balance).toBe(await balanceOf(orgA.id));
    }
  });

  test('member and viewer roles cannot read billing (FORBIDDEN) nor record usage, whatever their token says', async () => {
    for (const user of ['member-1', 'viewer-1']) {
      expect(await billingReads(as(user))).toEqual(BOTH_FORBIDDEN);
      await refused(RECORD, { i: { amount: 1, reason: 'sneaky' } }, 'FORBIDDEN', undefined, as(user));
    }
  });

  test('a token without the billing scopes is refused even for an owner; billing:read alone cannot record usage', async () => {
    expect(await billingReads(gw.token(orgA.id, ['org:read', 'billing:write']))).toEqual(BOTH_FORBIDDEN);
    await refused(
      RECORD,
      { i: { amount: 1, reason: 'read-only token' } },
      'FORBIDDEN',
      undefined,
      gw.token(orgA.id, ['org:read', 'billing:read']),
    );
    // Nested under a mutation result, the ledger entry type itself needs billing:read.
    await refused(
      RECORD,
      { i: { amount: 1, reason: 'write-only token' } },
      'FORBIDDEN',
      undefined,
      gw.token(orgA.id, ['billing:write']),
    );
  });

  test('demoting the billing user removes their billing access on the next request', async () => {
    await adminQuery(
      `INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, 'billing-2', 'billing2@a.test', 'billing')`,
      [orgA.id],
    );
    const token = as('billing-2');
    ok(await gw.graphql(READ_BOTH, {}, token));
    await adminQuery(`UPDATE org_members SET role = 'member' WHERE org_id = $1 AND user_id = 'billing-2'`, [orgA.id]);
    expect(await billingReads(token)).toEqual(BOTH_FORBIDDEN);
    await refused(RECORD, { i: { amount: 1, reason: 'demoted' } }, 'FORBIDDEN', undefined, token);
  });

  test('subscription status never locks data out; a suspended organization may read but not record usage', async () => {
    const org = await createOrg(db, 'bill-lock');
    const token = gw.token(org.id);
    await grant(org, 100);
    const sub = await billingCli([
      'subscribe',
      '--org',
      org.slug,
      '--product',
      'Everything',
      '--status',
      'active',
      '--cycle',
      'monthly',
      '--json',
    ]);
    for (const status of ['suspended', 'expired']) {
      expect(
        (await billingCli(['set-subscription-status', '--org', org.slug, '--id', sub.json.id, '--status', status]))
          .code,
      ).toBe(0);
    }
    ok(await gw.graphql(`mutation { createWorkspace(input: { name: "Still works" }) { id } }`, {}, token));
    expect(
      ok<any>(await gw.graphql(RECORD, { i: { amount: 1, reason: 'still works' } }, token)).recordUsage.balanceAfter,
    ).toBe(99);
    expect(
      ok<any>(await gw.graphql(`{ organization { workspaces { totalCount } } }`, {}, token)).organization.workspaces
        .totalCount,
    ).toBe(1);
    // Organization status is what locks: suspended refuses changes, reads still work.
    expect((await cli(['org', 'set-status', '--org', org.slug, '--status', 'suspended'], env())).code).toBe(0);
    await refused(RECORD, { i: { amount: 1, reason: 'suspended' } }, 'ORG_SUSPENDED', undefined, token);
    expect(ok<any>(await gw.graphql(READ_BOTH, {}, token)).organization.credits.balance).toBe(99);
  });
});

describe('cross-tenant', () => {
  test("org B's token reaches nothing of org A's subscriptions, balance or ledger", async () => {
    await grant(orgB, 7, 'B credits');
    const tokenB = gw.token(orgB.id);
    const b = ok<any>(
      await gw.graphql(
        `{ organization { subscriptions { totalCount edges { node { id } } } credits { balance ledger { totalCount edges { node { id reason } } } } } }`,
        {},
        tokenB,
      ),
    ).organization;
    expect(b.subscriptions).toEqual({ totalCount: 0, edges: [] });
    expect(b.credits.balance).toBe(7);
    expect(b.credits.ledger.edges.map((e: any) => e.node.reason)).toEqual(['B credits']);
    // A's ledger cursor means nothing in B: it pages B's (empty) remainder, never A's rows.
    const aCursor = ok<any>(await gw.graphql(CREDITS, { first: 1 }, tokenA)).organization.credits.ledger.pageInfo
      .endCursor;
    const viaCursor = ok<any>(await gw.graphql(CREDITS, { first: 10, after: aCursor }, tokenB)).organization.credits
      .ledger;
    const aIds = (await adminQuery(`SELECT id FROM credit_ledger WHERE org_id = $1`, [orgA.id])).rows.map((r) => r.id);
    for (const edge of viaCursor.edges) expect(aIds).not.toContain(edge.node.id);
  });

  test("org B cannot spend against org A's workspace, and B's usage never touches A's balance", async () => {
    const tokenB = gw.token(orgB.id);
    const balanceA = await balanceOf(orgA.id);
    for (const ws of treeA.workspaces) {
      await refused(RECORD, { i: { amount: 1, reason: 'cross', workspaceId: ws.id } }, 'NOT_FOUND', undefined, tokenB);
    }
    ok(await gw.graphql(RECORD, { i: { amount: 7, reason: 'B spends its own' } }, tokenB));
    expect(await balanceOf(orgB.id)).toBe(0);
    expect(await balanceOf(orgA.id)).toBe(balanceA);
    await refused(RECORD, { i: { amount: 1, reason: 'B is empty' } }, 'BAD_USER_INPUT', ['amount'], tokenB);
  });
});

describe('concurrency', () => {
  test('50 parallel recordUsage(30) on a balance of 1000: exactly 33 succeed, the balance ends at 10, the ledger sums to it', async () => {
    const org = await createOrg(db, 'bill-race');
    await grant(org, 1000, 'Race budget');
    const token = gw.token(org.id);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => gw.graphql(RECORD, { i: { amount: 30, reason: `call ${i}` } }, token)),
    );
    const succeeded = responses.filter((r) => !r.body.errors && r.body.data?.recordUsage);
    const refusedOnes = responses.filter((r) => r.body.errors);
    expect(succeeded).toHaveLength(33);
    expect(refusedOnes).toHaveLength(17);
    for (const r of refusedOnes) {
      expect(r.body.errors?.map((e) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
      expect(r.body.errors?.[0].extensions.fields).toEqual([
        { field: 'amount', message: 'insufficient credits (balance 10)' },
      ]);
    }
    // Every success saw a distinct balance: 970, 940, ..., 10.
    expect(succeeded.map((r) => r.body.data.recordUsage.balanceAfter).sort((a, b) => b - a)).toEqual(
      Array.from({ length: 33 }, (_, i) => 970 - 30 * i),
    );
    expect(await balanceOf(org.id)).toBe(10);
    const { rows } = await adminQuery(
      `SELECT kind, count(*)::int AS n, sum(amount)::int AS total FROM credit_ledger WHERE org_id = $1 GROUP BY kind ORDER BY kind`,
      [org.id],
    );
    expect(rows).toEqual([
      { kind: 'consumption', n: 33, total: -990 },
      { kind: 'grant', n: 1, total: 1000 },
    ]);
    expect(await ledgerSum(org.id)).toBe(10);
    // Newest first is balance order: each entry's balanceAfter is the previous one's minus 30.
    const ledger = ok<any>(await gw.graphql(CREDITS, { first: 100 }, token)).organization.credits.ledger.edges.map(
      (e: any) => e.node.balanceAfter,
    );
    expect(ledger).toEqual([...Array.from({ length: 33 }, (_, i) => 10 + 30 * i), 1000]);
  }, 60000);
});

describe('the database walls', () => {
  let client: Client;
  beforeEach(async () => {
    client = new Client({ connectionString: serving.url });
    await client.connect();
    await client.query('BEGIN; SET LOCAL ROLE manifest_app');
    await client.query(`SELECT set_config('app.org_id', $1, true), set_config('app.principal_kind', 'api_key', true)`, [
      orgA.id,
    ]);
  });
  afterEach(async () => {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  });

  test('the tenant role cannot UPDATE or DELETE ledger entries (append-only)', async () => {
    expect((await client.query(`SELECT count(*)::int AS n FROM credit_ledger`)).rows[0].n).toBeGreaterThan(0);
    await expect(client.query(`UPDATE credit_ledger SET amount = 1000000`)).rejects.toMatchObject({
      code: '42501',
      message: expect.stringMatching(/permission denied/),
    });
    await client.query('ROLLBACK; BEGIN; SET LOCAL ROLE manifest_app');
    await expect(client.query(`DELETE FROM credit_ledger`)).rejects.toMatchObject({
      code: '42501',
      message: expect.stringMatching(/permission denied/),
    });
  });

  test('the tenant role cannot write subscriptions, create a balance row, or take the balance below 0', async () => {
    await expect(client.query(`UPDATE subscriptions SET status = 'active'`)).rejects.toMatchObject({ code: '42501' });
    await client.query('ROLLBACK; BEGIN; SET LOCAL ROLE manifest_app');
    await expect(
      client.query(`INSERT INTO credit_balances (org_id, balance) VALUES ($1, 1000000)`, [orgB.id]),
    ).rejects.toMatchObject({ code: '42501' });
    await client.query('ROLLBACK; BEGIN; SET LOCAL ROLE manifest_app');
    await client.query(`SELECT set_config('app.org_id', $1, true)`, [orgA.id]);
    await expect(client.query(`UPDATE credit_balances SET balance = balance - 1000000000`)).rejects.toMatchObject({
      code: '23514',
    });
  });

  test("under org A's setting, org B's balance and ledger are invisible and cannot be appended to", async () => {
    expect((await client.query(`SELECT DISTINCT org_id FROM credit_ledger`)).rows).toEqual([{ org_id: orgA.id }]);
    expect((await client.query(`SELECT org_id FROM credit_balances`)).rows).toEqual([{ org_id: orgA.id }]);
    expect(
      (await client.query(`UPDATE credit_balances SET balance = balance WHERE org_id = $1`, [orgB.id])).rowCount,
    ).toBe(0);
    await expect(
      client.query(
        `INSERT INTO credit_ledger (org_id, id, kind, amount, balance_after, reason, actor) VALUES ($1, gen_random_uuid(), 'grant', 5, 5, 'x', 'x')`,
        [orgB.id],
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });
});

test('platform billing operations are in the organization audit log; adjust accepts a signed amount', async () => {
  const org = await createOrg(db, 'bill-audit');
  expect((await billingCli(['grant', '--org', org.slug, '--amount', '10', '--reason', 'Welcome', '--json'])).code).toBe(
    0,
  );
  expect(
    (await billingCli(['adjust', '--org', org.slug, '--amount', '+5', '--reason', 'Goodwill', '--json'])).json,
  ).toMatchObject({ balance: 15 });
  const subscribed = await billingCli([
    'subscribe',
    '--org',
    org.slug,
    '--product',
    'Gateway',
    '--status',
    'active',
    '--cycle',
    'annual',
    '--json',
  ]);
  const rows = await adminQuery(
    `SELECT actor, operation, target_type, target_id FROM audit_log WHERE org_id = $1 ORDER BY id`,
    [org.id],
  );
  expect(rows.rows.map((r) => [r.actor, r.operation, r.target_type])).toEqual([
    ['platform-admin', 'createOrganization', 'Organization'],
    ['platform-admin', 'grantCredits', 'CreditLedgerEntry'],
    ['platform-admin', 'adjustCredits', 'CreditLedgerEntry'],
    ['platform-admin', 'subscribe', 'ProductSubscription'],
  ]);
  expect(rows.rows[3].target_id).toBe(subscribed.json.id);
});

describe('idempotent usage', () => {
  test('a retried recordUsage with the same idempotency key charges once and returns the first entry', async () => {
    const org = await createOrg(db, 'idem');
    await grant(org, 100);
    const token = gw.token(org.id);
    const input = { amount: 7, reason: 'Batch 42', idempotencyKey: 'batch-42' };
    const first = ok<any>(await gw.graphql(RECORD, { i: input }, token)).recordUsage;
    const retry = ok<any>(await gw.graphql(RECORD, { i: input }, token)).recordUsage;
    expect(retry.id).toBe(first.id);
    expect(await balanceOf(org.id)).toBe(93);
    // Ten concurrent retries of a new key: still exactly one charge.
    const parallel = await Promise.all(
      Array.from({ length: 10 }, () => gw.graphql(RECORD, { i: { ...input, idempotencyKey: 'batch-43' } }, token)),
    );
    const ids = new Set(parallel.map((r) => ok<any>(r).recordUsage.id));
    expect(ids.size).toBe(1);
    expect(await balanceOf(org.id)).toBe(86);
    expect(await ledgerSum(org.id)).toBe(86);
  });

  test('the same key for a different usage is refused and changes nothing; a bad key is refused', async () => {
    const org = await createOrg(db, 'idem-bad');
    await grant(org, 100);
    const token = gw.token(org.id);
    ok(await gw.graphql(RECORD, { i: { amount: 5, reason: 'Job', idempotencyKey: 'job-1' } }, token));
    for (const input of [
      { amount: 6, reason: 'Job', idempotencyKey: 'job-1' }, // same key, another amount
      { amount: 5, reason: 'Other job', idempotencyKey: 'job-1' }, // same key, another reason
      { amount: 5, reason: 'Job', idempotencyKey: 'has space' },
      { amount: 5, reason: 'Job', idempotencyKey: 'x'.repeat(201) },
    ]) {
      await refused(RECORD, { i: input }, 'BAD_USER_INPUT', ['idempotencyKey'], token);
    }
    expect(await balanceOf(org.id)).toBe(95);
  });

  test("one organization's idempotency keys do not collide with another's", async () => {
    const [a, b] = [await createOrg(db, 'idem-a'), await createOrg(db, 'idem-b')];
    await grant(a, 10);
    await grant(b, 10);
    ok(await gw.graphql(RECORD, { i: { amount: 1, reason: 'Same', idempotencyKey: 'shared' } }, gw.token(a.id)));
    const other = ok<any>(
      await gw.graphql(RECORD, { i: { amount: 1, reason: 'Same', idempotencyKey: 'shared' } }, gw.token(b.id)),
    ).recordUsage;
    expect(other.balanceAfter).toBe(9);
    expect(await balanceOf(b.id)).toBe(9);
  });
});
