/**
 * Component custom ids carry the request id, so buttons keep working after restarts: everything
 * else is read back from the database when the button is pressed. Format: `ddpm:<action>:<id>`.
 */
export const COMPONENT_ACTIONS = ['reroll', 'replay', 'animate', 'delete'] as const;
export type ComponentAction = (typeof COMPONENT_ACTIONS)[number];

const PREFIX = 'ddpm';

export function componentId(action: ComponentAction, requestId: string): string {
  const id = `${PREFIX}:${action}:${requestId}`;
  // Discord's limit; request ids are UUIDs, far below it.
  if (id.length > 100) throw new Error(`custom id too long: ${id}`);
  return id;
}

export function parseComponentId(customId: string): { action: ComponentAction; requestId: string } | null {
  const [prefix, action, requestId, ...rest] = customId.split(':');
  if (prefix !== PREFIX || !requestId || rest.length > 0) return null;
  const known = COMPONENT_ACTIONS.find((a) => a === action);
  return known ? { action: known, requestId } : null;
}
