/**
 * Score SDE predictor-corrector sampling (Song et al. 2021) by the paper's equations, for the VP SDE of a
 * DDPM eps-model (score s = -eps / sqrt(1 - abar_t)), with beta = 1 - abar_t / abar_t' the forward step
 * between visited timesteps (Appendix E's DDPM discretisation; beta_t itself when every step is visited):
 *   reverse diffusion (eq. 47, Alg. 3):  x' = (2 - sqrt(1 - beta)) x + beta s + sqrt(beta) z
 *   Euler-Maruyama of the reverse SDE:   x' = x + beta x / 2 + beta s + sqrt(beta) z
 *   probability flow:                    the same with beta s / 2 and no noise
 *   Langevin corrector (Alg. 3):         eps = 2 alpha (r ||z|| / ||g||)^2, x' = x + eps g + sqrt(2 eps) z
 * and, on data ~ N(mu, sd^2) where the exact score is known, the samples it draws.
 */
import { describe, expect, it } from 'vitest';
import scoreSde, { ScoreSdeSampler } from '../../plugins/score-sde/index.ts';
import { TorchGenerator, type NoiseSource } from '../../src/core/rng.ts';
import type { Sampler, StepOutput } from '../../src/core/sampler.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import type { Tensor } from '../../src/core/tensor.ts';

const s = makeSchedule('linear', 1000, 0.0001, 0.02);
const abar = (t: number) => s.alphasCumprod[t]!;
const SHAPE = [2, 1, 1, 3];
const X = [0.3, -1.2, 0.8, 2.0, -0.1, 0.05];
const EPS = [0.5, -0.4, 1.1, -0.7, 0.2, 0.9];
const t4 = (values: number[], shape = SHAPE): Tensor => ({ data: Float32Array.from(values), shape });

class KnownNoise implements NoiseSource {
  readonly shapes: number[][] = [];
  private next = 0;
  randn(shape: readonly number[]): Float32Array {
    this.shapes.push([...shape]);
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) out[i] = 0.5 - 0.25 * (this.next++ % 7);
    return out;
  }
}
const zAt = (offset: number, n: number) => Array.from({ length: n }, (_, i) => 0.5 - 0.25 * ((offset + i) % 7));

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 2e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(expected[i]!)),
    );
  }
}

function create(options: Record<string, unknown>, config: Record<string, unknown> = {}): ScoreSdeSampler {
  return scoreSde.create(config, scoreSde.options.parse(options)) as ScoreSdeSampler;
}

/** 2 leading steps: timesteps [500, 0]; the step from 500 goes to 0 (beta = 1 - abar_500 / abar_0), then to x0. */
const beta500 = 1 - abar(500) / abar(0);
const score = (t: number, eps = EPS) => eps.map((e) => -e / Math.sqrt(1 - abar(t)));

