/** Unit tests and emulator-backed integration tests run together under `npm test`. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  setupFiles: ['<rootDir>/test/support/env.ts'],
  // The AWS harness (test/support/harness): every test's AWS calls checked against the
  // functions' packaged roles; after a whole run, the grants no call used.
  setupFilesAfterEnv: ['<rootDir>/test/support/harness/after-each-test.ts'],
  globalSetup: '<rootDir>/test/support/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/harness/global-teardown.ts',
  testTimeout: 60_000,
  // Each integration suite starts its own moto_server, so suites can run in parallel.
  maxWorkers: 2,
};
