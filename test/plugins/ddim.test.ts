/**
 * DDIM (Song et al. 2021) by hand. Eq. 12:
 *   x_{t-1} = sqrt(a_{t-1}) (x_t - sqrt(1 - a_t) eps) / sqrt(a_t) + sqrt(1 - a_{t-1} - sigma_t^2) eps + sigma_t z
 * (a = the paper's alpha, i.e. alphas_cumprod), with eq. 16:
 *   sigma_t(eta) = eta sqrt((1 - a_{t-1}) / (1 - a_t)) sqrt(1 - a_t / a_{t-1}).
 */
import { describe, expect, it } from 'vitest';
import ddim from '../../plugins/ddim/index.ts';
import type { NoiseSource } from '../../src/core/rng.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import type { Tensor } from '../../src/core/tensor.ts';

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

const s = makeSchedule('linear', 1000, 0.0001, 0.02);
const a = (t: number) => (t >= 0 ? s.alphasCumprod[t]! : 1);
const SHAPE = [2, 1, 1, 3];
const X_T = [0.3, -1.2, 0.8, 2.0, -0.1, 0.05];
const EPS = [0.5, -0.4, 1.1, -0.7, 0.2, 0.9];
const t4 = (values: number[]): Tensor => ({ data: Float32Array.from(values), shape: SHAPE });
const clip = (v: number, r = 1) => Math.min(r, Math.max(-r, v));
const zFirst = (n: number) => Array.from({ length: n }, (_, i) => 0.5 - 0.25 * i);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 5e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(expected[i]!)),
    );
  }
}

/** Eq. 12 with eq. 16, x0 clipped as diffusers' clip_sample does; eps stays the model's unless told. */
function eq12(t: number, prev: number, xt: number[], eps: number[], eta: number, z: number[], aPrev = a(prev)) {
  const x0 = xt.map((x, i) => clip((x - Math.sqrt(1 - a(t)) * eps[i]!) / Math.sqrt(a(t))));
  const sigma = eta * Math.sqrt((1 - aPrev) / (1 - a(t))) * Math.sqrt(1 - a(t) / aPrev);
  const prevSample = x0.map(
    (x0i, i) => Math.sqrt(aPrev) * x0i + Math.sqrt(1 - aPrev - sigma * sigma) * eps[i]! + sigma * (z[i] ?? 0),
  );
  return { x0, prevSample, sigma };
}

