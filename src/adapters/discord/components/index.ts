/** Handlers for the buttons and menus on result messages, by the action in their custom id. */
import type { ComponentAction } from '../custom-id.ts';
import type { ComponentHandler } from '../context.ts';
import { animationButton } from './animation.ts';
import { deleteButton } from './delete.ts';
import { interpolatePickSelect, interpolateWithButton } from './interpolate-with.ts';
import { replaySelect } from './replay-select.ts';
import { rerollButton } from './reroll.ts';
import { varyButton, varyStrongButton, varySubtleButton } from './vary.ts';

export const COMPONENT_HANDLERS: Readonly<Record<ComponentAction, ComponentHandler>> = {
  reroll: rerollButton,
  replay: replaySelect,
  animate: animationButton,
  delete: deleteButton,
  vary: varyButton,
  'vary-subtle': varySubtleButton,
  'vary-strong': varyStrongButton,
  'interpolate-with': interpolateWithButton,
  'interpolate-pick': interpolatePickSelect,
};
