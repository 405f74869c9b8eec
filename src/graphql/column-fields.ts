import { getMetadataArgsStorage } from 'typeorm';
import { ENTITIES } from '../db/entities';

interface FieldResolverMetadata {
  schemaName: string;
  getObjectType?: () => unknown;
}

/**
 * Lists that read only the asked columns (db/sql.ts AskedColumns) map a selected GraphQL field to the
 * column of the same property name. That is only right while no field resolver shadows a column property
 * (a `@FieldResolver() name()` on Workspace would read whatever it likes, yet get only the `name` column).
 * None does; this refuses at schema build any that ever would. Reads type-graphql's metadata storage
 * (`global.TypeGraphQLMetadataStorage`, as schema.ts does) after buildSchema has linked each field
 * resolver to its object type.
 */
export function assertNoFieldResolverShadowsAColumn(): void {
  const storage = (globalThis as { TypeGraphQLMetadataStorage?: { fieldResolvers?: FieldResolverMetadata[] } })
    .TypeGraphQLMetadataStorage;
  if (!storage?.fieldResolvers)
    throw new Error('type-graphql metadata storage not found (global.TypeGraphQLMetadataStorage)');
  const entities = new Set<unknown>(ENTITIES);
  const columns = getMetadataArgsStorage();
  for (const resolver of storage.fieldResolvers) {
    const type = resolver.getObjectType?.();
    if (!entities.has(type)) continue;
    const shadowed = columns
      .filterColumns(type as new () => unknown)
      .some((column) => column.propertyName === resolver.schemaName);
    if (shadowed) {
      throw new Error(
        `${(type as { name: string }).name}.${resolver.schemaName}: a field resolver named like a column property; ` +
          'lists that read only the asked columns would hand it just that column (src/graphql/column-fields.ts)',
      );
    }
  }
}
