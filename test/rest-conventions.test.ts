import { cli } from './support/gateway';
import { gid as gidOf } from './support/fixtures';
import { snapshot } from './support/database';
import { useGateway } from './support/harness';
import { expectProblem, expectProblemUnchanged, rest, withoutRequestId, type RestResponse } from './support/rest';

/**
 * HTTP conventions of the REST routes of environments, components and deployments: the one 404 for every id
 * that is not yours (byte for byte), ETag/If-Match under concurrency, organization status, bad inputs.
 * (The full OpenAPI-generated isolation sweep and the role matrix are test/rest-isolation*.test.ts and
 * test/rest-roles*.test.ts.)
 */
const { gw, db, orgA, orgB, orgs } = useGateway({ orgs: ['restc-a', 'restc-b', 'restc-status'] });
let tokenA: string;
let tokenB: string;
const NEVER = '0190a000-0000-7000-8000-000000000000';

interface Tree {
  ws: string;
  otherWs: string;
  env: string;
  component: string;
  ring: string;
  promotion: string;
}
let a: Tree;

async function created(response: Promise<RestResponse>): Promise<string> {
  const r = await response;
  expect([r.status, r.text]).toEqual([201, expect.any(String)]);
  return r.body.id;
}

beforeAll(async () => {
  tokenA = gw.token(orgA.id);
  tokenB = gw.token(orgB.id);
  const o = `/orgs/${orgA.id}/workspaces`;
  const post = (path: string, body: unknown) => rest(gw, 'post', path, { token: tokenA, body });
  const ws = await created(post(o, { name: 'A' }));
  const otherWs = await created(post(o, { name: 'A2' }));
  const env = await created(post(`${o}/${ws}/environments`, { name: 'Dev', slug: 'dev', tier: 'dev' }));
  const component = await created(post(`${o}/${ws}/hosted-services`, { name: 'svc' }));
  const ring = await created(post(`${o}/${ws}/deployments/rings`, { name: 'r0', environment_id: env }));
  const promotion = await created(
    post(`${o}/${ws}/deployments/rings/${ring}/deployments`, { component_id: component, version: '1' }),
  );
  a = { ws, otherWs, env, component, ring, promotion };
});

/** Every item path of these routes, for org `org` and ids `t`. */
function itemPaths(org: string, t: Tree): string[] {
  const w = `/orgs/${org}/workspaces/${t.ws}`;
  return [
    `${w}/environments/${t.env}`,
    `${w}/environments/${t.env}/credentials`,
    `${w}/components/${t.component}`,
    `${w}/components/${t.component}/deployments`,
    `${w}/hosted-services/${t.component}`,
    `${w}/deployments/rings/${t.ring}`,
    `${w}/deployments/rings/${t.ring}/deployments`,
    `${w}/deployments/rings/${t.ring}/promotions`,
    `${w}/deployments/rings/${t.ring}/promotions/${t.promotion}`,
    `${w}/environments`,
    `${w}/components`,
    `${w}/components/agents`,
    `${w}/hosted-services`,
    `${w}/deployments/rings`,
  ];
}

describe('the one 404', () => {
  test("org B, on A's ids (with B's or A's org id in the path), gets exactly the answer of ids that never existed", async () => {
    const never: Tree = { ws: NEVER, otherWs: NEVER, env: NEVER, component: NEVER, ring: NEVER, promotion: NEVER };
    const before = await snapshot(db.admin);
    const reference = withoutRequestId(
      await rest(gw, 'get', `/orgs/${orgB.id}/workspaces/${NEVER}`, { token: tokenB }),
    );
    for (const method of ['get', 'patch', 'put', 'delete', 'post']) {
      for (const [i, path] of [
        ...itemPaths(orgB.id, a),
        ...itemPaths(orgA.id, a),
        ...itemPaths(orgB.id, never),
        ...itemPaths(orgA.id, never),
      ].entries()) {
        const r = await rest(gw, method, path, {
          token: tokenB,
          body: method === 'get' || method === 'delete' ? undefined : {},
        });
        if (r.status === 405) continue; // this path has no such method, for everyone alike
        expect([method, path, i, r.status]).toEqual([method, path, i, 404]);
        expect([method, path, withoutRequestId(r)]).toEqual([method, path, reference]);
      }
    }
    expect(await snapshot(db.admin)).toEqual(before);
  });

  test('a child under another workspace of the same organization is not there either', async () => {
    const paths = itemPaths(orgA.id, { ...a, ws: a.otherWs })
      .slice(0, 9)
      .filter((p) => !p.endsWith('/credentials')); // no GET there
    const reference = withoutRequestId(
      await rest(gw, 'get', `/orgs/${orgA.id}/workspaces/${NEVER}`, { token: tokenA }),
    );
    for (const path of paths) {
      const r = await rest(gw, 'get', path, { token: tokenA });
      expect([path, r.status, withoutRequestId(r)]).toEqual([path, 404, reference]);
    }
  });
});

