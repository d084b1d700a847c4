/**
 * /compare: one seed through every installed sampler (src/engine/compare.ts plans it, src/jobs/compare.ts
 * queues the runs one after another through the service, ../comparison.ts shows it). The command's own
 * message is the table (sampler, steps, seconds), edited as each run finishes; each run gets a follow-up
 * message that the delivery engine treats like any /generate reply: queue position, live preview, then its image.
 */
import type { AutocompleteInteraction, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { SlashCommandBuilder } from 'discord.js';
import { MAX_SEED } from '../../../core/rng.ts';
import { MAX_GUIDANCE } from '../../../engine/conditioning.ts';
import { planComparison } from '../../../engine/compare.ts';
import type { Catalog } from '../../../engine/catalog.ts';
import type { AdapterContext, SlashCommand } from '../context.ts';
import { replyTargetOf, requesterOf, respondWithError } from '../context.ts';
import { comparisonTarget } from '../comparison.ts';
import { labelChoices } from './generate.ts';

function definition(catalog: Catalog): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const models = catalog.models.list();
  const builder = new SlashCommandBuilder()
    .setName('compare')
    .setDescription('One seed through every sampler side by side, with the steps and time each took')
    .addStringOption((o) => o.setName('model').setDescription('Diffusion model').addChoices(...models.slice(0, 25).map((m) => ({ name: m.name, value: m.name }))))
    .addIntegerOption((o) => o.setName('seed').setDescription('Seed (random if empty)').setMinValue(0).setMaxValue(MAX_SEED))
    .addIntegerOption((o) => o.setName('steps').setDescription("One step count for every sampler (default: each sampler's own)").setMinValue(1));
  if (models.some((m) => m.manifest.conditioning)) {
    builder
      .addStringOption((o) => o.setName('label').setDescription('What to draw, for class-conditional models').setAutocomplete(true).setMaxLength(100))
      .addNumberOption((o) => o.setName('guidance').setDescription('How closely to follow the label').setMinValue(0).setMaxValue(MAX_GUIDANCE));
  }
  return builder.toJSON();
}

async function execute(interaction: ChatInputCommandInteraction, ctx: AdapterContext): Promise<void> {
  // Deferred first, as /generate: Discord's 3 seconds are gone quickly on a busy host. A refusal below
  // is told privately and the public "thinking…" removed (respondWithError).
  await interaction.deferReply();
  try {
    const runs = planComparison((params) => ctx.service.checkGeneration(params), ctx.catalog.samplers.list().map((p) => p.name), {
      model: interaction.options.getString('model') ?? undefined,
      seed: interaction.options.getInteger('seed') ?? undefined,
      steps: interaction.options.getInteger('steps') ?? undefined,
      label: interaction.options.getString('label') ?? undefined,
      guidance: interaction.options.getNumber('guidance') ?? undefined,
    });
    // Stored before it runs: a restarted bot finishes it (src/jobs/comparisons.ts). The table is the deferred reply.
    const gesture = `compare:${interaction.id}`;
    await ctx.comparisons.begin(requesterOf(interaction), runs, gesture, async () => comparisonTarget(replyTargetOf(interaction, 'generate', ctx.tuning), gesture));
  } catch (error) {
    await respondWithError(interaction, error, ctx);
  }
}

async function autocomplete(interaction: AutocompleteInteraction, ctx: AdapterContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  await interaction.respond(focused.name === 'label' ? labelChoices(ctx.catalog.models, interaction.options.getString('model'), String(focused.value)) : []);
}

export const compareCommand: SlashCommand = { name: 'compare', definition, execute, autocomplete };
