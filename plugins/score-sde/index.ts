/**
 * Predictor-corrector sampling of Song et al. 2021, "Score-Based Generative Modeling through Stochastic
 * Differential Equations" (Alg. 2-3), for the VP SDE that a DDPM noise-prediction model defines: its score
 * is s(x, t) = -eps(x, t) / sqrt(1 - abar_t).
 *
 * The discretisation is the model's own (the paper's "DDPM discretization", Appendix E): between visited
 * timesteps t > t' (t' = the next inference timestep, or the clean data after the last one) the forward
 * step is x_t = sqrt(1 - beta) x_t' + sqrt(beta) z with beta = 1 - abar_t / abar_t'; with every training
 * step visited, beta is the model's beta_t.
 * - Predictor, reverse diffusion (eq. 46-47, Alg. 3): x <- (2 - sqrt(1 - beta)) x + beta s + sqrt(beta) z;
 *   Euler-Maruyama of the reverse SDE dx = [-beta x / 2 - beta s] dt + sqrt(beta) dw:
 *   x <- x + beta x / 2 + beta s + sqrt(beta) z.
 * - Probability flow (the deterministic ODE dx = [-beta x / 2 - beta s / 2] dt, Sec. 4.3): the same
 *   predictors with beta s / 2 and no noise.
 * - Corrector, Langevin (Alg. 3): g = s(x, t), eps = 2 alpha (r ||z|| / ||g||)^2 with r = snr and
 *   alpha = 1 - beta, x <- x + eps g + sqrt(2 eps) z; `corrector_steps` times per timestep, each one more model
 *   evaluation (the contract's `evaluateAgain`).
 * As in the authors' implementation (score_sde sampling.py): at each timestep the corrector runs first, then
 * the predictor, both at that timestep; the last predictor step adds no noise ("denoise": its mean is the sample).
 * Norms are per image (the paper's Alg. 3 is written for one sample; the reference code averages them over
 * the batch, which would make a request's images depend on what it is batched with).
 */
import { z } from 'zod';
import {
  checkStepCount,
  checkStepInputs,
  checkTimesteps,
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
  unsupportedFlag,
} from '../../src/plugin-api.ts';

const NAME = 'score-sde';

/**
 * The keys of a DDPM model's scheduler config that define its SDE (betas, prediction type, spacing). The
 * sampler is not a diffusers scheduler: DDPM's clip_sample / variance_type are ignored; thresholding is refused.
 */
export const scoreSdeConfigSchema = z.object({
  ...commonConfigShape({ timestepSpacing: 'leading' }),
  thresholding: unsupportedFlag(),
});
export type ScoreSdeConfig = z.output<typeof scoreSdeConfigSchema>;

const options = z
  .object({
    predictor: z
      .enum(['reverse_diffusion', 'euler_maruyama'])
      .default('reverse_diffusion')
      .describe('predictor: the reverse-diffusion discretisation (Alg. 3) or Euler-Maruyama of the reverse SDE'),
    corrector_steps: z
      .number()
      .int()
      .min(0)
      .max(10)
      .optional()
      .describe('Langevin corrector steps per timestep, one model evaluation each (default 1; 0 with probability_flow)'),
    snr: z.number().positive().max(1).default(0.16).describe("the corrector's signal-to-noise ratio r (Alg. 3)"),
    probability_flow: z
      .boolean()
      .default(false)
      .describe('follow the probability flow ODE instead of the reverse SDE (deterministic without a corrector)'),
  })
  .strict();
export type ScoreSdeOptions = z.output<typeof options>;

/** corrector_steps when not given: 1 (the paper's PC samplers), 0 for the probability flow ODE. */
export function correctorSteps(o: ScoreSdeOptions): number {
  return o.corrector_steps ?? (o.probability_flow ? 0 : 1);
}

function stepLimits(numTrainTimesteps: number): StepLimits {
  return { min: 1, max: numTrainTimesteps, default: numTrainTimesteps };
}

export class ScoreSdeSampler implements Sampler {
  readonly config: ScoreSdeConfig;
  readonly predictor: ScoreSdeOptions['predictor'];
  readonly correctorSteps: number;
  readonly snr: number;
  readonly probabilityFlow: boolean;
  private readonly alphasCumprod: Float32Array;
  private readonly betas: Float32Array;
  private steps: number[] = [];
  /** betas of the discretised forward steps into each inference timestep (see `beta`) */
  private stepBetas: number[] = [];
  private stepIndex = 0;
  /** corrector steps done at the current timestep */
  private corrected = 0;

  constructor(config: SchedulerConfig, opts: ScoreSdeOptions) {
    this.config = parseConfig(NAME, scoreSdeConfigSchema, config);
    this.predictor = opts.predictor;
    this.correctorSteps = correctorSteps(opts);
    this.snr = opts.snr;
    this.probabilityFlow = opts.probability_flow;
    const schedule = scheduleFromConfig(NAME, this.config);
    this.alphasCumprod = schedule.alphasCumprod;
    this.betas = schedule.betas;
  }

