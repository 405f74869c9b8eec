import crypto from 'node:crypto';
import { Client } from 'pg';
import { snapshot } from './support/database';
import { cli, startGateway } from './support/gateway';
import { ok } from './support/fixtures';
import { expectError } from './support/expect';
import { expectRefusedUnchanged, useGateway } from './support/harness';

/** Organization settings, the gateway trace configuration, status rules, the platform API and the audit log. */
const PLATFORM_TOKEN = crypto.randomBytes(32).toString('base64url');
const { gw, db, org } = useGateway({ orgs: ['settings'], env: { PLATFORM_ADMIN_TOKEN: PLATFORM_TOKEN } });
let token: string;

beforeAll(async () => {
  token = gw.token(org.id);
});

async function refused(query: string, variables: Record<string, unknown>, code: string, fields?: string[]) {
  await expectRefusedUnchanged(() => gw.graphql(query, variables, token), { code, fields }, db);
}

const SETTINGS = `{ organization { branding { primaryColor secondaryColor accentColor fontFamily } security { requireMfa allowUserKeyOverride allowWorkspaceLlmOverrides } banner { message variant dismissible } traceConfig { mode sampleRate retentionDays } } }`;

describe('settings', () => {
  test('documented defaults', async () => {
    expect(ok<any>(await gw.graphql(SETTINGS, {}, token)).organization).toEqual({
      branding: { primaryColor: null, secondaryColor: null, accentColor: null, fontFamily: null },
      security: { requireMfa: false, allowUserKeyOverride: false, allowWorkspaceLlmOverrides: false },
      banner: null,
      traceConfig: { mode: 'NONE', sampleRate: 1, retentionDays: 30 },
    });
  });

  test('branding: set, partly change, clear with null', async () => {
    const SET = `mutation($i: UpdateBrandingInput!) { updateBranding(input: $i) { branding { primaryColor secondaryColor accentColor fontFamily } } }`;
    ok(
      await gw.graphql(
        SET,
        {
          i: {
            primaryColor: '#1A2B3C',
            secondaryColor: '#ffffff',
            accentColor: '#ff0000',
            fontFamily: '"Inter", sans-serif',
          },
        },
        token,
      ),
    );
    const data = ok<any>(await gw.graphql(SET, { i: { accentColor: null } }, token));
    expect(data.updateBranding.branding).toEqual({
      primaryColor: '#1A2B3C',
      secondaryColor: '#ffffff',
      accentColor: null,
      fontFamily: '"Inter", sans-serif',
    });
  });

  test('branding refuses non-hex colours and a font family that could inject CSS', async () => {
    await refused(
      `mutation { updateBranding(input: { primaryColor: "red", secondaryColor: "#12345", fontFamily: "x; background: url(evil)" }) { id } }`,
      {},
      'BAD_USER_INPUT',
      ['primaryColor', 'secondaryColor', 'fontFamily'],
    );
  });

  test('security settings toggle; null is refused', async () => {
    const data = ok<any>(
      await gw.graphql(
        `mutation { updateSecuritySettings(input: { requireMfa: true, allowWorkspaceLlmOverrides: true }) { security { requireMfa allowUserKeyOverride allowWorkspaceLlmOverrides } } }`,
        {},
        token,
      ),
    );
    expect(data.updateSecuritySettings.security).toEqual({
      requireMfa: true,
      allowUserKeyOverride: false,
      allowWorkspaceLlmOverrides: true,
    });
    await refused(`mutation { updateSecuritySettings(input: { requireMfa: null }) { id } }`, {}, 'BAD_USER_INPUT', [
      'requireMfa',
    ]);
  });

  test('banner: set, read, clear; blank or overlong messages refused', async () => {
    const set = ok<any>(
      await gw.graphql(
        `mutation { setBanner(input: { message: " Maintenance at 22:00 ", variant: WARNING, dismissible: false }) { banner { message variant dismissible } } }`,
        {},
        token,
      ),
    );
    expect(set.setBanner.banner).toEqual({ message: 'Maintenance at 22:00', variant: 'WARNING', dismissible: false });
    await refused(`mutation { setBanner(input: { message: "   " }) { id } }`, {}, 'BAD_USER_INPUT', ['message']);
    await refused(
      `mutation($m: String!) { setBanner(input: { message: $m }) { id } }`,
      { m: 'x'.repeat(501) },
      'BAD_USER_INPUT',
      ['message'],
    );
    const cleared = ok<any>(await gw.graphql(`mutation { clearBanner { banner { message } } }`, {}, token));
    expect(cleared.clearBanner.banner).toBeNull();
  });
});

