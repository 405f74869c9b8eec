// Starts one PostgreSQL for the whole run (unless TEST_DATABASE_URL names one), using the gateway's own
// embedded-postgres code from dist/ (npm test builds first). Workers inherit the admin URL via env.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import embedded from '../../dist/src/db/embedded.js';

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

export default async function globalSetup() {
  if (process.env.TEST_DATABASE_URL) {
    process.env.GATEWAY_TEST_ADMIN_URL = process.env.TEST_DATABASE_URL;
    return;
  }
  const dataDir = path.resolve('.test-data', 'cluster');
  fs.rmSync(dataDir, { recursive: true, force: true });
  const db = await embedded.startEmbeddedPostgres(dataDir, await freePort(), quietLog);
  globalThis.__gatewayTestCluster = db;
  process.env.GATEWAY_TEST_ADMIN_URL = db.url;
}
