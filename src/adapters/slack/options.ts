/**
 * Slash command text: `key:value` (or `key=value`) tokens separated by spaces, validated with zod.
 * Ranges that depend on the model or sampler (steps, eta) are checked by the service (engine.validate).
 */
import { z } from 'zod';
import { MAX_SEED } from '../../core/rng.ts';
import { MAX_COUNT } from '../../engine/index.ts';

/** Bad command text, with a message saying what to fix. */
export class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

const int = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));

const name = (what: string) => z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, `${what} must be a name like tiny or ddim`);

export const generateOptionsSchema = z
  .object({
    model: name('model').optional(),
    sampler: name('sampler').optional(),
    steps: int('steps', 1, 10_000).optional(),
    seed: int('seed', 0, MAX_SEED).optional(),
    eta: z
      .string()
      .regex(/^-?(\d+(\.\d*)?|\.\d+)$/, 'eta must be a number such as 0 or 0.5')
      .transform(Number)
      .optional(),
    count: int('count', 1, MAX_COUNT).optional(),
  })
  .strict();

export type GenerateOptions = z.infer<typeof generateOptionsSchema>;

export const noiseDemoOptionsSchema = z
  .object({
    model: name('model').optional(),
    seed: int('seed', 0, MAX_SEED).optional(),
    timesteps: z
      .string()
      .regex(/^\d+(,\d+)*$/, 'timesteps must be comma-separated whole numbers, e.g. 0,100,500,999')
      .transform((s) => s.split(',').map(Number))
      .optional(),
    /** Also run the model back from x_t at this timestep and show the reconstruction. */
    denoise_from: int('denoise_from', 1, 100_000).optional(),
  })
  .strict();

export type NoiseDemoOptions = z.infer<typeof noiseDemoOptionsSchema>;

/** Splits `model:tiny steps:20` into { model: 'tiny', steps: '20' }; `help` yields null. */
export function tokenize(text: string, allowed: readonly string[]): Record<string, string> | null {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  if (tokens.length === 1 && /^(help|-h|--help|\?)$/i.test(tokens[0]!)) return null;
  const out: Record<string, string> = {};
  for (const token of tokens) {
    const match = /^([A-Za-z_]+)[:=](.*)$/.exec(token);
    if (!match) throw new OptionsError(`I did not understand "${token}". Write options as key:value, e.g. steps:20 (keys: ${allowed.join(', ')}).`);
    const key = match[1]!.toLowerCase();
    const value = match[2]!;
    if (!allowed.includes(key)) throw new OptionsError(`Unknown option "${key}". Use ${allowed.map((k) => `${k}:`).join(' ')}`);
    if (value === '') throw new OptionsError(`"${key}:" needs a value, e.g. ${key}:${example(key)}`);
    if (key in out) throw new OptionsError(`"${key}" is given twice.`);
    out[key] = value;
  }
  return out;
}

function example(key: string): string {
  return { model: 'tiny', sampler: 'ddim', steps: '20', seed: '42', eta: '0', count: '4', timesteps: '0,250,500,999', denoise_from: '500' }[key] ?? 'value';
}

function parseWith<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, text: string, allowed: readonly string[]): T | null {
  const raw = tokenize(text, allowed);
  if (raw === null) return null;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new OptionsError(parsed.error.issues[0]!.message);
  return parsed.data;
}

/** null = the user asked for help. */
export function parseGenerateText(text: string): GenerateOptions | null {
  return parseWith(generateOptionsSchema, text, ['model', 'sampler', 'steps', 'seed', 'eta', 'count']);
}

export function parseNoiseDemoText(text: string): NoiseDemoOptions | null {
  return parseWith(noiseDemoOptionsSchema, text, ['model', 'seed', 'timesteps', 'denoise_from']);
}
