/**
 * /generate's sampler options come from the plugins' declarations: each declared option becomes one optional,
 * typed slash-command option (number with min/max, integer, boolean, or a string with choices). Options of the
 * same name in several plugins share one slash option (the widest range; the engine checks the chosen sampler's).
 * Discord allows 25 options per command and lowercase names: both are checked here, at registration, so a plugin
 * that breaks them fails `discord:register` with a sentence naming it instead of a rejected request.
 */
import type { ChatInputCommandInteraction, SlashCommandOptionsOnlyBuilder } from 'discord.js';
import type { SamplerPlugin } from '../../core/sampler.ts';
import type { OptionSpec } from '../../engine/options.ts';
import { optionSpecs } from '../../engine/options.ts';

/** Discord's limits on a command's options and an option's name, description and choices. */
export const MAX_COMMAND_OPTIONS = 25;
const NAME_RE = /^[-_a-z0-9]{1,32}$/;
const MAX_DESCRIPTION = 100;
const MAX_CHOICES = 25;

/** A slash option shared by every plugin that declares an option of its name. */
interface SharedOption {
  spec: OptionSpec;
  samplers: string[];
}

/** A plugin option Discord cannot offer (limits, clashing names or types). */
export class SlashOptionError extends Error {
  override readonly name = 'SlashOptionError';
}

/** The plugins' options merged by name; `reserved` are /generate's own option names. */
export function sharedOptions(samplers: readonly SamplerPlugin[], reserved: readonly string[]): SharedOption[] {
  const byName = new Map<string, SharedOption>();
  for (const plugin of samplers) {
    for (const spec of optionSpecs(plugin)) {
      if (reserved.includes(spec.name)) throw new SlashOptionError(`sampler ${plugin.name}'s option "${spec.name}" has the name of a /generate option; rename it in plugins/${plugin.name}`);
      if (!NAME_RE.test(spec.name)) throw new SlashOptionError(`sampler ${plugin.name}'s option "${spec.name}" is not a Discord option name (1-32 of a-z, 0-9, - and _)`);
      const seen = byName.get(spec.name);
      if (!seen) byName.set(spec.name, { spec, samplers: [plugin.name] });
      else {
        seen.spec = widen(seen.spec, spec, () => `option "${spec.name}" is a ${typeName(seen.spec)} for ${seen.samplers.join(', ')} but a ${typeName(spec)} for ${plugin.name}: one slash option cannot be both`);
        seen.samplers.push(plugin.name);
      }
    }
  }
  return [...byName.values()];
}

function typeName(spec: OptionSpec): string {
  return spec.type === 'number' ? (spec.integer ? 'integer' : 'number') : spec.type;
}

function widen(a: OptionSpec, b: OptionSpec, clash: () => string): OptionSpec {
  if (typeName(a) !== typeName(b)) throw new SlashOptionError(clash());
  if (a.type === 'enum' && b.type === 'enum') return { ...a, values: [...new Set([...a.values, ...b.values])] };
  if (a.type === 'number' && b.type === 'number') {
    const { min: _min, max: _max, ...rest } = a;
    const min = a.min === undefined || b.min === undefined ? undefined : Math.min(a.min, b.min);
    const max = a.max === undefined || b.max === undefined ? undefined : Math.max(a.max, b.max);
    return { ...rest, ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
  }
  return a;
}

function describe(option: SharedOption): string {
  const text = `${option.samplers.join(', ')}: ${option.spec.description}`;
  return text.length <= MAX_DESCRIPTION ? text : `${text.slice(0, MAX_DESCRIPTION - 1)}…`;
}

/** Adds one optional slash option per shared option; throws SlashOptionError when the command would exceed 25. */
export function addSamplerOptions(builder: SlashCommandOptionsOnlyBuilder, samplers: readonly SamplerPlugin[], reserved: readonly string[]): void {
  const options = sharedOptions(samplers, reserved);
  const total = builder.options.length + options.length;
  if (total > MAX_COMMAND_OPTIONS) {
    throw new SlashOptionError(
      `/generate would have ${total} options but Discord allows ${MAX_COMMAND_OPTIONS}: the sampler plugins declare ${options.length} (${options.map((o) => o.spec.name).join(', ')}) ` +
        `beside ${builder.options.length} of its own; remove a plugin from plugins/ or give its options shared names`,
    );
  }
  for (const option of options) {
    const { spec } = option;
    const description = describe(option);
    switch (spec.type) {
      case 'boolean':
        builder.addBooleanOption((o) => o.setName(spec.name).setDescription(description));
        break;
      case 'enum':
        if (spec.values.length > MAX_CHOICES) throw new SlashOptionError(`option "${spec.name}" has ${spec.values.length} values; Discord offers at most ${MAX_CHOICES} choices`);
        builder.addStringOption((o) => o.setName(spec.name).setDescription(description).addChoices(...spec.values.map((v) => ({ name: v, value: v }))));
        break;
      case 'number': {
        // Discord's bounds are inclusive; an exclusive bound (e.g. > 0) is left to the engine's check.
        const bound = <T extends { setMinValue(n: number): T; setMaxValue(n: number): T }>(o: T): T => {
          let r = o;
          if (spec.min !== undefined) r = r.setMinValue(spec.min);
          if (spec.max !== undefined) r = r.setMaxValue(spec.max);
          return r;
        };
        if (spec.integer) builder.addIntegerOption((o) => bound(o.setName(spec.name).setDescription(description)));
        else builder.addNumberOption((o) => bound(o.setName(spec.name).setDescription(description)));
        break;
      }
    }
  }
}

/** The sampler options the user filled in, by name, whatever sampler they belong to (the engine refuses strays). */
export function samplerOptionsFrom(interaction: ChatInputCommandInteraction, samplers: readonly SamplerPlugin[]): Record<string, unknown> {
  const names = new Set(samplers.flatMap((p) => optionSpecs(p).map((s) => s.name)));
  const given: Record<string, unknown> = {};
  for (const name of names) {
    const value = interaction.options.get(name)?.value;
    if (value !== undefined && value !== null) given[name] = value;
  }
  return given;
}
