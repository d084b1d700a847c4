/**
 * Renders a request's events into its Discord message: queue position, throttled live previews,
 * and exactly one final reply.
 *
 * Exactly-once comes from the service: the final reply is sent only by whoever wins
 * `claimDelivery`, so a restarted bot, a second bot process and the platform-wide safety net can
 * all try without double-posting. Edits of one message are serialised, so a slow preview upload
 * can never land after (and overwrite) the final result. Everything needed to reply lives in the
 * request's stored reply target, so none of this depends on the process that took the command.
 */
import type { GenerationService, RequestEvent, RequestView } from '../../jobs/service.ts';
import type { AdapterLogger, AdapterTuning, EngineCatalog } from './types.ts';
import { paramsLine, progressMessage, queuedMessage, runningMessage, tokenExpiringMessage, undeliverableMessage } from './messages.ts';
import type { Messenger, OutgoingMessage, ReplyTarget } from './reply-target.ts';
import { isTokenGone, parseReplyTarget } from './reply-target.ts';
import { DISPLAY_MIN_SIDE, upscalePng } from '../../render/index.ts';
import { renderFinal } from './results.ts';
import { loggableError } from './errors.ts';

type LiveEvent = Extract<RequestEvent, { type: 'queued' | 'running' | 'progress' }>;

function isFinal(event: RequestEvent): boolean {
  return event.type === 'succeeded' || event.type === 'failed' || event.type === 'cancelled';
}

export interface DeliveryDeps {
  readonly service: GenerationService;
  readonly engine: EngineCatalog;
  readonly messenger: Messenger;
  readonly logger: AdapterLogger;
  readonly tuning: AdapterTuning;
}

/** One request whose message this process keeps up to date. */
class TrackedRequest {
  private chain: Promise<void> = Promise.resolve();
  private lastEditDoneAt = 0;
  private liveEditInFlight = false;
  private pending: LiveEvent | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private lastQueuedPosition: number | null = null;
  /** After the token's last minute nothing but the final (channel) reply is sent. */
  private liveUpdatesOver = false;
  finished = false;
  unsubscribe: () => void = () => undefined;

  constructor(
    readonly id: string,
    readonly target: ReplyTarget,
    readonly summary: string,
    private readonly manager: DeliveryManager,
    private readonly deps: DeliveryDeps,
  ) {
    if (deps.messenger.tokenUsable(target)) {
      // Already inside the last stretch (a bot restarted late in a long job): warn right away.
      const noticeIn = Math.max(0, target.tokenExpiresAt - deps.tuning.expiryNoticeLeadMs - Date.now());
      this.expiryTimer = setTimeout(() => this.warnTokenExpiry(), noticeIn);
      this.expiryTimer.unref();
    } else {
      this.liveUpdatesOver = true;
    }
  }

  onEvent(event: RequestEvent): void {
    if (this.finished) return;
    if (isFinal(event)) {
      this.finish();
      this.enqueue(() => this.manager.deliverFinal(this.id));
      return;
    }
    const live = event as LiveEvent;
    if (live.type === 'queued') {
      if (live.position === this.lastQueuedPosition) return;
      this.lastQueuedPosition = live.position;
    }
    this.pending = live;
    this.scheduleFlush();
  }

  /** The next live edit starts at least the preview interval after the previous one finished. */
  private scheduleFlush(): void {
    if (this.flushTimer || this.liveEditInFlight || !this.pending || this.finished) return;
    const wait = Math.max(0, this.lastEditDoneAt + this.deps.tuning.previewIntervalMs - Date.now());
    this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  /** Stops live updates; the returned promise settles when queued edits are done. */
  async stop(): Promise<void> {
    this.finish();
    await this.chain;
  }

  private finish(): void {
    this.finished = true;
    this.unsubscribe();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.flushTimer = null;
    this.pending = null;
  }

  private flush(): void {
    this.flushTimer = null;
    const event = this.pending;
    this.pending = null;
    if (!event || this.finished || this.liveUpdatesOver) return;
    this.liveEditInFlight = true;
    this.enqueue(async () => {
      try {
        await this.edit(await this.liveMessage(event));
      } finally {
        this.lastEditDoneAt = Date.now();
        this.liveEditInFlight = false;
        this.scheduleFlush();
      }
    });
  }

  private async liveMessage(event: LiveEvent): Promise<OutgoingMessage> {
    switch (event.type) {
      case 'queued':
        return queuedMessage(event.position, this.summary);
      case 'running':
        return runningMessage(this.summary);
      case 'progress': {
        // Enlarged like the result: a 28x28 preview would be a blur in the chat client.
        const preview = event.previewPng ? await upscalePng(event.previewPng, DISPLAY_MIN_SIDE).catch(() => event.previewPng) : null;
        return progressMessage(event.step, event.totalSteps, this.summary, preview);
      }
    }
  }

  private warnTokenExpiry(): void {
    if (this.finished) return;
    this.enqueue(async () => {
      if (this.finished) return;
      this.liveUpdatesOver = true;
      await this.edit(tokenExpiringMessage(this.summary), { last: true });
    });
  }

  private async edit(message: OutgoingMessage, options: { last?: boolean } = {}): Promise<void> {
    if (this.liveUpdatesOver && !options.last) return;
    if (!this.deps.messenger.tokenUsable(this.target)) return;
    try {
      await this.deps.messenger.editOriginal(this.target, message);
    } catch (error) {
      // A preview that fails is not worth more than a log line; the final reply has its own fallbacks.
      if (isTokenGone(error)) this.liveUpdatesOver = true;
      this.deps.logger.warn({ err: loggableError(error), requestId: this.id }, 'could not update the Discord message');
    }
  }

  /** Runs after every earlier edit of this message has finished. */
  enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((error: unknown) => {
      this.deps.logger.error({ err: loggableError(error), requestId: this.id }, 'discord delivery task failed');
    });
  }
}

