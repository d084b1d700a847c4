/**
 * The requests table as the queue, against the real Postgres: claims take the oldest claimable row
 * and more of its batch key, concurrent claims never share a row (SKIP LOCKED), a passed lease makes
 * a row claimable again under a new attempt that an old attempt can no longer overwrite, crash loops
 * end, and no request options, however varied, add a schema object.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimBatch, finishAttempts, renewLeases, storedImage, type ClaimOptions } from '../../src/db/queue-store.ts';
import { countSchemaObjects } from '../../src/db/schema-objects.ts';
import { startJobRuntime, type JobRuntime } from '../../src/jobs/runtime.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { FakeEngine, fakeRender } from './support/fake-engine.ts';
import { testConfig, testLog, waitFor } from './support/runtime.ts';

let db: TestDatabase;
let bot: JobRuntime;
let userSeq = 0;

beforeAll(async () => {
  db = await createTestDatabase('queue');
  // No worker: the tests claim by hand.
  bot = await startJobRuntime({
    config: testConfig({ DATABASE_URL: db.url, ROLE: 'bot', LIMIT_PER_HOUR: 10_000, LIMIT_CONCURRENT_PER_USER: 10_000, LIMIT_QUEUE_CAP: 10_000 }),
    engine: new FakeEngine(),
    render: fakeRender,
    log: testLog,
  });
});

afterAll(async () => {
  await bot?.close();
  await db?.drop();
});

async function submit(steps: number, options: Record<string, unknown> = {}): Promise<string> {
  const { id } = await bot.service.submitGeneration({
    requester: { platform: 'web', userId: `u${++userSeq}` },
    params: { model: 'fake', sampler: 'ddim', steps, seed: userSeq, ...options },
    replyTo: null,
  });
  return id;
}

const claim = (o: Partial<ClaimOptions> = {}) =>
  claimBatch(bot.db.prisma, { workerId: 'w', batchId: randomUUID(), batchSize: 4, leaseSeconds: 30, retryLimit: 3, channel: null, ...o });

async function clearQueue(): Promise<void> {
  await bot.db.pool.query(`UPDATE requests SET status = 'cancelled', lease_expires_at = NULL WHERE status IN ('queued', 'running')`);
}

describe('requests as the queue', () => {
  it('claims the oldest request and more of its batch key, oldest first; leased rows are not claimed again', async () => {
    await clearQueue();
    const b1 = await submit(3);
    const a = [await submit(2), await submit(2), await submit(2), await submit(2), await submit(2)];
    const b2 = await submit(3);
    expect(await claim()).toMatchObject({ run: [{ id: b1 }, { id: b2 }] });
    expect(await claim()).toMatchObject({ run: a.slice(0, 4).map((id) => ({ id })) });
    expect(await claim()).toMatchObject({ run: [{ id: a[4] }] });
    expect((await claim()).run).toEqual([]);
    const { rows } = await bot.db.pool.query<{ status: string; attempts: number; worker_id: string; ahead: boolean }>(
      `SELECT status::text, attempts, worker_id, lease_expires_at > now() + interval '25 seconds' AS ahead FROM requests WHERE id = $1`,
      [b1],
    );
    expect(rows[0]).toEqual({ status: 'running', attempts: 1, worker_id: 'w', ahead: true });
  });

  it('concurrent claims never share a row (SKIP LOCKED)', async () => {
    await clearQueue();
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push(await submit(2));
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => claim({ workerId: `w${i}`, batchSize: 2 })));
    const claimed = claims.flatMap((c) => c.run.map((r) => r.id));
    expect(new Set(claimed).size).toBe(claimed.length);
    // Whatever a claim skipped because another held its lock, a later claim takes.
    for (;;) {
      const more = (await claim({ batchSize: 2 })).run.map((r) => r.id);
      if (more.length === 0) break;
      claimed.push(...more);
    }
    expect([...claimed].sort()).toEqual([...ids].sort());
  });

  it('a passed lease makes the row claimable again: a new attempt, the lost one recorded, the old worker locked out', async () => {
    await clearQueue();
    const id = await submit(2);
    const first = (await claim({ workerId: 'lost' })).run[0]!;
    expect(await renewLeases(bot.db.prisma, 'lost', [id], 30)).toEqual([id]);
    expect((await claim({ workerId: 'next' })).run).toEqual([]);
    await bot.db.pool.query(`UPDATE requests SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    const second = (await claim({ workerId: 'next' })).run[0]!;
    expect(second).toMatchObject({ id, attempts: 2 });
    // The first worker's heartbeat no longer renews, and its result does not count.
    expect(await renewLeases(bot.db.prisma, 'lost', [id], 30)).toEqual([]);
    expect(await finishAttempts(bot.db.prisma, [{ id, attempt: first.attempts, outcome: { status: 'failed', error: 'late' } }])).toEqual(new Set());
    expect(await finishAttempts(bot.db.prisma, [{ id, attempt: second.attempts, outcome: { status: 'succeeded', images: [], samplingMs: 1 } }])).toEqual(new Set([id]));
    const { rows } = await bot.db.pool.query('SELECT attempt, worker_id, outcome FROM request_attempts WHERE request_id = $1 ORDER BY attempt', [id]);
    expect(rows).toEqual([
      { attempt: 1, worker_id: 'lost', outcome: 'expired' },
      { attempt: 2, worker_id: 'next', outcome: 'succeeded' },
    ]);
    expect((await bot.service.getRequest(id))?.status).toBe('succeeded');
  });

  it('a batch ends in one statement, each row guarded by its own attempt: a row a later attempt owns keeps nothing of the old one', async () => {
    await clearQueue();
    const [kept, lost] = [await submit(2), await submit(2)];
    const batch = (await claim({ workerId: 'old' })).run;
    expect(batch.map((r) => r.id)).toEqual([kept, lost]);
    await bot.db.pool.query(`UPDATE requests SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [lost]);
    expect((await claim({ workerId: 'new' })).run.map((r) => r.id)).toEqual([lost]);
    const png = (n: number) => storedImage({ index: 0, contentType: 'image/png', data: Buffer.from([n]) });
    const won = await finishAttempts(
      bot.db.prisma,
      batch.map((r, i) => ({ id: r.id, attempt: r.attempts, outcome: { status: 'succeeded', images: [png(i)], samplingMs: 5 } })),
    );
    expect(won).toEqual(new Set([kept]));
    const { rows } = await bot.db.pool.query<{ id: string; status: string; images: number; outcomes: string[] }>(
      `SELECT r.id::text, r.status::text, (SELECT count(*)::int FROM request_images i WHERE i.request_id = r.id) AS images,
         (SELECT array_agg(coalesce(a.outcome, 'open') ORDER BY a.attempt) FROM request_attempts a WHERE a.request_id = r.id) AS outcomes
       FROM requests r WHERE r.id = ANY($1) ORDER BY r.created_at`,
      [[kept, lost]],
    );
    expect(rows).toEqual([
      { id: kept, status: 'succeeded', images: 1, outcomes: ['succeeded'] },
      { id: lost, status: 'running', images: 0, outcomes: ['expired', 'open'] },
    ]);
  });

  it('a request that keeps losing its worker fails after the retry limit, with a message', async () => {
    await clearQueue();
    const id = await submit(2);
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect((await claim({ retryLimit: 1 })).run.map((r) => r.id)).toEqual([id]);
      await bot.db.pool.query(`UPDATE requests SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    }
    const third = await claim({ retryLimit: 1 });
    expect(third.run).toEqual([]);
    expect(third.gaveUp).toEqual([{ id, platform: 'web', kind: 'generate', error: 'gave up after 2 attempts' }]);
    expect(await bot.service.getRequest(id)).toMatchObject({ status: 'failed', error: 'gave up after 2 attempts' });
  });

  it('a cancel asked of a running request whose worker died ends it as cancelled at the next claim', async () => {
    await clearQueue();
    const id = await submit(2);
    await claim();
    expect(await bot.service.cancel(id, { platform: 'web', userId: `u${userSeq}` })).toBe(true);
    expect((await claim()).cancelled).toEqual([]);
    await bot.db.pool.query(`UPDATE requests SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    expect((await claim()).cancelled.map((r) => r.id)).toEqual([id]);
    expect((await bot.service.getRequest(id))?.status).toBe('cancelled');
  });

  it('100 requests with 100 distinct eta values run without adding a schema object', async () => {
    await clearQueue();
    const before = await countSchemaObjects(bot.db.pool);
    const worker = await startJobRuntime({
      config: testConfig({ DATABASE_URL: db.url, ROLE: 'worker', BATCH_SIZE: 4 }),
      engine: new FakeEngine({ stepMs: 0 }),
      render: fakeRender,
      log: testLog,
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) ids.push(await submit(2, { options: { eta: (i + 1) / 101 } }));
      await waitFor(async () => {
        const { rows } = await bot.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM requests WHERE id = ANY($1) AND status = 'succeeded'`, [ids]);
        return rows[0]!.n === ids.length;
      }, 120_000, 100);
      const { rows } = await bot.db.pool.query<{ n: number }>(`SELECT count(DISTINCT batch_key)::int AS n FROM requests WHERE id = ANY($1)`, [ids]);
      expect(rows[0]!.n).toBe(100);
    } finally {
      await worker.close();
    }
    expect(await countSchemaObjects(bot.db.pool)).toBe(before);
  });
});
