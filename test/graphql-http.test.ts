import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { serverAudits } from 'graphql-http';
import { snapshot } from './support/database';
import { ROOT, startGateway, type RunningGateway } from './support/gateway';
import { createOrg, gid, ok } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * The gateway as ordinary GraphQL clients see it: the specified directives, Apollo-Client-style operations,
 * GraphQL over HTTP (graphql.github.io/graphql-over-http, audited by the graphql-http package), 401s with
 * their WWW-Authenticate challenge, and no name suggestions in production.
 */
const PLATFORM_ADMIN_TOKEN = crypto.randomBytes(24).toString('hex');
const { gw, db, org } = useGateway({ orgs: ['http'], env: { PLATFORM_ADMIN_TOKEN } });
let token: string;
let tiers: string[];

beforeAll(async () => {
  token = gw.token(org.id);
  const introspected = ok<any>(await gw.graphql(`{ __type(name: "EnvironmentTier") { enumValues { name } } }`));
  tiers = introspected.__type.enumValues.map((v: { name: string }) => v.name);
});

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

interface Sent {
  status: number;
  headers: Headers;
  body: any;
}

/** A raw request to /graphql (fetch, no helper defaults). */
async function send(init: {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  search?: string;
}): Promise<Sent> {
  const response = await fetch(`${gw.url}/graphql${init.search ?? ''}`, {
    method: init.method ?? 'POST',
    headers: init.headers,
    body: init.body,
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* left as text: the assertion on the shape fails */
  }
  return { status: response.status, headers: response.headers, body };
}

/** One error with `code` and the request id of the response, in the GraphQL error shape. */
function expectGraphQLError(response: Sent, status: number, code: string): void {
  expect({ status: response.status, codes: response.body?.errors?.map((e: any) => e.extensions?.code) }).toEqual({
    status,
    codes: [code],
  });
  expect(response.body.errors[0].extensions.requestId).toBe(response.headers.get('x-request-id'));
  expect(typeof response.body.errors[0].message).toBe('string');
  expect(response.body.data).toBeUndefined();
}

describe('the specified directives', () => {
  test('@include, @skip, @deprecated, @specifiedBy and @oneOf are in the live schema and in schema.graphql, beside the auth directives', async () => {
    const live = ok<any>(await gw.graphql(`{ __schema { directives { name } } }`)).__schema.directives.map(
      (d: { name: string }) => d.name,
    );
    const expected = ['authenticated', 'deprecated', 'include', 'oneOf', 'requiresScopes', 'skip', 'specifiedBy'];
    expect([...live].sort()).toEqual(expected);
    const file = fs.readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8');
    for (const name of expected) expect(file).toMatch(new RegExp(`^directive @${name}\\b`, 'm'));
  });

  test('the literal form from the issue: { organization { slug @include(if: true) } }', async () => {
    const response = await gw.graphql(`{ organization { slug @include(if: true) id @skip(if: true) } }`, {}, token);
    expect(response.status).toBe(200);
    expect(ok<any>(response).organization).toEqual({ slug: org.slug });
  });
});

describe('Apollo-Client-style operations', () => {
  const CREATE_WORKSPACE = `
    mutation CreateWorkspace($input: CreateWorkspaceInput!) {
      createWorkspace(input: $input) { ...WorkspaceFields }
    }
    fragment WorkspaceFields on Workspace { __typename id name }`;
  const CREATE_ENVIRONMENT = `
    mutation CreateEnvironment($input: CreateEnvironmentInput!) {
      createEnvironment(input: $input) { __typename id ... on Environment { slug } }
    }`;
  const PAGE = `
    query WorkspacePage($withEnvironments: Boolean!, $skipCounts: Boolean = false, $first: Int) {
      __typename
      organization {
        __typename
        ...OrganizationFields
        workspaces(first: $first) {
          __typename
          totalCount @skip(if: $skipCounts)
          edges {
            node {
              ...WorkspaceFields
              ... on Workspace { description }
              environments @include(if: $withEnvironments) {
                edges { node { ...EnvironmentFields } }
              }
            }
          }
        }
      }
    }
    query Other { __typename }
    fragment OrganizationFields on Organization { id slug }
    fragment WorkspaceFields on Workspace { __typename id name }
    fragment EnvironmentFields on Environment { __typename id slug tier }`;

  test('named operations with variables, fragments, inline fragments, __typename, @include/@skip driven by variables', async () => {
    const workspace = ok<any>(
      await gw.graphql(CREATE_WORKSPACE, { input: { name: 'Client app' } }, token),
    ).createWorkspace;
    expect(workspace).toEqual({ __typename: 'Workspace', id: expect.any(String), name: 'Client app' });
    const environment = ok<any>(
      await gw.graphql(
        CREATE_ENVIRONMENT,
        { input: { workspaceId: workspace.id, name: 'Dev', slug: 'dev', tier: tiers[0] } },
        token,
      ),
    ).createEnvironment;
    expect(environment).toEqual({ __typename: 'Environment', id: expect.any(String), slug: 'dev' });

    const post = (variables: Record<string, unknown>, operationName = 'WorkspacePage') =>
      fetch(`${gw.url}/graphql`, {
        method: 'POST',
        // The Accept header the GraphQL-over-HTTP spec recommends to clients.
        headers: {
          'content-type': 'application/json',
          accept: `${GRAPHQL_RESPONSE},application/json;q=0.9`,
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ operationName, query: PAGE, variables }),
      }).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), body: (await r.json()) as any }));

    const full = await post({ withEnvironments: true, first: 10 });
    expect(full.status).toBe(200);
    expect(full.type).toMatch(/^application\/graphql-response\+json/);
    expect(full.body.errors).toBeUndefined();
    expect(full.body.data).toEqual({
      __typename: 'Query',
      organization: {
        __typename: 'Organization',
        id: gid('Organization', org.id),
        slug: org.slug,
        workspaces: {
          __typename: 'WorkspaceConnection',
          totalCount: 1,
          edges: [
            {
              node: {
                __typename: 'Workspace',
                id: workspace.id,
                name: 'Client app',
                description: null,
                environments: {
                  edges: [{ node: { __typename: 'Environment', id: environment.id, slug: 'dev', tier: tiers[0] } }],
                },
              },
            },
          ],
        },
      },
    });

    const trimmed = await post({ withEnvironments: false, skipCounts: true });
    expect(trimmed.body.errors).toBeUndefined();
    const connection = trimmed.body.data.organization.workspaces;
    expect(connection).not.toHaveProperty('totalCount');
    expect(connection.edges[0].node).not.toHaveProperty('environments');
    expect(connection.edges[0].node).toMatchObject({ id: workspace.id, name: 'Client app' });

    const other = await post({}, 'Other');
    expect(other.body.errors).toBeUndefined();
    expect(other.body.data).toEqual({ __typename: 'Query' });
  });

  test('the same query over GET (with the preflight header Apollo asks for), and a mutation over GET refused with 405', async () => {
    const before = await snapshot(db.admin);
    const params = new URLSearchParams({
      query: `query Slug($x: Boolean!) { organization { slug @include(if: $x) } }`,
      variables: JSON.stringify({ x: true }),
    });
    const headers = { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' };
    const read = await send({ method: 'GET', search: `?${params}`, headers });
    expect(read).toMatchObject({ status: 200, body: { data: { organization: { slug: org.slug } } } });
    // A tenant's answer is never stored by a shared cache (a GET is cacheable by default).
    expect(read.headers.get('cache-control')).toBe('no-store');

    const mutation = new URLSearchParams({ query: `mutation { createWorkspace(input: { name: "over GET" }) { id } }` });
    const refused = await send({ method: 'GET', search: `?${mutation}`, headers });
    expectGraphQLError(refused, 405, 'BAD_REQUEST');
    expect(refused.headers.get('allow')).toBe('POST');
    expect(await snapshot(db.admin)).toEqual(before);
  });
});

