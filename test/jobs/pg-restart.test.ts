/**
 * Postgres restarting mid-run (on a private server): the bot and worker processes reconnect, the
 * queue keeps every job, and each request is completed and delivered exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobRuntime, type JobRuntime } from '../../src/jobs/runtime.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { FakeEngine, fakeRender } from './support/fake-engine.ts';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.ts';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from './support/processes.ts';
import { testConfig, testLog, waitFor } from './support/runtime.ts';

let server: PrivatePostgres;
let db: TestDatabase;
let bot: JobRuntime;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  server = await startPrivatePostgres();
  db = await createTestDatabase('restart', server.adminUrl);
  bot = await startJobRuntime({
    config: testConfig({ DATABASE_URL: db.url, ROLE: 'bot', LIMIT_CONCURRENT_PER_USER: 1000, LIMIT_PER_HOUR: 1000 }),
    engine: new FakeEngine(),
    render: fakeRender,
    log: testLog,
  });
});

afterAll(async () => {
  if (worker) await stopWorkerProcess(worker);
  await bot?.close();
  await server?.destroy();
});

describe('Postgres restart mid-run', () => {
  it('loses no job and delivers each request exactly once', async () => {
    const claimed = new Map<string, number>();
    bot.service.watchPlatform('discord', (e) => {
      if (e.type !== 'succeeded' && e.type !== 'failed') return;
      // What a chat adapter does on a final event: only the claimant replies.
      void bot.service.claimDelivery(e.requestId).then(
        (won) => won && claimed.set(e.requestId, (claimed.get(e.requestId) ?? 0) + 1),
        () => undefined,
      );
    });
    worker = await startWorkerProcess('steady', { DATABASE_URL: db.url, FAKE_STEP_MS: '60', BATCH_SIZE: '2' });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { id } = await bot.service.submitGeneration({
        requester: { platform: 'discord', userId: `u${i % 3}` },
        params: { model: 'fake', steps: 4, seed: i },
        replyTo: { i },
      });
      ids.push(id);
    }
    const succeeded = async () => {
      const { rows } = await bot.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM requests WHERE status = 'succeeded'`);
      return rows[0]!.n;
    };
    await waitFor(async () => (await succeeded()) >= 3, 30_000);

    await server.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await server.start();

    // The bot can submit again once the server is back.
    const late = await waitFor(
      () => bot.service.submitGeneration({ requester: { platform: 'discord', userId: 'late' }, params: { model: 'fake', steps: 2, seed: 99 }, replyTo: null }),
      30_000,
      250,
    );
    ids.push(late.id);

    await waitFor(async () => (await succeeded()) === ids.length, 90_000, 250);
    const { rows } = await bot.db.pool.query<{ request_id: string; n: number }>(
      `SELECT request_id, count(*) FILTER (WHERE outcome = 'succeeded')::int AS n FROM request_attempts GROUP BY request_id`,
    );
    expect(rows).toHaveLength(ids.length);
    expect(rows.every((r) => r.n === 1)).toBe(true);

    // Final events missed while the listener was down are replayed from undelivered rows.
    await waitFor(async () => claimed.size === ids.length, 30_000);
    expect([...claimed.values()].every((n) => n === 1)).toBe(true);
    expect(await bot.service.pendingDeliveries('discord')).toEqual([]);
  }, 180_000);
});
