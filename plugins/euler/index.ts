/**
 * Euler (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models", Alg. 1
 * without churn) following diffusers' EulerDiscreteScheduler; with the `ancestral` option, diffusers'
 * EulerAncestralDiscreteScheduler (k-diffusion's sample_euler_ancestral).
 *
 * A DDPM model's x_t = sqrt(abar) x0 + sqrt(1 - abar) eps is rewritten as x = x_t / sqrt(abar) = x0 + sigma eps with
 * sigma = sqrt((1 - abar) / abar): the sampler walks x down the sigmas and hands the model x / sqrt(sigma^2 + 1)
 * (scaleModelInput). One step: x0 = x - sigma eps, d = (x - x0) / sigma, x' = x + d (sigma' - sigma). Ancestral:
 * sigma_up = sqrt(sigma'^2 (sigma^2 - sigma'^2) / sigma^2), sigma_down = sqrt(sigma'^2 - sigma_up^2),
 * x' = x + d (sigma_down - sigma) + sigma_up z.
 *
 * Arithmetic follows diffusers' float32 tensors op by op (Math.fround), sigmas and timesteps as diffusers
 * builds them (numpy float64 interpolation, stored float32).
 */
import { z } from 'zod';
import {
  checkStepCount,
  checkStepInputs,
  commonConfigShape,
  linspaceFloat32,
  type NoiseSource,
  npArange,
  npLinspace,
  parseConfig,
  roundHalfEven,
  type Sampler,
  type SamplerPlugin,
  scheduleFromConfig,
  type SchedulerConfig,
  type StepLimits,
  type StepOutput,
  type Tensor,
  unsupportedFlag,
} from '../../src/plugin-api.ts';

const NAME = 'euler';
const f = Math.fround;

/**
 * EulerDiscreteScheduler's config keys with its defaults. diffusers' Euler schedulers have no thresholding or
 * clipping, so those keys of a DDPM config are ignored here as from_config ignores them.
 */
export const eulerConfigSchema = z
  .object(commonConfigShape({ timestepSpacing: 'linspace' }))
  .omit({ thresholding: true, dynamic_thresholding_ratio: true, sample_max_value: true })
  .extend({
    interpolation_type: z.enum(['linear', 'log_linear']).default('linear'),
    use_karras_sigmas: z.boolean().nullish().transform((v) => v === true),
    use_exponential_sigmas: unsupportedFlag(),
    use_beta_sigmas: unsupportedFlag(),
    sigma_min: z.number().positive().nullish(),
    sigma_max: z.number().positive().nullish(),
    // "continuous" only changes anything with v_prediction (EDM-style timesteps 0.25 log sigma): refused there.
    timestep_type: z.enum(['discrete', 'continuous']).default('discrete'),
    final_sigmas_type: z.enum(['zero', 'sigma_min']).default('zero'),
  })
  .refine((c) => !(c.timestep_type === 'continuous' && c.prediction_type === 'v_prediction'), {
    message: 'timestep_type "continuous" with v_prediction is not supported',
    path: ['timestep_type'],
  });
export type EulerConfig = z.output<typeof eulerConfigSchema>;

const options = z
  .object({
    /**
     * Ancestral sampling (EulerAncestralDiscreteScheduler): each step goes down to sigma_down and adds fresh
     * noise sigma_up z (one randn per step). That scheduler has no Karras / log-linear sigmas and always ends
     * at sigma 0, so with it those config keys are ignored, as its from_config ignores them.
     */
    ancestral: z
      .boolean()
      .default(false)
      .describe('ancestral sampling (EulerAncestralDiscreteScheduler): fresh noise every step'),
  })
  .strict();
export type EulerOptions = z.output<typeof options>;

function stepLimits(numTrainTimesteps: number): StepLimits {
  return { min: 1, max: numTrainTimesteps, default: Math.min(50, numTrainTimesteps) };
}

export interface EulerSchedule {
  /** float32 timesteps handed to the model, descending (fractional for linspace spacing and Karras sigmas). */
  readonly timesteps: number[];
  /** float32 sigmas, sigmas[i] for timesteps[i]; at least one more at the end (the sigma the last step goes to). */
  readonly sigmas: Float32Array;
}

/** np.interp(x, arange(len(fp)), fp) for one x: linear between neighbours, clamped at both ends. */
function interp(x: number, fp: ArrayLike<number>): number {
  const last = fp.length - 1;
  if (x <= 0) return fp[0]!;
  if (x >= last) return fp[last]!;
  const j = Math.floor(x);
  const slope = fp[j + 1]! - fp[j]!;
  return slope * (x - j) + fp[j]!;
}

