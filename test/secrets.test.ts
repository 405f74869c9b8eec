import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { snapshot } from './support/database';
import { ROOT, cli, type GraphQLResponse } from './support/gateway';
import { gid, uuidOf, ok } from './support/fixtures';
import { ALL_SCOPES } from './support/scopes';
import { expectRefusedUnchanged, useGateway } from './support/harness';

/**
 * Secrets at rest: environment cloud credentials and connector secrets are write-only, sealed with
 * AES-256-GCM bound to their row, and never appear in the database, a response or the logs (the gateway
 * runs with LOG_LEVEL=trace, so every SQL statement is logged). Key rotation re-seals everything.
 */
// The pure crypto properties: the compiled keyring and config, loaded directly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const keyringModule = require('../dist/src/secrets/keyring.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const configModule = require('../dist/src/config.js');

const { gw, db, orgA, orgB, restartGateway } = useGateway({ orgs: ['sec-a', 'sec-b'], env: { LOG_LEVEL: 'trace' } });
let token: string;
/** Every response body the tests received: none may contain a secret. */
const responses: string[] = [];
/** A distinctive part of every plaintext secret the tests sent. */
const plaintexts: string[] = [];
/** Logs of gateways this file stopped (a restart starts a new log). */
const earlierLogs: string[] = [];

const rand = (n = 12) => crypto.randomBytes(n).toString('hex');
function secret(value: string, needle = value): string {
  plaintexts.push(needle);
  return value;
}

function awsCredentials() {
  const secretAccessKey = secret(
    crypto
      .randomBytes(30)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, 'x')
      .slice(0, 40),
  );
  return { accessKeyId: `AKIA${rand(8).toUpperCase()}`, secretAccessKey, region: 'eu-west-1' };
}
function cloudRunCredentials() {
  const material = `MIIE${rand(24)}`;
  const privateKey = secret(`-----BEGIN PRIVATE KEY-----\n${material}\n-----END PRIVATE KEY-----\n`, material);
  const serviceAccountJson = JSON.stringify({
    type: 'service_account',
    project_id: 'acme-prod',
    client_email: 'deployer@acme-prod.iam.gserviceaccount.com',
    private_key: privateKey,
  });
  return { projectId: 'acme-prod', region: 'us-central1', serviceAccountJson };
}

async function gql(query: string, variables: Record<string, unknown> = {}, as = token): Promise<GraphQLResponse> {
  const response = await gw.graphql(query, variables, as);
  responses.push(JSON.stringify(response.body));
  return response;
}

const refused = (query: string, variables: Record<string, unknown>, code: string, fields?: string[], as = token) =>
  expectRefusedUnchanged(() => gql(query, variables, as), { code, fields }, db);

const STATUS = `{ isSet provider updatedAt fingerprint readable }`;
const SET_CREDS = `mutation($id: ID!, $i: EnvironmentCredentialsInput!) { setEnvironmentCredentials(environmentId: $id, input: $i) { id credentials ${STATUS} } }`;
const CLEAR_CREDS = `mutation($id: ID!) { clearEnvironmentCredentials(environmentId: $id) { id credentials ${STATUS} } }`;
const ENV_CREDS = `query($id: ID!) { environment(id: $id) { credentials ${STATUS} } }`;
const CONNECTOR_FIELDS = `{ id workspaceId kind name config secret ${STATUS} workspace { id } }`;
const CREATE_CONN = `mutation($i: CreateConnectorInput!) { createConnector(input: $i) ${CONNECTOR_FIELDS} }`;
const UPDATE_CONN = `mutation($id: ID!, $i: UpdateConnectorInput!) { updateConnector(id: $id, input: $i) ${CONNECTOR_FIELDS} }`;
const CLEAR_CONN = `mutation($id: ID!) { clearConnectorSecret(id: $id) ${CONNECTOR_FIELDS} }`;
const DELETE_CONN = `mutation($id: ID!) { deleteConnector(id: $id) }`;
const GET_CONN = `query($id: ID!) { connector(id: $id) ${CONNECTOR_FIELDS} }`;

async function newWorkspace(as = token): Promise<string> {
  return ok<any>(
    await gql(
      `mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }`,
      { i: { name: `WS ${rand(3)}` } },
      as,
    ),
  ).createWorkspace.id;
}
async function newEnvironment(workspaceId: string, deploymentHost: string, as = token): Promise<string> {
  const i = {
    workspaceId,
    name: deploymentHost,
    slug: `${deploymentHost}-${rand(3)}`,
    tier: 'PROD',
    deploymentHost: deploymentHost.toUpperCase(),
  };
  return ok<any>(await gql(`mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`, { i }, as))
    .createEnvironment.id;
}
async function newConnector(workspaceId: string, extra: Record<string, unknown> = {}, as = token): Promise<any> {
  const i = {
    workspaceId,
    kind: 'DATABASE',
    name: `db-${rand(4)}`,
    config: { host: 'db.internal', port: 5432, database: 'app' },
    secret: secret(`pw-${rand()}`),
    ...extra,
  };
  return ok<any>(await gql(CREATE_CONN, { i }, as)).createConnector;
}

