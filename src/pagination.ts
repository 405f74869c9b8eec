/**
 * Relay cursor connections, transport-neutral: services page with a `Page` and return a `Connection`;
 * the GraphQL transport (graphql/pagination.ts) turns arguments into a Page and declares the object types.
 */

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface Page {
  /** Page size. */
  limit: number;
  /** The decoded cursor (exclusive), or null for the start (forward) or the end (backward) of the list. */
  cursor: string | null;
  /** last/before: rows are read from the far end and reversed into list order. */
  backward: boolean;
  /**
   * The query asks for totalCount (GraphQL lookahead): the page's statement counts the list as well, so
   * the count costs no round trip of its own. Without it, totalCount stays lazy (a statement if read).
   */
  withCount?: boolean;
  /**
   * The node fields the query reads (GraphQL lookahead: field names, sorted), or undefined for all. Lists
   * that opt in read only their columns (db/sql.ts selectList).
   */
  fields?: readonly string[];
}

/**
 * Items are ordered by id, and ids are UUIDv7 (time-ordered), so pages come in creation order and a
 * cursor is just the last id seen, encoded so that clients treat it as opaque.
 */
export function encodeCursor(id: string): string {
  return Buffer.from(`v1:${id}`).toString('base64url');
}

export function pageKey(page: Page): string {
  return `${page.backward ? 'b' : 'f'}${page.withCount ? 'c' : ''}:${page.limit}:${page.cursor ?? ''}`;
}

/**
 * The keyset condition and order for a page over `column`, where `param` is the cursor parameter
 * (e.g. `$2::uuid`). Lists in ascending order read `column > cursor` ascending forward and
 * `column < cursor` descending backward; `newestFirst` lists the other way round. Rows read backward
 * are put back in list order by toConnection.
 */
export function keyset(
  page: Page,
  column: string,
  param: string,
  newestFirst = false,
): { where: string; order: string } {
  const ascending = newestFirst === page.backward;
  return {
    where: `(${param} IS NULL OR ${column} ${ascending ? '>' : '<'} ${param})`,
    order: `ORDER BY ${column} ${ascending ? 'ASC' : 'DESC'}`,
  };
}

/** The shape of graphql/pagination.ts's PageInfo object type. */
export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Connection<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: PageInfo;
  /** Resolved lazily: only queries that ask for totalCount pay for the count. */
  readonly totalCount: Promise<number>;
}

/**
 * Builds a connection from up to `limit + 1` rows in reading order (the extra row only says there is
 * another page in the reading direction); backward pages are reversed into list order. `count`: the
 * list's total when the page's statement counted it (Page.withCount), or how to count it when asked.
 */
export function toConnection<T extends { id: string }>(
  rows: T[],
  page: Page,
  count: number | (() => Promise<number>),
): Connection<T> {
  const more = rows.length > page.limit;
  // A copy only when it is cut or reversed (the rows may be a DataLoader's cached page, read again).
  const nodes = more || page.backward ? rows.slice(0, page.limit) : rows;
  if (page.backward) nodes.reverse();
  const edges = new Array<Edge<T>>(nodes.length);
  for (let i = 0; i < nodes.length; i++) edges[i] = new Edge(nodes[i]);
  let counted: Promise<number> | undefined;
  return {
    edges,
    pageInfo: {
      hasNextPage: !page.backward && more,
      hasPreviousPage: page.backward && more,
      get startCursor() {
        return edges.length ? edges[0].cursor : null;
      },
      get endCursor() {
        return edges.length ? edges[edges.length - 1].cursor : null;
      },
    },
    get totalCount() {
      counted ??= typeof count === 'number' ? Promise.resolve(count) : count();
      return counted;
    },
  };
}

/**
 * An edge whose cursor is encoded only when read (issue 11): W1 returns 420 edges and selects none of
 * their cursors, and encoding each (a Buffer and two strings) was ~1.5 % of its CPU and more of its
 * garbage. `toJSON` keeps the cursor in a serialized edge.
 */
class Edge<T extends { id: string }> {
  constructor(readonly node: T) {}

  get cursor(): string {
    return encodeCursor(this.node.id);
  }

  toJSON(): { cursor: string; node: T } {
    return { cursor: this.cursor, node: this.node };
  }
}
