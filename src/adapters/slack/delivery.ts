/**
 * Slack's side of delivery (the rules are src/delivery's): a status message posted when the
 * request is submitted and edited with progress (chat.update), then the result uploaded with
 * files.uploadV2 right below it, and the status message edited into its final state: done, naming
 * the uploaded file, with the Reroll / Vary / Animation buttons (or the failure). Editing rather than posting
 * keeps one message per request that never pings twice. The message's ts is stored with the
 * request, so a restarted bot, or another process that sends the result, finishes the same message.
 */
import { seedWords } from '../edit-text.ts';
import type { types, webApi } from '@slack/bolt';
import type { SweepTuning } from '../../delivery/engine.ts';
import { DeliveryEngine } from '../../delivery/engine.ts';
import type { Conversation, LiveEvent, Messenger } from '../../delivery/messenger.ts';
import type { Logger } from '../../ops/logger.ts';
import { RateGate } from '../../delivery/throttle.ts';
import type { GenerationService } from '../../jobs/service.ts';
import type { RequestView } from '../../jobs/types.ts';
import type { ParsedReplyTo } from './reply-to.ts';
import { parseReplyTo } from './reply-to.ts';
import { resultUpload } from './results.ts';
import { describeParams, progressBar } from './text.ts';

type WebClient = webApi.WebClient;

export const REROLL_ACTION = 'reroll';
export const ANIMATION_ACTION = 'animation';
/** `vary:<image index>` at the default strength, `vary:<image index>:subtle` or `:strong` (VARY_PRESETS). */
export const VARY_ACTION = 'vary';
export const INTERPOLATE_WITH_ACTION = 'interpolate_with';

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The Slack error code of a failed Web API call (e.g. not_in_channel), else the message. */
export function slackErrorCode(error: unknown): string {
  const data = (error as { data?: { error?: unknown } } | null)?.data;
  if (data && typeof data.error === 'string') return data.error;
  return errorMessage(error);
}

export interface TrackOptions {
  /** First line of the status message, e.g. "Generating for @user". */
  readonly title: string;
  readonly position: number;
}

/** A status message posted by an earlier run of the bot, read back from the request's reply target. */
interface StoredStatus {
  readonly title: string;
  readonly ts: string;
}

/** How posting a status message ended. */
interface Posted {
  readonly ts: string | null;
  /** Slack's error code when the post failed. */
  readonly error: string | null;
  /** Whether the request's reply target names the message, so whichever process replies finishes it. */
  readonly stored: boolean;
}

/** One request's status message, posted when it is tracked (or adopted after a restart) and edited in place. */
class StatusMessage implements Conversation {
  /** Slack has no deadline for edits. */
  readonly liveUntil = null;
  readonly ts: Promise<string | null>;

  constructor(
    private readonly client: WebClient,
    private readonly reply: ParsedReplyTo,
    /** The message's first line, kept in its final state. */
    readonly title: string,
    private readonly posted: Promise<Posted>,
    private readonly logger: Logger,
  ) {
    this.ts = posted.then((p) => p.ts);
  }

  /** Null once the status is posted, else Slack's error code (e.g. not_in_channel): results could not be posted either. */
  async postFailure(): Promise<string | null> {
    const posted = await this.posted;
    return posted.ts === null ? (posted.error ?? 'unknown_error') : null;
  }

  async showStatus(event: LiveEvent): Promise<void> {
    const ts = await this.ts;
    if (!ts) return;
    try {
      await this.client.chat.update({ channel: this.reply.channel, ts, text: this.statusText(event) });
    } catch (error) {
      this.logger.warn({ error: errorMessage(error) }, 'slack: chat.update failed');
    }
  }

  async liveEnding(): Promise<void> {}

  /**
   * Another process sent the result. A stored message is that process's to finish (it may be showing
   * a failure by now); one it never heard of would only be stale.
   */
  async superseded(): Promise<void> {
    const { ts, stored } = await this.posted;
    if (ts && !stored) await this.client.chat.delete({ channel: this.reply.channel, ts }).catch(() => undefined);
  }