describe('gateway trace configuration', () => {
  const UPDATE = `mutation($i: UpdateTraceConfigInput!) { updateTraceConfig(input: $i) { traceConfig { mode sampleRate retentionDays } } }`;
  test('sampled at 0.25, kept 14 days', async () => {
    const data = ok<any>(
      await gw.graphql(UPDATE, { i: { mode: 'SAMPLED', sampleRate: 0.25, retentionDays: 14 } }, token),
    );
    expect(data.updateTraceConfig.traceConfig).toEqual({ mode: 'SAMPLED', sampleRate: 0.25, retentionDays: 14 });
    const row = await db.admin.query(`SELECT trace_sample_rate::text AS rate FROM organizations WHERE id = $1`, [
      org.id,
    ]);
    expect(row.rows[0].rate).toBe('0.25');
  });
  test('refuses a rate outside 0..1 or with more than two decimals, and retention outside 1..365', async () => {
    await refused(UPDATE, { i: { sampleRate: 1.5, retentionDays: 0 } }, 'BAD_USER_INPUT', [
      'sampleRate',
      'retentionDays',
    ]);
    await refused(UPDATE, { i: { sampleRate: 0.125, retentionDays: 366 } }, 'BAD_USER_INPUT', [
      'sampleRate',
      'retentionDays',
    ]);
    await refused(UPDATE, { i: { mode: null } }, 'BAD_USER_INPUT', ['mode']);
    await refused(UPDATE, { i: { mode: 'verbose' } }, 'BAD_USER_INPUT');
  });
});

