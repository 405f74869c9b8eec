import { buildSchema, parse, validate, type GraphQLError } from 'graphql';
import { nodeLimitRule } from '../../src/graphql/node-limit';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../src/graphql/pagination';

/** A small schema with nested connections, as ours are shaped. */
const schema = buildSchema(`
  type Query { workspaces(first: Int, last: Int): WorkspaceConnection! name: String }
  type WorkspaceConnection { edges: [WorkspaceEdge!]! }
  type WorkspaceEdge { node: Workspace! }
  type Workspace { id: ID! components(first: Int, last: Int): ComponentConnection! }
  type ComponentConnection { edges: [ComponentEdge!]! }
  type ComponentEdge { node: Component! }
  type Component { id: ID! }
`);

const LIMIT = 1000;
const errorsOf = (query: string, limit = LIMIT): readonly GraphQLError[] =>
  validate(schema, parse(query), [nodeLimitRule(limit)]);
/** The node count the rule computed (from its message), or null when the query is within the limit. */
const nodesOf = (query: string, limit = LIMIT): number | null => {
  const errors = errorsOf(query, limit);
  if (errors.length === 0) return null;
  expect(errors).toHaveLength(1);
  expect(errors[0].extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'nodes', maximum: limit });
  return Number(/up to (\d+) nodes/.exec(errors[0].message)![1]);
};

describe('node limit (validation rule, run with graphql validate)', () => {
  test('nodes are the product of page sizes down each path, summed', () => {
    // 30 workspaces + 30 × 40 components = 1230 > 1000
    expect(
      nodesOf(`{ workspaces(first: 30) { edges { node { components(first: 40) { edges { node { id } } } } } } }`),
    ).toBe(1230);
    // 10 + 10 × 20 = 210: allowed
    expect(
      errorsOf(`{ workspaces(first: 10) { edges { node { components(first: 20) { edges { node { id } } } } } } }`),
    ).toEqual([]);
  });

  test('last counts like first; both given count the larger', () => {
    expect(
      nodesOf(`{ workspaces(last: 30) { edges { node { components(last: 40) { edges { node { id } } } } } } }`),
    ).toBe(1230);
    expect(
      nodesOf(
        `{ workspaces(first: 1, last: 30) { edges { node { components(first: 40) { edges { node { id } } } } } } }`,
      ),
    ).toBe(1230);
  });

  test('a size from a variable counts as the maximum page size; none (or null) as the default', () => {
    expect(
      nodesOf(
        `query($n: Int) { workspaces(first: $n) { edges { node { components(first: 20) { edges { node { id } } } } } } }`,
      ),
    ).toBe(MAX_PAGE_SIZE + MAX_PAGE_SIZE * 20);
    expect(
      nodesOf(`{ workspaces { edges { node { components(first: null) { edges { node { id } } } } } } }`, 100),
    ).toBe(DEFAULT_PAGE_SIZE + DEFAULT_PAGE_SIZE * DEFAULT_PAGE_SIZE);
  });

  test('fragments and inline fragments count where they are spread; aliases count twice', () => {
    const fragment = `fragment C on Workspace { components(first: 40) { edges { node { id } } } }`;
    expect(nodesOf(`{ workspaces(first: 30) { edges { node { ...C } } } } ${fragment}`)).toBe(1230);
    expect(
      nodesOf(
        `{ workspaces(first: 30) { edges { node { ... on Workspace { components(first: 40) { edges { node { id } } } } } } } }`,
      ),
    ).toBe(1230);
    expect(
      nodesOf(
        `{ a: workspaces(first: 20) { edges { node { id } } } b: workspaces(first: 20) { edges { node { components(first: 49) { edges { node { id } } } } } } }`,
      ),
    ).toBe(20 + 20 + 20 * 49);
  });

  test('a fragment cycle does not loop (graphql reports the cycle itself)', () => {
    const errors = validate(
      schema,
      parse(
        `{ workspaces(first: 1) { edges { node { ...A } } } } fragment A on Workspace { ...B } fragment B on Workspace { ...A }`,
      ),
      [nodeLimitRule(LIMIT)],
    );
    expect(errors).toEqual([]);
  });
});

test('each fragment is walked once, however often it is spread (was exponential: a 2 KB query froze the gateway)', () => {
  // F0 spreads F1 twice, F1 spreads F2 twice, …: 2^20 spreads of F20 in a query of 21 fragments.
  const depth = 20;
  const fragments = Array.from(
    { length: depth },
    (_, i) => `fragment F${i} on Workspace { ...F${i + 1} ...F${i + 1} }`,
  ).join(' ');
  const document = parse(
    `{ workspaces(first: 2) { edges { node { ...F0 } } } } ${fragments} fragment F${depth} on Workspace { components(first: 3) { edges { node { id } } } }`,
  );
  // Count how often each fragment's selection set is read (graphql's own visitor reads it once too).
  const reads = new Map<string, number>();
  for (const definition of document.definitions) {
    if (definition.kind !== 'FragmentDefinition') continue;
    const { selectionSet } = definition;
    Object.defineProperty(definition, 'selectionSet', {
      get: () => {
        reads.set(definition.name.value, (reads.get(definition.name.value) ?? 0) + 1);
        return selectionSet;
      },
    });
  }
  const errors = validate(schema, document, [nodeLimitRule(1_000_000_000)]);
  expect(errors).toEqual([]);
  expect(Math.max(...reads.values())).toBeLessThanOrEqual(3);
  // The count is unchanged: 2 workspaces + 2 × 2^20 spreads × 3 components.
  expect(nodesOf(document.loc!.source.body, 1)).toBe(2 + 2 * 2 ** depth * 3);
});
