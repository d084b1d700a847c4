/**
 * The image a user shared recently: files.list filtered to the user, the channel and the look-back
 * window, newest first; downloaded with the bot token only from Slack's own hosts, capped at the
 * engine's input limit (src/render/input.ts).
 */
import type { webApi } from '@slack/bolt';
import { MAX_INPUT_BYTES } from '../../render/input.ts';
import type { Logger } from '../../ops/logger.ts';
import type { SlackDeps } from './context.ts';
import { SlackUserError, escapeMrkdwn } from './text.ts';

export interface SharedImage {
  readonly name: string;
  readonly bytes: Buffer;
}

export interface FindImageOptions {
  readonly channel: string;
  readonly user: string;
  readonly lookbackSeconds: number;
  readonly token: string;
  /** Origin of SLACK_API_URL, trusted for downloads besides *.slack.com (tests serve files there). */
  readonly extraTrustedOrigin?: string | undefined;
  readonly now?: number;
}

export function trustedFileUrl(url: string, extraTrustedOrigin?: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (extraTrustedOrigin && parsed.origin === extraTrustedOrigin) return true;
  return parsed.protocol === 'https:' && (parsed.hostname === 'slack.com' || parsed.hostname.endsWith('.slack.com'));
}

/** The newest image the user shared in the channel within the look-back window; null if none (or files.list is unavailable). */
export async function findRecentImage(client: webApi.WebClient, o: FindImageOptions, logger?: Logger): Promise<SharedImage | null> {
  const from = Math.floor((o.now ?? Date.now()) / 1000) - o.lookbackSeconds;
  let res: webApi.FilesListResponse;
  try {
    res = await client.files.list({ channel: o.channel, user: o.user, types: 'images', ts_from: String(from), count: 20 });
  } catch (error) {
    // E.g. missing_scope when the app was installed without files:read: fall back to a generated image.
    logger?.warn({ error: error instanceof Error ? error.message : String(error) }, 'slack: files.list failed; using a generated image');
    return null;
  }
  const candidates = (res.files ?? [])
    .filter((f) => f.user === o.user && (f.created ?? 0) >= from && (f.mimetype ?? '').startsWith('image/'))
    .sort((a, b) => (b.created ?? 0) - (a.created ?? 0));
  const file = candidates[0];
  if (!file) return null;
  // The name is the user's; escaped so it cannot form mentions or links in our messages.
  const name = escapeMrkdwn(file.name ?? file.title ?? 'your image');
  if ((file.size ?? 0) > MAX_INPUT_BYTES) {
    throw new SlackUserError(`Your image ${name} is ${((file.size ?? 0) / 1048576).toFixed(1)} MB; the limit is ${MAX_INPUT_BYTES / 1048576} MB. Share a smaller one.`);
  }
  const url = file.url_private_download ?? file.url_private;
  if (!url || !trustedFileUrl(url, o.extraTrustedOrigin)) throw new SlackUserError(`I cannot download ${name} from Slack.`);
  return { name, bytes: await download(url, o.token, name) };
}

/** `user`'s newest image in `channel` within the adapter's look-back window (SLACK_IMAGE_LOOKBACK_SECONDS), or null. */
export function userImage(deps: Pick<SlackDeps, 'env' | 'logger'>, client: webApi.WebClient, channel: string, user: string): Promise<SharedImage | null> {
  return findRecentImage(
    client,
    {
      channel,
      user,
      lookbackSeconds: deps.env.SLACK_IMAGE_LOOKBACK_SECONDS,
      token: deps.env.SLACK_BOT_TOKEN,
      extraTrustedOrigin: deps.env.SLACK_API_URL ? new URL(deps.env.SLACK_API_URL).origin : undefined,
    },
    deps.logger,
  );
}

async function download(url: string, token: string, name: string): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    throw new SlackUserError(`I could not download ${name} (${error instanceof Error ? error.message : String(error)}). Try again.`);
  }
  if (!res.ok || !res.body) throw new SlackUserError(`I could not download ${name} (HTTP ${res.status}). Try again or share it again.`);
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith('text/html')) throw new SlackUserError(`Slack did not let me read ${name}; is the file shared in this channel?`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > MAX_INPUT_BYTES) throw new SlackUserError(`Your image ${name} is over ${MAX_INPUT_BYTES / 1048576} MB. Share a smaller one.`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
