/**
 * The "Generate an image" modal: model, sampler, steps, seed (suggested by the message), the chosen
 * sampler's own options (modal-options.ts; the view is updated when the sampler changes), and with
 * a class-conditional model installed a label and a guidance scale. The message it came from travels
 * in private_metadata; submissions are parsed with zod. Every block keeps its block_id and action_id
 * whatever the sampler: Slack keeps what the user typed into an input across views.update only then.
 */
import type { types } from '@slack/bolt';
import { z } from 'zod';
import { MAX_SEED } from '../../core/rng.ts';
import { MAX_GUIDANCE } from '../../engine/conditioning.ts';
import type { SamplerPlugin } from '../../core/sampler.ts';
import { DEFAULT_SAMPLER } from '../../engine/index.ts';
import type { Catalog } from '../../engine/catalog.ts';
import { optionBlocks, optionValues } from './modal-options.ts';

export const GENERATE_MODAL = 'generate_modal';
export const FIELDS = ['model', 'sampler', 'steps', 'seed', 'label', 'guidance'] as const;
/** The sampler select's block: choosing in it updates the view to that sampler's option fields. */
export const SAMPLER_BLOCK = 'sampler';
export type ModalField = (typeof FIELDS)[number];
const ACTION = 'value';

export const modalMetadataSchema = z.object({
  channel: z.string().min(1),
  messageTs: z.string().min(1),
  /** Thread to answer in: the message's thread, or the message itself. */
  threadTs: z.string().min(1),
});
export type ModalMetadata = z.infer<typeof modalMetadataSchema>;

function option(value: string, text = value): types.PlainTextOption {
  return { text: { type: 'plain_text', text: text.slice(0, 75) }, value };
}

/** The label select's "no label" choice (an unconditional sample). */
export const NO_LABEL = 'none';
/** Slack's limit on the options of one select. */
const MAX_OPTIONS = 100;

/**
 * The modal does not change with the chosen model, so the label select lists every conditional
 * model's classes, grouped by model (value `model:index`), and the submission checks that the label
 * belongs to the chosen model. Omitted when no installed model takes a label.
 */
function labelBlocks(catalog: Catalog): types.InputBlock[] {
  const labelled = catalog.models.list().filter((m) => m.manifest.conditioning);
  if (labelled.length === 0) return [];
  const none = option(NO_LABEL, 'none (unconditional)');
  let budget = MAX_OPTIONS - 1;
  const groups = labelled.map((m) => {
    const classes = m.manifest.conditioning!.classes.slice(0, Math.max(0, budget));
    budget -= classes.length;
    return { label: { type: 'plain_text' as const, text: m.name.slice(0, 75) }, options: classes.map((c, i) => option(`${m.name}:${i}`, c)) };
  });
  const defaults = labelled.map((m) => `${m.name} ${m.manifest.conditioning!.default_guidance_scale}`).join(', ');
  return [
    {
      type: 'input',
      block_id: 'label',
      label: { type: 'plain_text', text: 'Label' },
      hint: { type: 'plain_text', text: 'What to draw, for class-conditional models: pick one under the model you chose.' },
      element: {
        type: 'static_select',
        action_id: ACTION,
        option_groups: [{ label: { type: 'plain_text', text: 'No label' }, options: [none] }, ...groups.filter((g) => g.options.length > 0)],
        initial_option: none,
      },
    },
    {
      type: 'input',
      block_id: 'guidance',
      optional: true,
      label: { type: 'plain_text', text: 'Guidance (with a label)' },
      hint: { type: 'plain_text', text: `How closely the image follows the label: 0 ignores it, 1 is plain. Leave empty for the model's default (${defaults}).`.slice(0, 2000) },
      element: { type: 'number_input', action_id: ACTION, is_decimal_allowed: true, min_value: '0', max_value: String(MAX_GUIDANCE) },
    },
  ];
}

