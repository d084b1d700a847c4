/**
 * Labels and guidance of class-conditional models: a user's label (a class name, any case, a
 * unique prefix of it, or its index) resolved to the manifest's class name, and the per-image
 * label indices and guidance scales the denoising loop feeds the network.
 */
import type { Conditioning } from '../model/manifest.ts';
import type { Guidance } from './pipeline.ts';
import type { GenerationParams } from './types.ts';

export const MAX_GUIDANCE = 20;

/** "Smileys & Emotion" -> "smileysemotion": what users type in a chat box. */
function normalise(name: string): string {
  return name.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/**
 * The class name a user's label means, or an error message listing the choices. Typed digits name
 * the class "7" when there is one (mnist's digits), else the class at that index (emoji's categories).
 */
export function resolveLabel(conditioning: Conditioning, label: string | number): { name: string } | { error: string } {
  const { classes } = conditioning;
  const choices = `choose one of: ${classes.join(', ')}`;
  if (typeof label === 'string' && /^\s*\d{1,6}\s*$/.test(label) && !classes.includes(label.trim())) label = Number(label);
  if (typeof label === 'number') {
    return Number.isInteger(label) && label >= 0 && label < classes.length
      ? { name: classes[label]! }
      : { error: `label index must be 0..${classes.length - 1}; ${choices}` };
  }
  const text = label.trim();
  const exact = classes.find((c) => c === text) ?? classes.find((c) => c.toLowerCase() === text.toLowerCase());
  if (exact) return { name: exact };
  const wanted = normalise(text);
  if (wanted) {
    const same = classes.filter((c) => normalise(c) === wanted);
    const matches = same.length > 0 ? same : classes.filter((c) => normalise(c).startsWith(wanted));
    if (matches.length === 1) return { name: matches[0]! };
    if (matches.length > 1) return { error: `label "${text}" could mean ${matches.join(' or ')}; ${choices}` };
  }
  return { error: `unknown label "${text.slice(0, 100)}"; ${choices}` };
}

/** Class names matching what a user has typed so far (autocomplete), best first. */
export function suggestLabels(conditioning: Conditioning, typed: string, limit = 25): string[] {
  const wanted = normalise(typed);
  const starts = conditioning.classes.filter((c) => normalise(c).startsWith(wanted));
  const contains = conditioning.classes.filter((c) => !starts.includes(c) && normalise(c).includes(wanted));
  return [...starts, ...contains].slice(0, limit);
}

/** Label index and guidance scale of every image of a batch, in batch order. */
export function batchGuidance(conditioning: Conditioning, params: readonly GenerationParams[]): Guidance {
  const labels: number[] = [];
  const scales: number[] = [];
  for (const p of params) {
    const index = p.label === null ? conditioning.null_class : conditioning.classes.indexOf(p.label);
    if (index < 0) throw new Error(`label "${p.label}" is not a class of this model`);
    for (let i = 0; i < p.count; i++) {
      labels.push(index);
      scales.push(p.label === null ? 1 : (p.guidance ?? conditioning.default_guidance_scale));
    }
  }
  return { labels, scales, nullClass: conditioning.null_class };
}
