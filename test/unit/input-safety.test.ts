import {
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
  type GraphQLArgumentConfig,
} from 'graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import {
  MAX_ID_LENGTH,
  MAX_JSON_DEPTH,
  argumentProblems,
  isSafeText,
  unsafeTextReason,
} from '../../src/graphql/input-safety';

describe('isSafeText', () => {
  test.each([['plain'], [''], ['emoji 😀 (a valid surrogate pair)'], ['ünïcödé'], ['tab\tand\nnewline']])(
    'accepts %j',
    (value) => {
      expect(isSafeText(value)).toBe(true);
      expect(unsafeTextReason(value)).toBeNull();
    },
  );

  test.each([
    ['a NUL', 'a\u0000b', /NUL/],
    ['a lone high surrogate', 'x\uD800', /surrogate/],
    ['a lone low surrogate', '\uDC00x', /surrogate/],
    ['a reversed pair', '\uDE00\uD83D', /surrogate/],
  ])('refuses %s', (_what, value, reason) => {
    expect(isSafeText(value)).toBe(false);
    expect(unsafeTextReason(value)).toMatch(reason);
  });
});

describe('argumentProblems names the field the client sees', () => {
  const Input = new GraphQLInputObjectType({
    name: 'Input',
    fields: {
      name: { type: GraphQLString },
      tags: { type: new GraphQLList(GraphQLString) },
      config: { type: GraphQLJSONObject },
    },
  });
  const args: Record<string, GraphQLArgumentConfig> = {
    id: { type: new GraphQLNonNull(GraphQLID) },
    input: { type: Input },
  };

  test('clean values: no problems', () => {
    expect(
      argumentProblems(args, { id: 'abc', input: { name: 'n', tags: ['a'], config: { a: ['b', { c: 1 }] } } }),
    ).toEqual([]);
  });

  test('scalar arguments by their name, input fields without the argument name, list items by index', () => {
    const fields = argumentProblems(args, { id: 'a\u0000', input: { name: '\uD800', tags: ['ok', 'b\u0000'] } }).map(
      (p) => p.field,
    );
    expect(fields).toEqual(['id', 'name', 'tags.1']);
  });

  test('JSON values: strings and keys anywhere inside; nesting bounded', () => {
    expect(argumentProblems(args, { id: 'x', input: { config: { deep: { ['k\u0000']: 1 } } } })).toEqual([
      { field: 'config', message: expect.stringMatching(/key/) },
    ]);
    expect(argumentProblems(args, { id: 'x', input: { config: { list: [1, 'v\uDC00'] } } })).toEqual([
      { field: 'config', message: expect.stringMatching(/string/) },
    ]);
    let nested: Record<string, unknown> = {};
    for (let i = 0; i < MAX_JSON_DEPTH + 2; i++) nested = { n: nested };
    expect(argumentProblems(args, { id: 'x', input: { config: nested } })).toEqual([
      { field: 'config', message: expect.stringMatching(/nest/) },
    ]);
  });

  test('ids are bounded in length', () => {
    expect(argumentProblems(args, { id: 'x'.repeat(MAX_ID_LENGTH) })).toEqual([]);
    expect(argumentProblems(args, { id: 'x'.repeat(MAX_ID_LENGTH + 1) }).map((p) => p.field)).toEqual(['id']);
  });
});
