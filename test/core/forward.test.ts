import { describe, expect, it } from 'vitest';
import { addNoise } from '../../src/core/forward.ts';
import { TorchGenerator } from '../../src/core/rng.ts';
import { makeSchedule } from '../../src/core/schedule.ts';

const schedule = makeSchedule('linear', 1000, 1e-4, 0.02);

/** abar_t in double straight from DDPM's definition, independent of the float32 schedule code. */
function alphaBar(t: number): number {
  let product = 1;
  for (let i = 0; i <= t; i++) product *= 1 - (1e-4 + ((0.02 - 1e-4) * i) / 999);
  return product;
}

describe('forward process q(x_t | x_0) (DDPM eq. 4)', () => {
  const x0 = { data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.9), shape: [1, 1, 8, 8] };

  it.each([0, 10, 250, 500, 999])('has mean sqrt(abar_t) x_0 and variance 1 - abar_t over many seeds (t=%i)', (t) => {
    const seeds = 4000;
    const sum = new Float64Array(64);
    const sumSq = new Float64Array(64);
    for (let seed = 0; seed < seeds; seed++) {
      const xt = addNoise(schedule, x0, new TorchGenerator(seed).randn(x0.shape), t);
      for (let i = 0; i < 64; i++) {
        sum[i] = sum[i]! + xt.data[i]!;
        sumSq[i] = sumSq[i]! + xt.data[i]! ** 2;
      }
    }
    const abar = alphaBar(t);
    let worstMean = 0;
    let meanVariance = 0;
    for (let i = 0; i < 64; i++) {
      const mean = sum[i]! / seeds;
      worstMean = Math.max(worstMean, Math.abs(mean - Math.sqrt(abar) * x0.data[i]!));
      meanVariance += (sumSq[i]! / seeds - mean * mean) / 64;
    }
    const sd = Math.sqrt(1 - abar);
    // 5 standard errors of a mean over `seeds` draws, and 3% on the pooled variance.
    expect(worstMean).toBeLessThan(5 * (sd / Math.sqrt(seeds)) + 1e-6);
    expect(Math.abs(meanVariance - (1 - abar))).toBeLessThan(0.03 * (1 - abar) + 1e-7);
  });

  it('is x_0 almost unchanged at t=0 and almost pure noise at t=999', () => {
    const noise = new TorchGenerator(1).randn(x0.shape);
    const early = addNoise(schedule, x0, noise, 0);
    const late = addNoise(schedule, x0, noise, 999);
    // 1 - abar_0 is computed in float32 as diffusers does: ~6e-8 absolute error on 1e-4 is ~3e-4 relative.
    expect(Math.abs(early.data[3]! - (Math.sqrt(1 - 1e-4) * x0.data[3]! + Math.sqrt(1e-4) * noise[3]!))).toBeLessThan(1e-5);
    expect(Math.abs(late.data[3]! - noise[3]!)).toBeLessThan(0.01);
  });

  it('rejects timesteps outside the schedule', () => {
    expect(() => addNoise(schedule, x0, new Float32Array(64), 1000)).toThrow(/outside 0..999/);
    expect(() => addNoise(schedule, x0, new Float32Array(64), -1)).toThrow(RangeError);
  });
});
