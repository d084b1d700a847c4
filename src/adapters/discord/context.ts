/**
 * What command and component handlers get: the service they translate gestures into, the engine's
 * catalogue (models, samplers, limits) for choices and early validation, and the delivery engine
 * that renders a request's events into its Discord message.
 */
import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
  StringSelectMenuInteraction,
} from 'discord.js';
import { MessageFlags } from 'discord.js';
import type { ComparisonRunner } from '../../jobs/comparisons.ts';
import type { Json, Requester, Submitted } from '../../jobs/service.ts';
import type { DiscordEnv } from './config.ts';
import type { ComponentAction } from './custom-id.ts';
import type { DiscordDelivery } from './delivery.ts';
import { loggableError, isUserFacing, userMessage } from './errors.ts';
import { clip } from './messages.ts';
import type { Messenger, ReplyPurpose, ReplyTarget } from './reply-target.ts';
import { replyTargetJson } from './reply-target.ts';
import type { Catalog } from '../../engine/catalog.ts';
import type { AdapterTuning } from './types.ts';
import type { FrontEndContext } from '../context.ts';

/** The shared context plus Discord's parts: its settings, timing, the message deliveries and the REST messenger. */
export interface AdapterContext extends FrontEndContext {
  readonly env: DiscordEnv;
  readonly tuning: AdapterTuning;
  readonly deliveries: DiscordDelivery;
  readonly messenger: Messenger;
  /** /compare's comparisons, stored and finished by whichever bot process holds them. */
  readonly comparisons: ComparisonRunner;
}

export interface SlashCommand {
  readonly name: string;
  /** The registration body; choices come from the installed models and sampler plugins. */
  definition(catalog: Catalog): RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, ctx: AdapterContext): Promise<void>;
  /** Suggestions for the option being typed; Discord wants them within 3 s and cannot be deferred. */
  autocomplete?(interaction: AutocompleteInteraction, ctx: AdapterContext): Promise<void>;
}

export type ComponentInteraction = ButtonInteraction | StringSelectMenuInteraction;

export interface ComponentHandler {
  readonly action: ComponentAction;
  /** `index`: the image a per-image button stands under (Vary); null for the others. */
  execute(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext, index: number | null): Promise<void>;
}

type AnyInteraction = ChatInputCommandInteraction | ComponentInteraction;

export function requesterOf(interaction: AnyInteraction): Requester {
  return {
    platform: 'discord',
    workspaceId: interaction.guildId ?? undefined,
    channelId: interaction.channelId ?? undefined,
    userId: interaction.user.id,
  };
}

export function replyTargetOf(interaction: AnyInteraction, purpose: ReplyPurpose, tuning: AdapterTuning, sourceRequestId?: string): ReplyTarget {
  return {
    v: 1,
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    // The token's clock starts when Discord created the interaction (its snowflake), not when we saw it.
    tokenExpiresAt: interaction.createdTimestamp + tuning.interactionTokenTtlMs,
    channelId: interaction.channelId ?? null,
    userId: interaction.user.id,
    purpose,
    ...(sourceRequestId ? { sourceRequestId } : {}),
  };
}

/**
 * A new public message for the request `submit` queues: deferred at once (Discord's 3 seconds), then
 * handed to the deliveries, which show its queue position, previews and result; any refusal is told privately.
 */
export async function startRequest(
  interaction: AnyInteraction,
  ctx: AdapterContext,
  purpose: ReplyPurpose,
  submit: (requester: Requester, replyTo: Json) => Promise<Submitted>,
  sourceRequestId?: string,
): Promise<void> {
  await interaction.deferReply();
  try {
    const target = replyTargetOf(interaction, purpose, ctx.tuning, sourceRequestId);
    const submitted = await submit(requesterOf(interaction), replyTargetJson(target));
    const view = await ctx.service.getRequest(submitted.id);
    if (!view) throw new Error(`submitted request ${submitted.id} is missing`);
    ctx.deliveries.track(submitted.id, target, view);
  } catch (error) {
    await respondWithError(interaction, error, ctx);
  }
}

/**
 * Tells the user what went wrong, privately. Before any response: an ephemeral reply. After a
 * public deferral: the "thinking…" message is removed and an ephemeral follow-up explains, so a
 * failed request leaves no public trace and never shows "This interaction failed".
 */
export async function respondWithError(interaction: AnyInteraction, error: unknown, ctx: AdapterContext): Promise<void> {
  if (!isUserFacing(error)) ctx.logger.error({ err: loggableError(error), interaction: interaction.id }, 'discord interaction failed');
  const content = clip(userMessage(error), 2000);
  try {
    if (!interaction.deferred && !interaction.replied) {
      await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    } else if (interaction.ephemeral) {
      await interaction.editReply({ content, embeds: [], components: [], files: [] });
    } else {
      // Only after deferReply (a new message); handlers that deferUpdate a clicked message answer
      // themselves. A follow-up sent while "thinking…" would *become* that public message, so the
      // loading state is resolved first, then the private explanation is sent, then the public
      // message is removed.
      await interaction.editReply({ content: 'This request could not be started.', embeds: [], components: [], files: [] });
      await interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
      await interaction.deleteReply();
    }
  } catch (replyError) {
    ctx.logger.warn({ err: loggableError(replyError), interaction: interaction.id }, 'could not tell the user about an error');
  }
}
