/**
 * The embed fields and footer that say how to get a result again: a generation's seed, a variation's
 * strength, noise seed and source image, an interpolation's two ends and frames, an inversion's source
 * and reconstruction error.
 */
import type { APIEmbedField } from 'discord.js';
import { optionPairs } from '../../engine/options.ts';
import type { RequestView } from '../../jobs/service.ts';
import { psnrWords, sourceWords } from '../edit-text.ts';

const quoted = (v: string) => `\`${v}\``;

const inline = (name: string, value: string): APIEmbedField => ({ name, value, inline: true });

export function seedFields(view: RequestView): APIEmbedField[] {
  if (view.variation) {
    const { strength, source } = view.variation;
    const from = 'requestId' in source ? `image ${source.index + 1} of \`${source.requestId}\`` : 'an upload';
    return [inline('Strength', String(strength)), inline('Noise seed', `\`${view.seed}\``), { name: 'Varied from', value: from, inline: false }];
  }
  if (view.interpolation) {
    const { to, frames, from } = view.interpolation;
    if (from && 'seed' in to) return [inline('Ends', `inverted ${sourceWords(from, quoted)} → seed \`${to.seed}\``), inline('Frames', String(frames))];
    const ends = 'seed' in to ? inline('Seeds', `\`${view.seed}\` → \`${to.seed}\``) : inline('Labels', `${view.label} → ${to.label} at seed \`${view.seed}\``);
    return [ends, inline('Frames', String(frames))];
  }
  if (view.inversion) {
    const from = { name: 'Inverted from', value: sourceWords(view.inversion.source, quoted), inline: false };
    // The PSNR exists once the worker measured it; null before that, and null after it for an exact round trip.
    return view.status === 'succeeded' ? [inline('Reconstruction', psnrWords(view.inversion.psnr)), from] : [from];
  }
  return [inline('Seed', `\`${view.seed}\``)];
}

/** The command that gives this request's images again. */
export function reproduceLine(view: RequestView): string {
  const options = [`model:${view.model}`, `sampler:${view.sampler}`, `steps:${view.steps}`];
  for (const [name, value] of optionPairs(view.options)) options.push(`${name}:${value}`);
  const guidance = view.guidance === null ? [] : [`guidance:${view.guidance}`];
  if (view.variation) {
    const { strength, source } = view.variation;
    if (!('requestId' in source)) return `Noise seed ${view.seed} at strength ${strength} varies the same upload the same way again.`;
    return `Reproduce: ddpm-bot vary --from ${source.requestId} --index ${source.index} --strength ${strength} --seed ${view.seed}${view.count > 1 ? ` --count ${view.count}` : ''}`;
  }
  const labelled = view.label === null ? [] : [`label:${view.label}`, ...guidance];
  if (view.inversion) return `Nothing is random: the same image inverted with ${[...options, ...labelled].join(' ')} gives the same reconstruction.`;
  if (view.interpolation) {
    const { to, frames, from } = view.interpolation;
    if (from && 'seed' in to) return `Nothing is random: the same image inverted with ${[...options, ...labelled].join(' ')} to seed_b:${to.seed} frames:${frames} gives the same frames.`;
    const ends = 'seed' in to ? [`seed_a:${view.seed}`, `seed_b:${to.seed}`, ...(view.label === null ? [] : [`label:${view.label}`])] : [`label_a:${view.label}`, `label_b:${to.label}`, `seed:${view.seed}`];
    return `Reproduce: /interpolate ${[...options, ...ends, `frames:${frames}`, ...guidance].join(' ')}`;
  }
  options.push(`seed:${view.seed}`);
  if (view.count > 1) options.push(`count:${view.count}`);
  if (view.label !== null) options.push(`label:${view.label}`, ...guidance);
  return `Reproduce: /generate ${options.join(' ')}`;
}
