/**
 * DDPM (Ho et al. 2020) by hand: x0 from eq. 15 (x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps), the
 * posterior mean of eq. 7,
 *   mu~(x_t, x0) = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t,
 * and x_{t-1} = mu~ + sigma_t z (Algorithm 2), sigma_t^2 = beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t
 * ("fixed_small") or beta_t ("fixed_large"). With strided timesteps, beta_t = 1 - abar_t / abar_prev.
 */
import { describe, expect, it } from 'vitest';
import ddpm from '../../plugins/ddpm/index.ts';
import type { NoiseSource } from '../../src/core/rng.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import type { Tensor } from '../../src/core/tensor.ts';

/** Hands out known noise (z_i = 0.5 - 0.25 i, then continuing) and records every shape asked for. */
class KnownNoise implements NoiseSource {
  readonly shapes: number[][] = [];
  private next = 0;
  randn(shape: readonly number[]): Float32Array {
    this.shapes.push([...shape]);
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) out[i] = 0.5 - 0.25 * this.next++;
    return out;
  }
}

const T = 1000;
const s = makeSchedule('linear', T, 0.0001, 0.02);
const abar = (t: number) => (t >= 0 ? s.alphasCumprod[t]! : 1);
const SHAPE = [1, 2, 1, 3];
const X_T = [0.3, -1.2, 0.8, 2.0, -0.1, 0.05];
const EPS = [0.5, -0.4, 1.1, -0.7, 0.2, 0.9];
const t4 = (values: number[]): Tensor => ({ data: Float32Array.from(values), shape: SHAPE });

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 2e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(expected[i]!)),
    );
  }
}

const clip = (v: number, r = 1) => Math.min(r, Math.max(-r, v));

/** mu~ of eq. 7 plus sigma z for a step t -> prev with beta_t = 1 - abar_t / abar_prev. */
function handStep(t: number, prev: number, x0: number[], xt: number[], sigma: number, z: number[]): number[] {
  const beta = 1 - abar(t) / abar(prev);
  const alpha = 1 - beta;
  return x0.map(
    (x0i, i) =>
      (Math.sqrt(abar(prev)) * beta * x0i) / (1 - abar(t)) +
      (Math.sqrt(alpha) * (1 - abar(prev)) * xt[i]!) / (1 - abar(t)) +
      sigma * (z[i] ?? 0),
  );
}

const zFirst = (n: number) => Array.from({ length: n }, (_, i) => 0.5 - 0.25 * i);

