import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // lab tests share this machine's two cores and create namespaces: one file at a time
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 600_000,
    globalSetup: ['test/lab/global-setup.ts'],
    reporters: ['default'],
  },
});
