import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // lab tests share this machine's two cores and create namespaces: one file at a time
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 600_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          // builds the example lab once per run (only when lab tests run) and removes it at the end
          globalSetup: ['test/lab/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