describe('predictors (corrector_steps 0)', () => {
  it('with every training step visited, beta is the model beta_t (the DDPM discretisation of the VP SDE)', () => {
    const sampler = create({ corrector_steps: 0 });
    sampler.setTimesteps(1000);
    expect(sampler.timesteps[0]).toBe(999);
    for (const t of [999, 500, 1, 0]) expect(sampler.beta(999 - t)).toBeCloseTo(s.betas[t]!, 12);
    // strided: 1 - abar_t / abar_t'
    sampler.setTimesteps(10);
    expect(sampler.beta(0)).toBeCloseTo(1 - abar(900) / abar(800), 6);
    expect(sampler.beta(9)).toBeCloseTo(s.betas[0]!, 12);
  });

  it('reverse diffusion: x\' = (2 - sqrt(1 - beta)) x + beta s + sqrt(beta) z, one randn of the sample shape', () => {
    const sampler = create({ corrector_steps: 0 });
    sampler.setTimesteps(2);
    expect(sampler.timesteps).toEqual([500, 0]);
    const noise = new KnownNoise();
    const out = sampler.step(t4(EPS), 500, t4(X), noise);
    expect(noise.shapes).toEqual([SHAPE]);
    expect(out.evaluateAgain).toBeFalsy();
    const sc = score(500);
    const z = zAt(0, 6);
    expectClose(out.prevSample.data, X.map((x, i) => (2 - Math.sqrt(1 - beta500)) * x + beta500 * sc[i]! + Math.sqrt(beta500) * z[i]!));
    // x0 the prediction implies: (x - sqrt(1 - abar) eps) / sqrt(abar)
    expectClose(out.predOriginalSample.data, X.map((x, i) => (x - Math.sqrt(1 - abar(500)) * EPS[i]!) / Math.sqrt(abar(500))));
  });

  it('Euler-Maruyama: x\' = x + beta x / 2 + beta s + sqrt(beta) z', () => {
    const sampler = create({ corrector_steps: 0, predictor: 'euler_maruyama' });
    sampler.setTimesteps(2);
    const out = sampler.step(t4(EPS), 500, t4(X), new KnownNoise());
    const sc = score(500);
    const z = zAt(0, 6);
    expectClose(out.prevSample.data, X.map((x, i) => x + (beta500 / 2) * x + beta500 * sc[i]! + Math.sqrt(beta500) * z[i]!));
  });

  it('probability flow: beta s / 2 and no noise, for both predictors (and no corrector by default)', () => {
    const sc = score(500);
    for (const predictor of ['reverse_diffusion', 'euler_maruyama'] as const) {
      const sampler = create({ probability_flow: true, predictor });
      expect(sampler.correctorSteps).toBe(0);
      sampler.setTimesteps(2);
      const noise = new KnownNoise();
      const out = sampler.step(t4(EPS), 500, t4(X), noise);
      expect(noise.shapes).toEqual([]);
      const cx = predictor === 'reverse_diffusion' ? 2 - Math.sqrt(1 - beta500) : 1 + beta500 / 2;
      expectClose(out.prevSample.data, X.map((x, i) => cx * x + (beta500 / 2) * sc[i]!));
    }
  });

  it('the last step adds no noise (the sampler returns the predictor mean, as the authors\' "denoise")', () => {
    const sampler = create({ corrector_steps: 0 });
    sampler.setTimesteps(2);
    const noise = new KnownNoise();
    sampler.step(t4(EPS), 500, t4(X), noise);
    const out = sampler.step(t4(EPS), 0, t4(X), noise);
    expect(noise.shapes).toHaveLength(1);
    const b = 1 - abar(0);
    const sc = score(0);
    expectClose(out.prevSample.data, X.map((x, i) => (2 - Math.sqrt(1 - b)) * x + b * sc[i]!));
  });

  it('v_prediction and sample prediction give the update of the eps they imply', () => {
    const a = abar(500);
    const x0 = X.map((x, i) => (x - Math.sqrt(1 - a) * EPS[i]!) / Math.sqrt(a));
    const v = EPS.map((e, i) => Math.sqrt(a) * e - Math.sqrt(1 - a) * x0[i]!);
    const reference = create({ corrector_steps: 0 });
    reference.setTimesteps(2);
    const want = reference.step(t4(EPS), 500, t4(X), new KnownNoise()).prevSample.data;
    for (const [prediction_type, output] of [['v_prediction', v], ['sample', x0]] as const) {
      const sampler = create({ corrector_steps: 0 }, { prediction_type });
      sampler.setTimesteps(2);
      expectClose(sampler.step(t4(output), 500, t4(X), new KnownNoise()).prevSample.data, want, 2e-5);
    }
  });
});

