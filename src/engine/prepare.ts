/**
 * What variations, interpolation and inversion share with generation: a sampler set to the request's steps,
 * the model's (guided, for a label) denoiser for a batch of `count` images, and checks on source images.
 */
import type { NoiseSource } from '../core/rng.ts';
import type { InverseSampler, Sampler, SamplerPlugin } from '../core/sampler.ts';
import { OptionError } from '../core/sampler.ts';
import type { Tensor } from '../core/tensor.ts';
import type { InstalledModel } from '../model/registry.ts';
import { batchGuidance } from './conditioning.ts';
import { ValidationError } from './errors.ts';
import type { Denoiser } from './pipeline.ts';
import { guidedDenoiser } from './pipeline.ts';
import type { GenerationParams } from './types.ts';

/** The parts of the engine these operations use (the Engine class provides them). */
export interface EngineParts {
  model(name: string): InstalledModel;
  sampler(name: string): SamplerPlugin;
  denoiser(modelName: string): Promise<Denoiser>;
}

export interface Prepared {
  readonly model: InstalledModel;
  readonly sampler: Sampler;
  readonly denoiser: Denoiser;
  /** [C, H, W] of one image. */
  readonly imageShape: readonly number[];
}

export async function prepare(parts: EngineParts, params: Omit<GenerationParams, 'seed' | 'count'>, count: number): Promise<Prepared> {
  const model = parts.model(params.model);
  const sampler = samplerFor(parts, params);
  const session = await parts.denoiser(params.model);
  const conditioning = model.manifest.conditioning;
  const denoiser = conditioning ? guidedDenoiser(session, batchGuidance(conditioning, [{ ...params, seed: 0, count }])) : session;
  const { channels, height, width } = model.manifest.image;
  return { model, sampler, denoiser, imageShape: [channels, height, width] };
}

/**
 * The sampler's inverse, or a ValidationError: samplers without the capability cannot invert, and an option that
 * makes an invertible sampler stochastic is named (as `options.<name>`, like engine.validate's errors). Also what marks a sampler deterministic.
 */
export function inverseOf(sampler: Sampler, name: string, purpose: string): InverseSampler {
  if (!sampler.inverse) {
    throw new ValidationError('sampler', `sampler ${name} cannot invert (it is stochastic), so it cannot be used for ${purpose}; choose a sampler that can invert, such as ddim with its default options`);
  }
  try {
    return sampler.inverse();
  } catch (err) {
    if (err instanceof OptionError) throw new ValidationError(`options.${err.option}`, `${err.message} (needed for ${purpose})`);
    throw err;
  }
}

/**
 * A variation noises the image with the forward process, which gives x_t itself; a sampler that starts from
 * x_T x initNoiseSigma walks a rescaled x_t and cannot continue from it.
 */
export function checkStartsFromNoisedImage(sampler: Sampler, name: string): void {
  if (sampler.initNoiseSigma !== undefined) {
    throw new ValidationError('sampler', `sampler ${name} walks a rescaled sample (init noise sigma ${sampler.initNoiseSigma}), so it cannot start from a noised image; choose ddim, ddpm or dpm-solver`);
  }
}

/** The request's sampler set to its steps, without loading the model's network: for checks at submit time. */
export function samplerFor(parts: Pick<EngineParts, 'model' | 'sampler'>, params: Pick<GenerationParams, 'model' | 'sampler' | 'steps' | 'options'>): Sampler {
  const sampler = parts.sampler(params.sampler).create(parts.model(params.model).manifest.scheduler, params.options);
  sampler.setTimesteps(params.steps);
  return sampler;
}

/** Noise for samplers known to be deterministic: drawing from it is a bug, not a silent change of images. */
export const NO_NOISE: NoiseSource = {
  randn() {
    throw new Error('a deterministic sampler drew noise');
  },
};

/** A source image must be one image [1, C, H, W] of the model's size. */
export function checkSource(source: Tensor, imageShape: readonly number[], field: string): void {
  const want = [1, ...imageShape];
  if (source.shape.length !== 4 || source.shape.some((d, i) => d !== want[i])) {
    throw new ValidationError(field, `${field} must be one image of shape [${want.join(', ')}] (got [${source.shape.join(', ')}])`);
  }
}
