/**
 * /noise-demo: the forward process on the user's image (or one the model generates from the seed):
 * a labelled grid of x_t frames and a GIF, optionally with the reverse process from x_t.
 * The attachment is checked in three stages, each as early as possible: Discord's metadata before
 * deferring, then the download (Discord's CDN only, bounded), then a decode under sharp's pixel limit.
 */
import type { ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { SlashCommandBuilder } from 'discord.js';
import { MAX_SEED, randomSeed } from '../../../core/rng.ts';
import { ValidationError } from '../../../engine/index.ts';
import { checkAttachmentMetadata, checkImageBytes, downloadAttachment } from '../attachments.ts';
import { allowedAttachmentOrigins } from '../config.ts';
import type { Catalog } from '../../../engine/catalog.ts';
import type { AdapterContext, SlashCommand } from '../context.ts';
import { replyTargetOf, requesterOf, respondWithError } from '../context.ts';
import { replyTargetJson } from '../reply-target.ts';

/** The service stores at most this many frames per demo. */
export const MAX_TIMESTEPS = 16;

export function definition(catalog: Catalog): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const models = catalog.models.list();
  return new SlashCommandBuilder()
    .setName('noise-demo')
    .setDescription('Show the forward diffusion process: an image dissolving into noise')
    .addAttachmentOption((o) => o.setName('image').setDescription('Your image (PNG/JPEG/WebP/GIF, up to 10 MB); default: one the model generates'))
    .addStringOption((o) =>
      o
        .setName('model')
        .setDescription('Diffusion model (its image size and noise schedule)')
        .addChoices(...models.slice(0, 25).map((m) => ({ name: m.name, value: m.name }))),
    )
    .addIntegerOption((o) => o.setName('seed').setDescription('Seed of the noise (random if empty)').setMinValue(0).setMaxValue(MAX_SEED))
    .addStringOption((o) => o.setName('timesteps').setDescription(`Comma-separated timesteps, e.g. 0,100,250,500,999 (up to ${MAX_TIMESTEPS})`).setMaxLength(200))
    .addIntegerOption((o) => o.setName('denoise_from').setDescription('Also run the reverse process back from x_t at this t').setMinValue(1).setMaxValue(999))
    .toJSON();
}

export function parseTimesteps(text: string | null, trainSteps: number): number[] | undefined {
  if (text === null || text.trim() === '') return undefined;
  const parts = text.split(/[\s,]+/).filter((p) => p !== '');
  if (parts.some((p) => !/^\d+$/.test(p))) throw new ValidationError('timesteps', 'timesteps must be whole numbers separated by commas, e.g. 0,100,500,999');
  const values = parts.map(Number);
  const outside = values.find((t) => t >= trainSteps);
  if (outside !== undefined) throw new ValidationError('timesteps', `timesteps must be 0..${trainSteps - 1} for this model (got ${outside})`);
  if (values.length > MAX_TIMESTEPS) throw new ValidationError('timesteps', `give at most ${MAX_TIMESTEPS} timesteps (got ${values.length})`);
  return values;
}

async function execute(interaction: ChatInputCommandInteraction, ctx: AdapterContext): Promise<void> {
  const attachment = interaction.options.getAttachment('image');
  let params: { model: string; seed: number; timesteps?: number[]; denoiseFrom?: number };
  try {
    const modelName = interaction.options.getString('model') ?? ctx.catalog.models.defaultModel()?.name;
    if (!modelName) throw new ValidationError('model', 'no models are installed');
    const model = ctx.catalog.model(modelName);
    const trainSteps = model.manifest.scheduler.num_train_timesteps;
    const timesteps = parseTimesteps(interaction.options.getString('timesteps'), trainSteps);
    const denoiseFrom = interaction.options.getInteger('denoise_from') ?? undefined;
    if (denoiseFrom !== undefined && denoiseFrom >= trainSteps) throw new ValidationError('denoise_from', `denoise_from must be 1..${trainSteps - 1}`);
    if (attachment) checkAttachmentMetadata(attachment, ctx.tuning.download.maxBytes);
    params = {
      model: model.name,
      // Chosen here so the reply can show it before the job runs.
      seed: interaction.options.getInteger('seed') ?? randomSeed(),
      ...(timesteps ? { timesteps } : {}),
      ...(denoiseFrom !== undefined ? { denoiseFrom } : {}),
    };
  } catch (error) {
    await respondWithError(interaction, error, ctx);
    return;
  }
  await interaction.deferReply();
  try {
    let image: Buffer | undefined;
    if (attachment) {
      image = await downloadAttachment(attachment.url, { ...allowedAttachmentOrigins(ctx.env), ...ctx.tuning.download });
      await checkImageBytes(image, ctx.catalog.model(params.model).manifest);
    }
    const target = replyTargetOf(interaction, 'noise_demo', ctx.tuning);
    const submitted = await ctx.service.submitNoiseDemo({ requester: requesterOf(interaction), params, image, replyTo: replyTargetJson(target) });
    ctx.deliveries.track(submitted.id, target, { kind: 'noise_demo', model: params.model, label: null, guidance: null, seed: params.seed, sampler: null, steps: null, options: {}, count: 1, variation: null, interpolation: null, inversion: null });
  } catch (error) {
    await respondWithError(interaction, error, ctx);
  }
}

export const noiseDemoCommand: SlashCommand = { name: 'noise-demo', definition, execute };
