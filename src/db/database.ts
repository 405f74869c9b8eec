import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { createDataSource } from './data-source';
import { startEmbeddedPostgres } from './embedded';
import { ensureServingLogin } from './serving-login';
import { Client } from 'pg';
import { outageOf } from '../graphql/errors';

export interface Databases {
  /** Owner role: migrations and the platform-admin path. */
  owner: DataSource;
  /** Serving connection; every request switches to the tenant role inside its transaction. */
  app: DataSource;
  /** Closes both pools, then stops the embedded PostgreSQL if this process started it: last. */
  close(): Promise<void>;
  /** Records the gateway's HTTP port in DATA_DIR's owner record (embedded database only). */
  recordHttpPort(port: number): void;
}

/**
 * Connects to DATABASE_URL, or starts the embedded PostgreSQL under DATA_DIR when it is unset; applies
 * pending migrations (as the owner) unless told not to.
 */
export async function openDatabases(
  config: Config,
  log: Logger,
  options: {
    migrate?: boolean;
    reuseRunningEmbedded?: boolean;
    poolSize?: number;
    serving?: boolean;
    ownSignals?: boolean;
  } = {},
): Promise<Databases> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, log, {
        reuseRunning: options.reuseRunningEmbedded,
        ownSignals: options.ownSignals,
        kind: options.serving ? 'gateway' : 'cli',
      });
  const ownerUrl = config.databaseUrl ?? embedded!.url;
  const poolSize = options.poolSize ?? config.dbPoolSize;
  const separateServingPool = Boolean(config.appDatabaseUrl || embedded);
  if (config.databaseUrl) await waitForDatabase(ownerUrl, config.dbStartupTimeoutMs, log);
  const owner = createDataSource({
    url: ownerUrl,
    poolSize: separateServingPool ? 2 : poolSize,
    statementTimeoutMs: config.statementTimeoutMs,
    poolWaitMs: config.dbPoolWaitMs,
    log,
  });
  try {
    await owner.initialize();
    if (options.migrate !== false) await migrateExclusively(owner, ownerUrl, log);
    let appUrl = config.appDatabaseUrl;
    if (!appUrl && embedded) {
      await ensureServingLogin(owner, embedded.servingLogin.name, embedded.servingLogin.password);
      appUrl = embedded.servingLogin.url;
    }
    if (!appUrl && options.serving) {
      log.warn(
        'APP_DATABASE_URL is not set: serving through the DATABASE_URL role (each request still runs as the tenant role under RLS). ' +
          'For defence in depth create a serving login with `npm run cli -- db create-serving-login` and set APP_DATABASE_URL.',
      );
    }
    const app = appUrl
      ? await createDataSource({
          url: appUrl,
          poolSize,
          statementTimeoutMs: config.statementTimeoutMs,
          poolWaitMs: config.dbPoolWaitMs,
          log,
        }).initialize()
      : owner;
    return {
      owner,
      app,
      close: async () => {
        try {
          if (app !== owner && app.isInitialized) await app.destroy();
          if (owner.isInitialized) await owner.destroy();
        } finally {
          await embedded?.stop();
        }
      },
      recordHttpPort: (port) => embedded?.recordHttpPort(port),
    };
  } catch (error) {
    if (owner.isInitialized) await owner.destroy().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
}

/**
 * Start-up with an external database that is not up yet (a container starting beside it, a failover):
 * retry with a logged exponential back-off (250 ms doubling up to 5 s) until `timeoutMs`
 * (DB_STARTUP_TIMEOUT_MS), then give up with a message saying so. Only outages are retried (refused
 * connections, "the database system is starting up", broken sockets); a wrong password or a missing
 * database fails at once. Messages never include the URL (it may hold a password).
 */
export async function waitForDatabase(url: string, timeoutMs: number, log: Logger): Promise<void> {
  const started = Date.now();
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    const client = new Client({
      connectionString: url,
      connectionTimeoutMillis: Math.max(1000, Math.min(5000, timeoutMs)),
    });
    client.on('error', () => undefined); // a socket error after connect must not crash start-up
    try {
      await client.connect();
      await client.query('SELECT 1');
      if (attempt > 1) log.info({ attempt, waitedMs: Date.now() - started }, 'database is reachable');
      return;
    } catch (error) {
      const reason = { code: (error as { code?: string }).code, message: (error as Error).message };
      if (!outageOf(error)) throw error;
      const elapsed = Date.now() - started;
      if (elapsed + delay > timeoutMs) {
        throw new Error(
          `the database did not become reachable within DB_STARTUP_TIMEOUT_MS (${timeoutMs} ms): ${reason.code ?? reason.message}`,
        );
      }
      log.warn(
        { attempt, retryInMs: delay, elapsedMs: elapsed, err: reason },
        'database not reachable yet; waiting (DB_STARTUP_TIMEOUT_MS)',
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5000);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * Replicas of a deployment start together on an unmigrated database, and TypeORM takes no lock of its own:
 * the slower ones failed on objects the first had just created ("already exists") and exited. A
 * transaction-scoped advisory lock, held on a connection of its own while the migrations run, lets one
 * replica migrate; the others wait for it and then find nothing pending. Transaction-scoped rather than a
 * session lock, so it holds behind PgBouncer in transaction mode too.
 */
async function migrateExclusively(owner: DataSource, ownerUrl: string, log: Logger): Promise<void> {
  const lock = new Client({ connectionString: ownerUrl, application_name: 'manifest-gateway migrations' });
  lock.on('error', () => undefined); // a broken lock connection fails the query below; no unhandled event
  await lock.connect();
  try {
    await lock.query('BEGIN');
    await lock.query(`SELECT pg_advisory_xact_lock(hashtext('manifest-gateway:migrations'))`);
    const applied = await owner.runMigrations({ transaction: 'all' });
    for (const migration of applied) log.info({ migration: migration.name }, 'migration applied');
  } finally {
    await lock.query('COMMIT').catch(() => undefined);
    await lock.end().catch(() => undefined);
  }
}
