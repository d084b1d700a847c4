/**
 * A variation and an inversion survive their worker's crash like a generation: a ROLE=worker process running
 * the real engine on the shipped mnist model is killed with SIGKILL mid-job, another worker takes the job
 * over once the lease has passed, and the stored images (and an inversion's PSNR) are exactly what the engine
 * computes for the stored parameters (the source image travels with the request, so nothing is lost with the
 * worker), from one attempt of each worker.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.ts';
import { startJobRuntime, type JobRuntime } from '../../src/jobs/runtime.ts';
import { realRender } from '../../src/main.ts';
import { imagePng } from '../../src/render/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from './support/processes.ts';
import { testConfig, testLog, waitFor } from './support/runtime.ts';

const LEASE = { JOB_EXPIRE_SECONDS: '5', JOB_HEARTBEAT_SECONDS: '1', WORKER_ENGINE: 'real' };
let db: TestDatabase;
let engine: Engine;
let bot: JobRuntime;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('edits_crash');
  engine = await Engine.load({ executionProvider: 'cpu', threads: 1 });
  bot = await startJobRuntime({ config: testConfig({ DATABASE_URL: db.url, ROLE: 'bot' }), engine, render: realRender, log: testLog });
}, 120_000);

afterEach(async () => {
  await Promise.all(workers.map(stopWorkerProcess));
  workers = [];
});

afterAll(async () => {
  await bot?.close();
  await engine?.close();
  await db?.drop();
});

/** Starts a worker, SIGKILLs it once the job has made progress, starts another and waits for the job to end. */
async function killMidJobAndTakeOver(id: string) {
  workers = [await startWorkerProcess('victim', { DATABASE_URL: db.url, ...LEASE })];
  await waitFor(async () => ((await bot.service.getRequest(id))?.progress?.step ?? 0) >= 2, 120_000, 20);
  workers[0]!.child.kill('SIGKILL');
  const killedAt = Date.now();
  await workers[0]!.exited;
  expect((await bot.service.getRequest(id))!.status).toBe('running');
  workers.push(await startWorkerProcess('survivor', { DATABASE_URL: db.url, ...LEASE }));
  const view = await waitFor(async () => {
    const v = await bot.service.getRequest(id);
    return v && v.status !== 'running' && v.status !== 'queued' ? v : null;
  }, 240_000, 100);
  // The figures docs/reliability.md records (measured, not asserted: they follow the machine's load).
  const { rows } = await bot.db.pool.query<{ claimed: Date }>(`SELECT started_at AS claimed FROM request_attempts WHERE request_id = $1 AND worker_id = 'survivor'`, [id]);
  const after = (t: number) => `${((t - killedAt) / 1000).toFixed(1)} s`;
  console.info(`${view.kind} ${id}: taken over ${after(rows[0]!.claimed.getTime())} after the kill, ${view.status} ${after(Date.now())} after it`);
  return view;
}

/** [worker, outcome] of each attempt, in order. */
async function attemptsOf(id: string): Promise<string[][]> {
  const { rows } = await bot.db.pool.query<{ worker_id: string; outcome: string }>('SELECT worker_id, outcome FROM request_attempts WHERE request_id = $1 ORDER BY attempt', [id]);
  return rows.map((r) => [r.worker_id, r.outcome]);
}

describe('a variation whose worker is killed', () => {
  it('is taken over by another worker after the lease and ends with the images its stored parameters give', async () => {
    const upload = await readFile(path.resolve(import.meta.dirname, '../../docs/sample.png'));
    // DDPM at strength 0.9: 900 model calls, seconds on this machine, so the kill lands mid-job.
    const params = { model: 'mnist', sampler: 'ddpm', steps: 1000, seed: 4242, strength: 0.9, label: 3 };
    const { id } = await bot.service.submitVariation({ requester: { platform: 'web', userId: 'crash' }, source: { image: upload }, params, replyTo: null });
    const view = await killMidJobAndTakeOver(id);
    expect(view).toMatchObject({ status: 'succeeded', kind: 'vary', seed: 4242, label: '3', variation: { strength: 0.9, source: { upload: true } } });
    expect(await attemptsOf(id)).toEqual([
      ['victim', 'expired'],
      ['survivor', 'succeeded'],
    ]);
    const direct = await engine.vary(engine.validateVariation(params), await engine.sourceImage('mnist', upload));
    expect((await bot.service.getImage(id, 0))!.bytes.equals(await imagePng(direct.images, 0))).toBe(true);
  }, 420_000);
});

describe('an inversion whose worker is killed', () => {
  it('is taken over by another worker after the lease and ends with the reconstruction and PSNR its stored parameters give', async () => {
    const upload = await readFile(path.resolve(import.meta.dirname, '../../docs/sample.png'));
    // DDIM inversion and decoding at 500 steps: 1,000 model calls; progress is reported while decoding, so the
    // kill lands after the inversion, in the middle of the decoding.
    const params = { model: 'mnist', sampler: 'ddim', steps: 500, label: 3 };
    const { id } = await bot.service.submitInversion({ requester: { platform: 'web', userId: 'crash-invert' }, source: { image: upload }, params, replyTo: null });
    const view = await killMidJobAndTakeOver(id);
    const direct = await engine.invert(engine.validateInversion(params), await engine.sourceImage('mnist', upload));
    expect(view).toMatchObject({ status: 'succeeded', kind: 'invert', steps: 500, label: '3', inversion: { source: { upload: true }, psnr: direct.psnr } });
    expect(await attemptsOf(id)).toEqual([
      ['victim', 'expired'],
      ['survivor', 'succeeded'],
    ]);
    expect((await bot.service.getImage(id, 'reconstruction'))!.bytes.equals(await imagePng(direct.reconstruction))).toBe(true);
    expect(view!.images.map((i) => i.index)).toEqual([0, 'grid', 'reconstruction']);
  }, 420_000);
});
