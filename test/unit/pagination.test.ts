import { GraphQLError } from 'graphql';
import {
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  keyset,
  toConnection,
  toPage,
  type PageArgs,
} from '../../src/graphql/pagination';

const ID = '01900000-0000-7000-8000-000000000001';
const ID2 = '01900000-0000-7000-8000-000000000002';

/** The BAD_USER_INPUT fields toPage refuses `args` with (or null when it accepts them). */
function refusedFields(args: PageArgs): string[] | null {
  try {
    toPage(args);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    const { code, fields } = (error as GraphQLError).extensions as { code: string; fields: Array<{ field: string }> };
    expect(code).toBe('BAD_USER_INPUT');
    return fields.map((f) => f.field);
  }
}

describe('cursors', () => {
  test('a cursor is opaque base64url of a versioned id, and decodes back to the id', () => {
    const cursor = encodeCursor(ID);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain(ID);
    expect(toPage({ first: 5, after: cursor })).toEqual({ limit: 5, cursor: ID, backward: false });
    expect(toPage({ last: 5, before: cursor })).toEqual({ limit: 5, cursor: ID, backward: true });
  });

  test.each([
    ['not base64 of anything we issued', 'garbage'],
    ['an unversioned id', Buffer.from(ID).toString('base64url')],
    ['another version', Buffer.from(`v2:${ID}`).toString('base64url')],
    ['a versioned non-key', Buffer.from('v1:not-a-uuid').toString('base64url')],
    ['a NUL inside', Buffer.from(`v1:${ID}\u0000`).toString('base64url')],
    ['an empty id', Buffer.from('v1:').toString('base64url')],
  ])('refuses %s, naming the argument', (_what, cursor) => {
    expect(refusedFields({ first: 1, after: cursor })).toEqual(['after']);
    expect(refusedFields({ last: 1, before: cursor })).toEqual(['before']);
  });

  test('the key check is the caller’s: member lists use user ids', () => {
    const cursor = encodeCursor('user-1');
    expect(() => toPage({ after: cursor })).toThrow(GraphQLError);
    expect(toPage({ after: cursor }, (key) => key.startsWith('user-'))).toEqual({
      limit: DEFAULT_PAGE_SIZE,
      cursor: 'user-1',
      backward: false,
    });
  });
});

describe('toPage argument rules', () => {
  test('without sizes: the first 20, forward', () => {
    expect(toPage({})).toEqual({ limit: DEFAULT_PAGE_SIZE, cursor: null, backward: false });
    expect(toPage({ first: null, last: null, after: null, before: null })).toEqual({
      limit: DEFAULT_PAGE_SIZE,
      cursor: null,
      backward: false,
    });
  });

  test('last pages backward from the end; before alone pages backward with the default size', () => {
    expect(toPage({ last: 3 })).toEqual({ limit: 3, cursor: null, backward: true });
    expect(toPage({ before: encodeCursor(ID) })).toEqual({ limit: DEFAULT_PAGE_SIZE, cursor: ID, backward: true });
  });

  test.each<[PageArgs, string[]]>([
    [{ first: 1, last: 1 }, ['last']],
    [{ first: 1, before: encodeCursor(ID) }, ['before']],
    [{ last: 1, after: encodeCursor(ID) }, ['after']],
    [{ after: encodeCursor(ID), before: encodeCursor(ID2) }, ['before']],
  ])('mixing directions is refused: %j', (args, fields) => {
    expect(refusedFields(args)).toEqual(fields);
  });
});

describe('keyset and connections', () => {
  test('ascending lists read > forward and < backward; newest-first lists the other way round', () => {
    const forward = toPage({ first: 2 });
    const backward = toPage({ last: 2 });
    expect(keyset(forward, 'id', '$2::uuid')).toEqual({
      where: '($2::uuid IS NULL OR id > $2::uuid)',
      order: 'ORDER BY id ASC',
    });
    expect(keyset(backward, 'id', '$2::uuid')).toEqual({
      where: '($2::uuid IS NULL OR id < $2::uuid)',
      order: 'ORDER BY id DESC',
    });
    expect(keyset(forward, 'id', '$2', true).order).toBe('ORDER BY id DESC');
    expect(keyset(backward, 'id', '$2', true).order).toBe('ORDER BY id ASC');
  });

  test('limit + 1 rows mean another page in the reading direction; backward pages come back in list order', async () => {
    const rows = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
    const forward = toConnection(rows, { limit: 2, cursor: null, backward: false }, async () => 3);
    expect(forward.edges.map((e) => e.node.id)).toEqual(['a', 'b']);
    expect(forward.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: encodeCursor('a'),
      endCursor: encodeCursor('b'),
    });
    const backward = toConnection(rows, { limit: 2, cursor: null, backward: true }, async () => 3);
    expect(backward.edges.map((e) => e.node.id)).toEqual(['b', 'a']);
    expect(backward.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const empty = toConnection([], { limit: 2, cursor: null, backward: false }, async () => 0);
    expect(empty.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
  });

  test('edge cursors are encoded when read, survive JSON, and the rows given are never reordered', () => {
    const rows = [{ id: 'a' }, { id: 'b' }];
    const backward = toConnection(rows, { limit: 5, cursor: null, backward: true }, 2);
    expect(backward.edges.map((e) => e.cursor)).toEqual([encodeCursor('b'), encodeCursor('a')]);
    expect(JSON.parse(JSON.stringify(backward))).toEqual({
      edges: [
        { cursor: encodeCursor('b'), node: { id: 'b' } },
        { cursor: encodeCursor('a'), node: { id: 'a' } },
      ],
      pageInfo: {
        hasNextPage: false,
        hasPreviousPage: false,
        startCursor: encodeCursor('b'),
        endCursor: encodeCursor('a'),
      },
      totalCount: {},
    });
    // The same rows (a DataLoader's cached page) read backward again: still the same order.
    expect(rows.map((r) => r.id)).toEqual(['a', 'b']);
    expect(toConnection(rows, { limit: 5, cursor: null, backward: true }, 2).edges.map((e) => e.node.id)).toEqual([
      'b',
      'a',
    ]);
  });

  test('totalCount is counted only when asked, and once', async () => {
    const count = jest.fn(async () => 7);
    const connection = toConnection([{ id: 'a' }], { limit: 2, cursor: null, backward: false }, count);
    expect(count).not.toHaveBeenCalled();
    expect(await connection.totalCount).toBe(7);
    expect(await connection.totalCount).toBe(7);
    expect(count).toHaveBeenCalledTimes(1);
  });
});
