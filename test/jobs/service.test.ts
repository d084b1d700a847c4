import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/jobs/bus.ts';
import { startJobRuntime, type JobRuntime } from '../../src/jobs/runtime.ts';
import { DuplicateRequestError, RateLimitError, ValidationError, type RequestEvent, type Requester } from '../../src/jobs/service.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { FakeEngine, fakeRender } from './support/fake-engine.ts';

/** A real (if tiny) PNG: the service decodes uploads at submit time. */
async function tinyPng(): Promise<Buffer> {
  return sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } }).png().toBuffer();
}
import { testConfig, testLog, waitFor } from './support/runtime.ts';

let db: TestDatabase;
let rt: JobRuntime;
const engine = new FakeEngine({ stepMs: 5 });
let userSeq = 0;
const newUser = (platform: Requester['platform'] = 'web'): Requester => ({ platform, workspaceId: 'w1', channelId: 'c1', userId: `u${++userSeq}` });

async function finished(id: string) {
  return waitFor(async () => {
    const r = await rt.service.getRequest(id);
    return r && ['succeeded', 'failed', 'cancelled'].includes(r.status) ? r : null;
  });
}

beforeAll(async () => {
  db = await createTestDatabase('service');
  rt = await startJobRuntime({ config: testConfig({ DATABASE_URL: db.url, LIMIT_PER_HOUR: 1000, LIMIT_CONCURRENT_PER_USER: 1000 }), engine, render: fakeRender, log: testLog });
});

afterAll(async () => {
  await rt?.close();
  await db?.drop();
});

