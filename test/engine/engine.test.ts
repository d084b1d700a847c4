import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TorchGenerator } from '../../src/core/rng.ts';
import { Engine, ValidationError } from '../../src/engine/index.ts';
import { batchPng, imagePng, toPixels } from '../../src/render/index.ts';

const modelsDir = path.resolve(import.meta.dirname, '../fixtures');
let engine: Engine;

beforeAll(async () => {
  engine = await Engine.load({ modelsDir, executionProvider: 'cpu' });
});
afterAll(async () => engine.close());

describe('engine', () => {
  it('discovers the models and the sampler plugins', () => {
    expect(engine.models.list().map((m) => m.name)).toEqual(['tiny']);
    expect(engine.samplers.list().map((p) => p.name)).toEqual(expect.arrayContaining(['ddim', 'ddpm', 'dpm-solver']));
  });

  it('starts every request from ONE randn((count, C, H, W)) call of its seed', async () => {
    // With zero steps of denoising nothing would change x_T; instead check through a 1-step DDIM:
    // the first model input is x_T, which must be torch.randn((2,1,8,8)) of the seed.
    const seen: Float32Array[] = [];
    const session = await engine.denoiser('tiny');
    const original = session.predict.bind(session);
    session.predict = async (sample, t) => {
      seen.push(Float32Array.from(sample.data));
      return original(sample, t);
    };
    try {
      await engine.generate(engine.validate({ model: 'tiny', sampler: 'ddim', steps: 1, seed: 77, count: 2 }));
    } finally {
      session.predict = original;
    }
    expect(Array.from(seen[0]!)).toEqual(Array.from(new TorchGenerator(77).randn([2, 1, 8, 8])));
  });

  it.each(['ddpm', 'ddim', 'dpm-solver'])('%s: a micro-batch gives every request exactly its solo images', async (sampler) => {
    const steps = sampler === 'ddpm' ? 30 : 10;
    const a = engine.validate({ model: 'tiny', sampler, steps, seed: 11, count: 2, ...(sampler === 'ddim' ? { options: { eta: 0.5 } } : {}) });
    const b = { ...a, seed: 4_000_000_000, count: 1 };
    const c = { ...a, seed: 12, count: 3 };
    const batch = await engine.generateBatch([a, b, c]);
    for (const [i, params] of [a, b, c].entries()) {
      const alone = await engine.generate(params);
      expect(batch[i]!.images.shape).toEqual([params.count, 1, 8, 8]);
      expect(Array.from(batch[i]!.images.data)).toEqual(Array.from(alone.images.data));
    }
  });

  it.each([
    ['euler', { ancestral: true }],
    ['score-sde', {}],
  ] as const)('%s: a micro-batch gives every request exactly its solo images', async (sampler, options) => {
    const a = engine.validate({ model: 'tiny', sampler, steps: 8, seed: 11, count: 2, options });
    const b = { ...a, seed: 4_000_000_000, count: 1 };
    const c = { ...a, seed: 12, count: 3 };
    const batch = await engine.generateBatch([a, b, c]);
    for (const [i, params] of [a, b, c].entries()) {
      const alone = await engine.generate(params);
      expect(Array.from(batch[i]!.images.data)).toEqual(Array.from(alone.images.data));
    }
  });

  it('euler through the engine: x_T scaled by init_noise_sigma, the model sees x / sqrt(sigma^2 + 1); score-sde calls it corrector_steps + 1 times per step', async () => {
    const calls: { t: number; sample: Float32Array }[] = [];
    const session = await engine.denoiser('tiny');
    const original = session.predict.bind(session);
    session.predict = async (sample, t) => {
      calls.push({ t, sample: Float32Array.from(sample.data) });
      return original(sample, t);
    };
    const progress: number[] = [];
    try {
      await engine.generate(engine.validate({ model: 'tiny', sampler: 'euler', steps: 4, seed: 5 }));
      expect(calls).toHaveLength(4);
      const plugin = engine.sampler('euler');
      const sampler = plugin.create(engine.model('tiny').manifest.scheduler, plugin.options.parse({}));
      sampler.setTimesteps(4);
      // the tiny model's scheduler block says "leading": timesteps 750, 500, 250, 0; init sigma = sqrt(sigma_max^2 + 1)
      expect(calls.map((c) => c.t)).toEqual([750, 500, 250, 0]);
      const f = Math.fround;
      const sigma0 = (sampler as unknown as { sigmas: Float32Array }).sigmas[0]!;
      const init = f(sampler.initNoiseSigma!);
      expect(init).toBe(f(Math.sqrt(f(f(sigma0 * sigma0) + 1))));
      const scale = f(Math.sqrt(f(f(sigma0 * sigma0) + 1)));
      const want = new TorchGenerator(5).randn([1, 1, 8, 8]).map((v) => v * init).map((v) => v / scale);
      expect(Array.from(calls[0]!.sample)).toEqual(Array.from(want));

      calls.length = 0;
      await engine.generate(engine.validate({ model: 'tiny', sampler: 'score-sde', steps: 5, seed: 5, options: { corrector_steps: 2 } }), (p) =>
        progress.push(p.step),
      );
    } finally {
      session.predict = original;
    }
    expect(calls.map((c) => c.t)).toEqual([800, 800, 800, 600, 600, 600, 400, 400, 400, 200, 200, 200, 0, 0, 0]);
    expect(progress).toEqual([1, 2, 3, 4, 5]);
  });

  it('a request with count K returns K images, and its grid PNG holds exactly those K images', async () => {
    const result = await engine.generate(engine.validate({ model: 'tiny', steps: 5, seed: 3, count: 3 }));
    expect(result.images.shape).toEqual([3, 1, 8, 8]);
    const grid = await sharp(await batchPng(result.images)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    for (let i = 0; i < 3; i++) {
      const single = await sharp(await imagePng(result.images, i)).toColourspace('b-w').raw().toBuffer();
      const expected = toPixels(result.images, i).data;
      expect(Array.from(single)).toEqual(Array.from(expected));
      // Grid cell i (2 columns for 3 images, 4 px padding, 16 px caption) starts at x = 4 + (i % 2) * 12, y = 4 + floor(i / 2) * 28.
      const x0 = 4 + (i % 2) * 12;
      const y0 = 4 + Math.floor(i / 2) * 28;
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) expect(grid.data[(y0 + y) * grid.info.width + x0 + x]).toBe(expected[y * 8 + x]);
      }
    }
  });

  it('reports progress for every step with the predicted x_0 of the request', async () => {
    const steps: number[] = [];
    await engine.generate(engine.validate({ model: 'tiny', sampler: 'ddim', steps: 7, seed: 1, count: 2 }), (p) => {
      steps.push(p.step);
      expect(p.totalSteps).toBe(7);
      expect(p.predictedX0.shape).toEqual([2, 1, 8, 8]);
    });
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('stops at the next step when aborted', async () => {
    const controller = new AbortController();
    const run = engine.generate(engine.validate({ model: 'tiny', sampler: 'ddpm', steps: 1000, seed: 1 }), (p) => {
      if (p.step === 3) controller.abort(new Error('cancelled by user'));
    }, controller.signal);
    await expect(run).rejects.toThrow('cancelled by user');
  });

  it('fills defaults: first model, ddim, its default steps, a random seed, one image', () => {
    const params = engine.validate({});
    expect(params).toMatchObject({ model: 'tiny', sampler: 'ddim', steps: 50, count: 1, options: { eta: 0 } });
    expect(params.seed).toBeGreaterThanOrEqual(0);
    expect(params.seed).toBeLessThanOrEqual(2 ** 32 - 1);
  });

  it.each([
    [{ model: 'nope' }, 'model', /unknown model "nope"; installed: tiny/],
    [{ sampler: 'no-such-sampler' }, 'sampler', /unknown sampler "no-such-sampler"; available: .*ddim/],
    [{ sampler: 'ddpm', steps: 1001 }, 'steps', /steps must be 1..1000 for ddpm \(got 1001\)/],
    [{ steps: 0 }, 'steps', /steps must be 1\.\./],
    [{ seed: 2 ** 32 }, 'seed', /seed/],
    [{ seed: -1 }, 'seed', /seed/],
    [{ count: 17 }, 'count', /count/],
    [{ sampler: 'ddpm', options: { eta: 0.5 } }, 'options.eta', /^sampler ddpm takes no option "eta"; it takes no options$/],
    [{ sampler: 'euler', options: { eta: 0.5 } }, 'options.eta', /^sampler euler takes no option "eta"; its options: ancestral$/],
    [{ sampler: 'ddim', options: { eta: 2 } }, 'options.eta', /^option eta must be a number in 0\.\.1 for sampler ddim \(got 2\)$/],
    [{ sampler: 'ddim', options: { eta: 'high' } }, 'options.eta', /^option eta must be a number in 0\.\.1 for sampler ddim \(got "high"\)$/],
    [{ sampler: 'score-sde', options: { snr: 0 } }, 'options.snr', /^option snr must be a number > 0 and <= 1 for sampler score-sde \(got 0\)$/],
    [{ sampler: 'score-sde', options: { predictor: 'heun' } }, 'options.predictor', /one of reverse_diffusion, euler_maruyama/],
    // The old top-level shorthand is gone: options are the sampler's, under options.
    [{ sampler: 'ddim', eta: 0.5 }, 'eta', /eta/],
    [{ colour: 'red' }, 'colour', /colour/],
  ])('rejects %j with a ValidationError naming %s', (input, field, message) => {
    let error: unknown;
    try {
      engine.validate(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect((error as ValidationError).message).toMatch(message);
  });

  it('noise demo: grid, animation and reconstruction; rejects bad timesteps', async () => {
    const image = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#808080' } }).png().toBuffer();
    const demo = await engine.noiseDemo({ model: 'tiny', image, seed: 5, timesteps: [0, 500, 999], denoiseFrom: 400 });
    expect(demo.timesteps).toEqual([0, 500, 999]);
    expect(demo.frames).toHaveLength(3);
    expect((await sharp(demo.gif, { animated: true }).metadata()).pages).toBe(3);
    expect((await sharp(demo.reconstructionPng!).metadata()).width).toBe(8);
    // The deterministic counterpart: DDIM inversion's x_t at the 50-step schedule's timestep at or below each
    // asked one (every 20th), decoded back from 400 as the stochastic reconstruction is.
    expect(demo.ddim!.timesteps).toEqual([0, 500, 980]);
    expect(demo.ddim!.frames).toHaveLength(3);
    expect((await sharp(demo.ddim!.reconstructionPng).metadata()).width).toBe(8);
    // Two rows of three frames and a reconstruction, 64 px cells (8 px x 8) with 4 px gaps.
    expect(await sharp(demo.gridPng).metadata()).toMatchObject({ width: 4 + 4 * (64 + 4), height: 4 + 2 * (64 + 16 + 4) });
    const plain = await engine.noiseDemo({ model: 'tiny', image, seed: 5, timesteps: [0, 500, 999] });
    expect(plain.ddim).toBeUndefined();
    expect((await sharp(plain.gridPng).metadata()).height).toBe(4 + 64 + 16 + 4);
    // t=0 keeps the image almost unchanged: gray 128 -> x_0 ~ 0.0039, plus sqrt(1e-4) * noise.
    for (const v of demo.frames[0]!.data) expect(Math.abs(v - 128)).toBeLessThanOrEqual(5);
    await expect(engine.noiseDemo({ model: 'tiny', seed: 1, timesteps: [1000] })).rejects.toThrow(/0..999/);
    await expect(engine.noiseDemo({ model: 'tiny', seed: 1, image: Buffer.from('nope') })).rejects.toThrow(/not an image/);
  });
});
