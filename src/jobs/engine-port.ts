/**
 * The seam between the job system and the diffusion engine: exactly the parts of `Engine`
 * (src/engine) and src/render the queue uses. The real ones satisfy these shapes; tests plug a
 * fast fake in below this seam.
 */
import type { Tensor } from '../core/tensor.ts';
import type { NoiseDemoInput, NoiseDemoResult } from '../engine/index.ts';
import type { InversionResult } from '../engine/inversion.ts';
import type {
  GenerationParams,
  GenerationResult,
  ImageInterpolationParams,
  InterpolationParams,
  InversionParams,
  LabelInterpolationParams,
  StepProgress,
  VariationParams,
} from '../engine/types.ts';

export type { GenerationParams, GenerationResult, ImageInterpolationParams, InterpolationParams, InversionParams, InversionResult, LabelInterpolationParams, NoiseDemoInput, NoiseDemoResult, StepProgress, VariationParams };

/** An interpolation's frames [frames, C, H, W] with the strip (PNG) and animation (GIF) made of them. */
export interface InterpolationOutput {
  readonly images: Tensor;
  readonly stripPng: Buffer;
  readonly gif: Buffer;
  readonly samplingMs: number;
}

/** What the service reads of a model to validate noise-demo input (timesteps, the uploaded image) at submit time. */
export interface ModelInfoPort {
  readonly name: string;
  readonly manifest: {
    readonly scheduler: { readonly num_train_timesteps: number };
    readonly image: { readonly channels: 1 | 3; readonly height: number; readonly width: number };
  };
}

/** The subset of `Engine` the job system uses. Bad input throws ValidationError (src/engine/errors.ts), naming the field. */
export interface EnginePort {
  /** Throws ValidationError('model') for an unknown model. */
  model(name: string): ModelInfoPort;
  /** Fills defaults (model, sampler, steps, random seed, count) and throws ValidationError on bad input. */
  validate(params: unknown): GenerationParams;
  generateBatch(
    params: readonly GenerationParams[],
    onProgress?: (requestIndex: number, p: StepProgress) => void,
    signal?: AbortSignal,
  ): Promise<GenerationResult[]>;
  noiseDemo(input: NoiseDemoInput): Promise<NoiseDemoResult>;
  /** Like validate, plus strength; ParamError also for a sampler that cannot start from a noised image. */
  validateVariation(params: unknown): VariationParams;
  /** seed_a, seed_b and frames instead of seed and count; ParamError also for a stochastic sampler. */
  validateInterpolation(params: unknown): InterpolationParams;
  /** label_a, label_b and frames instead of label and count (conditional models). */
  validateLabelInterpolation(params: unknown): LabelInterpolationParams;
  /** seed_b and frames: the first end is an image, inverted; ParamError also for a sampler that cannot invert. */
  validateImageInterpolation(params: unknown): ImageInterpolationParams;
  /** Like validate without seed and count; ParamError also for a sampler that cannot invert. */
  validateInversion(params: unknown): InversionParams;
  /** An image file (PNG, JPEG, ...) as the model-space [1, C, H, W] tensor `vary`, `invert` and `interpolateFromImage` take. */
  sourceImage(model: string, bytes: Uint8Array): Promise<Tensor>;
  vary(params: VariationParams, source: Tensor, onProgress?: (p: StepProgress) => void, signal?: AbortSignal): Promise<GenerationResult>;
  interpolate(params: InterpolationParams, onProgress?: (p: StepProgress) => void, signal?: AbortSignal): Promise<InterpolationOutput>;
  interpolateFromImage(params: ImageInterpolationParams, source: Tensor, onProgress?: (p: StepProgress) => void, signal?: AbortSignal): Promise<InterpolationOutput>;
  invert(params: InversionParams, source: Tensor, onProgress?: (p: StepProgress) => void, signal?: AbortSignal): Promise<InversionResult>;
  interpolateLabels(params: LabelInterpolationParams, onProgress?: (p: StepProgress) => void, signal?: AbortSignal): Promise<InterpolationOutput>;
}

/** PNG encoding, from src/render. */
export interface RenderPort {
  /** One image of a batch at native size (also used for previews of predicted x_0). */
  imagePng(images: Tensor, index?: number): Promise<Buffer>;
  /** All images of a request: a labelled grid when there are several. */
  batchPng(images: Tensor): Promise<Buffer>;
  /** The denoising animation: predicted-x_0 preview PNGs (thinned evenly), then the final PNG. */
  trajectoryGif(previews: readonly Buffer[], finalPng: Buffer): Promise<Buffer>;
}
