/**
 * One request's status edits, strictly one after another. Live events coalesce (only the newest
 * is shown when an edit becomes due) and go through the throttle; the final reply is queued
 * behind whatever edit is in flight and ends live updates, so a slow preview upload can never land
 * after the result and overwrite it.
 */
import type { Conversation, LiveEvent } from './messenger.ts';
import type { Throttle } from './throttle.ts';

export class SerialEditor {
  private chain: Promise<void> = Promise.resolve();
  private pending: LiveEvent | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private liveEndTimer: NodeJS.Timeout | null = null;
  private editInFlight = false;
  private lastDoneAt = 0;
  private lastPosition: number | null = null;
  private closed = false;

  constructor(
    private readonly conversation: Conversation,
    private readonly throttle: Throttle,
    private readonly onError: (error: unknown) => void,
  ) {
    const until = conversation.liveUntil;
    if (until !== null) {
      // Already inside the last stretch (a bot restarted late in a long job): say so right away.
      this.liveEndTimer = setTimeout(() => this.endLive(), Math.max(0, until - Date.now()));
      this.liveEndTimer.unref();
    }
  }

  live(event: LiveEvent): void {
    if (this.closed) return;
    if (event.type === 'queued') {
      // An unchanged position is not worth an edit.
      if (event.position === this.lastPosition) return;
      this.lastPosition = event.position;
    }
    this.pending = event;
    this.schedule();
  }

  /** Ends live updates; settles when the edit in flight (if any) is done. */
  close(): Promise<void> {
    this.stopLive();
    if (this.liveEndTimer) clearTimeout(this.liveEndTimer);
    this.liveEndTimer = null;
    return this.chain;
  }

  /** Ends live updates and runs `task` after every earlier edit; rejects with the task's error. */
  last(task: () => Promise<void>): Promise<void> {
    void this.close();
    return this.run(task);
  }

  private schedule(): void {
    if (this.flushTimer || this.editInFlight || !this.pending || this.closed) return;
    this.flushTimer = setTimeout(() => this.flush(), this.throttle.delay(this.lastDoneAt));
  }

  private flush(): void {
    this.flushTimer = null;
    this.editInFlight = true;
    this.run(async () => {
      try {
        await this.throttle.slot();
        // Read after waiting for the slot: the newest state wins, and nothing is shown once closed.
        const event = this.pending;
        this.pending = null;
        if (event && !this.closed) await this.conversation.showStatus(event);
      } finally {
        this.lastDoneAt = Date.now();
        this.editInFlight = false;
        this.schedule();
      }
    }).catch(this.onError);
  }

  private endLive(): void {
    this.liveEndTimer = null;
    if (this.closed) return;
    this.stopLive();
    this.run(() => this.conversation.liveEnding()).catch(this.onError);
  }

  private stopLive(): void {
    this.closed = true;
    this.pending = null;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  private run(task: () => Promise<void>): Promise<void> {
    const result = this.chain.then(task);
    this.chain = result.catch(() => undefined);
    return result;
  }
}
