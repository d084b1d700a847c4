/**
 * Request events for adapters: bus messages of one request (or of a platform) turned into
 * RequestEvents, in order, with nothing after the final one. Progress is not rate-limited here: the
 * worker already publishes at most one per PROGRESS_MIN_INTERVAL_MS per request, and chat edits have
 * their own throttle (src/delivery/throttle.ts), which coalesces to what the platform allows.
 * NOTIFYs can be lost (a listener reconnecting, a database restart), so state is re-read after a
 * reconnect and periodically: a final event always arrives.
 */
import type { Logger } from '../ops/logger.ts';
import type { Prisma } from '../db/client.ts';
import { imagesOf, previewOf } from '../db/request-store.ts';
import type { BusMessage, EventBus } from './bus.ts';
import type { Platform, RequestEvent, RequestEventListener, RequestView } from './types.ts';
import { finalEventOf, imageRefs, isFinal } from './views.ts';

/** The reads a watcher re-syncs from (the service's own). */
export interface WatchReads {
  getRequest(id: string): Promise<RequestView | null>;
  queuePosition(id: string): Promise<number | null>;
  pendingDeliveries(platform: Platform): Promise<RequestView[]>;
}

export class Watcher {
  constructor(
    private readonly prisma: Prisma,
    private readonly bus: EventBus,
    private readonly reads: WatchReads,
    private readonly log: Logger,
    /** How often watchers re-read state to catch a final event whose NOTIFY was lost. */
    private readonly resyncIntervalMs: number,
  ) {}

  watch(id: string, listener: RequestEventListener): () => void {
    const sink = new EventSink(listener);
    const deliverCurrent = () =>
      sink.enqueue(async () => {
        const ev = await this.currentStateEvent(id);
        return ev ? [ev] : [];
      });
    const unsubscribe = this.bus.subscribe((m) => {
      if (m.id !== id || m.t === 'abort') return;
      sink.enqueue(async () => [await this.toEvent(m)]);
    });
    // Missed NOTIFYs while the listening connection was down: re-read the row; and now and then
    // anyway, so a final event whose NOTIFY was lost still arrives.
    const unReconnect = this.bus.onReconnect(deliverCurrent);
    const resync = setInterval(() => sink.enqueue(async () => {
      const ev = await this.currentStateEvent(id);
      return ev && isFinal(ev) ? [ev] : [];
    }), this.resyncIntervalMs);
    resync.unref();
    deliverCurrent();
    const unsubscribeAll = () => {
      clearInterval(resync);
      unsubscribe();
      unReconnect();
      sink.close();
    };
    sink.onFinal = unsubscribeAll;
    return unsubscribeAll;
  }

  watchPlatform(platform: Platform, listener: RequestEventListener): () => void {
    const sinks = new Map<string, EventSink>();
    const sinkFor = (id: string) => {
      let s = sinks.get(id);
      if (!s) {
        s = new EventSink(listener);
        s.onFinal = () => sinks.delete(id);
        sinks.set(id, s);
      }
      return s;
    };
    const unsubscribe = this.bus.subscribe((m) => {
      if (m.t === 'abort' || m.p !== platform) return;
      sinkFor(m.id).enqueue(async () => [await this.toEvent(m)]);
    });
    // Final events possibly missed (listener reconnected, NOTIFY lost): whatever is still
    // undelivered, after a reconnect and periodically. Unclaimed requests are offered again.
    const replayPending = () =>
      void this.reads.pendingDeliveries(platform)
        .then((views) => {
          for (const v of views) {
            const ev = finalEventOf(v);
            if (ev) sinkFor(v.id).enqueue(async () => [ev]);
          }
        })
        .catch((err: unknown) => this.log.warn({ err }, 'could not re-read pending deliveries'));
    const unReconnect = this.bus.onReconnect(replayPending);
    const resync = setInterval(replayPending, this.resyncIntervalMs);
    resync.unref();
    return () => {
      clearInterval(resync);
      unsubscribe();
      unReconnect();
      for (const s of sinks.values()) s.close();
      sinks.clear();
    };
  }

  private async currentStateEvent(id: string): Promise<RequestEvent | null> {
    const view = await this.reads.getRequest(id);
    if (!view) return null;
    const final = finalEventOf(view);
    if (final) return final;
    if (view.status === 'queued') return { type: 'queued', requestId: id, position: (await this.reads.queuePosition(id)) ?? 1 };
    if (view.progress) return { type: 'progress', requestId: id, step: view.progress.step, totalSteps: view.progress.totalSteps, previewPng: null };
    return { type: 'running', requestId: id, attempt: view.attempts };
  }

  private async toEvent(m: Exclude<BusMessage, { t: 'abort' }>): Promise<RequestEvent> {
    switch (m.t) {
      case 'queued':
        return { type: 'queued', requestId: m.id, position: m.pos };
      case 'running':
        return { type: 'running', requestId: m.id, attempt: m.a };
      case 'progress': {
        let previewPng: Buffer | null = m.png ? Buffer.from(m.png, 'base64') : null;
        if (!previewPng && m.row) {
          previewPng = await previewOf(this.prisma, m.id);
        }
        return { type: 'progress', requestId: m.id, step: m.s, totalSteps: m.n, previewPng };
      }
      case 'succeeded': {
        return { type: 'succeeded', requestId: m.id, images: m.imgs ?? imageRefs(await imagesOf(this.prisma, m.id)) };
      }
      case 'failed':
        return { type: 'failed', requestId: m.id, error: m.e };
      case 'cancelled':
        return { type: 'cancelled', requestId: m.id };
    }
  }
}

/**
 * Orders one request's events (async conversions run one at a time), drops everything after the
 * final event, and never lets progress go backwards.
 */
class EventSink {
  private chain: Promise<void> = Promise.resolve();
  private finished = false;
  private closed = false;
  private lastStep = 0;
  onFinal: (() => void) | null = null;

  constructor(private readonly listener: RequestEventListener) {}

  enqueue(produce: () => Promise<RequestEvent[]>): void {
    this.chain = this.chain
      .then(async () => {
        if (this.finished || this.closed) return;
        for (const ev of await produce()) this.offer(ev);
      })
      .catch(() => undefined);
  }

  private offer(ev: RequestEvent): void {
    if (this.finished || this.closed) return;
    // The initial state read and NOTIFYs can interleave: never show progress going backwards,
    // except when a new attempt starts over.
    if (ev.type === 'running' || ev.type === 'queued') this.lastStep = 0;
    if (ev.type === 'progress') {
      if (ev.step <= this.lastStep) return;
      this.lastStep = ev.step;
    }
    if (isFinal(ev)) this.finished = true;
    try {
      this.listener(ev);
    } catch {
      // A throwing listener must not break delivery to others or the ordering chain.
    }
    if (this.finished) this.onFinal?.();
  }

  close(): void {
    this.closed = true;
  }
}
