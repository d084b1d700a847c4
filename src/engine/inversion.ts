/**
 * DDIM inversion (DDIM paper section 5.4; diffusers' DDIMInverseScheduler): the deterministic sampler's ODE
 * run forwards from an image to its x_T, then decoded back with the same sampler, model, label and steps.
 * The reconstruction's PSNR says how well the latent stands for the image.
 */
import { psnr } from '../core/psnr.ts';
import type { InverseSampler } from '../core/sampler.ts';
import type { Tensor } from '../core/tensor.ts';
import { toPixels } from '../render/index.ts';
import type { Denoiser, LoopStep } from './pipeline.ts';
import { denoise } from './pipeline.ts';
import type { EngineParts } from './prepare.ts';
import { NO_NOISE, checkSource, inverseOf, prepare } from './prepare.ts';
import type { InversionParams } from './types.ts';

export interface InversionResult {
  /** x_T [1, C, H, W]: start generation from it to get the reconstruction again. */
  readonly latent: Tensor;
  readonly reconstruction: Tensor;
  /** PSNR in dB of the reconstruction's 8-bit pixels against the source's (Infinity when identical). */
  readonly psnr: number;
  readonly modelMs: number;
}

/** x_0 -> x_T: the model at each inverse timestep on the current sample, then one inverse step. */
export async function invertLoop(model: Denoiser, inverse: InverseSampler, x0: Tensor, signal?: AbortSignal): Promise<{ latent: Tensor; modelMs: number }> {
  let sample = x0;
  let modelMs = 0;
  for (const t of inverse.timesteps) {
    signal?.throwIfAborted();
    const began = performance.now();
    const prediction = await model.predict(sample, t);
    modelMs += performance.now() - began;
    sample = inverse.step(prediction, t, sample).nextSample;
  }
  return { latent: sample, modelMs };
}

export async function invert(
  parts: EngineParts,
  params: InversionParams,
  source: Tensor,
  onStep?: (step: LoopStep, totalSteps: number) => void,
  signal?: AbortSignal,
): Promise<InversionResult> {
  const { sampler, denoiser, imageShape } = await prepare(parts, params, 1);
  checkSource(source, imageShape, 'image');
  const inverse = inverseOf(sampler, params.sampler, 'inversion');
  const { latent, modelMs } = await invertLoop(denoiser, inverse, source, signal);
  const total = sampler.timesteps.length;
  const decoded = await denoise(denoiser, sampler, latent, sampler.timesteps, NO_NOISE, onStep && ((s) => onStep(s, total)), signal);
  const reconstruction = decoded.sample;
  const score = psnr(toPixels(reconstruction).data, toPixels(source).data, 255);
  return { latent, reconstruction, psnr: score, modelMs: modelMs + decoded.modelMs };
}
