import crypto from 'node:crypto';
import fc from 'fast-check';
import { getIntrospectionQuery, type IntrospectionQuery } from 'graphql';
import { snapshotDigest } from './support/database';
import { type GraphQLResponse } from './support/gateway';
import { ok } from './support/fixtures';
import { ALL_SCOPES } from './support/scopes';
import { enumValues, type EnumLookup } from './support/enums';
import { claimsFor, signEs256 } from './support/tokens';
import { useGateway } from './support/harness';

/**
 * Generated hostile-input fuzzing (property-based, fast-check). It reads the live schema by
 * introspection and, for EVERY argument of every query and mutation (and of the fields one hop below a
 * query, such as `organization { members(after:) }`), down into input objects and lists, sends hostile
 * values in place of that one argument, in variables and as literals, the other arguments being valid
 * (real ids of the caller's own objects), so the call gets as deep as it can:
 *   strings: NUL, unpaired surrogates, 1 MB and 100 kB, control characters, RTL/zero-width, SQL and JSON
 *   fragments, any UTF-16 code unit; numbers: huge, negative, fractional, NaN-like strings; JSON: deep
 *   nesting, huge arrays, surrogates and NUL in keys and values; and values of the wrong type.
 * Every answer: no INTERNAL_SERVER_ERROR, no HTTP 5xx, only client codes; a string with NUL or an
 * unpaired surrogate is refused as BAD_USER_INPUT naming the field; a refused mutation changes nothing.
 * The same for every claim of a correctly signed token (→ 401 UNAUTHENTICATED).
 *
 * Bounded: FUZZ_RUNS random values per argument (default 4) besides the fixed examples; the seed is
 * printed, and FUZZ_SEED=<seed> replays a run. Operations added later are fuzzed without editing this file.
 */
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env.FUZZ_RUNS ?? 4);
jest.setTimeout(240_000);

const { gw, db, org } = useGateway({ orgs: ['fuzz'] });
let token: string;
let E: EnumLookup;
let schema: IntrospectionQuery['__schema'];
/** Valid ids of the caller's own objects, by what they identify. */
const ids: Record<string, string> = {};

const gql = async (query: string, variables: Record<string, unknown> = {}) =>
  ok<any>(await gw.graphql(query, variables, token));

beforeAll(async () => {
  // eslint-disable-next-line no-console
  console.log(`hostile-input fuzz: seed ${SEED}, ${RUNS} random values per argument (replay: FUZZ_SEED=${SEED})`);
  token = gw.token(org.id, ALL_SCOPES, { sub: 'user-1' });
  E = await enumValues(gw, token);
  schema = ok<IntrospectionQuery>(await gw.graphql(getIntrospectionQuery(), {}, token)).__schema;
  ids.workspace = (
    await gql(`mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }`, { i: { name: 'Fuzz' } })
  ).createWorkspace.id;
  const env = (slug: string) =>
    gql(`mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`, {
      i: { workspaceId: ids.workspace, name: slug, slug, tier: E.EnvironmentTier('dev') },
    });
  ids.environment = (await env('dev')).createEnvironment.id;
  ids.environment2 = (await env('stage')).createEnvironment.id;
  ids.component = (
    await gql(`mutation($i: CreateComponentInput!) { createComponent(input: $i) { id } }`, {
      i: { workspaceId: ids.workspace, name: 'Bot', type: E.ComponentType('agent') },
    })
  ).createComponent.id;
  const ring = (name: string, environmentId: string) =>
    gql(`mutation($i: CreateDeploymentRingInput!) { createDeploymentRing(input: $i) { id } }`, {
      i: { workspaceId: ids.workspace, name, environmentId },
    });
  ids.ring = (await ring('canary', ids.environment)).createDeploymentRing.id;
  ids.ring2 = (await ring('general', ids.environment2)).createDeploymentRing.id;
  ids.promotion = (
    await gql(`mutation($i: DeployComponentInput!) { deployComponent(input: $i) { id } }`, {
      i: { componentId: ids.component, ringId: ids.ring, version: '1.0.0' },
    })
  ).deployComponent.id;
  ids.connector = (
    await gql(`mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }`, {
      i: {
        workspaceId: ids.workspace,
        kind: E.ConnectorKind('database'),
        name: 'db',
        config: { host: 'db' },
        secret: 'a-secret-value',
      },
    })
  ).createConnector.id;
  ids.apiKey = (
    await gql(`mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } } }`, {
      i: { name: 'ci', scopes: ['org:read'] },
    })
  ).createApiKey.apiKey.id;
  ids.member = 'member-1';
  await gql(`mutation($i: AddMemberInput!) { addMember(input: $i) { userId } }`, {
    i: { userId: ids.member, email: 'member-1@example.test', role: E.OrgRole('member') },
  });
});

