import DataLoader from 'dataloader';
import type { EntityMetadata, EntityManager, ObjectLiteral } from 'typeorm';
import type { TenantScope } from './tenant-scope';
import { keyset, type Page } from '../pagination';

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

/** Raw rows (column names) → entity instances (property names). */
export function hydrate<E extends ObjectLiteral>(metadata: EntityMetadata, rows: Record<string, unknown>[]): E[] {
  return rows.map((row) => {
    const entity = metadata.create() as E;
    for (const column of metadata.columns) {
      if (column.databaseName in row) (entity as Record<string, unknown>)[column.propertyName] = row[column.databaseName];
    }
    return entity;
  });
}

export function byIdLoader<E extends { id: string }>(scope: TenantScope, entity: EntityClass<E>): DataLoader<string, E | null> {
  return new DataLoader(async (ids) => {
    const manager = await scope.manager();
    const metadata = metadataOf(manager, entity);
    const rows = await scope.query(`SELECT * FROM ${metadata.tableName} WHERE org_id = $1 AND id = ANY($2::uuid[])`, [
      scope.orgId,
      ids,
    ]);
    const byId = new Map(hydrate<E>(metadata, rows).map((e) => [e.id, e]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

/** One page of children for many parents in one statement: a LATERAL index scan per parent. */
export function childPageLoader<E extends { id: string }>(
  scope: TenantScope,
  entity: EntityClass<E>,
  parentColumn: string,
  page: Page,
  /** An optional equality filter on one column (e.g. components by type). */
  filter?: { column: string; value: string },
): DataLoader<string, E[]> {
  return new DataLoader(async (parentIds) => {
    const manager = await scope.manager();
    const metadata = metadataOf(manager, entity);
    const { where, order } = keyset(page, 't.id', '$3::uuid');
    const rows = await scope.query(
      `SELECT c.* FROM unnest($2::uuid[]) AS p(id)
       CROSS JOIN LATERAL (
         SELECT * FROM ${metadata.tableName} t
         WHERE t.org_id = $1 AND t.${parentColumn} = p.id AND ${where}${filter ? ` AND t.${filter.column} = $5` : ''}
         ${order} LIMIT $4
       ) c`,
      [scope.orgId, parentIds, page.cursor, page.limit + 1, ...(filter ? [filter.value] : [])],
    );
    const grouped = new Map<string, E[]>();
    for (const item of hydrate<E>(metadata, rows)) {
      const parentId = (item as Record<string, unknown>)[propertyOf(metadata, parentColumn)] as string;
      grouped.set(parentId, [...(grouped.get(parentId) ?? []), item]);
    }
    return parentIds.map((id) => grouped.get(id) ?? []);
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

function propertyOf(metadata: EntityMetadata, databaseName: string): string {
  const column = metadata.columns.find((c) => c.databaseName === databaseName);
  if (!column) throw new Error(`${metadata.tableName} has no column ${databaseName}`);
  return column.propertyName;
}
