/**
 * /generate: validates the options at once (an ephemeral answer names the bad one, or lists the options the
 * chosen sampler takes), defers within
 * Discord's 3 seconds, submits to the service and hands the request to the delivery manager, which
 * shows the queue position, live previews and the final image with its buttons. `label:` is
 * autocompleted from the chosen (or default) model's class names. The sampler plugins' own options are
 * added from their declarations (sampler-options.ts).
 */
import type {
  ApplicationCommandOptionChoiceData,
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { SlashCommandBuilder } from 'discord.js';
import { MAX_SEED } from '../../../core/rng.ts';
import { MAX_GUIDANCE, suggestLabels } from '../../../engine/conditioning.ts';
import { ValidationError } from '../../../engine/index.ts';
import type { ModelRegistry } from '../../../model/registry.ts';
import type { Catalog } from '../../../engine/catalog.ts';
import type { GenerationService } from '../../../jobs/service.ts';
import type { AdapterContext, SlashCommand } from '../context.ts';
import { respondWithError, startRequest } from '../context.ts';
import { addSamplerOptions, samplerOptionsFrom } from '../sampler-options.ts';

/** Per request; the service's limits decide how many requests a user may have. */
export const MAX_IMAGES_PER_REQUEST = 4;

/** Discord's limit on autocomplete choices. */
const MAX_CHOICES = 25;

export function definition(catalog: Catalog): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const models = catalog.models.list();
  const samplers = catalog.samplers.list();
  const trainSteps = Math.max(1000, ...models.map((m) => m.manifest.scheduler.num_train_timesteps));
  const maxSteps = Math.max(1, ...samplers.map((p) => p.stepLimits(trainSteps).max));
  const builder = new SlashCommandBuilder()
    .setName('generate')
    .setDescription('Generate images with a diffusion model and watch them appear')
    .addStringOption((o) =>
      o
        .setName('model')
        .setDescription('Diffusion model')
        .addChoices(...models.slice(0, 25).map((m) => ({ name: m.name, value: m.name }))),
    )
    .addStringOption((o) =>
      o
        .setName('sampler')
        .setDescription('Sampler (default ddim)')
        .addChoices(...samplers.slice(0, 25).map((p) => ({ name: `${p.name}: ${p.description}`.slice(0, 100), value: p.name }))),
    )
    .addIntegerOption((o) => o.setName('steps').setDescription(`Denoising steps (limits depend on the sampler; DDPM up to ${maxSteps})`).setMinValue(1).setMaxValue(maxSteps))
    .addIntegerOption((o) => o.setName('seed').setDescription('Seed to reproduce an image (random if empty)').setMinValue(0).setMaxValue(MAX_SEED))
    .addIntegerOption((o) => o.setName('count').setDescription('Number of images (1-4)').setMinValue(1).setMaxValue(MAX_IMAGES_PER_REQUEST));
  // Offered only when a model can use them (registration reads the installed models anyway).
  if (models.some((m) => m.manifest.conditioning)) {
    builder
      .addStringOption((o) =>
        o.setName('label').setDescription('What to draw, for class-conditional models (e.g. a digit): pick from the list').setAutocomplete(true).setMaxLength(100),
      )
      .addNumberOption((o) =>
        o.setName('guidance').setDescription("How closely to follow the label (0 ignores it, 1 plain; default: the model's)").setMinValue(0).setMaxValue(MAX_GUIDANCE),
      );
  }
  addSamplerOptions(builder, samplers, OWN_OPTIONS);
  return builder.toJSON();
}

/** /generate's own option names; a sampler option may not take one. */
const OWN_OPTIONS = ['model', 'sampler', 'steps', 'seed', 'count', 'label', 'guidance'] as const;

/** Class names of the chosen model (the default model while none is chosen) that match what was typed. */
export function labelChoices(models: Pick<ModelRegistry, 'find' | 'defaultModel'>, modelName: string | null, typed: string): ApplicationCommandOptionChoiceData<string>[] {
  const model = modelName ? models.find(modelName) : models.defaultModel();
  const conditioning = model?.manifest.conditioning;
  if (!conditioning) return [];
  return suggestLabels(conditioning, typed, MAX_CHOICES).map((name) => ({ name, value: name }));
}

async function autocomplete(interaction: AutocompleteInteraction, ctx: AdapterContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  const choices = focused.name === 'label' ? labelChoices(ctx.catalog.models, interaction.options.getString('model'), String(focused.value)) : [];
  await interaction.respond(choices);
}

/** The options as the service expects them; undefined ones are left to the defaults. */
export function paramsFrom(interaction: ChatInputCommandInteraction, catalog: Catalog): Record<string, unknown> {
  const raw = {
    model: interaction.options.getString('model') ?? undefined,
    sampler: interaction.options.getString('sampler') ?? undefined,
    steps: interaction.options.getInteger('steps') ?? undefined,
    seed: interaction.options.getInteger('seed') ?? undefined,
    count: interaction.options.getInteger('count') ?? undefined,
    label: interaction.options.getString('label') ?? undefined,
    guidance: interaction.options.getNumber('guidance') ?? undefined,
  };
  const options = samplerOptionsFrom(interaction, catalog.samplers.list());
  const params: Record<string, unknown> = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  if (Object.keys(options).length > 0) params['options'] = options;
  return params;
}

/**
 * Catches what the service would refuse (its one check) before anything is public: unknown names, step limits, and an option the
 * chosen sampler does not take (the engine's error lists the ones it does).
 */
export function checkParams(service: GenerationService, params: Record<string, unknown>): void {
  const validated = service.checkGeneration(params);
  if (validated.count > MAX_IMAGES_PER_REQUEST) throw new ValidationError('count', `count must be 1..${MAX_IMAGES_PER_REQUEST}`);
}

async function execute(interaction: ChatInputCommandInteraction, ctx: AdapterContext): Promise<void> {
  const params = paramsFrom(interaction, ctx.catalog);
  try {
    checkParams(ctx.service, params);
  } catch (error) {
    await respondWithError(interaction, error, ctx);
    return;
  }
  await startRequest(interaction, ctx, 'generate', (requester, replyTo) => ctx.service.submitGeneration({ requester, params, replyTo }));
}

export const generateCommand: SlashCommand = { name: 'generate', definition, execute, autocomplete };
