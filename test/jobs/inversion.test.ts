/**
 * Inversion (DDIM section 5.4) through the whole job path, and the inverted image feeding an interpolation:
 * the real engine on the tiny ONNX fixture, real Postgres, the worker. Each request is stored with every
 * parameter and its source image, its images and PSNR are what the engine computes, and the same request
 * again gives byte-identical PNGs.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatBatch } from '../../src/core/tensor.ts';
import { Engine } from '../../src/engine/index.ts';
import { startJobRuntime, type JobRuntime } from '../../src/jobs/runtime.ts';
import { NotFoundError, type RequestView } from '../../src/jobs/service.ts';
import { realRender } from '../../src/main.ts';
import { batchPng, imagePng } from '../../src/render/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { testConfig, testLog, waitFor } from './support/runtime.ts';

let db: TestDatabase;
let engine: Engine;
let rt: JobRuntime;
const requester = { platform: 'web' as const, userId: 'inverter' };

beforeAll(async () => {
  db = await createTestDatabase('inversion');
  engine = await Engine.load({ modelsDir: path.resolve(import.meta.dirname, '../fixtures'), executionProvider: 'cpu', threads: 1 });
  rt = await startJobRuntime({ config: testConfig({ DATABASE_URL: db.url, LIMIT_CONCURRENT_PER_USER: 20, LIMIT_PER_HOUR: 1000 }), engine, render: realRender, log: testLog });
}, 120_000);

afterAll(async () => {
  await rt?.close();
  await engine?.close();
  await db?.drop();
});

async function finished(id: string): Promise<RequestView> {
  return waitFor(async () => {
    const view = await rt.service.getRequest(id);
    return view && ['succeeded', 'failed', 'cancelled'].includes(view.status) ? view : null;
  }, 90_000);
}

async function png(id: string, index: number | 'grid' | 'reconstruction'): Promise<Buffer> {
  return (await rt.service.getImage(id, index))!.bytes;
}

/** A one-image generation of `tiny`, its PNG the upload the tests invert. */
async function upload(seed: number): Promise<{ id: string; png: Buffer }> {
  const { id } = await rt.service.submitGeneration({ requester, params: { model: 'tiny', steps: 5, seed }, replyTo: null });
  expect((await finished(id)).status).toBe('succeeded');
  return { id, png: await png(id, 0) };
}

