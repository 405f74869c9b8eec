import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildSchema, getNamedType, isObjectType } from 'graphql';
import { ALL_SCOPES } from './support/scopes';

const ROOT = path.resolve(__dirname, '..');
const committed = fs.readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8');
const schema = buildSchema(committed);

test('schema.graphql is exactly what the code generates (run `npm run schema` after changing the API)', () => {
  const printed = execFileSync(process.execPath, [path.join(ROOT, 'dist/scripts/print-schema.js'), '--check'], {
    encoding: 'utf8',
  });
  expect(printed).toMatch(/up to date/);
});

test('every query and mutation declares its authorization in the schema', () => {
  for (const type of [schema.getQueryType()!, schema.getMutationType()!]) {
    for (const field of Object.values(type.getFields())) {
      const directives = field.astNode?.directives?.map((d) => d.name.value) ?? [];
      expect({
        field: `${type.name}.${field.name}`,
        guarded: directives.some((d) => d === 'authenticated' || d === 'requiresScopes'),
      }).toEqual({
        field: `${type.name}.${field.name}`,
        guarded: true,
      });
    }
  }
});

test('every object type reachable from the root, other than plumbing, names the scope that reads it', () => {
  const plumbing = /(Connection|Edge|PageInfo|Viewer|Query|Mutation)$/;
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__') || plumbing.test(type.name)) continue;
    const directives = type.astNode?.directives?.map((d) => d.name.value) ?? [];
    expect({ type: type.name, scoped: directives.includes('requiresScopes') }).toEqual({
      type: type.name,
      scoped: true,
    });
  }
  expect(getNamedType(schema.getQueryType()!.getFields().workspace.type).name).toBe('Workspace');
});

test('the scopes named in the schema are the catalogue, and the catalogue is the one the gateway enforces', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SCOPES } = require(path.join(ROOT, 'dist/src/auth/scopes.js'));
  expect([...SCOPES]).toEqual(ALL_SCOPES);
  const named = new Set([...committed.matchAll(/"([a-z_]+:[a-z_]+)"/g)].map((m) => m[1]));
  for (const scope of named) expect(ALL_SCOPES).toContain(scope);
});