describe('ETag and If-Match', () => {
  test('two writers holding the same ETag: exactly one wins, the other gets 412 and changes nothing', async () => {
    const path = `/orgs/${orgA.id}/workspaces/${a.ws}/environments/${a.env}`;
    const etag = (await rest(gw, 'get', path, { token: tokenA })).headers.get('etag')!;
    const answers = await Promise.all(
      ['first', 'second', 'third'].map((name) =>
        rest(gw, 'patch', path, { token: tokenA, body: { name }, headers: { 'if-match': etag } }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 412, 412]);
    const winner = answers.find((r) => r.status === 200)!;
    const now = await rest(gw, 'get', path, { token: tokenA });
    expect(now.body.name).toBe(winner.body.name);
    expect(now.headers.get('etag')).toBe(winner.headers.get('etag'));
    for (const loser of answers.filter((r) => r.status === 412)) expectProblem(loser, 412, 'PRECONDITION_FAILED');
  });

  test('a stale ETag on DELETE refuses it, the current one lets it through; without If-Match the last writer wins', async () => {
    const o = `/orgs/${orgA.id}/workspaces/${a.ws}/components`;
    const id = await created(rest(gw, 'post', `${o}/workflows`, { token: tokenA, body: { name: 'wf' } }));
    const stale = (await rest(gw, 'get', `${o}/${id}`, { token: tokenA })).headers.get('etag')!;
    const changed = await rest(gw, 'patch', `${o}/${id}`, { token: tokenA, body: { configuration: { a: 1 } } });
    expect(changed.status).toBe(200);
    await expectProblemUnchanged(
      () => rest(gw, 'delete', `${o}/${id}`, { token: tokenA, headers: { 'if-match': stale } }),
      { status: 412, code: 'PRECONDITION_FAILED' },
      db,
    );
    expect(
      (await rest(gw, 'delete', `${o}/${id}`, { token: tokenA, headers: { 'if-match': changed.headers.get('etag')! } }))
        .status,
    ).toBe(204);
  });
});

describe('bad inputs: a problem naming every bad field, nothing changed', () => {
  const cases: Array<[string, string, () => string, unknown, string[]]> = [
    [
      'post',
      'environment',
      () => `/orgs/${orgA.id}/workspaces/${a.ws}/environments`,
      { name: ' ', slug: 'Not A Slug', tier: 'qa', workspace_id: NEVER },
      ['name', 'slug', 'tier', 'workspace_id'],
    ],
    [
      'patch',
      'environment',
      () => `/orgs/${orgA.id}/workspaces/${a.ws}/environments/${a.env}`,
      { name: null, execution_backend: [1], deployment_host: 'mars' },
      ['name', 'execution_backend', 'deployment_host'],
    ],
    [
      'post',
      'component',
      () => `/orgs/${orgA.id}/workspaces/${a.ws}/components`,
      { type: 'robot', name: 7, configuration: 'x' },
      ['type', 'name', 'configuration'],
    ],
    [
      'post',
      'ring',
      () => `/orgs/${orgA.id}/workspaces/${a.ws}/deployments/rings`,
      { name: '', environment_id: 'nope', position: 1.5 },
      ['name', 'environment_id', 'position'],
    ],
    [
      'post',
      'deploy',
      () => `/orgs/${orgA.id}/workspaces/${a.ws}/deployments/rings/${a.ring}/deployments`,
      { component_id: 'x', version: 'has space', ring_id: NEVER },
      ['component_id', 'version', 'ring_id'],
    ],
    [
      'put',
      'credentials',
      () => `/orgs/${orgA.id}/workspaces/${a.ws}/environments/${a.env}/credentials`,
      { cloudrun: { project_id: 'X', region: 1 } },
      ['cloudrun.project_id', 'cloudrun.region', 'cloudrun.service_account_json'],
    ],
  ];
  test.each(cases)('%s %s', async (method, _what, path, body, fields) => {
    await expectProblemUnchanged(
      () => rest(gw, method, path(), { token: tokenA, body }),
      { status: 400, code: 'BAD_USER_INPUT', fields },
      db,
    );
  });

  test('a list: limit and cursor out of range, an unknown filter value', async () => {
    const r = await rest(
      gw,
      'get',
      `/orgs/${orgA.id}/workspaces/${a.ws}/environments?limit=101&cursor=${'A'.repeat(30)}&tier=qa`,
      { token: tokenA },
    );
    expectProblem(r, 400, 'BAD_USER_INPUT', ['limit', 'cursor', 'tier']);
  });
});

describe('one set of rules for GraphQL and REST', () => {
  const cases: Array<[string, string, Record<string, unknown>, string, () => string, Record<string, unknown>]> = [
    [
      'createEnvironment',
      'CreateEnvironmentInput!',
      { name: ' ', slug: '-x-', tier: 'DEV', executionBackend: { a: 'x'.repeat(17000) } },
      'post',
      () => `/orgs/${orgA.id}/workspaces/${a.ws}/environments`,
      { name: ' ', slug: '-x-', tier: 'dev', execution_backend: { a: 'x'.repeat(17000) } },
    ],
    [
      'createDeploymentRing',
      'CreateDeploymentRingInput!',
      { name: '', position: 25 },
      'post',
      () => `/orgs/${orgA.id}/workspaces/${a.ws}/deployments/rings`,
      { name: '', position: 25, environment_id: NEVER },
    ],
  ];
  test.each(cases)(
    '%s: the same fields refused by both transports',
    async (mutation, type, gqlInput, method, path, body) => {
      const input =
        mutation === 'createEnvironment'
          ? { ...gqlInput, workspaceId: gidOf('Workspace', a.ws) }
          : { ...gqlInput, workspaceId: gidOf('Workspace', a.ws), environmentId: gidOf('Environment', a.env) };
      const gql = await gw.graphql(`mutation($i: ${type}) { ${mutation}(input: $i) { id } }`, { i: input }, tokenA);
      const gqlFields = [...new Set(gql.body.errors![0].extensions.fields.map((f: { field: string }) => f.field))].map(
        (f) => (f as string).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      );
      const r = await rest(gw, method, path(), { token: tokenA, body });
      expectProblem(r, 400, 'BAD_USER_INPUT', gqlFields);
      // And the messages are the very class-validator messages GraphQL gives.
      const messages = (x: Array<{ message: string }>) => x.map((e) => e.message).sort();
      expect(messages(r.body.errors)).toEqual(messages(gql.body.errors![0].extensions.fields));
    },
  );
});

describe('pagination', () => {
  test('a newest-first list (ring promotions) pages through every entry once, in order, by its next links', async () => {
    const w = `/orgs/${orgA.id}/workspaces/${a.ws}`;
    const ids: string[] = [];
    for (const version of ['2', '3', '4', '5']) {
      ids.push(
        await created(
          rest(gw, 'post', `${w}/deployments/rings/${a.ring}/deployments`, {
            token: tokenA,
            body: { component_id: a.component, version },
          }),
        ),
      );
    }
    const seen: string[] = [];
    let next: string | null = `/api/v1${w}/deployments/rings/${a.ring}/promotions?limit=2`;
    while (next) {
      const page: RestResponse = await rest(gw, 'get', next, { token: tokenA });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((p: { id: string }) => p.id));
      expect(page.headers.get('link')).toBe(page.body.next ? `<${page.body.next}>; rel="next"` : null);
      next = page.body.next;
    }
    expect(seen).toEqual([...ids.reverse(), a.promotion]);
  });
});