/** Every text-like column of every table (as the superuser: RLS does not hide anything) that contains `needle`. */
async function foundInDatabase(needle: string): Promise<string[]> {
  const columns = await db.admin.query(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea', 'ARRAY')`,
  );
  const hits: string[] = [];
  for (const c of columns.rows) {
    const expr = c.data_type === 'bytea' ? `encode("${c.column_name}", 'escape')` : `"${c.column_name}"::text`;
    const found = await db.admin.query(
      `SELECT count(*)::int AS n FROM "${c.table_name}" WHERE strpos(${expr}, $1) > 0`,
      [needle],
    );
    if (found.rows[0].n > 0) hits.push(`${c.table_name}.${c.column_name}`);
  }
  return hits;
}

function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: db.url, DATA_DIR: gw.dataDir, NODE_ENV: 'test', ...extra };
}

beforeAll(async () => {
  token = gw.token(orgA.id);
});

describe('the keyring (compiled module)', () => {
  const keySet = { current: '1', keys: { '1': crypto.randomBytes(32).toString('base64') } };
  const binding = { table: 'connectors', orgId: crypto.randomUUID(), rowId: crypto.randomUUID(), field: 'secret' };

  test('seals with AES-256-GCM into v1.<version>.<nonce>.<ct>.<tag>, a fresh nonce each time, and opens only at its binding', () => {
    const keyring = keyringModule.Keyring.fromKeySet(keySet);
    const sealed: string = keyring.seal('hunter2-secret', binding);
    const parts = sealed.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[0]).toBe('v1');
    expect(parts[1]).toBe('1');
    expect(Buffer.from(parts[2], 'base64url')).toHaveLength(12);
    expect(Buffer.from(parts[4], 'base64url')).toHaveLength(16);
    expect(sealed).not.toContain('hunter2');
    expect(keyring.seal('hunter2-secret', binding)).not.toBe(sealed);
    expect(keyring.open(sealed, binding)).toBe('hunter2-secret');
    for (const moved of [
      { ...binding, table: 'environments' },
      { ...binding, orgId: crypto.randomUUID() },
      { ...binding, rowId: crypto.randomUUID() },
      { ...binding, field: 'credentials' },
    ]) {
      expect(() => keyring.open(sealed, moved)).toThrow(keyringModule.SecretUnreadableError);
    }
    const tampered = [...parts.slice(0, 3), Buffer.from('x'.repeat(14)).toString('base64url'), parts[4]].join('.');
    expect(() => keyring.open(tampered, binding)).toThrow(/failed authentication/);
    expect(() => keyring.open('not sealed', binding)).toThrow(/malformed/);
    // Another key set of the same version name cannot open it.
    const other = keyringModule.Keyring.fromKeySet({
      current: '1',
      keys: { '1': crypto.randomBytes(32).toString('base64') },
    });
    expect(() => other.open(sealed, binding)).toThrow(/failed authentication/);
  });

  test('old versions stay decryptable after a new current version; an unknown version is named', () => {
    const v1 = keyringModule.Keyring.fromKeySet(keySet);
    const sealed = v1.seal('value', binding);
    const v2 = keyringModule.Keyring.fromKeySet({
      current: '2',
      keys: { ...keySet.keys, '2': crypto.randomBytes(32).toString('base64') },
    });
    expect(v2.open(sealed, binding)).toBe('value');
    expect(keyringModule.Keyring.versionOf(v2.seal('value', binding))).toBe('2');
    const only2 = keyringModule.Keyring.fromKeySet({
      current: '2',
      keys: { '2': crypto.randomBytes(32).toString('base64') },
    });
    expect(() => only2.open(sealed, binding)).toThrow(/key version 1, which is not configured/);
  });

  test('the fingerprint is a keyed HMAC (12 hex) bound to its row: stable per value, key and row, never a plain hash', () => {
    const keyring = keyringModule.Keyring.fromKeySet(keySet);
    const fp: string = keyring.fingerprint('abc', binding);
    expect(fp).toMatch(/^[0-9a-f]{12}$/);
    expect(keyring.fingerprint('abc', binding)).toBe(fp);
    expect(keyring.fingerprint('abd', binding)).not.toBe(fp);
    expect(crypto.createHash('sha256').update('abc').digest('hex')).not.toContain(fp);
    const otherKey = keyringModule.Keyring.fromKeySet({
      current: '1',
      keys: { '1': crypto.randomBytes(32).toString('base64') },
    });
    expect(otherKey.fingerprint('abc', binding)).not.toBe(fp);
    // The same secret in another row or another organization does not show the same fingerprint, so
    // fingerprints cannot be compared across rows to confirm guesses.
    expect(keyring.fingerprint('abc', { ...binding, rowId: crypto.randomUUID() })).not.toBe(fp);
    expect(keyring.fingerprint('abc', { ...binding, orgId: crypto.randomUUID() })).not.toBe(fp);
  });

  test('configuration: ENCRYPTION_KEYS is required in production and checked without echoing keys', () => {
    const { loadConfig, ConfigError } = configModule;
    const base = { NODE_ENV: 'production', JWT_PRIVATE_KEY: 'x' };
    expect(() => loadConfig(base)).toThrow(ConfigError);
    expect(() => loadConfig(base)).toThrow(/ENCRYPTION_KEYS is required when NODE_ENV=production/);
    expect(() => loadConfig({ ...base, ENCRYPTION_KEYS: 'not json' })).toThrow(/ENCRYPTION_KEYS is not valid JSON/);
    const short = Buffer.from('sixteen-byte-key').toString('base64');
    expect(() => loadConfig({ ...base, ENCRYPTION_KEYS: JSON.stringify({ '1': short }) })).toThrow(/must be 32 bytes/);
    try {
      loadConfig({ ...base, ENCRYPTION_KEYS: JSON.stringify({ '1': short }) });
    } catch (error) {
      expect((error as Error).message).not.toContain(short);
    }
    const two = { '1': crypto.randomBytes(32).toString('base64'), '2': crypto.randomBytes(32).toString('base64') };
    expect(() => loadConfig({ ...base, ENCRYPTION_KEYS: JSON.stringify(two) })).toThrow(
      /ENCRYPTION_KEY_CURRENT must name/,
    );
    expect(() => loadConfig({ ...base, ENCRYPTION_KEYS: JSON.stringify(two), ENCRYPTION_KEY_CURRENT: '3' })).toThrow(
      /"3" is not among the keys/,
    );
    expect(
      loadConfig({ ...base, ENCRYPTION_KEYS: JSON.stringify(two), ENCRYPTION_KEY_CURRENT: '2' }).encryption,
    ).toEqual({ current: '2', keys: two });
    expect(loadConfig({ NODE_ENV: 'development' }).encryption).toBeUndefined();
  });

  test('the gateway refuses to start in production without ENCRYPTION_KEYS', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        JWT_PRIVATE_KEY: gw.key.privatePem,
        ENCRYPTION_KEYS: '',
        DATA_DIR: gw.dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('ENCRYPTION_KEYS is required when NODE_ENV=production');
  });

  test('in development the gateway generated its key file under DATA_DIR/keys with mode 0600', () => {
    const file = path.join(gw.dataDir, 'keys', 'encryption-keys.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const keys = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(keys.current).toBe('1');
    expect(Buffer.from(keys.keys['1'], 'base64')).toHaveLength(32);
  });
});

