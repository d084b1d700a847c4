/**
 * 🎞️ Denoising animation: the request is replayed with the same seed and parameters (so it
 * follows exactly the same trajectory) and the worker records its predicted x_0 step by step; the
 * final reply is that GIF, ending on the final image.
 */
import type { AdapterContext, ComponentHandler, ComponentInteraction } from '../context.ts';
import { startRequest } from '../context.ts';

async function execute(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext): Promise<void> {
  await startRequest(interaction, ctx, 'animation', (requester, replyTo) => ctx.service.replay(requestId, requester, replyTo, { recordTrajectory: true }), requestId);
}

export const animationButton: ComponentHandler = { action: 'animate', execute };
