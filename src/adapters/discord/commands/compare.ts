/**
 * /compare: one seed through every installed sampler (src/engine/compare.ts plans it, src/jobs/compare.ts
 * queues the runs one after another through the service). The command's own message is the table
 * (sampler, steps, seconds), edited as each run finishes; each run gets a follow-up message that the
 * delivery engine treats like any /generate reply: queue position, live preview, then its image.
 */
import type { AutocompleteInteraction, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { SlashCommandBuilder } from 'discord.js';
import { MAX_SEED } from '../../../core/rng.ts';
import { MAX_GUIDANCE } from '../../../engine/conditioning.ts';
import { comparisonTable, planComparison } from '../../../engine/compare.ts';
import type { Catalog } from '../../../engine/catalog.ts';
import type { ComparisonFront } from '../../../jobs/compare.ts';
import { runComparison } from '../../../jobs/compare.ts';
import type { AdapterContext, SlashCommand } from '../context.ts';
import { replyTargetOf, requesterOf, respondWithError } from '../context.ts';
import { loggableError } from '../errors.ts';
import { clip } from '../messages.ts';
import type { ReplyTarget } from '../reply-target.ts';
import { parseReplyTarget, replyTargetJson } from '../reply-target.ts';
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
  let runs;
  try {
    runs = planComparison((params) => ctx.service.checkGeneration(params), ctx.catalog.samplers.list().map((p) => p.name), {
      model: interaction.options.getString('model') ?? undefined,
      seed: interaction.options.getInteger('seed') ?? undefined,
      steps: interaction.options.getInteger('steps') ?? undefined,
      label: interaction.options.getString('label') ?? undefined,
      guidance: interaction.options.getNumber('guidance') ?? undefined,
    });
  } catch (error) {
    await respondWithError(interaction, error, ctx);
    return;
  }
  // Runs for minutes: the command's handler returns, the comparison goes on.
  void runComparison({
    service: ctx.service,
    requester: requesterOf(interaction),
    runs,
    front: comparisonFront(ctx, replyTargetOf(interaction, 'generate', ctx.tuning), `compare:${interaction.id}`),
  }).catch((error: unknown) => ctx.logger.error({ err: loggableError(error), interaction: interaction.id }, 'discord: /compare stopped'));
}

/**
 * The comparison in Discord: the interaction's own message is the table; each run is a follow-up made
 * through the interaction's token (so a restarted bot can make them too), which the delivery engine
 * answers like a /generate reply.
 */
function comparisonFront(ctx: AdapterContext, table: ReplyTarget, key: string): ComparisonFront {
  /** Edits while the token lasts; a lost edit is logged, not worth stopping the runs for (the next edit shows the rows again). */
  const edit = async (target: ReplyTarget, content: string) => {
    if (!ctx.messenger.tokenUsable(target)) return;
    await ctx.messenger.editOriginal(target, { content: clip(content, 2000) }).catch((error: unknown) => ctx.logger.warn({ err: loggableError(error), messageId: target.messageId ?? '@original' }, 'discord: could not edit a /compare message'));
  };
  return {
    // The table is edited first: a follow-up sent while "thinking…" would replace it.
    table: (title, rows) => edit(table, `Compare: ${title}\n\`\`\`\n${comparisonTable(rows).join('\n')}\n\`\`\``),
    openRun: async (params, index) => {
      const messageId = await ctx.messenger.followUp(table, { content: `${params.sampler}, ${params.steps} steps: waiting for its turn` });
      return replyTargetJson({ ...table, messageId, dedupeKey: `${key}:${index}` });
    },
    submitted: async (_params, submitted, replyTo) => {
      const view = await ctx.service.getRequest(submitted.id);
      const target = parseReplyTarget(replyTo);
      if (view && target) ctx.deliveries.track(submitted.id, target, view);
    },
    notRun: async (params, replyTo, reason) => {
      const target = parseReplyTarget(replyTo);
      if (target) await edit(target, `${params.sampler}, ${params.steps} steps: not run: ${reason}`);
    },
  };
}

async function autocomplete(interaction: AutocompleteInteraction, ctx: AdapterContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  await interaction.respond(focused.name === 'label' ? labelChoices(ctx.catalog.models, interaction.options.getString('model'), String(focused.value)) : []);
}

export const compareCommand: SlashCommand = { name: 'compare', definition, execute, autocomplete };
