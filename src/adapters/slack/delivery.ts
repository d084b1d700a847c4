/**
 * Rendering request events back into Slack: a status message that is edited with progress
 * (chat.update, throttled and coalesced), then the result uploaded with files.uploadV2 and a message
 * with Reroll / Animation buttons. Final replies are sent exactly once across processes
 * (service.claimDelivery), also for requests this process did not submit (restarts, other bots).
 */
import type { types, webApi } from '@slack/bolt';
import type { GenerationService } from '../../jobs/service.ts';
import type { RequestEvent, RequestView } from '../../jobs/types.ts';
import { gifFrameCount, upscalePng } from '../../render/index.ts';
import type { SlackLogger } from './context.ts';
import type { ParsedReplyTo, SlackReplyTo } from './reply-to.ts';
import { parseReplyTo } from './reply-to.ts';
import { caption, describeParams, progressBar } from './text.ts';

type WebClient = webApi.WebClient;

export const REROLL_ACTION = 'reroll';
export const ANIMATION_ACTION = 'animation';

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The Slack error code of a failed Web API call (e.g. not_in_channel), else the message. */
export function slackErrorCode(error: unknown): string {
  const data = (error as { data?: { error?: unknown } } | null)?.data;
  if (data && typeof data.error === 'string') return data.error;
  return errorMessage(error);
}

/**
 * Spaces progress edits across all status messages of this process so that many requests at once stay
 * under Slack's chat.update rate limit (Tier 3, ~50 a minute). Callers wait for their slot; final
 * replies do not go through the gate.
 */
export class RateGate {
  private next = 0;

  constructor(private readonly perMinute: number) {}

  async take(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + 60_000 / this.perMinute;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}

/** One status message, edited in place: at most one chat.update in flight, at most one per interval, latest text wins. */
class StatusMessage {
  readonly ts: Promise<string | null>;
  /** Why the status message could not be posted (Slack error code), once `ts` resolved to null. */
  postError: string | null = null;
  private pending: string | null = null;
  private running: Promise<void> | null = null;
  private lastUpdate = 0;

  constructor(
    private readonly client: WebClient,
    private readonly reply: SlackReplyTo,
    text: string,
    private readonly intervalMs: number,
    private readonly gate: RateGate,
    private readonly logger: SlackLogger,
  ) {
    this.ts = client.chat
      .postMessage({ channel: reply.channel, text, ...(reply.threadTs ? { thread_ts: reply.threadTs } : {}) })
      .then((r) => r.ts ?? null)
      .catch((error: unknown) => {
        this.postError = slackErrorCode(error);
        logger.warn({ channel: reply.channel, error: this.postError }, 'slack: could not post status message');
        return null;
      });
  }

  set(text: string): void {
    this.pending = text;
    this.running ??= this.flush().finally(() => {
      this.running = null;
    });
  }

  private async flush(): Promise<void> {
    while (this.pending !== null) {
      const wait = this.lastUpdate + this.intervalMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.pending === null) break;
      await this.gate.take();
      // Read after waiting: the newest progress wins.
      const text = this.pending;
      if (text === null) break;
      this.pending = null;
      const ts = await this.ts;
      if (!ts) return;
      this.lastUpdate = Date.now();
      try {
        await this.client.chat.update({ channel: this.reply.channel, ts, text });
      } catch (error) {
        this.logger.warn({ error: errorMessage(error) }, 'slack: chat.update failed');
      }
    }
  }

  /** Drops progress not yet shown and waits for the edit in flight, so the final edit lands last. */
  async settle(): Promise<string | null> {
    this.pending = null;
    await this.running;
    return this.ts;
  }
}

export interface TrackOptions {
  /** First line of the status message, e.g. "Generating for @user". */
  readonly title: string;
  readonly position: number;
}

