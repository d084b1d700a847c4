/**
 * The forward-process demo: x_t of one image at chosen timesteps from one noise draw, as a labelled
 * grid and an animation, optionally with the reverse process run back from one of them.
 */
import { addNoise } from '../core/forward.ts';
import { TorchGenerator } from '../core/rng.ts';
import { makeSchedule } from '../core/schedule.ts';
import type { Tensor } from '../core/tensor.ts';
import { sliceBatch } from '../core/tensor.ts';
import type { InstalledModel } from '../model/registry.ts';
import type { Pixels } from '../render/index.ts';
import { animation, fromPixels, gridPng, imagePng, toPixels } from '../render/index.ts';
import { loadImageForModel } from '../render/input.ts';
import { ValidationError } from './errors.ts';
import { PerRequestNoise, denoise } from './pipeline.ts';
import type { EngineParts } from './prepare.ts';
import type { GenerationParams, GenerationResult } from './types.ts';
import { DEFAULT_SAMPLER } from './validate.ts';

export const DEFAULT_NOISE_DEMO_TIMESTEPS: readonly number[] = [0, 50, 100, 200, 300, 500, 700, 999];

export interface NoiseDemoInput {
  readonly model: string;
  /** Any common image; without one, an image is generated with the model from the same seed. */
  readonly image?: Uint8Array;
  readonly seed: number;
  readonly timesteps?: readonly number[];
  /** Also run the reverse process back from x_t at this timestep (DDIM) to show the reconstruction. */
  readonly denoiseFrom?: number;
}

export interface NoiseDemoResult {
  readonly timesteps: readonly number[];
  readonly frames: readonly Pixels[];
  /** The labelled grid of x_t frames (t=...). */
  readonly gridPng: Buffer;
  readonly gif: Buffer;
  readonly sourcePng: Buffer;
  readonly reconstructionPng?: Buffer;
}

/** What the demo needs of the engine: generation, for a demo without an uploaded image. */
export interface NoiseDemoParts extends EngineParts {
  validate(input: unknown): GenerationParams;
  generate(params: GenerationParams): Promise<GenerationResult>;
}

/**
 * Forward-process frames x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps for one image, with ONE
 * noise draw eps from the seed shared by every frame, as a labelled grid and an animation.
 */
export async function noiseDemo(parts: NoiseDemoParts, input: NoiseDemoInput): Promise<NoiseDemoResult> {
  const model = parts.model(input.model);
  const { scheduler, image } = model.manifest;
  const T = scheduler.num_train_timesteps;
  const timesteps = [...(input.timesteps ?? DEFAULT_NOISE_DEMO_TIMESTEPS.filter((t) => t < T))];
  for (const t of timesteps) {
    if (!Number.isInteger(t) || t < 0 || t >= T) throw new ValidationError('timesteps', `timesteps must be integers in 0..${T - 1} (got ${t})`);
  }
  if (timesteps.length === 0 || timesteps.length > 32) throw new ValidationError('timesteps', 'give 1 to 32 timesteps');
  if (input.denoiseFrom !== undefined && (!Number.isInteger(input.denoiseFrom) || input.denoiseFrom < 1 || input.denoiseFrom >= T)) {
    throw new ValidationError('denoise_from', `denoise_from must be an integer in 1..${T - 1}`);
  }
  const x0 = input.image
    ? fromPixels(await loadImageForModel(input.image, image))
    : sliceBatch((await parts.generate(parts.validate({ model: model.name, seed: input.seed }))).images, 0, 1);
  const schedule = makeSchedule(scheduler.beta_schedule, T, scheduler.beta_start, scheduler.beta_end);
  const eps = new TorchGenerator(input.seed).randn(x0.shape);
  const frames = timesteps.map((t) => toPixels(addNoise(schedule, x0, eps, t)));
  const labels = timesteps.map((t) => `t=${t}`);
  const scale = Math.max(1, Math.ceil(64 / image.width));
  const [grid, gif, sourcePng] = await Promise.all([
    gridPng(frames, { labels, scale, columns: Math.min(frames.length, 8) }),
    animation(frames, { labels, scale: Math.max(1, Math.ceil(128 / image.width)), delayMs: 400 }),
    imagePng(x0),
  ]);
  const reconstructionPng =
    input.denoiseFrom === undefined ? undefined : await reconstruct(parts, model, x0, eps, input.denoiseFrom, schedule);
  return { timesteps, frames, gridPng: grid, gif, sourcePng, ...(reconstructionPng ? { reconstructionPng } : {}) };
}

/** Reverse process from x_t back to x_0 with the default sampler (its default options) over its 50-step schedule's timesteps <= t. */
async function reconstruct(
  parts: EngineParts,
  model: InstalledModel,
  x0: Tensor,
  eps: Float32Array,
  from: number,
  schedule: ReturnType<typeof makeSchedule>,
): Promise<Buffer> {
  const plugin = parts.sampler(DEFAULT_SAMPLER);
  const sampler = plugin.create(model.manifest.scheduler, plugin.options.parse({}));
  sampler.setTimesteps(Math.min(50, from));
  const timesteps = sampler.timesteps.filter((t) => t <= from);
  const start = addNoise(schedule, x0, eps, timesteps[0]!);
  const denoiser = await parts.denoiser(model.name);
  const result = await denoise(denoiser, sampler, start, timesteps, new PerRequestNoise([{ seed: 0, count: 1 }]));
  return imagePng(result.sample);
}
