/**
 * "Same seed with…" select menu: replays the request with the chosen sampler and step count and
 * the same seed, so the effect of the sampler alone can be compared side by side.
 */
import { UserInputError } from '../errors.ts';
import type { AdapterContext, ComponentHandler, ComponentInteraction } from '../context.ts';
import { respondWithError, startRequest } from '../context.ts';
import { parseReplayChoice } from '../result-rows.ts';

async function execute(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext): Promise<void> {
  const choice = interaction.isStringSelectMenu() ? parseReplayChoice(interaction.values[0] ?? '') : null;
  if (!choice) {
    await respondWithError(interaction, new UserInputError('Pick a sampler and step count from the menu.'), ctx);
    return;
  }
  await startRequest(interaction, ctx, 'generate', (requester, replyTo) => ctx.service.replay(requestId, requester, replyTo, choice));
}

export const replaySelect: ComponentHandler = { action: 'replay', execute };
