/**
 * Variations, interpolation and inversion through the real engine on the tiny ONNX fixtures (untrained
 * weights: these check the plumbing and exactness, not image quality; the math is checked on a known denoiser
 * in test/plugins/ddim-inversion.test.ts).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNoise } from '../../src/core/forward.ts';
import { TorchGenerator } from '../../src/core/rng.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import type { Tensor } from '../../src/core/tensor.ts';
import { Engine, ValidationError } from '../../src/engine/index.ts';
import { labelMixDenoiser } from '../../src/engine/label-interpolation.ts';
import { variationTimesteps } from '../../src/engine/variation.ts';
import { imagePng, pixelsToPng, toPixels } from '../../src/render/index.ts';

let engine: Engine;
let cond: Engine;

beforeAll(async () => {
  engine = await Engine.load({ modelsDir: path.resolve(import.meta.dirname, '../fixtures'), executionProvider: 'cpu' });
  cond = await Engine.load({ modelsDir: path.resolve(import.meta.dirname, '../fixtures/conditional'), executionProvider: 'cpu' });
});
afterAll(async () => Promise.all([engine.close(), cond.close()]));

/** An 8x8 gray PNG with a gradient, as a user would upload. */
async function sourcePng(): Promise<Buffer> {
  const data = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) % 256);
  return pixelsToPng({ data, width: 8, height: 8, channels: 1 });
}

function expectValidationError(fn: () => unknown, field: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    expect((err as Error).message).toContain(field);
    return;
  }
  throw new Error(`expected a ValidationError for ${field}`);
}

async function recordInputs<T>(e: Engine, model: string, run: () => Promise<T>): Promise<{ result: T; inputs: { t: number; x: Float32Array }[] }> {
  const session = await e.denoiser(model);
  const original = session.predict.bind(session);
  const inputs: { t: number; x: Float32Array }[] = [];
  session.predict = async (sample, t, labels) => {
    inputs.push({ t, x: Float32Array.from(sample.data) });
    return original(sample, t, labels);
  };
  try {
    return { result: await run(), inputs };
  } finally {
    session.predict = original;
  }
}

