/** 🎲 Reroll: the same parameters with a new random seed, as a new message for whoever clicked. */
import type { AdapterContext, ComponentHandler, ComponentInteraction } from '../context.ts';
import { startRequest } from '../context.ts';

async function execute(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext): Promise<void> {
  await startRequest(interaction, ctx, 'generate', (requester, replyTo) => ctx.service.reroll(requestId, requester, replyTo));
}

export const rerollButton: ComponentHandler = { action: 'reroll', execute };
