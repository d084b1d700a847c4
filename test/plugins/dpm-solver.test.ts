/**
 * DPM-Solver++ (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
 * Models") by hand. With alpha_t = sqrt(abar_t), sigma_t = sqrt(1 - abar_t), lambda_t = log(alpha_t / sigma_t)
 * and the data prediction x0(x_t, t), the exact solution of the diffusion ODE is (their eq. 8)
 *   x_t = (sigma_t / sigma_s) x_s + sigma_t * integral_{lambda_s}^{lambda_t} e^lambda x0(lambda) d lambda.
 * DPM-Solver++(1):  x_t = (sigma_t / sigma_s) x_s - alpha_t (e^{-h} - 1) x0_s,  h = lambda_t - lambda_s.
 * DPM-Solver++(2M) (Alg. 2): r = h_prev / h, D = (1 + 1/(2r)) x0_{s0} - 1/(2r) x0_{s1},
 *   x_t = (sigma_t / sigma_s0) x_s0 - alpha_t (e^{-h} - 1) D.
 */
import { describe, expect, it } from 'vitest';
import ddim from '../../plugins/ddim/index.ts';
import dpmSolver, { DpmSolverSampler } from '../../plugins/dpm-solver/index.ts';
import type { NoiseSource } from '../../src/core/rng.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import type { Tensor } from '../../src/core/tensor.ts';

class KnownNoise implements NoiseSource {
  readonly shapes: number[][] = [];
  private next = 0;
  randn(shape: readonly number[]): Float32Array {
    this.shapes.push([...shape]);
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < out.length; i++) out[i] = Math.sin(1.3 * this.next++);
    return out;
  }
}

const noNoise: NoiseSource = {
  randn() {
    throw new Error('DPM-Solver++ must not draw noise');
  },
};

const s = makeSchedule('linear', 1000, 0.0001, 0.02);
const abar = (t: number) => s.alphasCumprod[t]!;
const alpha = (t: number) => Math.sqrt(abar(t));
const sigma = (t: number) => Math.sqrt(1 - abar(t));
const lambda = (t: number) => Math.log(alpha(t) / sigma(t));
const SHAPE = [1, 1, 2, 3];
const X = [0.3, -1.2, 0.8, 2.0, -0.1, 0.05];
const EPS1 = [0.5, -0.4, 1.1, -0.7, 0.2, 0.9];
const EPS2 = [-0.3, 0.6, 0.1, 0.4, -1.0, 0.25];
const t4 = (values: ArrayLike<number>): Tensor => ({ data: Float32Array.from(values), shape: SHAPE });

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(expected[i]!)),
    );
  }
}

const x0FromEps = (t: number, x: ArrayLike<number>, eps: number[]) =>
  Array.from(x, (xi, i) => (xi - sigma(t) * eps[i]!) / alpha(t));

function create(config: Record<string, unknown>, n: number) {
  const sampler = dpmSolver.create(config, {});
  sampler.setTimesteps(n);
  return sampler;
}

describe('DPM-Solver++(1) is DDIM (eta = 0) in data-prediction form', () => {
  it('t = 999 -> 949: x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps, x0 unclipped', () => {
    const sampler = create({ solver_order: 1 }, 20);
    expect(sampler.timesteps.slice(0, 2)).toEqual([999, 949]);
    const out = sampler.step(t4(EPS1), 999, t4(X), noNoise);
    const x0 = x0FromEps(999, X, EPS1);
    expect(Math.max(...x0.map(Math.abs))).toBeGreaterThan(1); // DPM-Solver does not clip
    expectClose(out.predOriginalSample.data, x0, 2e-5);
    expectClose(
      out.prevSample.data,
      x0.map((x0i, i) => Math.sqrt(abar(949)) * x0i + Math.sqrt(1 - abar(949)) * EPS1[i]!),
    );
  });
});

