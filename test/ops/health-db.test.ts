import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOps } from '../../src/ops/index.ts';
import { createTestDatabase, type TestDatabase } from '../jobs/support/database.ts';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('ops');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  // DROP DATABASE ... WITH (FORCE) ends idle connections; without a listener that would be an uncaught error.
  pool.on('error', () => undefined);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('health and queue depth on the migrated schema', () => {
  it('reports database, queue and models, and the queue depth gauge reads the requests table', async () => {
    const engine = { models: { list: () => [{ name: 'tiny' }] }, denoiser: async () => ({ provider: 'cpu' }) };
    const ops = createOps({ config: { LOG_LEVEL: 'info', PLAYGROUND: true, METRICS: true }, db: pool, engine });
    const report = await ops.health.report();
    expect(report.status).toBe('ok');
    expect(report.checks['queue']?.details).toEqual({ queued: 0, running: 0 });
    expect(Object.keys(report.checks).sort()).toEqual(['database', 'models', 'queue']);
    expect(await ops.metrics.render()).toContain('ddpm_queue_depth 0');
  });

  it('is unhealthy when the database is gone', async () => {
    const dead = new pg.Pool({ connectionString: 'postgresql://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    const ops = createOps({ config: { LOG_LEVEL: 'info', PLAYGROUND: true, METRICS: false }, db: dead });
    const report = await ops.health.report();
    expect(report.status).toBe('unhealthy');
    expect(report.checks['database']?.ok).toBe(false);
    expect(await ops.metrics.render()).toContain('ddpm_queue_depth -1');
    await dead.end();
  });
});
