/**
 * Multi-process behaviour on the real Postgres: several worker processes share one queue, every
 * request completes exactly once, a worker killed with SIGKILL mid-job loses nothing and its jobs
 * come back within one lease, and a live worker's heartbeat keeps a batch longer than the lease.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startJobRuntime, type JobRuntime } from '../../src/jobs/runtime.ts';
import type { RequestEvent } from '../../src/jobs/service.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { FakeEngine, fakeRender } from './support/fake-engine.ts';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from './support/processes.ts';
import { testConfig, testLog, waitFor } from './support/runtime.ts';

const LEASE_SECONDS = 5;
/** Short leases and heartbeats, so crash tests take seconds (the defaults are 30 s and 10 s). */
const SHORT_LEASE = { JOB_EXPIRE_SECONDS: String(LEASE_SECONDS), JOB_HEARTBEAT_SECONDS: '1' };

let db: TestDatabase;
let bot: JobRuntime;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('workers');
  bot = await startJobRuntime({
    config: testConfig({ DATABASE_URL: db.url, ROLE: 'bot', LIMIT_CONCURRENT_PER_USER: 1000, LIMIT_PER_HOUR: 1000 }),
    engine: new FakeEngine(),
    render: fakeRender,
    log: testLog,
  });
});

afterEach(async () => {
  await Promise.all(workers.map(stopWorkerProcess));
  workers = [];
});

afterAll(async () => {
  await bot?.close();
  await db?.drop();
});

async function submitMany(n: number, platform: 'discord' | 'slack', steps: (i: number) => number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { id } = await bot.service.submitGeneration({
      requester: { platform, workspaceId: 'g', channelId: 'c', userId: `user${i % 7}` },
      params: { model: 'fake', steps: steps(i), seed: 1000 + i, count: 1 + (i % 2) },
      replyTo: { i },
    });
    ids.push(id);
  }
  return ids;
}

interface AttemptRow {
  request_id: string;
  attempt: number;
  worker_id: string;
  outcome: string | null;
}

async function attempts(): Promise<AttemptRow[]> {
  const { rows } = await bot.db.pool.query<AttemptRow>('SELECT request_id, attempt, worker_id, outcome FROM request_attempts ORDER BY request_id, attempt');
  return rows;
}

