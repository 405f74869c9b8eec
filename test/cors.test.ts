import { snapshot } from './support/database';
import { startGateway, type RunningGateway } from './support/gateway';
import { useGateway } from './support/harness';

/**
 * Browser front ends on other origins (src/cors.ts, README "CORS"): preflights answered before
 * authentication, the API paths only, any origin by default, an exact list when configured, never
 * credentials; a non-preflight OPTIONS still reaches its route.
 */
const { gw, db, org } = useGateway({ orgs: ['cors'] });
const ORIGIN = 'https://app.example.com';

function preflight(url: string, origin = ORIGIN, method = 'POST', headers = 'authorization, content-type') {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

describe('default: any origin', () => {
  test('a preflight of /graphql is 204 with the methods and headers a GraphQL client sends, no credentials', async () => {
    const before = await snapshot(db.admin);
    const response = await preflight(`${gw.url}/graphql`);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = response.headers.get('access-control-allow-headers')!.split(',');
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'apollo-require-preflight']));
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(await snapshot(db.admin)).toEqual(before);
  });

  test('the actual request carries the origin header and exposes the request id', async () => {
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/json', authorization: `Bearer ${gw.token(org.id)}` },
      body: JSON.stringify({ query: '{ organization { name } }' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(((await response.json()) as any).data.organization.name).toBeTruthy();
  });

  test('a cross-origin request without a token is still refused (CORS grants no access)', async () => {
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ organization { name } }' }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('REST, the token exchange and the JWKS answer preflights; operator endpoints do not', async () => {
    for (const path of [`/api/v1/orgs/${org.id}/workspaces`, '/auth/token', '/.well-known/jwks.json']) {
      const response = await preflight(`${gw.url}${path}`, ORIGIN, path.startsWith('/api') ? 'PATCH' : 'POST');
      expect({ path, status: response.status, origin: response.headers.get('access-control-allow-origin') }).toEqual({
        path,
        status: 204,
        origin: '*',
      });
    }
    for (const path of ['/metrics', '/platform/v1/orgs', '/livez']) {
      const response = await preflight(`${gw.url}${path}`);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.status).toBeGreaterThanOrEqual(400);
    }
  });

  test('an OPTIONS that is not a preflight goes to its route: REST answers 405 with Allow', async () => {
    const response = await fetch(`${gw.url}/api/v1/orgs/${org.id}/workspaces`, {
      method: 'OPTIONS',
      headers: { authorization: `Bearer ${gw.token(org.id)}` },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toContain('GET');
  });
});

describe('CORS_ALLOWED_ORIGINS: a list, and none', () => {
  let listed: RunningGateway;
  let off: RunningGateway;
  beforeAll(async () => {
    listed = await startGateway({
      databaseUrl: db.url,
      env: { CORS_ALLOWED_ORIGINS: `${ORIGIN},http://localhost:5173` },
    });
    off = await startGateway({ databaseUrl: db.url, env: { CORS_ALLOWED_ORIGINS: 'none' } });
  });
  afterAll(async () => {
    await listed?.stop();
    await off?.stop();
  });

  test('a listed origin is named back and the answer varies on Origin; another origin gets no grant', async () => {
    const allowed = await preflight(`${listed.url}/graphql`, 'http://localhost:5173');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.headers.get('vary')).toMatch(/origin/i);
    const other = await preflight(`${listed.url}/graphql`, 'https://evil.example.net');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('none: no CORS header on any answer', async () => {
    const response = await preflight(`${off.url}/graphql`);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const post = await fetch(`${off.url}/graphql`, {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });
});
