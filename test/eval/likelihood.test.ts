import { describe, expect, it } from 'vitest';
import { TorchGenerator } from '../../src/core/rng.ts';
import { makeBetasFloat64 } from '../../src/core/schedule.ts';
import type { Tensor } from '../../src/core/tensor.ts';
import { variationalBoundBpd } from '../../src/eval/likelihood.ts';

const T = 1000;
const betas = makeBetasFloat64('linear', T, 1e-4, 0.02);
const alphasCumprod = betas.map(((product) => (b: number) => (product *= 1 - b))(1));
// A one-point data set: every image is this x_0, so the exact noise predictor is known in closed form.
const pixels = [0, 255, 128, 64];
const x0: Tensor = { data: Float32Array.from(pixels, (p) => p / 127.5 - 1), shape: [1, 1, 2, 2] };

/** Predicts eps exactly for the one-point data set: eps = (x_t - sqrt(abar_t) x_0) / sqrt(1 - abar_t). */
const oracle = {
  async predict(sample: Tensor, t: number): Promise<Tensor> {
    const abar = alphasCumprod[t]!;
    return { data: sample.data.map((v, i) => (v - Math.sqrt(abar) * x0.data[i]!) / Math.sqrt(1 - abar)), shape: sample.shape };
  },
};

/** Phi as in the DDPM reference code. */
const cdf = (x: number) => 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

describe('variational bound in bits/dim (DDPM eq. 5)', () => {
  it('is only the decoder and prior terms for an exact denoiser, as derived by hand', async () => {
    const terms = await variationalBoundBpd(oracle, betas, 'fixed_small', x0, new TorchGenerator(1));
    // Independent derivation in double from the betas: with exact x_0 the model mean equals the
    // posterior mean and (fixed_small) the variances match, so every L_{t-1}, t >= 2, is 0 up to
    // float32 round-off of x_t. At t = 1 the decoder mean is x_0 itself and its variance is the
    // posterior variance at index 1 (the reference code's clipped log variance).
    const beta = (i: number) => 1e-4 + ((0.02 - 1e-4) * i) / (T - 1);
    const abar1 = (1 - beta(0)) * (1 - beta(1));
    const sigma = Math.sqrt((beta(1) * (1 - (1 - beta(0)))) / (1 - abar1));
    const half = 1 / 255 / sigma;
    const perPixel = pixels.map((p) =>
      p === 0 ? cdf(half) : p === 255 ? 1 - cdf(-half) : cdf(half) - cdf(-half),
    );
    const decoderBits = perPixel.reduce((s, m) => s - Math.log2(m), 0) / 4;
    let abarT = 1;
    for (let i = 0; i < T; i++) abarT *= 1 - beta(i);
    const priorBits =
      x0.data.reduce((s, x) => s + 0.5 * (-1 - Math.log(1 - abarT) + (1 - abarT) + abarT * x * x), 0) / 4 / Math.LN2;
    expect(terms.decoderBpd[0]).toBeCloseTo(decoderBits, 5);
    expect(terms.priorBpd[0]).toBeCloseTo(priorBits, 6);
    expect(terms.totalBpd[0]! - decoderBits - priorBits).toBeLessThan(0.01);
  });

  it('is far larger for a model that predicts no noise at all', async () => {
    const silent = { predict: async (sample: Tensor) => ({ data: new Float32Array(sample.data.length), shape: sample.shape }) };
    const good = await variationalBoundBpd(oracle, betas, 'fixed_small', x0, new TorchGenerator(2));
    const bad = await variationalBoundBpd(silent, betas, 'fixed_small', x0, new TorchGenerator(2));
    expect(bad.totalBpd[0]).toBeGreaterThan(good.totalBpd[0]! + 5);
  });
});
