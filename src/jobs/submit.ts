/**
 * Submissions: parameters validated once (the engine's checks, a ValidationError naming the
 * field), the request stored in one transaction after the user's limits pass, and a `queued` event.
 * Reroll and replay come through here too, from a stored request.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../ops/logger.ts';
import type { Prisma } from '../db/client.ts';
import { findImage, findRequestRow, insertRequest, type NewRequest } from '../db/request-store.ts';
import type { Request as RequestRow } from '../db/generated/client.ts';
import { ImageInputError, loadImageForModel } from '../render/input.ts';
import { batchKeyOf, soloBatchKey } from './batch-key.ts';
import type { EventBus } from './bus.ts';
import type { EnginePort, GenerationParams } from './engine-port.ts';
import { checkLimits, type LimitConfig } from './limits.ts';
import { editInput, imageInterpolationDraft, interpolationDraft, interpolationInfo, inversionDraft, inversionInfo, variationDraft, variationInfo } from './edits.ts';
import type {
  ImageSource,
  ReplayOverrides,
  SubmitGenerationInput,
  SubmitInterpolationInput,
  SubmitInversionInput,
  SubmitNoiseDemoInput,
  SubmitVariationInput,
  Submitted,
} from './service.ts';
import { DuplicateRequestError, NotFoundError, ValidationError, type Json, type NoiseDemoParams, type RequestCounters, type Requester, type VariationSource } from './types.ts';
import { jsonRecord } from './views.ts';

export const MAX_SEED = 2 ** 32 - 1;

export function userKeyOf(r: Requester): string {
  return `${r.platform}:${r.workspaceId ?? ''}:${r.userId}`;
}

function randomSeed(): number {
  return randomInt(0, MAX_SEED);
}

const noiseDemoSchema = z
  .object({
    model: z.string().min(1),
    seed: z.number().int().min(0).max(MAX_SEED).optional(),
    timesteps: z.array(z.number().int().min(0)).min(1).max(32).optional(),
    denoiseFrom: z.number().int().min(1).optional(),
  })
  .strict();

/** The noise demo's shape errors, named by their path like the engine's own ValidationErrors. */
function fromZod(err: z.ZodError): ValidationError {
  const issue = err.issues[0];
  return new ValidationError(issue?.path.join('.') || 'params', issue?.message ?? 'invalid parameters');
}

function dedupeKeyOf(replyTo: Json): string | null {
  if (typeof replyTo !== 'object' || replyTo === null || Array.isArray(replyTo)) return null;
  const key = replyTo['dedupeKey'];
  return typeof key === 'string' ? key : null;
}

/** A request before the service gives it an id and its requester's keys. */
export type Draft = Omit<NewRequest, 'id' | 'platform' | 'workspaceId' | 'channelId' | 'userId' | 'userKey' | 'replyTo' | 'dedupeKey' | 'derivedFromId'>;

export interface SubmitDeps {
  readonly prisma: Prisma;
  readonly bus: EventBus;
  /** Only validation and models are used on the submitting side. */
  readonly engine: SubmitEngine;
  readonly limits: LimitConfig;
  readonly log: Logger;
  readonly counters?: RequestCounters | undefined;
}

export type SubmitEngine = Pick<
  EnginePort,
  'validate' | 'model' | 'validateVariation' | 'validateInterpolation' | 'validateLabelInterpolation' | 'validateImageInterpolation' | 'validateInversion'
>;

export class Submitter {
  constructor(private readonly deps: SubmitDeps) {}

  async generation(input: SubmitGenerationInput): Promise<Submitted> {
    return this.store(input.requester, input.replyTo, null, generationDraft(this.check(input.params), false));
  }

  async noiseDemo(input: SubmitNoiseDemoInput): Promise<Submitted> {
    const shape = noiseDemoSchema.safeParse(input.params);
    if (!shape.success) throw fromZod(shape.error);
    const parsed = shape.data;
    // Range checks need the model's schedule length (engine.model throws ValidationError('model')); the engine re-checks when it runs.
    const T = this.deps.engine.model(parsed.model).manifest.scheduler.num_train_timesteps;
    const bad = parsed.timesteps?.find((t) => t >= T);
    if (bad !== undefined) throw new ValidationError('timesteps', `timesteps must be integers in 0..${T - 1} (got ${bad})`);
    if (parsed.denoiseFrom !== undefined && parsed.denoiseFrom >= T) throw new ValidationError('denoiseFrom', `denoiseFrom must be an integer in 1..${T - 1}`);
    const image = input.image;
    const draft = noiseDemoDraft({ ...parsed, seed: parsed.seed ?? randomSeed() }, image ?? null);
    return this.store(input.requester, input.replyTo, null, draft, image && this.decodeUpload(image, parsed.model));
  }