describe('Langevin corrector', () => {
  it('corrector_steps evaluations first, each x\' = x + eps g + sqrt(2 eps) z with eps per image, then the predictor', () => {
    const snr = 0.2;
    const sampler = create({ corrector_steps: 2, snr });
    sampler.setTimesteps(2);
    const noise = new KnownNoise();
    const g = score(500);
    const alpha = 1 - beta500;
    let x = X;
    let drawn = 0;
    for (let k = 0; k < 2; k++) {
      const out = sampler.step(t4(EPS), 500, t4(x), noise);
      expect(out.evaluateAgain).toBe(true);
      const z = zAt(drawn, 6);
      drawn += 6;
      const want: number[] = [];
      for (const image of [[0, 3], [3, 6]]) {
        const [from, to] = image as [number, number];
        const gn = Math.hypot(...g.slice(from, to));
        const zn = Math.hypot(...z.slice(from, to));
        const eps = 2 * alpha * ((snr * zn) / gn) ** 2;
        for (let i = from; i < to; i++) want.push(x[i]! + eps * g[i]! + Math.sqrt(2 * eps) * z[i]!);
      }
      expectClose(out.prevSample.data, want);
      x = want;
    }
    // the third call at t = 500 is the predictor, which finishes the timestep
    const out = sampler.step(t4(EPS), 500, t4(x), noise);
    expect(out.evaluateAgain).toBeFalsy();
    expect(noise.shapes).toEqual([SHAPE, SHAPE, SHAPE]);
    // then t = 0: two corrector steps again, and a last predictor without noise
    expect(sampler.step(t4(EPS), 0, t4(X), noise).evaluateAgain).toBe(true);
    expect(sampler.step(t4(EPS), 0, t4(X), noise).evaluateAgain).toBe(true);
    expect(sampler.step(t4(EPS), 0, t4(X), noise).evaluateAgain).toBeFalsy();
    expect(noise.shapes).toHaveLength(5);
    expect(() => sampler.step(t4(EPS), 0, t4(X), noise)).toThrow(/all 2 steps are done/);
  });

  it('a zero score makes no step (instead of an infinite one)', () => {
    const sampler = create({});
    sampler.setTimesteps(2);
    const out = sampler.step(t4([0, 0, 0, 0, 0, 0]), 500, t4(X), new KnownNoise());
    expectClose(out.prevSample.data, Float32Array.from(X), 0);
  });

  it('inputs are not modified; timesteps must follow the schedule', () => {
    const sampler = create({});
    sampler.setTimesteps(10);
    const x = Float32Array.from(X);
    const e = Float32Array.from(EPS);
    sampler.step({ data: e, shape: SHAPE }, 900, { data: x, shape: SHAPE }, new KnownNoise());
    expect(Array.from(x)).toEqual(Array.from(Float32Array.from(X)));
    expect(Array.from(e)).toEqual(Array.from(Float32Array.from(EPS)));
    expect(() => sampler.step(t4(EPS), 800, t4(X), new KnownNoise())).toThrow(/expects timestep 900/);
  });
});

// ---------------------------------------------------------------------------------------------
// Gaussian data: x0 ~ N(MU, SD^2) per pixel, so p_t = N(sqrt(abar) MU, abar SD^2 + 1 - abar) and the exact
// eps-model is eps = sqrt(1 - abar) (x - sqrt(abar) MU) / (abar SD^2 + 1 - abar).

const MU = 0.3;
const SD = 0.5;
const P = 4096;
const IMAGE = [1, 1, 64, 64];
const varT = (t: number) => abar(t) * SD * SD + 1 - abar(t);

function gaussianModel(x: Tensor, t: number): Tensor {
  const a = abar(t);
  const k = Math.sqrt(1 - a) / varT(t);
  return { data: x.data.map((v) => k * (v - Math.sqrt(a) * MU)), shape: x.shape };
}

/** The engine's loop, synchronously; counts model evaluations. */
function run(sampler: Sampler, n: number, seed: number, start?: Float32Array) {
  sampler.setTimesteps(n);
  const rng = new TorchGenerator(seed);
  let x: Tensor = { data: start ?? rng.randn(IMAGE), shape: IMAGE };
  let evaluations = 0;
  for (const t of sampler.timesteps) {
    let out: StepOutput;
    do {
      evaluations++;
      out = sampler.step(gaussianModel(x, t), t, x, rng);
      x = out.prevSample;
    } while (out.evaluateAgain === true);
  }
  return { x: x.data, evaluations };
}

function moments(data: ArrayLike<number>): { mean: number; sd: number } {
  let m = 0;
  for (let i = 0; i < data.length; i++) m += data[i]!;
  m /= data.length;
  let v = 0;
  for (let i = 0; i < data.length; i++) v += (data[i]! - m) ** 2;
  return { mean: m, sd: Math.sqrt(v / (data.length - 1)) };
}

