/**
 * DPM-Solver++ (Lu et al. 2022), multistep, orders 1-3, following diffusers' DPMSolverMultistepScheduler
 * with algorithm_type "dpmsolver++" (data prediction ODE solver, deterministic) or "sde-dpmsolver++"
 * (its SDE counterpart, one noise draw per step) and solver_type "midpoint" or "heun".
 */
import { z } from 'zod';
import {
  checkStepCount,
  checkStepInputs,
  checkTimesteps,
  commonConfigShape,
  dpmSolverTimesteps,
  type NoiseSource,
  parseConfig,
  type Sampler,
  type SamplerPlugin,
  scheduleFromConfig,
  type SchedulerConfig,
  type StepLimits,
  type StepOutput,
  type Tensor,
  thresholdSample,
  unsupportedFlag,
} from '../../src/plugin-api.ts';

const NAME = 'dpm-solver';
const f = Math.fround;

export const dpmSolverConfigSchema = z.object({
  ...commonConfigShape({ timestepSpacing: 'linspace' }),
  solver_order: z.number().int().min(1).max(3).default(2),
  // diffusers maps "deis" to dpmsolver++; the noise-prediction "dpmsolver" / "sde-dpmsolver" variants are not
  // implemented here (diffusers deprecates them).
  algorithm_type: z
    .enum(['dpmsolver++', 'sde-dpmsolver++', 'deis'])
    .default('dpmsolver++')
    .transform((v) => (v === 'sde-dpmsolver++' ? ('sde-dpmsolver++' as const) : ('dpmsolver++' as const))),
  // diffusers maps logrho / bh1 / bh2 (UniPC / DEIS names) to midpoint.
  solver_type: z
    .enum(['midpoint', 'heun', 'logrho', 'bh1', 'bh2'])
    .default('midpoint')
    .transform((v) => (v === 'heun' ? ('heun' as const) : ('midpoint' as const))),
  lower_order_final: z.boolean().default(true),
  euler_at_final: z.boolean().default(false),
  use_karras_sigmas: unsupportedFlag(),
  use_exponential_sigmas: unsupportedFlag(),
  use_beta_sigmas: unsupportedFlag(),
  use_lu_lambdas: unsupportedFlag(),
  use_flow_sigmas: unsupportedFlag(),
  use_dynamic_shifting: unsupportedFlag(),
  final_sigmas_type: z.enum(['zero', 'sigma_min']).default('zero'),
  lambda_min_clipped: z.number().default(-Infinity),
  // Only learned / learned_range change DPMSolverMultistepScheduler (it slices the model output); any other value,
  // e.g. a DDPM config's "fixed_small", is ignored there as here.
  variance_type: z
    .string()
    .nullish()
    .refine((v) => v !== 'learned' && v !== 'learned_range', {
      message: 'learned / learned_range (a model that predicts its variance) is not supported',
    }),
});
export type DpmSolverConfig = z.output<typeof dpmSolverConfigSchema>;

/**
 * diffusers' third-order sde-dpmsolver++ update weights D2 (~ h^2 x0''/2) by alpha_t ((1 - e^{-2h} - 2h) / (2h)^2 - 1/2),
 * which tends to -alpha_t, not to 0, as h -> 0: an O(h^2) error per step that makes it worse than second order.
 * Rather than reproduce that, the combination is refused.
 */
function checkSupported(c: DpmSolverConfig): DpmSolverConfig {
  if (c.algorithm_type === 'sde-dpmsolver++' && c.solver_order === 3) {
    throw new Error(
      `${NAME}: invalid scheduler config: solver_order: 3 is not supported with algorithm_type "sde-dpmsolver++" (use 1 or 2)`,
    );
  }
  return c;
}

const options = z.object({}).strict();
type DpmSolverOptions = z.output<typeof options>;

/** Up to T - 1 steps: linspace(0, T - 1, n + 1) and leading's T // (n + 1) then never repeat a timestep. */
function stepLimits(numTrainTimesteps: number): StepLimits {
  const max = Math.max(1, numTrainTimesteps - 1);
  return { min: 1, max, default: Math.min(20, max) };
}

interface AlphaSigma {
  alpha: number;
  sigma: number;
  lambda: number;
}

/** alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t, lambda_t = log alpha_t - log sigma_t (+inf at sigma 0). */
function alphaSigma(sigma: number): AlphaSigma {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const s = sigma * alpha;
  return { alpha, sigma: s, lambda: Math.log(alpha) - Math.log(s) };
}

export class DpmSolverSampler implements Sampler {
  readonly config: DpmSolverConfig;
  private readonly alphasCumprod: Float32Array;
  private steps: number[] = [];
  /** sigmas[i] belongs to steps[i]; one more at the end (0 or sigma_min). float32, as diffusers stores them. */
  private sigmas: Float32Array = new Float32Array(0);
  private modelOutputs: (Float32Array | null)[] = [];
  private lowerOrderNums = 0;
  private stepIndex: number | null = null;