// ---------------------------------------------------------------- schema walking

type TypeRef = { kind: string; name?: string | null; ofType?: TypeRef | null };
const typeByName = (name: string) => schema.types.find((t) => t.name === name) as any;

function unwrap(ref: TypeRef): TypeRef {
  return ref.kind === 'NON_NULL' ? ref.ofType! : ref;
}
function named(ref: TypeRef): TypeRef {
  let current = ref;
  while (current.ofType) current = current.ofType;
  return current;
}
function typeString(ref: TypeRef): string {
  if (ref.kind === 'NON_NULL') return `${typeString(ref.ofType!)}!`;
  if (ref.kind === 'LIST') return `[${typeString(ref.ofType!)}]`;
  return ref.name!;
}

/** A valid id for an argument or input field, from its name and the operation it belongs to. */
function idFor(name: string, operation: string): string {
  const byField: Record<string, string> = {
    workspaceId: ids.workspace,
    environmentId: ids.environment,
    componentId: ids.component,
    ringId: ids.ring,
    fromRingId: ids.ring,
    toRingId: ids.ring2,
    userId: ids.member,
  };
  if (byField[name]) return byField[name];
  const op = operation.toLowerCase();
  for (const [word, id] of [
    ['apikey', ids.apiKey],
    ['connector', ids.connector],
    ['ring', ids.ring],
    ['promotion', ids.promotion],
    ['component', ids.component],
    ['environment', ids.environment],
    ['workspace', ids.workspace],
    ['member', ids.member],
  ] as const) {
    if (op.includes(word)) return id;
  }
  return crypto.randomUUID();
}

/** Valid strings for the string fields that have a format. */
function stringFor(name: string): string {
  const byName: Record<string, string> = {
    slug: 'fuzz-slug',
    email: 'fuzz@example.test',
    contactEmail: 'fuzz@example.test',
    billingEmail: 'fuzz@example.test',
    version: '2.0.0',
    primaryDomain: 'fuzz.example.test',
    secret: 'a-secret-value',
  };
  if (byName[name]) return byName[name];
  if (/color/i.test(name)) return '#112233';
  if (/url/i.test(name)) return 'https://example.test/x';
  if (/scopes?$/i.test(name)) return 'org:read';
  return 'fuzz';
}

/** A minimal valid value for a type (required fields only), so one hostile leaf gets as deep as possible. */
function build(ref: TypeRef, name: string, operation: string): unknown {
  const inner = unwrap(ref);
  if (inner.kind === 'LIST') return [build(inner.ofType!, name, operation)];
  const type = named(ref);
  if (type.kind === 'INPUT_OBJECT') {
    return Object.fromEntries(
      typeByName(type.name!)
        .inputFields.filter((f: any) => f.type.kind === 'NON_NULL' && f.defaultValue === null)
        .map((f: any) => [f.name, build(f.type, f.name, operation)]),
    );
  }
  if (type.kind === 'ENUM') return typeByName(type.name!).enumValues[0].name;
  switch (type.name) {
    case 'ID':
      return idFor(name, operation);
    case 'String':
      return stringFor(name);
    case 'Int':
    case 'SafeInt':
    case 'Float':
      return 1;
    case 'Boolean':
      return false;
    case 'JSONObject':
      return {};
    case 'DateTimeISO':
      return new Date(Date.now() + 86_400_000).toISOString();
    case 'LocalDate':
      return new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    default:
      throw new Error(
        `the hostile-input fuzz cannot build a value of type ${type.name} for ${operation}.${name}: teach build() about it`,
      );
  }
}

