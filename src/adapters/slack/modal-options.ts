/**
 * The modal's fields for the chosen sampler's own options, built from the plugin's declarations (one optional
 * block per option, block_id `option:<name>`), and their values read back, typed by the same declarations.
 * Changing the sampler select updates the view (views/generate-modal.ts), so the fields always match it.
 */
import type { types } from '@slack/bolt';
import type { SamplerPlugin } from '../../core/sampler.ts';
import { ValidationError } from '../../engine/errors.ts';
import { allowedValues, optionSpecs, parseOptionText } from '../../engine/options.ts';

const PREFIX = 'option:';
const ACTION = 'value';

/** The block of a sampler option, e.g. for an error next to it. */
export function optionBlockId(name: string): string {
  return `${PREFIX}${name}`;
}

function choice(value: string, text = value): types.PlainTextOption {
  return { text: { type: 'plain_text', text: text.slice(0, 75) }, value };
}

export function optionBlocks(plugin: SamplerPlugin | undefined): types.InputBlock[] {
  if (!plugin) return [];
  return optionSpecs(plugin).map((spec) => {
    const fallback = spec.default === undefined ? '' : `, default ${String(spec.default)}`;
    const hint = `${spec.description} (${allowedValues(spec)}${fallback}). Leave empty for the default.`;
    let element: types.InputBlock['element'];
    if (spec.type === 'number') {
      element = {
        type: 'number_input',
        action_id: ACTION,
        is_decimal_allowed: !spec.integer,
        // Slack's bounds are inclusive; an exclusive one is checked on submission.
        ...(spec.min !== undefined && !spec.minExclusive ? { min_value: String(spec.min) } : {}),
        ...(spec.max !== undefined && !spec.maxExclusive ? { max_value: String(spec.max) } : {}),
      };
    } else {
      const values = spec.type === 'boolean' ? ['true', 'false'] : [...spec.values];
      element = {
        type: 'static_select',
        action_id: ACTION,
        options: values.map((v) => choice(v)),
        ...(spec.default !== undefined ? { initial_option: choice(String(spec.default)) } : {}),
      };
    }
    return {
      type: 'input',
      block_id: optionBlockId(spec.name),
      optional: true,
      label: { type: 'plain_text', text: `${plugin.name}: ${spec.name}`.slice(0, 2000) },
      hint: { type: 'plain_text', text: hint.slice(0, 2000) },
      element,
    };
  });
}

/** The filled-in option blocks of a submitted state, typed by the sampler's declarations; errors keyed by block. */
export function optionValues(
  plugin: SamplerPlugin | undefined,
  values: Readonly<Record<string, unknown>>,
  errors: Record<string, string>,
): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [blockId, block] of Object.entries(values)) {
    if (!blockId.startsWith(PREFIX)) continue;
    const name = blockId.slice(PREFIX.length);
    const state = (block as Record<string, { value?: string | null; selected_option?: { value: string } | null } | undefined>)[ACTION];
    const text = state?.selected_option?.value ?? state?.value;
    if (text === null || text === undefined || text.trim() === '') continue;
    if (!plugin) {
      options[name] = text;
      continue;
    }
    try {
      options[name] = parseOptionText(plugin, name, text);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      errors[blockId] = error.message;
    }
  }
  return options;
}