  private statusText(event: LiveEvent): string {
    switch (event.type) {
      case 'queued':
        return `${this.title} · queued (position ${event.position})`;
      case 'running':
        return `${this.title} · starting…`;
      case 'progress':
        return `${this.title} · step ${event.step}/${event.totalSteps} ${progressBar(event.step, event.totalSteps)}`;
    }
  }
}

class SlackReplies implements Messenger<ParsedReplyTo, TrackOptions | StoredStatus, StatusMessage> {
  readonly platform = 'slack' as const;
  readonly readTarget = parseReplyTo;

  constructor(
    private readonly client: WebClient,
    private readonly service: GenerationService,
    private readonly logger: Logger,
  ) {}

  open(requestId: string, reply: ParsedReplyTo, intro: TrackOptions | StoredStatus): StatusMessage {
    const posted = 'ts' in intro ? Promise.resolve({ ts: intro.ts, error: null, stored: true }) : this.post(requestId, reply, intro);
    return new StatusMessage(this.client, reply, intro.title, posted, this.logger);
  }

  /** The status message an earlier run posted, if it was stored: the restarted bot edits it on. */
  reattach(_view: RequestView, reply: ParsedReplyTo): StoredStatus | null {
    return reply.status ?? null;
  }

  /** Posts the status message and stores its ts with the request, before any edit of it. */
  private async post(requestId: string, reply: ParsedReplyTo, { title, position }: TrackOptions): Promise<Posted> {
    let ts: string | null;
    try {
      const thread = reply.threadTs ? { thread_ts: reply.threadTs } : {};
      ts = (await this.client.chat.postMessage({ channel: reply.channel, text: `${title} · queued (position ${position})`, ...thread })).ts ?? null;
    } catch (error) {
      const code = slackErrorCode(error);
      this.logger.warn({ channel: reply.channel, error: code }, 'slack: could not post status message');
      return { ts: null, error: code, stored: false };
    }
    if (!ts) return { ts: null, error: null, stored: false };
    // Unstored (the reply already claimed, or the database unreachable), the message lives only in this process.
    const stored = await this.service.amendReplyTo(requestId, { status: { ts, title } }).catch((error: unknown) => {
      this.logger.warn({ requestId, error: errorMessage(error) }, 'slack: could not store the status message');
      return false;
    });
    return { ts, error: null, stored };
  }