describe('job service against Postgres', () => {
  it('stores a generation with its seed, runs it and keeps the images with sha256', async () => {
    const { id, position } = await rt.service.submitGeneration({
      requester: newUser(),
      params: { model: 'fake', sampler: 'ddim', steps: 3, seed: 42, count: 2, options: { eta: 0.5 } },
      replyTo: { channel: 'c1' },
    });
    expect(position).toBeGreaterThanOrEqual(1);
    const done = await finished(id);
    expect(done).toMatchObject({ status: 'succeeded', seed: 42, sampler: 'ddim', steps: 3, options: { eta: 0.5 }, count: 2, attempts: 1, replyTo: { channel: 'c1' } });
    expect(done.images.map((i) => i.index)).toEqual([0, 1, 'grid']);
    expect(done.timings.totalMs).not.toBeNull();
    const img = await rt.service.getImage(id, 1);
    expect(img?.contentType).toBe('image/png');
    expect(img?.sha256).toBe(done.images[1]!.sha256);
  });

  it('draws and stores a random seed when none is given', async () => {
    const { id } = await rt.service.submitGeneration({ requester: newUser(), params: { model: 'fake' }, replyTo: null });
    const r = await rt.service.getRequest(id);
    expect(Number.isInteger(r!.seed)).toBe(true);
  });

  it('rejects invalid parameters with the field named', async () => {
    const err = await rt.service.submitGeneration({ requester: newUser(), params: { model: 'fake', steps: 1000, seed: 1 }, replyTo: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('steps');
    const err2 = await rt.service.submitNoiseDemo({ requester: newUser(), params: { model: 'nope' }, replyTo: null }).catch((e: unknown) => e);
    expect((err2 as ValidationError).field).toBe('model');
    const err3 = await rt.service.submitNoiseDemo({ requester: newUser(), params: { model: 'fake', timesteps: [0, 1000] }, replyTo: null }).catch((e: unknown) => e);
    expect(err3).toMatchObject({ field: 'timesteps' });
  });

  it('replay reproduces the images byte for byte; reroll draws a new seed', async () => {
    const user = newUser();
    const a = await rt.service.submitGeneration({ requester: user, params: { model: 'fake', steps: 2, seed: 7 }, replyTo: null });
    await finished(a.id);
    const b = await rt.service.replay(a.id, user, null);
    const c = await rt.service.replay(a.id, user, null, { sampler: 'ddpm', steps: 3 });
    const d = await rt.service.reroll(a.id, user, null);
    const [rb, rc, rd] = [await finished(b.id), await finished(c.id), await finished(d.id)];
    const ra = (await rt.service.getRequest(a.id))!;
    expect(rb.derivedFrom).toBe(a.id);
    expect(rb.images[0]!.sha256).toBe(ra.images[0]!.sha256);
    expect((await rt.service.getImage(b.id, 0))!.bytes.equals((await rt.service.getImage(a.id, 0))!.bytes)).toBe(true);
    expect(rc).toMatchObject({ seed: 7, sampler: 'ddpm', steps: 3 });
    expect(rc.images[0]!.sha256).not.toBe(ra.images[0]!.sha256);
    expect(rd.seed).not.toBe(7);
  });

  it('a replay with recordTrajectory stores the first image\'s predicted x0 at evenly spaced steps, then the image', async () => {
    const user = newUser();
    const frameBytes = 8 + 4 * 4; // the fake render's "PNG" of one 4x4 image
    for (const steps of [3, 100]) {
      const a = await rt.service.submitGeneration({ requester: user, params: { model: 'fake', steps, seed: 5, count: 2 }, replyTo: null });
      const ra = await finished(a.id);
      expect(ra.images.map((i) => i.index)).toEqual([0, 1, 'grid']);
      const b = await rt.service.replay(a.id, user, null, { recordTrajectory: true });
      const rb = await finished(b.id);
      expect(rb.images.map((i) => i.index)).toEqual([0, 1, 'grid', 'gif']);
      const gif = (await rt.service.getImage(b.id, 'gif'))!;
      expect(gif.contentType).toBe('image/gif');
      expect(gif.bytes.subarray(0, 6).toString('latin1')).toBe('GIF89a');
      const frames = (gif.bytes.length - 6) / frameBytes;
      // Every step but the last (its prediction is the final image) while there are few, else 59 evenly
      // spaced ones; the final image closes it.
      expect(frames).toBe(Math.min(steps - 1, 59) + 1);
      const final = (await rt.service.getImage(b.id, 0))!.bytes;
      expect(gif.bytes.subarray(gif.bytes.length - frameBytes).equals(final)).toBe(true);
      expect(gif.bytes.subarray(6, 6 + frameBytes).equals(final)).toBe(false);
    }
  });

  it('watch delivers queued, progress with previews, and exactly one final event, also to late watchers', async () => {
    const events: RequestEvent[] = [];
    const { id } = await rt.service.submitGeneration({ requester: newUser(), params: { model: 'fake', steps: 4, seed: 3 }, replyTo: null });
    rt.service.watch(id, (e) => events.push(e));
    await waitFor(async () => events.some((e) => e.type === 'succeeded'));
    await new Promise((r) => setTimeout(r, 200));
    expect(events.filter((e) => e.type === 'succeeded')).toHaveLength(1);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ step: 4, totalSteps: 4 });
    expect(progress.some((e) => e.type === 'progress' && e.previewPng !== null)).toBe(true);
    const late: RequestEvent[] = [];
    rt.service.watch(id, (e) => late.push(e));
    await waitFor(async () => late.length > 0);
    expect(late).toEqual([expect.objectContaining({ type: 'succeeded', requestId: id })]);
  });

  it('the success event names the stored images; one without them (a worker of an earlier release) is answered from the database', async () => {
    const carried: BusMessage[] = [];
    const unsubscribe = rt.bus.subscribe((m) => carried.push(m));
    const { id } = await rt.service.submitGeneration({ requester: newUser(), params: { model: 'fake', steps: 2, seed: 5, count: 2 }, replyTo: null });
    const done = await finished(id);
    await waitFor(async () => carried.some((m) => m.id === id && m.t === 'succeeded'));
    unsubscribe();
    expect(carried.find((m) => m.id === id && m.t === 'succeeded')).toEqual({ t: 'succeeded', id, p: 'web', imgs: done.images });

    const delivered: RequestEvent[] = [];
    const unwatch = rt.service.watchPlatform('web', (e) => delivered.push(e));
    await rt.bus.publish({ t: 'succeeded', id, p: 'web' });
    await waitFor(async () => delivered.length > 0);
    unwatch();
    expect(delivered).toEqual([{ type: 'succeeded', requestId: id, images: done.images }]);
  });

  it('claimDelivery succeeds exactly once under concurrent claims; pendingDeliveries lists the unclaimed', async () => {
    const user = newUser('slack');
    const { id } = await rt.service.submitGeneration({ requester: user, params: { model: 'fake', steps: 1, seed: 5 }, replyTo: { ts: '1' } });
    expect(await rt.service.claimDelivery(id)).toBe(false); // not finished yet (or racing): never claims an unfinished request
    await finished(id);
    expect((await rt.service.pendingDeliveries('slack')).map((r) => r.id)).toContain(id);
    const claims = await Promise.all(Array.from({ length: 8 }, () => rt.service.claimDelivery(id)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await rt.service.pendingDeliveries('slack')).map((r) => r.id)).not.toContain(id);
  });

  it('runs a noise demo and stores grid PNG and GIF', async () => {
    const { id } = await rt.service.submitNoiseDemo({ requester: newUser(), params: { model: 'fake', seed: 9, timesteps: [0, 500] }, image: await tinyPng(), replyTo: null });
    const done = await finished(id);
    expect(done.status).toBe('succeeded');
    expect(done.noiseDemo).toMatchObject({ seed: 9, timesteps: [0, 500] });
    expect(done.images.map((i) => i.index)).toEqual([0, 'grid', 'gif']);
    expect((await rt.service.getImage(id, 'gif'))?.contentType).toBe('image/gif');
    expect((await rt.service.getImage(id, 'grid'))?.bytes.toString()).toContain('grid:fake:9');
  });

  it('cancels a running request: the worker aborts it and reports cancelled', async () => {
    const user = newUser();
    const events: RequestEvent[] = [];
    const { id } = await rt.service.submitGeneration({ requester: user, params: { model: 'fake', steps: 100, seed: 11 }, replyTo: null });
    rt.service.watch(id, (e) => events.push(e));
    await waitFor(async () => (await rt.service.getRequest(id))?.status === 'running');
    await expect(rt.service.cancel(id, newUser())).rejects.toThrow(/only the requester/);
    expect(await rt.service.cancel(id, user)).toBe(true);
    const done = await finished(id);
    expect(done.status).toBe('cancelled');
    await waitFor(async () => events.some((e) => e.type === 'cancelled'));
  });

  it('deletes only its requester\'s finished request, with its images; not while it runs', async () => {
    const user = newUser();
    const { id } = await rt.service.submitGeneration({ requester: user, params: { model: 'fake', steps: 100, seed: 12 }, replyTo: null });
    await waitFor(async () => (await rt.service.getRequest(id))?.status === 'running');
    expect(await rt.service.deleteRequest(id, user)).toBe(false);
    expect(await rt.service.cancel(id, user)).toBe(true);
    await finished(id);
    await expect(rt.service.deleteRequest(id, newUser())).rejects.toThrow(/only the requester/);
    const done = await rt.service.submitGeneration({ requester: user, params: { model: 'fake', steps: 1, seed: 13 }, replyTo: null });
    expect((await finished(done.id)).status).toBe('succeeded');
    expect(await rt.service.getImage(done.id, 0)).not.toBeNull();
    for (const gone of [id, done.id]) {
      expect(await rt.service.deleteRequest(gone, user)).toBe(true);
      expect(await rt.service.getRequest(gone)).toBeNull();
      expect(await rt.service.getImage(gone, 0)).toBeNull();
      await expect(rt.service.deleteRequest(gone, user)).rejects.toThrow(/no request/);
    }
  });

  it('a restarted process neither re-runs finished requests nor lists claimed ones for delivery', async () => {
    const user = newUser('discord');
    const a = await rt.service.submitGeneration({ requester: user, params: { model: 'fake', steps: 1, seed: 21 }, replyTo: { channel: 'x' } });
    const b = await rt.service.submitGeneration({ requester: user, params: { model: 'fake', steps: 1, seed: 22 }, replyTo: { channel: 'x' } });
    await finished(a.id);
    await finished(b.id);
    expect(await rt.service.claimDelivery(a.id)).toBe(true); // replied before the "crash"; b was not
    const attemptsBefore = (await rt.db.pool.query('SELECT count(*)::int AS n FROM request_attempts')).rows[0].n as number;
    const restarted = await startJobRuntime({ config: testConfig({ DATABASE_URL: db.url }), engine, render: fakeRender, log: testLog });
    try {
      await new Promise((r) => setTimeout(r, 500));
      const pending = (await restarted.service.pendingDeliveries('discord')).map((r) => r.id);
      expect(pending).toContain(b.id);
      expect(pending).not.toContain(a.id);
      expect(await restarted.service.claimDelivery(b.id)).toBe(true);
      expect(await rt.service.claimDelivery(b.id)).toBe(false);
      expect((await rt.db.pool.query('SELECT count(*)::int AS n FROM request_attempts')).rows[0].n).toBe(attemptsBefore);
    } finally {
      await restarted.close();
    }
  });

  it('lists recent requests newest first', async () => {
    const user = newUser();
    const a = await rt.service.submitGeneration({ requester: user, params: { model: 'fake', steps: 1, seed: 1 }, replyTo: null });
    const b = await rt.service.submitGeneration({ requester: user, params: { model: 'fake', steps: 1, seed: 2 }, replyTo: null });
    expect((await rt.service.listRecentRequests(user, 5)).map((r) => r.id)).toEqual([b.id, a.id]);
  });
});