describe('DDIM step', () => {
  it('eta = 0 (default) is eq. 12 without noise and draws nothing: t = 500 -> 400 (n = 10)', () => {
    const sampler = ddim.create({}, ddim.options.parse({}));
    sampler.setTimesteps(10);
    const noise = new KnownNoise();
    const out = sampler.step(t4(EPS), 500, t4(X_T), noise);
    const hand = eq12(500, 400, X_T, EPS, 0, []);
    expect(noise.shapes).toEqual([]);
    expectClose(out.predOriginalSample.data, hand.x0);
    expectClose(out.prevSample.data, hand.prevSample);
  });

  it('eta = 1: sigma_t of eq. 16 (the DDPM posterior std), one noise draw shaped like the sample', () => {
    const sampler = ddim.create({}, ddim.options.parse({ eta: 1 }));
    sampler.setTimesteps(10);
    const noise = new KnownNoise();
    const out = sampler.step(t4(EPS), 500, t4(X_T), noise);
    const hand = eq12(500, 400, X_T, EPS, 1, zFirst(6));
    // eq. 16 at eta = 1 equals sqrt(beta~) with beta = 1 - a_t / a_{t-1}
    expect(hand.sigma).toBeCloseTo(Math.sqrt(((1 - a(400)) / (1 - a(500))) * (1 - a(500) / a(400))), 12);
    expect(noise.shapes).toEqual([SHAPE]);
    expectClose(out.prevSample.data, hand.prevSample);
  });

  it('eta = 0.5 scales sigma by eta', () => {
    const sampler = ddim.create({}, ddim.options.parse({ eta: 0.5 }));
    sampler.setTimesteps(10);
    const out = sampler.step(t4(EPS), 300, t4(X_T), new KnownNoise());
    expectClose(out.prevSample.data, eq12(300, 200, X_T, EPS, 0.5, zFirst(6)).prevSample);
  });

  it('with eta > 0 noise is drawn at every step, the last one included', () => {
    const sampler = ddim.create({}, ddim.options.parse({ eta: 1 }));
    sampler.setTimesteps(5);
    const noise = new KnownNoise();
    let x = t4(X_T);
    for (const t of sampler.timesteps) x = sampler.step(t4(EPS), t, x, noise).prevSample;
    expect(noise.shapes).toEqual([SHAPE, SHAPE, SHAPE, SHAPE, SHAPE]);
  });

  it('last step: set_alpha_to_one (default) uses a_prev = 1, so x_prev = x0; false uses a_0', () => {
    const xt = X_T.map((x) => x * 0.1);
    const one = ddim.create({}, ddim.options.parse({}));
    one.setTimesteps(10);
    const outOne = one.step(t4(EPS), 0, t4(xt), new KnownNoise());
    expectClose(outOne.prevSample.data, eq12(0, -100, xt, EPS, 0, []).x0);

    const notOne = ddim.create({ set_alpha_to_one: false }, ddim.options.parse({}));
    notOne.setTimesteps(10);
    const outA0 = notOne.step(t4(EPS), 0, t4(xt), new KnownNoise());
    const hand = eq12(0, -100, xt, EPS, 0, [], a(0));
    expectClose(outA0.prevSample.data, hand.prevSample);
    // a_0 < 1 leaves a sqrt(1 - a_0) eps = 0.01 eps term in
    expect(Math.abs(outA0.prevSample.data[2]! - outOne.prevSample.data[2]!)).toBeGreaterThan(0.005);
  });

  it('use_clipped_model_output re-derives eps from the clipped x0: eps = (x_t - sqrt(a_t) x0) / sqrt(1 - a_t)', () => {
    // at t = 999, x_t = X_T with a small eps gives |x0| >> 1, so clipping matters
    const eps = EPS.map((e) => e * 0.1);
    const plain = ddim.create({}, ddim.options.parse({}));
    plain.setTimesteps(10);
    const withClip = ddim.create({}, ddim.options.parse({ use_clipped_model_output: true }));
    withClip.setTimesteps(10);
    const t = 900;
    const x0 = X_T.map((x, i) => clip((x - Math.sqrt(1 - a(t)) * eps[i]!) / Math.sqrt(a(t))));
    const epsClipped = X_T.map((x, i) => (x - Math.sqrt(a(t)) * x0[i]!) / Math.sqrt(1 - a(t)));
    const expected = x0.map((x0i, i) => Math.sqrt(a(800)) * x0i + Math.sqrt(1 - a(800)) * epsClipped[i]!);
    expectClose(withClip.step(t4(eps), t, t4(X_T), new KnownNoise()).prevSample.data, expected);
    expectClose(plain.step(t4(eps), t, t4(X_T), new KnownNoise()).prevSample.data, eq12(t, 800, X_T, eps, 0, []).prevSample);
  });

  it('v_prediction: x0 = sqrt(a) x - sqrt(1 - a) v and eps = sqrt(a) v + sqrt(1 - a) x', () => {
    const sampler = ddim.create({ prediction_type: 'v_prediction' }, ddim.options.parse({}));
    sampler.setTimesteps(10);
    const v = EPS;
    const t = 600;
    const x0 = X_T.map((x, i) => clip(Math.sqrt(a(t)) * x - Math.sqrt(1 - a(t)) * v[i]!));
    const eps = X_T.map((x, i) => Math.sqrt(a(t)) * v[i]! + Math.sqrt(1 - a(t)) * x);
    const out = sampler.step(t4(v), t, t4(X_T), new KnownNoise());
    expectClose(out.predOriginalSample.data, x0);
    expectClose(out.prevSample.data, x0.map((x0i, i) => Math.sqrt(a(500)) * x0i + Math.sqrt(1 - a(500)) * eps[i]!));
  });

  it('sample prediction: eps = (x_t - sqrt(a) x0) / sqrt(1 - a) from the unclipped model x0', () => {
    const sampler = ddim.create({ prediction_type: 'sample' }, ddim.options.parse({}));
    sampler.setTimesteps(10);
    const modelX0 = [0.2, -1.5, 0.4, 1.3, 0, -0.6];
    const t = 400;
    const eps = X_T.map((x, i) => (x - Math.sqrt(a(t)) * modelX0[i]!) / Math.sqrt(1 - a(t)));
    const out = sampler.step(t4(modelX0), t, t4(X_T), new KnownNoise());
    expectClose(out.predOriginalSample.data, modelX0.map((v) => clip(v)));
    expectClose(
      out.prevSample.data,
      modelX0.map((m, i) => Math.sqrt(a(300)) * clip(m) + Math.sqrt(1 - a(300)) * eps[i]!),
    );
  });

  it('strides by T // n whatever the spacing: linspace n = 7 steps 832 -> 690, not to the listed 666', () => {
    const sampler = ddim.create({ timestep_spacing: 'linspace' }, ddim.options.parse({}));
    sampler.setTimesteps(7);
    expect(sampler.timesteps).toEqual([999, 832, 666, 500, 333, 166, 0]);
    const out = sampler.step(t4(EPS), 832, t4(X_T), new KnownNoise());
    expectClose(out.prevSample.data, eq12(832, 832 - 142, X_T, EPS, 0, []).prevSample);
  });

  it('refuses to step before setTimesteps', () => {
    const sampler = ddim.create({}, ddim.options.parse({}));
    expect(() => sampler.step(t4(EPS), 500, t4(X_T), new KnownNoise())).toThrow(/setTimesteps/);
  });
});

describe('DDIM options', () => {
  it('defaults to eta 0 with use_clipped_model_output unset', () => {
    expect(ddim.options.parse({})).toEqual({ eta: 0 });
  });

  it('rejects eta outside [0, 1], wrong types and unknown options', () => {
    expect(() => ddim.options.parse({ eta: 1.5 })).toThrow();
    expect(() => ddim.options.parse({ eta: -0.1 })).toThrow();
    expect(() => ddim.options.parse({ eta: '0.5' })).toThrow();
    expect(() => ddim.options.parse({ steps: 10 })).toThrow();
    expect(() => ddim.options.parse({ use_clipped_model_output: 'yes' })).toThrow();
  });
});
