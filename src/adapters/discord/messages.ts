/**
 * What the bot's messages look like, as plain Discord JSON: the queued/progress states of a
 * request's message, the finished results with their buttons, and the late channel delivery. No
 * I/O here; results.ts fetches the images and calls these.
 */
import type { APIEmbed, APIEmbedField } from 'discord.js';
import { optionPairs } from '../../engine/options.ts';
import { psnrWords, seedWords, type SeedFields } from '../edit-text.ts';
import type { RequestView } from '../../jobs/service.ts';
import { deleteOnlyComponents, generationComponents } from './result-rows.ts';
import { reproduceLine, seedFields } from './seed-fields.ts';
import type { Catalog } from '../../engine/catalog.ts';
import type { OutgoingFile, OutgoingMessage } from './reply-target.ts';

const COLOR_WORKING = 0x5865f2;
const COLOR_DONE = 0x57f287;
const COLOR_FAILED = 0xed4245;

/** Discord rejects the whole message when one text is over its limit: cut, and say so with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function png(name: string, data: Buffer): OutgoingFile {
  return { name, data, contentType: 'image/png' };
}

export function gif(name: string, data: Buffer): OutgoingFile {
  return { name, data, contentType: 'image/gif' };
}

/** One line with everything needed to reproduce a generation. */
export function paramsLine(view: Pick<RequestView, 'model' | 'label' | 'guidance' | 'sampler' | 'steps' | 'options'> & SeedFields): string {
  const parts = [view.model];
  if (view.label !== null) parts.push(`label ${view.label}`, `guidance ${view.guidance ?? 'default'}`);
  parts.push(view.sampler ?? '?', `${view.steps ?? '?'} steps`);
  for (const [name, value] of optionPairs(view.options)) parts.push(`${name} ${value}`);
  parts.push(...seedWords(view));
  return parts.join(' · ');
}

function progressBar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

export function queuedMessage(position: number, summary: string): OutgoingMessage {
  return {
    content: '',
    embeds: [
      {
        color: COLOR_WORKING,
        title: position <= 1 ? '⏳ Queued: you are next' : `⏳ Queued: position ${position}`,
        description: summary,
      },
    ],
    files: [],
  };
}

export function runningMessage(summary: string): OutgoingMessage {
  return { content: '', embeds: [{ color: COLOR_WORKING, title: '🌀 Starting…', description: summary }], files: [] };
}

/** The live preview: predicted x_0 so far, step and percentage. */
export function progressMessage(step: number, totalSteps: number, summary: string, previewPng: Buffer | null): OutgoingMessage {
  const percent = Math.floor((step / totalSteps) * 100);
  const embed: APIEmbed = {
    color: COLOR_WORKING,
    title: `🌀 Denoising: step ${step}/${totalSteps} (${percent}%)`,
    description: `${summary}\n\`${progressBar(step / totalSteps)}\`\nPreview: the model's current guess of the final image (predicted x₀).`,
  };
  if (!previewPng) return { content: '', embeds: [embed], files: [] };
  return { content: '', embeds: [{ ...embed, image: { url: 'attachment://preview.png' } }], files: [png('preview.png', previewPng)] };
}

export function tokenExpiringMessage(summary: string): OutgoingMessage {
  return {
    content: '',
    embeds: [
      {
        color: COLOR_WORKING,
        title: '🕰️ Still working',
        description: `${summary}\nThis is taking longer than Discord lets me keep this message updated. I will post the result in this channel and mention you when it is done.`,
      },
    ],
    files: [],
  };
}

function seconds(ms: number | null): string {
  return ms === null ? '–' : `${(ms / 1000).toFixed(2)} s`;
}

/** Label and guidance of a class-conditional request; nothing for an unconditional one. */
export function labelFields(view: Pick<RequestView, 'label' | 'guidance'>): APIEmbedField[] {
  if (view.label === null) return [];
  return [
    { name: 'Label', value: view.label, inline: true },
    { name: 'Guidance', value: view.guidance === null ? 'default' : String(view.guidance), inline: true },
  ];
}

