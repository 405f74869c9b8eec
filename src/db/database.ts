import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { createDataSource } from './data-source';
import { startEmbeddedPostgres } from './embedded';
import { ensureServingLogin } from './serving-login';

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
  options: { migrate?: boolean; reuseRunningEmbedded?: boolean; poolSize?: number; serving?: boolean; ownSignals?: boolean } = {},
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
  const owner = createDataSource({ url: ownerUrl, poolSize: separateServingPool ? 2 : poolSize, statementTimeoutMs: config.statementTimeoutMs, log });
  try {
    await owner.initialize();
    if (options.migrate !== false) {
      const applied = await owner.runMigrations({ transaction: 'all' });
      for (const migration of applied) log.info({ migration: migration.name }, 'migration applied');
    }
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
    const app = appUrl ? await createDataSource({ url: appUrl, poolSize, statementTimeoutMs: config.statementTimeoutMs, log }).initialize() : owner;
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
