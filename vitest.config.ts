import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // The default summary, then the suites that could not run on this machine and why.
    reporters: ['default', './test/support/unavailable-reporter.ts'],
    setupFiles: ['test/support/quiet-sdk.ts'],
    pool: 'forks',
    // Files share a process's module cache (importing the SDKs took more of the run than many tests); each test builds its own state.
    isolate: false,
    // Three files at a time on two cores: files spend part of their time waiting on servers, so a third keeps both cores busy.
    maxWorkers: 3,
    testTimeout: 60_000,
    // Only tests that come near a third of their limit are worth a line.
    slowTestThreshold: 15_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
