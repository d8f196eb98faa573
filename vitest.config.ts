import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    globalSetup: ['test/support/global-setup.ts'],
    // e2e tests run real apt/dnf/servers and spend much of their time waiting on them (lease
    // pauses, subprocesses, s3rver): three files at once keep two cores busy.
    maxWorkers: 3,
  },
});
