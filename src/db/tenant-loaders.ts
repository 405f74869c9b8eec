import DataLoader from 'dataloader';
import type { EntityMetadata, EntityManager } from 'typeorm';
import type { TenantScope } from './tenant-scope';
import { keyset, pageKey, toConnection, type Connection, type Page } from '../pagination';
import { hydrate, hydrator, selectList, type AskedColumns } from './sql';

export { hydrate } from './sql';

type EntityClass<E> = new () => E;

/**
 * Batch loaders over tenant tables. Each is created per request from the request's TenantScope, so it
 * reads inside the request's transaction (RLS applies) and caches only for the request. Every statement
 * also names `org_id` explicitly: application scoping and RLS each suffice alone.
 * Batch functions return results in key order, `null`/empty for misses.
 */
function metadataOf(manager: EntityManager, entity: EntityClass<unknown>): EntityMetadata {
  return manager.connection.getMetadata(entity);
}

/**
 * Rows by id. `columns`: an explicit select list where the serving role may not read every column
 * (api_keys.secret_hash); `map`: a per-row fix-up after hydration.
 */
export function byIdLoader<E extends { id: string }>(
  scope: TenantScope,
  entity: EntityClass<E>,
  options: { columns?: string; map?: (item: E) => E } = {},
): DataLoader<string, E | null> {
  return new DataLoader(async (ids) => {
    const manager = await scope.manager();
    const metadata = metadataOf(manager, entity);
    const rows = await scope.query(
      `SELECT ${options.columns ?? '*'} FROM ${metadata.tableName} WHERE org_id = $1 AND id = ANY($2::uuid[])`,
      [scope.orgId, ids],
    );
    const items = hydrate<E>(metadata, rows);
    const byId = new Map((options.map ? items.map(options.map) : items).map((e) => [e.id, e]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

/** One parent's page of children; `total`: the parent's whole (filtered) list, when the page counted it. */
export interface ChildPage<E> {
  items: E[];
  total?: number;
}

/**
 * One page of children for many parents in one statement: a LATERAL index scan per parent. With
 * `page.withCount` the same statement counts each parent's (filtered) list too, a second LATERAL per
 * parent (issue 11: the count costs no round trip of its own); the count row is joined first, so a
 * parent with an empty page still brings its count (one row with NULL page columns).
 */
export function childPageLoader<E extends { id: string }>(
  scope: TenantScope,
  entity: EntityClass<E>,
  parentColumn: string,
  page: Page,
  /** An optional equality filter on one column (e.g. components by type). */
  filter?: { column: string; value: string },
  /** Read only the columns of `page.fields` (and the keys), see AskedColumns. */
  askedColumns?: AskedColumns,
): DataLoader<string, ChildPage<E>> {
  return new DataLoader(async (parentIds) => {
    const manager = await scope.manager();
    const metadata = metadataOf(manager, entity);
    const { where, order } = keyset(page, 't.id', '$3::uuid');
    const filtered = filter ? ` AND t.${filter.column} = $5` : '';
    const columns = askedColumns ? selectList(metadata, askedColumns, page.fields, 't', [parentColumn]) : '*';
    const pageOf = `SELECT ${columns} FROM ${metadata.tableName} t
         WHERE t.org_id = $1 AND t.${parentColumn} = p.id AND ${where}${filtered}
         ${order} LIMIT $4`;
    const rows = await scope.query(
      page.withCount
        ? `SELECT c.*, p.id AS __parent, n.total AS __total FROM unnest($2::uuid[]) AS p(id)
       CROSS JOIN LATERAL (
         SELECT count(*) AS total FROM ${metadata.tableName} t WHERE t.org_id = $1 AND t.${parentColumn} = p.id${filtered}
       ) n
       LEFT JOIN LATERAL (${pageOf}) c ON true`
        : `SELECT c.*, p.id AS __parent FROM unnest($2::uuid[]) AS p(id) CROSS JOIN LATERAL (${pageOf}) c`,
      [scope.orgId, parentIds, page.cursor, page.limit + 1, ...(filter ? [filter.value] : [])],
    );
    const grouped = new Map<string, ChildPage<E>>();
    const toEntity = rows.length ? hydrator<E>(metadata, rows[0]) : null;
    for (const row of rows) {
      const parentId = row.__parent as string;
      let group = grouped.get(parentId);
      if (!group) grouped.set(parentId, (group = { items: [] }));
      if (row.__total !== undefined) group.total = Number(row.__total);
      if (row.id !== null) group.items.push(toEntity!(row));
    }
    return parentIds.map((id) => grouped.get(id) ?? { items: [], total: page.withCount ? 0 : undefined });
  });
}

export function childCountLoader(
  scope: TenantScope,
  entity: EntityClass<unknown>,
  parentColumn: string,
  filter?: { column: string; value: string },
): DataLoader<string, number> {
  return new DataLoader(async (parentIds) => {
    const manager = await scope.manager();
    const metadata = metadataOf(manager, entity);
    const rows = await scope.query<{ parent_id: string; count: string }>(
      `SELECT ${parentColumn} AS parent_id, count(*) AS count FROM ${metadata.tableName}
       WHERE org_id = $1 AND ${parentColumn} = ANY($2::uuid[])${filter ? ` AND ${filter.column} = $3` : ''} GROUP BY ${parentColumn}`,
      [scope.orgId, parentIds, ...(filter ? [filter.value] : [])],
    );
    const counts = new Map(rows.map((r) => [r.parent_id, Number(r.count)]));
    return parentIds.map((id) => counts.get(id) ?? 0);
  });
}

/**
 * The loaders of a list that hangs off workspaces (environments, components, connectors): by id, one page
 * of a workspace's items (optionally filtered on one column), and the matching count. Per request.
 */
export class WorkspaceChildLoaders<E extends { id: string }> {
  readonly byId: DataLoader<string, E | null>;
  private readonly pages = new Map<string, DataLoader<string, ChildPage<E>>>();
  private readonly counts = new Map<string, DataLoader<string, number>>();

  constructor(
    private readonly scope: TenantScope,
    private readonly entity: EntityClass<E>,
    /** The column the list filter compares (tier, type, kind). */
    private readonly filterColumn: string,
    /** Pages read only the columns the query asks for (Page.fields; see AskedColumns for when that is safe). */
    private readonly askedColumns?: AskedColumns,
  ) {
    this.byId = byIdLoader(scope, entity);
  }

  /** One page of each workspace's items; `filter`: a stored (lower-case) value of the filter column, or null for all. */
  page(page: Page, filter: string | null = null): DataLoader<string, ChildPage<E>> {
    // Selections asking for other fields read other columns: their own loader (in the same tick, so still
    // the same round trip).
    const fields = this.askedColumns ? (page.fields?.join(',') ?? '*') : '';
    const key = `${filter ?? ''}:${pageKey(page)}:${fields}`;
    let loader = this.pages.get(key);
    if (!loader) {
      loader = childPageLoader(
        this.scope,
        this.entity,
        'workspace_id',
        page,
        filter ? { column: this.filterColumn, value: filter } : undefined,
        this.askedColumns,
      );
      this.pages.set(key, loader);
    }
    return loader;
  }

  /** Per-workspace counts of the (filtered) list. */
  count(filter: string | null = null): DataLoader<string, number> {
    const key = filter ?? '';
    let loader = this.counts.get(key);
    if (!loader) {
      loader = childCountLoader(
        this.scope,
        this.entity,
        'workspace_id',
        filter ? { column: this.filterColumn, value: filter } : undefined,
      );
      this.counts.set(key, loader);
    }
    return loader;
  }

  /** A workspace's page as a connection (rows, cursors, lazy totalCount). */
  async connection(workspaceId: string, page: Page, filter: string | null = null): Promise<Connection<E>> {
    const { items, total } = await this.page(page, filter).load(workspaceId);
    return toConnection(items, page, total ?? (() => this.count(filter).load(workspaceId)));
  }
}
