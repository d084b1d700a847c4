import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/db/client.ts';
import { opsQueries } from '../../src/db/ops-queries.ts';
import { createOps } from '../../src/ops/index.ts';
import { createTestDatabase, type TestDatabase } from '../jobs/support/database.ts';

let db: TestDatabase;
let database: Database;

beforeAll(async () => {
  db = await createTestDatabase('ops');
  // DROP DATABASE ... WITH (FORCE) ends idle connections; without a listener that would be an uncaught error.
  database = connectDatabase(db.url, { maxConnections: 2, onPoolError: () => undefined });
});

afterAll(async () => {
  await database?.close();
  await db?.drop();
});

describe('health and queue depth on the migrated schema', () => {
  it('reports database, queue and models, and the queue depth gauge reads the requests table', async () => {
    const engine = { models: { list: () => [{ name: 'tiny' }] }, denoiser: async () => ({ provider: 'cpu' }) };
    const readings = opsQueries(database.prisma);
    // Prisma's first query in a process loads its query compiler: seconds on a loaded host, longer than a check's
    // 3 s timeout. The service has run queries long before its first /healthz.
    await readings.ping();
    const ops = createOps({ config: { LOG_LEVEL: 'info', PLAYGROUND: true, METRICS: true }, db: readings, engine });
    const report = await ops.health.report();
    expect(report.status).toBe('ok');
    expect(report.checks['queue']?.details).toEqual({ queued: 0, running: 0 });
    expect(Object.keys(report.checks).sort()).toEqual(['database', 'models', 'queue']);
    expect(await ops.metrics.render()).toContain('ddpm_queue_depth 0');
  });

  it('is unhealthy when the database is gone', async () => {
    const dead = connectDatabase('postgresql://postgres@127.0.0.1:1/none', { onPoolError: () => undefined });
    const ops = createOps({ config: { LOG_LEVEL: 'info', PLAYGROUND: true, METRICS: false }, db: opsQueries(dead.prisma) });
    const report = await ops.health.report();
    expect(report.status).toBe('unhealthy');
    expect(report.checks['database']?.ok).toBe(false);
    expect(await ops.metrics.render()).toContain('ddpm_queue_depth -1');
    await dead.close();
  });
});
