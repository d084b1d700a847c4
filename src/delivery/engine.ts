/**
 * Final replies and live status for one chat platform, the same rules for all of them.
 *
 * Exactly once comes from the service: a final reply is sent only by whoever wins
 * `claimDelivery`, so the request's own watcher, the platform-wide safety net, the start-up
 * resume, a periodic sweep and other bot processes may all try any number of times. What this
 * engine adds is the order: one serial editor per request (the final reply after every live
 * edit), the owner's head start (a process that did not submit a request waits before claiming
 * it, so the process holding the status message normally answers), and resume after a restart.
 */
import type { GenerationService, RequestEvent } from '../jobs/service.ts';
import type { Logger } from '../ops/logger.ts';
import type { Conversation, LiveEvent, Messenger } from './messenger.ts';
import { SerialEditor } from './serial-editor.ts';
import type { RateGate } from './throttle.ts';
import { Throttle } from './throttle.ts';

/** When a process answers requests it did not follow; the same rules on every platform. */
export interface SweepTuning {
  /** How long a process waits before claiming a request it did not follow (its owner's head start). */
  readonly ownerHeadStartMs: number;
  /** How often unclaimed finished requests are looked for (a lost notification, a dead owner). */
  readonly sweepEveryMs: number;
  /** A sweep leaves requests finished less than this ago to their owners. */
  readonly sweepMinAgeMs: number;
}

export interface DeliveryTuning extends SweepTuning {
  /** Minimum time between status edits of one request. */
  readonly statusIntervalMs: number;
  /** A cap on status edits across all requests of this process, where the platform has one. */
  readonly gate?: RateGate | null;
}

export const DEFAULT_DELIVERY_TUNING: SweepTuning = {
  ownerHeadStartMs: 2_000,
  sweepEveryMs: 60_000,
  sweepMinAgeMs: 10_000,
};

/** How many unclaimed requests one sweep picks up; the next sweep takes the rest. */
const SWEEP_BATCH = 50;

type Origin = 'owner' | 'event' | 'sweep';
/** How one attempt at a final reply ended; logged, since "why was nothing sent" is the usual question. */
type Outcome = 'sent' | 'claimed elsewhere' | 'muted' | 'no reply target' | 'stopping';

interface Followed<C> {
  readonly conversation: C;
  readonly editor: SerialEditor;
  unwatch: () => void;
  released: boolean;
}

