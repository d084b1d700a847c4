/**
 * 🪄 Vary (V1…V4): SDEdit variations of the image the button stands under, at the engine's default
 * strength with a new noise seed, as a new message for whoever clicked (anyone may, as with Reroll).
 */
import type { AdapterContext, ComponentHandler, ComponentInteraction } from '../context.ts';
import { startRequest } from '../context.ts';

async function execute(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext, index: number | null): Promise<void> {
  await startRequest(interaction, ctx, 'generate', (requester, replyTo) =>
    ctx.service.submitVariation({ requester, source: { requestId, index: index ?? 0 }, params: {}, replyTo }),
  );
}

export const varyButton: ComponentHandler = { action: 'vary', execute };
