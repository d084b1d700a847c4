/**
 * What the bot's messages look like, as plain Discord JSON: the queued/progress states of a
 * request's message, the finished results with their buttons, and the late channel delivery. No
 * I/O here; results.ts fetches the images and calls these.
 */
import type { APIActionRowComponent, APIComponentInMessageActionRow, APIEmbed, APIEmbedField, APISelectMenuOption } from 'discord.js';
import { ButtonStyle, ComponentType } from 'discord.js';
import { optionPairs } from '../../engine/options.ts';
import type { RequestView } from '../../jobs/service.ts';
import { componentId } from './custom-id.ts';
import type { Catalog } from '../../engine/catalog.ts';
import type { OutgoingFile, OutgoingMessage } from './reply-target.ts';

const COLOR_WORKING = 0x5865f2;
const COLOR_DONE = 0x57f287;
const COLOR_FAILED = 0xed4245;

type Row = APIActionRowComponent<APIComponentInMessageActionRow>;

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
export function paramsLine(view: Pick<RequestView, 'model' | 'label' | 'guidance' | 'sampler' | 'steps' | 'options' | 'seed' | 'count'>): string {
  const parts = [view.model];
  if (view.label !== null) parts.push(`label ${view.label}`, `guidance ${view.guidance ?? 'default'}`);
  parts.push(view.sampler ?? '?', `${view.steps ?? '?'} steps`);
  for (const [name, value] of optionPairs(view.options)) parts.push(`${name} ${value}`);
  parts.push(`seed ${view.seed}`);
  if (view.count > 1) parts.push(`${view.count} images`);
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
    { name: 'Seed', value: `\`${view.seed}\``, inline: true },
    { name: 'Duration', value: `${seconds(view.timings.samplingMs)} sampling, ${seconds(view.timings.totalMs)} total`, inline: true },
    { name: 'Request', value: `\`${view.id}\``, inline: false },
  );
  return fields;
}

/** Step counts offered for "same seed" replays: the sampler's default plus round numbers in its limits. */
export function replayChoices(catalog: Catalog, view: RequestView): APISelectMenuOption[] {
  const trainSteps = catalog.model(view.model).manifest.scheduler.num_train_timesteps;
  const choices: APISelectMenuOption[] = [];
  for (const plugin of catalog.samplers.list()) {
    const limits = plugin.stepLimits(trainSteps);
    const steps = [...new Set([limits.default, 10, 20, 25, 50, 100, 250, 1000])]
      .filter((n) => n >= limits.min && n <= limits.max)
      .sort((a, b) => a - b);
    for (const n of steps) {
      if (plugin.name === view.sampler && n === view.steps) continue;
      choices.push({
        label: `${plugin.name} · ${n} steps${n === limits.default ? ' (default)' : ''}`,
        value: `${plugin.name}:${n}`,
        description: `Same seed ${view.seed}`.slice(0, 100),
      });
    }
  }
  return choices.slice(0, 25);
}

export function parseReplayChoice(value: string): { sampler: string; steps: number } | null {
  const match = /^([a-z0-9_-]+):(\d{1,5})$/.exec(value);
  return match ? { sampler: match[1]!, steps: Number(match[2]) } : null;
}

function deleteButton(requestId: string) {
  return { type: ComponentType.Button, style: ButtonStyle.Danger, label: 'Delete', emoji: { name: '🗑️' }, custom_id: componentId('delete', requestId) } as const;
}

export function generationComponents(catalog: Catalog, view: RequestView): Row[] {
  const rows: Row[] = [
    {
      type: ComponentType.ActionRow,
      components: [
        { type: ComponentType.Button, style: ButtonStyle.Primary, label: 'Reroll', emoji: { name: '🎲' }, custom_id: componentId('reroll', view.id) },
        { type: ComponentType.Button, style: ButtonStyle.Secondary, label: 'Denoising animation', emoji: { name: '🎞️' }, custom_id: componentId('animate', view.id) },
        deleteButton(view.id),
      ],
    },
  ];
  const choices = replayChoices(catalog, view);
  if (choices.length > 0) {
    rows.push({
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.StringSelect,
          custom_id: componentId('replay', view.id),
          placeholder: 'Same seed with another sampler or step count…',
          options: choices,
          min_values: 1,
          max_values: 1,
        },
      ],
    });
  }
  return rows;
}

export function deleteOnlyComponents(requestId: string): Row[] {
  return [{ type: ComponentType.ActionRow, components: [deleteButton(requestId)] }];
}

/** The /generate options that give this request's images again. */
function reproduceCommand(view: RequestView): string {
  const options = [`model:${view.model}`, `sampler:${view.sampler}`, `steps:${view.steps}`, `seed:${view.seed}`];
  for (const [name, value] of optionPairs(view.options)) options.push(`${name}:${value}`);
  if (view.count > 1) options.push(`count:${view.count}`);
  if (view.label !== null) options.push(`label:${view.label}`, ...(view.guidance === null ? [] : [`guidance:${view.guidance}`]));
  return `Reproduce: /generate ${options.join(' ')}`;
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
        title: view.count > 1 ? `✨ ${view.count} images` : '✨ Done',
        description: `${paramsLine(view)}\nThe original-size image${originals.length > 1 ? 's are' : ' is'} attached; the preview is enlarged for display.`,
        fields: generationFields(view),
        image: { url: `attachment://${base}.png` },
        footer: { text: clip(reproduceCommand(view), 2048) },
      },
    ],
    components: generationComponents(catalog, view),
    files: [png(`${base}.png`, display), ...originalFiles],
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
        description: 'The same noise ε at every t; the grid shows the image dissolving into noise.',
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
        description: clip(`${view.kind === 'generate' ? paramsLine(view) : `noise demo · ${view.model} · seed ${view.seed}`}\n${view.error ?? ''}`.trim(), 4096),
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