describe('variations (SDEdit, img2img semantics)', () => {
  it('get_timesteps: the last floor(steps x strength) timesteps', () => {
    const leading50 = Array.from({ length: 50 }, (_, i) => 980 - 20 * i);
    // int(50 * 0.5) = 25 steps from index 25 (timestep 480); int(10 * 0.7) = 7 (10 * 0.7 = 7.000000000000001)
    expect(variationTimesteps(leading50, 50, 0.5)).toEqual(leading50.slice(25));
    expect(variationTimesteps(leading50, 50, 0.5)[0]).toBe(480);
    expect(variationTimesteps([900, 800, 700, 600, 500, 400, 300, 200, 100, 0], 10, 0.7)).toEqual([600, 500, 400, 300, 200, 100, 0]);
    expect(variationTimesteps(leading50, 50, 0)).toEqual([]);
    expect(variationTimesteps(leading50, 50, 1)).toEqual(leading50);
  });

  it('strength 0 returns the input image exactly (tensor and PNG bytes)', async () => {
    const png = await sourcePng();
    const source = await engine.sourceImage('tiny', png);
    const params = { ...engine.validate({ model: 'tiny', seed: 3, count: 2 }), strength: 0 };
    const result = await engine.vary(params, source);
    expect(Array.from(result.images.data)).toEqual([...source.data, ...source.data]);
    expect((await imagePng(result.images, 1)).equals(png)).toBe(true);
  });

  it('noises the image to the first kept timestep with one randn of the seed, then runs the rest', async () => {
    const source = await engine.sourceImage('tiny', await sourcePng());
    const params = engine.validateVariation({ model: 'tiny', sampler: 'ddim', steps: 50, seed: 9, count: 2, strength: 0.5 });
    const { inputs } = await recordInputs(engine, 'tiny', () => engine.vary(params, source));
    expect(inputs.map((i) => i.t)).toEqual(Array.from({ length: 25 }, (_, i) => 480 - 20 * i));
    const both: Tensor = { data: Float32Array.from([...source.data, ...source.data]), shape: [2, 1, 8, 8] };
    const expected = addNoise(makeSchedule('linear', 1000, 0.0001, 0.02), both, new TorchGenerator(9).randn([2, 1, 8, 8]), 480);
    expect(Array.from(inputs[0]!.x)).toEqual(Array.from(expected.data));
  });

  it.each(['ddim', 'ddpm', 'dpm-solver'])('%s: same inputs and seed give byte-identical PNGs; another seed differs', async (sampler) => {
    const source = await engine.sourceImage('tiny', await sourcePng());
    const params = engine.validateVariation({ model: 'tiny', sampler, steps: 20, seed: 5, strength: 0.6 });
    const [a, b, c] = await Promise.all([engine.vary(params, source), engine.vary(params, source), engine.vary({ ...params, seed: 6 }, source)]);
    expect((await imagePng(a.images)).equals(await imagePng(b.images))).toBe(true);
    expect(Array.from(a.images.data)).not.toEqual(Array.from(c.images.data));
  });

  it('with a label: the conditional model guided as the request says', async () => {
    const source = await cond.sourceImage('tiny-cond', await sourcePng());
    const params = cond.validateVariation({ model: 'tiny-cond', steps: 10, seed: 2, label: 1, strength: 0.5 });
    const [a, b] = await Promise.all([cond.vary(params, source), cond.vary({ ...params, label: 'class 2' }, source)]);
    expect(Array.from(a.images.data)).not.toEqual(Array.from(b.images.data));
  });

  it('validates strength (0.1..0.9), its step count and the image, naming the field', async () => {
    expectValidationError(() => engine.validateVariation({ model: 'tiny', strength: 0.05 }), 'strength');
    expectValidationError(() => engine.validateVariation({ model: 'tiny', strength: 0.95 }), 'strength');
    expectValidationError(() => engine.validateVariation({ model: 'tiny', strength: 'half' }), 'strength');
    expectValidationError(() => engine.validateVariation({ model: 'tiny', steps: 1, strength: 0.5 }), 'strength');
    expectValidationError(() => engine.validateVariation({ model: 'tiny', strenght: 0.5 }), 'strenght');
    expect(engine.validateVariation({ model: 'tiny' }).strength).toBe(0.5);
    const params = engine.validateVariation({ model: 'tiny', steps: 10 });
    await expect(engine.vary(params, { data: new Float32Array(16), shape: [1, 1, 4, 4] })).rejects.toThrow(/image must be one image of shape \[1, 1, 8, 8\]/);
  });

  it('refuses a sampler that walks a rescaled sample (initNoiseSigma) instead of noising wrongly: at validation, and in vary itself', async () => {
    expectValidationError(() => engine.validateVariation({ model: 'tiny', sampler: 'euler', steps: 10 }), 'sampler');
    const source = await engine.sourceImage('tiny', await sourcePng());
    // Parameters validateVariation would not give: the engine's own check still stands.
    const params = { ...engine.validate({ model: 'tiny', sampler: 'euler', steps: 10 }), strength: 0.5 };
    await expect(engine.vary(params, source)).rejects.toMatchObject({ field: 'sampler', message: expect.stringContaining('sampler euler walks a rescaled sample') });
  });
});

describe('seed interpolation (DDIM section 5.3)', () => {
  it('its ends are exactly the two seeds images, and repeated runs give identical bytes', async () => {
    const params = engine.validateInterpolation({ model: 'tiny', steps: 10, seed_a: 1, seed_b: 2, frames: 5 });
    const [result, again] = await Promise.all([engine.interpolate(params), engine.interpolate(params)]);
    const [a, b] = await Promise.all([1, 2].map((seed) => engine.generate(engine.validate({ model: 'tiny', steps: 10, seed }))));
    expect(result.images.shape).toEqual([5, 1, 8, 8]);
    expect(result.alphas).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(result.images.data.subarray(0, 64))).toEqual(Array.from(a!.images.data));
    expect(Array.from(result.images.data.subarray(4 * 64))).toEqual(Array.from(b!.images.data));
    expect((await imagePng(result.images, 4)).equals(await imagePng(b!.images))).toBe(true);
    expect(result.stripPng.equals(again.stripPng)).toBe(true);
    expect(result.gif.equals(again.gif)).toBe(true);
    expect(Array.from(result.images.data.subarray(2 * 64, 3 * 64))).not.toEqual(Array.from(a!.images.data));
  });

  it('with a label and guidance, the ends are the guided images of the two seeds', async () => {
    const base = { model: 'tiny-cond', steps: 8, label: 'class 1', guidance: 3 };
    const result = await cond.interpolate(cond.validateInterpolation({ ...base, seed_a: 10, seed_b: 11, frames: 3 }));
    const b = await cond.generate(cond.validate({ ...base, seed: 11 }));
    expect(Array.from(result.images.data.subarray(2 * 64))).toEqual(Array.from(b.images.data));
  });

  it('needs a deterministic sampler and names what is wrong', async () => {
    // Refused at validation (the service refuses them at submit), before any model call.
    expectValidationError(() => engine.validateInterpolation({ model: 'tiny', sampler: 'ddpm', seed_a: 1, seed_b: 2 }), 'sampler');
    expect(() => engine.validateInterpolation({ model: 'tiny', options: { eta: 0.5 }, seed_a: 1, seed_b: 2 })).toThrow(/eta: inversion needs deterministic/);
    expectValidationError(() => engine.validateInterpolation({ model: 'tiny', seed_a: 1, seed_b: 2, seed: 3 }), 'seed');
    expectValidationError(() => engine.validateInterpolation({ model: 'tiny', seed_a: 1, seed_b: 2, frames: 1 }), 'frames');
    expectValidationError(() => engine.validateInterpolation({ model: 'tiny', seed_a: 1 }), 'seed_b');
    expectValidationError(() => engine.validateInterpolation({ model: 'tiny', seed_a: -1, seed_b: 2 }), 'seed_a');
  });
});

