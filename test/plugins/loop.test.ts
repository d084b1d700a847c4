/**
 * End to end: a fake model that knows the answer. For a fixed x0*, the exact noise prediction at (x_t, t)
 * is eps = (x_t - sqrt(abar_t) x0*) / sqrt(1 - abar_t) (DDPM eq. 4 solved for eps), so every sampler's x0
 * estimate is x0* and a correct timestep / coefficient chain must land on x0* at the end.
 */
import { describe, expect, it } from 'vitest';
import ddim from '../../plugins/ddim/index.ts';
import ddpm from '../../plugins/ddpm/index.ts';
import dpmSolver from '../../plugins/dpm-solver/index.ts';
import euler, { EulerSampler } from '../../plugins/euler/index.ts';
import scoreSde from '../../plugins/score-sde/index.ts';
import type { Sampler, SamplerPlugin, StepOutput } from '../../src/core/sampler.ts';
import { TorchGenerator, type NoiseSource } from '../../src/core/rng.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import type { Tensor } from '../../src/core/tensor.ts';

const SHAPE = [2, 3, 4, 4];
const N = 96;
const linear = makeSchedule('linear', 1000, 0.0001, 0.02).alphasCumprod;
const cosine = makeSchedule('squaredcos_cap_v2', 1000, 0.0001, 0.02).alphasCumprod;
// a smooth "image" in [-0.9, 0.9]
const X0 = Float32Array.from({ length: N }, (_, i) => 0.9 * Math.sin(0.37 * i + 0.5));

type Prediction = 'epsilon' | 'v_prediction' | 'sample';
function oracle(prediction: Prediction, alphasCumprod = linear) {
  return (x: Tensor, t: number): Tensor => {
    const a = alphasCumprod[t]!;
    const data = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const eps = (x.data[i]! - Math.sqrt(a) * X0[i]!) / Math.sqrt(1 - a);
      data[i] = prediction === 'epsilon' ? eps : prediction === 'sample' ? X0[i]! : Math.sqrt(a) * eps - Math.sqrt(1 - a) * X0[i]!;
    }
    return { data, shape: SHAPE };
  };
}

