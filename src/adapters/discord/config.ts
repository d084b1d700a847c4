/**
 * The Discord adapter's environment, validated once at start so a missing token or a malformed URL
 * is reported with its variable name instead of failing later inside discord.js.
 */
import { z } from 'zod';

const snowflake = z.string({ required_error: 'is required' }).regex(/^\d{15,22}$/, 'must be a Discord id (a 15-22 digit number)');

export const discordEnvSchema = z.object({
  DISCORD_TOKEN: z.string({ required_error: 'is required' }).min(1, 'is required'),
  DISCORD_APPLICATION_ID: snowflake,
  /** Register commands in this guild only (instant updates while developing); global otherwise. */
  DISCORD_GUILD_ID: snowflake.optional(),
  /**
   * REST base URL, as discord.js's `rest.api` (default https://discord.com/api). Tests point it at a
   * fake Discord; attachment downloads from its origin are then allowed too.
   */
  DISCORD_API_BASE: z.string().url().optional(),
});

export type DiscordEnv = z.infer<typeof discordEnvSchema>;

export class DiscordConfigError extends Error {
  override readonly name = 'DiscordConfigError';
}

/** Parses the Discord variables of `env`; throws DiscordConfigError naming every bad one. */
export function loadDiscordEnv(env: Readonly<Record<string, string | undefined>>): DiscordEnv {
  const present = Object.fromEntries(Object.entries(env).filter(([key, v]) => key.startsWith('DISCORD_') && v !== undefined && v !== ''));
  const parsed = discordEnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new DiscordConfigError(`invalid Discord configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Hosts attachments may be downloaded from: Discord's CDN, plus the REST origin when overridden (tests). */
export function allowedAttachmentOrigins(env: DiscordEnv): { hosts: readonly string[]; origins: readonly string[] } {
  return {
    hosts: ['cdn.discordapp.com', 'media.discordapp.net'],
    origins: env.DISCORD_API_BASE ? [new URL(env.DISCORD_API_BASE).origin] : [],
  };
}
