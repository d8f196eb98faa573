import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    globalSetup: ['test/support/global-setup.ts'],
    // e2e tests run real apt/dnf/servers; two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