describe('PATCH', () => {
  test('an empty merge patch changes nothing and answers the resource, on every PATCH route', async () => {
    const w = `/orgs/${orgA.id}/workspaces/${a.ws}`;
    for (const path of [
      `/orgs/${orgA.id}`,
      `/orgs/${orgA.id}/settings/branding`,
      `/orgs/${orgA.id}/settings/security`,
      `/orgs/${orgA.id}/settings/trace-config`,
      w,
      `${w}/environments/${a.env}`,
      `${w}/components/${a.component}`,
      `${w}/hosted-services/${a.component}`,
      `${w}/deployments/rings/${a.ring}`,
    ]) {
      const before = await rest(gw, 'get', path.replace(/\/settings\/.*/, '/settings'), { token: tokenA });
      const r = await rest(gw, 'patch', path, { token: tokenA, body: {}, contentType: 'application/merge-patch+json' });
      expect([path, r.status]).toEqual([path, 200]);
      const { updated_at: _a, ...was } = before.body;
      const { updated_at: _b, ...is } = r.body;
      expect([path, is]).toEqual([path, was]);
    }
  });
});

describe('organization status', () => {
  test('suspended: reads work, changes are 403 ORG_SUSPENDED; archived: everything is 403 ORG_ARCHIVED', async () => {
    const org = orgs()[2];
    const token = gw.token(org.id);
    const path = `/orgs/${org.id}/workspaces`;
    const ws = await created(rest(gw, 'post', path, { token, body: { name: 'S' } }));
    const setStatus = async (status: string) =>
      expect(
        (await cli(['org', 'set-status', '--org', org.slug, '--status', status], { DATABASE_URL: db.url })).code,
      ).toBe(0);
    await setStatus('suspended');
    expect((await rest(gw, 'get', `${path}/${ws}`, { token })).status).toBe(200);
    await expectProblemUnchanged(
      () => rest(gw, 'patch', `${path}/${ws}`, { token, body: { name: 'x' } }),
      { status: 403, code: 'ORG_SUSPENDED' },
      db,
    );
    await setStatus('archived');
    expectProblem(await rest(gw, 'get', `${path}/${ws}`, { token }), 403, 'ORG_ARCHIVED');
    await expectProblemUnchanged(
      () => rest(gw, 'delete', `${path}/${ws}`, { token }),
      { status: 403, code: 'ORG_ARCHIVED' },
      db,
    );
  });
});