  /**
   * A variation of an image of a stored request (whose model, sampler, steps, options, label and guidance
   * it keeps unless the input names others) or of an upload; the image's bytes are stored with it.
   */
  async variation(input: SubmitVariationInput): Promise<Submitted> {
    const { raw, image, from, derivedFrom } = await this.imageInput(input.source, input.params);
    const params = this.deps.engine.validateVariation(raw);
    return this.store(input.requester, input.replyTo, derivedFrom, variationDraft(params, from, image), this.uploadCheck(input.source, params.model));
  }

  /**
   * Between two seeds (seed_a, seed_b) or, for conditional models, two labels at one seed (label_a, label_b);
   * with `from`, between that image (inverted to its x_T by the worker) and seed_b.
   */
  async interpolation(input: SubmitInterpolationInput): Promise<Submitted> {
    if (input.from) {
      const { raw, image, from, derivedFrom } = await this.imageInput(input.from, input.params);
      const params = this.deps.engine.validateImageInterpolation(raw);
      return this.store(input.requester, input.replyTo, derivedFrom, imageInterpolationDraft(params, from, image), this.uploadCheck(input.from, params.model));
    }
    const raw = rawObject(input.params);
    const labels = 'label_a' in raw || 'label_b' in raw;
    const params = labels ? this.deps.engine.validateLabelInterpolation(raw) : this.deps.engine.validateInterpolation(raw);
    return this.store(input.requester, input.replyTo, null, interpolationDraft(params));
  }

  /**
   * From `from`'s seed (or an inversion's image) to `to`'s seed (the pair already checked): with `from`'s sampler,
   * steps and options while that sampler can interpolate, so the first frame is `from`'s image; with the default
   * sampler otherwise.
   */
  async interpolationBetween(from: RequestRow, to: RequestRow, input: Pick<SubmitInterpolationInput, 'requester' | 'replyTo'> & { frames?: number | undefined }): Promise<Submitted> {
    const frames = input.frames === undefined ? {} : { frames: input.frames };
    // An inversion's image goes in as it is (its x_T, inverted again by the worker) with its own sampler and steps.
    if (from.kind === 'invert') return this.interpolation({ ...input, from: { requestId: from.id, index: 0 }, params: { seed_b: Number(to.seed), ...frames } });
    const labelled = from.label === null ? {} : { label: from.label, guidance: from.guidance ?? undefined };
    const base = { model: from.model, ...labelled, seed_a: Number(from.seed), seed_b: Number(to.seed), ...frames };
    let params;
    try {
      params = this.deps.engine.validateInterpolation({ ...base, ...samplerFields(from, {}) });
    } catch (err) {
      if (!(err instanceof ValidationError) || err.field === 'frames') throw err;
      params = this.deps.engine.validateInterpolation(base);
    }
    return this.store(input.requester, input.replyTo, from.id, interpolationDraft(params));
  }

  /** An image (a stored request's or an upload) to x_T by the sampler's inverse and back, with the reconstruction's PSNR. */
  async inversion(input: SubmitInversionInput): Promise<Submitted> {
    const { raw, image, from, derivedFrom } = await this.imageInput(input.source, input.params);
    const params = this.deps.engine.validateInversion(raw);
    return this.store(input.requester, input.replyTo, derivedFrom, inversionDraft(params, from, image), this.uploadCheck(input.source, params.model));
  }

