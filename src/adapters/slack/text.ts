/** User-facing text: help, progress lines, captions and error messages. */
import type { RequestView } from '../../jobs/types.ts';
import { ForbiddenError, NotFoundError, RateLimitError, ValidationError } from '../../jobs/types.ts';
import { optionHelp, optionPairs, optionSpecs } from '../../engine/options.ts';
import { ImageInputError } from '../../render/input.ts';
import type { Catalog } from '../../engine/catalog.ts';
import { OptionsError } from './options.ts';
import { psnrWords, seedWords } from '../edit-text.ts';

/** A label as command text: quoted when it has spaces (`label:"Food & Drink"`). */
export function labelOption(label: string): string {
  return /\s/.test(label) ? `label:"${label}"` : `label:${label}`;
}

export function generateHelp(catalog: Catalog): string {
  const models = catalog.models.list();
  const labelled = models.filter((m) => m.manifest.conditioning);
  const example = labelled[0] ?? catalog.models.defaultModel();
  const exampleLabel = example?.manifest.conditioning ? ` ${labelOption(example.manifest.conditioning.classes.at(-1)!)}` : '';
  const labels = labelled.map((m) => `${m.name}: ${m.manifest.conditioning!.classes.join(', ')}`);
  const guidance = labelled.map((m) => `${m.name} ${m.manifest.conditioning!.default_guidance_scale}`);
  return [
    '*/generate* makes images with a diffusion model. Every option is optional:',
    `\`/generate model:<name> sampler:<name> steps:<n> seed:<n> count:<n>${labelled.length > 0 ? ' label:<class> guidance:<x>' : ''} <option>:<value>\``,
    `• model: ${models.map((m) => m.name).join(', ') || '(none installed)'}`,
    `• sampler: ${catalog.samplers.list().map((p) => p.name).join(', ') || '(none installed)'}`,
    '• steps: denoising steps (each sampler has its own range and default)',
    '• seed: 0..4294967295; the same seed and options reproduce the same image',
    '• count: 1..16 images in one grid',
    ...samplerOptionLines(catalog),
    ...(labelled.length > 0
      ? [
          escapeMrkdwn(`• label: what to draw, for class-conditional models (quote names with spaces) — ${labels.join('; ')}`),
          `• guidance: 0..20, how closely the image follows the label (1 = plain; default ${guidance.join(', ')})`,
        ]
      : []),
    escapeMrkdwn(`Example: \`/generate model:${example?.name ?? 'tiny'}${exampleLabel} sampler:ddim steps:50 seed:42\``),
    '*/compare* `seed:<n> steps:<n>` runs one seed through every sampler side by side (model, label and guidance as above): a table of the steps and seconds each took, each image in its thread.',
    '*/noise-demo* `seed:<n> timesteps:0,100,500,999 denoise_from:<t>` shows the forward (noising) process of the last image you shared here in the past 10 minutes, or of a generated one; with denoise_from it also runs the model back from x_t.',
    '*/invert* `steps:<n> model:<name>` inverts the last image you shared here in the past 10 minutes to its noise x_T with DDIM and decodes it back: the reconstruction beside it, with its PSNR; Vary and Interpolate with… under it start from your image.',
    'Message shortcut *Generate an image*: pick it from a message\'s ⋯ menu; the message suggests the seed.',
  ].join('\n');
}