export function generationFields(view: RequestView): APIEmbedField[] {
  const fields: APIEmbedField[] = [
    { name: 'Model', value: view.model, inline: true },
    ...labelFields(view),
    { name: 'Sampler', value: view.sampler ?? '–', inline: true },
    { name: 'Steps', value: String(view.steps ?? '–'), inline: true },
  ];
  const options = optionPairs(view.options);
  if (options.length > 0) fields.push({ name: 'Options', value: clip(options.map(([k, v]) => `${k} ${v}`).join(', '), 1024), inline: true });
  fields.push(
    ...seedFields(view),
    { name: 'Duration', value: `${seconds(view.timings.samplingMs)} sampling, ${seconds(view.timings.totalMs)} total`, inline: true },
    { name: 'Request', value: `\`${view.id}\``, inline: false },
  );
  return fields;
}

export function generationResultMessage(
  catalog: Catalog,
  view: RequestView,
  display: Buffer,
  originals: readonly Buffer[],
  note?: string,
): OutgoingMessage {
  const base = `ddpm-${view.seed}`;
  const originalFiles = originals.map((data, i) => png(originals.length === 1 ? `${base}-original.png` : `${base}-${i + 1}-original.png`, data));
  return {
    content: note ?? '',
    embeds: [
      {
        color: COLOR_DONE,
        title: view.variation ? `✨ ${view.count > 1 ? `${view.count} variations` : 'Variation'}` : view.count > 1 ? `✨ ${view.count} images` : '✨ Done',
        description: `${paramsLine(view)}\nThe original-size image${originals.length > 1 ? 's are' : ' is'} attached; the preview is enlarged for display.`,
        fields: generationFields(view),
        image: { url: `attachment://${base}.png` },
        footer: { text: clip(reproduceLine(view), 2048) },
      },
    ],
    components: generationComponents(catalog, view),
    files: [png(`${base}.png`, display), ...originalFiles],
  };
}

/** An interpolation: the strip of its frames (enlarged for display) and their GIF, Vary under each frame. */
export function interpolationResultMessage(catalog: Catalog, view: RequestView, strip: Buffer, animation: Buffer): OutgoingMessage {
  const base = `ddpm-${view.seed}-interpolation`;
  return {
    content: '',
    embeds: [
      {
        color: COLOR_DONE,
        title: `✨ Interpolation: ${view.count} frames`,
        description: `${paramsLine(view)}\nThe frames left to right (spherical interpolation of x_T, decoded deterministically); the GIF plays them.`,
        fields: generationFields(view),
        image: { url: `attachment://${base}.png` },
        footer: { text: clip(reproduceLine(view), 2048) },
      },
    ],
    components: generationComponents(catalog, view),
    files: [png(`${base}.png`, strip), gif(`${base}.gif`, animation)],
  };
}

/**
 * An inversion: the source beside its reconstruction (enlarged for display), both at their own size attached,
 * the PSNR in the title; Vary and Interpolate with… start from the source image.
 */
export function inversionResultMessage(catalog: Catalog, view: RequestView, display: Buffer, source: Buffer, reconstruction: Buffer): OutgoingMessage {
  const base = `ddpm-inversion-${view.id.slice(0, 8)}`;
  const psnr = view.inversion ? psnrWords(view.inversion.psnr) : 'PSNR unknown';
  return {
    content: '',
    embeds: [
      {
        color: COLOR_DONE,
        title: `✨ Inversion: ${psnr} at ${view.steps ?? '?'} steps`,
        description: `${paramsLine(view)}\nLeft: your image as the model sees it; right: its x_T (found by running the ${view.sampler ?? '?'} ODE forwards) decoded back. More steps, smaller error.`,
        fields: generationFields(view),
        image: { url: `attachment://${base}.png` },
        footer: { text: clip(reproduceLine(view), 2048) },
      },
    ],
    components: generationComponents(catalog, view),
    files: [png(`${base}.png`, display), png(`${base}-source.png`, source), png(`${base}-reconstruction.png`, reconstruction)],
  };
}

