/**
 * Slash command text: `key:value` (or `key=value`) tokens separated by spaces, validated with zod; a
 * value with spaces goes in double quotes (`label:"Food & Drink"`). Besides the command's own keys, any
 * option a sampler plugin declares is accepted (`<option>:<value>`) and typed by the chosen sampler's
 * declaration. Ranges that depend on the model or sampler (steps, options, which labels) are checked by
 * the service (engine.validate).
 */
import { z } from 'zod';
import { MAX_SEED } from '../../core/rng.ts';
import { MAX_GUIDANCE } from '../../engine/conditioning.ts';
import type { SamplerPlugin } from '../../core/sampler.ts';
import { DEFAULT_SAMPLER, MAX_COUNT } from '../../engine/index.ts';
import { optionSpecs, optionsFromText } from '../../engine/options.ts';

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

const decimal = (what: string, examples: string) => z.string().regex(/^-?(\d+(\.\d*)?|\.\d+)$/, `${what} must be a number such as ${examples}`).transform(Number);

export const generateOptionsSchema = z
  .object({
    model: name('model').optional(),
    /** A class name of a class-conditional model (the engine resolves case and unique prefixes); shown after the model, as in captions. */
    label: z.string().max(200, 'label must be at most 200 characters').optional(),
    guidance: decimal('guidance', '3 or 1.5')
      .pipe(z.number().min(0, 'guidance must be at least 0').max(MAX_GUIDANCE, `guidance must be at most ${MAX_GUIDANCE}`))
      .optional(),
    sampler: name('sampler').optional(),
    steps: int('steps', 1, 10_000).optional(),
    seed: int('seed', 0, MAX_SEED).optional(),
    count: int('count', 1, MAX_COUNT).optional(),
  })
  .strict();

/** The command's own keys, and the sampler's options when any were given. */
export type GenerateOptions = z.infer<typeof generateOptionsSchema> & { readonly options?: Readonly<Record<string, unknown>> };

const GENERATE_KEYS = ['model', 'sampler', 'steps', 'seed', 'count', 'label', 'guidance'] as const;

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

/** `/interpolate`: two seeds (seed_a, seed_b), or two labels at one seed; frames' range is the service's to check. */
export const interpolateOptionsSchema = generateOptionsSchema
  .omit({ count: true })
  .extend({
    seed_a: int('seed_a', 0, MAX_SEED).optional(),
    seed_b: int('seed_b', 0, MAX_SEED).optional(),
    label_a: z.string().max(200, 'label_a must be at most 200 characters').optional(),
    label_b: z.string().max(200, 'label_b must be at most 200 characters').optional(),
    frames: int('frames', 0, 1000).optional(),
  })
  .strict()
  .refine((o) => (o.seed_a !== undefined || o.seed_b !== undefined) !== (o.label_a !== undefined || o.label_b !== undefined), {
    message: 'Give seed_a and seed_b (two seeds), or label_a and label_b (two labels at one seed, class-conditional models).',
  });

export type InterpolateOptions = z.infer<typeof interpolateOptionsSchema>;

export function parseInterpolateText(text: string): InterpolateOptions | null {
  return parseWith(interpolateOptionsSchema, text, ['seed_a', 'seed_b', 'frames', 'model', 'sampler', 'steps', 'label', 'label_a', 'label_b', 'seed', 'guidance']);
}

/**
 * One option: key, `:` or `=`, then a value in double quotes (straight, or the curly ones Slack clients
 * type) or without spaces and quotes; anything else is one bad token up to the next space.
 */
const TOKEN = /([A-Za-z_]+)[:=](?:["“]([^"“”]*)["”]|([^\s"“”]*))(?=\s|$)|\S+/gu;

