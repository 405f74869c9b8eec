import { EntityManager, type EntityMetadata, type ObjectLiteral } from 'typeorm';
import type { TenantScope } from './tenant-scope';
import { queryRows } from './writes';
import { keyset, toConnection, type Connection, type Page } from '../pagination';

/**
 * Raw SQL in, entities out: the one place where rows (column names) become entity instances (property
 * names). Services and loaders write the SQL they mean (every statement names org_id; row-level security
 * applies as well) and call `rows` / `one` with the request's scope, or with the EntityManager of a
 * mutation (`scope.mutation(manager => …)`), so both run in the request's transaction.
 */
export type SqlTarget = TenantScope | EntityManager;
type EntityClass<E> = new () => E;

/** Raw rows (column names) → entity instances (property names). */
export function hydrate<E extends ObjectLiteral>(metadata: EntityMetadata, raw: Record<string, unknown>[]): E[] {
  return raw.map((row) => {
    const entity = metadata.create() as E;
    for (const column of metadata.columns) {
      if (column.databaseName in row)
        (entity as Record<string, unknown>)[column.propertyName] = row[column.databaseName];
    }
    return entity;
  });
}

async function managerOf(target: SqlTarget): Promise<EntityManager> {
  return target instanceof EntityManager ? target : target.manager();
}

/** Rows already read (a join, a RETURNING) as entities. */
export async function entities<E extends ObjectLiteral>(
  target: SqlTarget,
  entity: EntityClass<E>,
  raw: Record<string, unknown>[],
): Promise<E[]> {
  return hydrate<E>((await managerOf(target)).connection.getMetadata(entity), raw);
}

/** The rows of one statement as entities. */
export async function rows<E extends ObjectLiteral>(
  target: SqlTarget,
  entity: EntityClass<E>,
  sql: string,
  parameters: unknown[] = [],
): Promise<E[]> {
  const raw =
    target instanceof EntityManager ? await queryRows(target, sql, parameters) : await target.query(sql, parameters);
  return entities(target, entity, raw);
}

/** The first row of one statement as an entity, or null. */
export async function one<E extends ObjectLiteral>(
  target: SqlTarget,
  entity: EntityClass<E>,
  sql: string,
  parameters: unknown[] = [],
): Promise<E | null> {
  return (await rows(target, entity, sql, parameters))[0] ?? null;
}

/** `SELECT count(*)` → number. */
export async function count(target: SqlTarget, sql: string, parameters: unknown[] = []): Promise<number> {
  const raw =
    target instanceof EntityManager
      ? await queryRows<{ count: string }>(target, sql, parameters)
      : await target.query<{ count: string }>(sql, parameters);
  return Number(raw[0]?.count ?? 0);
}

/**
 * One page of an organization-wide list, in id order (ids are UUIDv7: creation order), as a connection
 * whose totalCount is counted only when asked for. `columns`: a select list other than `*`; `map`: a
 * per-row fix-up after hydration (e.g. numeric strings to numbers).
 */
export async function orgListPage<E extends ObjectLiteral & { id: string }>(
  scope: TenantScope,
  entity: EntityClass<E>,
  page: Page,
  options: { columns?: string; newestFirst?: boolean; map?: (item: E) => E } = {},
): Promise<Connection<E>> {
  const table = (await scope.manager()).connection.getMetadata(entity).tableName;
  const { where, order } = keyset(page, 'id', '$2::uuid', options.newestFirst);
  const parameters = [scope.orgId, page.cursor, page.limit + 1];
  const fix = (items: E[]) => (options.map ? items.map(options.map) : items);
  if (page.withCount) {
    // The count and the page in one statement (issue 11): the count is one row that the page joins
    // laterally, so an empty page still brings its count (its one row has only NULL page columns).
    // Not `count(*) OVER ()` on the page: the keyset condition would make it count only past the cursor.
    const raw = await scope.query(
      `SELECT p.*, c.total AS __total FROM (SELECT count(*) AS total FROM ${table} WHERE org_id = $1) c
       LEFT JOIN LATERAL (SELECT ${options.columns ?? '*'} FROM ${table} WHERE org_id = $1 AND ${where} ${order} LIMIT $3) p ON true
       ${keyset(page, 'p.id', '$2::uuid', options.newestFirst).order}`,
      parameters,
    );
    const total = Number(raw[0]?.__total ?? 0);
    const items = await entities(
      scope,
      entity,
      raw.filter((row) => row.id !== null),
    );
    return toConnection(fix(items), page, total);
  }
  const items = await rows(
    scope,
    entity,
    `SELECT ${options.columns ?? '*'} FROM ${table} WHERE org_id = $1 AND ${where} ${order} LIMIT $3`,
    parameters,
  );
  return toConnection(fix(items), page, () =>
    count(scope, `SELECT count(*) FROM ${table} WHERE org_id = $1`, [scope.orgId]),
  );
}
