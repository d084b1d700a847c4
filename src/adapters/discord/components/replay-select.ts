/**
 * "Same seed with…" select menu: replays the request with the chosen sampler and step count and
 * the same seed, so the effect of the sampler alone can be compared side by side.
 */
import { UserInputError } from '../errors.ts';
import type { AdapterContext, ComponentHandler, ComponentInteraction } from '../context.ts';
import { replyTargetOf, requesterOf, respondWithError } from '../context.ts';
import { parseReplayChoice } from '../messages.ts';
import { replyTargetJson } from '../reply-target.ts';

async function execute(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext): Promise<void> {
  const choice = interaction.isStringSelectMenu() ? parseReplayChoice(interaction.values[0] ?? '') : null;
  if (!choice) {
    await respondWithError(interaction, new UserInputError('Pick a sampler and step count from the menu.'), ctx);
    return;
  }
  await interaction.deferReply();
  try {
    const target = replyTargetOf(interaction, 'generate', ctx.tuning);
    const submitted = await ctx.service.replay(requestId, requesterOf(interaction), replyTargetJson(target), choice);
    const view = await ctx.service.getRequest(submitted.id);
    if (!view) throw new Error(`submitted request ${submitted.id} is missing`);
    ctx.deliveries.track(submitted.id, target, view);
  } catch (error) {
    await respondWithError(interaction, error, ctx);
  }
}

export const replaySelect: ComponentHandler = { action: 'replay', execute };
