import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

/** The ConfigError message loadConfig stops with for `env` (fails the test when it accepts it). */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

const key = () => crypto.randomBytes(32).toString('base64');
const PRODUCTION = { NODE_ENV: 'production', JWT_PRIVATE_KEY: 'pem', ENCRYPTION_KEYS: JSON.stringify({ '1': key() }) };

/** Every integer setting, read from the source so that a new one is covered without editing this test. */
const INTEGER_SETTINGS = [
  ...fs.readFileSync(path.join(__dirname, '../../src/config.ts'), 'utf8').matchAll(/\bint\(env, '(\w+)'/g),
].map((m) => m[1]);

describe('loadConfig', () => {
  test('an empty environment is a working development configuration', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      port: 4000,
      dbPoolSize: 10,
      graphiql: true,
      logLevel: 'info',
      databaseUrl: undefined,
    });
    expect(config.graphql.introspection).toBe(true);
    expect(config).toMatchObject({ accessLog: true, metrics: { maxOperationNames: 100 } });
    expect(loadConfig({ ACCESS_LOG: 'off', METRICS_MAX_OPERATION_NAMES: '0' })).toMatchObject({
      accessLog: false,
      metrics: { maxOperationNames: 0 },
    });
  });

  test('the GraphQL executor: jit by default, graphql-js when OTLP export is on, either when asked', () => {
    expect(loadConfig({}).graphql.executor).toBe('jit');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).graphql.executor).toBe('graphql-js');
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }).graphql.executor,
    ).toBe('jit');
    expect(loadConfig({ GRAPHQL_EXECUTOR: 'graphql-js' }).graphql.executor).toBe('graphql-js');
  });

  test('CORS: any origin by default, a list of exact origins, or none', () => {
    expect(loadConfig({}).corsOrigins).toBe('*');
    expect(loadConfig(PRODUCTION).corsOrigins).toBe('*');
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: 'none' }).corsOrigins).toBeNull();
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
    for (const bad of [
      'app.example.com',
      'https://app.example.com/',
      'https://app.example.com/path',
      'ftp://x.test',
      '*,https://a.test',
    ])
      expect(refusal({ CORS_ALLOWED_ORIGINS: bad })).toMatch(/^CORS_ALLOWED_ORIGINS must be/);
  });

  test('production: introspection and GraphiQL off by default', () => {
    expect(loadConfig(PRODUCTION)).toMatchObject({
      env: 'production',
      graphiql: false,
      graphql: { introspection: false },
    });
  });

  test('the integer settings were found in the source', () => {
    expect(INTEGER_SETTINGS).toEqual(
      expect.arrayContaining(['PORT', 'DB_POOL_SIZE', 'REQUEST_TIMEOUT_MS', 'GRAPHQL_MAX_NODES']),
    );
  });

  test.each(INTEGER_SETTINGS)(
    '%s: a non-integer, a fraction and a huge value are refused, naming the variable',
    (name) => {
      for (const value of ['abc', '1.5', '99999999999'])
        expect(refusal({ [name]: value })).toMatch(new RegExp(`^${name} must be an integer between`));
    },
  );

  test.each([
    [{ NODE_ENV: 'prod' }, 'NODE_ENV'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ GRAPHQL_INTROSPECTION: 'maybe' }, 'GRAPHQL_INTROSPECTION'],
    [{ EXPOSE_SQL_STATEMENT_COUNT: 'sure' }, 'EXPOSE_SQL_STATEMENT_COUNT'],
    [{ GRAPHIQL: 'enabled' }, 'GRAPHIQL'],
    [{ GRAPHQL_EXECUTOR: 'fast' }, 'GRAPHQL_EXECUTOR'],
    [{ ACCESS_LOG: 'verbose' }, 'ACCESS_LOG'],
    [{ DATABASE_URL: 'localhost:5432/db' }, 'DATABASE_URL'],
    [{ APP_DATABASE_URL: 'http://db.example.test/x' }, 'APP_DATABASE_URL'],
    [{ AUTH_JWKS_URL: 'not a url' }, 'AUTH_JWKS_URL'],
    [{ AUTH_JWKS_URL: 'https://idp.example.test/jwks' }, 'AUTH_JWKS_URL'],
    [
      {
        AUTH_JWKS_URL: 'https://idp.example.test/jwks',
        AUTH_ISSUER: 'i',
        AUTH_AUDIENCE: 'a',
        AUTH_ALGORITHMS: 'HS256',
      },
      'AUTH_ALGORITHMS',
    ],
    [{ AUTH_ISSUER: 'i' }, 'AUTH_ISSUER'],
    [{ PLATFORM_ADMIN_TOKEN: 'short' }, 'PLATFORM_ADMIN_TOKEN'],
    [{ DB_POOL_WAIT_MS: '30000', REQUEST_TIMEOUT_MS: '30000' }, 'DB_POOL_WAIT_MS'],
    [{ DB_STATEMENT_TIMEOUT_MS: '40000', REQUEST_TIMEOUT_MS: '30000' }, 'DB_STATEMENT_TIMEOUT_MS'],
    [{ HTTP_HEADERS_TIMEOUT_MS: '40000', REQUEST_TIMEOUT_MS: '30000' }, 'HTTP_HEADERS_TIMEOUT_MS'],
    [{ ENCRYPTION_KEY_CURRENT: '1' }, 'ENCRYPTION_KEY_CURRENT'],
    [{ ENCRYPTION_KEYS: '{not json' }, 'ENCRYPTION_KEYS'],
    [{ ENCRYPTION_KEYS: '[]' }, 'ENCRYPTION_KEYS'],
    [{ ENCRYPTION_KEYS: JSON.stringify({ '1': key(), '2': key() }) }, 'ENCRYPTION_KEY_CURRENT'],
    [{ ...PRODUCTION, JWT_PRIVATE_KEY: '' }, 'JWT_PRIVATE_KEY'],
    [{ ...PRODUCTION, ENCRYPTION_KEYS: '' }, 'ENCRYPTION_KEYS'],
    [{ ...PRODUCTION, EXPOSE_SQL_STATEMENT_COUNT: 'true' }, 'EXPOSE_SQL_STATEMENT_COUNT'],
  ])('%j is refused, naming %s', (env, name) => {
    expect(refusal(env)).toMatch(new RegExp(`^${name}\\b`));
  });

  test('a bad URL never echoes its value (it may hold a password)', () => {
    expect(refusal({ DATABASE_URL: 'mysql://user:hunter2@db/x' })).not.toContain('hunter2');
    expect(refusal({ DATABASE_URL: 'postgres://user:hunter2@[bad' })).not.toContain('hunter2');
  });

  test('a bad encryption key never echoes the key', () => {
    const bad = 'c2hvcnQta2V5LXZhbHVl';
    const message = refusal({ ENCRYPTION_KEYS: JSON.stringify({ '1': bad }) });
    expect(message).toMatch(/ENCRYPTION_KEYS/);
    expect(message).not.toContain(bad);
  });
});