describe('interpolation between any two ends (a seed or an image each)', () => {
  it("a seed end's frame is that seed's image, an image end's its reconstruction; seed to seed is interpolate's bytes", async () => {
    const source = await engine.sourceImage('tiny', await sourcePng());
    const params = engine.validateInterpolationEnds({ model: 'tiny', steps: 10, frames: 4 });
    const [toImage, fromImage, seeds] = await Promise.all([
      engine.interpolateEnds(params, { seed: 1 }, { image: source }),
      engine.interpolateEnds(params, { image: source }, { seed: 1 }),
      engine.interpolateEnds(params, { seed: 1 }, { seed: 2 }),
    ]);
    const seed1 = await engine.generate(engine.validate({ model: 'tiny', steps: 10, seed: 1 }));
    const { reconstruction } = await engine.invert(engine.validateInversion({ model: 'tiny', steps: 10 }), source);
    expect((await imagePng(toImage.images, 0)).equals(await imagePng(seed1.images))).toBe(true);
    expect((await imagePng(toImage.images, 3)).equals(await imagePng(reconstruction))).toBe(true);
    expect((await imagePng(fromImage.images, 0)).equals(await imagePng(reconstruction))).toBe(true);
    expect((await imagePng(fromImage.images, 3)).equals(await imagePng(seed1.images))).toBe(true);
    // The service's interpolation from an image is the same computation.
    const served = await engine.interpolateFromImage(engine.validateImageInterpolation({ model: 'tiny', steps: 10, seed_b: 1, frames: 4 }), source);
    expect(served.stripPng.equals(fromImage.stripPng)).toBe(true);
    const direct = await engine.interpolate(engine.validateInterpolation({ model: 'tiny', steps: 10, seed_a: 1, seed_b: 2, frames: 4 }));
    expect(seeds.stripPng.equals(direct.stripPng)).toBe(true);
  });

  it('takes frames and the generation fields, no seeds; a sampler that cannot invert is named', () => {
    expectValidationError(() => engine.validateInterpolationEnds({ model: 'tiny', seed_a: 1 }), 'seed_a');
    expectValidationError(() => engine.validateInterpolationEnds({ model: 'tiny', seed: 1 }), 'seed');
    expectValidationError(() => engine.validateInterpolationEnds({ model: 'tiny', frames: 17 }), 'frames');
    expectValidationError(() => engine.validateInterpolationEnds({ model: 'tiny', sampler: 'ddpm' }), 'sampler');
    expect(engine.validateInterpolationEnds({ model: 'tiny' })).toMatchObject({ model: 'tiny', sampler: 'ddim', frames: 8 });
  });
});

