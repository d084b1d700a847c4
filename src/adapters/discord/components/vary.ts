/**
 * 🪄 Vary (V1…V4), and Vary (subtle) / Vary (strong) under a single image as Midjourney offers them: SDEdit
 * variations of the image the button stands under, with a new noise seed, as a new message for whoever
 * clicked (anyone may, as with Reroll). Plain Vary uses the engine's default strength.
 */
import { VARY_PRESETS, type VaryPreset } from '../../../engine/edit-params.ts';
import type { ComponentHandler } from '../context.ts';
import { startRequest } from '../context.ts';

function varyAt(preset: VaryPreset | null): ComponentHandler['execute'] {
  const params = preset === null ? {} : { strength: VARY_PRESETS[preset] };
  return (interaction, requestId, ctx, index) =>
    startRequest(interaction, ctx, 'generate', (requester, replyTo) => ctx.service.submitVariation({ requester, source: { requestId, index: index ?? 0 }, params, replyTo }));
}

export const varyButton: ComponentHandler = { action: 'vary', execute: varyAt(null) };
export const varySubtleButton: ComponentHandler = { action: 'vary-subtle', execute: varyAt('subtle') };
export const varyStrongButton: ComponentHandler = { action: 'vary-strong', execute: varyAt('strong') };