describe('on Gaussian data with the exact score', () => {
  it('probability flow maps each x_T to the exact flow map mu + sd (x_T - sqrt(abar_T) mu) / sqrt(var_T)', () => {
    // p_t stays Gaussian and the ODE keeps (x - mean_t) / sd_t constant per pixel
    const start = new TorchGenerator(11).randn(IMAGE);
    // first-order steps of size beta_t (up to 0.02): the error is O(sum of beta^2), a few hundredths
    for (const [predictor, n, tol] of [
      ['reverse_diffusion', 1000, 0.05],
      ['euler_maruyama', 1000, 0.05],
      ['reverse_diffusion', 250, 0.15],
    ] as const) {
      const { x } = run(create({ probability_flow: true, predictor }), n, 0, start);
      const exact = Array.from(start, (v) => MU + (SD * (v - Math.sqrt(abar(999)) * MU)) / Math.sqrt(varT(999)));
      let worst = 0;
      for (let i = 0; i < P; i++) worst = Math.max(worst, Math.abs(x[i]! - exact[i]!));
      expect(worst, `${predictor} ${n}`).toBeLessThan(tol);
    }
  });

  for (const [name, options, n] of [
    ['reverse diffusion (P1000)', { corrector_steps: 0 }, 1000],
    ['PC: reverse diffusion + 1 Langevin step (PC1000)', {}, 1000],
    ['Euler-Maruyama + 1 Langevin step', { predictor: 'euler_maruyama' }, 1000],
    ['PC, 2 corrector steps, 100 timesteps', { corrector_steps: 2 }, 100],
  ] as const) {
    it(`${name}: samples have mean mu and sd (4096 pixels, 4 standard errors)`, () => {
      const sampler = create(options);
      const { x, evaluations } = run(sampler, n, 5);
      expect(evaluations).toBe(n * (sampler.correctorSteps + 1));
      const { mean, sd } = moments(x);
      // standard errors: sd / sqrt(P) = 0.0078 for the mean, sd / sqrt(2 P) = 0.0055 for the sd
      expect(Math.abs(mean - MU)).toBeLessThan(0.032);
      expect(Math.abs(sd - SD)).toBeLessThan(0.022);
    });
  }

  it('the corrector alone keeps exact samples of p_t (Langevin dynamics leaves p_t invariant) and pulls others toward it', () => {
    // the corrector runs first at the first timestep (999 with every step visited; alpha = 1 - beta_999)
    const t = 999;
    const target = { mean: Math.sqrt(abar(t)) * MU, sd: Math.sqrt(varT(t)) };
    const z = new TorchGenerator(3).randn(IMAGE);
    const exact: Tensor = { data: z.map((v) => target.mean + target.sd * v), shape: IMAGE };
    const wide: Tensor = { data: z.map((v) => target.mean + 3 * target.sd * v), shape: IMAGE };
    // ULA's stationary variance is v / (1 - eps / 2v) with eps / v ~ 2 snr^2: 1.3 % wide at snr 0.16
    for (const [start, snr, check] of [
      [exact, 0.16, (sd: number) => expect(Math.abs(sd - target.sd)).toBeLessThan(0.03)],
      [wide, 1, (sd: number) => expect(sd).toBeLessThan(2 * target.sd)],
    ] as const) {
      const sampler = create({ corrector_steps: 10, snr });
      sampler.setTimesteps(1000);
      expect(sampler.timesteps[0]).toBe(t);
      const rng = new TorchGenerator(4);
      let x = start;
      for (let k = 0; k < 10; k++) {
        const out = sampler.step(gaussianModel(x, t), t, x, rng);
        expect(out.evaluateAgain).toBe(true);
        x = out.prevSample;
      }
      const m = moments(x.data);
      check(m.sd);
      expect(Math.abs(m.mean - target.mean)).toBeLessThan(0.05);
    }
  });
});

describe('options and config', () => {
  it('defaults: reverse diffusion, 1 corrector step at snr 0.16, the SDE; 1..T steps, default T', () => {
    const parsed = scoreSde.options.parse({});
    expect(parsed).toEqual({ predictor: 'reverse_diffusion', snr: 0.16, probability_flow: false });
    expect(create({}).correctorSteps).toBe(1);
    expect(create({ probability_flow: true, corrector_steps: 1 }).correctorSteps).toBe(1);
    expect(scoreSde.stepLimits(1000)).toEqual({ min: 1, max: 1000, default: 1000 });
  });

  it('refuses bad options and unsupported config, naming the key', () => {
    expect(() => scoreSde.options.parse({ snr: 0 })).toThrow();
    expect(() => scoreSde.options.parse({ corrector_steps: 1.5 })).toThrow();
    expect(() => scoreSde.options.parse({ predictor: 'ancestral' })).toThrow();
    expect(() => scoreSde.options.parse({ eta: 0 })).toThrow();
    expect(() => create({}, { thresholding: true })).toThrow(/thresholding/);
    expect(() => create({}, { rescale_betas_zero_snr: true })).toThrow(/rescale_betas_zero_snr/);
    expect(() => create({}).setTimesteps(1001)).toThrow(/num_inference_steps/);
  });

  it('a DDPM model config works as is (clip_sample, variance_type are DDPM-scheduler keys, ignored)', () => {
    const sampler = create({}, { beta_schedule: 'linear', clip_sample: true, variance_type: 'fixed_small', set_alpha_to_one: true });
    sampler.setTimesteps(50);
    expect(sampler.timesteps[0]).toBe(980);
  });
});
