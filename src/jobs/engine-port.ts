/**
 * The seam between the job system and the diffusion engine. The real `Engine` (src/engine) and
 * `render` helpers satisfy these shapes structurally; tests plug a fast fake in below this seam.
 * Kept deliberately narrow: the queue only needs to validate, batch-generate, run noise demos and
 * encode PNGs.
 */
import type { Tensor } from '../core/tensor.ts';

/** What one generation request asks for, after `engine.validate`. */
export interface GenerationParams {
  readonly model: string;
  readonly sampler: string;
  readonly steps: number;
  readonly seed: number;
  readonly count: number;
  /** Sampler options after the plugin's zod schema (e.g. `{ eta: 0 }`). */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface StepProgress {
  /** 1-based index of the step just taken. */
  readonly step: number;
  readonly totalSteps: number;
  /** The predicted x_0 after this step: what previews show. */
  readonly predOriginalSample?: Tensor;
}

export interface GenerationResult {
  /** [count, C, H, W] in [-1, 1]. */
  readonly images: Tensor;
  readonly samplingMs?: number;
}

export interface NoiseDemoInput {
  readonly model: string;
  readonly image?: Buffer;
  readonly seed: number;
  readonly timesteps?: number[];
  readonly denoiseFrom?: number;
}

export interface NoiseDemoResult {
  /** PNG grid of the image at the chosen timesteps. */
  readonly gridPng: Buffer;
  /** Animated GIF of the same frames. */
  readonly gif: Buffer;
}

export interface ModelSummary {
  readonly name: string;
}

/** The subset of `Engine` the job system uses. */
export interface EnginePort {
  readonly models: { get(name: string): ModelSummary };
  /** Throws an error with a `field` property (ParamError) on bad input. */
  validate(params: unknown): GenerationParams;
  generateBatch(
    params: GenerationParams[],
    onProgress?: (requestIndex: number, p: StepProgress) => void,
    signal?: AbortSignal,
  ): Promise<GenerationResult[]>;
  noiseDemo(input: NoiseDemoInput): Promise<NoiseDemoResult>;
}

/** PNG encoding, from src/render. */
export interface RenderPort {
  /** One image of the batch (index given) or a labelled grid of all of them. */
  toPng(images: Tensor, index?: number): Promise<Buffer>;
  /** A small preview of a predicted x_0 for live progress. */
  previewPng(tensor: Tensor): Promise<Buffer>;
}