describe('label interpolation at one seed (a mix of the two conditional predictions)', () => {
  it('mixes eps = u + s ((1 - w) eps_A + w eps_B - u), one batch of A, B and null rows', async () => {
    // A fake network: eps = 10 x label + x, so eps_A, eps_B and u are known for every row.
    const calls: number[][] = [];
    const fake = {
      async predict(sample: Tensor, _t: number, labels?: readonly number[]): Promise<Tensor> {
        calls.push([...labels!]);
        return { data: sample.data.map((x, i) => 10 * labels![i]! + x), shape: sample.shape };
      },
    };
    const mix = labelMixDenoiser(fake, 1, 2, 3, 2, [0, 0.25, 1]);
    const x = 0.5;
    const out = await mix.predict({ data: Float32Array.from([x, x, x]), shape: [3, 1, 1, 1] }, 500);
    expect(calls).toEqual([[1, 1, 1, 2, 2, 2, 3, 3, 3]]);
    const [ea, eb, u] = [10 + x, 20 + x, 30 + x];
    const expected = [0, 0.25, 1].map((w) => u + 2 * ((1 - w) * ea + w * eb - u));
    expected.forEach((e, i) => expect(out.data[i]).toBeCloseTo(e, 4));
    // Guidance 1 needs no null rows.
    await labelMixDenoiser(fake, 1, 2, 3, 1, [0.5]).predict({ data: Float32Array.from([x]), shape: [1, 1, 1, 1] }, 500);
    expect(calls[1]).toEqual([1, 2]);
  });

  it.each([2.5, 1])('its ends are exactly the seed images at label A and at label B (guidance %f)', async (guidance) => {
    const base = { model: 'tiny-cond', steps: 8, seed: 4, guidance };
    const params = cond.validateLabelInterpolation({ ...base, label_a: 'class 0', label_b: 2, frames: 4 });
    expect([params.labelA, params.labelB, params.guidance]).toEqual(['class 0', 'class 2', guidance]);
    const [result, again] = await Promise.all([cond.interpolateLabels(params), cond.interpolateLabels(params)]);
    const [a, b] = await Promise.all([0, 2].map((label) => cond.generate(cond.validate({ ...base, label }))));
    expect(Array.from(result.images.data.subarray(0, 64))).toEqual(Array.from(a!.images.data));
    expect(Array.from(result.images.data.subarray(3 * 64))).toEqual(Array.from(b!.images.data));
    expect(Array.from(result.images.data.subarray(64, 128))).not.toEqual(Array.from(a!.images.data));
    expect(result.gif.equals(again.gif)).toBe(true);
  });

  it('names the field: label_a / label_b, a model without labels, a stochastic sampler', async () => {
    expectValidationError(() => cond.validateLabelInterpolation({ model: 'tiny-cond', label_a: 0, label_b: 'nope' }), 'label_b');
    expectValidationError(() => cond.validateLabelInterpolation({ model: 'tiny-cond', label_a: 9, label_b: 1 }), 'label_a');
    expectValidationError(() => cond.validateLabelInterpolation({ model: 'tiny-cond', label_a: 0, label_b: 1, label: 2 }), 'label');
    expectValidationError(() => engine.validateLabelInterpolation({ model: 'tiny', label_a: 0, label_b: 1 }), 'label_a');
    expectValidationError(() => cond.validateLabelInterpolation({ model: 'tiny-cond', sampler: 'ddpm', label_a: 0, label_b: 1 }), 'sampler');
  });
});

describe('DDIM inversion (section 5.4)', () => {
  it('runs the inverse timesteps upwards, then decodes the latent with the same sampler; deterministic', async () => {
    const source = await engine.sourceImage('tiny', await sourcePng());
    const params = engine.validateInversion({ model: 'tiny', steps: 10 });
    const { result, inputs } = await recordInputs(engine, 'tiny', () => engine.invert(params, source));
    expect(inputs.map((i) => i.t)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    expect(Array.from(inputs[0]!.x)).toEqual(Array.from(source.data));
    expect(Array.from(inputs[10]!.x)).toEqual(Array.from(result.latent.data));
    const again = await engine.invert(params, source);
    expect((await imagePng(again.reconstruction)).equals(await imagePng(result.reconstruction))).toBe(true);
    expect(result.psnr).toBeGreaterThan(0);
    const expected = (await import('../../src/core/psnr.ts')).psnr(toPixels(result.reconstruction).data, toPixels(source).data, 255);
    expect(result.psnr).toBe(expected);
  });

  it('works for the conditional model with its label', async () => {
    const source = await cond.sourceImage('tiny-cond', await sourcePng());
    const result = await cond.invert(cond.validateInversion({ model: 'tiny-cond', steps: 10, label: 0 }), source);
    expect(result.latent.shape).toEqual([1, 1, 8, 8]);
  });

  it('a sampler without the inverse capability gets a clear error naming the sampler, at validation and from invert itself; eta > 0 names eta', async () => {
    const source = await engine.sourceImage('tiny', await sourcePng());
    for (const sampler of ['ddpm', 'dpm-solver', 'euler', 'score-sde']) {
      expect(() => engine.validateInversion({ model: 'tiny', sampler, steps: 10 })).toThrow(`sampler ${sampler} cannot invert`);
      const { seed: _seed, count: _count, ...params } = engine.validate({ model: 'tiny', sampler, steps: 10 });
      await expect(engine.invert(params, source)).rejects.toMatchObject({ field: 'sampler', message: expect.stringContaining(`sampler ${sampler} cannot invert`) });
    }
    expect(() => engine.validateInversion({ model: 'tiny', options: { eta: 1 } })).toThrow(expect.objectContaining({ field: 'options.eta' }));
    expectValidationError(() => engine.validateInversion({ model: 'tiny', count: 2 }), 'count');
  });
});
