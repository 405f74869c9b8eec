import crypto from 'node:crypto';
import type { TestDatabase } from './database';
import { ok, uuidOf, type Org } from './fixtures';
import { cli, type RunningGateway } from './gateway';
import { rest, type RestResponse } from './rest';

/**
 * What the generated REST sweeps (test/rest-isolation.test.ts, test/rest-roles.test.ts) share: the
 * operations of the live OpenAPI document, an organization seeded with one object of every kind a path
 * parameter can name, and how to fill a path and a body for any operation.
 *
 * A path parameter this file does not know how to fill fails the sweeps (PARAMS below): a new resource
 * adds its parameter here, and is then swept without any other change.
 */

export interface Operation {
  method: string;
  /** The OpenAPI path, e.g. `/api/v1/orgs/{org_id}/workspaces/{workspace_id}`. */
  path: string;
  operationId: string;
  summary: string;
  scopes: string[];
  params: string[];
  /** The request body's schema (a `$ref` or inline), when the operation takes one. */
  body?: Record<string, unknown>;
}

export type Doc = { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, any> } };

/** Every operation of the document that needs a token (all but POST /auth/token). */
export function operationsOf(doc: Doc): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!op.security?.length) continue; // the token exchange
      const content = op.requestBody?.content ?? {};
      operations.push({
        method,
        path,
        operationId: op.operationId,
        summary: op.summary ?? '',
        scopes: op['x-required-scopes'] ?? [],
        params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]),
        body: (content['application/json'] ?? content['application/merge-patch+json'])?.schema,
      });
    }
  }
  return operations;
}

/** The users seeded in each organization (subs), by org role; workspace roles in the seeded workspace. */
export const USERS = {
  owner: 'user-1',
  admin: 'admin-1',
  /** Org role member, developer in the seeded workspace. */
  member: 'member-1',
  /** Org role viewer, viewer in the seeded workspace. */
  viewer: 'viewer-1',
  billing: 'billing-1',
} as const;

export interface Seed {
  org: Org;
  /** Raw UUIDs (and the target user id) by path parameter name. */
  ids: Record<string, string>;
  /** A second ring after `ring_id` (promotions go into it). */
  ring2: string;
  /** A component of each type (GraphQL enum name → UUID); `ids.component_id` is the AGENT. */
  components: Record<string, string>;
  /** The version deployed into `ring_id`. */
  version: string;
  token: string;
}

const gql = async (gw: RunningGateway, token: string, query: string, variables: Record<string, unknown>) =>
  ok<any>(await gw.graphql(query, variables, token));

/**
 * One object of every kind, created through the public GraphQL API (so the seed does not depend on the
 * REST routes it is used to test) as the organization's owner; members inserted as the platform would.
 */
