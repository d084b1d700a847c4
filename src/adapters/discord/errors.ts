/**
 * User-facing text for everything that can go wrong, in one place so every command answers the
 * same way. Known failures get a sentence the user can act on; anything else is logged and shown
 * as a short apology with the time, so "This interaction failed" never appears.
 */
import { ForbiddenError, NotFoundError, RateLimitError, ValidationError } from '../../jobs/service.ts';
import { ImageInputError } from '../../render/input.ts';

/** A problem with what the user gave us (attachment, option), already phrased for them. */
export class UserInputError extends Error {
  override readonly name = 'UserInputError';
}

export function isUserFacing(error: unknown): boolean {
  return (
    error instanceof UserInputError ||
    error instanceof ValidationError ||
    error instanceof RateLimitError ||
    error instanceof ImageInputError ||
    error instanceof NotFoundError ||
    error instanceof ForbiddenError
  );
}

function optionName(field: string): string {
  // The service and engine name fields as in requests (`options.<name>`, `denoiseFrom`); users typed options.
  const last = field.split('.').at(-1) ?? field;
  return last === 'denoiseFrom' ? 'denoise_from' : last;
}

export function userMessage(error: unknown): string {
  if (error instanceof RateLimitError) {
    const at = Math.floor(Date.now() / 1000) + error.retryAfterSeconds;
    // The service's message already names the wait; Discord renders <t:…:R> as a live countdown.
    return `⏳ ${error.message} (ready <t:${at}:R>)`;
  }
  if (error instanceof ValidationError) {
    const field = optionName(error.field);
    const text = error.message.startsWith(`${error.field}:`) ? error.message.slice(error.field.length + 1).trim() : error.message;
    return `⚠️ Invalid option \`${field}\`: ${text}`;
  }
  if (error instanceof ImageInputError) return `🖼️ That attachment can't be used: ${error.message}.`;
  if (error instanceof UserInputError) return `⚠️ ${error.message}`;
  if (error instanceof NotFoundError) return `🔍 ${error.message || 'That request does not exist (any more).'}`;
  if (error instanceof ForbiddenError) return `🚫 ${error.message || 'You are not allowed to do that.'}`;
  return `💥 Something went wrong on our side (${new Date().toISOString().slice(11, 19)} UTC). Please try again; if it keeps happening, tell the bot's operators.`;
}

/**
 * What to log about an error: discord.js errors carry the whole request body (with file bytes),
 * which would flood the logs, so only the identifying parts are kept.
 */
export function loggableError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const { status, code, method, url } = error as Error & { status?: number; code?: number | string; method?: string; url?: string };
  return {
    name: error.name,
    message: error.message,
    ...(status !== undefined ? { status } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(method !== undefined ? { method } : {}),
    // Interaction tokens are credentials for 15 minutes: never log them.
    ...(url !== undefined ? { url: url.replace(/\/(webhooks|interactions)\/(\d+)\/[^/]+/, '/$1/$2/<token>') } : {}),
    ...(status === undefined && error.stack ? { stack: error.stack } : {}),
  };
}
