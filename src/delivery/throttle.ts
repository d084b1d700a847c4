/**
 * The one throttle on status edits. Two limits apply: one message may be edited at most once per
 * interval (counted from when the previous edit finished, so a slow upload cannot let the next
 * one crowd in), and a platform may cap edits across all messages of a process (Slack's
 * chat.update allows ~50 a minute for the whole workspace, whatever the number of requests).
 */

/** Spaces calls across every caller sharing it; each waits for its own slot. */
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

export class Throttle {
  constructor(
    /** Minimum time between the end of one status edit of a request and the start of the next. */
    readonly intervalMs: number,
    private readonly gate: RateGate | null = null,
  ) {}

  /** How long to wait before editing a message whose previous edit finished at `lastDoneAt`. */
  delay(lastDoneAt: number): number {
    return Math.max(0, lastDoneAt + this.intervalMs - Date.now());
  }

  /** Waits for the process-wide slot, where the platform has one. */
  async slot(): Promise<void> {
    await this.gate?.take();
  }
}