interface Leaf {
  /** From the argument: ['input', 'routes', 0, 'task']. */
  path: Array<string | number>;
  type: TypeRef;
  /** The field name BAD_USER_INPUT must carry (class-validator's convention: input objects unnamed). */
  field: string;
}

function leaves(argName: string, argType: TypeRef): Leaf[] {
  // class-validator's naming: fields of an input-object argument are named without the argument.
  const unnamedArg = named(argType).kind === 'INPUT_OBJECT' && unwrap(argType).kind !== 'LIST';
  const walk = (ref: TypeRef, path: Array<string | number>, depth: number): Leaf[] => {
    const inner = unwrap(ref);
    if (inner.kind === 'LIST') return walk(inner.ofType!, [...path, 0], depth + 1);
    if (inner.kind === 'INPUT_OBJECT' && depth < 5) {
      return typeByName(inner.name!).inputFields.flatMap((f: any) => walk(f.type, [...path, f.name], depth + 1));
    }
    return [{ path, type: ref, field: (unnamedArg ? path.slice(1) : path).join('.') }];
  };
  return walk(argType, [argName], 0);
}

/** The argument value with the leaf at `path` (below the argument) replaced by `value`. */
function withLeaf(
  ref: TypeRef,
  current: unknown,
  path: Array<string | number>,
  value: unknown,
  name: string,
  operation: string,
): unknown {
  if (path.length === 0) return value;
  const inner = unwrap(ref);
  if (inner.kind === 'LIST')
    return [
      withLeaf(inner.ofType!, Array.isArray(current) ? current[0] : undefined, path.slice(1), value, name, operation),
    ];
  const fields = typeByName(inner.name!).inputFields as any[];
  const field = fields.find((f) => f.name === path[0])!;
  const object = { ...((current as object | undefined) ?? (build(ref, name, operation) as object)) } as Record<
    string,
    unknown
  >;
  object[field.name] = withLeaf(field.type, object[field.name], path.slice(1), value, field.name, operation);
  return object;
}

// ---------------------------------------------------------------- literals