/** diffusers' _sigma_to_t: the fractional training step whose log-sigma interpolates log(sigma). */
function sigmaToT(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // the last index whose log-sigma is <= log(sigma) (0 when there is none), at most len - 2
  let low = 0;
  for (let j = 0; j < logSigmas.length; j++) if (logSigma - logSigmas[j]! >= 0) low = j;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low]!;
  const hi = logSigmas[low + 1]!;
  const w = Math.min(Math.max((lo - logSigma) / (lo - hi), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/**
 * Karras et al. 2022 eq. 5: sigma_i = (sigma_max^(1/rho) + i / (n - 1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,
 * rho = 7, i = 0..n-1 (diffusers' _convert_to_karras, float64).
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7): number[] {
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return npLinspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

export class EulerSampler implements Sampler {
  readonly config: EulerConfig;
  readonly ancestral: boolean;
  /** ((1 - abar) / abar) ** 0.5 per training step, float32 as torch computes it. */
  private readonly trainSigmas: Float32Array;
  private schedule: EulerSchedule = { timesteps: [], sigmas: new Float32Array(0) };
  private stepIndex: number | null = null;

  constructor(config: SchedulerConfig, opts: EulerOptions) {
    this.config = parseConfig(NAME, eulerConfigSchema, config);
    this.ancestral = opts.ancestral;
    if (this.ancestral && this.config.prediction_type === 'sample') {
      throw new Error(`${NAME}: invalid scheduler config: prediction_type: "sample" is not supported with ancestral (diffusers raises)`);
    }
    // the betas keys are the common ones; the thresholding keys Euler does not have play no part there
    const abar = scheduleFromConfig(NAME, { ...this.config, thresholding: false, dynamic_thresholding_ratio: 0.995, sample_max_value: 1 }).alphasCumprod;
    this.trainSigmas = abar.map((a) => f(Math.sqrt(f(f(1 - a) / a))));
  }

  get timesteps(): readonly number[] {
    return this.schedule.timesteps;
  }

  get sigmas(): Float32Array {
    return this.schedule.sigmas;
  }

  /** diffusers' init_noise_sigma: max sigma for linspace / trailing spacing, sqrt(max^2 + 1) for leading. */
  get initNoiseSigma(): number {
    let max = 0;
    for (const s of this.schedule.sigmas) max = Math.max(max, s);
    return this.config.timestep_spacing === 'leading' ? f(Math.sqrt(f(f(max * max) + 1))) : max;
  }

  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.num_train_timesteps;
    checkStepCount(NAME, numInferenceSteps, stepLimits(T));
    const schedule = this.ancestral ? this.ancestralSchedule(numInferenceSteps) : this.eulerSchedule(numInferenceSteps);
    schedule.timesteps.forEach((t) => {
      if (!(t >= 0 && t <= T - 1)) {
        throw new Error(`${NAME}: ${numInferenceSteps} inference steps give timestep ${t}, outside 0..${T - 1} (check steps_offset)`);
      }
    });
    this.schedule = schedule;
    this.stepIndex = null;
  }

  /** The spacing's timesteps in float32, before any are dropped (trailing can end at -1, see plugins/README.md). */
  private spacedTimesteps(n: number): number[] {
    const c = this.config;
    const T = c.num_train_timesteps;
    switch (c.timestep_spacing) {
      case 'linspace':
        return npLinspace(0, T - 1, n).map(f).reverse();
      case 'leading': {
        const ratio = Math.floor(T / n);
        return Array.from({ length: n }, (_, i) => f(roundHalfEven(i * ratio) + c.steps_offset)).reverse();
      }
      case 'trailing':
        return npArange(T, 0, -(T / n)).map((t) => f(roundHalfEven(t) - 1));
    }
  }

  private eulerSchedule(n: number): EulerSchedule {
    const c = this.config;
    const raw = this.spacedTimesteps(n);
    let timesteps = raw.filter((t) => t >= 0);
    let sigmas: number[];
    if (c.interpolation_type === 'linear') {
      // Karras takes its ends from these, diffusers' -1 (clamped to sigma_0) included
      sigmas = raw.map((t) => interp(t, this.trainSigmas));
    } else {
      // torch.linspace(log sigma_max, log sigma_min, n + 1).exp() in float32, whatever the timesteps (n + 1 values)
      const logs = linspaceFloat32(f(Math.log(this.trainSigmas[this.trainSigmas.length - 1]!)), f(Math.log(this.trainSigmas[0]!)), n + 1);
      sigmas = Array.from(logs, (v) => f(Math.exp(v)));
    }
    if (c.use_karras_sigmas) {
      const sigmaMin = c.sigma_min ?? sigmas[sigmas.length - 1]!;
      const sigmaMax = c.sigma_max ?? sigmas[0]!;
      sigmas = karrasSigmas(sigmaMin, sigmaMax, n);
      const logSigmas = this.trainSigmas.map((s) => f(Math.log(s)));
      timesteps = sigmas.map((s) => f(sigmaToT(s, logSigmas)));
    } else if (c.interpolation_type === 'linear') {
      sigmas = sigmas.filter((_, i) => raw[i]! >= 0);
    }
    const last = c.final_sigmas_type === 'zero' ? 0 : this.trainSigmas[0]!;
    return { timesteps, sigmas: Float32Array.from([...sigmas, last]) };
  }

  /** EulerAncestralDiscreteScheduler.set_timesteps: linear interpolation, final sigma 0. */
  private ancestralSchedule(n: number): EulerSchedule {
    const timesteps = this.spacedTimesteps(n).filter((t) => t >= 0);
    const sigmas = timesteps.map((t) => interp(t, this.trainSigmas));
    return { timesteps, sigmas: Float32Array.from([...sigmas, 0]) };
  }

  /** The step index for timestep t: the running counter, started as diffusers' index_for_timestep does. */
  private indexFor(t: number): number {
    const steps = this.schedule.timesteps;
    if (steps.length === 0) throw new Error(`${NAME}: call setTimesteps before step`);
    if (this.stepIndex === null) {
      const hits = steps.flatMap((s, i) => (s === t ? [i] : []));
      if (hits.length === 0) throw new Error(`${NAME}: timestep ${t} is not one of this schedule's timesteps`);
      this.stepIndex = hits.length > 1 ? hits[1]! : hits[0]!;
    }
    const index = this.stepIndex;
    if (index >= steps.length) throw new Error(`${NAME}: all ${steps.length} steps are done; call setTimesteps to sample again`);
    if (steps[index] !== t) throw new Error(`${NAME}: step ${index} expects timestep ${steps[index]}, got ${t}`);
    return index;
  }

  /** x / sqrt(sigma^2 + 1): the DDPM x_t the model was trained on. */
  scaleModelInput(sample: Tensor, t: number): Tensor {
    const sigma = this.schedule.sigmas[this.indexFor(t)]!;
    const scale = f(Math.sqrt(f(f(sigma * sigma) + 1)));
    return { data: sample.data.map((v) => v / scale), shape: [...sample.shape] };
  }

  step(modelOutput: Tensor, t: number, sample: Tensor, rng: NoiseSource): StepOutput {
    const index = this.indexFor(t);
    const n = checkStepInputs(NAME, modelOutput, sample);
    const sigma = this.schedule.sigmas[index]!;
    const sigmaNext = this.schedule.sigmas[index + 1]!;
    const x = sample.data;
    const x0 = this.predictX0(modelOutput.data, x, sigma, n);
    const prev = new Float32Array(n);
    if (!this.ancestral) {
      // churn 0: sigma_hat = sigma
      const dt = f(sigmaNext - sigma);
      for (let i = 0; i < n; i++) prev[i] = x[i]! + f(f(f(x[i]! - x0[i]!) / sigma) * dt);
    } else {
      const from2 = f(sigma * sigma);
      const to2 = f(sigmaNext * sigmaNext);
      const sigmaUp = f(Math.sqrt(f(f(to2 * f(from2 - to2)) / from2)));
      // >= 0 in exact arithmetic (sigma'^4 / sigma^2); float32 rounding must not make it NaN
      const sigmaDown = f(Math.sqrt(Math.max(0, f(to2 - f(sigmaUp * sigmaUp)))));
      const dt = f(sigmaDown - sigma);
      for (let i = 0; i < n; i++) prev[i] = x[i]! + f(f(f(x[i]! - x0[i]!) / sigma) * dt);
      const noise = rng.randn(modelOutput.shape);
      for (let i = 0; i < n; i++) prev[i] = prev[i]! + f(noise[i]! * sigmaUp);
    }
    this.stepIndex = index + 1;
    return { prevSample: { data: prev, shape: [...sample.shape] }, predOriginalSample: { data: x0, shape: [...sample.shape] } };
  }

  private predictX0(out: Float32Array, x: Float32Array, sigma: number, n: number): Float32Array {
    const x0 = new Float32Array(n);
    switch (this.config.prediction_type) {
      case 'epsilon':
        for (let i = 0; i < n; i++) x0[i] = x[i]! - f(sigma * out[i]!);
        break;
      case 'sample':
        x0.set(out);
        break;
      case 'v_prediction': {
        // x0 = v * (-sigma / sqrt(sigma^2 + 1)) + x / (sigma^2 + 1)
        const s2p1 = f(f(sigma * sigma) + 1);
        const cOut = f(-sigma / f(Math.sqrt(s2p1)));
        for (let i = 0; i < n; i++) x0[i] = f(out[i]! * cOut) + f(x[i]! / s2p1);
        break;
      }
    }
    return x0;
  }
}

const plugin: SamplerPlugin<EulerOptions> = {
  name: NAME,
  description: 'Euler (Karras et al. 2022, EDM): deterministic, Karras sigmas optional; ancestral option',
  options,
  stepLimits,
  create(config: SchedulerConfig, opts: EulerOptions): Sampler {
    return new EulerSampler(config, options.parse(opts ?? {}));
  },
};

export default plugin;