  get timesteps(): readonly number[] {
    return this.steps;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const T = c.num_train_timesteps;
    checkStepCount(NAME, numInferenceSteps, stepLimits(T));
    const steps = ddpmTimesteps(c.timestep_spacing, T, numInferenceSteps, c.steps_offset);
    checkTimesteps(NAME, steps, T, numInferenceSteps);
    this.steps = steps;
    // 1 - prod(1 - beta_k) over the training steps t' < k <= t, in double from the model's betas: with every
    // step visited this is beta_t itself (a float32 ratio abar_t / abar_t' would be off by ~1e-7 absolute)
    this.stepBetas = steps.map((t, i) => {
      const next = i + 1 < steps.length ? steps[i + 1]! : -1;
      let logAlpha = 0;
      for (let k = next + 1; k <= t; k++) logAlpha += Math.log1p(-this.betas[k]!);
      return -Math.expm1(logAlpha);
    });
    this.stepIndex = 0;
    this.corrected = 0;
  }

  /**
   * beta of the discretised forward step into inference timestep i from the next one t' (from the clean data
   * after the last): 1 - abar_t / abar_t'.
   */
  beta(index: number): number {
    return this.stepBetas[index]!;
  }

  step(modelOutput: Tensor, t: number, sample: Tensor, rng: NoiseSource): StepOutput {
    if (this.steps.length === 0) throw new Error(`${NAME}: call setTimesteps before step`);
    const n = checkStepInputs(NAME, modelOutput, sample);
    const index = this.stepIndex;
    if (index >= this.steps.length) throw new Error(`${NAME}: all ${this.steps.length} steps are done; call setTimesteps to sample again`);
    if (this.steps[index] !== t) throw new Error(`${NAME}: step ${index} expects timestep ${this.steps[index]}, got ${t}`);

    const abar = this.alphasCumprod[t]!;
    const { score, x0 } = this.scoreAndX0(modelOutput.data, sample.data, abar, n);
    const beta = this.beta(index);
    const shape = [...sample.shape];

    if (this.corrected < this.correctorSteps) {
      this.corrected++;
      const prev = this.langevin(sample, score, 1 - beta, rng);
      return { prevSample: { data: prev, shape }, predOriginalSample: { data: x0, shape }, evaluateAgain: true };
    }

    const x = sample.data;
    const last = index === this.steps.length - 1;
    const scoreWeight = this.probabilityFlow ? beta / 2 : beta;
    const cx = this.predictor === 'reverse_diffusion' ? 2 - Math.sqrt(1 - beta) : 1 + beta / 2;
    const prev = new Float32Array(n);
    for (let i = 0; i < n; i++) prev[i] = cx * x[i]! + scoreWeight * score[i]!;
    if (!this.probabilityFlow && !last) {
      const noise = rng.randn(sample.shape);
      const g = Math.sqrt(beta);
      for (let i = 0; i < n; i++) prev[i] = prev[i]! + g * noise[i]!;
    }
    this.stepIndex = index + 1;
    this.corrected = 0;
    return { prevSample: { data: prev, shape }, predOriginalSample: { data: x0, shape } };
  }

  /** s = -eps / sqrt(1 - abar) from the model's prediction, and the x0 it implies (for previews). */
  private scoreAndX0(out: Float32Array, x: Float32Array, abar: number, n: number): { score: Float64Array; x0: Float32Array } {
    const sa = Math.sqrt(abar);
    const sb = Math.sqrt(1 - abar);
    const score = new Float64Array(n);
    const x0 = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let eps: number;
      switch (this.config.prediction_type) {
        case 'epsilon':
          eps = out[i]!;
          break;
        case 'sample':
          eps = (x[i]! - sa * out[i]!) / sb;
          break;
        case 'v_prediction':
          eps = sa * out[i]! + sb * x[i]!;
          break;
      }
      score[i] = -eps / sb;
      x0[i] = (x[i]! - sb * eps) / sa;
    }
    return { score, x0 };
  }

  /** One Langevin step per image: eps = 2 alpha (r ||z|| / ||g||)^2, x + eps g + sqrt(2 eps) z. */
  private langevin(sample: Tensor, g: Float64Array, alpha: number, rng: NoiseSource): Float32Array {
    const x = sample.data;
    const noise = rng.randn(sample.shape);
    const prev = new Float32Array(x.length);
    const batch = sample.shape[0] ?? 1;
    const per = x.length / batch;
    for (let b = 0; b < batch; b++) {
      let gg = 0;
      let zz = 0;
      for (let i = b * per; i < (b + 1) * per; i++) {
        gg += g[i]! * g[i]!;
        zz += noise[i]! * noise[i]!;
      }
      // a zero score (x already at the mode) gives no step rather than an infinite one
      const eps = gg > 0 ? 2 * alpha * (this.snr * this.snr * zz) / gg : 0;
      const c = Math.sqrt(2 * eps);
      for (let i = b * per; i < (b + 1) * per; i++) prev[i] = x[i]! + eps * g[i]! + c * noise[i]!;
    }
    return prev;
  }
}

const plugin: SamplerPlugin<ScoreSdeOptions> = {
  name: NAME,
  description: 'Score-based SDE sampler (Song et al. 2021): predictor-corrector; probability_flow = ODE',
  options,
  stepLimits,
  create(config: SchedulerConfig, opts: ScoreSdeOptions): Sampler {
    return new ScoreSdeSampler(config, options.parse(opts ?? {}));
  },
};

export default plugin;
