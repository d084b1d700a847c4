/**
 * DDIM (Song et al. 2021), following diffusers' DDIMScheduler: eq. 12 with sigma_t(eta) of eq. 16.
 * Deterministic at eta = 0; eta = 1 is DDPM-like ancestral sampling on the strided schedule.
 */
import { z } from 'zod';
import {
  checkStepCount,
  checkStepInputs,
  checkTimesteps,
  clipOrThreshold,
  commonConfigShape,
  ddpmTimesteps,
  type InverseSampler,
  type NoiseSource,
  OptionError,
  parseConfig,
  type Sampler,
  type SamplerPlugin,
  scheduleFromConfig,
  type SchedulerConfig,
  type StepLimits,
  type StepOutput,
  type Tensor,
} from '../../src/plugin-api.ts';

const NAME = 'ddim';

export const ddimConfigSchema = z.object({
  ...commonConfigShape({ timestepSpacing: 'leading' }),
  clip_sample: z.boolean().default(true),
  clip_sample_range: z.number().positive().default(1.0),
  set_alpha_to_one: z.boolean().default(true),
});
export type DdimConfig = z.output<typeof ddimConfigSchema>;

const options = z
  .object({
    /** Weight of the eq. 16 noise: 0 = deterministic DDIM, 1 = DDPM-like. */
    eta: z.number().min(0).max(1).default(0).describe('noise weight (eq. 16): 0 = deterministic DDIM, 1 = DDPM-like'),
    /** Re-derive epsilon from the clipped x0 (GLIDE); diffusers' DDIMPipeline passes None, i.e. off. */
    use_clipped_model_output: z.boolean().optional().describe('re-derive the noise from the clipped x0 (GLIDE; default off)'),
  })
  .strict();
export type DdimOptions = z.output<typeof options>;

function stepLimits(numTrainTimesteps: number): StepLimits {
  return { min: 1, max: numTrainTimesteps, default: Math.min(50, numTrainTimesteps) };
}

/** x0 and epsilon from the model output at noise level abar (sqrtA = sqrt(abar), sqrtB = sqrt(1 - abar)), new arrays. */
function predictX0AndEpsilon(
  type: DdimConfig['prediction_type'],
  out: Float32Array,
  x: Float32Array,
  sqrtA: number,
  sqrtB: number,
): [Float32Array, Float32Array] {
  const n = x.length;
  const x0 = new Float32Array(n);
  const epsilon = new Float32Array(n);
  switch (type) {
    case 'epsilon':
      for (let i = 0; i < n; i++) x0[i] = (x[i]! - sqrtB * out[i]!) / sqrtA;
      epsilon.set(out);
      break;
    case 'sample':
      x0.set(out);
      for (let i = 0; i < n; i++) epsilon[i] = (x[i]! - sqrtA * x0[i]!) / sqrtB;
      break;
    case 'v_prediction':
      for (let i = 0; i < n; i++) {
        x0[i] = sqrtA * x[i]! - sqrtB * out[i]!;
        epsilon[i] = sqrtA * out[i]! + sqrtB * x[i]!;
      }
      break;
  }
  return [x0, epsilon];
}

export class DdimSampler implements Sampler {
  readonly config: DdimConfig;
  readonly eta: number;
  readonly useClippedModelOutput: boolean;
  private readonly alphasCumprod: Float32Array;
  private readonly finalAlphaCumprod: number;
  private numInferenceSteps: number | null = null;
  private steps: number[];