describe('limits', () => {
  let limited: JobRuntime;
  let ldb: TestDatabase;
  beforeAll(async () => {
    ldb = await createTestDatabase('limits');
    // No worker: requests stay queued, so concurrency and the queue cap are deterministic.
    limited = await startJobRuntime({
      config: testConfig({ DATABASE_URL: ldb.url, LIMIT_CONCURRENT_PER_USER: 2, LIMIT_PER_HOUR: 3, LIMIT_QUEUE_CAP: 5 }),
      engine,
      render: fakeRender,
      log: testLog,
      startWorker: false,
    });
  });
  afterAll(async () => {
    await limited?.close();
    await ldb?.drop();
  });

  it('refuses a third concurrent request, reports positions and caps the queue', async () => {
    const user = newUser();
    const submit = (u: Requester) => limited.service.submitGeneration({ requester: u, params: { model: 'fake', seed: 1 }, replyTo: null });
    // Concurrent submissions by one user must not slip past the limit together.
    const results = await Promise.allSettled([submit(user), submit(user), submit(user), submit(user)]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(2);
    expect(refused.every((r) => r.reason instanceof RateLimitError && r.reason.reason === 'concurrent' && r.reason.retryAfterSeconds > 0)).toBe(true);
    const positions = ok.map((r) => (r as PromiseFulfilledResult<{ position: number }>).value.position).sort();
    expect(positions).toEqual([1, 2]);

    // Cancelling frees a slot; the hourly limit (3) then applies.
    const first = (ok[0] as PromiseFulfilledResult<{ id: string }>).value.id;
    expect(await limited.service.cancel(first, user)).toBe(true);
    expect((await limited.service.getRequest(first))?.status).toBe('cancelled');
    await submit(user);
    const hourly = await submit(user).catch((e: unknown) => e);
    expect(hourly).toBeInstanceOf(RateLimitError);
    expect((hourly as RateLimitError).reason).toMatch(/concurrent|hourly/);

    // Queue cap 5: two queued so far.
    await submit(newUser());
    await submit(newUser());
    await submit(newUser());
    const full = await submit(newUser()).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(RateLimitError);
    expect((full as RateLimitError).reason).toBe('queue_full');
    expect((full as RateLimitError).message).toMatch(/queue is full/);
  });
});

describe('redelivered gestures (replyTo.dedupeKey)', () => {
  it('starts one request per key and user, across processes, whichever path submits it', async () => {
    // A second process on the same database: Slack may redeliver to any replica.
    const other = await startJobRuntime({
      config: testConfig({ DATABASE_URL: db.url, LIMIT_PER_HOUR: 1000, LIMIT_CONCURRENT_PER_USER: 1000 }),
      engine,
      render: fakeRender,
      log: testLog,
      startWorker: false,
    });
    try {
      const user = newUser('slack');
      const replyTo = { channel: 'C1', dedupeKey: 'command:trigger-1' };
      const params = { model: 'fake', steps: 2, seed: 5 };
      const outcomes = await Promise.allSettled([
        rt.service.submitGeneration({ requester: user, params, replyTo }),
        other.service.submitGeneration({ requester: user, params, replyTo }),
        other.service.submitNoiseDemo({ requester: user, params: { model: 'fake', seed: 5 }, replyTo }),
        rt.service.submitGeneration({ requester: user, params, replyTo }),
      ]);
      const accepted = outcomes.filter((o): o is PromiseFulfilledResult<{ id: string; position: number }> => o.status === 'fulfilled');
      expect(accepted).toHaveLength(1);
      const id = accepted[0]!.value.id;
      for (const o of outcomes.filter((o) => o.status === 'rejected')) {
        expect(o.reason).toBeInstanceOf(DuplicateRequestError);
        expect((o.reason as DuplicateRequestError).requestId).toBe(id);
      }
      const rows = await rt.db.pool.query(`SELECT id FROM requests WHERE dedupe_key = 'command:trigger-1'`);
      expect(rows.rows.map((r: { id: string }) => r.id)).toEqual([id]);
      await finished(id);

      // Reroll and replay go through the same door; another user's gesture with the same key is theirs.
      const reroll = { channel: 'C1', dedupeKey: 'reroll:trigger-2' };
      const first = await other.service.reroll(id, user, reroll);
      await expect(rt.service.replay(id, user, reroll)).rejects.toBeInstanceOf(DuplicateRequestError);
      expect(first.id).not.toBe(id);
      const stranger = await rt.service.submitGeneration({ requester: newUser('slack'), params, replyTo });
      expect(stranger.id).not.toBe(id);
      // Requests without a key are never deduplicated.
      const plain = await Promise.all([1, 2].map(() => rt.service.submitGeneration({ requester: user, params, replyTo: { channel: 'C1' } })));
      expect(new Set(plain.map((p) => p.id)).size).toBe(2);
    } finally {
      await other.close();
    }
  });
});