describe('DPM-Solver++(2M)', () => {
  const run = (solver_type: string) => {
    const sampler = create({ solver_type }, 20);
    const first = sampler.step(t4(EPS1), 999, t4(X), noNoise);
    const second = sampler.step(t4(EPS2), 949, first.prevSample, noNoise);
    return { first, second };
  };

  it('midpoint: the first step is first order, the second is Alg. 2 with r = h_prev / h', () => {
    const { first, second } = run('midpoint');
    const x0a = x0FromEps(999, X, EPS1);
    const h1 = lambda(949) - lambda(999);
    const x1 = X.map((x, i) => (sigma(949) / sigma(999)) * x - alpha(949) * (Math.exp(-h1) - 1) * x0a[i]!);
    expectClose(first.prevSample.data, x1);

    const x0b = x0FromEps(949, first.prevSample.data, EPS2);
    const h2 = lambda(899) - lambda(949);
    const r = h1 / h2;
    const D = x0b.map((b, i) => (1 + 1 / (2 * r)) * b - (1 / (2 * r)) * x0a[i]!);
    const x2 = Array.from(first.prevSample.data, (x, i) => (sigma(899) / sigma(949)) * x - alpha(899) * (Math.exp(-h2) - 1) * D[i]!);
    expectClose(second.predOriginalSample.data, x0b);
    expectClose(second.prevSample.data, x2);
  });

  it('heun: the D1 term integrates a linear-in-lambda x0 exactly, coefficient alpha_t (h - 1 + e^{-h}) / h_prev', () => {
    const { first, second } = run('heun');
    const x0a = x0FromEps(999, X, EPS1);
    const x0b = x0FromEps(949, first.prevSample.data, EPS2);
    const h1 = lambda(949) - lambda(999);
    const h2 = lambda(899) - lambda(949);
    const x2 = Array.from(
      first.prevSample.data,
      (x, i) =>
        (sigma(899) / sigma(949)) * x +
        alpha(899) * (1 - Math.exp(-h2)) * x0b[i]! +
        (alpha(899) * (h2 - 1 + Math.exp(-h2)) * (x0b[i]! - x0a[i]!)) / h1,
    );
    expectClose(second.prevSample.data, x2);
    expect(Math.abs(second.prevSample.data[0]! - run('midpoint').second.prevSample.data[0]!)).toBeGreaterThan(1e-6);
  });
});

/**
 * Orders against the exact ODE solution: with prediction_type "sample" the model output is x0 itself. For
 * x0(lambda) = A + B lambda the integral is exact in closed form,
 *   sigma_t [e^lambda (A + B (lambda - 1))]_{lambda_s}^{lambda_t}, with sigma_t e^{lambda_t} = alpha_t,
 * and multistep solvers with an exact first derivative (heun 2M, 3M) must reproduce it.
 */
describe('exactness on a data prediction linear in lambda', () => {
  const A = [0.4, -0.7, 0.1, 0.9, -0.2, 0.0];
  const B = [0.05, 0.1, -0.08, 0.02, 0.0, -0.03];
  const model = (t: number) => t4(A.map((a, i) => a + B[i]! * lambda(t)));
  const exactStep = (s0: number, t: number, x: ArrayLike<number>) =>
    Array.from(x, (xi, i) => {
      const F = (u: number) => A[i]! + B[i]! * (u - 1);
      return (sigma(t) / sigma(s0)) * xi + alpha(t) * F(lambda(t)) - ((sigma(t) * alpha(s0)) / sigma(s0)) * F(lambda(s0));
    });

  for (const [config, exactFrom] of [
    [{ solver_order: 2, solver_type: 'heun' }, 1],
    [{ solver_order: 3 }, 1],
    [{ solver_order: 2, solver_type: 'midpoint' }, Infinity],
    [{ solver_order: 1 }, Infinity],
  ] as const) {
    it(`${JSON.stringify(config)}: ${exactFrom === Infinity ? 'not exact' : 'exact once two x0 values are known'}`, () => {
      const sampler = create({ ...config, prediction_type: 'sample', final_sigmas_type: 'sigma_min' }, 20);
      const ts = sampler.timesteps;
      let x: Tensor = t4(X);
      let maxErr = 0;
      for (let k = 0; k < ts.length - 1; k++) {
        const out = sampler.step(model(ts[k]!), ts[k]!, x, noNoise);
        const expected = exactStep(ts[k]!, ts[k + 1]!, x.data);
        if (k >= exactFrom) expectClose(out.prevSample.data, expected, 2e-5);
        maxErr = Math.max(maxErr, ...expected.map((e, i) => Math.abs(e - out.prevSample.data[i]!)));
        x = out.prevSample;
      }
      if (exactFrom === Infinity) expect(maxErr).toBeGreaterThan(1e-4);
    });
  }
});

