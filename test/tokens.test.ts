import crypto from 'node:crypto';
import http from 'node:http';
import { createTestDatabase, type TestDatabase } from './support/database';
import { cli, startGateway, type RunningGateway } from './support/gateway';
import { createOrg, gid, ok, type Org } from './support/fixtures';
import { ALL_SCOPES } from './support/scopes';
import {
  AUDIENCE,
  ISSUER,
  claimsFor,
  generateKeyPair,
  now,
  signEs256,
  signHs256,
  signRs256,
  unsigned,
} from './support/tokens';

let db: TestDatabase;
let gw: RunningGateway;
let org: Org;
let idp: http.Server;
const idpKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const IDP_ISSUER = 'https://idp.example.test/';
const IDP_AUDIENCE = 'manifest-api';

beforeAll(async () => {
  db = await createTestDatabase();
  // A stand-in identity provider: serves its public key as a JWKS, like Auth0/Okta/WorkOS do.
  const jwk = { ...idpKey.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  idp = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const idpUrl = `http://127.0.0.1:${(idp.address() as { port: number }).port}/.well-known/jwks.json`;
  gw = await startGateway({
    databaseUrl: db.url,
    env: { AUTH_JWKS_URL: idpUrl, AUTH_ISSUER: IDP_ISSUER, AUTH_AUDIENCE: IDP_AUDIENCE },
  });
  org = await createOrg(db, 'tok');
});
afterAll(async () => {
  await gw?.stop();
  await db?.drop();
  idp?.close();
});

const QUERY = `{ organization { id slug } }`;

async function expectRefused(authorization: string | undefined, reason?: RegExp) {
  const response = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
    body: JSON.stringify({ query: QUERY }),
  });
  const body = (await response.json()) as any;
  expect(response.status).toBe(401);
  expect(body.errors.map((e: any) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
  expect(body.data ?? null).toBeNull();
  if (reason) expect(body.errors[0].message).toMatch(reason);
}

describe('tokens the gateway refuses, with UNAUTHENTICATED and no data', () => {
  test('no token at all', async () => {
    await expectRefused(undefined, /Authentication required/);
  });
  test('a header that is not "Bearer <token>"', async () => {
    await expectRefused('Basic dXNlcjpwYXNz', /Bearer/);
    await expectRefused('Bearer', /Bearer/);
  });
  test('a malformed token', async () => {
    await expectRefused('Bearer not.a.jwt', /malformed/);
    await expectRefused('Bearer abc', /malformed/);
  });
  test('an expired token (beyond the 5 s clock tolerance)', async () => {
    await expectRefused(
      `Bearer ${signEs256(gw.key.privateKey, claimsFor(org.id, ALL_SCOPES, { exp: now() - 30 }))}`,
      /expired/,
    );
  });
  test('a token accepted once (and so remembered as verified) is refused as soon as it expires', async () => {
    // Valid for at most 3 s: exp 2 s ago, plus the 5 s clock tolerance.
    const exp = now() - 2;
    const token = signEs256(gw.key.privateKey, claimsFor(org.id, ALL_SCOPES, { exp }));
    const first = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(first.status).toBe(200);
    expect(((await first.json()) as any).data.organization.slug).toBe(org.slug);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (exp + 5) * 1000 + 200 - Date.now())));
    await expectRefused(`Bearer ${token}`, /expired/);
  });
  test('a token that is not yet valid', async () => {
    await expectRefused(
      `Bearer ${signEs256(gw.key.privateKey, claimsFor(org.id, ALL_SCOPES, { nbf: now() + 600 }))}`,
      /not yet valid/,
    );
  });
  test('a wrong issuer', async () => {
    await expectRefused(
      `Bearer ${signEs256(gw.key.privateKey, claimsFor(org.id, ALL_SCOPES, { iss: 'someone-else' }))}`,
      /issuer/,
    );
  });
  test('a wrong audience', async () => {
    await expectRefused(
      `Bearer ${signEs256(gw.key.privateKey, claimsFor(org.id, ALL_SCOPES, { aud: 'other-api' }))}`,
      /aud/,
    );
  });
  test('alg: none', async () => {
    await expectRefused(`Bearer ${unsigned(claimsFor(org.id, ALL_SCOPES))}`);
  });
  test('HS256 signed with the public key as secret (algorithm confusion)', async () => {
    const jwks = (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as any;
    await expectRefused(
      `Bearer ${signHs256(JSON.stringify(jwks.keys[0]), claimsFor(org.id, ALL_SCOPES))}`,
      /algorithm|signature/,
    );
  });
  test('signed with another key', async () => {
    const jwks = (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as any;
    const forged = signEs256(generateKeyPair().privateKey, claimsFor(org.id, ALL_SCOPES), { kid: jwks.keys[0].kid });
    await expectRefused(`Bearer ${forged}`, /signature/);
  });
  test('a tampered payload', async () => {
    const [head, , sig] = gw.token(org.id).split('.');
    const body = Buffer.from(JSON.stringify(claimsFor('01900000-0000-7000-8000-000000000000', ALL_SCOPES))).toString(
      'base64url',
    );
    await expectRefused(`Bearer ${head}.${body}.${sig}`, /signature/);
  });
  test('the org claim missing, or not an organization id', async () => {
    const { org: _omit, ...withoutOrg } = claimsFor(org.id, ALL_SCOPES);
    await expectRefused(`Bearer ${signEs256(gw.key.privateKey, withoutOrg)}`, /org/);
    await expectRefused(`Bearer ${signEs256(gw.key.privateKey, claimsFor('acme', ALL_SCOPES))}`, /org/);
    await expectRefused(`Bearer ${signEs256(gw.key.privateKey, claimsFor("' OR 1=1 --", ALL_SCOPES))}`, /org/);
  });
  test('exp or sub missing', async () => {
    const { exp: _exp, ...withoutExp } = claimsFor(org.id, ALL_SCOPES);
    await expectRefused(`Bearer ${signEs256(gw.key.privateKey, withoutExp)}`, /exp/);
    const { sub: _sub, ...withoutSub } = claimsFor(org.id, ALL_SCOPES);
    await expectRefused(`Bearer ${signEs256(gw.key.privateKey, withoutSub)}`, /sub/);
  });
  test('a valid token for a user who is not a member of the organization', async () => {
    await expectRefused(
      `Bearer ${signEs256(gw.key.privateKey, claimsFor(org.id, ALL_SCOPES, { sub: 'stranger' }))}`,
      /not a member/,
    );
  });
  test('an organization that does not exist', async () => {
    await expectRefused(`Bearer ${gw.token('01900000-0000-7000-8000-0000000000ff')}`, /does not exist/);
  });
  test('the refusal carries a request id and a WWW-Authenticate challenge', async () => {
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer abc', 'x-request-id': 'req-123' },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await response.json()) as any).errors[0].extensions.requestId).toBe('req-123');
  });
});

