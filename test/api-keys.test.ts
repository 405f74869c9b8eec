import { spawn } from 'node:child_process';
import path from 'node:path';
import { createTestDatabase, snapshot } from './support/database';
import { ROOT, cli, startGateway } from './support/gateway';
import { createOrg, gid, raw, uuidOf, createTree, ok } from './support/fixtures';
import { expectError } from './support/expect';
import { useGateway } from './support/harness';

/** SQL as the database owner, with the API's global ids turned into stored UUIDs. */
const adminQuery = (text: string, params?: unknown[]) => db.admin.query(text, raw(params));

const { gw, db, orgA, orgB } = useGateway({ orgs: ['keys-a', 'keys-b'] });
let ownerA: string;

beforeAll(async () => {
  ownerA = gw.token(orgA.id);
});

const CREATE = `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { id prefix name scopes createdBy status expiresAt } } }`;

async function createKey(scopes: string[], token = ownerA, extra: Record<string, unknown> = {}) {
  return ok<any>(await gw.graphql(CREATE, { i: { name: 'ci', scopes, ...extra } }, token)).createApiKey as {
    key: string;
    apiKey: { id: string; prefix: string };
  };
}

async function exchange(apiKey: unknown, base = gw.url, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ api_key: apiKey }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe('creating keys', () => {
  test('the value is shown once, in the fl_ format, and only a hash is stored', async () => {
    const created = await createKey(['org:read', 'workspaces:read']);
    expect(created.key).toMatch(/^fl_[0-9A-Za-z]{16}_[0-9A-Za-z]{38}$/);
    expect(created.key.startsWith(`${created.apiKey.prefix}_`)).toBe(true);
    // No query can return it again …
    const listed = await gw.graphql(
      `{ organization { apiKeys { edges { node { id prefix name scopes createdBy status lastUsedAt } } } } }`,
      {},
      ownerA,
    );
    expect(JSON.stringify(listed.body)).not.toContain(created.key.split('_')[2]);
    expect(listed.body.data.organization.apiKeys.edges.map((e: any) => e.node)).toContainEqual(
      expect.objectContaining({
        id: created.apiKey.id,
        createdBy: 'user-1',
        status: 'ACTIVE',
        scopes: ['org:read', 'workspaces:read'],
      }),
    );
    // … and the database holds no plaintext anywhere.
    const secret = created.key.split('_')[2].slice(0, 32);
    const tables = await adminQuery(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`);
    for (const { table_name } of tables.rows) {
      const hit = await adminQuery(`SELECT count(*) FROM ${table_name} t WHERE t::text LIKE '%' || $1 || '%'`, [
        secret,
      ]);
      expect({ table: table_name, hits: hit.rows[0].count }).toEqual({ table: table_name, hits: '0' });
    }
    expect(gw.logs.join('\n')).not.toContain(secret);
  });

  test('the ApiKey type has no field that could carry the value', async () => {
    const type = ok<any>(await gw.graphql(`{ __type(name: "ApiKey") { fields { name } } }`, {}, ownerA));
    expect(type.__type.fields.map((f: any) => f.name).sort()).toEqual(
      [
        'createdAt',
        'createdBy',
        'description',
        'expiresAt',
        'id',
        'lastUsedAt',
        'name',
        'ownerUserId',
        'prefix',
        'revokedAt',
        'revokedBy',
        'rotatedTo',
        'scopes',
        'status',
      ].sort(),
    );
  });

  test('unknown scopes, scopes the creator lacks, past expiry and a blank name are refused', async () => {
    const before = await snapshot(db.admin);
    expectError(await gw.graphql(CREATE, { i: { name: 'x', scopes: ['root'] } }, ownerA), 'BAD_USER_INPUT', ['scopes']);
    const narrow = gw.token(orgA.id, ['api_keys:manage', 'org:read']);
    expectError(
      await gw.graphql(CREATE, { i: { name: 'x', scopes: ['org:read', 'components:write'] } }, narrow),
      'BAD_USER_INPUT',
      ['scopes'],
    );
    expectError(
      await gw.graphql(CREATE, { i: { name: 'x', scopes: ['org:read'], expiresAt: '2020-01-01T00:00:00Z' } }, ownerA),
      'BAD_USER_INPUT',
      ['expiresAt'],
    );
    expectError(await gw.graphql(CREATE, { i: { name: ' ', scopes: [] } }, ownerA), 'BAD_USER_INPUT', [
      'name',
      'scopes',
    ]);
    expect(await snapshot(db.admin)).toEqual(before);
  });

  test('a key cannot mint a key with more than it has (no escalation through keys)', async () => {
    const manager = await createKey(['api_keys:manage', 'org:read']);
    const token = (await exchange(manager.key)).body.access_token;
    expectError(await gw.graphql(CREATE, { i: { name: 'wider', scopes: ['org:write'] } }, token), 'BAD_USER_INPUT', [
      'scopes',
    ]);
    ok(await gw.graphql(CREATE, { i: { name: 'same', scopes: ['org:read'] } }, token));
  });

  test('members cannot manage keys', async () => {
    await adminQuery(
      `INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, 'member-k', 'mk@example.test', 'member')`,
      [orgA.id],
    );
    expectError(
      await gw.graphql(
        CREATE,
        { i: { name: 'x', scopes: ['org:read'] } },
        gw.token(orgA.id, undefined, { sub: 'member-k' }),
      ),
      'FORBIDDEN',
    );
  });
});

describe('POST /auth/token', () => {
  test('exchanges a key for a short-lived token that carries the key, its org and its scopes', async () => {
    const created = await createKey(['org:read', 'workspaces:read', 'workspaces:write']);
    const response = await exchange(created.key);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 900,
      scope: 'org:read workspaces:read workspaces:write',
      org_id: orgA.id,
    });
    const claims = JSON.parse(Buffer.from(response.body.access_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({
      sub: `apikey:${uuidOf(created.apiKey.id)}`,
      org: orgA.id,
      iss: 'manifest-gateway',
      jti: expect.any(String),
    });
    expect(claims.exp - claims.iat).toBe(900);
    const data = ok<any>(
      await gw.graphql(`{ viewer { subject scopes organization { id } } }`, {}, response.body.access_token),
    );
    expect(data.viewer).toEqual({
      subject: `apikey:${uuidOf(created.apiKey.id)}`,
      scopes: ['org:read', 'workspaces:read', 'workspaces:write'],
      organization: { id: gid('Organization', orgA.id) },
    });
    // last_used_at is written after the response.
    await new Promise((r) => setTimeout(r, 300));
    const used = await adminQuery(`SELECT last_used_at FROM api_keys WHERE id = $1`, [uuidOf(created.apiKey.id)]);
    expect(used.rows[0].last_used_at).not.toBeNull();
  });

  test('refusals: JSON with an error code and a 4xx status, for every way a key can be wrong', async () => {
    const good = await createKey(['org:read']);
    const flipped = good.key.slice(0, 20) + (good.key[20] === 'a' ? 'b' : 'a') + good.key.slice(21);
    const unknown = await createKey(['org:read']);
    await adminQuery(`DELETE FROM api_keys WHERE id = $1`, [uuidOf(unknown.apiKey.id)]);
    const cases: Array<[unknown, number, string, RegExp]> = [
      [undefined, 400, 'invalid_request', /fl_/],
      ['not-a-key', 400, 'invalid_request', /fl_/],
      [good.key.slice(0, -1), 400, 'invalid_request', /fl_/],
      [flipped, 400, 'invalid_request', /checksum/],
      [unknown.key, 401, 'invalid_client', /unknown/],
    ];
    for (const [key, status, error, description] of cases) {
      const response = await exchange(key);
      expect({ key, status: response.status, error: response.body.error }).toEqual({ key, status, error });
      expect(response.body.error_description).toMatch(description);
      expect(response.body.access_token).toBeUndefined();
    }
  });

  test('revoked and expired keys are refused', async () => {
    const revoked = await createKey(['org:read']);
    ok(
      await gw.graphql(
        `mutation($id: ID!) { revokeApiKey(id: $id) { status revokedBy } }`,
        { id: revoked.apiKey.id },
        ownerA,
      ),
    );
    expect(await exchange(revoked.key)).toMatchObject({
      status: 401,
      body: { error: 'invalid_client', error_description: expect.stringMatching(/revoked/) },
    });
    const expired = await createKey(['org:read']);
    await adminQuery(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      uuidOf(expired.apiKey.id),
    ]);
    expect(await exchange(expired.key)).toMatchObject({
      status: 401,
      body: { error: 'invalid_client', error_description: expect.stringMatching(/expired/) },
    });
  });

  test('suspended and archived organizations are refused', async () => {
    const org = await createOrg(db, 'keys-status');
    const key = (await createKey(['org:read'], gw.token(org.id))).key;
    await adminQuery(`UPDATE organizations SET status = 'suspended' WHERE id = $1`, [org.id]);
    expect(await exchange(key)).toMatchObject({ status: 403, body: { error: 'org_suspended' } });
    await adminQuery(`UPDATE organizations SET status = 'archived' WHERE id = $1`, [org.id]);
    expect(await exchange(key)).toMatchObject({ status: 403, body: { error: 'org_archived' } });
  });
});

describe('revocation and rotation', () => {
  test('revoking a key stops tokens already exchanged from it on their next request (bound: 0 s)', async () => {
    const created = await createKey(['org:read', 'workspaces:read']);
    const token = (await exchange(created.key)).body.access_token;
    ok(await gw.graphql(`{ organization { id } }`, {}, token));
    ok(await gw.graphql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: created.apiKey.id }, ownerA));
    const after = await gw.graphql(`{ organization { id } }`, {}, token);
    expect(after.status).toBe(401);
    expectError(after, 'UNAUTHENTICATED');
    expect(after.body.errors?.[0].message).toMatch(/revoked/);
  });

  test('rotation gives a new value; the old one works through the grace period, then not', async () => {
    const created = await createKey(['org:read']);
    const rotated = ok<any>(
      await gw.graphql(
        `mutation($id: ID!) { rotateApiKey(id: $id, gracePeriodSeconds: 2) { key apiKey { id scopes } } }`,
        { id: created.apiKey.id },
        ownerA,
      ),
    ).rotateApiKey;
    expect(rotated.key).not.toBe(created.key);
    expect(rotated.apiKey.scopes).toEqual(['org:read']);
    expect((await exchange(created.key)).status).toBe(200);
    expect((await exchange(rotated.key)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2300));
    expect(await exchange(created.key)).toMatchObject({
      status: 401,
      body: { error_description: expect.stringMatching(/expired/) },
    });
    expect((await exchange(rotated.key)).status).toBe(200);
    // A rotated key cannot be rotated again; without grace the old key is revoked at once.
    expectError(
      await gw.graphql(`mutation($id: ID!) { rotateApiKey(id: $id) { key } }`, { id: created.apiKey.id }, ownerA),
      'BAD_USER_INPUT',
      ['id'],
    );
    const next = ok<any>(
      await gw.graphql(`mutation($id: ID!) { rotateApiKey(id: $id) { key } }`, { id: rotated.apiKey.id }, ownerA),
    ).rotateApiKey;
    expect((await exchange(rotated.key)).status).toBe(401);
    expect((await exchange(next.key)).status).toBe(200);
    expectError(
      await gw.graphql(
        `mutation($id: ID!) { rotateApiKey(id: $id, gracePeriodSeconds: -1) { key } }`,
        { id: created.apiKey.id },
        ownerA,
      ),
      'BAD_USER_INPUT',
      ['gracePeriodSeconds'],
    );
  });
});

test("a token from one org's key reaches nothing of another org's", async () => {
  const treeB = await createTree(gw, gw.token(orgB.id), { workspaces: 1, environments: 1, components: 1 });
  const key = await createKey(['org:read', 'workspaces:read', 'workspaces:write', 'components:read']);
  const token = (await exchange(key.key)).body.access_token;
  const ws = treeB.workspaces[0];
  expectError(await gw.graphql(`query($id: ID!) { workspace(id: $id) { id } }`, { id: ws.id }, token), 'NOT_FOUND');
  expectError(
    await gw.graphql(`query($id: ID!) { component(id: $id) { id } }`, { id: ws.components[0] }, token),
    'NOT_FOUND',
  );
  expectError(
    await gw.graphql(`mutation($id: ID!) { deleteEnvironment(id: $id) }`, { id: ws.environments[0] }, token),
    'NOT_FOUND',
  );
  expect(ok<any>(await gw.graphql(`{ organization { id } }`, {}, token)).organization.id).toBe(
    gid('Organization', orgA.id),
  );
});

test("the CLI creates an organization's first key, and the example script exchanges it and runs a mutation", async () => {
  const created = await cli(
    [
      'apikey',
      'create',
      '--org',
      orgA.slug,
      '--name',
      'bootstrap',
      '--scopes',
      'org:read,workspaces:read,workspaces:write',
      '--json',
    ],
    { DATABASE_URL: db.url },
  );
  expect(created.code).toBe(0);
  expect(created.json).toMatchObject({
    key: expect.stringMatching(/^fl_/),
    scopes: ['org:read', 'workspaces:read', 'workspaces:write'],
  });
  const child = spawn(process.execPath, [path.join(ROOT, 'examples/exchange-and-mutate.mjs'), 'From the example'], {
    env: { ...process.env, MANIFEST_URL: gw.url, MANIFEST_API_KEY: created.json.key },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  expect({ code, out }).toMatchObject({ code: 0 });
  const workspace = JSON.parse(out);
  const row = await adminQuery(`SELECT org_id, name FROM workspaces WHERE id = $1`, [uuidOf(workspace.id)]);
  expect(row.rows[0]).toEqual({ org_id: orgA.id, name: 'From the example' });
  const audit = await adminQuery(`SELECT actor, actor_kind FROM audit_log WHERE target_id = $1`, [
    uuidOf(workspace.id),
  ]);
  expect(audit.rows[0]).toEqual({ actor: `apikey:${created.json.id}`, actor_kind: 'api_key' });
});

test('exchanges are rate limited per key and per client address, and recover after the window', async () => {
  // Its own database: the counters are shared by every gateway on a database (that is the point), and the
  // other tests here have used this address's allowance already.
  const ownDb = await createTestDatabase();
  const limited = await startGateway({
    databaseUrl: ownDb.url,
    env: { AUTH_RATE_LIMIT_PER_KEY: '3', AUTH_RATE_LIMIT_PER_ADDRESS: '6', AUTH_RATE_LIMIT_WINDOW_SECONDS: '2' },
  });
  try {
    const org = await createOrg(ownDb, 'limits');
    const key = ok<any>(
      await limited.graphql(CREATE, { i: { name: 'limited', scopes: ['org:read'] } }, limited.token(org.id)),
    ).createApiKey.key;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await exchange(key, limited.url)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limitedResponse = await exchange(key, limited.url);
    expect(limitedResponse.body.error).toBe('rate_limited');
    expect(Number(limitedResponse.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Guessing from one address: malformed or not, every attempt counts against the address.
    const guesses = [];
    for (let i = 0; i < 3; i++) guesses.push((await exchange('fl_guess', limited.url)).status);
    expect(guesses.at(-1)).toBe(429);
    await new Promise((r) => setTimeout(r, 2200));
    expect((await exchange(key, limited.url)).status).toBe(200);
  } finally {
    await limited.stop();
    await ownDb.drop();
  }
});

describe('keys answer to the member who made them', () => {
  const ADD = `mutation($i: AddMemberInput!) { addMember(input: $i) { userId } }`;
  const asUser = (sub: string) => gw.token(orgA.id, undefined, { sub });
  beforeAll(async () => {
    ok(await gw.graphql(ADD, { i: { userId: 'key-admin', email: 'key-admin@example.test', role: 'ADMIN' } }, ownerA));
  });

  test('an admin cannot make themselves owner through an API key', async () => {
    const key = await createKey(['members:write', 'org:read'], asUser('key-admin'));
    const token = (await exchange(key.key)).body.access_token;
    const before = await snapshot(db.admin);
    expectError(
      await gw.graphql(`mutation { updateMember(userId: "key-admin", input: { role: OWNER }) { role } }`, {}, token),
      'FORBIDDEN',
    );
    expectError(await gw.graphql(`mutation { removeMember(userId: "user-1") }`, {}, token), 'FORBIDDEN');
    expect(await snapshot(db.admin)).toEqual(before);
  });

  test('a narrow key cannot rotate a broader key into a copy for itself', async () => {
    const broad = await createKey(['org:read', 'org:write', 'members:write', 'api_keys:manage']);
    const narrow = await createKey(['api_keys:manage']);
    const token = (await exchange(narrow.key)).body.access_token;
    const before = await snapshot(db.admin);
    expectError(
      await gw.graphql(
        `mutation($id: ID!) { rotateApiKey(id: $id, gracePeriodSeconds: 60) { key } }`,
        { id: broad.apiKey.id },
        token,
      ),
      'FORBIDDEN',
    );
    expect(await snapshot(db.admin)).toEqual(before);
  });

  test("demoting the key's owner caps the key at once; removing them stops it", async () => {
    ok(await gw.graphql(ADD, { i: { userId: 'leaving-admin', email: 'leaving@example.test', role: 'ADMIN' } }, ownerA));
    const key = await createKey(['org:read', 'org:write'], asUser('leaving-admin'));
    const token = (await exchange(key.key)).body.access_token;
    ok(await gw.graphql(`mutation { updateOrganization(input: { industry: "by key" }) { id } }`, {}, token));
    ok(
      await gw.graphql(
        `mutation { updateMember(userId: "leaving-admin", input: { role: VIEWER }) { role } }`,
        {},
        ownerA,
      ),
    );
    expectError(
      await gw.graphql(`mutation { updateOrganization(input: { industry: "still?" }) { id } }`, {}, token),
      'FORBIDDEN',
    );
    expect((await exchange(key.key)).body.scope).toBe('org:read');
    ok(await gw.graphql(`mutation { removeMember(userId: "leaving-admin") }`, {}, ownerA));
    expectError(await gw.graphql(`{ organization { id } }`, {}, token), 'UNAUTHENTICATED');
    expect(await exchange(key.key)).toMatchObject({
      status: 401,
      body: { error_description: expect.stringMatching(/left the organization/) },
    });
  });

  test("knowing a key's public id is not enough to lock its holder out", async () => {
    // Its own gateway and database, behind one trusted proxy, so the guesser and the holder have different addresses.
    const ownDb = await createTestDatabase();
    const proxied = await startGateway({ databaseUrl: ownDb.url, env: { TRUST_PROXY_HOPS: '1' } });
    const org = await createOrg(ownDb, 'lockout');
    const victim = ok<any>(
      await proxied.graphql(CREATE, { i: { name: 'victim', scopes: ['org:read'] } }, proxied.token(org.id)),
    ).createApiKey;
    const keyId = victim.key.split('_')[1];
    // Well-formed keys with the victim's id and a valid checksum, but the wrong secret.
    const zlib = await import('node:zlib');
    const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const forge = (i: number) => {
      const body = `fl_${keyId}_${String(i).padStart(32, 'x')}`;
      let n = zlib.crc32(body);
      let sum = '';
      for (let d = 0; d < 6; d++) {
        sum = BASE62[n % 62] + sum;
        n = Math.floor(n / 62);
      }
      return body + sum;
    };
    try {
      const statuses = [];
      for (let i = 0; i < 35; i++)
        statuses.push((await exchange(forge(i), proxied.url, { 'x-forwarded-for': '203.0.113.7' })).status);
      expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
      expect(statuses.at(-1)).toBe(429); // the guesser is limited …
      expect((await exchange(victim.key, proxied.url, { 'x-forwarded-for': '198.51.100.20' })).status).toBe(200); // … the holder is not
    } finally {
      await proxied.stop();
      await ownDb.drop();
    }
  });
});

test('a request aborted by its client is rolled back, savepoints and all, and its connection comes back clean', async () => {
  const token = gw.token(orgA.id);
  ok(await gw.graphql(`mutation { updateOrganization(input: { industry: "before" }) { id } }`, {}, token));
  // Hold the organization's member rows, so the request's second mutation waits on them.
  const holder = await db.admin.connect();
  await holder.query('BEGIN');
  await holder.query(`SELECT 1 FROM org_members WHERE org_id = $1 FOR UPDATE`, [orgA.id]);
  const abort = new AbortController();
  const pending = fetch(`${gw.url}/graphql`, {
    method: 'POST',
    signal: abort.signal,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: `mutation { a: updateOrganization(input: { industry: "aborted" }) { id } b: updateMember(userId: "user-1", input: { displayName: "x" }) { userId } }`,
    }),
  }).catch(() => 'aborted');
  await new Promise((r) => setTimeout(r, 300));
  abort.abort();
  expect(await pending).toBe('aborted');
  await new Promise((r) => setTimeout(r, 200));
  await holder.query('ROLLBACK');
  holder.release();
  await new Promise((r) => setTimeout(r, 300));
  const row = await adminQuery(`SELECT industry FROM organizations WHERE id = $1`, [orgA.id]);
  expect(row.rows[0].industry).toBe('before');
  const stuck = await adminQuery(
    `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()`,
  );
  expect(stuck.rows[0].count).toBe('0');
  ok(await gw.graphql(`{ organization { industry } }`, {}, token));
});

test('a key acts as the member it answers to: their workspace visibility and roles, not org-wide', async () => {
  const ADD = `mutation($i: AddMemberInput!) { addMember(input: $i) { userId } }`;
  ok(await gw.graphql(ADD, { i: { userId: 'ws-admin', email: 'ws-admin@example.test', role: 'ADMIN' } }, ownerA));
  const privateWs = ok<any>(
    await gw.graphql(`mutation { createWorkspace(input: { name: "Owner only" }) { id } }`, {}, ownerA),
  ).createWorkspace.id;
  const key = await createKey(
    ['org:read', 'workspaces:read', 'workspaces:write'],
    gw.token(orgA.id, undefined, { sub: 'ws-admin' }),
  );
  const token = (await exchange(key.key)).body.access_token;
  // As an org admin, the key's owner sees and administers every workspace, and so does the key …
  ok(
    await gw.graphql(
      `mutation($id: ID!) { updateWorkspace(id: $id, input: { description: "by key" }) { id } }`,
      { id: privateWs },
      token,
    ),
  );
  // … demoted to a plain member of no workspace, neither the owner nor the key sees it any more.
  ok(await gw.graphql(`mutation { updateMember(userId: "ws-admin", input: { role: MEMBER }) { role } }`, {}, ownerA));
  expectError(await gw.graphql(`query($id: ID!) { workspace(id: $id) { id } }`, { id: privateWs }, token), 'NOT_FOUND');
  const before = await snapshot(db.admin);
  expectError(
    await gw.graphql(
      `mutation($id: ID!) { updateWorkspace(id: $id, input: { description: "after demotion" }) { id } }`,
      { id: privateWs },
      token,
    ),
    'NOT_FOUND',
  );
  expect(await snapshot(db.admin)).toEqual(before);
  // A workspace the key creates belongs to its owner like one they create themselves.
  const own = ok<any>(
    await gw.graphql(`mutation { createWorkspace(input: { name: "Made by key" }) { id } }`, {}, token),
  ).createWorkspace.id;
  const members = ok<any>(
    await gw.graphql(`query($id: ID!) { workspace(id: $id) { members { userId role } } }`, { id: own }, ownerA),
  );
  expect(members.workspace.members).toEqual([{ userId: 'ws-admin', role: 'ADMIN' }]);
});

test('a token whose key now answers to someone else is refused (the claim must match the database)', async () => {
  const key = await createKey(['org:read']);
  const token = (await exchange(key.key)).body.access_token;
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  expect(claims.key_owner).toBe('user-1');
  ok(await gw.graphql(`{ organization { id } }`, {}, token));
  await adminQuery(`UPDATE api_keys SET owner_user_id = 'ws-admin' WHERE id = $1`, [uuidOf(key.apiKey.id)]);
  expectError(await gw.graphql(`{ organization { id } }`, {}, token), 'UNAUTHENTICATED');
});

test('org create --owner-api-key creates the organization, its first owner and a key answering to them', async () => {
  const slug = `keyed-${Date.now().toString(36)}`;
  const created = await cli(
    [
      'org',
      'create',
      '--name',
      'Keyed',
      '--slug',
      slug,
      '--owner-email',
      'boss@keyed.test',
      '--owner-api-key',
      '--json',
    ],
    { DATABASE_URL: db.url },
  );
  expect(created.code).toBe(0);
  expect(created.json.apiKey.key).toMatch(/^fl_/);
  const token = (await exchange(created.json.apiKey.key)).body;
  expect(token.scope.split(' ')).toContain('members:write');
  const claims = JSON.parse(Buffer.from(token.access_token.split('.')[1], 'base64url').toString());
  expect(claims).toMatchObject({ org: created.json.id, key_owner: 'boss@keyed.test' });
  expect(ok<any>(await gw.graphql(`{ organization { slug } }`, {}, token.access_token)).organization.slug).toBe(slug);
});
