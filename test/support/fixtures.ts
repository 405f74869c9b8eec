import crypto from 'node:crypto';
import type { Pool } from 'pg';
import type { RunningGateway } from './gateway';
import { cli } from './gateway';
import type { TestDatabase } from './database';

export interface Org {
  id: string;
  slug: string;
}

/** Organizations are created the way an operator does it: through the platform CLI, owned by `user-1`. */
export async function createOrg(db: TestDatabase, prefix = 'org'): Promise<Org> {
  const slug = `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
  const result = await cli(
    [
      'org',
      'create',
      '--name',
      `Org ${slug}`,
      '--slug',
      slug,
      '--owner-email',
      'owner@example.test',
      '--owner-id',
      'user-1',
      '--json',
    ],
    {
      DATABASE_URL: db.url,
      NODE_ENV: 'test',
    },
  );
  if (result.code !== 0) throw new Error(`org create failed: ${result.stderr}`);
  return { id: result.json.id, slug };
}

export interface Tree {
  workspaces: Array<{ id: string; environments: string[]; components: string[] }>;
}

export function ok<T>(response: { body: { data?: T | null; errors?: unknown[] } }): T {
  if (response.body.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(response.body.errors)}`);
  return response.body.data as T;
}

/** Builds workspaces with environments and components through the public GraphQL API. */
export async function createTree(
  gw: RunningGateway,
  token: string,
  shape: { workspaces: number; environments: number; components: number },
): Promise<Tree> {
  const tree: Tree = { workspaces: [] };
  for (let w = 0; w < shape.workspaces; w++) {
    const ws = ok<any>(
      await gw.graphql(
        `mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }`,
        { i: { name: `Workspace ${w}` } },
        token,
      ),
    ).createWorkspace.id as string;
    const environments = await Promise.all(
      Array.from(
        { length: shape.environments },
        async (_, e) =>
          ok<any>(
            await gw.graphql(
              `mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }`,
              { i: { workspaceId: ws, name: `Env ${e}`, slug: `env-${e}`, tier: ['DEV', 'STAGE', 'PROD'][e % 3] } },
              token,
            ),
          ).createEnvironment.id as string,
      ),
    );
    const components = await Promise.all(
      Array.from(
        { length: shape.components },
        async (_, c) =>
          ok<any>(
            await gw.graphql(
              `mutation($i: CreateComponentInput!) { createComponent(input: $i) { id } }`,
              { i: { workspaceId: ws, name: `Component ${c}`, type: 'AGENT', configuration: { n: c } } },
              token,
            ),
          ).createComponent.id as string,
      ),
    );
    tree.workspaces.push({ id: ws, environments, components });
  }
  return tree;
}

/**
 * Bulk data for read-path tests, inserted as the database owner (a factory, not an API path): `workspaces`
 * workspaces, each with `environments` environments and `components` components.
 */
export async function seedTreeSql(
  admin: Pool,
  orgId: string,
  shape: { workspaces: number; environments: number; components: number },
): Promise<void> {
  await admin.query(
    `WITH ws AS (
       INSERT INTO workspaces (org_id, id, name)
       SELECT $1, gen_random_uuid(), 'Workspace ' || g FROM generate_series(1, $2) g
       RETURNING id
     ), envs AS (
       INSERT INTO environments (org_id, id, workspace_id, name, slug, tier)
       SELECT $1, gen_random_uuid(), ws.id, 'Env ' || g, 'env-' || g, 'dev' FROM ws, generate_series(1, $3) g
     )
     INSERT INTO components (org_id, id, workspace_id, type, name)
     SELECT $1, gen_random_uuid(), ws.id, 'agent', 'Component ' || g FROM ws, generate_series(1, $4) g`,
    [orgId, shape.workspaces, shape.environments, shape.components],
  );
}

/** The global id the API uses for a stored UUID (base64url of `Type:uuid`; see src/graphql/node.ts). */
export function gid(type: string, uuid: string): string {
  return Buffer.from(`${type}:${uuid}`, 'utf8').toString('base64url');
}

/** The stored UUID inside a global id (for SQL checks against what the API returned). */
export function uuidOf(globalId: string): string {
  return Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1];
}

/** Deeply replaces every global id in a value by its stored UUID (for SQL parameters and row comparisons). */
export function raw<T>(value: T): T {
  if (typeof value === 'string') {
    const decoded = /^[A-Za-z0-9_-]{20,}$/.test(value) ? Buffer.from(value, 'base64url').toString('utf8') : '';
    const match = /^[A-Z][A-Za-z]+:([0-9a-f-]{36})$/.exec(decoded);
    return (match ? match[1] : value) as T;
  }
  if (Array.isArray(value)) return value.map(raw) as T;
  if (value && typeof value === 'object' && value.constructor === Object) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, raw(v)])) as T;
  }
  return value;
}