export class SlackDelivery {
  private readonly statuses = new Map<string, StatusMessage>();
  private readonly titles = new Map<string, string>();
  private readonly watches = new Map<string, () => void>();
  private readonly finishing = new Map<string, Promise<void>>();
  /** Requests whose final reply must not be posted (their channel is unreachable; the user was told). */
  private readonly muted = new Set<string>();
  private unwatchPlatform: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly client: WebClient,
    private readonly service: GenerationService,
    private readonly logger: SlackLogger,
    private readonly progressIntervalMs: number,
    private readonly gate: RateGate = new RateGate(50),
    /** Head start for the process that submitted a request (and holds its status message) to claim its delivery. */
    private readonly foreignDelayMs = 2000,
  ) {}

  /**
   * Follows the final events of every Slack request (also those other processes submitted) and picks up
   * what was missed: finished but undelivered requests now (a restart) and then every `sweepMs` (a lost
   * notification). claimDelivery makes each final reply happen once across all processes.
   */
  async start(sweepMs = 60_000): Promise<void> {
    this.unwatchPlatform = this.service.watchPlatform('slack', (event) => {
      if (event.type === 'succeeded' || event.type === 'failed' || event.type === 'cancelled') void this.finish(event.requestId, 'event');
    });
    await this.sweep(0);
    this.sweepTimer = setInterval(() => void this.sweep(10_000), sweepMs);
    this.sweepTimer.unref();
  }

  /** Delivers requests finished at least `minAgeMs` ago and still unclaimed (younger ones are their owners' to claim). */
  private async sweep(minAgeMs: number): Promise<void> {
    try {
      const cutoff = Date.now() - minAgeMs;
      for (const view of await this.service.pendingDeliveries('slack', 50)) {
        if (minAgeMs === 0 || (view.finishedAt && view.finishedAt.getTime() <= cutoff)) void this.finish(view.id, 'sweep');
      }
    } catch (error) {
      this.logger.warn({ error: errorMessage(error) }, 'slack: could not list pending deliveries');
    }
  }

  /**
   * A request was just submitted from a Slack gesture: post its status message and follow it.
   * Resolves to null once the status message is posted, or to Slack's error code when it could not be
   * (e.g. not_in_channel), in which case results could not be posted either.
   */
  async track(id: string, reply: SlackReplyTo, options: TrackOptions): Promise<string | null> {
    const text = `${options.title} · queued (position ${options.position})`;
    this.titles.set(id, options.title);
    const status = new StatusMessage(this.client, reply, text, this.progressIntervalMs, this.gate, this.logger);
    this.statuses.set(id, status);
    this.watch(id);
    return (await status.ts) === null ? (status.postError ?? 'unknown_error') : null;
  }

  /** Stops following a request (e.g. cancelled because its channel is unreachable). */
  forget(id: string): void {
    this.muted.add(id);
    this.watches.get(id)?.();
    this.watches.delete(id);
    this.statuses.delete(id);
    this.titles.delete(id);
  }

  private watch(id: string): void {
    if (this.watches.has(id)) return;
    const unwatch = this.service.watch(id, (event) => this.onEvent(id, event), { minProgressIntervalMs: this.progressIntervalMs });
    this.watches.set(id, unwatch);
  }

  private onEvent(id: string, event: RequestEvent): void {
    const status = this.statuses.get(id);
    const title = this.titles.get(id) ?? 'Request';
    switch (event.type) {
      case 'queued':
        status?.set(`${title} · queued (position ${event.position})`);
        break;
      case 'running':
        status?.set(`${title} · starting…`);
        break;
      case 'progress':
        status?.set(`${title} · step ${event.step}/${event.totalSteps} ${progressBar(event.step, event.totalSteps)}`);
        break;
      default:
        void this.finish(id, 'owner');
    }
  }

  /**
   * Sends the final reply if this process wins the claim. Safe to call any number of times. `origin`
   * says why: the request's own watcher ('owner'), a platform-wide event ('event'; another process
   * may have submitted it and hold its status message, so it gets a head start), or a sweep ('sweep').
   */
  finish(id: string, origin: 'owner' | 'event' | 'sweep' = 'owner'): Promise<void> {
    let done = this.finishing.get(id);
    if (!done) {
      done = this.deliverFinal(id, origin)
        .catch((error: unknown) => this.logger.error({ requestId: id, error: errorMessage(error) }, 'slack: final delivery failed'))
        .finally(() => this.finishing.delete(id));
      this.finishing.set(id, done);
    }
    return done;
  }

  private async deliverFinal(id: string, origin: 'owner' | 'event' | 'sweep'): Promise<void> {
    const view = await this.service.getRequest(id);
    if (!view || (view.status !== 'succeeded' && view.status !== 'failed' && view.status !== 'cancelled')) return;
    const reply = parseReplyTo(view.replyTo);
    if (!reply) {
      this.logger.warn({ requestId: id }, 'slack: request has no Slack reply target');
      return;
    }
    const status = this.statuses.get(id);
    if (!status && origin === 'event') await new Promise((r) => setTimeout(r, this.foreignDelayMs));
    this.watches.get(id)?.();
    this.watches.delete(id);
    this.statuses.delete(id);
    this.titles.delete(id);
    const claimed = await this.service.claimDelivery(id);
    if (this.muted.delete(id) || !claimed) {
      // Another process posted the result: our status message would only be stale.
      const staleTs = status ? await status.settle() : null;
      if (staleTs && claimed === false && view.status === 'succeeded') {
        await this.client.chat.delete({ channel: reply.channel, ts: staleTs }).catch(() => undefined);
      }
      return;
    }
    const statusTs = status ? await status.settle() : null;
    const thread = reply.threadTs ? { thread_ts: reply.threadTs } : {};

    if (view.status !== 'succeeded') {
      const text =
        view.status === 'failed'
          ? `Request \`${id}\` failed: ${view.error ?? 'unknown error'}`
          : `Request \`${id}\` was cancelled.`;
      if (statusTs) await this.client.chat.update({ channel: reply.channel, ts: statusTs, text });
      else await this.client.chat.postMessage({ channel: reply.channel, text, ...thread });
      return;
    }

    try {
      await this.client.files.uploadV2({
        channel_id: reply.channel,
        ...thread,
        ...(await this.resultUpload(view, reply)),
      });
    } catch (error) {
      // The request is done and stored; say so, with what is needed to get the image again.
      const code = slackErrorCode(error);
      this.logger.error({ requestId: id, error: code }, 'slack: result upload failed');
      const text = `Request \`${id}\` finished but I could not upload the result (${code}). ${describeParams(view)} reproduces it with \`/generate\`.`;
      if (statusTs) await this.client.chat.update({ channel: reply.channel, ts: statusTs, text });
      else await this.client.chat.postMessage({ channel: reply.channel, text, ...thread });
      return;
    }
    if (view.kind === 'generate' && reply.purpose === 'result') {
      await this.client.chat.postMessage({
        channel: reply.channel,
        ...thread,
        text: `Reroll or animate request ${id}`,
        blocks: resultBlocks(view),
      });
    }
    if (statusTs) {
      await this.client.chat.delete({ channel: reply.channel, ts: statusTs }).catch((error: unknown) => {
        this.logger.warn({ error: errorMessage(error) }, 'slack: could not delete status message');
      });
    }
  }

  private async resultUpload(
    view: RequestView,
    reply: ParsedReplyTo,
  ): Promise<{ initial_comment: string; file_uploads: { file: Buffer; filename: string; alt_text: string }[] }> {
    if (reply.purpose !== 'animation' || view.kind !== 'generate') return { initial_comment: caption(view), file_uploads: await this.resultFiles(view) };
    // The worker recorded it (the replay asked for its trajectory), so any process can post it.
    const stored = await this.service.getImage(view.id, 'gif');
    if (!stored) throw new Error(`request ${view.id} has no denoising animation`);
    const gif = stored.bytes;
    const frames = await gifFrameCount(gif);
    const of = reply.sourceRequestId ? ` of \`${reply.sourceRequestId}\`` : '';
    return {
      initial_comment: `Denoising animation${of} for <@${reply.userId}> (${frames} frames of the predicted x₀, ending on the result): ${describeParams(view)} · request \`${view.id}\``,
      file_uploads: [{ file: gif, filename: `ddpm-${view.model}-${view.seed}-denoising.gif`, alt_text: `Denoising animation, ${describeParams(view)}` }],
    };
  }

  private async resultFiles(view: RequestView): Promise<{ file: Buffer; filename: string; alt_text: string }[]> {
    const base = `ddpm-${view.model}-${view.seed}`;
    if (view.kind === 'noise_demo') {
      const [grid, gif] = await Promise.all([this.service.getImage(view.id, 'grid'), this.service.getImage(view.id, 'gif')]);
      if (!grid || !gif) throw new Error(`request ${view.id} has no noise-demo images`);
      const files = [
        { file: grid.bytes, filename: `${base}-noise.png`, alt_text: `Forward process at timesteps, ${describeParams(view)}` },
        { file: gif.bytes, filename: `${base}-noise.gif`, alt_text: 'Forward process animation' },
      ];
      if (view.images.some((i) => i.index === 'reconstruction')) {
        const reconstruction = await this.service.getImage(view.id, 'reconstruction');
        if (reconstruction) {
          const from = view.noiseDemo?.denoiseFrom;
          files.push({ file: await upscalePng(reconstruction.bytes), filename: `${base}-reconstruction.png`, alt_text: `Reconstruction from x_t at t=${from ?? '?'}` });
        }
      }
      return files;
    }
    const image = await this.service.getImage(view.id, view.count > 1 ? 'grid' : 0);
    if (!image) throw new Error(`request ${view.id} has no image`);
    // Native sizes are 8..64 px; Slack blurs those, so upload an integer nearest-neighbour upscale.
    return [{ file: await upscalePng(image.bytes), filename: `${base}.png`, alt_text: `Generated image, ${describeParams(view)}` }];
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.unwatchPlatform?.();
    this.unwatchPlatform = null;
    for (const unwatch of this.watches.values()) unwatch();
    this.watches.clear();
    await Promise.allSettled([...this.finishing.values()]);
  }
}

export function resultBlocks(view: RequestView): types.KnownBlock[] {
  return [
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Request \`${view.id}\` · seed \`${view.seed}\`` }] },
    {
      type: 'actions',
      block_id: 'result_actions',
      elements: [
        { type: 'button', action_id: REROLL_ACTION, text: { type: 'plain_text', text: 'Reroll' }, value: view.id },
        { type: 'button', action_id: ANIMATION_ACTION, text: { type: 'plain_text', text: 'Animation' }, value: view.id },
      ],
    },
  ];
}
