import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The wasm backend's thread pool lives in worker threads: a forked process, not a worker, runs the test.
    pool: 'forks',
  },
});
