import {
  getIntrospectionQuery,
  type IntrospectionField,
  type IntrospectionInputTypeRef,
  type IntrospectionQuery,
  type IntrospectionTypeRef,
} from 'graphql';
import { snapshot } from './support/database';
import { gid, createTree, ok, type Tree } from './support/fixtures';
import { useGateway } from './support/harness';

/**
 * The generated isolation sweep. It reads the live schema by introspection and calls EVERY query and
 * mutation that takes an id (directly or inside its input) with org B's token on each of org A's ids,
 * expecting NOT_FOUND (or nothing), no trace of A's data, and an unchanged database. Operations added
 * later are swept without editing this file; one it cannot build arguments for fails the test, and
 * so does a new operation that takes no id unless it is listed below as acting on the caller's own
 * organization only (which its own tests must then prove).
 */
const OWN_ORGANIZATION_ONLY = new Set([
  'Query.viewer',
  'Query.organization',
  'Mutation.updateOrganization',
  'Mutation.createWorkspace',
  'Mutation.addMember',
  'Mutation.updateBranding',
  'Mutation.updateSecuritySettings',
  'Mutation.setBanner',
  'Mutation.clearBanner',
  'Mutation.updateTraceConfig',
  'Mutation.createApiKey',
]);

/**
 * Operations keyed by something other than a global id, swept by their own test below: traces are keyed by
 * their W3C trace id (the `traceparent` header's), which is not a Node id.
 */
const SWEPT_BY_TRACE_ID = new Set(['Query.trace']);

/** Lookups by global id that answer null (not NOT_FOUND) for an id that is not visible, as Relay specifies. */
const NULL_WHEN_MISSING = new Set(['node', 'nodes']);

const { gw, db, orgA, orgB } = useGateway({ orgs: ['sweep-a', 'sweep-b'] });
let treeA: Tree;
/** Ids of org A's objects that createTree does not make. */
const moreIdsA: string[] = [];
let schema: IntrospectionQuery['__schema'];
let traceIdA = '';

