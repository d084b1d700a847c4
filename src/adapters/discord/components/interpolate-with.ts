/**
 * 🔀 Interpolate with…: the button answers privately with a menu of the clicker's own finished
 * generations this one can morph into (same model and label, interpolate-between.ts decides); picking
 * one queues the interpolation from this request's seed (an inversion's: its image's x_T) to that one's, as
 * a new public message.
 */
import { MessageFlags } from 'discord.js';
import { interpolationPartners } from '../../../jobs/interpolate-between.ts';
import { NotFoundError } from '../../../jobs/service.ts';
import type { AdapterContext, ComponentHandler, ComponentInteraction } from '../context.ts';
import { requesterOf, respondWithError, startRequest } from '../context.ts';
import { UserInputError } from '../errors.ts';
import { paramsLine } from '../messages.ts';
import { partnerMenu } from '../result-rows.ts';

/** How far back the menu looks in the user's history. */
const RECENT = 50;

async function offer(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  try {
    const source = await ctx.service.getRequest(requestId);
    if (!source) throw new NotFoundError('That request no longer exists.');
    const partners = interpolationPartners(await ctx.service.listRecentRequests(requesterOf(interaction), RECENT), source);
    if (partners.length === 0) {
      const label = source.label === null ? '' : ` with label ${source.label}`;
      throw new UserInputError(`You have no other finished /generate result of ${source.model}${label} to interpolate with. Generate one, then click again.`);
    }
    const what = source.kind === 'invert' ? 'your inverted image' : `seed ${source.seed}`;
    await interaction.editReply({ content: `Morph ${what} into which of your images?`, components: partnerMenu(source, partners, paramsLine) });
  } catch (error) {
    await respondWithError(interaction, error, ctx);
  }
}

async function pick(interaction: ComponentInteraction, requestId: string, ctx: AdapterContext): Promise<void> {
  const to = interaction.isStringSelectMenu() ? interaction.values[0] : undefined;
  if (!to) {
    await respondWithError(interaction, new UserInputError('Pick one of your requests from the menu.'), ctx);
    return;
  }
  await startRequest(interaction, ctx, 'generate', (requester, replyTo) => ctx.service.submitInterpolationBetween({ requester, from: requestId, to, replyTo }));
}

export const interpolateWithButton: ComponentHandler = { action: 'interpolate-with', execute: offer };
export const interpolatePickSelect: ComponentHandler = { action: 'interpolate-pick', execute: pick };
