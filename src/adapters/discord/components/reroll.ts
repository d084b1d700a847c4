/** 🎲 Reroll: the same parameters with a new random seed, as a new message for whoever clicked. */
import type { AdapterContext, ComponentHandler, ComponentInteraction } from '../context.ts';
import { replyTargetOf, requesterOf, respondWithError } from '../context.ts';
import { replyTargetJson } from '../reply-target.ts';

async function execute(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext): Promise<void> {
  await interaction.deferReply();
  try {
    const target = replyTargetOf(interaction, 'generate', ctx.tuning);
    const submitted = await ctx.service.reroll(requestId, requesterOf(interaction), replyTargetJson(target));
    const view = await ctx.service.getRequest(submitted.id);
    if (!view) throw new Error(`submitted request ${submitted.id} is missing`);
    ctx.deliveries.track(submitted.id, target, view);
  } catch (error) {
    await respondWithError(interaction, error, ctx);
  }
}

export const rerollButton: ComponentHandler = { action: 'reroll', execute };
