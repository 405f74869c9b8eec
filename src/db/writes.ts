import type { EntityManager, EntityMetadata, ObjectLiteral } from 'typeorm';
import { hydrate } from './sql';

type EntityClass<E> = new () => E;

/**
 * INSERT/UPDATE/DELETE … RETURNING * on tenant tables, always keyed by (org_id, id). Writes run inside
 * the request's transaction, so RLS WITH CHECK refuses any row of another organization as well.
 */
export async function insertReturning<E extends ObjectLiteral>(
  manager: EntityManager,
  entity: EntityClass<E>,
  values: Partial<E>,
): Promise<E> {
  // The statement TypeORM's InsertQueryBuilder builds (`INSERT INTO "t"("c", …) VALUES ($1, …) RETURNING *`),
  // built directly from the entity's metadata (issue 11, W3: the builder's query assembly, parameter
  // escaping and returning-entity bookkeeping were ~0.1 ms per insert). Same values: each goes through the
  // driver's preparePersistentValue (jsonb → JSON text, transformers, dates); a property left undefined is
  // left out, so its column takes its DEFAULT, as TypeORM writes DEFAULT for it. Our entities have no
  // relations, version or generated columns (checked below: anything else still goes through TypeORM).
  const metadata = manager.connection.getMetadata(entity);
  if (metadata.relations.length > 0 || metadata.versionColumn || metadata.columns.some((c) => c.isGenerated)) {
    const result = await manager.createQueryBuilder().insert().into(entity).values(values).returning('*').execute();
    return hydrate<E>(metadata, result.raw)[0];
  }
  const driver = manager.connection.driver;
  const parameters: unknown[] = [];
  let present = ''; // which columns have a value, one character per column: the statement's cache key
  for (const column of metadata.columns) {
    const value = (values as Record<string, unknown>)[column.propertyName];
    if (value === undefined) {
      present += '0';
      continue;
    }
    present += '1';
    parameters.push(driver.preparePersistentValue(value, column));
  }
  // The statement text is built once per entity and set of columns (a service always sets the same ones).
  let statements = INSERTS.get(metadata);
  if (!statements) INSERTS.set(metadata, (statements = new Map()));
  let sql = statements.get(present);
  if (sql === undefined) {
    const columns = metadata.columns.filter((_, i) => present[i] === '1').map((c) => driver.escape(c.databaseName));
    sql =
      `INSERT INTO ${driver.escape(metadata.tableName)} (${columns.join(', ')}) ` +
      `VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`;
    statements.set(present, sql);
  }
  const rows = await queryRows(manager, sql, parameters);
  return hydrate<E>(metadata, rows)[0];
}

/** insertReturning's statements per entity, by the set of columns given (at most 2^columns, in practice a few). */
const INSERTS = new WeakMap<EntityMetadata, Map<string, string>>();

export async function updateReturning<E extends ObjectLiteral>(
  manager: EntityManager,
  entity: EntityClass<E>,
  key: { orgColumn?: string; orgId: string; id: string },
  values: Partial<E>,
): Promise<E | null> {
  const orgColumn = key.orgColumn ?? 'org_id';
  const result = await manager
    .createQueryBuilder()
    .update(entity)
    .set(values as never)
    .where(`${orgColumn} = :orgId AND id = :id`, { orgId: key.orgId, id: key.id })
    .returning('*')
    .execute();
  return hydrate<E>(manager.connection.getMetadata(entity), result.raw)[0] ?? null;
}

export async function deleteById(
  manager: EntityManager,
  entity: EntityClass<unknown>,
  orgId: string,
  id: string,
): Promise<boolean> {
  const result = await manager
    .createQueryBuilder()
    .delete()
    .from(entity)
    .where('org_id = :orgId AND id = :id', { orgId, id })
    .execute();
  return (result.affected ?? 0) > 0;
}

/**
 * Rows of a raw statement. Finding: TypeORM's PostgresQueryRunner.query returns `[rows, rowCount]` for
 * UPDATE and DELETE (even with RETURNING) but plain `rows` for everything else; this evens that out.
 */
export async function queryRows<T = Record<string, unknown>>(
  manager: EntityManager,
  sql: string,
  parameters: unknown[] = [],
): Promise<T[]> {
  const result = await manager.query(sql, parameters);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number')
    return result[0] as T[];
  return result as T[];
}
