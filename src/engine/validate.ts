/**
 * Generation parameters from untrusted input: the schema every front end's input passes through,
 * the engine's defaults, and a named ValidationError for the first bad field.
 */
import { z } from 'zod';
import { MAX_SEED, randomSeed } from '../core/rng.ts';
import type { InstalledModel } from '../model/registry.ts';
import { MAX_GUIDANCE, resolveLabel } from './conditioning.ts';
import { ValidationError } from './errors.ts';
import { optionIssue } from './options.ts';
import type { EngineParts } from './prepare.ts';
import type { GenerationParams } from './types.ts';

export const DEFAULT_SAMPLER = 'ddim';
export const MAX_COUNT = 16;

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

/**
 * Turns untrusted input into complete parameters, filling defaults (`defaultModel`, ddim, the
 * sampler's default steps, a random seed, one image; with a label, the model's default guidance).
 * `options` are the sampler's own (see options.ts); a bad one is named with the values it accepts.
 */
export function validateGeneration(parts: Pick<EngineParts, 'model' | 'sampler'>, defaultModel: InstalledModel | undefined, input: unknown): GenerationParams {
  const parsed = rawParamsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'request');
    throw new ValidationError(field, `${field}: ${issue.message}`);
  }
  const raw = parsed.data;
  if (!raw.model && !defaultModel) throw new ValidationError('model', 'no models are installed');
  const model = parts.model(raw.model ?? defaultModel!.name);
  const { label, guidance } = validateConditioning(model, raw.label, raw.guidance);
  const plugin = parts.sampler(raw.sampler ?? DEFAULT_SAMPLER);
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

function validateConditioning(model: InstalledModel, label: string | number | undefined, guidance: number | undefined) {
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
