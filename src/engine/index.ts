/**
 * The engine: installed models and sampler plugins, and the one facade over request validation
 * (validate.ts, edit-params.ts), batched generation (generate.ts), the forward-process demo
 * (noise-demo.ts), and variations, interpolation and inversion (variation.ts, interpolation.ts,
 * label-interpolation.ts, inversion.ts). Every adapter (CLI, HTTP, Discord, Slack) reaches the math through here.
 */
import type { SamplerPlugin } from '../core/sampler.ts';
import type { Tensor } from '../core/tensor.ts';
import type { Logger } from '../ops/logger.ts';
import type { InstalledModel } from '../model/registry.ts';
import { DEFAULT_MODELS_DIR, ModelRegistry } from '../model/registry.ts';
import type { ExecutionProvider } from '../model/session.ts';
import { fromPixels } from '../render/index.ts';
import { loadImageForModel } from '../render/input.ts';
import type { Denoiser, LoopStep } from './pipeline.ts';
import { DEFAULT_PLUGINS_DIR, SamplerRegistry } from './samplers.ts';
import { ValidationError } from './errors.ts';
import type { GenerationParams, GenerationResult, ImageInterpolationParams, InterpolationEndsParams, InterpolationParams, InversionParams, LabelInterpolationParams, StepProgress, VariationParams } from './types.ts';
import { validateImageInterpolation, validateInterpolation, validateInterpolationEnds, validateInversion, validateLabelInterpolation, validateVariation, type Validate } from './edit-params.ts';
import { generateBatch } from './generate.ts';
import { interpolateLabels } from './label-interpolation.ts';
import type { InterpolationEnd, InterpolationResult } from './interpolation.ts';
import { interpolate, interpolateEnds, interpolateFromImage, interpolationMedia } from './interpolation.ts';
import type { InversionResult } from './inversion.ts';
import { invert } from './inversion.ts';
import { noiseDemo, type NoiseDemoInput, type NoiseDemoResult } from './noise-demo.ts';
import { vary } from './variation.ts';
import { checkStartsFromNoisedImage, inverseOf, samplerFor } from './prepare.ts';
import { validateGeneration } from './validate.ts';

export type { GenerationParams, GenerationResult, ImageInterpolationParams, InterpolationEndsParams, InterpolationParams, InversionParams, LabelInterpolationParams, StepProgress, VariationParams } from './types.ts';
export type { InterpolationEnd, InterpolationResult } from './interpolation.ts';
export type { InversionResult } from './inversion.ts';
export { ValidationError } from './errors.ts';

export { DEFAULT_SAMPLER, MAX_COUNT } from './validate.ts';
export { DEFAULT_NOISE_DEMO_TIMESTEPS, type NoiseDemoInput, type NoiseDemoResult } from './noise-demo.ts';

export interface EngineOptions {
  readonly modelsDir?: string;
  readonly pluginsDir?: string;
  readonly executionProvider?: ExecutionProvider;
  readonly threads?: number;
  readonly logger?: Logger;
}

export class Engine {
  private readonly loggedProviders = new Set<string>();

  private constructor(
    readonly models: ModelRegistry,
    readonly samplers: SamplerRegistry,
    private readonly logger?: Logger,
    private readonly preferredProvider?: ExecutionProvider,
  ) {}

  static async load(options: EngineOptions = {}): Promise<Engine> {
    const logger = options.logger;
    const models = await ModelRegistry.open(options.modelsDir ?? DEFAULT_MODELS_DIR, {
      ...(options.executionProvider ? { executionProvider: options.executionProvider } : {}),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      onProviderFallback: (provider, error) =>
        logger?.warn({ provider, error }, `execution provider ${provider} unavailable; trying the next one`),
    });
    const samplers = await SamplerRegistry.discover(options.pluginsDir ?? DEFAULT_PLUGINS_DIR);
    return new Engine(models, samplers, logger, options.executionProvider);
  }

  model(name: string): InstalledModel {
    const model = this.models.find(name);
    if (!model) {
      const names = this.models.list().map((m) => m.name);
      throw new ValidationError('model', `unknown model "${name}"; installed: ${names.join(', ') || 'none'}`);
    }
    return model;
  }

