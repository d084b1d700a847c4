import { describe, expect, it } from 'vitest';
import { Health, databaseCheck, modelsCheck, queueCheck, queueDepth } from '../../src/ops/health.ts';

describe('Health', () => {
  it('is ok when every check passes, with details', async () => {
    const db = { ping: async () => undefined, queueCounts: async () => ({ queued: 2, running: 1 }), requestCounts: async () => [] };
    const engine = { models: { list: () => [{ name: 'tiny' }] }, denoiser: async () => ({ provider: 'cpu' }) };
    const health = new Health().register('database', databaseCheck(db)).register('queue', queueCheck(db)).register('models', modelsCheck(engine));
    const report = await health.report();
    expect(report.status).toBe('ok');
    expect(report.checks['database']?.ok).toBe(true);
    expect(report.checks['queue']?.details).toEqual({ queued: 2, running: 1 });
    expect(report.checks['models']?.details).toEqual({ models: ['tiny'], providers: { tiny: 'cpu' } });
    expect(await queueDepth(db)()).toBe(2);
  });

  it('is unhealthy when a check throws or hangs, naming the reason', async () => {
    const health = new Health({ timeoutMs: 50 })
      .register('database', async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      })
      .register('queue', () => new Promise(() => undefined))
      .register('models', modelsCheck({ models: { list: () => [] }, denoiser: async () => ({ provider: 'cpu' }) }));
    const report = await health.report();
    expect(report.status).toBe('unhealthy');
    expect(report.checks['database']).toMatchObject({ ok: false, error: 'connect ECONNREFUSED 127.0.0.1:5432' });
    expect(report.checks['queue']).toMatchObject({ ok: false, error: 'timed out after 50 ms' });
    expect(report.checks['models']?.error).toMatch(/no models are installed/);
  });
});