class Unprintable extends Error {}
const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** A value as a GraphQL literal of the given type (enum names bare); throws Unprintable when impossible. */
function literal(ref: TypeRef | null, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Deep) return value.literal();
  const inner = ref ? unwrap(ref) : null;
  if (inner?.kind === 'LIST' && Array.isArray(value))
    return `[${value.map((v) => literal(inner.ofType!, v)).join(', ')}]`;
  if (
    inner?.kind === 'ENUM' &&
    typeof value === 'string' &&
    typeByName(inner.name!).enumValues.some((v: any) => v.name === value)
  )
    return value;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => literal(null, v)).join(', ')}]`;
  if (typeof value === 'object') {
    const fields = inner?.kind === 'INPUT_OBJECT' ? (typeByName(inner.name!).inputFields as any[]) : [];
    return `{${Object.entries(value as object)
      .map(([k, v]) => {
        if (!NAME.test(k)) throw new Unprintable(k);
        return `${k}: ${literal(fields.find((f) => f.name === k)?.type ?? null, v)}`;
      })
      .join(', ')}}`;
  }
  throw new Unprintable(typeof value);
}

// ---------------------------------------------------------------- hostile values

const MEGABYTE = 'x'.repeat(1 << 20);
const HUNDRED_KB = 'y'.repeat(100_000);
const FIXED_STRINGS = [
  'a\u0000b',
  '\u0000',
  '\uD800',
  'x\uDC00y',
  'ok\uDBFF',
  MEGABYTE,
  HUNDRED_KB,
  '',
  ' ',
  '\u202Eevil\u202C',
  'a\u200Bb\uFEFF',
  '\u0001\u0007\u001b[31m\u007f\u0085',
  'line\r\nbreak\u2028',
  "'; DROP TABLE workspaces; --",
  '" OR 1=1 --',
  '$1::text',
  '{"a":1}',
  '[]',
  'null',
  '\\u0000',
  '%00',
  '../../etc/passwd',
  '😀👨‍👩‍👧',
];
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...FIXED_STRINGS),
  fc.string({ unit: anyCodeUnit, maxLength: 40 }),
  fc
    .tuple(
      fc.string({ maxLength: 10 }),
      fc.constantFrom('\u0000', '\uD800', '\uDFFF', '\u202E', '\u200B', "'", '"', '\\'),
      fc.string({ maxLength: 10 }),
    )
    .map((p) => p.join('')),
);
const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53,
    -(2 ** 53),
    Number.MAX_SAFE_INTEGER,
    -1,
    0,
    1.5,
    -0.0001,
    1e308,
    -1e308,
    'NaN',
    'Infinity',
    '-1e999',
    '0x10',
    '1e3',
    '',
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
/**
 * JSON nested `depth` levels deep, sent as raw text: deeper than JSON.stringify (and this test process's
 * stack) can go, though not deeper than the gateway's JSON.parse reads.
 */
class Deep {
  constructor(readonly depth: number) {}
  json(): string {
    return '{"a":'.repeat(this.depth) + '1' + '}'.repeat(this.depth);
  }
  literal(): string {
    return '{a: '.repeat(this.depth) + '1' + '}'.repeat(this.depth);
  }
}
function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    { a: 'x\u0000y' },
    { 'k\u0000': 1 },
    { '\uD800': 'lone surrogate key' },
    { a: ['\uDFFF'] },
    nested(40),
    new Deep(100_000),
    { big: Array.from({ length: 100_000 }, (_, i) => i) },
    { __proto__: { polluted: true } },
    { constructor: { prototype: { polluted: true } } },
    { n: 1e308, m: -1e308, s: MEGABYTE.slice(0, 500_000) },
  ),
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(
    fc.string({ unit: anyCodeUnit, maxLength: 5 }),
    fc.oneof(fc.string({ unit: anyCodeUnit, maxLength: 5 }), fc.integer()),
  ),
);

/** Hostile values for a leaf of this type: mostly its own kind, sometimes another (type confusion). */
function hostileFor(ref: TypeRef): fc.Arbitrary<unknown> {
  const type = named(ref);
  const confusion = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null), hostileJson);
  const own =
    type.name === 'JSONObject'
      ? hostileJson
      : ['Int', 'SafeInt', 'Float'].includes(type.name!)
        ? hostileNumber
        : type.name === 'Boolean'
          ? fc.oneof(fc.boolean(), hostileString)
          : hostileString;
  return fc.oneof({ arbitrary: own, weight: 4 }, { arbitrary: confusion, weight: 1 });
}
/** Fixed examples every argument gets, each as a variable and/or as a literal ([value, asLiteral]). */
function examplesFor(ref: TypeRef): Array<[unknown, boolean]> {
  const type = named(ref);
  const both = (v: unknown): Array<[unknown, boolean]> => [
    [v, false],
    [v, true],
  ];
  if (type.name === 'JSONObject') {
    return [
      ...both({ a: 'x\u0000y' }),
      [{ '\uD800': 1 }, false],
      [new Deep(100_000), false],
      [nested(1000), false],
      [{ big: Array.from({ length: 100_000 }, () => 0) }, false],
    ];
  }
  if (['Int', 'SafeInt', 'Float'].includes(type.name!))
    return [...both(2 ** 53), [-1, false], [1.5, true], ['NaN', false]];
  return [
    ...both('a\u0000b'),
    ...both('\uD800'),
    [MEGABYTE, false],
    [HUNDRED_KB, false],
    ["'; DROP TABLE workspaces; --", true],
  ];
}

/** Strings (and keys) PostgreSQL cannot store. */
function hasUnsafeText(value: unknown, depth = 0): boolean {
  if (typeof value === 'string')
    return (
      value.includes('\u0000') || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)
    );
  if (value === null || typeof value !== 'object' || value instanceof Deep || depth > 30) return false;
  return Object.entries(value).some(
    ([k, v]) => (!Array.isArray(value) && hasUnsafeText(k)) || hasUnsafeText(v, depth + 1),
  );
}

// ---------------------------------------------------------------- the check

const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'FORBIDDEN',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'QUERY_TOO_COMPLEX',
  'BAD_REQUEST',
]);

interface Target {
  label: string;
  root: 'query' | 'mutation';
  /** Builds the document for these argument values; `literal` inlines them. */
  document(values: Record<string, unknown>, asLiteral: boolean): { query: string; variables: Record<string, unknown> };
  args: Array<{ name: string; type: TypeRef; defaultValue: string | null }>;
}

function targets(): Target[] {
  const result: Target[] = [];
  const argList = (args: Target['args'], values: Record<string, unknown>, asLiteral: boolean, prefix: string) =>
    args
      .filter((a) => a.name in values)
      .map((a) => `${a.name}: ${asLiteral ? literal(a.type, values[a.name]) : `$${prefix}${a.name}`}`)
      .join(', ');
  const declare = (args: Target['args'], values: Record<string, unknown>, prefix: string) =>
    args.filter((a) => a.name in values).map((a) => `$${prefix}${a.name}: ${typeString(a.type)}`);
  const selection = (ref: TypeRef) =>
    ['OBJECT', 'INTERFACE', 'UNION'].includes(named(ref).kind) ? '{ __typename }' : '';
  const rename = (values: Record<string, unknown>, prefix: string) =>
    Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}${k}`, v]));

  for (const root of ['query', 'mutation'] as const) {
    const rootType = typeByName(root === 'query' ? schema.queryType.name : schema.mutationType!.name);
    for (const field of rootType.fields as any[]) {
      if (field.args.length > 0) {
        result.push({
          label: `${root === 'query' ? 'Query' : 'Mutation'}.${field.name}`,
          root,
          args: field.args,
          document(values, asLiteral) {
            const declared = asLiteral ? [] : declare(field.args, values, '');
            return {
              query: `${root} Fuzz${declared.length ? `(${declared.join(', ')})` : ''} { result: ${field.name}(${argList(field.args, values, asLiteral, '')}) ${selection(field.type)} }`,
              variables: asLiteral ? {} : values,
            };
          },
        });
      }
      // One hop down from a query: fields with arguments (pagination and the like) of the object it returns.
      const returned = named(field.type);
      if (root !== 'query' || returned.kind !== 'OBJECT' || unwrap(field.type).kind === 'LIST') continue;
      const parentValues = Object.fromEntries(field.args.map((a: any) => [a.name, build(a.type, a.name, field.name)]));
      for (const child of typeByName(returned.name!).fields as any[]) {
        if (child.args.length === 0) continue;
        result.push({
          label: `${returned.name}.${child.name} (under Query.${field.name})`,
          root,
          args: child.args,
          document(values, asLiteral) {
            const declared = [
              ...declare(field.args, parentValues, 'p_'),
              ...(asLiteral ? [] : declare(child.args, values, '')),
            ];
            const parentArgs = field.args.length ? `(${argList(field.args, parentValues, false, 'p_')})` : '';
            const childArgs = argList(child.args, values, asLiteral, '');
            return {
              query: `query Fuzz${declared.length ? `(${declared.join(', ')})` : ''} { parent: ${field.name}${parentArgs} { result: ${child.name}${childArgs ? `(${childArgs})` : ''} ${selection(child.type)} } }`,
              variables: { ...rename(parentValues, 'p_'), ...(asLiteral ? {} : values) },
            };
          },
        });
      }
    }
  }
  return result;
}

