/**
 * Slack adapter configuration from the environment, validated with zod. HTTP mode needs the bot token
 * and signing secret; Socket Mode needs the bot token and an app-level token (xapp-...).
 */
import { z } from 'zod';

const intFromEnv = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

export const slackEnvSchema = z
  .object({
    SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', 'must be a bot token (xoxb-...)').optional(),
    SLACK_SIGNING_SECRET: z.string().min(1).optional(),
    /** App-level token with connections:write; when set the adapter uses Socket Mode. */
    SLACK_APP_TOKEN: z.string().startsWith('xapp-', 'must be an app-level token (xapp-...)').optional(),
    /** Web API base, e.g. https://slack.com/api/ (tests point it at a local fake). */
    SLACK_API_URL: z.string().url().optional(),
    PORT: intFromEnv(3000),
    /** Minimum ms between chat.update calls for one request's progress (Slack allows ~1 per second per channel). */
    SLACK_PROGRESS_INTERVAL_MS: intFromEnv(1500),
    /** Most progress edits (chat.update) per minute across all requests of this process. */
    SLACK_PROGRESS_UPDATES_PER_MINUTE: intFromEnv(50, 1),
    /** How far back /noise-demo and /invert look for an image the user shared in the channel. */
    SLACK_IMAGE_LOOKBACK_SECONDS: z.coerce.number().int().min(1).optional(),
    /** Its name before /invert used it too; still read when the new one is not set. */
    SLACK_NOISE_DEMO_LOOKBACK_SECONDS: z.coerce.number().int().min(1).optional(),
  })
  .superRefine((env, ctx) => {
    if (!env.SLACK_BOT_TOKEN) ctx.addIssue({ code: 'custom', path: ['SLACK_BOT_TOKEN'], message: 'required for the Slack adapter' });
    if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_SIGNING_SECRET'],
        message: 'required for HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)',
      });
    }
  });

export type SlackEnv = Omit<z.infer<typeof slackEnvSchema>, 'SLACK_IMAGE_LOOKBACK_SECONDS' | 'SLACK_NOISE_DEMO_LOOKBACK_SECONDS'> & {
  SLACK_BOT_TOKEN: string;
  SLACK_IMAGE_LOOKBACK_SECONDS: number;
};

const DEFAULT_IMAGE_LOOKBACK_SECONDS = 600;

export class SlackConfigError extends Error {
  override readonly name = 'SlackConfigError';
}

/** Whether the environment asks for the Slack adapter at all (main.ts starts it only then). */
export function slackConfigured(env: Readonly<Record<string, string | undefined>>): boolean {
  const set = (k: string) => (env[k] ?? '') !== '';
  return (set('SLACK_BOT_TOKEN') && set('SLACK_SIGNING_SECRET')) || set('SLACK_APP_TOKEN');
}

export function parseSlackEnv(env: Readonly<Record<string, string | undefined>>): SlackEnv {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = slackEnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new SlackConfigError(`invalid Slack configuration:\n${lines.join('\n')}`);
  }
  const { SLACK_NOISE_DEMO_LOOKBACK_SECONDS: olderName, SLACK_IMAGE_LOOKBACK_SECONDS: lookback, ...rest } = parsed.data;
  return { ...rest, SLACK_IMAGE_LOOKBACK_SECONDS: lookback ?? olderName ?? DEFAULT_IMAGE_LOOKBACK_SECONDS } as SlackEnv;
}
