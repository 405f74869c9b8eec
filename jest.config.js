/**
 * Tests run against the compiled gateway (`npm test` builds first) as real child processes over HTTP,
 * and a real PostgreSQL: an embedded cluster started once per run (test/support/global-setup.mjs), or
 * TEST_DATABASE_URL. Each test file gets its own database, so files run in parallel.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript', decorators: true }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 60000,
  maxWorkers: 2,
};
