/** /history: the caller's last 10 requests with their seeds, visible only to them. */
import type { ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import type { RequestView } from '../../../jobs/service.ts';
import type { AdapterContext, SlashCommand } from '../context.ts';
import { requesterOf, respondWithError } from '../context.ts';
import { paramsLine } from '../messages.ts';

export const HISTORY_LENGTH = 10;

export function definition(): RESTPostAPIChatInputApplicationCommandsJSONBody {
  return new SlashCommandBuilder().setName('history').setDescription('Your last 10 requests with their seeds (only you see this)').toJSON();
}

const STATUS_ICON: Record<RequestView['status'], string> = { queued: '⏳', running: '🌀', succeeded: '✅', failed: '❌', cancelled: '✖️' };

export function historyLine(view: RequestView): string {
  const when = `<t:${Math.floor(view.createdAt.getTime() / 1000)}:R>`;
  const what = view.kind === 'noise_demo' ? `noise demo · ${view.model} · seed ${view.seed}` : paramsLine(view);
  return `${STATUS_ICON[view.status]} \`${view.id}\` ${when}\n${what}`;
}

async function execute(interaction: ChatInputCommandInteraction, ctx: AdapterContext): Promise<void> {
  try {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const views = await ctx.service.listRecentRequests(requesterOf(interaction), HISTORY_LENGTH);
    const description = views.length === 0 ? 'No requests yet. Try `/generate`.' : views.map(historyLine).join('\n\n');
    await interaction.editReply({
      embeds: [{ title: 'Your recent requests', description: description.slice(0, 4096), footer: { text: 'Use /info request_id:<id> for details; the seed reproduces an image.' } }],
    });
  } catch (error) {
    await respondWithError(interaction, error, ctx);
  }
}

export const historyCommand: SlashCommand = { name: 'history', definition, execute };
