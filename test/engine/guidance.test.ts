import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, ValidationError } from '../../src/engine/index.ts';

// tiny-cond: an untrained class-conditional fixture (3 classes + the null label) and PyTorch's
// guided DDIM samples for it (test/fixtures/make_tiny.py --classes 3).
const modelsDir = path.resolve(import.meta.dirname, '../fixtures/conditional');
const reference = JSON.parse(readFileSync(path.join(modelsDir, 'tiny-cond/reference.json'), 'utf8')) as {
  cases: { seed: number; count: number; label: number | null; guidance: number | null; steps: number; sample: number[] }[];
};
let engine: Engine;

beforeAll(async () => {
  engine = await Engine.load({ modelsDir, executionProvider: 'cpu' });
});
afterAll(async () => engine.close());

function paramsOf(c: (typeof reference.cases)[number]) {
  return engine.validate({
    model: 'tiny-cond', sampler: 'ddim', steps: c.steps, seed: c.seed, count: c.count, options: { eta: 0 },
    ...(c.label === null ? {} : { label: c.label, guidance: c.guidance }),
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('classifier-free guidance', () => {
  it.each(reference.cases.map((c, i) => [i, c] as const))('case %i equals PyTorch guided DDIM from the same seed', async (_, c) => {
    const result = await engine.generate(paramsOf(c));
    expect(maxAbsDiff(result.images.data, c.sample)).toBeLessThan(1e-4);
  });

  it('at scale 0 gives exactly the unconditional images', async () => {
    const base = { model: 'tiny-cond', sampler: 'ddim', steps: 6, seed: 21, count: 2 };
    const zero = await engine.generate(engine.validate({ ...base, label: 1, guidance: 0 }));
    const plain = await engine.generate(engine.validate(base));
    expect(Array.from(zero.images.data)).toEqual(Array.from(plain.images.data));
  });

  it('gives each request of a mixed batch (labels, scales, unconditional) exactly its reference images', async () => {
    const results = await engine.generateBatch(reference.cases.map(paramsOf));
    results.forEach((r, i) => expect(maxAbsDiff(r.images.data, reference.cases[i]!.sample)).toBeLessThan(1e-4));
  });

  it('costs one network row per image without guidance (scale 1 or 0) and two with it, in one forward pass per step', async () => {
    const session = await engine.denoiser('tiny-cond');
    const original = session.predict.bind(session);
    const calls: { batch: number; labels: readonly number[] | undefined }[] = [];
    session.predict = async (sample, t, labels) => {
      calls.push({ batch: sample.shape[0]!, labels });
      return original(sample, t, labels);
    };
    try {
      await engine.generate(engine.validate({ model: 'tiny-cond', sampler: 'ddim', steps: 4, count: 2, label: 2, guidance: 1 }));
      await engine.generate(engine.validate({ model: 'tiny-cond', sampler: 'ddim', steps: 4, count: 2 }));
      await engine.generate(engine.validate({ model: 'tiny-cond', sampler: 'ddim', steps: 4, count: 2, label: 2, guidance: 4 }));
      await engine.generate(engine.validate({ model: 'tiny-cond', sampler: 'ddim', steps: 4, count: 2, label: 2, guidance: 0 }));
    } finally {
      session.predict = original;
    }
    expect(calls).toHaveLength(16);
    expect(calls.slice(12).every((c) => c.batch === 2 && c.labels?.join() === '3,3')).toBe(true);
    expect(calls.slice(0, 4).every((c) => c.batch === 2 && c.labels?.join() === '2,2')).toBe(true);
    expect(calls.slice(4, 8).every((c) => c.batch === 2 && c.labels?.join() === '3,3')).toBe(true);
    expect(calls.slice(8, 12).every((c) => c.batch === 4 && c.labels?.join() === '2,2,3,3')).toBe(true);
  });

  it('resolves labels by name, case, unique prefix or index, and fills the default guidance', () => {
    expect(engine.validate({ model: 'tiny-cond', label: 'Class 1' })).toMatchObject({ label: 'class 1', guidance: 2.5 });
    expect(engine.validate({ model: 'tiny-cond', label: 2, guidance: 0 })).toMatchObject({ label: 'class 2', guidance: 0 });
    expect(engine.validate({ model: 'tiny-cond', label: 'class0' })).toMatchObject({ label: 'class 0' });
    // Typed digits (CLI, chat) are an index when no class has that name.
    expect(engine.validate({ model: 'tiny-cond', label: '1' })).toMatchObject({ label: 'class 1' });
    expect(engine.validate({ model: 'tiny-cond' })).toMatchObject({ label: null, guidance: null });
  });

  it.each([
    [{ label: 'class' }, 'label', /could mean class 0 or class 1 or class 2/],
    [{ label: 'dog' }, 'label', /unknown label "dog"; choose one of: class 0, class 1, class 2/],
    [{ label: 3 }, 'label', /label index must be 0..2/],
    [{ guidance: 3 }, 'guidance', /guidance needs a label/],
    [{ label: 1, guidance: 21 }, 'guidance', /guidance/],
    [{ label: 1, guidance: -1 }, 'guidance', /guidance/],
  ])('refuses %j naming the field', (input, field, message) => {
    const call = () => engine.validate({ model: 'tiny-cond', ...input });
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(message);
    try {
      call();
    } catch (err) {
      expect((err as ValidationError).field).toBe(field);
    }
  });
});

describe('unconditional models', () => {
  it('refuse a label, naming the model', async () => {
    const plain = await Engine.load({ modelsDir: path.resolve(import.meta.dirname, '../fixtures'), executionProvider: 'cpu' });
    try {
      expect(() => plain.validate({ model: 'tiny', label: 'x' })).toThrow('model tiny is not class-conditional; it takes no label');
      expect(plain.validate({ model: 'tiny' })).toMatchObject({ label: null, guidance: null });
    } finally {
      await plain.close();
    }
  });
});

describe('the noise demo on a conditional model', () => {
  it('draws its unconditional sample and denoises back from x_t', async () => {
    const demo = await engine.noiseDemo({ model: 'tiny-cond', seed: 3, timesteps: [0, 500], denoiseFrom: 300 });
    expect(demo.frames).toHaveLength(2);
    expect(demo.reconstructionPng?.subarray(1, 4).toString()).toBe('PNG');
  });
});