/** `samplerName`: the sampler chosen so far (the default one when the modal opens). */
export function generateModal(catalog: Catalog, seed: number, metadata: ModalMetadata, samplerName = DEFAULT_SAMPLER): types.ModalView {
  const models = catalog.models.list();
  const samplers = catalog.samplers.list();
  const model = catalog.models.defaultModel();
  const sampler = samplers.find((s) => s.name === samplerName) ?? samplers.find((s) => s.name === DEFAULT_SAMPLER) ?? samplers[0];
  const T = model?.manifest.scheduler.num_train_timesteps ?? 1000;
  const steps = sampler ? sampler.stepLimits(T).default : 50;
  const defaults = samplers.map((p) => `${p.name} ${p.stepLimits(T).default}`).join(', ');
  return {
    type: 'modal',
    callback_id: GENERATE_MODAL,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'Generate an image' },
    submit: { type: 'plain_text', text: 'Generate' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'model',
        label: { type: 'plain_text', text: 'Model' },
        element: {
          type: 'static_select',
          action_id: ACTION,
          options: models.map((m) => option(m.name, m.manifest.description ? `${m.name}: ${m.manifest.description}` : m.name)),
          ...(model ? { initial_option: option(model.name, model.manifest.description ? `${model.name}: ${model.manifest.description}` : model.name) } : {}),
        },
      },
      {
        type: 'input',
        block_id: SAMPLER_BLOCK,
        // Choosing a sampler updates the view at once, to that sampler's option fields.
        dispatch_action: true,
        label: { type: 'plain_text', text: 'Sampler' },
        element: {
          type: 'static_select',
          action_id: ACTION,
          options: samplers.map((s) => option(s.name)),
          ...(sampler ? { initial_option: option(sampler.name) } : {}),
        },
      },
      {
        type: 'input',
        block_id: 'steps',
        // Empty means the chosen sampler's default. Not prefilled: Slack keeps an input's value across
        // views.update, so a prefilled default would outlive a change of sampler as if the user had typed it.
        optional: true,
        label: { type: 'plain_text', text: 'Steps' },
        hint: { type: 'plain_text', text: `Denoising steps; more is slower and usually cleaner. Leave empty for the sampler's default: ${defaults}.`.slice(0, 2000) },
        element: {
          type: 'number_input',
          action_id: ACTION,
          is_decimal_allowed: false,
          min_value: '1',
          placeholder: { type: 'plain_text', text: `${steps} (${sampler?.name ?? 'default'})`.slice(0, 150) },
        },
      },
      {
        type: 'input',
        block_id: 'seed',
        label: { type: 'plain_text', text: 'Seed' },
        hint: { type: 'plain_text', text: 'Suggested by the message: the same message always suggests the same seed.' },
        element: { type: 'number_input', action_id: ACTION, is_decimal_allowed: false, min_value: '0', max_value: String(MAX_SEED), initial_value: String(seed) },
      },
      ...optionBlocks(sampler),
      ...labelBlocks(catalog),
    ],
  };
}

const selected = z.object({ selected_option: z.object({ value: z.string() }).nullable().optional() }).passthrough();
const number = z.object({ value: z.string().nullable().optional() }).passthrough();
const stateSchema = z
  .object({
    model: z.object({ [ACTION]: selected }),
    sampler: z.object({ [ACTION]: selected }),
    steps: z.object({ [ACTION]: number }),
    seed: z.object({ [ACTION]: number }),
    label: z.object({ [ACTION]: selected }).optional(),
    guidance: z.object({ [ACTION]: number }).optional(),
  })
  // The sampler's option blocks (option:<name>) are read by optionValues.
  .passthrough();

export interface ModalParams {
  readonly model?: string;
  readonly sampler?: string;
  readonly steps?: number;
  readonly seed?: number;
  /** The chosen sampler's options that were filled in. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** The class index within the chosen model (the catalog names it). */
  readonly label?: number;
  readonly guidance?: number;
}

/**
 * Modal state to raw service params, for the service to validate; errors here are only text that is no
 * value at all (per block: a field, or a sampler option's block), shown next to it.
 */
export function parseModalState(values: unknown, samplers: readonly SamplerPlugin[]): { params: ModalParams } | { errors: Record<string, string> } {
  const parsed = stateSchema.safeParse(values);
  if (!parsed.success) return { errors: { model: 'The form was incomplete; please fill it in again.' } };
  const s = parsed.data;
  const errors: Record<string, string> = {};
  const samplerName = s.sampler[ACTION].selected_option?.value;
  const options = optionValues(samplers.find((p) => p.name === samplerName), s, errors);
  // Text to number only: whole numbers and ranges are the service's checks (checkGeneration), made once.
  const num = (field: ModalField, raw: string | null | undefined): number | undefined => {
    if (raw === null || raw === undefined || raw.trim() === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) errors[field] = 'Enter a number.';
    return n;
  };
  const params = {
    model: s.model[ACTION].selected_option?.value,
    sampler: s.sampler[ACTION].selected_option?.value,
    steps: num('steps', s.steps[ACTION].value),
    seed: num('seed', s.seed[ACTION].value),
    options: Object.keys(options).length > 0 ? options : undefined,
    label: labelIndex(s.label?.[ACTION].selected_option?.value, s.model[ACTION].selected_option?.value, errors),
    guidance: num('guidance', s.guidance?.[ACTION].value),
  };
  if (Object.keys(errors).length > 0) return { errors };
  return { params: Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as ModalParams };
}

/** The index of a `model:index` label choice, if it belongs to the chosen model; "none" is no label. */
function labelIndex(value: string | undefined, model: string | undefined, errors: Partial<Record<ModalField, string>>): number | undefined {
  if (value === undefined || value === NO_LABEL) return undefined;
  const match = /^(.+):(\d+)$/.exec(value);
  if (!match) {
    errors.label = 'Pick a label from the list.';
    return undefined;
  }
  if (match[1] !== model) {
    errors.label = `That label belongs to model ${match[1]}: choose ${match[1]} as the model, or a label under ${model ?? 'your model'}, or none.`;
    return undefined;
  }
  return Number(match[2]);
}
