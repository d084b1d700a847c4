/**
 * The sampler plugin contract, modelled on diffusers' schedulers: `setTimesteps(n)` fixes the
 * inference timesteps, `step` takes one reverse-process step. Plugins live in `plugins/<name>/index.ts`
 * and default-export a `SamplerPlugin`; the registry in src/engine discovers them.
 */
import type { z } from 'zod';
import type { NoiseSource } from './rng.ts';
import type { Tensor } from './tensor.ts';

export interface StepOutput {
  /** x_{t-1}: the sample to feed the model at the next timestep. */
  readonly prevSample: Tensor;
  /** The current estimate of x_0 (clipped as the sampler clips it): what live previews show. */
  readonly predOriginalSample: Tensor;
}

export interface Sampler {
  /** Inference timesteps in the order they are visited (descending), set by `setTimesteps`. */
  readonly timesteps: readonly number[];
  setTimesteps(numInferenceSteps: number): void;
  /** One reverse step. Noise, when the sampler needs it, is drawn from `rng` in diffusers' order. */
  step(modelOutput: Tensor, t: number, sample: Tensor, rng: NoiseSource): StepOutput;
}

/**
 * A model's `scheduler` block: diffusers' scheduler_config.json keys. Each plugin reads the keys it
 * knows (overriding its own defaults, as diffusers' `from_config` does) and ignores the rest.
 */
export type SchedulerConfig = Readonly<Record<string, unknown>>;

export interface SamplerPlugin<Options extends Record<string, unknown> = Record<string, unknown>> {
  /** Identifier used in commands and requests, e.g. "ddim". Matches the plugin's folder name. */
  readonly name: string;
  /** One line for users, e.g. "DDIM (Song et al. 2021): deterministic at eta = 0, any step count". */
  readonly description: string;
  /** Per-request options (validated at the edge), e.g. `{ eta }`; parse({}) yields the defaults. */
  readonly options: z.ZodType<Options, z.ZodTypeDef, unknown>;
  /** Allowed inference step counts for a model trained with `numTrainTimesteps` steps. */
  stepLimits(numTrainTimesteps: number): { readonly min: number; readonly max: number; readonly default: number };
  create(config: SchedulerConfig, options: Options): Sampler;
}
