/**
 * /interpolate: frames morphing the image of seed_a into that of seed_b (spherical interpolation of x_T,
 * each frame decoded by a deterministic sampler), or, for class-conditional models, one seed morphing
 * from label_a into label_b. The result is the strip of frames and their GIF, delivered like /generate's
 * (queue position, previews, Vary under each frame). The service checks everything; its refusals are
 * told privately.
 */
import type { AutocompleteInteraction, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody, SlashCommandIntegerOption } from 'discord.js';
import { SlashCommandBuilder } from 'discord.js';
import { MAX_SEED } from '../../../core/rng.ts';
import { MAX_GUIDANCE } from '../../../engine/conditioning.ts';
import { DEFAULT_FRAMES, MAX_FRAMES } from '../../../engine/edit-params.ts';
import type { Catalog } from '../../../engine/catalog.ts';
import type { AdapterContext, SlashCommand } from '../context.ts';
import { respondWithError, startRequest } from '../context.ts';
import { UserInputError } from '../errors.ts';
import { labelChoices } from './generate.ts';

const LABEL_OPTIONS = ['label', 'label_a', 'label_b'];

export function definition(catalog: Catalog): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const models = catalog.models.list();
  // The service refuses a sampler that cannot run its path backwards, naming it.
  const samplers = catalog.samplers.list();
  const seed = (name: string, description: string) => (o: SlashCommandIntegerOption) => o.setName(name).setDescription(description).setMinValue(0).setMaxValue(MAX_SEED);
  const builder = new SlashCommandBuilder()
    .setName('interpolate')
    .setDescription('Morph the image of one seed into another (or one label into another) in a strip and a GIF')
    .addIntegerOption(seed('seed_a', 'First seed (with seed_b)'))
    .addIntegerOption(seed('seed_b', 'Last seed (with seed_a)'))
    .addIntegerOption((o) => o.setName('frames').setDescription(`Frames, 2-${MAX_FRAMES} (default ${DEFAULT_FRAMES})`).setMinValue(2).setMaxValue(MAX_FRAMES))
    .addStringOption((o) => o.setName('model').setDescription('Diffusion model').addChoices(...models.slice(0, 25).map((m) => ({ name: m.name, value: m.name }))))
    .addStringOption((o) =>
      o
        .setName('sampler')
        .setDescription('A deterministic sampler (default ddim)')
        .addChoices(...samplers.slice(0, 25).map((p) => ({ name: `${p.name}: ${p.description}`.slice(0, 100), value: p.name }))),
    )
    .addIntegerOption((o) => o.setName('steps').setDescription("Denoising steps per frame (default: the sampler's)").setMinValue(1).setMaxValue(1000));
  if (models.some((m) => m.manifest.conditioning)) {
    builder
      .addStringOption((o) => o.setName('label').setDescription('Class-conditional models: the class of every frame between two seeds').setAutocomplete(true).setMaxLength(100))
      .addStringOption((o) => o.setName('label_a').setDescription('Class-conditional models: the first label (with label_b and seed)').setAutocomplete(true).setMaxLength(100))
      .addStringOption((o) => o.setName('label_b').setDescription('Class-conditional models: the last label').setAutocomplete(true).setMaxLength(100))
      .addIntegerOption(seed('seed', 'With label_a/label_b: the seed of every frame (random if empty)'))
      .addNumberOption((o) => o.setName('guidance').setDescription("How closely to follow the label (default: the model's)").setMinValue(0).setMaxValue(MAX_GUIDANCE));
  }
  return builder.toJSON();
}

async function autocomplete(interaction: AutocompleteInteraction, ctx: AdapterContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  const choices = LABEL_OPTIONS.includes(focused.name) ? labelChoices(ctx.catalog.models, interaction.options.getString('model'), String(focused.value)) : [];
  await interaction.respond(choices);
}

/** The options as the service takes them: two seeds, or two labels at one seed. */
export function interpolationParams(interaction: ChatInputCommandInteraction): Record<string, unknown> {
  const o = interaction.options;
  const raw: Record<string, unknown> = {
    seed_a: o.getInteger('seed_a') ?? undefined,
    seed_b: o.getInteger('seed_b') ?? undefined,
    label_a: o.getString('label_a') ?? undefined,
    label_b: o.getString('label_b') ?? undefined,
    label: o.getString('label') ?? undefined,
    seed: o.getInteger('seed') ?? undefined,
    frames: o.getInteger('frames') ?? undefined,
    model: o.getString('model') ?? undefined,
    sampler: o.getString('sampler') ?? undefined,
    steps: o.getInteger('steps') ?? undefined,
    guidance: o.getNumber('guidance') ?? undefined,
  };
  const params = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const seeds = 'seed_a' in params || 'seed_b' in params;
  const labels = 'label_a' in params || 'label_b' in params;
  if (seeds === labels) throw new UserInputError('Give `seed_a` and `seed_b` (two seeds), or `label_a` and `label_b` (two labels at one seed, class-conditional models).');
  return params;
}

async function execute(interaction: ChatInputCommandInteraction, ctx: AdapterContext): Promise<void> {
  let params: Record<string, unknown>;
  try {
    params = interpolationParams(interaction);
  } catch (error) {
    await respondWithError(interaction, error, ctx);
    return;
  }
  await startRequest(interaction, ctx, 'generate', (requester, replyTo) => ctx.service.submitInterpolation({ requester, params, replyTo }));
}

export const interpolateCommand: SlashCommand = { name: 'interpolate', definition, execute, autocomplete };
