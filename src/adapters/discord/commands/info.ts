/** /info request_id: everything about one request (parameters, status, timings), visible only to the caller. */
import type { APIEmbedField, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import { NotFoundError } from '../../../jobs/service.ts';
import type { RequestView } from '../../../jobs/service.ts';
import type { AdapterContext, SlashCommand } from '../context.ts';
import { respondWithError } from '../context.ts';
import { clip } from '../messages.ts';

export function definition(): RESTPostAPIChatInputApplicationCommandsJSONBody {
  return new SlashCommandBuilder()
    .setName('info')
    .setDescription('Parameters and timings of a request')
    .addStringOption((o) => o.setName('request_id').setDescription('The request id shown under a result or in /history').setRequired(true).setMaxLength(64))
    .toJSON();
}

function ms(value: number | null): string {
  return value === null ? '–' : `${(value / 1000).toFixed(2)} s`;
}

function timestamp(date: Date | null): string {
  return date ? `<t:${Math.floor(date.getTime() / 1000)}:T>` : '–';
}

export function infoFields(view: RequestView): APIEmbedField[] {
  const fields: APIEmbedField[] = [
    { name: 'Status', value: clip(view.status + (view.error ? `: ${view.error}` : ''), 1024), inline: true },
    { name: 'Kind', value: view.kind === 'noise_demo' ? 'noise demo' : 'generation', inline: true },
    { name: 'Requested by', value: `<@${view.requester.userId}>`, inline: true },
    { name: 'Model', value: view.model, inline: true },
    { name: 'Seed', value: `\`${view.seed}\``, inline: true },
  ];
  if (view.kind === 'generate') {
    fields.push(
      { name: 'Sampler', value: view.sampler ?? '–', inline: true },
      { name: 'Steps', value: String(view.steps ?? '–'), inline: true },
      { name: 'Eta', value: view.eta === null ? '–' : String(view.eta), inline: true },
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
    const id = interaction.options.getString('request_id', true).trim();
    const view = await ctx.service.getRequest(id);
    if (!view) throw new NotFoundError(`There is no request \`${id}\`. Request ids are shown under each result and in /history.`);
    await interaction.editReply({ embeds: [{ title: `Request ${view.id}`, fields: infoFields(view) }], allowedMentions: { parse: [] } });
  } catch (error) {
    await respondWithError(interaction, error, ctx);
  }
}

export const infoCommand: SlashCommand = { name: 'info', definition, execute };