export function noiseDemoResultMessage(view: RequestView, grid: Buffer, animation: Buffer | null, reconstruction: Buffer | null): OutgoingMessage {
  const demo = view.noiseDemo;
  const fields: APIEmbedField[] = [
    { name: 'Model', value: view.model, inline: true },
    { name: 'Seed (noise)', value: `\`${view.seed}\``, inline: true },
    { name: 'Timesteps', value: demo?.timesteps?.join(', ') ?? 'default', inline: true },
  ];
  if (demo?.denoiseFrom !== undefined) fields.push({ name: 'Reconstruction', value: `reverse process from t=${demo.denoiseFrom}`, inline: true });
  fields.push({ name: 'Request', value: `\`${view.id}\``, inline: false });
  const files = [png('noise-grid.png', grid)];
  if (animation) files.push(gif('noise.gif', animation));
  if (reconstruction) files.push(png('reconstruction.png', reconstruction));
  return {
    content: '',
    embeds: [
      {
        color: COLOR_DONE,
        title: '🌫️ Forward process: x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε',
        description:
          demo?.denoiseFrom === undefined
            ? 'The same noise ε at every t; the grid shows the image dissolving into noise.'
            : 'Top row: the same noise ε at every t, then the image denoised back from x_t. Bottom row: DDIM inversion of the same image (its ODE run forwards, no noise drawn) and its decoding back: the deterministic path returns to the image, the stochastic one does not.',
        fields,
        image: { url: 'attachment://noise-grid.png' },
      },
    ],
    components: deleteOnlyComponents(view.id),
    files,
  };
}

export function animationResultMessage(view: RequestView, animation: Buffer, frameCount: number, sourceRequestId: string | undefined): OutgoingMessage {
  return {
    content: '',
    embeds: [
      {
        color: COLOR_DONE,
        title: '🎞️ Denoising animation',
        description: [
          `The model's predicted x₀ over the steps of ${view.count > 1 ? 'the first image of ' : ''}${sourceRequestId ? `\`${sourceRequestId}\`` : 'the request'} (${paramsLine(view)}).`,
          `${frameCount} frames.`,
        ].join('\n'),
        fields: [{ name: 'Replay request', value: `\`${view.id}\``, inline: false }],
        image: { url: 'attachment://denoising.gif' },
      },
    ],
    components: deleteOnlyComponents(view.id),
    files: [gif('denoising.gif', animation)],
  };
}

export function failedMessage(view: RequestView): OutgoingMessage {
  return {
    content: '',
    embeds: [
      {
        color: COLOR_FAILED,
        title: view.status === 'cancelled' ? '✖️ Cancelled' : '❌ Generation failed',
        description: clip(`${view.kind !== 'noise_demo' ? paramsLine(view) : `noise demo · ${view.model} · seed ${view.seed}`}\n${view.error ?? ''}`.trim(), 4096),
        fields: [{ name: 'Request', value: `\`${view.id}\``, inline: false }],
      },
    ],
    components: [],
    files: [],
  };
}

/** When a finished result cannot be shown (e.g. its images are gone): say so, and where to look. */
export function undeliverableMessage(view: RequestView): OutgoingMessage {
  return {
    content: '',
    embeds: [
      {
        color: COLOR_FAILED,
        title: '❌ The result could not be shown',
        description: `Request \`${view.id}\` finished (${view.status}) but its images could not be attached here. \`/info request_id:${view.id}\` shows its parameters and seed.`,
        fields: [{ name: 'Request', value: `\`${view.id}\``, inline: false }],
      },
    ],
    components: [],
    files: [],
  };
}
