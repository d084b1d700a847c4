/**
 * The Discord adapter: logs the bot in (Guilds intent only: slash commands and buttons need no
 * privileged intents), turns interactions into GenerationService calls and renders each request's
 * events back into its message. Commands are registered separately (`npm run discord:register`).
 */
import type { Interaction } from 'discord.js';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { COMMANDS_BY_NAME } from './commands/index.ts';
import { COMPONENT_HANDLERS } from './components/index.ts';
import { loadDiscordEnv } from './config.ts';
import type { FrontEndContext } from '../context.ts';
import type { AdapterContext } from './context.ts';
import { respondWithError } from './context.ts';
import type { AdapterTuning } from './types.ts';
import { DEFAULT_TUNING } from './types.ts';
import { parseComponentId } from './custom-id.ts';
import { ComparisonRunner } from '../../jobs/comparisons.ts';
import { comparisonFrontOf } from './comparison.ts';
import { discordDelivery } from './delivery.ts';
import { loggableError, UserInputError } from './errors.ts';
import { DiscordMessenger } from './reply-target.ts';

export { loadDiscordEnv } from './config.ts';
export type { DiscordEnv } from './config.ts';

export interface DiscordAdapterOptions extends FrontEndContext {
  /** The process environment (or a test's); only DISCORD_* variables are read. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Timing knobs; tests shorten them. */
  readonly tuning?: Partial<AdapterTuning>;
}

export interface DiscordAdapter {
  /** Stops taking interactions, lets edits under way finish, logs out. */
  stop(): Promise<void>;
}

/**
 * For src/main.ts: a factory in the shape of its AdapterFactory (structural, so this module does not
 * import main.ts). The engine is the process's Engine: the adapter reads its catalogue only.
 */
export function discordAdapterFactory(
  env: Readonly<Record<string, string | undefined>> = process.env,
): (ctx: FrontEndContext) => Promise<DiscordAdapter> {
  return (ctx) => startDiscordAdapter({ service: ctx.service, catalog: ctx.catalog, logger: ctx.logger, env });
}

/** Resolves once the bot is connected and has re-attached to requests it was answering before. */
export async function startDiscordAdapter(options: DiscordAdapterOptions): Promise<DiscordAdapter> {
  const env = loadDiscordEnv(options.env);
  const tuning: AdapterTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const logger = options.logger;
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    ...(env.DISCORD_API_BASE ? { rest: { api: env.DISCORD_API_BASE } } : {}),
  });
  const messenger = new DiscordMessenger(client.rest);
  const deliveries = discordDelivery({ service: options.service, catalog: options.catalog, messenger, logger, tuning });
  // The runner makes a stored comparison's front from the context it is part of.
  const comparisons = new ComparisonRunner(options.service, 'discord', (target) => comparisonFrontOf(ctx, target), logger);
  const ctx: AdapterContext = { service: options.service, catalog: options.catalog, logger, env, tuning, deliveries, messenger, comparisons };
  const inFlight = new Set<Promise<void>>();
  let stopping = false;

  client.on(Events.InteractionCreate, (interaction) => {
    if (stopping) return;
    const handling = handleInteraction(interaction, ctx).catch((error: unknown) => logger.error({ err: loggableError(error) }, 'discord interaction handler crashed'));
    inFlight.add(handling);
    void handling.finally(() => inFlight.delete(handling));
  });
  client.on(Events.Error, (error) => logger.error({ err: loggableError(error) }, 'discord client error'));
  client.on(Events.ShardDisconnect, (event) => logger.warn({ code: event.code }, 'discord gateway disconnected'));

  try {
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(env.DISCORD_TOKEN);
    await ready;
    if (client.application?.id && client.application.id !== env.DISCORD_APPLICATION_ID) {
      logger.warn({ configured: env.DISCORD_APPLICATION_ID, actual: client.application.id }, 'DISCORD_APPLICATION_ID does not match the token');
    }
    await deliveries.start();
    await comparisons.start();
  } catch (error) {
    // A wrong token or an unreachable Discord fails the start loudly, without leaving a client behind.
    await comparisons.stop().catch(() => undefined);
    await deliveries.stop().catch(() => undefined);
    await client.destroy().catch(() => undefined);
    throw error;
  }
  logger.info({ user: client.user?.tag }, 'discord adapter ready');

  return {
    async stop() {
      stopping = true;
      // Bounded: a hung Discord call must not keep the process from shutting down. Results not yet
      // claimed stay pending in the database and the next bot delivers them.
      const drained = await settleWithin(Promise.allSettled([...inFlight]).then(() => comparisons.stop()).then(() => deliveries.stop()), STOP_TIMEOUT_MS);
      if (!drained) logger.warn({ timeoutMs: STOP_TIMEOUT_MS }, 'discord adapter stopped before every reply was sent');
      await client.destroy();
      logger.info({}, 'discord adapter stopped');
    },
  };
}

/** How long stop() waits for replies under way. */
const STOP_TIMEOUT_MS = 10_000;

async function settleWithin(task: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([task.then(() => true, () => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function handleInteraction(interaction: Interaction, ctx: AdapterContext): Promise<void> {
  if (interaction.isChatInputCommand()) {
    const command = COMMANDS_BY_NAME.get(interaction.commandName);
    if (!command) {
      await respondWithError(interaction, new UserInputError(`Unknown command /${interaction.commandName}; the commands may need re-registering.`), ctx);
      return;
    }
    ctx.logger.debug({ command: command.name, user: interaction.user.id }, 'discord command');
    await command.execute(interaction, ctx);
    return;
  }
  if (interaction.isAutocomplete()) {
    const command = COMMANDS_BY_NAME.get(interaction.commandName);
    // Nothing to suggest (an older registration): an empty list, so Discord does not show "loading options failed".
    await (command?.autocomplete ? command.autocomplete(interaction, ctx) : interaction.respond([]));
    return;
  }
  if (interaction.isButton() || interaction.isStringSelectMenu()) {
    const parsed = parseComponentId(interaction.customId);
    if (!parsed) {
      await respondWithError(interaction, new UserInputError('This button belongs to an older version of the bot and no longer works.'), ctx);
      return;
    }
    ctx.logger.debug({ action: parsed.action, requestId: parsed.requestId, user: interaction.user.id }, 'discord component');
    await COMPONENT_HANDLERS[parsed.action].execute(interaction, parsed.requestId, ctx, parsed.index);
  }
}