beforeAll(async () => {
  treeA = await createTree(gw, gw.token(orgA.id), { workspaces: 1, environments: 1, components: 1 });
  // A deployment ring with history, so ring and promotion ids are swept too.
  const [wsA] = treeA.workspaces;
  const ring = ok<any>(
    await gw.graphql(
      `mutation($i: CreateDeploymentRingInput!) { createDeploymentRing(input: $i) { id } }`,
      { i: { workspaceId: wsA.id, name: 'canary', environmentId: wsA.environments[0] } },
      gw.token(orgA.id),
    ),
  ).createDeploymentRing.id;
  const promotion = ok<any>(
    await gw.graphql(
      `mutation($i: DeployComponentInput!) { deployComponent(input: $i) { id } }`,
      { i: { componentId: wsA.components[0], ringId: ring, version: '1.0.0' } },
      gw.token(orgA.id),
    ),
  ).deployComponent.id;
  moreIdsA.push(ring, promotion);
  await createTree(gw, gw.token(orgB.id), { workspaces: 1, environments: 1, components: 1 });
  const connector = ok<any>(
    await gw.graphql(
      `mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }`,
      {
        i: {
          workspaceId: treeA.workspaces[0].id,
          kind: 'DATABASE',
          name: 'a-db',
          config: { host: 'db' },
          secret: 'a-secret-value',
        },
      },
      gw.token(orgA.id),
    ),
  ).createConnector.id as string;
  moreIdsA.push(connector);
  const apiKey = ok<any>(
    await gw.graphql(
      `mutation { createApiKey(input: { name: "a-key", scopes: ["org:read"] }) { apiKey { id } } }`,
      {},
      gw.token(orgA.id),
    ),
  ).createApiKey.apiKey.id as string;
  const audit = ok<any>(
    await gw.graphql(`{ organization { auditLog(first: 1) { edges { node { id } } } } }`, {}, gw.token(orgA.id)),
  ).organization.auditLog.edges[0].node.id as string;
  moreIdsA.push(apiKey, audit);
  // One of org A's request traces (README "Tracing"): org A traces everything for one request.
  await db.admin.query(`UPDATE organizations SET trace_mode = 'all' WHERE id = $1`, [orgA.id]);
  const traced = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.token(orgA.id)}` },
    body: JSON.stringify({ query: '{ organization { name } }' }),
  });
  traceIdA = traced.headers.get('traceparent')!.split('-')[1];
  await db.admin.query(`UPDATE organizations SET trace_mode = 'none' WHERE id = $1`, [orgA.id]);
  for (let i = 0; i < 200; i++) {
    if ((await db.admin.query(`SELECT 1 FROM traces WHERE trace_id = $1`, [traceIdA])).rows.length) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  schema = ok<IntrospectionQuery>(await gw.graphql(getIntrospectionQuery(), {}, gw.token(orgB.id))).__schema;
});

function named(ref: IntrospectionTypeRef | IntrospectionInputTypeRef): {
  name: string;
  kind: string;
  nonNull: boolean;
} {
  let nonNull = false;
  let current = ref as any;
  if (current.kind === 'NON_NULL') nonNull = true;
  while (current.ofType) current = current.ofType;
  return { name: current.name, kind: current.kind, nonNull };
}

function typeString(ref: IntrospectionTypeRef | IntrospectionInputTypeRef): string {
  const r = ref as any;
  if (r.kind === 'NON_NULL') return `${typeString(r.ofType)}!`;
  if (r.kind === 'LIST') return `[${typeString(r.ofType)}]`;
  return r.name;
}

const typeByName = (name: string) => schema.types.find((t) => t.name === name)!;

/** Does this argument carry an id (an ID scalar, or an input object with an ID field)? */
function carriesId(ref: IntrospectionInputTypeRef, depth = 0): boolean {
  const { name, kind } = named(ref);
  if (name === 'ID') return true;
  if (kind !== 'INPUT_OBJECT' || depth > 3) return false;
  const type = typeByName(name) as any;
  return type.inputFields.some((f: any) => carriesId(f.type, depth + 1));
}

/** A value for an argument: ids are the foreign id; everything else a minimal valid value. */
function build(ref: IntrospectionInputTypeRef, id: string, where: string): unknown {
  const { name, kind, nonNull } = named(ref);
  if (name === 'ID') return id;
  if (kind === 'INPUT_OBJECT') {
    const type = typeByName(name) as any;
    return Object.fromEntries(
      type.inputFields
        .filter((f: any) => named(f.type).nonNull || carriesId(f.type))
        .map((f: any) => [f.name, build(f.type, id, `${where}.${f.name}`)]),
    );
  }
  if (kind === 'ENUM') return (typeByName(name) as any).enumValues[0].name;
  switch (name) {
    case 'String':
      return 'sweep';
    case 'Int':
    case 'Float':
      return 1;
    case 'Boolean':
      return false;
    case 'JSONObject':
      return {};
    default:
      if (!nonNull) return null;
      throw new Error(`the isolation sweep cannot build a value of type ${name} for ${where}: teach build() about it`);
  }
}

function operations(): Array<{ root: 'query' | 'mutation'; field: IntrospectionField }> {
  const fieldsOf = (name: string) => (typeByName(name) as any).fields as IntrospectionField[];
  return [
    ...fieldsOf(schema.queryType.name).map((field) => ({ root: 'query' as const, field })),
    ...fieldsOf(schema.mutationType!.name).map((field) => ({ root: 'mutation' as const, field })),
  ];
}

test("every operation is either swept (takes an id) or declared to act on the caller's own organization only", () => {
  const unaccounted = operations()
    .filter(({ field }) => !field.args.some((a) => carriesId(a.type)))
    .map(({ root, field }) => `${root === 'query' ? 'Query' : 'Mutation'}.${field.name}`)
    .filter((name) => !OWN_ORGANIZATION_ONLY.has(name) && !SWEPT_BY_TRACE_ID.has(name));
  expect(unaccounted).toEqual([]);
});

test("with org B's token, every id-taking operation on every one of org A's ids finds nothing and changes nothing", async () => {
  const foreignIds = [
    gid('Organization', orgA.id),
    ...treeA.workspaces.flatMap((w) => [w.id, ...w.environments, ...w.components]),
    ...moreIdsA,
  ];
  const swept = operations().filter(({ field }) => field.args.some((a) => carriesId(a.type)));
  expect(swept.length).toBeGreaterThanOrEqual(13); // node, nodes, 3 other queries + 8 mutations at least
  const before = await snapshot(db.admin);
  const tokenB = gw.token(orgB.id);
  let calls = 0;
  for (const { root, field } of swept) {
    const returns = named(field.type);
    const selection = returns.kind === 'OBJECT' || returns.kind === 'INTERFACE' ? '{ __typename }' : '';
    const declared = field.args.map((a) => `$${a.name}: ${typeString(a.type)}`).join(', ');
    const passed = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
    const document = `${root} Sweep(${declared}) { result: ${field.name}(${passed}) ${selection} }`;
    for (const id of foreignIds) {
      const variables = Object.fromEntries(
        field.args.map((a) => [a.name, build(a.type, id, `${field.name}.${a.name}`)]),
      );
      const response = await gw.graphql(document, variables, tokenB);
      calls++;
      const codes = (response.body.errors ?? []).map((e) => e.extensions.code);
      if (NULL_WHEN_MISSING.has(field.name)) {
        // node/nodes answer a foreign id as one that never existed: null, no error.
        expect({ operation: field.name, id, codes, result: response.body.data?.result }).toEqual({
          operation: field.name,
          id,
          codes: [],
          result: field.name === 'nodes' ? [null] : null,
        });
      } else {
        expect({ operation: field.name, id, codes }).toEqual({ operation: field.name, id, codes: ['NOT_FOUND'] });
        expect(response.body.data?.result ?? null).toBeNull();
      }
      // The error may echo the id the caller sent; it must reveal nothing else of org A's.
      for (const other of foreignIds.filter((f) => f !== id))
        expect(JSON.stringify(response.body)).not.toContain(other);
    }
  }
  expect(calls).toBe(swept.length * foreignIds.length);
  expect(await snapshot(db.admin)).toEqual(before);
});

test("with org B's token, org A's trace id answers exactly like a trace id that never existed", async () => {
  expect((await db.admin.query(`SELECT 1 FROM traces WHERE trace_id = $1`, [traceIdA])).rows).toHaveLength(1);
  const before = await snapshot(db.admin);
  const document = 'query($id: String!) { trace(traceId: $id) { traceId spans { id } } }';
  const foreign = await gw.graphql(document, { id: traceIdA }, gw.token(orgB.id));
  const never = await gw.graphql(document, { id: 'f'.repeat(32) }, gw.token(orgB.id));
  const shape = (r: typeof foreign) => ({
    status: r.status,
    data: r.body.data,
    errors: r.body.errors?.map((e) => ({
      message: e.message.replace(traceIdA, 'ID').replace('f'.repeat(32), 'ID'),
      code: e.extensions.code,
      path: e.path,
    })),
  });
  expect(shape(foreign)).toEqual(shape(never));
  expect(shape(foreign).errors?.[0].code).toBe('NOT_FOUND');
  const listB = ok<any>(
    await gw.graphql('{ organization { traces { totalCount edges { node { traceId } } } } }', {}, gw.token(orgB.id)),
  ).organization.traces;
  expect(listB.edges.map((e: any) => e.node.traceId)).not.toContain(traceIdA);
  expect(await snapshot(db.admin)).toEqual(before);
});