function isLive(event: RequestEvent): event is LiveEvent {
  return event.type === 'queued' || event.type === 'running' || event.type === 'progress';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class DeliveryEngine<Target, Intro, C extends Conversation> {
  private readonly followed = new Map<string, Followed<C>>();
  /** Final replies under way, with every path that asked for one while it ran. */
  private readonly finishing = new Map<string, { readonly done: Promise<void>; readonly origins: Set<Origin> }>();
  /** Requests whose final reply must not be sent (the user was already told why). */
  private readonly muted = new Set<string>();
  private readonly throttle: Throttle;
  private readonly stopping = new AbortController();
  private unwatchPlatform: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly service: GenerationService,
    private readonly messenger: Messenger<Target, Intro, C>,
    private readonly logger: Logger,
    private readonly tuning: DeliveryTuning,
  ) {
    this.throttle = new Throttle(tuning.statusIntervalMs, tuning.gate ?? null);
  }

  private get platform() {
    return this.messenger.platform;
  }

  /**
   * After (re)start: follow final events of every request of the platform, re-attach to requests
   * still running, deliver what finished while no bot was listening, then sweep periodically.
   */
  async start(): Promise<void> {
    this.unwatchPlatform = this.service.watchPlatform(this.platform, (event) => {
      if (!isLive(event)) void this.finish(event.requestId, 'event');
    });
    for (const view of await this.service.activeRequests(this.platform)) {
      const target = this.messenger.readTarget(view.replyTo);
      const intro = target ? this.messenger.reattach(view, target) : null;
      if (target && intro) this.track(view.id, target, intro);
    }
    const pending = await this.sweep(0);
    this.sweepTimer = setInterval(() => void this.sweep(this.tuning.sweepMinAgeMs), this.tuning.sweepEveryMs);
    this.sweepTimer.unref();
    this.logger.info({ platform: this.platform, reattached: this.followed.size, pendingDeliveries: pending }, 'deliveries resumed');
  }

  /**
   * Keeps a request's status up to date until its one final reply. Returns its conversation, or
   * null when the request is already being finished (a late status would overwrite the result).
   */
  track(requestId: string, target: Target, intro: Intro): C | null {
    if (this.stopping.signal.aborted || this.followed.has(requestId) || this.finishing.has(requestId)) return null;
    const conversation = this.messenger.open(requestId, target, intro);
    const editor = new SerialEditor(conversation, this.throttle, (error) =>
      this.logger.error({ platform: this.platform, requestId, err: message(error) }, 'status edit failed'),
    );
    const entry: Followed<C> = { conversation, editor, unwatch: () => undefined, released: false };
    this.followed.set(requestId, entry);
    // No status from the submit's queue position here: the watch's first event is the current
    // state, read after the submit, so a request that already finished never flashes back to "queued".
    // Every progress event the worker publishes reaches the editor, which shows the newest one
    // when the throttle allows an edit: the one chat-side rate limit.
    const unwatch = this.service.watch(requestId, (event) => (isLive(event) ? editor.live(event) : void this.finish(requestId, 'owner')));
    // The watch may have delivered the final event before returning.
    if (entry.released) unwatch();
    else entry.unwatch = unwatch;
    return conversation;
  }

  /** Stops following a request whose result must not be posted (e.g. its channel is unreachable). */
  forget(requestId: string): void {
    this.muted.add(requestId);
    const entry = this.followed.get(requestId);
    if (entry) void this.release(requestId, entry);
  }

  /** Sends the final reply if this process wins the claim; safe to call any number of times. */
  finish(requestId: string, origin: Origin): Promise<void> {
    const running = this.finishing.get(requestId);
    if (running) {
      running.origins.add(origin);
      return running.done;
    }
    const origins = new Set([origin]);
    const done = this.deliverFinal(requestId, origin)
      .then((outcome) => this.logger.info({ platform: this.platform, requestId, origins: [...origins], outcome }, 'final delivery settled'))
      .catch((error: unknown) => this.logger.error({ platform: this.platform, requestId, origins: [...origins], err: message(error) }, 'final delivery failed'))
      .finally(() => this.finishing.delete(requestId));
    this.finishing.set(requestId, { done, origins });
    return done;
  }

  private async deliverFinal(requestId: string, origin: Origin): Promise<Outcome> {
    if (!this.followed.has(requestId) && origin === 'event') await this.headStart();
    // Stopping before the claim leaves the request pending for the next process.
    if (this.stopping.signal.aborted) return 'stopping';
    const entry = this.followed.get(requestId);
    if (entry) void this.release(requestId, entry);
    const claimed = await this.service.claimDelivery(requestId);
    const muted = this.muted.delete(requestId);
    if (muted || !claimed) {
      if (entry) await entry.editor.close();
      if (entry && !claimed) await entry.conversation.superseded();
      return claimed ? 'muted' : 'claimed elsewhere';
    }
    const view = await this.service.getRequest(requestId);
    const target = view ? this.messenger.readTarget(view.replyTo) : null;
    if (!view || !target) return 'no reply target';
    if (entry) await entry.editor.last(() => this.messenger.deliver(view, target, entry.conversation));
    else await this.messenger.deliver(view, target, null);
    return 'sent';
  }

  /**
   * Delivers unclaimed finished requests at least `minAgeMs` old (younger ones are their owners').
   * Resolves with their number once listed; logs when their deliveries have settled.
   */
  private async sweep(minAgeMs: number): Promise<number> {
    try {
      const startedAt = Date.now();
      const due = (await this.service.pendingDeliveries(this.platform, SWEEP_BATCH)).filter(
        (view) => minAgeMs === 0 || (view.finishedAt !== null && view.finishedAt.getTime() <= startedAt - minAgeMs),
      );
      void Promise.allSettled(due.map((view) => this.finish(view.id, 'sweep'))).then(() =>
        this.logger.debug({ platform: this.platform, startedAt, due: due.length }, 'delivery sweep settled'),
      );
      return due.length;
    } catch (error) {
      this.logger.warn({ platform: this.platform, err: message(error) }, 'could not list pending deliveries');
      return 0;
    }
  }

  /** Waits out the owner's head start, or less when this process stops. */
  private headStart(): Promise<void> {
    const signal = this.stopping.signal;
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, this.tuning.ownerHeadStartMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops live updates of a request; settles when its edit in flight is done. */
  private release(requestId: string, entry: Followed<C>): Promise<void> {
    entry.released = true;
    entry.unwatch();
    if (this.followed.get(requestId) === entry) this.followed.delete(requestId);
    return entry.editor.close();
  }

  /** Stops watching; lets edits and final replies already under way finish (never half a reply). */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.unwatchPlatform?.();
    this.unwatchPlatform = null;
    const closing = [...this.followed].map(([id, entry]) => this.release(id, entry));
    await Promise.allSettled([...closing, ...[...this.finishing.values()].map((f) => f.done)]);
  }
}