/** POST /graphql with Deep values spliced in as raw JSON text. */
async function post(query: string, variables: Record<string, unknown>): Promise<GraphQLResponse> {
  const deep: Deep[] = [];
  let body = JSON.stringify({ query, variables }, (_key, value) =>
    value instanceof Deep ? `__deep_${deep.push(value) - 1}__` : value,
  );
  deep.forEach((d, i) => (body = body.replace(`"__deep_${i}__"`, d.json())));
  const response = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as GraphQLResponse['body'],
  };
}

let calls = 0;
let known: Record<string, string> | undefined;
async function check(target: Target, leaf: Leaf, hostile: unknown, asLiteral: boolean): Promise<void> {
  const argTypes: Record<string, TypeRef> = Object.fromEntries(target.args.map((a) => [a.name, a.type]));
  const values = Object.fromEntries(
    target.args
      .filter((a) => a.type.kind === 'NON_NULL' && a.defaultValue === null)
      .map((a) => [a.name, build(a.type, a.name, target.label)]),
  );
  const [argName, ...below] = leaf.path as [string, ...Array<string | number>];
  values[argName] = withLeaf(argTypes[argName], values[argName], below, hostile, argName, target.label);
  let doc: { query: string; variables: Record<string, unknown> };
  try {
    doc = target.document(values, asLiteral);
  } catch (error) {
    if (!(error instanceof Unprintable)) throw error;
    doc = target.document(values, false); // keys that are not GraphQL names: variables only
    asLiteral = false;
  }
  // Only this test's own requests write to the database, one at a time: the digest after the previous
  // mutation is the state before this one.
  const before = target.root === 'mutation' ? (known ??= await snapshotDigest(db.admin)) : null;
  const response = await post(doc.query, doc.variables);
  calls++;
  const errors = response.body.errors ?? [];
  const codes = errors.map((e) => e.extensions?.code as string);
  const where = { target: target.label, field: leaf.field, asLiteral };
  if (response.status >= 500 || codes.some((c) => !CLIENT_CODES.has(c))) {
    expect({ ...where, status: response.status, body: JSON.stringify(response.body).slice(0, 500) }).toEqual({
      ...where,
      status: 'below 500, client codes only',
    });
  }
  if (response.status === 413) return; // the 1 MB body limit answered before GraphQL (nothing ran)
  expect({ ...where, answered: Array.isArray(response.body.errors) || response.body.data !== undefined }).toEqual({
    ...where,
    answered: true,
  });
  const leafType = named(leaf.type).name!;
  const sameKind =
    (['String', 'ID'].includes(leafType) && typeof hostile === 'string') ||
    (leafType === 'JSONObject' && hostile !== null && typeof hostile === 'object' && !Array.isArray(hostile));
  if (
    sameKind &&
    hasUnsafeText(hostile) &&
    !codes.includes('GRAPHQL_PARSE_FAILED') &&
    !codes.includes('GRAPHQL_VALIDATION_FAILED')
  ) {
    // Refused, as BAD_USER_INPUT naming the field.
    const named = errors
      .filter((e) => e.extensions?.code === 'BAD_USER_INPUT')
      .flatMap((e) => (e.extensions.fields ?? []).map((f: { field: string }) => f.field));
    expect({ ...where, refusedNaming: named.some((f) => f === leaf.field || f.startsWith(`${leaf.field}.`)) }).toEqual({
      ...where,
      refusedNaming: true,
    });
  }
  if (before) {
    known = await snapshotDigest(db.admin);
    if ((response.body.data?.result ?? null) === null)
      expect({ ...where, unchanged: known }).toEqual({ ...where, unchanged: before });
  }
}

