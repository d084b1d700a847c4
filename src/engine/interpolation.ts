/**
 * Seed interpolation (DDIM paper section 5.3): x_T of two seeds (each torch.randn((1, C, H, W)) of its seed,
 * what a one-image request starts from), slerped in `frames` steps and decoded with a deterministic sampler,
 * so frame 0 and the last frame are exactly the two seeds' images and the frames between morph smoothly.
 */
import { TorchGenerator } from '../core/rng.ts';
import { slerp } from '../core/slerp.ts';
import type { Tensor } from '../core/tensor.ts';
import { concatBatch } from '../core/tensor.ts';
import { animation, gridPng, toPixels } from '../render/index.ts';
import type { LoopStep } from './pipeline.ts';
import { denoise } from './pipeline.ts';
import { invertLoop } from './inversion.ts';
import type { EngineParts, Prepared } from './prepare.ts';
import { NO_NOISE, checkSource, inverseOf, prepare } from './prepare.ts';
import type { ImageInterpolationParams, InterpolationParams } from './types.ts';

export interface InterpolationResult {
  /** [frames, C, H, W] in model space, frame k at alpha = k / (frames - 1). */
  readonly images: Tensor;
  readonly alphas: readonly number[];
  readonly samplingMs: number;
  readonly modelMs: number;
}

/** Both interpolations need two end frames at least; the service refuses fewer first, this guards direct callers. */
export function checkFrames(frames: number): void {
  if (!Number.isInteger(frames) || frames < 2) throw new RangeError(`frames must be an integer >= 2 (got ${frames})`);
}

export async function interpolate(
  parts: EngineParts,
  params: InterpolationParams,
  onStep?: (step: LoopStep, totalSteps: number) => void,
  signal?: AbortSignal,
): Promise<InterpolationResult> {
  checkFrames(params.frames);
  const prepared = await prepare(parts, params, params.frames);
  // Only a deterministic path makes the frames a function of x_T alone; the inverse capability says it has one.
  inverseOf(prepared.sampler, params.sampler, 'interpolation');
  return decodeSlerp(prepared, seedLatent(params.seedA, prepared.imageShape), seedLatent(params.seedB, prepared.imageShape), params.frames, onStep, signal);
}

/**
 * From an image to a seed's image: the first end is the image's x_T found by inversion (inversion.ts) with the
 * same model, label, sampler and steps, so frame 0 is the image's reconstruction and the last the seed's image.
 */
export async function interpolateFromImage(
  parts: EngineParts,
  params: ImageInterpolationParams,
  source: Tensor,
  onStep?: (step: LoopStep, totalSteps: number) => void,
  signal?: AbortSignal,
): Promise<InterpolationResult> {
  const began = performance.now();
  checkFrames(params.frames);
  const prepared = await prepare(parts, params, params.frames);
  checkSource(source, prepared.imageShape, 'image');
  const inverse = inverseOf(prepared.sampler, params.sampler, 'interpolation');
  // The inversion runs one image through the model: a denoiser prepared for one image, not for the frames.
  const single = await prepare(parts, params, 1);
  const { latent, modelMs } = await invertLoop(single.denoiser, inverse, source, signal);
  const result = await decodeSlerp(prepared, latent, seedLatent(params.seedB, prepared.imageShape), params.frames, onStep, signal);
  return { ...result, samplingMs: performance.now() - began, modelMs: result.modelMs + modelMs };
}

/** x_T of a one-image request with `seed`: torch.randn((1, C, H, W)). */
function seedLatent(seed: number, imageShape: readonly number[]): Tensor {
  const shape = [1, ...imageShape];
  return { data: new TorchGenerator(seed).randn(shape), shape };
}

async function decodeSlerp(
  { sampler, denoiser }: Prepared,
  a: Tensor,
  b: Tensor,
  frames: number,
  onStep?: (step: LoopStep, totalSteps: number) => void,
  signal?: AbortSignal,
): Promise<InterpolationResult> {
  const alphas = Array.from({ length: frames }, (_, k) => (k === frames - 1 ? 1 : k / (frames - 1)));
  const start = concatBatch(alphas.map((alpha) => slerp(a, b, alpha)));
  const total = sampler.timesteps.length;
  const result = await denoise(denoiser, sampler, start, sampler.timesteps, NO_NOISE, onStep && ((s) => onStep(s, total)), signal);
  return { images: result.sample, alphas, samplingMs: result.totalMs, modelMs: result.modelMs };
}

/** The frames as one labelled strip (PNG) and a looping animation (GIF), scaled up for chat display. */
export async function interpolationMedia(result: InterpolationResult): Promise<{ stripPng: Buffer; gif: Buffer }> {
  const frames = result.alphas.map((_, k) => toPixels(result.images, k));
  const labels = result.alphas.map((alpha) => alpha.toFixed(2));
  const width = frames[0]!.width;
  const [stripPng, gif] = await Promise.all([
    gridPng(frames, { labels, columns: frames.length, scale: Math.max(1, Math.ceil(64 / width)) }),
    animation(frames, { scale: Math.max(1, Math.ceil(128 / width)), delayMs: 200 }),
  ]);
  return { stripPng, gif };
}