describe('environment cloud credentials', () => {
  let ws: string;
  let cloudrun: string;
  let aws: string;
  let localhost: string;
  beforeAll(async () => {
    ws = await newWorkspace();
    [cloudrun, aws, localhost] = [
      await newEnvironment(ws, 'cloudrun'),
      await newEnvironment(ws, 'aws'),
      await newEnvironment(ws, 'localhost'),
    ];
  });

  test('set, read back as a status only, replace and clear', async () => {
    expect(ok<any>(await gql(ENV_CREDS, { id: cloudrun })).environment.credentials).toEqual({
      isSet: false,
      provider: null,
      updatedAt: null,
      fingerprint: null,
      readable: true,
    });
    const first = cloudRunCredentials();
    const set = ok<any>(await gql(SET_CREDS, { id: cloudrun, i: { cloudrun: first } })).setEnvironmentCredentials
      .credentials;
    expect(set).toMatchObject({ isSet: true, provider: 'CLOUDRUN', readable: true });
    expect(set.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(Date.parse(set.updatedAt)).not.toBeNaN();
    expect(ok<any>(await gql(ENV_CREDS, { id: cloudrun })).environment.credentials).toEqual(set);

    // The same value again: the same fingerprint (under the same key), a new ciphertext.
    const sealedBefore = (
      await db.admin.query('SELECT credentials_sealed FROM environments WHERE id = $1', [uuidOf(cloudrun)])
    ).rows[0].credentials_sealed;
    const again = ok<any>(await gql(SET_CREDS, { id: cloudrun, i: { cloudrun: first } })).setEnvironmentCredentials
      .credentials;
    expect(again.fingerprint).toBe(set.fingerprint);
    const sealedAfter = (
      await db.admin.query('SELECT credentials_sealed FROM environments WHERE id = $1', [uuidOf(cloudrun)])
    ).rows[0].credentials_sealed;
    expect(sealedAfter).not.toBe(sealedBefore);
    expect(sealedAfter).toMatch(/^v1\.1\./);

    const replaced = ok<any>(await gql(SET_CREDS, { id: cloudrun, i: { cloudrun: cloudRunCredentials() } }))
      .setEnvironmentCredentials.credentials;
    expect(replaced.fingerprint).not.toBe(set.fingerprint);

    const awsSet = ok<any>(
      await gql(SET_CREDS, {
        id: aws,
        i: { aws: { ...awsCredentials(), roleArn: 'arn:aws:iam::123456789012:role/deployer' } },
      }),
    ).setEnvironmentCredentials.credentials;
    expect(awsSet).toMatchObject({ isSet: true, provider: 'AWS', readable: true });

    const cleared = ok<any>(await gql(CLEAR_CREDS, { id: aws })).clearEnvironmentCredentials.credentials;
    expect(cleared).toEqual({ isSet: false, provider: null, updatedAt: null, fingerprint: null, readable: true });
    const row = (
      await db.admin.query(
        'SELECT credentials_provider, credentials_sealed, credentials_updated_at FROM environments WHERE id = $1',
        [uuidOf(aws)],
      )
    ).rows[0];
    expect(row).toEqual({ credentials_provider: null, credentials_sealed: null, credentials_updated_at: null });
    // Clearing twice is fine; put them back for the later checks.
    ok(await gql(CLEAR_CREDS, { id: aws }));
    ok(await gql(SET_CREDS, { id: aws, i: { aws: awsCredentials() } }));
  });

  test('the credentials must be exactly the ones of the deployment host', async () => {
    await refused(SET_CREDS, { id: localhost, i: { cloudrun: cloudRunCredentials() } }, 'BAD_USER_INPUT', ['cloudrun']);
    await refused(SET_CREDS, { id: localhost, i: {} }, 'BAD_USER_INPUT', ['input']);
    await refused(SET_CREDS, { id: cloudrun, i: { aws: awsCredentials() } }, 'BAD_USER_INPUT', ['aws', 'cloudrun']);
    await refused(SET_CREDS, { id: cloudrun, i: {} }, 'BAD_USER_INPUT', ['cloudrun']);
    await refused(SET_CREDS, { id: cloudrun, i: { cloudrun: null } }, 'BAD_USER_INPUT', ['cloudrun']);
    await refused(
      SET_CREDS,
      { id: aws, i: { aws: awsCredentials(), cloudrun: cloudRunCredentials() } },
      'BAD_USER_INPUT',
      ['cloudrun'],
    );
  });

  test('provider shapes are validated, naming each bad field and never echoing a value', async () => {
    const good = cloudRunCredentials();
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ ...good, serviceAccountJson: secret(`not json ${rand()}`) }, ['cloudrun.serviceAccountJson']],
      [
        {
          ...good,
          serviceAccountJson: JSON.stringify({
            type: 'authorized_user',
            client_email: 'a@b.co',
            private_key: `-----BEGIN PRIVATE KEY-----${secret(rand())}`,
          }),
        },
        ['cloudrun.serviceAccountJson'],
      ],
      [
        { ...good, serviceAccountJson: JSON.stringify({ type: 'service_account', client_email: 'a@b.co' }) },
        ['cloudrun.serviceAccountJson'],
      ],
      [{ ...good, serviceAccountJson: JSON.stringify([1]) }, ['cloudrun.serviceAccountJson']],
      [{ ...good, projectId: 'Bad_Project', region: 'nowhere' }, ['cloudrun.projectId', 'cloudrun.region']],
    ];
    for (const [cloudrunInput, fields] of cases) {
      const response = await refused(
        SET_CREDS,
        { id: cloudrun, i: { cloudrun: cloudrunInput } },
        'BAD_USER_INPUT',
        fields,
      );
      expect(JSON.stringify(response.body)).not.toContain(String(cloudrunInput.serviceAccountJson).slice(0, 20));
    }
    const awsGood = awsCredentials();
    await refused(
      SET_CREDS,
      {
        id: aws,
        i: {
          aws: {
            ...awsGood,
            accessKeyId: 'XKIA0000',
            secretAccessKey: secret(`short-${rand(4)}`),
            region: 'mars-1',
            roleArn: 'arn:aws:s3:::bucket',
          },
        },
      },
      'BAD_USER_INPUT',
      ['aws.accessKeyId', 'aws.secretAccessKey', 'aws.region', 'aws.roleArn'],
    );
    await refused(SET_CREDS, { id: gid('Environment', crypto.randomUUID()), i: { aws: awsGood } }, 'NOT_FOUND');
    await refused(SET_CREDS, { id: 'nope', i: { aws: awsGood } }, 'NOT_FOUND');
    await refused(CLEAR_CREDS, { id: gid('Environment', crypto.randomUUID()) }, 'NOT_FOUND');
  });

  test('the deployment host cannot change under credentials (they are provider-specific)', async () => {
    await refused(
      `mutation($id: ID!) { updateEnvironment(id: $id, input: { deploymentHost: AWS }) { id } }`,
      { id: cloudrun },
      'BAD_USER_INPUT',
      ['deploymentHost'],
    );
    ok(
      await gql(
        `mutation($id: ID!) { updateEnvironment(id: $id, input: { deploymentHost: CLOUDRUN, name: "renamed" }) { id } }`,
        { id: cloudrun },
      ),
    );
  });
});

