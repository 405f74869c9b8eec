import type { RunningGateway } from './gateway';

/**
 * Enum values as the live schema spells them, looked up by their meaning (case and separators
 * ignored): `values.OrgRole('owner')` is `owner` or `OWNER`, whichever the schema says. Tests that
 * must not break when enum values are renamed build their inputs through this.
 */
export type EnumLookup = Record<string, (meaning: string) => string>;

export async function enumValues(gw: RunningGateway, token: string): Promise<EnumLookup> {
  const response = await gw.graphql(`{ __schema { types { kind name enumValues { name } } } }`, {}, token);
  const types = (response.body.data as any).__schema.types.filter((t: any) => t.kind === 'ENUM');
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  return Object.fromEntries(
    types.map((t: any) => [
      t.name,
      (meaning: string) => {
        const found = t.enumValues.find((v: any) => norm(v.name) === norm(meaning));
        if (!found)
          throw new Error(
            `enum ${t.name} has no value meaning "${meaning}" (${t.enumValues.map((v: any) => v.name).join(', ')})`,
          );
        return found.name as string;
      },
    ]),
  );
}
