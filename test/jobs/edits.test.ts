/**
 * Variations and interpolations through the whole job path: the real engine on the tiny ONNX fixtures,
 * real Postgres, the worker. Each request is stored with every parameter and seed, its images are what
 * the engine computes for them, and the same parameters and seeds give byte-identical PNGs.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.ts';
import { startJobRuntime, type JobRuntime } from '../../src/jobs/runtime.ts';
import { NotFoundError, ValidationError, type RequestView } from '../../src/jobs/service.ts';
import { realRender } from '../../src/main.ts';
import { imagePng } from '../../src/render/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { testConfig, testLog, waitFor } from './support/runtime.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');
let modelsDir: string;
let db: TestDatabase;
let engine: Engine;
let rt: JobRuntime;
const requester = { platform: 'web' as const, userId: 'u1' };

beforeAll(async () => {
  db = await createTestDatabase('edits');
  // Both fixtures in one engine: the unconditional `tiny` and the class-conditional `tiny-cond`.
  modelsDir = await mkdtemp(path.join(tmpdir(), 'ddpm-edit-models-'));
  await cp(path.join(FIXTURES, 'tiny'), path.join(modelsDir, 'tiny'), { recursive: true });
  await cp(path.join(FIXTURES, 'conditional/tiny-cond'), path.join(modelsDir, 'tiny-cond'), { recursive: true });
  engine = await Engine.load({ modelsDir, executionProvider: 'cpu', threads: 1 });
  rt = await startJobRuntime({
    config: testConfig({ DATABASE_URL: db.url, LIMIT_CONCURRENT_PER_USER: 20, LIMIT_PER_HOUR: 1000 }),
    engine,
    render: realRender,
    log: testLog,
  });
}, 120_000);

afterAll(async () => {
  await rt?.close();
  await engine?.close();
  await db?.drop();
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
});

async function finished(id: string): Promise<RequestView> {
  return waitFor(async () => {
    const view = await rt.service.getRequest(id);
    return view && ['succeeded', 'failed', 'cancelled'].includes(view.status) ? view : null;
  }, 90_000);
}

async function png(id: string, index: number | 'grid' | 'gif'): Promise<Buffer> {
  return (await rt.service.getImage(id, index))!.bytes;
}

async function generation(params: Record<string, unknown>): Promise<string> {
  const { id } = await rt.service.submitGeneration({ requester, params, replyTo: null });
  expect((await finished(id)).status).toBe('succeeded');
  return id;
}

describe('variations through the queue', () => {
  it('vary image 1 of a result: stored with strength, noise seed and source, rendered as the engine renders it, byte-identical again', async () => {
    const sourceId = await generation({ model: 'tiny', sampler: 'ddim', steps: 10, seed: 3, count: 2 });
    const submit = () => rt.service.submitVariation({ requester, source: { requestId: sourceId, index: 1 }, params: { strength: 0.6, seed: 77, count: 2 }, replyTo: { n: 1 } });
    const first = await finished((await submit()).id);
    expect(first).toMatchObject({
      kind: 'vary', status: 'succeeded', model: 'tiny', sampler: 'ddim', steps: 10, seed: 77, count: 2, derivedFrom: sourceId,
      variation: { strength: 0.6, source: { requestId: sourceId, index: 1 } },
    });
    expect(first.images.map((i) => i.index)).toEqual([0, 1, 'grid']);

    const source = await engine.sourceImage('tiny', await png(sourceId, 1));
    const direct = await engine.vary(engine.validateVariation({ model: 'tiny', sampler: 'ddim', steps: 10, seed: 77, count: 2, strength: 0.6 }), source);
    expect((await png(first.id, 0)).equals(await imagePng(direct.images, 0))).toBe(true);
    expect((await png(first.id, 1)).equals(await imagePng(direct.images, 1))).toBe(true);
    // Not the source image back: strength 0.6 of 10 steps denoised 6 of them.
    expect((await png(first.id, 0)).equals(await png(sourceId, 1))).toBe(false);

    const again = await finished((await submit()).id);
    const replayed = await finished((await rt.service.replay(first.id, requester, null)).id);
    for (const view of [again, replayed]) expect(view.images.map((i) => i.sha256)).toEqual(first.images.map((i) => i.sha256));
    const rerolled = await finished((await rt.service.reroll(first.id, requester, null)).id);
    expect(rerolled).toMatchObject({ kind: 'vary', variation: first.variation, derivedFrom: first.id });
    expect(rerolled.seed).not.toBe(77);
    expect(rerolled.images[0]!.sha256).not.toBe(first.images[0]!.sha256);
  });

  it('a label and guidance of the source are kept; another sampler starts from its own defaults', async () => {
    const sourceId = await generation({ model: 'tiny-cond', sampler: 'ddim', steps: 8, seed: 5, label: 1, guidance: 2 });
    const { id } = await rt.service.submitVariation({ requester, source: { requestId: sourceId, index: 0 }, params: { seed: 1, sampler: 'dpm-solver' }, replyTo: null });
    const view = await finished(id);
    expect(view).toMatchObject({ status: 'succeeded', label: 'class 1', guidance: 2, sampler: 'dpm-solver', steps: 20, variation: { strength: 0.5 } });
  });

  it('varies an uploaded image (stored with the request), refusing one that is not an image', async () => {
    const upload = await png(await generation({ model: 'tiny', steps: 5, seed: 9 }), 0);
    const { id } = await rt.service.submitVariation({ requester, source: { image: upload }, params: { model: 'tiny', steps: 10, seed: 4, strength: 0.3 }, replyTo: null });
    const view = await finished(id);
    expect(view).toMatchObject({ status: 'succeeded', derivedFrom: null, variation: { strength: 0.3, source: { upload: true } } });
    const direct = await engine.vary(engine.validateVariation({ model: 'tiny', steps: 10, seed: 4, strength: 0.3 }), await engine.sourceImage('tiny', upload));
    expect((await png(id, 0)).equals(await imagePng(direct.images, 0))).toBe(true);
    await expect(rt.service.submitVariation({ requester, source: { image: Buffer.from('not an image') }, params: { model: 'tiny' }, replyTo: null })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'image',
    });
  });

  it('says what to fix: a sampler that cannot start from a noised image, strength, the source and its index; nothing is stored', async () => {
    const sourceId = await generation({ model: 'tiny', steps: 5, seed: 2 });
    const before = await rt.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM requests');
    const vary = (params: Record<string, unknown>, index = 0, requestId = sourceId) => rt.service.submitVariation({ requester, source: { requestId, index }, params, replyTo: null }).catch((e: unknown) => e);
    expect(await vary({ sampler: 'euler', steps: 10 })).toMatchObject({ name: 'ValidationError', field: 'sampler', message: expect.stringMatching(/sampler euler .* cannot start from a noised image/) });
    expect(await vary({ strength: 2 })).toMatchObject({ name: 'ValidationError', field: 'strength' });
    expect(await vary({}, 1)).toMatchObject({ name: 'ValidationError', field: 'index', message: expect.stringContaining('image index must be 0') });
    expect(await vary({}, 0, '00000000-0000-4000-8000-000000000000')).toBeInstanceOf(NotFoundError);
    expect(await vary({}, 0, 'not-a-uuid')).toBeInstanceOf(NotFoundError);
    expect(await rt.service.submitVariation({ requester, source: { requestId: sourceId, index: 0 }, params: 'strong', replyTo: null }).catch((e: unknown) => e)).toBeInstanceOf(ValidationError);
    const after = await rt.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM requests');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });
});

describe('interpolations through the queue', () => {
  it('between two seeds: frames, strip and GIF; the ends are the seeds images; byte-identical again', async () => {
    const params = { model: 'tiny', sampler: 'ddim', steps: 6, seed_a: 11, seed_b: 12, frames: 4 };
    const first = await finished((await rt.service.submitInterpolation({ requester, params, replyTo: null })).id);
    expect(first).toMatchObject({ kind: 'interpolate', status: 'succeeded', seed: 11, count: 4, label: null, interpolation: { frames: 4, to: { seed: 12 } } });
    expect(first.images.map((i) => i.index)).toEqual([0, 1, 2, 3, 'grid', 'gif']);
    expect((await rt.service.getImage(first.id, 'gif'))!.contentType).toBe('image/gif');
    const a = await engine.generate(engine.validate({ model: 'tiny', sampler: 'ddim', steps: 6, seed: 11 }));
    const b = await engine.generate(engine.validate({ model: 'tiny', sampler: 'ddim', steps: 6, seed: 12 }));
    expect((await png(first.id, 0)).equals(await imagePng(a.images))).toBe(true);
    expect((await png(first.id, 3)).equals(await imagePng(b.images))).toBe(true);
    const again = await finished((await rt.service.submitInterpolation({ requester, params, replyTo: null })).id);
    const replayed = await finished((await rt.service.replay(first.id, requester, null)).id);
    for (const view of [again, replayed]) expect(view.images.map((i) => i.sha256)).toEqual(first.images.map((i) => i.sha256));
    const rerolled = await finished((await rt.service.reroll(first.id, requester, null)).id);
    expect(rerolled.interpolation).toMatchObject({ frames: 4 });
    expect(rerolled.seed).not.toBe(11);
  });

  it('between two labels at one seed (conditional model); the ends are the seed at label A and at label B', async () => {
    const params = { model: 'tiny-cond', steps: 5, seed: 8, label_a: 0, label_b: 2, guidance: 2, frames: 3 };
    const view = await finished((await rt.service.submitInterpolation({ requester, params, replyTo: null })).id);
    expect(view).toMatchObject({ status: 'succeeded', seed: 8, label: 'class 0', guidance: 2, interpolation: { frames: 3, to: { label: 'class 2' } } });
    const end = await engine.generate(engine.validate({ model: 'tiny-cond', steps: 5, seed: 8, label: 2, guidance: 2 }));
    expect((await png(view.id, 2)).equals(await imagePng(end.images))).toBe(true);
    const replayed = await finished((await rt.service.replay(view.id, requester, null)).id);
    expect(replayed.images.map((i) => i.sha256)).toEqual(view.images.map((i) => i.sha256));
  });

  it('a stochastic sampler, eta > 0 or a missing seed is refused naming the field', async () => {
    const bad = (params: Record<string, unknown>) => rt.service.submitInterpolation({ requester, params, replyTo: null }).catch((e: unknown) => e);
    expect(await bad({ model: 'tiny', sampler: 'ddpm', seed_a: 1, seed_b: 2 })).toMatchObject({ field: 'sampler', message: expect.stringContaining('sampler ddpm cannot invert') });
    expect(await bad({ model: 'tiny', options: { eta: 0.5 }, seed_a: 1, seed_b: 2 })).toMatchObject({ field: 'options.eta' });
    expect(await bad({ model: 'tiny', seed_a: 1 })).toMatchObject({ field: 'seed_b' });
    expect(await bad({ model: 'tiny', seed_a: 1, seed_b: 2, frames: 40 })).toMatchObject({ field: 'frames' });
    expect(await bad({ model: 'tiny', label_a: 0, label_b: 1 })).toMatchObject({ field: 'label_a' });
  });
});