export class DeliveryManager {
  private readonly tracked = new Map<string, TrackedRequest>();
  private readonly background = new Set<Promise<void>>();
  /** Requests whose final reply the platform-wide path is sending right now. */
  private readonly finalizing = new Set<string>();
  private unsubscribePlatform: (() => void) | null = null;
  private stopped = false;

  constructor(private readonly deps: DeliveryDeps) {}

  /**
   * After (re)start: a safety net for final events of requests nobody here watches, then re-attach
   * to queued/running requests and deliver whatever finished while no bot was listening.
   */
  async resume(): Promise<void> {
    this.unsubscribePlatform = this.deps.service.watchPlatform('discord', (event) => {
      if (isFinal(event) && !this.tracked.has(event.requestId)) this.deliverUntracked(event.requestId);
    });
    for (const view of await this.deps.service.activeRequests('discord')) {
      const target = parseReplyTarget(view.replyTo);
      if (target) this.track(view.id, target, view);
    }
    const pending = await this.deps.service.pendingDeliveries('discord');
    for (const view of pending) if (!this.tracked.has(view.id)) this.deliverUntracked(view.id);
    this.deps.logger.info({ reattached: this.tracked.size, pendingDeliveries: pending.length }, 'discord deliveries resumed');
  }

  /** Keeps the request's message updated until its one final reply has been sent. */
  track(requestId: string, target: ReplyTarget, params: Pick<RequestView, 'model' | 'label' | 'guidance' | 'sampler' | 'steps' | 'eta' | 'seed' | 'count' | 'kind'>): void {
    // Already being finished by the platform-wide path: live edits could overwrite its final reply.
    if (this.stopped || this.tracked.has(requestId) || this.finalizing.has(requestId)) return;
    const summary = params.kind === 'noise_demo' ? `noise demo · ${params.model} · seed ${params.seed}` : paramsLine(params);
    const request = new TrackedRequest(requestId, target, summary, this, this.deps);
    this.tracked.set(requestId, request);
    // No edit from the submit's queue position here: the watch's first event is the current state,
    // read after the submit, so a request that already finished never flashes back to "queued".
    request.unsubscribe = this.deps.service.watch(requestId, (event) => request.onEvent(event), { minProgressIntervalMs: this.deps.tuning.previewIntervalMs });
    if (request.finished) request.unsubscribe();
  }

  /** Sends the final reply if this process wins the claim; safe to call any number of times. */
  async deliverFinal(requestId: string): Promise<void> {
    const request = this.tracked.get(requestId);
    try {
      if (!(await this.deps.service.claimDelivery(requestId))) return;
      const view = await this.deps.service.getRequest(requestId);
      const target = view ? parseReplyTarget(view.replyTo) : null;
      if (!view || !target) {
        this.deps.logger.warn({ requestId }, 'finished request has no Discord reply target');
        return;
      }
      let message: OutgoingMessage;
      try {
        message = await renderFinal(this.deps.service, this.deps.engine, view, target);
      } catch (error) {
        // The claim is spent: whatever happens, the user must not be left with a stale preview.
        this.deps.logger.error({ err: loggableError(error), requestId }, 'could not render a finished request');
        message = undeliverableMessage(view);
      }
      await this.send(view, target, message);
      this.deps.logger.info({ requestId, status: view.status }, 'discord final reply sent');
    } finally {
      if (request && this.tracked.get(requestId) === request) this.tracked.delete(requestId);
    }
  }

  private async send(view: RequestView, target: ReplyTarget, message: OutgoingMessage): Promise<void> {
    if (this.deps.messenger.tokenUsable(target)) {
      try {
        await this.deps.messenger.editOriginal(target, message);
        return;
      } catch (error) {
        if (!isTokenGone(error)) throw error;
        this.deps.logger.info({ requestId: view.id }, 'interaction token gone; delivering to the channel');
      }
    }
    if (!target.channelId) throw new Error(`request ${view.id} outlived its interaction token and has no channel to post in`);
    // The one mention of the request's life: the user may have left the conversation by now.
    await this.deps.messenger.sendToChannel(target.channelId, {
      ...message,
      content: `<@${target.userId}> your ${view.kind === 'noise_demo' ? 'noise demo' : target.purpose === 'animation' ? 'animation' : 'image'} is ready${message.content ? `\n${message.content}` : ''}`,
      allowedMentions: { users: [target.userId] },
    });
  }

  private deliverUntracked(requestId: string): void {
    if (this.finalizing.has(requestId)) return;
    this.finalizing.add(requestId);
    this.inBackground(this.deliverFinal(requestId).finally(() => this.finalizing.delete(requestId)));
  }

  private inBackground(task: Promise<void>): void {
    const guarded = task.catch((error: unknown) => this.deps.logger.error({ err: loggableError(error) }, 'discord delivery failed'));
    this.background.add(guarded);
    void guarded.finally(() => this.background.delete(guarded));
  }

  /** Stops watching; lets edits already under way finish (a final reply is never cut in half). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribePlatform?.();
    await Promise.allSettled([...[...this.tracked.values()].map((r) => r.stop()), ...this.background]);
    this.tracked.clear();
  }
}