  /**
   * The image an edit starts from and its raw parameters: an upload as given, or image `index` of a stored
   * request whose model, sampler, steps, options, label and guidance are the defaults under the input's.
   */
  private async imageInput(source: ImageSource, params: unknown): Promise<{ raw: Record<string, unknown>; image: Buffer; from: VariationSource; derivedFrom: string | null }> {
    const raw = rawObject(params);
    if ('image' in source) return { raw, image: source.image, from: { upload: true }, derivedFrom: null };
    const row = await findRequestRow(this.deps.prisma, source.requestId);
    if (!row) throw new NotFoundError(`no request ${source.requestId}`);
    const image = await this.sourceImage(row, source.index);
    const labelled = row.label === null || row.kind === 'noise_demo' ? {} : { label: row.label, guidance: row.guidance ?? undefined };
    return { raw: { model: row.model, ...labelled, ...raw, ...samplerFields(row, raw) }, image, from: { requestId: row.id, index: source.index }, derivedFrom: row.id };
  }

  /** An upload is decoded once the limits have passed; a stored request's image was decoded when it was made. */
  private uploadCheck(source: ImageSource, model: string): (() => Promise<void>) | undefined {
    return 'image' in source ? this.decodeUpload(source.image, model) : undefined;
  }

  /** The PNG of image `index` of a finished request, or a ValidationError saying what is missing. */
  private async sourceImage(row: RequestRow, index: number): Promise<Buffer> {
    if (row.status !== 'succeeded') throw new ValidationError('source', `request ${row.id} has no images to start from (it ${row.status === 'failed' || row.status === 'cancelled' ? 'was' : 'is'} ${row.status})`);
    const last = row.kind === 'noise_demo' || row.kind === 'invert' ? 0 : row.count - 1;
    if (!Number.isInteger(index) || index < 0 || index > last) {
      throw new ValidationError('index', `image index must be ${last === 0 ? '0' : `0..${last}`} for request ${row.id} (got ${index})`);
    }
    const image = await findImage(this.deps.prisma, row.id, index);
    if (!image || image.contentType !== 'image/png') throw new ValidationError('index', `request ${row.id} has no image ${index}`);
    return Buffer.from(image.data);
  }

  /**
   * Decodes an upload (size, format, pixel-count limits) so a bad one is a 400 naming the field, not a
   * failed job; run once the limits have passed, so a refused user costs no decoding.
   */
  private decodeUpload(image: Buffer, model: string): () => Promise<void> {
    return async () => {
      try {
        await loadImageForModel(image, this.deps.engine.model(model).manifest.image);
      } catch (err) {
        if (err instanceof ImageInputError) throw new ValidationError('image', err.message);
        throw err;
      }
    };
  }

  /** The one validation of generation parameters (the engine's rules); throws ValidationError naming the field. */
  check(raw: unknown): GenerationParams {
    return this.deps.engine.validate(raw);
  }

  /** Reroll (a new seed) or replay (the stored seed, with overrides) of a stored request. */
  async resubmit(row: RequestRow, requester: Requester, replyTo: Json, newSeed: boolean, o: ReplayOverrides): Promise<Submitted> {
    const seed = newSeed ? randomSeed() : Number(row.seed);
    if (row.kind === 'noise_demo') {
      const nd = jsonRecord(row.noiseDemo);
      const params: NoiseDemoParams = {
        model: row.model,
        seed,
        timesteps: Array.isArray(nd.timesteps) ? (nd.timesteps as number[]) : undefined,
        denoiseFrom: typeof nd.denoiseFrom === 'number' ? nd.denoiseFrom : undefined,
      };
      return this.store(requester, replyTo, row.id, noiseDemoDraft(params, row.inputImage ? Buffer.from(row.inputImage) : null));
    }
    if (row.kind === 'vary' || row.kind === 'interpolate' || row.kind === 'invert') return this.resubmitEdit(row, requester, replyTo, newSeed, o);
    const params = this.deps.engine.validate({
      model: row.model,
      ...samplerFields(row, o),
      seed,
      count: o.count ?? row.count,
      ...(row.label === null ? {} : { label: row.label, guidance: row.guidance ?? undefined }),
    });
    return this.store(requester, replyTo, row.id, generationDraft(params, o.recordTrajectory ?? false));
  }

