import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { IsOptional, IsString, Max, Min } from 'class-validator';
import { badInput, type FieldError } from './errors';
import type { PageInfo as PageInfoShape } from '../pagination';
import { isUuid } from '../db/tenant-scope';
import { isSafeText } from './input-safety';

import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type Page } from '../pagination';

export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  encodeCursor,
  keyset,
  pageKey,
  toConnection,
  type Connection,
  type Page,
} from '../pagination';

/**
 * Relay cursor connections, both directions: `first`/`after` pages forward, `last`/`before` backward
 * (the page still comes in list order). Without either size, the first 20. Mixing directions
 * (`first` with `last`, `first` with `before`, `last` with `after`) is refused with BAD_USER_INPUT:
 * the spec allows it but no client needs it, and its results are surprising.
 */
@ArgsType()
export class PageArgs {
  @Field(() => Int, {
    nullable: true,
    description: `Page forward: at most this many items after \`after\` (1 to ${MAX_PAGE_SIZE}; ${DEFAULT_PAGE_SIZE} when neither first nor last is given).`,
  })
  @IsOptional()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Page forward from this cursor (an `endCursor` or edge `cursor` of a previous page), exclusive.',
  })
  @IsOptional()
  @IsString()
  after?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: `Page backward: at most this many items before \`before\` (1 to ${MAX_PAGE_SIZE}); without \`before\`, the last items of the list.`,
  })
  @IsOptional()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  last?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Page backward from this cursor (a `startCursor` or edge `cursor` of a previous page), exclusive.',
  })
  @IsOptional()
  @IsString()
  before?: string | null;
}

/**
 * Lookahead: whether the connection field being resolved selects `totalCount` (directly, or through
 * inline fragments and fragment spreads). @skip/@include are not evaluated: a skipped totalCount is
 * counted anyway, which costs a little work and no extra round trip.
 */
export function selectsTotalCount(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): boolean {
  return connectionLookahead(info).totalCount;
}

/**
 * Lookahead over a connection field's selection (issue 11): whether it selects `totalCount`, and which
 * fields of the node type `edges { node { … } }` selects (field names, not aliases; through inline
 * fragments and fragment spreads at both levels; `__typename` left out), sorted. `nodeFields` is
 * undefined when the selection cannot be read completely (a fragment spread that names no fragment of the
 * document), so a caller falls back to every column. @skip/@include are not evaluated: a skipped field is
 * read anyway (a little more work, never a missing value).
 */
export function connectionLookahead(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): Lookahead {
  // graphql-js hands every item of a list the same fieldNodes array (collectSubfields is memoized per
  // execution), so W1's 20 workspaces × 2 connections walk their selection once. The arrays belong to one
  // execution, so the memo dies with the request; and it is a function of the query text, never of data.
  const known = lookaheads.get(info.fieldNodes);
  if (known && known.fragments === info.fragments) return known.result;
  const result = lookahead(info);
  lookaheads.set(info.fieldNodes, { fragments: info.fragments, result });
  return result;
}

interface Lookahead {
  readonly totalCount: boolean;
  readonly nodeFields: readonly string[] | undefined;
}

const lookaheads = new WeakMap<
  readonly FieldNode[],
  { fragments: GraphQLResolveInfo['fragments']; result: Lookahead }
>();

function lookahead(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): Lookahead {
  let totalCount = false;
  let complete = true;
  const nodeFields = new Set<string>();
  // Visits the fields of a selection set (fragments flattened); a spread is followed once per level.
  const fieldsOf = (selectionSet: SelectionSetNode | undefined, visit: (field: FieldNode) => void): void => {
    const seen = new Set<string>();
    const walk = (set: SelectionSetNode | undefined): void => {
      for (const selection of set?.selections ?? []) {
        if (selection.kind === Kind.FIELD) visit(selection);
        else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
        else if (!seen.has(selection.name.value)) {
          seen.add(selection.name.value);
          const fragment = info.fragments[selection.name.value];
          if (fragment) walk(fragment.selectionSet);
          else complete = false;
        }
      }
    };
    walk(selectionSet);
  };
  for (const node of info.fieldNodes) {
    fieldsOf(node.selectionSet, (field) => {
      if (field.name.value === 'totalCount') totalCount = true;
      else if (field.name.value === 'edges')
        fieldsOf(field.selectionSet, (edgeField) => {
          if (edgeField.name.value === 'node')
            fieldsOf(edgeField.selectionSet, (nodeField) => {
              if (nodeField.name.value !== '__typename') nodeFields.add(nodeField.name.value);
            });
        });
    });
  }
  return { totalCount, nodeFields: complete ? [...nodeFields].sort() : undefined };
}