  constructor(config: SchedulerConfig, opts: DdimOptions) {
    this.config = parseConfig(NAME, ddimConfigSchema, config);
    this.eta = opts.eta;
    this.useClippedModelOutput = opts.use_clipped_model_output ?? false;
    this.alphasCumprod = scheduleFromConfig(NAME, this.config).alphasCumprod;
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0]!;
    this.steps = Array.from({ length: this.config.num_train_timesteps }, (_, i) => this.config.num_train_timesteps - 1 - i);
  }

  get timesteps(): readonly number[] {
    return this.steps;
  }

  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.num_train_timesteps;
    checkStepCount(NAME, numInferenceSteps, stepLimits(T));
    const steps = ddpmTimesteps(this.config.timestep_spacing, T, numInferenceSteps, this.config.steps_offset);
    checkTimesteps(NAME, steps, T, numInferenceSteps);
    this.steps = steps;
    this.numInferenceSteps = numInferenceSteps;
  }

  step(modelOutput: Tensor, t: number, sample: Tensor, rng: NoiseSource): StepOutput {
    if (this.numInferenceSteps === null) throw new Error(`${NAME}: call setTimesteps before step`);
    const n = checkStepInputs(NAME, modelOutput, sample);
    const c = this.config;
    if (!Number.isInteger(t) || t < 0 || t >= c.num_train_timesteps) {
      throw new Error(`${NAME}: timestep ${t} outside 0..${c.num_train_timesteps - 1}`);
    }

    // 1. previous timestep: diffusers strides by T // n whatever the spacing (not the next list entry)
    const prevT = t - Math.floor(c.num_train_timesteps / this.numInferenceSteps);

    // 2. alphas, betas
    const alphaProdT = this.alphasCumprod[t]!;
    const alphaProdPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : this.finalAlphaCumprod;
    const betaProdT = 1 - alphaProdT;
    const betaProdPrev = 1 - alphaProdPrev;
    const sqrtA = Math.sqrt(alphaProdT);
    const sqrtB = Math.sqrt(betaProdT);

    // 3. predicted x0 and epsilon ("predicted x0" of eq. 12)
    const x = sample.data;
    const [x0, epsilon] = predictX0AndEpsilon(c.prediction_type, modelOutput.data, x, sqrtA, sqrtB);

    // 4. clip or threshold x0
    clipOrThreshold(x0, sample.shape, c);

    // 5. sigma_t(eta) of eq. 16
    const variance = (betaProdPrev / betaProdT) * (1 - alphaProdT / alphaProdPrev);
    const std = this.eta * Math.sqrt(variance);
    if (this.useClippedModelOutput) {
      for (let i = 0; i < n; i++) epsilon[i] = (x[i]! - sqrtA * x0[i]!) / sqrtB;
    }

    // 6-7. x_{t-1} = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - sigma^2) eps (+ sigma z)
    const dirCoeff = Math.sqrt(Math.max(0, 1 - alphaProdPrev - std * std));
    const x0Coeff = Math.sqrt(alphaProdPrev);
    const prev = epsilon; // reuse: each element is read before it is overwritten
    if (this.eta > 0) {
      const noise = rng.randn(modelOutput.shape);
      for (let i = 0; i < n; i++) prev[i] = x0Coeff * x0[i]! + dirCoeff * epsilon[i]! + std * noise[i]!;
    } else {
      for (let i = 0; i < n; i++) prev[i] = x0Coeff * x0[i]! + dirCoeff * epsilon[i]!;
    }
    return { prevSample: { data: prev, shape: [...sample.shape] }, predOriginalSample: { data: x0, shape: [...sample.shape] } };
  }

  /**
   * DDIM inversion as diffusers' DDIMInverseScheduler (built from this config) runs it: eq. 12 at eta = 0
   * from the noise level of t - T // n (the initial alpha, 1 with set_alpha_to_one, below 0) up to t's,
   * with the model evaluated at t. Its timesteps are this schedule's in ascending order: for "leading"
   * and "trailing", the only spacings the inverse scheduler has, that is exactly its list.
   */
  inverse(): InverseSampler {
    const c = this.config;
    const n = this.numInferenceSteps;
    if (n === null) throw new Error(`${NAME}: call setTimesteps before inverse`);
    // Inversion follows the ODE; eta > 0 decodes with fresh noise and would not come back to the image.
    if (this.eta > 0) throw new OptionError('eta', `eta: inversion needs deterministic DDIM (eta = 0), got eta = ${this.eta}`);
    if (c.timestep_spacing === 'linspace') {
      throw new Error(`${NAME}: inversion supports timestep_spacing "leading" or "trailing" (DDIMInverseScheduler), not "linspace"`);
    }
    const T = c.num_train_timesteps;
    const alphas = this.alphasCumprod;
    const initial = this.finalAlphaCumprod;
    return {
      timesteps: [...this.steps].reverse(),
      step(modelOutput: Tensor, t: number, sample: Tensor) {
        const count = checkStepInputs(NAME, modelOutput, sample);
        if (!Number.isInteger(t) || t < 0 || t >= T) throw new Error(`${NAME}: timestep ${t} outside 0..${T - 1}`);
        const from = Math.min(t - Math.floor(T / n), T - 1);
        const alphaFrom = from >= 0 ? alphas[from]! : initial;
        const alphaTo = alphas[t]!;
        const sqrtA = Math.sqrt(alphaFrom);
        const sqrtB = Math.sqrt(1 - alphaFrom);
        const [x0, epsilon] = predictX0AndEpsilon(c.prediction_type, modelOutput.data, sample.data, sqrtA, sqrtB);
        // The inverse scheduler clamps with clip_sample and has no thresholding.
        if (c.clip_sample) {
          const r = c.clip_sample_range;
          for (let i = 0; i < count; i++) x0[i] = Math.min(r, Math.max(-r, x0[i]!));
        }
        const x0Coeff = Math.sqrt(alphaTo);
        const dirCoeff = Math.sqrt(1 - alphaTo);
        const next = new Float32Array(count);
        for (let i = 0; i < count; i++) next[i] = x0Coeff * x0[i]! + dirCoeff * epsilon[i]!;
        return { nextSample: { data: next, shape: [...sample.shape] }, predOriginalSample: { data: x0, shape: [...sample.shape] } };
      },
    };
  }
}

const plugin: SamplerPlugin<DdimOptions> = {
  name: NAME,
  description: 'DDIM (Song et al. 2021): deterministic at eta = 0, any step count',
  options,
  stepLimits,
  create(config: SchedulerConfig, opts: DdimOptions): Sampler {
    return new DdimSampler(config, options.parse(opts ?? {}));
  },
};

export default plugin;