  constructor(config: SchedulerConfig) {
    this.config = checkSupported(parseConfig(NAME, dpmSolverConfigSchema, config));
    this.alphasCumprod = scheduleFromConfig(NAME, this.config).alphasCumprod;
  }

  get timesteps(): readonly number[] {
    return this.steps;
  }

  /** ((1 - abar) / abar) ** 0.5 in float32 torch arithmetic. */
  private trainSigma(t: number): number {
    const abar = this.alphasCumprod[t]!;
    return f(Math.sqrt(f(f(1 - abar) / abar)));
  }

  /** T less the number of training steps whose lambda(t) is below lambda_min_clipped (torch.searchsorted). */
  private lastTimestep(): number {
    const T = this.config.num_train_timesteps;
    const min = this.config.lambda_min_clipped;
    if (min === -Infinity) return T;
    let below = 0;
    for (let t = 0; t < T; t++) {
      const abar = this.alphasCumprod[t]!;
      const lambda = f(f(Math.log(f(Math.sqrt(abar)))) - f(Math.log(f(Math.sqrt(f(1 - abar))))));
      if (lambda < min) below++;
    }
    return T - below;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const T = c.num_train_timesteps;
    checkStepCount(NAME, numInferenceSteps, stepLimits(T));
    const steps = dpmSolverTimesteps(c.timestep_spacing, T, this.lastTimestep(), numInferenceSteps, c.steps_offset);
    checkTimesteps(NAME, steps, T, numInferenceSteps);
    const sigmas = new Float32Array(steps.length + 1);
    steps.forEach((t, i) => (sigmas[i] = this.trainSigma(t)));
    sigmas[steps.length] = c.final_sigmas_type === 'zero' ? 0 : this.trainSigma(0);
    this.steps = steps;
    this.sigmas = sigmas;
    this.modelOutputs = new Array<Float32Array | null>(c.solver_order).fill(null);
    this.lowerOrderNums = 0;
    this.stepIndex = null;
  }

  /** diffusers' index_for_timestep: the first step starts at t's index (the second one if t repeats). */
  private initStepIndex(t: number): number {
    const hits = this.steps.flatMap((s, i) => (s === t ? [i] : []));
    if (hits.length === 0) return this.steps.length - 1;
    return hits.length > 1 ? hits[1]! : hits[0]!;
  }

  step(modelOutput: Tensor, t: number, sample: Tensor, rng: NoiseSource): StepOutput {
    if (this.steps.length === 0) throw new Error(`${NAME}: call setTimesteps before step`);
    const n = checkStepInputs(NAME, modelOutput, sample);
    const c = this.config;
    if (this.stepIndex === null) this.stepIndex = this.initStepIndex(t);
    const index = this.stepIndex;
    if (index >= this.steps.length) {
      throw new Error(`${NAME}: all ${this.steps.length} steps are done; call setTimesteps to sample again`);
    }
    if (this.steps[index] !== t) {
      throw new Error(`${NAME}: step ${index} expects timestep ${this.steps[index]}, got ${t}`);
    }
    const len = this.steps.length;
    const lowerOrderFinal =
      index === len - 1 && (c.euler_at_final || (c.lower_order_final && len < 15) || c.final_sigmas_type === 'zero');
    const lowerOrderSecond = index === len - 2 && c.lower_order_final && len < 15;

    // convert_model_output: the data prediction x0 (DPM-Solver++ solves the ODE in x0)
    const x0 = this.convertModelOutput(modelOutput, sample, n);
    for (let i = 0; i < c.solver_order - 1; i++) this.modelOutputs[i] = this.modelOutputs[i + 1]!;
    // The history keeps its own copy: callers may do what they like with the predOriginalSample they get.
    this.modelOutputs[c.solver_order - 1] = c.solver_order > 1 ? x0.slice() : x0;

    // SDE variant: one randn of the model output's shape every step, the last included
    const noise = c.algorithm_type === 'sde-dpmsolver++' ? rng.randn(modelOutput.shape) : null;
    let prev: Float32Array;
    if (c.solver_order === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) {
      prev = this.update(1, index, sample.data, noise, n);
    } else if (c.solver_order === 2 || this.lowerOrderNums < 2 || lowerOrderSecond) {
      prev = this.update(2, index, sample.data, noise, n);
    } else {
      prev = this.update(3, index, sample.data, noise, n);
    }
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums++;
    this.stepIndex = index + 1;
    return { prevSample: { data: prev, shape: [...sample.shape] }, predOriginalSample: { data: x0, shape: [...sample.shape] } };
  }