  sampler(name: string): SamplerPlugin {
    const plugin = this.samplers.find(name);
    if (!plugin) {
      const names = this.samplers.list().map((p) => p.name);
      throw new ValidationError('sampler', `unknown sampler "${name}"; available: ${names.join(', ')}`);
    }
    return plugin;
  }

  /**
   * Turns untrusted input into complete parameters, filling defaults (the default model, ddim, the
   * sampler's default steps, a random seed, one image; with a label, the model's default guidance).
   * `options` are the sampler's own (see options.ts); a bad one is named with the values it accepts.
   */
  validate(input: unknown): GenerationParams {
    return validateGeneration(this, this.models.defaultModel(), input);
  }

  /** The ONNX session of a model, loaded on first use; logs the execution provider it runs on. */
  async denoiser(modelName: string): Promise<Denoiser & { provider: ExecutionProvider; passedOver: readonly string[] }> {
    this.model(modelName);
    const session = await this.models.session(modelName);
    if (!this.loggedProviders.has(modelName)) {
      this.loggedProviders.add(modelName);
      // One line per model says where it runs and, when not on the first choice, why (no CUDA library, no GPU adapter, …).
      const why = session.passedOver.length > 0 ? { passedOver: session.passedOver.join('; ') } : {};
      const line = { model: modelName, provider: session.provider, file: session.file, ...why };
      // Not getting the provider the operator named is worth a warning; the automatic choice is not.
      if (this.preferredProvider && session.provider !== this.preferredProvider) this.logger?.warn(line, `model session ready on ${session.provider}, not ${this.preferredProvider}`);
      else this.logger?.info(line, `model session ready on ${session.provider}`);
    }
    return session;
  }

  /**
   * Runs requests that share model, sampler, steps and options as one ONNX batch (labels and
   * guidance may differ). Request i's images equal what `generate(params[i])` returns alone.
   */
  async generateBatch(
    params: readonly GenerationParams[],
    onProgress?: (requestIndex: number, progress: StepProgress) => void,
    signal?: AbortSignal,
  ): Promise<GenerationResult[]> {
    return generateBatch(this, params, onProgress, signal);
  }

  async generate(
    params: GenerationParams,
    onProgress?: (progress: StepProgress) => void,
    signal?: AbortSignal,
  ): Promise<GenerationResult> {
    const [result] = await this.generateBatch([params], onProgress && ((_, p) => onProgress(p)), signal);
    return result!;
  }

  /** `validate` plus `strength` (0.1..0.9, default 0.5); `seed` seeds the noise added to the image. */
  validateVariation(input: unknown): VariationParams {
    const params = validateVariation((raw) => this.validate(raw), input);
    checkStartsFromNoisedImage(samplerFor(this, params), params.sampler);
    return params;
  }

  /** `validate` with `seed_a`, `seed_b` and `frames` (2..16, default 8) instead of `seed` and `count`. */
  validateInterpolation(input: unknown): InterpolationParams {
    return this.validateInvertible(validateInterpolation, input, 'interpolation');
  }

  /** `validate` with `label_a`, `label_b` and `frames` instead of `label` and `count` (conditional models). */
  validateLabelInterpolation(input: unknown): LabelInterpolationParams {
    return this.validateInvertible(validateLabelInterpolation, input, 'interpolation');
  }

  /** `validate` with `seed_b` and `frames` instead of `seed` and `count`: the first end is an image, inverted. */
  validateImageInterpolation(input: unknown): ImageInterpolationParams {
    return this.validateInvertible(validateImageInterpolation, input, 'interpolation');
  }

  /** `validate` with `frames` instead of `seed` and `count`, for `interpolateEnds` (each end a seed or an image). */
  validateInterpolationEnds(input: unknown): InterpolationEndsParams {
    return this.validateInvertible(validateInterpolationEnds, input, 'interpolation');
  }

  /** `validate` without `seed` and `count`; a sampler that cannot invert is refused naming it. */
  validateInversion(input: unknown): InversionParams {
    return this.validateInvertible(validateInversion, input, 'inversion');
  }

