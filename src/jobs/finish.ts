/**
 * Ends attempts: writes the outcome (one guarded transaction, src/db/queue-store.ts), then counts it
 * and announces it. A result that lost to a later attempt is recorded as superseded and announced
 * by nobody: the attempt that owns the request will announce its own.
 */
import type { Logger } from '../ops/logger.ts';
import type { Prisma } from '../db/client.ts';
import { finishAttempt, markSuperseded, type ClaimedRow, type EndedRow, type Outcome } from '../db/queue-store.ts';
import { truncateError, type BusMessage, type EventBus } from './bus.ts';
import type { DbRetry } from './retry.ts';
import type { Platform, RequestCounters, RequestKind } from './types.ts';

export interface FinishDeps {
  readonly prisma: Prisma;
  readonly bus: EventBus;
  readonly log: Logger;
  readonly counters?: RequestCounters | undefined;
}

export class Finisher {
  constructor(
    private readonly deps: FinishDeps,
    private readonly retry: DbRetry,
  ) {}

  async finish(row: ClaimedRow, outcome: Outcome): Promise<void> {
    const o: Outcome = outcome.status === 'failed' ? { status: 'failed', error: truncateError(outcome.error) } : outcome;
    const won = await this.retry.run(() => finishAttempt(this.deps.prisma, row.id, row.attempts, o), `${o.status} ${row.id}`);
    if (!won) {
      this.deps.log.warn({ id: row.id, attempt: row.attempts }, 'result discarded: a later attempt owns this request');
      await markSuperseded(this.deps.prisma, row.id, row.attempts).catch(() => undefined);
      return;
    }
    if (o.status === 'queued') {
      this.publish({ t: 'queued', id: row.id, p: row.platform, pos: 1 });
      return;
    }
    this.deps.counters?.requestFinished(row.platform, row.kind, o.status);
    await this.publishFinal(o.status === 'failed' ? { t: 'failed', id: row.id, p: row.platform, e: o.error } : { t: o.status, id: row.id, p: row.platform });
  }

  /** Requests a claim ended by itself (out of attempts, cancelled while unowned). */
  async ended(rows: readonly EndedRow[], status: 'failed' | 'cancelled'): Promise<void> {
    for (const r of rows) {
      this.deps.counters?.requestFinished(r.platform, r.kind, status);
      await this.publishFinal(status === 'failed' ? { t: 'failed', id: r.id, p: r.platform, e: r.error } : { t: 'cancelled', id: r.id, p: r.platform });
    }
  }

  running(row: { id: string; platform: Platform; kind: RequestKind; attempts: number }): void {
    this.publish({ t: 'running', id: row.id, p: row.platform, a: row.attempts });
  }

  /**
   * Final events are retried like database writes: the row is already final, and a NOTIFY lost on a
   * connection broken by a restart would leave a watcher waiting. A duplicate is harmless (watchers
   * drop events after the final one; replies go through claimDelivery).
   */
  private async publishFinal(message: BusMessage): Promise<void> {
    await this.retry.run(() => this.deps.bus.publish(message), `publish ${message.t} ${message.id}`).catch((err: unknown) =>
      this.deps.log.warn({ err, id: message.id }, 'could not publish final event; watchers will find it when they re-read'),
    );
  }

  private publish(message: BusMessage): void {
    this.deps.bus.publish(message).catch((err: unknown) => this.deps.log.debug({ err }, 'could not publish event'));
  }
}
