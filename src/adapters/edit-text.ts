/**
 * The words every chat front end uses for what a request drew from its seed: a generation's seed, a
 * variation's strength, noise seed and source, an interpolation's two ends, an inversion's source and PSNR.
 * One place, so Discord and Slack describe a request alike (they differ only in markup, which `code` adds).
 */
import type { RequestView, VariationSource } from '../jobs/types.ts';

export type SeedFields = Pick<RequestView, 'kind' | 'seed' | 'count' | 'variation' | 'interpolation' | 'inversion'>;

/** Where an edit's image came from: an image of a stored request, or an upload. */
export function sourceWords(source: VariationSource, code: (value: string) => string = (v) => v): string {
  return 'requestId' in source ? `${code(source.requestId)} image ${source.index + 1}` : 'an upload';
}

/** A succeeded inversion's reconstruction error; "exact" when the 8-bit pixels are identical (PSNR infinite, stored as null). */
export function psnrWords(psnr: number | null): string {
  return psnr === null ? 'exact reconstruction' : `PSNR ${psnr.toFixed(2)} dB`;
}

/** `code` wraps a value as the platform shows literals (Discord leaves them plain in one-liners, Slack backticks them). */
export function seedWords(view: SeedFields, code: (value: string) => string = (v) => v): string[] {
  if (view.variation) {
    const { strength, source } = view.variation;
    const many = view.count > 1 ? [`${view.count} variations`] : [];
    return [`variation of ${sourceWords(source, code)}`, `strength ${code(String(strength))}`, `noise seed ${code(String(view.seed))}`, ...many];
  }
  if (view.interpolation) {
    const { to, frames, from } = view.interpolation;
    // From an image, the request's seed is the last frame's (its x_T is the image's inversion).
    if (from && 'seed' in to) return [`inverted ${sourceWords(from, code)} → seed ${code(String(to.seed))}`, `${frames} frames`];
    const ends = 'seed' in to ? `seed ${code(String(view.seed))} → ${code(String(to.seed))}` : `label → ${code(to.label)} at seed ${code(String(view.seed))}`;
    return [ends, `${frames} frames`];
  }
  // An inversion draws no noise: its stored seed (0) means nothing to the user. Its PSNR is the result's to show.
  if (view.inversion) return [`inversion of ${sourceWords(view.inversion.source, code)}`];
  return [`seed ${code(String(view.seed))}`, ...(view.count > 1 ? [`${view.count} images`] : [])];
}