describe('order schedule (warm-up, lower_order_final)', () => {
  /**
   * With x0(lambda) = C lambda^2 the multistep differences are known exactly: D1 = h f'(lambda_s0),
   * D2 = h^2 f''/2, so each order's update is a closed form. Returns which order explains each step.
   */
  function ordersUsed(config: Record<string, unknown>, n: number): number[] {
    const C = [0.5, -0.3, 0.4, 0.2, -0.5, 0.3];
    const sampler = create({ ...config, prediction_type: 'sample' }, n);
    const ts = [...sampler.timesteps];
    const sigmaAt = (k: number) => (k < ts.length ? sigma(ts[k]!) : config.final_sigmas_type === 'sigma_min' ? sigma(0) : 0);
    const alphaAt = (k: number) => (k < ts.length ? alpha(ts[k]!) : config.final_sigmas_type === 'sigma_min' ? alpha(0) : 1);
    const lambdaAt = (k: number) => Math.log(alphaAt(k) / sigmaAt(k));
    const f = (k: number, i: number) => C[i]! * lambdaAt(k) ** 2;
    let x: Tensor = t4(X);
    const orders: number[] = [];
    for (let k = 0; k < ts.length; k++) {
      const out = sampler.step(t4(C.map((_, i) => f(k, i))), ts[k]!, x, noNoise);
      const h = lambdaAt(k + 1) - lambdaAt(k);
      const em1 = Math.exp(-h) - 1;
      const candidates = [1, 2, 3].map((order) =>
        Array.from(x.data, (xi, i) => {
          const base = (sigmaAt(k + 1) / sigmaAt(k)) * xi - alphaAt(k + 1) * em1 * f(k, i);
          if (order === 1) return base;
          const h0 = lambdaAt(k) - lambdaAt(k - 1);
          if (order === 2) return base - 0.5 * alphaAt(k + 1) * em1 * (h / h0) * (f(k, i) - f(k - 1, i)); // midpoint D1
          const D1 = h * 2 * C[i]! * lambdaAt(k);
          const D2 = h * h * C[i]!;
          return base + alphaAt(k + 1) * (em1 / h + 1) * D1 - alphaAt(k + 1) * ((em1 + h) / (h * h) - 0.5) * D2;
        }),
      );
      const errs = candidates.map((c, o) => {
        if (o > k) return Infinity; // needs o earlier x0 values
        const e = Math.max(...c.map((v, i) => Math.abs(v - out.prevSample.data[i]!)));
        return Number.isNaN(e) ? Infinity : e;
      });
      const best = errs.indexOf(Math.min(...errs));
      expect(errs[best]!).toBeLessThan(2e-6);
      // and no other order explains the step as well: the candidates are told apart
      for (const [o, e] of errs.entries()) if (o !== best && e !== Infinity) expect(e).toBeGreaterThan(5e-5);
      orders.push(best + 1);
      x = out.prevSample;
    }
    return orders;
  }

  it('order 3, 5 steps (< 15): 1, 2, 3, then 2 on the second-to-last and 1 on the last', () => {
    expect(ordersUsed({ solver_order: 3 }, 5)).toEqual([1, 2, 3, 2, 1]);
  });

  it('order 3, 16 steps (>= 15): third order up to the last step, which is first order for a final sigma of 0', () => {
    expect(ordersUsed({ solver_order: 3 }, 16)).toEqual([1, 2, ...Array<number>(13).fill(3), 1]);
  });

  it('order 2 with final sigma_min, 16 steps: no lower-order final step', () => {
    expect(ordersUsed({ solver_order: 2, final_sigmas_type: 'sigma_min' }, 16)).toEqual([1, ...Array<number>(15).fill(2)]);
  });

  it('euler_at_final forces a first-order last step even with sigma_min', () => {
    expect(ordersUsed({ solver_order: 2, final_sigmas_type: 'sigma_min', euler_at_final: true }, 16).at(-1)).toBe(1);
  });
});