test('the cases reported in issue 9: BAD_USER_INPUT naming the field, nothing changed; bad sub claims: 401', async () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      `mutation($i: CreateWorkspaceInput!) { result: createWorkspace(input: $i) { id } }`,
      { i: { name: 'a\u0000b' } },
      'name',
    ],
    [
      `mutation($i: UpdateOrganizationInput!) { result: updateOrganization(input: $i) { id } }`,
      { i: { industry: 'a\u0000b' } },
      'industry',
    ],
    [
      `mutation($i: CreateComponentInput!) { result: createComponent(input: $i) { id } }`,
      { i: { workspaceId: ids.workspace, name: 'c\u0000', type: E.ComponentType('agent') } },
      'name',
    ],
    [
      `mutation($i: CreateComponentInput!) { result: createComponent(input: $i) { id } }`,
      { i: { workspaceId: ids.workspace, name: 'c', type: E.ComponentType('agent'), configuration: { k: '\uD800' } } },
      'configuration',
    ],
    [
      `mutation($i: SetBannerInput!) { result: setBanner(input: $i) { id } }`,
      { i: { message: 'hello\u0000' } },
      'message',
    ],
    [
      `mutation($i: CreateApiKeyInput!) { result: createApiKey(input: $i) { key } }`,
      { i: { name: 'k\u0000', scopes: ['org:read'] } },
      'name',
    ],
    [
      `mutation($i: CreateConnectorInput!) { result: createConnector(input: $i) { id } }`,
      {
        i: {
          workspaceId: ids.workspace,
          kind: E.ConnectorKind('api'),
          name: 'api',
          config: { baseUrl: 'https://x.test', '\uD800': 1 },
        },
      },
      'config',
    ],
    [
      `mutation($i: AddMemberInput!) { result: addMember(input: $i) { userId } }`,
      { i: { userId: 'u\u0000', email: 'u@example.test', role: E.OrgRole('member') } },
      'userId',
    ],
    [
      `mutation($u: ID!, $i: UpdateMemberInput!) { result: updateMember(userId: $u, input: $i) { userId } }`,
      { u: 'member-1\u0000', i: {} },
      'userId',
    ],
    [`mutation { result: updateMember(userId: "member-1\\u0000", input: {}) { userId } }`, {}, 'userId'],
  ];
  const before = await snapshotDigest(db.admin);
  for (const [query, variables, field] of cases) {
    const response = await gw.graphql(query, variables, token);
    const fields = (response.body.errors ?? []).flatMap((e) =>
      e.extensions.code === 'BAD_USER_INPUT' ? e.extensions.fields.map((f: any) => f.field) : [],
    );
    expect({ query, status: response.status, fields, result: response.body.data?.result ?? null }).toEqual({
      query,
      status: 200,
      fields: [field],
      result: null,
    });
  }
  expect(await snapshotDigest(db.admin)).toEqual(before);
  for (const sub of ['user\u0000-1', 42, '\uD800', '', 'x'.repeat(201), ['user-1'], null]) {
    const response = await gw.graphql(
      `{ viewer { subject } }`,
      {},
      signEs256(gw.key.privateKey, claimsFor(org.id, ALL_SCOPES, { sub: sub as string })),
    );
    expect({ sub, status: response.status, codes: (response.body.errors ?? []).map((e) => e.extensions.code) }).toEqual(
      { sub, status: 401, codes: ['UNAUTHENTICATED'] },
    );
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="manifest-gateway", error="invalid_token"/);
  }
});

