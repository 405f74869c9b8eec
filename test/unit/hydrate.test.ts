import { DataSource, type EntityMetadata } from 'typeorm';
import { ENTITIES } from '../../src/db/entities';
import { hydrate, selectList } from '../../src/db/sql';

/**
 * src/db/sql.ts `hydrate` builds entities as `Object.create(Entity.prototype)` plus the row's columns,
 * instead of TypeORM's `metadata.create()` (which runs the constructor). These are the conditions under which
 * the two give the same object, checked for every entity, and the equality itself.
 */
let metadatas: EntityMetadata[];

beforeAll(async () => {
  // Metadata only: a data source that never connects.
  const dataSource = new DataSource({ type: 'postgres', entities: ENTITIES });
  await (dataSource as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
  metadatas = ENTITIES.map((entity) => dataSource.getMetadata(entity));
});

/** A row with a distinct value in every column. */
function rowOf(metadata: EntityMetadata): Record<string, unknown> {
  return Object.fromEntries(metadata.columns.map((column, i) => [column.databaseName, `${column.databaseName}-${i}`]));
}

test('no entity has a constructor body, field initializer, transformer, embedded or relation that create() would run', () => {
  for (const metadata of metadatas) {
    const made = metadata.create() as Record<string, unknown>;
    expect([metadata.name, Object.entries(made).filter(([, value]) => value !== undefined)]).toEqual([
      metadata.name,
      [],
    ]);
    const columns = new Set(metadata.columns.map((column) => column.propertyName));
    expect([metadata.name, Object.keys(made).filter((key) => !columns.has(key))]).toEqual([metadata.name, []]);
    expect(metadata.columns.filter((column) => column.transformer || column.embeddedMetadata)).toEqual([]);
    expect(metadata.relations).toEqual([]);
  }
});

test('hydrate gives what metadata.create() plus the columns gave: same prototype, same properties and values', () => {
  for (const metadata of metadatas) {
    const row: Record<string, unknown> = { ...rowOf(metadata), __parent: 'p', __total: '3' };
    const [entity] = hydrate<Record<string, unknown>>(metadata, [row]);
    const expected = metadata.create() as Record<string, unknown>;
    for (const column of metadata.columns) expected[column.propertyName] = row[column.databaseName];
    expect(Object.getPrototypeOf(entity)).toBe(Object.getPrototypeOf(expected));
    expect(entity).toBeInstanceOf(metadata.target as new () => unknown);
    expect({ ...entity }).toEqual({ ...expected });
    expect(Object.keys(entity).sort()).toEqual(Object.keys(expected).sort());
  }
});

test('hydrate with fewer columns sets only those; rows of another column set get their own hydrator', () => {
  const workspace = metadatas.find((m) => m.tableName === 'workspaces')!;
  const partial = hydrate<Record<string, unknown>>(workspace, [{ org_id: 'o', id: 'i', name: 'n' }]);
  expect({ ...partial[0] }).toEqual({ orgId: 'o', id: 'i', name: 'n' });
  const full = hydrate<Record<string, unknown>>(workspace, [rowOf(workspace)]);
  expect(full[0].description).toBe(rowOf(workspace).description);
  expect(hydrate(workspace, [])).toEqual([]);
});

describe('selectList', () => {
  const asked = { environments: [], workspace: ['workspace_id'] };
  const metadataOf = (table: string) => metadatas.find((m) => m.tableName === table)!;

  test('the keys, the required parent key and the asked columns', () => {
    expect(selectList(metadataOf('workspaces'), asked, ['id', 'name'])).toBe('org_id, id, name');
    expect(selectList(metadataOf('environments'), asked, ['id', 'slug', 'tier'], 't', ['workspace_id'])).toBe(
      't.org_id, t.id, t.workspace_id, t.slug, t.tier',
    );
    expect(selectList(metadataOf('environments'), asked, ['deploymentHost', 'workspace'], 't')).toBe(
      't.org_id, t.id, t.deployment_host, t.workspace_id',
    );
    expect(selectList(metadataOf('workspaces'), asked, ['environments'])).toBe('org_id, id');
  });

  test('every column when the fields are unknown or name a field it cannot map', () => {
    expect(selectList(metadataOf('workspaces'), asked, undefined)).toBe('*');
    expect(selectList(metadataOf('environments'), asked, ['id', 'credentials'], 't')).toBe('t.*');
    expect(selectList(metadataOf('workspaces'), asked, ['toString'])).toBe('*');
    expect(selectList(metadataOf('workspaces'), {}, ['environments'])).toBe('*');
  });
});