describe('tokens the gateway accepts', () => {
  test('its own, within the clock tolerance', async () => {
    const token = signEs256(gw.key.privateKey, claimsFor(org.id, ['org:read'], { exp: now() - 2 }));
    expect(ok<any>(await gw.graphql(QUERY, {}, token)).organization.id).toBe(gid('Organization', org.id));
  });

  test('the JWKS endpoint publishes the public key only, and it verifies the gateway tokens', async () => {
    const response = await fetch(`${gw.url}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const jwks = (await response.json()) as any;
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0].d).toBeUndefined();
    const publicKey = crypto.createPublicKey({ key: jwks.keys[0], format: 'jwk' });
    const [head, body, sig] = gw.token(org.id).split('.');
    expect(
      crypto.verify(
        'sha256',
        Buffer.from(`${head}.${body}`),
        { key: publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(sig, 'base64url'),
      ),
    ).toBe(true);
  });

  test('a token minted by the CLI works against the running gateway', async () => {
    const minted = await cli(['token', '--org', org.slug, '--scopes', 'org:read,workspaces:read', '--json'], {
      DATABASE_URL: db.url,
      JWT_PRIVATE_KEY: gw.key.privatePem,
    });
    expect(minted.code).toBe(0);
    // Without --sub the token is for the organization's first owner.
    expect(minted.json).toMatchObject({
      token_type: 'Bearer',
      expires_in: 900,
      scope: 'org:read workspaces:read',
      org: org.id,
      sub: 'user-1',
    });
    const data = ok<any>(await gw.graphql(`{ viewer { subject scopes } }`, {}, minted.json.access_token));
    expect(data.viewer).toEqual({ subject: 'user-1', scopes: ['org:read', 'workspaces:read'] });
  });

  test('the CLI refuses unknown scopes and unknown organizations', async () => {
    const badScope = await cli(['token', '--org', org.slug, '--scopes', 'root', '--json'], {
      DATABASE_URL: db.url,
      JWT_PRIVATE_KEY: gw.key.privatePem,
    });
    expect(badScope.code).toBe(1);
    expect(badScope.stderr).toMatch(/unknown scope/);
    const badOrg = await cli(['token', '--org', 'no-such-org', '--json'], {
      DATABASE_URL: db.url,
      JWT_PRIVATE_KEY: gw.key.privatePem,
    });
    expect(badOrg.code).toBe(1);
    expect(badOrg.stderr).toMatch(/no organization/);
  });

  test('an external identity provider token (RS256 via its JWKS)', async () => {
    const claims = { ...claimsFor(org.id, ['org:read']), iss: IDP_ISSUER, aud: IDP_AUDIENCE, sub: 'user-1' };
    const token = signRs256(idpKey.privateKey, claims, { kid: 'idp-1' });
    const data = ok<any>(await gw.graphql(`{ viewer { subject organization { id } } }`, {}, token));
    expect(data.viewer).toEqual({ subject: 'user-1', organization: { id: gid('Organization', org.id) } });
  });

  test('but not an identity provider token for another audience, or signed by another key', async () => {
    const wrongAud = signRs256(
      idpKey.privateKey,
      { ...claimsFor(org.id, ['org:read']), iss: IDP_ISSUER, aud: AUDIENCE },
      { kid: 'idp-1' },
    );
    await expectRefused(`Bearer ${wrongAud}`, /aud/);
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = signRs256(
      other.privateKey,
      { ...claimsFor(org.id, ['org:read']), iss: IDP_ISSUER, aud: IDP_AUDIENCE },
      { kid: 'idp-1' },
    );
    await expectRefused(`Bearer ${forged}`, /signature/);
    // An ES256 token claiming the IdP as issuer: the IdP's algorithm list is pinned to RS256.
    const es = signEs256(gw.key.privateKey, { ...claimsFor(org.id, ['org:read']), iss: IDP_ISSUER, aud: IDP_AUDIENCE });
    await expectRefused(`Bearer ${es}`, /algorithm/);
    expect(ISSUER).not.toBe(IDP_ISSUER);
  });
});