  async deliver(view: RequestView, reply: ParsedReplyTo, status: StatusMessage | null): Promise<void> {
    // Not followed here (a sweep, another process's request, a restart): the stored status message, if any.
    const statusTs = status ? await status.ts : (reply.status?.ts ?? null);
    const title = status ? status.title : (reply.status?.title ?? null);
    const thread = reply.threadTs ? { thread_ts: reply.threadTs } : {};
    const say = async (text: string) => {
      if (statusTs) await this.client.chat.update({ channel: reply.channel, ts: statusTs, text });
      else await this.client.chat.postMessage({ channel: reply.channel, text, ...thread });
    };
    if (view.status !== 'succeeded') {
      await say(view.status === 'failed' ? `Request \`${view.id}\` failed: ${view.error ?? 'unknown error'}` : `Request \`${view.id}\` was cancelled.`);
      return;
    }
    let filenames: string[];
    try {
      const upload = await resultUpload(this.service, view, reply);
      await this.client.files.uploadV2({ channel_id: reply.channel, ...thread, ...upload });
      filenames = upload.file_uploads.map((f) => f.filename);
    } catch (error) {
      // The request is done and stored; say so, with what is needed to get the image again.
      const code = slackErrorCode(error);
      this.logger.error({ requestId: view.id, error: code }, 'slack: result upload failed');
      await say(`Request \`${view.id}\` finished but I could not upload the result (${code}). ${describeParams(view)} reproduces it with \`/generate\`.`);
      return;
    }
    const buttons = view.kind !== 'noise_demo' && reply.purpose === 'result' ? resultBlocks(view) : null;
    const doneLine = title ? `${title} · done: uploaded ${filenames.map((f) => `\`${f}\``).join(', ')}` : null;
    const text = doneLine ?? `Reroll, vary or animate request ${view.id}`;
    const blocks = buttons && [...(doneLine ? [{ type: 'section', text: { type: 'mrkdwn', text: doneLine } } as const] : []), ...buttons];
    const done = { text, ...(blocks ? { blocks } : {}) };
    if (statusTs) {
      const updated = await this.client.chat.update({ channel: reply.channel, ts: statusTs, ...done }).then(
        () => true,
        (error: unknown) => {
          this.logger.warn({ requestId: view.id, error: slackErrorCode(error) }, 'slack: could not finish the status message');
          return false;
        },
      );
      if (updated) return;
    }
    // No status message to finish (its post failed, or it is gone): the buttons still need a message.
    if (buttons) await this.client.chat.postMessage({ channel: reply.channel, ...thread, ...done });
  }
}

export type SlackDelivery = DeliveryEngine<ParsedReplyTo, TrackOptions | StoredStatus, StatusMessage>;

export interface SlackDeliveryOptions extends SweepTuning {
  /** Minimum ms between edits of one status message. */
  readonly progressIntervalMs: number;
  /** Most status edits a minute across all requests of this process (chat.update is Tier 3). */
  readonly updatesPerMinute: number;
}

export function slackDelivery(client: WebClient, service: GenerationService, logger: Logger, options: SlackDeliveryOptions): SlackDelivery {
  return new DeliveryEngine(service, new SlackReplies(client, service, logger), logger, {
    ownerHeadStartMs: options.ownerHeadStartMs,
    sweepEveryMs: options.sweepEveryMs,
    sweepMinAgeMs: options.sweepMinAgeMs,
    statusIntervalMs: options.progressIntervalMs,
    gate: new RateGate(options.updatesPerMinute),
  });
}

/** Slack's limit on an actions block's elements. */
const MAX_ELEMENTS = 25;

/**
 * Reroll, one Vary button per image (V1…V4; an interpolation's frames too; an inversion's source) or Vary
 * (subtle), Vary and Vary (strong) under a single generated image, for a generation the denoising animation, and for a
 * generation or an inversion Interpolate with…. An inversion has no Reroll: nothing in it is random. A Vary
 * button's image is in its action id, its request in its value.
 */
export function resultBlocks(view: RequestView): types.KnownBlock[] {
  const button = (actionId: string, text: string) => ({ type: 'button' as const, action_id: actionId, text: { type: 'plain_text' as const, text }, value: view.id });
  const own = [
    ...(view.kind === 'invert' ? [] : [button(REROLL_ACTION, 'Reroll')]),
    ...(view.kind === 'generate' ? [button(ANIMATION_ACTION, 'Animation')] : []),
    ...(view.kind === 'generate' || view.kind === 'invert' ? [button(INTERPOLATE_WITH_ACTION, 'Interpolate with…')] : []),
  ];
  // One image drawn here: Vary at the three strengths, as Midjourney's Vary (Subtle) and Vary (Strong); a grid, or an
  // inversion's source (the user's own image, not a result), gets V1…Vn / Vary at the default.
  const vary =
    view.count === 1 && view.kind !== 'invert'
      ? [button(`${VARY_ACTION}:0:subtle`, 'Vary (subtle)'), button(`${VARY_ACTION}:0`, 'Vary'), button(`${VARY_ACTION}:0:strong`, 'Vary (strong)')]
      : Array.from({ length: Math.min(view.count, MAX_ELEMENTS - own.length) }, (_, i) => button(`${VARY_ACTION}:${i}`, view.count === 1 ? 'Vary' : `V${i + 1}`));
  return [
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Request \`${view.id}\` · ${seedWords(view, (v) => `\`${v}\``).join(' · ')}` }] },
    { type: 'actions', block_id: 'result_actions', elements: [...own, ...vary] },
  ];
}