describe('DDPM step (full 1000-step chain)', () => {
  it('t = 500: eq. 15 x0, eq. 7 mean, sigma^2 = beta~_t, one noise draw shaped like the sample', () => {
    const sampler = ddpm.create({}, {});
    sampler.setTimesteps(1000);
    const noise = new KnownNoise();
    const out = sampler.step(t4(EPS), 500, t4(X_T), noise);

    const x0 = X_T.map((x, i) => clip((x - Math.sqrt(1 - abar(500)) * EPS[i]!) / Math.sqrt(abar(500))));
    // paper quantities straight from the schedule: beta_500 and beta~_500
    const beta = s.betas[500]!;
    const betaTilde = ((1 - abar(499)) / (1 - abar(500))) * beta;
    const mean = X_T.map(
      (x, i) =>
        (Math.sqrt(abar(499)) * beta * x0[i]!) / (1 - abar(500)) + (Math.sqrt(1 - beta) * (1 - abar(499)) * x) / (1 - abar(500)),
    );
    expect(noise.shapes).toEqual([SHAPE]);
    expectClose(out.predOriginalSample.data, x0);
    expectClose(out.prevSample.data, mean.map((m, i) => m + Math.sqrt(betaTilde) * zFirst(6)[i]!), 1e-5);
    expect(out.prevSample.shape).toEqual(SHAPE);
    expect(out.predOriginalSample.shape).toEqual(SHAPE);
  });

  it('clips x0 to [-1, 1] (x_999 with small eps has |x0| >> 1) and uses the clipped x0 in the mean', () => {
    const sampler = ddpm.create({}, {});
    sampler.setTimesteps(1000);
    const out = sampler.step(t4(EPS.map((e) => e * 0.1)), 999, t4(X_T), new KnownNoise());
    const raw = X_T.map((x, i) => (x - Math.sqrt(1 - abar(999)) * EPS[i]! * 0.1) / Math.sqrt(abar(999)));
    expect(Math.max(...raw.map(Math.abs))).toBeGreaterThan(10);
    const x0 = raw.map((v) => clip(v));
    expectClose(out.predOriginalSample.data, x0);
    expectClose(out.prevSample.data, handStep(999, 998, x0, X_T, Math.sqrt(((1 - abar(998)) / (1 - abar(999))) * s.betas[999]!), zFirst(6)), 1e-5);
  });

  it('clip_sample false keeps x0 raw; clip_sample_range 2 clips to [-2, 2]', () => {
    const raw = X_T.map((x, i) => (x - Math.sqrt(1 - abar(999)) * EPS[i]! * 0.1) / Math.sqrt(abar(999)));
    const free = ddpm.create({ clip_sample: false }, {});
    free.setTimesteps(1000);
    expectClose(free.step(t4(EPS.map((e) => e * 0.1)), 999, t4(X_T), new KnownNoise()).predOriginalSample.data, raw);
    const wide = ddpm.create({ clip_sample_range: 2 }, {});
    wide.setTimesteps(1000);
    expectClose(
      wide.step(t4(EPS.map((e) => e * 0.1)), 999, t4(X_T), new KnownNoise()).predOriginalSample.data,
      raw.map((v) => clip(v, 2)),
    );
  });

  it('t = 0 draws no noise and returns x0: sqrt(1) beta_0 / (1 - abar_0) = 1 and (1 - 1) x_t = 0', () => {
    const sampler = ddpm.create({}, {});
    sampler.setTimesteps(1000);
    const noise = new KnownNoise();
    const xt = X_T.map((x) => x * 0.1);
    const out = sampler.step(t4(EPS), 0, t4(xt), noise);
    expect(noise.shapes).toEqual([]);
    const x0 = xt.map((x, i) => clip((x - Math.sqrt(1 - abar(0)) * EPS[i]!) / Math.sqrt(abar(0))));
    expectClose(out.predOriginalSample.data, x0);
    expectClose(out.prevSample.data, x0, 1e-5);
  });

  it('fixed_large uses sigma^2 = beta_t; fixed_small_log / fixed_large_log give the same std as their plain forms', () => {
    const results = (['fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log'] as const).map((variance_type) => {
      const sampler = ddpm.create({ variance_type }, {});
      sampler.setTimesteps(1000);
      return Array.from(sampler.step(t4(EPS), 300, t4(X_T), new KnownNoise()).prevSample.data);
    });
    const x0 = X_T.map((x, i) => clip((x - Math.sqrt(1 - abar(300)) * EPS[i]!) / Math.sqrt(abar(300))));
    const small = Math.sqrt(((1 - abar(299)) / (1 - abar(300))) * s.betas[300]!);
    const large = Math.sqrt(s.betas[300]!);
    expect(large).toBeGreaterThan(small * 1.001);
    expectClose(results[0]!, handStep(300, 299, x0, X_T, small, zFirst(6)), 1e-5);
    expectClose(results[1]!, handStep(300, 299, x0, X_T, small, zFirst(6)), 1e-5);
    expectClose(results[2]!, handStep(300, 299, x0, X_T, large, zFirst(6)), 1e-5);
    expectClose(results[3]!, handStep(300, 299, x0, X_T, large, zFirst(6)), 1e-5);
  });

  it('v_prediction: x0 = sqrt(abar) x_t - sqrt(1 - abar) v; sample: x0 = model output', () => {
    const v = ddpm.create({ prediction_type: 'v_prediction' }, {});
    v.setTimesteps(1000);
    const outV = v.step(t4(EPS), 200, t4(X_T), new KnownNoise());
    const x0v = X_T.map((x, i) => clip(Math.sqrt(abar(200)) * x - Math.sqrt(1 - abar(200)) * EPS[i]!));
    expectClose(outV.predOriginalSample.data, x0v);
    const sigma = Math.sqrt(((1 - abar(199)) / (1 - abar(200))) * s.betas[200]!);
    expectClose(outV.prevSample.data, handStep(200, 199, x0v, X_T, sigma, zFirst(6)), 1e-5);

    const direct = ddpm.create({ prediction_type: 'sample' }, {});
    direct.setTimesteps(1000);
    const outS = direct.step(t4(EPS), 200, t4(X_T), new KnownNoise());
    expectClose(outS.predOriginalSample.data, EPS.map((e) => clip(e)));
  });
});

