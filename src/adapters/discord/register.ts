/**
 * `npm run discord:register`: publishes the slash commands (with choices from the installed models
 * and sampler plugins) once, instead of on every start: global registration propagates slowly and
 * is rate limited. With DISCORD_GUILD_ID set, registers in that guild only (instant, for development).
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { REST, Routes } from 'discord.js';
import type { RESTPutAPIApplicationCommandsResult } from 'discord.js';
import { Engine } from '../../engine/index.ts';
import { SLASH_COMMANDS } from './commands/index.ts';
import type { DiscordEnv } from './config.ts';
import { loadDiscordEnv } from './config.ts';
import type { Catalog } from '../../engine/catalog.ts';

export function commandDefinitions(catalog: Catalog) {
  return SLASH_COMMANDS.map((command) => command.definition(catalog));
}

/** Replaces the application's commands (global, or the guild's) with ours; returns what Discord stored. */
export async function registerCommands(env: DiscordEnv, catalog: Catalog): Promise<RESTPutAPIApplicationCommandsResult> {
  const rest = new REST({ ...(env.DISCORD_API_BASE ? { api: env.DISCORD_API_BASE } : {}) }).setToken(env.DISCORD_TOKEN);
  const route = env.DISCORD_GUILD_ID
    ? Routes.applicationGuildCommands(env.DISCORD_APPLICATION_ID, env.DISCORD_GUILD_ID)
    : Routes.applicationCommands(env.DISCORD_APPLICATION_ID);
  return (await rest.put(route, { body: commandDefinitions(catalog) })) as RESTPutAPIApplicationCommandsResult;
}

export async function main(): Promise<void> {
  const env = loadDiscordEnv(process.env);
  const engine = await Engine.load({
    ...(process.env['MODELS_DIR'] ? { modelsDir: process.env['MODELS_DIR'] } : {}),
    ...(process.env['PLUGINS_DIR'] ? { pluginsDir: process.env['PLUGINS_DIR'] } : {}),
  });
  try {
    const registered = await registerCommands(env, engine);
    const scope = env.DISCORD_GUILD_ID ? `guild ${env.DISCORD_GUILD_ID}` : 'globally (may take up to an hour to appear)';
    process.stdout.write(`registered ${registered.map((c) => `/${c.name}`).join(', ')} ${scope}\n`);
  } finally {
    await engine.close();
  }
}

// Run as a script (`npm run discord:register`), not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
