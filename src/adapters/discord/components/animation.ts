/**
 * 🎞️ Denoising animation: the request is replayed with the same seed and parameters (so it
 * follows exactly the same trajectory) and the worker records its predicted x_0 step by step; the
 * final reply is that GIF, ending on the final image.
 */
import type { AdapterContext, ComponentHandler, ComponentInteraction } from '../context.ts';
import { replyTargetOf, requesterOf, respondWithError } from '../context.ts';
import { replyTargetJson } from '../reply-target.ts';

async function execute(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext): Promise<void> {
  await interaction.deferReply();
  try {
    const target = replyTargetOf(interaction, 'animation', ctx.tuning, requestId);
    const submitted = await ctx.service.replay(requestId, requesterOf(interaction), replyTargetJson(target), { recordTrajectory: true });
    const view = await ctx.service.getRequest(submitted.id);
    if (!view) throw new Error(`submitted request ${submitted.id} is missing`);
    ctx.deliveries.track(submitted.id, target, view);
  } catch (error) {
    await respondWithError(interaction, error, ctx);
  }
}

export const animationButton: ComponentHandler = { action: 'animate', execute };