describe('DDPM step on a strided schedule (n = 10, leading: 900, 800, ..., 0)', () => {
  it('goes to the next listed timestep with beta_t = 1 - abar_t / abar_prev', () => {
    const sampler = ddpm.create({}, {});
    sampler.setTimesteps(10);
    const x0 = X_T.map((x, i) => clip((x - Math.sqrt(1 - abar(900)) * EPS[i]!) / Math.sqrt(abar(900))));
    const beta = 1 - abar(900) / abar(800);
    const sigma = Math.sqrt(((1 - abar(800)) / (1 - abar(900))) * beta);
    const out = sampler.step(t4(EPS), 900, t4(X_T), new KnownNoise());
    expectClose(out.prevSample.data, handStep(900, 800, x0, X_T, sigma, zFirst(6)), 1e-5);
  });

  it('with steps_offset 1 the last step (t = 1) goes to abar = 1 and still draws noise (t > 0)', () => {
    const sampler = ddpm.create({ steps_offset: 1 }, {});
    sampler.setTimesteps(10);
    expect(sampler.timesteps.at(-1)).toBe(1);
    const noise = new KnownNoise();
    const out = sampler.step(t4(EPS), 1, t4(X_T.map((x) => x * 0.1)), noise);
    expect(noise.shapes).toEqual([SHAPE]);
    // beta~ = 0 is clamped to 1e-20: the noise term is 1e-10 z, invisible in float32
    const x0 = X_T.map((x, i) => clip((x * 0.1 - Math.sqrt(1 - abar(1)) * EPS[i]!) / Math.sqrt(abar(1))));
    expectClose(out.prevSample.data, x0, 1e-5);
  });

  it('rejects a timestep that is not scheduled', () => {
    const sampler = ddpm.create({}, {});
    sampler.setTimesteps(10);
    expect(() => sampler.step(t4(EPS), 850, t4(X_T), new KnownNoise())).toThrow(/timestep 850/);
  });
});

describe('DDPM dynamic thresholding (Imagen, Saharia et al. 2022)', () => {
  it('s = the ratio-quantile of |x0| (linear interpolation), clamped to [1, sample_max_value]; x0 = clamp(x0, -s, s) / s', () => {
    const x0 = [0.5, -3, 2, 1, -0.2, 0.1];
    const make = (sample_max_value: number, values = x0) => {
      const sampler = ddpm.create(
        { prediction_type: 'sample', thresholding: true, dynamic_thresholding_ratio: 0.7, sample_max_value },
        {},
      );
      sampler.setTimesteps(1000);
      return sampler.step(t4(values), 0, t4(X_T), new KnownNoise()).predOriginalSample.data;
    };
    // |x0| sorted: 0.1 0.2 0.5 1 2 3; rank 0.7 * 5 = 3.5 -> s = (1 + 2) / 2 = 1.5
    expectClose(make(10), x0.map((v) => clip(v, 1.5) / 1.5));
    // capped by sample_max_value = 1.2
    expectClose(make(1.2), x0.map((v) => clip(v, 1.2) / 1.2));
    // a quantile below 1 is raised to 1: plain clipping, here a no-op
    const small = [0.5, -0.3, 0.2, 0.1, -0.2, 0.1];
    expectClose(make(10, small), small);
  });
});

describe('DDPM config and options', () => {
  it('rejects learned variances and unknown variance types, naming the key', () => {
    expect(() => ddpm.create({ variance_type: 'learned_range' }, {})).toThrow(/variance_type/);
    expect(() => ddpm.create({ variance_type: 'learned' }, {})).toThrow(/variance_type/);
  });

  it('has no per-request options: {} parses, anything else is an error', () => {
    expect(ddpm.options.parse({})).toEqual({});
    expect(() => ddpm.options.parse({ eta: 0.5 })).toThrow();
  });
});
