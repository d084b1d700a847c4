/**
 * Cross-process events: workers publish request events, whichever process owns the chat reply
 * (or an SSE stream) listens. With a real Postgres this is LISTEN/NOTIFY on one channel; payloads
 * stay far below NOTIFY's 8000-byte limit by inlining only small previews (larger ones are read
 * from the request row). The embedded PGlite is a single process, so it uses an in-memory bus.
 */
import { EventEmitter } from 'node:events';
import type { Prisma } from '../db/client.ts';
import { ListenConnection, notify } from '../db/notify-channel.ts';
import type { Logger } from '../ops/logger.ts';
import type { ImageRef, Platform } from './types.ts';

export const EVENTS_CHANNEL = 'ddpm_request_events';
/** A NOTIFY payload must stay under 8000 bytes; a success event is ASCII JSON (ids, hex digests, numbers), so its characters are bytes. */
export const MAX_EVENT_CHARS = 7500;
/** Base64 previews up to this size travel in the NOTIFY payload itself. */
export const MAX_INLINE_PREVIEW_BASE64 = 6000;
const MAX_ERROR_CHARS = 500;

export type BusMessage =
  | { readonly t: 'queued'; readonly id: string; readonly p: Platform; readonly pos: number }
  | { readonly t: 'running'; readonly id: string; readonly p: Platform; readonly a: number }
  | {
      readonly t: 'progress';
      readonly id: string;
      readonly p: Platform;
      readonly s: number;
      readonly n: number;
      /** Inline preview PNG, base64. */
      readonly png?: string;
      /** 1 when a preview too large to inline was stored in requests.preview_png. */
      readonly row?: 1;
    }
  /** `imgs`: the stored images, unless too many for one payload (then read them from the database). */
  | { readonly t: 'succeeded'; readonly id: string; readonly p: Platform; readonly imgs?: readonly ImageRef[] }
  | { readonly t: 'failed'; readonly id: string; readonly p: Platform; readonly e: string }
  | { readonly t: 'cancelled'; readonly id: string; readonly p: Platform }
  /** Asks the worker running `id` to abort it (user cancelled). */
  | { readonly t: 'abort'; readonly id: string };

export type BusListener = (message: BusMessage) => void;

export interface EventBus {
  /** Several messages go out in one round trip (a batch's events), in order. */
  publish(...messages: BusMessage[]): Promise<void>;
  /**
   * The NOTIFY channel a write carries its events on, in its own statement: no round trip of their
   * own, and they go out when the write commits. Null for the in-process bus (see `carried`).
   */
  readonly channel: string | null;
  /** Events (JSON) a write carried on `channel`; the in-process bus, which has no channel, delivers them now. */
  carried(payloads: readonly string[]): Promise<void>;
  subscribe(listener: BusListener): () => void;
  /** Called after the listening connection was lost and re-established: events may have been missed. */
  onReconnect(listener: () => void): () => void;
  close(): Promise<void>;
}

export function truncateError(message: string): string {
  return message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS - 1)}…` : message;
}

function isBusMessage(value: unknown): value is BusMessage {
  return typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string' && typeof (value as { id?: unknown }).id === 'string';
}

/** In-process bus (embedded database, tests). */
export class LocalEventBus implements EventBus {
  readonly channel = null;
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(0);
  }
  async publish(...messages: BusMessage[]): Promise<void> {
    // Asynchronous like NOTIFY, so publishers never run listeners inside their own critical sections.
    setImmediate(() => {
      for (const m of messages) this.emitter.emit('message', m);
    });
  }
  async carried(payloads: readonly string[]): Promise<void> {
    if (payloads.length > 0) await this.publish(...payloads.map((p) => JSON.parse(p) as BusMessage));
  }
  subscribe(listener: BusListener): () => void {
    this.emitter.on('message', listener);
    return () => this.emitter.off('message', listener);
  }
  onReconnect(): () => void {
    return () => undefined;
  }
  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/** LISTEN/NOTIFY bus: NOTIFY through Prisma, LISTEN on src/db's dedicated reconnecting connection. */
export class PgEventBus implements EventBus {
  readonly channel = EVENTS_CHANNEL;
  private readonly emitter = new EventEmitter();

  private constructor(
    private readonly prisma: Prisma,
    private readonly listener: ListenConnection,
    log: Logger,
  ) {
    this.emitter.setMaxListeners(0);
    listener.onPayload((payload) => {
      try {
        const parsed: unknown = JSON.parse(payload);
        if (isBusMessage(parsed)) this.emitter.emit('message', parsed);
      } catch (err) {
        log.warn({ err }, 'event bus: unreadable payload');
      }
    });
  }

  /** Resolves once listening (retrying while the database is unreachable). */
  static async start(url: string, prisma: Prisma, log: Logger): Promise<PgEventBus> {
    return new PgEventBus(prisma, await ListenConnection.start(url, EVENTS_CHANNEL, log), log);
  }

  async publish(...messages: BusMessage[]): Promise<void> {
    await notify(this.prisma, EVENTS_CHANNEL, messages.map((m) => JSON.stringify(m)));
  }

  /** Already sent: the write's own statement notified them. */
  async carried(): Promise<void> {}

  subscribe(listener: BusListener): () => void {
    this.emitter.on('message', listener);
    return () => this.emitter.off('message', listener);
  }

  onReconnect(listener: () => void): () => void {
    return this.listener.onReconnect(listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
    await this.listener.close();
  }
}
