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

type Hydrator = (row: Record<string, unknown>) => unknown;

interface EntityShape {
  /** The entity's prototype: type-graphql resolves the `Node` interface (node/nodes) by `instanceof`, and
   * some entities have getters (ApiKey.status). */
  prototype: object;
  /** column database name → property name. */
  properties: Map<string, string>;
  /** One hydrator per set of columns a statement returns (key: the row's column names). */
  hydrators: Map<string, Hydrator>;
}

const shapes = new WeakMap<EntityMetadata, EntityShape>();

function shapeOf(metadata: EntityMetadata): EntityShape {
  let shape = shapes.get(metadata);
  if (!shape) {
    const target = metadata.target;
    shape = {
      prototype: typeof target === 'function' ? (target.prototype as object) : Object.prototype,
      properties: new Map(metadata.columns.map((column) => [column.databaseName, column.propertyName])),
      hydrators: new Map(),
    };
    shapes.set(metadata, shape);
  }
  return shape;
}

/**
 * The hydrator for rows with `sample`'s columns: `Object.create(Entity.prototype)` plus one assignment per
 * entity column the row has, compiled once per (entity, column set) so every row takes the same
 * monomorphic path (issue 11: TypeORM's `metadata.create()` ran the entity's constructor, whose class
 * field definitions — ES2022 `[[Define]]` of every column as undefined, `TenantEntity`'s included — were
 * ~2 % of W1's CPU and, with the rows themselves, most of its garbage). Equivalent here because no entity
 * has a constructor body, a field initializer, a column transformer, an embedded or a (lazy) relation, and
 * the data source sets no `typename` option (the first three checked by test/unit/hydrate.test.ts). Columns a statement did
 * not select stay absent (undefined) instead of own properties set to undefined. The generated code only
 * names properties and columns from the entity metadata, as JSON string literals.
 */
function hydratorOf(metadata: EntityMetadata, sample: Record<string, unknown>): Hydrator {
  const shape = shapeOf(metadata);
  const key = Object.keys(sample).join(',');
  let hydrator = shape.hydrators.get(key);
  if (!hydrator) {
    const assignments = Object.keys(sample)
      .filter((column) => shape.properties.has(column))
      .map((column) => `e[${JSON.stringify(shape.properties.get(column))}] = row[${JSON.stringify(column)}];`);
    hydrator = new Function(
      'prototype',
      `return function hydrate(row) { const e = Object.create(prototype); ${assignments.join(' ')} return e; };`,
    )(shape.prototype) as Hydrator;
    shape.hydrators.set(key, hydrator);
  }
  return hydrator;
}

/** Raw rows (column names) → entity instances (property names). */
export function hydrate<E extends ObjectLiteral>(metadata: EntityMetadata, raw: Record<string, unknown>[]): E[] {
  if (raw.length === 0) return [];
  const toEntity = hydratorOf(metadata, raw[0]);
  const items = new Array<E>(raw.length);
  for (let i = 0; i < raw.length; i++) items[i] = toEntity(raw[i]) as E;
  return items;
}

/** `hydrate` for rows read one by one (all with `sample`'s columns). */
export function hydrator<E extends ObjectLiteral>(
  metadata: EntityMetadata,
  sample: Record<string, unknown>,
): (row: Record<string, unknown>) => E {
  return hydratorOf(metadata, sample) as (row: Record<string, unknown>) => E;
}

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * A list's opt-in to reading only the columns its GraphQL query asks for (issue 11; W1 then never reads
 * created_at/updated_at or the JSON columns, which the pg driver would parse on every row). `resolved`: the
 * fields of the type that have a resolver of their own (a @FieldResolver) and the columns each reads
 * beyond the primary key (e.g. `workspace: ['workspace_id']`, `environments: []`). Every other field must be
 * a plain column property whose value nothing but its own field reads — no transform reading a sibling
 * property, as AuditEntry.targetId reads targetType, which is why lists opt in one by one (workspaces,
 * environments, components). A selected field that is neither a column property nor in `resolved` (a new
 * field resolver, Environment.credentials) reads every column: an unusual selection costs columns, never
 * a value. src/graphql/column-fields.ts refuses at schema build a field resolver named like a column.
 */
