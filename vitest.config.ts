import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: ONNX sessions and Postgres-backed tests compete for CPU, so keep files few at once.
    maxWorkers: 2,
    pool: 'forks',
  },
});
