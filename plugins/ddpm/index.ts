/**
 * DDPM ancestral sampling (Ho et al. 2020), following diffusers' DDPMScheduler: the posterior mean
 * of eq. 7 around the predicted x0, plus sqrt(variance) * noise for every timestep above 0.
 */
import { z } from 'zod';
import {
  checkStepCount,
  checkStepInputs,
  checkTimesteps,
  clipOrThreshold,
  commonConfigShape,
  ddpmTimesteps,
  type NoiseSource,
  parseConfig,
  type Sampler,
  type SamplerPlugin,
  scheduleFromConfig,
  type SchedulerConfig,
  type StepLimits,
  type StepOutput,
  type Tensor,
} from '../../src/plugin-api.ts';

const NAME = 'ddpm';

export const ddpmConfigSchema = z.object({
  ...commonConfigShape({ timestepSpacing: 'leading' }),
  // learned / learned_range need a model that also predicts its variance: not supported here.
  variance_type: z.enum(['fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log']).default('fixed_small'),
  clip_sample: z.boolean().default(true),
  clip_sample_range: z.number().positive().default(1.0),
});
export type DdpmConfig = z.output<typeof ddpmConfigSchema>;

const options = z.object({}).strict();
type DdpmOptions = z.output<typeof options>;

function stepLimits(numTrainTimesteps: number): StepLimits {
  return { min: 1, max: numTrainTimesteps, default: numTrainTimesteps };
}

export class DdpmSampler implements Sampler {
  readonly config: DdpmConfig;
  private readonly alphasCumprod: Float32Array;
  private steps: number[];
  private customTimesteps = false;

  constructor(config: SchedulerConfig) {
    this.config = parseConfig(NAME, ddpmConfigSchema, config);
    this.alphasCumprod = scheduleFromConfig(NAME, this.config).alphasCumprod;
    // Before set_timesteps diffusers walks every training step, and the previous timestep is t - 1.
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
    this.customTimesteps = true;
  }

  /** diffusers' previous_timestep: the next entry of the timesteps list, -1 after the last. */
  private previousTimestep(t: number): number {
    if (!this.customTimesteps) return t - 1;
    const index = this.steps.indexOf(t);
    if (index < 0) throw new Error(`${NAME}: timestep ${t} is not one of the scheduled timesteps`);
    return index === this.steps.length - 1 ? -1 : this.steps[index + 1]!;
  }

  step(modelOutput: Tensor, t: number, sample: Tensor, rng: NoiseSource): StepOutput {
    const n = checkStepInputs(NAME, modelOutput, sample);
    const c = this.config;
    if (!Number.isInteger(t) || t < 0 || t >= c.num_train_timesteps) {
      throw new Error(`${NAME}: timestep ${t} outside 0..${c.num_train_timesteps - 1}`);
    }
    const prevT = this.previousTimestep(t);

    // 1. alphas, betas (DDPM notation: abar_t, abar_{t-1}, alpha_t = abar_t / abar_{t-1}, beta_t = 1 - alpha_t)
    const alphaProdT = this.alphasCumprod[t]!;
    const alphaProdPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : 1;
    const betaProdT = 1 - alphaProdT;
    const betaProdPrev = 1 - alphaProdPrev;
    const currentAlphaT = alphaProdT / alphaProdPrev;
    const currentBetaT = 1 - currentAlphaT;

    // 2. predicted x0 (DDPM eq. 15 for epsilon)
    const eps = modelOutput.data;
    const x = sample.data;
    const x0 = new Float32Array(n);
    const sqrtA = Math.sqrt(alphaProdT);
    const sqrtB = Math.sqrt(betaProdT);
    switch (c.prediction_type) {
      case 'epsilon':
        for (let i = 0; i < n; i++) x0[i] = (x[i]! - sqrtB * eps[i]!) / sqrtA;
        break;
      case 'sample':
        x0.set(eps);
        break;
      case 'v_prediction':
        for (let i = 0; i < n; i++) x0[i] = sqrtA * x[i]! - sqrtB * eps[i]!;
        break;
    }

    // 3. clip or threshold x0
    clipOrThreshold(x0, sample.shape, c);

    // 4-5. posterior mean (DDPM eq. 7)
    const x0Coeff = (Math.sqrt(alphaProdPrev) * currentBetaT) / betaProdT;
    const xtCoeff = (Math.sqrt(currentAlphaT) * betaProdPrev) / betaProdT;
    const prev = new Float32Array(n);

    // 6. noise: one randn of the model output's shape, only while t > 0
    if (t > 0) {
      const noise = rng.randn(modelOutput.shape);
      const std = this.noiseStd(currentBetaT, alphaProdT, alphaProdPrev);
      for (let i = 0; i < n; i++) prev[i] = x0Coeff * x0[i]! + xtCoeff * x[i]! + std * noise[i]!;
    } else {
      for (let i = 0; i < n; i++) prev[i] = x0Coeff * x0[i]! + xtCoeff * x[i]!;
    }
    return { prevSample: { data: prev, shape: [...sample.shape] }, predOriginalSample: { data: x0, shape: [...sample.shape] } };
  }

  /** The standard deviation _get_variance implies for each fixed variance type. */
  private noiseStd(currentBetaT: number, alphaProdT: number, alphaProdPrev: number): number {
    // beta~_t of DDPM eq. 7, clamped as diffusers does before taking logs
    const posterior = Math.max(((1 - alphaProdPrev) / (1 - alphaProdT)) * currentBetaT, 1e-20);
    switch (this.config.variance_type) {
      case 'fixed_small':
        return Math.sqrt(posterior);
      case 'fixed_small_log':
        return Math.exp(0.5 * Math.log(posterior));
      case 'fixed_large':
        return Math.sqrt(currentBetaT);
      case 'fixed_large_log':
        // GLIDE's max_log: log-variance log(beta_t), i.e. std exp(0.5 * log(beta_t)). diffusers' step takes
        // sqrt() of the log (negative: NaN), which cannot be the intent.
        return Math.exp(0.5 * Math.log(currentBetaT));
    }
  }
}

const plugin: SamplerPlugin<DdpmOptions> = {
  name: NAME,
  description: 'DDPM (Ho et al. 2020): ancestral sampling, stochastic, best at the full training step count',
  options,
  stepLimits,
  create(config: SchedulerConfig, opts: DdpmOptions): Sampler {
    options.parse(opts ?? {});
    return new DdpmSampler(config);
  },
};

export default plugin;
