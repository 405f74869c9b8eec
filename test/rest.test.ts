import fs from 'node:fs';
import path from 'node:path';
import { buildSchema } from 'graphql';
import { validate } from '@readme/openapi-parser';
import { useGateway } from './support/harness';
import { expectProblem, expectProblemUnchanged, rest, withoutRequestId } from './support/rest';

/** The REST transport (src/rest): conventions, problem documents, the same rules as GraphQL. */
const { gw, db, orgA, orgB } = useGateway({ orgs: ['rest-a', 'rest-b'] });
let tokenA: string;
let tokenB: string;

beforeAll(() => {
  tokenA = gw.token(orgA.id);
  tokenB = gw.token(orgB.id);
});

describe('organization and settings', () => {
  test('GET the organization: snake_case, raw UUID, ETag', async () => {
    const r = await rest(gw, 'get', `/orgs/${orgA.id}`, { token: tokenA });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: orgA.id, slug: orgA.slug, status: 'active', primary_domain: null });
    expect(r.body.support_tier).toEqual(expect.any(String));
    expect(r.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await rest(gw, 'get', `/orgs/${orgA.id}`, {
      token: tokenA,
      headers: { 'if-none-match': r.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
  });

  test('a value of the wrong type or enum is reported once per field, nothing changed', async () => {
    const r = await expectProblemUnchanged(
      () =>
        rest(gw, 'patch', `/orgs/${orgA.id}/settings/trace-config`, {
          token: tokenA,
          body: { mode: 'ALL', sample_rate: 'half' },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['mode', 'sample_rate'] },
      db,
    );
    expect(r.body.errors).toHaveLength(2);
  });

  test('PATCH merges: an omitted field is kept, null clears', async () => {
    const first = await rest(gw, 'patch', `/orgs/${orgA.id}`, {
      token: tokenA,
      body: { primary_domain: 'Acme.example', industry: 'Robots' },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ primary_domain: 'acme.example', industry: 'Robots' });
    const second = await rest(gw, 'patch', `/orgs/${orgA.id}`, { token: tokenA, body: { industry: null } });
    expect(second.body).toMatchObject({ primary_domain: 'acme.example', industry: null });
    expect(second.headers.get('etag')).toBe(
      (await rest(gw, 'get', `/orgs/${orgA.id}`, { token: tokenA })).headers.get('etag'),
    );
  });

  test('settings: GET, PATCH trace-config, PUT and DELETE the banner', async () => {
    const r = await rest(gw, 'patch', `/orgs/${orgA.id}/settings/trace-config`, {
      token: tokenA,
      body: { mode: 'sampled', sample_rate: 0.25 },
    });
    expect(r.status).toBe(200);
    expect(r.body.trace_config).toEqual({ mode: 'sampled', sample_rate: 0.25, retention_days: 30 });
    const banner = await rest(gw, 'put', `/orgs/${orgA.id}/settings/banner`, {
      token: tokenA,
      body: { message: 'Hi' },
    });
    expect(banner.status).toBe(200);
    expect(banner.body.banner).toEqual({ message: 'Hi', variant: 'info', dismissible: true });
    expect((await rest(gw, 'delete', `/orgs/${orgA.id}/settings/banner`, { token: tokenA })).status).toBe(204);
    expect((await rest(gw, 'get', `/orgs/${orgA.id}/settings`, { token: tokenA })).body.banner).toBeNull();
  });

  test('every bad field at once, snake_case, nothing changed', async () => {
    await expectProblemUnchanged(
      () =>
        rest(gw, 'patch', `/orgs/${orgA.id}/settings/trace-config`, {
          token: tokenA,
          body: { mode: 'sometimes', sample_rate: 2, retention_days: '5', sampleRate: 1 },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['mode', 'sample_rate', 'retention_days', 'sampleRate'] },
      db,
    );
  });
});

describe('workspaces', () => {
  test('create → 201 + Location, read, list with next link, patch with If-Match, delete → 204', async () => {
    const created = await rest(gw, 'post', `/orgs/${orgA.id}/workspaces`, { token: tokenA, body: { name: 'One' } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.headers.get('location')).toBe(`/api/v1/orgs/${orgA.id}/workspaces/${id}`);
    const read = await rest(gw, 'get', created.headers.get('location')!, { token: tokenA });
    expect(read.body).toMatchObject({ id, name: 'One', description: null });
    await rest(gw, 'post', `/orgs/${orgA.id}/workspaces`, { token: tokenA, body: { name: 'Two' } });
    const page = await rest(gw, 'get', `/orgs/${orgA.id}/workspaces?limit=1`, { token: tokenA });
    expect(page.body.items).toHaveLength(1);
    expect(page.headers.get('link')).toBe(`<${page.body.next}>; rel="next"`);
    const next = await rest(gw, 'get', page.body.next, { token: tokenA });
    expect(next.body.items[0].id).not.toBe(page.body.items[0].id);

    const etag = read.headers.get('etag')!;
    const patched = await rest(gw, 'patch', `/orgs/${orgA.id}/workspaces/${id}`, {
      token: tokenA,
      body: { description: 'first' },
      headers: { 'if-match': etag },
    });
    expect(patched.status).toBe(200);
    await expectProblemUnchanged(
      () =>
        rest(gw, 'patch', `/orgs/${orgA.id}/workspaces/${id}`, {
          token: tokenA,
          body: { description: 'stale' },
          headers: { 'if-match': etag },
        }),
      { status: 412, code: 'PRECONDITION_FAILED' },
      db,
    );
    const deleted = await rest(gw, 'delete', `/orgs/${orgA.id}/workspaces/${id}`, {
      token: tokenA,
      headers: { 'if-match': patched.headers.get('etag')! },
    });
    expect(deleted.status).toBe(204);
    expectProblem(await rest(gw, 'get', `/orgs/${orgA.id}/workspaces/${id}`, { token: tokenA }), 404, 'NOT_FOUND');
  });

  test("another organization's ids answer the same 404 as ids that never existed", async () => {
    const a = await rest(gw, 'post', `/orgs/${orgA.id}/workspaces`, { token: tokenA, body: { name: 'Secret' } });
    const never = '0190a000-0000-7000-8000-000000000000';
    const answers = await Promise.all([
      rest(gw, 'get', `/orgs/${orgB.id}/workspaces/${a.body.id}`, { token: tokenB }),
      rest(gw, 'get', `/orgs/${orgB.id}/workspaces/${never}`, { token: tokenB }),
      rest(gw, 'get', `/orgs/${orgA.id}/workspaces/${a.body.id}`, { token: tokenB }),
      rest(gw, 'get', `/orgs/${orgB.id}/workspaces/not-a-uuid`, { token: tokenB }),
    ]);
    for (const r of answers) expectProblem(r, 404, 'NOT_FOUND');
    const bodies = new Set(answers.map(withoutRequestId));
    expect(bodies.size).toBe(1);
    const headerNames = answers.map((r) =>
      [...r.headers.keys()].filter((h) => !['date', 'x-request-id'].includes(h)).join(),
    );
    expect(new Set(headerNames).size).toBe(1);
  });
});

describe('the same rules as GraphQL', () => {
  test('a REST change is in the audit log like a GraphQL one, with its request id', async () => {
    const created = await rest(gw, 'post', `/orgs/${orgA.id}/workspaces`, {
      token: tokenA,
      body: { name: 'Audited' },
      headers: { 'x-request-id': 'rest-audit-1' },
    });
    expect(created.status).toBe(201);
    const log = await gw.graphql(
      `{ organization { auditLog(first: 100) { edges { node { operation targetType targetId requestId actor } } } } }`,
      {},
      tokenA,
    );
    const entries = log.body.data.organization.auditLog.edges.map((e: { node: unknown }) => e.node);
    expect(entries).toContainEqual({
      operation: 'createWorkspace',
      targetType: 'Workspace',
      targetId: expect.any(String),
      requestId: 'rest-audit-1',
      actor: 'user-1',
    });
  });

  test('no token → 401 with WWW-Authenticate; a bad token → 401 invalid_token', async () => {
    const none = await rest(gw, 'get', `/orgs/${orgA.id}`);
    expectProblem(none, 401, 'UNAUTHENTICATED');
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="manifest-gateway"');
    const bad = await rest(gw, 'get', `/orgs/${orgA.id}`, { token: 'not.a.jwt' });
    expectProblem(bad, 401, 'UNAUTHENTICATED');
    expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  test('a missing scope → 403 FORBIDDEN, nothing changed', async () => {
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `/orgs/${orgA.id}/workspaces`, {
          token: gw.token(orgA.id, ['workspaces:read']),
          body: { name: 'x' },
        }),
      { status: 403, code: 'FORBIDDEN' },
      db,
    );
  });

  test('malformed JSON, another media type, an oversized body, unknown query parameters: 4xx problems', async () => {
    const path = `/orgs/${orgA.id}/workspaces`;
    await expectProblemUnchanged(
      () => rest(gw, 'post', path, { token: tokenA, rawBody: '{"name":' }),
      { status: 400, code: 'BAD_REQUEST' },
      db,
    );
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', path, { token: tokenA, rawBody: 'name=x', contentType: 'application/x-www-form-urlencoded' }),
      { status: 415, code: 'BAD_REQUEST' },
      db,
    );
    await expectProblemUnchanged(
      () => rest(gw, 'post', path, { token: tokenA, body: { name: 'x', description: 'y'.repeat(1_100_000) } }),
      { status: 413, code: 'BAD_REQUEST' },
      db,
    );
    await expectProblemUnchanged(
      () => rest(gw, 'post', path, { token: tokenA, body: [] }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['body'] },
      db,
    );
    expectProblem(
      await rest(gw, 'get', `${path}?limit=0&cursor=nope&sort=name`, { token: tokenA }),
      400,
      'BAD_USER_INPUT',
      ['limit', 'cursor', 'sort'],
    );
    const wrongMethod = await rest(gw, 'put', path, { token: tokenA, body: {} });
    expectProblem(wrongMethod, 405, 'BAD_REQUEST');
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
  });
});

describe('scopes: the same as GraphQL', () => {
  /** `@requiresScopes` groups (OR of ANDs) of a type or of a Mutation field, read from schema.graphql. */
  const sdl = fs.readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8');
  const schema = buildSchema(sdl);
  const groups = (node: { astNode?: { directives?: readonly any[] } | null } | undefined): string[][] | null => {
    const directive = node?.astNode?.directives?.find((d) => d.name.value === 'requiresScopes');
    if (!directive) return null;
    return directive.arguments[0].value.values.map((g: any) => g.values.map((v: any) => v.value));
  };
  /** REST-only view types and the GraphQL types whose fields they show. */
  const VIEWS: Record<string, string[]> = {
    OrganizationSettings: ['Branding', 'SecuritySettings', 'Banner', 'GatewayTraceConfig'],
    EnvironmentWithCredentials: ['Environment', 'SecretStatus'],
    ConnectorWithSecret: ['Connector', 'SecretStatus'],
    WorkspaceLlmSettingsWithStatus: ['WorkspaceLlmSettings'],
    TraceWithSpans: ['Trace', 'TraceSpan'],
  };

  test("every route needs at least the GraphQL mutation's scopes and the scopes of the type it answers", async () => {
    const { body } = await rest(gw, 'get', '/openapi.json');
    const mutation = schema.getMutationType()!.getFields();
    let checked = 0;
    for (const [p, operations] of Object.entries<any>(body.paths)) {
      for (const [method, op] of Object.entries<any>(operations)) {
        if (p === '/auth/token') continue;
        const scopes = new Set<string>(op['x-required-scopes']);
        const satisfied = (g: string[][] | null) => !g || g.some((and) => and.every((s) => scopes.has(s)));
        const audit = op['x-audit-operation'];
        if (audit) {
          const field = mutation[audit];
          expect([method, p, audit, Boolean(field)]).toEqual([method, p, audit, true]);
          expect([method, p, 'mutation', satisfied(groups(field))]).toEqual([method, p, 'mutation', true]);
        }
        const ok = Object.values<any>(op.responses).find((r) => r.content?.['application/json'])?.content[
          'application/json'
        ].schema;
        const ref: string | undefined = ok?.$ref ?? ok?.properties?.items?.items?.$ref;
        if (ref) {
          const name = ref.split('/').at(-1)!;
          for (const type of VIEWS[name] ?? [name]) {
            const gqlType = schema.getType(type) as any;
            expect([method, p, type, Boolean(gqlType)]).toEqual([method, p, type, true]);
            expect([method, p, type, satisfied(groups(gqlType))]).toEqual([method, p, type, true]);
          }
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });
});

describe('the OpenAPI document', () => {
  test('is served without a token and lists the routes', async () => {
    const r = await rest(gw, 'get', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/orgs/{org_id}/workspaces/{workspace_id}', '/auth/token']),
    );
  });

  test('is valid OpenAPI 3.1 for a maintained validator (@readme/openapi-parser)', async () => {
    const r = await rest(gw, 'get', '/openapi.json');
    const result = await validate(r.body);
    expect(result).toMatchObject({ valid: true, specification: 'OpenAPI' });
    expect(result.warnings).toEqual([]);
    // The validator itself is not a no-op: a path parameter without its declaration is refused.
    const broken = structuredClone(r.body);
    broken.paths['/api/v1/orgs/{org_id}'].get.parameters = [];
    expect((await validate(broken)).valid).toBe(false);
  });

  test('request schemas are the GraphQL inputs, response schemas the GraphQL types, snake_case', async () => {
    const { body } = await rest(gw, 'get', '/openapi.json');
    const schemas = body.components.schemas;
    expect(schemas.CreateWorkspaceInput).toMatchObject({
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', maxLength: 200 },
        description: { anyOf: [{ maxLength: 2000 }, { type: 'null' }] },
      },
    });
    expect(schemas.UpdateTraceConfigInputPatch.properties.retention_days).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 365,
    });
    expect(schemas.TraceMode.enum).toEqual(['all', 'errors_only', 'sampled', 'none']);
    expect(Object.keys(schemas.Organization.properties)).toEqual(
      expect.arrayContaining(['primary_domain', 'support_tier']),
    );
    expect(body.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
  });
});

describe('environments, components and the release pipeline', () => {
  const base = () => `/orgs/${orgA.id}/workspaces`;

  test('environment credentials are write-only: set, shown as a status, cleared', async () => {
    const ws = (await rest(gw, 'post', base(), { token: tokenA, body: { name: 'Creds' } })).body.id;
    const env = await rest(gw, 'post', `${base()}/${ws}/environments`, {
      token: tokenA,
      body: { name: 'Prod', slug: 'prod', tier: 'prod', deployment_host: 'aws' },
    });
    expect(env.status).toBe(201);
    expect(env.body).toMatchObject({ workspace_id: ws, tier: 'prod', deployment_host: 'aws', execution_backend: {} });
    expect(env.body.credentials).toMatchObject({ is_set: false });
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const set = await rest(gw, 'put', `${base()}/${ws}/environments/${env.body.id}/credentials`, {
      token: tokenA,
      body: { aws: { access_key_id: 'AKIAIOSFODNN7EXAMPLE', secret_access_key: secret, region: 'eu-west-1' } },
    });
    expect(set.status).toBe(200);
    expect(set.body.credentials).toMatchObject({ is_set: true, provider: 'aws', readable: true });
    const read = await rest(gw, 'get', `${base()}/${ws}/environments/${env.body.id}`, { token: tokenA });
    expect(read.text).not.toContain(secret);
    expect(read.text).not.toContain('AKIAIOSFODNN7EXAMPLE');
    // A bad credential: every bad field, never the value.
    const bad = await expectProblemUnchanged(
      () =>
        rest(gw, 'put', `${base()}/${ws}/environments/${env.body.id}/credentials`, {
          token: tokenA,
          body: { aws: { access_key_id: 'nope', secret_access_key: 'short-secret-value', region: 'mars' } },
        }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['aws.access_key_id', 'aws.secret_access_key', 'aws.region'] },
      db,
    );
    expect(bad.text).not.toContain('short-secret-value');
    const cleared = await rest(gw, 'delete', `${base()}/${ws}/environments/${env.body.id}/credentials`, {
      token: tokenA,
    });
    expect(cleared.status).toBe(204);
    const list = await rest(gw, 'get', `${base()}/${ws}/environments?tier=prod`, { token: tokenA });
    expect(list.body.items.map((e: { id: string }) => e.id)).toEqual([env.body.id]);
    expect(list.body.items[0].credentials.is_set).toBe(false);
  });

  test('a workspace, an environment, a hosted service, two rings: deploy, promote, history', async () => {
    const ws = (await rest(gw, 'post', base(), { token: tokenA, body: { name: 'Pipeline' } })).body.id;
    const w = `${base()}/${ws}`;
    const dev = (
      await rest(gw, 'post', `${w}/environments`, { token: tokenA, body: { name: 'Dev', slug: 'dev', tier: 'dev' } })
    ).body;
    const prod = (
      await rest(gw, 'post', `${w}/environments`, { token: tokenA, body: { name: 'Prod', slug: 'prod', tier: 'prod' } })
    ).body;
    const service = await rest(gw, 'post', `${w}/hosted-services`, {
      token: tokenA,
      body: { name: 'API', configuration: { port: 8080 } },
    });
    expect(service.status).toBe(201);
    expect(service.body).toMatchObject({ type: 'hosted_service', name: 'API', configuration: { port: 8080 } });
    expect(service.headers.get('location')).toBe(`/api/v1${w}/hosted-services/${service.body.id}`);
    const agent = await rest(gw, 'post', `${w}/components/agents`, { token: tokenA, body: { name: 'Bot' } });
    expect(agent.body.type).toBe('agent');
    expect(agent.headers.get('location')).toBe(`/api/v1${w}/components/${agent.body.id}`);
    // The typed lists and the alias see what they should.
    const typed = await rest(gw, 'get', `${w}/components/hosted-services`, { token: tokenA });
    expect(typed.body.items.map((c: { id: string }) => c.id)).toEqual([service.body.id]);
    const alias = await rest(gw, 'get', `${w}/hosted-services`, { token: tokenA });
    expect(alias.body.items).toEqual(typed.body.items);
    expect((await rest(gw, 'get', `${w}/components?type=agent`, { token: tokenA })).body.items).toHaveLength(1);
    expectProblem(await rest(gw, 'get', `${w}/hosted-services/${agent.body.id}`, { token: tokenA }), 404, 'NOT_FOUND');
    // A type in the body of a typed path is not a field there.
    await expectProblemUnchanged(
      () => rest(gw, 'post', `${w}/components/agents`, { token: tokenA, body: { name: 'x', type: 'workflow' } }),
      { status: 400, code: 'BAD_USER_INPUT', fields: ['type'] },
      db,
    );

    const first = await rest(gw, 'post', `${w}/deployments/rings`, {
      token: tokenA,
      body: { name: 'canary', environment_id: dev.id },
    });
    expect(first.status).toBe(201);
    const second = await rest(gw, 'post', `${w}/deployments/rings`, {
      token: tokenA,
      body: { name: 'prod', environment_id: prod.id },
    });
    const rings = await rest(gw, 'get', `${w}/deployments/rings`, { token: tokenA });
    expect(rings.body.items.map((r: { name: string; position: number }) => [r.name, r.position])).toEqual([
      ['canary', 0],
      ['prod', 1],
    ]);
    const deployed = await rest(gw, 'post', `${w}/deployments/rings/${first.body.id}/deployments`, {
      token: tokenA,
      body: { component_id: service.body.id, version: '1.0.0' },
    });
    expect(deployed.status).toBe(201);
    expect(deployed.body).toMatchObject({
      component_id: service.body.id,
      from_ring_id: null,
      to_ring_id: first.body.id,
      version: '1.0.0',
    });
    expect(deployed.headers.get('location')).toBe(
      `/api/v1${w}/deployments/rings/${first.body.id}/promotions/${deployed.body.id}`,
    );
    const promoted = await rest(gw, 'post', `${w}/deployments/rings/${second.body.id}/promotions`, {
      token: tokenA,
      body: { component_id: service.body.id, from_ring_id: first.body.id, version: '1.0.0' },
    });
    expect(promoted.status).toBe(201);
    expect(promoted.body).toMatchObject({ from_ring_id: first.body.id, to_ring_id: second.body.id });
    const inProd = await rest(gw, 'get', `${w}/deployments/rings/${second.body.id}/deployments`, { token: tokenA });
    expect(inProd.body.items).toEqual([expect.objectContaining({ component_id: service.body.id, version: '1.0.0' })]);
    const history = await rest(gw, 'get', `${w}/deployments/rings/${second.body.id}/promotions`, { token: tokenA });
    expect(history.body.items.map((p: { id: string }) => p.id)).toEqual([promoted.body.id]);
    const one = await rest(gw, 'get', promoted.headers.get('location')!, { token: tokenA });
    expect(one.body.id).toBe(promoted.body.id);
    const perComponent = await rest(gw, 'get', `${w}/components/${service.body.id}/deployments`, { token: tokenA });
    expect(perComponent.body.items.map((d: { ring_id: string }) => d.ring_id)).toEqual([first.body.id, second.body.id]);
    // Promoting a version that is not in the ring before: the service's rule, as a problem; nothing changed.
    await expectProblemUnchanged(
      () =>
        rest(gw, 'post', `${w}/deployments/rings/${second.body.id}/promotions`, {
          token: tokenA,
          body: { component_id: service.body.id, from_ring_id: first.body.id, version: '9.9.9' },
        }),
      { status: 400, code: 'BAD_USER_INPUT' },
      db,
    );
  });
});