describe('GraphQL over HTTP', () => {
  const MUTATION = `mutation { createWorkspace(input: { name: "must not exist" }) { id } }`;
  const json = { 'content-type': 'application/json' };

  test('request errors: 4xx, a stable code, the request id, the negotiated media type; nothing executes', async () => {
    const before = await snapshot(db.admin);
    const auth = { authorization: `Bearer ${token}` };
    const deep = `mutation { createWorkspace(input: { name: "deep" }) { id ${'environments { edges { node { workspace { '.repeat(3)}id${' } } } }'.repeat(3)} } }`;
    const aliases = `mutation { ${Array.from({ length: 16 }, (_, i) => `w${i}: createWorkspace(input: { name: "alias ${i}" }) { id }`).join(' ')} }`;
    const tokens = `mutation { createWorkspace(input: { name: "tokens" }) { ${'id '.repeat(2100)} } }`;
    const wide =
      'components(first: 100) { edges { node { workspace { components(first: 100) { edges { node { id } } } } } } }';
    // 5 × (100 + 100 × 100) = 50,500 nodes > 50,000, within the depth and alias limits.
    const nodes = `mutation { createWorkspace(input: { name: "nodes" }) { ${[1, 2, 3, 4, 5].map((i) => `c${i}: ${wide}`).join(' ')} } }`;
    const cases: Array<[string, Parameters<typeof send>[0], number, string]> = [
      ['malformed JSON', { headers: { ...json, ...auth }, body: `{"query": "${MUTATION}` }, 400, 'BAD_REQUEST'],
      // fetch adds text/plain to a string body, not to bytes.
      [
        'no content type',
        { headers: auth, body: new TextEncoder().encode(JSON.stringify({ query: MUTATION })) },
        415,
        'BAD_REQUEST',
      ],
      [
        'text/plain',
        { headers: { 'content-type': 'text/plain', ...auth }, body: JSON.stringify({ query: MUTATION }) },
        415,
        'BAD_REQUEST',
      ],
      [
        'form encoded',
        {
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth },
          body: `query=${encodeURIComponent(MUTATION)}`,
        },
        415,
        'BAD_REQUEST',
      ],
      ['no body', { headers: { ...json, ...auth } }, 400, 'BAD_REQUEST'],
      [
        'a JSON array',
        { headers: { ...json, ...auth }, body: JSON.stringify([{ query: MUTATION }]) },
        400,
        'BAD_REQUEST',
      ],
      [
        'missing query',
        { headers: { ...json, ...auth }, body: JSON.stringify({ qeury: MUTATION }) },
        400,
        'BAD_REQUEST',
      ],
      [
        'non-string query',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: { mutation: true } }) },
        400,
        'BAD_REQUEST',
      ],
      [
        'variables as a string',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: MUTATION, variables: '{}' }) },
        400,
        'BAD_REQUEST',
      ],
      [
        'variables as an array',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: MUTATION, variables: [1] }) },
        400,
        'BAD_REQUEST',
      ],
      [
        'operationName a number',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: MUTATION, operationName: 1 }) },
        400,
        'BAD_REQUEST',
      ],
      [
        'Accept allows no JSON',
        { headers: { ...json, ...auth, accept: 'text/html' }, body: JSON.stringify({ query: MUTATION }) },
        406,
        'BAD_REQUEST',
      ],
      [
        'PUT',
        { method: 'PUT', headers: { ...json, ...auth }, body: JSON.stringify({ query: MUTATION }) },
        405,
        'BAD_REQUEST',
      ],
      [
        'too large',
        {
          headers: { ...json, ...auth },
          body: JSON.stringify({ query: MUTATION, variables: { pad: 'x'.repeat(1_100_000) } }),
        },
        413,
        'BAD_REQUEST',
      ],
      // body-parser's decompression failures carry no `type` (a zlib error wrapped in a 400).
      [
        "graphql-js's overlapping-fields work budget",
        {
          headers: { ...json, ...auth },
          body: JSON.stringify({
            query: `mutation { createWorkspace(input: { name: "x" }) { ${'id '.repeat(1000)} } }`,
          }),
        },
        400,
        'QUERY_TOO_COMPLEX',
      ],
      [
        'a corrupt gzip body',
        { headers: { ...json, ...auth, 'content-encoding': 'gzip' }, body: JSON.stringify({ query: MUTATION }) },
        400,
        'BAD_REQUEST',
      ],
      [
        'an unsupported content encoding',
        { headers: { ...json, ...auth, 'content-encoding': 'compress' }, body: JSON.stringify({ query: MUTATION }) },
        415,
        'BAD_REQUEST',
      ],
      [
        'syntax error',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: 'mutation { createWorkspace(' }) },
        400,
        'GRAPHQL_PARSE_FAILED',
      ],
      [
        'unknown field',
        {
          headers: { ...json, ...auth },
          body: JSON.stringify({ query: `mutation { createWorkspace(input: { name: "x" }) { nope } }` }),
        },
        400,
        'GRAPHQL_VALIDATION_FAILED',
      ],
      [
        'unknown operation name',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: MUTATION, operationName: 'Nope' }) },
        400,
        'OPERATION_RESOLUTION_FAILURE',
      ],
      [
        'bad variable value',
        {
          headers: { ...json, ...auth },
          body: JSON.stringify({
            query: `mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }`,
            variables: { i: { name: 5 } },
          }),
        },
        400,
        'BAD_USER_INPUT',
      ],
      [
        'missing variable',
        {
          headers: { ...json, ...auth },
          body: JSON.stringify({ query: `mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }` }),
        },
        400,
        'BAD_USER_INPUT',
      ],
      [
        'subscription',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: 'subscription { x }' }) },
        400,
        'SUBSCRIPTIONS_NOT_SUPPORTED',
      ],
      [
        'subscription beside a mutation',
        {
          headers: { ...json, ...auth },
          body: JSON.stringify({
            query: `mutation M { createWorkspace(input: { name: "no" }) { id } } subscription S { x }`,
            operationName: 'M',
          }),
        },
        400,
        'SUBSCRIPTIONS_NOT_SUPPORTED',
      ],
      [
        'depth limit',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: deep }) },
        400,
        'QUERY_TOO_COMPLEX',
      ],
      [
        'alias limit',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: aliases }) },
        400,
        'QUERY_TOO_COMPLEX',
      ],
      [
        'token limit',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: tokens }) },
        400,
        'QUERY_TOO_COMPLEX',
      ],
      [
        'node limit',
        { headers: { ...json, ...auth }, body: JSON.stringify({ query: nodes }) },
        400,
        'QUERY_TOO_COMPLEX',
      ],
    ];
    const seen: Record<string, unknown> = {};
    for (const [name, init, status, code] of cases) {
      for (const accept of [undefined, GRAPHQL_RESPONSE]) {
        if (name === 'Accept allows no JSON' && accept) continue;
        const response = await send({ ...init, headers: { ...init.headers, ...(accept ? { accept } : {}) } });
        seen[`${name} ${accept ?? ''}`] = [response.status, response.body?.errors?.[0]?.extensions?.code];
        expectGraphQLError(response, status, code);
        expect(response.headers.get('content-type')).toBe(`${accept ?? 'application/json'}; charset=utf-8`);
      }
    }
    // The limits name themselves.
    const limits = await Promise.all(
      [deep, aliases, tokens, nodes].map(
        async (query) =>
          (await send({ headers: { ...json, ...auth }, body: JSON.stringify({ query }) })).body.errors[0].extensions,
      ),
    );
    expect(limits.map((e) => [e.limit, e.maximum])).toEqual([
      ['depth', 10],
      ['aliases', 15],
      ['tokens', 2000],
      ['nodes', 50000],
    ]);
    expect(await snapshot(db.admin)).toEqual(before);
    // Nothing a client did wrong is logged as an internal error.
    expect(gw.logs.filter((line) => /"level":50|Unexpected error|stack/.test(line))).toEqual([]);
  });

  test('a malformed body is never echoed, on /graphql or /auth/token (it may hold a secret)', async () => {
    const secret = 'fl_' + crypto.randomBytes(16).toString('hex');
    for (const route of ['/graphql', '/auth/token']) {
      const response = await fetch(`${gw.url}${route}`, {
        method: 'POST',
        headers: json,
        body: `{"api_key": ${secret}, "query": "{" `,
      });
      expect(response.status).toBe(400);
      expect(await response.text()).not.toContain(secret.slice(0, 8)); // node's JSON.parse message quotes ~10 characters around the error
    }
  });

  test('Accept: application/json by name gets the legacy rule: a well-formed request that fails as GraphQL is 200', async () => {
    const accept = 'application/json';
    const parse = await send({ headers: { ...json, accept }, body: JSON.stringify({ query: '{' }) });
    expect(parse.status).toBe(200);
    expect(parse.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    const validation = await send({ headers: { ...json, accept }, body: JSON.stringify({ query: '{ nope }' }) });
    expect([validation.status, validation.body.errors[0].extensions.code]).toEqual([200, 'GRAPHQL_VALIDATION_FAILED']);
    // ... but a malformed HTTP request is still a 400, and a refused token still a 401.
    const malformed = await send({ headers: { ...json, accept }, body: '{' });
    expect([malformed.status, malformed.body.errors[0].extensions.code]).toEqual([400, 'BAD_REQUEST']);
    const bad = await send({
      headers: { ...json, accept, authorization: 'Bearer x.y.z' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(bad.status).toBe(401);
  });

  test('Accept ranges with parameters are negotiated as Apollo negotiates them (a charset is not a 406)', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const body = JSON.stringify({ query: '{ organization { slug } }' });
    for (const [accept, type] of [
      ['application/json; charset=utf-8', 'application/json; charset=utf-8'],
      ['application/graphql-response+json; charset=utf-8', `${GRAPHQL_RESPONSE}; charset=utf-8`],
      [`${GRAPHQL_RESPONSE}; charset=utf-8, application/json`, `${GRAPHQL_RESPONSE}; charset=utf-8`],
      ['application/json;q=0.5, application/graphql-response+json', `${GRAPHQL_RESPONSE}; charset=utf-8`],
      ['application/json; charset=latin1', null],
    ] as const) {
      // Twice: the second time the known-document path answers the (plannable) query.
      for (let round = 0; round < 2; round++) {
        const answer = await send({ headers: { ...json, ...auth, accept }, body });
        expect({ accept, round, status: answer.status, type: answer.headers.get('content-type') }).toEqual({
          accept,
          round,
          status: type ? 200 : 406,
          type: type ?? expect.any(String),
        });
        if (type) expect(answer.body.data.organization.slug).toEqual(expect.any(String));
      }
    }
  });

  test('a response with data is 2xx even when some fields were refused (the spec MUST), the challenge stays', async () => {
    const response = await send({
      headers: json,
      body: JSON.stringify({ query: `{ __typename workspace(id: "01900000-0000-7000-8000-000000000000") { id } }` }),
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      data: { __typename: 'Query', workspace: null },
      errors: [{ extensions: { code: 'UNAUTHENTICATED' } }],
    });
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="manifest-gateway"');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  test('a subscription is refused without an internal error or a stack trace in the log', async () => {
    const response = await gw.graphql(`subscription OnChange { workspaceChanged { id } }`, {}, token);
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0].extensions.code).toBe('SUBSCRIPTIONS_NOT_SUPPORTED');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const logged = gw.logs.filter((line) => line.includes(response.body.errors![0].extensions.requestId));
    expect(logged.filter((line) => /stack|INTERNAL/i.test(line))).toEqual([]);
  });

  describe.each([
    ['anonymously', () => undefined],
    ['with a token', () => token],
  ])('the graphql-http audits, %s', (_label, bearer) => {
    test('0 MUST and 0 SHOULD failures', async () => {
      const before = await snapshot(db.admin);
      const authorization = bearer();
      const fetchFn = (input: string | URL | Request, init: RequestInit = {}) =>
        fetch(
          input,
          authorization
            ? {
                ...init,
                headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${authorization}` },
              }
            : init,
        );
      const audits = serverAudits({ url: `${gw.url}/graphql`, fetchFn });
      const results: Awaited<ReturnType<(typeof audits)[number]['fn']>>[] = [];
      for (const audit of audits) results.push(await audit.fn());
      expect(results.length).toBeGreaterThan(40);
      const failures = (status: string) =>
        results.filter((r) => r.status === status).map((r) => `${r.id} ${r.name}: ${'reason' in r ? r.reason : ''}`);
      expect(failures('error')).toEqual([]); // MUST
      expect(failures('warn')).toEqual([]); // SHOULD
      // MAY: only plain GETs fail, refused by Apollo's CSRF prevention (kept on; a GET needs a
      // Content-Type: application/json or an apollo-require-preflight header).
      expect(
        results
          .filter((r) => r.status === 'notice')
          .map((r) => r.id)
          .sort(),
      ).toEqual(['5A70', '6A70', 'D6D5']);
      expect(await snapshot(db.admin)).toEqual(before);
    });
  });
});

describe('every 401 carries WWW-Authenticate (RFC 6750)', () => {
  const REALM = 'Bearer realm="manifest-gateway"';
  const query = (authorization?: string) =>
    send({
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ query: `{ organization { id } }` }),
    });

  test('no credential: the bare challenge, no error code', async () => {
    const response = await query();
    expect([response.status, response.body.errors[0].extensions.code, response.body.data]).toEqual([
      401,
      'UNAUTHENTICATED',
      null,
    ]);
    expect(response.headers.get('www-authenticate')).toBe(REALM);
    const basic = await query('Basic dXNlcjpwYXNz');
    expect([basic.status, basic.headers.get('www-authenticate')]).toEqual([401, REALM]);
  });

  test('a refused token: error="invalid_token" with a description, never the token', async () => {
    const other = await createOrg(db, 'http-other');
    const expired = gw.token(org.id, undefined, { exp: Math.floor(Date.now() / 1000) - 3600 });
    const refused: Array<[string, string, RegExp]> = [
      ['malformed', 'not.a.jwt', /malformed/],
      ['expired', expired, /exp/],
      ['unknown organization', gw.token(crypto.randomUUID()), /organization of this token does not exist/],
      ['not a member', gw.token(other.id, undefined, { sub: 'stranger' }), /not a member/],
    ];
    for (const [, credential, reason] of refused) {
      const response = await query(`Bearer ${credential}`);
      expect(response.status).toBe(401);
      expect(response.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      const challenge = response.headers.get('www-authenticate')!;
      expect(challenge).toMatch(
        /^Bearer realm="manifest-gateway", error="invalid_token", error_description="[\x20\x21\x23-\x5B\x5D-\x7E]+"$/,
      );
      expect(challenge).toMatch(reason);
      expect(challenge).not.toContain(credential.slice(-20));
    }
  });

  test('a revoked API key, the token exchange and the platform API', async () => {
    const created = ok<any>(
      await gw.graphql(
        `mutation { createApiKey(input: { name: "to revoke", scopes: ["org:read"] }) { key apiKey { id } } }`,
        {},
        token,
      ),
    ).createApiKey;
    const exchanged = await gw.exchangeApiKey(created.key);
    ok(await gw.graphql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: created.apiKey.id }, token));
    const revoked = await query(`Bearer ${exchanged}`);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="manifest-gateway", error="invalid_token", error_description=".*revoked/,
    );

    const exchange = await fetch(`${gw.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: created.key }),
    });
    expect(exchange.status).toBe(401);
    expect(exchange.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="manifest-gateway", error="invalid_token", error_description="this API key has been revoked"$/,
    );

    const platform = (authorization?: string) =>
      fetch(`${gw.url}/platform/v1/organizations`, { headers: authorization ? { authorization } : {} });
    const anonymous = await platform();
    expect([anonymous.status, anonymous.headers.get('www-authenticate')]).toEqual([401, REALM]);
    const wrong = await platform(`Bearer ${token}`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="manifest-gateway", error="invalid_token", error_description=/,
    );
    expect((await platform(`Bearer ${PLATFORM_ADMIN_TOKEN}`)).status).toBe(200);
  });
});

