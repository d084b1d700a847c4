/**
 * The engine's public surface: what jobs, adapters and the CLI call. Everything here is
 * deterministic in (model, sampler, steps, options, label, guidance, seed, count).
 */
import type { Tensor } from '../core/tensor.ts';

/** One user request for images; `options` are the sampler plugin's per-request options (see engine/options.ts). */
export interface GenerationParams {
  readonly model: string;
  readonly sampler: string;
  readonly steps: number;
  readonly options: Readonly<Record<string, unknown>>;
  /** Class-conditional models: the class name asked for; null asks for an unconditional sample. */
  readonly label: string | null;
  /** Classifier-free guidance scale with a label (1 = plain conditional sampling); null without a label. */
  readonly guidance: number | null;
  /** 0..2^32-1; fully determines the images together with the other fields. */
  readonly seed: number;
  /** Images in this request (its x_T is ONE randn((count, C, H, W)) call from the seed). */
  readonly count: number;
}

export interface StepProgress {
  /** 1-based index of the step just taken, out of `totalSteps`. */
  readonly step: number;
  readonly totalSteps: number;
  /** The timestep t the model was evaluated at. */
  readonly timestep: number;
  /** This request's predicted x_0 after the step, [count, C, H, W] in [-1, 1]. */
  readonly predictedX0: Tensor;
}

export interface GenerationResult {
  /** Final samples [count, C, H, W], model space (about [-1, 1]); render with src/render. */
  readonly images: Tensor;
  readonly seed: number;
  /** Wall time of the whole denoising loop and the part spent inside the ONNX model, in ms. */
  readonly samplingMs: number;
  readonly modelMs: number;
}

/** A variation (SDEdit): the image is noised to the `strength` part of the schedule, then denoised. */
export interface VariationParams extends GenerationParams {
  /** 0..1, diffusers' img2img `strength`: the last round(down) strength x steps steps of the schedule run. */
  readonly strength: number;
}

/** Every frame decodes slerp(x_T(seedA), x_T(seedB), k / (frames - 1)) with the same settings. */
export interface InterpolationParams extends Omit<GenerationParams, 'seed' | 'count'> {
  readonly seedA: number;
  readonly seedB: number;
  readonly frames: number;
}

/** From an image (inverted to its x_T) to the image of `seedB`. */
export type ImageInterpolationParams = Omit<InterpolationParams, 'seedA'>;

/** The settings of an interpolation whose ends (a seed or an image each) are given apart. */
export type InterpolationEndsParams = Omit<InterpolationParams, 'seedA' | 'seedB'>;

/** Inversion uses the generation settings; there is no seed (the path is deterministic). */
export type InversionParams = Omit<GenerationParams, 'seed' | 'count'>;

/** Frames of one seed from label A to label B (conditional models): see label-interpolation.ts for what is mixed. */
export interface LabelInterpolationParams extends Omit<GenerationParams, 'count' | 'label' | 'guidance'> {
  readonly labelA: string;
  readonly labelB: string;
  /** Classifier-free guidance scale for every frame (1 = plain conditional). */
  readonly guidance: number;
  readonly frames: number;
}
