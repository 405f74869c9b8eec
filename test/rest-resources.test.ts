import { cli } from './support/gateway';
import { useGateway } from './support/harness';
import { ALL_SCOPES } from './support/scopes';
import { expectProblem, expectProblemUnchanged, rest } from './support/rest';

/**
 * REST routes of connectors, workspace LLM settings, members, API keys and billing (src/rest/routes):
 * each works on the GraphQL services, and every bad input is a problem document that changes nothing.
 * Cross-tenant ids and roles are swept for every route by rest-isolation and rest-roles.
 */
const { gw, db, orgA } = useGateway({ orgs: ['rres-a'] });
let token: string;
let ws: string;
let otherWs: string;
const base = () => `/orgs/${orgA.id}`;
const wsPath = () => `${base()}/workspaces/${ws}`;

beforeAll(async () => {
  token = gw.token(orgA.id);
  ws = (await rest(gw, 'post', `${base()}/workspaces`, { token, body: { name: 'Main' } })).body.id;
  otherWs = (await rest(gw, 'post', `${base()}/workspaces`, { token, body: { name: 'Other' } })).body.id;
});

describe('connectors', () => {
  test('create → 201 + Location, the secret never comes back; read, list by kind, merge-patch, clear secret, delete', async () => {
    const secret = 'pa55-w0rd-never-shown';
    const created = await rest(gw, 'post', `${wsPath()}/connectors`, {
      token,
      body: { kind: 'database', name: 'Warehouse', config: { host: 'db.internal', port: 5432 }, secret },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.headers.get('location')).toBe(`/api/v1${wsPath()}/connectors/${id}`);
    expect(created.body).toMatchObject({
      workspace_id: ws,
      kind: 'database',
      name: 'Warehouse',
      config: { host: 'db.internal', port: 5432 },
      secret: { is_set: true, readable: true, fingerprint: expect.any(String) },
    });
    await rest(gw, 'post', `${wsPath()}/connectors`, { token, body: { kind: 'api', name: 'Hooks' } });
    const read = await rest(gw, 'get', created.headers.get('location')!, { token });
    const list = await rest(gw, 'get', `${wsPath()}/connectors?kind=database`, { token });
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    const patched = await rest(gw, 'patch', `${wsPath()}/connectors/${id}`, {
      token,
      body: { name: 'Lake' },
      contentType: 'application/merge-patch+json',
      headers: { 'if-match': read.headers.get('etag')! },
    });
    expect(patched.body).toMatchObject({ name: 'Lake', config: { host: 'db.internal', port: 5432 } });
    for (const r of [created, read, list, patched]) expect(r.text).not.toContain(secret);
    expect(gw.logs.join('\n')).not.toContain(secret);

    expect((await rest(gw, 'delete', `${wsPath()}/connectors/${id}/secret`, { token })).status).toBe(204);
    expect((await rest(gw, 'get', `${wsPath()}/connectors/${id}`, { token })).body.secret).toMatchObject({
      is_set: false,
    });
    // Another workspace of the same organization in the path: not this connector's path.
    expectProblem(
      await rest(gw, 'get', `${base()}/workspaces/${otherWs}/connectors/${id}`, { token }),
      404,
      'NOT_FOUND',
    );
    expect((await rest(gw, 'delete', `${wsPath()}/connectors/${id}`, { token })).status).toBe(204);
    expectProblem(await rest(gw, 'get', `${wsPath()}/connectors/${id}`, { token }), 404, 'NOT_FOUND');
  });

  test('every bad field at once (a secret in config, the path-owned workspace_id, a bad kind, a blank name), nothing changed', async () => {
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `${wsPath()}/connectors`, {
          token,
          body: { kind: 'ftp', name: ' ', config: { password: 'x' }, workspace_id: otherWs },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['kind', 'name', 'config', 'workspace_id'] },
      db,
    );
    const c = await rest(gw, 'post', `${wsPath()}/connectors`, { token, body: { kind: 'api', name: 'Dup' } });
    await expectProblemUnchanged(
      () => rest(gw, 'post', `${wsPath()}/connectors`, { token, body: { kind: 'api', name: 'Dup' } }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['name'] },
      db,
    );
    await expectProblemUnchanged(
      () =>
        rest(gw, 'patch', `${wsPath()}/connectors/${c.body.id}`, {
          token,
          body: { name: null, secret: '', config: 'x' },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['name', 'secret', 'config'] },
      db,
    );
    await expectProblemUnchanged(
      () => rest(gw, 'get', `${wsPath()}/connectors?kind=ftp`, { token }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['kind'] },
      db,
    );
  });
});

describe('workspace LLM settings', () => {
  const settings = { default_provider: 'openai', default_model: 'gpt-4o', routes: [] };

  test('404 until set; PUT is FORBIDDEN while the organization does not permit overrides; then PUT, GET, DELETE', async () => {
    expectProblem(await rest(gw, 'get', `${wsPath()}/llm-settings`, { token }), 404, 'NOT_FOUND');
    await expectProblemUnchanged(
      () => rest(gw, 'put', `${wsPath()}/llm-settings`, { token, body: settings }),
      { status: 403, code: 'FORBIDDEN' },
      db,
    );
    await rest(gw, 'patch', `${base()}/settings/security`, { token, body: { allow_workspace_llm_overrides: true } });
    const put = await rest(gw, 'put', `${wsPath()}/llm-settings`, {
      token,
      body: { ...settings, routes: [{ match: 'summarize', provider: 'anthropic', model: 'claude', max_tokens: 1000 }] },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      workspace_id: ws,
      default_model: 'gpt-4o',
      active: true,
      routes: [{ match: 'summarize', provider: 'anthropic', model: 'claude', max_tokens: 1000, temperature: null }],
    });
    expect((await rest(gw, 'get', `${wsPath()}/llm-settings`, { token })).body).toEqual(put.body);
    expect((await rest(gw, 'delete', `${wsPath()}/llm-settings`, { token })).status).toBe(204);
    expectProblem(await rest(gw, 'get', `${wsPath()}/llm-settings`, { token }), 404, 'NOT_FOUND');
  });

  test('every bad field at once, with nested paths, nothing changed', async () => {
    await rest(gw, 'patch', `${base()}/settings/security`, { token, body: { allow_workspace_llm_overrides: true } });
    await expectProblemUnchanged(
      () =>
        rest(gw, 'put', `${wsPath()}/llm-settings`, {
          token,
          body: {
            default_provider: 'skynet',
            default_model: '',
            fallback_model: 'x',
            routes: [
              { match: 'a', provider: 'openai', model: 'm' },
              { match: 'A', provider: 'openai', model: 'm', temperature: 3 },
            ],
          },
        }),
      {
        status: 400,
        code: 'BAD_USER_INPUT',
        fields: ['default_provider', 'default_model', 'fallback_provider', 'routes.1.match', 'routes.1.temperature'],
      },
      db,
    );
  });
});

describe('members', () => {
  test('org members: add → 201, list, patch, remove → 204; workspace roles: put, list, delete', async () => {
    const added = await rest(gw, 'post', `${base()}/members`, {
      token,
      body: { user_id: 'dev-7', email: 'Dev7@Example.test', role: 'member' },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ user_id: 'dev-7', email: 'dev7@example.test', role: 'member' });
    const list = await rest(gw, 'get', `${base()}/members?limit=100`, { token });
    expect(list.body.items.map((m: { user_id: string }) => m.user_id)).toEqual(
      expect.arrayContaining(['user-1', 'dev-7']),
    );
    const patched = await rest(gw, 'patch', `${base()}/members/dev-7`, { token, body: { display_name: 'Dev' } });
    expect(patched.body).toMatchObject({ role: 'member', display_name: 'Dev' });

    const role = await rest(gw, 'put', `${wsPath()}/members/dev-7`, { token, body: { role: 'developer' } });
    expect(role.status).toBe(200);
    expect(role.body).toMatchObject({ workspace_id: ws, user_id: 'dev-7', role: 'developer' });
    expect((await rest(gw, 'get', `${wsPath()}/members`, { token })).body.items).toContainEqual(
      expect.objectContaining({ user_id: 'dev-7', role: 'developer' }),
    );
    expect((await rest(gw, 'delete', `${wsPath()}/members/dev-7`, { token })).status).toBe(204);
    expect((await rest(gw, 'delete', `${base()}/members/dev-7`, { token })).status).toBe(204);
    expectProblem(await rest(gw, 'delete', `${base()}/members/dev-7`, { token }), 404, 'NOT_FOUND');
  });

  test('bad input and refused changes: problems, nothing changed', async () => {
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `${base()}/members`, {
          token,
          body: { user_id: 'has space', email: 'nope', role: 'emperor', all_workspaces_role: 'god' },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['user_id', 'email', 'role', 'all_workspaces_role'] },
      db,
    );
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `${base()}/members`, {
          token,
          body: { user_id: 'user-1', email: 'x@y.test', role: 'viewer' },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['user_id'] },
      db,
    );
    // The last owner can be neither demoted nor removed.
    await expectProblemUnchanged(
      () => rest(gw, 'patch', `${base()}/members/user-1`, { token, body: { role: 'viewer' } }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['role'] },
      db,
    );
    await expectProblemUnchanged(
      () => rest(gw, 'delete', `${base()}/members/user-1`, { token }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['user_id'] },
      db,
    );
    await expectProblemUnchanged(
      () => rest(gw, 'put', `${wsPath()}/members/nobody`, { token, body: { role: 'viewer' } }),
      { status: 404, code: 'NOT_FOUND' },
      db,
    );
    await expectProblemUnchanged(
      () => rest(gw, 'put', `${wsPath()}/members/user-1`, { token, body: { role: 'root' } }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['role'] },
      db,
    );
  });
});