test('every argument of every operation survives hostile values: never a 500, NUL and broken Unicode refused by name, refused mutations change nothing', async () => {
  const all = targets();
  expect(all.filter((t) => t.root === 'mutation').length).toBeGreaterThanOrEqual(30);
  let leafCount = 0;
  for (const target of all) {
    for (const arg of target.args) {
      for (const leaf of leaves(arg.name, arg.type)) {
        leafCount++;
        // The fixed examples run first, in variables and as literals; numRuns counts them too.
        const examples = examplesFor(leaf.type);
        await fc.assert(
          fc.asyncProperty(hostileFor(leaf.type), fc.boolean(), (hostile, asLiteral) =>
            check(target, leaf, hostile, asLiteral),
          ),
          { seed: SEED + leafCount, numRuns: examples.length + RUNS, examples, endOnFailure: true },
        );
      }
    }
  }
  // eslint-disable-next-line no-console
  console.log(
    `hostile-input fuzz: ${all.length} operations, ${leafCount} arguments and input fields, ${calls} requests`,
  );
  expect(leafCount).toBeGreaterThan(100);
});

// ---------------------------------------------------------------- token claims

const anyJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    0,
    -1,
    1.5,
    1e308,
    true,
    false,
    [],
    ['org:read'],
    [1],
    {},
    { a: 1 },
    '',
    'a\u0000b',
    '\u0000',
    '\uD800',
    'x\uDFFF',
    'z'.repeat(5000),
    'line\nbreak',
    '\u202E',
    'user-1 ',
  ),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: anyCodeUnit, maxLength: 30 }),
);