describe('production mode: no suggestions of any kind', () => {
  let prod: RunningGateway;
  beforeAll(async () => {
    prod = await startGateway({
      databaseUrl: db.url,
      key: gw.key,
      env: {
        NODE_ENV: 'production',
        EXPOSE_SQL_STATEMENT_COUNT: 'false',
        ENCRYPTION_KEYS: JSON.stringify({ '1': crypto.randomBytes(32).toString('base64') }),
      },
    });
  });
  afterAll(async () => {
    await prod?.stop();
  });

  test('fields, types, arguments, input fields and enum values, in the query and in variables', async () => {
    const workspace = ok<any>(
      await gw.graphql(`mutation { createWorkspace(input: { name: "Suggestions" }) { id } }`, {}, token),
    ).createWorkspace.id;
    const tier = tiers[tiers.length - 1];
    const typo = `${tier.slice(0, -1)}${tier.endsWith('x') ? 'y' : 'x'}`;
    const envInput = (t: string) => `{ workspaceId: "${workspace}", name: "E", slug: "e", tier: ${t} }`;
    const CREATE_ENV = `mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`;
    const probes: Array<[string, string, Record<string, unknown>?]> = [
      ['field', `{ organizaton { id } }`],
      ['type', `query($id: ID!) { workspace(id: $id) { ... on Workspac { id } } }`, { id: workspace }],
      ['variable type', `query($x: Boolen!) { organization { id @include(if: $x) } }`, { x: true }],
      ['argument', `{ organization { workspaces(frist: 1) { totalCount } } }`],
      ['directive argument', `{ organization { id @include(iff: true) } }`],
      ['input field', `mutation { createWorkspace(input: { nme: "x" }) { id } }`],
      ['enum value in the query', `mutation { createEnvironment(input: ${envInput(typo)}) { id } }`],
      ['enum value in variables', CREATE_ENV, { i: { workspaceId: workspace, name: 'E', slug: 'e', tier: typo } }],
      [
        'input field in variables',
        `mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }`,
        { i: { nme: 'x' } },
      ],
    ];
    const before = await snapshot(db.admin);
    for (const [kind, operation, variables] of probes) {
      // The probe is real: the development gateway does suggest a name here.
      const development = await gw.graphql(operation, variables, token);
      const messages = (development.body.errors ?? []).map((e) => e.message).join(' | ');
      expect({ kind, messages }).toEqual({ kind, messages: expect.stringMatching(/Did you mean/) });
      const production = await prod.graphql(operation, variables, prod.token(org.id));
      expect(production.status).toBe(400);
      const errors = production.body.errors ?? [];
      expect({ kind, codes: [...new Set(errors.map((e) => e.extensions.code))] }).toEqual({
        kind,
        codes: [expect.stringMatching(/^(GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT)$/)],
      });
      expect({ kind, body: JSON.stringify(production.body) }).toEqual({
        kind,
        body: expect.not.stringMatching(/Did you mean|suggest/i),
      });
    }
    expect(await snapshot(db.admin)).toEqual(before);
  });
});
