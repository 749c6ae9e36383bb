import { defineConfig } from 'vitest/config';

/** `npm run record-histories`: the recorder alone, with the test suite's shared services. */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/histories/record-histories.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/support/quiet-sdk.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
