/**
 * The benchmark's database: one embedded PostgreSQL (or TEST_DATABASE_URL), one fresh database migrated by the
 * gateway's own CLI, the serving login made by the CLI (`db create-serving-login`: no privileges of its own,
 * member of manifest_app), and data inserted set-based as the superuser (a factory, like the tests' seedTreeSql):
 * 200 organizations × 20 workspaces × (10 + 10) take about a second.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { BenchFailure } from './load.mjs';

const require = createRequire(import.meta.url);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (file) => require(path.join(ROOT, 'dist', file));

const quiet = {
  trace() {},
  debug() {},
  info() {},
  warn: console.warn,
  error: console.error,
  child() {
    return quiet;
  },
};

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts (or connects to) PostgreSQL and creates the benchmark database; returns URLs and an admin pool. */
export async function createDatabase() {
  let stopCluster = async () => undefined;
  if (process.env.TEST_DATABASE_URL) {
    process.env.GATEWAY_TEST_ADMIN_URL = process.env.TEST_DATABASE_URL;
  } else {
    const { startEmbeddedPostgres } = dist('src/db/embedded.js');
    // Its own directory (`npm run bench:rls` wipes .bench-data/), kept between runs (no initdb each time). One run
    // at a time: a second one would stop the first one's PostgreSQL (startEmbeddedPostgres stops a postmaster it
    // finds on its directory: that is how a killed run's is cleaned up). Databases a killed run left are dropped.
    const dir = path.join(ROOT, '.bench-peers');
    fs.mkdirSync(dir, { recursive: true });
    const lock = path.join(dir, 'run.pid');
    const holder = fs.existsSync(lock) ? Number(fs.readFileSync(lock, 'utf8')) : 0;
    if (holder && holder !== process.pid && alive(holder))
      throw new BenchFailure(`another benchmark run (pid ${holder}) is using ${dir}`);
    fs.writeFileSync(lock, String(process.pid));
    const cluster = await startEmbeddedPostgres(dir, await freePort(), quiet);
    process.env.GATEWAY_TEST_ADMIN_URL = cluster.url;
    stopCluster = async () => {
      await cluster.stop();
      fs.rmSync(lock, { force: true });
    };
    const server = new pg.Client({ connectionString: cluster.url });
    await server.connect();
    const { rows } = await server.query(`SELECT datname FROM pg_database WHERE datname LIKE 'gw\\_test\\_%'`);
    for (const { datname } of rows) await server.query(`DROP DATABASE ${datname} WITH (FORCE)`);
    await server.end();
  }
  const { createTestDatabase } = dist('test/support/database.js');
  const { cli } = dist('test/support/gateway.js');
  const db = await createTestDatabase();
  // An idle pooled connection that PostgreSQL ends must not crash the run with an unhandled 'error' event.
  db.admin.on('error', (error) => console.error(`[bench] admin connection: ${error.message}`));
  const run = async (args) => {
    const result = await cli([...args, '--json'], { DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'warn' });
    if (result.code !== 0) throw new Error(`cli ${args.join(' ')} failed: ${result.stderr}`);
    return result.json;
  };
  await run(['migrate']);
  const login = await run([
    'db',
    'create-serving-login',
    '--name',
    'manifest_bench',
    '--password',
    crypto.randomBytes(18).toString('base64url'),
  ]);
  return {
    ownerUrl: db.url,
    servingUrl: login.app_database_url,
    admin: db.admin,
    cli: run,
    async close() {
      // Not db.drop(): pg-pool's end() resolves before the sockets are closed, so stopping the cluster right after
      // can reach a connection that is still ending, and its 57P01 "terminating connection due to administrator
      // command" becomes an unhandled 'error' event. A Client's end() waits for the socket.
      await db.admin.end();
      const server = new pg.Client({ connectionString: process.env.GATEWAY_TEST_ADMIN_URL });
      server.on('error', () => undefined);
      await server.connect();
      await server.query(`DROP DATABASE IF EXISTS ${new URL(db.url).pathname.slice(1)} WITH (FORCE)`);
      await server.end();
      await stopCluster();
    },
  };
}

/** `count` organizations, each owned by user-1 (the tokens' sub), as the platform's `org create` makes them. */
export async function createOrgs(admin, prefix, count) {
  const { rows } = await admin.query(
    `WITH o AS (
       INSERT INTO organizations (id, name, slug)
       SELECT gen_random_uuid(), 'Bench ' || $1 || ' ' || g, $1 || '-' || g FROM generate_series(1, $2) g
       RETURNING id, slug
     ), m AS (
       INSERT INTO org_members (org_id, user_id, email, role) SELECT id, 'user-1', 'owner@example.test', 'owner' FROM o
     )
     SELECT id, slug FROM o ORDER BY slug`,
    [prefix, count],
  );
  return rows;
}

const TIERS = `(ARRAY['dev','stage','prod'])[1 + g % 3]`;
const TYPES = `(ARRAY['agent','workflow','code_block','hosted_service'])[1 + g % 4]`;

/** workspaces × (environments + components) in every given organization, in one statement. */
export async function seedTrees(admin, orgIds, shape) {
  await admin.query(
    `WITH ws AS (
       INSERT INTO workspaces (org_id, id, name, description)
       SELECT o, gen_random_uuid(), 'Workspace ' || g, 'Bench workspace ' || g FROM unnest($1::uuid[]) o, generate_series(1, $2) g
       RETURNING org_id, id
     ), envs AS (
       INSERT INTO environments (org_id, id, workspace_id, name, slug, tier)
       SELECT ws.org_id, gen_random_uuid(), ws.id, 'Env ' || g, 'env-' || g, ${TIERS} FROM ws, generate_series(1, $3) g
     )
     INSERT INTO components (org_id, id, workspace_id, type, name)
     SELECT ws.org_id, gen_random_uuid(), ws.id, ${TYPES}, 'Component ' || g FROM ws, generate_series(1, $4) g`,
    [orgIds, shape.workspaces, shape.environments, shape.components],
  );
  await admin.query('ANALYZE');
}

/** The first workspace (by id, the API's order) of each organization. */
export async function firstWorkspaces(admin, orgIds) {
  const { rows } = await admin.query(
    `SELECT DISTINCT ON (org_id) org_id, id FROM workspaces WHERE org_id = ANY($1::uuid[]) ORDER BY org_id, id`,
    [orgIds],
  );
  const byOrg = new Map(rows.map((r) => [r.org_id, r.id]));
  return orgIds.map((id) => byOrg.get(id));
}