async function expectAllSucceededExactlyOnce(ids: string[]) {
  await waitFor(async () => {
    const { rows } = await bot.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM requests WHERE id = ANY($1) AND status = 'succeeded'`, [ids]);
    return rows[0]!.n === ids.length;
  }, 90_000, 200);
  const all = (await attempts()).filter((a) => ids.includes(a.request_id));
  for (const id of ids) {
    const mine = all.filter((a) => a.request_id === id);
    expect(mine.filter((a) => a.outcome === 'succeeded'), `request ${id}`).toHaveLength(1);
    const view = (await bot.service.getRequest(id))!;
    expect(view.images.filter((i) => typeof i.index === 'number')).toHaveLength(view.count);
  }
  const { rows } = await bot.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM request_images WHERE request_id = ANY($1) AND index >= 0`, [ids]);
  const { rows: expected } = await bot.db.pool.query<{ n: number }>(`SELECT sum(count)::int AS n FROM requests WHERE id = ANY($1)`, [ids]);
  expect(rows[0]!.n).toBe(expected[0]!.n);
  return all;
}

describe('worker processes', () => {
  it('two workers complete 50 requests exactly once, micro-batching equal parameters', async () => {
    const finals = new Map<string, number>();
    // Claimed as an adapter claims its reply: unclaimed finished requests are offered again by the
    // platform watcher's periodic re-read (30 s), which a slow run on a loaded machine reaches.
    const unwatch = bot.service.watchPlatform('discord', (e: RequestEvent) => {
      if (e.type !== 'succeeded' && e.type !== 'failed') return;
      finals.set(e.requestId, (finals.get(e.requestId) ?? 0) + 1);
      void bot.service.claimDelivery(e.requestId);
    });
    // Both workers are up before the first request: one that started first could otherwise empty the queue
    // before the other had started (on a loaded machine, seconds apart). Requests arrive faster than a batch
    // runs, so the claims after the first find a backlog and micro-batches fill up.
    workers = await Promise.all(['w1', 'w2'].map((id) => startWorkerProcess(id, { DATABASE_URL: db.url, FAKE_STEP_MS: '20', BATCH_SIZE: '4' })));
    const ids = await submitMany(50, 'discord', (i) => 2 + (i % 2));
    const all = await expectAllSucceededExactlyOnce(ids);
    // Both workers took part.
    expect(new Set(all.map((a) => a.worker_id))).toEqual(new Set(['w1', 'w2']));
    // Micro-batches: attempts sharing a batch id ran as one engine call.
    const { rows } = await bot.db.pool.query<{ max: number }>(
      `SELECT max(n)::int AS max FROM (SELECT count(*) AS n FROM request_attempts WHERE request_id = ANY($1) GROUP BY batch_id) t`,
      [ids],
    );
    expect(rows[0]!.max).toBeGreaterThan(1);
    // Every request announced exactly one final event to the platform watcher.
    await waitFor(async () => finals.size === ids.length);
    expect([...finals.values()].every((n) => n === 1)).toBe(true);
    unwatch();
  });

  it('a worker killed with SIGKILL mid-job: the other finishes its jobs after the lease expires, each exactly once', async () => {
    // Leases are the claiming worker's: short here, so the crash test is quick.
    const env = { DATABASE_URL: db.url, FAKE_STEP_MS: '150', BATCH_SIZE: '2', ...SHORT_LEASE };
    workers = await Promise.all([startWorkerProcess('victim', env), startWorkerProcess('survivor', env)]);
    const ids = await submitMany(12, 'slack', () => 4);
    // As soon as the victim holds a running job, kill it without any chance to clean up.
    await waitFor(async () => (await attempts()).some((a) => a.worker_id === 'victim' && a.outcome === null && ids.includes(a.request_id)), 30_000, 20);
    workers[0]!.child.kill('SIGKILL');
    await workers[0]!.exited;
    const victimRunning = (await attempts()).filter((a) => a.worker_id === 'victim' && a.outcome === null).map((a) => a.request_id);
    expect(victimRunning.length).toBeGreaterThan(0);
    const all = await expectAllSucceededExactlyOnce(ids);
    for (const id of victimRunning) {
      const mine = all.filter((a) => a.request_id === id);
      // The killed attempt is recorded as expired and a later attempt by the survivor succeeded.
      expect(mine.find((a) => a.worker_id === 'victim')?.outcome).toBe('expired');
      expect(mine.find((a) => a.outcome === 'succeeded')?.worker_id).toBe('survivor');
    }
  });

  it('a killed ROLE=worker: an idle second worker takes its job over within one lease; a batch longer than the lease keeps it', async () => {
    // 80 steps of 100 ms: 8 s per run, longer than the 5 s lease, so only heartbeats keep it.
    const env = { DATABASE_URL: db.url, FAKE_STEP_MS: '100', BATCH_SIZE: '1', ...SHORT_LEASE };
    workers = [await startWorkerProcess('crashing', env)];
    const [id] = await submitMany(1, 'discord', () => 80);
    await waitFor(async () => ((await bot.service.getRequest(id!))?.progress?.step ?? 0) >= 2, 60_000, 20);
    workers.push(await startWorkerProcess('idle', env));
    workers[0]!.child.kill('SIGKILL');
    const killedAt = Date.now();
    await workers[0]!.exited;
    const takeover = await waitFor(async () => (await attempts()).find((a) => a.request_id === id && a.worker_id === 'idle'), 60_000, 20);
    const takeoverMs = Date.now() - killedAt;
    const all = await expectAllSucceededExactlyOnce([id!]);
    const finishedMs = Date.now() - killedAt;
    process.stdout.write(`[recovery] ROLE=worker SIGKILL, lease ${LEASE_SECONDS} s: taken over after ${takeoverMs} ms, finished ${finishedMs} ms after the kill\n`);
    expect(takeover).toBeDefined();
    // Within one lease of the last heartbeat, which came at most one beat before the kill.
    expect(takeoverMs).toBeLessThan(LEASE_SECONDS * 1000 + 1500);
    // The survivor ran 8 s under a 5 s lease without losing it: exactly two attempts in all.
    expect(all.map((a) => [a.worker_id, a.outcome])).toEqual([
      ['crashing', 'expired'],
      ['idle', 'succeeded'],
    ]);
  }, 180_000); // two worker start-ups and an 8 s job twice; slow on a loaded 2-core machine

  it('SIGTERM requeues a running batch that cannot finish within the grace period', async () => {
    const slow = { DATABASE_URL: db.url, FAKE_STEP_MS: '400', BATCH_SIZE: '1', SHUTDOWN_GRACE_SECONDS: '0' };
    workers = [await startWorkerProcess('leaver', slow)];
    const ids = await submitMany(1, 'discord', () => 20);
    await waitFor(async () => (await bot.service.getRequest(ids[0]!))?.status === 'running');
    expect(await stopWorkerProcess(workers[0]!)).toBe(0);
    const view = (await bot.service.getRequest(ids[0]!))!;
    expect(view.status).toBe('queued');
    workers = [await startWorkerProcess('finisher', { ...slow, FAKE_STEP_MS: '5' })];
    const all = await expectAllSucceededExactlyOnce(ids);
    expect(all.map((a) => [a.worker_id, a.outcome])).toEqual([
      ['leaver', 'requeued'],
      ['finisher', 'succeeded'],
    ]);
  });
});