test('every claim of a correctly signed token, of every JSON type: 401 UNAUTHENTICATED or a normal answer, never a 500', async () => {
  const claims = ['sub', 'org', 'scope', 'scp', 'key_owner', 'jti', 'exp', 'nbf', 'iat'];
  const probe = `{ viewer { subject } organization { id } }`;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...claims), anyJsonValue, fc.boolean(), async (claim, value, apiKeySubject) => {
      const extra: Record<string, unknown> = { [claim]: value };
      if (apiKeySubject && claim !== 'sub') extra.sub = `apikey:${ids.apiKey}`;
      if (claim === 'scp') extra.scope = undefined; // scp is read only without scope
      const signed = signEs256(gw.key.privateKey, claimsFor(org.id, ALL_SCOPES, { sub: 'user-1', ...extra }));
      const response = await gw.graphql(probe, {}, signed);
      const codes = (response.body.errors ?? []).map((e) => e.extensions?.code);
      const where = { claim, value: JSON.stringify(value)?.slice(0, 80) };
      expect({ ...where, status: response.status < 500, internal: codes.includes('INTERNAL_SERVER_ERROR') }).toEqual({
        ...where,
        status: true,
        internal: false,
      });
      if (response.status === 401) {
        expect({ ...where, codes }).toEqual({ ...where, codes: ['UNAUTHENTICATED'] });
        expect({ ...where, challenge: response.headers.get('www-authenticate') }).toEqual({
          ...where,
          challenge: expect.stringMatching(/^Bearer realm="manifest-gateway", error="invalid_token"/),
        });
      }
      // A claim of the wrong JSON type is refused outright.
      const stringClaim = ['sub', 'org', 'key_owner', 'jti'].includes(claim);
      const numberClaim = ['exp', 'nbf', 'iat'].includes(claim);
      const wrongType =
        (stringClaim && typeof value !== 'string' && !(claim === 'key_owner' && value === null)) ||
        (numberClaim && typeof value !== 'number') ||
        (claim === 'scope' && typeof value !== 'string') ||
        (claim === 'scp' && typeof value !== 'string' && !Array.isArray(value));
      if (
        wrongType ||
        (typeof value === 'string' && hasUnsafeText(value)) ||
        claim === 'org' ||
        (claim === 'sub' && value !== 'user-1')
      ) {
        expect({ ...where, status: response.status, codes }).toEqual({
          ...where,
          status: 401,
          codes: ['UNAUTHENTICATED'],
        });
      }
    }),
    { seed: SEED, numRuns: 150, endOnFailure: true },
  );
});

test('a token too large for the HTTP header limit is refused with a 4xx, not a 500', async () => {
  const signed = signEs256(
    gw.key.privateKey,
    claimsFor(org.id, ALL_SCOPES, { sub: 'user-1', pad: 'p'.repeat(20_000) }),
  );
  const response = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${signed}` },
    body: JSON.stringify({ query: '{ viewer { subject } }' }),
  }).catch(() => null);
  // Node answers 431 (or closes the connection) before any of our code runs.
  if (response) expect(response.status).toBe(431);
});

test('the token endpoint refuses hostile api_key values of every JSON type with a 4xx, never a 500', async () => {
  await fc.assert(
    fc.asyncProperty(anyJsonValue, async (value) => {
      const response = await fetch(`${gw.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ api_key: value }),
      });
      // 400 invalid_request; 413 when the body is over the endpoint's small size limit.
      const where = { value: JSON.stringify(value)?.slice(0, 80) };
      expect({ ...where, status: [400, 413].includes(response.status) }).toEqual({ ...where, status: true });
    }),
    { seed: SEED, numRuns: 40, endOnFailure: true },
  );
});
