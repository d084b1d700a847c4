/**
 * What the delivery engine needs from a chat platform, and nothing more: read a stored reply
 * target, open a request's status (post it, or adopt the message the platform already shows),
 * show live states in it, and send the final reply. Everything about timing, ordering and
 * exactly-once lives in the engine, so every platform gets the same rules.
 */
import type { Json, Platform, RequestEvent, RequestView } from '../jobs/types.ts';

/** The events that change a request's status message before it finishes. */
export type LiveEvent = Extract<RequestEvent, { type: 'queued' | 'running' | 'progress' }>;

/** One request's status on the platform. The engine calls it one call at a time, in order. */
export interface Conversation {
  /** Shows a live state. Failures are the conversation's to log: a lost preview is not worth more. */
  showStatus(event: LiveEvent): Promise<void>;
  /**
   * Epoch ms after which no live update may be sent (Discord: the interaction token's last
   * minute), or null. At that moment the engine calls `liveEnding` and stops live updates.
   */
  readonly liveUntil: number | null;
  /** Tells the user that live updates stop here (the result will still come). */
  liveEnding(): Promise<void>;
  /** Another process sent the final reply: remove what only this process shows (a stale status). */
  superseded(): Promise<void>;
}

export interface Messenger<Target, Intro, C extends Conversation> {
  readonly platform: Platform;
  /** The request's stored reply target, or null when it was not made by this platform (or is malformed). */
  readTarget(replyTo: Json): Target | null;
  /** Starts the status of a request submitted here, or re-attached after a restart. */
  open(requestId: string, target: Target, intro: Intro): C;
  /** What a restarted process re-attaches to a running request with; null where a status cannot be resumed. */
  reattach(view: RequestView, target: Target): Intro | null;
  /** Sends the one final reply; `conversation` is null when this process did not follow the request. */
  deliver(view: RequestView, target: Target, conversation: C | null): Promise<void>;
}