describe('final step', () => {
  it('final sigma 0 returns the data prediction exactly (no NaN from lambda = +inf)', () => {
    const sampler = create({}, 5);
    let x: Tensor = t4(X);
    const eps = [EPS1, EPS2, EPS1, EPS2, EPS1];
    let last = null;
    for (const [k, t] of sampler.timesteps.entries()) {
      last = sampler.step(t4(eps[k]!), t, x, noNoise);
      x = last.prevSample;
    }
    expect(Array.from(last!.prevSample.data)).toEqual(Array.from(last!.predOriginalSample.data));
    expect(last!.prevSample.data.every(Number.isFinite)).toBe(true);
  });

  it('final_sigmas_type sigma_min ends at sigma = sqrt((1 - abar_0) / abar_0): a DDIM step to abar_0', () => {
    const sampler = create({ final_sigmas_type: 'sigma_min', solver_order: 1 }, 5);
    const t = sampler.timesteps.at(-1)!;
    // step through to the last timestep with any model, then check the last step by hand
    let x: Tensor = t4(X);
    for (const tt of sampler.timesteps.slice(0, -1)) x = sampler.step(t4(EPS1), tt, x, noNoise).prevSample;
    const out = sampler.step(t4(EPS2), t, x, noNoise);
    const x0 = x0FromEps(t, x.data, EPS2);
    expectClose(out.prevSample.data, x0.map((x0i, i) => Math.sqrt(abar(0)) * x0i + Math.sqrt(1 - abar(0)) * EPS2[i]!));
  });
});

describe('state and misuse', () => {
  it('setTimesteps resets the multistep history: a second run repeats the first', () => {
    const sampler = create({ solver_order: 3 }, 6);
    const runOnce = () => {
      let x: Tensor = t4(X);
      for (const [k, t] of sampler.timesteps.entries()) x = sampler.step(t4(k % 2 ? EPS1 : EPS2), t, x, noNoise).prevSample;
      return Array.from(x.data);
    };
    const a = runOnce();
    sampler.setTimesteps(6);
    expect(runOnce()).toEqual(a);
  });

  it('keeps its multistep history safe from callers that modify the returned x0 (e.g. a preview)', () => {
    const runOnce = (scribble: boolean) => {
      const sampler = create({ solver_order: 3 }, 6);
      let x: Tensor = t4(X);
      for (const [k, t] of sampler.timesteps.entries()) {
        const out = sampler.step(t4(k % 2 ? EPS1 : EPS2), t, x, noNoise);
        if (scribble) out.predOriginalSample.data.fill(0);
        x = out.prevSample;
      }
      return Array.from(x.data);
    };
    expect(runOnce(true)).toEqual(runOnce(false));
  });

  it('rejects an out-of-order timestep and a step past the end', () => {
    const sampler = create({}, 3);
    const [t0, t1, t2] = sampler.timesteps;
    let x = sampler.step(t4(EPS1), t0!, t4(X), noNoise).prevSample;
    expect(() => sampler.step(t4(EPS1), t2!, x, noNoise)).toThrow(/expects timestep/);
    x = sampler.step(t4(EPS1), t1!, x, noNoise).prevSample;
    x = sampler.step(t4(EPS1), t2!, x, noNoise).prevSample;
    expect(() => sampler.step(t4(EPS1), t2!, x, noNoise)).toThrow(/steps are done/);
  });

  it('may start mid-schedule (img2img): the first step takes its index from the timestep it is given', () => {
    const sampler = create({}, 10);
    const [, , t2, t3] = sampler.timesteps;
    const out = sampler.step(t4(EPS1), t2!, t4(X), noNoise);
    // a first-order (DDIM) step t2 -> t3, not a step from the schedule's first sigma
    const x0 = x0FromEps(t2!, X, EPS1);
    expectClose(out.prevSample.data, x0.map((x0i, i) => Math.sqrt(abar(t3!)) * x0i + Math.sqrt(1 - abar(t3!)) * EPS1[i]!));
  });

  it('lambda_min_clipped drops the training steps whose lambda is below it (cosine schedule)', () => {
    const cos = makeSchedule('squaredcos_cap_v2', 1000, 0.0001, 0.02);
    const lam = (t: number) => 0.5 * Math.log(cos.alphasCumprod[t]! / (1 - cos.alphasCumprod[t]!));
    let clipped = 0;
    for (let t = 0; t < 1000; t++) if (lam(t) < -5.1) clipped++;
    expect(clipped).toBeGreaterThan(0);
    const last = 1000 - clipped;
    const sampler = create({ beta_schedule: 'squaredcos_cap_v2', lambda_min_clipped: -5.1 }, 10);
    expect(sampler.timesteps[0]).toBe(last - 1);
    expect(sampler).toBeInstanceOf(DpmSolverSampler);
  });
});