  private convertModelOutput(modelOutput: Tensor, sample: Tensor, n: number): Float32Array {
    const c = this.config;
    const out = modelOutput.data;
    const x = sample.data;
    const x0 = new Float32Array(n);
    const { alpha, sigma } = alphaSigma(this.sigmas[this.stepIndex!]!);
    switch (c.prediction_type) {
      case 'epsilon':
        for (let i = 0; i < n; i++) x0[i] = (x[i]! - sigma * out[i]!) / alpha;
        break;
      case 'sample':
        x0.set(out);
        break;
      case 'v_prediction':
        for (let i = 0; i < n; i++) x0[i] = alpha * x[i]! - sigma * out[i]!;
        break;
    }
    if (c.thresholding) thresholdSample(x0, sample.shape, c.dynamic_thresholding_ratio, c.sample_max_value);
    return x0;
  }

  /**
   * One multistep update of the given order from sigmas[index] to sigmas[index + 1], with m0 the newest x0:
   *   x_t = cx x + c0 D0 + c1 D1 + c2 D2 (+ cn z for the SDE),  D0 = m0,
   * order 2: D1 = (m0 - m1) / r0; order 3: D1 = D1_0 + r0 / (r0 + r1) (D1_0 - D1_1), D2 = (D1_0 - D1_1) / (r0 + r1).
   * ODE (DPM-Solver++): cx = sigma_t / sigma_s, c0 = -alpha_t (e^{-h} - 1); at sigma_t = 0, h = +inf gives x_t = D0.
   * SDE (SDE-DPM-Solver++, orders 1-2): cx = sigma_t / sigma_s e^{-h}, c0 = alpha_t (1 - e^{-2h}),
   * cn = sigma_t sqrt(1 - e^{-2h}).
   */
  private update(order: 1 | 2 | 3, index: number, x: Float32Array, noise: Float32Array | null, n: number): Float32Array {
    const t = alphaSigma(this.sigmas[index + 1]!);
    const s0 = alphaSigma(this.sigmas[index]!);
    const h = t.lambda - s0.lambda;
    const sde = noise !== null;
    const midpoint = this.config.solver_type === 'midpoint';
    let cx: number, c0: number, c1 = 0, c2 = 0, cn = 0;
    if (sde) {
      const em2 = Math.exp(-2 * h);
      cx = (t.sigma / s0.sigma) * Math.exp(-h);
      c0 = t.alpha * (1 - em2);
      cn = t.sigma * Math.sqrt(1 - em2);
      if (order === 2 && midpoint) c1 = 0.5 * t.alpha * (1 - em2);
      else c1 = t.alpha * ((1 - em2) / (-2 * h) + 1);
      // no third order: see checkSupported
    } else {
      const em1 = Math.exp(-h) - 1;
      cx = t.sigma / s0.sigma;
      c0 = -t.alpha * em1;
      if (order === 2 && midpoint) c1 = -0.5 * t.alpha * em1;
      else c1 = t.alpha * (em1 / h + 1);
      c2 = -t.alpha * ((em1 + h) / (h * h) - 0.5);
    }

    const L = this.modelOutputs.length;
    const m0 = this.modelOutputs[L - 1]!;
    const prev = new Float32Array(n);
    if (order === 1) {
      for (let i = 0; i < n; i++) prev[i] = cx * x[i]! + c0 * m0[i]!;
    } else if (order === 2) {
      const m1 = this.modelOutputs[L - 2]!;
      const s1 = alphaSigma(this.sigmas[index - 1]!);
      const r0 = (s0.lambda - s1.lambda) / h;
      const k = c1 / r0;
      for (let i = 0; i < n; i++) prev[i] = cx * x[i]! + c0 * m0[i]! + k * (m0[i]! - m1[i]!);
    } else {
      const m1 = this.modelOutputs[L - 2]!;
      const m2 = this.modelOutputs[L - 3]!;
      const s1 = alphaSigma(this.sigmas[index - 1]!);
      const s2 = alphaSigma(this.sigmas[index - 2]!);
      const r0 = (s0.lambda - s1.lambda) / h;
      const r1 = (s1.lambda - s2.lambda) / h;
      const w = r0 / (r0 + r1);
      for (let i = 0; i < n; i++) {
        const a = m0[i]!;
        const b = m1[i]!;
        const d10 = (a - b) / r0;
        const d11 = (b - m2[i]!) / r1;
        const d2 = (d10 - d11) / (r0 + r1);
        prev[i] = cx * x[i]! + c0 * a + c1 * (d10 + w * (d10 - d11)) + c2 * d2;
      }
    }
    if (noise) for (let i = 0; i < n; i++) prev[i] = prev[i]! + cn * noise[i]!;
    return prev;
  }
}

const plugin: SamplerPlugin<DpmSolverOptions> = {
  name: NAME,
  description: 'DPM-Solver++ (Lu et al. 2022): fast multistep ODE solver, good images in 15-25 steps',
  options,
  stepLimits,
  create(config: SchedulerConfig, opts: DpmSolverOptions): Sampler {
    options.parse(opts ?? {});
    return new DpmSolverSampler(config);
  },
};

export default plugin;
