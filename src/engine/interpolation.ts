/**
 * Seed interpolation (DDIM paper section 5.3): x_T of two seeds (each torch.randn((1, C, H, W)) of its seed,
 * what a one-image request starts from), slerped in `frames` steps and decoded with a deterministic sampler,
 * so frame 0 and the last frame are exactly the two seeds' images and the frames between morph smoothly. Either
 * end may instead be an image, inverted to its x_T (DDIM section 5.4) first.
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
import type { ImageInterpolationParams, InterpolationEndsParams, InterpolationParams } from './types.ts';

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

/** One end of an interpolation: a seed's x_T, or an image's x_T found by inversion (inversion.ts). */
export type InterpolationEnd = { readonly seed: number } | { readonly image: Tensor };

export async function interpolate(
  parts: EngineParts,
  params: InterpolationParams,
  onStep?: (step: LoopStep, totalSteps: number) => void,
  signal?: AbortSignal,
): Promise<InterpolationResult> {
  return interpolateEnds(parts, params, { seed: params.seedA }, { seed: params.seedB }, onStep, signal);
}

/** From an image to a seed's image (the service's interpolation from an image): see interpolateEnds. */
export async function interpolateFromImage(
  parts: EngineParts,
  params: ImageInterpolationParams,
  source: Tensor,
  onStep?: (step: LoopStep, totalSteps: number) => void,
  signal?: AbortSignal,
): Promise<InterpolationResult> {
  return interpolateEnds(parts, params, { image: source }, { seed: params.seedB }, onStep, signal);
}

/**
 * Between any two ends. An image end is inverted with the same model, label, sampler and steps, so its frame
 * is the image's reconstruction; a seed end's frame is exactly that seed's image.
 */
export async function interpolateEnds(
  parts: EngineParts,
  params: InterpolationEndsParams,
  a: InterpolationEnd,
  b: InterpolationEnd,
  onStep?: (step: LoopStep, totalSteps: number) => void,
  signal?: AbortSignal,
): Promise<InterpolationResult> {
  checkFrames(params.frames);
  const prepared = await prepare(parts, params, params.frames);
  for (const end of [a, b]) if ('image' in end) checkSource(end.image, prepared.imageShape, 'image');
  // Only a deterministic path makes the frames a function of x_T alone; the inverse capability says it has one.
  const inverse = inverseOf(prepared.sampler, params.sampler, 'interpolation');
  let single: Prepared | undefined;
  let inversionMs = 0;
  let inversionModelMs = 0;
  const latentOf = async (end: InterpolationEnd): Promise<Tensor> => {
    if ('seed' in end) return seedLatent(end.seed, prepared.imageShape);
    const began = performance.now();
    // The inversion runs one image through the model: a denoiser prepared for one image, not for the frames.
    single ??= await prepare(parts, params, 1);
    const { latent, modelMs } = await invertLoop(single.denoiser, inverse, end.image, signal);
    inversionMs += performance.now() - began;
    inversionModelMs += modelMs;
    return latent;
  };
  const [latentA, latentB] = [await latentOf(a), await latentOf(b)];
  const result = await decodeSlerp(prepared, latentA, latentB, params.frames, onStep, signal);
  return { ...result, samplingMs: result.samplingMs + inversionMs, modelMs: result.modelMs + inversionModelMs };
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
