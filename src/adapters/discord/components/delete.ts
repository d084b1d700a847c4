/** 🗑️ Delete: removes a result message; only its requester or a member with Manage Messages may. */
import { MessageFlags, PermissionFlagsBits } from 'discord.js';
import { ForbiddenError, NotFoundError } from '../../../jobs/service.ts';
import type { AdapterContext, ComponentHandler, ComponentInteraction } from '../context.ts';
import { isUserFacing, loggableError, userMessage } from '../errors.ts';

async function execute(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext): Promise<void> {
  // Acknowledge first (the database read below must not eat Discord's 3 seconds); from here on,
  // @original is the clicked message, so refusals go out as ephemeral follow-ups.
  await interaction.deferUpdate();
  try {
    const view = await ctx.service.getRequest(requestId);
    if (!view) throw new NotFoundError('That request no longer exists.');
    const isRequester = view.requester.userId === interaction.user.id;
    const canManage = interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages) ?? false;
    if (!isRequester && !canManage) throw new ForbiddenError('Only the person who asked for this image or a member with Manage Messages can delete it.');
    await interaction.deleteReply().catch(async (webhookError: unknown) => {
      // Results posted as channel messages (after a token expired) can also be removed as the bot.
      ctx.logger.debug({ err: loggableError(webhookError), requestId }, 'webhook delete failed; deleting as the bot');
      await interaction.message.delete();
    });
  } catch (error) {
    if (!isUserFacing(error)) ctx.logger.warn({ err: loggableError(error), requestId }, 'could not delete a result message');
    await interaction
      .followUp({ content: userMessage(error), flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } })
      .catch((replyError: unknown) => ctx.logger.warn({ err: loggableError(replyError), requestId }, 'could not tell the user about an error'));
  }
}

export const deleteButton: ComponentHandler = { action: 'delete', execute };
