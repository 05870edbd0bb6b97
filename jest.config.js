/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type-checked once by `tsc -p tsconfig.test.json --noEmit` before jest runs (package.json's test
  // script); each suite is then only transpiled (tsconfig.jest.json: isolatedModules), not checked
  // again: a run without cache took 509 s against 535 s, keeping CI further from its 10 minutes.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  testTimeout: 120000,
  // Every core, not jest's default of all but one: on CI's 2-core machine the default is a single
  // worker beside an idle parent, and the run took 542 s of its 10 minutes; with both, 332 s.
  maxWorkers: '100%',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
