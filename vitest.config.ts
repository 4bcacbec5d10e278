import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Both cores of the 2-core machines this runs on: the suite is mostly waiting on ffmpeg and
    // loopback servers (about 5 min instead of about 8 one file at a time).
    maxWorkers: 2,
    setupFiles: ['./test/setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
