// How the page words requests and models in titles, captions, menus and parameters.

import { optionsText } from './sampler-options.js';

export function seconds(ms) {
  return ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`;
}

export function remaining(ms) {
  return ms < 1000 ? 'under a second left' : `about ${Math.round(ms / 1000)} s left`;
}

/** "class 1, guidance 3 · " for labelled requests, "" otherwise. */
export function labelPrefix(view, sep = ' · ') {
  return view.label === null || view.label === undefined ? '' : `${view.label}, guidance ${view.guidance}${sep}`;
}

/**
 * What drew a result, for captions: its seed, or an interpolation's two ends. An interpolation from an image names
 * the image: its request's seed is the last end's, and no seed draws its first frame.
 */
export function seedText(view) {
  const i = view.interpolation;
  if (!i) return `seed ${view.seed}`;
  if (i.to.label !== undefined) return `label → ${i.to.label} at seed ${view.seed}`;
  if (!i.from) return `seed ${view.seed} → ${i.to.seed}`;
  const image = i.from.requestId ? `image ${i.from.index + 1} of request ${i.from.requestId.slice(0, 8)}` : 'an uploaded image';
  return `${image} → seed ${i.to.seed}`;
}

/** "sampler (name value, ...)": the sampler with its options, for titles and captions. */
export function samplerText(view) {
  const options = optionsText(view.options);
  return options ? `${view.sampler} (${options})` : view.sampler;
}

/** A succeeded inversion's reconstruction error; null PSNR means the 8-bit pixels came back identical. */
export function psnrText(view) {
  const psnr = view.inversion && view.inversion.psnr;
  return typeof psnr === 'number' ? `${psnr.toFixed(2)} dB` : 'exact';
}

/** How the gallery and the Interpolate with… menu name a request. */
export function requestCaption(r) {
  if (r.kind === 'noise_demo') return `${r.model} · noise demo · seed ${r.seed}`;
  if (r.kind === 'invert') return `${r.model} · inversion · ${r.steps} steps${r.status === 'succeeded' ? ` · PSNR ${psnrText(r)}` : ''}`;
  return `${r.model} · ${labelPrefix(r)}${samplerText(r)} · ${r.steps} · ${seedText(r)}`;
}

export function modelSummary(m) {
  const labels = m.conditioning ? `; labels ${m.conditioning.classes.join(', ')}` : '';
  return `${m.name} (${m.image.width}×${m.image.height}${labels})`;
}
