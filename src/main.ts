import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { openDatabases } from './db/database';
import { loadSigningKey } from './auth/keys';
import { TokenService } from './auth/tokens';
import { createGateway } from './server';
import { Keyring } from './secrets/keyring';

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
  const databases = await openDatabases(config, log, { serving: true });
  const tokens = new TokenService(config, await loadSigningKey(config.jwt.privateKey, config.dataDir));
  const keyring = Keyring.load(config.encryption, config.dataDir);
  log.info({ keyVersion: keyring.current, versions: keyring.versions, source: keyring.fileBacked ? 'development key file' : 'ENCRYPTION_KEYS' }, 'encryption keys loaded');
  const gateway = await createGateway({ config, log, dataSource: databases.app, ownerDataSource: databases.owner, tokens, keyring });
  const url = await gateway.listen();
  log.info({ url: `${url}/graphql`, port: Number(new URL(url).port), database: config.databaseUrl ? 'external' : 'embedded' }, 'listening');
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

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
      await gateway.stop();
      await databases.close();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error(`manifest-gateway failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
