import { buildSchema, graphql, type GraphQLSchema } from 'graphql';
import { applyAuthDirectives } from '../../src/auth/directives';

const DIRECTIVES = `
  directive @authenticated on FIELD_DEFINITION | OBJECT
  directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT
`;

/** A small schema: field, object-type and returned-type rules, as the gateway's schema declares them. */
const schema = applyAuthDirectives(
  buildSchema(`${DIRECTIVES}
    type Query {
      me: String @authenticated
      either: String @requiresScopes(scopes: [["org:read", "org:write"], ["audit:read"]])
      billing: Billing @requiresScopes(scopes: [["billing:read"]])
      ws: Workspace @requiresScopes(scopes: [["org:read"]])
    }
    type Billing @requiresScopes(scopes: [["org:read"]]) { balance: Int }
    type Workspace { name: String secret: String @requiresScopes(scopes: [["connectors:write"]]) }
  `),
);

const root = { me: 'me', either: 'either', billing: { balance: 7 }, ws: { name: 'W', secret: 's' } };

async function run(s: GraphQLSchema, query: string, scopes: string[] | null) {
  const result = await graphql({
    schema: s,
    source: query,
    rootValue: root,
    // As the gateway builds it: the verified principal, and the request context with the effective scopes.
    contextValue: scopes
      ? { principal: { scopes: new Set(scopes) }, request: { scopes: new Set(scopes) } }
      : { principal: null },
  });
  return { data: result.data, codes: (result.errors ?? []).map((e) => e.extensions.code) };
}

describe('auth directives: OR of AND scope sets, merged from field, parent type and returned type', () => {
  test('@authenticated: any verified caller; no principal is UNAUTHENTICATED', async () => {
    expect(await run(schema, '{ me }', [])).toEqual({ data: { me: 'me' }, codes: [] });
    expect(await run(schema, '{ me }', null)).toEqual({ data: { me: null }, codes: ['UNAUTHENTICATED'] });
  });

  test.each<[string[], boolean]>([
    [['org:read', 'org:write'], true],
    [['audit:read'], true],
    [['org:read'], false],
    [['org:write'], false],
    [['org:write', 'billing:read'], false],
    [[], false],
  ])('[["org:read","org:write"],["audit:read"]] with %j: allowed %s', async (scopes, allowed) => {
    expect(await run(schema, '{ either }', scopes)).toEqual(
      allowed ? { data: { either: 'either' }, codes: [] } : { data: { either: null }, codes: ['FORBIDDEN'] },
    );
  });

  test('a rule on the returned type adds to the field’s rule (both must hold)', async () => {
    expect((await run(schema, '{ billing { balance } }', ['billing:read'])).codes).toEqual(['FORBIDDEN']);
    expect((await run(schema, '{ billing { balance } }', ['org:read'])).codes).toEqual(['FORBIDDEN']);
    expect(await run(schema, '{ billing { balance } }', ['billing:read', 'org:read'])).toEqual({
      data: { billing: { balance: 7 } },
      codes: [],
    });
  });

  test('a rule on a field guards only that field', async () => {
    expect(await run(schema, '{ ws { name } }', ['org:read'])).toEqual({ data: { ws: { name: 'W' } }, codes: [] });
    expect(await run(schema, '{ ws { name secret } }', ['org:read'])).toEqual({
      data: { ws: { name: 'W', secret: null } },
      codes: ['FORBIDDEN'],
    });
  });

  test('a guarded type reached through an interface keeps the check on each of its fields', async () => {
    // Scalar fields of a guarded type are not checked again when the type is reached by a field that returns it
    // by name (that field already checked the type's rule); through an abstract field they still are.
    const abstract = applyAuthDirectives(
      buildSchema(`${DIRECTIVES}
        type Query { thing: Thing @authenticated, secret: Secret @authenticated }
        interface Thing { name: String }
        type Secret implements Thing @requiresScopes(scopes: [["audit:read"]]) { name: String }
      `),
    );
    const value = { __typename: 'Secret', name: 'x' };
    const ask = (query: string, scopes: string[]) =>
      graphql({
        schema: abstract,
        source: query,
        rootValue: { thing: value, secret: value },
        contextValue: { principal: { scopes: new Set(scopes) }, request: { scopes: new Set(scopes) } },
      }).then((r) => ({ data: r.data, codes: (r.errors ?? []).map((e) => e.extensions.code) }));
    expect(await ask('{ thing { name } }', [])).toEqual({ data: { thing: { name: null } }, codes: ['FORBIDDEN'] });
    expect(await ask('{ secret { name } }', [])).toEqual({ data: { secret: null }, codes: ['FORBIDDEN'] });
    expect(await ask('{ thing { name } secret { name } }', ['audit:read'])).toEqual({
      data: { thing: { name: 'x' }, secret: { name: 'x' } },
      codes: [],
    });
  });

  test('the build fails for an unguarded root field and for an unknown scope', () => {
    expect(() => applyAuthDirectives(buildSchema(`${DIRECTIVES} type Query { open: String }`))).toThrow(
      'Query.open has neither @authenticated nor @requiresScopes',
    );
    expect(() =>
      applyAuthDirectives(
        buildSchema(`${DIRECTIVES} type Query { x: String @requiresScopes(scopes: [["org:reed"]]) }`),
      ),
    ).toThrow('@requiresScopes names unknown scope "org:reed"');
  });
});