/** Slack sends &, < and > in message and command text as HTML entities. */
function unescapeSlack(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Splits `model:tiny steps:20 label:"Food & Drink"` into { model: 'tiny', steps: '20', label: 'Food & Drink' }; `help` yields null. */
export function tokenize(text: string, allowed: readonly string[]): Record<string, string> | null {
  if (/^(help|-h|--help|\?)$/i.test(text.trim())) return null;
  const out: Record<string, string> = {};
  for (const match of text.matchAll(TOKEN)) {
    const token = match[0];
    if (match[1] === undefined) {
      if (/["“”]/.test(token)) throw new OptionsError(`The quotes in "${token}" do not match. Quote a value with spaces as a whole, e.g. label:"two words".`);
      throw new OptionsError(`I did not understand "${token}". Write options as key:value, e.g. steps:20, with a value that has spaces in quotes (keys: ${allowed.join(', ')}).`);
    }
    const key = match[1].toLowerCase();
    const value = unescapeSlack(match[2] ?? match[3]!).trim();
    if (!allowed.includes(key)) throw new OptionsError(`Unknown option "${key}". Use ${allowed.map((k) => `${k}:`).join(' ')}`);
    if (value === '') throw new OptionsError(`"${key}:" needs a value, e.g. ${key}:${example(key)}`);
    if (key in out) throw new OptionsError(`"${key}" is given twice.`);
    out[key] = value;
  }
  return out;
}

function example(key: string): string {
  return { model: 'tiny', sampler: 'ddim', steps: '20', seed: '42', count: '4', label: '7', guidance: '3', timesteps: '0,250,500,999', denoise_from: '500' }[key] ?? 'value';
}

function parseWith<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, text: string, allowed: readonly string[]): T | null {
  const raw = tokenize(text, allowed);
  if (raw === null) return null;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new OptionsError(parsed.error.issues[0]!.message);
  return parsed.data;
}

/** null = the user asked for help. `samplers` are the installed plugins, whose declared options the text may set. */
export function parseGenerateText(text: string, samplers: readonly SamplerPlugin[]): GenerateOptions | null {
  const optionNames = [...new Set(samplers.flatMap((p) => optionSpecs(p).map((s) => s.name)))].filter((n) => !(GENERATE_KEYS as readonly string[]).includes(n));
  const raw = tokenize(text, [...GENERATE_KEYS, ...optionNames]);
  if (raw === null) return null;
  const own = Object.fromEntries(Object.entries(raw).filter(([k]) => !optionNames.includes(k)));
  const parsed = generateOptionsSchema.safeParse(own);
  if (!parsed.success) throw new OptionsError(parsed.error.issues[0]!.message);
  const given = Object.entries(raw).filter(([k]) => optionNames.includes(k));
  if (given.length === 0) return parsed.data;
  const plugin = samplers.find((p) => p.name === (parsed.data.sampler ?? DEFAULT_SAMPLER));
  return { ...parsed.data, options: optionsFromText(plugin, given) };
}

/** `/invert`: the sampling options of /generate without seed and count (an inversion draws nothing at random). */
export const invertOptionsSchema = generateOptionsSchema.omit({ seed: true, count: true }).strict();

export type InvertOptions = z.infer<typeof invertOptionsSchema>;

export function parseInvertText(text: string): InvertOptions | null {
  return parseWith(invertOptionsSchema, text, ['model', 'sampler', 'steps', 'label', 'guidance']);
}

/** `/compare`: what every run shares; each sampler runs at its own default steps unless `steps` is given. */
export const compareOptionsSchema = generateOptionsSchema.pick({ model: true, seed: true, steps: true, label: true, guidance: true }).strict();

export type CompareOptions = z.infer<typeof compareOptionsSchema>;

export function parseCompareText(text: string): CompareOptions | null {
  return parseWith(compareOptionsSchema, text, ['model', 'seed', 'steps', 'label', 'guidance']);
}

export function parseNoiseDemoText(text: string): NoiseDemoOptions | null {
  return parseWith(noiseDemoOptionsSchema, text, ['model', 'seed', 'timesteps', 'denoise_from']);
}