export async function seedOrg(gw: RunningGateway, db: TestDatabase, org: Org, target: string): Promise<Seed> {
  const token = gw.token(org.id);
  const q = (query: string, variables: Record<string, unknown> = {}) => gql(gw, token, query, variables);
  for (const [role, user] of Object.entries(USERS)) {
    if (role === 'owner') continue;
    await db.admin.query(
      `INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [org.id, user, `${user}@${org.slug}.test`, role],
    );
  }
  // The member every sweep acts on (a plain viewer, so changing or removing them is allowed to admins).
  await db.admin.query(`INSERT INTO org_members (org_id, user_id, email, role) VALUES ($1, $2, $3, 'viewer')`, [
    org.id,
    target,
    `${target}@${org.slug}.test`,
  ]);
  const ws = (await q(`mutation { createWorkspace(input: { name: "Seeded" }) { id } }`)).createWorkspace.id;
  await q(
    `mutation($w: ID!) { a: setWorkspaceMember(workspaceId: $w, userId: "${USERS.member}", role: DEVELOPER) { role }
    b: setWorkspaceMember(workspaceId: $w, userId: "${USERS.viewer}", role: VIEWER) { role }
    c: setWorkspaceMember(workspaceId: $w, userId: "${target}", role: VIEWER) { role } }`,
    { w: ws },
  );
  const env = (
    await q(`mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`, {
      i: { workspaceId: ws, name: 'Seeded env', slug: 'seeded', tier: 'DEV', deploymentHost: 'AWS' },
    })
  ).createEnvironment.id;
  const components: Record<string, string> = {};
  for (const type of COMPONENT_TYPES) {
    components[type] = (
      await q(`mutation($i: CreateComponentInput!) { createComponent(input: $i) { id } }`, {
        i: { workspaceId: ws, name: `Seeded ${type}`, type, configuration: { n: 1 } },
      })
    ).createComponent.id;
  }
  const component = components.AGENT;
  const ring = async (name: string) =>
    (
      await q(`mutation($i: CreateDeploymentRingInput!) { createDeploymentRing(input: $i) { id } }`, {
        i: { workspaceId: ws, name, environmentId: env },
      })
    ).createDeploymentRing.id;
  const ring1 = await ring('canary');
  const ring2 = await ring('general');
  const version = '1.0.0';
  const promotion = (
    await q(`mutation($i: DeployComponentInput!) { deployComponent(input: $i) { id } }`, {
      i: { componentId: component, ringId: ring1, version },
    })
  ).deployComponent.id;
  const connector = (
    await q(`mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }`, {
      i: { workspaceId: ws, kind: 'DATABASE', name: 'Seeded db', config: { host: 'db.internal' }, secret: 'pw-123456' },
    })
  ).createConnector.id;
  await q(`mutation { updateSecuritySettings(input: { allowWorkspaceLlmOverrides: true }) { id } }`);
  await q(
    `mutation($w: ID!) { setWorkspaceLlmSettings(workspaceId: $w, input: { defaultProvider: OPENAI, defaultModel: "gpt-4o" }) { defaultModel } }`,
    { w: ws },
  );
  const key = (await q(`mutation { createApiKey(input: { name: "Seeded", scopes: ["org:read"] }) { apiKey { id } } }`))
    .createApiKey.apiKey.id;
  const granted = await cli(
    ['billing', 'grant', '--org', org.slug, '--amount', '1000000', '--reason', 'seed', '--json'],
    {
      DATABASE_URL: db.url,
      NODE_ENV: 'test',
    },
  );
  if (granted.code !== 0) throw new Error(`billing grant failed: ${granted.stderr}`);
  // A captured trace (issue 13): tracing on for one request, whose trace id comes back in `traceparent`,
  // then off again, so the sweeps' own requests store nothing (the database must stay unchanged).
  await q(`mutation { updateTraceConfig(input: { mode: ALL }) { id } }`);
  const traced = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ organization { id } }' }),
  });
  const traceId = traced.headers.get('traceparent')!.split('-')[1];
  await q(`mutation { updateTraceConfig(input: { mode: NONE }) { id } }`);
  // The trace is written after the answer (within ~50 ms): wait until it is readable.
  for (let i = 0; ; i++) {
    const found = await gw.graphql(`query($t: String!) { trace(traceId: $t) { traceId } }`, { t: traceId }, token);
    if (found.body.data?.trace) break;
    if (i > 100) throw new Error(`trace ${traceId} was never stored`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    org,
    token,
    components: Object.fromEntries(Object.entries(components).map(([t, id]) => [t, uuidOf(id)])),
    ring2: uuidOf(ring2),
    version,
    ids: {
      org_id: org.id,
      workspace_id: uuidOf(ws),
      environment_id: uuidOf(env),
      component_id: uuidOf(component),
      ring_id: uuidOf(ring1),
      promotion_id: uuidOf(promotion),
      connector_id: uuidOf(connector),
      api_key_id: uuidOf(key),
      user_id: target,
      trace_id: traceId,
    },
  };
}

/**
 * How each path parameter is filled: the seeded object's id. The sweeps fail on any other parameter —
 * add it here (and to seedOrg) when a route names a new kind of object.
 */
export const PARAMS = [
  'org_id',
  'workspace_id',
  'environment_id',
  'component_id',
  'ring_id',
  'promotion_id',
  'connector_id',
  'api_key_id',
  'user_id',
  'trace_id',
] as const;

/** Ids that never existed, for every parameter (a user id is text, the others UUIDs). */
export function neverIds(orgId: string): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const name of PARAMS)
    ids[name] =
      name === 'user_id'
        ? `never-${crypto.randomBytes(4).toString('hex')}`
        : name === 'trace_id'
          ? crypto.randomBytes(16).toString('hex')
          : crypto.randomUUID();
  ids.org_id = orgId;
  return ids;
}

export function fillPath(op: Operation, ids: Record<string, string>): string {
  return op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (!(PARAMS as readonly string[]).includes(name))
      throw new Error(
        `${op.method.toUpperCase()} ${op.path}: no way to fill {${name}} — add it to PARAMS and seedOrg in test/support/rest-sweep.ts`,
      );
    const value = ids[name];
    if (value === undefined) throw new Error(`${op.operationId}: no id for {${name}}`);
    return encodeURIComponent(value);
  });
}

let counter = 0;
/** A fresh short name: letters and digits (fits slugs, names, versions, match patterns). */
const fresh = () => `n${Date.now().toString(36)}${(counter++).toString(36)}`;

/**
 * Bodies the generator cannot know: values that must be consistent with the seeded state. Keyed by
 * operationId; merged over the generated body.
 */
function overrides(op: Operation, seed: Seed): Record<string, unknown> {
  switch (op.operationId) {
    case 'addMember': {
      const user = fresh();
      return { user_id: user, email: `${user}@example.test`, role: 'viewer' };
    }
    case 'createApiKey':
      return { scopes: ['org:read'] };
    case 'deployComponent':
      return { component_id: seed.ids.component_id, version: `2.${counter++}.0` };
    case 'promoteComponent':
      return { component_id: seed.ids.component_id, from_ring_id: seed.ids.ring_id, version: seed.version };
    case 'createDeploymentRing':
      return { environment_id: seed.ids.environment_id };
    case 'setEnvironmentCredentials':
      // The seeded environment deploys to AWS.
      return {
        aws: { access_key_id: 'AKIAABCDEFGHIJKLMNOP', secret_access_key: 'a'.repeat(40), region: 'eu-west-1' },
      };
    case 'recordUsage':
      return { amount: 1, reason: 'sweep' };
    case 'setBanner':
      return { message: 'Hello' };
    case 'rotateApiKey':
      return { grace_period_seconds: 0 };
    default:
      return {};
  }
}

export const COMPONENT_TYPES = ['AGENT', 'WORKFLOW', 'CODE_BLOCK', 'HOSTED_SERVICE'] as const;

/** The component type a path names (`/components/agents/…`, the `/hosted-services` alias); AGENT otherwise. */
export function componentTypeOf(path: string): (typeof COMPONENT_TYPES)[number] {
  if (/\/workflows(\/|$)/.test(path)) return 'WORKFLOW';
  if (/\/code-blocks(\/|$)/.test(path)) return 'CODE_BLOCK';
  if (/\/hosted-services(\/|$)/.test(path)) return 'HOSTED_SERVICE';
  return 'AGENT';
}

/**
 * Path parameters of an operation: the seeded ids, a component of the type the path names, and the
 * second ring for promotions (a promotion goes into the ring after the one the version is in).
 */
export function pathIds(op: Operation, seed: Seed): Record<string, string> {
  const ids: Record<string, string> = { ...seed.ids, component_id: seed.components[componentTypeOf(op.path)] };
  if (op.operationId === 'promoteComponent') ids.ring_id = seed.ring2;
  return ids;
}

/**
 * A valid body for the operation, generated from its OpenAPI schema (required fields only; enums take
 * their first value, ids the seeded object of the same name) with the overrides above.
 */
export function bodyFor(op: Operation, doc: Doc, seed: Seed): unknown {
  if (!op.body) return undefined;
  const given = overrides(op, seed);
  const generated = generate(op.body, doc, seed, '', new Set(Object.keys(given))) as Record<string, unknown>;
  return { ...generated, ...given };
}

function resolve(schema: any, doc: Doc): any {
  if (schema?.$ref) return resolve(doc.components.schemas[schema.$ref.split('/').pop()], doc);
  return schema;
}

function generate(input: any, doc: Doc, seed: Seed, name: string, skip = new Set<string>()): unknown {
  const schema = resolve(input, doc);
  if (schema.anyOf)
    return generate(
      schema.anyOf.find((s: any) => s.type !== 'null'),
      doc,
      seed,
      name,
    );
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of schema.required ?? [])
        if (!skip.has(key)) out[key] = generate(schema.properties[key], doc, seed, key);
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => generate(schema.items, doc, seed, name));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'string':
      if (schema.format === 'uuid') {
        const id = seed.ids[name];
        if (!id) throw new Error(`no seeded id for body field ${name}`);
        return id;
      }
      if (schema.format === 'email') return `${fresh()}@example.test`;
      if (schema.format === 'date-time') return new Date(Date.now() + 86400000).toISOString();
      return fresh();
    default:
      return {};
  }
}

export async function call(
  gw: RunningGateway,
  op: Operation,
  path: string,
  token: string,
  body: unknown,
): Promise<RestResponse> {
  return rest(gw, op.method, path, { token, ...(body !== undefined ? { body } : {}) });
}

/** What must be byte-identical between two refusals: status, media type, header names, body without request id. */
export function refusalShape(r: RestResponse): string {
  return JSON.stringify({
    status: r.status,
    type: r.headers.get('content-type'),
    headers: [...r.headers.keys()].filter((h) => !['date', 'x-request-id'].includes(h)).sort(),
    body: r.text.replace(/"request_id":"[^"]*"/, '"request_id":""'),
  });
}