describe('API keys', () => {
  test('the value is in the create answer once: never in reads, lists or logs; it exchanges; rotate and revoke', async () => {
    const created = await rest(gw, 'post', `${base()}/api-keys`, {
      token,
      body: { name: 'CI', scopes: ['workspaces:read', 'org:read'] },
    });
    expect(created.status).toBe(201);
    const { key, api_key: meta } = created.body;
    expect(key).toMatch(/^fl_/);
    expect(meta).toMatchObject({ name: 'CI', scopes: ['org:read', 'workspaces:read'], status: 'active' });
    expect(key.startsWith(meta.prefix)).toBe(true);
    expect(created.headers.get('location')).toBe(`/api/v1${base()}/api-keys/${meta.id}`);
    const read = await rest(gw, 'get', created.headers.get('location')!, { token });
    const list = await rest(gw, 'get', `${base()}/api-keys`, { token });
    expect(read.body).toEqual(meta);
    for (const r of [read, list]) expect(r.text).not.toContain(key);

    const exchanged = await rest(gw, 'post', '/auth/token', { body: { api_key: key } });
    expect(exchanged.status).toBe(200);
    const keyToken = exchanged.body.access_token;
    expect((await rest(gw, 'get', `${base()}/workspaces`, { token: keyToken })).status).toBe(200);

    const rotated = await rest(gw, 'post', `${base()}/api-keys/${meta.id}/rotate`, { token, body: {} });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key).not.toBe(key);
    expect(rotated.body.api_key.scopes).toEqual(meta.scopes);
    const revoked = await rest(gw, 'post', `${base()}/api-keys/${rotated.body.api_key.id}/revoke`, { token });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    expect((await rest(gw, 'post', '/auth/token', { body: { api_key: rotated.body.key } })).status).toBe(401);
    expect(gw.logs.join('\n')).not.toContain(key);
    expect(gw.logs.join('\n')).not.toContain(rotated.body.key);
  });

  test('bad input: problems, nothing changed (unknown scopes, scopes beyond the caller, a past expiry, a bad grace period)', async () => {
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `${base()}/api-keys`, {
          token,
          body: { name: '', scopes: ['god:mode'], expires_at: '2001-01-01T00:00:00Z' },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['name'] },
      db,
    );
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `${base()}/api-keys`, {
          token,
          body: { name: 'x', scopes: ['god:mode'], expires_at: '2001-01-01T00:00:00Z' },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['scopes', 'expires_at'] },
      db,
    );
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `${base()}/api-keys`, {
          token: gw.token(orgA.id, ['api_keys:manage', 'org:read']),
          body: { name: 'x', scopes: ['billing:write'] },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['scopes'] },
      db,
    );
    const k = await rest(gw, 'post', `${base()}/api-keys`, { token, body: { name: 'g', scopes: ['org:read'] } });
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `${base()}/api-keys/${k.body.api_key.id}/rotate`, {
          token,
          body: { grace_period_seconds: -1 },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['grace_period_seconds'] },
      db,
    );
    await expectProblemUnchanged(
      () => rest(gw, 'post', `${base()}/api-keys/${k.body.api_key.id}/revoke`, { token, body: { now: true } }),
      { status: 400, code: 'BAD_REQUEST' },
      db,
    );
  });
});

