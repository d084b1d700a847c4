/**
 * Database writes of finished work are retried through outages (Postgres restarting) so the work
 * is not thrown away. Giving up loses time, never a request: the lease passes and the request is
 * claimed and run again.
 */
import type { Logger } from '../ops/logger.ts';

const RETRY_FOR_MS = 10 * 60_000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class DbRetry {
  /** Set when the worker stops: retries end at this time instead. */
  private giveUpAt = Number.POSITIVE_INFINITY;

  constructor(private readonly log: Logger) {}

  giveUpBy(at: number): void {
    this.giveUpAt = at;
  }

  async run<T>(fn: () => Promise<T>, what: string): Promise<T> {
    const deadline = Math.min(Date.now() + RETRY_FOR_MS, this.giveUpAt);
    let delay = 200;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (Date.now() > Math.min(deadline, this.giveUpAt)) throw err;
        this.log.warn({ err, what }, 'database write failed, retrying');
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}