  /** Parameters of a request that runs the sampler's inverse: refused, naming the sampler, when it has none. */
  private validateInvertible<P extends Pick<GenerationParams, 'model' | 'sampler' | 'steps' | 'options'>>(parse: (validate: Validate, input: unknown) => P, input: unknown, purpose: string): P {
    const params = parse((raw) => this.validate(raw), input);
    inverseOf(samplerFor(this, params), params.sampler, purpose);
    return params;
  }

  /** An uploaded image (PNG, JPEG, …) as the model-space [1, C, H, W] tensor vary and invert take. */
  async sourceImage(modelName: string, bytes: Uint8Array): Promise<Tensor> {
    return fromPixels(await loadImageForModel(bytes, this.model(modelName).manifest.image));
  }

  /**
   * `count` variations of `source` ([1, C, H, W], model space: a result's image or `sourceImage`): SDEdit at
   * `strength` with the request's model, label, guidance and sampler. Strength 0 returns the source.
   */
  async vary(params: VariationParams, source: Tensor, onProgress?: (progress: StepProgress) => void, signal?: AbortSignal): Promise<GenerationResult> {
    return vary(this, params, source, onProgress && progressOf(onProgress), signal);
  }

  /** Frames between the images of `seedA` and `seedB` (slerp of x_T), a strip PNG and a GIF of them. */
  async interpolate(
    params: InterpolationParams,
    onProgress?: (progress: StepProgress) => void,
    signal?: AbortSignal,
  ): Promise<InterpolationResult & { stripPng: Buffer; gif: Buffer }> {
    const result = await interpolate(this, params, onProgress && progressOf(onProgress), signal);
    return { ...result, ...(await interpolationMedia(result)) };
  }

  /** Frames from `source`'s reconstruction (its x_T by inversion) to the image of `seedB`, strip PNG and GIF. */
  async interpolateFromImage(
    params: ImageInterpolationParams,
    source: Tensor,
    onProgress?: (progress: StepProgress) => void,
    signal?: AbortSignal,
  ): Promise<InterpolationResult & { stripPng: Buffer; gif: Buffer }> {
    const result = await interpolateFromImage(this, params, source, onProgress && progressOf(onProgress), signal);
    return { ...result, ...(await interpolationMedia(result)) };
  }

  /** Frames between two ends, each a seed or an image ([1, C, H, W], inverted to its x_T), strip PNG and GIF. */
  async interpolateEnds(
    params: InterpolationEndsParams,
    a: InterpolationEnd,
    b: InterpolationEnd,
    onProgress?: (progress: StepProgress) => void,
    signal?: AbortSignal,
  ): Promise<InterpolationResult & { stripPng: Buffer; gif: Buffer }> {
    const result = await interpolateEnds(this, params, a, b, onProgress && progressOf(onProgress), signal);
    return { ...result, ...(await interpolationMedia(result)) };
  }

  /** Frames of one seed from label A to label B (a mix of the two conditional predictions), strip PNG and GIF. */
  async interpolateLabels(
    params: LabelInterpolationParams,
    onProgress?: (progress: StepProgress) => void,
    signal?: AbortSignal,
  ): Promise<InterpolationResult & { stripPng: Buffer; gif: Buffer }> {
    const result = await interpolateLabels(this, params, onProgress && progressOf(onProgress), signal);
    return { ...result, ...(await interpolationMedia(result)) };
  }

  /** `source` -> x_T with the sampler's inverse, decoded back; the latent, reconstruction and its PSNR. */
  async invert(params: InversionParams, source: Tensor, onProgress?: (progress: StepProgress) => void, signal?: AbortSignal): Promise<InversionResult> {
    return invert(this, params, source, onProgress && progressOf(onProgress), signal);
  }

  /**
   * Forward-process frames x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps for one image, with ONE
   * noise draw eps from the seed shared by every frame, as a labelled grid and an animation.
   */
  async noiseDemo(input: NoiseDemoInput): Promise<NoiseDemoResult> {
    return noiseDemo(this, input);
  }

  async close(): Promise<void> {
    await this.models.close();
  }
}

function progressOf(onProgress: (progress: StepProgress) => void): (step: LoopStep, totalSteps: number) => void {
  return (step, totalSteps) => onProgress({ step: step.index + 1, totalSteps, timestep: step.timestep, predictedX0: step.predOriginalSample });
}