describe('inversion through the queue', () => {
  it('an upload: source, reconstruction, side by side and the PSNR, as the engine computes them; byte-identical again', async () => {
    const { png: image } = await upload(21);
    const params = { model: 'tiny', sampler: 'ddim', steps: 12 };
    const submit = () => rt.service.submitInversion({ requester, source: { image }, params, replyTo: null });
    const first = await finished((await submit()).id);
    expect(first).toMatchObject({ kind: 'invert', status: 'succeeded', model: 'tiny', sampler: 'ddim', steps: 12, count: 1, derivedFrom: null, variation: null, interpolation: null });
    expect(first.images.map((i) => i.index)).toEqual([0, 'grid', 'reconstruction']);

    const source = await engine.sourceImage('tiny', image);
    const direct = await engine.invert(engine.validateInversion(params), source);
    expect(first.inversion).toEqual({ source: { upload: true }, psnr: direct.psnr });
    expect((await png(first.id, 0)).equals(await imagePng(source))).toBe(true);
    expect((await png(first.id, 'reconstruction')).equals(await imagePng(direct.reconstruction))).toBe(true);
    expect((await png(first.id, 'grid')).equals(await batchPng(concatBatch([source, direct.reconstruction])))).toBe(true);

    const again = await finished((await submit()).id);
    const replayed = await finished((await rt.service.replay(first.id, requester, null)).id);
    const rerolled = await finished((await rt.service.reroll(first.id, requester, null)).id);
    for (const view of [again, replayed, rerolled]) {
      expect(view.images.map((i) => i.sha256)).toEqual(first.images.map((i) => i.sha256));
      expect(view.inversion!.psnr).toBe(first.inversion!.psnr);
    }
    // Replay with more steps: the stored source inverted again, a closer reconstruction on this fixture.
    const longer = await finished((await rt.service.replay(first.id, requester, null, { steps: 40 })).id);
    expect(longer).toMatchObject({ status: 'succeeded', steps: 40, derivedFrom: first.id });
    expect((await png(longer.id, 0)).equals(await png(first.id, 0))).toBe(true);
    expect(longer.inversion!.psnr).not.toBe(first.inversion!.psnr);
  });

  it("an image of a stored request, with that request's parameters as the defaults", async () => {
    const { id: sourceId, png: image } = await upload(22);
    const view = await finished((await rt.service.submitInversion({ requester, source: { requestId: sourceId, index: 0 }, params: {}, replyTo: null })).id);
    expect(view).toMatchObject({ status: 'succeeded', sampler: 'ddim', steps: 5, derivedFrom: sourceId, inversion: { source: { requestId: sourceId, index: 0 } } });
    const direct = await engine.invert(engine.validateInversion({ model: 'tiny', steps: 5 }), await engine.sourceImage('tiny', image));
    expect(view.inversion!.psnr).toBe(direct.psnr);
  });

  it('says what to fix (a sampler that cannot invert, eta, seed, the image, the source); nothing is stored', async () => {
    const { id: sourceId, png: image } = await upload(23);
    const before = await rt.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM requests');
    const invert = (params: unknown, source: { image: Buffer } | { requestId: string; index: number } = { image }) =>
      rt.service.submitInversion({ requester, source, params, replyTo: null }).catch((e: unknown) => e);
    expect(await invert({ model: 'tiny', sampler: 'ddpm' })).toMatchObject({ name: 'ValidationError', field: 'sampler', message: expect.stringContaining('sampler ddpm cannot invert') });
    expect(await invert({ model: 'tiny', options: { eta: 0.5 } })).toMatchObject({ name: 'ValidationError', field: 'options.eta' });
    expect(await invert({ model: 'tiny', seed: 3 })).toMatchObject({ name: 'ValidationError', field: 'seed' });
    expect(await invert({ model: 'tiny' }, { image: Buffer.from('not an image') })).toMatchObject({ name: 'ValidationError', field: 'image' });
    expect(await invert({}, { requestId: sourceId, index: 1 })).toMatchObject({ name: 'ValidationError', field: 'index' });
    expect(await invert({}, { requestId: 'not-a-uuid', index: 0 })).toBeInstanceOf(NotFoundError);
    expect(await invert('steps')).toMatchObject({ name: 'ValidationError' });
    const after = await rt.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM requests');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });
});

describe('interpolation from an image', () => {
  it("from an inversion's source to a seed: frame 0 is the reconstruction, the last frame the seed's image; byte-identical again", async () => {
    const { png: image } = await upload(24);
    const inverted = await finished((await rt.service.submitInversion({ requester, source: { image }, params: { model: 'tiny', steps: 8 }, replyTo: null })).id);
    const submit = () => rt.service.submitInterpolation({ requester, from: { requestId: inverted.id, index: 0 }, params: { seed_b: 31, frames: 3 }, replyTo: null });
    const first = await finished((await submit()).id);
    expect(first).toMatchObject({
      kind: 'interpolate', status: 'succeeded', steps: 8, seed: 31, count: 3, derivedFrom: inverted.id,
      interpolation: { frames: 3, to: { seed: 31 }, from: { requestId: inverted.id, index: 0 } },
    });
    expect((await png(first.id, 0)).equals(await png(inverted.id, 'reconstruction'))).toBe(true);
    const end = await engine.generate(engine.validate({ model: 'tiny', steps: 8, seed: 31 }));
    expect((await png(first.id, 2)).equals(await imagePng(end.images))).toBe(true);

    const again = await finished((await submit()).id);
    const replayed = await finished((await rt.service.replay(first.id, requester, null)).id);
    for (const view of [again, replayed]) expect(view.images.map((i) => i.sha256)).toEqual(first.images.map((i) => i.sha256));
    const rerolled = await finished((await rt.service.reroll(first.id, requester, null)).id);
    expect(rerolled.interpolation!.from).toEqual(first.interpolation!.from);
    expect((await png(rerolled.id, 0)).equals(await png(first.id, 0))).toBe(true);
    expect(rerolled.seed).not.toBe(31);
  });

  it('an upload as the first end; seed_a or a stochastic sampler is refused naming the field', async () => {
    const { png: image } = await upload(25);
    const view = await finished((await rt.service.submitInterpolation({ requester, from: { image }, params: { model: 'tiny', steps: 6, seed_b: 2, frames: 2 }, replyTo: null })).id);
    expect(view).toMatchObject({ status: 'succeeded', interpolation: { from: { upload: true } } });
    const direct = await engine.interpolateFromImage(engine.validateImageInterpolation({ model: 'tiny', steps: 6, seed_b: 2, frames: 2 }), await engine.sourceImage('tiny', image));
    expect((await png(view.id, 'grid')).equals(direct.stripPng)).toBe(true);
    const bad = (params: Record<string, unknown>) => rt.service.submitInterpolation({ requester, from: { image }, params, replyTo: null }).catch((e: unknown) => e);
    expect(await bad({ model: 'tiny', seed_a: 1, seed_b: 2 })).toMatchObject({ field: 'seed_a' });
    expect(await bad({ model: 'tiny', sampler: 'euler', seed_b: 2 })).toMatchObject({ field: 'sampler' });
    expect(await bad({ model: 'tiny' })).toMatchObject({ field: 'seed_b' });
  });
});
