/**
 * DDIM inversion (the optional `inverse` capability) against diffusers' DDIMInverseScheduler equations:
 * with n steps and r = T // n, the model is evaluated at t on the sample at the noise level of t - r (abar = 1
 * below 0 with set_alpha_to_one), and x_next = sqrt(abar_t) x0_pred + sqrt(1 - abar_t) eps (eq. 12 at eta 0).
 * Then the round trip on a denoiser whose eps is exact (gaussian-denoiser.ts).
 */
import { describe, expect, it } from 'vitest';
import ddim from '../../plugins/ddim/index.ts';
import ddpm from '../../plugins/ddpm/index.ts';
import dpmSolver from '../../plugins/dpm-solver/index.ts';
import euler from '../../plugins/euler/index.ts';
import scoreSde from '../../plugins/score-sde/index.ts';
import { OptionError } from '../../src/core/sampler.ts';
import { ABAR, CONFIG, roundTrip } from './gaussian-denoiser.ts';

const SHAPE = [1, 1, 1, 3];
const X = [0.3, -1.2, 0.8];
const EPS = [0.5, -0.4, 1.1];
const t3 = (values: number[]) => ({ data: Float32Array.from(values), shape: SHAPE });

function inverseOf(steps: number, config: Record<string, unknown> = CONFIG, options = {}) {
  const sampler = ddim.create(config, ddim.options.parse(options));
  sampler.setTimesteps(steps);
  return { sampler, inverse: sampler.inverse!() };
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol = 2e-6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `element ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e))));
}

describe('ddim inverse step (DDIMInverseScheduler)', () => {
  it('visits the DDIM timesteps in ascending order: leading and trailing', () => {
    expect(inverseOf(10).inverse.timesteps).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    // trailing: np.round(np.arange(1000, 0, -100)[::-1]) - 1
    expect(inverseOf(10, { ...CONFIG, timestep_spacing: 'trailing' }).inverse.timesteps).toEqual([99, 199, 299, 399, 499, 599, 699, 799, 899, 999]);
    // leading with steps_offset 1: np.arange(0, 4) * 250 + 1
    expect(inverseOf(4, { ...CONFIG, steps_offset: 1 }).inverse.timesteps).toEqual([1, 251, 501, 751]);
  });

  it('first step: from the clean sample (abar = 1) to timestep 0', () => {
    const { inverse } = inverseOf(10);
    const out = inverse.step(t3(EPS), 0, t3(X));
    const a = ABAR[0]!;
    expectClose(out.nextSample.data, X.map((x, i) => Math.sqrt(a) * x + Math.sqrt(1 - a) * EPS[i]!));
    expectClose(out.predOriginalSample.data, X);
  });

  it('a middle step: from the noise level of t - T // n to t', () => {
    const { inverse } = inverseOf(10);
    const out = inverse.step(t3(EPS), 300, t3(X));
    const [from, to] = [ABAR[200]!, ABAR[300]!];
    const x0 = X.map((x, i) => (x - Math.sqrt(1 - from) * EPS[i]!) / Math.sqrt(from));
    expectClose(out.predOriginalSample.data, x0);
    expectClose(out.nextSample.data, x0.map((v, i) => Math.sqrt(to) * v + Math.sqrt(1 - to) * EPS[i]!));
  });

  it('clamps the predicted x_0 with clip_sample, as the inverse scheduler does', () => {
    const { inverse } = inverseOf(10, { ...CONFIG, clip_sample: true });
    const out = inverse.step(t3([0, 0, 0]), 0, t3([1.5, -2, 0.5]));
    expect(Array.from(out.predOriginalSample.data)).toEqual([1, -1, 0.5]);
  });

  it('does not modify its inputs', () => {
    const { inverse } = inverseOf(10);
    const [eps, x] = [t3(EPS), t3(X)];
    inverse.step(eps, 500, x);
    expect(Array.from(eps.data)).toEqual(Array.from(Float32Array.from(EPS)));
    expect(Array.from(x.data)).toEqual(Array.from(Float32Array.from(X)));
  });

  it('refuses eta > 0 naming the option, linspace spacing, and use before setTimesteps', () => {
    const stochastic = ddim.create(CONFIG, ddim.options.parse({ eta: 0.5 }));
    stochastic.setTimesteps(10);
    expect(() => stochastic.inverse!()).toThrow(OptionError);
    expect(() => stochastic.inverse!()).toThrow(/eta/);
    expect(() => inverseOf(10, { ...CONFIG, timestep_spacing: 'linspace' })).toThrow(/linspace/);
    expect(() => ddim.create(CONFIG, ddim.options.parse({})).inverse!()).toThrow(/setTimesteps/);
  });

  it('is a capability only ddim has among the shipped samplers (the stochastic ones cannot invert)', () => {
    for (const plugin of [ddpm, dpmSolver, euler, scoreSde]) {
      expect(plugin.create(CONFIG, plugin.options.parse({})).inverse, plugin.name).toBeUndefined();
    }
  });
});

describe('DDIM inversion then generation on a denoiser with the exact eps (Gaussian data)', () => {
  // Measured (docs/inversion.md): max |x_0' - x_0| falls about as 1/n (0.072 at 50 steps, 0.0036 at 1000),
  // the first-order error of evaluating eps one step behind, as diffusers' inversion does.
  it.each([
    [10, 0.35],
    [50, 0.075],
    [200, 0.019],
    [1000, 0.004],
  ])('%i steps reproduce x_0 within %f', async (steps, tolerance) => {
    const r = await roundTrip(steps);
    expect(r.reconstructionError).toBeLessThan(tolerance);
  });

  it('the latent tends to the exact ODE solution and the reconstruction error shrinks as steps grow', async () => {
    const runs = await Promise.all([5, 10, 20, 50, 100, 200, 500, 1000].map((n) => roundTrip(n)));
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]!.reconstructionError).toBeLessThan(runs[i - 1]!.reconstructionError);
      expect(runs[i]!.latentError).toBeLessThan(runs[i - 1]!.latentError);
    }
    expect(runs[runs.length - 1]!.latentError).toBeLessThan(2e-3);
  });
});
