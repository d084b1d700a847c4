/**
 * /info request_id: everything about one request (parameters, status, timings); /info alone: the
 * installed models (with the labels a class-conditional one takes) and samplers. Visible only to the caller.
 */
import type { APIEmbed, APIEmbedField, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import { optionSpecs, optionPairs } from '../../../engine/options.ts';
import { NotFoundError } from '../../../jobs/service.ts';
import type { RequestView } from '../../../jobs/service.ts';
import type { Catalog } from '../../../engine/catalog.ts';
import type { AdapterContext, SlashCommand } from '../context.ts';
import { respondWithError } from '../context.ts';
import { clip, labelFields } from '../messages.ts';
import { seedFields } from '../seed-fields.ts';

export function definition(): RESTPostAPIChatInputApplicationCommandsJSONBody {
  return new SlashCommandBuilder()
    .setName('info')
    .setDescription('Parameters and timings of a request, or without one the models and samplers')
    .addStringOption((o) => o.setName('request_id').setDescription('The request id shown under a result or in /history').setMaxLength(64))
    .toJSON();
}

/** One field per model (Discord allows 25) and one listing the samplers: default steps and the paper each implements. */
export function catalogEmbed(catalog: Catalog): APIEmbed {
  const models = catalog.models.list();
  const defaultModel = catalog.models.defaultModel();
  const fields: APIEmbedField[] = models.slice(0, 24).map((m) => {
    const { image, conditioning, description } = m.manifest;
    // Labels first: a long description is what gets clipped.
    const lines = [
      conditioning
        ? `labels: ${conditioning.classes.join(', ')} · default guidance ${conditioning.default_guidance_scale}`
        : 'unconditional (takes no label)',
      `${image.width}×${image.height}${description ? ` · ${description}` : ''}`,
    ];
    const name = m.name === defaultModel?.name ? `${m.name} (default)` : m.name;
    return { name, value: clip(lines.join('\n'), 1024), inline: false };
  });
  const trainSteps = defaultModel?.manifest.scheduler.num_train_timesteps ?? 1000;
  const samplers = catalog.samplers.list().map((p) => {
    const options = optionSpecs(p).map((s) => s.name);
    return `${p.name} (default ${p.stepLimits(trainSteps).default} steps${options.length > 0 ? `; options ${options.join(', ')}` : ''}) — ${p.description}`;
  });
  fields.push({ name: 'Samplers', value: clip(samplers.join('\n') || 'none', 1024), inline: false });
  return { title: 'Models and samplers', description: 'Use `/info request_id:<id>` for one request.', fields };
}

function ms(value: number | null): string {
  return value === null ? '–' : `${(value / 1000).toFixed(2)} s`;
}

function timestamp(date: Date | null): string {
  return date ? `<t:${Math.floor(date.getTime() / 1000)}:T>` : '–';
}

/** Partial: a kind added later reads as its own name until it is given one here. */
const KIND_NAMES: Partial<Record<RequestView['kind'], string>> = { generate: 'generation', noise_demo: 'noise demo', vary: 'variation', interpolate: 'interpolation' };

export function infoFields(view: RequestView): APIEmbedField[] {
  const fields: APIEmbedField[] = [
    { name: 'Status', value: clip(view.status + (view.error ? `: ${view.error}` : ''), 1024), inline: true },
    { name: 'Kind', value: KIND_NAMES[view.kind] ?? view.kind, inline: true },
    { name: 'Requested by', value: `<@${view.requester.userId}>`, inline: true },
    { name: 'Model', value: view.model, inline: true },
    ...labelFields(view),
    ...seedFields(view),
  ];
  if (view.kind !== 'noise_demo') {
    fields.push(
      { name: 'Sampler', value: view.sampler ?? '–', inline: true },
      { name: 'Steps', value: String(view.steps ?? '–'), inline: true },
      { name: 'Options', value: clip(optionPairs(view.options).map(([k, v]) => `${k} ${v}`).join(', ') || 'none', 1024), inline: true },
      { name: 'Images', value: String(view.count), inline: true },
    );
  } else {
    fields.push(
      { name: 'Timesteps', value: view.noiseDemo?.timesteps?.join(', ') ?? 'default', inline: true },
      { name: 'Denoise from', value: view.noiseDemo?.denoiseFrom === undefined ? '–' : String(view.noiseDemo.denoiseFrom), inline: true },
    );
  }
  fields.push(
    { name: 'Queued for', value: ms(view.timings.queueMs), inline: true },
    { name: 'Sampling', value: ms(view.timings.samplingMs), inline: true },
    { name: 'Total', value: ms(view.timings.totalMs), inline: true },
    { name: 'Created', value: timestamp(view.createdAt), inline: true },
    { name: 'Started', value: timestamp(view.startedAt), inline: true },
    { name: 'Finished', value: timestamp(view.finishedAt), inline: true },
    { name: 'Attempts', value: String(view.attempts), inline: true },
  );
  if (view.derivedFrom) fields.push({ name: 'Derived from', value: `\`${view.derivedFrom}\``, inline: false });
  return fields;
}

async function execute(interaction: ChatInputCommandInteraction, ctx: AdapterContext): Promise<void> {
  try {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const id = interaction.options.getString('request_id')?.trim();
    if (!id) {
      await interaction.editReply({ embeds: [catalogEmbed(ctx.catalog)] });
      return;
    }
    const view = await ctx.service.getRequest(id);
    if (!view) throw new NotFoundError(`There is no request \`${id}\`. Request ids are shown under each result and in /history.`);
    await interaction.editReply({ embeds: [{ title: `Request ${view.id}`, fields: infoFields(view) }], allowedMentions: { parse: [] } });
  } catch (error) {
    await respondWithError(interaction, error, ctx);
  }
}

export const infoCommand: SlashCommand = { name: 'info', definition, execute };