test('REST changes are in the audit log under the GraphQL mutation names, with their request ids', async () => {
  const h = (id: string) => ({ headers: { 'x-request-id': id } });
  await rest(gw, 'post', `${wsPath()}/connectors`, { token, body: { kind: 'api', name: 'Audited' }, ...h('rr-1') });
  await rest(gw, 'post', `${base()}/api-keys`, {
    token,
    body: { name: 'Audited', scopes: ['org:read'] },
    ...h('rr-2'),
  });
  await rest(gw, 'put', `${wsPath()}/members/user-1`, { token, body: { role: 'admin' }, ...h('rr-3') });
  const log = await gw.graphql(
    `{ organization { auditLog(first: 100) { edges { node { operation targetType requestId } } } } }`,
    {},
    token,
  );
  const entries = log.body.data.organization.auditLog.edges.map((e: { node: unknown }) => e.node);
  expect(entries).toEqual(
    expect.arrayContaining([
      { operation: 'createConnector', targetType: 'Connector', requestId: 'rr-1' },
      { operation: 'createApiKey', targetType: 'CreatedApiKey', requestId: 'rr-2' },
      { operation: 'setWorkspaceMember', targetType: 'WorkspaceMember', requestId: 'rr-3' },
    ]),
  );
});

describe('billing', () => {
  test('credits, usage (201, idempotent retry, never overdrawn), ledger newest first, subscriptions', async () => {
    const env = { DATABASE_URL: db.url, NODE_ENV: 'test' };
    expect(
      (await cli(['billing', 'grant', '--org', orgA.slug, '--amount', '100', '--reason', 'top-up'], env)).code,
    ).toBe(0);
    expect(
      (
        await cli(
          [
            'billing',
            'subscribe',
            '--org',
            orgA.slug,
            '--product',
            'Agents',
            '--status',
            'active',
            '--cycle',
            'monthly',
          ],
          env,
        )
      ).code,
    ).toBe(0);
    expect((await rest(gw, 'get', `${base()}/billing/credits`, { token })).body).toMatchObject({ balance: 100 });
    const usage = { amount: 30, reason: 'tokens', workspace_id: ws, idempotency_key: 'run-1' };
    const first = await rest(gw, 'post', `${base()}/billing/usage`, { token, body: usage });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ kind: 'consumption', amount: -30, balance_after: 70, workspace_id: ws });
    const retry = await rest(gw, 'post', `${base()}/billing/usage`, { token, body: usage });
    expect(retry.body.id).toBe(first.body.id);
    expect((await rest(gw, 'get', `${base()}/billing/credits`, { token })).body.balance).toBe(70);
    const ledger = await rest(gw, 'get', `${base()}/billing/credits/ledger`, { token });
    expect(ledger.body.items.map((e: { amount: number }) => e.amount)).toEqual([-30, 100]);
    const subs = await rest(gw, 'get', `${base()}/billing/subscriptions`, { token });
    expect(subs.body.items).toEqual([
      expect.objectContaining({ product_name: 'Agents', status: 'active', billing_cycle: 'monthly' }),
    ]);
  });

  test('overdrawing, bad fields, a foreign-looking workspace: problems, nothing changed', async () => {
    await expectProblemUnchanged(
      () => rest(gw, 'post', `${base()}/billing/usage`, { token, body: { amount: 1_000_000, reason: 'too much' } }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['amount'] },
      db,
    );
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `${base()}/billing/usage`, {
          token,
          body: { amount: 1.5, reason: '', workspace_id: 'nope', idempotency_key: 'has space' },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['amount', 'reason', 'workspace_id', 'idempotency_key'] },
      db,
    );
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `${base()}/billing/usage`, {
          token,
          body: { amount: 1, reason: 'x', workspace_id: crypto.randomUUID() },
        }),
      { status: 404, code: 'NOT_FOUND' },
      db,
    );
  });

  test('roles: the billing role reads and records; a viewer gets 403', async () => {
    await db.admin.query(
      `INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, 'bill-1', 'b@a.test', 'billing'), ($1, 'view-1', 'v@a.test', 'viewer')`,
      [orgA.id],
    );
    const billing = gw.token(orgA.id, ALL_SCOPES, { sub: 'bill-1' });
    expect((await rest(gw, 'get', `${base()}/billing/credits`, { token: billing })).status).toBe(200);
    await expectProblemUnchanged(
      () => rest(gw, 'get', `${base()}/billing/credits`, { token: gw.token(orgA.id, ALL_SCOPES, { sub: 'view-1' }) }),
      { status: 403, code: 'FORBIDDEN' },
      db,
    );
  });
});