export function progressBar(step: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.round((step / total) * width) : 0;
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

export function describeParams(view: Pick<RequestView, 'kind' | 'model' | 'label' | 'guidance' | 'sampler' | 'steps' | 'seed' | 'count' | 'options' | 'noiseDemo' | 'variation' | 'interpolation' | 'inversion'>): string {
  if (view.kind === 'noise_demo') {
    const ts = view.noiseDemo?.timesteps;
    const from = view.noiseDemo?.denoiseFrom;
    return `model \`${view.model}\`, seed \`${view.seed}\`${ts ? `, timesteps \`${ts.join(',')}\`` : ''}${from !== undefined ? `, denoise_from \`${from}\`` : ''}`;
  }
  const options = optionPairs(view.options)
    .map(([name, value]) => `, ${name} \`${escapeMrkdwn(value)}\``)
    .join('');
  const count = view.count > 1 ? `, count \`${view.count}\`` : '';
  const label = view.label !== null ? `, label \`${escapeMrkdwn(view.label)}\`, guidance \`${view.guidance ?? 'default'}\`` : '';
  const sampling = `model \`${view.model}\`${label}, sampler \`${view.sampler ?? '?'}\`, steps \`${view.steps ?? '?'}\``;
  if (view.kind === 'generate') return `${sampling}, seed \`${view.seed}\`${options}${count}`;
  return `${sampling}${options}, ${seedWords(view, (v) => `\`${escapeMrkdwn(v)}\``).join(', ')}`;
}

const KIND_WORDS: Partial<Record<RequestView['kind'], string>> = { noise_demo: 'Forward process', interpolate: 'Interpolation', vary: 'Variation', invert: 'Inversion' };

export function caption(view: RequestView): string {
  const what = KIND_WORDS[view.kind] ?? (view.count > 1 ? `${view.count} images` : 'Image');
  const secs = view.timings.samplingMs !== null ? ` in ${(view.timings.samplingMs / 1000).toFixed(1)} s` : '';
  // Left: the image as the model sees it; right: its x_T decoded back.
  const psnr = view.inversion && view.status === 'succeeded' ? ` · ${psnrWords(view.inversion.psnr)} (left the image, right its reconstruction)` : '';
  return `${what} for <@${view.requester.userId}>${secs}: ${describeParams(view)}${psnr} · request \`${view.id}\``;
}

/** What the user should be told for an error thrown while handling their gesture. */
export function userMessage(error: unknown): string {
  if (error instanceof OptionsError) return `${error.message}\nType \`/generate help\` for the syntax.`;
  if (error instanceof ValidationError) {
    // Name the field as the user typed it (the service speaks camelCase).
    // A sampler option is typed as its own key (`<name>:<value>`), not as `options.<name>`.
    const field = error.field === 'denoiseFrom' ? 'denoise_from' : error.field.replace(/^options\./, '');
    const message = error.message.replace(/\bdenoiseFrom\b/g, 'denoise_from');
    return `Please fix \`${field}\`: ${message}\nType \`/generate help\` for the syntax.`;
  }
  if (error instanceof RateLimitError) {
    return `${error.message} Try again in ${formatSeconds(error.retryAfterSeconds)}.`;
  }
  if (error instanceof ImageInputError) return `I could not use your image: ${error.message}`;
  if (error instanceof SlackUserError || error instanceof NotFoundError || error instanceof ForbiddenError) return error.message;
  return 'Something went wrong on my side; please try again in a moment.';
}

/** An error whose message is meant for the user as is. */
export class SlackUserError extends Error {
  override readonly name = 'SlackUserError';
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${Math.max(1, Math.ceil(s))} s`;
  const m = Math.ceil(s / 60);
  return m < 60 ? `${m} min` : `${Math.ceil(m / 60)} h`;
}

/** Slack's control characters in user-supplied text (file names), so they cannot form mentions or links. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Each sampler's own options, one help line each, from the plugins' declarations. */
function samplerOptionLines(catalog: Catalog): string[] {
  return catalog.samplers.list().flatMap((p) => optionSpecs(p).map((s) => escapeMrkdwn(`• ${optionHelp(s)} — sampler ${p.name}`)));
}

/** Parsed options back as command text (what the status message shows instead of the raw input), escaped for mrkdwn. */
export function formatOptions(options: Readonly<Record<string, unknown>>): string {
  // A sampler's options are typed as top-level keys, so they are shown that way too.
  const { options: samplerOptions, ...own } = options;
  return [...Object.entries(own), ...Object.entries((samplerOptions ?? {}) as Record<string, unknown>)]
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (k === 'label' ? labelOption(String(v)) : `${k}:${Array.isArray(v) ? v.join(',') : String(v)}`))
    .map(escapeMrkdwn)
    .join(' ');
}
