import pino from 'pino';
import type { JobRuntimeConfig } from '../../../src/jobs/runtime.ts';

export const testLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Fast leases and polling so crash tests finish in seconds. */
export function testConfig(overrides: Partial<JobRuntimeConfig> = {}): JobRuntimeConfig {
  return {
    DATABASE_URL: undefined,
    DATA_DIR: './data',
    ROLE: 'all',
    LIMIT_CONCURRENT_PER_USER: 2,
    LIMIT_PER_HOUR: 30,
    LIMIT_QUEUE_CAP: 200,
    BATCH_SIZE: 4,
    WORKER_CONCURRENCY: 1,
    JOB_EXPIRE_SECONDS: 30,
    JOB_HEARTBEAT_SECONDS: 10,
    JOB_RETRY_LIMIT: 3,
    WORKER_POLL_MS: 100,
    SHUTDOWN_GRACE_SECONDS: 5,
    PROGRESS_MIN_INTERVAL_MS: 0,
    PROGRESS_PREVIEWS: true,
    MIGRATE_ON_START: false,
    ...overrides,
  };
}

export function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 45_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise<T>((resolve, reject) => {
    const tick = async () => {
      try {
        const v = await fn();
        if (v) return resolve(v);
      } catch (err) {
        if (Date.now() > deadline) return reject(err);
      }
      if (Date.now() > deadline) return reject(new Error('timed out waiting'));
      setTimeout(tick, intervalMs);
    };
    void tick();
  });
}
