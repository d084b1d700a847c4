/**
 * Untrusted input for variations, interpolation and inversion: their own fields, checked here with errors
 * naming them, and the generation fields (model, sampler, steps, options, label, guidance) checked by the
 * engine's `validate` as for any request.
 */
import { z } from 'zod';
import { MAX_SEED } from '../core/rng.ts';
import { ValidationError } from './errors.ts';
import type { GenerationParams, ImageInterpolationParams, InterpolationEndsParams, InterpolationParams, InversionParams, LabelInterpolationParams, VariationParams } from './types.ts';

export const MIN_STRENGTH = 0.1;
export const MAX_STRENGTH = 0.9;
export const DEFAULT_STRENGTH = 0.5;
/**
 * The chat buttons' Vary (subtle) and Vary (strong), as Midjourney names its two: how much of the schedule is
 * redone, so subtle keeps the composition and strong keeps little more than the colours; plain Vary is DEFAULT_STRENGTH.
 */
export const VARY_PRESETS = { subtle: 0.3, strong: 0.7 } as const;
export type VaryPreset = keyof typeof VARY_PRESETS;
export const MAX_FRAMES = 16;
export const DEFAULT_FRAMES = 8;

export type Validate = (input: unknown) => GenerationParams;

const seed = z.number().int().min(0).max(MAX_SEED);
const variationFields = z.object({ strength: z.number().min(MIN_STRENGTH).max(MAX_STRENGTH).default(DEFAULT_STRENGTH) });
const frames = z.number().int().min(2).max(MAX_FRAMES).default(DEFAULT_FRAMES);
const interpolationFields = z.object({ seed_a: seed, seed_b: seed, frames });
const imageInterpolationFields = z.object({ seed_b: seed, frames });
const label = z.union([z.string().min(1).max(200), z.number().int()]);
const labelInterpolationFields = z.object({ label_a: label, label_b: label, frames });

function parse<T extends z.ZodTypeAny>(schema: T, input: Record<string, unknown>): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'request';
  throw new ValidationError(field, `${field}: ${issue.message}`);
}

/** Splits `keys` off an input object; anything else stays for `validate`. */
function split(input: unknown, keys: readonly string[]): [Record<string, unknown>, Record<string, unknown>] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ValidationError('request', 'request: expected an object');
  const own: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) (keys.includes(k) ? own : rest)[k] = v;
  return [own, rest];
}

function refuse(rest: Record<string, unknown>, keys: readonly string[], why: string): void {
  for (const key of keys) if (key in rest) throw new ValidationError(key, `${key}: ${why}`);
}

/** Generation fields plus `strength` (0.1..0.9, default 0.5); `seed` is the new seed of the added noise. */
export function validateVariation(validate: Validate, input: unknown): VariationParams {
  const [own, rest] = split(input, ['strength']);
  const { strength } = parse(variationFields, own);
  const params = validate(rest);
  // diffusers' get_timesteps runs floor(steps x strength) steps; none would hand the image back unchanged.
  if (Math.floor(params.steps * strength) < 1) {
    throw new ValidationError('strength', `strength: ${strength} of ${params.steps} steps is no denoising step; raise steps or strength`);
  }
  return { ...params, strength };
}

/** Generation fields but `seed_a`, `seed_b` and `frames` (2..16, default 8) instead of `seed` and `count`. */
export function validateInterpolation(validate: Validate, input: unknown): InterpolationParams {
  const [own, rest] = split(input, ['seed_a', 'seed_b', 'frames']);
  refuse(rest, ['seed', 'count'], 'interpolation takes seed_a, seed_b and frames instead');
  const fields = parse(interpolationFields, own);
  const { seed: _seed, count: _count, ...params } = validate(rest);
  return { ...params, seedA: fields.seed_a, seedB: fields.seed_b, frames: fields.frames };
}

/** Like validateInterpolation, but the first end is an image (inverted), so there is no `seed_a`. */
export function validateImageInterpolation(validate: Validate, input: unknown): ImageInterpolationParams {
  const [own, rest] = split(input, ['seed_b', 'frames']);
  refuse(rest, ['seed_a'], 'the first end is the image; give seed_b for the other end');
  refuse(rest, ['seed', 'count'], 'interpolation from an image takes seed_b and frames instead');
  const fields = parse(imageInterpolationFields, own);
  const { seed: _seed, count: _count, ...params } = validate(rest);
  return { ...params, seedB: fields.seed_b, frames: fields.frames };
}

/**
 * Generation fields and `frames` without any seed, for an interpolation whose ends (a seed or an image each)
 * are given apart, as the CLI's --seed-a/--from-a and --seed-b/--from-b are.
 */
export function validateInterpolationEnds(validate: Validate, input: unknown): InterpolationEndsParams {
  const [own, rest] = split(input, ['frames']);
  refuse(rest, ['seed', 'seed_a', 'seed_b', 'count'], 'the two ends of this interpolation are given apart from its settings');
  const fields = parse(z.object({ frames }), own);
  const { seed: _seed, count: _count, ...params } = validate(rest);
  return { ...params, frames: fields.frames };
}

/** The label of `input` validated as the generation field, reported under `field`. */
function withLabel(validate: Validate, input: Record<string, unknown>, value: unknown, field: string): GenerationParams {
  try {
    return validate({ ...input, label: value });
  } catch (err) {
    if (err instanceof ValidationError && err.field === 'label') throw new ValidationError(field, `${field}: ${err.message}`);
    throw err;
  }
}

/** Generation fields but `label_a`, `label_b` and `frames` (2..16, default 8) instead of `label` and `count`. */
export function validateLabelInterpolation(validate: Validate, input: unknown): LabelInterpolationParams {
  const [own, rest] = split(input, ['label_a', 'label_b', 'frames']);
  refuse(rest, ['label', 'count'], 'label interpolation takes label_a, label_b and frames instead');
  const fields = parse(labelInterpolationFields, own);
  const { label: labelA, guidance, count: _count, ...params } = withLabel(validate, rest, fields.label_a, 'label_a');
  const labelB = withLabel(validate, { ...rest, seed: params.seed }, fields.label_b, 'label_b').label;
  return { ...params, labelA: labelA!, labelB: labelB!, guidance: guidance!, frames: fields.frames };
}

/** Generation fields without `seed` and `count`: inversion draws no noise and takes one image. */
export function validateInversion(validate: Validate, input: unknown): InversionParams {
  const [, rest] = split(input, []);
  refuse(rest, ['seed', 'count'], 'inversion is deterministic and takes one image');
  const { seed: _seed, count: _count, ...params } = validate(rest);
  return params;
}
