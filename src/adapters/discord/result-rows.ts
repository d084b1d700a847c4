/**
 * The buttons and menus under a result, as plain Discord JSON: one Vary button per image of a grid (V1…V4 like
 * Midjourney's) or Vary (subtle), Vary and Vary (strong) under a single image, Reroll, the denoising animation, Interpolate with…, Delete, and the "same seed with…"
 * replay menu; and the private menu Interpolate with… opens. Discord allows 5 components in a row and 5
 * rows in a message.
 */
import type { APIActionRowComponent, APIButtonComponentWithCustomId, APIComponentInMessageActionRow, APISelectMenuOption } from 'discord.js';
import { ButtonStyle, ComponentType } from 'discord.js';
import type { Catalog } from '../../engine/catalog.ts';
import type { RequestView } from '../../jobs/service.ts';
import { componentId } from './custom-id.ts';

type Row = APIActionRowComponent<APIComponentInMessageActionRow>;

const MAX_ROWS = 5;
const PER_ROW = 5;
/** Discord's limit on a select menu's options. */
const MAX_OPTIONS = 25;

/** Step counts offered for "same seed" replays: the sampler's default plus round numbers in its limits. */
export function replayChoices(catalog: Catalog, view: RequestView): APISelectMenuOption[] {
  const trainSteps = catalog.model(view.model).manifest.scheduler.num_train_timesteps;
  const choices: APISelectMenuOption[] = [];
  for (const plugin of catalog.samplers.list()) {
    const limits = plugin.stepLimits(trainSteps);
    const steps = [...new Set([limits.default, 10, 20, 25, 50, 100, 250, 1000])]
      .filter((n) => n >= limits.min && n <= limits.max)
      .sort((a, b) => a - b);
    for (const n of steps) {
      if (plugin.name === view.sampler && n === view.steps) continue;
      choices.push({
        label: `${plugin.name} · ${n} steps${n === limits.default ? ' (default)' : ''}`,
        value: `${plugin.name}:${n}`,
        description: `Same seed ${view.seed}`.slice(0, 100),
      });
    }
  }
  return choices.slice(0, MAX_OPTIONS);
}

export function parseReplayChoice(value: string): { sampler: string; steps: number } | null {
  const match = /^([a-z0-9_-]+):(\d{1,5})$/.exec(value);
  return match ? { sampler: match[1]!, steps: Number(match[2]) } : null;
}

function button(label: string, emoji: string, customId: string, style: APIButtonComponentWithCustomId['style'] = ButtonStyle.Secondary): APIButtonComponentWithCustomId {
  return { type: ComponentType.Button, style, label, emoji: { name: emoji }, custom_id: customId };
}

function deleteButton(requestId: string): APIButtonComponentWithCustomId {
  return button('Delete', '🗑️', componentId('delete', requestId), ButtonStyle.Danger);
}

/** Rows of `buttons`, five to a row. */
function rowsOf(buttons: readonly APIButtonComponentWithCustomId[]): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < buttons.length; i += PER_ROW) rows.push({ type: ComponentType.ActionRow, components: buttons.slice(i, i + PER_ROW) });
  return rows;
}

/**
 * A generation's, a variation's, an interpolation's or an inversion's result. The replay menu is left off
 * interpolations and inversions (most samplers cannot run them) and Vary buttons take the rows left, one per
 * image while they fit (an inversion's one image is its source).
 */
export function generationComponents(catalog: Catalog, view: RequestView): Row[] {
  const generated = view.kind === 'generate';
  const inverted = view.kind === 'invert';
  // An inversion draws nothing at random, so a reroll would repeat it.
  const actions = inverted ? [] : [button('Reroll', '🎲', componentId('reroll', view.id), ButtonStyle.Primary)];
  // The animation records a generation's trajectory; Interpolate with… morphs a generation's seed or an inversion's x_T.
  if (generated) actions.push(button('Denoising animation', '🎞️', componentId('animate', view.id)));
  if (generated || inverted) actions.push(button('Interpolate with…', '🔀', componentId('interpolate-with', view.id)));
  actions.push(deleteButton(view.id));
  const choices = view.kind === 'interpolate' || inverted ? [] : replayChoices(catalog, view);
  const varyRows = MAX_ROWS - 1 - (choices.length > 0 ? 1 : 0);
  const images = Math.min(view.count, varyRows * PER_ROW);
  // One image drawn here: Vary at the three strengths, as Midjourney's Vary (Subtle) and Vary (Strong); a grid, or an
  // inversion's source (the user's own image, not a result), gets V1…Vn / Vary at the default.
  const vary =
    view.count === 1 && !inverted
      ? [button('Vary (subtle)', '🪄', componentId('vary-subtle', view.id, 0)), button('Vary', '🪄', componentId('vary', view.id, 0)), button('Vary (strong)', '🪄', componentId('vary-strong', view.id, 0))]
      : Array.from({ length: images }, (_, i) => button(view.count === 1 ? 'Vary' : `V${i + 1}`, '🪄', componentId('vary', view.id, i)));
  const rows: Row[] = [...rowsOf(vary), { type: ComponentType.ActionRow, components: actions }];
  if (choices.length > 0) {
    rows.push({
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.StringSelect,
          custom_id: componentId('replay', view.id),
          placeholder: 'Same seed with another sampler or step count…',
          options: choices,
          min_values: 1,
          max_values: 1,
        },
      ],
    });
  }
  return rows;
}

export function deleteOnlyComponents(requestId: string): Row[] {
  return [{ type: ComponentType.ActionRow, components: [deleteButton(requestId)] }];
}

/** The private menu of the user's requests `source` can be interpolated with (newest first). */
export function partnerMenu(source: RequestView, partners: readonly RequestView[], describe: (view: RequestView) => string): Row[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.StringSelect,
          custom_id: componentId('interpolate-pick', source.id),
          placeholder: `Morph ${source.kind === 'invert' ? 'your image' : `seed ${source.seed}`} into…`,
          options: partners.slice(0, MAX_OPTIONS).map((p) => ({
            label: `seed ${p.seed}${p.label === null ? '' : ` · ${p.label}`} · ${p.sampler ?? '?'} ${p.steps ?? '?'} steps`.slice(0, 100),
            value: p.id,
            description: describe(p).slice(0, 100),
          })),
          min_values: 1,
          max_values: 1,
        },
      ],
    },
  ];
}
