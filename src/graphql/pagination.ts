import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { IsOptional, IsString, Max, Min } from 'class-validator';
import { badInput } from './errors';
import { isUuid } from '../db/tenant-scope';
import { isSafeText } from './input-safety';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Relay-style forward pagination; `after` is an opaque cursor from a previous page. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: `1 to ${MAX_PAGE_SIZE}.` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first: number = DEFAULT_PAGE_SIZE;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  after?: string | null;
}

export interface Page {
  first: number;
  afterId: string | null;
}

/**
 * Items are ordered by id, and ids are UUIDv7 (time-ordered), so pages come in creation order and a
 * cursor is just the last id seen, encoded so that clients treat it as opaque.
 */
export function encodeCursor(id: string): string {
  return Buffer.from(`v1:${id}`).toString('base64url');
}

/** `isKey` checks the decoded key: UUIDs for most lists, user ids for members. */
export function toPage(args: PageArgs, isKey: (key: string) => boolean = isUuid): Page {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!args.after) return { first, afterId: null };
  const decoded = Buffer.from(args.after, 'base64url').toString('utf8');
  const id = decoded.startsWith('v1:') ? decoded.slice(3) : '';
  // A decoded cursor is client input too: never let NUL or broken Unicode reach SQL (graphql/input-safety.ts).
  if (!id || !isSafeText(id) || !isKey(id)) throw badInput([{ field: 'after', message: 'after is not a cursor returned by this API' }]);
  return { first, afterId: id };
}

export function pageKey(page: Page): string {
  return `${page.first}:${page.afterId ?? ''}`;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage: boolean;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}

export interface Connection<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: PageInfo;
  /** Resolved lazily: only queries that ask for totalCount pay for the count. */
  readonly totalCount: Promise<number>;
}

/** Builds a connection from up to `first + 1` rows (the extra row only says there is a next page). */
export function toConnection<T extends { id: string }>(rows: T[], page: Page, count: () => Promise<number>): Connection<T> {
  const nodes = rows.slice(0, page.first);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(node.id), node }));
  let counted: Promise<number> | undefined;
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null },
    get totalCount() {
      counted ??= count();
      return counted;
    },
  };
}

export function ConnectionType<T extends object>(node: ClassType<T>) {
  @ObjectType(`${node.name}Edge`)
  class Edge {
    @Field(() => String)
    cursor: string;

    @Field(() => node)
    node: T;
  }

  @ObjectType(`${node.name}Connection`)
  class ConnectionObject {
    @Field(() => [Edge])
    edges: Edge[];

    @Field(() => PageInfo)
    pageInfo: PageInfo;

    @Field(() => Int, { description: 'Number of items in the whole list, across all pages.' })
    totalCount: number;
  }
  return ConnectionObject;
}