/**
 * SDE-DPM-Solver++ (Lu et al. 2022, sec. 5 / app. B): with h = lambda_t - lambda_s,
 *   first order: x_t = (sigma_t / sigma_s) e^{-h} x_s + alpha_t (1 - e^{-2h}) x0 + sigma_t sqrt(1 - e^{-2h}) z,
 * which is exactly the DDPM posterior sample (eq. 7 mean, beta~ variance), i.e. DDIM at eta = 1: with s the
 * noisier time, e^{-h} = sigma_t alpha_s / (alpha_t sigma_s), so the x_s coefficient is
 * (alpha_s / alpha_t)(sigma_t^2 / sigma_s^2), DDPM's sqrt(alpha_t)(1 - abar_{t-1}) / (1 - abar_t).
 */
describe('SDE-DPM-Solver++', () => {
  it('first order equals DDIM eta = 1 on the same timesteps and noise, step by step', () => {
    const model = (x: Tensor, t: number): Tensor => ({
      data: Float32Array.from(x.data, (v, i) => 0.7 * v + 0.2 * Math.cos(i + t / 50)),
      shape: SHAPE,
    });
    const a = ddim.create({ timestep_spacing: 'trailing', clip_sample: false }, ddim.options.parse({ eta: 1 }));
    const b = dpmSolver.create({ timestep_spacing: 'trailing', solver_order: 1, algorithm_type: 'sde-dpmsolver++' }, {});
    a.setTimesteps(10);
    b.setTimesteps(10);
    const noiseA = new KnownNoise();
    const noiseB = new KnownNoise();
    let xa: Tensor = t4(X);
    let xb: Tensor = t4(X);
    for (const t of a.timesteps) {
      xa = a.step(model(xa, t), t, xa, noiseA).prevSample;
      xb = b.step(model(xb, t), t, xb, noiseB).prevSample;
      expectClose(xb.data, xa.data, 2e-5);
    }
    expect(noiseB.shapes).toEqual(Array(10).fill(SHAPE));
  });

  it('first order by hand: mean of DDPM eq. 7 plus the posterior std times z', () => {
    const sampler = create({ algorithm_type: 'sde-dpmsolver++', solver_order: 1 }, 20);
    const noise = new KnownNoise();
    const out = sampler.step(t4(EPS1), 999, t4(X), noise);
    const z = Array.from({ length: 6 }, (_, i) => Math.sin(1.3 * i));
    const x0 = x0FromEps(999, X, EPS1);
    const beta = 1 - abar(999) / abar(949);
    const mean = X.map(
      (x, i) =>
        (Math.sqrt(abar(949)) * beta * x0[i]!) / (1 - abar(999)) + (Math.sqrt(1 - beta) * (1 - abar(949)) * x) / (1 - abar(999)),
    );
    const std = Math.sqrt(((1 - abar(949)) / (1 - abar(999))) * beta);
    expectClose(out.prevSample.data, mean.map((m, i) => m + std * z[i]!));
  });

  it('second order (midpoint): adds alpha_t (1 - e^{-2h}) D1 / 2 with D1 = (m0 - m1) / r0', () => {
    const sampler = create({ algorithm_type: 'sde-dpmsolver++' }, 20);
    const noise = new KnownNoise();
    const first = sampler.step(t4(EPS1), 999, t4(X), noise);
    const second = sampler.step(t4(EPS2), 949, first.prevSample, noise);
    const z = Array.from({ length: 6 }, (_, i) => Math.sin(1.3 * (6 + i)));
    const m1 = x0FromEps(999, X, EPS1);
    const m0 = x0FromEps(949, first.prevSample.data, EPS2);
    const h = lambda(899) - lambda(949);
    const r0 = (lambda(949) - lambda(999)) / h;
    const e2 = 1 - Math.exp(-2 * h);
    const expected = Array.from(
      first.prevSample.data,
      (x, i) =>
        (sigma(899) / sigma(949)) * Math.exp(-h) * x +
        alpha(899) * e2 * m0[i]! +
        0.5 * alpha(899) * e2 * ((m0[i]! - m1[i]!) / r0) +
        sigma(899) * Math.sqrt(e2) * z[i]!,
    );
    expectClose(second.prevSample.data, expected);
  });

  it('heun: exact in its deterministic part for a data prediction linear in lambda', () => {
    // 2 alpha_t int_{lambda_s}^{lambda_t} e^{-2(lambda_t - l)} (A + B l) dl
    //   = alpha_t [(1 - e^{-2h}) (A + B lambda_s) + B (h - (1 - e^{-2h}) / 2)]
    const A = [0.4, -0.7, 0.1, 0.9, -0.2, 0.0];
    const B = [0.05, 0.1, -0.08, 0.02, 0.0, -0.03];
    const errors = (solver_type: string) => {
      const sampler = create(
        { algorithm_type: 'sde-dpmsolver++', solver_type, prediction_type: 'sample', final_sigmas_type: 'sigma_min' },
        20,
      );
      const ts = sampler.timesteps;
      const noise = new KnownNoise();
      let drawn = 0;
      let x: Tensor = t4(X);
      const errs: number[] = [];
      for (let k = 0; k < ts.length - 1; k++) {
        const [s0, t] = [ts[k]!, ts[k + 1]!];
        const out = sampler.step(t4(A.map((a, i) => a + B[i]! * lambda(s0))), s0, x, noise);
        const h = lambda(t) - lambda(s0);
        const e2 = 1 - Math.exp(-2 * h);
        const expected = Array.from(x.data, (xi, i) => {
          const z = Math.sin(1.3 * (drawn + i));
          const mean = alpha(t) * (e2 * (A[i]! + B[i]! * lambda(s0)) + B[i]! * (h - e2 / 2));
          return (sigma(t) / sigma(s0)) * Math.exp(-h) * xi + mean + sigma(t) * Math.sqrt(e2) * z;
        });
        drawn += 6;
        if (k >= 1) errs.push(Math.max(...expected.map((e, i) => Math.abs(e - out.prevSample.data[i]!))));
        x = out.prevSample;
      }
      return Math.max(...errs);
    };
    expect(errors('heun')).toBeLessThan(2e-5);
    expect(errors('midpoint')).toBeGreaterThan(1e-4);
  });

  it('refuses third order, whose diffusers formula is inconsistent (see the plugin)', () => {
    expect(() => create({ algorithm_type: 'sde-dpmsolver++', solver_order: 3 }, 5)).toThrow(/solver_order: 3/);
  });

  it('draws noise at every step and still ends exactly on the last x0 at sigma 0', () => {
    const sampler = create({ algorithm_type: 'sde-dpmsolver++', solver_order: 2 }, 5);
    const noise = new KnownNoise();
    let x: Tensor = t4(X);
    let last = null;
    for (const t of sampler.timesteps) {
      last = sampler.step(t4(EPS1), t, x, noise);
      x = last.prevSample;
    }
    expect(noise.shapes).toHaveLength(5);
    expect(Array.from(last!.prevSample.data)).toEqual(Array.from(last!.predOriginalSample.data));
  });
});

