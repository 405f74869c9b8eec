// First: OpenTelemetry (when configured) must patch http, graphql and pg before they are loaded.
import './tracing/otel-bootstrap';
import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { openDatabases } from './db/database';
import { loadSigningKey } from './auth/keys';
import { TokenService } from './auth/tokens';
import { createGateway } from './server';
import { Keyring } from './secrets/keyring';
import { stopOtel } from './tracing/otel';

/** Process entry: config → database (+ migrations) → keys → HTTP server → signals. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config);
  // Signals are the gateway's from the start (the embedded PostgreSQL package's handlers are removed, and
  // Node's default would kill the process and orphan the database): one during start-up stops the gateway
  // as soon as it is up.
  let onSignal = (signal: string) => {
    log.warn({ signal }, 'signal during start-up: stopping once started');
    earlySignal ??= signal;
  };
  let earlySignal: string | undefined;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => onSignal(signal));
  // ownSignals: the embedded PostgreSQL's package must not stop the database on SIGTERM behind our back.
  const databases = await openDatabases(config, log, { serving: true, ownSignals: true });
  const tokens = new TokenService(config, await loadSigningKey(config.jwt.privateKey, config.dataDir));
  const keyring = Keyring.load(config.encryption, config.dataDir);
  log.info(
    {
      keyVersion: keyring.current,
      versions: keyring.versions,
      source: keyring.fileBacked ? 'development key file' : 'ENCRYPTION_KEYS',
    },
    'encryption keys loaded',
  );
  const gateway = await createGateway({
    config,
    log,
    dataSource: databases.app,
    ownerDataSource: databases.owner,
    tokens,
    keyring,
  });
  const url = await gateway.listen().catch(async (error: NodeJS.ErrnoException) => {
    await databases.close();
    throw new Error(`cannot listen on HOST ${config.host} PORT ${config.port}: ${error.code ?? error.message}`);
  });
  databases.recordHttpPort(Number(new URL(url).port));
  log.info(
    { url: `${url}/graphql`, port: Number(new URL(url).port), database: config.databaseUrl ? 'external' : 'embedded' },
    'listening',
  );
  if (config.env === 'development') {
    process.stdout.write(
      `\nmanifest-gateway is serving GraphQL at ${url}/graphql${config.graphiql ? ` (GraphiQL: ${url}/graphiql)` : ''}\n` +
        `Get a token:\n` +
        `  npm run cli -- org create --name "Acme" --slug acme --owner-email you@acme.test\n` +
        `  npm run cli -- token --org acme\n` +
        `Then: curl -s ${url}/graphql -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\\n` +
        `        -d '{"query":"{ organization { name workspaces { totalCount } } }"}'\n\n`,
    );
  }

  // Shutdown (README "Shutdown and restarts"): drain HTTP within SHUTDOWN_GRACE_MS, then close the pools,
  // then stop the embedded PostgreSQL, last. Exit 0 when every request was answered; 1 when the grace
  // period ran out and connections had to be destroyed, or something failed while stopping.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      // A second signal keeps draining rather than forcing: `npm start` + Ctrl-C can deliver SIGINT twice
      // (terminal and npm), and the grace period bounds the wait anyway. SIGKILL is the way to force.
      log.warn({ signal }, 'already shutting down; still draining (bounded by SHUTDOWN_GRACE_MS)');
      return;
    }
    stopping = true;
    const started = process.hrtime.bigint();
    log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: draining');
    // Last resort if closing the pools hangs (a request still holding a connection after a forced drain).
    setTimeout(() => {
      log.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 5000).unref();
    let code = 0;
    try {
      const { forced, inFlightAtStart } = await gateway.stop();
      if (forced) code = 1;
      log.info({ inFlightAtStart, forced }, 'HTTP drained');
      await databases.close();
    } catch (error) {
      code = 1;
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'error while shutting down');
    }
    await stopOtel();
    log.info({ exitCode: code, durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6) }, 'stopped');
    process.exit(code);
  };
  // SIGHUP (the terminal went away) stops as cleanly as SIGTERM.
  onSignal = (signal) => void shutdown(signal);
  if (earlySignal) onSignal(earlySignal);
}

main().catch((error) => {
  console.error(`manifest-gateway failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