/**
 * `isKey` checks the decoded key: UUIDs for most lists, user ids for members. `info`: the connection
 * field's resolve info; when it selects totalCount, the page's statement counts the list too
 * (Page.withCount), so the count costs no round trip of its own; the node fields it selects become
 * Page.fields (lists that read only the columns asked for use them, see db/columns.ts).
 */
export function toPage(args: PageArgs, isKey: (key: string) => boolean = isUuid, info?: GraphQLResolveInfo): Page {
  const page = parsePage(args, isKey);
  if (!info) return page;
  const { totalCount, nodeFields } = connectionLookahead(info);
  return {
    ...page,
    ...(totalCount ? { withCount: true } : {}),
    ...(nodeFields ? { fields: nodeFields } : {}),
  };
}

function parsePage(args: PageArgs, isKey: (key: string) => boolean): Page {
  const hasFirst = args.first !== undefined && args.first !== null;
  const hasLast = args.last !== undefined && args.last !== null;
  const mixed: FieldError[] = [];
  if (hasFirst && hasLast)
    mixed.push({ field: 'last', message: 'give first (with after) or last (with before), not both' });
  if (hasFirst && args.before) mixed.push({ field: 'before', message: 'before pages backward: use it with last' });
  if (hasLast && args.after) mixed.push({ field: 'after', message: 'after pages forward: use it with first' });
  if (args.after && args.before) mixed.push({ field: 'before', message: 'give after or before, not both' });
  if (mixed.length) throw badInput(mixed);
  const backward = hasLast || (!hasFirst && Boolean(args.before));
  const limit = (backward ? args.last : args.first) ?? DEFAULT_PAGE_SIZE;
  const given = backward ? args.before : args.after;
  if (!given) return { limit, cursor: null, backward };
  const decoded = Buffer.from(given, 'base64url').toString('utf8');
  const id = decoded.startsWith('v1:') ? decoded.slice(3) : '';
  const field = backward ? 'before' : 'after';
  // A decoded cursor is client input too: never let NUL or broken Unicode reach SQL (graphql/input-safety.ts).
  if (!id || !isSafeText(id) || !isKey(id))
    throw badInput([{ field, message: `${field} is not a cursor returned by this API` }]);
  return { limit, cursor: id, backward };
}

@ObjectType({ description: 'Where a page sits in its list (Relay cursor connections).' })
export class PageInfo implements PageInfoShape {
  @Field(() => Boolean, {
    description:
      'Paging forward (first/after): whether more items follow this page. Always false when paging backward.',
  })
  hasNextPage: boolean;

  @Field(() => Boolean, {
    description:
      'Paging backward (last/before): whether more items precede this page. Always false when paging forward.',
  })
  hasPreviousPage: boolean;

  @Field(() => String, {
    nullable: true,
    description:
      'Cursor of the first item of the page (pass as `before` for the previous page); null for an empty page.',
  })
  startCursor: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the last item of the page (pass as `after` for the next page); null for an empty page.',
  })
  endCursor: string | null;
}

export function ConnectionType<T extends object>(node: ClassType<T>) {
  @ObjectType(`${node.name}Edge`, { description: `One ${node.name} of a page, with its cursor.` })
  class Edge {
    @Field(() => String, {
      description: 'Opaque cursor of this item: pass it as `after` or `before` to page from here.',
    })
    cursor: string;

    @Field(() => node, { description: `The ${node.name}.` })
    node: T;
  }

  @ObjectType(`${node.name}Connection`, {
    description: `A page of ${node.name} items (Relay cursor connection): page with first/after or last/before.`,
  })
  class ConnectionObject {
    @Field(() => [Edge], { description: 'The items of this page, in list order.' })
    edges: Edge[];

    @Field(() => PageInfo, { description: 'Cursors and whether more pages exist.' })
    pageInfo: PageInfo;

    @Field(() => Int, { description: 'Number of items in the whole list, across all pages.' })
    totalCount: number;
  }
  return ConnectionObject;
}
