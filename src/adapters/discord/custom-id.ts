/**
 * Component custom ids carry the request id, so buttons keep working after restarts: everything
 * else is read back from the database when the button is pressed. Format: `ddpm:<action>:<id>`, or
 * `ddpm:<action>:<id>:<image index>` for a button under one image of a grid (Vary; its strength is in the
 * action: vary, vary-subtle, vary-strong).
 */
export const COMPONENT_ACTIONS = ['reroll', 'replay', 'animate', 'delete', 'vary', 'vary-subtle', 'vary-strong', 'interpolate-with', 'interpolate-pick'] as const;
export type ComponentAction = (typeof COMPONENT_ACTIONS)[number];

const PREFIX = 'ddpm';

export interface ComponentTarget {
  readonly action: ComponentAction;
  readonly requestId: string;
  /** Which image of the request, for per-image buttons; null otherwise. */
  readonly index: number | null;
}

export function componentId(action: ComponentAction, requestId: string, index?: number): string {
  const id = `${PREFIX}:${action}:${requestId}${index === undefined ? '' : `:${index}`}`;
  // Discord's limit; request ids are UUIDs, far below it.
  if (id.length > 100) throw new Error(`custom id too long: ${id}`);
  return id;
}

export function parseComponentId(customId: string): ComponentTarget | null {
  const [prefix, action, requestId, index, ...rest] = customId.split(':');
  if (prefix !== PREFIX || !requestId || rest.length > 0) return null;
  if (index !== undefined && !/^\d{1,2}$/.test(index)) return null;
  const known = COMPONENT_ACTIONS.find((a) => a === action);
  return known ? { action: known, requestId, index: index === undefined ? null : Number(index) } : null;
}