/** The engine's loop (src/engine/pipeline.ts `denoise`), synchronously: initNoiseSigma, scaleModelInput, evaluateAgain. */
function sample(sampler: Sampler, model: (x: Tensor, t: number) => Tensor, rng: NoiseSource, n: number): Float32Array {
  sampler.setTimesteps(n);
  const sigma = Math.fround(sampler.initNoiseSigma ?? 1);
  let x: Tensor = { data: new TorchGenerator(7).randn(SHAPE).map((v) => v * sigma), shape: SHAPE };
  for (const t of sampler.timesteps) {
    let out: StepOutput;
    do {
      out = sampler.step(model(sampler.scaleModelInput?.(x, t) ?? x, t), t, x, rng);
      x = out.prevSample;
    } while (out.evaluateAgain === true);
  }
  return x.data;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function run(plugin: SamplerPlugin, config: Record<string, unknown>, options: Record<string, unknown>, n: number, prediction: Prediction = 'epsilon') {
  const sampler = plugin.create({ ...config, prediction_type: prediction }, plugin.options.parse(options));
  const schedule = config.beta_schedule === 'squaredcos_cap_v2' ? cosine : linear;
  return sample(sampler, oracle(prediction, schedule), new TorchGenerator(42), n);
}

describe('recovering x0 with an exact model', () => {
  for (const [config, n] of [
    [{}, 50],
    [{}, 1],
    [{ timestep_spacing: 'trailing' }, 10],
    [{ timestep_spacing: 'linspace' }, 7],
    [{ steps_offset: 1 }, 20],
    [{ beta_schedule: 'squaredcos_cap_v2' }, 25],
  ] as const) {
    it(`DDIM eta 0, ${JSON.stringify(config)}, ${n} steps`, () => {
      const out = run(ddim, config, {}, n);
      // squaredcos' noisiest step has abar ~ 1e-9; the float32 x0 estimate there is still clipped back to
      // [-1, 1], so later steps recover
      expect(maxAbsDiff(out, X0)).toBeLessThan(2e-6);
    });
  }

  it('DDIM eta 0 with v_prediction and sample prediction', () => {
    expect(maxAbsDiff(run(ddim, {}, {}, 50, 'v_prediction'), X0)).toBeLessThan(2e-6);
    expect(maxAbsDiff(run(ddim, {}, {}, 50, 'sample'), X0)).toBeLessThan(2e-6);
  });

  it('DDIM eta 1 (noise at every step) still ends on x0: the last step to abar = 1 has sigma 0', () => {
    expect(maxAbsDiff(run(ddim, {}, { eta: 1 }, 20), X0)).toBeLessThan(2e-6);
  });

  it('DDPM, full 1000-step chain with torch noise, and 10 strided steps', () => {
    expect(maxAbsDiff(run(ddpm, {}, {}, 1000), X0)).toBeLessThan(2e-6);
    expect(maxAbsDiff(run(ddpm, {}, {}, 10), X0)).toBeLessThan(2e-6);
  });

  for (const [config, n] of [
    [{}, 20],
    [{}, 5],
    [{ solver_order: 1 }, 20],
    [{ solver_order: 3 }, 20],
    [{ solver_order: 3 }, 6],
    [{ solver_type: 'heun' }, 20],
    [{ timestep_spacing: 'leading' }, 15],
    [{ timestep_spacing: 'trailing' }, 25],
    [{ final_sigmas_type: 'sigma_min', lower_order_final: false }, 20],
    [{ beta_schedule: 'squaredcos_cap_v2', lambda_min_clipped: -5.1 }, 20],
    [{ algorithm_type: 'sde-dpmsolver++' }, 20],
    [{ algorithm_type: 'sde-dpmsolver++', solver_type: 'heun' }, 12],
  ] as const) {
    it(`DPM-Solver++ ${JSON.stringify(config)}, ${n} steps`, () => {
      const out = run(dpmSolver, config, {}, n);
      // sigma_min ends one training step short of x0: abar_0 = 1 - 1e-4 leaves sqrt(1e-4) eps
      const tol = 'final_sigmas_type' in config ? 0.05 : 1e-5;
      expect(maxAbsDiff(out, X0)).toBeLessThan(tol);
    });
  }

  it('DPM-Solver++ with v_prediction and sample prediction', () => {
    expect(maxAbsDiff(run(dpmSolver, {}, {}, 20, 'v_prediction'), X0)).toBeLessThan(1e-5);
    expect(maxAbsDiff(run(dpmSolver, {}, {}, 20, 'sample'), X0)).toBeLessThan(1e-5);
  });

  for (const [config, options, n] of [
    [{ timestep_spacing: 'leading' }, {}, 50],
    [{ timestep_spacing: 'leading', steps_offset: 1 }, {}, 20],
    [{ timestep_spacing: 'trailing' }, {}, 10],
    [{ timestep_spacing: 'leading' }, { ancestral: true }, 30],
    [{ timestep_spacing: 'trailing' }, { ancestral: true }, 7],
    [{ timestep_spacing: 'leading', beta_schedule: 'squaredcos_cap_v2' }, {}, 25],
  ] as const) {
    // integer timesteps: the oracle answers for the DDPM x_t the model sees after scaleModelInput
    it(`Euler ${JSON.stringify(options)} ${JSON.stringify(config)}, ${n} steps`, () => {
      expect(maxAbsDiff(run(euler, config, options, n), X0)).toBeLessThan(2e-5);
    });
  }

  it('Euler with v_prediction and sample prediction, plain and ancestral', () => {
    for (const ancestral of [false, true]) {
      expect(maxAbsDiff(run(euler, { timestep_spacing: 'leading' }, { ancestral }, 20, 'v_prediction'), X0)).toBeLessThan(2e-5);
    }
    expect(maxAbsDiff(run(euler, { timestep_spacing: 'leading' }, {}, 20, 'sample'), X0)).toBeLessThan(2e-5);
  });

  for (const [config, n] of [
    [{}, 30],
    [{ use_karras_sigmas: true }, 15],
    [{ use_karras_sigmas: true, timestep_spacing: 'leading' }, 12],
    [{ interpolation_type: 'log_linear' }, 20],
    [{ final_sigmas_type: 'sigma_min' }, 20],
  ] as const) {
    // fractional timesteps: a model exact at the sampler's own sigma for t (x_t = (x0 + sigma eps) / sqrt(sigma^2 + 1))
    it(`Euler with fractional timesteps ${JSON.stringify(config)}, ${n} steps`, () => {
      const sampler = new EulerSampler(config, { ancestral: false });
      sampler.setTimesteps(n);
      const model = (x: Tensor, t: number): Tensor => {
        const s = sampler.sigmas[sampler.timesteps.indexOf(t)]!;
        const a = 1 / (s * s + 1);
        return { data: Float32Array.from(x.data, (v, i) => (v - Math.sqrt(a) * X0[i]!) / Math.sqrt(1 - a)), shape: SHAPE };
      };
      const out = sample(sampler, model, new TorchGenerator(42), n);
      // log_linear's last step goes to sigma_min (n + 1 sigmas for n timesteps), as does sigma_min: x0 + 0.01 eps
      const tol = 'final_sigmas_type' in config || 'interpolation_type' in config ? 0.05 : 2e-5;
      expect(maxAbsDiff(out, X0)).toBeLessThan(tol);
    });
  }

  for (const [options, n, config] of [
    [{}, 1000, {}],
    [{ corrector_steps: 0 }, 1000, {}],
    [{ corrector_steps: 2, snr: 0.1 }, 100, {}],
    [{ predictor: 'euler_maruyama' }, 250, {}],
    [{ probability_flow: true }, 1000, {}],
    [{}, 50, { timestep_spacing: 'trailing' }],
    [{}, 100, { beta_schedule: 'squaredcos_cap_v2' }],
  ] as const) {
    it(`Score SDE ${JSON.stringify(options)} ${JSON.stringify(config)}, ${n} steps`, () => {
      const out = run(scoreSde, config, options, n);
      // the SDE's last step (to the data, beta = 1 - abar_t for the last timestep t) lands on x0 up to O(beta):
      // 1e-4 at t = 0, 6e-3 from trailing's t = 19; the probability flow ODE halves the score term, so it ends
      // with about sqrt(1 - abar_0) / 2 = 0.005 of the last noise left
      const tol = 'probability_flow' in options ? 0.025 : 'timestep_spacing' in config ? 2e-3 : 1e-4;
      expect(maxAbsDiff(out, X0)).toBeLessThan(tol);
    });
  }

  it('Score SDE with v_prediction and sample prediction', () => {
    expect(maxAbsDiff(run(scoreSde, {}, {}, 200, 'v_prediction'), X0)).toBeLessThan(1e-4);
    expect(maxAbsDiff(run(scoreSde, {}, {}, 200, 'sample'), X0)).toBeLessThan(1e-4);
  });

  it('an off-by-one timestep would be caught: a model answering for t + 1 does not land on X0', () => {
    const late = (x: Tensor, t: number) => oracle('epsilon')(x, Math.min(t + 1, 999));
    for (const plugin of [ddim, dpmSolver, scoreSde] as SamplerPlugin[]) {
      const sampler = plugin.create({}, plugin.options.parse({}));
      const err = maxAbsDiff(sample(sampler, late, new TorchGenerator(1), 20), X0);
      expect(err).toBeGreaterThan(1e-3);
    }
  });
});

describe('DPM-Solver++(1) and DDIM (eta 0) are the same sampler on the same timesteps', () => {
  it('trailing, 10 steps, with a model that is not exact: the two chains agree step by step', () => {
    const model = (x: Tensor, t: number): Tensor => ({
      data: Float32Array.from(x.data, (v, i) => 0.8 * v + 0.3 * Math.sin(i + t / 100)),
      shape: SHAPE,
    });
    const a = ddim.create({ timestep_spacing: 'trailing', clip_sample: false }, ddim.options.parse({}));
    const b = dpmSolver.create({ timestep_spacing: 'trailing', solver_order: 1 }, {});
    a.setTimesteps(10);
    b.setTimesteps(10);
    expect(a.timesteps).toEqual(b.timesteps);
    let xa: Tensor = { data: new TorchGenerator(3).randn(SHAPE), shape: SHAPE };
    let xb = xa;
    const rng = new TorchGenerator(0);
    for (const t of a.timesteps) {
      const oa = a.step(model(xa, t), t, xa, rng);
      const ob = b.step(model(xb, t), t, xb, rng);
      const scale = Math.max(...Array.from(oa.prevSample.data, Math.abs));
      expect(maxAbsDiff(oa.prevSample.data, ob.prevSample.data)).toBeLessThan(1e-5 * Math.max(1, scale));
      xa = oa.prevSample;
      xb = ob.prevSample;
    }
  });
});

describe('DDIM (eta 0) is Euler in sigma (DDIM paper eq. 14-15; Karras et al. 2022, Sec. 3)', () => {
  it('leading, 10 steps, a model that is not exact: x_euler = x_ddim / sqrt(abar_t) at every step, same final sample', () => {
    // with xbar = x_t / sqrt(abar_t) and sigma = sqrt((1 - abar_t) / abar_t), DDIM's eq. 12 at eta 0 reads
    // xbar' = xbar + eps (sigma' - sigma): Euler's step, the model seeing xbar / sqrt(sigma^2 + 1) = x_t
    const model = (x: Tensor, t: number): Tensor => ({
      data: Float32Array.from(x.data, (v, i) => 0.8 * v + 0.3 * Math.sin(i + t / 100)),
      shape: SHAPE,
    });
    const a = ddim.create({ timestep_spacing: 'leading', clip_sample: false }, ddim.options.parse({}));
    const b = euler.create({ timestep_spacing: 'leading' }, euler.options.parse({}));
    a.setTimesteps(10);
    b.setTimesteps(10);
    expect(b.timesteps).toEqual(a.timesteps);
    const xT = new TorchGenerator(3).randn(SHAPE);
    let xa: Tensor = { data: xT, shape: SHAPE };
    // Euler's leading init_noise_sigma is sqrt(sigma_max^2 + 1) = 1 / sqrt(abar_900): the same start
    let xb: Tensor = { data: xT.map((v) => v * b.initNoiseSigma!), shape: SHAPE };
    const rng = new TorchGenerator(0);
    for (const [i, t] of a.timesteps.entries()) {
      const inputB = b.scaleModelInput!(xb, t);
      expect(maxAbsDiff(inputB.data, xa.data)).toBeLessThan(2e-5);
      const oa = a.step(model(xa, t), t, xa, rng);
      const ob = b.step(model(inputB, t), t, xb, rng);
      const next = a.timesteps[i + 1];
      const scale = next === undefined ? 1 : Math.sqrt(linear[next]!);
      const scaled = Float32Array.from(ob.prevSample.data, (v) => v * scale);
      expect(maxAbsDiff(scaled, oa.prevSample.data)).toBeLessThan(2e-5);
      xa = oa.prevSample;
      xb = ob.prevSample;
    }
    expect(maxAbsDiff(xb.data, xa.data)).toBeLessThan(2e-5);
  });
});
