/**
 * The engine: installed models and sampler plugins, request validation, batched generation, the
 * forward-process demo, and variations, interpolation and inversion (variation.ts, interpolation.ts,
 * label-interpolation.ts, inversion.ts). Every adapter (CLI, HTTP, Discord, Slack) reaches the math through here.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { addNoise } from '../core/forward.ts';
import { MAX_SEED, TorchGenerator, randomSeed } from '../core/rng.ts';
import type { SamplerPlugin } from '../core/sampler.ts';
import { makeSchedule } from '../core/schedule.ts';
import type { Tensor } from '../core/tensor.ts';
import { sliceBatch } from '../core/tensor.ts';
import type { Logger } from '../ops/logger.ts';
import type { InstalledModel } from '../model/registry.ts';
import { DEFAULT_MODELS_DIR, ModelRegistry } from '../model/registry.ts';
import type { ExecutionProvider } from '../model/session.ts';
import type { Pixels } from '../render/index.ts';
import { animation, fromPixels, gridPng, imagePng, toPixels } from '../render/index.ts';
import { loadImageForModel } from '../render/input.ts';
import type { Denoiser } from './pipeline.ts';
import { PerRequestNoise, denoise, guidedDenoiser, initialNoise, memberSlice } from './pipeline.ts';
import { MAX_GUIDANCE, batchGuidance, resolveLabel } from './conditioning.ts';
import { DEFAULT_PLUGINS_DIR, SamplerRegistry } from './samplers.ts';
import { ValidationError } from './errors.ts';
import { optionIssue } from './options.ts';
import type { GenerationParams, GenerationResult, InterpolationParams, InversionParams, LabelInterpolationParams, StepProgress, VariationParams } from './types.ts';
import { validateInterpolation, validateInversion, validateLabelInterpolation, validateVariation } from './edit-params.ts';
import { interpolateLabels } from './label-interpolation.ts';
import type { InterpolationResult } from './interpolation.ts';
import { interpolate, interpolationMedia } from './interpolation.ts';
import type { InversionResult } from './inversion.ts';
import { invert } from './inversion.ts';
import type { LoopStep } from './pipeline.ts';
import { vary } from './variation.ts';
import { checkStartsFromNoisedImage, inverseOf, samplerFor } from './prepare.ts';

export type { GenerationParams, GenerationResult, InterpolationParams, InversionParams, LabelInterpolationParams, StepProgress, VariationParams } from './types.ts';
export type { InterpolationResult } from './interpolation.ts';
export type { InversionResult } from './inversion.ts';
export { ValidationError } from './errors.ts';

export const DEFAULT_SAMPLER = 'ddim';
export const MAX_COUNT = 16;
export const DEFAULT_NOISE_DEMO_TIMESTEPS: readonly number[] = [0, 50, 100, 200, 300, 500, 700, 999];


export interface EngineOptions {
  readonly modelsDir?: string;
  readonly pluginsDir?: string;
  readonly executionProvider?: ExecutionProvider;
  readonly threads?: number;
  readonly logger?: Logger;
}

const rawParamsSchema = z
  .object({
    model: z.string().min(1).optional(),
    sampler: z.string().min(1).optional(),
    steps: z.number().int().optional(),
    seed: z.number().int().min(0).max(MAX_SEED).optional(),
    count: z.number().int().min(1).max(MAX_COUNT).optional(),
    options: z.record(z.unknown()).optional(),
    label: z.union([z.string().min(1).max(200), z.number().int()]).optional(),
    guidance: z.number().min(0).max(MAX_GUIDANCE).optional(),
  })
  .strict();

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
    const parsed = rawParamsSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'request');
      throw new ValidationError(field, `${field}: ${issue.message}`);
    }
    const raw = parsed.data;
    const defaultModel = this.models.defaultModel();
    if (!raw.model && !defaultModel) throw new ValidationError('model', 'no models are installed');
    const model = this.model(raw.model ?? defaultModel!.name);
    const { label, guidance } = this.validateConditioning(model, raw.label, raw.guidance);
    const plugin = this.sampler(raw.sampler ?? DEFAULT_SAMPLER);
    const limits = plugin.stepLimits(model.manifest.scheduler.num_train_timesteps);
    const steps = raw.steps ?? limits.default;
    if (steps < limits.min || steps > limits.max) {
      throw new ValidationError('steps', `steps must be ${limits.min}..${limits.max} for ${plugin.name} (got ${steps})`);
    }
    const optionInput = raw.options ?? {};
    const options = plugin.options.safeParse(optionInput);
    if (!options.success) throw optionIssue(plugin, options.error, optionInput);
    return {
      model: model.name,
      sampler: plugin.name,
      steps,
      options: options.data,
      label,
      guidance,
      seed: raw.seed ?? randomSeed(),
      count: raw.count ?? 1,
    };
  }

  private validateConditioning(model: InstalledModel, label: string | number | undefined, guidance: number | undefined) {
    const conditioning = model.manifest.conditioning;
    if (label === undefined) {
      if (guidance !== undefined) throw new ValidationError('guidance', 'guidance needs a label: guidance steers towards the label you ask for');
      return { label: null, guidance: null };
    }
    if (!conditioning) throw new ValidationError('label', `model ${model.name} is not class-conditional; it takes no label`);
    const resolved = resolveLabel(conditioning, label);
    if ('error' in resolved) throw new ValidationError('label', resolved.error);
    return { label: resolved.name, guidance: guidance ?? conditioning.default_guidance_scale };
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
    const first = params[0];
    if (!first) return [];
    for (const p of params) {
      if (p.model !== first.model || p.sampler !== first.sampler || p.steps !== first.steps || !isDeepStrictEqual(p.options, first.options)) {
        throw new Error('a batch must share model, sampler, steps and options');
      }
    }
    const model = this.model(first.model);
    const plugin = this.sampler(first.sampler);
    const sampler = plugin.create(model.manifest.scheduler, first.options);
    sampler.setTimesteps(first.steps);
    const { channels, height, width } = model.manifest.image;
    const members = params.map((p) => ({ seed: p.seed, count: p.count }));
    const noise = new PerRequestNoise(members);
    const start = initialNoise(noise, members, [channels, height, width]);
    const session = await this.denoiser(first.model);
    const conditioning = model.manifest.conditioning;
    const denoiser = conditioning ? guidedDenoiser(session, batchGuidance(conditioning, params)) : session;
    const totalSteps = sampler.timesteps.length;
    const result = await denoise(
      denoiser,
      sampler,
      start,
      sampler.timesteps,
      noise,
      onProgress &&
        ((step) =>
          params.forEach((_, i) =>
            onProgress(i, {
              step: step.index + 1,
              totalSteps,
              timestep: step.timestep,
              predictedX0: memberSlice(step.predOriginalSample, members, i),
            }),
          )),
      signal,
    );
    return params.map((p, i) => ({
      images: memberSlice(result.sample, members, i),
      seed: p.seed,
      samplingMs: result.totalMs,
      modelMs: result.modelMs,
    }));
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
    const params = validateInterpolation((raw) => this.validate(raw), input);
    inverseOf(samplerFor(this, params), params.sampler, 'interpolation');
    return params;
  }

  /** `validate` with `label_a`, `label_b` and `frames` instead of `label` and `count` (conditional models). */
  validateLabelInterpolation(input: unknown): LabelInterpolationParams {
    const params = validateLabelInterpolation((raw) => this.validate(raw), input);
    inverseOf(samplerFor(this, params), params.sampler, 'interpolation');
    return params;
  }

  /** `validate` without `seed` and `count`. */
  validateInversion(input: unknown): InversionParams {
    return validateInversion((raw) => this.validate(raw), input);
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
    const model = this.model(input.model);
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
      : sliceBatch((await this.generate(this.validate({ model: model.name, seed: input.seed }))).images, 0, 1);
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
      input.denoiseFrom === undefined ? undefined : await this.reconstruct(model, x0, eps, input.denoiseFrom, schedule);
    return { timesteps, frames, gridPng: grid, gif, sourcePng, ...(reconstructionPng ? { reconstructionPng } : {}) };
  }

  /** Reverse process from x_t back to x_0 with the default sampler (its default options) over its 50-step schedule's timesteps <= t. */
  private async reconstruct(
    model: InstalledModel,
    x0: Tensor,
    eps: Float32Array,
    from: number,
    schedule: ReturnType<typeof makeSchedule>,
  ): Promise<Buffer> {
    const plugin = this.sampler(DEFAULT_SAMPLER);
    const sampler = plugin.create(model.manifest.scheduler, plugin.options.parse({}));
    sampler.setTimesteps(Math.min(50, from));
    const timesteps = sampler.timesteps.filter((t) => t <= from);
    const start = addNoise(schedule, x0, eps, timesteps[0]!);
    const denoiser = await this.denoiser(model.name);
    const result = await denoise(denoiser, sampler, start, timesteps, new PerRequestNoise([{ seed: 0, count: 1 }]));
    return imagePng(result.sample);
  }

  async close(): Promise<void> {
    await this.models.close();
  }
}

function progressOf(onProgress: (progress: StepProgress) => void): (step: LoopStep, totalSteps: number) => void {
  return (step, totalSteps) => onProgress({ step: step.index + 1, totalSteps, timestep: step.timestep, predictedX0: step.predOriginalSample });
}