describe('the platform-admin API', () => {
  const call = (method: string, path: string, body?: unknown, bearer: string | null = PLATFORM_TOKEN) =>
    fetch(`${gw.url}/platform/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  test('refuses anyone without the platform credential, tenant tokens included', async () => {
    for (const bearer of [null, 'wrong', token]) {
      const response = await call('GET', '/organizations', undefined, bearer);
      expect(response).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    }
  });

  test('creates an organization with its first owner, who can then use it', async () => {
    const slug = `plat-${crypto.randomBytes(3).toString('hex')}`;
    const created = await call('POST', '/organizations', {
      name: 'Platform made',
      slug,
      ownerEmail: 'Boss@Example.test',
      supportTier: 'premium',
    });
    expect(created).toMatchObject({ status: 201, body: { slug, status: 'active', supportTier: 'premium' } });
    const data = ok<any>(
      await gw.graphql(
        `{ viewer { subject } organization { slug members { edges { node { role email } } } } }`,
        {},
        gw.token(created.body.id, undefined, { sub: 'boss@example.test' }),
      ),
    );
    expect(data.organization.members.edges).toEqual([{ node: { role: 'OWNER', email: 'boss@example.test' } }]);
  });

  test('bad requests get 400 with a JSON error and create nothing', async () => {
    const before = await snapshot(db.admin);
    for (const body of [
      { name: 'x', slug: 'Bad Slug', ownerEmail: 'a@b.test' },
      { name: 'x', slug: 'ok-slug', ownerEmail: 'not-mail' },
      { slug: 'ok-slug', ownerEmail: 'a@b.test' },
      { name: 'x', slug: org.slug, ownerEmail: 'a@b.test' },
    ]) {
      const response = await call('POST', '/organizations', body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'bad_request', message: expect.any(String) });
    }
    expect((await call('PATCH', `/organizations/${org.slug}`, { status: 'paused' })).status).toBe(400);
    expect(
      (await call('PATCH', `/organizations/${org.slug}`, { status: 'suspended', supportTier: 'gold' })).status,
    ).toBe(400);
    expect((await call('PATCH', '/organizations/no-such-org', { status: 'suspended' })).status).toBe(404);
    // NUL and unpaired surrogates never reach SQL (they were 500s), in the body or the path.
    for (const body of [
      { name: 'a\u0000b', slug: 'ok-slug', ownerEmail: 'a@b.test' },
      { name: 'x', slug: 'ok-slug', ownerEmail: 'a@b.test', ownerId: 'u\uD800' },
    ]) {
      expect(await call('POST', '/organizations', body)).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    }
    expect((await call('PATCH', '/organizations/a%00b', { status: 'suspended' })).status).toBe(400);
    expect(await snapshot(db.admin)).toEqual(before);
  });

  test('suspended: reads work, mutations ORG_SUSPENDED; archived: everything ORG_ARCHIVED; active again', async () => {
    expect((await call('PATCH', `/organizations/${org.slug}`, { status: 'suspended' })).body.status).toBe('suspended');
    ok(await gw.graphql(`{ organization { name } }`, {}, token));
    const mutation = await gw.graphql(
      `mutation { createWorkspace(input: { name: "during suspension" }) { id } }`,
      {},
      token,
    );
    expect(mutation.status).toBe(403);
    expectError(mutation, 'ORG_SUSPENDED');
    expect((await call('PATCH', `/organizations/${org.id}`, { status: 'archived' })).body.status).toBe('archived');
    expectError(await gw.graphql(`{ organization { name } }`, {}, token), 'ORG_ARCHIVED');
    expect(
      (await call('PATCH', `/organizations/${org.slug}`, { status: 'active', supportTier: 'enterprise' })).body,
    ).toMatchObject({ status: 'active', supportTier: 'enterprise' });
    ok(await gw.graphql(`mutation { createWorkspace(input: { name: "after" }) { id } }`, {}, token));
  });

  test('the same operations from the CLI, with bad values refused', async () => {
    const env = { DATABASE_URL: db.url };
    expect(
      (await cli(['org', 'set-support-tier', '--org', org.slug, '--tier', 'standard', '--json'], env)).json,
    ).toMatchObject({ supportTier: 'standard' });
    const bad = await cli(['org', 'set-status', '--org', org.slug, '--status', 'paused'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/paused/);
    const missingOwner = await cli(['org', 'create', '--name', 'X', '--slug', 'no-owner'], env);
    expect(missingOwner.code).not.toBe(0);
    expect(missingOwner.stderr).toMatch(/owner-email/);
  });
});

describe('audit log', () => {
  test('every change is recorded with who, what, target, when and request id; refused changes are not', async () => {
    // Self-contained (runnable alone with -t): the platform suspension and the trace-config change it looks
    // for are made here, not inherited from the tests above.
    const platform = (body: unknown) =>
      fetch(`${gw.url}/platform/v1/organizations/${org.slug}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${PLATFORM_TOKEN}` },
        body: JSON.stringify(body),
      }).then((r) => r.status);
    expect(await platform({ status: 'suspended' })).toBe(200);
    expect(await platform({ status: 'active' })).toBe(200);
    ok(
      await gw.graphql(
        `mutation { updateTraceConfig(input: { mode: SAMPLED, sampleRate: 0.5, retentionDays: 7 }) { traceConfig { mode } } }`,
        {},
        token,
      ),
    );
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': 'audit-req-1' },
      body: JSON.stringify({ query: `mutation { createWorkspace(input: { name: "Audited" }) { id } }` }),
    });
    const workspaceId = ((await response.json()) as any).data.createWorkspace.id;
    await gw.graphql(
      `mutation { updateWorkspace(id: "01900000-0000-7000-8000-000000000000", input: { name: "x" }) { id } }`,
      {},
      token,
    );
    const log = ok<any>(
      await gw.graphql(
        `{ organization { auditLog(first: 50) { edges { node { actor actorKind operation targetType targetId requestId occurredAt } } } } }`,
        {},
        token,
      ),
    );
    const entries = log.organization.auditLog.edges.map((e: any) => e.node);
    expect(entries[0]).toMatchObject({
      actor: 'user-1',
      actorKind: 'user',
      operation: 'createWorkspace',
      targetType: 'Workspace',
      targetId: workspaceId,
      requestId: 'audit-req-1',
    });
    expect(entries.some((e: any) => e.operation === 'updateWorkspace')).toBe(false);
    expect(
      entries.some((e: any) => e.actor === 'platform-admin' && e.operation === 'setOrganizationStatus:suspended'),
    ).toBe(true);
    expect(entries.some((e: any) => e.operation === 'updateTraceConfig')).toBe(true);
    const times = entries.map((e: any) => new Date(e.occurredAt).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times); // newest first
  });

  test('the serving role can append and read, never change or delete', async () => {
    // At least one entry of its own, whichever tests ran before.
    ok(await gw.graphql(`mutation { createWorkspace(input: { name: "Audited too" }) { id } }`, {}, token));
    const login = await cli(
      ['db', 'create-serving-login', '--name', `audit_${crypto.randomBytes(3).toString('hex')}`, '--json'],
      { DATABASE_URL: db.url },
    );
    const client = new Client({ connectionString: login.json.app_database_url });
    await client.connect();
    try {
      await client.query(`BEGIN; SET LOCAL ROLE manifest_app`);
      await client.query(`SELECT set_config('app.org_id', $1, true)`, [org.id]);
      expect(Number((await client.query(`SELECT count(*) FROM audit_log`)).rows[0].count)).toBeGreaterThan(0);
      await expect(client.query(`UPDATE audit_log SET actor = 'someone-else'`)).rejects.toMatchObject({
        code: '42501',
      });
      await client.query('ROLLBACK; BEGIN; SET LOCAL ROLE manifest_app');
      await client.query(`SELECT set_config('app.org_id', $1, true)`, [org.id]);
      await expect(client.query(`DELETE FROM audit_log`)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  });
});

test('without PLATFORM_ADMIN_TOKEN the platform API does not exist', async () => {
  const plain = await startGateway({ databaseUrl: db.url });
  try {
    const response = await fetch(`${plain.url}/platform/v1/organizations`, {
      headers: { authorization: `Bearer ${PLATFORM_TOKEN}` },
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error).toBe('not_found');
  } finally {
    await plain.stop();
  }
});
