/**
 * The words every chat front end uses for what a request drew from its seed: a generation's seed, a
 * variation's strength, noise seed and source, an interpolation's two ends. One place, so Discord and
 * Slack describe a request alike (they differ only in markup, which `code` adds).
 */
import type { RequestView } from '../jobs/types.ts';

export type SeedFields = Pick<RequestView, 'kind' | 'seed' | 'count' | 'variation' | 'interpolation'>;

/** `code` wraps a value as the platform shows literals (Discord leaves them plain in one-liners, Slack backticks them). */
export function seedWords(view: SeedFields, code: (value: string) => string = (v) => v): string[] {
  if (view.variation) {
    const { strength, source } = view.variation;
    const from = 'requestId' in source ? `of ${code(source.requestId)} image ${source.index + 1}` : 'of an upload';
    const many = view.count > 1 ? [`${view.count} variations`] : [];
    return [`variation ${from}`, `strength ${code(String(strength))}`, `noise seed ${code(String(view.seed))}`, ...many];
  }
  if (view.interpolation) {
    const { to, frames } = view.interpolation;
    const ends = 'seed' in to ? `seed ${code(String(view.seed))} → ${code(String(to.seed))}` : `label → ${code(to.label)} at seed ${code(String(view.seed))}`;
    return [ends, `${frames} frames`];
  }
  return [`seed ${code(String(view.seed))}`, ...(view.count > 1 ? [`${view.count} images`] : [])];
}