describe('connectors', () => {
  let ws: string;
  beforeAll(async () => {
    ws = await newWorkspace();
  });

  test('create, read (by id and in the workspace), update, clear the secret, delete', async () => {
    const created = await newConnector(ws, { name: 'orders-db' });
    expect(created).toMatchObject({
      workspaceId: ws,
      kind: 'DATABASE',
      name: 'orders-db',
      config: { host: 'db.internal', port: 5432, database: 'app' },
      workspace: { id: ws },
    });
    expect(created.secret).toMatchObject({ isSet: true, provider: null, readable: true });
    expect(created.secret.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(ok<any>(await gql(GET_CONN, { id: created.id })).connector).toEqual(created);

    const api = ok<any>(
      await gql(CREATE_CONN, {
        i: { workspaceId: ws, kind: 'API', name: 'stripe', config: { baseUrl: 'https://api.stripe.com' } },
      }),
    ).createConnector;
    expect(api.secret).toEqual({ isSet: false, provider: null, updatedAt: null, fingerprint: null, readable: true });
    expect(api.config).toEqual({ baseUrl: 'https://api.stripe.com' });

    const list = ok<any>(
      await gql(
        `query($id: ID!) { workspace(id: $id) { connectors(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { id name secret { isSet } } } } } }`,
        { id: ws },
      ),
    ).workspace.connectors;
    expect(list).toMatchObject({
      totalCount: 2,
      pageInfo: { hasNextPage: true },
      edges: [{ node: { id: created.id, name: 'orders-db', secret: { isSet: true } } }],
    });
    const next = ok<any>(
      await gql(
        `query($id: ID!, $after: String) { workspace(id: $id) { connectors(first: 5, after: $after) { edges { node { id } } } } }`,
        { id: ws, after: list.pageInfo.endCursor },
      ),
    ).workspace.connectors;
    expect(next.edges.map((e: any) => e.node.id)).toEqual([api.id]);

    const renamed = ok<any>(
      await gql(UPDATE_CONN, { id: created.id, i: { name: 'orders', config: { host: 'db2.internal' } } }),
    ).updateConnector;
    expect(renamed).toMatchObject({ name: 'orders', config: { host: 'db2.internal' } });
    expect(renamed.secret).toEqual(created.secret); // untouched

    const rotated = ok<any>(
      await gql(UPDATE_CONN, { id: created.id, i: { secret: secret(`new-${rand()}`) } }),
    ).updateConnector;
    expect(rotated.secret.isSet).toBe(true);
    expect(rotated.secret.fingerprint).not.toBe(created.secret.fingerprint);

    const withToken = ok<any>(
      await gql(UPDATE_CONN, { id: api.id, i: { secret: secret(`sk_live_${rand()}`) } }),
    ).updateConnector;
    expect(withToken.secret).toMatchObject({ isSet: true, readable: true });

    const cleared = ok<any>(await gql(CLEAR_CONN, { id: created.id })).clearConnectorSecret;
    expect(cleared.secret).toEqual({
      isSet: false,
      provider: null,
      updatedAt: null,
      fingerprint: null,
      readable: true,
    });
    expect(
      (
        await db.admin.query('SELECT secret_sealed, secret_updated_at FROM connectors WHERE id = $1', [
          uuidOf(created.id),
        ])
      ).rows[0],
    ).toEqual({ secret_sealed: null, secret_updated_at: null });

    expect(ok<any>(await gql(DELETE_CONN, { id: created.id })).deleteConnector).toBe(created.id);
    await refused(GET_CONN, { id: created.id }, 'NOT_FOUND');
    await refused(DELETE_CONN, { id: created.id }, 'NOT_FOUND');
  });

  test('bad inputs are refused, naming the field, and change nothing', async () => {
    const existing = await newConnector(ws, { name: 'taken' });
    const base = { workspaceId: ws, kind: 'DATABASE', name: 'x' };
    const cases: Array<[Record<string, unknown>, string[], RegExp?]> = [
      [
        { ...base, config: { host: 'h', password: secret(`pw-${rand()}`) } },
        ['config'],
        /config\.password looks like a secret.*`secret`/,
      ],
      [
        { ...base, config: { options: { ssl: true, apiKey: secret(`k-${rand()}`) } } },
        ['config'],
        /config\.options\.apiKey/,
      ],
      [{ ...base, config: { auth_token: secret(`t-${rand()}`) } }, ['config']],
      [{ ...base, config: { key: secret(`k-${rand()}`) } }, ['config']],
      [
        { ...base, config: { url: `postgres://app:${secret(`pw${rand()}`)}@db:5432/app` } },
        ['config'],
        /config\.url looks like a secret/,
      ],
      // Credentials hidden in strings and name/value pairs, not only in key names.
      [{ ...base, config: { url: `postgres://db/app?password=${secret(`pw${rand()}`)}` } }, ['config'], /config\.url/],
      [{ ...base, config: { dsn: `host=db user=app password=${secret(`pw${rand()}`)}` } }, ['config'], /config\.dsn/],
      [
        { ...base, kind: 'API', config: { baseUrl: `https://api.example.test/v1?api_key=${secret(`k${rand()}`)}` } },
        ['config'],
        /config\.baseUrl/,
      ],
      [
        {
          ...base,
          kind: 'API',
          config: { headers: [{ name: 'Authorization', value: `Bearer ${secret(`b${rand()}`)}` }] },
        },
        ['config'],
        /config\.headers\[0\]\.name/,
      ],
      [{ ...base, config: { blob: 'x'.repeat(17 * 1024) } }, ['config']],
      [{ ...base, config: [1, 2] }, []], // refused by the JSONObject scalar while coercing variables
      [{ ...base, secret: '' }, ['secret']],
      [{ ...base, secret: 'x'.repeat(8193) }, ['secret']],
      [{ ...base, name: '  ' }, ['name']],
      [{ ...base, kind: 'ftp' }, []], // refused by the enum while coercing variables
      [{ ...base, name: 'taken' }, ['name']],
    ];
    for (const [input, fields, message] of cases) {
      // Every case: the error, the named fields, and a database exactly as it was.
      const response = await refused(CREATE_CONN, { i: input }, 'BAD_USER_INPUT', fields.length ? fields : undefined);
      if (message) expect(JSON.stringify(response.body.errors![0].extensions.fields)).toMatch(message);
    }
    await refused(CREATE_CONN, { i: { ...base, workspaceId: 'nope' } }, 'NOT_FOUND');
    await refused(CREATE_CONN, { i: { ...base, workspaceId: gid('Workspace', crypto.randomUUID()) } }, 'NOT_FOUND');
    await refused(UPDATE_CONN, { id: existing.id, i: { name: null } }, 'BAD_USER_INPUT', ['name']);
    await refused(UPDATE_CONN, { id: existing.id, i: { secret: null } }, 'BAD_USER_INPUT', ['secret']);
    await refused(UPDATE_CONN, { id: existing.id, i: { config: { token: secret(`t-${rand()}`) } } }, 'BAD_USER_INPUT', [
      'config',
    ]);
    const other = await newConnector(ws);
    await refused(UPDATE_CONN, { id: other.id, i: { name: 'taken' } }, 'BAD_USER_INPUT', ['name']);
    await refused(UPDATE_CONN, { id: gid('Connector', crypto.randomUUID()), i: { name: 'y' } }, 'NOT_FOUND');
    await refused(CLEAR_CONN, { id: 'nope' }, 'NOT_FOUND');
    const before = await snapshot(db.admin);
    // None of the refused creations left a row.
    expect(before.connectors.filter((c: any) => c.workspace_id === ws && c.name === 'x')).toEqual([]);
  });
});

describe('who may do what', () => {
  let ws: string;
  let env: string;
  let connector: any;
  const user = (sub: string, scopes = ALL_SCOPES) => gw.token(orgA.id, scopes, { sub });
  beforeAll(async () => {
    ws = await newWorkspace();
    env = await newEnvironment(ws, 'aws');
    connector = await newConnector(ws);
    for (const [sub, wsRole] of [
      ['dev-1', 'developer'],
      ['viewer-1', 'viewer'],
      ['outsider-1', null],
    ] as const) {
      ok(
        await gql(`mutation($i: AddMemberInput!) { addMember(input: $i) { userId } }`, {
          i: { userId: sub, email: `${sub}@example.test`, role: 'MEMBER' },
        }),
      );
      if (wsRole) {
        ok(
          await gql(
            `mutation($w: ID!, $u: ID!, $r: WorkspaceRole!) { setWorkspaceMember(workspaceId: $w, userId: $u, role: $r) { role } }`,
            { w: ws, u: sub, r: wsRole.toUpperCase() },
          ),
        );
      }
    }
  });

  test('credentials need the workspace admin role and workspaces:write', async () => {
    await refused(SET_CREDS, { id: env, i: { aws: awsCredentials() } }, 'FORBIDDEN', undefined, user('dev-1'));
    await refused(CLEAR_CREDS, { id: env }, 'FORBIDDEN', undefined, user('dev-1'));
    await refused(SET_CREDS, { id: env, i: { aws: awsCredentials() } }, 'NOT_FOUND', undefined, user('outsider-1'));
    await refused(
      SET_CREDS,
      { id: env, i: { aws: awsCredentials() } },
      'FORBIDDEN',
      undefined,
      gw.token(orgA.id, ['workspaces:read']),
    );
    ok(
      await gql(
        `mutation($w: ID!, $u: ID!) { setWorkspaceMember(workspaceId: $w, userId: $u, role: ADMIN) { role } }`,
        { w: ws, u: 'dev-1' },
      ),
    );
    ok(await gql(SET_CREDS, { id: env, i: { aws: awsCredentials() } }, user('dev-1')));
    ok(
      await gql(
        `mutation($w: ID!, $u: ID!) { setWorkspaceMember(workspaceId: $w, userId: $u, role: DEVELOPER) { role } }`,
        { w: ws, u: 'dev-1' },
      ),
    );
    // A workspace viewer reads the status, never the value.
    expect(ok<any>(await gql(ENV_CREDS, { id: env }, user('viewer-1'))).environment.credentials.isSet).toBe(true);
  });

  test('connector changes need the developer role and connectors:write; reads need workspace visibility', async () => {
    const created = ok<any>(
      await gql(
        CREATE_CONN,
        { i: { workspaceId: ws, kind: 'API', name: `by-dev-${rand(3)}`, secret: secret(`t-${rand()}`) } },
        user('dev-1'),
      ),
    ).createConnector;
    ok(await gql(UPDATE_CONN, { id: created.id, i: { secret: secret(`t-${rand()}`) } }, user('dev-1')));
    ok(await gql(CLEAR_CONN, { id: created.id }, user('dev-1')));
    ok(await gql(DELETE_CONN, { id: created.id }, user('dev-1')));

    await refused(
      CREATE_CONN,
      { i: { workspaceId: ws, kind: 'API', name: 'v', secret: 's' } },
      'FORBIDDEN',
      undefined,
      user('viewer-1'),
    );
    await refused(UPDATE_CONN, { id: connector.id, i: { secret: 's' } }, 'FORBIDDEN', undefined, user('viewer-1'));
    await refused(CLEAR_CONN, { id: connector.id }, 'FORBIDDEN', undefined, user('viewer-1'));
    await refused(DELETE_CONN, { id: connector.id }, 'FORBIDDEN', undefined, user('viewer-1'));
    expect(ok<any>(await gql(GET_CONN, { id: connector.id }, user('viewer-1'))).connector.secret.isSet).toBe(true);

    await refused(GET_CONN, { id: connector.id }, 'NOT_FOUND', undefined, user('outsider-1'));
    await refused(DELETE_CONN, { id: connector.id }, 'NOT_FOUND', undefined, user('outsider-1'));
    await refused(
      CREATE_CONN,
      { i: { workspaceId: ws, kind: 'API', name: 'o' } },
      'NOT_FOUND',
      undefined,
      user('outsider-1'),
    );

    const noScope = ALL_SCOPES.filter((s) => s !== 'connectors:write');
    await refused(
      CREATE_CONN,
      { i: { workspaceId: ws, kind: 'API', name: 'n' } },
      'FORBIDDEN',
      undefined,
      user('dev-1', noScope),
    );
    await refused(DELETE_CONN, { id: connector.id }, 'FORBIDDEN', undefined, gw.token(orgA.id, noScope));
    await refused(GET_CONN, { id: connector.id }, 'FORBIDDEN', undefined, gw.token(orgA.id, ['org:read']));
  });
});

describe("org B reaches nothing of org A's", () => {
  test('connectors and credentials of A are NOT_FOUND for B, and B lists only its own', async () => {
    const ws = await newWorkspace();
    const env = await newEnvironment(ws, 'aws');
    ok(await gql(SET_CREDS, { id: env, i: { aws: awsCredentials() } }));
    const connector = await newConnector(ws);
    const tokenB = gw.token(orgB.id);
    const wsB = await newWorkspace(tokenB);
    // The same name as org A's connector: names are unique per workspace, so this must succeed.
    const connectorB = await newConnector(wsB, { name: connector.name }, tokenB);
    expect(connectorB.name).toBe(connector.name);

    for (const [query, variables] of [
      [GET_CONN, { id: connector.id }],
      [UPDATE_CONN, { id: connector.id, i: { name: 'stolen', secret: 'x' } }],
      [CLEAR_CONN, { id: connector.id }],
      [DELETE_CONN, { id: connector.id }],
      [CREATE_CONN, { i: { workspaceId: ws, kind: 'API', name: 'smuggled', secret: 'x' } }],
      [SET_CREDS, { id: env, i: { aws: awsCredentials() } }],
      [CLEAR_CREDS, { id: env }],
      [ENV_CREDS, { id: env }],
      [`query($id: ID!) { workspace(id: $id) { connectors { totalCount } } }`, { id: ws }],
    ] as const) {
      const response = await refused(query, variables as Record<string, unknown>, 'NOT_FOUND', undefined, tokenB);
      expect(response.body.data ? Object.values(response.body.data)[0] : null).toBeNull();
    }
    const listB = ok<any>(
      await gql(
        `query($id: ID!) { workspace(id: $id) { connectors { totalCount edges { node { id } } } } }`,
        { id: wsB },
        tokenB,
      ),
    ).workspace.connectors;
    expect(listB).toEqual({ totalCount: 1, edges: [{ node: { id: connectorB.id } }] });
  });
});

describe('key rotation', () => {
  test('keys rotate + keys reencrypt move every sealed value to the new version; a running and a restarted gateway read them', async () => {
    const ws = await newWorkspace();
    const conn = await newConnector(ws);
    const before = ok<any>(await gql(GET_CONN, { id: conn.id })).connector.secret;

    const rotated = await cli(['keys', 'rotate', '--json'], cliEnv());
    expect(rotated.code).toBe(0);
    expect(rotated.json).toMatchObject({
      source: 'development key file',
      previousVersion: '1',
      newVersion: '2',
      versions: ['1', '2'],
    });
    expect(fs.statSync(path.join(gw.dataDir, 'keys', 'encryption-keys.json')).mode & 0o777).toBe(0o600);

    const sealedCount = async () => {
      const rows = await db.admin.query(
        `SELECT credentials_sealed AS s FROM environments WHERE credentials_sealed IS NOT NULL UNION ALL SELECT secret_sealed FROM connectors WHERE secret_sealed IS NOT NULL`,
      );
      return rows.rows.map((r) => r.s as string);
    };
    const all = await sealedCount();
    expect(all.length).toBeGreaterThan(5);

    const reencrypted = await cli(['keys', 'reencrypt', '--json'], cliEnv());
    expect({ code: reencrypted.code, stderr: reencrypted.stderr }).toEqual({ code: 0, stderr: '' });
    const { tables, currentVersion, unreadable } = reencrypted.json;
    expect(currentVersion).toBe('2');
    expect(unreadable).toEqual([]);
    expect(tables.environments.sealed + tables.connectors.sealed).toBe(all.length);
    expect(tables.environments.reencrypted + tables.connectors.reencrypted).toBe(all.length);
    const after = await sealedCount();
    expect(after.every((s) => s.startsWith('v1.2.'))).toBe(true);

    // Idempotent: nothing left to do.
    const again = await cli(['keys', 'reencrypt', '--json'], cliEnv());
    expect(again.json.tables.connectors.reencrypted).toBe(0);
    expect(again.json.tables.connectors.alreadyCurrent).toBe(tables.connectors.sealed);

    // The running gateway picked the new key up; the fingerprint is keyed by the current key.
    const now = ok<any>(await gql(GET_CONN, { id: conn.id })).connector.secret;
    expect(now).toMatchObject({ isSet: true, readable: true, updatedAt: before.updatedAt });
    expect(now.fingerprint).not.toBe(before.fingerprint);

    // A restart on the same DATA_DIR reads everything, and new values are sealed under version 2.
    await gw.stop();
    earlierLogs.push(...gw.logs);
    await restartGateway(); // same database, DATA_DIR, signing key and env ({ LOG_LEVEL: 'trace' })
    const statuses = ok<any>(
      await gql(
        `query($id: ID!) { workspace(id: $id) { connectors { edges { node { secret { isSet readable fingerprint } } } } } }`,
        { id: ws },
      ),
    ).workspace.connectors.edges;
    expect(statuses).toEqual([{ node: { secret: { isSet: true, readable: true, fingerprint: now.fingerprint } } }]);
    const envs = await db.admin.query(`SELECT id FROM environments WHERE credentials_sealed IS NOT NULL`);
    for (const { id } of envs.rows) {
      expect(ok<any>(await gql(ENV_CREDS, { id: gid('Environment', id) })).environment.credentials).toMatchObject({
        isSet: true,
        readable: true,
      });
    }
    const fresh = await newConnector(ws);
    expect(
      (await db.admin.query('SELECT secret_sealed FROM connectors WHERE id = $1', [uuidOf(fresh.id)])).rows[0]
        .secret_sealed,
    ).toMatch(/^v1\.2\./);
  });

  test('with ENCRYPTION_KEYS, keys rotate prints the new key set for the operator to install', async () => {
    const old = crypto.randomBytes(32).toString('base64');
    const result = await cli(['keys', 'rotate', '--json'], {
      NODE_ENV: 'test',
      ENCRYPTION_KEYS: JSON.stringify({ '7': old }),
      DATA_DIR: gw.dataDir,
    });
    expect(result.code).toBe(0);
    expect(result.json).toMatchObject({
      source: 'ENCRYPTION_KEYS',
      previousVersion: '7',
      newVersion: '8',
      versions: ['7', '8'],
    });
    const installed = JSON.parse(result.json.install.ENCRYPTION_KEYS);
    expect(installed['7']).toBe(old);
    expect(Buffer.from(installed['8'], 'base64')).toHaveLength(32);
    expect(result.json.install.ENCRYPTION_KEY_CURRENT).toBe('8');
    // The printed set is a valid configuration.
    expect(
      configModule.loadConfig({ NODE_ENV: 'production', JWT_PRIVATE_KEY: 'x', ...result.json.install }).encryption
        .current,
    ).toBe('8');
  });
});

describe('a ciphertext moved to another row does not open', () => {
  test('copied to another connector (same org and another org) or onto another environment: unreadable, no plaintext anywhere', async () => {
    const ws = await newWorkspace();
    const source = await newConnector(ws);
    const sameOrg = await newConnector(ws);
    const tokenB = gw.token(orgB.id);
    const otherOrg = await newConnector(await newWorkspace(tokenB), {}, tokenB);
    const envA = await newEnvironment(ws, 'aws');
    const envB = await newEnvironment(ws, 'aws');
    ok(await gql(SET_CREDS, { id: envA, i: { aws: awsCredentials() } }));
    ok(await gql(SET_CREDS, { id: envB, i: { aws: awsCredentials() } }));

    const sealed = (await db.admin.query('SELECT secret_sealed FROM connectors WHERE id = $1', [uuidOf(source.id)]))
      .rows[0].secret_sealed;
    await db.admin.query('UPDATE connectors SET secret_sealed = $1 WHERE id = ANY($2::uuid[])', [
      sealed,
      [uuidOf(sameOrg.id), uuidOf(otherOrg.id)],
    ]);
    await db.admin.query(
      `UPDATE environments SET credentials_sealed = (SELECT credentials_sealed FROM environments WHERE id = $1) WHERE id = $2`,
      [uuidOf(envA), uuidOf(envB)],
    );
    const logsBefore = gw.logs.length;

    expect(ok<any>(await gql(GET_CONN, { id: source.id })).connector.secret).toMatchObject({
      isSet: true,
      readable: true,
    });
    expect(ok<any>(await gql(GET_CONN, { id: sameOrg.id })).connector.secret).toMatchObject({
      isSet: true,
      readable: false,
      fingerprint: null,
    });
    expect(ok<any>(await gql(GET_CONN, { id: otherOrg.id }, tokenB)).connector.secret).toMatchObject({
      isSet: true,
      readable: false,
      fingerprint: null,
    });
    expect(ok<any>(await gql(ENV_CREDS, { id: envB })).environment.credentials).toMatchObject({
      isSet: true,
      provider: 'AWS',
      readable: false,
      fingerprint: null,
    });
    expect(ok<any>(await gql(ENV_CREDS, { id: envA })).environment.credentials).toMatchObject({
      isSet: true,
      readable: true,
    });

    const warnings = gw.logs.slice(logsBefore).filter((l) => l.includes('sealed secret cannot be opened'));
    expect(warnings.length).toBe(3);
    expect(warnings.join('\n')).toContain(uuidOf(sameOrg.id)); // logs name stored ids
    expect(warnings.join('\n')).toContain('authentication_failed');

    // Re-encryption refuses to launder them: they are reported and left unchanged.
    const reencrypted = await cli(['keys', 'reencrypt', '--json'], cliEnv());
    expect(reencrypted.code).toBe(3);
    expect(reencrypted.stdout).toContain(uuidOf(sameOrg.id));
    expect(
      JSON.parse(reencrypted.stdout)
        .unreadable.map((u: any) => u.id)
        .sort(),
    ).toEqual([sameOrg.id, otherOrg.id, envB].map(uuidOf).sort()); // the CLI names stored ids

    // Setting the secret again repairs the row.
    ok(await gql(UPDATE_CONN, { id: sameOrg.id, i: { secret: secret(`pw-${rand()}`) } }));
    expect(ok<any>(await gql(GET_CONN, { id: sameOrg.id })).connector.secret.readable).toBe(true);
    ok(await gql(CLEAR_CONN, { id: otherOrg.id }, tokenB));
    ok(await gql(CLEAR_CREDS, { id: envB }));
  });
});

describe('no plaintext anywhere', () => {
  test('no secret the tests sent is in any column of any table, any response, or the gateway logs (SQL traced)', async () => {
    expect(plaintexts.length).toBeGreaterThan(20);
    expect(gw.logs.some((l) => l.includes('"msg":"sql"'))).toBe(true); // trace level: SQL statements are logged
    const logs = [...earlierLogs, ...gw.logs].join('\n');
    const bodies = responses.join('\n');
    for (const value of plaintexts) {
      const probe = value;
      expect({ value: probe, tables: await foundInDatabase(probe) }).toEqual({ value: probe, tables: [] });
      expect(bodies.includes(probe)).toBe(false);
      expect(logs.includes(probe)).toBe(false);
    }
  });
});