  /**
   * A variation again (a new noise seed, or the same) from its stored image; an interpolation with new seeds, or
   * the same (from an image, the image stays); an inversion again (it has no seed), perhaps with other steps.
   */
  private resubmitEdit(row: RequestRow, requester: Requester, replyTo: Json, newSeed: boolean, o: ReplayOverrides): Promise<Submitted> {
    const between = interpolationInfo(row.kind, row.edit);
    const seeds: [number, number] = newSeed ? [randomSeed(), randomSeed()] : [Number(row.seed), between && 'seed' in between.to ? between.to.seed : 0];
    const raw = editInput(row, seeds, samplerFields(row, o));
    const engine = this.deps.engine;
    const image = Buffer.from(row.inputImage ?? []);
    const varied = variationInfo(row.kind, row.edit);
    if (varied) return this.store(requester, replyTo, row.id, variationDraft(engine.validateVariation(raw), varied.source, image));
    const inverted = inversionInfo(row.kind, row.edit, row.result);
    if (inverted) return this.store(requester, replyTo, row.id, inversionDraft(engine.validateInversion(raw), inverted.source, image));
    if (between?.from) return this.store(requester, replyTo, row.id, imageInterpolationDraft(engine.validateImageInterpolation(raw), between.from, image));
    const params = 'seed_a' in raw ? engine.validateInterpolation(raw) : engine.validateLabelInterpolation(raw);
    return this.store(requester, replyTo, row.id, interpolationDraft(params));
  }

  /** Stores the request once the limits and then `afterLimits` (costly checks) pass; anything refused writes nothing. */
  private async store(requester: Requester, replyTo: Json, derivedFromId: string | null, draft: Draft, afterLimits?: () => Promise<void>): Promise<Submitted> {
    const row: NewRequest = {
      ...draft,
      id: randomUUID(),
      platform: requester.platform,
      workspaceId: requester.workspaceId ?? null,
      channelId: requester.channelId ?? null,
      userId: requester.userId,
      userKey: userKeyOf(requester),
      replyTo,
      dedupeKey: dedupeKeyOf(replyTo),
      derivedFromId,
    };
    const inserted = await insertRequest(this.deps.prisma, row, this.deps.bus.channel, async (counts) => {
      const refusal = checkLimits(counts, this.deps.limits, new Date());
      if (refusal) throw refusal;
      await afterLimits?.();
    });
    if ('duplicateOf' in inserted) throw new DuplicateRequestError(inserted.duplicateOf);
    await this.deps.bus.carried([inserted.event]);
    this.deps.counters?.requestSubmitted(row.platform, row.kind);
    return { id: row.id, position: inserted.position };
  }
}

/** Parameters of a request given as an object; anything else is a ValidationError. */
function rawObject(params: unknown): Record<string, unknown> {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new ValidationError('params', 'parameters must be an object');
  return params as Record<string, unknown>;
}

/**
 * Sampler, steps and options of a stored request with `o`'s changes. Options and steps belong to a
 * sampler: switching sampler starts from that sampler's defaults.
 */
function samplerFields(row: RequestRow, o: { sampler?: unknown; steps?: unknown; options?: unknown }): Record<string, unknown> {
  const changed = o.sampler !== undefined && o.sampler !== row.sampler;
  return {
    sampler: o.sampler ?? row.sampler ?? undefined,
    steps: o.steps ?? (changed ? undefined : (row.steps ?? undefined)),
    options: o.options ?? (changed || row.sampler === null ? {} : jsonRecord(row.options)),
  };
}

function generationDraft(p: GenerationParams, recordTrajectory: boolean): Draft {
  return {
    kind: 'generate',
    model: p.model,
    sampler: p.sampler,
    steps: p.steps,
    label: p.label,
    guidance: p.guidance,
    seed: p.seed,
    count: p.count,
    options: { ...p.options },
    noiseDemo: null,
    edit: null,
    inputImage: null,
    batchKey: batchKeyOf(p),
    recordTrajectory,
  };
}

function noiseDemoDraft(p: NoiseDemoParams, image: Buffer | null): Draft {
  const noiseDemo: Record<string, unknown> = {};
  if (p.timesteps) noiseDemo.timesteps = p.timesteps;
  if (p.denoiseFrom !== undefined) noiseDemo.denoiseFrom = p.denoiseFrom;
  return {
    kind: 'noise_demo',
    model: p.model,
    sampler: null,
    steps: null,
    label: null,
    guidance: null,
    seed: p.seed,
    count: 1,
    options: {},
    noiseDemo,
    edit: null,
    inputImage: image,
    batchKey: soloBatchKey('noise_demo', p.model),
    recordTrajectory: false,
  };
}