export type AskedColumns = Readonly<Record<string, readonly string[]>>;

const selectLists = new WeakMap<AskedColumns, Map<string, string>>();

/**
 * The select list for `fields` (Page.fields, from the lookahead in graphql/pagination.ts): the primary key,
 * `required` (parent keys), and the columns of the asked fields; `alias.*` (or `*`) when `fields` is
 * unknown or names a field `asked` cannot map. Cached per (opt-in, alias, required, fields): bounded, since
 * `fields` are field names of a validated query (at most every subset of one type's fields).
 */
export function selectList(
  metadata: EntityMetadata,
  asked: AskedColumns,
  fields: readonly string[] | undefined,
  alias = '',
  required: readonly string[] = [],
): string {
  const all = alias ? `${alias}.*` : '*';
  if (!fields) return all;
  let cache = selectLists.get(asked);
  if (!cache) selectLists.set(asked, (cache = new Map()));
  const key = `${metadata.tableName}|${alias}|${required.join(',')}|${fields.join(',')}`;
  let list = cache.get(key);
  if (list === undefined) {
    const byProperty = new Map(metadata.columns.map((column) => [column.propertyName, column.databaseName]));
    const columns = new Set<string>([...metadata.primaryColumns.map((column) => column.databaseName), ...required]);
    let known = true;
    for (const field of fields) {
      const column = byProperty.get(field);
      if (column !== undefined) columns.add(column);
      else if (Object.hasOwn(asked, field)) for (const extra of asked[field]) columns.add(extra);
      else known = false;
    }
    const prefix = alias ? `${alias}.` : '';
    list =
      known && [...columns].every((column) => PLAIN_IDENTIFIER.test(column))
        ? [...columns].map((column) => prefix + column).join(', ')
        : all;
    cache.set(key, list);
  }
  return list;
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
 * per-row fix-up after hydration (e.g. numeric strings to numbers); `askedColumns`: read only the
 * columns of the fields the query asks for (page.fields, see AskedColumns).
 */
export async function orgListPage<E extends ObjectLiteral & { id: string }>(
  scope: TenantScope,
  entity: EntityClass<E>,
  page: Page,
  options: { columns?: string; newestFirst?: boolean; map?: (item: E) => E; askedColumns?: AskedColumns } = {},
): Promise<Connection<E>> {
  const metadata = (await scope.manager()).connection.getMetadata(entity);
  const table = metadata.tableName;
  const columns =
    options.columns ?? (options.askedColumns ? selectList(metadata, options.askedColumns, page.fields) : '*');
  const { where, order } = keyset(page, 'id', '$2::uuid', options.newestFirst);
  const parameters = [scope.orgId, page.cursor, page.limit + 1];
  const fix = (items: E[]) => (options.map ? items.map(options.map) : items);
  if (page.withCount) {
    // The count and the page in one statement (issue 11): the count is one row that the page joins
    // laterally, so an empty page still brings its count (its one row has only NULL page columns).
    // Not `count(*) OVER ()` on the page: the keyset condition would make it count only past the cursor.
    const raw = await scope.query(
      `SELECT p.*, c.total AS __total FROM (SELECT count(*) AS total FROM ${table} WHERE org_id = $1) c
       LEFT JOIN LATERAL (SELECT ${columns} FROM ${table} WHERE org_id = $1 AND ${where} ${order} LIMIT $3) p ON true
       ${keyset(page, 'p.id', '$2::uuid', options.newestFirst).order}`,
      parameters,
    );
    const total = Number(raw[0]?.__total ?? 0);
    const items = hydrate<E>(
      metadata,
      raw.filter((row) => row.id !== null),
    );
    return toConnection(fix(items), page, total);
  }
  const items = hydrate<E>(
    metadata,
    await scope.query(`SELECT ${columns} FROM ${table} WHERE org_id = $1 AND ${where} ${order} LIMIT $3`, parameters),
  );
  return toConnection(fix(items), page, () =>
    count(scope, `SELECT count(*) FROM ${table} WHERE org_id = $1`, [scope.orgId]),
  );
}
