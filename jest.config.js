/**
 * Two projects (README "Tests"):
 * - `unit`: test/unit/**, pure modules imported straight from src/ (pagination, node limit, auth directives,
 *   input safety, key format, config parsing). No database, no global setup, no build: `npm run test:unit`
 *   runs in seconds.
 * - `integration`: every other test file, against the compiled gateway (`npm test` builds first) as real
 *   child processes over HTTP, and a real PostgreSQL: an embedded cluster started once per run
 *   (test/support/global-setup.mjs), or TEST_DATABASE_URL. Each test file gets its own database, so files
 *   run in parallel. A project's global setup runs only when one of its tests is selected.
 */
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript', decorators: true }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};

module.exports = {
  maxWorkers: 2,
  // A global option: jest ignores testTimeout inside a project's config.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      setupFiles: ['reflect-metadata'],
      transform,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/'],
      transform,
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
    },
  ],
};
