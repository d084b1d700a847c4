/**
 * Sampler options as data. A plugin declares its options once, as a strict zod object whose fields each
 * carry `.describe('one line')`; `optionSpecs` derives from it the serialisable description every front end
 * builds its inputs from (CLI `--option`, the playground's fields, Slack's modal, Discord's slash options).
 * Nothing outside a plugin's folder names one of its options: adapters only iterate these specs.
 */
import { z } from 'zod';
import type { SamplerPlugin } from '../core/sampler.ts';
import { ValidationError } from './errors.ts';

/** One per-request option of a sampler, as JSON (GET /api/samplers serves it as is). */
export type OptionSpec =
  | (OptionBase & {
      readonly type: 'number';
      /** Whole numbers only. */
      readonly integer: boolean;
      readonly min?: number;
      readonly max?: number;
      /** The bound itself is not allowed (zod's `positive()` is min 0, exclusive). */
      readonly minExclusive?: boolean;
      readonly maxExclusive?: boolean;
      readonly default?: number;
    })
  | (OptionBase & { readonly type: 'boolean'; readonly default?: boolean })
  | (OptionBase & { readonly type: 'enum'; readonly values: readonly string[]; readonly default?: string });

interface OptionBase {
  readonly name: string;
  /** One line for users (the zod field's `.describe`). */
  readonly description: string;
}

/** A plugin whose options cannot be described (not a zod object, a field without a description or of an unsupported type). */
export class OptionDeclarationError extends Error {
  override readonly name = 'OptionDeclarationError';
}

const cache = new WeakMap<Pick<SamplerPlugin, 'options'>, readonly OptionSpec[]>();

/** The plugin's options, in declaration order. Throws OptionDeclarationError for a declaration front ends could not offer. */
export function optionSpecs(plugin: Pick<SamplerPlugin, 'options'>): readonly OptionSpec[] {
  let specs = cache.get(plugin);
  if (!specs) {
    specs = describeSchema(plugin.options);
    cache.set(plugin, specs);
  }
  return specs;
}

function describeSchema(schema: z.ZodTypeAny): OptionSpec[] {
  const object = unwrapEffects(schema);
  if (!(object instanceof z.ZodObject)) throw new OptionDeclarationError('options must be a zod object (z.object({...}).strict())');
  return Object.entries(object.shape as Record<string, z.ZodTypeAny>).map(([name, field]) => describeField(name, field));
}

function unwrapEffects(schema: z.ZodTypeAny): z.ZodTypeAny {
  return schema instanceof z.ZodEffects ? unwrapEffects(schema.innerType()) : schema;
}

function describeField(name: string, field: z.ZodTypeAny): OptionSpec {
  const description = field.description;
  if (!description) throw new OptionDeclarationError(`option ${name} needs a one-line .describe('...')`);
  let inner = field;
  let fallback: unknown;
  for (;;) {
    if (inner instanceof z.ZodDefault) {
      fallback = (inner._def as { defaultValue: () => unknown }).defaultValue();
      inner = inner._def.innerType as z.ZodTypeAny;
    } else if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) {
      inner = inner.unwrap() as z.ZodTypeAny;
    } else break;
  }
  const base = { name, description };
  if (inner instanceof z.ZodNumber) {
    let spec: { -readonly [K in keyof Extract<OptionSpec, { type: 'number' }>]: Extract<OptionSpec, { type: 'number' }>[K] } = { ...base, type: 'number', integer: false };
    for (const check of inner._def.checks) {
      if (check.kind === 'int') spec.integer = true;
      else if (check.kind === 'min') spec = { ...spec, min: check.value, ...(check.inclusive ? {} : { minExclusive: true }) };
      else if (check.kind === 'max') spec = { ...spec, max: check.value, ...(check.inclusive ? {} : { maxExclusive: true }) };
    }
    return typeof fallback === 'number' ? { ...spec, default: fallback } : spec;
  }
  if (inner instanceof z.ZodBoolean) return typeof fallback === 'boolean' ? { ...base, type: 'boolean', default: fallback } : { ...base, type: 'boolean' };
  if (inner instanceof z.ZodEnum) {
    const values = [...(inner.options as string[])];
    return typeof fallback === 'string' ? { ...base, type: 'enum', values, default: fallback } : { ...base, type: 'enum', values };
  }
  throw new OptionDeclarationError(`option ${name}: only numbers, booleans and enums of strings can be offered to users`);
}

