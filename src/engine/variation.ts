/**
 * Variations (SDEdit, Meng et al. 2022) with diffusers' img2img semantics: of the sampler's schedule for
 * `steps`, only the last floor(steps x strength) timesteps run (StableDiffusionImg2ImgPipeline.get_timesteps);
 * the source image is noised to the first of them with the forward process, using ONE randn of the request's
 * seed for all its images, and the same generator then serves the sampler's own noise.
 */
import { z } from 'zod';
import { addNoise } from '../core/forward.ts';
import { commonConfigShape, parseConfig, scheduleFromConfig } from '../core/timesteps.ts';
import type { Tensor } from '../core/tensor.ts';
import { concatBatch } from '../core/tensor.ts';
import type { LoopStep } from './pipeline.ts';
import { PerRequestNoise, denoise } from './pipeline.ts';
import type { EngineParts } from './prepare.ts';
import { checkSource, checkStartsFromNoisedImage, prepare } from './prepare.ts';
import type { GenerationResult, VariationParams } from './types.ts';

/** get_timesteps: the schedule's last min(floor(steps x strength), steps) entries (scheduler order 1). */
export function variationTimesteps(timesteps: readonly number[], steps: number, strength: number): number[] {
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`strength must be in 0..1 (got ${strength})`);
  const init = Math.min(Math.floor(steps * strength), steps);
  return timesteps.slice(Math.max(steps - init, 0));
}

export async function vary(
  parts: EngineParts,
  params: VariationParams,
  source: Tensor,
  onStep?: (step: LoopStep, totalSteps: number) => void,
  signal?: AbortSignal,
): Promise<GenerationResult> {
  const began = performance.now();
  const { model, sampler, denoiser, imageShape } = await prepare(parts, params, params.count);
  checkSource(source, imageShape, 'image');
  const images = concatBatch(Array.from({ length: params.count }, () => source));
  const timesteps = variationTimesteps(sampler.timesteps, params.steps, params.strength);
  // Nothing to denoise (strength 0): the input comes back as it is.
  if (timesteps.length === 0) return { images, seed: params.seed, samplingMs: performance.now() - began, modelMs: 0 };
  checkStartsFromNoisedImage(sampler, params.sampler);
  // diffusers' add_noise uses the scheduler's alphas_cumprod: trained_betas included, as the sampler reads them.
  const config = parseConfig(params.sampler, z.object(commonConfigShape({ timestepSpacing: 'leading' })), model.manifest.scheduler);
  const schedule = scheduleFromConfig(params.sampler, config);
  const noise = new PerRequestNoise([{ seed: params.seed, count: params.count }]);
  const eps = noise.generators[0]!.randn(images.shape);
  const start = addNoise(schedule, images, eps, timesteps[0]!);
  const result = await denoise(denoiser, sampler, start, timesteps, noise, onStep && ((s) => onStep(s, timesteps.length)), signal);
  return { images: result.sample, seed: params.seed, samplingMs: performance.now() - began, modelMs: result.modelMs };
}
