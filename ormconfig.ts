import 'reflect-metadata';
import { createDataSource } from './src/db/data-source';
import { createLogger } from './src/logger';

/**
 * The DataSource for the TypeORM CLI, e.g.
 *   DATABASE_URL=postgres://… npx typeorm migration:show -d dist/ormconfig.js
 * The gateway itself runs migrations at start (`npm start`) and through `npm run cli -- migrate`.
 */
if (!process.env.DATABASE_URL) {
  throw new Error('ormconfig: set DATABASE_URL (the embedded database URL is printed by `npm run cli -- db url`)');
}
export default createDataSource({
  url: process.env.DATABASE_URL,
  applicationName: 'manifest-gateway-cli',
  log: createLogger({ logLevel: process.env.LOG_LEVEL || 'info' }, 2),
});
