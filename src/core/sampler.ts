/**
 * The sampler plugin contract, modelled on diffusers' schedulers: `setTimesteps(n)` fixes the
 * inference timesteps, `step` takes one reverse-process step. Plugins live in `plugins/<name>/index.ts`
 * and default-export a `SamplerPlugin`; the registry in src/engine discovers them.
 *
 * The loop (src/engine/pipeline.ts `denoise`) does, for x_T ~ N(0, I) drawn from the request's seed:
 *   x = x_T * (sampler.initNoiseSigma ?? 1)
 *   for t of sampler.timesteps:
 *     do { out = sampler.step(model(sampler.scaleModelInput?.(x, t) ?? x, t), t, x, rng); x = out.prevSample }
 *     while (out.evaluateAgain)
 * The three optional members are what samplers beyond DDPM/DDIM need; a sampler without them is run
 * exactly as before (one model call per timestep on the unscaled sample). `inverse` is an optional
 * capability (DDIM inversion); the engine refuses inversion for samplers without it.
 */
import type { z } from 'zod';
import type { NoiseSource } from './rng.ts';
import type { Tensor } from './tensor.ts';

export interface StepOutput {
  /** x_{t-1}: the sample to feed the model at the next timestep. */
  readonly prevSample: Tensor;
  /** The current estimate of x_0 (clipped as the sampler clips it): what live previews show. */
  readonly predOriginalSample: Tensor;
  /**
   * Optional, for samplers that need several model evaluations per timestep (e.g. a Langevin corrector
   * before its predictor): true means the step is not finished. The loop then evaluates the model on
   * `prevSample` at the same timestep and calls `step` again with it; the timestep is done (and progress
   * reported) once a step returns without this flag.
   */
  readonly evaluateAgain?: boolean;
}

export interface Sampler {
  /** Inference timesteps in the order they are visited (descending), set by `setTimesteps`. */
  readonly timesteps: readonly number[];
  /**
   * Optional: diffusers' `init_noise_sigma`, read after `setTimesteps`. The loop starts from
   * x_T = randn(shape) * initNoiseSigma (float32, as `latents * scheduler.init_noise_sigma`); absent = 1.
   */
  readonly initNoiseSigma?: number;
  setTimesteps(numInferenceSteps: number): void;
  /**
   * Optional: diffusers' `scale_model_input`. The model is evaluated on `scaleModelInput(sample, t)`
   * instead of `sample` (e.g. x / sqrt(sigma^2 + 1) for Euler); `step` still gets the unscaled sample.
   * Must not modify its input. Absent = the sample as is.
   */
  scaleModelInput?(sample: Tensor, t: number): Tensor;
  /** One reverse step. Noise, when the sampler needs it, is drawn from `rng` in diffusers' order. */
  step(modelOutput: Tensor, t: number, sample: Tensor, rng: NoiseSource): StepOutput;
  /**
   * Optional capability: the exact inverse of this sampler's deterministic path over the timesteps set by
   * `setTimesteps` (diffusers' DDIMInverseScheduler for DDIM), so x_0 -> x_T -> x_0 comes back. Absent: the
   * sampler cannot invert (ancestral / stochastic samplers). Throws `OptionError` when this instance's options
   * make it stochastic (naming that option).
   */
  inverse?(): InverseSampler;
}

/**
 * Runs a deterministic sampler's path backwards, x_0 towards x_T. The inversion loop evaluates the model at
 * each of `timesteps` (ascending) on the current sample and calls `step`, as diffusers' inversion pipelines do.
 */
export interface InverseSampler {
  readonly timesteps: readonly number[];
  /** One step towards more noise, to the noise level of timestep `t`. Must not modify its inputs. */
  step(modelOutput: Tensor, t: number, sample: Tensor): { readonly nextSample: Tensor; readonly predOriginalSample: Tensor };
}

/** A per-request option a sampler cannot honour for an operation; the engine reports it under `option`. */
export class OptionError extends Error {
  override readonly name = 'OptionError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A model's `scheduler` block: diffusers' scheduler_config.json keys. Each plugin reads the keys it
 * knows (overriding its own defaults, as diffusers' `from_config` does) and ignores the rest.
 */
export type SchedulerConfig = Readonly<Record<string, unknown>>;

export interface SamplerPlugin<Options extends Record<string, unknown> = Record<string, unknown>> {
  /** Identifier used in commands and requests, e.g. "ddim". Matches the plugin's folder name. */
  readonly name: string;
  /** One line for users, e.g. "DDIM (Song et al. 2021): deterministic by default, any step count". */
  readonly description: string;
  /**
   * Per-request options (validated at the edge): a strict zod object whose fields each carry `.describe('one line')`;
   * parse({}) yields the defaults. Front ends build their inputs from the description derived from it
   * (src/engine/options.ts), so nothing outside the plugin's folder names an option.
   */
  readonly options: z.ZodType<Options, z.ZodTypeDef, unknown>;
  /** Allowed inference step counts for a model trained with `numTrainTimesteps` steps. */
  stepLimits(numTrainTimesteps: number): { readonly min: number; readonly max: number; readonly default: number };
  create(config: SchedulerConfig, options: Options): Sampler;
}