describe('DPM-Solver config', () => {
  it('rejects what it does not implement, naming the key', () => {
    expect(() => dpmSolver.create({ algorithm_type: 'sde-dpmsolver' }, {})).toThrow(/algorithm_type/);
    expect(() => dpmSolver.create({ algorithm_type: 'dpmsolver' }, {})).toThrow(/algorithm_type/);
    expect(() => dpmSolver.create({ use_karras_sigmas: true }, {})).toThrow(/use_karras_sigmas/);
    expect(() => dpmSolver.create({ solver_order: 4 }, {})).toThrow(/solver_order/);
    expect(() => dpmSolver.create({ solver_type: 'rk4' }, {})).toThrow(/solver_type/);
    expect(() => dpmSolver.create({ variance_type: 'learned_range' }, {})).toThrow(/variance_type/);
    expect(() => dpmSolver.create({ final_sigmas_type: 'sigma_max' }, {})).toThrow(/final_sigmas_type/);
  });

  it('accepts what diffusers maps onto what it implements', () => {
    const deis = dpmSolver.create({ algorithm_type: 'deis', solver_type: 'bh2' }, {}) as DpmSolverSampler;
    expect(deis.config.algorithm_type).toBe('dpmsolver++');
    expect(deis.config.solver_type).toBe('midpoint');
    // a DDPM config's variance_type means nothing to DPMSolverMultistepScheduler
    expect(() => dpmSolver.create({ variance_type: 'fixed_small' }, {})).not.toThrow();
    expect(() => dpmSolver.create({ variance_type: null }, {})).not.toThrow();
  });

  it('has no per-request options', () => {
    expect(dpmSolver.options.parse({})).toEqual({});
    expect(() => dpmSolver.options.parse({ eta: 0 })).toThrow();
  });
});
