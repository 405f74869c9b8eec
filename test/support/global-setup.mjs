// Starts one PostgreSQL for the whole run (unless TEST_DATABASE_URL names one), using the gateway's own
// embedded-postgres code from dist/ (npm test builds first). Workers inherit the admin URL via env.
// With GATEWAY_TEST_PGBOUNCER=1 (npm run test:pgbouncer) a PgBouncer in transaction mode is started in front
// of it, and test/support/database.ts hands the gateways URLs through it.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import embedded from '../../dist/src/db/embedded.js';
import { PGBOUNCER_POOL_SIZE, startPgBouncer } from './pgbouncer.mjs';

const quietLog = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function startCluster() {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
  const dataDir = path.resolve('.test-data', 'cluster');
  fs.rmSync(dataDir, { recursive: true, force: true });
  const db = await embedded.startEmbeddedPostgres(dataDir, await freePort(), quietLog);
  globalThis.__gatewayTestCluster = db;
  return db.url;
}

export default async function globalSetup() {
  process.env.GATEWAY_TEST_ADMIN_URL = await startCluster();
  if (process.env.GATEWAY_TEST_PGBOUNCER) {
    const bouncer = await startPgBouncer(
      process.env.GATEWAY_TEST_ADMIN_URL,
      path.resolve('.test-data', 'pgbouncer'),
      await freePort(),
    );
    globalThis.__gatewayTestPgBouncer = bouncer;
    process.env.GATEWAY_TEST_PGBOUNCER_PORT = String(bouncer.port);
    process.env.GATEWAY_TEST_PGBOUNCER_POOL_SIZE = String(PGBOUNCER_POOL_SIZE);
  }
}