/** What an option accepts, for error messages and help: "a number in 0..1", "true or false", "one of a, b". */
export function allowedValues(spec: OptionSpec): string {
  switch (spec.type) {
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
    case 'number': {
      const kind = spec.integer ? 'an integer' : 'a number';
      if (spec.min !== undefined && spec.max !== undefined && !spec.minExclusive && !spec.maxExclusive) return `${kind} in ${spec.min}..${spec.max}`;
      const bounds = [
        spec.min === undefined ? null : `${spec.minExclusive ? '>' : '>='} ${spec.min}`,
        spec.max === undefined ? null : `${spec.maxExclusive ? '<' : '<='} ${spec.max}`,
      ].filter((b) => b !== null);
      return bounds.length > 0 ? `${kind} ${bounds.join(' and ')}` : kind;
    }
  }
}

/** "name (a number in 0..1, default 0): what it does" — one line of help per option. */
export function optionHelp(spec: OptionSpec): string {
  const fallback = spec.default === undefined ? '' : `, default ${String(spec.default)}`;
  return `${spec.name} (${allowedValues(spec)}${fallback}): ${spec.description}`;
}

/** The names a sampler takes, for "its options: ..." in errors. */
export function optionNames(plugin: SamplerPlugin): string {
  const names = optionSpecs(plugin).map((s) => s.name);
  return names.length > 0 ? `its options: ${names.join(', ')}` : 'it takes no options';
}

/**
 * A value typed as text (CLI, Slack, a form field) converted to the option's type. Range checks stay with the
 * plugin's schema (engine.validate), which reports them through `optionIssue`.
 */
export function parseOptionText(plugin: SamplerPlugin, name: string, text: string): number | boolean | string {
  const spec = optionSpecs(plugin).find((s) => s.name === name);
  if (!spec) throw unknownOption(plugin, name);
  const value = text.trim();
  const bad = () => new ValidationError(`options.${name}`, `option ${name} must be ${allowedValues(spec)} (got "${text}")`);
  switch (spec.type) {
    case 'boolean':
      if (value === 'true' || value === 'false') return value === 'true';
      throw bad();
    case 'enum':
      if (spec.values.includes(value)) return value;
      throw bad();
    case 'number': {
      const n = value === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(n)) throw bad();
      return n;
    }
  }
}

export function unknownOption(plugin: SamplerPlugin, name: string): ValidationError {
  return new ValidationError(`options.${name}`, `sampler ${plugin.name} takes no option "${name}"; ${optionNames(plugin)}`);
}

/** A failed parse of `plugin.options` as a ValidationError naming the option and what it accepts. */
export function optionIssue(plugin: SamplerPlugin, error: z.ZodError, input: Readonly<Record<string, unknown>>): ValidationError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') return unknownOption(plugin, issue.keys[0]!);
  const name = String(issue.path[0] ?? '');
  const spec = optionSpecs(plugin).find((s) => s.name === name);
  if (!spec) return new ValidationError(name ? `options.${name}` : 'options', `options: ${issue.message} (sampler ${plugin.name})`);
  // A rule across options (a refinement) says more than the range; a wrong value gets the range.
  if (issue.code === 'custom') return new ValidationError(`options.${name}`, `option ${name} for sampler ${plugin.name}: ${issue.message}`);
  const got = JSON.stringify(input[name]) ?? 'nothing';
  return new ValidationError(`options.${name}`, `option ${name} must be ${allowedValues(spec)} for sampler ${plugin.name} (got ${got})`);
}

/**
 * Stored options as "name value" pairs sorted by name, for captions, embeds and summary lines: Postgres' jsonb
 * keeps keys in its own order (shortest first), so a request reads the same before and after it is stored.
 */
export function optionPairs(options: Readonly<Record<string, unknown>> | null | undefined): [string, string][] {
  return Object.entries(options ?? {})
    .filter(([, v]) => v !== undefined && v !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
}

/**
 * Options typed as `name=value` text (CLI, Slack) converted with the chosen sampler's declarations. With an unknown
 * sampler the text is passed on as is: the engine then reports the sampler, which is the thing to fix first.
 */
export function optionsFromText(plugin: SamplerPlugin | undefined, entries: readonly (readonly [string, string])[]): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [name, text] of entries) {
    if (Object.hasOwn(options, name)) throw new ValidationError(`options.${name}`, `option ${name} is given twice`);
    options[name] = plugin ? parseOptionText(plugin, name, text) : text;
  }
  return options;
}
