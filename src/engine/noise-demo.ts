/**
 * The forward-process demo: x_t of one image at chosen timesteps from one noise draw, as a labelled
 * grid and an animation, optionally with the reverse process run back from one of them. With that
 * (`denoiseFrom`), the grid gains the deterministic counterpart as a second row: x_t of DDIM inversion
 * (ddim-path.ts, no noise), each row ending with its decoding back, so DDPM's and DDIM's paths sit side by side.
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
import { ddimPath } from './ddim-path.ts';
import { PerRequestNoise, denoise } from './pipeline.ts';
import type { EngineParts } from './prepare.ts';
import { inverseOf } from './prepare.ts';
import type { GenerationParams, GenerationResult } from './types.ts';
import { DEFAULT_SAMPLER } from './validate.ts';

export const DEFAULT_NOISE_DEMO_TIMESTEPS: readonly number[] = [0, 50, 100, 200, 300, 500, 700, 999];

export interface NoiseDemoInput {
  readonly model: string;
  /** Any common image; without one, an image is generated with the model from the same seed. */
  readonly image?: Uint8Array;
  readonly seed: number;
  readonly timesteps?: readonly number[];
  /**
   * Also run the reverse process back from x_t at this timestep (DDIM) to show the reconstruction, and the
   * deterministic counterpart: DDIM inversion to the same timesteps, decoded back from the same one.
   */
  readonly denoiseFrom?: number;
}

export interface NoiseDemoResult {
  readonly timesteps: readonly number[];
  readonly frames: readonly Pixels[];
  /**
   * The labelled grid of x_t frames (t=...). With denoiseFrom, two rows: the forward process's frames then the
   * stochastic reconstruction (←t), and DDIM inversion's x_t at the schedule's timestep at or below each (DDIM t)
   * then its decoding (DDIM←t).
   */
  readonly gridPng: Buffer;
  readonly gif: Buffer;
  readonly sourcePng: Buffer;
  readonly reconstructionPng?: Buffer;
  /** With denoiseFrom: DDIM inversion's frames (at `timesteps`, rounded down to the schedule) and its decoding. */
  readonly ddim?: { readonly timesteps: readonly number[]; readonly frames: readonly Pixels[]; readonly reconstructionPng: Buffer };
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
  const back = input.denoiseFrom === undefined ? null : await reconstructBoth(parts, model, x0, eps, input.denoiseFrom, timesteps, schedule);
  // Two rows of frames + reconstruction when there is a reconstruction; otherwise up to 8 frames a row.
  const cells = back ? [...frames, toPixels(back.stochastic), ...back.ddim.frames, toPixels(back.ddim.reconstruction)] : frames;
  const cellLabels = back ? [...labels, `←${back.start}`, ...back.ddim.timesteps.map((t) => `DDIM ${t}`), `DDIM←${back.start}`] : labels;
  const [grid, gif, sourcePng, reconstructionPng, ddimPng] = await Promise.all([
    gridPng(cells, { labels: cellLabels, scale, columns: back ? frames.length + 1 : Math.min(frames.length, 8) }),
    animation(frames, { labels, scale: Math.max(1, Math.ceil(128 / image.width)), delayMs: 400 }),
    imagePng(x0),
    back && imagePng(back.stochastic),
    back && imagePng(back.ddim.reconstruction),
  ]);
  return {
    timesteps,
    frames,
    gridPng: grid,
    gif,
    sourcePng,
    ...(back && reconstructionPng && ddimPng
      ? { reconstructionPng, ddim: { timesteps: back.ddim.timesteps, frames: back.ddim.frames, reconstructionPng: ddimPng } }
      : {}),
  };
}

/**
 * From `from`, both ways, with the default sampler (its default options) over its 50-step schedule's timesteps
 * <= from: the reverse process from the forward process's x_t (one random eps), and DDIM inversion's x_t (none).
 */
async function reconstructBoth(
  parts: EngineParts,
  model: InstalledModel,
  x0: Tensor,
  eps: Float32Array,
  from: number,
  timesteps: readonly number[],
  schedule: ReturnType<typeof makeSchedule>,
) {
  const plugin = parts.sampler(DEFAULT_SAMPLER);
  const sampler = plugin.create(model.manifest.scheduler, plugin.options.parse({}));
  sampler.setTimesteps(Math.min(50, from));
  const below = sampler.timesteps.filter((t) => t <= from);
  const denoiser = await parts.denoiser(model.name);
  const start = addNoise(schedule, x0, eps, below[0]!);
  const stochastic = await denoise(denoiser, sampler, start, below, new PerRequestNoise([{ seed: 0, count: 1 }]));
  const path = await ddimPath(denoiser, sampler, inverseOf(sampler, DEFAULT_SAMPLER, 'the noise demo'), x0, timesteps, from);
  return {
    start: below[0]!,
    stochastic: stochastic.sample,
    ddim: { timesteps: path.frames.map((f) => f.t), frames: path.frames.map((f) => toPixels(f.sample)), reconstruction: path.reconstruction },
  };
}
