/**
 * Submissions: parameters validated once (the engine's checks, a ValidationError naming the
 * field), then stored by store-request.ts. Reroll and replay are resubmit.ts; the image an edit
 * starts from, source-image.ts.
 */
import { z } from 'zod';
import { MAX_SEED } from '../core/rng.ts';
import type { Request as RequestRow } from '../db/generated/client.ts';
import { generationDraft, noiseDemoDraft, type Draft } from './drafts.ts';
import { imageInterpolationDraft, interpolationDraft, inversionDraft, variationDraft } from './edits.ts';
import type { GenerationParams } from './engine-port.ts';
import { rawObject, samplerFields } from './request-params.ts';
import { resubmit } from './resubmit.ts';
import type {
  ReplayOverrides,
  SubmitGenerationInput,
  SubmitInterpolationInput,
  SubmitInversionInput,
  SubmitNoiseDemoInput,
  SubmitVariationInput,
  Submitted,
} from './service.ts';
import { decodeUpload, imageInput, uploadCheck } from './source-image.ts';
import { randomSeed, storeRequest, type SubmitDeps } from './store-request.ts';
import { ValidationError, type Json, type Requester } from './types.ts';

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
    return this.store(input.requester, input.replyTo, null, draft, image && decodeUpload(this.deps, image, parsed.model));
  }

  /**
   * A variation of an image of a stored request (whose model, sampler, steps, options, label and guidance
   * it keeps unless the input names others) or of an upload; the image's bytes are stored with it.
   */
  async variation(input: SubmitVariationInput): Promise<Submitted> {
    const { raw, image, from, derivedFrom } = await imageInput(this.deps, input.source, input.params);
    const params = this.deps.engine.validateVariation(raw);
    return this.store(input.requester, input.replyTo, derivedFrom, variationDraft(params, from, image), uploadCheck(this.deps, input.source, params.model));
  }

  /**
   * Between two seeds (seed_a, seed_b) or, for conditional models, two labels at one seed (label_a, label_b);
   * with `from`, between that image (inverted to its x_T by the worker) and seed_b.
   */
  async interpolation(input: SubmitInterpolationInput): Promise<Submitted> {
    if (input.from) {
      const { raw, image, from, derivedFrom } = await imageInput(this.deps, input.from, input.params);
      const params = this.deps.engine.validateImageInterpolation(raw);
      return this.store(input.requester, input.replyTo, derivedFrom, imageInterpolationDraft(params, from, image), uploadCheck(this.deps, input.from, params.model));
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
    const { raw, image, from, derivedFrom } = await imageInput(this.deps, input.source, input.params);
    const params = this.deps.engine.validateInversion(raw);
    return this.store(input.requester, input.replyTo, derivedFrom, inversionDraft(params, from, image), uploadCheck(this.deps, input.source, params.model));
  }

  /** The one validation of generation parameters (the engine's rules); throws ValidationError naming the field. */
  check(raw: unknown): GenerationParams {
    return this.deps.engine.validate(raw);
  }

  /** Reroll (a new seed) or replay (the stored seed, with overrides) of a stored request. */
  resubmit(row: RequestRow, requester: Requester, replyTo: Json, newSeed: boolean, o: ReplayOverrides): Promise<Submitted> {
    return resubmit(this.deps, row, requester, replyTo, newSeed, o);
  }

  private store(requester: Requester, replyTo: Json, derivedFromId: string | null, draft: Draft, afterLimits?: () => Promise<void>): Promise<Submitted> {
    return storeRequest(this.deps, requester, replyTo, derivedFromId, draft, afterLimits);
  }
}
