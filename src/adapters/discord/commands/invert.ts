/**
 * /invert: DDIM inversion (DDIM paper section 5.4) of the user's image: its x_T by the deterministic
 * sampler's ODE run forwards, decoded back, delivered with the reconstruction's PSNR; the result carries
 * Vary and Interpolate with… like a generation's. The attachment is checked as /noise-demo checks it:
 * Discord's metadata before deferring, the download (Discord's CDN only, bounded) and a decode after.
 */
import type { AutocompleteInteraction, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { SlashCommandBuilder } from 'discord.js';
import { MAX_GUIDANCE } from '../../../engine/conditioning.ts';
import type { Catalog } from '../../../engine/catalog.ts';
import { ValidationError } from '../../../engine/index.ts';
import { checkAttachmentMetadata, checkImageBytes, downloadAttachment } from '../attachments.ts';
import { allowedAttachmentOrigins } from '../config.ts';
import type { AdapterContext, SlashCommand } from '../context.ts';
import { respondWithError, startRequest } from '../context.ts';
import { labelChoices } from './generate.ts';

export function definition(catalog: Catalog): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const models = catalog.models.list();
  const builder = new SlashCommandBuilder()
    .setName('invert')
    .setDescription('Invert your image to its noise x_T and decode it back (DDIM): the reconstruction and its PSNR')
    .addAttachmentOption((o) => o.setName('image').setDescription('Your image (PNG/JPEG/WebP/GIF, up to 10 MB)').setRequired(true))
    .addIntegerOption((o) => o.setName('steps').setDescription("Inversion and decoding steps (default: the sampler's); more steps, smaller error").setMinValue(1).setMaxValue(1000))
    .addStringOption((o) => o.setName('model').setDescription('Diffusion model').addChoices(...models.slice(0, 25).map((m) => ({ name: m.name, value: m.name }))))
    .addStringOption((o) =>
      o
        .setName('sampler')
        // The service refuses one that cannot run its path backwards, naming it.
        .setDescription('A deterministic sampler (default ddim)')
        .addChoices(...catalog.samplers.list().slice(0, 25).map((p) => ({ name: `${p.name}: ${p.description}`.slice(0, 100), value: p.name }))),
    );
  if (models.some((m) => m.manifest.conditioning)) {
    builder
      .addStringOption((o) => o.setName('label').setDescription('Class-conditional models: the class the image is inverted under').setAutocomplete(true).setMaxLength(100))
      .addNumberOption((o) => o.setName('guidance').setDescription("How closely to follow the label (default: the model's)").setMinValue(0).setMaxValue(MAX_GUIDANCE));
  }
  return builder.toJSON();
}

async function autocomplete(interaction: AutocompleteInteraction, ctx: AdapterContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  const choices = focused.name === 'label' ? labelChoices(ctx.catalog.models, interaction.options.getString('model'), String(focused.value)) : [];
  await interaction.respond(choices);
}

async function execute(interaction: ChatInputCommandInteraction, ctx: AdapterContext): Promise<void> {
  const o = interaction.options;
  const attachment = o.getAttachment('image', true);
  const raw: Record<string, unknown> = {
    model: o.getString('model') ?? undefined,
    sampler: o.getString('sampler') ?? undefined,
    steps: o.getInteger('steps') ?? undefined,
    label: o.getString('label') ?? undefined,
    guidance: o.getNumber('guidance') ?? undefined,
  };
  const params = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  let modelName: string;
  try {
    const name = o.getString('model') ?? ctx.catalog.models.defaultModel()?.name;
    if (!name) throw new ValidationError('model', 'no models are installed');
    modelName = ctx.catalog.model(name).name;
    checkAttachmentMetadata(attachment, ctx.tuning.download.maxBytes);
  } catch (error) {
    await respondWithError(interaction, error, ctx);
    return;
  }
  await startRequest(interaction, ctx, 'generate', async (requester, replyTo) => {
    const image = await downloadAttachment(attachment.url, { ...allowedAttachmentOrigins(ctx.env), ...ctx.tuning.download });
    await checkImageBytes(image, ctx.catalog.model(modelName).manifest);
    return ctx.service.submitInversion({ requester, source: { image }, params, replyTo });
  });
}

export const invertCommand: SlashCommand = { name: 'invert', definition, execute, autocomplete };
