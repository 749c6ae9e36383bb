import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // The default summary, then the suites that could not run on this machine and why.
    reporters: ['default', './test/support/unavailable-reporter.ts'],
    setupFiles: ['test/support/quiet-sdk.ts'],
    pool: 'forks',
    // Two cores: files run two at a time; each file brings its own worker.
    maxWorkers: 2,
    testTimeout: 60_000,
    // Only tests that come near a third of their limit are worth a line.
    slowTestThreshold: 15_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
