import { describe, expect, it } from 'vitest';
import { makeBetas, makeSchedule, posteriorVariance, scheduleFromBetas } from '../../src/core/schedule.ts';

/** |a - b| <= rel * |b| (+ a tiny absolute floor for values near 0). */
function expectRel(a: number, b: number, rel: number, abs = 0): void {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.abs(b) + abs);
}

const F32_EPS = 2 ** -23;

describe('linear schedule (DDPM: beta_1 = 1e-4 .. beta_T = 0.02, T = 1000)', () => {
  const T = 1000;
  const s = makeSchedule('linear', T, 0.0001, 0.02);
  const beta = (i: number) => 0.0001 + (i * (0.02 - 0.0001)) / (T - 1);

  it('has the exact float32 endpoints and the closed form in between', () => {
    expect(s.betas).toHaveLength(T);
    expect(s.betas[0]).toBe(Math.fround(0.0001));
    expect(s.betas[T - 1]).toBe(Math.fround(0.02));
    for (const i of [1, 250, 499, 500, 501, 998]) expectRel(s.betas[i]!, beta(i), 2 * F32_EPS);
    // midpoint of an even count of points: (beta_499 + beta_500) / 2 = (start + end) / 2
    expectRel((s.betas[499]! + s.betas[500]!) / 2, (0.0001 + 0.02) / 2, 2 * F32_EPS);
  });

  it('alphas = 1 - betas, rounded to float32', () => {
    for (const i of [0, 1, 500, 999]) expect(s.alphas[i]).toBe(Math.fround(1 - s.betas[i]!));
  });

  it('alphas_cumprod is the double product of the float32 alphas, stored float32', () => {
    let acc = 1;
    for (let i = 0; i < T; i++) {
      acc *= s.alphas[i]!;
      expectRel(s.alphasCumprod[i]!, acc, F32_EPS);
    }
  });

  it('alphas_cumprod[999] = prod (1 - beta_i) in exact arithmetic ~= 4.0358e-05', () => {
    let prod = 1;
    for (let i = 0; i < T; i++) prod *= 1 - beta(i);
    expectRel(prod, 4.0358e-5, 1e-4);
    // float32 betas/alphas shift each factor by ~1e-8: a relative drift of at most ~1e-5 over 1000 factors
    expectRel(s.alphasCumprod[T - 1]!, prod, 2e-5);
    expectRel(s.alphasCumprod[0]!, 1 - 0.0001, F32_EPS);
  });

  it('posterior variance is beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t (DDPM eq. 7), 0 at t = 0', () => {
    expect(posteriorVariance(s, 0)).toBe(0);
    const t = 500;
    const expected = ((1 - s.alphasCumprod[t - 1]!) / (1 - s.alphasCumprod[t]!)) * s.betas[t]!;
    expect(posteriorVariance(s, t)).toBeCloseTo(expected, 15);
    expect(posteriorVariance(s, t)).toBeLessThan(s.betas[t]!);
  });
});

describe('scaled_linear schedule (latent diffusion)', () => {
  it('squares a linspace of square roots', () => {
    const T = 1000;
    const b = makeBetas('scaled_linear', T, 0.00085, 0.012);
    const root = (i: number) => Math.sqrt(0.00085) + (i * (Math.sqrt(0.012) - Math.sqrt(0.00085))) / (T - 1);
    for (const i of [0, 1, 333, 500, 998, 999]) expectRel(b[i]!, root(i) ** 2, 4 * F32_EPS);
    // not linear: the midpoint of the squares is below the mean of the endpoints
    expect(b[500]!).toBeLessThan((0.00085 + 0.012) / 2);
  });
});

describe('squaredcos_cap_v2 schedule (Nichol & Dhariwal 2021, eq. 17)', () => {
  const T = 1000;
  const s = makeSchedule('squaredcos_cap_v2', T, 0.0001, 0.02);
  const abar = (t: number) => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;

  it('beta_t = min(1 - abar(t) / abar(t - 1), 0.999)', () => {
    for (const i of [0, 1, 100, 500, 900, 998]) {
      expectRel(s.betas[i]!, Math.min(1 - abar(i + 1) / abar(i), 0.999), F32_EPS);
    }
    // abar(T) = cos(pi/2)^2 ~ 0: the last beta would be 1 and is capped
    expect(s.betas[T - 1]).toBe(Math.fround(0.999));
  });

  it('alphas_cumprod telescopes to abar(t + 1) / abar(0) where no beta is capped', () => {
    for (const t of [0, 10, 250, 500, 750, 900]) expectRel(s.alphasCumprod[t]!, abar(t + 1) / abar(0), 1e-5);
  });
});

describe('trained betas', () => {
  it('scheduleFromBetas takes them as given', () => {
    const s = scheduleFromBetas(Float32Array.from([0.1, 0.2, 0.5]));
    expectRel(s.alphasCumprod[2]!, 0.9 * 0.8 * 0.5, 2 * F32_EPS);
  });
});
